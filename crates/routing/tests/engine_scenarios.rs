//! Scenario tests of the routing engine on a virtual clock.

use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use dialtone_routing::engine::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

fn secs(n: i64) -> OffsetDateTime {
    T0 + Duration::seconds(n)
}

struct World {
    e: Engine,
    voice: ChannelId,
    case: ChannelId,
    avail_all: StatusId,
    avail_voice: StatusId,
    busy: StatusId,
    offline: StatusId,
    next_user: u64,
}

impl World {
    fn new() -> World {
        let mut e = Engine::new(Strategy::Indexed);
        let voice = e.add_channel("voice", 5).unwrap();
        let case = e.add_channel("case", 3).unwrap();
        let avail_all = e.add_status("Available - All", &[voice, case]).unwrap();
        let avail_voice = e.add_status("Available - Voice", &[voice]).unwrap();
        let busy = e.add_status("Busy", &[]).unwrap();
        let offline = e.add_status("Offline", &[]).unwrap();
        World {
            e,
            voice,
            case,
            avail_all,
            avail_voice,
            busy,
            offline,
            next_user: 1,
        }
    }

    fn queue(
        &mut self,
        channel: ChannelId,
        model: RoutingModel,
        f: impl FnOnce(&mut QueueDef),
    ) -> QueueId {
        let mut def = QueueDef {
            name: "q".into(),
            channel,
            priority: 1,
            model,
            units: None,
            push_timeout: Duration::seconds(20),
            overflow: None,
            when_nobody_signed_in: None,
            hours: None,
        };
        f(&mut def);
        self.e.add_queue(def).unwrap()
    }

    fn agent(
        &mut self,
        at: OffsetDateTime,
        status: StatusId,
        capacity: u32,
        skills: &[(SkillId, u8)],
        queues: &[QueueId],
    ) -> AgentRef {
        let user = AgentId::new(SalesforceId::new("005", self.next_user)).unwrap();
        self.next_user += 1;
        self.e
            .add_agent(
                at,
                AgentDef {
                    user,
                    status,
                    capacity,
                    channel_caps: vec![],
                    skills: skills.to_vec(),
                    queues: queues.to_vec(),
                },
            )
            .unwrap()
    }

    fn decisions(&mut self) -> Vec<Decision> {
        std::iter::from_fn(|| self.e.next_decision()).collect()
    }

    fn item(&mut self, at: OffsetDateTime, id: u64, queue: QueueId, reqs: &[Requirement]) {
        self.e
            .enqueue(
                at,
                WorkItem {
                    id: WorkItemId(id),
                    queue,
                    requirements: reqs.to_vec(),
                },
            )
            .unwrap();
    }
}

fn offer(item: u64, agent: AgentRef) -> Decision {
    Decision::Offer {
        item: WorkItemId(item),
        agent,
        callback: false,
    }
}

