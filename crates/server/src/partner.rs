//! Edge: partner telephony. Salesforce Voice's Telephony Integration REST API
//! (`/telephony/v1/voiceCalls`), so a telephony provider's connector written
//! for Salesforce can point at Dialtone instead.
//!
//! Every request carries `Authorization: Bearer <JWT>`, signed RS256 with the
//! private key whose certificate is the call center's
//! `reqTelephonyIntegrationCertificate` item; `sub` names the call center (its
//! internal name), `exp` is required (30 s leeway), `nbf` and `iat` must not be
//! in the future. `iss` (the org id) and `aud` are not checked. The call center
//! a request acts on — `callCenterApiName` on create, the call's own call center
//! otherwise — must be the one whose certificate verified the token. Anything
//! refused (token, JSON, fields, size) is refused before the first event, so it
//! leaves no record.
//!
//! Bodies become call events for the call desk (`Provider::Partner`):
//! - `POST /telephony/v1/voiceCalls` → `Initiated` (and, with
//!   `parentVoiceCallId`, `Transferred` on the parent leg so the new call gets
//!   `PreviousCallId`); answers `{"voiceCallId": "0LQ…"}`. A second create with
//!   the same `vendorCallKey` answers the same id and changes nothing.
//! - `PATCH /telephony/v1/voiceCalls/{voiceCallId or vendorCallKey}` →
//!   `Queued` (enqueueTime, queue), `Answered` (acceptTime, agent as User id or
//!   username), `Ended` (endTime), `RecordingAvailable` (recordingLocation,
//!   totalRecordingDuration), `HoldsReported` (numberOfHolds,
//!   totalHoldDuration, longestHoldDuration); answers 204. Accepted and not
//!   used: startTime (the start is the create's), fromNumber, isActiveCall,
//!   callOrigin, agentInteractionDuration, callAttributes.
//! - `POST /telephony/v1/voiceCalls/{…}/messages` → `TranscriptUtterance`
//!   (for the agent desktop; the lifecycle never stores transcript text); 204.
//!
//! The provider numbers nothing, so an event's sequence is a hash of what it
//! says (the messageId for messages): a retried request is a duplicate.

use crate::error::ApiError;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, Input, Provider, QueueName, Speaker, TransferTarget, VendorCallKey};
use dialtone_model::{SalesforceId, Schema, Value};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;
use time::OffsetDateTime;

/// Largest partner telephony request body (a transcript line or a call update).
pub const MAX_BODY: usize = 64 * 1024;
/// Clock skew allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 30;
/// Longest transcript line accepted.
pub const MAX_MESSAGE_CHARS: usize = 32_000;
const MAX_TOKEN: usize = 16 * 1024;

/// The call center a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Center {
    pub id: SalesforceId,
    pub name: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("INVALID_JWT", message)
}

const NOT_SIGNED: &str = "the JWT is not signed by the telephony integration certificate of the call center it names";

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    iat: Option<i64>,
}

/// The `sub` of a token not yet verified: it only says which certificate to try.
fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_string)
}

/// The RSA public key of a PEM certificate (lines may be indented, as they are
/// when the certificate sits in a call center file).
pub fn key_from_certificate(pem: &str) -> Result<DecodingKey, String> {
    let text = pem.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n");
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| format!("not a PEM certificate: {e}"))?;
    let cert = pem.parse_x509().map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => Ok(DecodingKey::from_rsa_der(&spki.subject_public_key.data)),
        _ => Err("the certificate's key is not an RSA key".into()),
    }
}

/// The verifying key of a stored CallCenter record.
fn center_key(record: &dialtone_store::Record) -> Result<DecodingKey, String> {
    let def = crate::desktop::stored_definition(record).ok_or("the call center has no readable stored definition")?;
    let pem = def
        .item(dialtone_callcenter::names::TELEPHONY_INTEGRATION_CERTIFICATE)
        .ok_or("the call center has no reqTelephonyIntegrationCertificate item")?;
    key_from_certificate(pem)
}

