//! Edge: a customer's own Twilio account. Voice and status webhooks are
//! checked against `X-Twilio-Signature` (HMAC-SHA1 over the configured public
//! URL and the sorted POST parameters, keyed with the account's auth token,
//! which is stored sealed), then turned into call events for the call desk.
//! A forged or unsigned request is refused with 403 and leaves no record.

use crate::calldesk::CallDesk;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Form;
use base64::Engine;
use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, Provider, VendorCallKey};
use dialtone_model::SalesforceId;
use dialtone_store::Store;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// A Twilio account connected to a call center.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TwilioTrunk {
    pub name: String,
    pub account_sid: String,
    /// The base URL Twilio calls, e.g. `https://cti.example.com`; signatures are over it.
    pub public_url: String,
    pub call_center: String,
}

pub fn trunk_setting(account_sid: &str) -> String {
    format!("trunk:twilio:{account_sid}")
}

pub fn credential_name(trunk: &str) -> String {
    format!("twilio.{trunk}.auth_token")
}

/// Twilio's request signature: base64(HMAC-SHA1(auth_token, url + sorted key+value pairs)).
pub fn signature(auth_token: &str, url: &str, params: &BTreeMap<String, String>) -> String {
    let mut data = url.to_string();
    for (k, v) in params {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Finds the trunk, opens its auth token and checks the signature.
async fn verify(state: &AppState, path: &str, headers: &HeaderMap, params: &BTreeMap<String, String>) -> Result<TwilioTrunk, ApiError> {
    let forged = || ApiError::new("INVALID_SIGNATURE", "X-Twilio-Signature does not match this request");
    let sid = params.get("AccountSid").filter(|s| s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric())).ok_or_else(forged)?;
    let trunk: TwilioTrunk = match state.store.setting(&trunk_setting(sid)).await? {
        Some(json) => serde_json::from_str(&json).map_err(ApiError::ours)?,
        None => return Err(forged()),
    };
    let key = state.master_key.as_ref().ok_or_else(|| ApiError::ours("no master key loaded: carrier credentials cannot be opened"))?;
    let sealed = state.store.setting(&format!("credential:{}", credential_name(&trunk.name))).await?.ok_or_else(|| ApiError::ours("trunk without auth token"))?;
    let token = dialtone_secrets::open_secret(key, &credential_name(&trunk.name), &sealed).map_err(ApiError::ours)?;
    let url = format!("{}{path}", trunk.public_url.trim_end_matches('/'));
    let given = headers.get("x-twilio-signature").and_then(|h| h.to_str().ok()).ok_or_else(forged)?;
    let want = signature(token.expose(), &url, params);
    if !crate::auth::constant_time_eq(want.as_bytes(), given.as_bytes()) {
        return Err(forged());
    }
    Ok(trunk)
}

fn refused(e: ApiError, path: &str) -> Response {
    tracing::warn!(path, code = e.code, "refused a Twilio webhook");
    e.into_response()
}

fn limited(state: &AppState, params: &BTreeMap<String, String>) -> bool {
    let sid = params.get("AccountSid").cloned().unwrap_or_default();
    !state.limits.lock().unwrap_or_else(|p| p.into_inner()).webhooks.allow(&sid, std::time::Instant::now())
}

fn key_of(params: &BTreeMap<String, String>) -> Result<VendorCallKey, ApiError> {
    params
        .get("CallSid")
        .and_then(|s| VendorCallKey::parse(s).ok())
        .ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", "CallSid is missing or malformed"))
}

fn twiml(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// How long Twilio rings an agent's client before giving up (`<Dial timeout>`).
pub const DIAL_TIMEOUT_SECS: u32 = 20;

/// The Twilio edge's offers: which agent each ringing call was offered to
/// (their Twilio Client identity is their username). Routing itself is the
/// shared service: an offered agent holds capacity there, so a SIP call and
/// a Twilio call never ring the same agent beyond their capacity; the dial's
/// outcome or the call's final status callback frees them.
#[derive(Debug, Default)]
pub struct Dialer {
    offers: HashMap<VendorCallKey, AgentId>,
    /// How many offers each live call has had (each offer's facts get sequences of their own).
    attempts: HashMap<VendorCallKey, u64>,
}

impl Dialer {
    /// The number of the call's next offer (0 for its first).
    fn next_attempt(&mut self, key: &VendorCallKey) -> u64 {
        let n = self.attempts.entry(key.clone()).or_insert(0);
        *n += 1;
        *n
    }

    /// The agent offered `key`, if any (a repeated voice webhook reuses it).
    pub fn offered(&self, key: &VendorCallKey) -> Option<&AgentId> {
        self.offers.get(key)
    }

    /// Forgets the offer of `key` (if it is still `agent`, when given) and
    /// tells routing it failed. Only the call that engaged an agent frees
    /// them: a late callback of an old call cannot free an agent now on
    /// another call.
    fn release(&mut self, state: &AppState, now: OffsetDateTime, key: &VendorCallKey, agent: Option<&AgentId>) -> Option<AgentId> {
        if agent.is_some_and(|a| self.offers.get(key) != Some(a)) {
            return None;
        }
        let agent = self.offers.remove(key)?;
        state.calls.routing.lock().offer_failed(now, key, &agent);
        Some(agent)
    }
}

/// What routing says of a Twilio call.
enum Choice {
    /// Dial this agent's Twilio Client (their username).
    Agent(AgentId, String),
    Wait,
    Voicemail,
    Callback,
}

/// Asks routing for the call's agent; a repeated webhook reuses the offer.
async fn offer(state: &AppState, center: &SalesforceId, key: &VendorCallKey, from: &str, to: &str, now: OffsetDateTime) -> Result<Choice, ApiError> {
    use dialtone_routing::service::{Away, Routed};
    let known = state.dialer.lock().unwrap_or_else(|p| p.into_inner()).offers.get(key).cloned();
    let routed = match known {
        Some(a) => Routed::Offer(a),
        None => {
            // Presence set a moment ago (the CLI, another node) counts: routing is brought up to date first.
            if let Err(e) = crate::routing::refresh(state).await {
                tracing::warn!(error = %e.message, "refreshing routing for a Twilio call");
            }
            let mut arrival = crate::routing::arrival(Some(center.clone()), from, to, Some(state.store.normalizer()));
            let wanted = state.calls.routing.lock().record_fields_wanted();
            arrival.record = crate::routing::caller_fields(state.store.as_ref(), from, &wanted).await;
            let routed = {
                let mut r = state.calls.routing.lock();
                r.arrive(now, key, &arrival);
                r.route(now, key, &[], &|_| true)
            };
            crate::routing::act_now(state);
            routed
        }
    };
    match routed {
        Routed::Offer(a) => {
            state.dialer.lock().unwrap_or_else(|p| p.into_inner()).offers.insert(key.clone(), a.clone());
            let username = crate::sipedge::username_of(state.store.as_ref(), a.id()).await?;
            Ok(Choice::Agent(a, username))
        }
        Routed::Wait | Routed::Gone => Ok(Choice::Wait),
        Routed::Leave(Away::Voicemail) => Ok(Choice::Voicemail),
        Routed::Leave(Away::Callback) => Ok(Choice::Callback),
    }
}

/// Sequence numbers of the facts the edge adds itself (the offer, its
/// result, the answer), in a range of their own like recordings'.
const OFFER_SEQ: u64 = 3 << 48;

/// The caller waits in the call center's Twilio queue. While they wait,
/// Twilio asks `waitUrl` what to play (and asks again when it ends): once
/// routing has an agent for the call, the answer is `<Leave/>`, and Twilio
/// then asks the `action` URL, which dials that agent.
fn enqueue(trunk: &TwilioTrunk) -> Response {
    let base = trunk.public_url.trim_end_matches('/');
    twiml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Enqueue action=\"{}\" waitUrl=\"{}\">{}</Enqueue></Response>",
        xml_text(&format!("{base}/telephony/twilio/dequeued")),
        xml_text(&format!("{base}/telephony/twilio/wait")),
        xml_text(&trunk.call_center)
    ))
}

