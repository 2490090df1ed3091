//! All live calls, the inputs that change them and the effects that follow.

use crate::call::{Call, ReapReason, Record};
use crate::effect::{Effect, Fields, Notification, NotificationKind};
use crate::event::{CallEvent, EventKind, Input, Speaker, VendorCallKey};
use dialtone_model::{SalesforceId, Value};
use std::collections::{HashMap, VecDeque};
use time::{Duration, OffsetDateTime};

/// Per call center settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CenterConfig {
    /// Write a Task (TaskSubtype Call) for every call leg that ends.
    pub write_task: bool,
    /// The controlled picklist of wrap-up resolutions. Empty: wrap-up refused.
    pub resolutions: Vec<String>,
}

/// The longest transcript line stored (ConversationEntry.Message).
const TRANSCRIPT_LINE_MAX: usize = 32_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// A call with no end this long after it was first seen is closed with
    /// DisconnectReason `Reaped` (completed if answered, else failed).
    pub max_call_age: Duration,
    /// An unanswered call that is not waiting in a queue and whose provider
    /// has been silent this long is closed with DisconnectReason `Timeout` and
    /// disposition `no-answer`. (Queue waits are the router's business; a
    /// queued call is only reaped by `max_call_age`.)
    pub ring_timeout: Duration,
    /// How long an ended call stays live (late events, recordings and wrap-up
    /// still merge) before it is forgotten.
    pub linger: Duration,
    /// How many forgotten call keys are remembered (FIFO) so that a late event
    /// for one of them is dropped instead of creating a second VoiceCall.
    /// About 300 bytes a key: 100 000 keys ≈ 30 MB.
    pub recent_capacity: usize,
    /// For calls whose call center is unknown or not listed in `centers`.
    pub default_center: CenterConfig,
    pub centers: HashMap<SalesforceId, CenterConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_call_age: Duration::hours(4),
            ring_timeout: Duration::minutes(5),
            linger: Duration::minutes(30),
            recent_capacity: 100_000,
            default_center: CenterConfig::default(),
            centers: HashMap::new(),
        }
    }
}

impl Config {
    fn center(&self, id: Option<&SalesforceId>) -> &CenterConfig {
        id.and_then(|id| self.centers.get(id)).unwrap_or(&self.default_center)
    }
}

/// The caller's mistakes; a provider event is never refused (duplicates and
/// late events are merged or dropped silently).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("no live call has the key {0}")]
    UnknownCall(VendorCallKey),
    #[error("{resolution:?} is not a wrap-up resolution of this call center (allowed: {allowed})")]
    UnknownResolution { resolution: String, allowed: String },
    #[error("a call can be related to a Contact, Lead, Account, Case or Opportunity; {0} is none of them")]
    NotRelatable(SalesforceId),
    #[error("wrap-up notes have {chars} characters, at most {max}")]
    NotesTooLong { chars: usize, max: usize },
}

/// Key prefixes `VoiceCall.RelatedRecordId` accepts: Contact, Lead, Account, Case, Opportunity.
const RELATABLE: [&str; 5] = ["003", "00Q", "001", "500", "006"];

/// Counters a driver can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub duplicates: u64,
    pub late_after_forget: u64,
    pub reaped: u64,
    pub forgotten: u64,
}

/// Keys of forgotten calls (with their record id, for transfer links), bounded FIFO.
#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<VendorCallKey>,
    ids: HashMap<VendorCallKey, Option<SalesforceId>>,
}

/// The call lifecycle: owns every live call.
#[derive(Debug)]
pub struct Lifecycle {
    config: Config,
    calls: HashMap<VendorCallKey, Call>,
    recent: Recent,
    stats: Stats,
}

