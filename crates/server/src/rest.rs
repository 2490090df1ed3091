//! `/services/data/vNN.N/…`: versions, describeGlobal, sObject CRUD,
//! describe, and composite/sobjects batches.

use crate::auth::Session;
use crate::error::{ApiError, ApiErrors};
use crate::guard;
use crate::records;
use dialtone_access::Op;
use crate::wire::{self, JsonBody};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dialtone_model::FieldError;
use serde_json::{Value as Json_, json};
use std::collections::HashMap;

pub const API_VERSION: &str = "60.0";
/// Composite batches hold at most this many records, as Salesforce's do.
pub const MAX_BATCH: usize = 200;

/// Checks the `vNN.N` segment.
pub fn version(v: &str) -> Result<&str, ApiError> {
    let ok = v.strip_prefix('v').is_some_and(|n| {
        let mut parts = n.split('.');
        let major = parts.next().and_then(|m| m.parse::<u32>().ok());
        let minor = parts.next().map(|m| m == "0");
        matches!((major, minor, parts.next()), (Some(20..=99), Some(true), None))
    });
    if ok { Ok(v) } else { Err(ApiError::not_found()) }
}

pub async fn versions(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Json<Json_> {
    let _ = state.instance_url(&headers);
    Json(json!([{"label": "Winter '24", "url": format!("/services/data/v{API_VERSION}"), "version": API_VERSION}]))
}

pub async fn resources(Path(v): Path<String>, _s: Session) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let base = format!("/services/data/{v}");
    Ok(Json(json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "search": format!("{base}/search"),
        "composite": format!("{base}/composite"),
    })))
}

pub async fn describe_global(State(state): State<AppState>, Path(v): Path<String>, s: Session) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let objects: Vec<Json_> =
        state.store.schema().objects().iter().filter(|o| s.grants.can(&o.name, Op::Read)).map(|o| wire::object_summary(v, o, &s.grants)).collect();
    Ok(Json(json!({"encoding": "UTF-8", "maxBatchSize": MAX_BATCH, "sobjects": objects})))
}

pub async fn sobject_info(State(state): State<AppState>, Path((v, name)): Path<(String, String)>, s: Session) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let o = guard::object(&s.grants, state.store.schema(), &name, Op::Read)?;
    Ok(Json(json!({"objectDescribe": wire::object_summary(v, o, &s.grants), "recentItems": []})))
}

pub async fn describe(State(state): State<AppState>, Path((v, name)): Path<(String, String)>, s: Session) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let o = guard::object(&s.grants, state.store.schema(), &name, Op::Read)?;
    Ok(Json(wire::describe(v, o, state.store.schema(), &s.grants)))
}

fn errors_json(errors: &[FieldError]) -> Vec<Json_> {
    errors
        .iter()
        .map(|e| json!({"statusCode": e.code, "message": e.message, "fields": if e.field.is_empty() { vec![] } else { vec![e.field.clone()] }}))
        .collect()
}

