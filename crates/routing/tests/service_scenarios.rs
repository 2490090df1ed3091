//! The routing service as the edges use it, on a virtual clock: calls from
//! any edge share one engine, configuration changes take effect on live
//! work, and every call can say why it went where it went.

use dialtone_calls::{AgentId, CallEvent, EndReason, EventKind, Provider, VendorCallKey};
use dialtone_model::SalesforceId;
use dialtone_routing::Presence;
use dialtone_routing::engine::RoutingModel;
use dialtone_routing::service::{AgentInfo, Arrival, Away, CallCenterInfo, Output, Routed, Routing};
use dialtone_routing::spec::{AgentSpec, ChannelSpec, Conditions, QueueSpec, RoutingSpec, RuleSpec, SkillNeed, StatusSpec, TargetSpec};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

fn user(n: u64) -> AgentId {
    AgentId::new(SalesforceId::new("005", n)).unwrap()
}

fn cc(n: u64) -> SalesforceId {
    SalesforceId::new("04v", n)
}

fn key(s: &str) -> VendorCallKey {
    VendorCallKey::parse(s).unwrap()
}

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// A routing service with its call centers and agents, and a clock.
struct World {
    r: Routing,
    now: OffsetDateTime,
    spec: RoutingSpec,
    centers: Vec<CallCenterInfo>,
    agents: Vec<AgentInfo>,
    seq: u64,
}

impl World {
    fn new(spec: RoutingSpec) -> World {
        let centers = vec![CallCenterInfo { id: cc(1), name: "Support".into() }, CallCenterInfo { id: cc(2), name: "Sales".into() }];
        let mut w = World { r: Routing::new(), now: T0, spec, centers, agents: Vec::new(), seq: 0 };
        w.apply();
        w
    }

    fn apply(&mut self) {
        self.r.apply(self.now, &self.spec, &self.centers, &self.agents).expect("spec applies");
    }

    fn agent(&mut self, n: u64, center: u64, presence: Presence) {
        self.agents.push(AgentInfo { id: user(n), username: format!("agent{n}"), call_center: Some(cc(center)), presence, status: None, since: None });
        self.apply();
    }

    fn presence(&mut self, n: u64, presence: Presence, status: Option<&str>) {
        self.r.set_presence(self.now, &user(n), presence, status, None);
        let a = self.agents.iter_mut().find(|a| a.id == user(n)).unwrap();
        a.presence = presence;
        a.status = status.map(str::to_string);
    }

    fn tick(&mut self, d: Duration) {
        self.now += d;
        self.r.poll(self.now);
    }

    fn call(&mut self, k: &str, center: u64, from: &str, dialled: &str) -> Routed {
        let arrival = Arrival { call_center: Some(cc(center)), from: from.into(), dialled: Some(dialled.into()), ..Arrival::default() };
        self.r.arrive(self.now, &key(k), &arrival);
        self.route(k)
    }

    fn route(&mut self, k: &str) -> Routed {
        self.r.route(self.now, &key(k), &[], &|_| true)
    }

    fn event(&mut self, k: &str, kind: EventKind) {
        self.seq += 1;
        let ev = CallEvent { key: key(k), provider: Provider::Sip, seq: self.seq, at: self.now, kind };
        self.r.observe(self.now, &ev);
    }

    fn answer(&mut self, k: &str, n: u64) {
        self.event(k, EventKind::Answered { agent: user(n) });
    }

    fn hang_up(&mut self, k: &str) {
        self.event(k, EventKind::Ended { reason: EndReason::CustomerDisconnect });
    }
}

fn offer(n: u64) -> Routed {
    Routed::Offer(user(n))
}

fn queue(name: &str, center: Option<u64>) -> QueueSpec {
    QueueSpec {
        name: name.into(),
        channel: "voice".into(),
        call_center: center.map(cc),
        priority: 1,
        model: RoutingModel::LongestIdle,
        units: None,
        push_timeout: secs(20),
        overflow: None,
        when_nobody_signed_in: None,
        hours: None,
    }
}

