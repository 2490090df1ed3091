use super::threshold::{Alert, Figures, ThresholdSpec};
use super::*;
use proptest::prelude::*;
use time::macros::datetime;

fn flow(name: &str, order: i64, trigger: Trigger) -> Flow {
    Flow { id: name.into(), name: name.into(), object: "VoiceCall".into(), trigger, condition: None, actions: vec![], order, active: true }
}

fn change(op: Op, deltas: &[(&str, Option<&str>, Option<&str>)]) -> Change {
    Change {
        seq: 1,
        object: "VoiceCall".into(),
        record_id: "0LQ000000000001AAA".into(),
        op,
        deltas: deltas.iter().map(|(f, o, n)| Delta { field: f.to_string(), old: o.map(str::to_string), new: n.map(str::to_string) }).collect(),
        depth: 0,
    }
}

fn changed_to(field: &str, value: &str) -> Trigger {
    Trigger::FieldChangedTo { field: field.into(), value: value.into() }
}

#[test]
fn a_field_changed_to_a_value_fires_only_when_it_becomes_that_value() {
    let f = flow("cb", 1, changed_to("CallResolution", "Callback Requested"));
    assert!(fires(&f, &change(Op::Updated, &[("CallResolution", None, Some("Callback Requested"))])));
    assert!(fires(&f, &change(Op::Updated, &[("callresolution", Some("x"), Some("callback requested"))])), "case-insensitive, as SOQL");
    assert!(fires(&f, &change(Op::Created, &[("CallResolution", None, Some("Callback Requested"))])), "created with the value");
    assert!(!fires(&f, &change(Op::Updated, &[("CallResolution", Some("Callback Requested"), Some("Callback Requested"))])));
    assert!(!fires(&f, &change(Op::Updated, &[("Description", None, Some("Callback Requested"))])));
    assert!(!fires(&f, &change(Op::Updated, &[("CallResolution", None, Some("Resolved"))])));
    let mut off = f.clone();
    off.active = false;
    assert!(!fires(&off, &change(Op::Updated, &[("CallResolution", None, Some("Callback Requested"))])));
    let mut other = f;
    other.object = "Case".into();
    assert!(!fires(&other, &change(Op::Updated, &[("CallResolution", None, Some("Callback Requested"))])));
}

#[test]
fn created_updated_and_either() {
    let c = change(Op::Created, &[]);
    let u = change(Op::Updated, &[]);
    assert!(fires(&flow("a", 1, Trigger::Created), &c) && !fires(&flow("a", 1, Trigger::Created), &u));
    assert!(!fires(&flow("a", 1, Trigger::Updated), &c) && fires(&flow("a", 1, Trigger::Updated), &u));
    assert!(fires(&flow("a", 1, Trigger::CreatedOrUpdated), &c) && fires(&flow("a", 1, Trigger::CreatedOrUpdated), &u));
}

#[test]
fn flows_run_in_order_then_name() {
    let flows = vec![flow("b", 2, Trigger::Created), flow("Z", 1, Trigger::Created), flow("a", 2, Trigger::Created), flow("x", 0, Trigger::Updated)];
    let names: Vec<&str> = matching(&flows, &change(Op::Created, &[])).iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Z", "a", "b"]);
    assert_eq!(watched_objects(&flows), ["VoiceCall"]);
}

#[test]
fn templates_fill_fields_parents_and_dates() {
    let now = datetime!(2026-12-05 10:30:00 UTC);
    let field = |f: &str| match f {
        "Id" => Some("0LQ1".to_string()),
        "Account.Name" => Some("Acme".to_string()),
        _ => None,
    };
    let none = |_: &str| None;
    assert_eq!(template::render("Call {!Account.Name} back ({!Id}){!Missing}", now, &field, &none).unwrap(), "Call Acme back (0LQ1)");
    assert_eq!(template::render("{!$Today+2}", now, &field, &none).unwrap(), "2026-12-07");
    assert_eq!(template::render("{!$Today-5}", now, &field, &none).unwrap(), "2026-11-30");
    assert_eq!(template::render("{!$Now}", now, &field, &none).unwrap(), "2026-12-05T10:30:00.000Z");
    assert_eq!(template::render("{!$Percent}%", now, &field, &|v| (v == "Percent").then(|| "3.5".into())).unwrap(), "3.5%");
    assert!(template::render("{!$Nope}", now, &field, &none).is_err());
    assert!(template::render("{!Id", now, &field, &none).is_err());
    assert!(template::render("{!a b}", now, &field, &none).is_err());
    assert_eq!(template::fields("{!Id} {!Account.Name} {!id}").unwrap(), ["Id", "Account.Name"]);
    assert!(template::check("{!$Count}", &["Count"]).is_ok());
    assert!(template::check("{!$Count}", &[]).is_err());
}

#[test]
fn retries_back_off_exponentially_up_to_a_cap_then_park() {
    let p = RetryPolicy { base: Duration::seconds(10), cap: Duration::seconds(60), max_attempts: 5 };
    let delays: Vec<Option<i64>> = (1..=6).map(|a| p.next_delay(a).map(|d| d.whole_seconds())).collect();
    assert_eq!(delays, [Some(10), Some(20), Some(40), Some(60), None, None]);
}

