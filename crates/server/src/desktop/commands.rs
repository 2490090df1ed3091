//! Call commands, wrap-up, click-to-dial and the pop endpoint.
//!
//! Who may command a call: the agent it rings for or whose call it is, or a
//! user with Manage Call Centers. What works depends on the provider
//! ([`controls`]): for simulator calls Dialtone plays the carrier and feeds
//! the events itself (sequence numbers from [`super::hub::DESKTOP_SEQ_BASE`]
//! up, so they never collide with the simulator's); SIP calls go through
//! [`sip_command`], the one hook the SIP edge's command channel plugs into;
//! Twilio and partner calls are controlled from the provider's own phone.

use super::hub::{CallState, HubCall};
use super::layout::CallType;
use crate::auth::Session;
use crate::error::ApiError;
use crate::wire::JsonBody;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use dialtone_access::SystemPerm;
use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, Provider, QueueName, TransferTarget, VendorCallKey};
use dialtone_model::{SalesforceId, Value};
use dialtone_store::Store;
use serde::Deserialize;
use serde_json::{Value as Json_, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// A call command, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Accept,
    Decline,
    Hold,
    Resume,
    Mute,
    Unmute,
    Hangup,
    Transfer(Transfer),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transfer {
    Agent(AgentId),
    Queue(QueueName),
    /// E.164.
    Number(String),
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Accept => "accept",
            Command::Decline => "decline",
            Command::Hold => "hold",
            Command::Resume => "resume",
            Command::Mute => "mute",
            Command::Unmute => "unmute",
            Command::Hangup => "hangup",
            Command::Transfer(_) => "transfer",
        }
    }
}

/// What the desktop can do with a call of `provider` in `state` now.
pub fn controls(provider: Provider, state: CallState, muted: bool) -> Vec<&'static str> {
    match provider {
        Provider::Simulator => simulator_controls(state, muted),
        Provider::Sip => sip_controls(state, muted),
        Provider::Twilio | Provider::Partner => Vec::new(),
    }
}

fn simulator_controls(state: CallState, muted: bool) -> Vec<&'static str> {
    let mute = if muted { "unmute" } else { "mute" };
    match state {
        CallState::Offered => vec!["accept", "decline"],
        CallState::Dialing => vec!["hangup"],
        CallState::Connected => vec!["hold", mute, "hangup", "transfer"],
        CallState::Held => vec!["resume", mute, "hangup", "transfer"],
        CallState::Ended => Vec::new(),
    }
}

/// What a SIP call lets the desktop do: what a simulator call does, but
/// never `accept` (the agent answers on their phone). Dialtone is the B2BUA
/// in the middle, so it hangs up, holds, mutes (re-INVITEs), declines
/// (CANCEL to the phone) and transfers (a new leg) itself.
pub fn sip_controls(state: CallState, muted: bool) -> Vec<&'static str> {
    let mut list = simulator_controls(state, muted);
    list.retain(|c| *c != "accept");
    list
}

/// The one place a desktop command reaches a SIP call: it goes to the SIP
/// edge's core, and the answer says whether the core carried it out.
pub async fn sip_command(state: &AppState, key: &VendorCallKey, command: &Command) -> Result<(), ApiError> {
    use dialtone_sip::{CallAction, TransferTarget as To};
    let refused = |message: String| ApiError::new("CALL_CONTROL_UNSUPPORTED", message);
    let control = state.sip.get().ok_or_else(|| refused("this server runs no SIP edge (start it with `dialtone serve --sip ADDRESS`)".into()))?;
    let action = match command {
        Command::Accept => return Err(refused("a SIP call is answered on the agent's phone".into())),
        Command::Decline => CallAction::Decline,
        Command::Hold => CallAction::Hold,
        Command::Resume => CallAction::Resume,
        Command::Mute => CallAction::Mute,
        Command::Unmute => CallAction::Unmute,
        Command::Hangup => CallAction::Hangup,
        Command::Transfer(Transfer::Agent(agent)) => {
            let user = state.store.get(state.store.schema().object("User").expect("standard object"), agent.id()).await?;
            let username = user.and_then(|u| u.get("Username").and_then(Value::as_str).map(str::to_string)).ok_or_else(|| ApiError::new("NOT_FOUND", "the transfer's agent is no user"))?;
            CallAction::Transfer { to: To::Agent { username } }
        }
        Command::Transfer(Transfer::Number(number)) => CallAction::Transfer { to: To::Number { number: number.clone(), trunk: None } },
        Command::Transfer(Transfer::Queue(_)) => return Err(refused("a SIP call is transferred to an agent or a number; queues come with the routing engine".into())),
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    let request = dialtone_sip::driver::CommandRequest { command: dialtone_sip::Command { key: key.clone(), action }, reply: Some(reply) };
    control.commands.send(request).map_err(|_| ApiError::new("SIP_NOT_RUNNING", "the SIP edge has stopped"))?;
    match answer.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(refusal)) => Err(ApiError::new("CALL_CONTROL_UNSUPPORTED", format!("{}: {refusal}", command.name()))),
        Err(_) => Err(ApiError::new("SIP_NOT_RUNNING", "the SIP edge stopped before it answered")),
    }
}