impl Lifecycle {
    pub fn new(config: Config) -> Lifecycle {
        Lifecycle { config, calls: HashMap::new(), recent: Recent::default(), stats: Stats::default() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the per-call-center settings (Tasks written, the wrap-up
    /// picklist). Calls already ended keep what they were given.
    pub fn set_centers(&mut self, centers: HashMap<SalesforceId, CenterConfig>) {
        self.config.centers = centers;
    }

    pub fn call(&self, key: &VendorCallKey) -> Option<&Call> {
        self.calls.get(key)
    }

    pub fn live_calls(&self) -> usize {
        self.calls.len()
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether `key` was forgotten recently (late inputs for it are dropped).
    pub fn is_recently_finished(&self, key: &VendorCallKey) -> bool {
        self.recent.ids.contains_key(key)
    }

    /// Applies one input. `now` is the driver's clock (used for the reaper,
    /// forgetting and wrap-up time); event times come from the events.
    pub fn handle(&mut self, now: OffsetDateTime, input: Input) -> Result<Vec<Effect>, CallError> {
        let mut out = Vec::new();
        match input {
            Input::Event(ev) => self.event(now, ev, &mut out),
            Input::Stored { key, id } => {
                let Some(call) = self.live(&key)? else { return Ok(out) };
                if call.links.id.as_ref() != Some(&id) {
                    call.links.id = Some(id);
                    self.settle(now, &key, &mut out);
                }
            }
            Input::Matched { key, record } => {
                if !RELATABLE.contains(&record.key_prefix()) {
                    return Err(CallError::NotRelatable(record));
                }
                let Some(call) = self.live(&key)? else { return Ok(out) };
                if call.own_match.as_ref() != Some(&record) {
                    call.own_match = Some(record);
                    call.invalidate();
                    self.settle(now, &key, &mut out);
                }
            }
            Input::WrapUp { key, resolution, notes } => {
                let center = match self.calls.get_mut(&key) {
                    Some(call) => call.cached_view().call_center.clone(),
                    None => return Err(CallError::UnknownCall(key)),
                };
                let allowed = &self.config.center(center.as_ref()).resolutions;
                let Some(resolution) = allowed.iter().find(|r| r.eq_ignore_ascii_case(resolution.trim())).cloned() else {
                    return Err(CallError::UnknownResolution { resolution, allowed: allowed.join(", ") });
                };
                let notes = notes.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
                if let Some(n) = &notes {
                    let chars = n.chars().count();
                    if chars > Call::notes_max() {
                        return Err(CallError::NotesTooLong { chars, max: Call::notes_max() });
                    }
                }
                let call = self.calls.get_mut(&key).expect("checked above");
                let same = call.wrap_up.as_ref().is_some_and(|w| w.resolution == resolution && w.notes == notes);
                if !same {
                    call.wrap_up = Some(crate::call::WrapUp { resolution, notes, at: now });
                    self.settle(now, &key, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// The live call for a non-event input; `Ok(None)` if it was forgotten.
    fn live(&mut self, key: &VendorCallKey) -> Result<Option<&mut Call>, CallError> {
        if self.recent.ids.contains_key(key) {
            self.stats.late_after_forget += 1;
            return Ok(None);
        }
        self.calls.get_mut(key).map(Some).ok_or_else(|| CallError::UnknownCall(key.clone()))
    }

    fn event(&mut self, now: OffsetDateTime, ev: CallEvent, out: &mut Vec<Effect>) {
        if self.recent.ids.contains_key(&ev.key) {
            self.stats.late_after_forget += 1;
            return;
        }
        let call = self.calls.entry(ev.key.clone()).or_insert_with(|| Call::new(ev.key.clone(), now));
        if !call.insert(&ev) {
            self.stats.duplicates += 1;
            return;
        }
        call.last_activity = call.last_activity.max(now);
        if let EventKind::TranscriptUtterance { speaker, text } = &ev.kind {
            let owner = call.cached_view().owner.clone();
            self.settle(now, &ev.key, out);
            out.push(Effect::Notify(Notification {
                key: ev.key.clone(),
                agent: owner,
                what: NotificationKind::Utterance { speaker: speaker.clone(), text: text.clone() },
            }));
            return;
        }
        self.settle(now, &ev.key, out);
    }

    /// Re-derives `key`, and the legs linked to it until nothing changes, and
    /// emits what changed.
    fn settle(&mut self, now: OffsetDateTime, key: &VendorCallKey, out: &mut Vec<Effect>) {
        let mut work: VecDeque<(VendorCallKey, bool)> = VecDeque::from([(key.clone(), true)]);
        let mut budget = 64; // a transfer chain is short; a cycle must not spin
        while let Some((k, force_neighbours)) = work.pop_front() {
            budget -= 1;
            if budget == 0 {
                break;
            }
            self.link_transfer(now, &k);
            self.refresh_from_neighbours(&k);
            let changed = self.sync(now, &k, out);
            if changed || force_neighbours {
                let Some(call) = self.calls.get(&k) else { continue };
                for n in [call.links.next.clone(), call.links.previous.clone()].into_iter().flatten() {
                    if self.calls.contains_key(&n) {
                        work.push_back((n, false));
                    }
                }
            }
        }
    }

    /// Follows this leg's Transferred fact: creates the new leg if needed and
    /// links both ways.
    fn link_transfer(&mut self, now: OffsetDateTime, key: &VendorCallKey) {
        let Some(call) = self.calls.get_mut(key) else { return };
        let Some((next, _)) = call.cached_view().transferred_to.clone() else { return };
        if call.links.next.as_ref() == Some(&next) || &next == key {
            return;
        }
        call.links.next = Some(next.clone());
        if self.recent.ids.contains_key(&next) {
            return;
        }
        let leg = self.calls.entry(next.clone()).or_insert_with(|| Call::new(next.clone(), now));
        leg.links.previous = Some(key.clone());
        leg.invalidate();
    }

    fn id_of(&self, key: &VendorCallKey) -> Option<SalesforceId> {
        match self.calls.get(key) {
            Some(c) => c.links.id.clone(),
            None => self.recent.ids.get(key).cloned().flatten(),
        }
    }

    fn refresh_from_neighbours(&mut self, key: &VendorCallKey) {
        let Some(call) = self.calls.get(key) else { return };
        let (prev, next) = (call.links.previous.clone(), call.links.next.clone());
        let prev_id = prev.as_ref().and_then(|p| self.id_of(p));
        let next_id = next.as_ref().and_then(|n| self.id_of(n));
        let inherited = prev.as_ref().and_then(|p| self.calls.get_mut(p)).map(|p| p.inheritance());
        let call = self.calls.get_mut(key).expect("checked above");
        if prev_id.is_some() {
            call.links.previous_id = prev_id;
        }
        if next_id.is_some() {
            call.links.next_id = next_id;
        }
        if let Some(inh) = inherited
            && inh != call.inherited
        {
            call.inherited = inh;
            call.invalidate();
        }
    }

    /// Emits the differences between what the call is now and what was last
    /// emitted for it. Returns whether its VoiceCall record changed.
    fn sync(&mut self, now: OffsetDateTime, key: &VendorCallKey, out: &mut Vec<Effect>) -> bool {
        let Some(call) = self.calls.get_mut(key) else { return false };
        let record = call.record();
        let changed = match &call.emitted {
            None => {
                out.push(Effect::CreateVoiceCall { key: key.clone(), fields: fields(&record) });
                true
            }
            Some(old) => {
                let diff = diff(old, &record);
                if diff.is_empty() {
                    false
                } else {
                    out.push(Effect::UpdateVoiceCall { key: key.clone(), fields: diff });
                    true
                }
            }
        };
        call.emitted = Some(record);

        let view = call.cached_view().clone();
        if let Some(id) = call.links.id.clone() {
            for r in &view.recordings {
                if call.recordings_emitted.insert(r.id.clone()) {
                    let mut f: Fields = vec![
                        ("VoiceCallId".into(), Value::Text(id.to_string())),
                        ("Provider".into(), Value::Text(r.provider.name().into())),
                        ("VendorRecordingKey".into(), Value::Text(r.id.clone())),
                        ("DurationInSeconds".into(), Value::Int(r.duration.as_secs() as i64)),
                    ];
                    if r.url.chars().count() <= 2048 {
                        f.push(("MediaUrl".into(), Value::Text(r.url.clone())));
                    }
                    out.push(Effect::CreateRecording { key: key.clone(), recording: r.id.clone(), fields: f });
                }
            }
            for u in std::mem::take(&mut call.pending_utterances) {
                let (actor, agent) = match &u.speaker {
                    Speaker::Customer => ("EndUser", None),
                    Speaker::Agent(a) => ("Agent", Some(a)),
                    Speaker::VirtualAgent => ("Bot", None),
                };
                let mut f: Fields = vec![
                    ("ConversationId".into(), Value::Text(id.to_string())),
                    ("ActorType".into(), Value::Text(actor.into())),
                    ("Message".into(), Value::Text(u.text.chars().take(TRANSCRIPT_LINE_MAX).collect())),
                    ("EntryTime".into(), Value::Text(dialtone_model::format_datetime(u.at))),
                    ("VendorEntryKey".into(), Value::Text(u.id.clone())),
                ];
                if let Some(a) = agent {
                    f.push(("ActorId".into(), Value::Text(a.to_string())));
                }
                out.push(Effect::CreateTranscriptEntry { key: key.clone(), entry: u.id, fields: f });
            }
        }

        let terminal = view.disposition.is_terminal();
        if terminal && call.ended_seen.is_none() {
            call.ended_seen = Some(now);
        }
        let center_known = view.initiated || call.links.previous.is_some() || call.force_task;
        if terminal && center_known && self.config.center(view.call_center.as_ref()).write_task
            && let Some(task) = call.task()
        {
            match &call.task_emitted {
                None => out.push(Effect::CreateTask { key: key.clone(), fields: fields(&task) }),
                Some(old) => {
                    let d = diff(old, &task);
                    if !d.is_empty() {
                        out.push(Effect::UpdateTask { key: key.clone(), fields: d });
                    }
                }
            }
            call.task_emitted = Some(task);
        }

        for o in &view.offers {
            let id = (o.agent.clone(), o.offered_at);
            if o.result.is_none() && !terminal && !call.offers_notified.contains(&id) {
                call.offers_notified.insert(id.clone());
                out.push(Effect::Notify(Notification { key: key.clone(), agent: Some(o.agent.clone()), what: NotificationKind::Offered }));
            }
            let what = match o.result {
                Some(result) => NotificationKind::OfferClosed { result },
                None if terminal => NotificationKind::OfferWithdrawn,
                None => continue,
            };
            if call.offers_notified.contains(&id) && call.offers_closed.insert(id) {
                out.push(Effect::Notify(Notification { key: key.clone(), agent: Some(o.agent.clone()), what }));
            }
        }
        if call.status_notified != Some(view.disposition) {
            call.status_notified = Some(view.disposition);
            out.push(Effect::Notify(Notification {
                key: key.clone(),
                agent: view.owner.clone(),
                what: NotificationKind::Status { disposition: view.disposition.as_str() },
            }));
        }
        changed
    }

    /// Closes overdue calls and forgets calls that ended long enough ago.
    pub fn poll(&mut self, now: OffsetDateTime) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut keys: Vec<VendorCallKey> = self.calls.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(call) = self.calls.get_mut(&key) else { continue };
            let (terminal, ring_timer) = {
                let v = call.cached_view();
                (v.disposition.is_terminal(), !v.answered && v.queued_at.is_none())
            };
            if !terminal {
                let reason = if now >= call.first_seen + self.config.max_call_age {
                    Some(ReapReason::MaxAge)
                } else if ring_timer && now >= call.last_activity + self.config.ring_timeout {
                    Some(ReapReason::RingTimeout)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    call.reap(now, reason);
                    self.stats.reaped += 1;
                    self.settle(now, &key, &mut out);
                }
            } else if call.ended_seen.is_some_and(|t| now >= t + self.config.linger) {
                if call.task_emitted.is_none() && !call.force_task {
                    call.force_task = true;
                    self.settle(now, &key, &mut out);
                }
                self.forget(&key);
            }
        }
        out
    }

    /// When [`Lifecycle::poll`] next has something to do.
    pub fn next_wakeup(&self) -> Option<OffsetDateTime> {
        self.calls
            .values()
            .filter_map(|c| {
                let v = c.view();
                if v.disposition.is_terminal() {
                    c.ended_seen.map(|t| t + self.config.linger)
                } else {
                    let age = c.first_seen + self.config.max_call_age;
                    let ring_timer = !v.answered && v.queued_at.is_none();
                    Some(if ring_timer { age.min(c.last_activity + self.config.ring_timeout) } else { age })
                }
            })
            .min()
    }

    fn forget(&mut self, key: &VendorCallKey) {
        let Some(call) = self.calls.remove(key) else { return };
        self.stats.forgotten += 1;
        if self.config.recent_capacity == 0 {
            return;
        }
        self.recent.ids.insert(key.clone(), call.links.id.clone());
        self.recent.order.push_back(key.clone());
        while self.recent.order.len() > self.config.recent_capacity {
            if let Some(old) = self.recent.order.pop_front() {
                self.recent.ids.remove(&old);
            }
        }
    }

    /// Keys of the live calls (in no particular order).
    pub fn keys(&self) -> impl Iterator<Item = &VendorCallKey> {
        self.calls.keys()
    }
}

fn fields(r: &Record) -> Fields {
    r.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// Changed and new fields; a field that disappeared becomes `Null`.
fn diff(old: &Record, new: &Record) -> Fields {
    let mut d: Fields = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    for k in old.keys() {
        if !new.contains_key(k) {
            d.push((k.to_string(), Value::Null));
        }
    }
    d
}
