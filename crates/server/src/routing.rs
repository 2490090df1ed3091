//! Routing inside the server: the one [`Routing`] service every edge shares
//! (it lives in the call desk, which shows it every call event), kept up to
//! date with the store, its timers run, its outputs carried out, and its
//! decisions served.
//!
//! - [`spawn`]: every [`REFRESH`] the call centers, their agents and the
//!   routing configuration are re-read and applied (a change takes effect
//!   without a restart; a configuration that does not resolve is refused and
//!   logged, the running one stays); a timer task polls the service at its
//!   next wakeup and acts on what it says: stop ringing an agent whose offer
//!   timed out, push offers of callbacks and other work to the agent's
//!   desktop, dial an accepted callback, store the final decision on the
//!   VoiceCall (`RoutingDecision`).
//! - `GET /api/routing/work-items/{id}/decision`: which agents were
//!   candidates, why each was or was not chosen, and which rule applied — for
//!   a VoiceCall id (access-checked like the record) or a work item key.
//! - `GET /api/routing/queues`: supervisors' live view (waiting items,
//!   longest wait, agents by status and load).
//! - `POST /api/routing/work-items` (a case, a chat: any channel) and
//!   `POST /api/routing/work-items/{id}/{accept|decline|complete|callback}`.

use crate::auth::Session;
use crate::error::ApiError;
use crate::wire::JsonBody;
use crate::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use dialtone_access::SystemPerm;
use dialtone_calls::{AgentId, VendorCallKey};
use dialtone_model::{SalesforceId, Value};
use dialtone_routing::service::{AgentInfo, Arrival, CallCenterInfo, DecisionView, Output, Routing};
use dialtone_store::Store;
use serde_json::{Value as Json_, json};
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How often call centers, agents and the configuration are re-read.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(1);

/// The routing service, shared by the call desk and every edge.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Routing>>);

impl Shared {
    /// The service (a panic elsewhere while holding it leaves it usable: its state is consistent between calls).
    pub fn lock(&self) -> MutexGuard<'_, Routing> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the edge knows of a call, for the entry rules: the dialled number
/// as E.164 when it is a phone number.
pub fn arrival(call_center: Option<SalesforceId>, from: &str, to: &str, normalizer: Option<&dialtone_phone::Normalizer>) -> Arrival {
    let dialled = normalizer.and_then(|n| n.normalize(to)).map(|e| e.as_str().to_string()).or_else(|| (!to.is_empty()).then(|| to.to_string()));
    Arrival { call_center, from: from.to_string(), dialled, ..Arrival::default() }
}

/// The fields of the caller's record that entry rules read (`Contact.Language__c`,
/// `Account.Rating`): the one record the number matches (`calldesk::caller_record`),
/// and for a Contact its Account too. Unknown objects and fields read as nothing.
pub async fn caller_fields(store: &dyn Store, from: &str, wanted: &[String]) -> Vec<(String, String)> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(Some(id)) = crate::calldesk::caller_record(store, from).await else { return Vec::new() };
    let Some(o) = store.schema().by_key_prefix(id.key_prefix()) else { return Vec::new() };
    let Ok(Some(rec)) = store.get(o, &id).await else { return Vec::new() };
    let account = match rec.get("AccountId").and_then(|v| v.as_str()).and_then(|a| SalesforceId::parse(a).ok()) {
        Some(a) => store.get(store.schema().object("Account").expect("standard object"), &a).await.ok().flatten(),
        None => None,
    };
    let mut out = Vec::new();
    for w in wanted {
        let Some((object, field)) = w.split_once('.') else { continue };
        let source = if object.eq_ignore_ascii_case(&o.name) { Some(&rec) } else if object.eq_ignore_ascii_case("Account") { account.as_ref() } else { None };
        if let Some(v) = source.and_then(|r| r.get(field)).filter(|v| !v.is_null()) {
            out.push((w.clone(), v.to_string()));
        }
    }
    out
}

