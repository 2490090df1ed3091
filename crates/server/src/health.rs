//! `GET /health`: each layer's health, machine-readable, for load balancers,
//! monitoring and the admin console's health page (`/console/health`).
//!
//! ```json
//! {"status": "ok", "version": "0.1.0", "uptimeSeconds": 12,
//!  "store": {"status": "ok", "backend": "sqlite", "latencyMs": 0.4},
//!  "telephony": {"status": "ok", "activeCalls": 3, "sip": {...}, "twilio": {...}, "partner": {...}, "simulator": {...}},
//!  "adapters": {"status": "ok", "sockets": 4, "agentsConnected": 3, "agentsSignedIn": 5},
//!  "routing": {"status": "ok", "problems": [], "lastRefreshAgeSeconds": 0.6},
//!  "flows": {"status": "ok", "running": false, "backlog": 0, "parkedRuns": 0}}
//! ```
//!
//! Overall `status` is the worst layer's: `ok`, `degraded` (working, but
//! someone should look: a refused routing configuration, a SIP trunk with no
//! listener, a slow store, parked flow runs) or `failing` (the store does not
//! answer: calls cannot be recorded). Only `failing` answers 503, so a load
//! balancer takes a node out only when it cannot serve. The check never
//! needs a session: it names no records and no people.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use dialtone_calls::Provider;
use serde_json::{Value as Json_, json};
use std::time::{Duration, Instant};

/// How long the store ping may take before the store counts as failing.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(3);
/// A store ping slower than this is `degraded`.
pub const STORE_SLOW: Duration = Duration::from_millis(500);
/// Routing refreshes every second; older than this is `degraded`.
pub const ROUTING_STALE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Degraded,
    Failing,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Degraded => "degraded",
            Level::Failing => "failing",
        }
    }
}

fn age(d: Option<Duration>) -> Json_ {
    d.map_or(Json_::Null, |d| json!((d.as_secs_f64() * 10.0).round() / 10.0))
}

/// The whole report and its overall level.
pub async fn report(state: &AppState) -> (Level, Json_) {
    let store = state.store.as_ref();
    let backend = match store.dialect() {
        dialtone_soql::Dialect::Sqlite => "sqlite",
        dialtone_soql::Dialect::Postgres => "postgres",
    };
    let start = Instant::now();
    let ping = tokio::time::timeout(STORE_TIMEOUT, store.setting("org_id")).await;
    let took = start.elapsed();
    let (store_level, store_error) = match ping {
        Ok(Ok(_)) if took > STORE_SLOW => (Level::Degraded, None),
        Ok(Ok(_)) => (Level::Ok, None),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health: store unreachable");
            (Level::Failing, Some("the store did not answer (see the server log)".to_string()))
        }
        Err(_) => {
            tracing::error!(timeout_ms = STORE_TIMEOUT.as_millis() as u64, "health: the store ping timed out");
            (Level::Failing, Some(format!("the store did not answer within {} s", STORE_TIMEOUT.as_secs())))
        }
    };
    let store_json = json!({
        "status": store_level.as_str(), "backend": backend,
        "latencyMs": (took.as_secs_f64() * 10_000.0).round() / 10.0,
        "error": store_error,
    });

    // Telephony edges. Trunk counts come from the store (null when it is down).
    let trunks = |prefix: &'static str| async move {
        if store_level == Level::Failing {
            return None;
        }
        tokio::time::timeout(STORE_TIMEOUT, store.settings_with_prefix(prefix)).await.ok()?.ok().map(|v| v.len())
    };
    let sip_trunks = trunks("trunk:sip:").await;
    let twilio_trunks = trunks("trunk:twilio:").await;
    let sip_listening = state.sip.get().is_some();
    let active: Vec<(Provider, i64)> = state.metrics.active_calls();
    let active_of = |p: Provider| active.iter().find(|(q, _)| *q == p).map_or(0, |(_, n)| *n);
    let mut tel_level = Level::Ok;
    let mut tel_problems = Vec::new();
    if !sip_listening && sip_trunks.is_some_and(|n| n > 0) {
        tel_level = Level::Degraded;
        tel_problems.push("SIP trunks are configured but the SIP edge is not listening (start with --sip ADDRESS)");
    }
    let edge = |p: Provider| json!({"activeCalls": active_of(p), "lastEventAgeSeconds": age(state.metrics.last_event_age(p))});
    let mut sip = edge(Provider::Sip);
    sip["listening"] = json!(sip_listening);
    sip["trunks"] = json!(sip_trunks);
    let mut twilio = edge(Provider::Twilio);
    twilio["trunks"] = json!(twilio_trunks);
    let telephony = json!({
        "status": tel_level.as_str(),
        "activeCalls": active.iter().map(|(_, n)| n).sum::<i64>(),
        "problems": tel_problems,
        "sip": sip, "twilio": twilio, "partner": edge(Provider::Partner), "simulator": edge(Provider::Simulator),
    });

    // Adapter sessions: desktop sockets, and agents routing sees signed in.
    let (agents_connected, sockets) = state.hub.connected();
    let signed_in = state.calls.routing.lock().agents().iter().filter(|a| !a.status.eq_ignore_ascii_case("Offline")).count();
    let adapters = json!({"status": "ok", "sockets": sockets, "agentsConnected": agents_connected, "agentsSignedIn": signed_in});

    // Routing: the refresher's problems and how fresh its view is.
    let (problems, refreshed) = {
        let s = state.routing_status.lock().unwrap_or_else(|p| p.into_inner());
        (s.problems.clone(), s.refreshed)
    };
    let refresh_age = refreshed.map(|t| t.elapsed());
    let routing_level = if !problems.is_empty() || refresh_age.is_some_and(|a| a > ROUTING_STALE) || (refresh_age.is_none() && state.started.elapsed() > ROUTING_STALE) {
        Level::Degraded
    } else {
        Level::Ok
    };
    let routing = json!({"status": routing_level.as_str(), "problems": problems, "lastRefreshAgeSeconds": age(refresh_age)});

    // Flows: what the flow engine reported through `Metrics`.
    let f = state.metrics.flows();
    let flows_level = if f.parked > 0 { Level::Degraded } else { Level::Ok };
    let flows = json!({"status": flows_level.as_str(), "running": f.running, "backlog": f.backlog, "parkedRuns": f.parked, "runs": f.runs, "failedRuns": f.failures});

    let overall = [store_level, tel_level, routing_level, flows_level].into_iter().max().unwrap_or(Level::Ok);
    let body = json!({
        "status": overall.as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "checkedAt": dialtone_model::format_datetime(time::OffsetDateTime::now_utc()),
        "store": store_json,
        "telephony": telephony,
        "adapters": adapters,
        "routing": routing,
        "flows": flows,
    });
    (overall, body)
}

/// `GET /health`: 200 while ok or degraded, 503 when failing.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Json_>) {
    let (level, body) = report(&state).await;
    let status = if level == Level::Failing { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (status, Json(body))
}
