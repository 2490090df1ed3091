//! Reports and the dashboard (`dialtone-reports`), run over the store.
//!
//! - `GET /api/reports`: the standard reports (name, title, description).
//! - `GET /api/reports/{name}?from=YYYY-MM-DD&to=YYYY-MM-DD[&queue=Q][&serviceLevelSeconds=20][&timeZone=America/New_York][&format=json|csv][&chart=1]`:
//!   one report; JSON (the table, the SOQL it ran, with `chart=1` the SVG)
//!   or CSV. Days and hours are the time zone's: `timeZone`, else the user's
//!   (`User.TimeZoneSidKey`). Without dates, the last 7 days up to today there.
//! - `GET /api/dashboard?…`: every report at once, each with its chart.
//!
//! Needs the Run Reports permission. Every query runs as the user
//! ([`crate::query::compile_for`]): the figures count only the records they
//! may read, as their own SOQL through the REST API would. The command line
//! (`dialtone report`) runs the same reports as the system ([`run`] without grants).

use crate::auth::Session;
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dialtone_access::{Grants, SystemPerm};
use dialtone_model::Value;
use dialtone_reports::{Params, REPORTS, Report, Table};
use dialtone_soql::PlanKind;
use dialtone_store::Store;
use serde_json::{Value as Json_, json};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

impl From<dialtone_reports::ParamsError> for ApiError {
    fn from(e: dialtone_reports::ParamsError) -> ApiError {
        ApiError::new("INVALID_REPORT_PARAMS", e.to_string())
    }
}

/// Runs `report`: each of its queries as `grants`' user (as the system when `None`).
pub async fn run(store: &dyn Store, grants: Option<&Grants>, report: &Report, params: &Params) -> Result<Table, ApiError> {
    let mut results = Vec::new();
    for soql in report.queries(params) {
        let plan = crate::query::compile_in(store, &soql, grants, params.zone.as_ref())?;
        let rows = if plan.kind == PlanKind::CountOnly {
            let n = store.count(&plan).await?;
            vec![vec![Value::Int(i64::try_from(n).unwrap_or(i64::MAX))]]
        } else {
            store.query(&plan, None).await?
        };
        results.push(rows);
    }
    Ok(report.shape(params, results))
}

/// The time zone named `name` (an IANA name such as America/New_York; `UTC`
/// or nothing: none).
pub fn zone(name: &str) -> Result<Option<jiff::tz::TimeZone>, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.eq_ignore_ascii_case("UTC") {
        return Ok(None);
    }
    let bad = || ApiError::from(dialtone_reports::ParamsError::BadZone(name.chars().take(80).collect()));
    dialtone_soql::check_zone(name).map_err(|_| bad())?;
    jiff::tz::TimeZone::get(name).map(Some).map_err(|_| bad())
}

/// The parameters of a request: `from`, `to` (default: the last 7 days up to
/// today in the zone), `queue`, `serviceLevelSeconds` (default 20), `timeZone`
/// (default `mine`: the user's).
pub fn params(q: &HashMap<String, String>, mine: Option<&jiff::tz::TimeZone>) -> Result<Params, ApiError> {
    let zone = match q.get("timeZone") {
        Some(name) => zone(name)?,
        None => mine.cloned(),
    };
    let utc_today = OffsetDateTime::now_utc().date();
    let today = zone.as_ref().and_then(|z| dialtone_soql::local_date(OffsetDateTime::now_utc(), z)).unwrap_or(utc_today);
    let date = |k: &str| q.get(k).map(|s| dialtone_reports::parse_date(s)).transpose();
    let to = date("to")?.unwrap_or(today);
    let from = date("from")?.unwrap_or(to - Duration::days(6));
    let sl = match q.get("serviceLevelSeconds") {
        Some(s) => s.trim().parse::<u64>().map_err(|_| ApiError::new("INVALID_REPORT_PARAMS", format!("serviceLevelSeconds={s:?}: a whole number of seconds, e.g. 20")))?,
        None => 20,
    };
    let p = Params::new(from, to, q.get("queue").cloned(), sl)?;
    Ok(match zone {
        Some(z) => p.in_zone(z)?,
        None => p,
    })
}

fn allowed(s: &Session) -> Result<(), ApiError> {
    if s.grants.has(SystemPerm::RunReports) {
        Ok(())
    } else {
        Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "reports need the Run Reports permission (the Supervisor profile has it)"))
    }
}

/// A drill-down's WHERE runs as the user's own SOQL, whose `convertTimezone()`
/// is their zone: a report counted in another zone keeps only the drills that
/// do not convert (explicit UTC bounds).
fn drills_for(t: &mut Table, p: &Params, mine: Option<&jiff::tz::TimeZone>) {
    if p.zone.is_some() && p.zone.as_ref() != mine {
        for d in t.drill.iter_mut() {
            if d.as_deref().is_some_and(|w| w.contains("convertTimezone(")) {
                *d = None;
            }
        }
    }
}