#[test]
fn an_unanswered_offer_goes_to_the_next_agent_and_is_recorded() {
    let mut w = World::new();
    let q = w.queue(w.voice, RoutingModel::LongestIdle, |_| {});
    let a1 = w.agent(secs(0), w.avail_voice, 5, &[], &[q]);
    let a2 = w.agent(secs(1), w.avail_voice, 5, &[], &[q]);
    w.item(secs(10), 1, q, &[]);
    assert_eq!(w.decisions(), vec![offer(1, a1)], "a1 idle longest");
    assert_eq!(w.e.next_wakeup(), Some(secs(30)), "push timeout 20 s");
    w.e.poll(secs(29));
    assert_eq!(w.decisions(), vec![]);
    w.e.poll(secs(30));
    assert_eq!(
        w.decisions(),
        vec![
            Decision::OfferTimedOut {
                item: WorkItemId(1),
                agent: a1
            },
            offer(1, a2)
        ]
    );
    let ex = w.e.explain(WorkItemId(1)).unwrap();
    assert_eq!(ex.rule, Rule::Model(RoutingModel::LongestIdle));
    assert_eq!(
        ex.candidates,
        vec![(a1, Verdict::DeclinedEarlier), (a2, Verdict::Chosen)]
    );
    // a2 times out too: a1 is free but already timed out on this item, so it waits.
    w.e.poll(secs(50));
    assert_eq!(
        w.decisions(),
        vec![Decision::OfferTimedOut {
            item: WorkItemId(1),
            agent: a2
        }]
    );
    assert_eq!(
        w.e.state(WorkItemId(1)),
        Some(ItemState::Waiting {
            queue: q,
            callback: false
        })
    );
    assert_eq!(w.e.explain(WorkItemId(1)).unwrap().rule, Rule::NoCandidate);
    assert_eq!(
        w.e.offer_history(WorkItemId(1)).unwrap(),
        vec![
            OfferRecord { agent: a1, offered_at: secs(10), ended: Some((OfferOutcome::TimedOut, secs(30))) },
            OfferRecord { agent: a2, offered_at: secs(30), ended: Some((OfferOutcome::TimedOut, secs(50))) },
        ],
        "both unanswered offers are recorded"
    );
    // a later item still gets offered (the head's exclusions do not block it).
    w.item(secs(51), 2, q, &[]);
    assert_eq!(w.decisions(), vec![offer(2, a1)]);
    w.e.accept(secs(52), WorkItemId(2), a1).unwrap();
    assert_eq!(
        w.e.accept(secs(52), WorkItemId(2), a1),
        Err(InputError::NotOffered)
    );
    assert_eq!(w.e.offer_history(WorkItemId(2)).unwrap(), vec![OfferRecord { agent: a1, offered_at: secs(51), ended: Some((OfferOutcome::Accepted, secs(52))) }]);
    w.e.complete(secs(60), WorkItemId(2)).unwrap();
    assert_eq!(
        w.e.state(WorkItemId(2)),
        Some(ItemState::Completed {
            agent: a1,
            callback: false
        })
    );
}

#[test]
fn a_declined_offer_goes_to_the_next_agent() {
    let mut w = World::new();
    let q = w.queue(w.voice, RoutingModel::LongestIdle, |_| {});
    let a1 = w.agent(secs(0), w.avail_voice, 5, &[], &[q]);
    let a2 = w.agent(secs(1), w.avail_voice, 5, &[], &[q]);
    w.item(secs(10), 1, q, &[]);
    w.decisions();
    w.e.decline(secs(11), WorkItemId(1), a1).unwrap();
    assert_eq!(
        w.decisions(),
        vec![
            Decision::OfferDeclined {
                item: WorkItemId(1),
                agent: a1
            },
            offer(1, a2)
        ]
    );
    assert_eq!(
        w.e.decline(secs(11), WorkItemId(1), a1),
        Err(InputError::NotOffered)
    );
}

#[test]
fn an_item_overflows_after_n_seconds_to_another_queue_then_voicemail() {
    let mut w = World::new();
    let backup = w.queue(w.voice, RoutingModel::LongestIdle, |d| {
        d.overflow = Some(Overflow {
            after: Duration::seconds(30),
            to: OverflowTarget::Voicemail,
        })
    });
    let front = w.queue(w.voice, RoutingModel::LongestIdle, |d| {
        d.overflow = Some(Overflow {
            after: Duration::seconds(60),
            to: OverflowTarget::Queue(backup),
        })
    });
    let busy_agent = w.agent(secs(0), w.busy, 5, &[], &[front, backup]);
    w.item(secs(0), 1, front, &[]);
    assert_eq!(w.decisions(), vec![]);
    assert_eq!(w.e.next_wakeup(), Some(secs(60)));
    w.e.poll(secs(60));
    let d = w.decisions();
    assert_eq!(
        d,
        vec![Decision::Overflowed {
            item: WorkItemId(1),
            from: front,
            to: OverflowTarget::Queue(backup),
            reason: OverflowReason::Waited(Duration::seconds(60))
        }]
    );
    assert_eq!(
        w.e.state(WorkItemId(1)),
        Some(ItemState::Waiting {
            queue: backup,
            callback: false
        })
    );
    assert_eq!(
        w.e.next_wakeup(),
        Some(secs(90)),
        "the backup queue's own overflow clock"
    );
    w.e.poll(secs(90));
    assert!(matches!(
        w.decisions()[..],
        [Decision::Overflowed {
            to: OverflowTarget::Voicemail,
            ..
        }]
    ));
    assert_eq!(
        w.e.state(WorkItemId(1)),
        Some(ItemState::Overflowed {
            to: OverflowTarget::Voicemail
        })
    );
    assert_eq!(w.e.waiting(backup).count(), 0);
    assert_eq!(w.e.next_wakeup(), None);
    // Nobody is signed in: the rule moves it at once.
    let nobody = w.queue(w.voice, RoutingModel::LongestIdle, |d| {
        d.when_nobody_signed_in = Some(OverflowTarget::Voicemail)
    });
    w.item(secs(100), 2, nobody, &[]);
    assert!(matches!(
        w.decisions()[..],
        [Decision::Overflowed {
            reason: OverflowReason::NobodySignedIn,
            ..
        }]
    ));
    let _ = busy_agent;
}