/// An agent's presence changed: routing hears it now, not at the next refresh.
pub fn presence_changed(state: &AppState, agent: &AgentId, s: &crate::sipedge::AgentSettings) {
    let now = OffsetDateTime::now_utc();
    let presence = s.presence.unwrap_or(dialtone_routing::Presence::Offline);
    let known = {
        let mut r = state.calls.routing.lock();
        let since = s.since.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
        r.set_presence(now, agent, presence, s.status.as_deref(), since);
        r.knows(agent)
    };
    act_now(state);
    if !known {
        // An agent routing has not loaded yet (just assigned to a call center): load them now.
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = refresh(&state).await {
                tracing::warn!(error = %e.message, "refreshing routing for a new agent");
            }
        });
    }
}

/// The routing configuration the store holds (see `routing_admin`).
pub async fn current_spec(store: &dyn Store) -> Result<(dialtone_routing::spec::RoutingSpec, Vec<String>), ApiError> {
    crate::routing_admin::load_spec(store).await
}

/// Problems of the configuration last refused (shown to supervisors and
/// admins), and where final decisions go to be stored.
#[derive(Default)]
pub struct Status {
    pub problems: Vec<String>,
    /// When the refresher last read and applied the configuration (`/health`).
    pub refreshed: Option<std::time::Instant>,
    decisions: Option<tokio::sync::mpsc::UnboundedSender<VendorCallKey>>,
}

/// At most this many candidates are stored with a call (the live answer has them all).
pub const STORED_CANDIDATES: usize = 25;
/// Decisions are written in groups at most this often (one transaction each), off the call path.
const DECISION_BATCH: std::time::Duration = std::time::Duration::from_millis(250);

/// Reads call centers, agents and the configuration, and applies them.
pub async fn refresh(state: &AppState) -> Result<Vec<String>, ApiError> {
    let store = state.store.as_ref();
    let plan = crate::query::compile(store, "SELECT Id, InternalName FROM CallCenter ORDER BY InternalName")?;
    let centers: Vec<CallCenterInfo> = store
        .query(&plan, None)
        .await?
        .into_iter()
        .filter_map(|row| Some(CallCenterInfo { id: SalesforceId::parse(row[0].as_str()?).ok()?, name: row[1].as_str()?.to_string() }))
        .collect();
    let agents: Vec<AgentInfo> = crate::agents::load(store, None)
        .await?
        .into_iter()
        .map(|a| AgentInfo { presence: a.presence(), status: a.settings.status.clone(), since: a.since, id: a.id, username: a.username, call_center: a.call_center })
        .collect();
    let (spec, mut problems) = current_spec(store).await?;
    let now = OffsetDateTime::now_utc();
    let applied = state.calls.routing.lock().apply(now, &spec, &centers, &agents);
    if let Err(p) = applied {
        problems.extend(p);
    }
    act_now(state);
    Ok(problems)
}

/// Starts the refresher, the timer task and the decision writer. Call once per server.
pub fn spawn(state: AppState) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    state.routing_status.lock().unwrap_or_else(|p| p.into_inner()).decisions = Some(tx);
    tokio::spawn(write_decisions(state.clone(), rx));
    let s = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(REFRESH);
        let mut last: Vec<String> = Vec::new();
        loop {
            tick.tick().await;
            match refresh(&s).await {
                Ok(problems) => {
                    if problems != last {
                        for p in &problems {
                            tracing::warn!(problem = %p, "the routing configuration was not applied; the previous one stays");
                        }
                        last = problems.clone();
                    }
                    let mut status = s.routing_status.lock().unwrap_or_else(|p| p.into_inner());
                    status.problems = problems;
                    status.refreshed = Some(std::time::Instant::now());
                }
                Err(e) => tracing::warn!(error = %e.message, "refreshing routing"),
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let now = OffsetDateTime::now_utc();
            let next = state.calls.routing.lock().next_wakeup();
            let wait = next.map_or(time::Duration::seconds(1), |t| (t - now).clamp(time::Duration::milliseconds(5), time::Duration::seconds(1)));
            tokio::time::sleep(std::time::Duration::try_from(wait).unwrap_or_default()).await;
            let outputs = {
                let mut r = state.calls.routing.lock();
                r.poll(OffsetDateTime::now_utc());
                r.drain()
            };
            act(&state, outputs);
        }
    });
}