fn unsupported(call: &HubCall, command: &str) -> ApiError {
    let message = match call.snap.view.provider {
        Provider::Twilio | Provider::Partner => format!("{command}: this call is controlled from the telephony provider's own phone, not from Dialtone"),
        _ => format!("{command} is not possible while the call is {} (possible now: {})", call.state().as_str(), none_if_empty(&controls(call.snap.view.provider, call.state(), call.muted))),
    };
    ApiError::new("CALL_CONTROL_UNSUPPORTED", message)
}

fn none_if_empty(list: &[&str]) -> String {
    if list.is_empty() { "nothing".into() } else { list.join(", ") }
}

fn not_found(key: &str) -> ApiError {
    ApiError::new("CALL_NOT_FOUND", format!("no live call {key:?} on this desktop"))
}

fn agent_of(s: &Session) -> Result<AgentId, ApiError> {
    AgentId::new(s.user_id.clone()).map_err(ApiError::ours)
}

/// The call as the desk has it now, if `me` may command it. (The hub may
/// not have seen the latest batch yet: a command right after the event that
/// offered the call must still find it offered.)
async fn controllable(state: &AppState, s: &Session, key: &str) -> Result<(VendorCallKey, HubCall, AgentId), ApiError> {
    let parsed = VendorCallKey::parse(key).map_err(|_| not_found(key))?;
    let me = agent_of(s)?;
    let call = match state.calls.snapshot(&parsed).await {
        Some(snap) => state.hub.refresh(snap),
        None => state.hub.call(&parsed),
    };
    let call = call.ok_or_else(|| not_found(key))?;
    let mine = call.responsible() == Some(&me) || call.offered_to(&me);
    if !mine && !s.grants.has(SystemPerm::ManageCallCenters) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "this call is neither offered to you nor yours; controlling another agent's call needs the Manage Call Centers permission"));
    }
    Ok((parsed, call, me))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransferBody {
    agent: Option<String>,
    queue: Option<String>,
    number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WrapUpBody {
    resolution: String,
    #[serde(default)]
    notes: Option<String>,
}

fn parse_body<T: serde::de::DeserializeOwned>(bytes: &Bytes, shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body is {shape}: {e}")))
}

async fn parse_command(store: &dyn Store, action: &str, body: &Bytes) -> Result<Command, ApiError> {
    let plain = |c: Command| {
        let blank = body.iter().all(u8::is_ascii_whitespace) || serde_json::from_slice::<Json_>(body).is_ok_and(|v| v == json!({}));
        if blank { Ok(c) } else { Err(ApiError::new("JSON_PARSER_ERROR", format!("{action} takes no body"))) }
    };
    match action {
        "accept" => plain(Command::Accept),
        "decline" => plain(Command::Decline),
        "hold" => plain(Command::Hold),
        "resume" => plain(Command::Resume),
        "mute" => plain(Command::Mute),
        "unmute" => plain(Command::Unmute),
        "hangup" => plain(Command::Hangup),
        "transfer" => {
            let shape = "{\"agent\": \"username\"}, {\"queue\": \"Name\"} or {\"number\": \"+1…\"}";
            let b: TransferBody = parse_body(body, shape)?;
            match (b.agent, b.queue, b.number) {
                (Some(username), None, None) => {
                    let user = store.find_user_by_username(&username).await?.ok_or_else(|| ApiError::new("NOT_FOUND", format!("no user named {username}")))?;
                    let active = user.get("IsActive") != Some(&Value::Bool(false));
                    let id = user.id().filter(|_| active).ok_or_else(|| ApiError::new("NOT_FOUND", format!("no active user named {username}")))?;
                    Ok(Command::Transfer(Transfer::Agent(AgentId::new(id).map_err(ApiError::ours)?)))
                }
                (None, Some(q), None) => QueueName::parse(&q)
                    .map(|q| Command::Transfer(Transfer::Queue(q)))
                    .map_err(|e| ApiError::new("INVALID_FIELD", e.to_string()).with_fields(vec!["queue".into()])),
                (None, None, Some(n)) => store
                    .normalizer()
                    .normalize(&n)
                    .map(|e| Command::Transfer(Transfer::Number(e.as_str().to_string())))
                    .ok_or_else(|| ApiError::new("INVALID_FIELD", "the transfer number is not a phone number").with_fields(vec!["number".into()])),
                _ => Err(ApiError::new("JSON_PARSER_ERROR", format!("give exactly one transfer target: {shape}"))),
            }
        }
        other => Err(ApiError::new("NOT_FOUND", format!("no call command {other:?}: accept, decline, hold, resume, mute, unmute, hangup, transfer or wrapup"))),
    }
}

/// `POST /api/desktop/calls/{key}/{action}`.
pub async fn command(State(state): State<AppState>, Path((key, action)): Path<(String, String)>, s: Session, body: Bytes) -> Result<(StatusCode, Json<Json_>), ApiError> {
    if action == "wrapup" {
        return wrap_up(state, key, s, body).await;
    }
    if action == "relate" {
        return relate(state, key, s, body).await;
    }
    let store = state.store.as_ref();
    let command = parse_command(store, &action, &body).await?;
    let (key, call, me) = controllable(&state, &s, &key).await?;
    let provider = call.snap.view.provider;
    if !controls(provider, call.state(), call.muted).contains(&command.name()) {
        return Err(unsupported(&call, command.name()));
    }
    match provider {
        Provider::Sip => sip_command(&state, &key, &command).await?,
        Provider::Simulator => simulate(&state, &call, &me, &command).await?,
        Provider::Twilio | Provider::Partner => return Err(unsupported(&call, command.name())),
    }
    let view = match command {
        Command::Mute | Command::Unmute => state.hub.set_muted(&key, command == Command::Mute).unwrap_or(Json_::Null),
        _ => current(&state, &key, &me).await,
    };
    Ok((StatusCode::ACCEPTED, Json(json!({"call": view}))))
}

/// The call as the desk has it now (the hub may not have seen the batch yet).
async fn current(state: &AppState, key: &VendorCallKey, me: &AgentId) -> Json_ {
    let fresh = match state.calls.snapshot(key).await {
        Some(snap) => state.hub.refresh(snap),
        None => state.hub.call(key),
    };
    fresh.map_or(Json_::Null, |c| c.to_json(Some(me)))
}

/// Plays the carrier for a simulator call.
async fn simulate(state: &AppState, call: &HubCall, me: &AgentId, command: &Command) -> Result<(), ApiError> {
    let key = call.snap.key.clone();
    // The agent who acts: me, or (a supervisor acting) the call's own agent.
    let ringing = call.snap.view.offers.iter().find(|o| o.result.is_none() && o.offered_at.is_some()).map(|o| o.agent.clone());
    let agent = if call.offered_to(me) || call.responsible() == Some(me) { me.clone() } else { call.responsible().cloned().or(ringing).unwrap_or_else(|| me.clone()) };
    let kinds: Vec<(VendorCallKey, EventKind)> = match command {
        Command::Accept => vec![
            (key.clone(), EventKind::OfferResult { agent: agent.clone(), result: OfferOutcome::Accepted }),
            (key.clone(), EventKind::Answered { agent: agent.clone() }),
        ],
        Command::Decline => vec![(key.clone(), EventKind::OfferResult { agent: agent.clone(), result: OfferOutcome::Declined })],
        Command::Hold => vec![(key.clone(), EventKind::Held)],
        Command::Resume => vec![(key.clone(), EventKind::Resumed)],
        Command::Hangup => vec![(key.clone(), EventKind::Ended { reason: EndReason::AgentDisconnect })],
        Command::Mute | Command::Unmute => Vec::new(),
        Command::Transfer(t) => {
            let leg = format!("{}.t{}", key.as_str(), state.hub.next_seq() - super::hub::DESKTOP_SEQ_BASE);
            let new_leg = VendorCallKey::parse(&leg).or_else(|_| VendorCallKey::parse(&format!("transfer-{}", crate::auth::random_secret(12)))).map_err(ApiError::ours)?;
            let (to, then) = match t {
                Transfer::Agent(a) => (TransferTarget::Agent(a.clone()), Some(EventKind::Offered { agent: a.clone() })),
                Transfer::Queue(q) => (TransferTarget::Queue(q.clone()), Some(EventKind::Queued { queue: q.clone() })),
                Transfer::Number(n) => (TransferTarget::Number(n.clone()), None),
            };
            let mut v = vec![(key.clone(), EventKind::Transferred { to, new_leg: new_leg.clone() })];
            if let Some(k) = then {
                v.push((new_leg, k));
            }
            v
        }
    };
    for (key, kind) in kinds {
        let event = CallEvent { key, provider: Provider::Simulator, seq: state.hub.next_seq(), at: OffsetDateTime::now_utc(), kind };
        state.calls.ingest(state.store.as_ref(), OffsetDateTime::now_utc(), Input::Event(event)).await?;
    }
    Ok(())
}

/// `POST /api/desktop/calls/{key}/wrapup` `{"resolution": "Resolved", "notes": "…"}`.
async fn wrap_up(state: AppState, key: String, s: Session, body: Bytes) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let b: WrapUpBody = parse_body(&body, "{\"resolution\": \"Resolved\", \"notes\": \"…\"}")?;
    let (key, call, me) = controllable(&state, &s, &key).await?;
    let agent = call.responsible().cloned().unwrap_or_else(|| me.clone());
    let now = OffsetDateTime::now_utc();
    state.calls.wrap_up(state.store.as_ref(), now, key.clone(), b.resolution.clone(), b.notes).await?;
    let snap = state.calls.snapshot(&key).await;
    let resolution = snap.as_ref().and_then(|s| s.wrap_up.as_ref()).map_or(b.resolution, |w| w.resolution.clone());
    if let Some(snap) = snap {
        state.hub.refresh(snap);
    }
    state.hub.wrapped(&key, &agent, &resolution);
    super::hub::leave_after_call_work(&state, &agent).await?;
    let view = state.hub.call(&key).map_or(Json_::Null, |c| c.to_json(Some(&agent)));
    Ok((StatusCode::ACCEPTED, Json(json!({"call": view}))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RelateBody {
    record_id: String,
}

/// `POST /api/desktop/calls/{key}/relate` `{"recordId": "003…"}`: the agent
/// says who the call is about (the record chosen from a pop's chooser, or
/// created from its New form). The call's RelatedRecordId, its Task's
/// WhoId/WhatId and any later transfer leg follow. The agent must be able to
/// read the record.
async fn relate(state: AppState, key: String, s: Session, body: Bytes) -> Result<(StatusCode, Json<Json_>), ApiError> {
    let b: RelateBody = parse_body(&body, "{\"recordId\": \"003…\"}")?;
    let (key, _call, me) = controllable(&state, &s, &key).await?;
    let store = state.store.as_ref();
    let bad = || ApiError::new("INVALID_FIELD", "recordId names no Contact, Lead, Account, Case or Opportunity you can see").with_fields(vec!["recordId".into()]);
    let id = SalesforceId::parse(&b.record_id).map_err(|_| bad())?;
    let object = store.schema().by_key_prefix(id.key_prefix()).ok_or_else(bad)?;
    if !["Contact", "Lead", "Account", "Case", "Opportunity"].contains(&object.name.as_str()) || !s.grants.can(&object.name, dialtone_access::Op::Read) {
        return Err(bad());
    }
    let rec = store.get(object, &id).await?.ok_or_else(bad)?;
    if !crate::guard::reaches(store, &s.grants, &rec, dialtone_access::Mode::Read).await? {
        return Err(bad());
    }
    state.calls.ingest(store, OffsetDateTime::now_utc(), Input::Matched { key: key.clone(), record: id }).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"call": current(&state, &key, &me).await}))))
}

