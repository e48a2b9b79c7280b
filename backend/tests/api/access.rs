//! Access control: protected mode, sessions, tokens, roles, the cross-site check, the
//! command line, and the security the OpenAPI document declares.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;

const PASSWORD: &str = "correct horse battery";

/// The app with an admin `root` and a viewer `vera`, past protected mode.
async fn guarded_app(settings: Settings) -> TestApp {
    let app = spawn_app_with(settings).await;
    app.add_user("root", Role::Admin, PASSWORD);
    app.add_user("vera", Role::Viewer, PASSWORD);
    app.wait_until_guarded().await;
    app
}

/// Asserts a 401 problem with `WWW-Authenticate: Bearer …`.
async fn assert_unauthenticated(response: reqwest::Response, what: &str) -> Value {
    assert_eq!(response.status(), 401, "{what}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
    assert_problem(response, 401).await
}

/// Each operation of the OpenAPI document: method, a concrete path, the role its
/// `security` names (None: no security).
fn operations(openapi: &Value) -> Vec<(reqwest::Method, String, Option<String>)> {
    let mut operations = Vec::new();
    for (template, item) in openapi["paths"].as_object().unwrap() {
        let path = template
            .replace("{id}", "1")
            .replace("{network_id}", "1")
            .replace("{mac}", "00:11:22:33:44:55");
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let role = operation["security"][0]["bearer"][0]
                .as_str()
                .map(str::to_string);
            if let Some(role) = &role {
                assert_eq!(
                    operation["security"][1]["session"][0], *role,
                    "{method} {template}: the session scheme names the same role"
                );
                for status in ["401", "403"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{method} {template} declares {status}"
                    );
                }
            }
            operations.push((method.to_uppercase().parse().unwrap(), path.clone(), role));
        }
    }
    operations
}

#[actix_web::test]
async fn every_secured_operation_refuses_missing_invalid_revoked_and_expired_credentials() {
    let app = guarded_app(settings()).await;
    let now = app.clock.now();
    let viewer = app.add_token("viewer-token", Role::Viewer, None);
    let admin = app.add_token("admin-token", Role::Admin, Some(now + 3_600));
    let expired = app.add_token("expired-token", Role::Admin, Some(now - 1));
    let revoked = app.add_token("revoked-token", Role::Admin, None);
    assert!(app
        .db()
        .run_blocking(|conn| ncompass::db::tokens::revoke(conn, "revoked-token"))
        .unwrap());
    let made_up = ncompass::auth::credentials::new_token();

    let openapi: Value = app.get_json("/api/v1/openapi.json").await;
    let operations = operations(&openapi);
    let secured: Vec<_> = operations
        .iter()
        .filter(|(_, _, role)| role.is_some())
        .collect();
    assert!(secured.len() >= 12, "{secured:?}");
    for (method, path, role) in &secured {
        let what = format!("{method} {path}");
        let request = || app.client.request(method.clone(), app.url(path));
        assert_unauthenticated(request().send().await.unwrap(), &what).await;
        for (token, kind) in [
            (made_up.as_str(), "invalid"),
            ("not-even-a-token", "malformed"),
            (revoked.as_str(), "revoked"),
            (expired.as_str(), "expired"),
        ] {
            let response = request().bearer_auth(token).send().await.unwrap();
            assert_unauthenticated(response, &format!("{what} with a {kind} token")).await;
        }
        let session = request()
            .header("Cookie", format!("ncompass_session={}", "0".repeat(64)))
            .send()
            .await
            .unwrap();
        assert_unauthenticated(session, &format!("{what} with an unknown session")).await;

        let as_viewer = request().bearer_auth(&viewer).send().await.unwrap();
        if role.as_deref() == Some("admin") {
            let problem = assert_problem(as_viewer, 403).await;
            assert!(
                problem["detail"].as_str().unwrap().contains("admin"),
                "{problem}"
            );
            let as_admin = request().bearer_auth(&admin).send().await.unwrap();
            assert!(
                ![401, 403].contains(&as_admin.status().as_u16()),
                "{what} as admin"
            );
        } else {
            assert!(
                ![401, 403].contains(&as_viewer.status().as_u16()),
                "{what} as viewer: {}",
                as_viewer.status()
            );
        }
    }
    // Percent-escapes route like the letters they stand for, and are guarded alike.
    for path in [
        "/%61pi/v1/probe-requests",
        "/%61pi/v1/probe-requests/export",
        "/%6detrics",
        "/api/v1/n%6fdes",
    ] {
        assert_unauthenticated(app.get(path).await, path).await;
    }
    let response = app
        .client
        .post(app.url("/%61pi/v1/samples"))
        .send()
        .await
        .unwrap();
    assert_unauthenticated(response, "POST /%61pi/v1/samples").await;
    // The expired token says so.
    let response = app.get_with_token("/api/v1/nodes", &expired).await;
    let problem = assert_unauthenticated(response, "expired").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    // Nothing was stored by the refused POSTs (the admin's sample is the only report).
    assert_eq!(app.stored(), (5, 1));

    // What declares no security stays open: the webhook, health, the documentation.
    // (A Meraki source's URL, for the Meraki receiver's operations.)
    app.add_source("open", "validator", "s3cret-meraki");
    for (method, path, _) in operations.iter().filter(|(_, _, role)| role.is_none()) {
        if path == "/api/v1/session" {
            continue;
        }
        let path = &path.replace("/meraki/{name}", "/meraki/open");
        let mut request = app.client.request(method.clone(), app.url(path));
        if *method == reqwest::Method::POST {
            request = request.body(if path.starts_with("/meraki/") {
                ncompass::meraki::samples::V3
            } else {
                SAMPLE
            });
        }
        let status = request.send().await.unwrap().status();
        assert!(status.is_success(), "{method} {path}: {status}");
    }
    // And so does the dashboard, which signs people in.
    assert_eq!(app.get("/").await.status(), 200);
    // (No dashboard is built for these tests: its paths answer 404, not 401.)
    assert_eq!(app.get("/probe-requests").await.status(), 404);
}