/// Carries out what routing has decided so far (the service's lock is
/// released first: acting may ask it again).
pub fn act_now(state: &AppState) {
    let outputs = state.calls.routing.lock().drain();
    act(state, outputs);
}

/// Carries out what routing decided.
pub fn act(state: &AppState, outputs: Vec<Output>) {
    for out in outputs {
        match out {
            Output::Withdraw { key, agent, caller_left } => {
                state.hub.send(&agent, &json!({"type": "workWithdrawn", "key": key.as_str()}));
                // A SIP call still ringing that agent stops ringing (the core moves on to the next agent).
                if let (Some(control), false) = (state.sip.get().cloned(), caller_left) {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let ringing = state
                            .calls
                            .snapshot(&key)
                            .await
                            .is_some_and(|c| c.view.provider == dialtone_calls::Provider::Sip && !c.view.answered && c.view.ended_at.is_none());
                        if ringing {
                            let cmd = dialtone_sip::Command { key, action: dialtone_sip::CallAction::Decline };
                            let _ = control.commands.send(dialtone_sip::driver::CommandRequest { command: cmd, reply: None });
                        }
                    });
                }
            }
            Output::Offered { key, agent, callback } => {
                // Calls ring through their edge; callbacks and other work are offered on the desktop.
                if callback || is_work_item(&key) {
                    state.metrics.offer("work");
                    state.hub.send(&agent, &json!({"type": "workOffer", "key": key.as_str(), "callback": callback}));
                }
            }
            Output::DialOut { key, agent, number, call_center } => {
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(e) = dial_out(&state, &key, &agent, &number, call_center).await {
                        tracing::warn!(error = %e.message, "dialling an accepted callback failed; the agent is freed");
                        state.calls.routing.lock().complete(OffsetDateTime::now_utc(), &key);
                    }
                });
            }
            Output::Decided { key } => {
                if let (false, Some(tx)) = (is_work_item(&key), &state.routing_status.lock().unwrap_or_else(|p| p.into_inner()).decisions) {
                    let _ = tx.send(key);
                }
            }
            Output::Left { .. } => {}
        }
    }
}

/// Keys of non-call work items (`case:500…`, `chat:…`).
fn is_work_item(key: &VendorCallKey) -> bool {
    key.as_str().split_once(':').is_some_and(|(k, _)| matches!(k, "case" | "chat" | "work"))
}

async fn dial_out(state: &AppState, key: &VendorCallKey, agent: &AgentId, number: &str, call_center: Option<SalesforceId>) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let center = match call_center {
        Some(c) => c,
        None => crate::desktop::user_center(store, agent.id()).await?.ok_or_else(|| ApiError::new("NO_CALL_CENTER", "the agent belongs to no call center"))?,
    };
    let e164 = store.normalizer().normalize(number).ok_or_else(|| ApiError::new("INVALID_FIELD", "the caller's number is not a phone number"))?;
    let info = crate::desktop::center_info(store, &center).await?.ok_or_else(|| ApiError::ours("the callback's call center does not exist"))?;
    let d = &info.dialing;
    let dial_string = if d.outside_prefix.is_empty() && d.long_distance_prefix.is_empty() && d.international_prefix.is_empty() {
        e164.as_str().to_string()
    } else {
        store.normalizer().dial_string(&e164, d).digits
    };
    let routing = state.calls.routing.clone();
    let link = move |dial: &VendorCallKey| routing.lock().link_dial_out(key, dial);
    let related = crate::calldesk::caller_record(store, e164.as_str()).await.ok().flatten();
    crate::desktop::commands::place(state, agent, center, e164.as_str(), &dial_string, related, Some(&link)).await?;
    Ok(())
}

fn time_json(t: Option<OffsetDateTime>) -> Json_ {
    t.and_then(|t| t.format(&Rfc3339).ok()).map_or(Json_::Null, Json_::String)
}

