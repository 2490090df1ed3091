//! Governed data: recordings opened only through short-lived signed links
//! (every open audited), the setup audit trail, and field history.

use crate::auth::Session;
use crate::error::ApiError;
use crate::query::system_ids;
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

/// What one retention run removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    /// (call center internal name, recording id, call id)
    pub removed: Vec<(String, SalesforceId, SalesforceId)>,
}

/// Applies each call center's retention policy as of `now`: recordings of
/// calls that ended more than `RecordingRetentionDays` ago lose their media
/// reference (the VoiceCall itself stays, marked not recorded). With
/// `dry_run`, only reports. Each run is audited.
pub async fn apply_retention(store: &dyn Store, now: OffsetDateTime, dry_run: bool) -> Result<RetentionReport, ApiError> {
    let mut report = RetentionReport::default();
    let centers = store
        .query(&crate::query::compile(store, "SELECT Id, InternalName, RecordingRetentionDays FROM CallCenter WHERE RecordingRetentionDays != null")?, None)
        .await?;
    let rec_obj = store.schema().object("VoiceCallRecording").expect("standard object");
    let call_obj = store.schema().object("VoiceCall").expect("standard object");
    for c in centers {
        let (Some(cc), Value::Int(days)) = (c[0].as_str(), &c[2]) else { continue };
        if *days < 0 {
            continue;
        }
        let cutoff = dialtone_model::format_datetime(now - time::Duration::days(*days));
        // Ids are validated text, so composing them into SOQL is safe; values still go through the planner.
        let calls = system_ids(store, &format!("SELECT Id FROM VoiceCall WHERE CallCenterId = '{cc}' AND CallEndDateTime < {}", cutoff.replace("+0000", "Z"))).await?;
        for call_id in calls {
            let recs = system_ids(store, &format!("SELECT Id FROM VoiceCallRecording WHERE VoiceCallId = '{call_id}' AND MediaUrl != null")).await?;
            for rid in recs {
                if !dry_run {
                    store.update(rec_obj, &rid, vec![("MediaUrl".into(), Value::Null), ("VendorRecordingKey".into(), Value::Null), ("Transcript".into(), Value::Null)], None).await?;
                    store.update(call_obj, &call_id, vec![("IsRecorded".into(), Value::Bool(false))], None).await?;
                }
                report.removed.push((c[1].to_string(), rid, call_id.clone()));
            }
        }
    }
    if !dry_run && !report.removed.is_empty() {
        store
            .append_audit(&AuditEntry {
                at: dialtone_model::format_datetime(now),
                actor: "scheduler".into(),
                action: "retention.run".into(),
                target: format!("{} recording reference(s) removed", report.removed.len()),
                before: None,
                after: Some(report.removed.iter().map(|(c, r, v)| format!("{c} {r} {v}")).collect::<Vec<_>>().join("\n")),
                source: Some("retention".into()),
            })
            .await?;
    }
    Ok(report)
}

/// A receipt for an erasure: what was removed, without the personal data itself.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErasureReceipt {
    pub at: String,
    /// SHA-256 of the normalised subject (a number or email), so the receipt
    /// proves which request it answers without repeating it.
    pub subject_digest: String,
    pub deleted: Vec<(String, SalesforceId)>,
    pub calls_scrubbed: Vec<SalesforceId>,
    pub recordings_removed: Vec<SalesforceId>,
}

impl ErasureReceipt {
    pub fn to_json(&self) -> serde_json::Value {
        let body = json!({
            "erasedAt": self.at,
            "subjectSha256": self.subject_digest,
            "recordsDeleted": self.deleted.iter().map(|(o, id)| json!({"object": o, "id": id.to_string()})).collect::<Vec<_>>(),
            "callsScrubbed": self.calls_scrubbed.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "recordingsRemoved": self.recordings_removed.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
        });
        let digest = crate::auth::sha256_hex(&body.to_string());
        let mut out = body;
        out["receiptSha256"] = json!(digest);
        out
    }
}

/// The person to erase: everyone reachable by this phone number or email.
pub enum Subject {
    Phone(String),
    Email(String),
}

