//! Property tests of the routing service as the edges drive it, on a virtual
//! clock: random arrivals, routing questions with agents the edge cannot
//! reach, failed offers, answers, hang-ups, presence changes, callbacks and
//! — the service's own risk — configuration changes that rebuild the engine
//! under live calls. After every step: no call routing knows of is lost, no
//! agent holds more calls than its capacity, an answered call is held by the
//! agent who answered it, and every call that ended has a final state.
//! `PROPTEST_CASES` sets the number of cases.

use dialtone_calls::{AgentId, CallEvent, EndReason, EventKind, Provider, VendorCallKey};
use dialtone_model::SalesforceId;
use dialtone_routing::Presence;
use dialtone_routing::engine::RoutingModel;
use dialtone_routing::service::{AgentInfo, Arrival, CallCenterInfo, Routed, Routing};
use dialtone_routing::spec::{AgentSpec, QueueSpec, RoutingSpec, TargetSpec};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const AGENTS: u64 = 6;
const CALLS: u64 = 12;

#[derive(Debug, Clone)]
enum Op {
    Arrive { call: u64, center: u64 },
    Route { call: u64, unreachable: u64 },
    OfferFailed { call: u64 },
    Answer { call: u64 },
    End { call: u64 },
    Presence { agent: u64, available: bool },
    Callback { call: u64 },
    Reconfigure { spec: usize },
    Tick { secs: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..CALLS, 0..2u64).prop_map(|(call, center)| Op::Arrive { call, center }),
        4 => (0..CALLS, 0..(1u64 << AGENTS)).prop_map(|(call, unreachable)| Op::Route { call, unreachable }),
        1 => (0..CALLS).prop_map(|call| Op::OfferFailed { call }),
        3 => (0..CALLS).prop_map(|call| Op::Answer { call }),
        2 => (0..CALLS).prop_map(|call| Op::End { call }),
        2 => (0..AGENTS, any::<bool>()).prop_map(|(agent, available)| Op::Presence { agent, available }),
        1 => (0..CALLS).prop_map(|call| Op::Callback { call }),
        1 => (0..3usize).prop_map(|spec| Op::Reconfigure { spec }),
        2 => (1..90i64).prop_map(|secs| Op::Tick { secs }),
    ]
}

fn user(n: u64) -> AgentId {
    AgentId::new(SalesforceId::new("005", n + 1)).unwrap()
}

fn center(n: u64) -> SalesforceId {
    SalesforceId::new("04v", n + 1)
}

fn key(n: u64) -> VendorCallKey {
    VendorCallKey::parse(&format!("call-{n}")).unwrap()
}

fn queue(name: &str, center_of: Option<u64>, overflow: Option<(i64, TargetSpec)>) -> QueueSpec {
    QueueSpec {
        name: name.into(),
        channel: "voice".into(),
        call_center: center_of.map(center),
        priority: 1,
        model: RoutingModel::MostAvailable,
        units: None,
        push_timeout: Duration::seconds(20),
        overflow: overflow.map(|(s, t)| (Duration::seconds(s), t)),
        when_nobody_signed_in: None,
        hours: None,
    }
}

/// 0: no configuration; 1: a queue per center with overflow to a shared one, agents in both; 2: one queue with callbacks, capacity 2.
fn spec(n: usize) -> RoutingSpec {
    match n {
        0 => RoutingSpec::default(),
        1 => RoutingSpec {
            queues: vec![queue("Shared", None, None), queue("North", Some(0), Some((60, TargetSpec::Queue("Shared".into())))), queue("South", Some(1), Some((45, TargetSpec::Voicemail)))],
            agents: (0..AGENTS)
                .map(|a| AgentSpec { user: user(a), capacity: 1, channel_caps: vec![], skills: vec![], queues: vec![if a % 2 == 0 { "North" } else { "South" }.into(), "Shared".into()] })
                .collect(),
            ..RoutingSpec::default()
        },
        _ => RoutingSpec {
            queues: vec![queue("Everyone", Some(0), Some((30, TargetSpec::Callback))), queue("Also", Some(1), None)],
            agents: (0..AGENTS).map(|a| AgentSpec { user: user(a), capacity: 2, channel_caps: vec![], skills: vec![], queues: vec!["Everyone".into(), "Also".into()] }).collect(),
            ..RoutingSpec::default()
        },
    }
}

struct Model {
    r: Routing,
    now: OffsetDateTime,
    spec: usize,
    agents: Vec<AgentInfo>,
    centers: Vec<CallCenterInfo>,
    /// Calls the service was told of, and whether each has ended.
    arrived: HashMap<u64, bool>,
    /// The agent each call was last offered to by `route`, and the agent who answered it.
    offered: HashMap<u64, AgentId>,
    answered: HashMap<u64, AgentId>,
    /// Calls answered before the latest reconfiguration and still live, by
    /// agent: a smaller capacity cannot hang them up, so they may exceed it.
    carried: HashMap<AgentId, HashSet<u64>>,
    seq: u64,
}

