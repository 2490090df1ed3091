//! The desktop hub: the call desk's one subscriber, and every agent's sockets.
//!
//! The desk publishes each batch ([`DeskUpdate`]: notifications and the
//! calls' state after the batch) on an unbounded channel and never waits;
//! one task here turns them into messages. Per call the hub keeps the last
//! snapshot and what only the desktop knows (mute, the pop shown, who
//! dialled it, a saved wrap-up), so a socket that connects gets a `hello`
//! built under the same lock that registers it: nothing sent after the
//! snapshot is missed, nothing in it is sent again.
//!
//! Each socket has a bounded queue ([`SOCKET_QUEUE`]); a socket whose queue
//! is full is dropped (the tab reconnects and resumes), never waited for.

use crate::calldesk::{CallSnapshot, DeskUpdate};
use crate::error::ApiError;
use crate::AppState;
use dialtone_calls::{AgentId, Direction, Disposition, NotificationKind, OfferOutcome, Provider, Speaker, VendorCallKey};
use dialtone_model::{SalesforceId, Value};
use dialtone_routing::Presence;
use dialtone_store::Store;
use serde_json::{Value as Json_, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// Messages a socket may have queued before it counts as too slow.
pub const SOCKET_QUEUE: usize = 256;

/// Sequence numbers of the events the desktop adds for simulator calls
/// start here, far above any the simulator sends (it counts from 1).
pub const DESKTOP_SEQ_BASE: u64 = 1 << 48;

/// A serialized message, shared by every socket it goes to.
pub type Message = Arc<str>;

/// What a call looks like to the agent it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Offered,
    Dialing,
    Connected,
    Held,
    Ended,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Offered => "offered",
            CallState::Dialing => "dialing",
            CallState::Connected => "connected",
            CallState::Held => "held",
            CallState::Ended => "ended",
        }
    }
}

/// One call as the hub knows it.
#[derive(Debug, Clone)]
pub struct HubCall {
    pub snap: CallSnapshot,
    pub muted: bool,
    /// The pop each offered agent got.
    pub pops: HashMap<AgentId, Json_>,
    /// `{id, object, name}` of the related record, or null.
    pub related: Json_,
    /// The agent who placed it from the desktop (an outbound call may fail
    /// before anyone "answers", and still needs their wrap-up).
    pub dialer: Option<AgentId>,
    /// A wrap-up saved through the desktop (the desk's snapshot may lag).
    pub wrapped: Option<String>,
    ended_handled: bool,
}

impl HubCall {
    fn new(snap: CallSnapshot) -> HubCall {
        HubCall { snap, muted: false, pops: HashMap::new(), related: Json_::Null, dialer: None, wrapped: None, ended_handled: false }
    }

    /// The agent whose call it is: who answered it, else who dialled it.
    pub fn responsible(&self) -> Option<&AgentId> {
        self.snap.view.owner.as_ref().or(self.dialer.as_ref())
    }

    /// The agent the call is ringing for now, if any.
    pub fn offered_to(&self, agent: &AgentId) -> bool {
        !self.ended() && self.snap.view.offers.iter().any(|o| &o.agent == agent && o.result.is_none() && o.offered_at.is_some())
    }

    pub fn ended(&self) -> bool {
        self.snap.view.disposition.is_terminal()
    }

    pub fn needs_wrap_up(&self) -> bool {
        self.ended() && self.snap.wrap_up.is_none() && self.wrapped.is_none()
    }

    pub fn state(&self) -> CallState {
        let v = &self.snap.view;
        if v.disposition.is_terminal() {
            CallState::Ended
        } else if v.disposition == Disposition::OnHold {
            CallState::Held
        } else if v.answered {
            CallState::Connected
        } else if v.direction == Some(Direction::Outbound) {
            CallState::Dialing
        } else {
            CallState::Offered
        }
    }

    /// Everyone who sees this call's changes: its agent and whoever it rings for.
    fn audience(&self) -> Vec<AgentId> {
        let mut out: Vec<AgentId> = self.responsible().cloned().into_iter().collect();
        if !self.ended() {
            for o in &self.snap.view.offers {
                if o.result.is_none() && o.offered_at.is_some() && !out.contains(&o.agent) {
                    out.push(o.agent.clone());
                }
            }
        }
        out
    }