#[test]
fn with_no_configuration_each_call_center_routes_to_its_longest_idle_available_agent() {
    let mut w = World::new(RoutingSpec::default());
    w.agent(1, 1, Presence::Available);
    w.tick(secs(5));
    w.agent(2, 1, Presence::Available);
    w.agent(3, 2, Presence::Available);
    w.agent(4, 1, Presence::Away);
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), offer(1), "agent1 has been idle longest");
    w.answer("c1", 1);
    assert_eq!(w.call("c2", 1, "+14155550102", "+18005550100"), offer(2), "agent1 is on a call; agent3 is in another call center; agent4 is away");
    w.answer("c2", 2);
    assert_eq!(w.call("c3", 1, "+14155550103", "+18005550100"), Routed::Wait);
    w.tick(secs(30));
    w.hang_up("c1");
    assert_eq!(w.route("c3"), offer(1), "agent1 is free again");
    let d = w.r.decision(&key("c3")).unwrap();
    assert_eq!(d.queue, "Support");
    assert_eq!(d.state, "offered");
    assert!(d.candidates.iter().any(|c| c.username == "agent2" && c.reason.contains("capacity")), "{d:?}");
    assert!(d.candidates.iter().any(|c| c.username == "agent4" && c.reason.contains("Away")), "{d:?}");
}

#[test]
fn calls_from_every_edge_share_one_agent_capacity() {
    let mut w = World::new(RoutingSpec::default());
    w.agent(1, 1, Presence::Available);
    w.tick(secs(1));
    w.agent(2, 1, Presence::Available);
    // A simulator call the engine never routed: its offer and answer name agent1.
    w.event("sim-1", EventKind::Offered { agent: user(1) });
    w.answer("sim-1", 1);
    assert!(!w.r.can_take_call(&user(1)));
    assert_eq!(w.call("sip-1", 1, "+14155550101", "+18005550100"), offer(2), "agent1 is busy with the simulator call");
    w.answer("sip-1", 2);
    assert_eq!(w.call("sip-2", 1, "+14155550102", "+18005550100"), Routed::Wait);
    w.hang_up("sim-1");
    assert_eq!(w.route("sip-2"), offer(1));
    assert!(w.r.decision(&key("sim-1")).unwrap().direct);
}

#[test]
fn an_unreachable_or_tried_agent_is_skipped_and_the_next_is_offered() {
    let mut w = World::new(RoutingSpec::default());
    for n in 1..=3 {
        w.agent(n, 1, Presence::Available);
        w.tick(secs(1));
    }
    let arrival = Arrival { call_center: Some(cc(1)), from: "+14155550101".into(), ..Arrival::default() };
    w.r.arrive(w.now, &key("c1"), &arrival);
    let reachable = |a: &AgentId| *a != user(1);
    assert_eq!(w.r.route(w.now, &key("c1"), &[], &reachable), offer(2), "agent1 has no phone registered");
    // agent2's phone declines (603): the edge reports it and asks again.
    w.r.offer_failed(w.now, &key("c1"), &user(2));
    assert_eq!(w.r.route(w.now, &key("c1"), &[user(2)], &reachable), offer(3));
    let offers = w.r.decision(&key("c1")).unwrap().offers;
    let outcomes: Vec<(&str, Option<&str>)> = offers.iter().map(|o| (o.username.as_str(), o.outcome)).collect();
    assert_eq!(outcomes, [("agent1", Some("declined")), ("agent2", Some("declined")), ("agent3", None)]);
}

#[test]
fn an_unanswered_offer_is_withdrawn_at_the_push_timeout_and_goes_to_the_next_agent() {
    let mut w = World::new(RoutingSpec { queues: vec![queue("Support Line", Some(1))], ..RoutingSpec::default() });
    w.agent(1, 1, Presence::Available);
    w.tick(secs(1));
    w.agent(2, 1, Presence::Available);
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), offer(1));
    w.r.drain();
    w.tick(secs(21));
    let out = w.r.drain();
    assert!(out.contains(&Output::Withdraw { key: key("c1"), agent: user(1), caller_left: false }), "{out:?}");
    assert!(out.contains(&Output::Offered { key: key("c1"), agent: user(2), callback: false }), "{out:?}");
    assert_eq!(w.route("c1"), offer(2));
    let d = w.r.decision(&key("c1")).unwrap();
    assert_eq!(d.offers[0].outcome, Some("timedOut"));
    assert_eq!(d.queue, "Support Line");
}

