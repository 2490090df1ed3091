//! The SIP edge inside the server: loads trunks, agent phones and presence
//! from the store into memory (the [`dialtone_sip::Host`] the B2BUA core
//! asks), runs the driver, and feeds the core's call events to the call desk.
//!
//! Configuration lives in settings, written by the CLI or the API and
//! re-read every [`REFRESH`]:
//! - `trunk:sip:NAME` — a [`SipTrunk`] (which source address, which call center);
//! - `agent:USERNAME` — an [`AgentSettings`] (presence, a static SIP contact);
//! - `credential:sip.USERNAME.ha1` — the phone's digest HA1, sealed;
//! - `sip:binding:USERNAME` — the last REGISTER, so a restart keeps it.

use crate::AppState;
use crate::error::ApiError;
use dialtone_calls::{AgentId, CallEvent, EventKind, Input, QueueName, VendorCallKey};
use dialtone_model::SalesforceId;
use dialtone_routing::Presence;
use dialtone_sip::{AgentTarget, B2bua, Binding, Host, Overflow, Peer, PhoneUser, RouteQuery, Routed, Transport, Trunk};
use dialtone_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

/// How often configuration is re-read from the store.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// A carrier or PBX trunk: calls from `match_ip` go to `call_center`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SipTrunk {
    pub name: String,
    pub match_ip: IpAddr,
    pub call_center: String,
    /// Seconds a caller waits for a free agent before the overflow.
    pub queue_timeout_secs: u32,
    /// `reject` (480), `voicemail:URI` or `forward:URI` (302 to it).
    pub overflow: String,
    /// Where click-to-dial calls go out (default: `match_ip`, port 5060).
    #[serde(default)]
    pub outbound: Option<SocketAddr>,
    /// The most new calls per second taken from the trunk (none: no limit).
    #[serde(default)]
    pub max_cps: Option<u32>,
}

pub fn trunk_setting(name: &str) -> String {
    format!("trunk:sip:{name}")
}

/// Parses an overflow as `trunk add --overflow` takes it.
pub fn parse_overflow(s: &str) -> Option<Overflow> {
    let uri_ok = |u: &str| (u.starts_with("sip:") || u.starts_with("sips:") || u.starts_with("tel:")) && !u.contains(['<', '>', '"', ' ']);
    match s.split_once(':') {
        None if s == "reject" => Some(Overflow::Reject),
        Some(("voicemail", uri)) if uri_ok(uri) => Some(Overflow::Voicemail(uri.to_string())),
        Some(("forward", uri)) if uri_ok(uri) => Some(Overflow::Forward(uri.to_string())),
        _ => None,
    }
}

/// An agent's presence and static phone, as `dialtone agent status` and
/// `user add --sip-contact` set them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct AgentSettings {
    pub presence: Option<Presence>,
    /// RFC 3339: when the presence was set (idle time counts from it).
    pub since: Option<String>,
    pub sip_contact: Option<String>,
    /// The org status chosen (e.g. "Lunch"), when not a built-in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// What After Call Work returns to once the wrap-up is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_presence: Option<Presence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_status: Option<String>,
}

pub fn agent_setting(username: &str) -> String {
    format!("agent:{username}")
}

pub fn ha1_credential(username: &str) -> String {
    format!("sip.{username}.ha1")
}