    /// The CallView of docs/DESKTOP.md, as `agent` sees it.
    pub fn to_json(&self, agent: Option<&AgentId>) -> Json_ {
        let v = &self.snap.view;
        let state = self.state();
        let dt = |t: Option<OffsetDateTime>| t.map(dialtone_model::format_datetime);
        let provider = match v.provider {
            Provider::Sip => "sip",
            Provider::Twilio => "twilio",
            Provider::Partner => "partner",
            Provider::Simulator => "simulator",
        };
        let pop = agent.and_then(|a| self.pops.get(a)).filter(|_| state == CallState::Offered).cloned().unwrap_or(Json_::Null);
        json!({
            "key": self.snap.key.as_str(),
            "voiceCallId": self.snap.voice_call.as_ref().map(|id| id.to_string()),
            "provider": provider,
            "direction": if v.direction == Some(Direction::Outbound) { "outbound" } else { "inbound" },
            "from": v.from, "to": v.to,
            "state": state.as_str(),
            "muted": self.muted,
            "holds": v.holds.count,
            "disposition": v.disposition.as_str(),
            "startedAt": dt(Some(v.start)), "answeredAt": dt(v.accepted_at), "endedAt": dt(v.ended_at),
            "relatedRecord": self.related,
            "resolution": self.snap.wrap_up.as_ref().map(|w| w.resolution.clone()).or_else(|| self.wrapped.clone()),
            "controls": super::commands::controls(v.provider, state, self.muted),
            "pop": pop,
        })
    }
}

struct Socket {
    id: u64,
    tx: mpsc::Sender<Message>,
}

#[derive(Default)]
struct HubState {
    sockets: HashMap<AgentId, Vec<Socket>>,
    calls: HashMap<VendorCallKey, HubCall>,
    /// Calls placed from the desktop: who dialled, and the record to relate
    /// once the call exists (the SIP edge creates it asynchronously).
    dials: HashMap<VendorCallKey, (AgentId, Option<SalesforceId>)>,
    next_socket: u64,
}

