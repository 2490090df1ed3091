//! Scenario tests on a virtual clock: every input carries `now`, no sleeps.

mod common;

use common::*;
use dialtone_calls::*;
use dialtone_model::Value;
use time::Duration;

fn answered_call(h: &mut Harness, k: &str) {
    h.event(ev(k, 1, 0, initiated()));
    h.event(ev(k, 2, 1, EventKind::Queued { queue: queue("Support") }));
    h.event(ev(k, 3, 2, EventKind::Ringing));
    h.event(ev(k, 4, 3, EventKind::Offered { agent: agent(1) }));
    h.event(ev(k, 5, 10, EventKind::Answered { agent: agent(1) }));
}

#[test]
fn inbound_answered_call_fills_the_voice_call() {
    let mut h = Harness::new(config(true));
    h.lookups.insert(key("CA1"), contact(7));
    answered_call(&mut h, "CA1");
    assert_eq!(h.text("CA1", "CallDisposition"), Some("in-progress"));
    h.event(ev("CA1", 6, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));

    assert_eq!(h.text("CA1", "VendorCallKey"), Some("CA1"));
    assert_eq!(h.text("CA1", "VendorType"), Some("Twilio"));
    assert_eq!(h.text("CA1", "CallOrigin"), Some("Twilio"));
    assert_eq!(h.text("CA1", "CallType"), Some("Inbound"));
    assert_eq!(h.text("CA1", "CallDisposition"), Some("completed"));
    assert_eq!(h.text("CA1", "DisconnectReason"), Some("CustomerDisconnect"));
    assert_eq!(h.field("CA1", "CallStartDateTime"), Some(&dt(0)));
    assert_eq!(h.field("CA1", "CallQueuedDateTime"), Some(&dt(1)));
    assert_eq!(h.field("CA1", "CallAcceptDateTime"), Some(&dt(10)));
    assert_eq!(h.field("CA1", "CallEndDateTime"), Some(&dt(70)));
    assert_eq!(h.int("CA1", "CallDurationInSeconds"), Some(70), "start to end, not accept to end");
    assert_eq!(h.text("CA1", "OwnerId"), Some(agent(1).id().as_str()));
    assert_eq!(h.text("CA1", "QueueName"), Some("Support"));
    assert_eq!(h.text("CA1", "FromPhoneNumber"), Some("+14155550100"));
    assert_eq!(h.text("CA1", "ToPhoneNumber"), Some("+14155550199"));
    assert_eq!(h.text("CA1", "CallCenterId"), Some(center().as_str()));
    assert_eq!(h.text("CA1", "RelatedRecordId"), Some(contact(7).as_str()));
    assert_eq!(h.int("CA1", "NumberOfHolds"), Some(0));
    assert_eq!(h.field("CA1", "IsRecorded"), Some(&Value::Bool(false)));

    let view = h.lc.call(&key("CA1")).unwrap().view();
    assert_eq!(view.offers.len(), 1);
    assert_eq!(view.offers[0].result, Some(OfferOutcome::Accepted));
    assert_eq!(view.offers[0].decided_at, Some(at(10)));

    // The first effect about the call is its creation; the offer came later.
    assert!(matches!(h.log[0], Effect::CreateVoiceCall { .. }));
    let kinds: Vec<_> = h.notifications().iter().map(|n| n.what.clone()).collect();
    assert!(kinds.contains(&NotificationKind::Offered));
    assert!(kinds.contains(&NotificationKind::OfferClosed { result: OfferOutcome::Accepted }));
    assert_eq!(kinds.last(), Some(&NotificationKind::Status { disposition: "completed" }));
}

#[test]
fn updates_carry_only_changed_fields() {
    let mut h = Harness::new(config(false));
    h.event(ev("CA1", 1, 0, initiated()));
    let effects = h.event(ev("CA1", 2, 2, EventKind::Ringing));
    let update = effects.iter().find_map(|e| match e {
        Effect::UpdateVoiceCall { fields, .. } => Some(fields.clone()),
        _ => None,
    });
    assert_eq!(update, Some(vec![("CallDisposition".to_string(), Value::Text("ringing".into()))]));
}

