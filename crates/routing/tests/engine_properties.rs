//! Property tests of the routing engine: random agents, queues and items,
//! random inputs with time advancing, checked against a model kept from the
//! inputs and the decision stream alone.

use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use dialtone_routing::engine::Strategy as Lookup;
use dialtone_routing::engine::*;
use proptest::prelude::*;
use proptest::strategy::Strategy;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);
const WEIGHTS: [u32; 3] = [5, 3, 1]; // voice, case, chat
const SKILLS: usize = 3;

#[derive(Debug, Clone)]
struct QSpec {
    channel: usize,
    priority: u8,
    model: RoutingModel,
    units: Option<u32>,
    push_timeout: i64,
    overflow: Option<(i64, u8)>, // after seconds; target: 0 voicemail, 1 callback, 2+ an earlier queue
    when_nobody: Option<u8>,
    hours: Option<(u16, u16)>, // open every day from minute .0 to .1 (UTC); after hours: voicemail
}

#[derive(Debug, Clone)]
struct ASpec {
    status: usize,
    capacity: u32,
    cap: Option<(usize, u32)>,
    skills: Vec<(usize, u8)>,
    queues: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Op {
    Advance(i64),
    Enqueue { queue: usize, reqs: Vec<(usize, u8, Option<i64>)> },
    Presence { agent: usize, status: usize },
    Accept(usize),
    Decline(usize),
    Complete(usize),
    Abandon(usize),
    Callback(usize),
    Reconfigure { agent: usize, skills: Vec<(usize, u8)>, queues: Vec<usize> },
}

fn model() -> impl Strategy<Value = RoutingModel> {
    prop_oneof![Just(RoutingModel::MostAvailable), Just(RoutingModel::LeastActive), Just(RoutingModel::LongestIdle)]
}

fn qspec() -> impl Strategy<Value = QSpec> {
    let hours = prop::option::weighted(0.3, (480..720u16, 0..240u16).prop_map(|(open, len)| (open, open + len)));
    (0..3usize, 1..4u8, model(), prop::option::of(1..6u32), 5..40i64, prop::option::of((10..120i64, 0..5u8)), prop::option::weighted(0.3, 0..2u8), hours).prop_map(
        |(channel, priority, model, units, push_timeout, overflow, when_nobody, hours)| QSpec { channel, priority, model, units, push_timeout, overflow, when_nobody, hours },
    )
}

fn aspec(queues: usize) -> impl Strategy<Value = ASpec> {
    (0..4usize, 1..12u32, prop::option::of((0..3usize, 1..8u32)), prop::collection::vec((0..SKILLS, 1..6u8), 0..3), prop::collection::vec(0..queues, 1..4))
        .prop_map(|(status, capacity, cap, skills, queues)| ASpec { status, capacity, cap, skills, queues })
}

fn op(queues: usize, agents: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1..40i64).prop_map(Op::Advance),
        4 => (0..queues, prop::collection::vec((0..SKILLS, 1..6u8, prop::option::of(5..90i64)), 0..3)).prop_map(|(queue, reqs)| Op::Enqueue { queue, reqs }),
        2 => (0..agents, 0..4usize).prop_map(|(agent, status)| Op::Presence { agent, status }),
        3 => any::<usize>().prop_map(Op::Accept),
        1 => any::<usize>().prop_map(Op::Decline),
        2 => any::<usize>().prop_map(Op::Complete),
        1 => any::<usize>().prop_map(Op::Abandon),
        1 => any::<usize>().prop_map(Op::Callback),
        1 => (0..agents, prop::collection::vec((0..SKILLS, 1..6u8), 0..3), prop::collection::vec(0..queues, 0..4)).prop_map(|(agent, skills, queues)| Op::Reconfigure { agent, skills, queues }),
    ]
}

fn scenario() -> impl Strategy<Value = (Vec<QSpec>, Vec<ASpec>, Vec<Op>)> {
    (1..5usize, 1..7usize).prop_flat_map(|(nq, na)| (prop::collection::vec(qspec(), nq), prop::collection::vec(aspec(nq), na), prop::collection::vec(op(nq, na), 1..80)))
}

