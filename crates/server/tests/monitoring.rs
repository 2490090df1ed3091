//! Monitoring end to end: the real router on a fresh store, simulator calls
//! through `POST /api/calls/events`, a real desktop WebSocket for the screen
//! pops; then `/metrics` is parsed as Prometheus text and its counters must
//! have moved by exactly what the calls did, `/health` reports every layer
//! (and fails with 503 when the PostgreSQL database goes away), `/metrics`
//! answers only loopback or its token, and the log of a call names neither
//! the caller's number nor their name.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, SalesforceId, Schema};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use futures_util::StreamExt;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tower::ServiceExt;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CENTER_XML: &str = r#"<callCenter>
    <section sortOrder="0" name="reqGeneralInfo" label="General Information">
        <item sortOrder="0" name="reqInternalName" label="InternalName">Desk</item>
        <item sortOrder="1" name="reqDisplayName" label="Display Name">Desk Center</item>
        <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
        <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
        <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">420</item>
        <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item>
    </section>
</callCenter>
"#;

struct App {
    state: AppState,
    addr: SocketAddr,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, SalesforceId>,
    _dir: Option<tempfile::TempDir>,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

async fn sqlite() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = dialtone_store::open(&Location::Sqlite(dir.path().join("d.db")), "US").await.unwrap();
    (store, dir)
}

/// An admin and one agent (ann) of the Desk call center, served on port 0.
async fn spawn_app(store: DynStore, dir: Option<tempfile::TempDir>) -> App {
    let schema = Schema::standard();
    let def = dialtone_callcenter::parse(CENTER_XML.as_bytes(), "Desk.xml").unwrap();
    let cc = schema.object("CallCenter").unwrap();
    let v = cc
        .check_create(vec![
            ("Name".into(), t(&def.display_name)),
            ("InternalName".into(), t(&def.internal_name)),
            ("Format".into(), t("Legacy")),
            ("Definition".into(), t(&dialtone_callcenter::export(&def, def.format))),
        ])
        .unwrap();
    let center = store.insert(cc, vec![v], None).await.unwrap().remove(0);
    let user = schema.object("User").unwrap();
    let mut ids = HashMap::new();
    for (name, profile) in [("admin", "System Administrator"), ("ann", "Agent")] {
        let u = format!("{name}@m.test");
        let fields = vec![
            ("Username".into(), t(&u)),
            ("LastName".into(), t(name)),
            ("FirstName".into(), t("Agent")),
            ("Email".into(), t(&u)),
            ("ProfileName".into(), t(profile)),
            ("CallCenterId".into(), t(center.as_str())),
        ];
        ids.insert(name, store.insert(user, vec![user.check_create(fields).unwrap()], None).await.unwrap().remove(0));
    }
    let state = AppState::new(store).await.unwrap();
    let mut tokens = HashMap::new();
    for (name, id) in &ids {
        tokens.insert(*name, auth::issue_api_token(state.store.as_ref(), id, "test").await.unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap() });
    App { state, addr, tokens, ids, _dir: dir }
}

