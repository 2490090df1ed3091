//! Governed data: recordings opened only through short-lived signed links
//! (every open audited), the setup audit trail, and field history.

use crate::auth::Session;
use crate::error::ApiError;
use crate::{AppState, guard};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dialtone_access::{Grants, Mode, Op, SystemPerm};
use dialtone_model::{SalesforceId, Value};
use dialtone_store::{AuditEntry, Record, Store};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashMap;
use time::OffsetDateTime;

/// How long a recording link works.
pub const LINK_TTL_SECONDS: i64 = 300;

fn signature(key: &str, recording: &str, user: &str, exp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{recording}:{user}:{exp}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn now_text() -> String {
    dialtone_model::format_datetime(OffsetDateTime::now_utc())
}

/// Whether `grants` may open this recording: View All Recordings opens any;
/// Listen to Recordings opens those of calls the user can see.
async fn may_open(store: &dyn Store, grants: &Grants, rec: &Record) -> Result<bool, ApiError> {
    if grants.has(SystemPerm::ViewAllRecordings) {
        return Ok(true);
    }
    Ok(grants.has(SystemPerm::ListenToRecordings) && grants.can("VoiceCallRecording", Op::Read) && guard::reaches(store, grants, rec, Mode::Read).await?)
}

fn recording_id(raw: &str) -> Result<SalesforceId, ApiError> {
    let o = dialtone_model::Schema::standard().object("VoiceCallRecording").expect("standard object");
    crate::records::record_id(o, raw)
}

/// `GET /api/recordings/{id}/link`: a signed link valid for [`LINK_TTL_SECONDS`].
pub async fn link(State(state): State<AppState>, Path(id): Path<String>, s: Session) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.as_ref();
    let id = recording_id(&id)?;
    let o = store.schema().object("VoiceCallRecording").expect("standard object");
    let rec = store.get(o, &id).await?.ok_or_else(ApiError::not_found)?;
    if !may_open(store, &s.grants, &rec).await? {
        // Someone who cannot see the call learns nothing of the recording.
        return Err(ApiError::not_found());
    }
    if rec.get("MediaUrl").is_none_or(Value::is_null) {
        return Err(ApiError::new("RECORDING_REMOVED", "This recording was removed by the call center's retention policy"));
    }
    let exp = OffsetDateTime::now_utc().unix_timestamp() + LINK_TTL_SECONDS;
    let sig = signature(&state.signing_key, id.as_str(), s.user_id.as_str(), exp);
    let url = format!("/api/recordings/{id}/media?user={}&exp={exp}&sig={sig}", s.user_id);
    Ok(Json(json!({"url": url, "expiresAt": dialtone_model::format_datetime(OffsetDateTime::from_unix_timestamp(exp).unwrap_or(OffsetDateTime::UNIX_EPOCH))})))
}

/// `GET /api/recordings/{id}/media?user=&exp=&sig=`: checks the link, checks
/// the user still may open it, audits the open, and sends the player to the
/// carrier's media (audio never passes through Dialtone).
pub async fn media(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
) -> Result<Response, ApiError> {
    let store = state.store.as_ref();
    let id = recording_id(&id)?;
    let invalid = || ApiError::new("RECORDING_LINK_INVALID", "This recording link is not valid; ask Dialtone for a new one");
    let user = q.get("user").and_then(|u| SalesforceId::parse(u).ok()).ok_or_else(invalid)?;
    let exp: i64 = q.get("exp").and_then(|e| e.parse().ok()).ok_or_else(invalid)?;
    let sig = q.get("sig").ok_or_else(invalid)?;
    let want = signature(&state.signing_key, id.as_str(), user.as_str(), exp);
    if !crate::auth::constant_time_eq(want.as_bytes(), sig.as_bytes()) {
        return Err(invalid());
    }
    if OffsetDateTime::now_utc().unix_timestamp() > exp {
        return Err(ApiError::new("RECORDING_LINK_EXPIRED", "This recording link has expired; open the recording again from the call"));
    }
    let grants = crate::security::AccessCache::grants(&state.access, store, &user).await.map_err(ApiError::ours)?;
    let o = store.schema().object("VoiceCallRecording").expect("standard object");
    let rec = store.get(o, &id).await?.ok_or_else(ApiError::not_found)?;
    if !grants.active || !may_open(store, &grants, &rec).await? {
        return Err(ApiError::not_found());
    }
    let Some(url) = rec.get("MediaUrl").and_then(Value::as_str).map(str::to_string) else {
        return Err(ApiError::new("RECORDING_REMOVED", "This recording was removed by the call center's retention policy"));
    };
    let call = rec.get("VoiceCallId").map(|v| v.to_string()).unwrap_or_default();
    let agent = headers.get(header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or("").chars().take(120).collect::<String>();
    store
        .append_audit(&AuditEntry {
            at: now_text(),
            actor: user.to_string(),
            action: "recording.open".into(),
            target: format!("{id} call {call}"),
            before: None,
            after: Some(agent),
            source: Some(crate::client_addr(&extensions)),
        })
        .await?;
    Ok((StatusCode::FOUND, [(header::LOCATION, url)]).into_response())
}

/// `GET /api/setup/audit?limit=N`: the setup audit trail (View Setup).
pub async fn audit_trail(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<serde_json::Value>, ApiError> {
    if !s.grants.has(SystemPerm::ViewSetup) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "The setup audit trail needs the View Setup permission"));
    }
    let limit = q.get("limit").and_then(|l| l.parse::<u64>().ok()).unwrap_or(100).min(2000);
    let entries: Vec<_> = state
        .store
        .audit_trail(limit)
        .await?
        .into_iter()
        .map(|e| json!({"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "before": e.before, "after": e.after, "source": e.source}))
        .collect();
    Ok(Json(json!({"entries": entries})))
}

/// `GET /api/records/{id}/history`: field history of a record the user can
/// see, leaving out fields they cannot read.
pub async fn history(State(state): State<AppState>, Path(id): Path<String>, s: Session) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.as_ref();
    let id = SalesforceId::parse(&id).map_err(|_| ApiError::not_found())?;
    let o = store.schema().by_key_prefix(id.key_prefix()).ok_or_else(ApiError::not_found)?;
    let o = guard::object(&s.grants, store.schema(), &o.name, Op::Read)?;
    guard::read(store, &s.grants, o, &id).await?;
    let changes: Vec<_> = store
        .field_history(&id)
        .await?
        .into_iter()
        .filter(|c| s.grants.can_read_field(store.schema(), &o.name, &c.field))
        .map(|c| json!({"field": c.field, "oldValue": c.old, "newValue": c.new, "by": c.actor, "at": c.at}))
        .collect();
    Ok(Json(json!({"recordId": id.to_string(), "object": o.name, "changes": changes})))
}