/// Spanish speakers dial their own number; billing callers press 2; VIP accounts go first.
fn skills_spec() -> RoutingSpec {
    let mut vip = queue("VIP", Some(1));
    vip.priority = 0;
    RoutingSpec {
        skills: vec!["spanish".into(), "billing".into()],
        queues: vec![queue("Support Line", Some(1)), vip],
        agents: vec![
            AgentSpec { user: user(1), capacity: 1, channel_caps: vec![], skills: vec![("spanish".into(), 2)], queues: vec!["Support Line".into(), "VIP".into()] },
            AgentSpec { user: user(2), capacity: 1, channel_caps: vec![], skills: vec![("spanish".into(), 8), ("billing".into(), 5)], queues: vec!["Support Line".into(), "VIP".into()] },
            AgentSpec { user: user(3), capacity: 1, channel_caps: vec![], skills: vec![], queues: vec!["Support Line".into()] },
        ],
        rules: vec![
            RuleSpec {
                name: "Spanish line".into(),
                order: 10,
                when: Conditions { dialled: Some("+18005550199".into()), ..Conditions::default() },
                queue: None,
                skills: vec![SkillNeed { skill: "spanish".into(), level: 5, relax_after: Some(secs(60)) }],
            },
            RuleSpec {
                name: "VIP accounts".into(),
                order: 5,
                when: Conditions { record_field: Some(("Account.Rating".into(), "Hot".into())), ..Conditions::default() },
                queue: Some("VIP".into()),
                skills: vec![],
            },
            RuleSpec {
                name: "Billing".into(),
                order: 20,
                when: Conditions { ivr_choice: Some("2".into()), ..Conditions::default() },
                queue: None,
                skills: vec![SkillNeed { skill: "billing".into(), level: 3, relax_after: None }],
            },
        ],
        ..RoutingSpec::default()
    }
}

#[test]
fn entry_rules_pick_queue_and_skills_and_optional_skills_relax() {
    let mut w = World::new(skills_spec());
    for n in 1..=3 {
        w.agent(n, 1, Presence::Available);
        w.tick(secs(1));
    }
    w.presence(2, Presence::Busy, None);
    assert_eq!(w.call("es", 1, "+14155550101", "+18005550199"), Routed::Wait, "agent2 is the only one with Spanish at 5, and busy");
    let d = w.r.decision(&key("es")).unwrap();
    assert_eq!(d.entry, "rule Spanish line");
    assert!(d.candidates.iter().any(|c| c.username == "agent1" && c.reason == "skill spanish at level 2, 5 needed"), "{d:?}");
    assert!(d.candidates.iter().any(|c| c.username == "agent3" && c.reason == "no skill spanish (5 needed)"), "{d:?}");
    w.tick(secs(61));
    assert_eq!(w.route("es"), offer(1), "after 60 s the optional skill is dropped: agent1 has waited longest");
    assert_eq!(w.r.decision(&key("es")).unwrap().relaxed, vec!["spanish".to_string()]);

    // An IVR choice and a caller's record.
    w.presence(2, Presence::Available, None);
    let billing = Arrival { call_center: Some(cc(1)), from: "+14155550102".into(), ivr_choice: Some("2".into()), ..Arrival::default() };
    w.r.arrive(w.now, &key("bill"), &billing);
    assert_eq!(w.route("bill"), offer(2));
    assert_eq!(w.r.decision(&key("bill")).unwrap().entry, "rule Billing");
    let vip = Arrival { call_center: Some(cc(1)), from: "+14155550103".into(), record: vec![("Account.Rating".into(), "hot".into())], ..Arrival::default() };
    w.r.arrive(w.now, &key("vip"), &vip);
    let d = w.r.decision(&key("vip")).unwrap();
    assert_eq!((d.entry.as_str(), d.queue.as_str()), ("rule VIP accounts", "VIP"));
    assert!(w.r.rules_read_records());
}

