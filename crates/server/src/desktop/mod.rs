//! The agent desktop's server side (docs/DESKTOP.md is the wire contract).
//!
//! - [`hub`]: the one subscriber of the call desk. Every batch's
//!   notifications and call snapshots become WebSocket messages for the
//!   agents concerned (`offer` with its screen pop, `offerClosed`, `call`,
//!   `wrapUp`, `presence`, `utterance`); it keeps what a reconnecting tab
//!   needs for its `hello`, and puts agents in After Call Work.
//! - [`ws`]: `GET /api/desktop/ws` (Origin checked, bounded queue per socket).
//! - [`pop`]: the screen-pop decision from the phone index, the softphone
//!   layout and what the agent may read.
//! - [`layout`]: softphone layouts per call center (`/api/callcenters/{name}/softphone-layout`).
//! - [`commands`]: call commands, wrap-up and click-to-dial.
//! - here: per call center desktop settings, presence statuses, the
//!   session's call-center part ([`session_config`]) and recent calls.

pub mod commands;
pub mod hub;
pub mod layout;
pub mod pop;
pub mod ws;

use crate::auth::Session;
use crate::error::ApiError;
use crate::wire::JsonBody;
use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use dialtone_access::SystemPerm;
use dialtone_callcenter::names;
use dialtone_model::{SalesforceId, Value};
use std::collections::HashMap;
use dialtone_routing::Presence;
use dialtone_store::{AuditEntry, Record, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json_, json};
use time::OffsetDateTime;

pub use hub::Hub;

/// Largest body a desktop request may carry.
pub const MAX_DESKTOP_BODY: usize = 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/desktop/ws", get(ws::connect))
        .route("/api/desktop/pop", get(commands::pop))
        .route("/api/desktop/recent", get(recent_calls))
        .route("/api/desktop/dial", post(commands::dial))
        .route("/api/desktop/calls/{key}/{action}", post(commands::command))
        .route("/api/callcenters/{name}/softphone-layout", get(layout::get_layout).put(layout::put_layout))
        .route("/api/setup/presence-statuses", get(get_statuses).put(put_statuses))
        .layer(DefaultBodyLimit::max(MAX_DESKTOP_BODY))
}

/// Desktop settings of one call center that its definition file has no
/// item for, in the setting `desktop:callcenter:ID`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CenterDesktop {
    /// No visible softphone panel (pops are still delivered). Default false.
    #[serde(default)]
    pub headless: Option<bool>,
    /// After Call Work until the wrap-up is saved. Default true.
    #[serde(default)]
    pub wrap_up_required: Option<bool>,
    #[serde(default)]
    pub panel_label: Option<String>,
    /// The org's own area code: numbers in it are dialled as local calls.
    #[serde(default)]
    pub local_area_code: Option<String>,
    /// Write a Task (TaskSubtype Call) for every ended call. Default true.
    #[serde(default)]
    pub write_tasks: Option<bool>,
    /// The controlled picklist of wrap-up outcomes (VoiceCall.CallResolution,
    /// Task.CallDisposition). Default: the standard list.
    #[serde(default)]
    pub resolutions: Option<Vec<String>>,
}

impl CenterDesktop {
    /// Refuses settings no agent could work with.
    pub fn check(&self) -> Result<(), String> {
        if let Some(list) = &self.resolutions {
            if list.is_empty() {
                return Err("give at least one wrap-up outcome".into());
            }
            let mut seen = std::collections::HashSet::new();
            for r in list {
                let t = r.trim();
                if t.is_empty() || t.chars().count() > 255 || t.chars().any(char::is_control) {
                    return Err(format!("{r:?} is not a wrap-up outcome (1 to 255 characters, no control characters)"));
                }
                if !seen.insert(t.to_lowercase()) {
                    return Err(format!("the wrap-up outcome {t:?} is listed twice"));
                }
            }
        }
        if let Some(code) = &self.local_area_code
            && !(code.len() <= 6 && !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(format!("{code:?} is not an area code (digits)"));
        }
        Ok(())
    }