fn binding_setting(username: &str) -> String {
    format!("sip:binding:{username}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredBinding {
    uri: String,
    addr: SocketAddr,
    tcp: bool,
    expires_at: i64,
}

/// A contact URI with an IP address (desk phones and test peers): where to send.
pub fn contact_peer(uri: &str) -> Option<Peer> {
    let (addr, tcp) = dialtone_sip::wire::uri_addr(uri)?;
    Some(Peer { addr, transport: if tcp { Transport::Tcp } else { Transport::Udp } })
}

/// What the B2BUA core asks, answered from memory.
#[derive(Default)]
pub struct Directory {
    /// The routing service (shared with every edge), set when the edge starts.
    pub routing: Option<crate::routing::Shared>,
    /// The org's number normaliser, for the dialled number entry rules compare.
    pub normalizer: Option<dialtone_phone::Normalizer>,
    /// Calls whose caller's record is being looked up for the entry rules, and where to ask.
    lookups: Option<mpsc::UnboundedSender<(VendorCallKey, dialtone_routing::service::Arrival, Vec<String>)>>,
    looking_up: Arc<Mutex<std::collections::HashSet<VendorCallKey>>>,
    pub(crate) trunks: HashMap<IpAddr, Trunk>,
    users: HashMap<String, PhoneUser>,
    statics: HashMap<AgentId, (String, Peer)>,
    bindings: HashMap<AgentId, Binding>,
    usernames: HashMap<String, AgentId>,
    /// Registrations to persist (username, binding or removal).
    persist: Option<mpsc::UnboundedSender<(String, Option<Binding>)>>,
}

impl Directory {
    fn target(&self, agent: &AgentId, now: OffsetDateTime) -> Option<(String, Peer)> {
        match self.bindings.get(agent) {
            Some(b) if b.expires_at > now => Some((b.uri.clone(), b.peer)),
            _ => self.statics.get(agent).cloned(),
        }
    }
}

/// The [`Host`] over a shared [`Directory`].
#[derive(Clone, Default)]
pub struct SipHost(pub Arc<Mutex<Directory>>);

impl Host for SipHost {
    fn trunk(&self, source: IpAddr) -> Option<Trunk> {
        self.0.lock().expect("directory lock").trunks.get(&source).cloned()
    }

    fn phone_user(&self, username: &str) -> Option<PhoneUser> {
        self.0.lock().expect("directory lock").users.get(username).cloned()
    }

    fn register(&mut self, username: &str, binding: Option<Binding>) {
        let mut d = self.0.lock().expect("directory lock");
        let Some(agent) = d.usernames.get(username).cloned() else { return };
        match &binding {
            Some(b) => d.bindings.insert(agent, b.clone()),
            None => d.bindings.remove(&agent),
        };
        if let Some(p) = &d.persist {
            let _ = p.send((username.to_string(), binding));
        }
    }

    fn choose_agent(&mut self, call: &RouteQuery<'_>) -> Routed {
        let now = OffsetDateTime::now_utc();
        let d = self.0.lock().expect("directory lock");
        let Some(routing) = d.routing.clone() else { return Routed::Wait };
        let mut r = routing.lock();
        let arrival = crate::routing::arrival(call.call_center.cloned(), call.from, call.to, d.normalizer.as_ref());
        if !r.has_arrived(call.key) && r.rules_read_records() {
            // Entry rules read the caller's record: look it up off the core's
            // thread; the call waits (asked again in 200 ms) until it arrives.
            if let Some(lookups) = &d.lookups {
                if d.looking_up.lock().expect("lookups").insert(call.key.clone()) {
                    let _ = lookups.send((call.key.clone(), arrival, r.record_fields_wanted()));
                }
                return Routed::Wait;
            }
        }
        r.arrive(now, call.key, &arrival);
        let reachable = |a: &AgentId| d.target(a, now).is_some();
        match r.route(now, call.key, call.exclude, &reachable) {
            dialtone_routing::service::Routed::Offer(agent) => match d.target(&agent, now) {
                Some((uri, peer)) => Routed::Agent(AgentTarget { agent, uri, peer }),
                None => Routed::Wait,
            },
            dialtone_routing::service::Routed::Wait | dialtone_routing::service::Routed::Gone => Routed::Wait,
            dialtone_routing::service::Routed::Leave(dialtone_routing::service::Away::Voicemail) => Routed::Voicemail,
            dialtone_routing::service::Routed::Leave(dialtone_routing::service::Away::Callback) => Routed::Callback,
        }
    }

    fn release_agent(&mut self, key: &VendorCallKey, agent: &AgentId) {
        let routing = self.0.lock().expect("directory lock").routing.clone();
        if let Some(routing) = routing {
            routing.lock().offer_failed(OffsetDateTime::now_utc(), key, agent);
        }
    }

    /// A named agent (a transfer, click-to-dial) who can take a call now;
    /// the call's Offered event then holds their capacity.
    fn agent_target(&mut self, username: &str) -> Option<AgentTarget> {
        let target = self.phone_of(username)?;
        let d = self.0.lock().expect("directory lock");
        let free = d.routing.as_ref().is_some_and(|r| r.lock().can_take_call(&target.agent));
        free.then_some(target)
    }
}

impl SipHost {
    /// The agent's phone, busy or not (a callback's dial-out: routing holds the agent already).
    pub fn phone_of(&self, username: &str) -> Option<AgentTarget> {
        let now = OffsetDateTime::now_utc();
        let d = self.0.lock().expect("directory lock");
        let agent = d.usernames.get(username).cloned()?;
        let (uri, peer) = d.target(&agent, now)?;
        Some(AgentTarget { agent, uri, peer })
    }
}

/// Re-reads trunks, agents, phones and presence from the store.
pub async fn refresh(state: &AppState, host: &SipHost) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc();
    let mut trunks = HashMap::new();
    for (_, json) in store.settings_with_prefix("trunk:sip:").await? {
        let Ok(t) = serde_json::from_str::<SipTrunk>(&json) else { continue };
        let center = crate::query::call_center_id(store, &t.call_center).await?;
        let trunk = Trunk {
            name: t.name.clone(),
            call_center: center,
            queue: QueueName::parse(&t.call_center).map_err(ApiError::ours)?,
            queue_timeout: time::Duration::seconds(t.queue_timeout_secs.into()),
            overflow: parse_overflow(&t.overflow).unwrap_or(Overflow::Reject),
            max_cps: t.max_cps,
        };
        trunks.insert(t.match_ip, trunk);
    }
    let rows = crate::agents::load(store, None).await?;
    let stored_bindings: HashMap<String, StoredBinding> =
        store.settings_with_prefix("sip:binding:").await?.into_iter().filter_map(|(k, v)| Some((k["sip:binding:".len()..].to_string(), serde_json::from_str(&v).ok()?))).collect();
    let sealed: HashMap<String, String> = store.settings_with_prefix("credential:sip.").await?.into_iter().collect();
    let mut phones = Vec::with_capacity(rows.len());
    for a in &rows {
        let username = &a.username;
        let ha1 = match (&state.master_key, sealed.get(&format!("credential:{}", ha1_credential(username)))) {
            (Some(key), Some(sealed)) => dialtone_secrets::open_secret(key, &ha1_credential(username), sealed).ok().map(|s| s.expose().to_string()),
            _ => None,
        };
        phones.push((ha1, stored_bindings.get(username).cloned()));
    }
    let mut d = host.0.lock().expect("directory lock");
    d.trunks = trunks;
    d.users.clear();
    d.statics.clear();
    d.usernames.clear();
    for (a, (ha1, binding)) in rows.into_iter().zip(phones) {
        let (agent, username, s) = (a.id, a.username, a.settings);
        if let Some(ha1) = ha1 {
            d.users.insert(username.clone(), PhoneUser { agent: agent.clone(), ha1 });
        }
        if let Some((uri, peer)) = s.sip_contact.as_deref().and_then(|c| Some((c.to_string(), contact_peer(c)?))) {
            d.statics.insert(agent.clone(), (uri, peer));
        }
        if let Some(b) = binding {
            let expires_at = OffsetDateTime::from_unix_timestamp(b.expires_at).unwrap_or(now);
            let peer = Peer { addr: b.addr, transport: if b.tcp { Transport::Tcp } else { Transport::Udp } };
            d.bindings.entry(agent.clone()).or_insert(Binding { uri: b.uri, peer, expires_at });
        }
        d.usernames.insert(username, agent);
    }
    Ok(())
}