/// `GET /api/desktop/pop?number=…&callType=inbound[&push=true]`: a pop as the
/// signed-in user may see it; `push=true` also sends it to their tabs as `pop`.
pub async fn pop(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<Json_>, ApiError> {
    if let Some(k) = q.keys().find(|k| !matches!(k.as_str(), "number" | "callType" | "push")) {
        return Err(ApiError::new("INVALID_FIELD", format!("unknown parameter {k:?}: number, callType, push")));
    }
    let call_type = match q.get("callType") {
        None => CallType::Inbound,
        Some(t) => CallType::parse(t).ok_or_else(|| ApiError::new("INVALID_FIELD", format!("callType {t:?} is inbound, outbound or internal")).with_fields(vec!["callType".into()]))?,
    };
    let store = state.store.as_ref();
    let center = super::user_center(store, &s.user_id).await?;
    let decided = super::pop::decide(store, &s.grants, center.as_ref(), call_type, q.get("number").map(String::as_str)).await?;
    if q.get("push").is_some_and(|p| p == "true") {
        state.hub.send(&agent_of(&s)?, &json!({"type": "pop", "pop": decided.pop}));
    }
    Ok(Json(decided.pop))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DialBody {
    number: String,
    #[serde(default)]
    record_id: Option<String>,
}

/// Whether a Contact, Lead or person Account is marked Do Not Call.
fn do_not_call(rec: &dialtone_store::Record) -> bool {
    let yes = |f: &str| rec.get(f) == Some(&Value::Bool(true));
    match rec.object.as_str() {
        "Contact" | "Lead" => yes("DoNotCall"),
        "Account" => yes("IsPersonAccount") && yes("PersonDoNotCall"),
        _ => false,
    }
}

fn refuse(rec: Option<&dialtone_store::Record>) -> ApiError {
    match rec {
        Some(r) => {
            let name = r.get("Name").and_then(Value::as_str).unwrap_or("the record");
            ApiError::new("DO_NOT_CALL", format!("{name} ({} {}) is marked Do Not Call", r.object, r.id().map(|i| i.to_string()).unwrap_or_default()))
        }
        None => ApiError::new("DO_NOT_CALL", "this number belongs to a record marked Do Not Call"),
    }
}

/// `POST /api/desktop/dial` `{"number": "(415) 555-0142", "recordId": "003…"}`.
pub async fn dial(State(state): State<AppState>, s: Session, JsonBody(body): JsonBody) -> Result<(StatusCode, Json<Json_>), ApiError> {
    if !s.grants.has(SystemPerm::UseSoftphone) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "placing calls needs the Use Softphone permission"));
    }
    let b: DialBody = serde_json::from_value(body).map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body is {{\"number\": \"(415) 555-0142\", \"recordId\": \"003…\"}}: {e}")))?;
    let store = state.store.as_ref();
    let number = store.normalizer().normalize(&b.number).ok_or_else(|| ApiError::new("INVALID_FIELD", "number is not a phone number").with_fields(vec!["number".into()]))?;
    let me = agent_of(&s)?;
    let related = match &b.record_id {
        Some(raw) => {
            let id = SalesforceId::parse(raw).map_err(|e| ApiError::new("MALFORMED_ID", format!("recordId: {e}")).with_fields(vec!["recordId".into()]))?;
            let o = store
                .schema()
                .by_key_prefix(id.key_prefix())
                .filter(|o| matches!(o.name.as_str(), "Contact" | "Lead" | "Account" | "Case" | "Opportunity"))
                .ok_or_else(|| ApiError::new("INVALID_FIELD", "recordId: a call can be related to a Contact, Lead, Account, Case or Opportunity").with_fields(vec!["recordId".into()]))?;
            let rec = crate::guard::read(store, &s.grants, o, &id).await?;
            if do_not_call(&rec) {
                return Err(refuse(Some(&rec)));
            }
            Some(id)
        }
        None => {
            let found = crate::query::lookup(store, number.as_str()).await?;
            let ids: std::collections::HashSet<&SalesforceId> = found.iter().map(|(m, _)| &m.id).collect();
            match found.first() {
                Some((_, only)) if ids.len() == 1 => {
                    let visible = crate::query::visible_matches(store, &s.grants, vec![found[0].clone()]).await?.0;
                    if do_not_call(only) {
                        return Err(refuse(visible.first().map(|(_, r)| r)));
                    }
                    visible.first().and_then(|(m, _)| matches!(m.object.as_str(), "Contact" | "Lead" | "Account").then(|| m.id.clone()))
                }
                _ => None,
            }
        }
    };
    let center_id = super::user_center(store, &s.user_id)
        .await?
        .ok_or_else(|| ApiError::new("NO_CALL_CENTER", "you belong to no call center, so cannot place calls: ask an admin to assign you to one"))?;
    let center = super::center_info(store, &center_id).await?.ok_or_else(|| ApiError::ours("the user's call center does not exist"))?;
    let d = &center.dialing;
    let dial_string = if d.outside_prefix.is_empty() && d.long_distance_prefix.is_empty() && d.international_prefix.is_empty() {
        number.as_str().to_string() // no dialing options: the carrier takes E.164
    } else {
        store.normalizer().dial_string(&number, d).digits
    };
    let (key, provider) = place(&state, &me, center_id, number.as_str(), &dial_string, related, None).await?;
    let voice_call = state.calls.voice_call(&key).await;
    Ok((StatusCode::ACCEPTED, Json(json!({"key": key.as_str(), "voiceCallId": voice_call.map(|i| i.to_string()), "dialString": dial_string, "provider": provider}))))
}