    /// What the call lifecycle needs of these settings.
    pub fn center_config(&self) -> dialtone_calls::CenterConfig {
        dialtone_calls::CenterConfig {
            write_task: self.write_tasks.unwrap_or(true),
            resolutions: self.resolutions.as_ref().map(|l| l.iter().map(|r| r.trim().to_string()).collect()).unwrap_or_else(crate::calldesk::standard_resolutions),
        }
    }
}

/// Every call center's lifecycle settings, from their `desktop:callcenter:ID` settings.
pub async fn center_configs(store: &dyn Store) -> Result<HashMap<SalesforceId, dialtone_calls::CenterConfig>, ApiError> {
    let mut out = HashMap::new();
    for (key, json) in store.settings_with_prefix("desktop:callcenter:").await? {
        let Ok(id) = SalesforceId::parse(&key["desktop:callcenter:".len()..]) else { continue };
        match serde_json::from_str::<CenterDesktop>(&json) {
            Ok(d) => {
                out.insert(id, d.center_config());
            }
            Err(e) => tracing::warn!(error = %e, call_center = %id, "a call center's desktop settings are unreadable; using the defaults"),
        }
    }
    Ok(out)
}

pub fn center_setting(id: &SalesforceId) -> String {
    format!("desktop:callcenter:{id}")
}

/// A call center as the desktop needs it.
#[derive(Debug, Clone)]
pub struct CenterInfo {
    pub id: SalesforceId,
    pub internal_name: String,
    pub name: String,
    pub adapter_url: Option<String>,
    pub standby_url: Option<String>,
    pub timeout_ms: u64,
    pub width: u32,
    pub height: u32,
    pub desktop: CenterDesktop,
    pub dialing: dialtone_phone::DialingOptions,
    /// Every item of the definition keyed `/section/item` (Open CTI's getCallCenterSettings).
    pub items: Vec<(String, String)>,
    /// A Salesforce Voice partner-telephony call center: the provider's phone is used, no adapter.
    pub partner: bool,
}

impl CenterInfo {
    pub fn wrap_up_required(&self) -> bool {
        self.desktop.wrap_up_required.unwrap_or(true)
    }
}

/// The call center's stored definition (the `Definition` field), parsed.
pub fn stored_definition(rec: &Record) -> Option<dialtone_callcenter::CallCenterDef> {
    let xml = rec.get("Definition").and_then(Value::as_str)?;
    let internal = rec.get("InternalName").and_then(Value::as_str).unwrap_or("CallCenter");
    let file = match rec.get("Format").and_then(Value::as_str) {
        Some("Metadata") => format!("{internal}.callCenter"),
        _ => format!("{internal}.xml"),
    };
    match dialtone_callcenter::parse(xml.as_bytes(), &file) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(call_center = internal, error = %e, "the stored call center definition does not parse");
            None
        }
    }
}

/// Reads a call center, its definition's desktop items and its desktop settings.
pub async fn center_info(store: &dyn Store, id: &SalesforceId) -> Result<Option<CenterInfo>, ApiError> {
    let o = store.schema().object("CallCenter").expect("standard object");
    let Some(rec) = store.get(o, id).await? else { return Ok(None) };
    let def = stored_definition(&rec);
    let item = |name: &str| def.as_ref().and_then(|d| d.item(name)).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let text = |f: &str| rec.get(f).and_then(Value::as_str).map(str::to_string);
    let number = |name: &str, default: u64| item(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(default);
    let desktop: CenterDesktop = match store.setting(&center_setting(id)).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => CenterDesktop::default(),
    };
    let mut dialing = dialtone_phone::DialingOptions::new(
        &item(names::OUTSIDE_PREFIX).unwrap_or_default(),
        &item(names::LONG_DIST_PREFIX).unwrap_or_default(),
        &item(names::INTERNATIONAL_PREFIX).unwrap_or_default(),
    );
    dialing.local_area_code = desktop.local_area_code.clone();
    Ok(Some(CenterInfo {
        id: id.clone(),
        internal_name: text("InternalName").unwrap_or_default(),
        name: text("Name").unwrap_or_default(),
        adapter_url: item(names::ADAPTER_URL).or_else(|| text("AdapterUrl")),
        standby_url: item(names::STANDBY_URL),
        timeout_ms: number(names::TIMEOUT, 5000),
        width: number(names::SOFTPHONE_WIDTH, 300) as u32,
        height: number(names::SOFTPHONE_HEIGHT, 500) as u32,
        items: def.iter().flat_map(|d| d.sections.iter().flat_map(|s| s.items.iter().map(move |i| (format!("/{}/{}", s.name, i.name), i.value.clone())))).collect(),
        partner: def.as_ref().is_some_and(|d| d.is_partner_telephony()),
        desktop,
        dialing,
    }))
}