impl HubState {
    fn send(&mut self, agent: &AgentId, msg: &Message) {
        let Some(list) = self.sockets.get_mut(agent) else { return };
        // A full queue drops the socket (its task sees the channel close).
        list.retain(|s| match s.tx.try_send(msg.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(socket = s.id, "a desktop socket fell behind; dropping it");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if list.is_empty() {
            self.sockets.remove(agent);
        }
    }
}

/// What a new socket starts from.
pub struct Connected {
    pub id: u64,
    pub rx: mpsc::Receiver<Message>,
    pub calls: Vec<Json_>,
    pub wrap_ups: Vec<Json_>,
}

/// Every agent's sockets and the desktop's view of live calls.
pub struct Hub {
    inner: Mutex<HubState>,
    /// Serializes presence changes (After Call Work in and out, the API).
    pub(crate) presence_lock: tokio::sync::Mutex<()>,
    seq: AtomicU64,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub { inner: Mutex::default(), presence_lock: tokio::sync::Mutex::new(()), seq: AtomicU64::new(DESKTOP_SEQ_BASE) }
    }
}

pub fn message(v: &Json_) -> Message {
    Arc::from(v.to_string())
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes to the state's call desk and starts delivering (once per desk).
    pub fn spawn(state: &AppState) {
        if let Some(rx) = state.calls.subscribe() {
            tokio::spawn(run(state.clone(), rx));
        }
    }

    /// Registers a socket and snapshots what its `hello` lists, atomically.
    pub fn connect(&self, agent: &AgentId) -> Connected {
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let mut h = self.lock();
        h.next_socket += 1;
        let id = h.next_socket;
        h.sockets.entry(agent.clone()).or_default().push(Socket { id, tx });
        let mut live: Vec<&HubCall> = h.calls.values().filter(|c| !c.ended() && (c.responsible() == Some(agent) || c.offered_to(agent))).collect();
        live.sort_by_key(|c| c.snap.view.start);
        let mut wraps: Vec<&HubCall> = h.calls.values().filter(|c| c.needs_wrap_up() && c.responsible() == Some(agent)).collect();
        wraps.sort_by_key(|c| c.snap.view.start);
        let calls = live.iter().map(|c| c.to_json(Some(agent))).collect();
        let wrap_ups = wraps.iter().map(|c| c.to_json(Some(agent))).collect();
        Connected { id, rx, calls, wrap_ups }
    }

    pub fn disconnect(&self, agent: &AgentId, id: u64) {
        let mut h = self.lock();
        if let Some(list) = h.sockets.get_mut(agent) {
            list.retain(|s| s.id != id);
            if list.is_empty() {
                h.sockets.remove(agent);
            }
        }
    }

    /// Agents with a socket open, and sockets open (metrics, health).
    pub fn connected(&self) -> (usize, usize) {
        let h = self.lock();
        (h.sockets.len(), h.sockets.values().map(Vec::len).sum())
    }

    /// How many sockets an agent has open.
    pub fn sockets(&self, agent: &AgentId) -> usize {
        self.lock().sockets.get(agent).map_or(0, Vec::len)
    }

    pub fn send(&self, agent: &AgentId, msg: &Json_) {
        let m = message(msg);
        self.lock().send(agent, &m);
    }

    pub fn call(&self, key: &VendorCallKey) -> Option<HubCall> {
        self.lock().calls.get(key).cloned()
    }

    /// A sequence number for an event the desktop adds to a simulator call.
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Remembers who placed `key` (and what to relate it to) before its first event.
    pub fn expect_dial(&self, key: &VendorCallKey, agent: &AgentId, record: Option<SalesforceId>) {
        self.lock().dials.insert(key.clone(), (agent.clone(), record));
    }

    /// Mute is the desktop's own state: sets it and tells the call's audience.
    pub fn set_muted(&self, key: &VendorCallKey, muted: bool) -> Option<Json_> {
        let mut h = self.lock();
        let call = h.calls.get_mut(key)?;
        call.muted = muted;
        let call = call.clone();
        for a in call.audience() {
            h.send(&a, &message(&json!({"type": "call", "call": call.to_json(Some(&a))})));
        }
        Some(call.to_json(None))
    }

    /// Takes in a fresher snapshot (a command's own result), so its answer
    /// is current even before the hub task has seen the batch.
    pub fn refresh(&self, snap: CallSnapshot) -> Option<HubCall> {
        let mut h = self.lock();
        let dialer = h.dials.get(&snap.key).map(|(a, _)| a.clone());
        let call = h.calls.entry(snap.key.clone()).or_insert_with(|| HubCall::new(snap.clone()));
        call.snap = snap;
        if call.dialer.is_none() {
            call.dialer = dialer;
        }
        Some(call.clone())
    }

    /// Records a saved wrap-up and tells every tab of the agent.
    pub fn wrapped(&self, key: &VendorCallKey, agent: &AgentId, resolution: &str) {
        let mut h = self.lock();
        if let Some(c) = h.calls.get_mut(key) {
            c.wrapped = Some(resolution.to_string());
        }
        h.send(agent, &message(&json!({"type": "wrapUpSaved", "key": key.as_str(), "resolution": resolution})));
    }

    fn is_wrapped(&self, key: &VendorCallKey) -> bool {
        self.lock().calls.get(key).is_some_and(|c| !c.needs_wrap_up())
    }

    /// Ended calls of `agent` still waiting for a wrap-up.
    pub fn pending_wrap_ups(&self, agent: &AgentId) -> usize {
        self.lock().calls.values().filter(|c| c.needs_wrap_up() && c.responsible() == Some(agent)).count()
    }
}

/// `{id, object, name}` of a record (the system reads it: the agent was
/// offered or placed the call, the name is what a softphone shows).
pub async fn related_json(store: &dyn Store, id: &SalesforceId) -> Result<Json_, ApiError> {
    let Some(o) = store.schema().by_key_prefix(id.key_prefix()) else { return Ok(Json_::Null) };
    let name = store.get(o, id).await?.and_then(|r| r.get("Name").and_then(Value::as_str).map(str::to_string));
    Ok(json!({"id": id.to_string(), "object": o.name, "name": name}))
}

/// The hub's task: one batch at a time, in the desk's order.
async fn run(state: AppState, mut rx: mpsc::UnboundedReceiver<DeskUpdate>) {
    while let Some(update) = rx.recv().await {
        process(&state, update).await;
    }
}

async fn process(state: &AppState, update: DeskUpdate) {
    let hub = &state.hub;
    let store = state.store.as_ref();
    // The store reads first, off the hub's lock: related names and pops.
    let mut related = HashMap::new();
    for snap in &update.calls {
        let known = hub.lock().calls.get(&snap.key).map(|c| c.snap.view.related.clone());
        if known.as_ref() != Some(&snap.view.related) {
            let value = match &snap.view.related {
                Some(id) => related_json(store, id).await.unwrap_or(Json_::Null),
                None => Json_::Null,
            };
            related.insert(snap.key.clone(), value);
        }
    }
    let mut pops: Vec<(VendorCallKey, AgentId, super::pop::Decided)> = Vec::new();
    for n in &update.notifications {
        let (NotificationKind::Offered, Some(agent)) = (&n.what, &n.agent) else { continue };
        let Some(snap) = update.calls.iter().rev().find(|s| s.key == n.key) else { continue };
        if snap.view.direction == Some(Direction::Outbound) {
            continue; // the agent's own dial rings no one: no offer, no pop
        }
        let decided = super::pop::for_offer(state, agent, snap).await;
        pops.push((n.key.clone(), agent.clone(), decided));
    }

    let snap_keys: Vec<VendorCallKey> = update.calls.iter().map(|s| s.key.clone()).collect();
    let mut ended: Vec<(VendorCallKey, AgentId, Option<SalesforceId>)> = Vec::new();
    let mut to_relate: Vec<(VendorCallKey, SalesforceId)> = Vec::new();
    let mut expired: Vec<AgentId> = Vec::new();
    {
        let mut h = hub.lock();
        for snap in update.calls {
            let key = snap.key.clone();
            let dial = h.dials.get(&key).cloned();
            let entry = h.calls.entry(key.clone()).or_insert_with(|| HubCall::new(snap.clone()));
            entry.snap = snap;
            if let Some(r) = related.remove(&key) {
                entry.related = r;
            }
            if let Some((agent, record)) = dial {
                entry.dialer = Some(agent);
                if let Some(record) = record
                    && entry.snap.view.related.is_none()
                {
                    to_relate.push((key.clone(), record));
                }
            }
            if entry.ended() && !entry.ended_handled {
                entry.ended_handled = true;
                if let Some(agent) = entry.responsible().cloned() {
                    ended.push((key.clone(), agent, entry.snap.view.call_center.clone()));
                }
            }
        }
        for (key, _) in &to_relate {
            if let Some(d) = h.dials.get_mut(key) {
                d.1 = None;
            }
        }
        for key in &update.forgotten {
            // A wrap-up never saved within the desk's linger cannot be saved
            // now: its agent leaves After Call Work.
            if let Some(c) = h.calls.remove(key)
                && c.needs_wrap_up()
                && let Some(agent) = c.responsible()
            {
                expired.push(agent.clone());
            }
            h.dials.remove(key);
        }
        let mut offered: Vec<(VendorCallKey, AgentId)> = Vec::new();
        for (key, agent, decided) in pops {
            let Some(call) = h.calls.get_mut(&key) else { continue };
            call.pops.insert(agent.clone(), decided.pop.clone());
            let call = call.clone();
            let msg = json!({"type": "offer", "call": call.to_json(Some(&agent)), "pop": decided.pop});
            h.send(&agent, &message(&msg));
            state.metrics.screen_pop(decided.outcome, update.received.elapsed());
            // Names and numbers in the pop are masked by the log writer (crate::logging).
            tracing::debug!(key = %key, outcome = decided.outcome, name = ?decided.pop["records"].get(0).and_then(|r| r["name"].as_str()), "screen pop sent");
            offered.push((key.clone(), agent.clone()));
            if let Some(id) = call.snap.voice_call.clone() {
                let store = state.store.clone();
                let outcome = decided.outcome;
                tokio::spawn(async move { super::pop::record_outcome(store.as_ref(), &id, outcome).await });
            }
        }
        for n in &update.notifications {
            let Some(agent) = n.agent.clone().or_else(|| h.calls.get(&n.key).and_then(|c| c.responsible().cloned())) else { continue };
            let msg = match &n.what {
                NotificationKind::OfferClosed { result } => {
                    let result = match result {
                        OfferOutcome::Accepted => "accepted",
                        OfferOutcome::Declined => "declined",
                        OfferOutcome::TimedOut => "timedOut",
                        OfferOutcome::Missed => "missed",
                    };
                    json!({"type": "offerClosed", "key": n.key.as_str(), "result": result})
                }
                NotificationKind::OfferWithdrawn => json!({"type": "offerClosed", "key": n.key.as_str(), "result": "withdrawn"}),
                NotificationKind::Utterance { speaker, text } => {
                    let speaker = match speaker {
                        Speaker::Customer => "customer",
                        Speaker::Agent(_) => "agent",
                        Speaker::VirtualAgent => "virtualAgent",
                    };
                    json!({"type": "utterance", "key": n.key.as_str(), "speaker": speaker, "text": text})
                }
                NotificationKind::Offered | NotificationKind::Status { .. } => continue,
            };
            if h.calls.get(&n.key).is_some_and(|c| c.snap.view.direction == Some(Direction::Outbound)) && matches!(n.what, NotificationKind::OfferClosed { .. }) {
                continue; // the dialling agent's own leg
            }
            h.send(&agent, &message(&msg));
        }
        let mut sent = std::collections::HashSet::new();
        for key in &snap_keys {
            if !sent.insert(key.clone()) {
                continue;
            }
            let Some(call) = h.calls.get(key).cloned() else { continue };
            for a in call.audience() {
                if offered.iter().any(|(k, x)| k == key && x == &a) {
                    continue; // the offer carried the call
                }
                h.send(&a, &message(&json!({"type": "call", "call": call.to_json(Some(&a))})));
            }
        }
    }
    for (key, record) in to_relate {
        let state = state.clone();
        tokio::spawn(async move {
            let input = dialtone_calls::Input::Matched { key, record };
            if let Err(e) = state.calls.ingest(state.store.as_ref(), OffsetDateTime::now_utc(), input).await {
                tracing::warn!(error = %e.message, "relating a dialled call to its record");
            }
        });
    }
    for agent in expired {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = leave_after_call_work(&state, &agent).await {
                tracing::warn!(error = %e.message, "ending After Call Work of a forgotten call");
            }
        });
    }
    for (key, agent, center) in ended {
        tokio::spawn(call_ended(state.clone(), key, agent, center));
    }
}

