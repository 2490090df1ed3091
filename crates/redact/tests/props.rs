//! Properties: card numbers never survive, ordinary numbers do, pause state
//! follows its model, and nothing panics on any input.

use dialtone_redact::{Kind, Policy, Redactor, luhn_valid, redact};
use proptest::prelude::*;

/// Luhn as the textbook writes it, independent of the crate's.
fn reference_luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 { (d * 2) / 10 + (d * 2) % 10 } else { d }
        })
        .sum();
    sum % 10 == 0
}

/// 16 digits that pass Luhn: 15 random ones and the check digit.
fn luhn_valid_pan() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..10, 15).prop_map(|mut d| {
        let check = (0..10).find(|c| reference_luhn(&[&d[..], &[*c]].concat())).expect("one check digit fits");
        d.push(check);
        d
    })
}

const WORDS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

/// The ways a card number is written in a transcript.
fn written(digits: &[u8], form: usize) -> String {
    let figures: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let groups =
        |sep: &str| figures.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(sep);
    let spelled = |sep: &str| digits.iter().map(|&d| WORDS[usize::from(d)]).collect::<Vec<_>>().join(sep);
    match form {
        0 => figures,
        1 => groups(" "),
        2 => groups("-"),
        3 => groups("."),
        4 => groups(", "),
        5 => spelled(" "),
        6 => spelled(", "),
        7 => digits
            .chunks(4)
            .map(|c| c.iter().map(|&d| WORDS[usize::from(d)]).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(", um, "),
        _ => digits.iter().map(|&d| if d == 0 { "oh".to_owned() } else { d.to_string() }).collect::<Vec<_>>().join(" "),
    }
}

/// Text around the card: arbitrary Unicode without ASCII digits, or
/// transcript-like words (including digit words, fillers and keywords), and
/// never ending in a way that fuses with the card ("double", "forty").
fn context() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^0-9]{0,30}",
        prop::collection::vec(
            prop::sample::select(vec![
                "the", "card", "is", "my", "number", "please", "thanks", "um", "oh", "one", "seven", "and", "security",
                "code", "ending", "in", ",", ".", "-", "é", "日本", "🙂",
            ]),
            0..12
        )
        .prop_map(|w| w.join(" ")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn luhn_agrees_with_the_textbook(digits in prop::collection::vec(0u8..10, 1..25)) {
        let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        prop_assert_eq!(luhn_valid(&s), reference_luhn(&digits));
    }

    #[test]
    fn luhn_valid_card_numbers_never_survive(
        pan in luhn_valid_pan(),
        form in 0usize..9,
        before in context(),
        after in context(),
        boundary in prop::sample::select(vec![" ", ": ", " \u{a0}", "\n", " | "]),
    ) {
        let card = written(&pan, form);
        let text = format!("{before}{boundary}{card}{boundary}{after}");
        let out = redact(&Policy::default(), &text);
        let figures: String = pan.iter().map(|d| char::from(b'0' + d)).collect();
        prop_assert!(!out.text.contains(&card), "{:?} -> {:?}", text, out.text);
        let left: String = out.text.chars().filter(char::is_ascii_digit).collect();
        prop_assert!(!left.contains(&figures), "{:?} -> {:?}", text, out.text);
        prop_assert!(out.removed.iter().any(|r| r.kind == Kind::Card));
    }

    #[test]
    fn sixteen_digit_numbers_failing_luhn_are_kept(
        digits in prop::collection::vec(0u8..10, 16).prop_filter("fails Luhn", |d| !reference_luhn(d)),
        form in 0usize..3,
    ) {
        let number = written(&digits, form);
        let text = format!("order {number} shipped");
        prop_assert_eq!(redact(&Policy::default(), &text).text, text);
    }

    #[test]
    fn phone_numbers_are_never_cards(digits in prop::collection::vec(0u8..10, 10..=12), form in 0usize..4) {
        let number = written(&digits, form);
        let out = redact(&Policy::default().with_national_ids([]), &format!("call {number} today"));
        prop_assert!(out.removed.iter().all(|r| r.kind != Kind::Card), "{:?}", out.text);
    }

    #[test]
    fn never_panics_and_ranges_are_sound(text in any::<String>()) {
        check_sound(&text);
    }

    #[test]
    fn never_panics_on_transcript_like_text(
        parts in prop::collection::vec(
            prop_oneof![
                "[0-9]{1,5}",
                prop::sample::select(vec![
                    " ", "  ", "-", ".", ",", " - ", "\u{2013}", "/", "+", "(", ")", "é", "€", "\u{0301}", "\u{a0}",
                    "oh", "o", "zero", "one", "four", "forty", "eleven", "double", "triple", "um", "er", "cvv", "CVV2",
                    "cv", "security", "code", "pin", "social", "ssn", "ending", "in", "AB", "C", "[[pause]]",
                    "[[resume]]", "on", "the", "back", "is",
                ]).prop_map(str::to_owned),
            ],
            0..60,
        ),
    ) {
        let text = parts.concat();
        check_sound(&text);
        let spaced = parts.join(" ");
        check_sound(&spaced);
    }

    #[test]
    fn pause_state_follows_its_model(ops in prop::collection::vec(
        prop_oneof![
            Just(Op::Pause),
            Just(Op::Resume),
            prop::sample::select(vec![
                "hello", "4111 1111 1111 1111", "[[pause]]", "[[RESUME]]", "a [[pause]] b [[resume]] c",
                "[[resume]][[pause]]", "cvv", "123", "",
            ]).prop_map(Op::Say),
        ],
        0..40,
    )) {
        let mut call = Redactor::new(Policy::default());
        let mut paused = false;
        for op in ops {
            match op {
                Op::Pause => { call.pause(); paused = true; }
                Op::Resume => { call.resume(); paused = false; }
                Op::Say(text) => {
                    let lower = text.to_lowercase();
                    let (p, r) = (lower.rfind("[[pause]]"), lower.rfind("[[resume]]"));
                    let during = paused || p.is_some();
                    paused = match (p, r) {
                        (None, None) => paused,
                        (Some(_), None) => true,
                        (None, Some(_)) => false,
                        (Some(p), Some(r)) => p > r,
                    };
                    let out = call.utterance(text);
                    prop_assert_eq!(out.text == "[recording paused]", during, "{:?}", text);
                    prop_assert!(!out.text.contains("4111"));
                }
            }
            prop_assert_eq!(call.is_paused(), paused);
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Pause,
    Resume,
    Say(&'static str),
}

/// Redacts `text` with a policy that has everything on, and checks the
/// removals: in order, apart, within the text, on character boundaries, and
/// the stored text is what they say it is.
fn check_sound(text: &str) {
    let policy = Policy::default().with_pattern("any", r"(?i)ab+", "p").unwrap();
    let mut call = Redactor::new(policy.clone());
    for out in [redact(&policy, text), call.utterance(text), call.utterance(text)] {
        let mut at = 0;
        let mut rebuilt_tail = text.len();
        for r in &out.removed {
            assert!(r.range.start >= at && r.range.start <= r.range.end && r.range.end <= text.len(), "{text:?}");
            assert!(text.is_char_boundary(r.range.start) && text.is_char_boundary(r.range.end), "{text:?}");
            at = r.range.end;
            rebuilt_tail = text.len() - r.range.end;
        }
        // The text after the last removal is kept verbatim.
        if out.removed.iter().all(|r| r.kind != Kind::Paused) {
            assert!(out.text.ends_with(&text[text.len() - rebuilt_tail..]), "{text:?}");
        }
    }
}
