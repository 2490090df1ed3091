//! Property tests: any reordering and duplication of a valid event sequence
//! gives the same final records, one CreateVoiceCall per call, created before
//! anything is announced, and every field map passes the model's schema (the
//! harness validates each effect as it applies it).

mod common;

use common::*;
use dialtone_calls::*;
use proptest::prelude::*;

/// Builds one call's events with increasing times from `gaps`.
struct Seq {
    gaps: Vec<i64>,
    t: i64,
    seq: std::collections::HashMap<String, u64>,
    out: Vec<CallEvent>,
}

impl Seq {
    fn new(gaps: Vec<i64>) -> Seq {
        Seq { gaps, t: 0, seq: Default::default(), out: Vec::new() }
    }
    fn push(&mut self, k: &str, kind: EventKind) -> &mut Seq {
        let n = self.seq.entry(k.to_string()).or_default();
        *n += 1;
        self.out.push(ev(k, *n, self.t, kind));
        let i = self.out.len() % self.gaps.len();
        self.t += self.gaps[i];
        self
    }
}

fn answered(holds: usize, first: Option<OfferOutcome>, recorded: bool, gaps: Vec<i64>) -> Vec<CallEvent> {
    let mut s = Seq::new(gaps);
    s.push("A", initiated()).push("A", EventKind::Queued { queue: queue("Support") }).push("A", EventKind::Ringing);
    if let Some(result) = first {
        s.push("A", EventKind::Offered { agent: agent(1) }).push("A", EventKind::OfferResult { agent: agent(1), result });
    }
    s.push("A", EventKind::Offered { agent: agent(2) }).push("A", EventKind::Answered { agent: agent(2) });
    // Transcript lines: stored once each, whatever the order or repetition.
    s.push("A", EventKind::TranscriptUtterance { speaker: Speaker::Customer, text: "my order never came".into() });
    s.push("A", EventKind::TranscriptUtterance { speaker: Speaker::Agent(agent(2)), text: "let me look".into() });
    for _ in 0..holds {
        s.push("A", EventKind::Held).push("A", EventKind::Resumed);
    }
    s.push("A", EventKind::Ended { reason: EndReason::CustomerDisconnect });
    if recorded {
        s.push("A", EventKind::RecordingAvailable {
            recording: "RE1".into(),
            url: "https://media.example/RE1.wav".into(),
            duration: std::time::Duration::from_secs(42),
        });
    }
    s.out
}

fn abandoned(offered: bool, gaps: Vec<i64>) -> Vec<CallEvent> {
    let mut s = Seq::new(gaps);
    s.push("A", initiated()).push("A", EventKind::Queued { queue: queue("Sales") });
    if offered {
        s.push("A", EventKind::Ringing).push("A", EventKind::Offered { agent: agent(1) });
    }
    s.push("A", EventKind::Ended { reason: EndReason::CustomerDisconnect });
    s.out
}

fn transferred(hold_on_b: bool, to_queue: bool, gaps: Vec<i64>) -> Vec<CallEvent> {
    let mut s = Seq::new(gaps);
    let to = if to_queue { TransferTarget::Queue(queue("Tier2")) } else { TransferTarget::Agent(agent(2)) };
    s.push("A", initiated())
        .push("A", EventKind::Offered { agent: agent(1) })
        .push("A", EventKind::Answered { agent: agent(1) })
        .push("A", EventKind::Transferred { to, new_leg: key("B") })
        .push("B", EventKind::Ringing)
        .push("B", EventKind::Offered { agent: agent(2) })
        .push("B", EventKind::Answered { agent: agent(2) });
    if hold_on_b {
        s.push("B", EventKind::Held).push("B", EventKind::Resumed);
    }
    s.push("B", EventKind::Ended { reason: EndReason::AgentDisconnect });
    s.out
}

fn voicemail(gaps: Vec<i64>) -> Vec<CallEvent> {
    let mut s = Seq::new(gaps);
    s.push("A", initiated())
        .push("A", EventKind::Ringing)
        .push("A", EventKind::Offered { agent: agent(1) })
        .push("A", EventKind::OfferResult { agent: agent(1), result: OfferOutcome::TimedOut })
        .push("A", EventKind::Ended { reason: EndReason::CustomerDisconnect })
        .push("A", EventKind::Voicemail { url: "https://media.example/vm.wav".into() });
    s.out
}

fn outcome() -> impl Strategy<Value = OfferOutcome> {
    prop_oneof![Just(OfferOutcome::Missed), Just(OfferOutcome::Declined), Just(OfferOutcome::TimedOut)]
}

fn scenario() -> impl Strategy<Value = Vec<CallEvent>> {
    // Gaps of 0 make equal timestamps: order then falls back to (provider, seq).
    let gaps = || prop::collection::vec(0i64..40, 1..8);
    prop_oneof![
        (0usize..3, prop::option::of(outcome()), any::<bool>(), gaps()).prop_map(|(h, f, r, g)| answered(h, f, r, g)),
        (any::<bool>(), gaps()).prop_map(|(o, g)| abandoned(o, g)),
        (any::<bool>(), any::<bool>(), gaps()).prop_map(|(h, q, g)| transferred(h, q, g)),
        gaps().prop_map(voicemail),
    ]
}