impl Model {
    fn new() -> Model {
        let agents = (0..AGENTS).map(|a| AgentInfo { id: user(a), username: format!("a{a}"), call_center: Some(center(a % 2)), presence: Presence::Available, status: None, since: None }).collect();
        let centers = vec![CallCenterInfo { id: center(0), name: "North Center".into() }, CallCenterInfo { id: center(1), name: "South Center".into() }];
        let mut m = Model { r: Routing::new(), now: datetime!(2026-12-01 09:00 UTC), spec: 0, agents, centers, arrived: HashMap::new(), offered: HashMap::new(), answered: HashMap::new(), carried: HashMap::new(), seq: 0 };
        m.r.apply(m.now, &spec(0), &m.centers, &m.agents).unwrap();
        m
    }

    fn event(&mut self, call: u64, kind: EventKind) {
        self.seq += 1;
        let ev = CallEvent { key: key(call), provider: Provider::Sip, seq: self.seq, at: self.now, kind };
        self.r.observe(self.now, &ev);
    }

    fn step(&mut self, op: &Op) {
        let live = |m: &Model, call: u64| m.arrived.get(&call) == Some(&false);
        match *op {
            Op::Arrive { call, center: c } if !self.arrived.contains_key(&call) => {
                self.r.arrive(self.now, &key(call), &Arrival { call_center: Some(center(c)), from: format!("+1415555{call:04}"), ..Arrival::default() });
                self.arrived.insert(call, false);
            }
            Op::Route { call, unreachable } if live(self, call) && !self.answered.contains_key(&call) => {
                let reach = |a: &AgentId| (0..AGENTS).find(|n| user(*n) == *a).is_some_and(|n| unreachable & (1 << n) == 0);
                if let Routed::Offer(a) = self.r.route(self.now, &key(call), &[], &reach) {
                    assert!(reach(&a), "routing offered {a} whom the edge cannot reach");
                    self.offered.insert(call, a);
                }
            }
            Op::OfferFailed { call } if live(self, call) && !self.answered.contains_key(&call) => {
                if let Some(a) = self.offered.remove(&call) {
                    self.r.offer_failed(self.now, &key(call), &a);
                }
            }
            Op::Answer { call } if live(self, call) && !self.answered.contains_key(&call) => {
                // Only a phone that is ringing answers: the agent the last route offered, if the offer still stands.
                if let Some(a) = self.offered.get(&call).cloned() {
                    let d = self.r.decision(&key(call)).unwrap();
                    if d.state == "offered" && !d.callback && d.agent.as_deref() == Some(&self.agents.iter().find(|x| x.id == a).unwrap().username) {
                        self.event(call, EventKind::Answered { agent: a.clone() });
                        self.answered.insert(call, a);
                    }
                }
            }
            Op::End { call } if live(self, call) => {
                self.event(call, EventKind::Ended { reason: EndReason::CustomerDisconnect });
                self.arrived.insert(call, true);
                for held in self.carried.values_mut() {
                    held.remove(&call);
                }
            }
            Op::Presence { agent, available } => {
                let p = if available { Presence::Available } else { Presence::Busy };
                self.agents[agent as usize].presence = p;
                self.r.set_presence(self.now, &user(agent), p, None, None);
            }
            Op::Callback { call } if live(self, call) && !self.answered.contains_key(&call) => {
                self.r.callback_requested(self.now, &key(call));
            }
            Op::Reconfigure { spec: n } => {
                self.spec = n;
                self.carried.clear();
                for (call, agent) in &self.answered {
                    if self.arrived.get(call) == Some(&false) {
                        self.carried.entry(agent.clone()).or_default().insert(*call);
                    }
                }
                self.r.apply(self.now, &spec(n), &self.centers, &self.agents).unwrap();
            }
            Op::Tick { secs } => {
                self.now += Duration::seconds(secs);
                self.r.poll(self.now);
            }
            _ => {}
        }
        let _ = self.r.drain();
    }

    fn check(&self) {
        // No call lost: every call the service heard of still has a decision.
        for (&call, &ended) in &self.arrived {
            let d = self.r.decision(&key(call)).unwrap_or_else(|| panic!("call {call} is lost"));
            let finals = ["accepted", "calledBack", "voicemail", "abandoned", "callback"];
            // A callback outlives its call (waiting, offered to an agent, or called back).
            if ended && !d.callback {
                assert!(finals.contains(&d.state), "ended call {call} is still {}", d.state);
            }
            if let Some(a) = self.answered.get(&call) {
                if !ended {
                    let name = &self.agents.iter().find(|x| x.id == *a).unwrap().username;
                    assert_eq!((d.state, d.agent.as_deref()), ("accepted", Some(name.as_str())), "call {call} answered by {name}");
                }
            }
        }
        // No agent over capacity (only answers of offered calls happen here, never a direct take),
        // except by calls they already held when a reconfiguration lowered it (found by this test:
        // capacity 2 → 1 with two calls answered is not an offer beyond capacity).
        for a in self.r.agents() {
            let id = &self.agents.iter().find(|x| x.username == a.username).unwrap().id;
            let carried = self.carried.get(id).map_or(0, HashSet::len) as u32;
            assert!(a.used <= a.capacity.max(carried), "{} holds {} of {} ({carried} carried over)", a.username, a.used, a.capacity);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

    #[test]
    fn no_call_is_lost_no_agent_is_over_capacity_and_every_ended_call_is_final(ops in prop::collection::vec(op(), 1..120)) {
        let mut m = Model::new();
        for op in &ops {
            m.step(op);
            m.check();
        }
    }
}