#[test]
fn the_last_agent_signing_out_overflows_what_waits() {
    let mut w = World::new();
    let q = w.queue(w.case, RoutingModel::LongestIdle, |d| {
        d.when_nobody_signed_in = Some(OverflowTarget::Callback)
    });
    let a = w.agent(secs(0), w.avail_all, 3, &[], &[q]);
    w.item(secs(1), 1, q, &[]);
    w.item(secs(2), 2, q, &[]);
    assert_eq!(
        w.decisions(),
        vec![offer(1, a)],
        "capacity 3 holds one case"
    );
    w.e.agent_presence(secs(3), a, w.offline).unwrap();
    let d = w.decisions();
    assert_eq!(
        d[0],
        Decision::OfferWithdrawn {
            item: WorkItemId(1),
            agent: a
        }
    );
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(
        w.e.state(WorkItemId(1)),
        Some(ItemState::Waiting {
            queue: q,
            callback: true
        })
    );
    assert_eq!(
        w.e.state(WorkItemId(2)),
        Some(ItemState::Waiting {
            queue: q,
            callback: true
        })
    );
    w.e.agent_presence(secs(100), a, w.avail_all).unwrap();
    assert_eq!(
        w.decisions(),
        vec![Decision::Offer {
            item: WorkItemId(1),
            agent: a,
            callback: true
        }],
        "callbacks keep their place"
    );
    w.e.accept(secs(101), WorkItemId(1), a).unwrap();
    assert_eq!(
        w.decisions(),
        vec![Decision::DialOut {
            item: WorkItemId(1),
            agent: a
        }]
    );
    assert_eq!(
        w.e.state(WorkItemId(1)),
        Some(ItemState::CalledBack { agent: a })
    );
    assert_eq!(
        w.e.time_in_status(a, w.offline, secs(200)),
        Duration::seconds(97)
    );
    assert_eq!(
        w.e.time_in_status(a, w.avail_all, secs(200)),
        Duration::seconds(103)
    );
}

#[test]
fn an_optional_skill_is_dropped_after_its_wait() {
    let mut w = World::new();
    let spanish = w.e.add_skill("Spanish");
    let gold = w.e.add_skill("Gold tier");
    let q = w.queue(w.voice, RoutingModel::LongestIdle, |_| {});
    let english_gold = w.agent(secs(0), w.avail_voice, 5, &[(gold, 5)], &[q]);
    let spanish_lo = w.agent(secs(1), w.avail_voice, 5, &[(spanish, 2)], &[q]);
    let reqs = [
        Requirement {
            skill: gold,
            level: 3,
            relax_after: None,
        },
        Requirement {
            skill: spanish,
            level: 3,
            relax_after: Some(Duration::seconds(45)),
        },
    ];
    w.item(secs(10), 1, q, &reqs);
    assert_eq!(w.decisions(), vec![]);
    let ex = w.e.explain(WorkItemId(1)).unwrap();
    assert_eq!(ex.rule, Rule::NoCandidate);
    assert_eq!(
        ex.candidates,
        vec![
            (
                english_gold,
                Verdict::MissingSkill {
                    skill: spanish,
                    level: 3,
                    has: None
                }
            ),
            (
                spanish_lo,
                Verdict::MissingSkill {
                    skill: gold,
                    level: 3,
                    has: None
                }
            ),
        ]
    );
    w.e.poll(secs(55));
    assert_eq!(
        w.decisions(),
        vec![
            Decision::Relaxed {
                item: WorkItemId(1),
                skill: spanish
            },
            offer(1, english_gold)
        ]
    );
    let ex = w.e.explain(WorkItemId(1)).unwrap();
    assert_eq!(ex.relaxed, vec![spanish]);
    assert_eq!(ex.candidates[0], (english_gold, Verdict::Chosen));
}

