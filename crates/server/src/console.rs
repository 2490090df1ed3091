//! The agent's desktop in the browser: the console (host page) and its
//! sign-in, Dialtone's own softphone page, the `sforce.opencti` script that
//! adapters load, the console's static assets, and the console's own JSON
//! endpoints (`/api/desktop/session`, `/api/desktop/search`,
//! `/api/desktop/actions/{name}`). docs/DESKTOP.md §1 and §4 is the contract.
//!
//! The browser code lives in `crates/server/web/` and is embedded in the
//! binary, so `cargo run` is the only step. Pages carry no inline script or
//! style; the console page gets its own Content-Security-Policy whose
//! `frame-src` admits the call center's adapter origins.

use crate::auth::{self, Session, SignInRefused};
use crate::error::ApiError;
use crate::wire::value_to_json;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use dialtone_access::{Op, SystemPerm};
use dialtone_model::{SalesforceId, Value};
use dialtone_store::Page;
use serde_json::{Map, Value as Json_, json};
use std::collections::HashMap;

/// The routes of this module; `lib.rs` merges them into the router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(console_page))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/{*rest}", get(console_page))
        .route("/softphone", get(softphone_page))
        .route("/support/api/{version}/lightning/{file}", get(opencti_script))
        .route("/assets/{*file}", get(asset))
        .route("/api/desktop/session", get(session))
        .route("/api/desktop/search", get(search))
        .route("/api/desktop/actions", get(list_actions))
        .route("/api/desktop/actions/{name}", post(run_action))
}

// ---------------------------------------------------------------------------
// Static assets

/// One embedded browser file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($path:literal, $ty:expr) => {
        Asset { path: $path, content_type: $ty, body: include_str!(concat!("../web/", $path)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Everything under `/assets/`. Pages (HTML) are served by their own routes.
const ASSETS: &[Asset] = &[
    asset!("css/base.css", CSS),
    asset!("css/console.css", CSS),
    asset!("css/softphone.css", CSS),
    asset!("css/login.css", CSS),
    asset!("img/icon.svg", SVG),
    asset!("js/login.js", JS),
    asset!("js/lib/dom.js", JS),
    asset!("js/lib/api.js", JS),
    asset!("js/lib/format.js", JS),
    asset!("js/lib/desktop-socket.js", JS),
    asset!("js/console/main.js", JS),
    asset!("js/console/app.js", JS),
    asset!("js/console/meta.js", JS),
    asset!("js/console/search.js", JS),
    asset!("js/console/lists.js", JS),
    asset!("js/console/record.js", JS),
    asset!("js/console/voicecall.js", JS),
    asset!("js/console/dashboard.js", JS),
    asset!("js/console/routing.js", JS),
    asset!("js/console/health.js", JS),
    asset!("js/console/flows.js", JS),
    asset!("js/console/flow-editor.js", JS),
    asset!("js/console/modal.js", JS),
    asset!("js/console/tabs.js", JS),
    asset!("js/console/pops.js", JS),
    asset!("js/console/softphone-host.js", JS),
    asset!("js/console/bridge.js", JS),
    asset!("js/softphone/main.js", JS),
];

const OPENCTI_JS: &str = include_str!("../web/js/opencti.js");
const CONSOLE_HTML: &str = include_str!("../web/console.html");
const SOFTPHONE_HTML: &str = include_str!("../web/softphone.html");
const LOGIN_HTML: &str = include_str!("../web/login.html");

/// A weak validator for an embedded file: its SHA-256, shortened.
fn etag(body: &str) -> String {
    format!("\"{}\"", &auth::sha256_hex(body)[..20])
}

/// An embedded file: revalidated on every use (`no-cache` + ETag), so a new
/// Dialtone's files are picked up at once while unchanged ones cost a 304.
fn embedded(headers: &HeaderMap, content_type: &'static str, body: &'static str) -> Response {
    let tag = etag(body);
    let fresh = headers.get(header::IF_NONE_MATCH).and_then(|h| h.to_str().ok()).is_some_and(|h| h.split(',').any(|t| t.trim() == tag));
    let common = [(header::CACHE_CONTROL, "no-cache".to_string()), (header::ETAG, tag)];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type.to_string())], common, body).into_response()
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.path == file) {
        Some(a) => embedded(&headers, a.content_type, a.body),
        None => ApiError::not_found().into_response(),
    }
}

