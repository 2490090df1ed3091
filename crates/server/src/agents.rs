//! Agents and their presence.
//!
//! - [`load`] reads a call center's agents (active users with a CallCenterId)
//!   and their `agent:USERNAME` settings; the routing service
//!   (`crate::routing::refresh`) is kept up to date with them.
//! - `PUT /api/agents/{username}/presence` (`{"status": "Available"}`): a user
//!   sets their own; setting someone else's needs Manage Call Centers. Each
//!   change is written to the setup audit trail.
//! - `GET /api/agents/{username}/presence`: one's own, or anyone's with View
//!   Setup or Manage Call Centers.
//! - `GET /api/agents?callCenter=NAME`: a call center's agents (every call
//!   center's without the parameter) with presence and since; needs View
//!   Setup or Manage Call Centers.

use crate::auth::Session;
use crate::error::ApiError;
use crate::sipedge::AgentSettings;
use crate::wire::JsonBody;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use dialtone_access::SystemPerm;
use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use dialtone_routing::Presence;
use dialtone_store::{AuditEntry, Store};
use serde_json::{Value as Json_, json};
use std::collections::HashMap;
use time::OffsetDateTime;

/// One agent as the store knows them.
#[derive(Debug, Clone)]
pub struct AgentRow {
    pub id: AgentId,
    pub username: String,
    pub call_center: Option<SalesforceId>,
    pub settings: AgentSettings,
    /// When the presence was set (parsed from `settings.since`).
    pub since: Option<OffsetDateTime>,
}

impl AgentRow {
    pub fn presence(&self) -> Presence {
        self.settings.presence.unwrap_or(Presence::Offline)
    }
}

/// The active users of `call_center` (of every call center when `None`) and
/// their presence settings, by username.
pub async fn load(store: &dyn Store, call_center: Option<&SalesforceId>) -> Result<Vec<AgentRow>, ApiError> {
    let mut soql = "SELECT Id, Username, CallCenterId FROM User WHERE CallCenterId != null AND IsActive = true".to_string();
    if let Some(cc) = call_center {
        // A parsed SalesforceId is letters and digits: safe in SOQL.
        soql.push_str(&format!(" AND CallCenterId = '{cc}'"));
    }
    soql.push_str(" ORDER BY Username");
    let plan = crate::query::compile(store, &soql)?;
    let rows = store.query(&plan, None).await?;
    let settings: HashMap<String, AgentSettings> =
        store.settings_with_prefix("agent:").await?.into_iter().filter_map(|(k, v)| Some((k["agent:".len()..].to_string(), serde_json::from_str(&v).ok()?))).collect();
    let mut agents = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(id), Some(username)) = (row[0].as_str().and_then(|s| SalesforceId::parse(s).ok()), row[1].as_str()) else { continue };
        let center = row[2].as_str().and_then(|s| SalesforceId::parse(s).ok());
        let Ok(agent) = AgentId::new(id) else { continue };
        let s = settings.get(username).cloned().unwrap_or_default();
        let since = s.since.as_deref().and_then(|t| OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
        agents.push(AgentRow { id: agent, username: username.to_string(), call_center: center, settings: s, since });
    }
    Ok(agents)
}

fn view(username: &str, call_center: Option<&str>, s: &AgentSettings) -> Json_ {
    json!({
        "username": username,
        "callCenter": call_center,
        "status": crate::desktop::hub::status_name(s),
        "base": s.presence.unwrap_or(Presence::Offline).as_str(),
        "since": s.since,
    })
}

/// An agent's `agent:USERNAME` settings (defaults when none are stored).
pub async fn settings_of(store: &dyn Store, username: &str) -> Result<AgentSettings, ApiError> {
    Ok(store.setting(&crate::sipedge::agent_setting(username)).await?.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
}

/// Reads, changes and writes an agent's settings; returns what was written.
/// Callers that change presence hold the desktop hub's presence lock.
pub async fn update_settings(store: &dyn Store, username: &str, change: impl FnOnce(&mut AgentSettings)) -> Result<AgentSettings, ApiError> {
    let mut s = settings_of(store, username).await?;
    change(&mut s);
    store.put_setting(&crate::sipedge::agent_setting(username), &serde_json::to_string(&s).map_err(ApiError::ours)?).await?;
    Ok(s)
}

/// Whether the session's user is `username`.
async fn is_self(store: &dyn Store, s: &Session, username: &str) -> Result<bool, ApiError> {
    let user = store.schema().object("User").expect("standard object");
    let me = store.get(user, &s.user_id).await?;
    Ok(me.as_ref().and_then(|r| r.get("Username")).and_then(|v| v.as_str()).is_some_and(|u| u.eq_ignore_ascii_case(username)))
}

fn may_view_others(s: &Session) -> bool {
    s.grants.has(SystemPerm::ViewSetup) || s.grants.has(SystemPerm::ManageCallCenters)
}

/// The agent named in the path: NOT_FOUND for no such user, NO_CALL_CENTER
/// for a user outside every call center. Returns the call center's name.
async fn agent(store: &dyn Store, username: &str) -> Result<String, ApiError> {
    let user = store.find_user_by_username(username).await?.ok_or_else(|| ApiError::new("NOT_FOUND", format!("no user named {username}")))?;
    let center = user
        .get("CallCenterId")
        .and_then(|v| v.as_str())
        .and_then(|s| SalesforceId::parse(s).ok())
        .ok_or_else(|| ApiError::new("NO_CALL_CENTER", format!("{username} belongs to no call center, so has no agent presence: assign them to one first")))?;
    let o = store.schema().object("CallCenter").expect("standard object");
    Ok(store.get(o, &center).await?.and_then(|r| r.get("InternalName").and_then(|v| v.as_str()).map(str::to_string)).unwrap_or_default())
}

/// `GET /api/agents/{username}/presence`.
pub async fn get_presence(State(state): State<AppState>, Path(username): Path<String>, s: Session) -> Result<Json<Json_>, ApiError> {
    let store = state.store.as_ref();
    if !may_view_others(&s) && !is_self(store, &s, &username).await? {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "reading another agent's presence needs the View Setup or Manage Call Centers permission"));
    }
    let center = agent(store, &username).await?;
    Ok(Json(view(&username, Some(&center), &settings_of(store, &username).await?)))
}

