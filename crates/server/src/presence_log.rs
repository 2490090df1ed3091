//! Time in presence status, kept as records: every status an agent is in is
//! one `UserServicePresence` (Omni-Channel's object) — opened when the status
//! is set, closed with its end and duration when the next one starts — so
//! the time-in-status report is SOQL over the store, like every other report,
//! and survives restarts.
//!
//! [`record`] is called by the two places presence changes
//! (`desktop::hub::set_status` and After Call Work), under the hub's
//! presence lock, so an agent's stretches never overlap.

use crate::error::ApiError;
use crate::sipedge::AgentSettings;
use dialtone_calls::AgentId;
use dialtone_model::{SalesforceId, Value, format_datetime, parse_datetime};
use dialtone_routing::Presence;
use dialtone_store::{Store, WriteOp};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const OBJECT: &str = "UserServicePresence";

/// Closes the agent's open stretch (if any) and opens one for `settings`'
/// status, in one transaction. The start is the status's `since`.
pub async fn record(store: &dyn Store, agent: &AgentId, settings: &AgentSettings) -> Result<(), ApiError> {
    let start = settings.since.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()).unwrap_or_else(OffsetDateTime::now_utc);
    let presence = settings.presence.unwrap_or(Presence::Offline);
    let name = crate::desktop::hub::status_name(settings);
    // A parsed id is letters and digits: safe in SOQL.
    let open = format!("SELECT Id, StatusStartDate FROM {OBJECT} WHERE UserId = '{}' AND IsCurrentState = true", agent.id());
    let rows = store.query(&crate::query::compile(store, &open)?, None).await?;
    let mut ops = Vec::with_capacity(rows.len() + 1);
    for row in rows {
        let Some(id) = row[0].as_str().and_then(|s| SalesforceId::parse(s).ok()) else { continue };
        let began = row[1].as_str().and_then(parse_datetime).unwrap_or(start);
        let end = start.max(began);
        ops.push(WriteOp::Update {
            object: OBJECT.into(),
            id,
            fields: vec![
                ("StatusEndDate".into(), Value::Text(format_datetime(end))),
                ("StatusDuration".into(), Value::Int((end - began).whole_seconds())),
                ("IsCurrentState".into(), Value::Bool(false)),
            ],
        });
    }
    let user = Value::Text(agent.id().to_string());
    ops.push(WriteOp::Insert {
        object: OBJECT.into(),
        fields: vec![
            ("UserId".into(), user.clone()),
            ("OwnerId".into(), user),
            ("StatusName".into(), Value::Text(name)),
            ("BasePresence".into(), Value::Text(presence.as_str().into())),
            ("StatusStartDate".into(), Value::Text(format_datetime(start))),
            ("IsCurrentState".into(), Value::Bool(true)),
        ],
    });
    store.write_batch(ops, None).await?;
    Ok(())
}