/// Checks a webhook (rate limit, signature) and reads its call key.
async fn webhook(state: &AppState, path: &str, headers: &HeaderMap, params: &BTreeMap<String, String>) -> Result<(TwilioTrunk, VendorCallKey), Response> {
    if limited(state, params) {
        return Err(refused(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many webhooks for this account"), path));
    }
    let trunk = verify(state, path, headers, params).await.map_err(|e| refused(e, path))?;
    let key = key_of(params).map_err(|e| refused(e, path))?;
    Ok((trunk, key))
}

/// `POST /telephony/twilio/wait` (the `<Enqueue waitUrl>`): while the caller
/// waits, `<Leave/>` once routing has an agent (or voicemail, or a
/// callback) for them, else the queue position and a pause.
pub async fn wait(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let (trunk, key) = match webhook(&state, "/telephony/twilio/wait", &headers, &params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let now = OffsetDateTime::now_utc();
    let center = crate::query::call_center_id(state.store.as_ref(), &trunk.call_center).await.ok().flatten();
    let choice = match &center {
        Some(cc) => offer(&state, cc, &key, "", "", now).await.unwrap_or(Choice::Wait),
        None => Choice::Wait,
    };
    if !matches!(choice, Choice::Wait) {
        return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Leave/></Response>".to_string());
    }
    let position = params.get("QueuePosition").and_then(|p| p.parse::<u32>().ok()).filter(|p| *p > 0);
    let say = match position {
        Some(1) => "You are next in line. Please hold.".to_string(),
        Some(n) => format!("You are number {n} in line. Please hold."),
        None => "Please hold.".to_string(),
    };
    twiml(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{}</Say><Pause length=\"5\"/></Response>", xml_text(&say)))
}

/// `POST /telephony/twilio/dequeued` (the `<Enqueue action>`): the caller
/// left the queue. Left for routing's agent: dial them (or voicemail, or a
/// callback); hung up: nothing more (the status callback ends the call).
pub async fn dequeued(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let (trunk, key) = match webhook(&state, "/telephony/twilio/dequeued", &headers, &params).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if params.get("QueueResult").map(String::as_str) != Some("leave") {
        return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>".to_string());
    }
    let now = OffsetDateTime::now_utc();
    let center = crate::query::call_center_id(state.store.as_ref(), &trunk.call_center).await.ok().flatten();
    let choice = match &center {
        Some(cc) => offer(&state, cc, &key, "", "", now).await.unwrap_or(Choice::Wait),
        None => Choice::Wait,
    };
    let attempt = state.dialer.lock().unwrap_or_else(|p| p.into_inner()).next_attempt(&key);
    answer(&state, &trunk, &key, choice, attempt, now).await
}

/// `POST /telephony/twilio/voice`: a call arrives. The VoiceCall is written
/// now. When the trunk's call center has an Available agent (longest idle
/// first), the answer dials their Twilio Client and the call records the
/// offer; the dial's outcome comes back to the status webhook (`action`).
/// Otherwise the caller waits in the call center's queue (`<Enqueue>`).
pub async fn voice(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let path = "/telephony/twilio/voice";
    if limited(&state, &params) {
        return refused(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many webhooks for this account"), path);
    }
    let trunk = match verify(&state, path, &headers, &params).await {
        Ok(t) => t,
        Err(e) => return refused(e, path),
    };
    let key = match key_of(&params) {
        Ok(k) => k,
        Err(e) => return refused(e, path),
    };
    let inbound = params.get("Direction").is_none_or(|d| d == "inbound");
    let now = OffsetDateTime::now_utc();
    let center = crate::query::call_center_id(state.store.as_ref(), &trunk.call_center).await.ok().flatten();
    let event = EventKind::Initiated {
        direction: if inbound { Direction::Inbound } else { Direction::Outbound },
        from: params.get("From").cloned().unwrap_or_default(),
        to: params.get("To").cloned().unwrap_or_default(),
        call_center: center.clone(),
    };
    if let Err(e) = ingest(&state.calls, state.store.as_ref(), &key, 0, now, event).await {
        return e.into_response();
    }
    let from = params.get("From").cloned().unwrap_or_default();
    let to = params.get("To").cloned().unwrap_or_default();
    let choice = match &center {
        Some(cc) => offer(&state, cc, &key, &from, &to, now).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e.message, "choosing an agent for a Twilio call; the caller is queued");
            Choice::Wait
        }),
        None => Choice::Wait,
    };
    answer(&state, &trunk, &key, choice, 0, now).await
}