fn with_chart(t: &Table) -> Json_ {
    let mut j = dialtone_reports::render::json(t);
    j["svg"] = dialtone_reports::svg::chart(t).map_or(Json_::Null, Json_::String);
    j
}

/// `GET /api/reports`.
pub async fn list(s: Session) -> Result<Json<Json_>, ApiError> {
    allowed(&s)?;
    let reports: Vec<Json_> = REPORTS.iter().map(|r| json!({"name": r.name, "title": r.title, "description": r.description})).collect();
    Ok(Json(json!({"reports": reports})))
}

/// `GET /api/reports/{name}`.
pub async fn one(State(state): State<AppState>, Path(name): Path<String>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Response, ApiError> {
    allowed(&s)?;
    let report = dialtone_reports::find(&name).ok_or_else(|| {
        let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
        ApiError::new("NOT_FOUND", format!("no report named {name:?}: {}", names.join(", ")))
    })?;
    let mine = crate::query::user_zone(state.store.as_ref(), &s.user_id).await;
    let p = params(&q, mine.as_ref())?;
    let format = q.get("format").map(|f| f.to_ascii_lowercase()).unwrap_or_else(|| "json".into());
    if format != "json" && format != "csv" {
        return Err(ApiError::new("INVALID_REPORT_PARAMS", format!("format={format:?}: csv or json")));
    }
    let mut t = run(state.store.as_ref(), Some(&s.grants), report, &p).await?;
    drills_for(&mut t, &p, mine.as_ref());
    if format == "csv" {
        let file = format!("attachment; filename=\"{}-{}-{}.csv\"", report.name, p.from, p.to);
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, file)], dialtone_reports::render::csv(&t)).into_response());
    }
    let body = if q.get("chart").is_some_and(|c| c == "1" || c == "true") { with_chart(&t) } else { dialtone_reports::render::json(&t) };
    Ok(Json(body).into_response())
}

/// `GET /api/dashboard`: every standard report, with charts.
pub async fn dashboard(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<Json_>, ApiError> {
    allowed(&s)?;
    let mine = crate::query::user_zone(state.store.as_ref(), &s.user_id).await;
    let p = params(&q, mine.as_ref())?;
    let mut reports = Vec::with_capacity(REPORTS.len());
    for r in REPORTS {
        let mut t = run(state.store.as_ref(), Some(&s.grants), r, &p).await?;
        drills_for(&mut t, &p, mine.as_ref());
        reports.push(with_chart(&t));
    }
    Ok(Json(json!({"from": p.from.to_string(), "to": p.to.to_string(), "queue": p.queue, "serviceLevelSeconds": p.service_level_seconds, "timeZone": p.zone_name(), "reports": reports})))
}

/// `POST /api/desktop/adapter-errors` `{"errors": [{"code", "method", "message"}]}`: errors the
/// console's Open CTI bridge or the softphone met, stored as AdapterErrorLog records owned by the
/// agent (at most 50 per request; texts cut to their field's length).
pub async fn adapter_errors(State(state): State<AppState>, s: Session, crate::wire::JsonBody(body): crate::wire::JsonBody) -> Result<Json<Json_>, ApiError> {
    let Some(errors) = body.get("errors").and_then(Json_::as_array) else {
        return Err(ApiError::new("JSON_PARSER_ERROR", "the body is {\"errors\": [{\"code\": \"…\", \"method\": \"…\", \"message\": \"…\"}]}"));
    };
    if errors.len() > 50 {
        return Err(ApiError::new("JSON_PARSER_ERROR", format!("{} errors in one request; send at most 50", errors.len())));
    }
    let store = state.store.as_ref();
    let center = crate::desktop::user_center(store, &s.user_id).await?.map(|id| id.to_string());
    let now = dialtone_model::format_datetime(OffsetDateTime::now_utc());
    let cut = |v: Option<&Json_>, n: usize| v.and_then(Json_::as_str).map(|t| t.chars().filter(|c| !c.is_control()).take(n).collect::<String>()).filter(|t| !t.is_empty());
    let mut rows = Vec::new();
    for e in errors {
        let mut f = vec![
            ("Code".to_string(), Value::Text(cut(e.get("code"), 80).unwrap_or_else(|| "UNKNOWN".into()))),
            ("OccurredDateTime".to_string(), Value::Text(now.clone())),
            ("OwnerId".to_string(), Value::Text(s.user_id.to_string())),
        ];
        if let Some(m) = cut(e.get("method"), 80) {
            f.push(("Method".into(), Value::Text(m)));
        }
        if let Some(m) = cut(e.get("message"), 255) {
            f.push(("Message".into(), Value::Text(m)));
        }
        if let Some(c) = &center {
            f.push(("CallCenterId".into(), Value::Text(c.clone())));
        }
        rows.push(f);
    }
    let obj = store.schema().object("AdapterErrorLog").expect("standard object");
    let ids = if rows.is_empty() { Vec::new() } else { store.insert(obj, rows, Some(&s.user_id)).await? };
    Ok(Json(json!({"stored": ids.len()})))
}