/// A call of `agent` ended: After Call Work if the call center wants a
/// wrap-up, then the `wrapUp` message.
async fn call_ended(state: AppState, key: VendorCallKey, agent: AgentId, center: Option<SalesforceId>) {
    let store = state.store.as_ref();
    let center = match center {
        Some(c) => Some(c),
        None => super::user_center(store, agent.id()).await.ok().flatten(),
    };
    let required = match &center {
        Some(id) => super::center_info(store, id).await.ok().flatten().is_none_or(|c| c.wrap_up_required()),
        None => true,
    };
    // After Call Work needs a desktop to save the wrap-up in: an agent with
    // no tab open (a desk phone alone, a load test) stays routable.
    let desktop = state.hub.sockets(&agent) > 0;
    if required && desktop && let Err(e) = enter_after_call_work(&state, &agent, &key).await {
        tracing::warn!(error = %e.message, "putting an agent in After Call Work");
    }
    if let Some(call) = state.hub.call(&key) {
        state.hub.send(&agent, &json!({"type": "wrapUp", "call": call.to_json(Some(&agent)), "required": required}));
    }
}

async fn username_of(store: &dyn Store, agent: &AgentId) -> Result<Option<String>, ApiError> {
    let o = store.schema().object("User").expect("standard object");
    Ok(store.get(o, agent.id()).await?.and_then(|r| r.get("Username").and_then(Value::as_str).map(str::to_string)))
}