#[test]
fn a_case_and_a_call_at_once_only_if_capacity_allows() {
    let mut w = World::new();
    let calls = w.queue(w.voice, RoutingModel::LongestIdle, |_| {});
    let cases = w.queue(w.case, RoutingModel::LongestIdle, |_| {});
    let small = w.agent(secs(0), w.avail_all, 5, &[], &[calls, cases]);
    w.item(secs(1), 1, cases, &[]);
    assert_eq!(w.decisions(), vec![offer(1, small)]);
    w.e.accept(secs(2), WorkItemId(1), small).unwrap();
    w.item(secs(3), 2, calls, &[]);
    assert_eq!(
        w.decisions(),
        vec![],
        "3 of 5 used: a call (5) does not fit"
    );
    let ex = w.e.explain(WorkItemId(2)).unwrap();
    assert_eq!(
        ex.candidates,
        vec![(
            small,
            Verdict::OverCapacity {
                used: 3,
                capacity: 5,
                channel_used: 0,
                channel_capacity: 5,
                units: 5
            }
        )]
    );
    let big = w.agent(secs(4), w.avail_all, 8, &[], &[calls, cases]);
    assert_eq!(w.decisions(), vec![offer(2, big)]);
    w.item(secs(5), 3, cases, &[]);
    assert_eq!(
        w.decisions(),
        vec![offer(3, big)],
        "3 + 5 = 8 fits the big agent"
    );
    w.item(secs(6), 4, cases, &[]);
    assert_eq!(w.decisions(), vec![]);
    w.e.complete(secs(7), WorkItemId(1)).unwrap();
    assert_eq!(w.decisions(), vec![offer(4, small)]);
    assert_eq!(w.e.agent_load(big, w.voice), Some((8, 5, 2)));
    // A per-channel limit inside the total.
    let user = AgentId::new(SalesforceId::new("005", 99)).unwrap();
    let capped =
        w.e.add_agent(
            secs(8),
            AgentDef {
                user,
                status: w.avail_all,
                capacity: 10,
                channel_caps: vec![(w.case, 3)],
                skills: vec![],
                queues: vec![cases],
            },
        )
        .unwrap();
    w.item(secs(9), 5, cases, &[]);
    w.item(secs(9), 6, cases, &[]);
    assert_eq!(
        w.decisions(),
        vec![offer(5, capped)],
        "one case of 3 units within the case cap of 3"
    );
}

#[test]
fn first_come_first_served_within_a_queue_and_priority_first_across_queues() {
    let mut w = World::new();
    let low = w.queue(w.voice, RoutingModel::LongestIdle, |d| d.priority = 2);
    let high = w.queue(w.voice, RoutingModel::LongestIdle, |d| d.priority = 1);
    let a = w.agent(secs(0), w.busy, 5, &[], &[low, high]);
    w.item(secs(1), 1, low, &[]);
    w.item(secs(2), 2, low, &[]);
    w.item(secs(3), 3, high, &[]);
    w.item(secs(4), 4, high, &[]);
    w.e.agent_presence(secs(5), a, w.avail_voice).unwrap();
    let mut order = Vec::new();
    let mut t = 6;
    while let Some(Decision::Offer { item, .. }) = w.e.next_decision() {
        order.push(item.0);
        w.e.accept(secs(t), item, a).unwrap();
        w.e.complete(secs(t + 1), item).unwrap();
        t += 2;
    }
    assert_eq!(order, vec![3, 4, 1, 2]);
}