/// The decision as the API and the VoiceCall page show it.
pub fn decision_json(d: &DecisionView) -> Json_ {
    json!({
        "workItemId": d.key.as_str(),
        "state": d.state,
        "agent": d.agent,
        "queue": d.queue,
        "entry": d.entry,
        "requirements": d.requirements.iter().map(|(s, l, r)| json!({"skill": s, "level": l, "relaxAfterSeconds": r.map(|r| r.whole_seconds())})).collect::<Vec<_>>(),
        "relaxedSkills": d.relaxed,
        "rule": d.rule,
        "decidedAt": time_json(d.decided_at),
        "enqueuedAt": time_json(d.enqueued_at),
        "direct": d.direct,
        "callback": d.callback,
        "candidates": d.candidates.iter().map(|c| json!({"agent": c.username, "verdict": verdict_code(&c.verdict), "reason": c.reason})).collect::<Vec<_>>(),
        "offers": d.offers.iter().map(|o| json!({"agent": o.username, "offeredAt": time_json(Some(o.offered_at)), "outcome": o.outcome, "endedAt": time_json(o.ended_at)})).collect::<Vec<_>>(),
    })
}

fn verdict_code(v: &dialtone_routing::engine::Verdict) -> &'static str {
    use dialtone_routing::engine::Verdict as V;
    match v {
        V::Chosen => "chosen",
        V::DeclinedEarlier => "declinedEarlier",
        V::MissingSkill { .. } => "missingSkill",
        V::RankedLower => "rankedLower",
        V::ChannelClosed { .. } => "channelClosed",
        V::OverCapacity { .. } => "overCapacity",
    }
}

/// Writes final decisions into their calls' `VoiceCall.RoutingDecision`, in
/// groups: one transaction (one fsync) for all the decisions of a quarter
/// second, so storing them never costs the call path a write of its own.
async fn write_decisions(state: AppState, mut keys: tokio::sync::mpsc::UnboundedReceiver<VendorCallKey>) {
    let mut batch = Vec::with_capacity(512);
    while keys.recv_many(&mut batch, 512).await > 0 {
        tokio::time::sleep(DECISION_BATCH).await;
        while let Ok(k) = keys.try_recv() {
            batch.push(k);
        }
        let views: Vec<DecisionView> = {
            let r = state.calls.routing.lock();
            batch.drain(..).filter_map(|k| r.decision_limited(&k, STORED_CANDIDATES)).collect()
        };
        let keys: Vec<VendorCallKey> = views.iter().map(|v| v.key.clone()).collect();
        let ids = state.calls.voice_calls(&keys).await;
        let mut ops = Vec::with_capacity(views.len());
        for (v, id) in views.iter().zip(ids) {
            let id = match id {
                Some(id) => Some(id),
                None => voice_call_by_key(state.store.as_ref(), &v.key).await.ok().flatten(),
            };
            let Some(id) = id else { continue };
            let mut j = decision_json(v);
            if v.more_candidates > 0 {
                j["moreCandidates"] = json!(v.more_candidates);
            }
            ops.push(dialtone_store::WriteOp::Update { object: "VoiceCall".into(), id, fields: vec![("RoutingDecision".into(), Value::Text(j.to_string()))] });
        }
        if let (false, Err(e)) = (ops.is_empty(), state.store.write_batch(ops, None).await) {
            tracing::warn!(error = %e, "storing routing decisions on their VoiceCalls");
        }
    }
}

async fn voice_call_by_key(store: &dyn Store, key: &VendorCallKey) -> Result<Option<SalesforceId>, ApiError> {
    let soql = format!("SELECT Id FROM VoiceCall WHERE VendorCallKey = '{}' LIMIT 1", crate::query::soql_quote(key.as_str()));
    Ok(crate::query::system_ids(store, &soql).await?.into_iter().next())
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/routing/queues", get(queues))
        .route("/api/routing/work-items", post(enqueue))
        .route("/api/routing/work-items/{id}/decision", get(decision))
        .route("/api/routing/work-items/{id}/{action}", post(work_action))
}

