//! The routing engine (issue 7, sans-IO core): voice calls, cases and chats
//! are all work items, routed to agents whose presence, capacity and skills
//! are shared across every channel.
//!
//! Records (channels, presence statuses, skills, queues, agents) are added to
//! an [`Engine`] and get dense typed ids back. Inputs take `now`; the engine
//! never reads a clock. Decisions are queued and drained with
//! [`Engine::next_decision`]; [`Engine::next_wakeup`] says when to call
//! [`Engine::poll`] (push timeouts, overflow, skill relaxation).
//!
//! A decision does not scan all agents: every queue keeps an ordered index of
//! the members that can take its next item now (channel open in their
//! presence, capacity for the queue's units), keyed by the queue's routing
//! model, so choosing an agent is a walk from the front of that index that
//! stops at the first agent with the item's skills. [`Strategy::Scan`] picks
//! the same agents by scanning every agent; it exists for the benchmark's
//! reference and for the property test that both agree.

use dialtone_calls::AgentId;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use time::{Duration, OffsetDateTime};

macro_rules! dense_id {
    ($(#[$m:meta])* $name:ident, $repr:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);
        impl $name {
            /// The dense index the engine gave this record (0, 1, 2, … in the order added).
            pub fn index(self) -> usize {
                self.0 as usize
            }
            /// The id of the record added `i`-th (the caller keeps names by index).
            #[allow(dead_code)]
            pub(crate) fn from_index(i: usize) -> Self {
                $name(i as $repr)
            }
        }
    };
}

dense_id!(/// A service channel (voice, case, chat, …).
    ChannelId, u8);
dense_id!(/// A presence status record ("Available – Voice", "Busy", …).
    StatusId, u16);
dense_id!(/// A skill.
    SkillId, u32);
dense_id!(/// A routing queue.
    QueueId, u32);
dense_id!(/// An agent as the engine knows it; [`Engine::agent_by_user`] maps a user's [`AgentId`] to it.
    AgentRef, u32);

/// A work item's key, chosen by the caller (unique for the engine's lifetime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkItemId(pub u64);

/// At most this many channels: a status's open channels are a bit set.
pub const MAX_CHANNELS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingModel {
    /// The agent with the most unused capacity (ties: longest idle).
    MostAvailable,
    /// The agent with the fewest items in flight (ties: longest idle).
    LeastActive,
    /// The agent free the longest: agents with nothing in flight first, by
    /// when their last item ended; then busy agents, by when they were last offered one.
    LongestIdle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverflowTarget {
    /// Moves to the back of another queue (added earlier, so overflow chains never loop).
    Queue(QueueId),
    /// Leaves routing: the edge sends the caller to voicemail.
    Voicemail,
    /// Becomes a callback: keeps its place in its queue, no longer overflows,
    /// and when accepted the edge dials the caller.
    Callback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    pub after: Duration,
    pub to: OverflowTarget,
}

/// When a queue takes work: weekly windows in one UTC offset, minus holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// The offset the windows and holidays are written in.
    pub offset: time::UtcOffset,
    /// Open from the first minute of the day (0–1439) to before the second, on that weekday.
    pub windows: Vec<(time::Weekday, u16, u16)>,
    /// Local dates closed all day.
    pub holidays: Vec<time::Date>,
}

impl BusinessHours {
    pub fn is_open(&self, t: OffsetDateTime) -> bool {
        let local = t.to_offset(self.offset);
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.windows.iter().any(|(day, open, close)| *day == local.weekday() && (*open..*close).contains(&minute))
    }
}

#[derive(Debug, Clone)]
pub struct QueueDef {
    pub name: String,
    pub channel: ChannelId,
    /// Lower goes first: a free agent in two queues takes priority 1's item before priority 2's.
    pub priority: u8,
    pub model: RoutingModel,
    /// Capacity units an item of this queue takes; the channel's weight when `None`.
    pub units: Option<u32>,
    /// An offer not accepted within this goes to the next agent.
    pub push_timeout: Duration,
    /// After waiting this long in the queue the item overflows.
    pub overflow: Option<Overflow>,
    /// Where an item goes when no member of the queue has the channel open.
    pub when_nobody_signed_in: Option<OverflowTarget>,
    /// Outside these hours an arriving item goes to the target at once (after-hours rule).
    pub hours: Option<(BusinessHours, OverflowTarget)>,
}

#[derive(Debug, Clone)]
pub struct AgentDef {
    pub user: AgentId,
    pub status: StatusId,
    /// Total capacity units across channels.
    pub capacity: u32,
    /// Per-channel limits within the total; a channel not named is limited by the total only.
    pub channel_caps: Vec<(ChannelId, u32)>,
    pub skills: Vec<(SkillId, u8)>,
    pub queues: Vec<QueueId>,
}

/// A skill an item needs, at `level` or above. With `relax_after` it is
/// optional: dropped once that long has passed since the item was enqueued
/// (an overflow into another queue does not restart it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub skill: SkillId,
    pub level: u8,
    pub relax_after: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct WorkItem {
    pub id: WorkItemId,
    pub queue: QueueId,
    pub requirements: Vec<Requirement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowReason {
    Waited(Duration),
    NobodySignedIn,
    /// Arrived outside the queue's business hours (or on a holiday).
    AfterHours,
}

/// What the engine decided; the edges act on these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ring / push the item to the agent; capacity is held until accept + complete, decline or timeout.
    Offer {
        item: WorkItemId,
        agent: AgentRef,
        callback: bool,
    },
    /// Not accepted within the queue's push timeout; the item is routed to someone else.
    OfferTimedOut { item: WorkItemId, agent: AgentRef },
    /// The agent declined; the item is routed to someone else.
    OfferDeclined { item: WorkItemId, agent: AgentRef },
    /// The agent's new presence closed the item's channel; the item is routed again.
    OfferWithdrawn { item: WorkItemId, agent: AgentRef },
    /// The caller hung up or asked for a callback while the item was being offered.
    OfferRescinded { item: WorkItemId, agent: AgentRef },
    Overflowed {
        item: WorkItemId,
        from: QueueId,
        to: OverflowTarget,
        reason: OverflowReason,
    },
    /// An optional skill was dropped after its wait.
    Relaxed { item: WorkItemId, skill: SkillId },
    /// A callback was accepted: the edge dials the caller out for the agent.
    DialOut { item: WorkItemId, agent: AgentRef },
}

/// Where a work item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    Waiting {
        queue: QueueId,
        callback: bool,
    },
    Offered {
        queue: QueueId,
        agent: AgentRef,
        callback: bool,
    },
    Accepted {
        agent: AgentRef,
    },
    /// An accepted callback.
    CalledBack {
        agent: AgentRef,
    },
    Completed {
        agent: AgentRef,
        callback: bool,
    },
    Overflowed {
        to: OverflowTarget,
    },
    Abandoned,
}