/// The TwiML for routing's answer: dial the agent's client (recording the
/// offer as attempt `attempt`), queue, voicemail, or a callback.
async fn answer(state: &AppState, trunk: &TwilioTrunk, key: &VendorCallKey, choice: Choice, attempt: u64, now: OffsetDateTime) -> Response {
    let (agent, identity) = match choice {
        Choice::Agent(a, identity) => (a, identity),
        Choice::Wait => return enqueue(trunk),
        Choice::Voicemail => {
            let action = format!("{}/telephony/twilio/recording", trunk.public_url.trim_end_matches('/'));
            return twiml(format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>Nobody can take your call now. Please leave a message after the tone.</Say><Record maxLength=\"120\" recordingStatusCallback=\"{}\"/></Response>",
                xml_text(&action)
            ));
        }
        Choice::Callback => {
            return twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>You keep your place in the queue. We will call you back.</Say><Hangup/></Response>".to_string());
        }
    };
    if let Err(e) = ingest(&state.calls, state.store.as_ref(), key, OFFER_SEQ + 3 * attempt, now, EventKind::Offered { agent: agent.clone() }).await {
        tracing::warn!(error = %e.message, "recording a Twilio offer");
    }
    let action = format!("{}/telephony/twilio/status?offer={agent}&attempt={attempt}", trunk.public_url.trim_end_matches('/'));
    twiml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial action=\"{}\" timeout=\"{DIAL_TIMEOUT_SECS}\"><Client>{}</Client></Dial></Response>",
        xml_text(&action),
        xml_text(&identity)
    ))
}

