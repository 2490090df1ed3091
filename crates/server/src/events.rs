//! `POST /api/calls/events`: call events as JSON, for the simulator
//! (`dialtone simulate`) and tests. They enter the call desk exactly as the
//! telephony edges' events do, as [`Provider::Simulator`].
//!
//! The body is an array of events:
//!
//! ```json
//! [{"vendorCallKey": "SIM-1", "seq": 1, "at": "2026-11-22T09:00:00Z", "kind": "initiated",
//!   "direction": "inbound", "from": "+14155550142", "to": "+18005550100", "callCenter": "DialtoneDemo"},
//!  {"vendorCallKey": "SIM-1", "seq": 2, "at": "2026-11-22T09:00:04Z", "kind": "answered", "agent": "005…"}]
//! ```
//!
//! The whole batch is checked before any of it is applied: one bad event
//! (unknown kind, missing or malformed field) refuses the batch with
//! `INVALID_CALL_EVENT`, naming the event's index, and nothing is written.
//! The caller needs the Manage Call Centers permission: these events write
//! VoiceCalls as if a carrier had reported them.

use crate::auth::Session;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use axum::body::Bytes;
use dialtone_access::SystemPerm;
use dialtone_calls::{
    AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, Provider, QueueName, Speaker, TransferTarget, VendorCallKey,
};
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Most events one request may carry.
pub const MAX_EVENTS: usize = 5_000;

/// The kinds this endpoint accepts, as the wire spells them.
pub const KINDS: &[&str] = &[
    "initiated",
    "queued",
    "ringing",
    "offered",
    "offerResult",
    "answered",
    "held",
    "resumed",
    "transferred",
    "conferenced",
    "recording",
    "transcript",
    "ended",
    "failed",
    "voicemail",
];

/// One event as it arrives. Which fields a kind needs is checked in [`parse`].
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WireEvent {
    vendor_call_key: String,
    seq: u64,
    /// When it happened (ISO 8601); the time of arrival if absent.
    at: Option<String>,
    kind: String,
    direction: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// A call center's internal name (initiated).
    call_center: Option<String>,
    queue: Option<String>,
    agent: Option<String>,
    /// accepted | declined | timedOut | missed (offerResult).
    result: Option<String>,
    /// agent | queue | number (transferred; `to` holds the agent id, queue name or number).
    target: Option<String>,
    new_leg: Option<String>,
    recording: Option<String>,
    url: Option<String>,
    duration_seconds: Option<u64>,
    /// customer, or an agent's User id (transcript).
    speaker: Option<String>,
    text: Option<String>,
    /// ended: customerDisconnect | agentDisconnect | failed | busy | noAnswer | canceled | voicemail;
    /// failed: free text.
    reason: Option<String>,
}

fn bad(index: usize, message: impl std::fmt::Display) -> ApiError {
    ApiError::new("INVALID_CALL_EVENT", format!("event {index}: {message}; nothing in the batch was applied"))
}

fn need<'a>(index: usize, kind: &str, field: &str, value: &'a Option<String>) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| bad(index, format!("a {kind} event needs \"{field}\"")))
}

fn agent(index: usize, kind: &str, raw: &Option<String>) -> Result<AgentId, ApiError> {
    AgentId::parse(need(index, kind, "agent", raw)?).map_err(|e| bad(index, format!("\"agent\": {e}")))
}