/// Checks the bearer JWT against the certificate of the call center its `sub`
/// names; returns that call center.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Center, ApiError> {
    let header = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .ok_or_else(|| invalid("Authorization: Bearer <JWT> is required"))?;
    let token = header
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
        .ok_or_else(|| invalid("Authorization: Bearer <JWT> is required"))?;
    let head = jsonwebtoken::decode_header(token).map_err(|_| invalid("the bearer token is not a JWT"))?;
    if head.alg != Algorithm::RS256 {
        return Err(invalid("the JWT must be signed with RS256"));
    }
    let name = unverified_subject(token).ok_or_else(|| invalid("the JWT has no sub naming the call center"))?;
    let store = state.store.as_ref();
    let Some(id) = crate::query::call_center_id(store, &name).await? else {
        tracing::warn!(call_center = %name, "partner telephony: a JWT names no call center");
        return Err(invalid(NOT_SIGNED));
    };
    let object = Schema::standard().object("CallCenter").expect("standard object");
    let record = store.get(object, &id).await?.ok_or_else(|| invalid(NOT_SIGNED))?;
    let key = center_key(&record).map_err(|e| {
        tracing::warn!(call_center = %name, error = %e, "partner telephony: the call center has no usable certificate");
        invalid(NOT_SIGNED)
    })?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = LEEWAY_SECONDS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
        ErrorKind::ExpiredSignature => ApiError::new("JWT_EXPIRED", "the JWT has expired; sign a fresh one"),
        ErrorKind::ImmatureSignature => ApiError::new("JWT_EXPIRED", "the JWT is not valid yet (nbf is in the future)"),
        ErrorKind::InvalidSignature => invalid(NOT_SIGNED),
        _ => invalid(format!("the JWT is not acceptable: {e}")),
    })?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if data.claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECONDS as i64) {
        return Err(ApiError::new("JWT_EXPIRED", "the JWT is issued in the future (iat); check the signer's clock"));
    }
    let internal = record.get("InternalName").and_then(Value::as_str).unwrap_or_default().to_string();
    if !data.claims.sub.eq_ignore_ascii_case(&internal) {
        return Err(invalid(NOT_SIGNED));
    }
    let allowed = state.limits.lock().unwrap_or_else(|p| p.into_inner()).webhooks.allow(&format!("partner:{id}"), std::time::Instant::now());
    if !allowed {
        return Err(ApiError::new("REQUEST_LIMIT_EXCEEDED", "too many partner telephony requests for this call center"));
    }
    Ok(Center { id, name: internal })
}

async fn read_json<T: DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("a partner telephony request body is at most {} KiB", MAX_BODY / 1024)))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body is not JSON of the expected shape: {e}")))
}

fn field_error(code: &'static str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message).with_fields(vec![field.to_string()])
}

fn required<'a>(missing: &mut Vec<String>, name: &str, value: &'a Option<String>) -> &'a str {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v,
        _ => {
            missing.push(name.to_string());
            ""
        }
    }
}

fn check_missing(missing: Vec<String>) -> Result<(), ApiError> {
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new("REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{}]", missing.join(", "))).with_fields(missing))
}

/// An ISO-8601 date-time, or milliseconds since the epoch.
fn instant(value: &serde_json::Value, field: &str) -> Result<OffsetDateTime, ApiError> {
    let bad = || field_error("INVALID_TYPE_ON_FIELD_IN_RECORD", field, format!("{field} must be an ISO-8601 date-time or milliseconds since the epoch"));
    match value {
        serde_json::Value::String(s) => dialtone_model::parse_datetime(s).ok_or_else(bad),
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn optional_instant(value: &Option<serde_json::Value>, field: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    value.as_ref().map(|v| instant(v, field)).transpose()
}

/// A non-negative count of seconds (or of holds).
fn amount(value: Option<f64>, field: &str) -> Result<Option<u64>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && (0.0..=1e9).contains(&v) => Ok(Some(v.round() as u64)),
        Some(_) => Err(field_error("NUMBER_OUTSIDE_VALID_RANGE", field, format!("{field} must be a number of at least 0"))),
    }
}

/// The sequence number of a partner event: a hash of what it says, so a
/// retried request is a duplicate (the lifecycle deduplicates by it).
fn seq_of(parts: &[&str]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    u64::from_be_bytes(d[..8].try_into().expect("8 bytes")) | 1 << 63
}