/// Right to erasure: deletes the person's Contacts, Leads and Person Accounts
/// and their Tasks, removes the recordings of their calls, and scrubs the
/// calls (numbers, link to the person) while keeping them for statistics.
pub async fn erase(store: &dyn Store, subject: &Subject, dry_run: bool) -> Result<ErasureReceipt, ApiError> {
    let mut people: Vec<(String, SalesforceId)> = Vec::new();
    let mut numbers: Vec<String> = Vec::new();
    let digest = match subject {
        Subject::Phone(p) => {
            let e164 = store.normalizer().normalize(p).ok_or_else(|| ApiError::new("INVALID_TYPE_ON_FIELD_IN_RECORD", format!("{p:?} is not a phone number")))?;
            for m in store.phone_lookup(&e164).await? {
                if matches!(m.object.as_str(), "Contact" | "Lead" | "Account") && !people.iter().any(|(_, i)| *i == m.id) {
                    people.push((m.object, m.id));
                }
            }
            numbers.push(e164.to_string());
            crate::auth::sha256_hex(e164.as_str())
        }
        Subject::Email(e) => {
            let e = e.trim().to_ascii_lowercase();
            if !e.contains('@') || e.contains('\'') || e.contains('\\') {
                return Err(ApiError::new("INVALID_EMAIL_ADDRESS", format!("{e:?} is not an email address")));
            }
            for (object, field) in [("Contact", "Email"), ("Lead", "Email"), ("Account", "PersonEmail")] {
                for id in system_ids(store, &format!("SELECT Id FROM {object} WHERE {field} = '{e}'")).await? {
                    people.push((object.to_string(), id));
                }
            }
            crate::auth::sha256_hex(&e)
        }
    };
    // A business account is not a person: only person accounts are erased.
    let mut persons = Vec::new();
    for (object, id) in people {
        let o = store.schema().object(&object).expect("standard object");
        let Some(rec) = store.get(o, &id).await? else { continue };
        if object == "Account" && rec.get("IsPersonAccount") != Some(&Value::Bool(true)) {
            continue;
        }
        for f in o.phone_fields() {
            if let Some(e) = rec.get(&f.name).and_then(Value::as_str).and_then(|v| store.normalizer().normalize(v)) {
                numbers.push(e.to_string());
            }
        }
        persons.push((object, id));
    }
    let mut receipt = ErasureReceipt { at: now_text(), subject_digest: digest, ..Default::default() };
    let call_obj = store.schema().object("VoiceCall").expect("standard object");
    let rec_obj = store.schema().object("VoiceCallRecording").expect("standard object");
    let task_obj = store.schema().object("Task").expect("standard object");
    // Calls linked to the person or from/to their numbers.
    let mut calls: Vec<SalesforceId> = Vec::new();
    for (_, id) in &persons {
        calls.extend(system_ids(store, &format!("SELECT Id FROM VoiceCall WHERE RelatedRecordId = '{id}'")).await?);
    }
    numbers.sort();
    numbers.dedup();
    for n in &numbers {
        let e164 = store.normalizer().normalize(n).expect("already normalised");
        for m in store.phone_lookup(&e164).await?.into_iter().filter(|m| m.object == "VoiceCall") {
            calls.push(m.id);
        }
    }
    calls.sort();
    calls.dedup();
    for call in &calls {
        for rid in system_ids(store, &format!("SELECT Id FROM VoiceCallRecording WHERE VoiceCallId = '{call}'")).await? {
            if !dry_run {
                store.delete(rec_obj, &rid).await?;
            }
            receipt.recordings_removed.push(rid);
        }
        if !dry_run {
            let scrub = vec![
                ("FromPhoneNumber".into(), Value::Null),
                ("ToPhoneNumber".into(), Value::Null),
                ("RelatedRecordId".into(), Value::Null),
                ("Description".into(), Value::Null),
                ("IsRecorded".into(), Value::Bool(false)),
            ];
            store.update(call_obj, call, scrub, None).await?;
        }
        receipt.calls_scrubbed.push(call.clone());
    }
    for (object, id) in &persons {
        for tid in system_ids(store, &format!("SELECT Id FROM Task WHERE WhoId = '{id}'")).await? {
            if !dry_run {
                store.delete(task_obj, &tid).await?;
            }
            receipt.deleted.push(("Task".into(), tid));
        }
        if !dry_run {
            store.delete(store.schema().object(object).expect("standard object"), id).await?;
        }
        receipt.deleted.push((object.clone(), id.clone()));
    }
    if !dry_run {
        let json = receipt.to_json();
        store
            .append_audit(&AuditEntry {
                at: receipt.at.clone(),
                actor: "erasure".into(),
                action: "person.erase".into(),
                target: receipt.subject_digest.clone(),
                before: None,
                after: Some(json.to_string()),
                source: None,
            })
            .await?;
    }
    Ok(receipt)
}

