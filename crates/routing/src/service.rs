//! The routing service: one [`Engine`] behind every edge, so an agent's
//! capacity, presence and skills are shared by SIP calls, Twilio calls,
//! simulator calls and any other work item.
//!
//! It speaks in the edges' terms — a call's [`VendorCallKey`], a user's
//! [`AgentId`], names from the [`RoutingSpec`] — and keeps the engine's dense
//! ids to itself. Sans-IO like the engine: every input takes `now`; what the
//! edges must do comes out of [`Routing::drain`].
//!
//! - [`Routing::apply`] configures it from a spec, the call centers and
//!   their agents; called again with a changed spec it rebuilds the engine
//!   and carries live work over (waiting items keep their queue and order,
//!   accepted ones their agent), so a change takes effect without a restart.
//! - An edge that rings agents itself (SIP, Twilio) calls [`Routing::arrive`]
//!   for a new call, then [`Routing::route`] whenever it wants an agent: the
//!   engine's pending offer, filtered by what the edge can reach.
//! - Every call event is shown to [`Routing::observe`], whichever edge it
//!   came from: answers accept offers (or take the call for an agent the
//!   engine did not choose), ends complete or abandon, and calls the engine
//!   never routed (a simulator's, a transfer to a named agent, a
//!   click-to-dial) still hold their agent's capacity.

use crate::engine::{
    AgentDef, AgentRef, ChannelId, Decision, Engine, ItemState, OfferOutcome, Overflow, OverflowReason, OverflowTarget, QueueDef, QueueId,
    Requirement, Rule, SkillId, StatusId, Strategy, Verdict, WorkItem, WorkItemId,
};
use crate::spec::{RoutingSpec, TargetSpec};
use crate::Presence;
use dialtone_calls::{AgentId, CallEvent, EventKind, OfferOutcome as CallOfferOutcome, VendorCallKey};
use dialtone_model::SalesforceId;
use std::collections::{HashMap, VecDeque};
use time::{Duration, OffsetDateTime};

/// The queue of work the engine did not route (direct assignments); never shown to supervisors.
pub const DIRECT_QUEUE: &str = "(direct)";
/// A queue with no push timeout of its own, and the implicit per-call-center queues, ring this long.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::seconds(30);
/// Finished work is kept this long for `decision` and supervisors, then forgotten.
pub const KEEP_FINISHED: Duration = Duration::minutes(30);
const BUILT_IN: [Presence; 5] = [Presence::Available, Presence::Busy, Presence::Away, Presence::Offline, Presence::AfterCallWork];

/// An agent as the store knows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentInfo {
    pub id: AgentId,
    pub username: String,
    pub call_center: Option<SalesforceId>,
    pub presence: Presence,
    /// The org status chosen (`Lunch`, `Available – Voice`), when not a built-in one.
    pub status: Option<String>,
    /// When the presence was set. A configuration read before a newer
    /// [`Routing::set_presence`] does not undo it.
    pub since: Option<OffsetDateTime>,
}

/// A call center: its id and internal name (the name of its implicit queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCenterInfo {
    pub id: SalesforceId,
    pub name: String,
}

/// What the edge knows of an arriving call; the entry rules read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrival {
    pub call_center: Option<SalesforceId>,
    /// The caller's number: a callback dials it.
    pub from: String,
    /// The dialled number, E.164 when the edge could normalise it.
    pub dialled: Option<String>,
    pub ivr_choice: Option<String>,
    /// Fields of the caller's matched record, as `Object.Field` → value.
    pub record: Vec<(String, String)>,
    /// The channel (default `voice`).
    pub channel: Option<String>,
}

/// The answer to an edge asking for an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    Offer(AgentId),
    /// Nobody can take it yet: keep the caller waiting and ask again.
    Wait,
    /// The item left routing: send the caller there.
    Leave(Away),
    /// Unknown call, or its routing has ended.
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Away {
    Voicemail,
    /// The caller keeps their place and is called back: end the live call.
    Callback,
}

/// What the edges must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The engine offered the item (an edge that pushes offers rings now;
    /// an edge that pulls gets it from [`Routing::route`]).
    Offered { key: VendorCallKey, agent: AgentId, callback: bool },
    /// Stop ringing that agent: the push timeout passed, the agent's status
    /// closed the channel, or the caller left.
    Withdraw { key: VendorCallKey, agent: AgentId, caller_left: bool },
    /// The item left routing for voicemail or a callback.
    Left { key: VendorCallKey, to: Away },
    /// A callback was accepted: dial the caller for the agent.
    DialOut { key: VendorCallKey, agent: AgentId, number: String, call_center: Option<SalesforceId> },
    /// The item's routing is over (accepted, overflowed away, abandoned):
    /// the explanation is final and worth keeping with the call's record.
    Decided { key: VendorCallKey },
}

/// Why one agent was or was not chosen, in names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateView {
    pub username: String,
    pub verdict: Verdict,
    /// The verdict in words (`missing skill spanish at level 3 (has 1)`).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferView {
    pub username: String,
    pub offered_at: OffsetDateTime,
    /// `accepted`, `declined`, `timedOut`, `withdrawn`, `rescinded`; `None`: ringing.
    pub outcome: Option<&'static str>,
    pub ended_at: Option<OffsetDateTime>,
}

/// Everything "why did this call go to that agent" needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionView {
    pub key: VendorCallKey,
    /// waiting, offered, accepted, calledBack, completed, voicemail, callback, abandoned.
    pub state: &'static str,
    pub agent: Option<String>,
    pub queue: String,
    /// How the call reached its queue: the entry rule's name, or the default.
    pub entry: String,
    pub requirements: Vec<(String, u8, Option<Duration>)>,
    pub relaxed: Vec<String>,
    /// The rule behind the latest decision, in words.
    pub rule: String,
    pub decided_at: Option<OffsetDateTime>,
    pub enqueued_at: Option<OffsetDateTime>,
    pub candidates: Vec<CandidateView>,
    pub offers: Vec<OfferView>,
    pub direct: bool,
    /// Candidates left out by [`Routing::decision_limited`].
    pub more_candidates: usize,
    /// The caller keeps their place to be called back (the item is a callback, not a ringing call).
    pub callback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    pub name: String,
    pub channel: String,
    pub call_center: Option<SalesforceId>,
    pub priority: u8,
    pub model: &'static str,
    pub waiting: usize,
    pub callbacks: usize,
    pub longest_wait: Option<Duration>,
    pub signed_in: u32,
    pub members: usize,
    /// Waiting items, oldest first: key and how long.
    pub items: Vec<(VendorCallKey, Duration)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentView {
    pub id: AgentId,
    pub username: String,
    pub call_center: Option<SalesforceId>,
    pub status: String,
    pub since: OffsetDateTime,
    /// Capacity units in use and in all.
    pub used: u32,
    pub capacity: u32,
    /// Items offered or in progress.
    pub active: u32,
    pub queues: Vec<String>,
}

