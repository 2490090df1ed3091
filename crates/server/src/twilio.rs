//! Edge: a customer's own Twilio account. Voice and status webhooks are
//! checked against `X-Twilio-Signature` (HMAC-SHA1 over the configured public
//! URL and the sorted POST parameters, keyed with the account's auth token,
//! which is stored sealed), then turned into call events for the call desk.
//! A forged or unsigned request is refused with 403 and leaves no record.

use crate::calldesk::CallDesk;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Form;
use base64::Engine;
use dialtone_calls::{CallEvent, Direction, EndReason, EventKind, Input, Provider, VendorCallKey};
use dialtone_store::Store;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// `POST /telephony/twilio/voice`: a call arrives. The VoiceCall is written
/// now; the caller waits in the call center's queue until an agent takes it
/// (routing fills this in later).
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
    let event = EventKind::Initiated {
        direction: if inbound { Direction::Inbound } else { Direction::Outbound },
        from: params.get("From").cloned().unwrap_or_default(),
        to: params.get("To").cloned().unwrap_or_default(),
        call_center: crate::query::call_center_id(state.store.as_ref(), &trunk.call_center).await.ok().flatten(),
    };
    if let Err(e) = ingest(&state.calls, state.store.as_ref(), &key, 0, now, event).await {
        return e.into_response();
    }
    twiml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Enqueue>{}</Enqueue></Response>",
        xml_text(&trunk.call_center)
    ))
}

/// `POST /telephony/twilio/status`: status callbacks, idempotent and in any order.
pub async fn status(State(state): State<AppState>, headers: HeaderMap, Form(params): Form<BTreeMap<String, String>>) -> Response {
    let path = "/telephony/twilio/status";
    if limited(&state, &params) {
        return refused(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many webhooks for this account"), path);
    }
    if let Err(e) = verify(&state, path, &headers, &params).await {
        return refused(e, path);
    }
    let key = match key_of(&params) {
        Ok(k) => k,
        Err(e) => return refused(e, path),
    };
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
    match ingest(&state.calls, state.store.as_ref(), &key, seq, now, kind).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn ingest(desk: &CallDesk, store: &dyn Store, key: &VendorCallKey, seq: u64, now: OffsetDateTime, kind: EventKind) -> Result<(), ApiError> {
    let event = CallEvent { key: key.clone(), provider: Provider::Twilio, seq, at: now, kind };
    desk.ingest(store, now, Input::Event(event)).await.map(|_| ())
}