/// Turns one wire event into a typed event; call center names are resolved through `centers`.
fn parse(index: usize, w: &WireEvent, now: OffsetDateTime, centers: &HashMap<String, dialtone_model::SalesforceId>) -> Result<CallEvent, ApiError> {
    let key = VendorCallKey::parse(&w.vendor_call_key).map_err(|e| bad(index, format!("\"vendorCallKey\": {e}")))?;
    let at = match &w.at {
        None => now,
        Some(s) => dialtone_model::parse_datetime(s).ok_or_else(|| bad(index, format!("\"at\" is not an ISO 8601 date-time: {s:?}")))?,
    };
    let k = w.kind.as_str();
    let kind = match k {
        "initiated" => EventKind::Initiated {
            direction: match need(index, k, "direction", &w.direction)? {
                "inbound" => Direction::Inbound,
                "outbound" => Direction::Outbound,
                other => return Err(bad(index, format!("\"direction\" is inbound or outbound, not {other:?}"))),
            },
            from: w.from.clone().unwrap_or_default(),
            to: w.to.clone().unwrap_or_default(),
            call_center: match &w.call_center {
                None => None,
                Some(name) => Some(centers.get(name).cloned().ok_or_else(|| bad(index, format!("no call center named {name:?}")))?),
            },
        },
        "queued" => EventKind::Queued { queue: QueueName::parse(need(index, k, "queue", &w.queue)?).map_err(|e| bad(index, format!("\"queue\": {e}")))? },
        "ringing" => EventKind::Ringing,
        "offered" => EventKind::Offered { agent: agent(index, k, &w.agent)? },
        "offerResult" => EventKind::OfferResult {
            agent: agent(index, k, &w.agent)?,
            result: match need(index, k, "result", &w.result)? {
                "accepted" => OfferOutcome::Accepted,
                "declined" => OfferOutcome::Declined,
                "timedOut" => OfferOutcome::TimedOut,
                "missed" => OfferOutcome::Missed,
                other => return Err(bad(index, format!("\"result\" is accepted, declined, timedOut or missed, not {other:?}"))),
            },
        },
        "answered" => EventKind::Answered { agent: agent(index, k, &w.agent)? },
        "held" => EventKind::Held,
        "resumed" => EventKind::Resumed,
        "transferred" => {
            let to = need(index, k, "to", &w.to)?;
            let target = match need(index, k, "target", &w.target)? {
                "agent" => TransferTarget::Agent(AgentId::parse(to).map_err(|e| bad(index, format!("\"to\": {e}")))?),
                "queue" => TransferTarget::Queue(QueueName::parse(to).map_err(|e| bad(index, format!("\"to\": {e}")))?),
                "number" => TransferTarget::Number(to.to_string()),
                other => return Err(bad(index, format!("\"target\" is agent, queue or number, not {other:?}"))),
            };
            let new_leg = VendorCallKey::parse(need(index, k, "newLeg", &w.new_leg)?).map_err(|e| bad(index, format!("\"newLeg\": {e}")))?;
            if new_leg == key {
                return Err(bad(index, "\"newLeg\" must differ from the call's own key"));
            }
            EventKind::Transferred { to: target, new_leg }
        }
        "conferenced" => EventKind::Conferenced,
        "recording" => {
            let url = need(index, k, "url", &w.url)?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(bad(index, "\"url\" must be an http(s) URL"));
            }
            EventKind::RecordingAvailable {
                recording: need(index, k, "recording", &w.recording)?.to_string(),
                url: url.to_string(),
                duration: std::time::Duration::from_secs(w.duration_seconds.unwrap_or(0)),
            }
        }
        "transcript" => {
            let speaker = match need(index, k, "speaker", &w.speaker)? {
                "customer" => Speaker::Customer,
                id => Speaker::Agent(AgentId::parse(id).map_err(|e| bad(index, format!("\"speaker\" is customer or an agent: {e}")))?),
            };
            // Redacted before anything else sees it, as transcripts from a carrier are.
            let text = dialtone_redact::redact(&dialtone_redact::Policy::default(), need(index, k, "text", &w.text)?).text;
            EventKind::TranscriptUtterance { speaker, text }
        }
        "ended" => EventKind::Ended {
            reason: match w.reason.as_deref().unwrap_or("customerDisconnect") {
                "customerDisconnect" => EndReason::CustomerDisconnect,
                "agentDisconnect" => EndReason::AgentDisconnect,
                "failed" => EndReason::Failed,
                "busy" => EndReason::Busy,
                "noAnswer" => EndReason::NoAnswer,
                "canceled" => EndReason::Canceled,
                "voicemail" => EndReason::Voicemail,
                other => return Err(bad(index, format!("\"reason\" {other:?} is not customerDisconnect, agentDisconnect, failed, busy, noAnswer, canceled or voicemail"))),
            },
        },
        "failed" => EventKind::Failed { reason: w.reason.clone().unwrap_or_else(|| "failed".into()) },
        "voicemail" => EventKind::Voicemail { url: w.url.clone().unwrap_or_default() },
        other => return Err(bad(index, format!("unknown kind {other:?}; kinds: {}", KINDS.join(", ")))),
    };
    Ok(CallEvent { key, provider: Provider::Simulator, seq: w.seq, at, kind })
}

/// `POST /api/calls/events`: validates the whole batch, then feeds it to the
/// call desk in order. Answers `{"accepted": n}`.
pub async fn ingest(State(state): State<AppState>, s: Session, body: Bytes) -> Result<Json<serde_json::Value>, ApiError> {
    if !s.grants.has(SystemPerm::ManageCallCenters) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "sending call events needs the Manage Call Centers permission"));
    }
    let items: Vec<serde_json::Value> = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body must be a JSON array of call events: {e}")))?;
    if items.len() > MAX_EVENTS {
        return Err(ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("{} events in one batch; at most {MAX_EVENTS}", items.len())));
    }
    let mut wire = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        wire.push(serde_json::from_value::<WireEvent>(item).map_err(|e| bad(i, e))?);
    }
    let mut centers = HashMap::new();
    for name in wire.iter().filter_map(|w| w.call_center.as_ref()) {
        if !centers.contains_key(name)
            && let Some(id) = crate::query::call_center_id(state.store.as_ref(), name).await?
        {
            centers.insert(name.clone(), id);
        }
    }
    let now = OffsetDateTime::now_utc();
    let events = wire.iter().enumerate().map(|(i, w)| parse(i, w, now, &centers)).collect::<Result<Vec<_>, _>>()?;
    let accepted = events.len();
    for event in events {
        state.calls.ingest(state.store.as_ref(), OffsetDateTime::now_utc(), Input::Event(event)).await?;
    }
    Ok(Json(serde_json::json!({"accepted": accepted})))
}
