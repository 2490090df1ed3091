//! Prometheus metrics: one [`Metrics`] per server (in [`crate::AppState`]),
//! registered with `prometheus-client` (the Prometheus organisation's Rust
//! client) and served at `GET /metrics` in the OpenMetrics text format.
//!
//! Where they are fed (one line each, so the call paths stay readable):
//! - the call desk ([`Metrics::desk_batch`], [`Metrics::call_event`]): active
//!   calls, call setups, call events, offers and their results, for every edge;
//! - the desktop hub ([`Metrics::screen_pop`]): pops by outcome and latency;
//! - [`TimedStore`]: every store operation's latency (it wraps the `Store`
//!   trait object, so no call site changes);
//! - [`track_http`]: HTTP requests by route class and status;
//! - flows ([`Metrics::flow_run`], [`Metrics::set_flow_backlog`],
//!   [`Metrics::set_flow_parked`]): the flow engine reports here; health reads it.
//!
//! Access: `/metrics` answers loopback clients, and any client that presents
//! `Authorization: Bearer <DIALTONE_METRICS_TOKEN>` when that token is set
//! (see [`MetricsAccess`]). Everything else gets 403 `METRICS_FORBIDDEN`.

use crate::AppState;
use async_trait::async_trait;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dialtone_calls::{Notification, NotificationKind, OfferOutcome, Provider, VendorCallKey};
use dialtone_model::{ObjectDef, SalesforceId, Schema, Value};
use dialtone_phone::{E164, Normalizer};
use dialtone_soql::{Dialect, Plan};
use dialtone_store::{App, AuditEntry, Record, Credential, DynStore, FieldChange, Page, PhoneMatch, Result as StoreResult, Share, Store, Token, WriteOp};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The environment variable holding the scrape token for non-loopback clients.
pub const TOKEN_ENV: &str = "DIALTONE_METRICS_TOKEN";

/// The Content-Type of the exposition (Prometheus 2.x and later read it).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabel {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabel {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn store_buckets() -> Histogram {
    // 50 µs … ~1.6 s: a phone lookup is microseconds, a group commit milliseconds.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

/// The wire name of a provider, as labels carry it.
pub fn provider_label(p: Provider) -> &'static str {
    match p {
        Provider::Sip => "sip",
        Provider::Twilio => "twilio",
        Provider::Partner => "partner",
        Provider::Simulator => "simulator",
    }
}

const PROVIDERS: [Provider; 4] = [Provider::Sip, Provider::Twilio, Provider::Partner, Provider::Simulator];

fn provider_index(p: Provider) -> usize {
    match p {
        Provider::Sip => 0,
        Provider::Twilio => 1,
        Provider::Partner => 2,
        Provider::Simulator => 3,
    }
}

/// What the flow engine last reported (for `/health`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowReport {
    /// Whether a flow engine has reported at all.
    pub running: bool,
    pub backlog: i64,
    pub parked: i64,
    pub runs: u64,
    pub failures: u64,
}