struct Work {
    item: WorkItemId,
    entry: String,
    requirements: Vec<(String, u8, Option<Duration>)>,
    from: String,
    call_center: Option<SalesforceId>,
    /// Taken by an agent without the engine routing it.
    direct: bool,
    /// The call itself has ended (a callback item lives on).
    call_ended: bool,
    /// When its routing finished (forgotten `KEEP_FINISHED` later).
    finished: Option<OffsetDateTime>,
    decided: bool,
    /// Keys of calls made for this item (a callback's dial-out).
    aliases: Vec<VendorCallKey>,
    /// The decision as it stood when a configuration change rebuilt the
    /// engine after it was decided: the new engine knows the item only as taken.
    frozen: Option<Box<DecisionView>>,
}

#[derive(Default)]
struct Names {
    channels: Vec<String>,
    statuses: Vec<String>,
    skills: Vec<String>,
    queues: Vec<String>,
    queue_cc: Vec<Option<SalesforceId>>,
    /// Per call center, its default queues (the first is where unmatched calls go).
    defaults: HashMap<SalesforceId, Vec<QueueId>>,
}

fn find(list: &[String], name: &str) -> Option<usize> {
    list.iter().position(|n| n.eq_ignore_ascii_case(name))
}

/// An agent's routing settings as the engine takes them: capacity, per-channel caps, skills, queues.
type AgentSettings = (u32, Vec<(ChannelId, u32)>, Vec<(SkillId, u8)>, Vec<QueueId>);

/// A skill need by name: skill, level, relaxed after.
type Need = (String, u8, Option<Duration>);

struct AgentEntry {
    r: AgentRef,
    info: AgentInfo,
    def_key: AgentSettings,
}

/// See the module documentation.
pub struct Routing {
    engine: Engine,
    spec: RoutingSpec,
    call_centers: Vec<CallCenterInfo>,
    names: Names,
    direct: QueueId,
    voice: ChannelId,
    agents: HashMap<AgentId, AgentEntry>,
    by_ref: Vec<AgentId>,
    work: HashMap<VendorCallKey, Work>,
    by_item: HashMap<WorkItemId, VendorCallKey>,
    /// A callback's dial-out call, to the callback's own key.
    aliases: HashMap<VendorCallKey, VendorCallKey>,
    /// Calls that ended before anything routed them (kept `KEEP_FINISHED`), and in arrival order.
    ended_early: HashMap<VendorCallKey, OffsetDateTime>,
    early: VecDeque<(OffsetDateTime, VendorCallKey)>,
    /// Finished work in the order it finished (forgotten `KEEP_FINISHED` later).
    finished: VecDeque<(OffsetDateTime, VendorCallKey)>,
    next_item: u64,
    out: VecDeque<Output>,
    built: bool,
}

impl Default for Routing {
    fn default() -> Self {
        Routing::new()
    }
}

impl Routing {
    /// A service with no call centers and no agents yet (see [`Routing::apply`]).
    pub fn new() -> Routing {
        let mut r = Routing {
            engine: Engine::new(Strategy::Indexed),
            spec: RoutingSpec::default(),
            call_centers: Vec::new(),
            names: Names::default(),
            direct: QueueId::from_index(0),
            voice: ChannelId::from_index(0),
            agents: HashMap::new(),
            by_ref: Vec::new(),
            work: HashMap::new(),
            by_item: HashMap::new(),
            aliases: HashMap::new(),
            ended_early: HashMap::new(),
            early: VecDeque::new(),
            finished: VecDeque::new(),
            next_item: 1,
            out: VecDeque::new(),
            built: false,
        };
        let _ = r.rebuild(OffsetDateTime::UNIX_EPOCH, RoutingSpec::default(), Vec::new());
        r
    }

    // ---- configuration ----

    /// Brings the service up to date: the spec (rebuilt only when it or the
    /// call centers changed), then every agent (added, reconfigured, status).
    /// A spec that does not resolve is refused with its problems and the
    /// running configuration stays.
    pub fn apply(&mut self, now: OffsetDateTime, spec: &RoutingSpec, call_centers: &[CallCenterInfo], agents: &[AgentInfo]) -> Result<(), Vec<String>> {
        if !self.built || spec != &self.spec || call_centers != self.call_centers.as_slice() {
            self.rebuild(now, spec.clone(), call_centers.to_vec())?;
        }
        let mut seen = Vec::with_capacity(agents.len());
        for a in agents {
            seen.push(a.id.clone());
            self.upsert_agent(now, a);
        }
        // Agents no longer in any call center: signed out of everything.
        let gone: Vec<AgentId> = self.agents.keys().filter(|id| !seen.contains(id)).cloned().collect();
        let offline = self.status_for(Presence::Offline, None);
        for id in gone {
            let e = self.agents.get_mut(&id).expect("listed");
            if e.info.presence != Presence::Offline || !e.def_key.3.is_empty() {
                let r = e.r;
                e.info.presence = Presence::Offline;
                e.info.status = None;
                e.def_key.3.clear();
                let _ = self.engine.agent_presence(now, r, offline);
                let _ = self.engine.set_agent_skills_and_queues(now, r, Vec::new(), Vec::new());
            }
        }
        self.pump(now);
        Ok(())
    }

    /// Whether `agent` is one of the agents last applied.
    pub fn knows(&self, agent: &AgentId) -> bool {
        self.agents.contains_key(agent)
    }

    /// One agent's presence changed (the desktop, the CLI) at `since`: takes effect at once.
    pub fn set_presence(&mut self, now: OffsetDateTime, agent: &AgentId, presence: Presence, status: Option<&str>, since: Option<OffsetDateTime>) {
        let Some(e) = self.agents.get_mut(agent) else { return };
        e.info.presence = presence;
        e.info.status = status.map(str::to_string);
        e.info.since = since.or(e.info.since);
        let (r, st) = (e.r, self.status_for(presence, status));
        let _ = self.engine.agent_presence(now, r, st);
        self.pump(now);
    }

    fn status_for(&self, presence: Presence, status: Option<&str>) -> StatusId {
        let named = status.and_then(|s| find(&self.names.statuses, s));
        let idx = named.or_else(|| find(&self.names.statuses, presence.as_str())).unwrap_or(0);
        StatusId::from_index(idx)
    }

