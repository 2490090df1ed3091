//! `/query`, `/queryAll`, `/query/{locator}` (SOQL with nextRecordsUrl
//! paging), `/search` (SOSL over phone fields) and the phone lookup.

use crate::auth::Session;
use crate::error::ApiError;
use crate::rest::version;
use crate::wire::value_to_json;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use dialtone_access::{Grants, Mode, Op};
use dialtone_model::{SalesforceId, Value};
use dialtone_soql::{Plan, PlanKind};
use dialtone_store::{Page, PhoneMatch, Record, Store};
use serde_json::{Map, Value as Json_, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DEFAULT_BATCH: u64 = 2000;
const CURSOR_TTL: Duration = Duration::from_secs(15 * 60);
const MAX_CURSORS: usize = 10_000;

/// An open query whose later pages are fetched through nextRecordsUrl.
pub struct Cursor {
    plan: Arc<Plan>,
    user: SalesforceId,
    total: u64,
    batch: u64,
    created: Instant,
}

#[derive(Default)]
pub struct Cursors {
    open: HashMap<String, Cursor>,
}

impl Cursors {
    fn insert(&mut self, c: Cursor) -> String {
        let now = Instant::now();
        self.open.retain(|_, c| now.duration_since(c.created) < CURSOR_TTL);
        if self.open.len() >= MAX_CURSORS
            && let Some(oldest) = self.open.iter().min_by_key(|(_, c)| c.created).map(|(k, _)| k.clone()) {
                self.open.remove(&oldest);
            }
        let id = format!("01g{}", crate::auth::random_secret(12).replace(['-', '_'], "0"));
        self.open.insert(id.clone(), c);
        id
    }
}

/// `Sforce-Query-Options: batchSize=N` (200..2000), as Salesforce reads it.
fn batch_size(headers: &HeaderMap) -> u64 {
    headers
        .get("sforce-query-options")
        .and_then(|h| h.to_str().ok())
        .and_then(|s| s.split(',').find_map(|kv| kv.trim().strip_prefix("batchSize=")))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map_or(DEFAULT_BATCH, |n| n.clamp(200, DEFAULT_BATCH))
}

fn rows_json(version: &str, plan: &Plan, rows: Vec<Vec<Value>>) -> Vec<Json_> {
    let aggregate = plan.kind == PlanKind::Aggregate;
    let text_at = |row: &[Value], i: Option<usize>| i.and_then(|i| row.get(i)).and_then(Value::as_str).map(str::to_string);
    rows.into_iter()
        .map(|row| {
            let mut m = Map::new();
            let mut attrs = json!({"type": if aggregate { "AggregateResult" } else { plan.object.as_str() }});
            if let Some(id) = text_at(&row, plan.id_column) {
                attrs["url"] = json!(crate::wire::sobject_url(version, &plan.object, &id));
            }
            m.insert("attributes".into(), attrs);
            // Parents first, so their selected fields nest under them; a
            // missing parent (null lookup) is null, as Salesforce renders it.
            for rel in &plan.relationships {
                let parent = match text_at(&row, Some(rel.id_column)) {
                    Some(id) => json!({"attributes": {"type": rel.object, "url": crate::wire::sobject_url(version, &rel.object, &id)}}),
                    None => Json_::Null,
                };
                m.insert(rel.name.clone(), parent);
            }
            for (c, v) in plan.columns.iter().zip(&row) {
                insert_path(&mut m, &c.path, value_to_json(v));
            }
            Json_::Object(m)
        })
        .collect()
}

fn insert_path(m: &mut Map<String, Json_>, path: &[String], v: Json_) {
    match path {
        [] => {}
        [last] => {
            m.insert(last.clone(), v);
        }
        [head, rest @ ..] => {
            // A null parent stays null; its fields are not invented.
            if let Some(Json_::Object(c)) = m.get_mut(head) {
                insert_path(c, rest, v);
            }
        }
    }
}

fn page_body(version: &str, total: u64, plan: &Plan, rows: Vec<Vec<Value>>, next: Option<String>) -> Json_ {
    let mut body = json!({"totalSize": total, "done": next.is_none(), "records": rows_json(version, plan, rows)});
    if let Some(n) = next {
        body["nextRecordsUrl"] = json!(n);
    }
    body
}

/// Compiles SOQL for this store (dialect, clock), with the system's full
/// access: for Dialtone's own lookups and the command line, never for a user.
pub fn compile(store: &dyn Store, soql: &str) -> Result<Plan, ApiError> {
    Ok(dialtone_soql::compile(soql, store.schema(), store.dialect(), time::OffsetDateTime::now_utc())?)
}

/// The record ids a system query returns (first column), for Dialtone's own
/// housekeeping (retention, erasure, lookups by name).
pub async fn system_ids(store: &dyn Store, soql: &str) -> Result<Vec<SalesforceId>, ApiError> {
    let rows = store.query(&compile(store, soql)?, None).await?;
    Ok(rows.iter().filter_map(|r| r.first()?.as_str().and_then(|s| SalesforceId::parse(s).ok())).collect())
}

/// The call center with this internal name (letters, digits, underscores;
/// anything else names no call center).
pub async fn call_center_id(store: &dyn Store, internal_name: &str) -> Result<Option<SalesforceId>, ApiError> {
    if internal_name.is_empty() || !internal_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(None);
    }
    Ok(system_ids(store, &format!("SELECT Id FROM CallCenter WHERE InternalName = '{internal_name}'")).await?.into_iter().next())
}