fn all_days(open: u16, close: u16) -> Vec<(time::Weekday, u16, u16)> {
    use time::Weekday::*;
    [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().map(|d| (d, open, close)).collect()
}

struct Setup {
    e: Engine,
    channels: Vec<ChannelId>,
    statuses: Vec<StatusId>,
    skills: Vec<SkillId>,
    queues: Vec<QueueId>,
    agents: Vec<AgentRef>,
    units: Vec<(usize, u32)>,
}

fn build(strategy: Lookup, qs: &[QSpec], ags: &[ASpec]) -> Setup {
    let mut e = Engine::new(strategy);
    let channels: Vec<ChannelId> = WEIGHTS.iter().enumerate().map(|(i, w)| e.add_channel(&format!("c{i}"), *w).unwrap()).collect();
    let statuses = vec![
        e.add_status("Available - All", &channels).unwrap(),
        e.add_status("Available - Voice", &channels[..1]).unwrap(),
        e.add_status("Busy", &[]).unwrap(),
        e.add_status("Offline", &[]).unwrap(),
    ];
    let skills: Vec<SkillId> = (0..SKILLS).map(|i| e.add_skill(&format!("s{i}"))).collect();
    let mut queues = Vec::new();
    let mut units = Vec::new();
    let target = |t: u8, queues: &[QueueId]| match t {
        0 => OverflowTarget::Voicemail,
        1 => OverflowTarget::Callback,
        n if queues.is_empty() => {
            let _ = n;
            OverflowTarget::Voicemail
        }
        n => OverflowTarget::Queue(queues[(n as usize - 2) % queues.len()]),
    };
    for q in qs {
        let def = QueueDef {
            name: "q".into(),
            channel: channels[q.channel],
            priority: q.priority,
            model: q.model,
            units: q.units,
            push_timeout: Duration::seconds(q.push_timeout),
            overflow: q.overflow.map(|(after, t)| Overflow { after: Duration::seconds(after), to: target(t, &queues) }),
            when_nobody_signed_in: q.when_nobody.map(|t| target(t, &queues)),
            hours: q.hours.map(|(open, close)| (BusinessHours { offset: time::UtcOffset::UTC, windows: all_days(open, close), holidays: vec![] }, target(0, &queues))),
        };
        queues.push(e.add_queue(def).unwrap());
        units.push((q.channel, q.units.unwrap_or(WEIGHTS[q.channel])));
    }
    let mut agents = Vec::new();
    for (i, a) in ags.iter().enumerate() {
        let user = AgentId::new(SalesforceId::new("005", i as u64 + 1)).unwrap();
        let def = AgentDef {
            user,
            status: statuses[a.status],
            capacity: a.capacity,
            channel_caps: a.cap.iter().map(|(c, n)| (channels[*c], *n)).collect(),
            skills: a.skills.iter().map(|(s, l)| (skills[*s], *l)).collect(),
            queues: a.queues.iter().map(|q| queues[*q]).collect(),
        };
        agents.push(e.add_agent(T0, def).unwrap());
    }
    Setup { e, channels, statuses, skills, queues, agents, units }
}

/// What the test knows of one item, from its inputs and the decisions.
#[derive(Debug, Clone)]
struct MItem {
    queue: usize,
    seq: u64,
    reqs: Vec<(usize, u8, Option<i64>)>,
    relaxed: BTreeSet<SkillId>,
    excluded: BTreeSet<AgentRef>,
    state: MState,
    units: (usize, u32),
    offers: Vec<AgentRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MState {
    Waiting,
    Offered(AgentRef),
    Accepted(AgentRef),
    Done,
}

struct Model {
    items: BTreeMap<u64, MItem>,
    seq: u64,
    log: Vec<Decision>,
}

impl Model {
    fn apply(&mut self, s: &Setup, d: &Decision, agents: &[ASpec]) -> Result<(), TestCaseError> {
        self.log.push(d.clone());
        match *d {
            Decision::Offer { item, agent, .. } => {
                let (q, seq, reqs, relaxed) = {
                    let it = self.items.get(&item.0).expect("offered items were enqueued");
                    prop_assert_eq!(it.state, MState::Waiting, "offered while not waiting (two agents at once?): {:?}", item);
                    (it.queue, it.seq, it.reqs.clone(), it.relaxed.clone())
                };
                // FIFO within the queue among equally eligible items.
                for (id, other) in &self.items {
                    if other.queue == q && other.seq < seq && other.state == MState::Waiting && other.reqs == reqs && other.relaxed == relaxed && !other.excluded.contains(&agent) {
                        prop_assert!(false, "item {} offered to {:?} while the earlier, equally eligible item {} waits", item.0, agent, id);
                    }
                }
                let ai = s.agents.iter().position(|a| *a == agent).unwrap();
                let a = &agents[ai];
                prop_assert!(a.queues.contains(&q), "offered outside the agent's queues");
                for (skill, level, _) in &reqs {
                    if !relaxed.contains(&s.skills[*skill]) {
                        let has = a.skills.iter().filter(|(k, _)| k == skill).map(|(_, l)| *l).max();
                        prop_assert!(has.is_some_and(|h| h >= *level), "offered to an agent without skill {} at {}", skill, level);
                    }
                }
                let it = self.items.get_mut(&item.0).unwrap();
                it.state = MState::Offered(agent);
                it.units = s.units[q];
                it.offers.push(agent);
            }
            Decision::OfferTimedOut { item, agent } | Decision::OfferDeclined { item, agent } | Decision::OfferWithdrawn { item, agent } | Decision::OfferRescinded { item, agent } => {
                let it = self.items.get_mut(&item.0).unwrap();
                prop_assert_eq!(it.state, MState::Offered(agent));
                it.state = MState::Waiting;
                if matches!(d, Decision::OfferTimedOut { .. } | Decision::OfferDeclined { .. }) {
                    it.excluded.insert(agent);
                }
            }
            Decision::Overflowed { item, from, to, .. } => {
                let it = self.items.get_mut(&item.0).unwrap();
                prop_assert_eq!(it.state, MState::Waiting);
                prop_assert_eq!(s.queues[it.queue], from);
                match to {
                    OverflowTarget::Queue(q) => {
                        self.seq += 1;
                        it.queue = s.queues.iter().position(|x| *x == q).unwrap();
                        it.seq = self.seq;
                    }
                    OverflowTarget::Voicemail => it.state = MState::Done,
                    OverflowTarget::Callback => {}
                }
            }
            Decision::Relaxed { item, skill } => {
                let it = self.items.get_mut(&item.0).unwrap();
                prop_assert!(it.reqs.iter().any(|(k, _, relax)| s.skills[*k] == skill && relax.is_some()), "relaxed a required skill");
                it.relaxed.insert(skill);
            }
            Decision::DialOut { item, agent } => {
                prop_assert_eq!(self.items[&item.0].state, MState::Accepted(agent));
            }
        }
        Ok(())
    }

    /// No agent above capacity, and the engine agrees with the model on every item.
    fn check(&self, s: &Setup, agents: &[ASpec]) -> Result<(), TestCaseError> {
        let mut used: HashMap<AgentRef, (u32, [u32; 3], u32)> = HashMap::new();
        for it in self.items.values() {
            if let MState::Offered(a) | MState::Accepted(a) = it.state {
                let u = used.entry(a).or_default();
                u.0 += it.units.1;
                u.1[it.units.0] += it.units.1;
                u.2 += 1;
            }
        }
        for (i, a) in agents.iter().enumerate() {
            let r = s.agents[i];
            let u = used.get(&r).copied().unwrap_or_default();
            prop_assert!(u.0 <= a.capacity, "agent {} above capacity: {} > {}", i, u.0, a.capacity);
            if let Some((c, n)) = a.cap {
                prop_assert!(u.1[c] <= n, "agent {} above its channel {} cap", i, c);
            }
            for (c, ch) in s.channels.iter().enumerate() {
                prop_assert_eq!(s.e.agent_load(r, *ch), Some((u.0, u.1[c], u.2)));
            }
        }
        for (id, it) in &self.items {
            let st = s.e.state(WorkItemId(*id));
            prop_assert!(st.is_some(), "item {} lost", id);
            let st = st.unwrap();
            let ok = match (it.state, st) {
                (MState::Waiting, ItemState::Waiting { queue, .. }) => queue == s.queues[it.queue],
                (MState::Offered(a), ItemState::Offered { agent, queue, .. }) => a == agent && queue == s.queues[it.queue],
                (MState::Accepted(a), ItemState::Accepted { agent } | ItemState::CalledBack { agent }) => a == agent,
                (MState::Done, ItemState::Completed { .. } | ItemState::Overflowed { .. } | ItemState::Abandoned) => true,
                _ => false,
            };
            prop_assert!(ok, "item {}: model {:?}, engine {:?}", id, it.state, st);
            // Every offer is recorded; only the current one is still open.
            let h = s.e.offer_history(WorkItemId(*id)).unwrap();
            prop_assert_eq!(h.iter().map(|r| r.agent).collect::<Vec<_>>(), it.offers.clone());
            let open = h.iter().filter(|r| r.ended.is_none()).count();
            prop_assert_eq!(open, matches!(it.state, MState::Offered(_)) as usize);
            if let (MState::Accepted(_), Some(last)) = (it.state, h.last()) {
                prop_assert!(matches!(last.ended, Some((OfferOutcome::Accepted, _))));
            }
        }
        Ok(())
    }
}

fn nth(items: &BTreeMap<u64, MItem>, n: usize, f: impl Fn(&MItem) -> bool) -> Option<(u64, MItem)> {
    let v: Vec<(u64, MItem)> = items.iter().filter(|(_, it)| f(it)).map(|(k, v)| (*k, v.clone())).collect();
    if v.is_empty() { None } else { Some(v[n % v.len()].clone()) }
}

/// Runs the ops; returns the decision log.
fn run(strategy: Lookup, qs: &[QSpec], ags: &[ASpec], ops: &[Op]) -> Result<Vec<Decision>, TestCaseError> {
    let mut s = build(strategy, qs, ags);
    let mut m = Model { items: BTreeMap::new(), seq: 0, log: Vec::new() };
    let mut t = T0;
    let mut next_id = 1u64;
    let mut specs = ags.to_vec();
    let drain = |s: &mut Setup, m: &mut Model, specs: &[ASpec]| -> Result<(), TestCaseError> {
        while let Some(d) = s.e.next_decision() {
            m.apply(s, &d, specs)?;
        }
        m.check(s, specs)
    };
    drain(&mut s, &mut m, &specs)?;
    for op in ops {
        match op {
            Op::Advance(n) => {
                t += Duration::seconds(*n);
                s.e.poll(t);
            }
            Op::Enqueue { queue, reqs } => {
                let id = next_id;
                next_id += 1;
                m.seq += 1;
                m.items.insert(id, MItem { queue: *queue, seq: m.seq, reqs: reqs.clone(), relaxed: BTreeSet::new(), excluded: BTreeSet::new(), state: MState::Waiting, units: s.units[*queue], offers: Vec::new() });
                let requirements = reqs.iter().map(|(k, l, r)| Requirement { skill: s.skills[*k], level: *l, relax_after: r.map(Duration::seconds) }).collect();
                s.e.enqueue(t, WorkItem { id: WorkItemId(id), queue: s.queues[*queue], requirements }).unwrap();
            }
            Op::Presence { agent, status } => s.e.agent_presence(t, s.agents[*agent], s.statuses[*status]).unwrap(),
            Op::Reconfigure { agent, skills, queues } => {
                // The model's checks judge an offer by the skills and queues held when it is made.
                specs[*agent].skills = skills.clone();
                specs[*agent].queues = queues.clone();
                let sk = skills.iter().map(|(k, l)| (s.skills[*k], *l)).collect();
                let qs = queues.iter().map(|q| s.queues[*q]).collect();
                s.e.set_agent_skills_and_queues(t, s.agents[*agent], sk, qs).unwrap();
            }
            Op::Accept(n) => {
                if let Some((id, it)) = nth(&m.items, *n, |it| matches!(it.state, MState::Offered(_))) {
                    let MState::Offered(a) = it.state else { unreachable!() };
                    s.e.accept(t, WorkItemId(id), a).unwrap();
                    m.items.get_mut(&id).unwrap().state = MState::Accepted(a);
                }
            }
            Op::Decline(n) => {
                if let Some((id, it)) = nth(&m.items, *n, |it| matches!(it.state, MState::Offered(_))) {
                    let MState::Offered(a) = it.state else { unreachable!() };
                    s.e.decline(t, WorkItemId(id), a).unwrap();
                }
            }
            Op::Complete(n) => {
                if let Some((id, _)) = nth(&m.items, *n, |it| matches!(it.state, MState::Accepted(_))) {
                    s.e.complete(t, WorkItemId(id)).unwrap();
                    m.items.get_mut(&id).unwrap().state = MState::Done;
                }
            }
            Op::Abandon(n) | Op::Callback(n) => {
                if let Some((id, _)) = nth(&m.items, *n, |it| matches!(it.state, MState::Waiting | MState::Offered(_))) {
                    let is_callback = matches!(s.e.state(WorkItemId(id)), Some(ItemState::Waiting { callback: true, .. } | ItemState::Offered { callback: true, .. }));
                    let r = if matches!(op, Op::Abandon(_)) { s.e.abandon(t, WorkItemId(id)) } else { s.e.callback_requested(t, WorkItemId(id)) };
                    if is_callback {
                        prop_assert_eq!(r, Err(InputError::Finished));
                    } else {
                        r.unwrap();
                        // The rescind (if any) is in the stream; apply it before the model's own change.
                        while let Some(d) = s.e.next_decision() {
                            let rescind = matches!(d, Decision::OfferRescinded { .. });
                            m.apply(&s, &d, &specs)?;
                            if rescind && matches!(op, Op::Abandon(_)) {
                                m.items.get_mut(&id).unwrap().state = MState::Done;
                            }
                        }
                        if matches!(op, Op::Abandon(_)) {
                            m.items.get_mut(&id).unwrap().state = MState::Done;
                        }
                    }
                }
            }
        }
        drain(&mut s, &mut m, &specs)?;
    }

    // Liveness: everybody signs in to every channel, every offer is accepted
    // and every item completed, time runs on. What still waits must be one no
    // member can ever take, in a queue that does not overflow it.
    for a in 0..s.agents.len() {
        s.e.agent_presence(t, s.agents[a], s.statuses[0]).unwrap();
    }
    drain(&mut s, &mut m, &specs)?;
    for _ in 0..40 {
        t += Duration::seconds(200);
        s.e.poll(t);
        drain(&mut s, &mut m, &specs)?;
        let offered: Vec<(u64, AgentRef)> = m.items.iter().filter_map(|(id, it)| if let MState::Offered(a) = it.state { Some((*id, a)) } else { None }).collect();
        for (id, a) in offered {
            s.e.accept(t, WorkItemId(id), a).unwrap();
            m.items.get_mut(&id).unwrap().state = MState::Accepted(a);
        }
        drain(&mut s, &mut m, &specs)?;
        let accepted: Vec<u64> = m.items.iter().filter(|(_, it)| matches!(it.state, MState::Accepted(_))).map(|(id, _)| *id).collect();
        for id in accepted {
            s.e.complete(t, WorkItemId(id)).unwrap();
            m.items.get_mut(&id).unwrap().state = MState::Done;
        }
        drain(&mut s, &mut m, &specs)?;
    }
    for (id, it) in &m.items {
        if it.state == MState::Done {
            continue;
        }
        prop_assert_eq!(it.state, MState::Waiting, "item {} neither waiting nor done at the end", id);
        let st = s.e.state(WorkItemId(*id)).unwrap();
        let callback = matches!(st, ItemState::Waiting { callback: true, .. });
        prop_assert!(callback || qs[it.queue].overflow.is_none(), "item {} still waits in a queue that overflows: {:?}", id, st);
        let ex = s.e.explain(WorkItemId(*id)).unwrap();
        prop_assert_eq!(ex.queue, s.queues[it.queue]);
        for (agent, v) in &ex.candidates {
            let ok = match v {
                Verdict::DeclinedEarlier => it.excluded.contains(agent),
                Verdict::MissingSkill { skill, .. } => it.reqs.iter().any(|(k, _, relax)| s.skills[*k] == *skill && relax.is_none()),
                Verdict::OverCapacity { capacity, channel_capacity, units, .. } => units > capacity || units > channel_capacity,
                _ => false,
            };
            prop_assert!(ok, "item {} waits but member {:?} is {:?}", id, agent, v);
        }
    }
    Ok(m.log)
}

proptest! {
    // 300 cases unless PROPTEST_CASES says otherwise (a longer soak).
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300), ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_for_random_inputs((qs, ags, ops) in scenario()) {
        run(Lookup::Indexed, &qs, &ags, &ops)?;
    }

    #[test]
    fn the_indexes_decide_as_a_scan_of_every_agent((qs, ags, ops) in scenario()) {
        let indexed = run(Lookup::Indexed, &qs, &ags, &ops)?;
        let scan = run(Lookup::Scan, &qs, &ags, &ops)?;
        prop_assert_eq!(indexed, scan);
    }
}
