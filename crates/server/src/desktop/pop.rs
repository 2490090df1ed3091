//! The screen pop, decided on the server when a call is offered (and for
//! adapters' `searchAndScreenPop`): the caller's number through the phone
//! index (`query::lookup`), only what the agent may read named
//! (`query::visible_matches`; the rest counted), and the call center's
//! softphone layout for what one, several or no matches mean. A caller id
//! that is missing, withheld or not a number gives the layout's fallback
//! form: never a blank screen.

use super::layout::{CallType, MultipleMatches, NoMatchAction};
use crate::calldesk::CallSnapshot;
use crate::error::ApiError;
use crate::AppState;
use dialtone_access::Grants;
use dialtone_calls::AgentId;
use dialtone_model::{SalesforceId, Value};
use dialtone_store::Store;
use serde_json::{Value as Json_, json};
use std::collections::HashMap;

/// A pop and the `VoiceCall.ScreenPopOutcome` it stands for.
#[derive(Debug, Clone)]
pub struct Decided {
    pub pop: Json_,
    pub outcome: &'static str,
}

/// What callers send when they hide their number.
const WITHHELD: &[&str] = &["anonymous", "restricted", "private", "unknown", "unavailable", "withheld", "blocked"];

fn withheld(raw: &str) -> bool {
    let user = raw.trim().trim_start_matches("sip:").trim_start_matches("sips:");
    let user = user.split('@').next().unwrap_or(user).to_ascii_lowercase();
    WITHHELD.contains(&user.as_str())
}

fn new_record_fields(store: &dyn Store, object: &str, e164: Option<&str>) -> Json_ {
    let mut fields = serde_json::Map::new();
    if let (Some(n), Some(o)) = (e164, store.schema().object(object)) {
        let field = o.field("Phone").filter(|f| f.is_phone()).or_else(|| o.phone_fields().next());
        if let Some(f) = field {
            fields.insert(f.name.clone(), json!(n));
        }
    }
    json!({"object": object, "fields": fields})
}

/// Decides the pop for `number` as `grants` allow, with `center`'s layout.
pub async fn decide(store: &dyn Store, grants: &Grants, center: Option<&SalesforceId>, call_type: CallType, number: Option<&str>) -> Result<Decided, ApiError> {
    let layout = super::layout::load(store, center).await?;
    let l = layout.for_type(call_type);
    let fallback = |reason: &str| Decided {
        pop: json!({"outcome": "fallback", "records": [], "newRecord": new_record_fields(store, &l.fallback.object, None),
                    "number": Json_::Null, "reason": reason, "hiddenMatches": 0}),
        outcome: "Fallback",
    };
    let raw = number.map(str::trim).filter(|n| !n.is_empty());
    let Some(raw) = raw else { return Ok(fallback("no caller id")) };
    if withheld(raw) {
        return Ok(fallback("caller id withheld"));
    }
    let Some(e164) = store.normalizer().normalize(raw) else { return Ok(fallback("caller id is not a phone number")) };
    let found = crate::query::lookup(store, e164.as_str()).await?;
    let found: Vec<_> = found.into_iter().filter(|(m, _)| l.search_order.contains(&m.object)).collect();
    let (seen, hidden) = crate::query::visible_matches(store, grants, found).await?;
    let mut seen_ids = std::collections::HashSet::new();
    let mut seen: Vec<_> = seen.into_iter().filter(|(m, _)| seen_ids.insert(m.id.clone())).collect();
    seen.sort_by_key(|(m, _)| l.search_order.iter().position(|o| o == &m.object));
    let user = store.schema().object("User").expect("standard object");
    let mut owners: HashMap<String, Json_> = HashMap::new();
    let mut records = Vec::with_capacity(seen.len());
    for (m, rec) in &seen {
        let owner_id = rec.get("OwnerId").and_then(Value::as_str).map(str::to_string);
        let owner = match owner_id {
            Some(id) => match owners.get(&id) {
                Some(name) => name.clone(),
                None => {
                    let name = match SalesforceId::parse(&id) {
                        Ok(uid) => store.get(user, &uid).await?.and_then(|u| u.get("Name").and_then(Value::as_str).map(|s| json!(s))).unwrap_or(Json_::Null),
                        Err(_) => Json_::Null,
                    };
                    owners.insert(id, name.clone());
                    name
                }
            },
            None => Json_::Null,
        };
        let label = store.schema().object(&m.object).map_or(m.object.as_str(), |o| o.label.as_str());
        records.push(json!({
            "id": m.id.to_string(), "object": m.object, "objectLabel": label,
            "name": rec.get("Name").and_then(Value::as_str),
            "owner": owner,
            "phone": rec.get(&m.field).and_then(Value::as_str),
        }));
    }
    let (outcome, stored, new_record) = match records.len() {
        1 => ("matched", "Matched", Json_::Null),
        0 => match l.no_match.action {
            NoMatchAction::New => ("new", "NewRecord", new_record_fields(store, &l.no_match.object, Some(e164.as_str()))),
            NoMatchAction::None => ("none", "None", Json_::Null),
        },
        _ => match l.multiple_matches {
            MultipleMatches::Chooser => ("chooser", "Chooser", Json_::Null),
            MultipleMatches::None => ("none", "None", Json_::Null),
        },
    };
    Ok(Decided {
        pop: json!({"outcome": outcome, "records": records, "newRecord": new_record, "number": e164.as_str(), "reason": Json_::Null, "hiddenMatches": hidden}),
        outcome: stored,
    })
}

/// A pop that could not be decided: still a form to work in, never a blank screen.
pub fn failed(fallback_object: &str) -> Decided {
    Decided {
        pop: json!({"outcome": "fallback", "records": [], "newRecord": {"object": fallback_object, "fields": {}},
                    "number": Json_::Null, "reason": "the caller lookup failed", "hiddenMatches": 0}),
        outcome: "Failed",
    }
}

/// The pop for an offer of `snap` to `agent`, with the agent's grants.
pub async fn for_offer(state: &AppState, agent: &AgentId, snap: &CallSnapshot) -> Decided {
    let store = state.store.as_ref();
    let center = match &snap.view.call_center {
        Some(c) => Some(c.clone()),
        None => super::user_center(store, agent.id()).await.ok().flatten(),
    };
    let grants = match crate::security::AccessCache::grants(&state.access, store, agent.id()).await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = %e, "screen pop: the agent's grants");
            return failed("Lead");
        }
    };
    match decide(store, &grants, center.as_ref(), CallType::Inbound, snap.view.from.as_deref()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(code = e.code, "screen pop: the lookup failed");
            let fallback = super::layout::load(store, center.as_ref()).await.map(|l| l.inbound.fallback.object).unwrap_or_else(|_| "Lead".into());
            failed(&fallback)
        }
    }
}

/// Stores the outcome on the VoiceCall (`ScreenPopOutcome`).
pub async fn record_outcome(store: &dyn Store, voice_call: &SalesforceId, outcome: &'static str) {
    let o = store.schema().object("VoiceCall").expect("standard object");
    if let Err(e) = store.update(o, voice_call, vec![("ScreenPopOutcome".into(), Value::Text(outcome.into()))], None).await {
        tracing::warn!(error = %e, "storing a screen pop's outcome");
    }
}