#[test]
fn a_signature_verifies_and_anything_altered_does_not() {
    let h = signature::sign(b"s3cret", 1_733_390_000, b"{\"a\":1}");
    assert!(h.starts_with("t=1733390000,v1="));
    assert_eq!(signature::verify(b"s3cret", &h, b"{\"a\":1}", 1_733_390_010, 300), Ok(()));
    assert_eq!(signature::verify(b"s3cret", &h, b"{\"a\":2}", 1_733_390_010, 300), Err(signature::VerifyError::Mismatch));
    assert_eq!(signature::verify(b"other", &h, b"{\"a\":1}", 1_733_390_010, 300), Err(signature::VerifyError::Mismatch));
    assert_eq!(signature::verify(b"s3cret", &h, b"{\"a\":1}", 1_733_391_000, 300), Err(signature::VerifyError::Stale));
    assert_eq!(signature::verify(b"s3cret", "v1=zz", b"", 0, 300), Err(signature::VerifyError::Malformed));
    // A known vector (`printf '1.body' | openssl dgst -sha256 -hmac key`), so receivers in other languages can check their code.
    assert_eq!(signature::sign(b"key", 1, b"body"), "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5");
}

fn spec() -> ThresholdSpec {
    ThresholdSpec {
        numerator: "ScreenPopOutcome = 'Failed'".into(),
        denominator: "ScreenPopOutcome != null".into(),
        window_field: "CallStartDateTime".into(),
        window: Duration::minutes(5),
        percent: 2.0,
        minimum_count: 50,
        cooldown: Duration::minutes(30),
    }
}

#[test]
fn an_alert_fires_once_when_crossed_and_again_only_after_falling_back_and_cooling_down() {
    let s = spec();
    let t0 = datetime!(2026-12-05 10:00:00 UTC);
    let mut a = Alert::default();
    assert!(!a.observe(&s, Figures { count: 5, total: 40 }, t0), "under the minimum count");
    assert!(!a.observe(&s, Figures { count: 1, total: 100 }, t0), "1% is under 2%");
    assert!(a.observe(&s, Figures { count: 3, total: 100 }, t0 + Duration::seconds(10)), "3% crosses");
    assert!(!a.observe(&s, Figures { count: 9, total: 100 }, t0 + Duration::seconds(20)), "still above: once");
    assert!(!a.observe(&s, Figures { count: 1, total: 100 }, t0 + Duration::minutes(1)));
    assert!(!a.observe(&s, Figures { count: 9, total: 100 }, t0 + Duration::minutes(2)), "cooling down");
    assert!(a.observe(&s, Figures { count: 9, total: 100 }, t0 + Duration::minutes(31)), "after the cooldown");
    let mut restarted = Alert::fired_at(t0);
    assert!(!restarted.observe(&s, Figures { count: 9, total: 100 }, t0 + Duration::minutes(1)));
}

proptest! {
    #[test]
    fn delays_never_shrink_and_never_pass_the_cap(base in 1i64..120, cap in 1i64..7200, max in 1u32..20) {
        let p = RetryPolicy { base: Duration::seconds(base), cap: Duration::seconds(cap), max_attempts: max };
        let mut last = Duration::ZERO;
        for a in 1..max {
            let d = p.next_delay(a).expect("before the last attempt");
            prop_assert!(d >= last && d <= Duration::seconds(cap));
            last = d;
        }
        prop_assert!(p.next_delay(max).is_none());
    }

    #[test]
    fn any_body_and_secret_verify_and_a_flipped_byte_does_not(secret in proptest::collection::vec(any::<u8>(), 1..64), body in proptest::collection::vec(any::<u8>(), 0..512), t in 0i64..4_000_000_000, flip in any::<usize>()) {
        let h = signature::sign(&secret, t, &body);
        prop_assert_eq!(signature::verify(&secret, &h, &body, t, 300), Ok(()));
        if !body.is_empty() {
            let mut bad = body.clone();
            let i = flip % bad.len();
            bad[i] ^= 1;
            prop_assert_eq!(signature::verify(&secret, &h, &bad, t, 300), Err(signature::VerifyError::Mismatch));
        }
    }

    #[test]
    fn an_alert_never_fires_twice_within_its_cooldown(obs in proptest::collection::vec((0u64..20, 50u64..200, 0i64..120), 1..60)) {
        let s = spec();
        let mut a = Alert::default();
        let mut now = time::macros::datetime!(2026-12-05 10:00:00 UTC);
        let mut fired: Vec<time::OffsetDateTime> = Vec::new();
        for (count, total, step) in obs {
            now += Duration::seconds(step);
            if a.observe(&s, Figures { count, total }, now) {
                fired.push(now);
            }
        }
        for w in fired.windows(2) {
            prop_assert!(w[1] - w[0] >= s.cooldown);
        }
    }
}

#[test]
fn actions_read_from_yaml_shaped_json() {
    let a: Vec<Action> = serde_json::from_str(
        r#"[{"create": {"object": "Task", "fields": {"Subject": "Call back", "WhatId": "{!Id}"}}},
            {"update": {"record": "RelatedRecordId", "fields": {"Rating": "Hot"}}},
            {"webhook": {"url": "https://example.com/h", "secret": "hook"}},
            {"convertLead": {}}, {"callback": {}}]"#,
    )
    .unwrap();
    assert_eq!(a.iter().map(Action::kind).collect::<Vec<_>>(), ["create", "update", "webhook", "convertLead", "callback"]);
    assert!(serde_json::from_str::<Vec<Action>>(r#"[{"explode": {}}]"#).is_err());
}