impl ItemState {
    /// Accepted, called back, completed, overflowed out of routing or abandoned.
    pub fn is_final(self) -> bool {
        !matches!(self, ItemState::Waiting { .. } | ItemState::Offered { .. })
    }
}

/// How one offer of an item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferOutcome {
    Accepted,
    Declined,
    /// Not answered within the queue's push timeout.
    TimedOut,
    /// The agent's presence closed the channel.
    Withdrawn,
    /// The caller hung up or asked for a callback.
    Rescinded,
}

/// One offer of an item, for reports: who, when, and how it ended (`None`: still ringing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferRecord {
    pub agent: AgentRef,
    pub offered_at: OffsetDateTime,
    pub ended: Option<(OfferOutcome, OffsetDateTime)>,
}

/// Why one candidate was or was not chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Chosen,
    /// Declined this item already, or let its offer time out.
    DeclinedEarlier,
    MissingSkill {
        skill: SkillId,
        level: u8,
        has: Option<u8>,
    },
    /// Eligible, but the routing model put another agent first.
    RankedLower,
    /// Its presence does not open the queue's channel.
    ChannelClosed {
        status: StatusId,
    },
    OverCapacity {
        used: u32,
        capacity: u32,
        channel_used: u32,
        channel_capacity: u32,
        units: u32,
    },
}

/// The rule behind the latest decision on an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Offered to the first eligible agent in the queue's model order.
    Model(RoutingModel),
    /// No candidate had the channel, the capacity and the skills: the item waits.
    NoCandidate,
    Overflow(OverflowReason, OverflowTarget),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub item: WorkItemId,
    pub queue: QueueId,
    pub at: OffsetDateTime,
    pub rule: Rule,
    /// Optional skills dropped by then.
    pub relaxed: Vec<SkillId>,
    /// Every member of the queue. Candidates the decision walked over carry
    /// the verdict they got then; the other members are judged on the state
    /// at the time `explain` is called (not available, over capacity, ranked lower).
    pub candidates: Vec<(AgentRef, Verdict)>,
}

/// A queue at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLoad {
    pub waiting: usize,
    /// Of the waiting items, how many are callbacks.
    pub callbacks: usize,
    pub oldest: Option<OffsetDateTime>,
    /// Members whose status opens the queue's channel.
    pub signed_in: u32,
    pub members: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("more than {MAX_CHANNELS} channels")]
    TooManyChannels,
    #[error("a channel's weight must be at least 1")]
    ZeroWeight,
    #[error("unknown channel")]
    UnknownChannel,
    #[error("unknown status")]
    UnknownStatus,
    #[error("unknown skill")]
    UnknownSkill,
    #[error("unknown queue")]
    UnknownQueue,
    #[error("agent already added")]
    DuplicateAgent,
}

/// An input that does not fit the item's or agent's state (the caller's fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("unknown work item")]
    UnknownItem,
    #[error("work item already enqueued")]
    DuplicateItem,
    #[error("unknown queue")]
    UnknownQueue,
    #[error("unknown skill")]
    UnknownSkill,
    #[error("unknown agent")]
    UnknownAgent,
    #[error("unknown status")]
    UnknownStatus,
    #[error("unknown channel")]
    UnknownChannel,
    #[error("the item is not offered to that agent")]
    NotOffered,
    #[error("the item is not in progress")]
    NotAccepted,
    #[error("the item is no longer routed")]
    Finished,
}

/// How the engine finds an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Per-queue candidate indexes (the engine).
    Indexed,
    /// Every agent scanned for every decision (the reference).
    Scan,
}

type Ms = i64;
/// How and when an offer ended.
type Ended = (OfferOutcome, Ms);

fn ms(t: OffsetDateTime) -> Ms {
    (t.unix_timestamp_nanos() / 1_000_000) as Ms
}

fn at(m: Ms) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(m as i128 * 1_000_000).expect("in range")
}

fn dur(d: Duration) -> Ms {
    d.whole_milliseconds().clamp(0, i64::MAX as i128) as Ms
}

struct Channel {
    weight: u32,
}

struct Status {
    name: String,
    opens: u64,
}

struct Queue {
    def: QueueDef,
    units: u32,
    index: BTreeSet<Key>,
    waiting: BTreeMap<u64, WorkItemId>,
    members: Vec<AgentRef>,
    signed_in: u32,
    dirty: bool,
}

/// Ordering of a queue's candidate index: smaller goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    primary: i64,
    idle_since: Ms,
    agent: AgentRef,
}

struct Agent {
    user: AgentId,
    status: StatusId,
    status_since: Ms,
    capacity: u32,
    channel_caps: Vec<(ChannelId, u32)>,
    used: u32,
    used_ch: Vec<u32>,
    active: u32,
    idle_since: Ms,
    skills: Vec<(SkillId, u8)>,
    queues: Vec<QueueId>,
    time_in_status: HashMap<StatusId, Ms>,
    /// Items offered to the agent and not yet answered.
    offers: Vec<WorkItemId>,
}

impl Agent {
    fn channel_used(&self, c: ChannelId) -> u32 {
        self.used_ch.get(c.index()).copied().unwrap_or(0)
    }
    fn channel_cap(&self, c: ChannelId) -> u32 {
        self.channel_caps
            .iter()
            .find(|(ch, _)| *ch == c)
            .map_or(self.capacity, |(_, n)| *n)
    }
    fn fits(&self, c: ChannelId, units: u32) -> bool {
        self.used + units <= self.capacity && self.channel_used(c) + units <= self.channel_cap(c)
    }
    fn level(&self, s: SkillId) -> Option<u8> {
        self.skills
            .binary_search_by_key(&s, |(k, _)| *k)
            .ok()
            .map(|i| self.skills[i].1)
    }
    fn member_of(&self, q: QueueId) -> bool {
        self.queues.binary_search(&q).is_ok()
    }
}

#[derive(Clone, Copy)]
struct Req {
    skill: SkillId,
    level: u8,
    relax_at: Option<Ms>,
    relaxed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Waiting,
    Offered { agent: AgentRef, expires: Ms },
    Accepted { agent: AgentRef },
    Completed { agent: AgentRef },
    Overflowed(OverflowTarget),
    Abandoned,
}

struct Item {
    queue: QueueId,
    seq: u64,
    enqueued_at: Ms,
    overflow_at: Option<Ms>,
    reqs: Vec<Req>,
    excluded: Vec<AgentRef>,
    callback: bool,
    st: St,
    /// Channel and units held while offered or accepted.
    held: (ChannelId, u32),
    explanation: Option<Recorded>,
    /// Every offer: agent, when, how and when it ended.
    history: Vec<(AgentRef, Ms, Option<Ended>)>,
}

struct Recorded {
    queue: QueueId,
    at: Ms,
    rule: Rule,
    walk: Vec<(AgentRef, Verdict)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    PushTimeout,
    Overflow,
    Relax(u16),
}