/// The `<Dial action>` callback: how ringing the offered agent went. The
/// agent is free again unless they answered; a caller nobody answered is
/// offered to routing's next agent, or waits in the queue.
async fn dial_result(state: &AppState, trunk: &TwilioTrunk, key: &VendorCallKey, agent: Option<AgentId>, attempt: u64, params: &BTreeMap<String, String>) -> Response {
    let now = OffsetDateTime::now_utc();
    let result = match params.get("DialCallStatus").map(String::as_str) {
        Some("completed") | Some("answered") => OfferOutcome::Accepted,
        Some("busy") => OfferOutcome::Declined,
        Some("no-answer") => OfferOutcome::TimedOut,
        _ => OfferOutcome::Missed,
    };
    let released = if result == OfferOutcome::Accepted {
        state.dialer.lock().unwrap_or_else(|p| p.into_inner()).offers.remove(key)
    } else {
        state.dialer.lock().unwrap_or_else(|p| p.into_inner()).release(state, now, key, agent.as_ref())
    };
    let Some(agent) = agent.or(released) else { return enqueue(trunk) };
    let store = state.store.as_ref();
    let seq = OFFER_SEQ + 3 * attempt;
    if let Err(e) = ingest(&state.calls, store, key, seq + 1, now, EventKind::OfferResult { agent: agent.clone(), result }).await {
        tracing::warn!(error = %e.message, "recording a Twilio dial result");
    }
    if result != OfferOutcome::Accepted {
        let Some(center) = crate::query::call_center_id(store, &trunk.call_center).await.ok().flatten() else { return enqueue(trunk) };
        let choice = offer(state, &center, key, "", "", now).await.unwrap_or(Choice::Wait);
        let next = state.dialer.lock().unwrap_or_else(|p| p.into_inner()).next_attempt(key);
        return answer(state, trunk, key, choice, next, now).await;
    }
    let talked = params.get("DialCallDuration").and_then(|d| d.parse::<i64>().ok()).unwrap_or(0).clamp(0, 86_400);
    let event = CallEvent { key: key.clone(), provider: Provider::Twilio, seq: seq + 2, at: now - time::Duration::seconds(talked), kind: EventKind::Answered { agent } };
    if let Err(e) = state.calls.ingest(store, now, Input::Event(event)).await {
        tracing::warn!(error = %e.message, "recording a Twilio answer");
    }
    // The agent's leg is over (Twilio calls the action when the dialled party hangs up): their capacity is free.
    state.calls.routing.lock().complete(now, key);
    crate::routing::act_now(state);
    twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>".to_string())
}