#[test]
fn abandoned_in_queue_is_canceled_without_owner() {
    let mut h = Harness::new(config(true));
    h.event(ev("CA2", 1, 0, initiated()));
    h.event(ev("CA2", 2, 1, EventKind::Queued { queue: queue("Sales") }));
    h.event(ev("CA2", 3, 45, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.text("CA2", "CallDisposition"), Some("canceled"));
    assert_eq!(h.text("CA2", "DisconnectReason"), Some("CustomerDisconnect"));
    assert_eq!(h.int("CA2", "CallDurationInSeconds"), Some(45));
    assert_eq!(h.field("CA2", "CallAcceptDateTime"), None);
    assert_eq!(h.field("CA2", "OwnerId"), None);
    assert_eq!(h.tasks[&key("CA2")].get("OwnerId"), None);
}

#[test]
fn a_queued_call_is_not_ring_timed_out() {
    let mut h = Harness::new(config(false));
    h.event(ev("Q", 1, 0, initiated()));
    h.event(ev("Q", 2, 1, EventKind::Queued { queue: queue("Sales") }));
    assert_eq!(h.lc.next_wakeup(), Some(T0 + Duration::hours(4)));
    h.advance(20 * 60);
    assert!(h.poll().is_empty());
    assert_eq!(h.text("Q", "CallDisposition"), Some("new"));
}

#[test]
fn hanging_up_while_an_agent_is_ringing_withdraws_the_offer() {
    let mut h = Harness::new(config(false));
    h.event(ev("HW", 1, 0, initiated()));
    h.event(ev("HW", 2, 1, EventKind::Offered { agent: agent(1) }));
    h.event(ev("HW", 3, 9, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    let to_agent: Vec<_> =
        h.notifications().into_iter().filter(|n| n.agent == Some(agent(1))).map(|n| n.what.clone()).collect();
    assert_eq!(to_agent, vec![NotificationKind::Offered, NotificationKind::OfferWithdrawn]);
    assert_eq!(h.text("HW", "CallDisposition"), Some("canceled"));
}

#[test]
fn missed_offer_then_accepted_by_a_second_agent() {
    let mut h = Harness::new(config(false));
    h.event(ev("CA3", 1, 0, initiated()));
    h.event(ev("CA3", 2, 3, EventKind::Offered { agent: agent(1) }));
    h.event(ev("CA3", 3, 23, EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Missed }));
    h.event(ev("CA3", 4, 24, EventKind::Offered { agent: agent(2) }));
    h.event(ev("CA3", 5, 30, EventKind::Answered { agent: agent(2) }));
    h.event(ev("CA3", 6, 90, EventKind::Ended { reason: EndReason::AgentDisconnect }));

    let v = h.lc.call(&key("CA3")).unwrap().view();
    let got: Vec<_> = v.offers.iter().map(|o| (o.agent.clone(), o.result, o.offered_at, o.decided_at)).collect();
    assert_eq!(
        got,
        vec![
            (agent(1), Some(OfferOutcome::Missed), Some(at(3)), Some(at(23))),
            (agent(2), Some(OfferOutcome::Accepted), Some(at(24)), Some(at(30))),
        ]
    );
    assert_eq!(h.text("CA3", "OwnerId"), Some(agent(2).id().as_str()));
    assert_eq!(h.text("CA3", "CallDisposition"), Some("completed"));
    let to_agent1: Vec<_> =
        h.notifications().into_iter().filter(|n| n.agent == Some(agent(1))).map(|n| n.what.clone()).collect();
    assert_eq!(to_agent1, vec![NotificationKind::Offered, NotificationKind::OfferClosed { result: OfferOutcome::Missed }]);
}

#[test]
fn declined_and_timed_out_offers_are_told_apart() {
    for (k, result) in [("D1", OfferOutcome::Declined), ("D2", OfferOutcome::TimedOut), ("D3", OfferOutcome::Missed)] {
        let mut h = Harness::new(config(false));
        h.event(ev(k, 1, 0, initiated()));
        h.event(ev(k, 2, 1, EventKind::Offered { agent: agent(1) }));
        h.event(ev(k, 3, 5, EventKind::OfferResult { agent: agent(1), result }));
        let v = h.lc.call(&key(k)).unwrap().view();
        assert_eq!(v.offers[0].result, Some(result), "{k}");
        assert_eq!(v.disposition, Disposition::Ringing);
    }
}

#[test]
fn an_offer_result_heard_before_its_offer_is_one_offer() {
    let mut h = Harness::new(config(false));
    h.event(ev("CA4", 1, 0, initiated()));
    h.event(ev("CA4", 3, 5, EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Declined }));
    h.event(ev("CA4", 2, 1, EventKind::Offered { agent: agent(1) }));
    let v = h.lc.call(&key("CA4")).unwrap().view();
    assert_eq!(v.offers.len(), 1);
    assert_eq!(v.offers[0].offered_at, Some(at(1)));
    assert_eq!(v.offers[0].result, Some(OfferOutcome::Declined));
    // The agent's phone was never told to ring for a decided offer.
    assert!(!h.notifications().iter().any(|n| n.what == NotificationKind::Offered));
}

#[test]
fn hold_and_resume_twice_accumulates_durations() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "CA5");
    h.event(ev("CA5", 6, 20, EventKind::Held));
    assert_eq!(h.text("CA5", "CallDisposition"), Some("on-hold"));
    assert_eq!(h.int("CA5", "NumberOfHolds"), Some(1));
    h.event(ev("CA5", 7, 50, EventKind::Resumed));
    assert_eq!(h.text("CA5", "CallDisposition"), Some("in-progress"));
    h.event(ev("CA5", 8, 60, EventKind::Held));
    h.event(ev("CA5", 9, 65, EventKind::Resumed));
    h.event(ev("CA5", 10, 100, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.int("CA5", "NumberOfHolds"), Some(2));
    assert_eq!(h.int("CA5", "CustomerHoldDuration"), Some(35));
    assert_eq!(h.int("CA5", "LongestHoldDuration"), Some(30));
}

