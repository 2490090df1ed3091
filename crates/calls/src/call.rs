//! One call leg as a set of facts, and the record derived from them.
//!
//! A [`Call`] never changes a status "in place". It keeps every distinct fact
//! it has heard (deduplicated by `(provider, seq)`), ordered by
//! `(at, provider, seq)`, and derives its [`CallView`] by folding over that
//! ordered set. The view — and so the VoiceCall record — is therefore a
//! function of the *set* of facts, not of the order they arrived in: any
//! interleaving, duplication or reordering of the same events yields the same
//! final record.
//!
//! The merge rules, in short:
//! - start: `Initiated.at`, else the earliest fact (or the transfer that
//!   created this leg);
//! - the first terminal fact (Ended, Failed, Transferred, a reap) decides the
//!   end time and the disconnect reason (a Voicemail fact does only when no
//!   other terminal fact exists); terminal is terminal — nothing later in
//!   time reopens the call;
//! - the disposition is a function of the terminal fact and of whether any
//!   Answered fact exists (a voicemail fact makes it `voicemail`);
//! - holds are paired Held/Resumed in time order; a hold still open at the
//!   end closes at the end; a provider's reported totals (the latest
//!   `HoldsReported`) replace the paired figures;
//! - offers are matched to their results in time order, per agent.

use crate::event::{
    AgentId, CallEvent, Direction, EndReason, EventKind, OfferOutcome, Provider, QueueName, Speaker, TransferTarget, VendorCallKey,
};
use dialtone_model::{SalesforceId, Value, format_date, format_datetime};
use std::collections::{BTreeMap, HashSet};
use time::{Duration, OffsetDateTime};

/// Why the reaper closed a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReapReason {
    /// Older than `Config::max_call_age` with no end: DisconnectReason `Reaped`.
    MaxAge,
    /// Unanswered and silent for `Config::ring_timeout`: DisconnectReason `Timeout`.
    RingTimeout,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fact {
    Event(EventKind),
    Reap(ReapReason),
}

/// `(at, provider, seq)`; reaps have no provider and sort first at equal times.
type FactKey = (OffsetDateTime, Option<Provider>, u64);

/// Telephony status: `VoiceCall.CallDisposition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    New,
    Ringing,
    InProgress,
    OnHold,
    Completed,
    Failed,
    Busy,
    NoAnswer,
    Canceled,
    Voicemail,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::New => "new",
            Disposition::Ringing => "ringing",
            Disposition::InProgress => "in-progress",
            Disposition::OnHold => "on-hold",
            Disposition::Completed => "completed",
            Disposition::Failed => "failed",
            Disposition::Busy => "busy",
            Disposition::NoAnswer => "no-answer",
            Disposition::Canceled => "canceled",
            Disposition::Voicemail => "voicemail",
        }
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, Disposition::New | Disposition::Ringing | Disposition::InProgress | Disposition::OnHold)
    }
}

/// One offer of the call to one agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub agent: AgentId,
    /// `None` when only the result was ever heard.
    pub offered_at: Option<OffsetDateTime>,
    /// `None` while the agent's phone is ringing (or if no result ever came).
    pub result: Option<OfferOutcome>,
    pub decided_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Holds {
    /// `NumberOfHolds`.
    pub count: u32,
    /// `CustomerHoldDuration`: closed holds, summed in milliseconds, reported in whole seconds.
    pub total: Duration,
    /// `LongestHoldDuration`.
    pub longest: Duration,
    /// Set while the customer is on hold.
    pub since: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub id: String,
    pub provider: Provider,
    pub url: String,
    pub duration: std::time::Duration,
}

/// One transcript line, in the order the provider's clock puts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// `provider:seq`: the line's identity (a repeated event is the same line).
    pub id: String,
    pub at: OffsetDateTime,
    pub speaker: Speaker,
    pub text: String,
}

/// The agent's wrap-up.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapUp {
    pub resolution: String,
    pub notes: Option<String>,
    pub at: OffsetDateTime,
}