/// Every metric Dialtone exports, and the little state health reads off them.
pub struct Metrics {
    registry: Registry,
    active_calls: Family<ProviderLabel, Gauge>,
    call_setups: Family<ProviderLabel, Counter>,
    call_events: Family<ProviderLabel, Counter>,
    screen_pops: Family<OutcomeLabel, Counter>,
    pop_latency: Histogram,
    offers: Family<ChannelLabel, Counter>,
    offer_results: Family<ResultLabel, Counter>,
    offer_timeouts: Counter,
    desktop_sockets: Gauge,
    desktop_agents: Gauge,
    routing_problems: Gauge,
    store_latency: HistogramFamily<OperationLabel>,
    store_errors: Family<OperationLabel, Counter>,
    http_requests: Family<HttpLabel, Counter>,
    flow_runs: Family<StatusLabel, Counter>,
    flow_backlog: Gauge,
    flow_parked: Gauge,
    /// Live calls by key: (provider, ended). A call counts as set up the
    /// first time a batch touches it, and stops being active when it ends.
    calls: Mutex<HashMap<VendorCallKey, (Provider, bool)>>,
    /// When each provider's last event arrived.
    last_event: Mutex<[Option<Instant>; 4]>,
    flows_running: AtomicBool,
    flow_runs_seen: AtomicI64,
    flow_failures_seen: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            active_calls: Family::default(),
            call_setups: Family::default(),
            call_events: Family::default(),
            screen_pops: Family::default(),
            // 5 ms … ~10 s.
            pop_latency: Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            offers: Family::default(),
            offer_results: Family::default(),
            offer_timeouts: Counter::default(),
            desktop_sockets: Gauge::default(),
            desktop_agents: Gauge::default(),
            routing_problems: Gauge::default(),
            store_latency: Family::new_with_constructor(store_buckets),
            store_errors: Family::default(),
            http_requests: Family::default(),
            flow_runs: Family::default(),
            flow_backlog: Gauge::default(),
            flow_parked: Gauge::default(),
            calls: Mutex::default(),
            last_event: Mutex::default(),
            flows_running: AtomicBool::new(false),
            flow_runs_seen: AtomicI64::new(0),
            flow_failures_seen: AtomicI64::new(0),
        };
        let info: Family<VersionLabel, Gauge> = Family::default();
        info.get_or_create(&VersionLabel { version: env!("CARGO_PKG_VERSION") }).set(1);
        r.register("dialtone_build_info", "Dialtone's version (always 1)", info);
        r.register("dialtone_active_calls", "Calls in progress (not yet ended), by telephony edge", m.active_calls.clone());
        r.register("dialtone_call_setups", "Calls set up (a new VoiceCall), by telephony edge; setups per second is its rate", m.call_setups.clone());
        r.register("dialtone_call_events", "Call events received by the call desk (duplicates included), by telephony edge", m.call_events.clone());
        r.register("dialtone_screen_pops", "Screen pops decided for offered calls, by outcome (VoiceCall.ScreenPopOutcome)", m.screen_pops.clone());
        r.register(
            "dialtone_screen_pop_latency_seconds",
            "From the offer reaching the call desk to the pop sent to the agent's desktop",
            m.pop_latency.clone(),
        );
        r.register("dialtone_routing_offers", "Offers made to agents: calls (any edge) and pushed work (callbacks, cases, chats)", m.offers.clone());
        r.register("dialtone_routing_offer_results", "How offers ended: accepted, declined, timed_out, missed, withdrawn", m.offer_results.clone());
        r.register("dialtone_routing_offer_timeouts", "Offers whose push timeout passed unanswered", m.offer_timeouts.clone());
        r.register("dialtone_routing_config_problems", "Problems of the routing configuration last refused (0: the configuration applies)", m.routing_problems.clone());
        r.register("dialtone_desktop_sockets", "Agent desktop WebSockets connected", m.desktop_sockets.clone());
        r.register("dialtone_desktop_agents", "Agents with at least one desktop socket connected", m.desktop_agents.clone());
        r.register("dialtone_store_operation_seconds", "Store operation latency, by operation", m.store_latency.clone());
        r.register("dialtone_store_errors", "Store operations that failed, by operation", m.store_errors.clone());
        r.register("dialtone_http_requests", "HTTP requests answered, by route class and status", m.http_requests.clone());
        r.register("dialtone_flow_runs", "Flow runs finished, by status (reported by the flow engine)", m.flow_runs.clone());
        r.register("dialtone_flow_outbox_backlog", "Flow outbox entries waiting to run", m.flow_backlog.clone());
        r.register("dialtone_flow_parked_runs", "Flow runs parked after failures, waiting for an admin", m.flow_parked.clone());
        // Known label values start at 0, so rates and alerts work from the first scrape.
        for p in PROVIDERS {
            let l = ProviderLabel { provider: provider_label(p) };
            m.active_calls.get_or_create_owned(&l);
            m.call_setups.get_or_create_owned(&l);
            m.call_events.get_or_create_owned(&l);
        }
        for outcome in ["matched", "new_record", "chooser", "none", "fallback", "failed"] {
            m.screen_pops.get_or_create_owned(&OutcomeLabel { outcome });
        }
        for channel in ["call", "work"] {
            m.offers.get_or_create_owned(&ChannelLabel { channel });
        }
        for result in ["accepted", "declined", "timed_out", "missed", "withdrawn"] {
            m.offer_results.get_or_create_owned(&ResultLabel { result });
        }
        for status in ["succeeded", "skipped", "retrying", "failed", "parked"] {
            m.flow_runs.get_or_create_owned(&StatusLabel { status: status.to_string() });
        }
        Metrics { registry: r, ..m }
    }

    /// The exposition, OpenMetrics text (ends with `# EOF`).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// One call event reached the call desk (before deduplication).
    pub fn call_event(&self, provider: Provider) {
        self.call_events.get_or_create(&ProviderLabel { provider: provider_label(provider) }).inc();
        self.last_event.lock().unwrap_or_else(|p| p.into_inner())[provider_index(provider)] = Some(Instant::now());
    }

    /// How long ago each provider's last event arrived (None: never, since start).
    pub fn last_event_age(&self, provider: Provider) -> Option<Duration> {
        self.last_event.lock().unwrap_or_else(|p| p.into_inner())[provider_index(provider)].map(|t| t.elapsed())
    }

    /// Calls in progress now, by provider.
    pub fn active_calls(&self) -> Vec<(Provider, i64)> {
        PROVIDERS.iter().map(|p| (*p, self.active_calls.get_or_create(&ProviderLabel { provider: provider_label(*p) }).get())).collect()
    }

    /// What one call desk batch changed: new and ended calls (by the
    /// calls' state after the batch), forgotten calls, and offer notifications.
    pub fn desk_batch<'a>(&self, calls: impl Iterator<Item = (&'a VendorCallKey, Provider, bool)>, forgotten: &[VendorCallKey], notifications: &[Notification]) {
        {
            let mut known = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            for (key, provider, ended) in calls {
                let gauge = self.active_calls.get_or_create(&ProviderLabel { provider: provider_label(provider) });
                match known.get_mut(key) {
                    None => {
                        self.call_setups.get_or_create(&ProviderLabel { provider: provider_label(provider) }).inc();
                        if !ended {
                            gauge.inc();
                        }
                        known.insert(key.clone(), (provider, ended));
                    }
                    Some((_, was_ended)) if !*was_ended && ended => {
                        *was_ended = true;
                        gauge.dec();
                    }
                    Some(_) => {}
                }
            }
            for key in forgotten {
                if let Some((provider, false)) = known.remove(key) {
                    self.active_calls.get_or_create(&ProviderLabel { provider: provider_label(provider) }).dec();
                }
            }
        }
        for n in notifications {
            match &n.what {
                NotificationKind::Offered => self.offer("call"),
                NotificationKind::OfferClosed { result } => self.offer_result(match result {
                    OfferOutcome::Accepted => "accepted",
                    OfferOutcome::Declined => "declined",
                    OfferOutcome::TimedOut => "timed_out",
                    OfferOutcome::Missed => "missed",
                }),
                NotificationKind::OfferWithdrawn => self.offer_result("withdrawn"),
                _ => {}
            }
        }
    }

    /// An offer was made on `channel` ("call", "work").
    pub fn offer(&self, channel: &'static str) {
        self.offers.get_or_create(&ChannelLabel { channel }).inc();
    }

    /// An offer ended (`timed_out` also counts as an offer timeout).
    pub fn offer_result(&self, result: &'static str) {
        self.offer_results.get_or_create(&ResultLabel { result }).inc();
        if result == "timed_out" {
            self.offer_timeouts.inc();
        }
    }

    /// A screen pop was decided for an offer and sent; `outcome` is the
    /// VoiceCall.ScreenPopOutcome value (Matched, NewRecord, …).
    pub fn screen_pop(&self, outcome: &'static str, latency: Duration) {
        let outcome = match outcome {
            "Matched" => "matched",
            "NewRecord" => "new_record",
            "Chooser" => "chooser",
            "None" => "none",
            "Fallback" => "fallback",
            _ => "failed",
        };
        self.screen_pops.get_or_create(&OutcomeLabel { outcome }).inc();
        self.pop_latency.observe(latency.as_secs_f64());
    }

    /// One store operation took `took` (failed if `!ok`).
    pub fn store_op(&self, operation: &'static str, took: Duration, ok: bool) {
        self.store_latency.get_or_create(&OperationLabel { operation }).observe(took.as_secs_f64());
        if !ok {
            self.store_errors.get_or_create(&OperationLabel { operation }).inc();
        }
    }

    /// Desktop sockets and agents connected now (set at each scrape).
    pub fn set_desktop(&self, agents: usize, sockets: usize) {
        self.desktop_agents.set(agents as i64);
        self.desktop_sockets.set(sockets as i64);
    }

    pub fn set_routing_problems(&self, n: usize) {
        self.routing_problems.set(n as i64);
    }

    /// **For the flow engine**: one flow run finished with `status`
    /// (`succeeded`, `failed`, `parked`, … — keep the set small: it is a label).
    /// `failed`, `retrying` and `parked` count as failures in `/health` (`skipped`: a condition not met).
    pub fn flow_run(&self, status: &str) {
        self.flows_running.store(true, Ordering::Relaxed);
        self.flow_runs.get_or_create(&StatusLabel { status: status.to_string() }).inc();
        self.flow_runs_seen.fetch_add(1, Ordering::Relaxed);
        if matches!(status, "failed" | "retrying" | "parked") {
            self.flow_failures_seen.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// **For the flow engine**: how many outbox entries wait to run now.
    pub fn set_flow_backlog(&self, n: usize) {
        self.flows_running.store(true, Ordering::Relaxed);
        self.flow_backlog.set(n as i64);
    }

    /// **For the flow engine**: how many runs are parked (failed for good, waiting for an admin).
    pub fn set_flow_parked(&self, n: usize) {
        self.flows_running.store(true, Ordering::Relaxed);
        self.flow_parked.set(n as i64);
    }

    /// What the flow engine last reported.
    pub fn flows(&self) -> FlowReport {
        FlowReport {
            running: self.flows_running.load(Ordering::Relaxed),
            backlog: self.flow_backlog.get(),
            parked: self.flow_parked.get(),
            runs: self.flow_runs_seen.load(Ordering::Relaxed).max(0) as u64,
            failures: self.flow_failures_seen.load(Ordering::Relaxed).max(0) as u64,
        }
    }

    fn http(&self, route: &'static str, status: u16) {
        self.http_requests.get_or_create(&HttpLabel { route, status }).inc();
    }
}

/// The class of a request path: a bounded label, never the path itself.
pub fn route_class(path: &str) -> &'static str {
    const CLASSES: &[(&str, &str)] = &[
        ("/services/oauth2/", "oauth"),
        ("/services/data", "rest"),
        ("/telephony/twilio/", "twilio"),
        ("/telephony/v1/", "partner"),
        ("/api/calls/", "calls"),
        ("/api/desktop/", "desktop"),
        ("/api/routing/", "routing"),
        ("/api/", "api"),
        ("/console", "console"),
        ("/softphone", "console"),
        ("/support/", "console"),
        ("/health", "health"),
        ("/metrics", "metrics"),
    ];
    CLASSES.iter().find(|(p, _)| path.starts_with(p)).map_or("other", |(_, c)| c)
}