async fn ingest(state: &AppState, key: &VendorCallKey, seq: u64, at: OffsetDateTime, kind: EventKind) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    let event = CallEvent { key: key.clone(), provider: Provider::Partner, seq, at, kind };
    state.calls.ingest(state.store.as_ref(), now, Input::Event(event)).await.map(|_| ())
}

/// A stored VoiceCall, as the partner endpoints need it.
struct CallRef {
    key: VendorCallKey,
    id: SalesforceId,
    call_center: Option<SalesforceId>,
    start: Option<OffsetDateTime>,
    call_type: Option<String>,
}

async fn call_by_id(state: &AppState, id: &SalesforceId) -> Result<Option<CallRef>, ApiError> {
    let object = Schema::standard().object("VoiceCall").expect("standard object");
    let Some(r) = state.store.get(object, id).await? else { return Ok(None) };
    let text = |f: &str| r.get(f).and_then(Value::as_str);
    let Some(key) = text("VendorCallKey").and_then(|k| VendorCallKey::parse(k).ok()) else { return Ok(None) };
    Ok(Some(CallRef {
        key,
        id: id.clone(),
        call_center: text("CallCenterId").and_then(|s| SalesforceId::parse(s).ok()),
        start: text("CallStartDateTime").and_then(dialtone_model::parse_datetime),
        call_type: text("CallType").map(str::to_string),
    }))
}

async fn call_by_key(state: &AppState, key: &VendorCallKey) -> Result<Option<CallRef>, ApiError> {
    let id = match state.calls.voice_call(key).await {
        Some(id) => Some(id),
        None => {
            let soql = format!("SELECT Id FROM VoiceCall WHERE VendorCallKey = '{}'", crate::query::soql_quote(key.as_str()));
            crate::query::system_ids(state.store.as_ref(), &soql).await?.into_iter().next()
        }
    };
    match id {
        Some(id) => call_by_id(state, &id).await,
        None => Ok(None),
    }
}

/// A call named by its VoiceCall id or its vendor call key.
async fn resolve(state: &AppState, raw: &str) -> Result<Option<CallRef>, ApiError> {
    if let Ok(id) = SalesforceId::parse(raw)
        && id.key_prefix() == "0LQ"
        && let Some(call) = call_by_id(state, &id).await?
    {
        return Ok(Some(call));
    }
    match VendorCallKey::parse(raw) {
        Ok(key) => call_by_key(state, &key).await,
        Err(_) => Ok(None),
    }
}

/// The call named in the path, if it belongs to the token's call center and
/// the call desk still holds it.
async fn owned_live_call(state: &AppState, center: &Center, raw: &str) -> Result<CallRef, ApiError> {
    let call = resolve(state, raw)
        .await?
        .ok_or_else(|| ApiError::new("NOT_FOUND", "no voice call has that voiceCallId or vendorCallKey"))?;
    if call.call_center.as_ref() != Some(&center.id) {
        return Err(invalid(format!("this JWT is for call center {}; the call belongs to another call center", center.name)));
    }
    if !state.calls.is_live(&call.key).await {
        return Err(ApiError::new("CALL_NOT_LIVE", "the call desk no longer holds this call, so it cannot be updated"));
    }
    Ok(call)
}

fn respond(route: &'static str, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| {
        if e.status.is_client_error() {
            tracing::warn!(route, code = e.code, "refused a partner telephony request");
        }
        e.into_response()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    call_center_api_name: Option<String>,
    vendor_call_key: Option<String>,
    to: Option<String>,
    from: Option<String>,
    initiation_method: Option<String>,
    start_time: Option<serde_json::Value>,
    participants: Option<Vec<Participant>>,
    parent_voice_call_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Participant {
    participant_key: Option<String>,
}

/// `POST /telephony/v1/voiceCalls`.
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    respond("/telephony/v1/voiceCalls", create_call(&state, &headers, body).await)
}