pub async fn create(
    State(state): State<AppState>,
    Path((v, name)): Path<(String, String)>,
    extensions: axum::http::Extensions,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiErrors> {
    version(&v)?;
    let o = guard::object(&s.grants, state.store.schema(), &name, Op::Create)?;
    records::check_writable(o)?;
    crate::routing_admin::require_manage_routing(&s, &o.name)?;
    crate::flows_admin::require_manage_flows(&s, &o.name)?;
    let raw = wire::raw_fields(&body)?;
    guard::writable(&s.grants, state.store.schema(), o, &raw)?;
    if o.name == "Flow" {
        crate::flows_admin::check_record_write(state.store.as_ref(), None, &raw).await?;
    }
    let out = records::create_many(state.store.as_ref(), o, vec![raw], Some(&s.user_id), true).await?;
    match out.into_iter().next() {
        Some(Ok(id)) => {
            crate::routing_admin::audit_write(&state, &s, &extensions, &o.name, "create", id.as_str()).await;
            crate::flows_admin::audit_write(&state, &s, &extensions, &o.name, "create", id.as_str()).await;
            Ok((StatusCode::CREATED, Json(json!({"id": id.to_string(), "success": true, "errors": []}))).into_response())
        }
        Some(Err(e)) => Err(e.into()),
        None => Err(ApiError::ours("create returned no outcome").into()),
    }
}

pub async fn read(
    State(state): State<AppState>,
    Path((v, name, id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    s: Session,
) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let schema = state.store.schema();
    let o = guard::object(&s.grants, schema, &name, Op::Read)?;
    let id = records::record_id(o, &id)?;
    let rec = guard::redact(&s.grants, schema, guard::read(state.store.as_ref(), &s.grants, o, &id).await?);
    let only: Option<Vec<String>> = q.get("fields").map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
    if let Some(fields) = &only {
        let unknown: Vec<String> = fields.iter().filter(|f| !s.grants.can_read_field(schema, &o.name, f)).cloned().collect();
        if !unknown.is_empty() {
            return Err(ApiError::new("INVALID_FIELD", format!("No such column '{}' on sobject of type {}", unknown.join(", "), o.name))
                .with_fields(unknown));
        }
    }
    Ok(Json(wire::record_json(v, &rec, only.as_deref())))
}

pub async fn update(
    State(state): State<AppState>,
    Path((v, name, id)): Path<(String, String, String)>,
    extensions: axum::http::Extensions,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiErrors> {
    version(&v)?;
    let o = guard::object(&s.grants, state.store.schema(), &name, Op::Edit)?;
    records::check_writable(o)?;
    crate::routing_admin::require_manage_routing(&s, &o.name)?;
    crate::flows_admin::require_manage_flows(&s, &o.name)?;
    let id = records::record_id(o, &id)?;
    let raw = wire::raw_fields(&body)?;
    guard::writable(&s.grants, state.store.schema(), o, &raw)?;
    guard::editable(state.store.as_ref(), &s.grants, o, &id).await?;
    if o.name == "Flow" {
        crate::flows_admin::check_record_write(state.store.as_ref(), Some(&id), &raw).await?;
    }
    records::update(state.store.as_ref(), o, &id, raw, Some(&s.user_id)).await?;
    crate::routing_admin::audit_write(&state, &s, &extensions, &o.name, "update", id.as_str()).await;
    crate::flows_admin::audit_write(&state, &s, &extensions, &o.name, "update", id.as_str()).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete(
    State(state): State<AppState>,
    Path((v, name, id)): Path<(String, String, String)>,
    extensions: axum::http::Extensions,
    s: Session,
) -> Result<StatusCode, ApiError> {
    version(&v)?;
    let o = guard::object(&s.grants, state.store.schema(), &name, Op::Delete)?;
    records::check_writable(o)?;
    crate::routing_admin::require_manage_routing(&s, &o.name)?;
    crate::flows_admin::require_manage_flows(&s, &o.name)?;
    let id = records::record_id(o, &id)?;
    guard::editable(state.store.as_ref(), &s.grants, o, &id).await?;
    state.store.delete(o, &id).await?;
    crate::routing_admin::audit_write(&state, &s, &extensions, &o.name, "delete", id.as_str()).await;
    crate::flows_admin::audit_write(&state, &s, &extensions, &o.name, "delete", id.as_str()).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST composite/sobjects`: up to 200 records, of any objects, in order.
pub async fn composite_create(
    State(state): State<AppState>,
    Path(v): Path<String>,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<Json<Json_>, ApiErrors> {
    version(&v)?;
    let all_or_none = body.get("allOrNone").and_then(Json_::as_bool).unwrap_or(false);
    let records = batch_records(&body)?;
    let schema = state.store.schema();
    // Group consecutive records by object so each group is one transaction.
    let mut results: Vec<Json_> = Vec::with_capacity(records.len());
    let mut pending: Vec<(usize, Parsed<'_>)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let ty = r.get("attributes").and_then(|a| a.get("type")).and_then(Json_::as_str);
        let parsed = match ty.map(|t| guard::object(&s.grants, schema, t, Op::Create).and_then(|o| records::check_batchable(o).map(|_| o))) {
            None => Err(vec![FieldError::new("", "INVALID_TYPE", "Each record needs attributes.type")]),
            Some(Err(e)) => Err(vec![FieldError::new("", e.code, e.message)]),
            Some(Ok(o)) => match wire::raw_fields(r).and_then(|raw| guard::writable(&s.grants, schema, o, &raw).map(|_| raw)) {
                Ok(raw) => Ok((o, raw)),
                Err(ApiErrors(es)) => Err(es.into_iter().map(|e| FieldError::new(&e.fields.join(","), e.code, e.message)).collect()),
            },
        };
        pending.push((i, parsed));
    }
    let structural_failure = pending.iter().any(|(_, p)| p.is_err());
    let mut outcomes: Vec<Option<records::Outcome>> = vec![None; records.len()];
    if all_or_none && structural_failure {
        for (i, p) in pending {
            outcomes[i] = Some(Err(p.err().unwrap_or_else(|| vec![rolled_back()])));
        }
    } else {
        // Validate everything first so allOrNone can refuse before any write.
        let mut checked = Vec::new();
        for (i, p) in pending {
            match p {
                Err(e) => outcomes[i] = Some(Err(e)),
                Ok((o, raw)) => checked.push((i, o, o.check_create(raw))),
            }
        }
        if all_or_none && checked.iter().any(|(_, _, c)| c.is_err()) {
            for (i, _, c) in checked {
                outcomes[i] = Some(Err(c.err().unwrap_or_else(|| vec![rolled_back()])));
            }
        } else {
            let mut start = 0;
            while start < checked.len() {
                let obj = checked[start].1;
                let end = checked[start..].iter().position(|(_, o, _)| o.name != obj.name).map_or(checked.len(), |p| start + p);
                let good: Vec<_> = checked[start..end].iter().filter_map(|(_, _, c)| c.as_ref().ok().cloned()).collect();
                let mut ids = state.store.insert(obj, good, Some(&s.user_id)).await?.into_iter();
                for (i, _, c) in &checked[start..end] {
                    outcomes[*i] = Some(match c {
                        Ok(_) => Ok(ids.next().expect("one id per row")),
                        Err(e) => Err(e.clone()),
                    });
                }
                start = end;
            }
        }
    }
    for o in outcomes {
        results.push(match o {
            Some(Ok(id)) => json!({"id": id.to_string(), "success": true, "errors": []}),
            Some(Err(e)) => json!({"success": false, "errors": errors_json(&e)}),
            None => json!({"success": false, "errors": errors_json(&[rolled_back()])}),
        });
    }
    Ok(Json(Json_::Array(results)))
}

/// One composite record after its type and fields were read.
type Parsed<'a> = Result<(&'a dialtone_model::ObjectDef, Vec<(String, dialtone_model::RawValue)>), Vec<FieldError>>;

use records::rolled_back;

/// The `records` list of a composite body, at most [`MAX_BATCH`] long.
fn batch_records(body: &Json_) -> Result<&Vec<Json_>, ApiError> {
    let records = body
        .get("records")
        .and_then(Json_::as_array)
        .ok_or_else(|| ApiError::new("JSON_PARSER_ERROR", "The body needs a \"records\" list"))?;
    if records.len() > MAX_BATCH {
        return Err(ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("A batch holds at most {MAX_BATCH} records; this one has {}", records.len())));
    }
    Ok(records)
}

/// `PATCH composite/sobjects`: updates; each record carries its Id.
pub async fn composite_update(
    State(state): State<AppState>,
    Path(v): Path<String>,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<Json<Json_>, ApiErrors> {
    version(&v)?;
    let records = batch_records(&body)?;
    let schema = state.store.schema();
    let mut out = Vec::new();
    for r in records {
        let res: Result<String, ApiErrors> = async {
            let ty = r.get("attributes").and_then(|a| a.get("type")).and_then(Json_::as_str).unwrap_or("");
            let o = guard::object(&s.grants, schema, ty, Op::Edit)?;
            records::check_batchable(o)?;
            let raw_id = r.get("Id").or_else(|| r.get("id")).and_then(Json_::as_str).unwrap_or("");
            let id = records::record_id(o, raw_id)?;
            let mut raw = wire::raw_fields(r)?;
            raw.retain(|(k, _)| !k.eq_ignore_ascii_case("id"));
            guard::writable(&s.grants, schema, o, &raw)?;
            guard::editable(state.store.as_ref(), &s.grants, o, &id).await?;
            records::update(state.store.as_ref(), o, &id, raw, Some(&s.user_id)).await?;
            Ok(id.to_string())
        }
        .await;
        out.push(match res {
            Ok(id) => json!({"id": id, "success": true, "errors": []}),
            Err(ApiErrors(es)) => json!({"success": false, "errors": es.iter().map(|e| json!({"statusCode": e.code, "message": e.message, "fields": e.fields})).collect::<Vec<_>>()}),
        });
    }
    Ok(Json(Json_::Array(out)))
}

/// `DELETE composite/sobjects?ids=…`.
pub async fn composite_delete(
    State(state): State<AppState>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    s: Session,
) -> Result<Json<Json_>, ApiErrors> {
    version(&v)?;
    let ids: Vec<&str> = q.get("ids").map(|s| s.split(',').filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    if ids.len() > MAX_BATCH {
        return Err(ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("A batch holds at most {MAX_BATCH} ids")).into());
    }
    let schema = state.store.schema();
    let mut out = Vec::new();
    for raw in ids {
        let res: Result<String, ApiError> = async {
            let id = dialtone_model::SalesforceId::parse(raw).map_err(|e| ApiError::new("MALFORMED_ID", e.to_string()))?;
            let o = schema.by_key_prefix(id.key_prefix()).ok_or_else(ApiError::not_found)?;
            let o = guard::object(&s.grants, schema, &o.name, Op::Delete)?;
            records::check_batchable(o)?;
            guard::editable(state.store.as_ref(), &s.grants, o, &id).await?;
            state.store.delete(o, &id).await?;
            Ok(id.to_string())
        }
        .await;
        out.push(match res {
            Ok(id) => json!({"id": id, "success": true, "errors": []}),
            Err(e) => json!({"id": raw, "success": false, "errors": [{"statusCode": e.code, "message": e.message, "fields": e.fields}]}),
        });
    }
    Ok(Json(Json_::Array(out)))
}