/// `PUT /api/agents/{username}/presence` with `{"status": "Available"|"Busy"|"Away"|"Offline"|"After Call Work"}`
/// or an org status's name (`/api/setup/presence-statuses`). The agent's desktop tabs are told.
pub async fn put_presence(
    State(state): State<AppState>,
    Path(username): Path<String>,
    extensions: axum::http::Extensions,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<Json<Json_>, ApiError> {
    let store = state.store.as_ref();
    if !s.grants.has(SystemPerm::ManageCallCenters) && !is_self(store, &s, &username).await? {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "setting another agent's presence needs the Manage Call Centers permission"));
    }
    let status = match body.get("status") {
        Some(Json_::String(st)) => st.clone(),
        _ => return Err(ApiError::new("REQUIRED_FIELD_MISSING", "the body is {\"status\": \"Available\"|\"Busy\"|\"Away\"|\"Offline\"}").with_fields(vec!["status".into()])),
    };
    let Some((presence, named)) = crate::desktop::resolve_status(store, &status).await? else {
        let names: Vec<String> = crate::desktop::presence_statuses(store).await?.into_iter().map(|s| s.name).collect();
        return Err(ApiError::new("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", format!("{status:?} is not a status: {}", names.join(", "))).with_fields(vec!["status".into()]));
    };
    let center = agent(store, &username).await?;
    let current = settings_of(store, &username).await?;
    let before = Some(crate::desktop::hub::status_name(&current));
    let now = OffsetDateTime::now_utc();
    let user = store.find_user_by_username(&username).await?.and_then(|u| u.id()).ok_or_else(|| ApiError::new("NOT_FOUND", format!("no user named {username}")))?;
    let agent_id = AgentId::new(user).map_err(ApiError::ours)?;
    // After Call Work lasts until the wrap-up is saved (docs/DESKTOP.md §5):
    // the agent may step away meanwhile, but not take calls. A supervisor may override.
    if presence == dialtone_routing::Presence::Available
        && current.presence == Some(dialtone_routing::Presence::AfterCallWork)
        && !s.grants.has(SystemPerm::ManageCallCenters)
    {
        let pending = state.hub.pending_wrap_ups(&agent_id);
        if pending > 0 {
            return Err(ApiError::new("WRAP_UP_REQUIRED", format!("save the wrap-up of your last call before going Available ({pending} pending)")));
        }
    }
    let after = crate::desktop::hub::set_status(&state, &agent_id, &username, presence, named).await?;
    store
        .append_audit(&AuditEntry {
            at: dialtone_model::format_datetime(now),
            actor: s.user_id.to_string(),
            action: "agent.status".into(),
            target: username.clone(),
            before,
            after: Some(crate::desktop::hub::status_name(&after)),
            source: Some(crate::client_addr(&extensions)),
        })
        .await?;
    Ok(Json(view(&username, Some(&center), &after)))
}

/// `GET /api/agents?callCenter=NAME`.
pub async fn list(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>, s: Session) -> Result<Json<Json_>, ApiError> {
    if !may_view_others(&s) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "listing agents needs the View Setup or Manage Call Centers permission"));
    }
    let store = state.store.as_ref();
    let center = match q.get("callCenter") {
        Some(name) => Some(crate::query::call_center_id(store, name).await?.ok_or_else(|| ApiError::new("NOT_FOUND", format!("no call center named {name}")))?),
        None => None,
    };
    let plan = crate::query::compile(store, "SELECT Id, InternalName FROM CallCenter")?;
    let names: HashMap<String, String> =
        store.query(&plan, None).await?.into_iter().filter_map(|r| Some((r[0].as_str()?.to_string(), r[1].as_str()?.to_string()))).collect();
    let agents: Vec<Json_> = load(store, center.as_ref())
        .await?
        .iter()
        .map(|a| {
            let mut v = view(&a.username, a.call_center.as_ref().and_then(|c| names.get(c.as_str())).map(String::as_str), &a.settings);
            v["userId"] = json!(a.id.to_string());
            v
        })
        .collect();
    Ok(Json(json!({"totalSize": agents.len(), "agents": agents})))
}