/// Middleware: counts every response by route class and status.
pub async fn track_http(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = route_class(request.uri().path());
    let response = next.run(request).await;
    state.metrics.http(route, response.status().as_u16());
    response
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct MetricsAccess {
    /// A bearer token any client may present (from [`TOKEN_ENV`]).
    pub token: Option<String>,
}

impl MetricsAccess {
    pub fn from_env() -> MetricsAccess {
        MetricsAccess { token: std::env::var(TOKEN_ENV).ok().filter(|t| !t.trim().is_empty()) }
    }

    /// Loopback clients always; others only with the token. A request
    /// served in process (no client address) counts as loopback.
    pub fn allows(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
        if peer.is_none_or(|p| p.ip().is_loopback()) {
            return true;
        }
        let Some(want) = &self.token else { return false };
        let got = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
        // Compare digests, so the time taken says nothing about the token.
        use sha2::Digest;
        sha2::Sha256::digest(got.as_bytes()) == sha2::Sha256::digest(want.as_bytes())
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let peer = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !state.metrics_access.allows(peer, request.headers()) {
        return crate::error::ApiError::new(
            "METRICS_FORBIDDEN",
            format!("metrics are served to loopback clients, and to others with the bearer token of {TOKEN_ENV}"),
        )
        .into_response();
    }
    refresh_gauges(&state);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], state.metrics.encode()).into_response()
}