fn supervisor(s: &Session) -> bool {
    s.grants.has(SystemPerm::MonitorQueues) || s.grants.has(SystemPerm::ViewSetup) || s.grants.has(SystemPerm::ManageCallCenters) || s.grants.has(SystemPerm::ManageRouting)
}

/// `GET /api/routing/work-items/{id}/decision`: a VoiceCall id (readable by
/// whoever may read the call) or a work item key (supervisors).
async fn decision(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Result<Json<Json_>, ApiError> {
    let store = state.store.as_ref();
    let (key, voice_call, stored) = match SalesforceId::parse(&id) {
        Ok(vc) if vc.key_prefix() == "0LQ" => {
            let o = store.schema().object("VoiceCall").expect("standard object");
            let rec = crate::guard::read(store, &s.grants, o, &vc).await?;
            let key = rec.get("VendorCallKey").and_then(|v| v.as_str()).and_then(|k| VendorCallKey::parse(k).ok());
            let stored = rec.get("RoutingDecision").and_then(|v| v.as_str()).and_then(|t| serde_json::from_str::<Json_>(t).ok());
            (key, Some(vc), stored)
        }
        _ => {
            if !supervisor(&s) {
                return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "reading a work item's routing by its key needs Monitor Queues (supervisors), View Setup, Manage Call Centers or Manage Routing; agents ask by VoiceCall id"));
            }
            let key = VendorCallKey::parse(&id).map_err(|e| ApiError::new("MALFORMED_ID", format!("not a VoiceCall id or work item key: {e}")))?;
            (Some(key), None, None)
        }
    };
    let live = key.as_ref().and_then(|k| state.calls.routing.lock().decision(k));
    let mut body = match (live, stored) {
        (Some(d), _) => {
            let mut j = decision_json(&d);
            j["source"] = json!("live");
            j
        }
        (None, Some(mut j)) => {
            j["source"] = json!("stored");
            j
        }
        (None, None) => return Err(ApiError::new("WORK_ITEM_NOT_FOUND", "routing has no decision for this call: it was never routed (an outbound or simulated call), or it ended before this server started")),
    };
    body["voiceCallId"] = voice_call.map_or(Json_::Null, |v| json!(v.as_str()));
    Ok(Json(body))
}

