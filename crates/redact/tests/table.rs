//! Table-driven tests of what is redacted and what is kept.

use dialtone_redact::{
    IdDetector, Kind, MaskStyle, NationalId, PATTERN_SIZE_LIMIT, Pattern, Policy, PolicyError, Redacted, Redactor,
    luhn_valid, redact,
};
use std::ops::Range;

/// Redacts `input` with the default policy, checking that every removal
/// range lies on character boundaries of the input, in order, apart.
fn run(policy: &Policy, input: &str) -> Redacted {
    let out = redact(policy, input);
    let mut at = 0;
    for r in &out.removed {
        assert!(r.range.start >= at && r.range.start < r.range.end && r.range.end <= input.len(), "{input:?}: {r:?}");
        assert!(input.is_char_boundary(r.range.start) && input.is_char_boundary(r.range.end));
        at = r.range.end;
    }
    out
}

/// `(input, expected stored text)` with the default policy.
fn check(cases: &[(&str, &str)]) {
    let policy = Policy::default();
    let mut failures = Vec::new();
    for &(input, want) in cases {
        let got = run(&policy, input).text;
        if got != want {
            failures.push(format!("\n  {input:?}\n    want {want:?}\n    got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:{}", failures.len(), cases.len(), failures.concat());
}

#[test]
fn card_numbers_in_figures() {
    let cards = [
        ("visa", "4111111111111111"),
        ("visa", "4012888888881881"),
        ("visa 13", "4222222222222"),
        ("visa", "4242424242424242"),
        ("mastercard", "5555555555554444"),
        ("mastercard", "5105105105105100"),
        ("mastercard 2-series", "2223003122003222"),
        ("amex", "378282246310005"),
        ("amex", "371449635398431"),
        ("discover", "6011111111111117"),
        ("discover", "6011000990139424"),
        ("diners 14", "30569309025904"),
        ("jcb", "3530111333300000"),
        ("maestro", "6759649826438453"),
        ("19 digits", "6011000000000000001"),
    ];
    for (scheme, pan) in cards {
        assert!(luhn_valid(pan), "{scheme} {pan}");
        let last4 = &pan[pan.len() - 4..];
        let grouped = |sep: &str| {
            let groups: Vec<&str> = if pan.len() == 15 {
                vec![&pan[..4], &pan[4..10], &pan[10..]]
            } else {
                pan.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect()
            };
            groups.join(sep)
        };
        for written in [pan.to_owned(), grouped(" "), grouped("-"), grouped("."), grouped(" - "), grouped(", ")] {
            let input = format!("my card is {written}, thanks");
            let out = run(&Policy::default(), &input);
            assert_eq!(out.text, format!("my card is [card ••••{last4}], thanks"), "{scheme}: {input}");
            assert_eq!(out.removed.len(), 1);
            assert_eq!(out.removed[0].kind, Kind::Card);
            assert_eq!(&input[out.removed[0].range.clone()], written, "{scheme}");
        }
    }
}

#[test]
fn card_numbers_as_speech_to_text_writes_them() {
    check(&[
        ("four one one one one one one one one one one one one one one one", "[card ••••1111]"),
        ("Four one one one, one one one one, one one one one, one one one one.", "[card ••••1111]."),
        ("four-one-one-one one-one-one-one one-one-one-one one-one-one-one", "[card ••••1111]"),
        ("forty-one eleven eleven eleven eleven eleven eleven eleven", "[card ••••1111]"),
        (
            "five five five five, double five double five, five five five five, double four double four",
            "[card ••••4444]",
        ),
        ("three seven eight two, eight two two four six three, one oh oh oh five", "[card ••••0005]"),
        ("six oh one one, triple one one, one one one one, one one one seven", "[card ••••1117]"),
        ("six zero one one one one one one one one one one one one one seven", "[card ••••1117]"),
        ("4111 one one one one 1111 um 1111", "[card ••••1111]"),
        ("it's 4111 1111, um, 1111 1111 yes", "it's [card ••••1111] yes"),
        ("4111 1111 11 11 1111", "[card ••••1111]"),
        ("5555 5555 5555 double four double four", "[card ••••4444]"),
        ("the number is 4111111111111111 expiring 12/27", "the number is [card ••••1111] expiring 12/27"),
        ("card4111111111111111", "card[card ••••1111]"),
        ("two cards: 4111 1111 1111 1111 and 5555 5555 5555 4444", "two cards: [card ••••1111] and [card ••••4444]"),
        ("oh 4111 1111 1111 1111", "[card ••••1111]"),
        ("４１１１ but 4111 1111 1111 1111 ok", "４１１１ but [card ••••1111] ok"),
    ]);
}

#[test]
fn numbers_that_are_not_cards_are_kept() {
    for kept in ["1234567890123456", "1234567812345678", "4111111111111112", "9876543210987654", "1234567890123"] {
        assert!(!luhn_valid(kept), "{kept} must fail Luhn for this test");
    }
    let cases: Vec<(&str, &str)> = [
        "order number 1234567890123456 shipped",
        "order 1234 5678 1234 5678",
        "reference 4111-1111-1111-1112",
        "9876 5432 1098 7654",
        "1234567890123",
        // phone numbers: 10 to 12 digits
        "call me on (415) 555-1212",
        "my number is 415 555 1212",
        "+1 415 555 1212",
        "1-800-555-0199",
        "020 7946 0018",
        "+44 20 7946 0018",
        "07700 900123",
        "four one five five five five one two one two",
        "415-555-1212 415-555-1313",
        "415.555.1212 or 415.555.1313",
        // longer numbers are one group and never yield a card from their middle
        "tracking 94001111111111111111111",
        "41111111111111111",
        // dates, amounts, times, versions
        "on 12/25/2024 at 10:30 I paid $1,234.56",
        "version 1.2.3.4",
        "I have twenty one items and three boxes",
        "oh no, double trouble",
    ]
    .iter()
    .map(|s| (*s, *s))
    .collect();
    check(&cases);
}

#[test]
fn security_codes_after_their_keywords() {
    check(&[
        ("security code 123", "security code [cvv]"),
        ("CVV 1234", "CVV [cvv]"),
        ("the cvv is 123.", "the cvv is [cvv]."),
        ("CVC2: 321", "CVC2: [cvv]"),
        ("CV2 321", "CV2 [cvv]"),
        ("cvv is one two three", "cvv is [cvv]"),
        ("the three digit code on the back is 456", "the three digit code on the back is [cvv]"),
        (
            "the security code for the card ending in 1111 is 987",
            "the security code for the card ending in 1111 is [cvv]",
        ),
        ("4111 1111 1111 1111, security code 123", "[card ••••1111], security code [cvv]"),
        ("my PIN is 4 4 1 2", "my PIN is [pin]"),
        ("pin number double four one two", "pin number [pin]"),
        // kept
        ("security code 12", "security code 12"),
        ("security code 12345", "security code 12345"),
        (
            "the security code is something I cannot find at all, 123",
            "the security code is something I cannot find at all, 123",
        ),
        ("room 123", "room 123"),
        ("cv 123", "cv 123"),
        ("my pin is 12", "my pin is 12"),
    ]);
}

#[test]
fn a_security_code_question_arms_the_next_utterances() {
    let mut call = Redactor::new(Policy::default());
    assert_eq!(
        call.utterance("And what's the security code on the back?").text,
        "And what's the security code on the back?"
    );
    assert_eq!(call.utterance("hang on").text, "hang on");
    assert_eq!(call.utterance("yeah sure it's seven three seven").text, "yeah sure it's [cvv]");
    // spent: later digits are kept
    assert_eq!(call.utterance("and it's 123 Main Street").text, "and it's 123 Main Street");

    // an answer with other digits first spends it without redacting
    call.utterance("what's the CVV?");
    assert_eq!(call.utterance("the one that's 12 months old").text, "the one that's 12 months old");
    assert_eq!(call.utterance("123").text, "123");

    // pausing disarms
    call.utterance("security code?");
    call.pause();
    call.resume();
    assert_eq!(call.utterance("123").text, "123");
}

#[test]
fn us_social_security_numbers() {
    check(&[
        ("123-45-6789", "[ssn]"),
        ("my SSN is 123 45 6789.", "my SSN is [ssn]."),
        ("my social is 123456789", "my social is [ssn]"),
        ("social security number one two three four five six seven eight nine", "social security number [ssn]"),
        ("my social security is 123 456 789", "my social security is [ssn]"),
        ("SSN: 078-05-1120", "SSN: [ssn]"),
        ("899-99-9999", "[ssn]"),
        // never issued: area 000, 666, 9xx; group 00; serial 0000
        ("000-12-3456", "000-12-3456"),
        ("666-12-3456", "666-12-3456"),
        ("900-12-3456", "900-12-3456"),
        ("123-00-4567", "123-00-4567"),
        ("123-45-0000", "123-45-0000"),
        ("my social is 666123456", "my social is 666123456"),
        // not written as one
        ("123-45 6789", "123-45 6789"),
        ("123456789", "123456789"),
        ("call 555 123 45 6789", "call 555 123 45 6789"),
        ("part 123-45-6789-01", "part 123-45-6789-01"),
    ]);
}

#[test]
fn uk_national_insurance_numbers() {
    check(&[
        ("AB 12 34 56 C", "[ni number]"),
        ("my NI number is AB123456C thanks", "my NI number is [ni number] thanks"),
        ("ab 123456 c", "[ni number]"),
        ("JG103759A", "[ni number]"),
        ("it's AB 12 34 56", "it's [ni number]"),
        ("ZY 98 76 54 D", "[ni number]"),
        // prefix rules
        ("DA 12 34 56 C", "DA 12 34 56 C"),
        ("AD 12 34 56 C", "AD 12 34 56 C"),
        ("AO 12 34 56 C", "AO 12 34 56 C"),
        ("QQ 12 34 56 C", "QQ 12 34 56 C"),
        ("GB 12 34 56 C", "GB 12 34 56 C"),
        ("ZZ123456C", "ZZ123456C"),
        ("TN 12 34 56 A", "TN 12 34 56 A"),
        // suffix rules
        ("AB 12 34 56 E", "AB 12 34 56 E"),
        ("look at 123456", "look at 123456"),
        ("AB1234567C", "AB1234567C"),
    ]);
}

/// A Canadian SIN detector, to show the extension point: nine digits as
/// 3-3-3 that pass Luhn.
struct CanadianSin;

impl IdDetector for CanadianSin {
    fn label(&self) -> &str {
        "sin"
    }

    fn find(&self, text: &str, found: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        for start in 0..b.len().saturating_sub(10) {
            let window = &text.as_bytes()[start..start + 11];
            let shape =
                window.iter().enumerate().all(|(i, c)| if i == 3 || i == 7 { *c == b' ' } else { c.is_ascii_digit() });
            let digits: String = window.iter().filter(|c| c.is_ascii_digit()).map(|&c| char::from(c)).collect();
            if shape && luhn_valid(&digits) {
                found.push(start..start + 11);
            }
        }
    }
}

/// A careless detector that reports ranges in the middle of characters and
/// past the end.
struct Sloppy;

impl IdDetector for Sloppy {
    fn label(&self) -> &str {
        "sloppy"
    }

    fn find(&self, text: &str, found: &mut Vec<Range<usize>>) {
        if let Some(at) = text.find('€') {
            found.push(at + 1..at + 2);
        }
        found.push(text.len() + 5..text.len() + 9);
    }
}

#[test]
fn custom_national_ids_plug_in() {
    let policy = Policy::default().with_national_id(NationalId::custom(CanadianSin));
    let out = run(&policy, "my SIN is 046 454 286 ok");
    assert_eq!(out.text, "my SIN is [sin] ok");
    assert_eq!(out.removed[0].kind, Kind::NationalId("sin".into()));
    assert_eq!(run(&policy, "my SIN is 046 454 287 ok").text, "my SIN is 046 454 287 ok");

    let policy = Policy::none().with_national_id(NationalId::custom(Sloppy));
    assert_eq!(run(&policy, "a€b").text, "a[sloppy]b");
}

#[test]
fn admin_patterns() {
    let policy = Policy::default()
        .with_pattern("member", r"\bMBR-[0-9]{6}\b", "member id")
        .unwrap()
        .with_pattern("password", r"(?i)\bpassword is \S+", "password")
        .unwrap();
    let out = run(&policy, "member MBR-123456, and my Password is hunter2!");
    assert_eq!(out.text, "member [member id], and my [password]");
    assert_eq!(
        out.removed.iter().map(|r| r.kind.clone()).collect::<Vec<_>>(),
        [Kind::Pattern("member".into()), Kind::Pattern("password".into())]
    );
    assert_eq!(run(&policy, "MBR-12345 is short").text, "MBR-12345 is short");

    // a pattern that can match nothing at all never inserts masks
    let policy = Policy::none().with_pattern("digits", r"[0-9]*", "n").unwrap();
    assert_eq!(run(&policy, "a 12 b").text, "a [n] b");

    // overlapping a card: one removal, the card's
    let policy = Policy::default().with_pattern("acct", r"acct \S+", "account").unwrap();
    let out = run(&policy, "acct 4111111111111111 now");
    assert_eq!(out.text, "[card ••••1111] now");
    assert_eq!(out.removed.len(), 1);
    assert_eq!(out.removed[0].kind, Kind::Card);
    assert_eq!(out.removed[0].range, 0..21);
}

#[test]
fn bad_patterns_are_refused_by_name() {
    let refused = [
        ("unclosed", "(abc", "x"),
        ("backwards", "[z-a]", "x"),
        ("backref", r"(a)\1", "x"),
        ("lookahead", r"a(?=b)", "x"),
        ("huge", r"\w{1000}{1000}", "x"),
        ("", "a", "x"),
        ("nolabel", "a", " "),
    ];
    for (name, regex, label) in refused {
        let err = Policy::default().with_pattern(name, regex, label).unwrap_err();
        match &err {
            PolicyError::InvalidPattern { name: n, .. } | PolicyError::EmptyLabel { name: n } => assert_eq!(n, name),
            PolicyError::PatternTooLarge { name: n, limit } => {
                assert_eq!(n, name);
                assert_eq!(*limit, PATTERN_SIZE_LIMIT);
            }
            PolicyError::EmptyName => assert_eq!(name, ""),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(name), "{err}");
    }
    assert!(matches!(
        Policy::default().with_pattern("huge", r"\w{1000}{1000}", "x"),
        Err(PolicyError::PatternTooLarge { .. })
    ));
    let dup = Policy::default().with_pattern("a", "a", "x").unwrap().with_pattern("a", "b", "y");
    assert_eq!(dup.unwrap_err(), PolicyError::DuplicatePattern { name: "a".into() });
    let p = Pattern::new("ok", "x+", "ex").unwrap();
    assert_eq!((p.name(), p.as_str(), p.label()), ("ok", "x+", "ex"));
}

#[test]
fn mask_styles() {
    let input = "4111 1111 1111 1111 and 123-45-6789";
    let with = |m: MaskStyle| run(&Policy::default().with_mask(m), input).text;
    assert_eq!(with(MaskStyle::LastFour), "[card ••••1111] and [ssn]");
    assert_eq!(with(MaskStyle::LabelOnly), "[card] and [ssn]");
    assert_eq!(with(MaskStyle::Template("***{last4}".into())), "***1111 and ***");
    assert_eq!(with(MaskStyle::Template("<{label}>".into())), "<card> and <ssn>");
}

#[test]
fn policies_turn_detectors_off() {
    let input = "4111111111111111 cvv 123 123-45-6789 AB123456C";
    assert_eq!(run(&Policy::none(), input).text, input);
    assert_eq!(run(&Policy::default().with_cards(false), input).text, "4111111111111111 cvv [cvv] [ssn] [ni number]");
    assert_eq!(
        run(&Policy::default().with_security_codes(false), input).text,
        "[card ••••1111] cvv 123 [ssn] [ni number]"
    );
    assert_eq!(
        run(&Policy::default().with_national_ids([NationalId::UkNino]), input).text,
        "[card ••••1111] cvv [cvv] 123-45-6789 [ni number]"
    );
    assert_eq!(run(&Policy::default().with_national_ids([]), "my social is 123456789").text, "my social is 123456789");
}

#[test]
fn removals_say_what_and_where_but_not_the_value() {
    let input = "visa 4111 1111 1111 1111 cvv 737, ssn 123-45-6789";
    let out = run(&Policy::default(), input);
    let seen: Vec<(Kind, &str)> = out.removed.iter().map(|r| (r.kind.clone(), &input[r.range.clone()])).collect();
    assert_eq!(seen, [(Kind::Card, "4111 1111 1111 1111"), (Kind::Cvv, "737"), (Kind::Ssn, "123-45-6789")]);
    assert_eq!(out.count(&Kind::Card), 1);
    assert!(!out.is_clean());
    assert!(run(&Policy::default(), "hello").is_clean());
}

#[test]
fn pause_and_resume_by_event() {
    let mut call = Redactor::new(Policy::default());
    assert!(!call.is_paused());
    assert_eq!(call.utterance("can I take the card number?").text, "can I take the card number?");
    call.pause();
    assert!(call.is_paused());
    for said in ["4111 1111 1111 1111", "expiry twelve twenty seven", "", "anything at all"] {
        let out = call.utterance(said);
        assert_eq!(out.text, "[recording paused]");
        assert_eq!(out.removed, [dialtone_redact::Removal { kind: Kind::Paused, range: 0..said.len() }]);
    }
    call.pause(); // twice is harmless
    call.resume();
    assert!(!call.is_paused());
    assert_eq!(call.utterance("thanks, that's gone through").text, "thanks, that's gone through");
    call.resume(); // resume without pause is harmless
    assert_eq!(call.utterance("anything else?").text, "anything else?");
}

#[test]
fn pause_and_resume_by_phrase() {
    let mut call = Redactor::new(Policy::default());
    let script = [
        ("hello", "hello", false),
        ("[[resume]] stray resume", "[[resume]] stray resume", false),
        ("taking payment now [[PAUSE]]", "[recording paused]", true),
        ("4111 1111 1111 1111", "[recording paused]", true),
        ("[[pause]] again", "[recording paused]", true),
        ("[[Resume]] back", "[recording paused]", false),
        ("all done", "all done", false),
        ("[[pause]] x [[resume]]", "[recording paused]", false),
        ("still recording", "still recording", false),
        ("[[resume]] y [[pause]]", "[recording paused]", true),
        ("the call ends here", "[recording paused]", true),
    ];
    for (said, stored, paused_after) in script {
        assert_eq!(call.utterance(said).text, stored, "{said:?}");
        assert_eq!(call.is_paused(), paused_after, "{said:?}");
    }
    // the call ended paused; the next call starts recording
    let mut next = Redactor::new(call.policy().clone());
    assert_eq!(next.utterance("hello again").text, "hello again");
}

#[test]
fn custom_trigger_phrases_and_paused_text() {
    let policy = Policy::default()
        .with_pause_phrases(["Pausing the recording", "  "])
        .with_resume_phrases(["recording resumed"])
        .with_paused_text("(paused)");
    assert_eq!(policy.pause_phrases(), ["pausing the recording"]);
    let mut call = Redactor::new(policy);
    assert_eq!(call.utterance("OK, pausing the recording now.").text, "(paused)");
    assert_eq!(call.utterance("[[resume]] is not a phrase here").text, "(paused)");
    assert_eq!(call.utterance("Recording resumed.").text, "(paused)");
    assert_eq!(call.utterance("thank you").text, "thank you");
}

#[test]
fn debug_output_never_shows_the_secrets() {
    let input = "card 4111 1111 1111 1111 cvv 737 ssn 123-45-6789 ni AB123456C";
    let policy = Policy::default().with_pattern("member", r"MBR-[0-9]+", "member").unwrap();
    let mut call = Redactor::new(policy.clone());
    call.utterance("what's the security code?");
    let out = call.utterance(input);
    let paused = {
        let mut c = call.clone();
        c.pause();
        c.utterance(input)
    };
    let shown = [
        format!("{out:?}"),
        format!("{:?}", out.removed),
        format!("{paused:?}"),
        format!("{call:?}"),
        format!("{policy:?}"),
        format!("{:#?}", call),
        format!("{:?}", Policy::default().with_pattern("x", "(", "y")),
    ];
    for s in &shown {
        for secret in ["4111 1111", "41111111", "1111 1111", "737", "123-45", "6789", "AB123456C", "123456"] {
            assert!(!s.contains(secret), "{secret:?} in {s}");
        }
    }
    // the stored text is clean, and the output names kinds and ranges only
    assert_eq!(out.text, "card [card ••••1111] cvv [cvv] ssn [ssn] ni [ni number]");
}

#[test]
fn large_adversarial_utterances_finish() {
    let policy = Policy::default().with_pattern("p", r"(?i)(a|b)*c", "p").unwrap();
    let inputs = [
        "4 ".repeat(50_000),
        "four ".repeat(40_000),
        "1".repeat(200_000),
        "cvv um ".repeat(20_000) + &"(".repeat(100_000),
        "double ".repeat(40_000),
        "123-45-".repeat(30_000),
        "AB 12 ".repeat(30_000),
        "ab".repeat(100_000),
    ];
    for input in &inputs {
        let started = std::time::Instant::now();
        let out = run(&policy, input);
        assert!(out.text.len() <= input.len() * 4 + 64);
        eprintln!("{} bytes: {:?}", input.len(), started.elapsed());
    }
}