/// `/support/api/{version}/lightning/opencti.js` (and `opencti_min.js`, the
/// same code): any API version from 38.0 (Lightning Open CTI's first) on.
async fn opencti_script(Path((version, file)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let v_ok = version.strip_suffix(".0").and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| (38..=99).contains(&m));
    if !v_ok || !matches!(file.as_str(), "opencti.js" | "opencti_min.js") {
        return ApiError::not_found().into_response();
    }
    embedded(&headers, JS, OPENCTI_JS)
}

// ---------------------------------------------------------------------------
// Pages

/// Text made safe for HTML element content and quoted attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path inside this server (`/console/...`), or the console home: never
/// another site (`//evil`, `https://…`, `/\evil`).
fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.chars().all(|c| c.is_ascii_graphic())
                && n.len() <= 512 =>
        {
            n.to_string()
        }
        _ => "/console".to_string(),
    }
}

fn login_html(error: Option<&str>, username: &str, next: &str) -> String {
    let error = match error {
        Some(e) => format!(r#"<p class="login-error" role="alert" id="login-error">{}</p>"#, html_escape(e)),
        None => String::new(),
    };
    LOGIN_HTML.replace("{{error}}", &error).replace("{{username}}", &html_escape(username)).replace("{{next}}", &html_escape(next))
}

fn html(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn login_page(Query(q): Query<HashMap<String, String>>) -> Response {
    html(StatusCode::OK, login_html(None, "", &local_next(q.get("next").map(String::as_str))))
}

/// `POST /console/login`: on success a 303 to `next` with the session cookie.
async fn login(State(state): State<AppState>, extensions: axum::http::Extensions, Form(form): Form<HashMap<String, String>>) -> Response {
    let username = form.get("username").map(|s| s.trim()).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let next = local_next(form.get("next").map(String::as_str));
    let addr = crate::client_addr(&extensions);
    match auth::console_sign_in(&state, &addr, username, password).await {
        Ok(token) => {
            let secure = if state.scheme == "https" { "; Secure" } else { "" };
            let max_age = auth::CONSOLE_TTL.whole_seconds();
            let cookie = format!("{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}", auth::SESSION_COOKIE);
            (StatusCode::SEE_OTHER, [(header::LOCATION, next), (header::SET_COOKIE, cookie)]).into_response()
        }
        Err(why) => {
            let (status, message) = match why {
                SignInRefused::Wrong => (StatusCode::UNAUTHORIZED, "Wrong username or password."),
                SignInRefused::Locked => (StatusCode::UNAUTHORIZED, "This user is locked for 15 minutes after repeated failed sign-ins. Try again later or ask an administrator."),
                SignInRefused::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Too many sign-in attempts. Wait a minute and try again."),
                SignInRefused::Failed => (StatusCode::INTERNAL_SERVER_ERROR, "Dialtone could not sign you in; the cause is in its log."),
            };
            html(status, login_html(Some(message), username, &next))
        }
    }
}

/// `POST /console/logout`: revokes the session and clears the cookie. The
/// CSRF token comes as the header or as the form field `csrfToken`.
async fn logout(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let to_login = || {
        let clear = format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", auth::SESSION_COOKIE);
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/console/login".to_string()), (header::SET_COOKIE, clear)]).into_response()
    };
    let Some(token) = auth::session_cookie(&headers) else { return to_login() };
    let form: HashMap<String, String> = serde_urlencoded_pairs(&body);
    let got = headers.get(auth::CSRF_HEADER).and_then(|h| h.to_str().ok()).map(str::to_string).or_else(|| form.get("csrfToken").cloned()).unwrap_or_default();
    let want = auth::csrf_token(&state.signing_key, token);
    if !auth::constant_time_eq(want.as_bytes(), got.as_bytes()) {
        return ApiError::new("INVALID_CSRF_TOKEN", "Signing out needs the console's CSRF token").into_response();
    }
    if let Err(e) = state.store.revoke_token(&auth::sha256_hex(token)).await {
        return ApiError::from(e).into_response();
    }
    to_login()
}

/// `application/x-www-form-urlencoded` pairs (the last of a repeated name wins).
fn serde_urlencoded_pairs(body: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let dec = |s: &str| urlencoding::decode(&s.replace('+', " ")).map(|c| c.into_owned()).unwrap_or_default();
            (dec(k), dec(v))
        })
        .collect()
}