/// Places an outbound call for agent `me`: through the call center's SIP
/// trunk when it has one, else the simulator plays the carrier (demos and
/// browser tests). `before_send` sees the key before any event of the call
/// (a callback links its dial-out with it); given, the agent's capacity is
/// already held (by the callback), so only their phone is looked for.
pub async fn place(
    state: &AppState,
    me: &AgentId,
    center_id: SalesforceId,
    number: &str,
    dial_string: &str,
    related: Option<SalesforceId>,
    before_send: Option<&(dyn Fn(&VendorCallKey) + Sync)>,
) -> Result<(VendorCallKey, &'static str), ApiError> {
    let store = state.store.as_ref();
    if crate::sipedge::has_trunk(state, &center_id) {
        let username = crate::sipedge::username_of(store, me.id()).await?;
        let engaged = before_send.is_some();
        let key = crate::sipedge::place_call(state, &username, center_id, dial_string.to_string(), engaged, |key| {
            if let Some(f) = before_send {
                f(key);
            }
            state.hub.expect_dial(key, me, related.clone())
        })
        .await?;
        return Ok((key, "sip"));
    }
    let key = VendorCallKey::parse(&format!("sim-dial-{}", crate::auth::random_secret(12))).map_err(ApiError::ours)?;
    if let Some(f) = before_send {
        f(&key);
    }
    state.hub.expect_dial(&key, me, None);
    let now = OffsetDateTime::now_utc();
    let kinds = [
        EventKind::Initiated { direction: Direction::Outbound, from: String::new(), to: number.to_string(), call_center: Some(center_id) },
        EventKind::Offered { agent: me.clone() },
        EventKind::Answered { agent: me.clone() },
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        let event = CallEvent { key: key.clone(), provider: Provider::Simulator, seq: state.hub.next_seq(), at: now + time::Duration::milliseconds(i as i64), kind };
        state.calls.ingest(store, now, Input::Event(event)).await?;
    }
    if let Some(record) = related {
        state.calls.ingest(store, now, Input::Matched { key: key.clone(), record }).await?;
    }
    Ok((key, "simulator"))
}
