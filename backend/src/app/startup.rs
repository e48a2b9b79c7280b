//! Building and running the application: database, routes, listener.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};

use crate::app::config::Settings;
use crate::clock::Clock;
use crate::db::{self, Database};
use crate::http::auth::Auth;
use crate::http::openapi;
use crate::http::routes::dashboard::Dashboard;
use crate::http::routes::{self, AppState};
use crate::pipeline::metrics::Metrics;
use crate::pipeline::Ingest;

/// How long in-flight requests may take to finish after SIGINT or SIGTERM.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// How long a stopped server waits for its writer and alerts threads to end.
const THREADS_STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::OpenError),
    #[error(transparent)]
    Ingest(#[from] crate::pipeline::StartError),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot load the dashboard from {dir}: {source}")]
    Dashboard {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Privacy(#[from] crate::db::mac_mode::PrivacyError),
    #[error("cannot start the silence monitor: {source}")]
    Alerts {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render the OpenAPI document: {0}")]
    OpenApi(#[from] serde_json::Error),
    #[error("cannot start the server's thread: {0}")]
    Thread(String),
}

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    /// The writer's and the alerts' threads, waited for once the server has stopped.
    threads: Vec<std::thread::JoinHandle<()>>,
    #[cfg(test)]
    state: web::Data<AppState>,
}

impl Application {
    /// Opens and migrates the database and binds the listener (port 0 picks a free
    /// port, which [`Application::port`] then reports).
    pub fn build(settings: &Settings) -> Result<Application, StartupError> {
        Application::build_with_clock(settings, Clock::system())
    }

    /// [`Application::build`] with a clock of the caller's (tests move it forward to
    /// expire sessions).
    pub fn build_with_clock(
        settings: &Settings,
        clock: Clock,
    ) -> Result<Application, StartupError> {
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        // Blocking database calls run on actix's blocking pool; a few connections per
        // worker keep readers from queueing behind each other.
        let connections = u32::try_from(workers * 4).unwrap_or(8);
        let db = Database::open(&settings.database, connections)?;
        let privacy = Arc::new(crate::app::privacy::open(settings)?);
        let metrics = Arc::new(Metrics::default());
        // The writer thread supervises itself (a panic or a broken connection starts a
        // new run of it) and ends once the server (holding the last handle) is gone and
        // the queue is drained: `run_until_stopped` waits for it.
        let (ingest, writer) = Ingest::start(
            &settings.ingest_config(),
            Arc::clone(&metrics),
            Arc::clone(&privacy),
            clock.clone(),
        )?;

        let bind_error = |source| StartupError::Bind {
            bind: settings.bind.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.bind).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();

        let secrets = settings.webhook_secrets();
        for position in settings.secrets_with_whitespace() {
            tracing::warn!(
                secret = position,
                "webhook secret number {position} starts or ends with whitespace (a line end \
                 read from a file?): it is used as given, so an access point configured \
                 without it gets 401 for every report"
            );
        }
        if secrets.len() > 1 {
            tracing::info!(
                secrets = secrets.len(),
                "accepting reports signed with any of the webhook secrets (rotation)"
            );
        }
        if secrets.is_empty() {
            tracing::warn!(
                "no webhook secret is set (--secret / NCOMPASS_SECRET): anyone who can reach \
                 this server can post reports"
            );
        }
        let openapi_json = openapi::json()?;
        let dashboard =
            Dashboard::load(&settings.static_dir).map_err(|source| StartupError::Dashboard {
                dir: settings.static_dir.display().to_string(),
                source,
            })?;
        if dashboard.is_none() {
            tracing::warn!(
                static_dir = %settings.static_dir.display(),
                "the dashboard is not built there (no index.html); serving the API only"
            );
        }
        let oui = match ncompass_core::oui::Registry::load(&settings.oui_file) {
            Ok(registry) => {
                tracing::info!(file = %settings.oui_file.display(), blocks = registry.len(),
                    "read the IEEE registry of MAC blocks: rows name their MAC's vendor");
                registry
            }
            Err(error) => {
                tracing::warn!(file = %settings.oui_file.display(), %error,
                    "cannot read the IEEE registry of MAC blocks (Debian's ieee-data, --oui-file): \
                     rows name no vendor but `randomized`");
                ncompass_core::oui::Registry::empty()
            }
        };
        let alerts = settings.alert_config();
        let alerts_alive = Arc::new(());
        if alerts.webhooks.is_empty() {
            tracing::info!(
                silence_after_s = alerts.silence_after_s,
                "no --alert-webhook: silent access points are shown and logged, not announced"
            );
        } else if alerts.secret.is_none() {
            tracing::warn!(
                "--alert-webhook without --alert-secret: alert events are sent unsigned"
            );
        }
        let silence_after_s = alerts.silence_after_s;
        let alerter = crate::pipeline::alerts::start(
            db.clone(),
            alerts,
            clock.clone(),
            Arc::clone(&metrics),
            Arc::downgrade(&alerts_alive),
        )
        .map_err(|source| StartupError::Alerts { source })?;
        let connections = crate::http::limits::Connections::new(settings.max_connections);
        let state = web::Data::new(AppState {
            db,
            ingest,
            metrics,
            secrets,
            max_body: settings.max_body,
            meraki_max_body: settings.meraki_max_body,
            body_timeout: settings.body_timeout,
            max_span_s: i64::try_from(settings.max_span.as_secs()).unwrap_or(i64::MAX),
            analytics: Arc::new(tokio::sync::Semaphore::new(settings.analytics_slots())),
            exports: Arc::new(tokio::sync::Semaphore::new(settings.max_exports)),
            max_exports: settings.max_exports,
            connections: Arc::clone(&connections),
            openapi_json,
            dashboard,
            privacy: Arc::clone(&privacy),
            oui: Arc::new(oui),
            auth: Auth::new(
                clock.clone(),
                settings.public_url.as_deref(),
                settings.trusted_proxy.clone(),
            ),
            silence_after_s,
            alerts_alive,
            clock,
        });
        state.auth.log_mode_at_startup(&state.db);
        // The first sign-in of an unknown name would otherwise also pay for hashing the
        // stand-in password, and take longer than a wrong password does.
        std::thread::spawn(|| crate::http::auth::credentials::verify_nobody(""));

        #[cfg(test)]
        let test_state = state.clone();
        let keyed = privacy.mode == crate::privacy::MacPrivacy::Keyed;
        let server = HttpServer::new(move || {
            // No API token reaches the log, nor in `keyed` mode a real client MAC.
            let logger = middleware::Logger::new("%a \"%{request_line}xi\" %s %b %Dms")
                .custom_request_replace("request_line", move |request| {
                    crate::http::log::request_line(request, keyed)
                });
            App::new()
                .app_data(state.clone())
                .wrap(middleware::from_fn(crate::http::auth::guard::guard))
                .wrap(logger.log_target("ncompass::http"))
                .wrap(middleware::from_fn(crate::http::limits::limits))
                // Unless a response says otherwise (the dashboard's files do): nothing is
                // sniffed, framed by another site, or kept by a cache (the API's answers
                // are personal data).
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Content-Security-Policy", "frame-ancestors 'none'"))
                        .add(("Cache-Control", "no-store")),
                )
                .configure(routes::configure)
        })
        .on_connect(move |socket, data| connections.on_connect(socket, data))
        // The hard bound, per worker: past `--max-connections` a connection is still
        // accepted to be told 503; past twice that, it waits in the listen queue.
        .max_connections((settings.max_connections * 2).div_ceil(workers).max(1))
        .workers(workers)
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)
        .map_err(bind_error)?
        .run();
        tracing::info!(
            address = %settings.bind,
            port,
            database = %db::redacted(&settings.database),
            max_span_s = settings.max_span.as_secs(),
            body_timeout_s = settings.body_timeout.as_secs(),
            analytics_concurrency = settings.analytics_slots(),
            mac_privacy = privacy.mode.as_str(),
            keep_probe_requests_s = privacy.keep_probe_requests.map(|keep| keep.as_secs()),
            keep_presence_s = privacy.keep_presence.map(|keep| keep.as_secs()),
            "listening"
        );
        Ok(Application {
            port,
            server,
            threads: vec![writer, alerter],
            #[cfg(test)]
            state: test_state,
        })
    }

    /// The running app's state, for tests that inject faults.
    #[cfg(test)]
    pub(crate) fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
    /// Then waits (at most [`THREADS_STOP_WITHIN`]) for the writer to drain its queue
    /// and for the alerts' thread, so that nothing of the server (their database
    /// connections, the pool they share) outlives it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let Application {
            server,
            threads,
            #[cfg(test)]
            state,
            ..
        } = self;
        // A test's handle on the state would keep the writer's queue open.
        #[cfg(test)]
        drop(state);
        let served = server.await;
        let started = std::time::Instant::now();
        while threads.iter().any(|thread| !thread.is_finished())
            && started.elapsed() < THREADS_STOP_WITHIN
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        served
    }

    /// Builds the application with `clock` and serves it on a thread of its own (an
    /// actix system of its own), for tests and embedding: see [`Background`].
    pub fn spawn(settings: &Settings, clock: Clock) -> Result<Background, StartupError> {
        let settings = settings.clone();
        let (started, start) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ncompass-server".to_string())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    match Application::build_with_clock(&settings, clock) {
                        Ok(app) => {
                            let _ = started.send(Ok((app.port(), app.handle())));
                            if let Err(error) = app.run_until_stopped().await {
                                tracing::error!(%error, "the server stopped");
                            }
                        }
                        Err(error) => {
                            let _ = started.send(Err(error));
                        }
                    }
                });
            })
            .map_err(|error| StartupError::Thread(error.to_string()))?;
        let (port, handle) = start
            .recv()
            .map_err(|error| StartupError::Thread(error.to_string()))??;
        Ok(Background {
            port,
            handle,
            thread: Some(thread),
        })
    }
}

/// A running application on its own thread. Dropping it stops the server and waits
/// for its thread: nothing of it (its workers and their database connections) outlives
/// its owner, so a test binary never exits while a server of it still talks to the
/// database (libpq's teardown at exit crashed under threads still using it).
pub struct Background {
    port: u16,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.handle.clone()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // The command is sent at once; the server's own system carries it out.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
