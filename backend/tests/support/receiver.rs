//! A local alert receiver for the silence-alert tests: records each request (its
//! `Signature` header and body), answers 503 to the first few, or never answers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// A request a receiver got: its `Signature` header and its body.
pub type Delivery = (Option<String>, String);

pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

/// A receiver on a free port: 503 to the first `fail_first` requests, then 204; when
/// `hang`, it never answers.
pub async fn receiver(fail_first: usize, hang: bool) -> Receiver {
    receiver_on(0, fail_first, hang).await
}

/// [`receiver`] on `port` of 127.0.0.1 (0: any free one).
pub async fn receiver_on(port: u16, fail_first: usize, hang: bool) -> Receiver {
    let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let recorded = Arc::clone(&seen);
    let server = HttpServer::new(move || {
        let (seen, calls) = (Arc::clone(&recorded), Arc::clone(&calls));
        App::new().default_service(web::to(move |request: HttpRequest, body: web::Bytes| {
            let (seen, calls) = (Arc::clone(&seen), Arc::clone(&calls));
            async move {
                let signature = request
                    .headers()
                    .get("Signature")
                    .map(|value| value.to_str().unwrap().to_string());
                seen.lock()
                    .unwrap()
                    .push((signature, String::from_utf8(body.to_vec()).unwrap()));
                if hang {
                    tokio::time::sleep(Duration::from_secs(3_600)).await;
                }
                if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                    HttpResponse::ServiceUnavailable().finish()
                } else {
                    HttpResponse::NoContent().finish()
                }
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    Receiver {
        url: format!("http://127.0.0.1:{port}/hooks/ncompass?token=abc"),
        seen,
    }
}

impl Receiver {
    pub fn bodies(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until `count` requests have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Delivery> {
        self.wait_for_within(count, Duration::from_secs(20)).await
    }

    /// Waits up to `limit` until `count` requests have arrived.
    pub async fn wait_for_within(&self, count: usize, limit: Duration) -> Vec<Delivery> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            let seen = self.bodies();
            if seen.len() >= count {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver got {:?}, not {count} requests", self.bodies());
    }
}