/// `GET /api/routing/queues`: queues and agents, live.
async fn queues(State(state): State<AppState>, s: Session) -> Result<Json<Json_>, ApiError> {
    if !supervisor(&s) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "the live queue board needs the Monitor Queues permission (the Supervisor profile has it), View Setup, Manage Call Centers or Manage Routing"));
    }
    let now = OffsetDateTime::now_utc();
    let (queues, agents, times) = {
        let r = state.calls.routing.lock();
        let agents = r.agents();
        let times: Vec<Vec<(String, time::Duration)>> = agents.iter().map(|a| r.time_in_status(&a.id, now)).collect();
        (r.queues(now), agents, times)
    };
    let problems = state.routing_status.lock().unwrap_or_else(|p| p.into_inner()).problems.clone();
    Ok(Json(json!({
        "at": time_json(Some(now)),
        "queues": queues.iter().map(|q| json!({
            "name": q.name,
            "channel": q.channel,
            "callCenterId": q.call_center.as_ref().map(|c| c.as_str()),
            "priority": q.priority,
            "routingModel": q.model,
            "waiting": q.waiting,
            "callbacks": q.callbacks,
            "longestWaitSeconds": q.longest_wait.map(|d| d.whole_seconds()),
            "signedIn": q.signed_in,
            "members": q.members,
            "items": q.items.iter().map(|(k, w)| json!({"workItemId": k.as_str(), "waitingSeconds": w.whole_seconds()})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "agents": agents.iter().zip(&times).map(|(a, t)| json!({
            "username": a.username,
            "callCenterId": a.call_center.as_ref().map(|c| c.as_str()),
            "status": a.status,
            "since": time_json(Some(a.since)),
            "usedCapacity": a.used,
            "capacity": a.capacity,
            "activeItems": a.active,
            "queues": a.queues,
            "timeInStatusSeconds": t.iter().map(|(s, d)| (s.clone(), json!(d.whole_seconds()))).collect::<serde_json::Map<String, Json_>>(),
        })).collect::<Vec<_>>(),
        "configurationProblems": problems,
    })))
}

/// `POST /api/routing/work-items` `{"channel": "case", "recordId": "500…", "skills": [{"skill": "billing", "level": 3}]}`:
/// a non-call work item (a case, a chat) to route with the calls.
async fn enqueue(State(state): State<AppState>, s: Session, JsonBody(body): JsonBody) -> Result<(axum::http::StatusCode, Json<Json_>), ApiError> {
    if !s.grants.has(SystemPerm::ManageRouting) && !s.grants.has(SystemPerm::ManageCallCenters) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "routing a work item needs Manage Routing or Manage Call Centers"));
    }
    let field = |name: &str| body.get(name).and_then(Json_::as_str).map(str::to_string);
    let channel = field("channel").ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", "channel is required (case, chat, or a channel of the routing configuration)").with_fields(vec!["channel".into()]))?;
    if channel.eq_ignore_ascii_case("voice") {
        return Err(ApiError::new("INVALID_FIELD", "voice work items are calls: they arrive through a telephony edge").with_fields(vec!["channel".into()]));
    }
    let record = field("recordId").ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", "recordId is required: the record the agent will work on").with_fields(vec!["recordId".into()]))?;
    let record = SalesforceId::parse(&record).map_err(|e| ApiError::new("MALFORMED_ID", format!("recordId: {e}")).with_fields(vec!["recordId".into()]))?;
    let kind = if channel.eq_ignore_ascii_case("chat") { "chat" } else if channel.eq_ignore_ascii_case("case") { "case" } else { "work" };
    let key = VendorCallKey::parse(&format!("{kind}:{record}")).map_err(ApiError::ours)?;
    let arrival = Arrival { channel: Some(channel.clone()), ..Arrival::default() };
    let now = OffsetDateTime::now_utc();
    let view = {
        let mut r = state.calls.routing.lock();
        r.arrive(now, &key, &arrival);
        r.decision(&key)
    };
    act_now(&state);
    let view = view.ok_or_else(|| ApiError::new("INVALID_FIELD", format!("no queue takes channel {channel:?}: add one to the routing configuration")).with_fields(vec!["channel".into()]))?;
    Ok((axum::http::StatusCode::CREATED, Json(decision_json(&view))))
}

/// `POST /api/routing/work-items/{id}/accept|decline|complete` (the signed-in
/// agent, for pushed offers: callbacks, cases, chats) and `/callback` (the
/// caller keeps their place: an IVR integration or a supervisor).
async fn work_action(State(state): State<AppState>, s: Session, Path((id, action)): Path<(String, String)>) -> Result<Json<Json_>, ApiError> {
    let key = VendorCallKey::parse(&id).map_err(|e| ApiError::new("MALFORMED_ID", format!("not a work item key: {e}")))?;
    let me = AgentId::new(s.user_id.clone()).map_err(ApiError::ours)?;
    let now = OffsetDateTime::now_utc();
    let ok = {
        let mut r = state.calls.routing.lock();
        match action.as_str() {
            "accept" => r.accept(now, &key, &me),
            "decline" => r.decline(now, &key, &me),
            "complete" => {
                let mine = r.decision(&key).is_some_and(|d| d.agent.is_some() && d.state == "accepted");
                mine && r.complete(now, &key)
            }
            "callback" => {
                if !supervisor(&s) && !s.grants.has(SystemPerm::UseSoftphone) {
                    return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "requesting a callback needs the Use Softphone permission or a supervisor's"));
                }
                r.callback_requested(now, &key)
            }
            _ => return Err(ApiError::not_found()),
        }
    };
    act_now(&state);
    if !ok {
        return Err(ApiError::new("NOT_OFFERED", format!("cannot {action} {}: it is not offered to you, or its routing has ended", key.as_str())));
    }
    let view = state.calls.routing.lock().decision(&key);
    Ok(Json(view.as_ref().map_or(json!({"workItemId": key.as_str()}), decision_json)))
}