/// The status name an agent's settings show.
pub fn status_name(s: &crate::sipedge::AgentSettings) -> String {
    match &s.status {
        Some(name) => name.clone(),
        None => super::base_label(s.presence.unwrap_or(Presence::Offline)).to_string(),
    }
}

fn presence_message(s: &crate::sipedge::AgentSettings) -> Json_ {
    json!({"type": "presence", "presence": status_name(s), "presenceSince": s.since})
}

/// Sets an agent's status (base and org name) and tells their sockets. The
/// one way presence changes while the server runs, so After Call Work and
/// the API never interleave.
pub async fn set_status(state: &AppState, agent: &AgentId, username: &str, presence: Presence, status: Option<String>) -> Result<crate::sipedge::AgentSettings, ApiError> {
    let _guard = state.hub.presence_lock.lock().await;
    let after = crate::agents::update_settings(state.store.as_ref(), username, |s| {
        s.presence = Some(presence);
        s.status = status;
        s.resume_presence = None;
        s.resume_status = None;
        s.since = OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).ok();
    })
    .await?;
    state.hub.send(agent, &presence_message(&after));
    crate::routing::presence_changed(state, agent, &after);
    log_presence(state, agent, &after).await;
    Ok(after)
}

/// Into After Call Work, remembering the status to go back to. Skipped when
/// the call is already wrapped up (the wrap-up may overtake this).
pub async fn enter_after_call_work(state: &AppState, agent: &AgentId, key: &VendorCallKey) -> Result<(), ApiError> {
    let _guard = state.hub.presence_lock.lock().await;
    if state.hub.is_wrapped(key) {
        return Ok(());
    }
    change_presence(state, agent, |s| {
        if s.presence == Some(Presence::AfterCallWork) {
            return false;
        }
        s.resume_presence = s.presence;
        s.resume_status = s.status.take();
        s.presence = Some(Presence::AfterCallWork);
        true
    })
    .await
}