/// Three busy agents, loaded through a private queue each so that only the
/// model orders them in `cases`:
/// a: capacity 20, 2 items (18 free), last offered one at 5
/// b: capacity 4, 2 items (2 free), last offered one at 3
/// c: capacity 10, 1 item (9 free), last offered one at 6
/// and, with `idle`, d: capacity 4, no item, free since 1.
fn model_pick(model: RoutingModel, idle: bool) -> AgentRef {
    let mut w = World::new();
    let cases = w.queue(w.case, model, |d| d.units = Some(1));
    let private: Vec<QueueId> = (0..3).map(|_| w.queue(w.case, RoutingModel::LongestIdle, |d| d.units = Some(1))).collect();
    let a = w.agent(secs(0), w.avail_all, 20, &[], &[private[0], cases]);
    let b = w.agent(secs(0), w.avail_all, 4, &[], &[private[1], cases]);
    let c = w.agent(secs(0), w.avail_all, 10, &[], &[private[2], cases]);
    let d = if idle { Some(w.agent(secs(1), w.avail_all, 4, &[], &[cases])) } else { None };
    for (id, q, t, agent) in [(101, 1, 2, b), (102, 1, 3, b), (103, 0, 4, a), (104, 0, 5, a), (105, 2, 6, c)] {
        w.item(secs(t), id, private[q], &[]);
        assert_eq!(w.decisions(), vec![offer(id, agent)]);
        w.e.accept(secs(t), WorkItemId(id), agent).unwrap();
    }
    w.item(secs(7), 1, cases, &[]);
    let Some(Decision::Offer { agent: first, .. }) = w.e.next_decision() else { panic!("offered") };
    assert!([Some(a), Some(b), Some(c), d].contains(&Some(first)));
    first
}

fn pick_name(model: RoutingModel, idle: bool) -> &'static str {
    let first = model_pick(model, idle);
    ["a", "b", "c", "d"][first.index()]
}

#[test]
fn the_three_routing_models_pick_different_agents() {
    assert_eq!(pick_name(RoutingModel::MostAvailable, false), "a", "18 units free");
    assert_eq!(pick_name(RoutingModel::LeastActive, false), "c", "one item in flight");
    assert_eq!(pick_name(RoutingModel::LongestIdle, false), "b", "everybody busy: offered last the longest ago");
    assert_eq!(pick_name(RoutingModel::LongestIdle, true), "d", "an agent with nothing to do goes first");
    assert_eq!(pick_name(RoutingModel::LeastActive, true), "d");
    assert_eq!(pick_name(RoutingModel::MostAvailable, true), "a", "18 free beats d's 4");
}

#[test]
fn abandon_and_callback_requests_end_or_keep_an_item() {
    let mut w = World::new();
    let q = w.queue(w.voice, RoutingModel::LongestIdle, |d| {
        d.overflow = Some(Overflow {
            after: Duration::seconds(30),
            to: OverflowTarget::Voicemail,
        })
    });
    let a = w.agent(secs(0), w.avail_voice, 5, &[], &[q]);
    w.item(secs(1), 1, q, &[]);
    w.item(secs(2), 2, q, &[]);
    w.item(secs(3), 3, q, &[]);
    assert_eq!(w.decisions(), vec![offer(1, a)]);
    w.e.abandon(secs(4), WorkItemId(1)).unwrap();
    assert_eq!(
        w.decisions(),
        vec![
            Decision::OfferRescinded {
                item: WorkItemId(1),
                agent: a
            },
            offer(2, a)
        ]
    );
    assert_eq!(w.e.state(WorkItemId(1)), Some(ItemState::Abandoned));
    w.e.callback_requested(secs(5), WorkItemId(3)).unwrap();
    w.e.poll(secs(25));
    assert_eq!(
        w.decisions(),
        vec![
            Decision::OfferTimedOut {
                item: WorkItemId(2),
                agent: a
            },
            Decision::Offer {
                item: WorkItemId(3),
                agent: a,
                callback: true
            }
        ]
    );
    w.e.poll(secs(40));
    assert_eq!(
        w.decisions(),
        vec![Decision::Overflowed {
            item: WorkItemId(2),
            from: q,
            to: OverflowTarget::Voicemail,
            reason: OverflowReason::Waited(Duration::seconds(30))
        }]
    );
    assert_eq!(
        w.e.abandon(secs(100), WorkItemId(3)),
        Err(InputError::Finished),
        "a callback has no caller on the line"
    );
    assert!(w.e.forget(WorkItemId(1)));
    assert!(!w.e.forget(WorkItemId(3)), "still routed");
}