#[test]
fn a_hold_open_at_the_end_closes_at_the_end() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "CA6");
    h.event(ev("CA6", 6, 20, EventKind::Held));
    h.event(ev("CA6", 7, 44, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    h.event(ev("CA6", 8, 50, EventKind::Resumed)); // after the end: ignored
    assert_eq!(h.int("CA6", "NumberOfHolds"), Some(1));
    assert_eq!(h.int("CA6", "CustomerHoldDuration"), Some(24));
    assert_eq!(h.text("CA6", "CallDisposition"), Some("completed"));
}

#[test]
fn reported_hold_totals_replace_paired_holds_and_the_latest_report_wins_in_any_order() {
    let secs = std::time::Duration::from_secs;
    let report = |count, total, longest: Option<u64>| EventKind::HoldsReported { count, total: secs(total), longest: longest.map(secs) };
    for reversed in [false, true] {
        let mut h = Harness::new(config(false));
        answered_call(&mut h, "CA7");
        let mut later = vec![
            ev("CA7", 6, 20, EventKind::Held),
            ev("CA7", 7, 30, EventKind::Resumed),
            ev("CA7", 8, 90, EventKind::Ended { reason: EndReason::CustomerDisconnect }),
            ev("CA7", 9, 95, report(2, 40, None)),
            ev("CA7", 10, 96, report(3, 45, Some(20))),
        ];
        if reversed {
            later.reverse();
        }
        for e in later {
            h.event(e);
        }
        assert_eq!(h.int("CA7", "NumberOfHolds"), Some(3), "reversed: {reversed}");
        assert_eq!(h.int("CA7", "CustomerHoldDuration"), Some(45));
        assert_eq!(h.int("CA7", "LongestHoldDuration"), Some(20));
        assert_eq!(h.text("CA7", "CallDisposition"), Some("completed"));
    }
    // One reported hold with no longest: the longest is the total.
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "CA8");
    h.event(ev("CA8", 6, 60, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    h.event(ev("CA8", 7, 61, report(1, 12, None)));
    assert_eq!((h.int("CA8", "NumberOfHolds"), h.int("CA8", "CustomerHoldDuration"), h.int("CA8", "LongestHoldDuration")), (Some(1), Some(12), Some(12)));
}

fn transfer(h: &mut Harness) {
    h.event(ev("A", 1, 0, initiated()));
    h.event(ev("A", 2, 5, EventKind::Answered { agent: agent(1) }));
    h.event(ev("A", 3, 30, EventKind::Transferred { to: TransferTarget::Agent(agent(2)), new_leg: key("B") }));
    h.event(ev("B", 1, 31, EventKind::Ringing));
    h.event(ev("B", 2, 35, EventKind::Answered { agent: agent(2) }));
    h.event(ev("B", 3, 90, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
}

#[test]
fn transfer_links_legs_both_ways_and_keeps_the_related_record() {
    let mut h = Harness::new(config(true));
    h.lookups.insert(key("A"), contact(9));
    transfer(&mut h);
    let (a, b) = (id_for(&key("A")), id_for(&key("B")));
    assert_eq!(h.text("A", "NextCallId"), Some(b.as_str()));
    assert_eq!(h.text("B", "PreviousCallId"), Some(a.as_str()));
    assert_eq!(h.text("A", "DisconnectReason"), Some("Transferred"));
    assert_eq!(h.text("A", "CallDisposition"), Some("completed"));
    assert_eq!(h.field("A", "CallEndDateTime"), Some(&dt(30)));
    assert_eq!(h.text("B", "CallType"), Some("Transfer"));
    assert_eq!(h.text("B", "RelatedRecordId"), Some(contact(9).as_str()));
    assert_eq!(h.text("B", "FromPhoneNumber"), Some("+14155550100"));
    assert_eq!(h.text("B", "CallCenterId"), Some(center().as_str()));
    assert_eq!(h.text("B", "OwnerId"), Some(agent(2).id().as_str()));
    assert_eq!(h.field("B", "CallStartDateTime"), Some(&dt(30)));
    assert_eq!(h.int("B", "CallDurationInSeconds"), Some(60));
    // One Task per leg, each with its own agent; both about the contact.
    assert_eq!(h.tasks[&key("A")].get("OwnerId"), Some(&Value::Text(agent(1).id().to_string())));
    assert_eq!(h.tasks[&key("B")].get("OwnerId"), Some(&Value::Text(agent(2).id().to_string())));
    assert_eq!(h.tasks[&key("B")].get("WhoId"), Some(&Value::Text(contact(9).to_string())));
    assert_eq!(h.tasks[&key("B")].get("CallType"), Some(&Value::Text("Inbound".into())));
}

#[test]
fn a_match_after_the_transfer_reaches_the_new_leg() {
    let mut h = Harness::new(config(false));
    transfer(&mut h);
    assert_eq!(h.field("B", "RelatedRecordId"), None);
    h.send(Input::Matched { key: key("A"), record: contact(3) }).unwrap();
    assert_eq!(h.text("A", "RelatedRecordId"), Some(contact(3).as_str()));
    assert_eq!(h.text("B", "RelatedRecordId"), Some(contact(3).as_str()));
}

#[test]
fn the_new_legs_events_may_come_before_the_transfer() {
    let mut h = Harness::new(config(false));
    h.lookups.insert(key("A"), contact(9));
    h.event(ev("B", 1, 31, EventKind::Ringing));
    h.event(ev("A", 1, 0, initiated()));
    h.event(ev("A", 2, 5, EventKind::Answered { agent: agent(1) }));
    assert_eq!(h.field("B", "CallType"), None);
    h.event(ev("A", 3, 30, EventKind::Transferred { to: TransferTarget::Queue(queue("Tier2")), new_leg: key("B") }));
    assert_eq!(h.text("B", "CallType"), Some("Transfer"));
    assert_eq!(h.text("B", "QueueName"), Some("Tier2"));
    assert_eq!(h.text("B", "RelatedRecordId"), Some(contact(9).as_str()));
    assert_eq!(h.text("B", "PreviousCallId"), Some(id_for(&key("A")).as_str()));
    assert_eq!(h.text("A", "NextCallId"), Some(id_for(&key("B")).as_str()));
    assert_eq!(h.creates.len(), 2);
}

#[test]
fn voicemail_after_timed_out_offer() {
    let mut h = Harness::new(config(true));
    h.event(ev("VM", 1, 0, initiated()));
    h.event(ev("VM", 2, 1, EventKind::Ringing));
    h.event(ev("VM", 3, 2, EventKind::Offered { agent: agent(1) }));
    h.event(ev("VM", 4, 22, EventKind::OfferResult { agent: agent(1), result: OfferOutcome::TimedOut }));
    h.event(ev("VM", 6, 80, EventKind::Voicemail { url: "https://media.example/vm/1.wav".into() }));
    h.event(ev("VM", 5, 60, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.text("VM", "CallDisposition"), Some("voicemail"));
    assert_eq!(h.text("VM", "DisconnectReason"), Some("CustomerDisconnect"));
    assert_eq!(h.field("VM", "CallEndDateTime"), Some(&dt(60)));
    assert_eq!(h.field("VM", "OwnerId"), None);
}

#[test]
fn a_voicemail_with_no_hang_up_ends_the_call() {
    let mut h = Harness::new(config(false));
    h.event(ev("VM2", 1, 0, initiated()));
    h.event(ev("VM2", 2, 40, EventKind::Voicemail { url: "https://media.example/vm/2.wav".into() }));
    assert_eq!(h.text("VM2", "CallDisposition"), Some("voicemail"));
    assert_eq!(h.text("VM2", "DisconnectReason"), Some("Voicemail"));
    assert_eq!(h.int("VM2", "CallDurationInSeconds"), Some(40));
}

#[test]
fn failed_busy_no_answer_canceled() {
    let cases: Vec<(EventKind, &str, &str)> = vec![
        (EventKind::Ended { reason: EndReason::Busy }, "busy", "Busy"),
        (EventKind::Ended { reason: EndReason::NoAnswer }, "no-answer", "NoAnswer"),
        (EventKind::Ended { reason: EndReason::Canceled }, "canceled", "Canceled"),
        (EventKind::Ended { reason: EndReason::Failed }, "failed", "Failed"),
        (EventKind::Failed { reason: "503 Service Unavailable".into() }, "failed", "Failed"),
        (EventKind::Ended { reason: EndReason::Voicemail }, "voicemail", "Voicemail"),
    ];
    for (i, (end, disposition, reason)) in cases.into_iter().enumerate() {
        let k = format!("F{i}");
        let mut h = Harness::new(config(true));
        h.event(ev(&k, 1, 0, EventKind::Initiated {
            direction: Direction::Outbound,
            from: "+14155550199".into(),
            to: "+14155550100".into(),
            call_center: Some(center()),
        }));
        h.event(ev(&k, 2, 1, EventKind::Ringing));
        h.event(ev(&k, 3, 25, end));
        assert_eq!(h.text(&k, "CallDisposition"), Some(disposition), "{k}");
        assert_eq!(h.text(&k, "DisconnectReason"), Some(reason), "{k}");
        assert_eq!(h.text(&k, "CallType"), Some("Outbound"));
        assert_eq!(h.tasks[&key(&k)].get("CallType"), Some(&Value::Text("Outbound".into())));
    }
}

#[test]
fn wrap_up_is_validated_against_the_call_centers_picklist() {
    let mut h = Harness::new(config(true));
    h.lookups.insert(key("W"), contact(1));
    answered_call(&mut h, "W");
    h.event(ev("W", 6, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.tasks[&key("W")].get("CallDisposition"), None);

    let bad = h.send(Input::WrapUp { key: key("W"), resolution: "Made up".into(), notes: None });
    assert!(matches!(bad, Err(CallError::UnknownResolution { .. })), "{bad:?}");
    assert_eq!(h.field("W", "CallResolution"), None);

    h.now = at(70 + 45);
    h.send(Input::WrapUp { key: key("W"), resolution: "follow-up needed".into(), notes: Some("call back Tuesday".into()) })
        .unwrap();
    assert_eq!(h.text("W", "CallResolution"), Some("Follow-up Needed"), "stored in the picklist's spelling");
    assert_eq!(h.text("W", "Description"), Some("call back Tuesday"));
    assert_eq!(h.int("W", "AfterCallWorkDuration"), Some(45), "from the end to the wrap-up");
    let task = &h.tasks[&key("W")];
    assert_eq!(task.get("CallDisposition"), Some(&Value::Text("Follow-up Needed".into())));
    assert_eq!(task.get("Description"), Some(&Value::Text("call back Tuesday".into())));
    assert!(h.log.iter().any(|e| matches!(e, Effect::UpdateTask { .. })));

    // The same wrap-up again changes nothing.
    let again = h
        .send(Input::WrapUp { key: key("W"), resolution: "Follow-up Needed".into(), notes: Some("call back Tuesday".into()) })
        .unwrap();
    assert!(again.is_empty());

    let long = "x".repeat(32001);
    assert!(matches!(
        h.send(Input::WrapUp { key: key("W"), resolution: "Sale".into(), notes: Some(long) }),
        Err(CallError::NotesTooLong { chars: 32001, .. })
    ));
    assert!(matches!(
        h.send(Input::WrapUp { key: key("nope"), resolution: "Sale".into(), notes: None }),
        Err(CallError::UnknownCall(_))
    ));
}

#[test]
fn task_is_written_at_the_end_with_call_fields() {
    let mut h = Harness::new(config(true));
    h.lookups.insert(key("T"), contact(4));
    answered_call(&mut h, "T");
    assert!(h.tasks.is_empty(), "no Task while the call is live");
    h.event(ev("T", 6, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    let t = &h.tasks[&key("T")];
    let s = |v: &str| Some(Value::Text(v.to_string()));
    assert_eq!(t.get("TaskSubtype").cloned(), s("Call"));
    assert_eq!(t.get("Status").cloned(), s("Completed"));
    assert_eq!(t.get("CallType").cloned(), s("Inbound"));
    assert_eq!(t.get("CallObject").cloned(), s("T"));
    assert_eq!(t.get("CallDurationInSeconds"), Some(&Value::Int(70)));
    assert_eq!(t.get("WhoId").cloned(), s(contact(4).as_str()));
    assert_eq!(t.get("WhatId").cloned(), s(id_for(&key("T")).as_str()));
    assert_eq!(t.get("ActivityDate").cloned(), s("2026-11-22"));
    assert_eq!(h.task_creates[&key("T")], 1);
}

#[test]
fn task_is_not_written_when_the_call_center_disables_it() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "T");
    h.event(ev("T", 6, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    h.advance(3600);
    h.poll();
    assert!(h.tasks.is_empty());
    assert!(!h.log.iter().any(|e| matches!(e, Effect::CreateTask { .. } | Effect::UpdateTask { .. })));
}

#[test]
fn reaper_closes_an_answered_call_whose_end_never_comes() {
    let mut h = Harness::new(config(true));
    answered_call(&mut h, "R");
    assert_eq!(h.lc.next_wakeup(), Some(T0 + Duration::hours(4)));
    h.advance(3600);
    assert!(h.poll().is_empty(), "not yet");
    h.now = T0 + Duration::hours(4);
    h.poll();
    assert_eq!(h.text("R", "DisconnectReason"), Some("Reaped"));
    assert_eq!(h.text("R", "CallDisposition"), Some("completed"));
    assert_eq!(h.field("R", "CallEndDateTime"), Some(&dt(4 * 3600)));
    assert!(h.tasks.contains_key(&key("R")));
    assert_eq!(h.lc.stats().reaped, 1);
    // Next: it is forgotten after the linger.
    assert_eq!(h.lc.next_wakeup(), Some(h.now + Duration::minutes(30)));
}

#[test]
fn reaper_times_out_a_ringing_call() {
    let mut h = Harness::new(config(false));
    h.event(ev("RT", 1, 0, initiated()));
    h.event(ev("RT", 2, 1, EventKind::Ringing));
    assert_eq!(h.lc.next_wakeup(), Some(T0 + Duration::minutes(5)));
    h.advance(300);
    h.poll();
    assert_eq!(h.text("RT", "DisconnectReason"), Some("Timeout"));
    assert_eq!(h.text("RT", "CallDisposition"), Some("no-answer"));
}

#[test]
fn a_real_end_heard_after_the_reaper_corrects_the_record() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "RL");
    h.now = T0 + Duration::hours(4);
    h.poll();
    assert_eq!(h.text("RL", "DisconnectReason"), Some("Reaped"));
    h.event(ev("RL", 9, 600, EventKind::Ended { reason: EndReason::AgentDisconnect }));
    assert_eq!(h.text("RL", "DisconnectReason"), Some("AgentDisconnect"));
    assert_eq!(h.field("RL", "CallEndDateTime"), Some(&dt(600)));
    assert_eq!(h.int("RL", "CallDurationInSeconds"), Some(600));
}

#[test]
fn a_duplicate_changes_nothing() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "DUP");
    let e = ev("DUP", 5, 10, EventKind::Answered { agent: agent(1) });
    assert!(h.event(e).is_empty());
    // Same sequence number, different content: still the same event.
    assert!(h.event(ev("DUP", 3, 2, EventKind::Ended { reason: EndReason::Busy })).is_empty());
    assert_eq!(h.lc.stats().duplicates, 2);
    assert_eq!(h.text("DUP", "CallDisposition"), Some("in-progress"));
}

#[test]
fn ended_heard_before_answered_still_gives_the_right_record() {
    let mut h = Harness::new(config(false));
    h.event(ev("OO", 3, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.text("OO", "CallDisposition"), Some("canceled"));
    h.event(ev("OO", 2, 10, EventKind::Answered { agent: agent(1) }));
    h.event(ev("OO", 1, 0, initiated()));
    assert_eq!(h.text("OO", "CallDisposition"), Some("completed"));
    assert_eq!(h.text("OO", "CallType"), Some("Inbound"));
    assert_eq!(h.field("OO", "CallStartDateTime"), Some(&dt(0)));
    assert_eq!(h.int("OO", "CallDurationInSeconds"), Some(70));
    assert_eq!(h.creates[&key("OO")], 1);
}

#[test]
fn a_late_ringing_does_not_reopen_an_ended_call() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "LR");
    h.event(ev("LR", 6, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    let effects = h.event(ev("LR", 7, 80, EventKind::Ringing));
    assert!(effects.is_empty(), "{effects:?}");
    h.event(ev("LR", 8, 81, EventKind::Offered { agent: agent(3) }));
    assert_eq!(h.text("LR", "CallDisposition"), Some("completed"));
    assert!(!h.notifications().iter().any(|n| n.agent == Some(agent(3))), "no ringing for an ended call");
}

#[test]
fn forgotten_calls_do_not_come_back() {
    let mut cfg = config(false);
    cfg.recent_capacity = 2;
    let mut h = Harness::new(cfg);
    for k in ["G1", "G2", "G3"] {
        h.event(ev(k, 1, 0, initiated()));
        h.event(ev(k, 2, 5, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    }
    h.advance(29 * 60);
    h.poll();
    assert_eq!(h.lc.live_calls(), 3);
    h.advance(60);
    h.poll();
    assert_eq!(h.lc.live_calls(), 0);
    assert_eq!(h.lc.next_wakeup(), None);
    // G1 fell out of the bound of 2; G2 and G3 are remembered.
    assert!(!h.lc.is_recently_finished(&key("G1")));
    assert!(h.event(ev("G3", 1, 0, initiated())).is_empty());
    assert!(h.event(ev("G2", 9, 7, EventKind::Ringing)).is_empty());
    assert_eq!(h.lc.stats().late_after_forget, 2);
    assert!(h.send(Input::Matched { key: key("G2"), record: contact(1) }).unwrap().is_empty());
}

#[test]
fn a_task_is_still_written_if_initiated_never_came() {
    let mut h = Harness::new(config(true));
    h.lc = Lifecycle::new(Config { default_center: CenterConfig { write_task: true, resolutions: vec![] }, ..config(true) });
    h.event(ev("NI", 1, 3, EventKind::Answered { agent: agent(1) }));
    h.event(ev("NI", 2, 9, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert!(h.tasks.is_empty(), "waiting for Initiated to learn the call center");
    h.advance(31 * 60);
    h.poll();
    assert!(h.tasks.contains_key(&key("NI")));
    assert_eq!(h.lc.live_calls(), 0);
}

#[test]
fn recordings_are_created_once_with_the_voice_call_id() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "REC");
    let rec = |seq| {
        ev("REC", seq, 80, EventKind::RecordingAvailable {
            recording: "RE123".into(),
            url: "https://media.example/RE123.wav".into(),
            duration: std::time::Duration::from_secs(55),
        })
    };
    h.event(rec(7));
    h.event(rec(8)); // the provider re-sent it with a new sequence number
    assert_eq!(h.recordings.len(), 1);
    let r = &h.recordings[&(key("REC"), "RE123".to_string())];
    assert_eq!(r.get("VoiceCallId"), Some(&Value::Text(id_for(&key("REC")).to_string())));
    assert_eq!(r.get("DurationInSeconds"), Some(&Value::Int(55)));
    assert_eq!(h.field("REC", "IsRecorded"), Some(&Value::Bool(true)));
}

#[test]
fn a_recording_waits_for_the_voice_call_id() {
    let mut lc = Lifecycle::new(config(false));
    let r = EventKind::RecordingAvailable { recording: "RE1".into(), url: "https://m.example/1".into(), duration: Default::default() };
    let e = lc.handle(T0, Input::Event(ev("X", 1, 0, r))).unwrap();
    assert!(!e.iter().any(|e| matches!(e, Effect::CreateRecording { .. })));
    let e = lc.handle(T0, Input::Stored { key: key("X"), id: id_for(&key("X")) }).unwrap();
    assert!(e.iter().any(|e| matches!(e, Effect::CreateRecording { .. })));
}

#[test]
fn transcript_lines_go_to_the_owner_and_are_stored_once_each() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "TR");
    let line = ev("TR", 6, 20, EventKind::TranscriptUtterance { speaker: Speaker::Customer, text: "hello".into() });
    let effects = h.event(line.clone());
    let notes: Vec<_> = effects.iter().filter_map(|e| if let Effect::Notify(n) = e { Some(n) } else { None }).collect();
    assert_eq!(notes.len(), 1, "{effects:?}");
    assert_eq!(notes[0].agent, Some(agent(1)));
    let entry = &h.transcript[&(key("TR"), "Twilio:6".to_string())];
    assert_eq!(entry.get("ConversationId"), Some(&Value::Text(id_for(&key("TR")).to_string())));
    assert_eq!(entry.get("ActorType"), Some(&Value::Text("EndUser".into())));
    assert_eq!(entry.get("Message"), Some(&Value::Text("hello".into())));
    // The same event again is the same line.
    assert!(h.event(line).is_empty());
    h.event(ev("TR", 7, 21, EventKind::TranscriptUtterance { speaker: Speaker::Agent(agent(1)), text: "hi".into() }));
    let reply = &h.transcript[&(key("TR"), "Twilio:7".to_string())];
    assert_eq!((reply.get("ActorType"), reply.get("ActorId")), (Some(&Value::Text("Agent".into())), Some(&Value::Text(agent(1).to_string()))));
    assert_eq!(h.transcript.len(), 2);
}

#[test]
fn a_transcript_line_before_the_call_is_stored_waits_for_its_id() {
    let mut lc = Lifecycle::new(config(false));
    let e = lc.handle(T0, Input::Event(ev("EARLY", 1, 0, EventKind::TranscriptUtterance { speaker: Speaker::VirtualAgent, text: "welcome".into() }))).unwrap();
    assert!(!e.iter().any(|e| matches!(e, Effect::CreateTranscriptEntry { .. })), "no VoiceCall id yet: {e:?}");
    let e = lc.handle(T0, Input::Stored { key: key("EARLY"), id: id_for(&key("EARLY")) }).unwrap();
    let entries: Vec<_> = e.iter().filter(|e| matches!(e, Effect::CreateTranscriptEntry { .. })).collect();
    assert_eq!(entries.len(), 1, "{e:?}");
}

#[test]
fn a_sip_uri_too_long_for_a_phone_field_is_left_out() {
    let mut h = Harness::new(config(false));
    h.event(ev("SIP", 1, 0, EventKind::Initiated {
        direction: Direction::Inbound,
        from: "sip:+14155550100@carrier-gateway-01.example.net;user=phone".into(),
        to: "+14155550199".into(),
        call_center: None,
    }));
    assert_eq!(h.field("SIP", "FromPhoneNumber"), None);
    assert_eq!(h.text("SIP", "ToPhoneNumber"), Some("+14155550199"));
}

#[test]
fn typed_values_are_built_by_parsing() {
    assert_eq!(VendorCallKey::parse(""), Err(ParseError::EmptyKey));
    assert_eq!(VendorCallKey::parse(&"k".repeat(256)), Err(ParseError::KeyTooLong(256)));
    assert!(VendorCallKey::parse(&"k".repeat(255)).is_ok());
    assert_eq!(VendorCallKey::parse("CA1\n"), Err(ParseError::ControlCharacter));
    assert!(matches!(AgentId::parse(contact(1).as_str()), Err(ParseError::NotAUser(_))));
    assert!(AgentId::parse(agent(1).id().as_str()).is_ok());
    assert!(AgentId::parse("not an id").is_err());
    assert_eq!(QueueName::parse("  "), Err(ParseError::BadQueueName));
}

#[test]
fn only_relatable_records_can_be_matched() {
    let mut h = Harness::new(config(false));
    h.event(ev("M", 1, 0, initiated()));
    let user = agent(1).id().clone();
    assert_eq!(h.send(Input::Matched { key: key("M"), record: user.clone() }), Err(CallError::NotRelatable(user)));
    let account = dialtone_model::SalesforceId::new("001", 3);
    h.send(Input::Matched { key: key("M"), record: account.clone() }).unwrap();
    assert_eq!(h.text("M", "RelatedRecordId"), Some(account.as_str()));
}

#[test]
fn sequence_numbers_are_per_provider() {
    let mut h = Harness::new(config(false));
    let sip = |seq, secs, kind| CallEvent { key: key("S"), provider: Provider::Sip, seq, at: at(secs), kind };
    h.event(sip(1, 0, initiated()));
    // Twilio's seq 1 is not SIP's seq 1.
    assert!(!h.event(ev("S", 1, 5, EventKind::Answered { agent: agent(1) })).is_empty());
    assert_eq!(h.text("S", "VendorType"), Some("Sip"), "the provider that initiated the call");
    assert_eq!(h.text("S", "CallOrigin"), Some("SIP"));
    assert_eq!(h.text("S", "CallDisposition"), Some("in-progress"));
}

#[test]
fn status_notifications_follow_the_telephony_state() {
    let mut h = Harness::new(config(false));
    answered_call(&mut h, "N");
    h.event(ev("N", 6, 20, EventKind::Held));
    h.event(ev("N", 7, 30, EventKind::Resumed));
    h.event(ev("N", 8, 40, EventKind::Ended { reason: EndReason::AgentDisconnect }));
    let statuses: Vec<_> = h
        .notifications()
        .into_iter()
        .filter_map(|n| match n.what {
            NotificationKind::Status { disposition } => Some(disposition),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec!["new", "ringing", "in-progress", "on-hold", "in-progress", "completed"]);
}

#[test]
fn each_ended_call_carries_its_outcome_speed_of_answer_talk_and_handle_time() {
    let mut h = Harness::new(config(false));
    // Answered: queued at 1, accepted at 10 (speed 9), 15 s on hold, ended at 70, wrapped up at 100.
    answered_call(&mut h, "ANS");
    assert_eq!(h.text("ANS", "CallOutcome"), Some("Answered"), "answered as soon as accepted");
    assert_eq!(h.int("ANS", "SpeedOfAnswerInSeconds"), Some(9));
    assert_eq!(h.int("ANS", "HandleTimeInSeconds"), None, "no handle time while the call goes on");
    h.event(ev("ANS", 6, 20, EventKind::Held));
    h.event(ev("ANS", 7, 35, EventKind::Resumed));
    h.event(ev("ANS", 8, 70, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.int("ANS", "TalkTimeInSeconds"), Some(60 - 15));
    assert_eq!(h.int("ANS", "HandleTimeInSeconds"), Some(60), "talk + hold, before the wrap-up");
    h.advance(100);
    let effects = h.send(Input::WrapUp { key: key("ANS"), resolution: "Resolved".into(), notes: None }).unwrap();
    h.apply(&effects);
    assert_eq!(h.int("ANS", "AfterCallWorkDuration"), Some(30));
    assert_eq!(h.int("ANS", "HandleTimeInSeconds"), Some(90), "talk + hold + after-call work");

    // Abandoned in the queue: an outcome, no speed of answer.
    h.event(ev("AB", 1, 0, initiated()));
    h.event(ev("AB", 2, 1, EventKind::Queued { queue: queue("Sales") }));
    assert_eq!(h.text("AB", "CallOutcome"), None, "no outcome while waiting");
    h.event(ev("AB", 3, 45, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert_eq!(h.text("AB", "CallOutcome"), Some("Abandoned"));
    assert_eq!(h.int("AB", "SpeedOfAnswerInSeconds"), None);
    assert_eq!(h.int("AB", "HandleTimeInSeconds"), None);

    // Unanswered outbound: Missed, not abandoned.
    h.event(ev("OUT", 1, 0, EventKind::Initiated { direction: Direction::Outbound, from: "+14155550199".into(), to: "+14155550100".into(), call_center: Some(center()) }));
    h.event(ev("OUT", 2, 30, EventKind::Ended { reason: EndReason::NoAnswer }));
    assert_eq!(h.text("OUT", "CallOutcome"), Some("Missed"));
}