#[actix_web::test]
async fn protected_mode_serves_loopback_clients_only_until_an_account_exists() {
    let app = spawn_app().await;
    // No account, no token: a client on this machine needs no credential.
    assert_eq!(app.get("/api/v1/probe-requests").await.status(), 200);
    let me: Value = app.get_json("/api/v1/session").await;
    assert_eq!(
        me,
        json!({"username": null, "role": "admin", "authenticated_by": "loopback"})
    );
    // Relayed by a proxy, or asked for under another name (DNS rebinding): not local.
    for (header, value) in [
        ("X-Forwarded-For", "203.0.113.9"),
        ("Forwarded", "for=203.0.113.9"),
        ("X-Forwarded-Host", "n.example"),
        ("X-Real-IP", "203.0.113.9"),
        ("Via", "1.1 proxy.example"),
        ("True-Client-IP", "203.0.113.9"),
        ("CF-Connecting-IP", "203.0.113.9"),
        ("X-Client-IP", "203.0.113.9"),
        ("Host", "evil.example:8080"),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/probe-requests"))
            .header(header, value)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, 403).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("ncompass user add"),
            "{problem}"
        );
    }
    // The webhook and health stay open to everyone.
    let response = app
        .client
        .get(app.url("/api/v1/health"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A token created while the server runs ends protected mode within a second, for
    // loopback clients too.
    let token = app.add_token("first", Role::Viewer, None);
    app.wait_until_guarded().await;
    assert_unauthenticated(app.get("/api/v1/probe-requests").await, "loopback").await;
    assert_eq!(
        app.get_with_token("/api/v1/probe-requests", &token)
            .await
            .status(),
        200
    );
    // Revoking the last credential brings protected mode back.
    app.db()
        .run_blocking(|conn| ncompass::db::tokens::revoke(conn, "first"))
        .unwrap();
    let started = Instant::now();
    while app.get("/api/v1/probe-requests").await.status() != 200 {
        assert!(started.elapsed() < Duration::from_secs(5), "still guarded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn a_loopback_change_from_another_site_is_refused_in_protected_mode() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_problem(response, 403).await;
    assert_eq!(app.stored(), (0, 0));
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .header("Origin", app.address.clone())
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(app.stored(), (5, 1));
}

#[actix_web::test]
async fn sign_in_sets_a_strict_cookie_and_sign_out_ends_the_session() {
    let app = guarded_app(settings()).await;
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "Root", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let session = session_cookie(&response).unwrap();
    assert_eq!(session.len(), 64);
    // Only a hash of it is stored.
    assert_eq!(app.count("sessions"), 1);

    let me: Value = app
        .get_as("/api/v1/session", &session)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"username": "root", "role": "admin", "authenticated_by": "session"})
    );
    assert_eq!(
        app.get_as("/api/v1/probe-requests", &session)
            .await
            .status(),
        200
    );
    assert_eq!(app.get_as("/metrics", &session).await.status(), 200);

    let response = app
        .client
        .delete(app.url("/api/v1/session"))
        .header("Cookie", format!("ncompass_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("ncompass_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_unauthenticated(
        app.get_as("/api/v1/probe-requests", &session).await,
        "signed out",
    )
    .await;
    assert_eq!(app.count("sessions"), 0);
}

#[actix_web::test]
async fn the_cookie_is_secure_behind_an_https_public_url() {
    let app = guarded_app(Settings {
        public_url: Some("https://ncompass.example.org".to_string()),
        ..settings()
    })
    .await;
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": "vera", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[actix_web::test]
async fn sessions_expire_when_idle_and_after_seven_days() {
    let app = guarded_app(settings()).await;
    let idle = app.sign_in("vera", PASSWORD).await;
    let busy = app.sign_in("vera", PASSWORD).await;
    // 11 h later both still work; the busy one is used again.
    app.clock.advance(11 * 3_600);
    assert_eq!(app.get_as("/api/v1/nodes", &busy).await.status(), 200);
    // 12 h after its last use the idle one has ended; the busy one goes on.
    app.clock.advance(3_600);
    assert_unauthenticated(app.get_as("/api/v1/nodes", &idle).await, "idle").await;
    for _ in 0..15 {
        assert_eq!(app.get_as("/api/v1/nodes", &busy).await.status(), 200);
        app.clock.advance(11 * 3_600);
    }
    // Used every 11 hours, it still ends 7 days after signing in (12 + 15 * 11 > 168 h).
    assert_unauthenticated(app.get_as("/api/v1/nodes", &busy).await, "7 days").await;
}

#[actix_web::test]
async fn a_password_change_or_removal_ends_the_users_sessions() {
    let app = guarded_app(settings()).await;
    let root = app.sign_in("root", PASSWORD).await;
    let vera = app.sign_in("vera", PASSWORD).await;
    let hash = ncompass::auth::credentials::hash_password("a new password").unwrap();
    assert!(app
        .db()
        .run_blocking(|conn| ncompass::db::users::set_password(conn, "root", &hash, 0))
        .unwrap());
    assert_unauthenticated(app.get_as("/api/v1/nodes", &root).await, "password changed").await;
    assert_eq!(app.get_as("/api/v1/nodes", &vera).await.status(), 200);
    app.sign_in("root", "a new password").await;

    assert!(app
        .db()
        .run_blocking(|conn| ncompass::db::users::remove(conn, "vera"))
        .unwrap());
    assert_unauthenticated(app.get_as("/api/v1/nodes", &vera).await, "user removed").await;
}

async fn try_sign_in(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn unknown_user_and_wrong_password_get_the_same_answer_in_the_same_time() {
    let app = guarded_app(settings()).await;
    // Warm up (the stand-in hash is made at start-up, in the background).
    try_sign_in(&app, "nobody", "warming up").await;
    let mut bodies = Vec::new();
    let mut times = Vec::new();
    for (username, password) in [("root", "wrong password"), ("nobody-here", PASSWORD)] {
        let mut elapsed = Vec::new();
        for _ in 0..2 {
            let started = Instant::now();
            let response = try_sign_in(&app, username, password).await;
            elapsed.push(started.elapsed());
            bodies.push(assert_unauthenticated(response, username).await);
        }
        times.push(elapsed.into_iter().min().unwrap());
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "{bodies:?}"
    );
    // Both paths run Argon2 (tens of ms); a path that skipped it would take well under
    // a millisecond. A loose bound, for shared machines.
    assert!(
        times[1] * 4 > times[0] && times[0] * 4 > times[1],
        "wrong password {:?}, unknown user {:?}",
        times[0],
        times[1]
    );
    // Bad bodies are 400, oversized ones 413; neither starts a session.
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .body("{\"username\": 1}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400).await;
    let response = try_sign_in(&app, "root", &"x".repeat(10_000)).await;
    assert_problem(response, 413).await;
    assert_eq!(app.count("sessions"), 0);
}

#[actix_web::test]
async fn a_trickled_sign_in_body_is_cut_off() {
    let app = guarded_app(Settings {
        body_timeout: Duration::from_secs(1),
        ..settings()
    })
    .await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        crate::hardening::trickle_to(port, "/api/v1/session", Duration::from_secs(10))
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert_eq!(app.count("sessions"), 0);
}

#[actix_web::test]
async fn repeated_failures_are_slowed_down() {
    let app = guarded_app(settings()).await;
    for _ in 0..5 {
        assert_eq!(try_sign_in(&app, "root", "guess").await.status(), 401);
    }
    // The sixth attempt, even with the right password, must wait.
    let response = try_sign_in(&app, "root", PASSWORD).await;
    assert_eq!(response.status(), 429);
    let retry_after: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert_problem(response, 429).await;
    // Another user from the same address waits too (the address is throttled).
    assert_eq!(try_sign_in(&app, "vera", PASSWORD).await.status(), 429);
    // Once the delay has passed, an attempt is let through, and a success clears the
    // user's count, not the address's: the guesses from it still slow the next one
    // down (one's own sign-in between guesses at others' resets nothing).
    app.clock.advance(5);
    assert_eq!(try_sign_in(&app, "root", "guess").await.status(), 401);
    assert_eq!(try_sign_in(&app, "root", PASSWORD).await.status(), 429);
    app.clock.advance(5);
    app.sign_in("root", PASSWORD).await;
    assert_eq!(try_sign_in(&app, "vera", PASSWORD).await.status(), 429);
    app.clock.advance(5);
    app.sign_in("vera", PASSWORD).await;
}

#[actix_web::test]
async fn a_cookie_authenticated_change_must_come_from_the_dashboards_origin() {
    let app = guarded_app(settings()).await;
    let session = app.sign_in("root", PASSWORD).await;
    let post = |origin: &str, site: &str| {
        app.client
            .post(app.url("/api/v1/samples"))
            .header("Cookie", format!("ncompass_session={session}"))
            .header("Origin", origin.to_string())
            .header("Sec-Fetch-Site", site.to_string())
            .send()
    };
    let problem = assert_problem(
        post("http://evil.example", "cross-site").await.unwrap(),
        403,
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("cross-site"),
        "{problem}"
    );
    assert_problem(
        post("http://evil.example", "same-origin").await.unwrap(),
        403,
    )
    .await;
    assert_problem(post(&app.address, "cross-site").await.unwrap(), 403).await;
    assert_eq!(app.stored(), (0, 0));
    assert_eq!(
        post(&app.address, "same-origin").await.unwrap().status(),
        200
    );
    assert_eq!(app.stored(), (5, 1));
    // A bearer token is no ambient credential: no origin check.
    let token = app.add_token("script", Role::Admin, None);
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .bearer_auth(&token)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A viewer's session may not change anything.
    let vera = app.sign_in("vera", PASSWORD).await;
    let response = app
        .client
        .post(app.url("/api/v1/samples"))
        .header("Cookie", format!("ncompass_session={vera}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 403).await;
}

/// Runs the `ncompass` binary on `database` with `args`, feeding `stdin`.
pub(crate) fn ncompass(database: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ncompass"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn succeeds(output: std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[actix_web::test]
async fn the_command_line_manages_users_and_tokens_of_a_running_server() {
    let app = spawn_app().await;
    let db = app.database.as_str();
    let stdin = format!("{PASSWORD}\n");
    succeeds(ncompass(
        db,
        &[
            "user",
            "add",
            "Alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &stdin,
    ));
    app.wait_until_guarded().await;
    let alice = app.sign_in("alice", PASSWORD).await;
    assert_eq!(app.get_as("/api/v1/nodes", &alice).await.status(), 200);
    // Names are unique; passwords have a minimum length.
    let taken = ncompass(
        db,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        &stdin,
    );
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists already"));
    let short = ncompass(
        db,
        &["user", "add", "bob", "--role", "viewer", "--password-stdin"],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 8"));
    succeeds(ncompass(
        db,
        &["user", "add", "bob", "--role", "viewer", "--password-stdin"],
        &stdin,
    ));
    let list = succeeds(ncompass(db, &["user", "list"], ""));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(
        lines[1].starts_with("alice") && lines[1].contains("admin"),
        "{list}"
    );
    assert!(
        lines[2].starts_with("bob") && lines[2].contains("viewer"),
        "{list}"
    );

    // `token create` prints the token alone.
    let out = succeeds(ncompass(
        db,
        &[
            "token",
            "create",
            "--name",
            "grafana",
            "--role",
            "viewer",
            "--expires",
            "30d",
        ],
        "",
    ));
    let token = out.strip_suffix('\n').unwrap();
    assert!(
        ncompass::auth::credentials::looks_like_token(token),
        "{out:?}"
    );
    assert_eq!(
        app.get_with_token("/api/v1/nodes", token).await.status(),
        200
    );
    let list = succeeds(ncompass(db, &["token", "list"], ""));
    assert!(
        list.contains("grafana") && list.contains("viewer"),
        "{list}"
    );
    assert!(!list.contains(token), "the token is never shown again");
    // The use was recorded.
    let grafana = list
        .lines()
        .find(|line| line.starts_with("grafana"))
        .unwrap();
    assert_eq!(
        grafana
            .split_whitespace()
            .filter(|cell| *cell == "-")
            .count(),
        0,
        "{list}"
    );
    succeeds(ncompass(db, &["token", "revoke", "grafana"], ""));
    assert_unauthenticated(app.get_with_token("/api/v1/nodes", token).await, "revoked").await;
    assert!(!ncompass(db, &["token", "revoke", "grafana"], "")
        .status
        .success());

    // A new password ends alice's sessions; removing bob ends his.
    let bob = app.sign_in("bob", PASSWORD).await;
    succeeds(ncompass(
        db,
        &["user", "passwd", "alice", "--password-stdin"],
        "another password\n",
    ));
    assert_unauthenticated(app.get_as("/api/v1/nodes", &alice).await, "passwd").await;
    app.sign_in("alice", "another password").await;
    succeeds(ncompass(db, &["user", "remove", "bob"], ""));
    assert_unauthenticated(app.get_as("/api/v1/nodes", &bob).await, "removed").await;
    assert_eq!(try_sign_in(&app, "bob", PASSWORD).await.status(), 401);
}

/// A network namespace with a veth pair to this host: a client that is really on
/// another machine as far as the server can tell. Deleted when dropped.
struct OtherHost {
    name: String,
    host_ip: String,
}

impl OtherHost {
    fn create() -> OtherHost {
        let id = std::process::id() % 10_000;
        let name = format!("ncp{id}");
        let (outside, inside) = (format!("ncpa{id}"), format!("ncpb{id}"));
        let octet = 1 + id % 250;
        let host_ip = format!("10.231.{octet}.1");
        let other = OtherHost {
            name: name.clone(),
            host_ip: host_ip.clone(),
        };
        let run = |args: &[&str]| {
            let status = std::process::Command::new("ip")
                .args(args)
                .status()
                .unwrap();
            assert!(status.success(), "ip {}", args.join(" "));
        };
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        run(&["netns", "add", &name]);
        run(&[
            "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ]);
        run(&["link", "set", &inside, "netns", &name]);
        run(&["addr", "add", &format!("{host_ip}/30"), "dev", &outside]);
        run(&["link", "set", &outside, "up"]);
        let client_ip = format!("10.231.{octet}.2/30");
        run(&[
            "netns", "exec", &name, "ip", "addr", "add", &client_ip, "dev", &inside,
        ]);
        run(&["netns", "exec", &name, "ip", "link", "set", &inside, "up"]);
        other
    }

    /// `curl` run inside the namespace: status and body.
    async fn curl(&self, args: &[&str]) -> (u16, String) {
        let output = tokio::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "curl",
                "-s",
                "-m",
                "10",
                "-w",
                "\n%{http_code}",
            ])
            .args(args)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.parse().unwrap_or(0), body.to_string())
    }
}

impl Drop for OtherHost {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the pair, and so the pair.
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout == b"0\n")
}

#[actix_web::test]
async fn protected_mode_refuses_a_client_on_another_host() {
    if !is_root() {
        eprintln!("SKIPPED: creating a network namespace needs root (CI runs as root)");
        return;
    }
    let app = spawn_app_with(Settings {
        bind: "0.0.0.0:0".to_string(),
        ..settings()
    })
    .await;
    let other = OtherHost::create();
    let port = app.address.rsplit(':').next().unwrap().to_string();
    let url = |path: &str| format!("http://{}:{port}{path}", other.host_ip);
    // The loopback client reads; the other host does not, and is told what to do.
    assert_eq!(app.get("/api/v1/probe-requests").await.status(), 200);
    for path in ["/api/v1/probe-requests", "/api/v1/session", "/", "/metrics"] {
        let (status, body) = other.curl(&[&url(path)]).await;
        assert_eq!(status, 403, "{path}: {body}");
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("ncompass user add"),
            "{body}"
        );
    }
    // Access points on the other host still deliver, and health answers.
    let (status, body) = other
        .curl(&[
            "-X",
            "POST",
            "--data-binary",
            &String::from_utf8_lossy(SAMPLE),
            &url("/receive"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(other.curl(&[&url("/api/v1/health")]).await.0, 200);
    assert_eq!(app.stored(), (5, 1));

    // With an account, the other host signs in like anyone, and loopback needs it too.
    app.add_user("root", Role::Admin, PASSWORD);
    app.wait_until_guarded().await;
    let (status, _) = other.curl(&[&url("/api/v1/probe-requests")]).await;
    assert_eq!(status, 401);
    let token = app.add_token("remote", Role::Viewer, None);
    let (status, body) = other
        .curl(&[
            "-H",
            &format!("Authorization: Bearer {token}"),
            &url("/api/v1/probe-requests"),
        ])
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Five failed sign-ins relayed for `client` by a proxy on loopback, each for another
/// user; then whether a sixth from `other` (for yet another user) is slowed down.
async fn sixth_from_another_client_is_throttled(app: &TestApp, client: &str, other: &str) -> bool {
    let attempt = |user: String, from: &str| {
        app.client
            .post(app.url("/api/v1/session"))
            .header("X-Forwarded-For", format!("198.51.100.7, {from}"))
            .json(&json!({"username": user, "password": "guess-guess"}))
            .send()
    };
    for i in 0..5 {
        assert_eq!(
            attempt(format!("user{i}"), client).await.unwrap().status(),
            401
        );
    }
    attempt("user9".to_string(), other).await.unwrap().status() == 429
}

#[actix_web::test]
async fn behind_a_trusted_proxy_the_slow_down_counts_clients_not_the_proxy() {
    let app = guarded_app(Settings {
        trusted_proxy: vec!["127.0.0.1".parse().unwrap()],
        ..settings()
    })
    .await;
    // The address nginx appended last is the client: another client is not slowed.
    assert!(!sixth_from_another_client_is_throttled(&app, "203.0.113.1", "203.0.113.2").await);
    // The same client is.
    let response = app
        .client
        .post(app.url("/api/v1/session"))
        .header("X-Forwarded-For", "203.0.113.1")
        .json(&json!({"username": "user8", "password": "guess-guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);

    // Without --trusted-proxy the header is a client's word: ignored, the peer counts.
    let app = guarded_app(settings()).await;
    assert!(sixth_from_another_client_is_throttled(&app, "203.0.113.1", "203.0.113.2").await);
}