/// What the API needs of the running SIP edge.
#[derive(Clone)]
pub struct SipControl {
    pub host: SipHost,
    pub dials: mpsc::UnboundedSender<dialtone_sip::Dial>,
    /// Third-party call control (hang up, hold, mute, decline, transfer).
    pub commands: mpsc::UnboundedSender<dialtone_sip::driver::CommandRequest>,
}

/// A running SIP edge.
pub struct SipEdge {
    pub local: SocketAddr,
    pub host: SipHost,
    pub stats: watch::Receiver<dialtone_sip::Stats>,
}

/// Binds UDP and TCP on `addr`, loads the directory and starts the driver,
/// the event pump into the call desk and the configuration refresher.
pub async fn start(state: AppState, addr: SocketAddr, shutdown: watch::Receiver<bool>) -> std::io::Result<SipEdge> {
    let (udp, tcp) = dialtone_sip::driver::bind(addr).await?;
    let local = udp.local_addr()?;
    let host = SipHost::default();
    let (persist_tx, persist_rx) = mpsc::unbounded_channel();
    {
        let mut d = host.0.lock().expect("directory lock");
        d.persist = Some(persist_tx);
        d.routing = Some(state.calls.routing.clone());
        d.normalizer = Some(*state.store.normalizer());
        let (tx, mut rx) = mpsc::unbounded_channel::<(VendorCallKey, dialtone_routing::service::Arrival, Vec<String>)>();
        d.lookups = Some(tx);
        let (st, pending) = (state.clone(), d.looking_up.clone());
        tokio::spawn(async move {
            while let Some((key, mut arrival, wanted)) = rx.recv().await {
                arrival.record = crate::routing::caller_fields(st.store.as_ref(), &arrival.from, &wanted).await;
                st.calls.routing.lock().arrive(OffsetDateTime::now_utc(), &key, &arrival);
                crate::routing::act_now(&st);
                pending.lock().expect("lookups").remove(&key);
            }
        });
    }
    if let Err(e) = refresh(&state, &host).await {
        tracing::error!(error = %e.message, "loading the SIP directory");
    }
    if let Err(e) = crate::routing::refresh(&state).await {
        tracing::error!(error = %e.message, "loading routing");
    }
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (persisted_tx, persisted_rx) = mpsc::unbounded_channel();
    let (stats_tx, stats_rx) = watch::channel(dialtone_sip::Stats::default());
    let core = B2bua::new(dialtone_sip::Config::new(local));
    let (dials_tx, dials_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let _ = state.sip.set(SipControl { host: host.clone(), dials: dials_tx, commands: commands_tx });
    let channels = dialtone_sip::driver::Channels { events: events_tx, persisted: persisted_rx, dials: dials_rx, commands: commands_rx, stats: stats_tx, shutdown };
    tokio::spawn(dialtone_sip::driver::run(udp, tcp, core, host.clone(), channels));
    tokio::spawn(pump(state.clone(), events_rx, persisted_tx));
    tokio::spawn(keep_bindings(state.store.clone(), persist_rx));
    let (s, h) = (state.clone(), host.clone());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        loop {
            tick.tick().await;
            if let Err(e) = refresh(&s, &h).await {
                tracing::warn!(error = %e.message, "refreshing the SIP directory");
            }
        }
    });
    Ok(SipEdge { local, host, stats: stats_rx })
}