async fn create_call(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
    let center = authenticate(state, headers).await?;
    let req: CreateRequest = read_json(body).await?;
    let mut missing = Vec::new();
    let named = required(&mut missing, "callCenterApiName", &req.call_center_api_name);
    let raw_key = required(&mut missing, "vendorCallKey", &req.vendor_call_key);
    let to = required(&mut missing, "to", &req.to);
    let from = required(&mut missing, "from", &req.from);
    let method = required(&mut missing, "initiationMethod", &req.initiation_method);
    if req.start_time.is_none() {
        missing.push("startTime".into());
    }
    let participants = req.participants.as_deref().unwrap_or_default();
    if !participants.iter().any(|p| p.participant_key.as_deref().is_some_and(|k| !k.trim().is_empty())) {
        missing.push("participants".into());
    }
    check_missing(missing)?;

    match crate::query::call_center_id(state.store.as_ref(), named).await? {
        Some(id) if id == center.id => {}
        Some(_) => return Err(invalid(format!("this JWT is for call center {}, not {named}", center.name))),
        None => return Err(field_error("INVALID_FIELD", "callCenterApiName", format!("no call center has the API name {named:?}"))),
    }
    let key = VendorCallKey::parse(raw_key).map_err(|e| field_error("INVALID_FIELD", "vendorCallKey", e.to_string()))?;
    let start = instant(req.start_time.as_ref().expect("checked above"), "startTime")?;
    let parent = match req.parent_voice_call_id.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => match resolve(state, raw).await? {
            Some(p) if p.call_center.as_ref() == Some(&center.id) => Some(p),
            _ => return Err(field_error("INVALID_FIELD", "parentVoiceCallId", "parentVoiceCallId names no call of this call center")),
        },
    };
    let direction = match method {
        "Inbound" => Direction::Inbound,
        "Outbound" | "Callback" => Direction::Outbound,
        "Transfer" if parent.as_ref().and_then(|p| p.call_type.as_deref()) == Some("Outbound") => Direction::Outbound,
        "Transfer" => Direction::Inbound,
        other => {
            return Err(field_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "initiationMethod",
                format!("initiationMethod {other:?} is not one of Inbound, Outbound, Transfer, Callback"),
            ));
        }
    };

    // The same vendorCallKey again: the call it created, unchanged.
    if let Some(existing) = call_by_key(state, &key).await? {
        if existing.call_center.as_ref() != Some(&center.id) {
            return Err(field_error("DUPLICATE_VALUE", "vendorCallKey", "another call center's call has this vendorCallKey"));
        }
        return Ok(created(&existing.id));
    }

    let initiated = EventKind::Initiated { direction, from: from.to_string(), to: to.to_string(), call_center: Some(center.id.clone()) };
    ingest(state, &key, 0, start, initiated).await?;
    if let Some(parent) = parent {
        if state.calls.is_live(&parent.key).await {
            let transferred = EventKind::Transferred { to: TransferTarget::Number(to.to_string()), new_leg: key.clone() };
            ingest(state, &parent.key, seq_of(&["transfer", key.as_str()]), start, transferred).await?;
        } else {
            tracing::warn!(parent = %parent.id, "partner telephony: the transfer's parent call is no longer live; the new call is not linked to it");
        }
    }
    let id = state.calls.voice_call(&key).await.ok_or_else(|| ApiError::ours("the call desk wrote no VoiceCall for a new partner call"))?;
    // Two call centers racing with one vendorCallKey: the loser learns nothing of the winner's call.
    if call_by_id(state, &id).await?.is_some_and(|c| c.call_center.as_ref() != Some(&center.id)) {
        return Err(field_error("DUPLICATE_VALUE", "vendorCallKey", "another call center's call has this vendorCallKey"));
    }
    Ok(created(&id))
}

fn created(id: &SalesforceId) -> Response {
    (StatusCode::OK, Json(serde_json::json!({"voiceCallId": id.as_str()}))).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    end_time: Option<serde_json::Value>,
    enqueue_time: Option<serde_json::Value>,
    accept_time: Option<serde_json::Value>,
    queue: Option<String>,
    agent: Option<String>,
    total_hold_duration: Option<f64>,
    longest_hold_duration: Option<f64>,
    number_of_holds: Option<f64>,
    recording_location: Option<String>,
    total_recording_duration: Option<f64>,
}