impl App {
    async fn send(&self, state: &AppState, req: Request<Body>) -> (StatusCode, String) {
        let res = router(state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn events(&self, batch: Json) {
        let req = Request::post("/api/calls/events")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.tokens["admin"]))
            .body(Body::from(batch.to_string()))
            .unwrap();
        let (s, b) = self.send(&self.state, req).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    async fn health(&self) -> (StatusCode, Json) {
        let (s, b) = self.send(&self.state, Request::get("/health").body(Body::empty()).unwrap()).await;
        (s, serde_json::from_str(&b).unwrap())
    }

    async fn metrics(&self) -> Samples {
        let (s, text) = self.send(&self.state, Request::get("/metrics").body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{text}");
        parse(&text)
    }

    async fn ws(&self, who: &str) -> Ws {
        let mut req = format!("ws://{}/api/desktop/ws", self.addr).into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {}", self.tokens[who]).parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let hello = next(&mut ws).await;
        assert_eq!(hello["type"], "hello", "{hello}");
        ws
    }
}

async fn next(ws: &mut Ws) -> Json {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message within 5 s").expect("the socket is open").unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

async fn expect(ws: &mut Ws, ty: &str) -> Json {
    loop {
        let m = next(ws).await;
        if m["type"] == ty {
            return m;
        }
    }
}

/// Samples by `name{labels}` (labels as the exposition writes them).
type Samples = HashMap<String, f64>;

/// Parses the OpenMetrics/Prometheus text exposition strictly: every line is
/// a comment of a known kind or `name{labels} value`, every sample belongs to
/// a family with a TYPE, and the text ends with `# EOF`.
fn parse(text: &str) -> Samples {
    let sample = regex::Regex::new(r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$"#).unwrap();
    let mut types: Vec<String> = Vec::new();
    let mut out = Samples::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let kind = parts.next().unwrap();
            assert!(["HELP", "TYPE", "UNIT"].contains(&kind), "unknown comment: {line}");
            if kind == "TYPE" {
                let name = parts.next().unwrap().to_string();
                assert!(["counter", "gauge", "histogram", "info", "unknown"].contains(&parts.next().unwrap()), "{line}");
                types.push(name);
            }
            continue;
        }
        let c = sample.captures(line).unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let name = &c[1];
        assert!(types.iter().any(|t| name.starts_with(t.as_str())), "{name} has no TYPE");
        let value: f64 = c[3].parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        out.insert(format!("{name}{}", c.get(2).map_or("", |m| m.as_str())), value);
    }
    out
}

fn get(s: &Samples, key: &str) -> f64 {
    s.get(key).copied().unwrap_or(0.0)
}

/// How much each of `keys` moved between two scrapes.
fn moved(before: &Samples, after: &Samples, keys: &[&str]) -> Vec<(String, f64)> {
    keys.iter().map(|k| (k.to_string(), get(after, k) - get(before, k))).collect()
}

async fn eventually<F: Fn(&Samples) -> bool>(app: &App, what: &str, ok: F) -> Samples {
    for _ in 0..100 {
        let s = app.metrics().await;
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("metrics never showed {what}");
}

fn call(key: &str, from: &str, ann: &SalesforceId) -> Json {
    json!([
        {"vendorCallKey": key, "seq": 1, "kind": "initiated", "direction": "inbound", "from": from, "to": "+18005550100", "callCenter": "Desk"},
        {"vendorCallKey": key, "seq": 2, "kind": "offered", "agent": ann.as_str()},
    ])
}

const POP_COUNT: &str = "dialtone_screen_pop_latency_seconds_count";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_by_exactly_what_the_calls_did() {
    let (store, dir) = sqlite().await;
    let app = spawn_app(store, Some(dir)).await;
    let contact = Schema::standard().object("Contact").unwrap();
    let fields = contact.check_create(vec![("FirstName".into(), t("Ada")), ("LastName".into(), t("Lovelace")), ("Phone".into(), t("(415) 555-0101"))]).unwrap();
    app.state.store.insert(contact, vec![fields], Some(&app.ids["admin"])).await.unwrap();
    let mut ws = app.ws("ann").await;
    let ann = app.ids["ann"].clone();
    let before = app.metrics().await;
    assert_eq!(get(&before, "dialtone_desktop_sockets"), 1.0);
    assert_eq!(get(&before, "dialtone_desktop_agents"), 1.0);
    assert_eq!(get(&before, r#"dialtone_build_info{version="0.1.0"}"#), 1.0);

    // A: matched, answered (the offer accepted), ended.
    app.events(call("MON-A", "+14155550101", &ann)).await;
    let offer = expect(&mut ws, "offer").await;
    assert_eq!(offer["pop"]["outcome"], "matched", "{offer}");
    let mid = eventually(&app, "the first pop", |s| get(s, POP_COUNT) == get(&before, POP_COUNT) + 1.0).await;
    assert_eq!(get(&mid, r#"dialtone_active_calls{provider="simulator"}"#), 1.0, "one call in progress");
    app.events(json!([
        {"vendorCallKey": "MON-A", "seq": 3, "kind": "answered", "agent": ann.as_str()},
        {"vendorCallKey": "MON-A", "seq": 4, "kind": "ended", "reason": "customerDisconnect"},
    ]))
    .await;
    // B: unknown caller (a new-record pop), the offer times out, the caller hangs up.
    app.events(call("MON-B", "+14155550199", &ann)).await;
    assert_eq!(expect(&mut ws, "offer").await["pop"]["outcome"], "new");
    app.events(json!([
        {"vendorCallKey": "MON-B", "seq": 3, "kind": "offerResult", "agent": ann.as_str(), "result": "timedOut"},
        {"vendorCallKey": "MON-B", "seq": 4, "kind": "ended", "reason": "customerDisconnect"},
    ]))
    .await;
    // C: the caller hangs up while it rings: the offer is withdrawn. Duplicate events count as events, not calls.
    app.events(call("MON-C", "+14155550177", &ann)).await;
    assert_eq!(expect(&mut ws, "offer").await["pop"]["outcome"], "new");
    app.events(json!([
        {"vendorCallKey": "MON-C", "seq": 3, "kind": "ended", "reason": "customerDisconnect"},
        {"vendorCallKey": "MON-C", "seq": 3, "kind": "ended", "reason": "customerDisconnect"},
    ]))
    .await;

    let after = eventually(&app, "three pops", |s| get(s, POP_COUNT) == get(&before, POP_COUNT) + 3.0).await;
    let keys = [
        r#"dialtone_call_setups_total{provider="simulator"}"#,
        r#"dialtone_call_events_total{provider="simulator"}"#,
        r#"dialtone_active_calls{provider="simulator"}"#,
        r#"dialtone_screen_pops_total{outcome="matched"}"#,
        r#"dialtone_screen_pops_total{outcome="new_record"}"#,
        POP_COUNT,
        r#"dialtone_routing_offers_total{channel="call"}"#,
        r#"dialtone_routing_offer_results_total{result="accepted"}"#,
        r#"dialtone_routing_offer_results_total{result="timed_out"}"#,
        r#"dialtone_routing_offer_results_total{result="withdrawn"}"#,
        "dialtone_routing_offer_timeouts_total",
        r#"dialtone_http_requests_total{route="calls",status="200"}"#,
    ];
    let want = [3.0, 12.0, 0.0, 1.0, 2.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0, 6.0];
    let got = moved(&before, &after, &keys);
    let expected: Vec<(String, f64)> = keys.iter().map(|k| k.to_string()).zip(want).collect();
    assert_eq!(got, expected);
    // Store latency by operation: the call desk's group commits and the phone lookups were timed.
    assert!(get(&after, r#"dialtone_store_operation_seconds_count{operation="write_batch"}"#) > get(&before, r#"dialtone_store_operation_seconds_count{operation="write_batch"}"#));
    assert!(get(&after, r#"dialtone_store_operation_seconds_count{operation="phone_lookup"}"#) >= 3.0);
    assert_eq!(get(&after, r#"dialtone_routing_config_problems"#), 0.0);
    // Flow placeholders are registered before any flow runs.
    assert_eq!(get(&after, "dialtone_flow_outbox_backlog"), 0.0);
    app.state.metrics.flow_run("failed");
    app.state.metrics.set_flow_backlog(7);
    let flows = app.metrics().await;
    assert_eq!((get(&flows, r#"dialtone_flow_runs_total{status="failed"}"#), get(&flows, "dialtone_flow_outbox_backlog")), (1.0, 7.0));
    drop(ws);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_every_layer_and_degrades_without_failing() {
    let (store, dir) = sqlite().await;
    let app = spawn_app(store, Some(dir)).await;
    let _ws = app.ws("ann").await;
    // The routing refresher runs every second: wait for its first pass.
    let mut body = Json::Null;
    for _ in 0..100 {
        let (s, b) = app.health().await;
        assert_eq!(s, StatusCode::OK, "{b}");
        body = b;
        if body["routing"]["lastRefreshAgeSeconds"].is_number() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!((body["store"]["status"].as_str(), body["store"]["backend"].as_str()), (Some("ok"), Some("sqlite")));
    assert!(body["store"]["latencyMs"].is_number());
    for layer in ["store", "telephony", "adapters", "routing", "flows"] {
        assert_eq!(body[layer]["status"], "ok", "{layer}: {body}");
    }
    assert_eq!(body["telephony"]["sip"]["listening"], false);
    assert_eq!(body["telephony"]["sip"]["trunks"], 0);
    assert_eq!(body["telephony"]["twilio"]["trunks"], 0);
    assert_eq!(body["telephony"]["simulator"]["lastEventAgeSeconds"], Json::Null, "no event yet");
    assert_eq!((body["adapters"]["sockets"].as_u64(), body["adapters"]["agentsConnected"].as_u64()), (Some(1), Some(1)));
    assert_eq!(body["routing"]["problems"], json!([]));
    assert_eq!(body["flows"]["running"], false);

    app.events(call("HEALTH-1", "+14155550123", &app.ids["ann"])).await;
    let (_, b) = app.health().await;
    assert_eq!(b["telephony"]["activeCalls"], 1);
    assert_eq!(b["telephony"]["simulator"]["activeCalls"], 1);
    assert!(b["telephony"]["simulator"]["lastEventAgeSeconds"].as_f64().is_some_and(|a| a < 5.0), "{b}");

    // A SIP trunk with no SIP edge running, and parked flow runs: degraded, still 200.
    app.state.store.put_setting("trunk:sip:carrier", "{}").await.unwrap();
    app.state.metrics.set_flow_parked(2);
    let (s, b) = app.health().await;
    assert_eq!(s, StatusCode::OK, "degraded is not down: {b}");
    assert_eq!(b["status"], "degraded");
    assert_eq!((b["telephony"]["status"].as_str(), b["flows"]["status"].as_str()), (Some("degraded"), Some("degraded")));
    assert_eq!(b["telephony"]["sip"]["trunks"], 1);
    assert_eq!(b["flows"]["parkedRuns"], 2);
    assert_eq!(b["store"]["status"], "ok");
}

fn admin_pg() -> String {
    std::env::var("DIALTONE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_with_503_when_the_database_is_gone() {
    if std::env::var("DIALTONE_SKIP_PG").is_ok_and(|v| v == "1") {
        return;
    }
    let admin = admin_pg();
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed (or set DIALTONE_SKIP_PG=1): {e}"));
    tokio::spawn(conn);
    let name = format!("dt_mon_{}_{}", std::process::id(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let store = dialtone_store::open(&Location::Postgres(url), "US").await.unwrap();
    let app = spawn_app(store, None).await;
    let (s, b) = app.health().await;
    assert_eq!((s, b["store"]["backend"].as_str(), b["store"]["status"].as_str()), (StatusCode::OK, Some("postgres"), Some("ok")), "{b}");

    // The database goes away under the running server (its connections terminated).
    client.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    let (s, b) = app.health().await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    assert_eq!((b["status"].as_str(), b["store"]["status"].as_str()), (Some("failing"), Some("failing")), "{b}");
    assert!(b["store"]["error"].is_string());
    assert_eq!(b["telephony"]["sip"]["trunks"], Json::Null, "unknown while the store is down");
    for layer in ["telephony", "adapters", "routing", "flows"] {
        assert!(b[layer]["status"].is_string(), "{layer} still reported: {b}");
    }
    // The failures are counted too.
    let m = app.metrics().await;
    assert!(get(&m, r#"dialtone_store_errors_total{operation="setting"}"#) >= 1.0);
}

/// A GET over a real TCP connection (so the server sees the client's address).
async fn tcp_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_loopback_and_the_token_holder_only() {
    let (store, dir) = sqlite().await;
    let app = spawn_app(store, Some(dir)).await;
    // A loopback scraper needs nothing.
    let local = tcp_get(app.addr, "/metrics").await;
    assert!(local.starts_with("HTTP/1.1 200"), "{local}");
    assert!(local.to_ascii_lowercase().contains("content-type: application/openmetrics-text"), "{local}");
    assert!(local.contains("\ndialtone_call_setups_total{provider=\"sip\"} 0\n"), "known label values start at 0: {local}");

    let remote = |state: &AppState, auth: Option<&str>| {
        let mut req = Request::get("/metrics");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let mut req = req.body(Body::empty()).unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo::<SocketAddr>("192.0.2.10:40000".parse().unwrap()));
        let state = state.clone();
        async move { app_send(&state, req).await }
    };
    // Another host without a token configured: refused.
    let (s, b) = remote(&app.state, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(b.contains("METRICS_FORBIDDEN"), "{b}");
    assert!(!b.contains("dialtone_"), "no metrics in a refusal");
    // With DIALTONE_METRICS_TOKEN set: the token opens it, anything else does not.
    let with_token = AppState { metrics_access: Arc::new(dialtone_server::metrics::MetricsAccess { token: Some("scrape-me".into()) }), ..app.state.clone() };
    assert_eq!(remote(&with_token, Some("Bearer scrape-me")).await.0, StatusCode::OK);
    assert_eq!(remote(&with_token, Some("Bearer wrong")).await.0, StatusCode::FORBIDDEN);
    assert_eq!(remote(&with_token, None).await.0, StatusCode::FORBIDDEN);
    // An API session token is not a scrape token.
    assert_eq!(remote(&with_token, Some(&format!("Bearer {}", app.tokens["admin"]))).await.0, StatusCode::FORBIDDEN);
    // /health stays open to everyone (load balancers).
    let mut req = Request::get("/health").body(Body::empty()).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo::<SocketAddr>("192.0.2.10:40000".parse().unwrap()));
    assert_eq!(app_send(&app.state, req).await.0, StatusCode::OK);
}

async fn app_send(state: &AppState, req: Request<Body>) -> (StatusCode, String) {
    let res = router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Everything the process logs, through the same masking writer `dialtone serve` uses.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_of_a_call_names_neither_the_callers_number_nor_their_name() {
    let captured = Captured::default();
    let sink = captured.clone();
    let filter = tracing_subscriber::EnvFilter::new("info,dialtone_server=debug");
    let sub = dialtone_server::logging::subscriber(dialtone_server::logging::Format::Text, filter, move || sink.clone());
    tracing::subscriber::set_global_default(sub).expect("the only subscriber of this test process");

    let (store, dir) = sqlite().await;
    let app = spawn_app(store, Some(dir)).await;
    let contact = Schema::standard().object("Contact").unwrap();
    let fields = contact.check_create(vec![("FirstName".into(), t("Ada")), ("LastName".into(), t("Lovelace")), ("Phone".into(), t("(415) 555-0101"))]).unwrap();
    app.state.store.insert(contact, vec![fields], Some(&app.ids["admin"])).await.unwrap();
    let mut ws = app.ws("ann").await;
    app.events(call("LOG-1", "+14155550101", &app.ids["ann"])).await;
    let offer = expect(&mut ws, "offer").await;
    assert_eq!(offer["pop"]["records"][0]["name"], "Ada Lovelace", "the pop itself names the caller: {offer}");
    // A bad request that echoes a number in its error is logged masked too.
    tracing::warn!("a carrier sent 415-555-0101 twice");
    let mut log = String::new();
    for _ in 0..100 {
        log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
        if log.contains("screen pop sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(log.contains("call started"), "the call was logged: {log}");
    assert!(log.contains("screen pop sent"), "the pop was logged: {log}");
    assert!(log.contains("+1********01"), "the number is masked, its last two digits kept: {log}");
    for secret in ["4155550101", "555-0101", "Lovelace", "Ada Lovelace"] {
        assert!(!log.contains(secret), "{secret:?} leaked into the log:\n{log}");
    }
}
