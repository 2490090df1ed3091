//! Routing configuration as plain values: what an admin defines — as
//! records through the REST API and console, or as one YAML/JSON file — with
//! every reference written as a name. The server loads records into a
//! [`RoutingSpec`]; [`crate::service::Routing::apply`] checks it and brings a
//! running engine up to date without a restart.
//!
//! No serde here (the server owns the file and wire formats) and no store.

use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use time::Duration;

pub use crate::engine::{BusinessHours, RoutingModel};

/// Everything routing is configured with. Names are compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingSpec {
    pub channels: Vec<ChannelSpec>,
    /// Presence statuses that open channels. The built-in bases (Available,
    /// Busy, Away, Offline, AfterCallWork) need no record: Available opens
    /// every channel, the others none. A record named like a built-in
    /// replaces it; an org status (`Lunch`, base Away) with no record routes
    /// as its base.
    pub statuses: Vec<StatusSpec>,
    pub skills: Vec<String>,
    pub hours: Vec<HoursSpec>,
    pub queues: Vec<QueueSpec>,
    /// Agents' routing settings. An agent of a call center with no entry
    /// gets capacity 1 and the call center's default queues.
    pub agents: Vec<AgentSpec>,
    /// Which queue an arriving call goes to and what skills it needs; the
    /// first matching rule by `order` wins. No rule: the call center's
    /// default queue.
    pub rules: Vec<RuleSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    /// `voice`, `case`, `chat`, …  (`voice` always exists, weight 1, unless given.)
    pub name: String,
    /// Capacity units one item of this channel takes (at least 1).
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSpec {
    pub name: String,
    /// Channel names this status opens (empty: a busy / away kind of status).
    pub channels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursSpec {
    pub name: String,
    pub hours: BusinessHours,
}

/// Where an item goes when a queue's rule sends it away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// The back of another queue (by name; chains must not loop).
    Queue(String),
    Voicemail,
    /// The caller keeps their place and is called back.
    Callback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub name: String,
    /// Channel name (default `voice`).
    pub channel: String,
    /// Calls of this call center that no rule places come here (one default queue per call center).
    pub call_center: Option<SalesforceId>,
    /// Lower goes first.
    pub priority: u8,
    pub model: RoutingModel,
    /// Capacity units an item takes; the channel's weight when `None`.
    pub units: Option<u32>,
    pub push_timeout: Duration,
    pub overflow: Option<(Duration, TargetSpec)>,
    pub when_nobody_signed_in: Option<TargetSpec>,
    /// Business hours (by name) and where calls go outside them.
    pub hours: Option<(String, TargetSpec)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub user: AgentId,
    /// Total capacity units.
    pub capacity: u32,
    /// Per channel (by name) limits within the total.
    pub channel_caps: Vec<(String, u32)>,
    /// Skill name and level (1–10).
    pub skills: Vec<(String, u8)>,
    /// Queue names; empty: the agent's call center's default queues.
    pub queues: Vec<String>,
}

/// A skill a rule asks for; optional ones are dropped after `relax_after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillNeed {
    pub skill: String,
    pub level: u8,
    pub relax_after: Option<Duration>,
}

/// Which calls a rule matches: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub call_center: Option<SalesforceId>,
    /// The dialled number, E.164 (`+18005550100`).
    pub dialled: Option<String>,
    /// The caller's choice in the IVR (a digit or a word the edge reports).
    pub ivr_choice: Option<String>,
    /// A field of the caller's matched record (`Contact.Language__c`,
    /// `Account.Rating`…) and the value it must have (case-insensitive).
    pub record_field: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub name: String,
    /// Lower is tried first.
    pub order: u32,
    pub when: Conditions,
    /// The queue (by name); `None`: the call center's default queue.
    pub queue: Option<String>,
    pub skills: Vec<SkillNeed>,
}