/// Who may share a record by hand: its owner, anyone above the owner in the
/// role hierarchy (edit access through the hierarchy), Modify All on the
/// object, or Manage Sharing.
async fn may_share(store: &dyn Store, grants: &Grants, rec: &Record) -> Result<bool, ApiError> {
    if grants.has(SystemPerm::ManageSharing) || grants.object(&rec.object).modify_all {
        return Ok(true);
    }
    let owner = rec.get("OwnerId").and_then(Value::as_str);
    if owner == Some(grants.user.as_str()) {
        return Ok(true);
    }
    match grants.rows(&rec.object, Mode::Edit) {
        dialtone_access::Visibility::Scoped(s) => Ok(owner.is_some_and(|o| s.owners.contains(o)) && guard::reaches(store, grants, rec, Mode::Edit).await?),
        dialtone_access::Visibility::All => Ok(true),
        dialtone_access::Visibility::None => Ok(false),
    }
}

/// `user:USERNAME` → `user:005…`; roles and groups pass through after a check of their form.
async fn principal_key(store: &dyn Store, raw: &str) -> Result<String, ApiError> {
    let bad = || ApiError::new("INVALID_FIELD", format!("{raw:?} is not a principal: use user:USERNAME, role:NAME, rolesub:NAME or group:NAME"));
    let (kind, name) = raw.split_once(':').ok_or_else(bad)?;
    if name.is_empty() || name.len() > 120 {
        return Err(bad());
    }
    match kind {
        "user" => {
            let u = store.find_user_by_username(name).await?.ok_or_else(|| ApiError::new("NOT_FOUND", format!("no user named {name}")))?;
            Ok(format!("user:{}", u.id().ok_or_else(|| ApiError::ours("user without id"))?))
        }
        "role" | "rolesub" | "group" => Ok(format!("{kind}:{name}")),
        _ => Err(bad()),
    }
}

/// `GET/POST /api/records/{id}/shares`, `DELETE /api/records/{id}/shares/{principal}`.
pub async fn list_shares(State(state): State<AppState>, Path(id): Path<String>, s: Session) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.store.as_ref();
    let (_, rec) = shareable(store, &s, &id).await?;
    let shares: Vec<_> = store
        .shares(&rec.id().ok_or_else(|| ApiError::ours("record without id"))?)
        .await?
        .into_iter()
        .map(|x| json!({"principal": x.principal, "access": if x.level >= 2 { "edit" } else { "read" }}))
        .collect();
    Ok(Json(json!({"shares": shares})))
}

async fn shareable(store: &dyn Store, s: &Session, raw: &str) -> Result<(String, Record), ApiError> {
    let id = SalesforceId::parse(raw).map_err(|_| ApiError::not_found())?;
    let o = store.schema().by_key_prefix(id.key_prefix()).ok_or_else(ApiError::not_found)?;
    let o = guard::object(&s.grants, store.schema(), &o.name, Op::Read)?;
    let rec = guard::read(store, &s.grants, o, &id).await?;
    if !may_share(store, &s.grants, &rec).await? {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "Only the owner, their managers, or an admin can share this record"));
    }
    Ok((o.name.clone(), rec))
}

