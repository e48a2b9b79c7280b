//! What one connection may hold: how many are open at once (`--max-connections`), and a
//! request body that never ends.
//!
//! actix-web drains a chunked body its handler left unread (to keep the connection
//! alive), for as long as the client keeps it coming: an unterminated chunked body then
//! holds its connection forever, even after a 408. A body is left unread when it did not
//! arrive in time, or when the route never reads one (a GET, a 404). The [`limits`]
//! middleware keeps every request's body alive until its answer is sent, which makes
//! actix close the connection instead of draining: every connection, however it sends
//! its body, ends within `--body-timeout` (plus actix's one-second linger).

use std::any::Any;
use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, HttpMessage};
use futures_util::Stream;

use crate::http::error::AppError;
use crate::http::routes::AppState;

/// The connections open now, and how many may be.
#[derive(Debug)]
pub struct Connections {
    open: AtomicUsize,
    max: usize,
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        Arc::new(Connections {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// How many are open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// For `HttpServer::on_connect`: counts the connection while it lives (the slot is
    /// dropped with the connection's data when it closes).
    pub fn on_connect(self: &Arc<Self>, _socket: &dyn Any, data: &mut Extensions) {
        self.open.fetch_add(1, Ordering::Relaxed);
        data.insert(Slot(Arc::clone(self)));
    }
}

/// One open connection, counted in [`Connections`] until it is dropped.
struct Slot(Arc<Connections>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request's body, shared between its handler (which reads it through [`Shared`]) and
/// its answer (which holds it until it is sent).
type Body = Rc<RefCell<Payload>>;

/// The body as the handler reads it.
struct Shared(Body);

impl Stream for Shared {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

/// A response's body, holding the request's body until the last byte is sent, so that
/// actix closes the connection if the request's body was not read to its end (it looks
/// at that when the response ends).
struct Holding {
    body: BoxBody,
    _request_body: Body,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.body).poll_next(cx)
    }
}

/// The middleware: refuses a connection past `--max-connections` (503, closed), and
/// keeps each request's body until its answer is sent (see the module's documentation).
pub async fn limits(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let over = request
        .app_data::<web::Data<AppState>>()
        .map(|state| &state.connections)
        .filter(|connections| connections.open() > connections.max())
        .map(|connections| connections.max());
    let body: Body = Rc::new(RefCell::new(request.take_payload()));
    let holding = |response: ServiceResponse<BoxBody>, body: Body| {
        response.map_body(|_, response_body| Holding {
            body: response_body,
            _request_body: body,
        })
    };
    if let Some(limit) = over {
        let response = request.error_response(AppError::TooManyConnections { limit });
        return Ok(holding(response, body));
    }
    request.set_payload(Payload::Stream {
        payload: Box::pin(Shared(Rc::clone(&body))),
    });
    // The middlewares and handlers within answer their refusals as responses; an
    // error from them is rare and takes the body with it.
    let response = next.call(request).await?.map_into_boxed_body();
    Ok(holding(response, body))
}