/// Feeds call events to the desk in arrival order; tells the core once a
/// call's VoiceCall is stored (its answer is held until then, so a call
/// that got a 200 OK always has its record).
async fn pump(state: AppState, mut events: mpsc::UnboundedReceiver<CallEvent>, persisted: mpsc::UnboundedSender<VendorCallKey>) {
    let mut batch = Vec::with_capacity(256);
    while events.recv_many(&mut batch, 256).await > 0 {
        let now = OffsetDateTime::now_utc();
        let firsts: Vec<VendorCallKey> = batch.iter().filter(|e| matches!(e.kind, EventKind::Initiated { .. })).map(|e| e.key.clone()).collect();
        let inputs = batch.drain(..).map(Input::Event).collect();
        if let Err(e) = state.calls.ingest_all(state.store.as_ref(), now, inputs).await {
            tracing::error!(error = %e.message, "writing SIP call events");
        }
        for key in firsts {
            if state.calls.voice_call(&key).await.is_some() {
                let _ = persisted.send(key);
            }
        }
    }
}

async fn keep_bindings(store: dialtone_store::DynStore, mut rx: mpsc::UnboundedReceiver<(String, Option<Binding>)>) {
    while let Some((username, binding)) = rx.recv().await {
        let value = match binding {
            Some(b) => serde_json::to_string(&StoredBinding { uri: b.uri, addr: b.peer.addr, tcp: b.peer.transport == Transport::Tcp, expires_at: b.expires_at.unix_timestamp() })
                .unwrap_or_default(),
            None => String::new(),
        };
        if let Err(e) = store.put_setting(&binding_setting(&username), &value).await {
            tracing::warn!(error = %e, %username, "saving a SIP registration");
        }
    }
}