pub async fn add_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    s: Session,
    crate::wire::JsonBody(body): crate::wire::JsonBody,
) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let (object, rec) = shareable(store, &s, &id).await?;
    let principal = body.get("principal").and_then(serde_json::Value::as_str).ok_or_else(|| ApiError::new("JSON_PARSER_ERROR", "give {\"principal\": \"user:…\", \"access\": \"read\"|\"edit\"}"))?;
    let level = match body.get("access").and_then(serde_json::Value::as_str).unwrap_or("read") {
        "read" => 1,
        "edit" => 2,
        other => return Err(ApiError::new("INVALID_FIELD", format!("access {other:?} is not read or edit"))),
    };
    let key = principal_key(store, principal).await?;
    let rid = rec.id().ok_or_else(|| ApiError::ours("record without id"))?;
    store.put_share(&dialtone_store::Share { record_id: rid.clone(), object, principal: key.clone(), level, created_by: Some(s.user_id.clone()) }).await?;
    store
        .append_audit(&AuditEntry { at: now_text(), actor: s.user_id.to_string(), action: "share.add".into(), target: rid.to_string(), before: None, after: Some(format!("{key} level {level}")), source: None })
        .await?;
    state.access.lock().unwrap_or_else(|p| p.into_inner()).invalidate();
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_share(State(state): State<AppState>, Path((id, principal)): Path<(String, String)>, s: Session) -> Result<StatusCode, ApiError> {
    let store = state.store.as_ref();
    let (_, rec) = shareable(store, &s, &id).await?;
    let key = principal_key(store, &principal).await?;
    let rid = rec.id().ok_or_else(|| ApiError::ours("record without id"))?;
    store.delete_share(&rid, &key).await?;
    store
        .append_audit(&AuditEntry { at: now_text(), actor: s.user_id.to_string(), action: "share.remove".into(), target: rid.to_string(), before: Some(key), after: None, source: None })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rows per page when exporting.
const EXPORT_PAGE: u64 = 5000;

/// `GET /api/export/{object}?fields=A,B`: the records this user can see, as
/// CSV, with only fields they may read. Needs the Export Data permission.
pub async fn export(State(state): State<AppState>, Path(object): Path<String>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Response, ApiError> {
    let store = state.store.as_ref();
    if !s.grants.has(SystemPerm::ExportData) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "Exporting needs the Export Data permission"));
    }
    let o = guard::object(&s.grants, store.schema(), &object, Op::Read)?;
    let fields: Vec<String> = match q.get("fields") {
        Some(list) => list.split(',').map(|f| f.trim().to_string()).filter(|f| !f.is_empty()).collect(),
        None => o.fields.iter().filter(|f| s.grants.can_read_field(store.schema(), &o.name, &f.name)).map(|f| f.name.clone()).collect(),
    };
    if fields.is_empty() || fields.iter().any(|f| !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        return Err(ApiError::new("INVALID_FIELD", "fields= lists field API names separated by commas"));
    }
    // The same planner as SOQL: hidden fields are INVALID_FIELD, rows are the user's.
    let plan = crate::query::compile_for(store, &format!("SELECT {} FROM {}", fields.join(", "), o.name), &s.grants)?;
    let mut out = String::new();
    out.push_str(&plan.columns.iter().map(|c| csv_cell(&c.path.join("."))).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
    let mut offset = 0;
    let mut rows_written = 0u64;
    loop {
        let rows = store.query(&plan, Some(dialtone_store::Page { offset, limit: EXPORT_PAGE })).await?;
        for r in &rows {
            let cells: Vec<String> = plan.columns.iter().zip(r).map(|(_, v)| csv_cell(&v.to_string())).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        rows_written += rows.len() as u64;
        if (rows.len() as u64) < EXPORT_PAGE {
            break;
        }
        offset += EXPORT_PAGE;
    }
    store
        .append_audit(&AuditEntry {
            at: now_text(),
            actor: s.user_id.to_string(),
            action: "data.export".into(),
            target: o.name.clone(),
            before: None,
            after: Some(format!("{rows_written} rows; fields {}", fields.join(","))),
            source: None,
        })
        .await?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

/// One CSV cell, quoted when needed; a leading = + - @ is defused so a
/// spreadsheet never runs it as a formula.
fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\r', '\n']) { format!("\"{}\"", v.replace('"', "\"\"")) } else { v }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(super::csv_cell("plain"), "plain");
        assert_eq!(super::csv_cell("a,b"), "\"a,b\"");
        assert_eq!(super::csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(super::csv_cell("-12.5"), "-12.5", "negative numbers stay numbers");
        assert_eq!(super::csv_cell("+1 415 555 1212"), "'+1 415 555 1212");
    }
}