/// Compiles SOQL as `grants` allow: objects, fields and rows the user cannot
/// see are not there.
pub fn compile_for(store: &dyn Store, soql: &str, grants: &Grants) -> Result<Plan, ApiError> {
    Ok(dialtone_soql::compile_for(soql, store.schema(), store.dialect(), time::OffsetDateTime::now_utc(), grants)?)
}

/// [`compile_for`] (or, without grants, the system's [`compile`]) for a user
/// in time zone `zone`: `convertTimezone(…)` and date literals use it.
pub fn compile_in(store: &dyn Store, soql: &str, grants: Option<&Grants>, zone: Option<&jiff::tz::TimeZone>) -> Result<Plan, ApiError> {
    Ok(dialtone_soql::compile_in(soql, store.schema(), store.dialect(), time::OffsetDateTime::now_utc(), grants, zone)?)
}

/// The user's time zone (`User.TimeZoneSidKey`), when it names one: what
/// `convertTimezone(…)` and date literals in their SOQL and their reports'
/// days use, as in Salesforce.
pub async fn user_zone(store: &dyn Store, user: &SalesforceId) -> Option<jiff::tz::TimeZone> {
    let o = store.schema().object("User")?;
    let r = store.get(o, user).await.ok()??;
    crate::reports::zone(r.get("TimeZoneSidKey").and_then(Value::as_str)?).ok()?
}

/// Whether a query's meaning can depend on the user's time zone (a date
/// literal or `convertTimezone`): only then is the zone looked up. A word that
/// merely looks like one costs a lookup, nothing else.
fn zone_sensitive(soql: &str) -> bool {
    let s = soql.to_ascii_lowercase();
    ["converttimezone", "today", "yesterday", "tomorrow", "last_", "this_", "next_", "_n_"].iter().any(|w| s.contains(w))
}

pub async fn query(
    State(state): State<AppState>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    s: Session,
) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let soql = q.get("q").ok_or_else(|| ApiError::new("MALFORMED_QUERY", "A query needs the q parameter: /query?q=SELECT+Id+FROM+Contact"))?;
    let zone = if zone_sensitive(soql) { user_zone(state.store.as_ref(), &s.user_id).await } else { None };
    let plan = compile_in(state.store.as_ref(), soql, Some(&s.grants), zone.as_ref())?;
    if plan.kind == PlanKind::CountOnly {
        let total = state.store.count(&plan).await?;
        return Ok(Json(json!({"totalSize": total, "done": true, "records": []})));
    }
    let batch = batch_size(&headers);
    // One row more than a page tells whether there is a next page; only then
    // is the full count (a second pass over the data) worth running.
    let mut rows = state.store.query(&plan, Some(Page { offset: 0, limit: batch + 1 })).await?;
    let total = if rows.len() as u64 > batch {
        rows.truncate(batch as usize);
        state.store.count(&plan).await?
    } else {
        rows.len() as u64
    };
    let next = if total > batch {
        let plan = Arc::new(plan.clone());
        let cursor = Cursor { plan, user: s.user_id.clone(), total, batch, created: Instant::now() };
        let id = state.cursors.lock().unwrap_or_else(|p| p.into_inner()).insert(cursor);
        Some(format!("/services/data/{v}/query/{id}-{batch}"))
    } else {
        None
    };
    Ok(Json(page_body(v, total, &plan, rows, next)))
}