/// What a transfer leg takes from the leg before it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Inherited {
    pub provider: Option<Provider>,
    pub direction: Option<Direction>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_center: Option<SalesforceId>,
    pub related: Option<SalesforceId>,
    pub queue: Option<QueueName>,
    pub transferred_at: Option<OffsetDateTime>,
}

/// The links of a transfer chain and the store ids they need.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Links {
    pub id: Option<SalesforceId>,
    pub previous: Option<VendorCallKey>,
    pub next: Option<VendorCallKey>,
    pub previous_id: Option<SalesforceId>,
    pub next_id: Option<SalesforceId>,
}

/// Everything known about a call, derived from its facts.
#[derive(Debug, Clone, PartialEq)]
pub struct CallView {
    pub disposition: Disposition,
    /// `DisconnectReason`, once the call has ended.
    pub disconnect_reason: Option<&'static str>,
    pub offers: Vec<Offer>,
    pub holds: Holds,
    pub start: OffsetDateTime,
    pub queued_at: Option<OffsetDateTime>,
    pub accepted_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    /// Salesforce's meaning: the whole call, `CallEndDateTime − CallStartDateTime`,
    /// in whole seconds — queue and ring time included, not only talk time.
    pub duration_seconds: Option<i64>,
    /// The answering agent (the first Answered fact).
    pub owner: Option<AgentId>,
    pub queue: Option<QueueName>,
    pub direction: Option<Direction>,
    pub provider: Provider,
    pub from: Option<String>,
    pub to: Option<String>,
    pub call_center: Option<SalesforceId>,
    pub related: Option<SalesforceId>,
    pub recordings: Vec<Recording>,
    pub initiated: bool,
    pub answered: bool,
    /// The leg the caller continued on, from this leg's Transferred fact.
    pub transferred_to: Option<(VendorCallKey, TransferTarget)>,
}

/// The contact-centre measures of a call, as stored on its VoiceCall so
/// that every report is plain SOQL over the record:
///
/// - `outcome`: Answered once an agent accepted; when the call ends without
///   one, Voicemail, Failed, Abandoned (an inbound caller who hung up or was
///   never answered) or Missed (an outbound call nobody picked up).
/// - `speed_of_answer`: from entering the queue (or the start, when the call
///   was never queued) to the agent's accept.
/// - `talk`: from accept to end, less the time on hold.
/// - `handle`: talk + hold + after-call work (the wrap-up's save), the
///   industry's average handle time numerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measures {
    pub outcome: Option<&'static str>,
    pub speed_of_answer: Option<i64>,
    pub talk: Option<i64>,
    pub handle: Option<i64>,
}

impl Measures {
    pub(crate) fn of(v: &CallView, wrap: Option<&WrapUp>) -> Measures {
        let secs = |d: time::Duration| d.whole_seconds().max(0);
        let outcome = match (v.accepted_at, v.ended_at) {
            (Some(_), _) => Some("Answered"),
            (None, None) => None,
            (None, Some(_)) => Some(match (v.disposition, v.direction) {
                (Disposition::Voicemail, _) => "Voicemail",
                (Disposition::Failed, _) => "Failed",
                (_, Some(Direction::Outbound)) => "Missed",
                _ => "Abandoned",
            }),
        };
        let speed_of_answer = v.accepted_at.map(|a| secs(a - v.queued_at.unwrap_or(v.start)));
        let (talk, handle) = match (v.accepted_at, v.ended_at) {
            (Some(a), Some(e)) => {
                let hold = v.holds.total.whole_seconds().max(0);
                let talk = (secs(e - a) - hold).max(0);
                let acw = wrap.filter(|w| w.at >= e).map_or(0, |w| secs(w.at - e));
                (Some(talk), Some(talk + hold + acw))
            }
            _ => (None, None),
        };
        Measures { outcome, speed_of_answer, talk, handle }
    }
}

