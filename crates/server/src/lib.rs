//! The HTTP edge of Dialtone: the Salesforce-compatible REST API (OAuth2
//! token endpoint, sObjects, describe, composite, SOQL query with paging,
//! SOSL phone search), Dialtone's phone lookup, and health.
//!
//! Handlers turn wire input into model types, call `dialtone-store`, and turn
//! the result back into Salesforce's JSON shapes. This crate is the only one
//! that knows JSON field names; it never writes SQL.

pub mod agents;
pub mod auth;
pub mod calldesk;
pub mod config_file;
pub mod console;
pub mod desktop;
pub mod error;
pub mod events;
pub mod flows;
pub mod flows_admin;
pub mod governance;
pub mod guard;
pub mod health;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod partner;
pub mod presence_log;
pub mod query;
pub mod records;
pub mod reports;
pub mod rest;
pub mod routing;
pub mod routing_admin;
pub mod security;
pub mod sipedge;
pub mod twilio;
pub mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use dialtone_model::SalesforceId;
use dialtone_store::DynStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

/// Largest request body accepted (a 200-record composite batch fits easily).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub org_id: SalesforceId,
    pub signing_key: Arc<str>,
    pub cursors: Arc<Mutex<query::Cursors>>,
    /// The security configuration and computed grants.
    pub access: Arc<Mutex<security::AccessCache>>,
    pub limits: Arc<Mutex<limits::Limits>>,
    /// Opens sealed carrier credentials (none: telephony edges refuse).
    pub master_key: Option<Arc<dialtone_secrets::MasterKey>>,
    /// The call lifecycle every telephony edge feeds. Made once by
    /// [`AppState::with_calls`] and never replaced: the desktop hub listens to it.
    pub calls: Arc<calldesk::CallDesk>,
    /// Which agents the Twilio edge has offered calls to.
    pub dialer: Arc<Mutex<twilio::Dialer>>,
    /// "http" or "https": the scheme of the listener this state serves.
    pub scheme: &'static str,
    /// The running SIP edge, once `serve --sip` started it (click-to-dial uses it).
    pub sip: Arc<std::sync::OnceLock<sipedge::SipControl>>,
    /// The agent desktop's sockets and live calls (the call desk's subscriber).
    pub hub: Arc<desktop::Hub>,
    /// Problems of a routing configuration the refresher refused.
    pub routing_status: Arc<Mutex<routing::Status>>,
    /// Prometheus metrics (`/metrics`); the call desk's own, shared.
    pub metrics: Arc<metrics::Metrics>,
    /// Who may read `/metrics` (loopback, or `DIALTONE_METRICS_TOKEN`).
    pub metrics_access: Arc<metrics::MetricsAccess>,
    /// When this state was made (uptime in `/health`).
    pub started: std::time::Instant,
    /// The flow runner's flows, settings and counters (`flows::start` runs it).
    pub flows: Arc<flows::Runtime>,
}

impl AppState {
    /// Loads (or on first start creates) the org's id and signing key.
    pub async fn new(store: DynStore) -> Result<AppState, dialtone_store::StoreError> {
        AppState::with_calls(store, calldesk::CallDesk::default_config()).await
    }

    /// [`AppState::new`] with the call lifecycle's settings (the reaper's times).
    /// The desk is made here, once: the desktop hub subscribes to it, so it
    /// must never be replaced afterwards.
    pub async fn with_calls(store: DynStore, calls: dialtone_calls::Config) -> Result<AppState, dialtone_store::StoreError> {
        let calls = Arc::new(calldesk::CallDesk::new(calls));
        // Every store operation is timed into the metrics; call sites are unchanged.
        let store = metrics::TimedStore::wrap(store, calls.metrics.clone());
        let org_id = match store.setting("org_id").await? {
            Some(s) => SalesforceId::parse(&s).map_err(|e| dialtone_store::StoreError::Backend(e.to_string()))?,
            None => {
                let id = SalesforceId::new("00D", 1);
                store.put_setting("org_id", id.as_str()).await?;
                id
            }
        };
        let signing_key = match store.setting("signing_key").await? {
            Some(k) => k,
            None => {
                let k = auth::random_secret(32);
                store.put_setting("signing_key", &k).await?;
                k
            }
        };
        let state = AppState {
            store,
            org_id,
            signing_key: signing_key.into(),
            cursors: Arc::default(),
            access: Arc::default(),
            limits: Arc::default(),
            master_key: None,
            metrics: calls.metrics.clone(),
            metrics_access: Arc::new(metrics::MetricsAccess::from_env()),
            started: std::time::Instant::now(),
            calls,
            dialer: Arc::default(),
            scheme: "http",
            sip: Arc::default(),
            hub: Arc::default(),
            routing_status: Arc::default(),
            flows: Arc::default(),
        };
        desktop::Hub::spawn(&state);
        routing::spawn(state.clone());
        Ok(state)
    }

    /// The base URL clients should use: this listener's scheme and the Host they called.
    pub fn instance_url(&self, headers: &HeaderMap) -> String {
        let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let host: String = host.chars().filter(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(*c)).collect();
        format!("{}://{host}", self.scheme)
    }
}

