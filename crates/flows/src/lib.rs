//! Record-triggered automation ("flows"), sans-IO.
//!
//! A [`Flow`] says which changes of which object it reacts to ([`Trigger`]),
//! an optional condition (SOQL WHERE text, planned and run by the server), and
//! ordered [`Action`]s. Given a committed [`Change`], [`matching`] picks the
//! flows that fire, in their defined order (ExecutionOrder, then Name).
//! [`template`] fills action values (`{!Id}`, `{!Account.Name}`, `{!$Now}`,
//! `{!$Today+2}`), [`RetryPolicy`] says when a failed run is tried again and
//! when it is parked, [`signature`] signs and verifies webhook bodies, and
//! [`threshold`] decides when an alert fires (edge-triggered, with a cooldown).
//!
//! *Never does I/O and never reads the clock: time is passed in. Never parses
//! SOQL: a condition is text the server plans with `dialtone-soql`.*
//!
//! The action list is a small document format stored in the Flow record's
//! `Actions` field (JSON) and in the admin's YAML/JSON file, so [`Action`]
//! derives serde here, as `dialtone-callcenter` owns its XML: the format
//! belongs to the crate that defines its meaning.

pub mod signature;
pub mod template;
pub mod threshold;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::Duration;

/// When a flow fires.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Created,
    Updated,
    CreatedOrUpdated,
    /// The field changed (on create: was given) and its new value is `value`
    /// (compared case-insensitively, as SOQL compares text).
    FieldChangedTo { field: String, value: String },
    /// Evaluated on a timer, not on changes (see [`threshold`]).
    Threshold(threshold::ThresholdSpec),
}

/// One action of a flow, as admins write it (YAML or JSON, one key per
/// action: `{create: {object: Task, fields: {…}}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ActionMap", into = "ActionMap")]
pub enum Action {
    /// Sets fields on the triggering record, or on the record a reference
    /// field of it points at (`record: RelatedRecordId`).
    Update { record: Option<String>, fields: BTreeMap<String, String> },
    /// Creates a record of any object.
    Create { object: String, fields: BTreeMap<String, String> },
    /// Converts a Lead (the triggering record, or the one `lead` points at)
    /// to an Account and a Contact.
    ConvertLead { lead: Option<String> },
    /// POSTs the record as JSON, signed (see [`signature`]).
    Webhook {
        url: String,
        /// The name of a sealed credential holding the signing secret.
        secret: String,
    },
    /// Asks routing for a callback for the triggering VoiceCall.
    Callback {},
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<String>,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateSpec {
    object: String,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LeadSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lead: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WebhookSpec {
    url: String,
    secret: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// The written form: a map with exactly one of these keys (YAML's serde
/// reads enums only as `!tags`, which admins should not have to write).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActionMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update: Option<UpdateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create: Option<CreateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    convert_lead: Option<LeadSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    webhook: Option<WebhookSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    callback: Option<Empty>,
}

impl TryFrom<ActionMap> for Action {
    type Error = String;
    fn try_from(m: ActionMap) -> Result<Action, String> {
        let mut out = Vec::new();
        if let Some(u) = m.update {
            out.push(Action::Update { record: u.record, fields: u.fields });
        }
        if let Some(c) = m.create {
            out.push(Action::Create { object: c.object, fields: c.fields });
        }
        if let Some(l) = m.convert_lead {
            out.push(Action::ConvertLead { lead: l.lead });
        }
        if let Some(w) = m.webhook {
            out.push(Action::Webhook { url: w.url, secret: w.secret });
        }
        if m.callback.is_some() {
            out.push(Action::Callback {});
        }
        match out.len() {
            1 => Ok(out.remove(0)),
            0 => Err("an action is one of update, create, convertLead, webhook, callback".into()),
            _ => Err("an action has exactly one of update, create, convertLead, webhook, callback (make two actions)".into()),
        }
    }
}

impl From<Action> for ActionMap {
    fn from(a: Action) -> ActionMap {
        let mut m = ActionMap::default();
        match a {
            Action::Update { record, fields } => m.update = Some(UpdateSpec { record, fields }),
            Action::Create { object, fields } => m.create = Some(CreateSpec { object, fields }),
            Action::ConvertLead { lead } => m.convert_lead = Some(LeadSpec { lead }),
            Action::Webhook { url, secret } => m.webhook = Some(WebhookSpec { url, secret }),
            Action::Callback {} => m.callback = Some(Empty {}),
        }
        m
    }
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Update { .. } => "update",
            Action::Create { .. } => "create",
            Action::ConvertLead { .. } => "convertLead",
            Action::Webhook { .. } => "webhook",
            Action::Callback {} => "callback",
        }
    }

