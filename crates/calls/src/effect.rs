//! Outputs: record changes for the caller to apply to the store, and
//! notifications for agent desktops.

use crate::event::{AgentId, OfferOutcome, Speaker, VendorCallKey};
use dialtone_model::Value;

/// Field changes with Salesforce API names and the model's value forms
/// (date-times as [`dialtone_model::format_datetime`] text).
pub type Fields = Vec<(String, Value)>;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Exactly once per call, at the first input that mentions it, before any
    /// other effect about it. Carries `VendorCallKey` (create-only).
    CreateVoiceCall { key: VendorCallKey, fields: Fields },
    /// Only the fields that changed since the last create/update for `key`.
    UpdateVoiceCall { key: VendorCallKey, fields: Fields },
    /// One per recording id; `VoiceCallId` is filled (emitted only once the
    /// call's id is known through [`crate::Input::Stored`]).
    CreateRecording { key: VendorCallKey, recording: String, fields: Fields },
    /// One per transcript line (a `ConversationEntry` of the call); like
    /// recordings, emitted only once the call's id is known. The text is as
    /// the edge gave it, already redacted.
    CreateTranscriptEntry { key: VendorCallKey, entry: String, fields: Fields },
    /// The call's activity, once it has ended (if the call center writes Tasks).
    /// One Task per call leg; the caller finds it again by `CallObject` = key.
    CreateTask { key: VendorCallKey, fields: Fields },
    /// Later facts about a written Task (wrap-up, phone match, ids).
    UpdateTask { key: VendorCallKey, fields: Fields },
    Notify(Notification),
}

impl Effect {
    pub fn key(&self) -> &VendorCallKey {
        match self {
            Effect::CreateVoiceCall { key, .. }
            | Effect::UpdateVoiceCall { key, .. }
            | Effect::CreateRecording { key, .. }
            | Effect::CreateTranscriptEntry { key, .. }
            | Effect::CreateTask { key, .. }
            | Effect::UpdateTask { key, .. } => key,
            Effect::Notify(n) => &n.key,
        }
    }
}

/// A message for the agent desktop. `agent: None` means "whoever watches the
/// call" (its owner, supervisors); the server decides the audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub key: VendorCallKey,
    pub agent: Option<AgentId>,
    pub what: NotificationKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NotificationKind {
    /// Ring this agent's softphone (screen-pop is the server's business).
    Offered,
    /// An offer this agent saw is over.
    OfferClosed { result: OfferOutcome },
    /// The call ended while this agent's phone was still ringing: stop ringing.
    OfferWithdrawn,
    /// The telephony status changed (a `CallDisposition` picklist value).
    Status { disposition: &'static str },
    /// A live transcript line (never stored by this crate).
    Utterance { speaker: Speaker, text: String },
}