#[test]
fn a_waiting_caller_overflows_to_a_callback_which_an_agent_accepts_and_is_dialled() {
    let mut q = queue("Support Line", Some(1));
    q.overflow = Some((secs(90), TargetSpec::Callback));
    let mut w = World::new(RoutingSpec { queues: vec![q], ..RoutingSpec::default() });
    w.agent(1, 1, Presence::Busy);
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), Routed::Wait);
    w.tick(secs(91));
    let out = w.r.drain();
    assert!(out.contains(&Output::Left { key: key("c1"), to: Away::Callback }), "{out:?}");
    assert_eq!(w.route("c1"), Routed::Leave(Away::Callback), "the edge ends the live call");
    w.hang_up("c1");
    assert_eq!(w.r.decision(&key("c1")).unwrap().state, "callback", "the callback keeps its place after the call ended");
    let board = w.r.queues(w.now);
    let support = board.iter().find(|q| q.name == "Support Line").unwrap();
    assert_eq!((support.waiting, support.callbacks), (1, 1));
    w.presence(1, Presence::Available, None);
    let out = w.r.drain();
    assert!(out.contains(&Output::Offered { key: key("c1"), agent: user(1), callback: true }), "{out:?}");
    let times = w.r.time_in_status(&user(1), w.now);
    assert_eq!(times, vec![("Busy".to_string(), secs(91))], "time in status, for reports");
    assert!(w.r.accept(w.now, &key("c1"), &user(1)));
    let out = w.r.drain();
    assert!(out.contains(&Output::DialOut { key: key("c1"), agent: user(1), number: "+14155550101".into(), call_center: Some(cc(1)) }), "{out:?}");
    // The dial-out call's events count for the callback: its end frees agent1.
    w.r.link_dial_out(&key("c1"), &key("dial-1"));
    w.event("dial-1", EventKind::Offered { agent: user(1) });
    w.answer("dial-1", 1);
    assert!(!w.r.can_take_call(&user(1)));
    w.hang_up("dial-1");
    assert!(w.r.can_take_call(&user(1)));
    assert_eq!(w.r.decision(&key("c1")).unwrap().state, "calledBack");
}

#[test]
fn after_hours_calls_go_to_voicemail_and_a_caller_who_hangs_up_is_abandoned() {
    use dialtone_routing::engine::BusinessHours;
    use dialtone_routing::spec::HoursSpec;
    let hours = BusinessHours { offset: time::UtcOffset::UTC, windows: vec![(time::Weekday::Tuesday, 8 * 60, 17 * 60)], holidays: vec![] };
    let mut q = queue("Support Line", Some(1));
    q.hours = Some(("Office".into(), TargetSpec::Voicemail));
    let mut w = World::new(RoutingSpec { hours: vec![HoursSpec { name: "Office".into(), hours }], queues: vec![q], ..RoutingSpec::default() });
    w.agent(1, 1, Presence::Busy);
    assert_eq!(w.call("day", 1, "+14155550101", "+18005550100"), Routed::Wait, "Tuesday 09:00 is open");
    w.hang_up("day");
    assert_eq!(w.r.decision(&key("day")).unwrap().state, "abandoned");
    w.now = datetime!(2026-12-01 18:30 UTC);
    assert_eq!(w.call("night", 1, "+14155550102", "+18005550100"), Routed::Leave(Away::Voicemail));
    let d = w.r.decision(&key("night")).unwrap();
    assert_eq!(d.rule, "overflow: arrived outside the queue's business hours, so to voicemail");
}

#[test]
fn a_configuration_change_takes_effect_on_live_work_without_losing_it() {
    let mut w = World::new(RoutingSpec::default());
    w.agent(1, 1, Presence::Available);
    w.tick(secs(1));
    w.agent(2, 2, Presence::Available);
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), offer(1));
    w.answer("c1", 1);
    assert_eq!(w.call("c2", 1, "+14155550102", "+18005550100"), Routed::Wait);
    assert_eq!(w.call("c3", 1, "+14155550103", "+18005550100"), Routed::Wait);
    // The admin adds a queue for call center 1 and puts agent2 (of the other center) in it.
    w.spec = RoutingSpec {
        queues: vec![queue("Overflow Team", Some(1))],
        agents: vec![AgentSpec { user: user(2), capacity: 1, channel_caps: vec![], skills: vec![], queues: vec!["Overflow Team".into()] }],
        ..RoutingSpec::default()
    };
    w.tick(secs(1));
    w.apply();
    assert_eq!(w.route("c2"), offer(2), "the oldest waiting call goes first, to the newly assigned agent");
    assert_eq!(w.route("c3"), Routed::Wait);
    assert!(!w.r.can_take_call(&user(1)), "agent1 still holds the call answered before the change");
    w.hang_up("c1");
    assert_eq!(w.route("c3"), offer(1));
    // A spec that does not resolve is refused and the running one stays.
    let bad = RoutingSpec { queues: vec![QueueSpec { channel: "fax".into(), ..queue("Broken", None) }], ..RoutingSpec::default() };
    let problems = w.r.apply(w.now, &bad, &w.centers.clone(), &w.agents.clone()).unwrap_err();
    assert!(problems.iter().any(|p| p.contains("fax")), "{problems:?}");
    assert_eq!(w.r.spec().queues[0].name, "Overflow Team");
}