/// One live call leg.
#[derive(Debug, Clone)]
pub struct Call {
    key: VendorCallKey,
    facts: BTreeMap<FactKey, Fact>,
    seen: HashSet<(Provider, u64)>,
    reaps: u64,
    pub(crate) links: Links,
    pub(crate) own_match: Option<SalesforceId>,
    pub(crate) inherited: Inherited,
    pub(crate) wrap_up: Option<WrapUp>,
    /// Lifecycle clock: first input about the call, last provider event.
    pub(crate) first_seen: OffsetDateTime,
    pub(crate) last_activity: OffsetDateTime,
    /// Lifecycle clock: when the call was first seen terminal.
    pub(crate) ended_seen: Option<OffsetDateTime>,
    /// Write the Task even though the call center is still unknown.
    pub(crate) force_task: bool,
    pub(crate) emitted: Option<Record>,
    pub(crate) task_emitted: Option<Record>,
    pub(crate) recordings_emitted: HashSet<String>,
    /// Transcript lines not yet handed out for storage (the VoiceCall id is
    /// not known yet); once handed out only their sequence stays, in `seen`.
    pub(crate) pending_utterances: Vec<Utterance>,
    pub(crate) offers_notified: HashSet<(AgentId, Option<OffsetDateTime>)>,
    pub(crate) offers_closed: HashSet<(AgentId, Option<OffsetDateTime>)>,
    pub(crate) status_notified: Option<Disposition>,
    view: Option<CallView>,
}

/// A derived field map, by API name.
pub(crate) type Record = BTreeMap<&'static str, Value>;

/// Phone fields hold at most 40 characters; a longer raw address (a SIP URI)
/// is left out rather than cut.
const PHONE_MAX: usize = 40;
const NOTES_MAX: usize = 32000;

impl Call {
    pub(crate) fn new(key: VendorCallKey, now: OffsetDateTime) -> Call {
        Call {
            key,
            facts: BTreeMap::new(),
            seen: HashSet::new(),
            reaps: 0,
            links: Links::default(),
            own_match: None,
            inherited: Inherited::default(),
            wrap_up: None,
            first_seen: now,
            last_activity: now,
            ended_seen: None,
            force_task: false,
            emitted: None,
            task_emitted: None,
            recordings_emitted: HashSet::new(),
            pending_utterances: Vec::new(),
            offers_notified: HashSet::new(),
            offers_closed: HashSet::new(),
            status_notified: None,
            view: None,
        }
    }

    pub fn key(&self) -> &VendorCallKey {
        &self.key
    }

    /// The store's id of this call's VoiceCall, once known.
    pub fn record_id(&self) -> Option<&SalesforceId> {
        self.links.id.as_ref()
    }

    pub fn previous(&self) -> Option<&VendorCallKey> {
        self.links.previous.as_ref()
    }

    pub fn next(&self) -> Option<&VendorCallKey> {
        self.links.next.as_ref()
    }

    pub fn wrap_up(&self) -> Option<&WrapUp> {
        self.wrap_up.as_ref()
    }

    /// The derived state.
    pub fn view(&self) -> CallView {
        self.view.clone().unwrap_or_else(|| self.derive())
    }

    pub(crate) fn cached_view(&mut self) -> &CallView {
        if self.view.is_none() {
            self.view = Some(self.derive());
        }
        self.view.as_ref().expect("just derived")
    }

    pub(crate) fn invalidate(&mut self) {
        self.view = None;
    }

    /// Adds a provider event; `false` if it is a duplicate.
    pub(crate) fn insert(&mut self, ev: &CallEvent) -> bool {
        if !self.seen.insert((ev.provider, ev.seq)) {
            return false;
        }
        if let EventKind::TranscriptUtterance { speaker, text } = &ev.kind {
            // Never part of the VoiceCall record: held only until it is handed
            // out for storage, then only its sequence number is kept, so a long
            // call stays small.
            let id = format!("{}:{}", ev.provider.name(), ev.seq);
            self.pending_utterances.push(Utterance { id, at: ev.at, speaker: speaker.clone(), text: text.clone() });
            return true;
        }
        self.facts.insert((ev.at, Some(ev.provider), ev.seq), Fact::Event(ev.kind.clone()));
        self.view = None;
        true
    }