pub async fn query_more(
    State(state): State<AppState>,
    Path((v, locator)): Path<(String, String)>,
    s: Session,
) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let bad = || ApiError::new("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (id, offset) = locator.rsplit_once('-').ok_or_else(bad)?;
    let offset: u64 = offset.parse().map_err(|_| bad())?;
    let (plan, total, batch) = {
        let cursors = state.cursors.lock().unwrap_or_else(|p| p.into_inner());
        let c = cursors.open.get(id).filter(|c| c.user == s.user_id && c.created.elapsed() < CURSOR_TTL).ok_or_else(bad)?;
        (c.plan.clone(), c.total, c.batch)
    };
    if offset >= total {
        return Err(bad());
    }
    let rows = state.store.query(&plan, Some(Page { offset, limit: batch })).await?;
    let next_offset = offset + batch;
    let next = (next_offset < total).then(|| format!("/services/data/{v}/query/{id}-{next_offset}"));
    if next.is_none() {
        state.cursors.lock().unwrap_or_else(|p| p.into_inner()).open.remove(id);
    }
    Ok(Json(page_body(v, total, &plan, rows, next)))
}

/// Every record whose phone fields hold `written` (in any written form),
/// with the record itself. Unparseable input finds nothing.
pub async fn lookup(store: &dyn Store, written: &str) -> Result<Vec<(PhoneMatch, Record)>, ApiError> {
    lookup_in(store, written, None).await
}

/// [`lookup`] of only the matches on `objects` (when given): the others are
/// never read. A screen pop asks for its layout's objects, so a caller's
/// growing history of VoiceCalls (their numbers are indexed too) costs
/// nothing.
pub async fn lookup_in(store: &dyn Store, written: &str, objects: Option<&[String]>) -> Result<Vec<(PhoneMatch, Record)>, ApiError> {
    let Some(e164) = store.normalizer().normalize(written) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for m in store.phone_lookup(&e164).await? {
        if objects.is_some_and(|only| !only.contains(&m.object)) {
            continue;
        }
        let Some(o) = store.schema().object(&m.object) else { continue };
        if let Some(rec) = store.get(o, &m.id).await? {
            out.push((m, rec));
        }
    }
    Ok(out)
}

/// The matches of a lookup this user may see, and how many more there are
/// that they may not (a screen pop shows only that such a match exists).
pub async fn visible_matches(store: &dyn Store, grants: &Grants, found: Vec<(PhoneMatch, Record)>) -> Result<(Vec<(PhoneMatch, Record)>, usize), ApiError> {
    let mut seen = Vec::new();
    let mut hidden = 0;
    for (m, rec) in found {
        if grants.can(&m.object, Op::Read) && crate::guard::reaches(store, grants, &rec, Mode::Read).await? {
            seen.push((m, crate::guard::redact(grants, store.schema(), rec)));
        } else {
            hidden += 1;
        }
    }
    Ok((seen, hidden))
}