#[test]
fn presence_statuses_open_channels_and_capacity_is_shared_across_channels() {
    let spec = RoutingSpec {
        channels: vec![ChannelSpec { name: "voice".into(), weight: 2 }, ChannelSpec { name: "case".into(), weight: 1 }],
        statuses: vec![StatusSpec { name: "Available - Cases".into(), channels: vec!["case".into()] }, StatusSpec { name: "Available".into(), channels: vec!["voice".into(), "case".into()] }],
        queues: vec![queue("Support Line", Some(1)), QueueSpec { channel: "case".into(), ..queue("Cases", None) }],
        agents: vec![AgentSpec { user: user(1), capacity: 4, channel_caps: vec![], skills: vec![], queues: vec!["Support Line".into(), "Cases".into()] }],
        ..RoutingSpec::default()
    };
    let mut w = World::new(spec);
    w.agent(1, 1, Presence::Available);
    w.presence(1, Presence::Available, Some("Available - Cases"));
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), Routed::Wait, "the status opens cases only");
    let case = Arrival { channel: Some("case".into()), ..Arrival::default() };
    w.r.arrive(w.now, &key("case:500000000000001"), &case);
    let d = w.r.decision(&key("case:500000000000001")).unwrap();
    assert_eq!((d.queue.as_str(), d.state), ("Cases", "offered"));
    assert!(w.r.accept(w.now, &key("case:500000000000001"), &user(1)));
    w.presence(1, Presence::Available, None);
    assert_eq!(w.route("c1"), offer(1), "a call (2 units) fits beside a case (1 unit) in capacity 4");
    w.answer("c1", 1);
    w.r.arrive(w.now, &key("case:500000000000002"), &case);
    assert_eq!(w.r.decision(&key("case:500000000000002")).unwrap().state, "offered", "1 unit left");
    w.r.arrive(w.now, &key("case:500000000000003"), &case);
    let d = w.r.decision(&key("case:500000000000003")).unwrap();
    assert_eq!(d.state, "waiting");
    assert!(d.candidates[0].reason.starts_with("at capacity"), "{d:?}");
    let agents = w.r.agents();
    assert_eq!((agents[0].used, agents[0].capacity), (4, 4), "two cases and a call: 1 + 1 + 2");
}

#[test]
fn a_configuration_read_before_a_presence_change_does_not_undo_it() {
    let mut w = World::new(RoutingSpec::default());
    w.agent(1, 1, Presence::Offline);
    w.agent(2, 1, Presence::Offline);
    let read_at = w.now;
    // The refresher reads the store (both Offline) ...
    let stale: Vec<AgentInfo> = w.agents.iter().map(|a| AgentInfo { since: Some(read_at), ..a.clone() }).collect();
    // ... agent1 goes Available meanwhile ...
    w.tick(secs(1));
    w.r.set_presence(w.now, &user(1), Presence::Available, None, Some(w.now));
    // ... and the refresher applies what it read: agent1 stays Available.
    w.r.apply(w.now, &RoutingSpec::default(), &w.centers, &stale).unwrap();
    assert!(w.r.can_take_call(&user(1)));
    assert_eq!(w.call("c1", 1, "+14155550101", "+18005550100"), offer(1));
    // A later read says what the store says now.
    let fresh: Vec<AgentInfo> = w.agents.iter().map(|a| AgentInfo { since: Some(w.now + secs(1)), presence: Presence::Busy, ..a.clone() }).collect();
    w.r.apply(w.now, &RoutingSpec::default(), &w.centers, &fresh).unwrap();
    assert!(!w.r.can_take_call(&user(1)));
}