/// Gauges read off live state at scrape time.
pub fn refresh_gauges(state: &AppState) {
    let (agents, sockets) = state.hub.connected();
    state.metrics.set_desktop(agents, sockets);
    let problems = state.routing_status.lock().unwrap_or_else(|p| p.into_inner()).problems.len();
    state.metrics.set_routing_problems(problems);
}

/// The store with every operation timed into `dialtone_store_operation_seconds`.
pub struct TimedStore {
    inner: DynStore,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    pub fn wrap(inner: DynStore, metrics: Arc<Metrics>) -> DynStore {
        Arc::new(TimedStore { inner, metrics })
    }

    async fn timed<T>(&self, operation: &'static str, f: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let start = Instant::now();
        let r = f.await;
        self.metrics.store_op(operation, start.elapsed(), r.is_ok());
        r
    }
}

#[async_trait]
impl Store for TimedStore {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn schema(&self) -> &Schema {
        self.inner.schema()
    }
    fn normalizer(&self) -> &Normalizer {
        self.inner.normalizer()
    }
    async fn insert(&self, object: &ObjectDef, rows: Vec<Vec<(String, Value)>>, actor: Option<&SalesforceId>) -> StoreResult<Vec<SalesforceId>> {
        self.timed("insert", self.inner.insert(object, rows, actor)).await
    }
    async fn get(&self, object: &ObjectDef, id: &SalesforceId) -> StoreResult<Option<Record>> {
        self.timed("get", self.inner.get(object, id)).await
    }
    async fn write_batch(&self, ops: Vec<WriteOp>, actor: Option<&SalesforceId>) -> StoreResult<Vec<Option<SalesforceId>>> {
        self.timed("write_batch", self.inner.write_batch(ops, actor)).await
    }
    async fn write_batch_at(&self, ops: Vec<WriteOp>, actor: Option<&SalesforceId>, depth: u32) -> StoreResult<Vec<Option<SalesforceId>>> {
        self.timed("write_batch", self.inner.write_batch_at(ops, actor, depth)).await
    }
    fn set_outbox_objects(&self, objects: &[String]) {
        self.inner.set_outbox_objects(objects)
    }
    fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.inner.outbox_signal()
    }
    async fn outbox_pending(&self, limit: u64) -> StoreResult<Vec<dialtone_store::OutboxEntry>> {
        self.timed("outbox_pending", self.inner.outbox_pending(limit)).await
    }
    async fn ack_outbox(&self, seqs: &[i64]) -> StoreResult<()> {
        self.timed("ack_outbox", self.inner.ack_outbox(seqs)).await
    }
    async fn outbox_backlog(&self) -> StoreResult<u64> {
        self.timed("outbox_backlog", self.inner.outbox_backlog()).await
    }
    async fn update(&self, object: &ObjectDef, id: &SalesforceId, values: Vec<(String, Value)>, actor: Option<&SalesforceId>) -> StoreResult<()> {
        self.timed("update", self.inner.update(object, id, values, actor)).await
    }
    async fn delete(&self, object: &ObjectDef, id: &SalesforceId) -> StoreResult<()> {
        self.timed("delete", self.inner.delete(object, id)).await
    }
    async fn query(&self, plan: &Plan, page: Option<Page>) -> StoreResult<Vec<Vec<Value>>> {
        self.timed("query", self.inner.query(plan, page)).await
    }
    async fn count(&self, plan: &Plan) -> StoreResult<u64> {
        self.timed("count", self.inner.count(plan)).await
    }
    async fn phone_lookup(&self, number: &E164) -> StoreResult<Vec<PhoneMatch>> {
        self.timed("phone_lookup", self.inner.phone_lookup(number)).await
    }
    async fn find_user_by_username(&self, username: &str) -> StoreResult<Option<Record>> {
        self.timed("find_user", self.inner.find_user_by_username(username)).await
    }
    async fn put_credential(&self, c: &Credential) -> StoreResult<()> {
        self.timed("put_credential", self.inner.put_credential(c)).await
    }
    async fn credential(&self, user_id: &SalesforceId) -> StoreResult<Option<Credential>> {
        self.timed("credential", self.inner.credential(user_id)).await
    }
    async fn put_app(&self, app: &App) -> StoreResult<()> {
        self.timed("put_app", self.inner.put_app(app)).await
    }
    async fn app(&self, client_id: &str) -> StoreResult<Option<App>> {
        self.timed("app", self.inner.app(client_id)).await
    }
    async fn put_token(&self, t: &Token) -> StoreResult<()> {
        self.timed("put_token", self.inner.put_token(t)).await
    }
    async fn token(&self, token_hash: &str) -> StoreResult<Option<Token>> {
        self.timed("token", self.inner.token(token_hash)).await
    }
    async fn revoke_token(&self, token_hash: &str) -> StoreResult<()> {
        self.timed("revoke_token", self.inner.revoke_token(token_hash)).await
    }
    async fn put_share(&self, s: &Share) -> StoreResult<()> {
        self.timed("put_share", self.inner.put_share(s)).await
    }
    async fn delete_share(&self, record_id: &SalesforceId, principal: &str) -> StoreResult<()> {
        self.timed("delete_share", self.inner.delete_share(record_id, principal)).await
    }
    async fn shares(&self, record_id: &SalesforceId) -> StoreResult<Vec<Share>> {
        self.timed("shares", self.inner.shares(record_id)).await
    }
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        self.timed("append_audit", self.inner.append_audit(entry)).await
    }
    async fn audit_trail(&self, limit: u64) -> StoreResult<Vec<AuditEntry>> {
        self.timed("audit_trail", self.inner.audit_trail(limit)).await
    }
    async fn field_history(&self, record_id: &SalesforceId) -> StoreResult<Vec<FieldChange>> {
        self.timed("field_history", self.inner.field_history(record_id)).await
    }
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        self.timed("setting", self.inner.setting(key)).await
    }
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        self.timed("put_setting", self.inner.put_setting(key, value)).await
    }
    async fn settings_with_prefix(&self, prefix: &str) -> StoreResult<Vec<(String, String)>> {
        self.timed("settings", self.inner.settings_with_prefix(prefix)).await
    }
    async fn migrations(&self) -> StoreResult<Vec<(i64, String)>> {
        self.timed("migrations", self.inner.migrations()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_classes_are_bounded_labels() {
        assert_eq!(route_class("/services/data/v60.0/query"), "rest");
        assert_eq!(route_class("/services/oauth2/token"), "oauth");
        assert_eq!(route_class("/api/desktop/ws"), "desktop");
        assert_eq!(route_class("/api/agents"), "api");
        assert_eq!(route_class("/whatever/003Dt000000001"), "other");
    }

    #[test]
    fn the_exposition_names_every_family_and_ends_with_eof() {
        let m = Metrics::new();
        m.flow_run("succeeded");
        m.flow_run("failed");
        m.set_flow_backlog(3);
        m.offer_result("timed_out");
        let text = m.encode();
        for name in [
            "dialtone_build_info",
            "dialtone_flow_runs_total{status=\"failed\"} 1",
            "dialtone_flow_outbox_backlog 3",
            "dialtone_routing_offer_timeouts_total 1",
            "dialtone_routing_offer_results_total{result=\"timed_out\"} 1",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
        assert!(text.trim_end().ends_with("# EOF"));
        let f = m.flows();
        assert_eq!((f.running, f.backlog, f.runs, f.failures), (true, 3, 2, 1));
    }

    #[test]
    fn metrics_answer_loopback_and_the_token_only() {
        let open = MetricsAccess::default();
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let none = HeaderMap::new();
        assert!(open.allows(Some(local), &none));
        assert!(open.allows(None, &none));
        assert!(!open.allows(Some(remote), &none));
        let with = MetricsAccess { token: Some("s3cret".into()) };
        let mut good = HeaderMap::new();
        good.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        let mut bad = HeaderMap::new();
        bad.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert!(with.allows(Some(remote), &good));
        assert!(!with.allows(Some(remote), &bad));
        assert!(!with.allows(Some(remote), &none));
    }
}
