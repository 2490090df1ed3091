//! Typed inputs: what the telephony edges, the phone lookup, the store and the
//! agent desktop tell the lifecycle. Every value here is built by parsing; past
//! that point nothing re-validates.

use dialtone_model::SalesforceId;
use std::fmt;
use std::time::Duration;
use time::OffsetDateTime;

/// Why a raw value could not become one of the typed values of this module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("a vendor call key must not be empty")]
    EmptyKey,
    #[error("a vendor call key has at most 255 characters; this one has {0}")]
    KeyTooLong(usize),
    #[error("a vendor call key must not contain control characters")]
    ControlCharacter,
    #[error("an agent is a User id (prefix 005); {0} is not")]
    NotAUser(String),
    #[error("an agent id is malformed: {0}")]
    BadId(#[from] dialtone_model::IdError),
    #[error("a queue name is 1 to 255 characters without control characters")]
    BadQueueName,
}

/// The provider's identifier of one call leg (SIP Call-ID, Twilio CallSid, ...).
/// Non-empty, at most 255 characters (the size of `VoiceCall.VendorCallKey`),
/// no control characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VendorCallKey(String);

impl VendorCallKey {
    pub fn parse(raw: &str) -> Result<VendorCallKey, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::EmptyKey);
        }
        let chars = raw.chars().count();
        if chars > 255 {
            return Err(ParseError::KeyTooLong(chars));
        }
        if raw.chars().any(char::is_control) {
            return Err(ParseError::ControlCharacter);
        }
        Ok(VendorCallKey(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VendorCallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for VendorCallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VendorCallKey({})", self.0)
    }
}

/// An agent: the id of a User record.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct AgentId(SalesforceId);

impl AgentId {
    pub fn parse(raw: &str) -> Result<AgentId, ParseError> {
        AgentId::new(SalesforceId::parse(raw)?)
    }

    pub fn new(id: SalesforceId) -> Result<AgentId, ParseError> {
        if id.key_prefix() == "005" { Ok(AgentId(id)) } else { Err(ParseError::NotAUser(id.to_string())) }
    }

    pub fn id(&self) -> &SalesforceId {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A queue's name as `VoiceCall.QueueName` holds it.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct QueueName(String);

impl QueueName {
    pub fn parse(raw: &str) -> Result<QueueName, ParseError> {
        let n = raw.trim();
        if n.is_empty() || n.chars().count() > 255 || n.chars().any(char::is_control) {
            return Err(ParseError::BadQueueName);
        }
        Ok(QueueName(n.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who reported the event. Sequence numbers are counted per provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Sip,
    Twilio,
    Partner,
    Simulator,
}

impl Provider {
    /// `VoiceCall.VendorType`.
    pub fn vendor_type(self) -> &'static str {
        match self {
            Provider::Sip => "Sip",
            Provider::Twilio => "Twilio",
            Provider::Partner => "PartnerTelephony",
            Provider::Simulator => "ContactCenter",
        }
    }

    /// `VoiceCall.CallOrigin`.
    pub fn call_origin(self) -> &'static str {
        match self {
            Provider::Sip => "SIP",
            Provider::Twilio => "Twilio",
            Provider::Partner => "Partner",
            Provider::Simulator => "Softphone",
        }
    }

    /// `VoiceCallRecording.Provider`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Sip => "SIP",
            Provider::Twilio => "Twilio",
            Provider::Partner => "Partner",
            Provider::Simulator => "Simulator",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
    }
}

/// How an offer to an agent ended. A missed offer (the agent's softphone rang
/// out unanswered) and a declined one (the agent pressed Decline) are distinct,
/// as is a routing timeout (the router withdrew the offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferOutcome {
    Accepted,
    Declined,
    TimedOut,
    Missed,
}

/// Where a transfer sends the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransferTarget {
    Agent(AgentId),
    Queue(QueueName),
    /// An external number, as the provider gave it.
    Number(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Speaker {
    Customer,
    Agent(AgentId),
    /// A bot or IVR speaking for the contact centre (partner telephony's VIRTUAL_AGENT).
    VirtualAgent,
}

/// Why the provider says the call ended. Names follow
/// `VoiceCall.DisconnectReason` where they map onto it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    CustomerDisconnect,
    AgentDisconnect,
    Failed,
    Busy,
    NoAnswer,
    Canceled,
    Voicemail,
}

impl EndReason {
    /// `VoiceCall.DisconnectReason`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::CustomerDisconnect => "CustomerDisconnect",
            EndReason::AgentDisconnect => "AgentDisconnect",
            EndReason::Failed => "Failed",
            EndReason::Busy => "Busy",
            EndReason::NoAnswer => "NoAnswer",
            EndReason::Canceled => "Canceled",
            EndReason::Voicemail => "Voicemail",
        }
    }
}

/// What happened on the call, as one provider reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The call exists. `from` and `to` are the provider's raw strings; they
    /// reach the record only if they fit a phone field (at most 40 characters).
    Initiated { direction: Direction, from: String, to: String, call_center: Option<SalesforceId> },
    Queued { queue: QueueName },
    Ringing,
    Offered { agent: AgentId },
    OfferResult { agent: AgentId, result: OfferOutcome },
    Answered { agent: AgentId },
    Held,
    Resumed,
    /// The provider's own hold figures for the whole call (partner telephony
    /// reports totals, not hold and resume events). They replace what Held and
    /// Resumed facts add up to; of several reports the latest in fact order
    /// wins. `longest` unknown: the total for one hold, else the longest
    /// Held/Resumed pair, never more than the total.
    HoldsReported { count: u32, total: Duration, longest: Option<Duration> },
    /// This leg ends; the caller continues on `new_leg`, a call of its own.
    Transferred { to: TransferTarget, new_leg: VendorCallKey },
    Conferenced,
    RecordingAvailable { recording: String, url: String, duration: Duration },
    TranscriptUtterance { speaker: Speaker, text: String },
    Ended { reason: EndReason },
    Failed { reason: String },
    Voicemail { url: String },
}

/// One provider event about one call leg.
///
/// `(provider, key, seq)` identifies the event: a second copy changes nothing.
/// `seq` is monotone per call as the provider emits them (Twilio's
/// SequenceNumber; the SIP edge counts its own). `at` is when it happened by
/// the provider's clock (the edge's receive time if the provider gives none);
/// facts are ordered by `(at, provider, seq)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    pub key: VendorCallKey,
    pub provider: Provider,
    pub seq: u64,
    pub at: OffsetDateTime,
    pub kind: EventKind,
}

/// Everything [`crate::Lifecycle::handle`] accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Event(CallEvent),
    /// The store created the VoiceCall for `key` (in answer to
    /// [`crate::Effect::CreateVoiceCall`]) and gave it this id. Needed for
    /// Previous/NextCallId, VoiceCallRecording.VoiceCallId and Task.WhatId.
    Stored { key: VendorCallKey, id: SalesforceId },
    /// The caller's phone lookup chose this record (Contact, Lead, Account,
    /// Case or Opportunity). Transfer legs inherit it.
    Matched { key: VendorCallKey, record: SalesforceId },
    /// The agent's business outcome, from the call center's controlled
    /// picklist. Comes from the agent desktop, not from a provider, so it has
    /// no provider sequence: the latest wrap-up wins; its time is `now`.
    WrapUp { key: VendorCallKey, resolution: String, notes: Option<String> },
}