/// `PATCH /telephony/v1/voiceCalls/{voiceCallId or vendorCallKey}`.
pub async fn update(State(state): State<AppState>, Path(call): Path<String>, headers: HeaderMap, body: Body) -> Response {
    respond("/telephony/v1/voiceCalls/{id}", update_call(&state, &call, &headers, body).await)
}

async fn update_call(state: &AppState, raw: &str, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
    let center = authenticate(state, headers).await?;
    let req: UpdateRequest = read_json(body).await?;
    let call = owned_live_call(state, &center, raw).await?;
    let now = OffsetDateTime::now_utc();
    let stamp = |t: OffsetDateTime| dialtone_model::format_datetime(t);

    // Every field is checked before the first event goes in.
    let mut events: Vec<(u64, OffsetDateTime, EventKind)> = Vec::new();
    let end = optional_instant(&req.end_time, "endTime")?;
    if let (Some(end), Some(start)) = (end, call.start)
        && end < start
    {
        return Err(field_error("INVALID_FIELD", "endTime", "endTime is before the call's start"));
    }
    let enqueued = optional_instant(&req.enqueue_time, "enqueueTime")?;
    if let Some(q) = req.queue.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let queue = QueueName::parse(q).map_err(|e| field_error("INVALID_FIELD", "queue", e.to_string()))?;
        let at = enqueued.or(call.start).unwrap_or(now);
        events.push((seq_of(&["queued", q, &stamp(at)]), at, EventKind::Queued { queue }));
    }
    let accepted = optional_instant(&req.accept_time, "acceptTime")?;
    if let (Some(at), Some(who)) = (accepted, req.agent.as_deref().map(str::trim).filter(|a| !a.is_empty())) {
        let agent = agent_of(state, who).await?;
        events.push((seq_of(&["answered", agent.id().as_str(), &stamp(at)]), at, EventKind::Answered { agent }));
    }
    let holds = amount(req.number_of_holds, "numberOfHolds")?;
    let hold_total = amount(req.total_hold_duration, "totalHoldDuration")?;
    let longest = amount(req.longest_hold_duration, "longestHoldDuration")?;
    if holds.is_some() || hold_total.is_some() {
        let total = hold_total.unwrap_or(0);
        let count = holds.unwrap_or(u64::from(total > 0));
        let count = u32::try_from(count).map_err(|_| field_error("NUMBER_OUTSIDE_VALID_RANGE", "numberOfHolds", "numberOfHolds is too large"))?;
        let seq = seq_of(&["holds", &count.to_string(), &total.to_string(), &format!("{longest:?}"), &stamp(now)]);
        let kind = EventKind::HoldsReported { count, total: Duration::from_secs(total), longest: longest.map(Duration::from_secs) };
        events.push((seq, now, kind));
    }
    let recording_secs = amount(req.total_recording_duration, "totalRecordingDuration")?;
    if let Some(location) = req.recording_location.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        if location.chars().count() > 2048 || location.chars().any(char::is_control) {
            return Err(field_error("STRING_TOO_LONG", "recordingLocation", "recordingLocation is at most 2048 characters without control characters"));
        }
        let recording = if location.chars().count() <= 255 { location.to_string() } else { hex::encode(Sha256::digest(location.as_bytes())) };
        let duration = Duration::from_secs(recording_secs.unwrap_or(0));
        let at = end.unwrap_or(now);
        let seq = seq_of(&["recording", &recording, &duration.as_secs().to_string()]);
        events.push((seq, at, EventKind::RecordingAvailable { recording, url: location.to_string(), duration }));
    }
    if let Some(at) = end {
        events.push((seq_of(&["ended", &stamp(at)]), at, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    }
    for (seq, at, kind) in events {
        ingest(state, &call.key, seq, at, kind).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An agent named by User id or username.
async fn agent_of(state: &AppState, who: &str) -> Result<AgentId, ApiError> {
    let unknown = || field_error("INVALID_FIELD", "agent", "agent names no user (give a User id or a username)");
    if let Ok(id) = SalesforceId::parse(who)
        && id.key_prefix() == "005"
    {
        let user = Schema::standard().object("User").expect("standard object");
        if state.store.get(user, &id).await?.is_some() {
            return AgentId::new(id).map_err(|_| unknown());
        }
    }
    let user = state.store.find_user_by_username(who).await?.ok_or_else(unknown)?;
    user.id().and_then(|id| AgentId::new(id).ok()).ok_or_else(unknown)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageRequest {
    participant_id: Option<String>,
    message_id: Option<String>,
    sender_type: Option<String>,
    #[serde(alias = "content")]
    message: Option<String>,
    start_time: Option<serde_json::Value>,
    end_time: Option<serde_json::Value>,
}

/// `POST /telephony/v1/voiceCalls/{vendorCallKey}/messages`.
pub async fn message(State(state): State<AppState>, Path(call): Path<String>, headers: HeaderMap, body: Body) -> Response {
    respond("/telephony/v1/voiceCalls/{id}/messages", post_message(&state, &call, &headers, body).await)
}

async fn post_message(state: &AppState, raw: &str, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
    let center = authenticate(state, headers).await?;
    let req: MessageRequest = read_json(body).await?;
    let mut missing = Vec::new();
    let participant = required(&mut missing, "participantId", &req.participant_id);
    let message_id = required(&mut missing, "messageId", &req.message_id);
    let sender = required(&mut missing, "senderType", &req.sender_type);
    let text = required(&mut missing, "message", &req.message);
    check_missing(missing)?;
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(field_error("STRING_TOO_LONG", "message", format!("a message is at most {MAX_MESSAGE_CHARS} characters")));
    }
    let start = optional_instant(&req.start_time, "startTime")?;
    optional_instant(&req.end_time, "endTime")?;
    let call = owned_live_call(state, &center, raw).await?;
    let speaker = match sender {
        "END_USER" => Speaker::Customer,
        "VIRTUAL_AGENT" => Speaker::VirtualAgent,
        "HUMAN_AGENT" => Speaker::Agent(agent_of(state, participant).await.map_err(|_| {
            field_error("INVALID_FIELD", "participantId", "a HUMAN_AGENT's participantId must be a User id or username")
        })?),
        other => {
            return Err(field_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "senderType",
                format!("senderType {other:?} is not one of END_USER, HUMAN_AGENT, VIRTUAL_AGENT"),
            ));
        }
    };
    let at = start.unwrap_or_else(OffsetDateTime::now_utc);
    // Redacted before anything else sees it (the agents' screens included), as every transcript is.
    let redacted = dialtone_redact::redact(&dialtone_redact::Policy::default(), text);
    if !redacted.is_clean() {
        let kinds: Vec<String> = redacted.removed.iter().map(|r| r.kind.to_string()).collect();
        tracing::info!(removed = ?kinds, "redacted a partner telephony transcript message");
    }
    let kind = EventKind::TranscriptUtterance { speaker, text: redacted.text };
    ingest(state, &call.key, seq_of(&["message", message_id]), at, kind).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_event_keeps_its_sequence_and_others_differ() {
        assert_eq!(seq_of(&["message", "m1"]), seq_of(&["message", "m1"]));
        assert_ne!(seq_of(&["message", "m1"]), seq_of(&["message", "m2"]));
        assert_ne!(seq_of(&["ab", "c"]), seq_of(&["a", "bc"]), "parts are separated");
        assert_ne!(seq_of(&["x"]), 0, "never the create's sequence");
    }

    #[test]
    fn times_are_iso_8601_or_epoch_milliseconds() {
        let iso = instant(&serde_json::json!("2026-11-22T09:00:00.000Z"), "startTime").unwrap();
        let ms = instant(&serde_json::json!(iso.unix_timestamp() * 1000), "startTime").unwrap();
        assert_eq!(iso, ms);
        assert_eq!(instant(&serde_json::json!("yesterday"), "startTime").unwrap_err().fields, vec!["startTime"]);
        assert!(instant(&serde_json::json!(true), "startTime").is_err());
    }

    #[test]
    fn a_certificate_that_is_not_one_is_refused() {
        assert!(key_from_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
        assert!(key_from_certificate("").is_err());
    }

    #[test]
    fn the_unverified_subject_is_read_from_the_payload() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(r#"{"sub":"scvPartnerCC"}"#));
        assert_eq!(unverified_subject(&token).as_deref(), Some("scvPartnerCC"));
        assert_eq!(unverified_subject("garbage"), None);
    }
}