/// The events in order, and the same events shuffled with random duplicates.
fn arrivals() -> impl Strategy<Value = (Vec<CallEvent>, Vec<CallEvent>)> {
    scenario().prop_flat_map(|events| {
        let n = events.len();
        (Just(events), prop::collection::vec(0..n, 0..=n)).prop_flat_map(|(events, dups)| {
            let mut all = events.clone();
            all.extend(dups.into_iter().map(|i| events[i].clone()));
            (Just(events), Just(all).prop_shuffle())
        })
    })
}

/// The same call shape under other keys ("A" -> "ZA"), to interleave two calls.
fn renamed(events: Vec<CallEvent>) -> Vec<CallEvent> {
    let z = |k: &VendorCallKey| key(&format!("Z{k}"));
    events
        .into_iter()
        .map(|mut e| {
            e.key = z(&e.key);
            if let EventKind::Transferred { new_leg, .. } = &mut e.kind {
                *new_leg = z(new_leg);
            }
            e
        })
        .collect()
}

/// Two calls' events, in order, and all of them shuffled with duplicates.
fn two_calls() -> impl Strategy<Value = (Vec<CallEvent>, Vec<CallEvent>)> {
    (scenario(), scenario()).prop_flat_map(|(a, b)| {
        let events: Vec<CallEvent> = a.into_iter().chain(renamed(b)).collect();
        let n = events.len();
        (Just(events), prop::collection::vec(0..n, 0..=n)).prop_flat_map(|(events, dups)| {
            let mut all = events.clone();
            all.extend(dups.into_iter().map(|i| events[i].clone()));
            (Just(events), Just(all).prop_shuffle())
        })
    })
}

fn run(events: &[CallEvent], write_task: bool) -> Harness {
    let mut h = Harness::new(config(write_task));
    h.lookups.insert(key("A"), contact(5));
    h.lookups.insert(key("ZA"), contact(6));
    for e in events {
        h.event(e.clone());
        h.advance(1);
    }
    h
}

proptest! {
    // 400 cases by default; PROPTEST_CASES=20000 for a longer soak.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(400),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_order_and_duplication_gives_the_same_records((ordered, shuffled) in arrivals(), write_task in any::<bool>()) {
        let want = run(&ordered, write_task);
        let got = run(&shuffled, write_task);
        prop_assert_eq!(&got.voice_calls, &want.voice_calls);
        prop_assert_eq!(&got.tasks, &want.tasks);
        prop_assert_eq!(&got.recordings, &want.recordings);
        prop_assert_eq!(&got.transcript, &want.transcript);
        for (k, n) in &got.creates {
            prop_assert_eq!(*n, 1, "CreateVoiceCall count for {}", k);
        }
        // Every call ended, and the Task exists exactly when configured.
        for (k, rec) in &got.voice_calls {
            let d = rec.get("CallDisposition").and_then(|v| v.as_str()).unwrap_or("");
            prop_assert!(["completed", "canceled", "voicemail"].contains(&d), "{} ended as {}", k, d);
            prop_assert_eq!(got.tasks.contains_key(k), write_task);
        }
    }

    #[test]
    fn interleaved_calls_do_not_disturb_each_other((ordered, shuffled) in two_calls()) {
        let want = run(&ordered, true);
        let got = run(&shuffled, true);
        prop_assert_eq!(&got.voice_calls, &want.voice_calls);
        prop_assert_eq!(&got.tasks, &want.tasks);
        prop_assert_eq!(&got.recordings, &want.recordings);
        prop_assert_eq!(&got.transcript, &want.transcript);
    }

    #[test]
    fn create_comes_first_and_offers_are_announced_after_it((_, shuffled) in arrivals()) {
        let h = run(&shuffled, true);
        let mut created = std::collections::HashSet::new();
        for e in &h.log {
            match e {
                Effect::CreateVoiceCall { key, .. } => prop_assert!(created.insert(key.clone()), "second create for {}", key),
                other => prop_assert!(created.contains(other.key()), "{:?} before CreateVoiceCall", other),
            }
        }
    }

    #[test]
    fn the_reaper_leaves_nothing_in_progress(prefix in 1usize..6, (ordered, _) in arrivals(), wait_min in 0i64..400) {
        // Any prefix of a sequence (its end lost), then time passes.
        let events: Vec<_> = ordered.into_iter().take(prefix).collect();
        let mut h = run(&events, true);
        h.advance(wait_min * 60);
        h.poll();
        h.now = h.now.max(T0 + time::Duration::hours(5));
        h.poll();
        for (k, rec) in &h.voice_calls {
            let d = rec.get("CallDisposition").and_then(|v| v.as_str()).unwrap_or("");
            prop_assert!(!["new", "ringing", "in-progress", "on-hold"].contains(&d), "{} still {}", k, d);
        }
        // And after the linger, nothing is left in memory.
        h.now += time::Duration::hours(1);
        h.poll();
        prop_assert_eq!(h.lc.live_calls(), 0);
        prop_assert_eq!(h.lc.next_wakeup(), None);
    }
}