/// `POST /telephony/twilio/status`: status callbacks, idempotent and in any
/// order, and the `<Dial action>` callback (`?offer=AGENT`, signed over the
/// URL with its query as Twilio signs it). A final status frees the agent
/// the call was offered to.
pub async fn status(State(state): State<AppState>, RawQuery(query): RawQuery, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let path = "/telephony/twilio/status";
    if limited(&state, &params) {
        return refused(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many webhooks for this account"), path);
    }
    let signed = match &query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let trunk = match verify(&state, &signed, &headers, &params).await {
        Ok(t) => t,
        Err(e) => return refused(e, path),
    };
    let key = match key_of(&params) {
        Ok(k) => k,
        Err(e) => return refused(e, path),
    };
    if params.contains_key("DialCallStatus") {
        let arg = |name: &str| query.as_deref().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')));
        let offered = arg("offer").and_then(|a| AgentId::parse(a).ok());
        let attempt = arg("attempt").and_then(|n| n.parse::<u64>().ok()).unwrap_or(0).min(1_000);
        return dial_result(&state, &trunk, &key, offered, attempt, &params).await;
    }
    // Twilio numbers its callbacks; the initial webhook is 0.
    let seq = params.get("SequenceNumber").and_then(|s| s.parse::<u64>().ok()).map_or(0, |n| n + 1);
    let now = OffsetDateTime::now_utc();
    let kind = match params.get("CallStatus").map(String::as_str) {
        Some("queued") | Some("initiated") => EventKind::Initiated {
            direction: if params.get("Direction").is_none_or(|d| d == "inbound") { Direction::Inbound } else { Direction::Outbound },
            from: params.get("From").cloned().unwrap_or_default(),
            to: params.get("To").cloned().unwrap_or_default(),
            call_center: None,
        },
        Some("ringing") => EventKind::Ringing,
        Some("completed") => EventKind::Ended { reason: EndReason::CustomerDisconnect },
        Some("busy") => EventKind::Ended { reason: EndReason::Busy },
        Some("no-answer") => EventKind::Ended { reason: EndReason::NoAnswer },
        Some("canceled") => EventKind::Ended { reason: EndReason::Canceled },
        Some("failed") => EventKind::Failed { reason: "carrier reported failure".into() },
        // in-progress: answered by Dialtone's TwiML, not yet by an agent.
        Some("in-progress") => return StatusCode::NO_CONTENT.into_response(),
        other => return ApiError::new("INVALID_FIELD", format!("unknown CallStatus {other:?}")).into_response(),
    };
    if matches!(kind, EventKind::Ended { .. } | EventKind::Failed { .. }) {
        let mut d = state.dialer.lock().unwrap_or_else(|p| p.into_inner());
        d.release(&state, now, &key, None);
        d.attempts.remove(&key);
    }
    let event = CallEvent { key: key.clone(), provider: Provider::Twilio, seq, at: reported_at(&params, now), kind };
    match state.calls.ingest(state.store.as_ref(), now, Input::Event(event)).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// When Twilio says the status changed: its `Timestamp` parameter (RFC 2822,
/// "Mon, 16 Aug 2010 03:45:01 +0000"), so a callback that arrives late still
/// counts at its own time; the arrival time when it is absent, unreadable or
/// more than a day away from it.
fn reported_at(params: &BTreeMap<String, String>, now: OffsetDateTime) -> OffsetDateTime {
    params
        .get("Timestamp")
        .and_then(|t| OffsetDateTime::parse(t.trim(), &time::format_description::well_known::Rfc2822).ok())
        .filter(|t| (*t - now).abs() <= time::Duration::days(1))
        .unwrap_or(now)
}

async fn ingest(desk: &CallDesk, store: &dyn Store, key: &VendorCallKey, seq: u64, now: OffsetDateTime, kind: EventKind) -> Result<(), ApiError> {
    let event = CallEvent { key: key.clone(), provider: Provider::Twilio, seq, at: now, kind };
    desk.ingest(store, now, Input::Event(event)).await.map(|_| ())
}

/// Sequence numbers for callbacks Twilio does not number: the recording and
/// transcription callbacks. Derived from the resource's SID, so a repeated
/// callback is the same fact (a duplicate), and kept in ranges of their own,
/// far above Twilio's SequenceNumber, so they never collide with status callbacks.
const RECORDING_SEQ: u64 = 1 << 48;
const TRANSCRIPT_SEQ: u64 = 2 << 48;

fn seq_of(base: u64, sid: &str) -> u64 {
    // FNV-1a: stable across runs and builds (std's hasher is not).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sid.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    base + (h & ((1 << 40) - 1))
}

/// A Twilio SID (RecordingSid, TranscriptionSid): letters and digits, at most 64.
fn sid_param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", format!("{name} is missing or malformed")))
}

/// The stored recording with Twilio's RecordingSid, if any.
async fn stored_recording(store: &dyn Store, recording_sid: &str) -> Result<Option<dialtone_model::SalesforceId>, ApiError> {
    // The SID is letters and digits (checked by `sid_param`), so it is safe in SOQL.
    let soql = format!("SELECT Id FROM VoiceCallRecording WHERE VendorRecordingKey = '{recording_sid}' LIMIT 1");
    Ok(crate::query::system_ids(store, &soql).await?.into_iter().next())
}

/// The stored VoiceCall of a call key, for callbacks that arrive after the
/// call desk has forgotten the call (or after a restart).
async fn stored_call(store: &dyn Store, key: &VendorCallKey) -> Result<Option<dialtone_model::SalesforceId>, ApiError> {
    if !key.as_str().chars().all(|c| c.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let soql = format!("SELECT Id FROM VoiceCall WHERE VendorCallKey = '{}' LIMIT 1", key.as_str());
    Ok(crate::query::system_ids(store, &soql).await?.into_iter().next())
}

/// The checks every Twilio callback passes before anything is written:
/// the webhook rate limit, then `X-Twilio-Signature` (the same path as
/// the voice and status webhooks), then the CallSid.
async fn checked(state: &AppState, path: &str, headers: &HeaderMap, params: &BTreeMap<String, String>) -> Result<VendorCallKey, Response> {
    if limited(state, params) {
        return Err(refused(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many webhooks for this account"), path));
    }
    if let Err(e) = verify(state, path, headers, params).await {
        return Err(refused(e, path));
    }
    key_of(params).map_err(|e| refused(e, path))
}

/// `POST /telephony/twilio/recording`: Twilio's RecordingStatusCallback. A
/// completed recording becomes one VoiceCallRecording linked to the call — a
/// reference to Twilio's media (RecordingUrl); the audio never enters
/// Dialtone. Repeated callbacks for the same RecordingSid add nothing.
pub async fn recording(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let path = "/telephony/twilio/recording";
    let key = match checked(&state, path, &headers, &params).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    match record_recording(&state, &key, &params).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e, path),
    }
}

async fn record_recording(state: &AppState, key: &VendorCallKey, params: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let sid = sid_param(params, "RecordingSid")?;
    // in-progress, absent, failed: nothing to reference.
    if params.get("RecordingStatus").is_some_and(|s| s != "completed") {
        return Ok(());
    }
    let url = params
        .get("RecordingUrl")
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| ApiError::new("REQUIRED_FIELD_MISSING", "RecordingUrl is missing or not a URL"))?
        .clone();
    let seconds = params.get("RecordingDuration").and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
    let store = state.store.as_ref();
    if stored_recording(store, sid).await?.is_some() {
        return Ok(()); // a repeated callback, even one from before a restart
    }
    let now = OffsetDateTime::now_utc();
    if !state.calls.is_live(key).await
        && let Some(call) = stored_call(store, key).await?
    {
        // The desk no longer holds the call: reference the recording directly.
        let schema = store.schema();
        let mut fields = vec![
            ("VoiceCallId".to_string(), dialtone_model::Value::Text(call.to_string())),
            ("Provider".to_string(), dialtone_model::Value::Text(Provider::Twilio.name().into())),
            ("VendorRecordingKey".to_string(), dialtone_model::Value::Text(sid.to_string())),
            ("DurationInSeconds".to_string(), dialtone_model::Value::Int(i64::try_from(seconds).unwrap_or(i64::MAX))),
        ];
        if url.chars().count() <= 2048 {
            fields.push(("MediaUrl".to_string(), dialtone_model::Value::Text(url)));
        }
        store.insert(schema.object("VoiceCallRecording").expect("standard object"), vec![fields], None).await?;
        store.update(schema.object("VoiceCall").expect("standard object"), &call, vec![("IsRecorded".into(), dialtone_model::Value::Bool(true))], None).await?;
        return Ok(());
    }
    let kind = EventKind::RecordingAvailable { recording: sid.to_string(), url, duration: std::time::Duration::from_secs(seconds) };
    ingest(&state.calls, store, key, seq_of(RECORDING_SEQ, sid), now, kind).await
}

/// `POST /telephony/twilio/transcription`: Twilio's transcribeCallback. The
/// text is redacted (`dialtone-redact`: card numbers, security codes,
/// national ids) before anything sees it, then stored on the recording's
/// VoiceCallRecording (`Transcript`) and passed to the call desk as an
/// utterance for the agent's desktop.
pub async fn transcription(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let path = "/telephony/twilio/transcription";
    let key = match checked(&state, path, &headers, &params).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    match record_transcription(&state, &key, &params).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refused(e, path),
    }
}