    fn rebuild(&mut self, now: OffsetDateTime, spec: RoutingSpec, call_centers: Vec<CallCenterInfo>) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut e = Engine::new(Strategy::Indexed);
        let mut names = Names::default();
        // Channels: voice first (always), then the spec's.
        let voice_weight = spec.channels.iter().find(|c| c.name.eq_ignore_ascii_case("voice")).map_or(1, |c| c.weight);
        let voice = e.add_channel("voice", voice_weight).map_err(|err| vec![format!("channel voice: {err}")])?;
        names.channels.push("voice".into());
        for c in spec.channels.iter().filter(|c| !c.name.eq_ignore_ascii_case("voice")) {
            if find(&names.channels, &c.name).is_some() {
                problems.push(format!("channel {:?} is defined twice", c.name));
                continue;
            }
            match e.add_channel(&c.name, c.weight) {
                Ok(_) => names.channels.push(c.name.clone()),
                Err(err) => problems.push(format!("channel {:?}: {err}", c.name)),
            }
        }
        let channel = |names: &Names, n: &str| find(&names.channels, n).map(ChannelId::from_index);
        // Statuses: the built-in bases unless the spec redefines them, then the spec's.
        let all: Vec<ChannelId> = (0..names.channels.len()).map(ChannelId::from_index).collect();
        for p in BUILT_IN {
            if spec.statuses.iter().any(|s| s.name.eq_ignore_ascii_case(p.as_str())) {
                continue;
            }
            let opens: &[ChannelId] = if p == Presence::Available { &all } else { &[] };
            e.add_status(p.as_str(), opens).expect("known channels");
            names.statuses.push(p.as_str().to_string());
        }
        for s in &spec.statuses {
            if find(&names.statuses, &s.name).is_some() && spec.statuses.iter().filter(|o| o.name.eq_ignore_ascii_case(&s.name)).count() > 1 {
                problems.push(format!("presence status {:?} is defined twice", s.name));
                continue;
            }
            let mut opens = Vec::new();
            for c in &s.channels {
                match channel(&names, c) {
                    Some(id) => opens.push(id),
                    None => problems.push(format!("presence status {:?} opens channel {c:?}, which does not exist", s.name)),
                }
            }
            e.add_status(&s.name, &opens).expect("known channels");
            names.statuses.push(s.name.clone());
        }
        for s in &spec.skills {
            if find(&names.skills, s).is_some() {
                problems.push(format!("skill {s:?} is defined twice"));
                continue;
            }
            e.add_skill(s);
            names.skills.push(s.clone());
        }
        // Queues: the direct queue, then the spec's with overflow targets first, then implicit defaults.
        let direct = e.add_queue(plain_queue(DIRECT_QUEUE, voice)).expect("voice exists");
        names.queues.push(DIRECT_QUEUE.into());
        names.queue_cc.push(None);
        let mut pending: Vec<&crate::spec::QueueSpec> = spec.queues.iter().collect();
        let target_queue = |t: &TargetSpec| match t {
            TargetSpec::Queue(q) => Some(q.clone()),
            _ => None,
        };
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for q in pending {
                let targets: Vec<String> = q
                    .overflow
                    .as_ref()
                    .and_then(|(_, t)| target_queue(t))
                    .into_iter()
                    .chain(q.when_nobody_signed_in.as_ref().and_then(target_queue))
                    .chain(q.hours.as_ref().and_then(|(_, t)| target_queue(t)))
                    .collect();
                if targets.iter().any(|t| find(&names.queues, t).is_none() && spec.queues.iter().any(|o| o.name.eq_ignore_ascii_case(t))) {
                    rest.push(q);
                    continue;
                }
                match self.queue_def(&names, &spec, q) {
                    Ok(def) => match e.add_queue(def) {
                        Ok(id) => {
                            names.queues.push(q.name.clone());
                            names.queue_cc.push(q.call_center.clone());
                            if let Some(cc) = &q.call_center {
                                names.defaults.entry(cc.clone()).or_default().push(id);
                            }
                        }
                        Err(err) => problems.push(format!("queue {:?}: {err}", q.name)),
                    },
                    Err(p) => problems.extend(p),
                }
            }
            if rest.len() == before {
                for q in &rest {
                    problems.push(format!("queue {:?} overflows in a loop with another queue", q.name));
                }
                break;
            }
            pending = rest;
        }
        if spec.queues.iter().enumerate().any(|(i, q)| spec.queues[..i].iter().any(|o| o.name.eq_ignore_ascii_case(&q.name))) {
            problems.push("two queues have the same name".into());
        }
        for cc in &call_centers {
            if names.defaults.contains_key(&cc.id) {
                continue;
            }
            if find(&names.queues, &cc.name).is_some() {
                problems.push(format!("queue {:?} has a call center's name but is not that call center's queue", cc.name));
                continue;
            }
            let id = e.add_queue(plain_queue(&cc.name, voice)).expect("voice exists");
            names.queues.push(cc.name.clone());
            names.queue_cc.push(Some(cc.id.clone()));
            names.defaults.insert(cc.id.clone(), vec![id]);
        }
        for cc in names.defaults.values_mut() {
            cc.sort_by_key(|q| e_priority(&e, *q));
        }
        for r in &spec.rules {
            if let Some(q) = &r.queue {
                if find(&names.queues, q).is_none() {
                    problems.push(format!("rule {:?} sends calls to queue {q:?}, which does not exist", r.name));
                }
            }
            for s in &r.skills {
                if find(&names.skills, &s.skill).is_none() {
                    problems.push(format!("rule {:?} needs skill {:?}, which does not exist", r.name, s.skill));
                }
            }
        }
        for a in &spec.agents {
            for (s, l) in &a.skills {
                if find(&names.skills, s).is_none() {
                    problems.push(format!("agent {} has skill {s:?}, which does not exist", a.user));
                }
                if !(1..=10).contains(l) {
                    problems.push(format!("agent {}: skill {s:?} level {l} is not 1 to 10", a.user));
                }
            }
            for q in &a.queues {
                if find(&names.queues, q).is_none() {
                    problems.push(format!("agent {} is in queue {q:?}, which does not exist", a.user));
                }
            }
            for (c, _) in &a.channel_caps {
                if channel(&names, c).is_none() {
                    problems.push(format!("agent {} has a capacity for channel {c:?}, which does not exist", a.user));
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Decided work keeps the explanation the old engine gave it.
        let keys: Vec<VendorCallKey> = self.work.iter().filter(|(_, w)| (w.decided || w.finished.is_some()) && w.frozen.is_none()).map(|(k, _)| k.clone()).collect();
        for k in keys {
            let view = self.decision(&k).map(Box::new);
            if let Some(w) = self.work.get_mut(&k) {
                w.frozen = view;
            }
        }
        // Carry live work over.
        let old = std::mem::replace(&mut self.engine, e);
        let old_names = std::mem::replace(&mut self.names, names);
        self.spec = spec;
        self.call_centers = call_centers;
        self.direct = direct;
        self.voice = voice;
        let old_agents = std::mem::take(&mut self.agents);
        self.by_ref.clear();
        let mut infos: Vec<AgentInfo> = old_agents.into_values().map(|a| a.info).collect();
        infos.sort_by(|a, b| a.username.cmp(&b.username));
        for a in &infos {
            self.upsert_agent(now, a);
        }
        self.built = true;
        let mut live: Vec<(VendorCallKey, WorkItemId)> = self.work.iter().filter(|(_, w)| w.finished.is_none()).map(|(k, w)| (k.clone(), w.item)).collect();
        // Calls agents already have first (their capacity is taken before anything is
        // offered), then waiting ones in the order they joined their queues.
        let held = |item: &WorkItemId| matches!(old.state(*item), Some(ItemState::Accepted { .. } | ItemState::CalledBack { .. }));
        live.sort_by_key(|(_, item)| (!held(item), old.enqueued_at(*item), *item));
        for (key, item) in live {
            let Some(st) = old.state(item) else { continue };
            let old_queue = match st {
                ItemState::Waiting { queue, .. } | ItemState::Offered { queue, .. } => old_names.queues.get(queue.index()).cloned(),
                _ => None,
            };
            let agent_of = |r: AgentRef| old.user(r).cloned();
            match st {
                ItemState::Waiting { callback, .. } | ItemState::Offered { callback, .. } => {
                    let w = &self.work[&key];
                    let queue = old_queue.and_then(|n| find(&self.names.queues, &n)).map(QueueId::from_index).unwrap_or_else(|| self.default_queue(w.call_center.as_ref()));
                    let reqs = self.requirements(&w.requirements);
                    if self.engine.enqueue(now, WorkItem { id: item, queue, requirements: reqs }).is_ok() && callback {
                        let _ = self.engine.callback_requested(now, item);
                    }
                }
                ItemState::Accepted { agent } | ItemState::CalledBack { agent } => {
                    if let Some(r) = agent_of(agent).and_then(|u| self.agents.get(&u)).map(|e| e.r) {
                        let _ = self.engine.take(now, item, self.direct, r);
                    }
                }
                _ => {}
            }
        }
        // The old engine's undelivered offers are void; the new one decides afresh.
        self.pump(now);
        Ok(())
    }

    fn queue_def(&self, names: &Names, spec: &RoutingSpec, q: &crate::spec::QueueSpec) -> Result<QueueDef, Vec<String>> {
        let mut problems = Vec::new();
        let channel = find(&names.channels, &q.channel).map(ChannelId::from_index);
        if channel.is_none() {
            problems.push(format!("queue {:?} is on channel {:?}, which does not exist", q.name, q.channel));
        }
        let target = |t: &TargetSpec, problems: &mut Vec<String>| match t {
            TargetSpec::Voicemail => Some(OverflowTarget::Voicemail),
            TargetSpec::Callback => Some(OverflowTarget::Callback),
            TargetSpec::Queue(n) => match find(&names.queues, n) {
                Some(i) => Some(OverflowTarget::Queue(QueueId::from_index(i))),
                None => {
                    problems.push(format!("queue {:?} overflows to queue {n:?}, which does not exist", q.name));
                    None
                }
            },
        };
        let overflow = q.overflow.as_ref().and_then(|(after, t)| Some(Overflow { after: *after, to: target(t, &mut problems)? }));
        let nobody = q.when_nobody_signed_in.as_ref().and_then(|t| target(t, &mut problems));
        let hours = match &q.hours {
            Some((name, t)) => match spec.hours.iter().find(|h| h.name.eq_ignore_ascii_case(name)) {
                Some(h) => target(t, &mut problems).map(|t| (h.hours.clone(), t)),
                None => {
                    problems.push(format!("queue {:?} uses business hours {name:?}, which do not exist", q.name));
                    None
                }
            },
            None => None,
        };
        if q.push_timeout <= Duration::ZERO {
            problems.push(format!("queue {:?}: the push timeout must be more than 0 seconds", q.name));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(QueueDef {
            name: q.name.clone(),
            channel: channel.expect("checked"),
            priority: q.priority,
            model: q.model,
            units: q.units,
            push_timeout: q.push_timeout,
            overflow,
            when_nobody_signed_in: nobody,
            hours,
        })
    }

    fn agent_def_key(&self, a: &AgentInfo) -> AgentSettings {
        let spec = self.spec.agents.iter().find(|s| s.user == a.id);
        let defaults = || a.call_center.as_ref().and_then(|cc| self.names.defaults.get(cc)).cloned().unwrap_or_default();
        match spec {
            Some(s) => {
                let caps = s.channel_caps.iter().filter_map(|(c, n)| Some((ChannelId::from_index(find(&self.names.channels, c)?), *n))).collect();
                let skills = s.skills.iter().filter_map(|(n, l)| Some((SkillId::from_index(find(&self.names.skills, n)?), *l))).collect();
                let mut queues: Vec<QueueId> = s.queues.iter().filter_map(|q| find(&self.names.queues, q)).map(QueueId::from_index).collect();
                if queues.is_empty() {
                    queues = defaults();
                }
                (s.capacity, caps, skills, queues)
            }
            None => (self.engine_voice_weight(), Vec::new(), Vec::new(), defaults()),
        }
    }

    fn engine_voice_weight(&self) -> u32 {
        self.spec.channels.iter().find(|c| c.name.eq_ignore_ascii_case("voice")).map_or(1, |c| c.weight)
    }

    fn upsert_agent(&mut self, now: OffsetDateTime, a: &AgentInfo) {
        let key = self.agent_def_key(a);
        let status = self.status_for(a.presence, a.status.as_deref());
        match self.agents.get_mut(&a.id) {
            None => {
                let def = AgentDef { user: a.id.clone(), status, capacity: key.0, channel_caps: key.1.clone(), skills: key.2.clone(), queues: key.3.clone() };
                let Ok(r) = self.engine.add_agent(now, def) else { return };
                self.by_ref.push(a.id.clone());
                debug_assert_eq!(self.by_ref.len(), r.index() + 1);
                self.agents.insert(a.id.clone(), AgentEntry { r, info: a.clone(), def_key: key });
            }
            Some(e) => {
                let r = e.r;
                if e.def_key.2 != key.2 || e.def_key.3 != key.3 {
                    let _ = self.engine.set_agent_skills_and_queues(now, r, key.2.clone(), key.3.clone());
                }
                if e.def_key.0 != key.0 || e.def_key.1 != key.1 {
                    let _ = self.engine.set_agent_capacity(now, r, key.0, key.1.clone());
                }
                e.def_key = key;
                // Presence read before a newer change routing already has is stale: keep the newer.
                let stale = match (a.since, e.info.since) {
                    (Some(read), Some(known)) => read < known,
                    (None, Some(_)) => true,
                    _ => false,
                };
                if stale {
                    let (presence, st, since) = (e.info.presence, e.info.status.clone(), e.info.since);
                    e.info = AgentInfo { presence, status: st, since, ..a.clone() };
                    return;
                }
                if e.info.presence != a.presence || e.info.status != a.status {
                    let _ = self.engine.agent_presence(now, r, status);
                }
                e.info = a.clone();
            }
        }
    }

    fn requirements(&self, needs: &[(String, u8, Option<Duration>)]) -> Vec<Requirement> {
        needs
            .iter()
            .filter_map(|(s, level, relax)| Some(Requirement { skill: SkillId::from_index(find(&self.names.skills, s)?), level: *level, relax_after: *relax }))
            .collect()
    }

    fn default_queue(&self, call_center: Option<&SalesforceId>) -> QueueId {
        call_center.and_then(|cc| self.names.defaults.get(cc)).and_then(|qs| qs.first().copied()).unwrap_or(self.direct)
    }

    /// The first queue of a channel, the call center's own preferred.
    fn channel_queue(&self, channel: &str, call_center: Option<&SalesforceId>) -> QueueId {
        let on_channel: Vec<usize> = self.spec.queues.iter().filter(|q| q.channel.eq_ignore_ascii_case(channel)).filter_map(|q| find(&self.names.queues, &q.name)).collect();
        on_channel
            .iter()
            .find(|i| call_center.is_some() && self.names.queue_cc[**i].as_ref() == call_center)
            .or(on_channel.first())
            .map_or(self.direct, |i| QueueId::from_index(*i))
    }

    // ---- work ----

    /// A new call (or other work item) to route: the first matching entry
    /// rule picks its queue and skills, else its call center's default queue.
    /// Idempotent: a key already known changes nothing.
    pub fn arrive(&mut self, now: OffsetDateTime, key: &VendorCallKey, arrival: &Arrival) {
        if self.work.contains_key(key) || self.aliases.contains_key(key) || self.ended_early.contains_key(key) {
            return;
        }
        let (entry, queue, needs) = self.classify(arrival);
        let item = self.new_item(key);
        let requirements = self.requirements(&needs);
        let queue = match (queue, arrival.channel.as_deref()) {
            (Some(q), _) => q,
            (None, Some(ch)) if !ch.eq_ignore_ascii_case("voice") => self.channel_queue(ch, arrival.call_center.as_ref()),
            (None, _) => self.default_queue(arrival.call_center.as_ref()),
        };
        self.work.insert(
            key.clone(),
            Work { item, entry, requirements: needs, from: arrival.from.clone(), call_center: arrival.call_center.clone(), direct: queue == self.direct, call_ended: false, finished: None, decided: false, aliases: Vec::new(), frozen: None },
        );
        if queue == self.direct {
            // No queue takes this call center's calls: it cannot be routed.
            self.finish(now, key);
            return;
        }
        let _ = self.engine.enqueue(now, WorkItem { id: item, queue, requirements });
        self.pump(now);
    }

    /// Entry rule name, queue (None: the call center's default) and skills.
    fn classify(&self, a: &Arrival) -> (String, Option<QueueId>, Vec<Need>) {
        let mut rules: Vec<&crate::spec::RuleSpec> = self.spec.rules.iter().collect();
        rules.sort_by_key(|r| r.order);
        for r in rules {
            let w = &r.when;
            let matches = w.call_center.as_ref().is_none_or(|cc| a.call_center.as_ref() == Some(cc))
                && w.dialled.as_ref().is_none_or(|d| a.dialled.as_deref() == Some(d.as_str()))
                && w.ivr_choice.as_ref().is_none_or(|c| a.ivr_choice.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(c)))
                && w.record_field.as_ref().is_none_or(|(f, v)| a.record.iter().any(|(rf, rv)| rf.eq_ignore_ascii_case(f) && rv.eq_ignore_ascii_case(v)));
            if !matches {
                continue;
            }
            let queue = r.queue.as_ref().and_then(|q| find(&self.names.queues, q)).map(QueueId::from_index);
            let needs = r.skills.iter().map(|s| (s.skill.clone(), s.level, s.relax_after)).collect();
            return (format!("rule {}", r.name), queue, needs);
        }
        ("the call center's default queue".into(), None, Vec::new())
    }

    /// Whether any entry rule reads the caller's record (then the edge looks it up before `arrive`).
    pub fn rules_read_records(&self) -> bool {
        self.spec.rules.iter().any(|r| r.when.record_field.is_some())
    }

    /// The caller's record fields the entry rules read (`Account.Rating`, …).
    pub fn record_fields_wanted(&self) -> Vec<String> {
        let mut out: Vec<String> = self.spec.rules.iter().filter_map(|r| r.when.record_field.as_ref().map(|(f, _)| f.clone())).collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `key` has arrived (is or was routed).
    pub fn has_arrived(&self, key: &VendorCallKey) -> bool {
        self.work.contains_key(self.resolve(key)) || self.ended_early.contains_key(key)
    }

    fn new_item(&mut self, key: &VendorCallKey) -> WorkItemId {
        let item = WorkItemId(self.next_item);
        self.next_item += 1;
        self.by_item.insert(item, key.clone());
        item
    }

    fn resolve<'a>(&'a self, key: &'a VendorCallKey) -> &'a VendorCallKey {
        self.aliases.get(key).unwrap_or(key)
    }

    /// The agent an edge should ring for `key` now. An offer to an agent the
    /// edge cannot reach (`reachable` false, or in `exclude`: tried already)
    /// is declined, and the next one taken.
    pub fn route(&mut self, now: OffsetDateTime, key: &VendorCallKey, exclude: &[AgentId], reachable: &dyn Fn(&AgentId) -> bool) -> Routed {
        self.poll(now);
        let key = self.resolve(key).clone();
        let Some(item) = self.work.get(&key).map(|w| w.item) else { return Routed::Gone };
        for _ in 0..=self.by_ref.len() {
            match self.engine.state(item) {
                Some(ItemState::Offered { agent, callback: false, .. }) => {
                    let user = self.by_ref[agent.index()].clone();
                    if exclude.contains(&user) || !reachable(&user) {
                        let _ = self.engine.decline(now, item, agent);
                        self.pump(now);
                        continue;
                    }
                    return Routed::Offer(user);
                }
                Some(ItemState::Waiting { callback: true, .. } | ItemState::Offered { callback: true, .. }) => return Routed::Leave(Away::Callback),
                Some(ItemState::Waiting { .. }) => return Routed::Wait,
                Some(ItemState::Overflowed { to: OverflowTarget::Voicemail }) => return Routed::Leave(Away::Voicemail),
                Some(ItemState::Accepted { agent }) => return Routed::Offer(self.by_ref[agent.index()].clone()),
                _ => return Routed::Gone,
            }
        }
        Routed::Wait
    }

    /// The edge could not complete the offer (declined, no answer, unreachable).
    pub fn offer_failed(&mut self, now: OffsetDateTime, key: &VendorCallKey, agent: &AgentId) {
        let key = self.resolve(key).clone();
        let (Some(w), Some(e)) = (self.work.get(&key), self.agents.get(agent)) else { return };
        let (item, r) = (w.item, e.r);
        match self.engine.state(item) {
            Some(ItemState::Offered { agent: a, .. }) if a == r => {
                let _ = self.engine.decline(now, item, r);
            }
            Some(ItemState::Accepted { agent: a }) if a == r && w.direct => {
                let _ = self.engine.complete(now, item);
                self.finish(now, &key);
            }
            _ => {}
        }
        self.pump(now);
    }

    /// The agent accepts what they were offered (a pushed offer: a callback,
    /// a case, a chat). An accepted callback comes out as [`Output::DialOut`].
    pub fn accept(&mut self, now: OffsetDateTime, key: &VendorCallKey, agent: &AgentId) -> bool {
        let key = self.resolve(key).clone();
        let (Some(w), Some(e)) = (self.work.get(&key), self.agents.get(agent)) else { return false };
        let ok = self.engine.accept(now, w.item, e.r).is_ok();
        self.pump(now);
        self.decided_if_accepted(&key);
        ok
    }

    /// The agent turns a pushed offer down: the next agent is offered it.
    pub fn decline(&mut self, now: OffsetDateTime, key: &VendorCallKey, agent: &AgentId) -> bool {
        let key = self.resolve(key).clone();
        let (Some(w), Some(e)) = (self.work.get(&key), self.agents.get(agent)) else { return false };
        let ok = self.engine.decline(now, w.item, e.r).is_ok();
        self.pump(now);
        ok
    }

    /// The item is done (a case closed, a chat ended): its capacity is free.
    pub fn complete(&mut self, now: OffsetDateTime, key: &VendorCallKey) -> bool {
        let key = self.resolve(key).clone();
        let Some(w) = self.work.get(&key) else { return false };
        let ok = self.engine.complete(now, w.item).is_ok();
        if ok {
            self.finish(now, &key);
        }
        self.pump(now);
        ok
    }

    /// The caller asked to be called back (an IVR choice, the agent desktop,
    /// the API): the item keeps its place and the live call may end.
    pub fn callback_requested(&mut self, now: OffsetDateTime, key: &VendorCallKey) -> bool {
        let key = self.resolve(key).clone();
        let Some(item) = self.work.get(&key).map(|w| w.item) else { return false };
        let ok = self.engine.callback_requested(now, item).is_ok();
        if ok {
            self.out.push_back(Output::Left { key: key.clone(), to: Away::Callback });
        }
        self.pump(now);
        ok
    }

    /// The callback `key` is being dialled as `dial_key`: events of the
    /// dial-out call count for the callback.
    pub fn link_dial_out(&mut self, key: &VendorCallKey, dial_key: &VendorCallKey) {
        if let Some(w) = self.work.get_mut(key) {
            w.aliases.push(dial_key.clone());
            self.aliases.insert(dial_key.clone(), key.clone());
        }
    }

    /// Whether `agent` could take a call now (status opens voice, capacity free): for transfers and click-to-dial.
    pub fn can_take_call(&self, agent: &AgentId) -> bool {
        let Some(e) = self.agents.get(agent) else { return false };
        let Some((status, _)) = self.engine.agent_status(e.r) else { return false };
        let opens = self.spec_status_opens_voice(status);
        let (used, voice_used, _) = self.engine.agent_load(e.r, self.voice).unwrap_or((0, 0, 0));
        let cap = self.engine.agent_capacity(e.r).unwrap_or(0);
        let voice_cap = e.def_key.1.iter().find(|(c, _)| *c == self.voice).map_or(cap, |(_, n)| *n);
        let w = self.engine_voice_weight();
        opens && used + w <= cap && voice_used + w <= voice_cap
    }

    fn spec_status_opens_voice(&self, status: StatusId) -> bool {
        let name = &self.names.statuses[status.index()];
        match self.spec.statuses.iter().find(|s| s.name.eq_ignore_ascii_case(name)) {
            Some(s) => s.channels.iter().any(|c| c.eq_ignore_ascii_case("voice")),
            None => name == Presence::Available.as_str(),
        }
    }

    /// A call event from any edge (after the edge's own hooks).
    pub fn observe(&mut self, now: OffsetDateTime, ev: &CallEvent) {
        let key = self.resolve(&ev.key).clone();
        match &ev.kind {
            EventKind::Offered { agent } | EventKind::Answered { agent } => {
                let Some(r) = self.agents.get(agent).map(|e| e.r) else { return };
                let answered = matches!(ev.kind, EventKind::Answered { .. });
                match self.work.get(&key).map(|w| (w.item, w.finished.is_some())) {
                    None => {
                        // Work the engine never routed holds its agent.
                        let item = self.new_item(&key);
                        self.work.insert(
                            key.clone(),
                            Work { item, entry: "assigned directly".into(), requirements: Vec::new(), from: String::new(), call_center: None, direct: true, call_ended: false, finished: None, decided: true, aliases: Vec::new(), frozen: None },
                        );
                        let _ = self.engine.take(now, item, self.direct, r);
                    }
                    Some((item, false)) => {
                        let offered_here = matches!(self.engine.state(item), Some(ItemState::Offered { agent: a, .. }) if a == r);
                        // An answer accepts; an edge's offer to an agent of its own choosing holds that agent.
                        if answered || !offered_here {
                            let _ = self.engine.take(now, item, self.direct, r);
                        }
                        self.decided_if_accepted(&key);
                    }
                    Some((_, true)) => {}
                }
            }
            EventKind::OfferResult { agent, result } if *result != CallOfferOutcome::Accepted => {
                self.offer_failed(now, &key, agent);
            }
            EventKind::Ended { .. } | EventKind::Failed { .. } | EventKind::Voicemail { .. } | EventKind::Transferred { .. } => {
                return self.call_ended(now, &ev.key);
            }
            _ => return,
        }
        self.pump(now);
    }

    /// The call is over, however that was learnt (its end event, the
    /// lifecycle's reaper): its agent is free, or a caller still waiting has
    /// abandoned (a callback lives on). A call that ends before it arrives
    /// (events out of order) is remembered, so it is never routed.
    pub fn call_ended(&mut self, now: OffsetDateTime, key: &VendorCallKey) {
        let key = self.resolve(key).clone();
        let Some(w) = self.work.get_mut(&key) else {
            if self.ended_early.insert(key.clone(), now).is_none() {
                self.early.push_back((now, key));
            }
            return;
        };
        w.call_ended = true;
        let item = w.item;
        match self.engine.state(item) {
            Some(ItemState::Accepted { .. } | ItemState::CalledBack { .. }) => {
                let _ = self.engine.complete(now, item);
                self.finish(now, &key);
            }
            Some(ItemState::Waiting { callback: false, .. } | ItemState::Offered { callback: false, .. }) => {
                let _ = self.engine.abandon(now, item);
                self.finish(now, &key);
            }
            _ => {}
        }
        self.pump(now);
    }

    fn finish(&mut self, now: OffsetDateTime, key: &VendorCallKey) {
        if let Some(w) = self.work.get_mut(key) {
            if w.finished.is_none() {
                w.finished = Some(now);
                self.finished.push_back((now, key.clone()));
            }
            if !w.decided {
                w.decided = true;
                self.out.push_back(Output::Decided { key: key.clone() });
            }
        }
    }

    /// Fires timers due by `now` (push timeouts, overflow, relaxation) and
    /// forgets work finished long ago.
    pub fn poll(&mut self, now: OffsetDateTime) {
        self.engine.poll(now);
        self.pump(now);
        // Finished work and early ends leave in the order they came: no scan of everything.
        while self.finished.front().is_some_and(|(t, _)| now - *t > KEEP_FINISHED) {
            let (_, k) = self.finished.pop_front().expect("front");
            if let Some(w) = self.work.remove(&k) {
                self.engine.forget(w.item);
                self.by_item.remove(&w.item);
                for alias in w.aliases {
                    self.aliases.remove(&alias);
                }
            }
        }
        while self.early.front().is_some_and(|(t, _)| now - *t > KEEP_FINISHED) {
            let (_, k) = self.early.pop_front().expect("front");
            self.ended_early.remove(&k);
        }
    }

    pub fn next_wakeup(&self) -> Option<OffsetDateTime> {
        self.engine.next_wakeup()
    }

    /// What the edges must do, oldest first.
    pub fn drain(&mut self) -> Vec<Output> {
        self.out.drain(..).collect()
    }

    fn pump(&mut self, now: OffsetDateTime) {
        while let Some(d) = self.engine.next_decision() {
            let key_of = |s: &Self, item: &WorkItemId| s.by_item.get(item).cloned();
            let user = |s: &Self, a: AgentRef| s.by_ref[a.index()].clone();
            match d {
                Decision::Offer { item, agent, callback } => {
                    if let Some(key) = key_of(self, &item) {
                        self.out.push_back(Output::Offered { key, agent: user(self, agent), callback });
                    }
                }
                Decision::OfferTimedOut { item, agent } | Decision::OfferWithdrawn { item, agent } | Decision::OfferRescinded { item, agent } => {
                    let caller_left = matches!(d, Decision::OfferRescinded { .. });
                    if let Some(key) = key_of(self, &item) {
                        self.out.push_back(Output::Withdraw { key, agent: user(self, agent), caller_left });
                    }
                }
                Decision::Overflowed { item, to, .. } => {
                    let Some(key) = key_of(self, &item) else { continue };
                    match to {
                        OverflowTarget::Voicemail => {
                            self.out.push_back(Output::Left { key: key.clone(), to: Away::Voicemail });
                            self.finish(now, &key);
                        }
                        OverflowTarget::Callback => self.out.push_back(Output::Left { key, to: Away::Callback }),
                        OverflowTarget::Queue(_) => {}
                    }
                }
                Decision::DialOut { item, agent } => {
                    let Some(key) = key_of(self, &item) else { continue };
                    let w = &self.work[&key];
                    self.out.push_back(Output::DialOut { key: key.clone(), agent: user(self, agent), number: w.from.clone(), call_center: w.call_center.clone() });
                    self.finish(now, &key);
                }
                Decision::OfferDeclined { .. } | Decision::Relaxed { .. } => {}
            }
        }
    }

    /// An item just accepted (or taken) is decided: its explanation is final.
    fn decided_if_accepted(&mut self, key: &VendorCallKey) {
        let Some(w) = self.work.get_mut(key) else { return };
        if !w.decided && matches!(self.engine.state(w.item), Some(ItemState::Accepted { .. } | ItemState::CalledBack { .. })) {
            w.decided = true;
            self.out.push_back(Output::Decided { key: key.clone() });
        }
    }

    // ---- views ----

    /// Why `key` went where it went (or waits), in names.
    pub fn decision(&self, key: &VendorCallKey) -> Option<DecisionView> {
        self.decision_limited(key, usize::MAX)
    }

    /// [`Routing::decision`] with at most `limit` candidates: the chosen
    /// agent and those the decision walked over first, then the others in
    /// queue order; `more_candidates` counts the rest.
    pub fn decision_limited(&self, key: &VendorCallKey, limit: usize) -> Option<DecisionView> {
        let key = self.resolve(key);
        let w = self.work.get(key)?;
        if let Some(f) = &w.frozen {
            let mut v = (**f).clone();
            v.more_candidates += v.candidates.len().saturating_sub(limit);
            v.candidates.truncate(limit);
            return Some(v);
        }
        let st = self.engine.state(w.item)?;
        let name = |r: AgentRef| self.agents.get(&self.by_ref[r.index()]).map_or_else(|| self.by_ref[r.index()].to_string(), |e| e.info.username.clone());
        let (state, agent) = match st {
            ItemState::Waiting { callback: true, .. } => ("callback", None),
            ItemState::Waiting { .. } => ("waiting", None),
            ItemState::Offered { agent, .. } => ("offered", Some(name(agent))),
            ItemState::Accepted { agent } => ("accepted", Some(name(agent))),
            ItemState::CalledBack { agent } => ("calledBack", Some(name(agent))),
            ItemState::Completed { agent, callback: true } => ("calledBack", Some(name(agent))),
            ItemState::Completed { agent, .. } => ("accepted", Some(name(agent))),
            ItemState::Overflowed { .. } => ("voicemail", None),
            ItemState::Abandoned => ("abandoned", None),
        };
        let ex = self.engine.explain(w.item);
        let queue = ex.as_ref().map(|e| e.queue).or(match st {
            ItemState::Waiting { queue, .. } | ItemState::Offered { queue, .. } => Some(queue),
            _ => None,
        });
        let queue_name = queue.map_or_else(|| DIRECT_QUEUE.to_string(), |q| self.names.queues[q.index()].clone());
        let skill = |s: SkillId| self.names.skills.get(s.index()).cloned().unwrap_or_default();
        let mut order: Vec<&(AgentRef, Verdict)> = ex.as_ref().map(|e| e.candidates.iter().collect()).unwrap_or_default();
        let walked = |v: &Verdict| match v {
            Verdict::Chosen => 0,
            Verdict::DeclinedEarlier | Verdict::MissingSkill { .. } => 1,
            _ => 2,
        };
        order.sort_by_key(|(_, v)| walked(v));
        let more_candidates = order.len().saturating_sub(limit);
        let candidates = order.into_iter().take(limit).map(|(r, v)| CandidateView { username: name(*r), reason: self.verdict_words(v), verdict: v.clone() }).collect();
        let rule = match ex.as_ref().map(|e| e.rule) {
            Some(Rule::Model(m)) => format!("offered to the first eligible agent by {}", model_words(m)),
            Some(Rule::NoCandidate) => "waiting: no agent of the queue has the channel open, the capacity and the skills".into(),
            Some(Rule::Overflow(reason, to)) => {
                let why = match reason {
                    OverflowReason::Waited(d) => format!("waited {} s", d.whole_seconds()),
                    OverflowReason::NobodySignedIn => "nobody in the queue was signed in".into(),
                    OverflowReason::AfterHours => "arrived outside the queue's business hours".into(),
                };
                let to = match to {
                    OverflowTarget::Queue(q) => format!("queue {}", self.names.queues[q.index()]),
                    OverflowTarget::Voicemail => "voicemail".into(),
                    OverflowTarget::Callback => "a callback".into(),
                };
                format!("overflow: {why}, so to {to}")
            }
            None if w.direct => "not routed: assigned directly to the agent (a named transfer, an outbound call, or an edge's own choice)".into(),
            None => "not decided yet".into(),
        };
        let offers = self
            .engine
            .offer_history(w.item)
            .unwrap_or_default()
            .into_iter()
            .map(|o| OfferView {
                username: name(o.agent),
                offered_at: o.offered_at,
                outcome: o.ended.map(|(x, _)| match x {
                    OfferOutcome::Accepted => "accepted",
                    OfferOutcome::Declined => "declined",
                    OfferOutcome::TimedOut => "timedOut",
                    OfferOutcome::Withdrawn => "withdrawn",
                    OfferOutcome::Rescinded => "rescinded",
                }),
                ended_at: o.ended.map(|(_, t)| t),
            })
            .collect();
        Some(DecisionView {
            key: key.clone(),
            state,
            agent,
            queue: queue_name,
            entry: w.entry.clone(),
            requirements: w.requirements.clone(),
            relaxed: ex.as_ref().map(|e| e.relaxed.iter().map(|s| skill(*s)).collect()).unwrap_or_default(),
            rule,
            decided_at: ex.as_ref().map(|e| e.at),
            enqueued_at: self.engine.enqueued_at(w.item),
            candidates,
            offers,
            direct: w.direct,
            more_candidates,
            callback: matches!(st, ItemState::Waiting { callback: true, .. } | ItemState::Offered { callback: true, .. } | ItemState::CalledBack { .. } | ItemState::Completed { callback: true, .. }),
        })
    }

    fn verdict_words(&self, v: &Verdict) -> String {
        let skill = |s: &SkillId| self.names.skills.get(s.index()).cloned().unwrap_or_default();
        match v {
            Verdict::Chosen => "chosen".into(),
            Verdict::DeclinedEarlier => "declined this call earlier or let it ring out".into(),
            Verdict::MissingSkill { skill: s, level, has: Some(h) } => format!("skill {} at level {h}, {level} needed", skill(s)),
            Verdict::MissingSkill { skill: s, level, has: None } => format!("no skill {} ({level} needed)", skill(s)),
            Verdict::RankedLower => "eligible, but another agent came first".into(),
            Verdict::ChannelClosed { status } => format!("status {} does not take this channel", self.names.statuses.get(status.index()).map_or("?", String::as_str)),
            Verdict::OverCapacity { used, capacity, units, .. } => format!("at capacity ({used} of {capacity} units used, {units} needed)"),
        }
    }

    /// Supervisors' view: every queue (not the direct one) and its load.
    pub fn queues(&self, now: OffsetDateTime) -> Vec<QueueView> {
        let mut out = Vec::new();
        for (i, name) in self.names.queues.iter().enumerate() {
            let q = QueueId::from_index(i);
            if q == self.direct {
                continue;
            }
            let Some(load) = self.engine.queue_load(q) else { continue };
            let spec = self.spec.queues.iter().find(|s| s.name.eq_ignore_ascii_case(name));
            let items = self
                .engine
                .waiting(q)
                .filter_map(|item| Some((self.by_item.get(&item)?.clone(), now - self.engine.enqueued_at(item)?)))
                .collect();
            out.push(QueueView {
                name: name.clone(),
                channel: spec.map_or_else(|| "voice".to_string(), |s| s.channel.clone()),
                call_center: self.names.queue_cc[i].clone(),
                priority: spec.map_or(1, |s| s.priority),
                model: model_name(spec.map_or(crate::engine::RoutingModel::LongestIdle, |s| s.model)),
                waiting: load.waiting,
                callbacks: load.callbacks,
                longest_wait: load.oldest.map(|t| now - t),
                signed_in: load.signed_in,
                members: load.members,
                items,
            });
        }
        out
    }

    /// Supervisors' view of agents: status, since, load.
    pub fn agents(&self) -> Vec<AgentView> {
        let mut out: Vec<AgentView> = self
            .agents
            .values()
            .filter_map(|e| {
                let (status, since) = self.engine.agent_status(e.r)?;
                let (used, _, active) = self.engine.agent_load(e.r, self.voice)?;
                Some(AgentView {
                    id: e.info.id.clone(),
                    username: e.info.username.clone(),
                    call_center: e.info.call_center.clone(),
                    status: e.info.status.clone().unwrap_or_else(|| self.names.statuses[status.index()].clone()),
                    since,
                    used,
                    capacity: self.engine.agent_capacity(e.r)?,
                    active,
                    queues: e.def_key.3.iter().map(|q| self.names.queues[q.index()].clone()).collect(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.username.cmp(&b.username));
        out
    }

    /// Time `agent` has spent in each status since routing first knew them (up to `now`), for reports.
    pub fn time_in_status(&self, agent: &AgentId, now: OffsetDateTime) -> Vec<(String, Duration)> {
        let Some(e) = self.agents.get(agent) else { return Vec::new() };
        (0..self.names.statuses.len())
            .map(|i| (self.names.statuses[i].clone(), self.engine.time_in_status(e.r, StatusId::from_index(i), now)))
            .filter(|(_, d)| *d > Duration::ZERO)
            .collect()
    }

    /// The applied spec.
    pub fn spec(&self) -> &RoutingSpec {
        &self.spec
    }
}

fn plain_queue(name: &str, channel: ChannelId) -> QueueDef {
    QueueDef {
        name: name.to_string(),
        channel,
        priority: 1,
        model: crate::engine::RoutingModel::LongestIdle,
        units: None,
        push_timeout: DEFAULT_PUSH_TIMEOUT,
        overflow: None,
        when_nobody_signed_in: None,
        hours: None,
    }
}

fn e_priority(_e: &Engine, q: QueueId) -> u32 {
    q.index() as u32
}

fn model_name(m: crate::engine::RoutingModel) -> &'static str {
    match m {
        crate::engine::RoutingModel::MostAvailable => "MostAvailable",
        crate::engine::RoutingModel::LeastActive => "LeastActive",
        crate::engine::RoutingModel::LongestIdle => "LongestIdle",
    }
}

fn model_words(m: crate::engine::RoutingModel) -> &'static str {
    match m {
        crate::engine::RoutingModel::MostAvailable => "most available capacity",
        crate::engine::RoutingModel::LeastActive => "fewest items in progress",
        crate::engine::RoutingModel::LongestIdle => "longest idle",
    }
}