/// `POST /api/calls/dial` `{"to": "+14155550100"}`: click-to-dial for the
/// signed-in agent. Their phone rings first; once they pick up, the customer
/// is called through their call center's SIP trunk. Answers 202 with the
/// call's `vendorCallKey` (its VoiceCall appears at once).
pub async fn dial(
    axum::extract::State(state): axum::extract::State<AppState>,
    s: crate::auth::Session,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, axum::Json<serde_json::Value>), ApiError> {
    use dialtone_access::SystemPerm;
    if !s.grants.has(SystemPerm::UseSoftphone) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "placing calls needs the Use Softphone permission"));
    }
    let body: serde_json::Value = serde_json::from_slice(&body).map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body is not JSON: {e}")))?;
    let to = body.get("to").and_then(|v| v.as_str()).ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", "give the number to call: {\"to\": \"+14155550100\"}"))?;
    let number = state.store.normalizer().normalize(to).ok_or_else(|| ApiError::new("INVALID_FIELD", format!("{to:?} is not a phone number")))?;
    if state.sip.get().is_none() {
        return Err(ApiError::new("SIP_NOT_RUNNING", "this server runs no SIP edge: start it with `dialtone serve --sip ADDRESS`"));
    }
    let username = username_of(state.store.as_ref(), &s.user_id).await?;
    let center = crate::desktop::user_center(state.store.as_ref(), &s.user_id).await?;
    let Some(center) = center else {
        return Err(ApiError::new("INVALID_FIELD", format!("{username} belongs to no call center: assign one first")));
    };
    let key = place_call(&state, &username, center, number.as_str().to_string(), false, |_| {}).await?;
    Ok((axum::http::StatusCode::ACCEPTED, axum::Json(serde_json::json!({"vendorCallKey": key.as_str(), "to": number.as_str()}))))
}

/// A user's username (the session's user always has one).
pub async fn username_of(store: &dyn Store, user: &SalesforceId) -> Result<String, ApiError> {
    let rec = store.get(store.schema().object("User").expect("standard object"), user).await?.ok_or_else(ApiError::session)?;
    Ok(rec.get("Username").and_then(|v| v.as_str()).unwrap_or_default().to_string())
}

/// Whether the running SIP edge has a trunk for `center` (click-to-dial can go out through it).
pub fn has_trunk(state: &AppState, center: &SalesforceId) -> bool {
    state.sip.get().is_some_and(|c| c.host.0.lock().expect("directory lock").trunks.values().any(|t| t.call_center.as_ref() == Some(center)))
}