/// The routing engine. See the module documentation.
pub struct Engine {
    strategy: Strategy,
    channels: Vec<Channel>,
    statuses: Vec<Status>,
    skills: Vec<String>,
    queues: Vec<Queue>,
    agents: Vec<Agent>,
    by_user: HashMap<AgentId, AgentRef>,
    /// Boxed, so that growing the map moves pointers, not items (a 5 ms pause at ~30,000 items otherwise).
    items: HashMap<WorkItemId, Box<Item>>,
    timers: BTreeSet<(Ms, WorkItemId, Timer)>,
    dirty: Vec<QueueId>,
    out: VecDeque<Decision>,
    seq: u64,
    record_explanations: bool,
    /// The latest time an input or timer carried.
    clock: Ms,
}

impl Engine {
    pub fn new(strategy: Strategy) -> Engine {
        Engine {
            strategy,
            channels: Vec::new(),
            statuses: Vec::new(),
            skills: Vec::new(),
            queues: Vec::new(),
            agents: Vec::new(),
            by_user: HashMap::new(),
            items: HashMap::new(),
            timers: BTreeSet::new(),
            dirty: Vec::new(),
            out: VecDeque::new(),
            seq: 0,
            record_explanations: true,
            clock: i64::MIN,
        }
    }

    /// Whether decisions record their candidate walk for [`Engine::explain`] (on by default).
    pub fn set_record_explanations(&mut self, on: bool) {
        self.record_explanations = on;
    }

    // ---- configuration ----

    pub fn add_channel(&mut self, _name: &str, weight: u32) -> Result<ChannelId, ConfigError> {
        if self.channels.len() >= MAX_CHANNELS {
            return Err(ConfigError::TooManyChannels);
        }
        if weight == 0 {
            return Err(ConfigError::ZeroWeight);
        }
        self.channels.push(Channel { weight });
        Ok(ChannelId((self.channels.len() - 1) as u8))
    }

    /// A presence status that opens `opens` (none: Busy, Offline, After Call Work).
    pub fn add_status(&mut self, name: &str, opens: &[ChannelId]) -> Result<StatusId, ConfigError> {
        let mut mask = 0u64;
        for c in opens {
            if c.index() >= self.channels.len() {
                return Err(ConfigError::UnknownChannel);
            }
            mask |= 1 << c.index();
        }
        self.statuses.push(Status {
            name: name.to_string(),
            opens: mask,
        });
        Ok(StatusId((self.statuses.len() - 1) as u16))
    }

    pub fn add_skill(&mut self, name: &str) -> SkillId {
        self.skills.push(name.to_string());
        SkillId((self.skills.len() - 1) as u32)
    }

    pub fn add_queue(&mut self, def: QueueDef) -> Result<QueueId, ConfigError> {
        let channel = self
            .channels
            .get(def.channel.index())
            .ok_or(ConfigError::UnknownChannel)?;
        let targets = def
            .overflow
            .map(|o| o.to)
            .into_iter()
            .chain(def.when_nobody_signed_in)
            .chain(def.hours.as_ref().map(|(_, t)| *t));
        for t in targets {
            if let OverflowTarget::Queue(q) = t {
                if q.index() >= self.queues.len() {
                    return Err(ConfigError::UnknownQueue);
                }
            }
        }
        let units = def.units.unwrap_or(channel.weight).max(1);
        self.queues.push(Queue {
            def,
            units,
            index: BTreeSet::new(),
            waiting: BTreeMap::new(),
            members: Vec::new(),
            signed_in: 0,
            dirty: false,
        });
        Ok(QueueId((self.queues.len() - 1) as u32))
    }

    pub fn add_agent(
        &mut self,
        now: OffsetDateTime,
        def: AgentDef,
    ) -> Result<AgentRef, ConfigError> {
        if self.by_user.contains_key(&def.user) {
            return Err(ConfigError::DuplicateAgent);
        }
        if def.status.index() >= self.statuses.len() {
            return Err(ConfigError::UnknownStatus);
        }
        if def
            .channel_caps
            .iter()
            .any(|(c, _)| c.index() >= self.channels.len())
        {
            return Err(ConfigError::UnknownChannel);
        }
        if def
            .skills
            .iter()
            .any(|(s, _)| s.index() >= self.skills.len())
        {
            return Err(ConfigError::UnknownSkill);
        }
        if def.queues.iter().any(|q| q.index() >= self.queues.len()) {
            return Err(ConfigError::UnknownQueue);
        }
        let now = ms(now);
        let mut skills = def.skills;
        skills.sort_by_key(|(s, _)| *s);
        skills.dedup_by_key(|(s, _)| *s);
        let mut queues = def.queues;
        queues.sort();
        queues.dedup();
        let id = AgentRef(self.agents.len() as u32);
        let opens = self.statuses[def.status.index()].opens;
        for q in &queues {
            let queue = &mut self.queues[q.index()];
            queue.members.push(id);
            if opens & (1 << queue.def.channel.index()) != 0 {
                queue.signed_in += 1;
            }
        }
        self.by_user.insert(def.user.clone(), id);
        self.agents.push(Agent {
            user: def.user,
            status: def.status,
            status_since: now,
            capacity: def.capacity,
            channel_caps: def.channel_caps,
            used: 0,
            used_ch: vec![0; self.channels.len()],
            active: 0,
            idle_since: now,
            skills,
            queues,
            time_in_status: HashMap::new(),
            offers: Vec::new(),
        });
        self.reindex(id);
        self.mark_agent_queues(id);
        self.dispatch(now);
        Ok(id)
    }

    // ---- queries ----

    pub fn agent_by_user(&self, user: &AgentId) -> Option<AgentRef> {
        self.by_user.get(user).copied()
    }

    pub fn user(&self, agent: AgentRef) -> Option<&AgentId> {
        self.agents.get(agent.index()).map(|a| &a.user)
    }

    pub fn status_name(&self, status: StatusId) -> Option<&str> {
        self.statuses.get(status.index()).map(|s| s.name.as_str())
    }

    pub fn skill_name(&self, skill: SkillId) -> Option<&str> {
        self.skills.get(skill.index()).map(String::as_str)
    }

    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// Units in use (offered + accepted) in total and in `channel`, and items in flight.
    pub fn agent_load(&self, agent: AgentRef, channel: ChannelId) -> Option<(u32, u32, u32)> {
        self.agents
            .get(agent.index())
            .map(|a| (a.used, a.channel_used(channel), a.active))
    }

    /// Time `agent` has spent in `status` up to `now` (for reports).
    pub fn time_in_status(
        &self,
        agent: AgentRef,
        status: StatusId,
        now: OffsetDateTime,
    ) -> Duration {
        let Some(a) = self.agents.get(agent.index()) else {
            return Duration::ZERO;
        };
        let mut total = a.time_in_status.get(&status).copied().unwrap_or(0);
        if a.status == status {
            total += (ms(now) - a.status_since).max(0);
        }
        Duration::milliseconds(total)
    }