pub fn router(state: AppState) -> Router {
    let data = "/services/data/{v}";
    let headers = limits::security_headers(state.scheme == "https");
    let mut app = Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(metrics::metrics))
        .route("/api/reports", get(reports::list))
        .route("/api/reports/{name}", get(reports::one))
        .route("/api/dashboard", get(reports::dashboard))
        .route("/api/desktop/adapter-errors", post(reports::adapter_errors))
        .route("/services/oauth2/token", post(auth::token))
        .route("/services/oauth2/revoke", post(auth::revoke))
        .route("/services/data", get(rest::versions))
        .route(data, get(rest::resources))
        .route(&format!("{data}/sobjects"), get(rest::describe_global))
        .route(&format!("{data}/sobjects/{{object}}"), get(rest::sobject_info).post(rest::create))
        .route(&format!("{data}/sobjects/{{object}}/describe"), get(rest::describe))
        .route(&format!("{data}/sobjects/{{object}}/{{id}}"), get(rest::read).patch(rest::update).delete(rest::delete))
        .route(
            &format!("{data}/composite/sobjects"),
            post(rest::composite_create).patch(rest::composite_update).delete(rest::composite_delete),
        )
        .route(&format!("{data}/query"), get(query::query))
        .route(&format!("{data}/queryAll"), get(query::query))
        .route(&format!("{data}/query/{{locator}}"), get(query::query_more))
        .route(&format!("{data}/queryAll/{{locator}}"), get(query::query_more))
        .route(&format!("{data}/search"), get(query::search))
        .route("/api/phone/lookup", get(query::phone_lookup))
        .route("/api/recordings/{id}/link", get(governance::link))
        .route("/api/recordings/{id}/media", get(governance::media))
        .route("/api/setup/audit", get(governance::audit_trail))
        .route("/telephony/twilio/voice", post(twilio::voice))
        .route("/telephony/twilio/status", post(twilio::status))
        .route("/telephony/twilio/wait", post(twilio::wait))
        .route("/telephony/twilio/dequeued", post(twilio::dequeued))
        .route("/telephony/v1/voiceCalls", post(partner::create))
        .route("/telephony/v1/voiceCalls/{id}", axum::routing::patch(partner::update))
        .route("/telephony/v1/voiceCalls/{id}/messages", post(partner::message))
        .route("/telephony/twilio/recording", post(twilio::recording))
        .route("/telephony/twilio/transcription", post(twilio::transcription))
        .route("/api/calls/events", post(events::ingest))
        .route("/api/calls/dial", post(sipedge::dial))
        .route("/api/agents", get(agents::list))
        .route("/api/agents/{username}/presence", get(agents::get_presence).put(agents::put_presence))
        .route("/api/export/{object}", get(governance::export))
        .route("/api/records/{id}/history", get(governance::history))
        .route("/api/records/{id}/shares", get(governance::list_shares).post(governance::add_share))
        .route("/api/records/{id}/shares/{principal}", axum::routing::delete(governance::remove_share))
        .merge(desktop::routes())
        .merge(routing::routes())
        .merge(routing_admin::routes())
        .merge(flows::routes())
        .merge(console::routes())
        .fallback(|| async { error::ApiError::not_found() })
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track_http))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    for (name, value) in headers {
        // The console's pages set their own policy and its assets their own caching.
        app = if name == axum::http::header::CONTENT_SECURITY_POLICY || name == axum::http::header::CACHE_CONTROL {
            app.layer(tower_http::set_header::SetResponseHeaderLayer::if_not_present(name, value))
        } else {
            app.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(name, value))
        };
    }
    app
}

/// The client's address, when the server knows it (not in in-process tests).
pub fn client_addr(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map_or_else(|| "local".to_string(), |c| c.0.ip().to_string())
}

/// Where to listen.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    pub http: Option<SocketAddr>,
    pub https: Option<(SocketAddr, PathBuf, PathBuf)>,
}

/// Serves until Ctrl-C. Trailing slashes are trimmed first (simple-salesforce
/// calls `/sobjects/Contact/`).
pub async fn serve(state: AppState, listeners: Listeners) -> std::io::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(addr) = listeners.http {
        let app = NormalizePathLayer::trim_trailing_slash().layer(router(AppState { scheme: "http", ..state.clone() }));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tasks.spawn(async move {
            axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(app))
                .with_graceful_shutdown(async {
                    shutdown_signal().await;
                })
                .await
        });
    }
    if let Some((addr, cert, key)) = listeners.https {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key).await?;
        let app = NormalizePathLayer::trim_trailing_slash().layer(router(AppState { scheme: "https", ..state.clone() }));
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        tasks.spawn(async move {
            axum_server::bind_rustls(addr, config)
                .handle(handle)
                .serve(axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(app))
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(std::io::Error::other)??;
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM (systemd, docker stop, kill): the server stops taking
/// requests and finishes the ones in flight.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Writes (or reuses) a self-signed certificate for localhost and 127.0.0.1
/// in `dir`; returns (cert, key) paths.
pub fn self_signed(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir)?;
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    let ck = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
    std::fs::write(&cert, ck.cert.pem())?;
    write_private(&key, ck.signing_key.serialize_pem().as_bytes())?;
    Ok((cert, key))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