/// The user's call center id (User.CallCenterId), if any.
pub async fn user_center(store: &dyn Store, user: &SalesforceId) -> Result<Option<SalesforceId>, ApiError> {
    let o = store.schema().object("User").expect("standard object");
    Ok(store.get(o, user).await?.and_then(|r| r.get("CallCenterId").and_then(Value::as_str).and_then(|s| SalesforceId::parse(s).ok())))
}

/// The `callCenter` and `presenceStatuses` parts of `GET /api/desktop/session`
/// (docs/DESKTOP.md §1): `{"callCenter": {…} | null, "presenceStatuses": [{name, base}]}`.
pub async fn session_config(state: &AppState, session: &Session) -> Result<Json_, ApiError> {
    let store = state.store.as_ref();
    let center = match user_center(store, &session.user_id).await? {
        Some(id) => center_info(store, &id).await?,
        None => None,
    };
    let call_center = match center {
        None => Json_::Null,
        Some(c) => {
            let resolutions = state.calls.resolutions(Some(&c.id)).await;
            // Partner telephony centers have no adapter (the provider's phone is used); pops still come.
            let headless = c.desktop.headless.unwrap_or(c.partner);
            let settings: serde_json::Map<String, Json_> = c.items.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!({
                "id": c.id.to_string(),
                "internalName": c.internal_name,
                "name": c.name,
                "adapterUrl": if headless { Json_::Null } else { json!(c.adapter_url.clone().unwrap_or_else(|| "/softphone".into())) },
                "standbyUrl": c.standby_url,
                "timeoutMs": c.timeout_ms.clamp(500, 120_000),
                "headless": headless,
                "panel": {"width": c.width.clamp(200, 1000), "height": c.height.clamp(200, 1200), "label": c.desktop.panel_label.clone().unwrap_or_else(|| "Phone".into())},
                "settings": settings,
                "wrapUpRequired": c.wrap_up_required(),
                "resolutions": resolutions,
                "dialing": {
                    "outsidePrefix": c.dialing.outside_prefix,
                    "longDistancePrefix": c.dialing.long_distance_prefix,
                    "internationalPrefix": c.dialing.international_prefix,
                },
            })
        }
    };
    let statuses: Vec<Json_> = presence_statuses(store).await?.iter().map(PresenceStatus::to_json).collect();
    Ok(json!({"callCenter": call_center, "presenceStatuses": statuses}))
}

// ---- presence statuses ----------------------------------------------------

/// An agent status: a name agents pick and the base kind the router understands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresenceStatus {
    pub name: String,
    pub base: String,
}

impl PresenceStatus {
    fn to_json(&self) -> Json_ {
        json!({"name": self.name, "base": self.base})
    }
}

/// The setting org statuses are kept in.
pub const STATUSES_SETTING: &str = "desktop:presence-statuses";
const MAX_STATUSES: usize = 50;

/// How a base kind is shown: After Call Work is spelled with spaces.
pub fn base_label(p: Presence) -> &'static str {
    match p {
        Presence::AfterCallWork => "After Call Work",
        other => other.as_str(),
    }
}

/// The built-in statuses, then the org's own.
pub async fn presence_statuses(store: &dyn Store) -> Result<Vec<PresenceStatus>, ApiError> {
    let builtin = [Presence::Available, Presence::Busy, Presence::AfterCallWork, Presence::Offline];
    let mut out: Vec<PresenceStatus> = builtin.iter().map(|p| PresenceStatus { name: base_label(*p).into(), base: p.as_str().into() }).collect();
    out.extend(org_statuses(store).await?);
    Ok(out)
}