/// An absolute adapter URL's origin, fit for a CSP source list; `None` for
/// relative URLs (this server) and anything that could smuggle a directive.
pub fn url_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let ok = !host.is_empty() && !host.contains('@') && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    ok.then(|| format!("{scheme}://{host}"))
}

/// The console page's policy: scripts, styles and connections only from this
/// server (and its WebSocket), frames from this server and the adapter origins.
fn console_csp(state: &AppState, headers: &HeaderMap, adapter_origins: &[String]) -> String {
    let host = state.instance_url(headers);
    let ws = host.replacen("http", "ws", 1);
    let frames = std::iter::once("'self'".to_string()).chain(adapter_origins.iter().cloned()).collect::<Vec<_>>().join(" ");
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {ws}; frame-src {frames}; \
         frame-ancestors 'self'; form-action 'self'; object-src 'none'; base-uri 'none'"
    )
}

/// `GET /console[/…]`: the console, for a signed-in user; others go to the sign-in page.
async fn console_page(State(state): State<AppState>, uri: axum::http::Uri, headers: HeaderMap, s: Result<Session, ApiError>) -> Response {
    let Ok(s) = s else {
        let next = uri.path_and_query().map_or("/console", |p| p.as_str());
        let location = format!("/console/login?next={}", urlencoding::encode(next));
        return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    };
    let origins = match adapter_origins(&state, &s).await {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    let csp = console_csp(&state, &headers, &origins);
    let mut res = html(StatusCode::OK, CONSOLE_HTML.to_string());
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// `GET /softphone`: Dialtone's own Open CTI adapter. It signs in with the
/// console's cookie like the console, so it needs no session of its own.
async fn softphone_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut res = html(StatusCode::OK, SOFTPHONE_HTML.to_string());
    if let Ok(v) = HeaderValue::from_str(&console_csp(&state, &headers, &[])) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

// ---------------------------------------------------------------------------
// GET /api/desktop/session

async fn session(State(state): State<AppState>, headers: HeaderMap, s: Session) -> Result<Json<Json_>, ApiError> {
    let store = state.store.as_ref();
    let user_obj = store.schema().object("User").expect("standard object");
    let user = store.get(user_obj, &s.user_id).await?.ok_or_else(ApiError::session)?;
    let text = |f: &str| user.get(f).and_then(Value::as_str).map(str::to_string);
    let csrf = if s.via_cookie { auth::session_cookie(&headers).map(|t| auth::csrf_token(&state.signing_key, t)) } else { None };
    let desk = crate::desktop::session_config(&state, &s).await?;
    Ok(Json(json!({
        "user": {"id": s.user_id.to_string(), "username": text("Username"), "name": text("Name")},
        "csrfToken": csrf,
        "permissions": {
            "useSoftphone": s.grants.has(SystemPerm::UseSoftphone),
            "manageCallCenters": s.grants.has(SystemPerm::ManageCallCenters),
            "viewSetup": s.grants.has(SystemPerm::ViewSetup),
            "manageRouting": s.grants.has(SystemPerm::ManageRouting),
            "monitorQueues": s.grants.has(SystemPerm::MonitorQueues),
            "runReports": s.grants.has(SystemPerm::RunReports),
            "manageFlows": s.grants.has(SystemPerm::ManageFlows),
            "listenToRecordings": s.grants.has(SystemPerm::ListenToRecordings) || s.grants.has(SystemPerm::ViewAllRecordings),
        },
        "callCenter": desk["callCenter"],
        "presenceStatuses": desk["presenceStatuses"],
    })))
}

/// The origins the console may frame for this user: their adapter and standby URLs'.
async fn adapter_origins(state: &AppState, s: &Session) -> Result<Vec<String>, ApiError> {
    let desk = crate::desktop::session_config(state, s).await?;
    let cc = &desk["callCenter"];
    let mut out: Vec<String> = ["adapterUrl", "standbyUrl"].iter().filter_map(|k| cc[*k].as_str()).filter_map(url_origin).collect();
    out.dedup();
    Ok(out)
}

// ---------------------------------------------------------------------------
// GET /api/desktop/search?q=

/// What global search looks at per object: (object, fields shown, fields matched).
const SEARCHED: &[(&str, &[&str], &[&str])] = &[
    ("Contact", &["Name", "Email", "Phone", "MobilePhone", "Title"], &["Name", "Email", "Phone", "MobilePhone"]),
    ("Lead", &["Name", "Company", "Email", "Phone", "Status"], &["Name", "Company", "Email", "Phone", "MobilePhone"]),
    ("Account", &["Name", "Phone", "IsPersonAccount", "PersonEmail", "PersonMobilePhone", "BillingCity"], &["Name", "Phone", "PersonEmail", "PersonMobilePhone"]),
    ("Case", &["CaseNumber", "Subject", "Status"], &["CaseNumber", "Subject"]),
    ("Opportunity", &["Name", "StageName", "CloseDate"], &["Name"]),
];

/// Results per object.
pub const SEARCH_PER_OBJECT: u64 = 5;

/// A SOQL string literal holding `term` as a LIKE pattern matching it anywhere.
fn like_literal(term: &str) -> String {
    let mut out = String::from("'%");
    for c in term.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push_str("%'");
    out
}

fn display_name(object: &str, row: &Map<String, Json_>) -> String {
    let s = |f: &str| row.get(f).and_then(Json_::as_str).unwrap_or("").to_string();
    match object {
        "Case" => format!("{} {}", s("CaseNumber"), s("Subject")).trim().to_string(),
        _ => s("Name"),
    }
}

fn detail_line(object: &str, row: &Map<String, Json_>) -> String {
    let s = |f: &str| row.get(f).and_then(Json_::as_str).unwrap_or("").to_string();
    let parts: Vec<String> = match object {
        "Contact" => vec![s("Title"), s("Email"), s("Phone")],
        "Lead" => vec![s("Company"), s("Status"), s("Phone")],
        "Account" if row.get("IsPersonAccount") == Some(&Json_::Bool(true)) => vec!["Person Account".into(), s("PersonEmail"), s("PersonMobilePhone")],
        "Account" => vec![s("BillingCity"), s("Phone")],
        "Case" => vec![s("Status")],
        "Opportunity" => vec![s("StageName"), s("CloseDate")],
        _ => vec![],
    };
    parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" · ")
}

/// `GET /api/desktop/search?q=…`: names, phones and emails of Contacts,
/// Leads, Accounts, case numbers and subjects, opportunity names — each
/// planned for the user's grants, so only what they may see is found. A term
/// that reads as a phone number also goes through the phone index.
async fn search(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<Json_>, ApiError> {
    let term = q.get("q").map(|t| t.trim()).unwrap_or("");
    let count = term.chars().count();
    if count < 2 {
        return Ok(Json(json!({"q": term, "results": [], "more": {}})));
    }
    if count > 100 {
        return Err(ApiError::new("MALFORMED_QUERY", "A search term is at most 100 characters"));
    }
    let store = state.store.as_ref();
    let schema = store.schema();
    let mut results: Vec<Json_> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut more = Map::new();
    // Phone numbers first: a number written any way finds the record.
    let digits = term.chars().filter(char::is_ascii_digit).count();
    if digits >= 6 {
        let found = crate::query::lookup(store, term).await?;
        let (visible, _) = crate::query::visible_matches(store, &s.grants, found).await?;
        for (m, rec) in visible {
            if !SEARCHED.iter().any(|(o, ..)| *o == m.object) || !seen.insert(m.id.to_string()) {
                continue;
            }
            let row: Map<String, Json_> = rec.values.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect();
            let label = schema.object(&m.object).map_or(m.object.clone(), |o| o.label.clone());
            results.push(json!({
                "id": m.id.to_string(), "object": m.object, "objectLabel": label,
                "name": display_name(&m.object, &row), "detail": detail_line(&m.object, &row),
                "isPersonAccount": row.get("IsPersonAccount").cloned().unwrap_or(Json_::Bool(false)),
                "matchedField": m.field,
            }));
        }
    }
    let pattern = like_literal(term);
    for (object, shown, matched) in SEARCHED {
        let Some(o) = schema.object(object) else { continue };
        if !s.grants.can(&o.name, Op::Read) {
            continue;
        }
        let readable = |f: &str| s.grants.can_read_field(schema, &o.name, f);
        let matched: Vec<&str> = matched.iter().copied().filter(|f| readable(f)).collect();
        if matched.is_empty() {
            continue;
        }
        let select: Vec<&str> = std::iter::once("Id").chain(shown.iter().copied().filter(|f| readable(f))).collect();
        let cond = matched.iter().map(|f| format!("{f} LIKE {pattern}")).collect::<Vec<_>>().join(" OR ");
        let order = if shown.contains(&"Name") && readable("Name") { "Name" } else { "Id" };
        let soql = format!("SELECT {} FROM {object} WHERE {cond} ORDER BY {order}", select.join(", "));
        let plan = crate::query::compile_for(store, &soql, &s.grants)?;
        let rows = store.query(&plan, Some(Page { offset: 0, limit: SEARCH_PER_OBJECT + 1 })).await?;
        more.insert(object.to_string(), json!(rows.len() as u64 > SEARCH_PER_OBJECT));
        for row in rows.into_iter().take(SEARCH_PER_OBJECT as usize) {
            let map: Map<String, Json_> = plan.columns.iter().zip(&row).map(|(c, v)| (c.path.join("."), value_to_json(v))).collect();
            let Some(id) = map.get("Id").and_then(Json_::as_str).map(str::to_string) else { continue };
            if !seen.insert(id.clone()) {
                continue;
            }
            results.push(json!({
                "id": id, "object": object, "objectLabel": o.label,
                "name": display_name(object, &map), "detail": detail_line(object, &map),
                "isPersonAccount": map.get("IsPersonAccount").cloned().unwrap_or(Json_::Bool(false)),
            }));
        }
    }
    Ok(Json(json!({"q": term, "results": results, "more": more})))
}

// ---------------------------------------------------------------------------
// Desktop actions (Open CTI runApex)

/// The registered actions: (name, what it does, its parameters).
pub const ACTIONS: &[(&str, &str, &str)] = &[
    ("DialtoneLookup.findByPhone", "Records whose phone fields hold the number (any written form), as the user may see them", "number"),
    ("DialtoneLookup.recordName", "The object type and display name of a record the user may read", "recordId"),
];

async fn list_actions(_s: Session) -> Json<Json_> {
    Json(json!({"actions": ACTIONS.iter().map(|(n, d, p)| json!({"name": n, "description": d, "params": p.split(',').collect::<Vec<_>>()})).collect::<Vec<_>>()}))
}

/// `POST /api/desktop/actions/{name}` with `{"params": {…}}`: runs a
/// registered server-side action as the signed-in user. Unknown names are
/// `UNKNOWN_ACTION`.
async fn run_action(State(state): State<AppState>, Path(name): Path<String>, s: Session, crate::wire::JsonBody(body): crate::wire::JsonBody) -> Result<Json<Json_>, ApiError> {
    let params = body.get("params").and_then(Json_::as_object).cloned().unwrap_or_default();
    let param = |k: &str| params.get(k).and_then(Json_::as_str).map(str::trim).filter(|v| !v.is_empty());
    let missing = |k: &str| ApiError::new("REQUIRED_FIELD_MISSING", format!("The action {name} needs the parameter {k}")).with_fields(vec![k.to_string()]);
    let store = state.store.as_ref();
    let result = match name.as_str() {
        "DialtoneLookup.findByPhone" => {
            let number = param("number").ok_or_else(|| missing("number"))?;
            let found = crate::query::lookup(store, number).await?;
            let (visible, hidden) = crate::query::visible_matches(store, &s.grants, found).await?;
            let records: Vec<Json_> = visible
                .iter()
                .map(|(m, r)| json!({"id": m.id.to_string(), "object": m.object, "field": m.field, "name": r.get("Name").map(value_to_json).unwrap_or(Json_::Null)}))
                .collect();
            json!({"number": number, "records": records, "hiddenMatches": hidden})
        }
        "DialtoneLookup.recordName" => {
            let raw = param("recordId").ok_or_else(|| missing("recordId"))?;
            let id = SalesforceId::parse(raw).map_err(|e| ApiError::new("MALFORMED_ID", e.to_string()))?;
            let o = store.schema().by_key_prefix(id.key_prefix()).ok_or_else(ApiError::not_found)?;
            let o = crate::guard::object(&s.grants, store.schema(), &o.name, Op::Read)?;
            let rec = crate::guard::redact(&s.grants, store.schema(), crate::guard::read(store, &s.grants, o, &id).await?);
            let row: Map<String, Json_> = rec.values.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect();
            json!({"id": id.to_string(), "object": o.name, "name": display_name(&o.name, &row)})
        }
        _ => {
            let known = ACTIONS.iter().map(|(n, ..)| *n).collect::<Vec<_>>().join(", ");
            return Err(ApiError::new("UNKNOWN_ACTION", format!("No desktop action named {name:?}; registered: {known}")));
        }
    };
    Ok(Json(json!({"action": name, "result": result})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(local_next(Some("/console/r/003000000000001AAA")), "/console/r/003000000000001AAA");
        for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "/a b"] {
            assert_eq!(local_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(local_next(None), "/console");
    }

    #[test]
    fn adapter_origins_cannot_smuggle_directives() {
        assert_eq!(url_origin("https://cti.example.com:8443/adapter/index.html?x=1").as_deref(), Some("https://cti.example.com:8443"));
        assert_eq!(url_origin("/softphone"), None);
        assert_eq!(url_origin("https://a.example; script-src *"), None);
        assert_eq!(url_origin("javascript://x"), None);
        assert_eq!(url_origin("https://user@a.example/"), None);
    }

    #[test]
    fn search_terms_are_literal_in_like() {
        assert_eq!(like_literal("O'Brien"), r"'%O\'Brien%'");
        assert_eq!(like_literal("100%_\\"), r"'%100\%\_\\%'");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html_escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn every_asset_has_a_content_type_for_its_extension() {
        for a in ASSETS {
            let want = match a.path.rsplit('.').next() {
                Some("js") => JS,
                Some("css") => CSS,
                Some("svg") => SVG,
                other => panic!("unexpected asset kind {other:?}"),
            };
            assert_eq!(a.content_type, want, "{}", a.path);
        }
    }
}