#[test]
fn after_hours_and_holidays_send_arrivals_to_the_after_hours_target() {
    use time::Weekday::*;
    let mut w = World::new();
    let hours = BusinessHours {
        offset: time::macros::offset!(-5),
        windows: [Monday, Tuesday, Wednesday, Thursday, Friday].into_iter().map(|d| (d, 9 * 60, 17 * 60)).collect(),
        holidays: vec![time::macros::date!(2026 - 12 - 25)],
    };
    let q = w.queue(w.voice, RoutingModel::LongestIdle, |d| d.hours = Some((hours.clone(), OverflowTarget::Voicemail)));
    let a = w.agent(secs(0), w.avail_voice, 5, &[], &[q]);
    let tuesday_8am_local = datetime!(2026-12-01 13:00 UTC);
    w.item(tuesday_8am_local, 1, q, &[]);
    assert_eq!(w.decisions(), vec![Decision::Overflowed { item: WorkItemId(1), from: q, to: OverflowTarget::Voicemail, reason: OverflowReason::AfterHours }]);
    assert_eq!(w.e.explain(WorkItemId(1)).unwrap().rule, Rule::Overflow(OverflowReason::AfterHours, OverflowTarget::Voicemail));
    w.item(datetime!(2026-12-01 14:00 UTC), 2, q, &[]);
    assert_eq!(w.decisions(), vec![offer(2, a)], "09:00 local: open");
    w.item(datetime!(2026-12-01 22:00 UTC), 3, q, &[]);
    assert!(matches!(w.decisions()[..], [Decision::Overflowed { reason: OverflowReason::AfterHours, .. }]), "17:00 local: closed");
    w.item(datetime!(2026-12-25 15:00 UTC), 4, q, &[]);
    assert!(matches!(w.decisions()[..], [Decision::Overflowed { reason: OverflowReason::AfterHours, .. }]), "a Friday, but a holiday");
    w.item(datetime!(2026-12-05 15:00 UTC), 5, q, &[]);
    assert!(matches!(w.decisions()[..], [Decision::Overflowed { reason: OverflowReason::AfterHours, .. }]), "Saturday");
    assert!(hours.is_open(datetime!(2026-12-04 21:59 UTC)) && !hours.is_open(datetime!(2026-12-04 22:00 UTC)));
}

#[test]
fn an_admin_edit_of_skills_queues_and_capacity_takes_effect_at_once() {
    let mut w = World::new();
    let french = w.e.add_skill("French");
    let q = w.queue(w.case, RoutingModel::LongestIdle, |_| {});
    let other = w.queue(w.case, RoutingModel::LongestIdle, |_| {});
    let a = w.agent(secs(0), w.avail_all, 3, &[], &[other]);
    w.item(secs(1), 1, q, &[Requirement { skill: french, level: 2, relax_after: None }]);
    assert_eq!(w.decisions(), vec![]);
    w.e.set_agent_skills_and_queues(secs(2), a, vec![(french, 1)], vec![q]).unwrap();
    assert_eq!(w.decisions(), vec![]);
    assert_eq!(w.e.explain(WorkItemId(1)).unwrap().candidates, vec![(a, Verdict::MissingSkill { skill: french, level: 2, has: Some(1) })]);
    w.e.set_agent_skills_and_queues(secs(3), a, vec![(french, 4)], vec![q]).unwrap();
    assert_eq!(w.decisions(), vec![offer(1, a)]);
    w.e.accept(secs(4), WorkItemId(1), a).unwrap();
    w.item(secs(5), 2, q, &[]);
    assert_eq!(w.decisions(), vec![], "3 units: one case");
    w.e.set_agent_capacity(secs(6), a, 6, vec![]).unwrap();
    assert_eq!(w.decisions(), vec![offer(2, a)]);
    w.e.set_agent_capacity(secs(7), a, 2, vec![]).unwrap();
    assert_eq!(w.e.agent_load(a, w.case), Some((6, 6, 2)), "nothing is taken back");
    w.e.complete(secs(8), WorkItemId(1)).unwrap();
    w.item(secs(9), 3, q, &[]);
    assert_eq!(w.decisions(), vec![], "3 held of 2");
}