/// The org's own statuses (`PUT /api/setup/presence-statuses`), then the
/// routing configuration's presence statuses not named there: one that opens
/// a channel is an Available kind ("Available – Voice"), one that opens none
/// a Busy kind.
async fn org_statuses(store: &dyn Store) -> Result<Vec<PresenceStatus>, ApiError> {
    let mut out: Vec<PresenceStatus> = match store.setting(STATUSES_SETTING).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Vec::new(),
    };
    let plan = crate::query::compile(store, "SELECT MasterLabel, DeveloperName, Channels FROM ServicePresenceStatus ORDER BY MasterLabel")?;
    for row in store.query(&plan, None).await? {
        let Some(name) = row[0].as_str().or(row[1].as_str()).map(str::trim).filter(|n| !n.is_empty()) else { continue };
        let builtin = Presence::parse(name).is_some();
        if builtin || out.iter().any(|s| s.name.eq_ignore_ascii_case(name)) {
            continue;
        }
        let opens = row[2].as_str().is_some_and(|c| c.split(';').any(|x| !x.trim().is_empty()));
        let base = if opens { Presence::Available } else { Presence::Busy };
        out.push(PresenceStatus { name: name.to_string(), base: base.as_str().into() });
    }
    Ok(out)
}

/// A status name as the API takes it: an org status (by name), else a
/// built-in or base name (Available, Busy, Away, Offline, After Call Work).
/// Returns the base and the org status's name.
pub async fn resolve_status(store: &dyn Store, name: &str) -> Result<Option<(Presence, Option<String>)>, ApiError> {
    let wanted = name.trim();
    if let Some(s) = org_statuses(store).await?.into_iter().find(|s| s.name.eq_ignore_ascii_case(wanted)) {
        return Ok(Presence::parse(&s.base).map(|p| (p, Some(s.name))));
    }
    Ok(Presence::parse(wanted).map(|p| (p, None)))
}

async fn get_statuses(State(state): State<AppState>, _s: Session) -> Result<Json<Json_>, ApiError> {
    let list: Vec<Json_> = presence_statuses(state.store.as_ref()).await?.iter().map(PresenceStatus::to_json).collect();
    Ok(Json(Json_::Array(list)))
}

/// Checks an org's status list: names unique and not built-in, bases routable kinds.
fn check_statuses(list: &[PresenceStatus]) -> Result<(), ApiError> {
    if list.len() > MAX_STATUSES {
        return Err(ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", format!("{} statuses; at most {MAX_STATUSES}", list.len())));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, s) in list.iter().enumerate() {
        let name = s.name.trim();
        if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
            return Err(ApiError::new("INVALID_FIELD", format!("status {i}: a name is 1 to 40 characters without control characters")).with_fields(vec!["name".into()]));
        }
        if Presence::parse(name).is_some() {
            return Err(ApiError::new("DUPLICATE_VALUE", format!("status {i}: {name:?} is a built-in status")).with_fields(vec!["name".into()]));
        }
        if !seen.insert(name.to_lowercase()) {
            return Err(ApiError::new("DUPLICATE_VALUE", format!("status {i}: {name:?} is listed twice")).with_fields(vec!["name".into()]));
        }
        match Presence::parse(&s.base) {
            Some(Presence::Available | Presence::Busy | Presence::Away | Presence::Offline) => {}
            _ => {
                return Err(ApiError::new("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", format!("status {i}: base {:?} is not Available, Busy, Away or Offline", s.base))
                    .with_fields(vec!["base".into()]))
            }
        }
    }
    Ok(())
}