/// `GET /api/phone/lookup?number=…`: Dialtone's own lookup, used by screen pop.
pub async fn phone_lookup(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<Json_>, ApiError> {
    let number = q.get("number").map(String::as_str).unwrap_or("");
    let e164 = state.store.normalizer().normalize(number);
    let found = lookup(state.store.as_ref(), number).await?;
    let (matches, hidden) = visible_matches(state.store.as_ref(), &s.grants, found).await?;
    let list: Vec<Json_> = matches
        .iter()
        .map(|(m, r)| {
            json!({
                "object": m.object,
                "id": m.id.to_string(),
                "field": m.field,
                "name": r.get("Name").map(value_to_json).unwrap_or(Json_::Null),
                "isPersonAccount": r.get("IsPersonAccount").map(value_to_json).unwrap_or(Json_::Bool(false)),
            })
        })
        .collect();
    Ok(Json(json!({"number": number, "e164": e164.map(|e| e.to_string()), "matches": list, "hiddenMatches": hidden})))
}

/// A parsed `FIND {term} IN PHONE FIELDS RETURNING Obj(f, …), …`.
struct Sosl {
    term: String,
    returning: Vec<(String, Vec<String>)>,
}

fn parse_sosl(q: &str) -> Result<Sosl, ApiError> {
    let bad = |m: &str| ApiError::new("MALFORMED_QUERY", format!("{m}. Supported: FIND {{number}} IN PHONE FIELDS [RETURNING Contact(Id, Name), Lead, …]"));
    let q = q.trim();
    let rest = q.get(..4).filter(|s| s.eq_ignore_ascii_case("FIND")).map(|_| q[4..].trim_start()).ok_or_else(|| bad("A search starts with FIND"))?;
    let rest = rest.strip_prefix('{').ok_or_else(|| bad("The search term goes in braces"))?;
    let (term, rest) = rest.split_once('}').ok_or_else(|| bad("Unclosed search term"))?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    if upper.len() < 3 || upper[0] != "IN" || upper[1] != "PHONE" || upper[2] != "FIELDS" {
        return Err(bad("Only IN PHONE FIELDS searches are supported"));
    }
    let mut returning = Vec::new();
    let tail = rest.split_once(|c: char| c.is_whitespace()).map(|x| x.1).unwrap_or("");
    if let Some(pos) = tail.to_ascii_uppercase().find("RETURNING") {
        let list = &tail[pos + "RETURNING".len()..];
        let mut depth = 0;
        let mut item = String::new();
        for ch in list.chars().chain(std::iter::once(',')) {
            match ch {
                '(' => {
                    depth += 1;
                    item.push(ch)
                }
                ')' => {
                    depth -= 1;
                    item.push(ch)
                }
                ',' if depth == 0 => {
                    let it = item.trim();
                    if !it.is_empty() {
                        let (name, fields) = match it.split_once('(') {
                            Some((n, f)) => (n.trim(), f.trim_end_matches(')').split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()),
                            None => (it, vec!["Id".to_string()]),
                        };
                        returning.push((name.to_string(), fields));
                    }
                    item.clear();
                }
                _ => item.push(ch),
            }
        }
        if depth != 0 {
            return Err(bad("Unbalanced parentheses in RETURNING"));
        }
    }
    Ok(Sosl { term: term.trim().to_string(), returning })
}

pub async fn search(
    State(state): State<AppState>,
    Path(v): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    s: Session,
) -> Result<Json<Json_>, ApiError> {
    let v = version(&v)?;
    let sosl = parse_sosl(q.get("q").map(String::as_str).unwrap_or(""))?;
    let schema = state.store.schema();
    for (name, fields) in &sosl.returning {
        let o = schema
            .object(name)
            .filter(|o| s.grants.can(&o.name, Op::Read))
            .ok_or_else(|| ApiError::new("INVALID_TYPE", format!("sObject type '{name}' is not supported.")))?;
        if let Some(bad) = fields.iter().find(|f| !s.grants.can_read_field(schema, &o.name, f)) {
            return Err(ApiError::new("INVALID_FIELD", format!("No such column '{bad}' on entity '{}'", o.name)).with_fields(vec![bad.clone()]));
        }
    }
    let (found, _) = visible_matches(state.store.as_ref(), &s.grants, lookup(state.store.as_ref(), &sosl.term).await?).await?;
    let mut seen = std::collections::HashSet::new();
    let mut records = Vec::new();
    for (m, rec) in found {
        if !seen.insert(m.id.clone()) {
            continue;
        }
        let fields: Option<&Vec<String>> = if sosl.returning.is_empty() {
            None
        } else {
            match sosl.returning.iter().find(|(n, _)| n.eq_ignore_ascii_case(&m.object)) {
                Some((_, f)) => Some(f),
                None => continue,
            }
        };
        let default = vec!["Id".to_string()];
        let only = fields.unwrap_or(&default);
        records.push(crate::wire::record_json(v, &rec, Some(only)));
    }
    Ok(Json(json!({"searchRecords": records})))
}

/// A text as a SOQL string literal's content (backslashes and quotes escaped).
pub fn soql_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}