/// Out of After Call Work, back to the status before it, once no wrap-up is pending.
pub async fn leave_after_call_work(state: &AppState, agent: &AgentId) -> Result<(), ApiError> {
    let _guard = state.hub.presence_lock.lock().await;
    if state.hub.pending_wrap_ups(agent) > 0 {
        return Ok(());
    }
    change_presence(state, agent, |s| {
        if s.presence != Some(Presence::AfterCallWork) {
            return false;
        }
        s.presence = Some(s.resume_presence.take().unwrap_or(Presence::Available));
        s.status = s.resume_status.take();
        true
    })
    .await
}

/// Applies `change` to the agent's settings; if it changed them, stores
/// them with a new `since` and tells the agent's tabs. The caller holds the
/// presence lock.
async fn change_presence(state: &AppState, agent: &AgentId, change: impl FnOnce(&mut crate::sipedge::AgentSettings) -> bool) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let Some(username) = username_of(store, agent).await? else { return Ok(()) };
    let mut s = crate::agents::settings_of(store, &username).await?;
    if !change(&mut s) {
        return Ok(());
    }
    s.since = OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).ok();
    store.put_setting(&crate::sipedge::agent_setting(&username), &serde_json::to_string(&s).map_err(ApiError::ours)?).await?;
    state.hub.send(agent, &presence_message(&s));
    crate::routing::presence_changed(state, agent, &s);
    log_presence(state, agent, &s).await;
    Ok(())
}

/// Keeps the time-in-status record (`UserServicePresence`). The status has
/// changed already; a failure here is logged, not undone.
async fn log_presence(state: &AppState, agent: &AgentId, s: &crate::sipedge::AgentSettings) {
    if let Err(e) = crate::presence_log::record(state.store.as_ref(), agent, s).await {
        tracing::error!(error = %e.message, agent = %agent, "recording the agent's time in status");
    }
}

/// The `agent` part of `hello`.
pub async fn agent_json(store: &dyn Store, agent: &AgentId) -> Result<Json_, ApiError> {
    let username = username_of(store, agent).await?.unwrap_or_default();
    let s = crate::agents::settings_of(store, &username).await?;
    Ok(json!({"id": agent.to_string(), "username": username, "presence": status_name(&s), "presenceSince": s.since}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_that_falls_behind_is_dropped_and_nobody_waits_for_it() {
        let hub = Hub::default();
        let agent = AgentId::new(SalesforceId::new("005", 1)).unwrap();
        let slow = hub.connect(&agent);
        let mut fast = hub.connect(&agent);
        assert_eq!(hub.sockets(&agent), 2);
        for i in 0..SOCKET_QUEUE {
            hub.send(&agent, &json!({"type": "utterance", "text": i}));
            assert!(fast.rx.try_recv().is_ok());
        }
        assert_eq!(hub.sockets(&agent), 2, "a full queue is still kept");
        hub.send(&agent, &json!({"type": "utterance", "text": "one too many"}));
        assert_eq!(hub.sockets(&agent), 1, "the slow socket is dropped, the fast one stays");
        assert!(fast.rx.try_recv().is_ok());
        drop(slow);
        hub.disconnect(&agent, fast.id);
        assert_eq!(hub.sockets(&agent), 0);
    }
}