async fn record_transcription(state: &AppState, key: &VendorCallKey, params: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let recording_sid = sid_param(params, "RecordingSid")?;
    let transcription_sid = sid_param(params, "TranscriptionSid")?;
    // failed: Twilio could not transcribe; there is no text.
    if params.get("TranscriptionStatus").is_some_and(|s| s != "completed") {
        return Ok(());
    }
    let raw = params.get("TranscriptionText").map(String::as_str).unwrap_or("");
    let redacted = dialtone_redact::redact(&dialtone_redact::Policy::default(), raw);
    if !redacted.is_clean() {
        let kinds: Vec<String> = redacted.removed.iter().map(|r| r.kind.to_string()).collect();
        tracing::info!(removed = ?kinds, "redacted a Twilio transcription");
    }
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc();
    if stored_recording(store, recording_sid).await?.is_none() && params.contains_key("RecordingUrl") {
        // The transcription came before the recording callback: reference the recording now.
        record_recording(state, key, params).await?;
    }
    let rec = stored_recording(store, recording_sid)
        .await?
        .ok_or_else(|| ApiError::new("NOT_FOUND", format!("no recording {recording_sid} for this call yet")))?;
    let o = store.schema().object("VoiceCallRecording").expect("standard object");
    // The field holds 131,072 characters; a longer transcript keeps its beginning.
    let stored: String = redacted.text.chars().take(131_072).collect();
    store.update(o, &rec, vec![("Transcript".into(), dialtone_model::Value::Text(stored))], None).await?;
    if state.calls.is_live(key).await {
        let kind = EventKind::TranscriptUtterance { speaker: dialtone_calls::Speaker::Customer, text: redacted.text };
        ingest(&state.calls, store, key, seq_of(TRANSCRIPT_SEQ, transcription_sid), now, kind).await?;
    }
    Ok(())
}