    pub fn state(&self, item: WorkItemId) -> Option<ItemState> {
        let it = self.items.get(&item)?;
        Some(match it.st {
            St::Waiting => ItemState::Waiting {
                queue: it.queue,
                callback: it.callback,
            },
            St::Offered { agent, .. } => ItemState::Offered {
                queue: it.queue,
                agent,
                callback: it.callback,
            },
            St::Accepted { agent } if it.callback => ItemState::CalledBack { agent },
            St::Accepted { agent } => ItemState::Accepted { agent },
            St::Completed { agent } => ItemState::Completed {
                agent,
                callback: it.callback,
            },
            St::Overflowed(to) => ItemState::Overflowed { to },
            St::Abandoned => ItemState::Abandoned,
        })
    }

    /// Items waiting in `queue`, oldest place first.
    pub fn waiting(&self, queue: QueueId) -> impl Iterator<Item = WorkItemId> + '_ {
        self.queues
            .get(queue.index())
            .into_iter()
            .flat_map(|q| q.waiting.values().copied())
    }

    /// Items waiting in `queue`, members signed in to its channel, and when
    /// the item waiting longest joined it (for supervisors).
    pub fn queue_load(&self, queue: QueueId) -> Option<QueueLoad> {
        let q = self.queues.get(queue.index())?;
        let oldest = q.waiting.values().filter_map(|id| self.items.get(id)).map(|it| it.enqueued_at).min().map(at);
        let callbacks = q.waiting.values().filter(|id| self.items.get(id).is_some_and(|it| it.callback)).count();
        Some(QueueLoad { waiting: q.waiting.len(), callbacks, oldest, signed_in: q.signed_in, members: q.members.len() })
    }

    /// When the item joined the queue it waits in (or was last placed).
    pub fn enqueued_at(&self, item: WorkItemId) -> Option<OffsetDateTime> {
        self.items.get(&item).map(|it| at(it.enqueued_at))
    }

    /// An agent's status and since when.
    pub fn agent_status(&self, agent: AgentRef) -> Option<(StatusId, OffsetDateTime)> {
        self.agents.get(agent.index()).map(|a| (a.status, at(a.status_since)))
    }

    /// Capacity units of an agent (total).
    pub fn agent_capacity(&self, agent: AgentRef) -> Option<u32> {
        self.agents.get(agent.index()).map(|a| a.capacity)
    }

    /// Drops a finished item's record (the engine keeps them for `state` and `explain` until then).
    pub fn forget(&mut self, item: WorkItemId) -> bool {
        match self.items.get(&item) {
            Some(it)
                if matches!(
                    it.st,
                    St::Completed { .. } | St::Overflowed(_) | St::Abandoned
                ) =>
            {
                self.items.remove(&item);
                true
            }
            _ => false,
        }
    }

    /// The latest decision on `item` (offer, no candidate, overflow) and why.
    pub fn explain(&self, item: WorkItemId) -> Option<Explanation> {
        let it = self.items.get(&item)?;
        // An item the engine has not yet looked at (its queue had no candidate at all) waits for want of one.
        let waiting = Recorded {
            queue: it.queue,
            at: self.clock,
            rule: Rule::NoCandidate,
            walk: Vec::new(),
        };
        // So does one that overflowed into a queue that has not had a candidate since.
        let rec = match (&it.explanation, it.st) {
            (Some(rec), St::Waiting) if rec.queue != it.queue => &waiting,
            (Some(rec), _) => rec,
            (None, St::Waiting) => &waiting,
            (None, _) => return None,
        };
        let queue = &self.queues[rec.queue.index()];
        let channel = queue.def.channel;
        let mut candidates = Vec::with_capacity(queue.members.len());
        for &m in &queue.members {
            if let Some((_, v)) = rec.walk.iter().find(|(a, _)| *a == m) {
                candidates.push((m, v.clone()));
                continue;
            }
            let a = &self.agents[m.index()];
            let v = if it.excluded.contains(&m) {
                Verdict::DeclinedEarlier
            } else if self.statuses[a.status.index()].opens & (1 << channel.index()) == 0 {
                Verdict::ChannelClosed { status: a.status }
            } else if !a.fits(channel, queue.units) {
                Verdict::OverCapacity {
                    used: a.used,
                    capacity: a.capacity,
                    channel_used: a.channel_used(channel),
                    channel_capacity: a.channel_cap(channel),
                    units: queue.units,
                }
            } else if let Some(v) = self.skill_verdict(it, a) {
                v
            } else {
                Verdict::RankedLower
            };
            candidates.push((m, v));
        }
        let relaxed = it
            .reqs
            .iter()
            .filter(|r| r.relaxed)
            .map(|r| r.skill)
            .collect();
        Some(Explanation {
            item,
            queue: rec.queue,
            at: at(rec.at),
            rule: rec.rule,
            relaxed,
            candidates,
        })
    }

    /// Every offer of `item`, oldest first (push timeouts and declines included).
    pub fn offer_history(&self, item: WorkItemId) -> Option<Vec<OfferRecord>> {
        let it = self.items.get(&item)?;
        Some(it.history.iter().map(|(agent, t, ended)| OfferRecord { agent: *agent, offered_at: at(*t), ended: ended.map(|(o, e)| (o, at(e))) }).collect())
    }

    pub fn next_decision(&mut self) -> Option<Decision> {
        self.out.pop_front()
    }

    /// When `poll` next has something to do.
    pub fn next_wakeup(&self) -> Option<OffsetDateTime> {
        self.timers.first().map(|(t, _, _)| at(*t))
    }

    // ---- inputs ----

    pub fn agent_presence(
        &mut self,
        now: OffsetDateTime,
        agent: AgentRef,
        status: StatusId,
    ) -> Result<(), InputError> {
        let now = ms(now);
        if agent.index() >= self.agents.len() {
            return Err(InputError::UnknownAgent);
        }
        if status.index() >= self.statuses.len() {
            return Err(InputError::UnknownStatus);
        }
        let old = self.agents[agent.index()].status;
        if old == status {
            return Ok(());
        }
        let (old_opens, new_opens) = (
            self.statuses[old.index()].opens,
            self.statuses[status.index()].opens,
        );
        self.unindex(agent);
        {
            let a = &mut self.agents[agent.index()];
            *a.time_in_status.entry(old).or_insert(0) += (now - a.status_since).max(0);
            a.status = status;
            a.status_since = now;
            if old_opens == 0 && new_opens != 0 && a.active == 0 {
                a.idle_since = now;
            }
        }
        let mut emptied = Vec::new();
        for qi in 0..self.agents[agent.index()].queues.len() {
            let q = self.agents[agent.index()].queues[qi];
            let queue = &mut self.queues[q.index()];
            let bit = 1 << queue.def.channel.index();
            match (old_opens & bit != 0, new_opens & bit != 0) {
                (false, true) => queue.signed_in += 1,
                (true, false) => {
                    queue.signed_in -= 1;
                    if queue.signed_in == 0 {
                        emptied.push(q);
                    }
                }
                _ => {}
            }
        }
        // Offers in channels the new status closes are withdrawn.
        let withdrawn: Vec<WorkItemId> = self.agents[agent.index()]
            .offers
            .iter()
            .copied()
            .filter(|id| new_opens & (1 << self.items[id].held.0.index()) == 0)
            .collect();
        self.reindex(agent);
        for id in withdrawn {
            self.out
                .push_back(Decision::OfferWithdrawn { item: id, agent });
            self.release_offer(now, id, agent, OfferOutcome::Withdrawn);
        }
        for q in emptied {
            self.overflow_unattended(now, q);
        }
        self.mark_agent_queues(agent);
        self.dispatch(now);
        Ok(())
    }

    /// Replaces an agent's skills and queues (an admin's edit). Offers
    /// already made stand; what the agent can take from now on follows.
    pub fn set_agent_skills_and_queues(&mut self, now: OffsetDateTime, agent: AgentRef, skills: Vec<(SkillId, u8)>, queues: Vec<QueueId>) -> Result<(), InputError> {
        let now = ms(now);
        if agent.index() >= self.agents.len() {
            return Err(InputError::UnknownAgent);
        }
        if skills.iter().any(|(s, _)| s.index() >= self.skills.len()) {
            return Err(InputError::UnknownSkill);
        }
        if queues.iter().any(|q| q.index() >= self.queues.len()) {
            return Err(InputError::UnknownQueue);
        }
        let mut skills = skills;
        skills.sort_by_key(|(s, _)| *s);
        skills.dedup_by_key(|(s, _)| *s);
        let mut queues = queues;
        queues.sort();
        queues.dedup();
        self.unindex(agent);
        let opens = self.statuses[self.agents[agent.index()].status.index()].opens;
        let old = std::mem::take(&mut self.agents[agent.index()].queues);
        let mut emptied = Vec::new();
        for q in old.iter().filter(|q| queues.binary_search(q).is_err()) {
            let queue = &mut self.queues[q.index()];
            queue.members.retain(|m| *m != agent);
            if opens & (1 << queue.def.channel.index()) != 0 {
                queue.signed_in -= 1;
                if queue.signed_in == 0 {
                    emptied.push(*q);
                }
            }
        }
        for q in queues.iter().filter(|q| old.binary_search(q).is_err()) {
            let queue = &mut self.queues[q.index()];
            queue.members.push(agent);
            if opens & (1 << queue.def.channel.index()) != 0 {
                queue.signed_in += 1;
            }
        }
        let a = &mut self.agents[agent.index()];
        a.queues = queues;
        a.skills = skills;
        self.reindex(agent);
        for q in emptied {
            self.overflow_unattended(now, q);
        }
        self.mark_agent_queues(agent);
        self.dispatch(now);
        Ok(())
    }

    /// Changes an agent's capacity. Lowered below what it holds, it is
    /// offered nothing more until enough is completed; nothing is taken back.
    pub fn set_agent_capacity(&mut self, now: OffsetDateTime, agent: AgentRef, capacity: u32, channel_caps: Vec<(ChannelId, u32)>) -> Result<(), InputError> {
        let now = ms(now);
        if agent.index() >= self.agents.len() {
            return Err(InputError::UnknownAgent);
        }
        if channel_caps.iter().any(|(c, _)| c.index() >= self.channels.len()) {
            return Err(InputError::UnknownChannel);
        }
        self.unindex(agent);
        let a = &mut self.agents[agent.index()];
        a.capacity = capacity;
        a.channel_caps = channel_caps;
        self.reindex(agent);
        self.mark_agent_queues(agent);
        self.dispatch(now);
        Ok(())
    }

    pub fn enqueue(&mut self, now: OffsetDateTime, item: WorkItem) -> Result<(), InputError> {
        let now = ms(now);
        if self.items.contains_key(&item.id) {
            return Err(InputError::DuplicateItem);
        }
        if item.queue.index() >= self.queues.len() {
            return Err(InputError::UnknownQueue);
        }
        if item
            .requirements
            .iter()
            .any(|r| r.skill.index() >= self.skills.len())
        {
            return Err(InputError::UnknownSkill);
        }
        let reqs = item
            .requirements
            .iter()
            .map(|r| Req {
                skill: r.skill,
                level: r.level,
                relax_at: r.relax_after.map(|d| now + dur(d)),
                relaxed: false,
            })
            .collect();
        let ch = self.queues[item.queue.index()].def.channel;
        self.items.insert(
            item.id,
            Box::new(Item {
                queue: item.queue,
                seq: 0,
                enqueued_at: now,
                overflow_at: None,
                reqs,
                excluded: Vec::new(),
                callback: false,
                st: St::Waiting,
                held: (ch, 0),
                explanation: None,
                history: Vec::new(),
            }),
        );
        let relax: Vec<(Ms, u16)> = item
            .requirements
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.relax_after.map(|d| (now + dur(d), i as u16)))
            .collect();
        for (t, i) in relax {
            self.timers.insert((t, item.id, Timer::Relax(i)));
        }
        self.place(now, item.id, item.queue);
        self.dispatch(now);
        Ok(())
    }

    pub fn accept(
        &mut self,
        now: OffsetDateTime,
        item: WorkItemId,
        agent: AgentRef,
    ) -> Result<(), InputError> {
        let now = ms(now);
        let it = self.items.get_mut(&item).ok_or(InputError::UnknownItem)?;
        match it.st {
            St::Offered { agent: a, expires } if a == agent => {
                self.timers.remove(&(expires, item, Timer::PushTimeout));
                it.st = St::Accepted { agent };
                if let Some(last) = it.history.last_mut() {
                    last.2 = Some((OfferOutcome::Accepted, now));
                }
                self.agents[agent.index()].offers.retain(|o| *o != item);
                if let Some(t) = it.overflow_at.take() {
                    self.timers.remove(&(t, item, Timer::Overflow));
                }
                let callback = it.callback;
                let reqs: Vec<(Ms, u16)> = it
                    .reqs
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| !r.relaxed)
                    .filter_map(|(i, r)| r.relax_at.map(|t| (t, i as u16)))
                    .collect();
                for (t, i) in reqs {
                    self.timers.remove(&(t, item, Timer::Relax(i)));
                }
                if callback {
                    self.out.push_back(Decision::DialOut { item, agent });
                }
                Ok(())
            }
            _ => Err(InputError::NotOffered),
        }
    }

    pub fn decline(
        &mut self,
        now: OffsetDateTime,
        item: WorkItemId,
        agent: AgentRef,
    ) -> Result<(), InputError> {
        let now = ms(now);
        let it = self.items.get(&item).ok_or(InputError::UnknownItem)?;
        match it.st {
            St::Offered { agent: a, .. } if a == agent => {
                self.out.push_back(Decision::OfferDeclined { item, agent });
                self.release_offer(now, item, agent, OfferOutcome::Declined);
                self.mark_agent_queues(agent);
                self.dispatch(now);
                Ok(())
            }
            _ => Err(InputError::NotOffered),
        }
    }

    /// The accepted item is done (call ended, case closed): its capacity is free.
    pub fn complete(&mut self, now: OffsetDateTime, item: WorkItemId) -> Result<(), InputError> {
        let now = ms(now);
        let it = self.items.get_mut(&item).ok_or(InputError::UnknownItem)?;
        let St::Accepted { agent } = it.st else {
            return Err(InputError::NotAccepted);
        };
        it.st = St::Completed { agent };
        let held = it.held;
        self.free(now, agent, held);
        self.mark_agent_queues(agent);
        self.dispatch(now);
        Ok(())
    }

    /// The caller hung up (or the chat left) before an agent accepted.
    pub fn abandon(&mut self, now: OffsetDateTime, item: WorkItemId) -> Result<(), InputError> {
        let now = ms(now);
        self.leave_routing(now, item, |it| !it.callback)?;
        let it = self.items.get_mut(&item).expect("checked");
        it.st = St::Abandoned;
        self.clear_timers(item);
        self.dispatch(now);
        Ok(())
    }

    /// The caller keeps their place and hangs up: the item becomes a callback.
    pub fn callback_requested(
        &mut self,
        now: OffsetDateTime,
        item: WorkItemId,
    ) -> Result<(), InputError> {
        let now = ms(now);
        self.leave_routing(now, item, |it| !it.callback)?;
        self.become_callback(item);
        self.dispatch(now);
        Ok(())
    }

    /// The agent has the item, whatever routing would have done: a phone
    /// answered a call the engine offered elsewhere (or not at all), a
    /// transfer named the agent, the agent placed the call. An unknown item
    /// is created in `queue`, already accepted; a waiting one leaves its
    /// queue; an offer to another agent is rescinded. The capacity is held
    /// even beyond the agent's own: the call is real, and nothing more is
    /// offered to the agent until enough is completed.
    pub fn take(&mut self, now: OffsetDateTime, item: WorkItemId, queue: QueueId, agent: AgentRef) -> Result<(), InputError> {
        let t = ms(now);
        if agent.index() >= self.agents.len() {
            return Err(InputError::UnknownAgent);
        }
        let st = match self.items.get(&item) {
            None => {
                let q = self.queues.get(queue.index()).ok_or(InputError::UnknownQueue)?;
                let held = (q.def.channel, q.units);
                self.items.insert(
                    item,
                    Box::new(Item {
                        queue,
                        seq: 0,
                        enqueued_at: t,
                        overflow_at: None,
                        reqs: Vec::new(),
                        excluded: Vec::new(),
                        callback: false,
                        st: St::Accepted { agent },
                        held,
                        explanation: None,
                        history: vec![(agent, t, Some((OfferOutcome::Accepted, t)))],
                    }),
                );
                self.hold(t, agent, held);
                self.mark_agent_queues(agent);
                self.dispatch(t);
                return Ok(());
            }
            Some(it) => it.st,
        };
        match st {
            St::Offered { agent: a, .. } if a == agent => return self.accept(now, item, agent),
            St::Accepted { agent: a } if a == agent => return Ok(()),
            St::Completed { .. } | St::Overflowed(_) | St::Abandoned => return Err(InputError::Finished),
            St::Offered { agent: other, .. } => {
                self.out.push_back(Decision::OfferRescinded { item, agent: other });
                self.release_offer(t, item, other, OfferOutcome::Rescinded);
                self.mark_agent_queues(other);
            }
            St::Accepted { agent: other } => {
                let held = self.items[&item].held;
                self.free(t, other, held);
                self.mark_agent_queues(other);
            }
            St::Waiting => {}
        }
        let it = self.items.get_mut(&item).expect("present");
        if it.st == St::Waiting {
            let (seq, q) = (it.seq, it.queue);
            self.queues[q.index()].waiting.remove(&seq);
        }
        let it = self.items.get_mut(&item).expect("present");
        it.st = St::Accepted { agent };
        it.history.push((agent, t, Some((OfferOutcome::Accepted, t))));
        let held = it.held;
        if let Some(o) = it.overflow_at.take() {
            self.timers.remove(&(o, item, Timer::Overflow));
        }
        let relax: Vec<(Ms, u16)> = it.reqs.iter().enumerate().filter(|(_, r)| !r.relaxed).filter_map(|(i, r)| r.relax_at.map(|t| (t, i as u16))).collect();
        for (at, i) in relax {
            self.timers.remove(&(at, item, Timer::Relax(i)));
        }
        self.hold(t, agent, held);
        self.mark_agent_queues(agent);
        self.dispatch(t);
        Ok(())
    }

    /// Fires what is due by `now`: push timeouts, overflows, relaxations.
    /// Each timer fires at its own time (or the latest input's, if that is
    /// later) and is routed before the next, so one late poll decides as
    /// polling at every wakeup would have.
    pub fn poll(&mut self, now: OffsetDateTime) {
        let until = ms(now);
        while let Some(&(t, id, timer)) = self.timers.first() {
            if t > until {
                break;
            }
            self.timers.pop_first();
            let now = t.max(self.clock);
            let Some(it) = self.items.get_mut(&id) else {
                continue;
            };
            match timer {
                Timer::PushTimeout => {
                    if let St::Offered { agent, expires } = it.st {
                        if expires == t {
                            self.out
                                .push_back(Decision::OfferTimedOut { item: id, agent });
                            self.release_offer(now, id, agent, OfferOutcome::TimedOut);
                            self.mark_agent_queues(agent);
                        }
                    }
                }
                Timer::Overflow => {
                    if it.st == St::Waiting && it.overflow_at == Some(t) {
                        let waited = Duration::milliseconds(now - it.enqueued_at);
                        self.overflow(now, id, OverflowReason::Waited(waited));
                    }
                }
                Timer::Relax(i) => {
                    if matches!(it.st, St::Waiting | St::Offered { .. }) {
                        if let Some(r) = it.reqs.get_mut(i as usize) {
                            if !r.relaxed {
                                r.relaxed = true;
                                let (skill, q) = (r.skill, it.queue);
                                self.out.push_back(Decision::Relaxed { item: id, skill });
                                self.mark(q);
                            }
                        }
                    }
                }
            }
            self.dispatch(now);
        }
        self.dispatch(until.max(self.clock));
    }

    // ---- internals ----

    fn key(&self, agent: AgentRef, model: RoutingModel) -> Key {
        let a = &self.agents[agent.index()];
        let primary = match model {
            RoutingModel::LongestIdle => (a.active > 0) as i64,
            RoutingModel::LeastActive => a.active as i64,
            RoutingModel::MostAvailable => -(a.capacity.saturating_sub(a.used) as i64),
        };
        Key {
            primary,
            idle_since: a.idle_since,
            agent,
        }
    }

    fn routable(&self, agent: AgentRef, q: QueueId) -> bool {
        let a = &self.agents[agent.index()];
        let queue = &self.queues[q.index()];
        self.statuses[a.status.index()].opens & (1 << queue.def.channel.index()) != 0
            && a.fits(queue.def.channel, queue.units)
    }

    fn unindex(&mut self, agent: AgentRef) {
        if self.strategy == Strategy::Scan {
            return;
        }
        for qi in 0..self.agents[agent.index()].queues.len() {
            let q = self.agents[agent.index()].queues[qi];
            let key = self.key(agent, self.queues[q.index()].def.model);
            self.queues[q.index()].index.remove(&key);
        }
    }

    fn reindex(&mut self, agent: AgentRef) {
        if self.strategy == Strategy::Scan {
            return;
        }
        for qi in 0..self.agents[agent.index()].queues.len() {
            let q = self.agents[agent.index()].queues[qi];
            if self.routable(agent, q) {
                let key = self.key(agent, self.queues[q.index()].def.model);
                self.queues[q.index()].index.insert(key);
            }
        }
    }

    fn mark(&mut self, q: QueueId) {
        let queue = &mut self.queues[q.index()];
        if !queue.dirty && !queue.waiting.is_empty() {
            queue.dirty = true;
            self.dirty.push(q);
        }
    }

    fn mark_agent_queues(&mut self, agent: AgentRef) {
        for qi in 0..self.agents[agent.index()].queues.len() {
            let q = self.agents[agent.index()].queues[qi];
            self.mark(q);
        }
    }

    /// Puts a waiting item at the back of `q`, with `q`'s overflow timer; or
    /// overflows it at once when nobody in `q` is signed in.
    fn place(&mut self, now: Ms, id: WorkItemId, q: QueueId) {
        self.seq += 1;
        let seq = self.seq;
        let queue = &self.queues[q.index()];
        let nobody = queue.signed_in == 0;
        let when_nobody = queue.def.when_nobody_signed_in;
        let overflow = queue.def.overflow;
        let after_hours = match &queue.def.hours {
            Some((hours, to)) if !hours.is_open(at(now)) => Some(*to),
            _ => None,
        };
        let it = self.items.get_mut(&id).expect("placed items exist");
        it.queue = q;
        it.seq = seq;
        it.enqueued_at = now;
        it.st = St::Waiting;
        it.held = (queue.def.channel, queue.units);
        it.overflow_at = None;
        if let (Some(to), false) = (after_hours, it.callback) {
            self.queues[q.index()].waiting.insert(seq, id);
            self.overflow_to(now, id, to, OverflowReason::AfterHours);
            return;
        }
        if let (true, Some(to), false) = (nobody, when_nobody, it.callback) {
            self.queues[q.index()].waiting.insert(seq, id);
            self.overflow_to(now, id, to, OverflowReason::NobodySignedIn);
            return;
        }
        if let Some(o) = overflow.filter(|_| !it.callback) {
            let t = now + dur(o.after);
            it.overflow_at = Some(t);
            self.timers.insert((t, id, Timer::Overflow));
        }
        self.queues[q.index()].waiting.insert(seq, id);
        self.mark(q);
    }

    fn overflow(&mut self, now: Ms, id: WorkItemId, reason: OverflowReason) {
        let q = self.items[&id].queue;
        let Some(o) = self.queues[q.index()].def.overflow else {
            return;
        };
        self.overflow_to(now, id, o.to, reason);
    }

    /// A waiting item leaves its queue for `to`.
    fn overflow_to(&mut self, now: Ms, id: WorkItemId, to: OverflowTarget, reason: OverflowReason) {
        let it = self.items.get_mut(&id).expect("exists");
        let from = it.queue;
        if let Some(t) = it.overflow_at.take() {
            self.timers.remove(&(t, id, Timer::Overflow));
        }
        if self.record_explanations {
            it.explanation = Some(Recorded {
                queue: from,
                at: now,
                rule: Rule::Overflow(reason, to),
                walk: Vec::new(),
            });
        }
        self.out.push_back(Decision::Overflowed {
            item: id,
            from,
            to,
            reason,
        });
        match to {
            OverflowTarget::Queue(q) => {
                let seq = it.seq;
                self.queues[from.index()].waiting.remove(&seq);
                self.place(now, id, q);
            }
            OverflowTarget::Voicemail => {
                let seq = it.seq;
                it.st = St::Overflowed(OverflowTarget::Voicemail);
                self.queues[from.index()].waiting.remove(&seq);
                self.clear_timers(id);
            }
            OverflowTarget::Callback => self.become_callback(id),
        }
    }

    /// Overflows every waiting item of `q` whose queue says so when nobody is signed in.
    fn overflow_unattended(&mut self, now: Ms, q: QueueId) {
        let Some(to) = self.queues[q.index()].def.when_nobody_signed_in else {
            return;
        };
        let ids: Vec<WorkItemId> = self.queues[q.index()].waiting.values().copied().collect();
        for id in ids {
            if self.items[&id].st == St::Waiting && !self.items[&id].callback {
                self.overflow_to(now, id, to, OverflowReason::NobodySignedIn);
            }
        }
    }

    fn become_callback(&mut self, id: WorkItemId) {
        let it = self.items.get_mut(&id).expect("exists");
        it.callback = true;
        if let Some(t) = it.overflow_at.take() {
            self.timers.remove(&(t, id, Timer::Overflow));
        }
        let q = it.queue;
        self.mark(q);
    }

    /// For abandon / callback: an item waiting or offered, pulled back to waiting (offer rescinded).
    fn leave_routing(
        &mut self,
        now: Ms,
        item: WorkItemId,
        allowed: impl Fn(&Item) -> bool,
    ) -> Result<(), InputError> {
        let it = self.items.get(&item).ok_or(InputError::UnknownItem)?;
        if !allowed(it) {
            return Err(InputError::Finished);
        }
        match it.st {
            St::Waiting => {}
            St::Offered { agent, .. } => {
                self.out.push_back(Decision::OfferRescinded { item, agent });
                self.release_offer(now, item, agent, OfferOutcome::Rescinded);
                self.mark_agent_queues(agent);
            }
            _ => return Err(InputError::Finished),
        }
        Ok(())
    }

    fn clear_timers(&mut self, id: WorkItemId) {
        let it = self.items.get_mut(&id).expect("exists");
        let seq = it.seq;
        let q = it.queue;
        if let St::Abandoned | St::Overflowed(_) = it.st {
            self.queues[q.index()].waiting.remove(&seq);
        }
        if let Some(t) = it.overflow_at.take() {
            self.timers.remove(&(t, id, Timer::Overflow));
        }
        for (i, r) in it.reqs.iter().enumerate() {
            if let (Some(t), false) = (r.relax_at, r.relaxed) {
                self.timers.remove(&(t, id, Timer::Relax(i as u16)));
            }
        }
    }

    /// An offered item goes back to waiting at its place. Declined or timed
    /// out, it is kept from that agent; unless rescinded (the item is leaving
    /// routing), an overflow that fell due while it was offered happens now.
    fn release_offer(&mut self, now: Ms, id: WorkItemId, agent: AgentRef, outcome: OfferOutcome) {
        let exclude = matches!(outcome, OfferOutcome::Declined | OfferOutcome::TimedOut);
        let check_overflow = outcome != OfferOutcome::Rescinded;
        self.agents[agent.index()].offers.retain(|o| *o != id);
        let it = self.items.get_mut(&id).expect("exists");
        if let Some(last) = it.history.last_mut() {
            last.2 = Some((outcome, now));
        }
        if let St::Offered { expires, .. } = it.st {
            self.timers.remove(&(expires, id, Timer::PushTimeout));
        }
        it.st = St::Waiting;
        if exclude && !it.excluded.contains(&agent) {
            it.excluded.push(agent);
        }
        let (held, seq, q, overflow_at) = (it.held, it.seq, it.queue, it.overflow_at);
        self.queues[q.index()].waiting.insert(seq, id);
        self.free(now, agent, held);
        if let (Some(t), true) = (overflow_at, check_overflow) {
            if t <= now {
                self.overflow(
                    now,
                    id,
                    OverflowReason::Waited(Duration::milliseconds(
                        now - self.items[&id].enqueued_at,
                    )),
                );
                return;
            }
        }
        self.mark(q);
    }

    fn free(&mut self, now: Ms, agent: AgentRef, (ch, units): (ChannelId, u32)) {
        self.unindex(agent);
        let a = &mut self.agents[agent.index()];
        a.used -= units;
        a.used_ch[ch.index()] -= units;
        a.active -= 1;
        if a.active == 0 {
            a.idle_since = now;
        }
        self.reindex(agent);
    }

    fn hold(&mut self, now: Ms, agent: AgentRef, (ch, units): (ChannelId, u32)) {
        self.unindex(agent);
        let a = &mut self.agents[agent.index()];
        a.used += units;
        if a.used_ch.len() <= ch.index() {
            a.used_ch.resize(ch.index() + 1, 0);
        }
        a.used_ch[ch.index()] += units;
        a.active += 1;
        a.idle_since = now;
        self.reindex(agent);
    }

    fn skill_verdict(&self, it: &Item, a: &Agent) -> Option<Verdict> {
        for r in it.reqs.iter().filter(|r| !r.relaxed) {
            let has = a.level(r.skill);
            if has.is_none_or(|l| l < r.level) {
                return Some(Verdict::MissingSkill {
                    skill: r.skill,
                    level: r.level,
                    has,
                });
            }
        }
        None
    }

    fn verdict(&self, it: &Item, agent: AgentRef) -> Option<Verdict> {
        if it.excluded.contains(&agent) {
            return Some(Verdict::DeclinedEarlier);
        }
        self.skill_verdict(it, &self.agents[agent.index()])
    }

    /// Routes what the dirty queues hold: queues by priority then oldest
    /// head, items in their place order, each to the first eligible agent.
    fn dispatch(&mut self, now: Ms) {
        self.clock = self.clock.max(now);
        while !self.dirty.is_empty() {
            let mut dirty = std::mem::take(&mut self.dirty);
            dirty.sort_by_key(|q| {
                let queue = &self.queues[q.index()];
                (
                    queue.def.priority,
                    queue.waiting.keys().next().copied().unwrap_or(u64::MAX),
                    *q,
                )
            });
            for q in dirty {
                self.queues[q.index()].dirty = false;
                self.route_queue(now, q);
            }
        }
    }

    fn route_queue(&mut self, now: Ms, q: QueueId) {
        let mut cursor = 0u64;
        loop {
            let next = self.queues[q.index()]
                .waiting
                .range(cursor..)
                .next()
                .map(|(s, id)| (*s, *id));
            let Some((seq, id)) = next else { return };
            cursor = seq + 1;
            if self.strategy == Strategy::Indexed && self.queues[q.index()].index.is_empty() {
                if self.record_explanations {
                    let it = self.items.get_mut(&id).expect("waiting items exist");
                    it.explanation = Some(Recorded {
                        queue: q,
                        at: now,
                        rule: Rule::NoCandidate,
                        walk: Vec::new(),
                    });
                }
                return;
            }
            let (chosen, walk) = self.choose(q, id);
            let model = self.queues[q.index()].def.model;
            let it = self.items.get_mut(&id).expect("waiting items exist");
            match chosen {
                Some(agent) => {
                    if self.record_explanations {
                        it.explanation = Some(Recorded {
                            queue: q,
                            at: now,
                            rule: Rule::Model(model),
                            walk,
                        });
                    }
                    let expires = now + dur(self.queues[q.index()].def.push_timeout);
                    it.st = St::Offered { agent, expires };
                    it.history.push((agent, now, None));
                    let (held, callback) = (it.held, it.callback);
                    self.queues[q.index()].waiting.remove(&seq);
                    self.timers.insert((expires, id, Timer::PushTimeout));
                    self.hold(now, agent, held);
                    self.agents[agent.index()].offers.push(id);
                    self.out.push_back(Decision::Offer {
                        item: id,
                        agent,
                        callback,
                    });
                }
                None => {
                    let plain = it.excluded.is_empty() && it.reqs.iter().all(|r| r.relaxed);
                    if self.record_explanations {
                        it.explanation = Some(Recorded {
                            queue: q,
                            at: now,
                            rule: Rule::NoCandidate,
                            walk,
                        });
                    }
                    if plain {
                        // Nobody can take an item with no requirement: nobody can take the later ones either.
                        return;
                    }
                }
            }
        }
    }

    fn choose(&self, q: QueueId, id: WorkItemId) -> (Option<AgentRef>, Vec<(AgentRef, Verdict)>) {
        let it = &self.items[&id];
        let mut walk = Vec::new();
        match self.strategy {
            Strategy::Indexed => {
                for key in &self.queues[q.index()].index {
                    match self.verdict(it, key.agent) {
                        None => {
                            if self.record_explanations {
                                walk.push((key.agent, Verdict::Chosen));
                            }
                            return (Some(key.agent), walk);
                        }
                        Some(v) => {
                            if self.record_explanations {
                                walk.push((key.agent, v));
                            }
                        }
                    }
                }
                (None, walk)
            }
            Strategy::Scan => {
                let model = self.queues[q.index()].def.model;
                let mut best: Option<Key> = None;
                for (i, a) in self.agents.iter().enumerate() {
                    let agent = AgentRef(i as u32);
                    if !a.member_of(q)
                        || !self.routable(agent, q)
                        || self.verdict(it, agent).is_some()
                    {
                        continue;
                    }
                    let key = self.key(agent, model);
                    if best.is_none_or(|b| key < b) {
                        best = Some(key);
                    }
                }
                if let (Some(b), true) = (best, self.record_explanations) {
                    walk.push((b.agent, Verdict::Chosen));
                }
                (best.map(|b| b.agent), walk)
            }
        }
    }
}