/// Click-to-dial through the SIP edge: rings `username`'s phone, then calls
/// `number` (as the trunk should dial it) through `center`'s trunk.
/// `before_send` sees the call's key before the edge can report anything about it.
pub async fn place_call(state: &AppState, username: &str, center: SalesforceId, number: String, engaged: bool, before_send: impl FnOnce(&VendorCallKey)) -> Result<VendorCallKey, ApiError> {
    let control = state.sip.get().cloned().ok_or_else(|| ApiError::new("SIP_NOT_RUNNING", "this server runs no SIP edge: start it with `dialtone serve --sip ADDRESS`"))?;
    let (agent, trunk) = {
        let mut h = control.host.clone();
        let trunk = {
            let d = h.0.lock().expect("directory lock");
            d.trunks.iter().find(|(_, t)| t.call_center.as_ref() == Some(&center)).map(|(ip, t)| (*ip, t.clone()))
        };
        let Some((ip, trunk)) = trunk else {
            return Err(ApiError::new("INVALID_FIELD", "the call center has no SIP trunk: `dialtone trunk add NAME --provider sip …` first"));
        };
        let target = if engaged { h.phone_of(username) } else { h.agent_target(username) };
        let agent = target.ok_or_else(|| {
            ApiError::new("AGENT_NOT_AVAILABLE", format!("{username} cannot take a call now: set the status to Available and connect a phone (registered or --sip-contact)"))
        })?;
        let out = trunk_outbound(ip, &trunk.name, state).await;
        (agent, out)
    };
    let key = VendorCallKey::parse(&format!("dial-{}@dialtone", crate::auth::random_secret(12))).map_err(ApiError::ours)?;
    before_send(&key);
    let dial = dialtone_sip::Dial { key: key.clone(), agent, number, trunk, call_center: Some(center) };
    control.dials.send(dial).map_err(|_| ApiError::new("SIP_NOT_RUNNING", "the SIP edge has stopped"))?;
    Ok(key)
}

/// Where a trunk takes outbound calls: its `outbound` address, else its
/// matched address on port 5060.
async fn trunk_outbound(ip: IpAddr, name: &str, state: &AppState) -> Peer {
    let configured = match state.store.setting(&trunk_setting(name)).await {
        Ok(Some(json)) => serde_json::from_str::<SipTrunk>(&json).ok().and_then(|t| t.outbound),
        _ => None,
    };
    Peer { addr: configured.unwrap_or(SocketAddr::new(ip, 5060)), transport: Transport::Udp }
}

/// Sets an agent's presence (the CLI and the API both call this).
pub async fn set_presence(store: &dyn Store, username: &str, presence: Presence, now: OffsetDateTime) -> Result<AgentSettings, ApiError> {
    let key = agent_setting(username);
    let mut s: AgentSettings = store.setting(&key).await?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    s.presence = Some(presence);
    s.status = None;
    s.resume_presence = None;
    s.resume_status = None;
    s.since = now.format(&time::format_description::well_known::Rfc3339).ok();
    store.put_setting(&key, &serde_json::to_string(&s).map_err(ApiError::ours)?).await?;
    Ok(s)
}

/// Sets (or clears) an agent's static SIP contact.
pub async fn set_sip_contact(store: &dyn Store, username: &str, contact: Option<&str>) -> Result<(), ApiError> {
    if let Some(c) = contact
        && contact_peer(c).is_none()
    {
        return Err(ApiError::new("INVALID_FIELD", format!("{c:?} is not a SIP contact with an IP address, e.g. sip:agent1@192.0.2.10:5060")));
    }
    let key = agent_setting(username);
    let mut s: AgentSettings = store.setting(&key).await?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    s.sip_contact = contact.map(str::to_string);
    store.put_setting(&key, &serde_json::to_string(&s).map_err(ApiError::ours)?).await?;
    Ok(())
}