    pub(crate) fn reap(&mut self, now: OffsetDateTime, reason: ReapReason) {
        self.reaps += 1;
        self.facts.insert((now, None, self.reaps), Fact::Reap(reason));
        self.view = None;
    }

    /// The related record: the phone match for this leg, else the previous leg's.
    fn related(&self) -> Option<SalesforceId> {
        self.own_match.clone().or_else(|| self.inherited.related.clone())
    }

    /// What the leg after this one (if a transfer made one) takes from it.
    pub(crate) fn inheritance(&mut self) -> Inherited {
        let related = self.related();
        let v = self.cached_view();
        let (queue, transferred_at) = match &v.transferred_to {
            Some((_, TransferTarget::Queue(q))) => (Some(q.clone()), v.ended_at),
            _ => (None, v.ended_at),
        };
        Inherited {
            provider: Some(v.provider),
            direction: v.direction,
            from: v.from.clone(),
            to: v.to.clone(),
            call_center: v.call_center.clone(),
            related,
            queue,
            transferred_at,
        }
    }

    /// The fold. See the module documentation for the rules.
    fn derive(&self) -> CallView {
        let inh = &self.inherited;
        let mut initiated: Option<(OffsetDateTime, Provider, Direction, String, String, Option<SalesforceId>)> = None;
        let mut first: Option<(OffsetDateTime, Option<Provider>)> = None;
        let mut queued_at = None;
        let mut queue = None;
        let mut rang = false;
        let mut offers: Vec<Offer> = Vec::new();
        let mut accepted: Option<(OffsetDateTime, AgentId)> = None;
        let mut holds = Holds::default();
        let mut end: Option<(OffsetDateTime, &Fact)> = None;
        let mut voicemail = false;
        // A voicemail ends the call only if nothing else does (the provider
        // usually reports the message after the hang-up).
        let mut voicemail_at: Option<(OffsetDateTime, &Fact)> = None;
        let mut recordings: Vec<Recording> = Vec::new();
        let mut transferred_to = None;
        let mut reported_holds = None;

        fn decide(offers: &mut Vec<Offer>, agent: &AgentId, result: OfferOutcome, at: OffsetDateTime, create: bool) {
            if let Some(o) = offers.iter_mut().find(|o| &o.agent == agent && o.result.is_none()) {
                o.result = Some(result);
                o.decided_at = Some(at);
            } else if create {
                offers.push(Offer { agent: agent.clone(), offered_at: None, result: Some(result), decided_at: Some(at) });
            }
        }

        for ((at, provider, _), fact) in &self.facts {
            let at = *at;
            if first.is_none() {
                first = Some((at, *provider));
            }
            let terminal = match fact {
                Fact::Reap(_) => true,
                Fact::Event(kind) => match kind {
                    EventKind::Initiated { direction, from, to, call_center } => {
                        if initiated.is_none() {
                            let p = provider.unwrap_or(Provider::Simulator);
                            initiated = Some((at, p, *direction, from.clone(), to.clone(), call_center.clone()));
                        }
                        false
                    }
                    EventKind::Queued { queue: q } => {
                        queued_at.get_or_insert(at);
                        queue = Some(q.clone());
                        false
                    }
                    EventKind::Ringing => {
                        rang = true;
                        false
                    }
                    EventKind::Offered { agent } => {
                        rang = true;
                        offers.push(Offer { agent: agent.clone(), offered_at: Some(at), result: None, decided_at: None });
                        false
                    }
                    EventKind::OfferResult { agent, result } => {
                        decide(&mut offers, agent, *result, at, true);
                        false
                    }
                    EventKind::Answered { agent } => {
                        if accepted.is_none() {
                            accepted = Some((at, agent.clone()));
                        }
                        decide(&mut offers, agent, OfferOutcome::Accepted, at, false);
                        false
                    }
                    EventKind::Held => {
                        if end.is_none() && holds.since.is_none() {
                            holds.since = Some(at);
                            holds.count += 1;
                        }
                        false
                    }
                    EventKind::Resumed => {
                        if end.is_none()
                            && let Some(since) = holds.since.take()
                        {
                            close_hold(&mut holds, at - since);
                        }
                        false
                    }
                    EventKind::HoldsReported { count, total, longest } => {
                        reported_holds = Some((*count, *total, *longest));
                        false
                    }
                    EventKind::Transferred { to, new_leg } => {
                        if transferred_to.is_none() {
                            transferred_to = Some((new_leg.clone(), to.clone()));
                        }
                        true
                    }
                    EventKind::Conferenced | EventKind::TranscriptUtterance { .. } => false,
                    EventKind::RecordingAvailable { recording, url, duration } => {
                        if !recordings.iter().any(|r| &r.id == recording) {
                            recordings.push(Recording {
                                id: recording.clone(),
                                provider: provider.unwrap_or(Provider::Simulator),
                                url: url.clone(),
                                duration: *duration,
                            });
                        }
                        false
                    }
                    EventKind::Ended { reason } => {
                        if *reason == EndReason::Voicemail {
                            voicemail = true;
                        }
                        true
                    }
                    EventKind::Failed { .. } => true,
                    EventKind::Voicemail { .. } => {
                        voicemail = true;
                        voicemail_at.get_or_insert((at, fact));
                        false
                    }
                },
            };
            if terminal && end.is_none() {
                end = Some((at, fact));
            }
        }

        let end = end.or(voicemail_at);
        if let (Some(since), Some((end_at, _))) = (holds.since, end) {
            holds.since = None;
            close_hold(&mut holds, end_at - since);
        }
        if let Some((count, total, longest)) = reported_holds {
            let total = Duration::try_from(total).unwrap_or(Duration::MAX);
            let longest = match longest {
                Some(l) => Duration::try_from(l).unwrap_or(Duration::MAX),
                None if count <= 1 => total,
                None => holds.longest,
            };
            holds.count = count;
            holds.total = total;
            holds.longest = longest.min(total);
        }
        let answered = accepted.is_some();
        let disposition = match end {
            Some(_) if voicemail => Disposition::Voicemail,
            Some((_, fact)) => terminal_disposition(fact, answered),
            None if holds.since.is_some() => Disposition::OnHold,
            None if answered => Disposition::InProgress,
            None if rang => Disposition::Ringing,
            None => Disposition::New,
        };
        let disconnect_reason = end.map(|(_, f)| disconnect_reason(f));
        let own_start = first.map(|(t, _)| t);
        let start = match &initiated {
            Some((t, ..)) => *t,
            None => match (own_start, inh.transferred_at) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(self.first_seen),
            },
        };
        let ended_at = end.map(|(t, _)| t);
        let duration_seconds = ended_at.map(|e| (e - start).whole_seconds().max(0));
        let provider = initiated
            .as_ref()
            .map(|i| i.1)
            .or(inh.provider)
            .or(first.and_then(|(_, p)| p))
            .unwrap_or(Provider::Simulator);
        let (direction, from, to, call_center) = match initiated {
            Some((_, _, d, f, t, cc)) => (Some(d), Some(f), Some(t), cc.or_else(|| inh.call_center.clone())),
            None => (inh.direction, inh.from.clone(), inh.to.clone(), inh.call_center.clone()),
        };
        CallView {
            disposition,
            disconnect_reason,
            offers,
            holds,
            start,
            queued_at,
            accepted_at: accepted.as_ref().map(|(t, _)| *t),
            ended_at,
            duration_seconds,
            owner: accepted.map(|(_, a)| a),
            queue: queue.or_else(|| inh.queue.clone()),
            direction,
            provider,
            from,
            to,
            call_center,
            related: self.related(),
            recordings,
            initiated: self.facts.values().any(|f| matches!(f, Fact::Event(EventKind::Initiated { .. }))),
            answered,
            transferred_to,
        }
    }

    /// The VoiceCall fields this call should have now.
    pub(crate) fn record(&mut self) -> Record {
        let key = self.key.as_str().to_string();
        let links = self.links.clone();
        let wrap = self.wrap_up.clone();
        let v = self.cached_view();
        let mut r = Record::new();
        let text = |s: &str| Value::Text(s.to_string());
        let dt = |t: OffsetDateTime| Value::Text(format_datetime(t));
        r.insert("VendorCallKey", Value::Text(key));
        r.insert("VendorType", text(v.provider.vendor_type()));
        r.insert("CallOrigin", text(v.provider.call_origin()));
        let call_type = if links.previous.is_some() { Some("Transfer") } else { v.direction.map(Direction::as_str) };
        if let Some(t) = call_type {
            r.insert("CallType", text(t));
        }
        r.insert("CallDisposition", text(v.disposition.as_str()));
        if let Some(reason) = v.disconnect_reason {
            r.insert("DisconnectReason", text(reason));
        }
        r.insert("CallStartDateTime", dt(v.start));
        if let Some(t) = v.queued_at {
            r.insert("CallQueuedDateTime", dt(t));
        }
        if let Some(t) = v.accepted_at {
            r.insert("CallAcceptDateTime", dt(t));
        }
        if let Some(t) = v.ended_at {
            r.insert("CallEndDateTime", dt(t));
        }
        if let Some(s) = v.duration_seconds {
            r.insert("CallDurationInSeconds", Value::Int(s));
        }
        for (name, number) in [("FromPhoneNumber", &v.from), ("ToPhoneNumber", &v.to)] {
            if let Some(n) = number.as_deref().map(str::trim)
                && !n.is_empty()
                && n.chars().count() <= PHONE_MAX
            {
                r.insert(name, text(n));
            }
        }
        if let Some(q) = &v.queue {
            r.insert("QueueName", text(q.as_str()));
        }
        if let Some(id) = &v.related {
            r.insert("RelatedRecordId", text(id.as_str()));
        }
        if let Some(id) = &links.previous_id {
            r.insert("PreviousCallId", text(id.as_str()));
        }
        if let Some(id) = &links.next_id {
            r.insert("NextCallId", text(id.as_str()));
        }
        if let Some(id) = &v.call_center {
            r.insert("CallCenterId", text(id.as_str()));
        }
        if let Some(a) = &v.owner {
            r.insert("OwnerId", text(a.id().as_str()));
        }
        if v.holds.count > 0 || v.ended_at.is_some() {
            r.insert("NumberOfHolds", Value::Int(v.holds.count.into()));
            r.insert("CustomerHoldDuration", Value::Int(v.holds.total.whole_seconds()));
            r.insert("LongestHoldDuration", Value::Int(v.holds.longest.whole_seconds()));
        }
        r.insert("IsRecorded", Value::Bool(!v.recordings.is_empty()));
        let measures = Measures::of(&v, wrap.as_ref());
        if let Some(o) = measures.outcome {
            r.insert("CallOutcome", text(o));
        }
        for (name, value) in [("SpeedOfAnswerInSeconds", measures.speed_of_answer), ("TalkTimeInSeconds", measures.talk), ("HandleTimeInSeconds", measures.handle)] {
            if let Some(x) = value {
                r.insert(name, Value::Int(x));
            }
        }
        if let Some(w) = &wrap {
            r.insert("CallResolution", text(&w.resolution));
            if let Some(n) = &w.notes {
                r.insert("Description", text(n));
            }
            if let Some(end) = v.ended_at
                && w.at >= end
            {
                r.insert("AfterCallWorkDuration", Value::Int((w.at - end).whole_seconds()));
            }
        }
        r
    }

    /// The Task fields, or `None` while the call has not ended.
    pub(crate) fn task(&mut self) -> Option<Record> {
        let key = self.key.as_str().to_string();
        let links = self.links.clone();
        let wrap = self.wrap_up.clone();
        let v = self.cached_view();
        let end = v.ended_at?;
        let mut r = Record::new();
        let text = |s: &str| Value::Text(s.to_string());
        let subject = match v.direction {
            Some(d) => format!("{} call", d.as_str()),
            None => "Call".to_string(),
        };
        r.insert("Subject", Value::Text(subject));
        r.insert("Status", text("Completed"));
        r.insert("Priority", text("Normal"));
        r.insert("TaskSubtype", text("Call"));
        if let Some(d) = v.direction {
            r.insert("CallType", text(d.as_str()));
        }
        r.insert("CallDurationInSeconds", Value::Int(v.duration_seconds.unwrap_or(0)));
        r.insert("CallObject", Value::Text(key));
        r.insert("ActivityDate", Value::Text(format_date(end.date())));
        if let Some(a) = &v.owner {
            r.insert("OwnerId", text(a.id().as_str()));
        }
        let who = v.related.as_ref().filter(|id| matches!(id.key_prefix(), "003" | "00Q"));
        let what = v.related.as_ref().filter(|id| matches!(id.key_prefix(), "001" | "500" | "006")).or(links.id.as_ref());
        if let Some(id) = who {
            r.insert("WhoId", text(id.as_str()));
        }
        if let Some(id) = what {
            r.insert("WhatId", text(id.as_str()));
        }
        if let Some(w) = &wrap {
            r.insert("CallDisposition", text(&w.resolution));
            if let Some(n) = &w.notes {
                r.insert("Description", text(n));
            }
        }
        Some(r)
    }

    pub(crate) fn notes_max() -> usize {
        NOTES_MAX
    }
}

