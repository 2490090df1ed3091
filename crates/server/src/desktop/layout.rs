//! Softphone layouts: per call center and call type, which objects a screen
//! pop searches (in order) and what it does with one match, several, none,
//! or a caller id it cannot use. Stored as the setting
//! `softphone-layout:CALLCENTERID`; the default applies until one is saved.

use crate::auth::Session;
use crate::error::ApiError;
use crate::wire::JsonBody;
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use dialtone_model::SalesforceId;
use dialtone_store::Store;
use serde::{Deserialize, Serialize};

/// Objects a pop may search (they have phone fields in the phone index).
pub const SEARCHABLE: &[&str] = &["Contact", "Account", "Lead", "Case"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SoftphoneLayout {
    #[serde(default)]
    pub inbound: CallTypeLayout,
    #[serde(default)]
    pub outbound: CallTypeLayout,
    #[serde(default)]
    pub internal: CallTypeLayout,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallTypeLayout {
    #[serde(default = "default_order")]
    pub search_order: Vec<String>,
    #[serde(default)]
    pub single_match: SingleMatch,
    #[serde(default)]
    pub multiple_matches: MultipleMatches,
    #[serde(default)]
    pub no_match: NoMatch,
    #[serde(default)]
    pub fallback: Fallback,
}

impl Default for CallTypeLayout {
    fn default() -> CallTypeLayout {
        CallTypeLayout {
            search_order: default_order(),
            single_match: SingleMatch::Open,
            multiple_matches: MultipleMatches::Chooser,
            no_match: NoMatch::default(),
            fallback: Fallback::default(),
        }
    }
}

fn default_order() -> Vec<String> {
    vec!["Contact".into(), "Account".into(), "Lead".into()]
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SingleMatch {
    #[default]
    Open,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MultipleMatches {
    #[default]
    Chooser,
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NoMatchAction {
    #[default]
    New,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoMatch {
    #[serde(default)]
    pub action: NoMatchAction,
    #[serde(default = "contact")]
    pub object: String,
}

impl Default for NoMatch {
    fn default() -> NoMatch {
        NoMatch { action: NoMatchAction::New, object: contact() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fallback {
    #[serde(default = "lead")]
    pub object: String,
}

impl Default for Fallback {
    fn default() -> Fallback {
        Fallback { object: lead() }
    }
}

fn contact() -> String {
    "Contact".into()
}

fn lead() -> String {
    "Lead".into()
}

/// Which call type's part of the layout applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallType {
    Inbound,
    Outbound,
    Internal,
}

impl CallType {
    pub fn parse(s: &str) -> Option<CallType> {
        match s {
            "inbound" => Some(CallType::Inbound),
            "outbound" => Some(CallType::Outbound),
            "internal" => Some(CallType::Internal),
            _ => None,
        }
    }
}

impl SoftphoneLayout {
    pub fn for_type(&self, t: CallType) -> &CallTypeLayout {
        match t {
            CallType::Inbound => &self.inbound,
            CallType::Outbound => &self.outbound,
            CallType::Internal => &self.internal,
        }
    }

    /// Objects known and searchable, no duplicates, forms that exist.
    pub fn check(&self) -> Result<(), ApiError> {
        for (name, l) in [("inbound", &self.inbound), ("outbound", &self.outbound), ("internal", &self.internal)] {
            let bad = |field: &str, m: String| ApiError::new("INVALID_FIELD", format!("{name}.{field}: {m}")).with_fields(vec![format!("{name}.{field}")]);
            if l.search_order.is_empty() {
                return Err(bad("searchOrder", "list at least one object".into()));
            }
            for (i, o) in l.search_order.iter().enumerate() {
                if !SEARCHABLE.contains(&o.as_str()) {
                    return Err(bad("searchOrder", format!("{o:?} cannot be searched by phone; use {}", SEARCHABLE.join(", "))));
                }
                if l.search_order[..i].contains(o) {
                    return Err(bad("searchOrder", format!("{o} is listed twice")));
                }
            }
            for (field, o) in [("noMatch.object", &l.no_match.object), ("fallback.object", &l.fallback.object)] {
                if !SEARCHABLE.contains(&o.as_str()) {
                    return Err(bad(field, format!("{o:?} is not a record a softphone can create; use {}", SEARCHABLE.join(", "))));
                }
            }
        }
        Ok(())
    }
}

pub fn setting(center: &SalesforceId) -> String {
    format!("softphone-layout:{center}")
}

/// The layout of `center`, or the default.
pub async fn load(store: &dyn Store, center: Option<&SalesforceId>) -> Result<SoftphoneLayout, ApiError> {
    let Some(id) = center else { return Ok(SoftphoneLayout::default()) };
    Ok(match store.setting(&setting(id)).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a stored softphone layout does not parse; using the default");
            SoftphoneLayout::default()
        }),
        None => SoftphoneLayout::default(),
    })
}

async fn center(store: &dyn Store, name: &str) -> Result<SalesforceId, ApiError> {
    crate::query::call_center_id(store, name).await?.ok_or_else(|| ApiError::new("NOT_FOUND", format!("no call center named {name}")))
}

/// `GET /api/callcenters/{internalName}/softphone-layout`.
pub async fn get_layout(State(state): State<AppState>, Path(name): Path<String>, _s: Session) -> Result<Json<SoftphoneLayout>, ApiError> {
    let store = state.store.as_ref();
    let id = center(store, &name).await?;
    Ok(Json(load(store, Some(&id)).await?))
}

/// `PUT /api/callcenters/{internalName}/softphone-layout`: Manage Call Centers; audited.
pub async fn put_layout(
    State(state): State<AppState>,
    Path(name): Path<String>,
    extensions: axum::http::Extensions,
    s: Session,
    JsonBody(body): JsonBody,
) -> Result<Json<SoftphoneLayout>, ApiError> {
    super::require_manage(&s, "changing a softphone layout")?;
    let store = state.store.as_ref();
    let id = center(store, &name).await?;
    let layout: SoftphoneLayout =
        serde_json::from_value(body).map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("not a softphone layout (docs/DESKTOP.md §3): {e}")))?;
    layout.check()?;
    let after = serde_json::to_string(&layout).map_err(ApiError::ours)?;
    let before = store.setting(&setting(&id)).await?;
    store.put_setting(&setting(&id), &after).await?;
    super::audit(store, &s, &extensions, "callcenter.softphoneLayout", &name, before, Some(after)).await?;
    Ok(Json(layout))
}