    /// Whether a failure of this action is worth retrying (network), or will
    /// fail the same way again (validation).
    pub fn retryable(&self) -> bool {
        matches!(self, Action::Webhook { .. })
    }
}

/// A flow definition (read from a Flow record).
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: String,
    pub name: String,
    pub object: String,
    pub trigger: Trigger,
    /// SOQL WHERE text; the record must match it when the run executes.
    pub condition: Option<String>,
    pub actions: Vec<Action>,
    pub order: i64,
    pub active: bool,
}

/// What kind of write made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Created,
    Updated,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Created => "created",
            Op::Updated => "updated",
        }
    }
    pub fn parse(s: &str) -> Option<Op> {
        match s {
            "created" => Some(Op::Created),
            "updated" => Some(Op::Updated),
            _ => None,
        }
    }
}

/// One field's old and new value, as text (`None` is null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// One committed change (an outbox row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: i64,
    pub object: String,
    pub record_id: String,
    pub op: Op,
    /// Only fields whose value changed (on create: every field given).
    pub deltas: Vec<Delta>,
    /// 0 for a change made by a person or a telephony edge; one more than the
    /// run's for a change made by a flow's action.
    pub depth: u32,
}

impl Change {
    pub fn delta(&self, field: &str) -> Option<&Delta> {
        self.deltas.iter().find(|d| d.field.eq_ignore_ascii_case(field))
    }
}

/// How deep a chain of flows may go: a change made by an action made by an
/// action … at this depth runs nothing (its runs are Skipped, saying why).
pub const MAX_DEPTH: u32 = 5;

/// Whether `flow`'s trigger fires for `change` (object, activity and trigger;
/// the condition is the server's to evaluate).
pub fn fires(flow: &Flow, change: &Change) -> bool {
    if !flow.active || !flow.object.eq_ignore_ascii_case(&change.object) {
        return false;
    }
    match (&flow.trigger, change.op) {
        (Trigger::Created, Op::Created) | (Trigger::Updated, Op::Updated) | (Trigger::CreatedOrUpdated, _) => true,
        (Trigger::FieldChangedTo { field, value }, _) => change.delta(field).is_some_and(|d| {
            let new = d.new.as_deref().unwrap_or("");
            let old = d.old.as_deref().unwrap_or("");
            new.eq_ignore_ascii_case(value) && !old.eq_ignore_ascii_case(value)
        }),
        _ => false,
    }
}

/// The flows `change` fires, in the defined order: ExecutionOrder, then Name
/// (case-insensitive), then id.
pub fn matching<'a>(flows: &'a [Flow], change: &Change) -> Vec<&'a Flow> {
    let mut out: Vec<&Flow> = flows.iter().filter(|f| fires(f, change)).collect();
    out.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The objects with at least one active change-triggered flow (the store
/// writes outbox rows only for these).
pub fn watched_objects(flows: &[Flow]) -> Vec<String> {
    let mut out: Vec<String> =
        flows.iter().filter(|f| f.active && !matches!(f.trigger, Trigger::Threshold(_))).map(|f| f.object.clone()).collect();
    out.sort();
    out.dedup();
    out
}

/// When a failed run is tried again: `base` doubled per attempt up to `cap`;
/// after `max_attempts` attempts the run is parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, 4 min … capped at 1 hour; parked after 8 attempts.
    fn default() -> Self {
        RetryPolicy { base: Duration::seconds(30), cap: Duration::hours(1), max_attempts: 8 }
    }
}

impl RetryPolicy {
    /// After `attempts` failed attempts (1 after the first), how long to wait
    /// before the next, or `None`: park it.
    pub fn next_delay(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts || attempts == 0 {
            return (attempts == 0).then_some(Duration::ZERO);
        }
        let factor = 1i64.checked_shl(attempts.saturating_sub(1).min(40)).unwrap_or(i64::MAX);
        let ms = (self.base.whole_milliseconds() as i64).saturating_mul(factor);
        Some(Duration::milliseconds(ms).min(self.cap))
    }
}

#[cfg(test)]
mod tests;