fn close_hold(holds: &mut Holds, d: Duration) {
    let d = d.max(Duration::ZERO);
    holds.total += d;
    holds.longest = holds.longest.max(d);
}

fn terminal_disposition(fact: &Fact, answered: bool) -> Disposition {
    match fact {
        Fact::Reap(ReapReason::MaxAge) if answered => Disposition::Completed,
        Fact::Reap(ReapReason::MaxAge) => Disposition::Failed,
        Fact::Reap(ReapReason::RingTimeout) if answered => Disposition::Completed,
        Fact::Reap(ReapReason::RingTimeout) => Disposition::NoAnswer,
        Fact::Event(EventKind::Ended { reason }) => match reason {
            EndReason::CustomerDisconnect | EndReason::AgentDisconnect if answered => Disposition::Completed,
            // Hung up before anyone answered: abandoned.
            EndReason::CustomerDisconnect | EndReason::AgentDisconnect => Disposition::Canceled,
            EndReason::Failed => Disposition::Failed,
            EndReason::Busy => Disposition::Busy,
            EndReason::NoAnswer => Disposition::NoAnswer,
            EndReason::Canceled => Disposition::Canceled,
            EndReason::Voicemail => Disposition::Voicemail,
        },
        Fact::Event(EventKind::Failed { .. }) => Disposition::Failed,
        Fact::Event(EventKind::Voicemail { .. }) => Disposition::Voicemail,
        Fact::Event(EventKind::Transferred { .. }) => Disposition::Completed,
        Fact::Event(_) => unreachable!("only terminal facts end a call"),
    }
}

fn disconnect_reason(fact: &Fact) -> &'static str {
    match fact {
        Fact::Reap(ReapReason::MaxAge) => "Reaped",
        Fact::Reap(ReapReason::RingTimeout) => "Timeout",
        Fact::Event(EventKind::Ended { reason }) => reason.as_str(),
        Fact::Event(EventKind::Failed { .. }) => "Failed",
        Fact::Event(EventKind::Voicemail { .. }) => "Voicemail",
        Fact::Event(EventKind::Transferred { .. }) => "Transferred",
        Fact::Event(_) => unreachable!("only terminal facts end a call"),
    }
}