/// `PUT /api/setup/presence-statuses` `[{"name": "Lunch", "base": "Away"}]`: the org's own statuses.
async fn put_statuses(State(state): State<AppState>, extensions: axum::http::Extensions, s: Session, JsonBody(body): JsonBody) -> Result<Json<Json_>, ApiError> {
    require_manage(&s, "changing presence statuses")?;
    let list: Vec<PresenceStatus> = serde_json::from_value(body)
        .map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("the body is [{{\"name\": \"Lunch\", \"base\": \"Away\"}}]: {e}")))?;
    check_statuses(&list)?;
    let list: Vec<PresenceStatus> = list
        .into_iter()
        .map(|p| PresenceStatus { name: p.name.trim().to_string(), base: Presence::parse(&p.base).map_or(p.base, |b| b.as_str().to_string()) })
        .collect();
    let store = state.store.as_ref();
    let after = serde_json::to_string(&list).map_err(ApiError::ours)?;
    let before = store.setting(STATUSES_SETTING).await?;
    store.put_setting(STATUSES_SETTING, &after).await?;
    audit(store, &s, &extensions, "setup.presenceStatuses", "presence-statuses", before, Some(after)).await?;
    let all: Vec<Json_> = presence_statuses(store).await?.iter().map(PresenceStatus::to_json).collect();
    Ok(Json(Json_::Array(all)))
}

pub(crate) fn require_manage(s: &Session, what: &str) -> Result<(), ApiError> {
    if s.grants.has(SystemPerm::ManageCallCenters) {
        Ok(())
    } else {
        Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", format!("{what} needs the Manage Call Centers permission")))
    }
}

/// A setup change in the audit trail.
pub(crate) async fn audit(
    store: &dyn Store,
    s: &Session,
    extensions: &axum::http::Extensions,
    action: &str,
    target: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), ApiError> {
    store
        .append_audit(&AuditEntry {
            at: dialtone_model::format_datetime(OffsetDateTime::now_utc()),
            actor: s.user_id.to_string(),
            action: action.into(),
            target: target.into(),
            before,
            after,
            source: Some(crate::client_addr(extensions)),
        })
        .await?;
    Ok(())
}

// ---- recent calls ---------------------------------------------------------

/// How many ended calls `hello` and `/api/desktop/recent` list.
pub const RECENT: usize = 10;

/// The agent's last ended calls, from the store (so they survive a restart).
pub async fn recent(store: &dyn Store, agent: &SalesforceId) -> Result<Vec<Json_>, ApiError> {
    // A parsed SalesforceId is letters and digits: safe in SOQL.
    let soql = format!(
        "SELECT Id, VendorCallKey, VendorType, CallType, FromPhoneNumber, ToPhoneNumber, CallDisposition, CallStartDateTime, \
         CallAcceptDateTime, CallEndDateTime, NumberOfHolds, RelatedRecordId, CallResolution FROM VoiceCall \
         WHERE OwnerId = '{agent}' AND CallEndDateTime != null ORDER BY CallEndDateTime DESC LIMIT {RECENT}"
    );
    let plan = crate::query::compile(store, &soql)?;
    let rows = store.query(&plan, None).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let text = |i: usize| r.get(i).and_then(Value::as_str).map(str::to_string);
        let provider = match text(2).as_deref() {
            Some("Sip") => "sip",
            Some("Twilio") => "twilio",
            Some("PartnerTelephony") => "partner",
            _ => "simulator",
        };
        let related = match text(11).and_then(|s| SalesforceId::parse(&s).ok()) {
            Some(id) => hub::related_json(store, &id).await?,
            None => Json_::Null,
        };
        out.push(json!({
            "key": text(1), "voiceCallId": text(0), "provider": provider,
            "direction": if text(3).as_deref() == Some("Outbound") { "outbound" } else { "inbound" },
            "from": text(4), "to": text(5), "state": "ended", "muted": false,
            "holds": match r.get(10) { Some(Value::Int(n)) => *n, _ => 0 },
            "disposition": text(6), "startedAt": text(7), "answeredAt": text(8), "endedAt": text(9),
            "relatedRecord": related, "resolution": text(12), "controls": [], "pop": Json_::Null,
        }));
    }
    Ok(out)
}

async fn recent_calls(State(state): State<AppState>, s: Session) -> Result<Json<Json_>, ApiError> {
    Ok(Json(Json_::Array(recent(state.store.as_ref(), &s.user_id).await?)))
}
