//! Codes recognised by the words that introduce them: "security code 123",
//! "CVV: 1234", "my PIN is four four one two", "social is one two three…".
//!
//! The question and the answer are often different utterances ("What's the
//! security code on the back?" / "Yeah it's one two three"), so a keyword with
//! nothing after it *arms* the next utterances of the call.

use crate::lex::{ItemKind, Lexed};
use crate::national::ssn_valid;
use std::ops::Range;

/// Words allowed between a keyword and its digits ("security code *is*
/// 123", "CVV *on the back is* 123").
const GAP_WORDS: usize = 5;
/// Words allowed before the digits in an utterance armed by an earlier one
/// ("*yeah sure hang on it's* one two three").
const ARMED_GAP_WORDS: usize = 12;
/// How many digit-free utterances an armed keyword survives.
const ARMED_UTTERANCES: u8 = 3;

/// What a keyword introduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Card security code (CVV2, CVC2, CID…): 3 or 4 digits.
    Cvv,
    /// PIN: 4 to 6 digits.
    Pin,
    /// US Social Security number: 9 digits, valid.
    Ssn,
}

impl Trigger {
    /// Whether `digits` (a prefix of a run) is such a code.
    fn accepts(self, digits: &str) -> bool {
        match self {
            Trigger::Cvv => (3..=4).contains(&digits.len()),
            Trigger::Pin => (4..=6).contains(&digits.len()),
            Trigger::Ssn => ssn_valid(digits),
        }
    }

    fn max_digits(self) -> usize {
        match self {
            Trigger::Cvv => 4,
            Trigger::Pin => 6,
            Trigger::Ssn => 9,
        }
    }
}

struct Keyword {
    words: &'static [&'static str],
    trigger: Trigger,
    /// Only when "2" follows at once: "CV2".
    needs_two: bool,
}

const fn kw(words: &'static [&'static str], trigger: Trigger) -> Keyword {
    Keyword { words, trigger, needs_two: false }
}

/// Tried in order at each word: longer phrases first where one begins another.
const KEYWORDS: &[Keyword] = &[
    kw(&["cvv"], Trigger::Cvv),
    kw(&["cvc"], Trigger::Cvv),
    kw(&["cvn"], Trigger::Cvv),
    kw(&["csc"], Trigger::Cvv),
    Keyword { words: &["cv"], trigger: Trigger::Cvv, needs_two: true },
    kw(&["security", "code"], Trigger::Cvv),
    kw(&["security", "number"], Trigger::Cvv),
    kw(&["security", "digits"], Trigger::Cvv),
    kw(&["security", "numbers"], Trigger::Cvv),
    kw(&["verification", "code"], Trigger::Cvv),
    kw(&["verification", "number"], Trigger::Cvv),
    kw(&["verification", "value"], Trigger::Cvv),
    kw(&["digit", "code"], Trigger::Cvv),
    kw(&["on", "the", "back"], Trigger::Cvv),
    kw(&["pin"], Trigger::Pin),
    kw(&["ssn"], Trigger::Ssn),
    // Before "social" alone, so that "security number" is not read as a CVV
    // keyword inside "social security number".
    kw(&["social", "security", "number"], Trigger::Ssn),
    kw(&["social", "security", "no"], Trigger::Ssn),
    kw(&["social", "security"], Trigger::Ssn),
    kw(&["social"], Trigger::Ssn),
];

/// A code found after a keyword. No `Debug`: only a range, but keep it that
/// way.
pub(crate) struct CodeHit {
    pub range: Range<usize>,
    pub trigger: Trigger,
}

/// A keyword still waiting for its digits from an earlier utterance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Armed {
    trigger: Trigger,
    utterances_left: u8,
}

enum Follow {
    /// Reached digits (a code or not): the keyword is spent.
    Digits,
    /// Too many words before any digits: the keyword is spent.
    GaveUp,
    /// The utterance ended first.
    End,
}

/// Finds keyword-led codes in `lexed`, including the answer to a keyword
/// `armed` by an earlier utterance. Returns what this utterance arms.
pub(crate) fn scan(
    lexed: &Lexed,
    armed: Option<Armed>,
    enabled: impl Fn(Trigger) -> bool,
    hits: &mut Vec<CodeHit>,
) -> Option<Armed> {
    let mut next = None;
    if let Some(a) = armed.filter(|a| enabled(a.trigger)) {
        if let Follow::End = follow(lexed, 0, a.trigger, ARMED_GAP_WORDS, hits) {
            if lexed.run_of.iter().all(Option::is_none) && a.utterances_left > 1 {
                next = Some(Armed { utterances_left: a.utterances_left - 1, ..a });
            }
        }
    }
    let mut i = 0;
    while i < lexed.items.len() {
        match match_keyword(lexed, i).filter(|(k, _)| enabled(k.trigger)) {
            Some((k, last)) => {
                if let Follow::End = follow(lexed, last + 1, k.trigger, GAP_WORDS, hits) {
                    next = Some(Armed { trigger: k.trigger, utterances_left: ARMED_UTTERANCES });
                }
                i = last + 1;
            }
            None => i += 1,
        }
    }
    next
}

/// The keyword that starts at item `i`, and the index of its last item.
fn match_keyword(lexed: &Lexed, i: usize) -> Option<(&'static Keyword, usize)> {
    if matches!(lexed.items[i].kind, ItemKind::Sep | ItemKind::Other) {
        return None;
    }
    KEYWORDS.iter().find_map(|k| {
        let mut at = i;
        for (n, word) in k.words.iter().enumerate() {
            if n > 0 {
                at += 1;
                while lexed.items.get(at).is_some_and(|it| matches!(it.kind, ItemKind::Sep)) {
                    at += 1;
                }
            }
            let item = lexed.items.get(at)?;
            if matches!(item.kind, ItemKind::Sep | ItemKind::Other) || !lexed.text_of(at).eq_ignore_ascii_case(word) {
                return None;
            }
        }
        // "CVV2", "CVC2", "CV2": the lexer splits the 2 off the word.
        let two = lexed.items.get(at + 1).is_some_and(|next| {
            next.range.start == lexed.items[at].range.end && lexed.num(at + 1).is_some_and(|n| n.digits == "2")
        });
        if k.needs_two && !two {
            return None;
        }
        let two = two && matches!(k.words, ["cv" | "cvv" | "cvc"]);
        Some((k, if two { at + 1 } else { at }))
    })
}

/// Looks for `trigger`'s digits from item `start` on, past at most
/// `max_words` words, and records them if the first run of digits begins with
/// such a code. A run introduced by "ending (in)" — the agent confirming the
/// card's last four — is stepped over.
fn follow(lexed: &Lexed, start: usize, trigger: Trigger, max_words: usize, hits: &mut Vec<CodeHit>) -> Follow {
    let mut words = 0;
    let mut after_ending = false;
    let mut j = start;
    while j < lexed.items.len() {
        match &lexed.items[j].kind {
            ItemKind::Num(_) => {
                let (r, pos) = lexed.run_of[j].expect("every number is in a run");
                let run = &lexed.runs[r];
                if after_ending {
                    after_ending = false;
                    words = 0;
                    j = run.items[run.items.len() - 1] + 1;
                    continue;
                }
                let mut digits = String::new();
                let mut code = None;
                for (k, &item) in run.items.iter().enumerate().skip(pos) {
                    digits.push_str(&lexed.num(item).expect("runs hold numbers").digits);
                    if digits.len() > trigger.max_digits() {
                        break;
                    }
                    if trigger.accepts(&digits) {
                        code = Some(k);
                    }
                }
                if let Some(k) = code {
                    let range = lexed.items[run.items[pos]].range.start..lexed.items[run.items[k]].range.end;
                    hits.push(CodeHit { range, trigger });
                }
                return Follow::Digits;
            }
            ItemKind::Word => {
                let w = lexed.text_of(j);
                if ["ending", "ends", "ended"].iter().any(|e| w.eq_ignore_ascii_case(e)) {
                    after_ending = true;
                } else if !(after_ending && ["in", "with"].iter().any(|e| w.eq_ignore_ascii_case(e))) {
                    after_ending = false;
                }
                words += 1;
                if words > max_words {
                    return Follow::GaveUp;
                }
            }
            ItemKind::Filler | ItemKind::Sep | ItemKind::Other => {}
        }
        j += 1;
    }
    Follow::End
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::lex;

    fn codes(text: &str) -> (Vec<&str>, Option<Armed>) {
        let l = lex(text);
        let mut hits = Vec::new();
        let armed = scan(&l, None, |_| true, &mut hits);
        (hits.into_iter().map(|h| &text[h.range]).collect(), armed)
    }

    #[test]
    fn keyword_then_digits() {
        assert_eq!(codes("the CVV is 123.").0, ["123"]);
        assert_eq!(codes("CVV2: 1234").0, ["1234"]);
        assert_eq!(codes("cv2 321").0, ["321"]);
        assert_eq!(codes("security code one two three").0, ["one two three"]);
        assert_eq!(codes("my PIN is 4 4 1 2").0, ["4 4 1 2"]);
        assert_eq!(codes("my social is one two three four five six seven eight nine").0.len(), 1);
    }

    #[test]
    fn wrong_lengths_and_far_digits_are_kept() {
        assert!(codes("security code 12").0.is_empty());
        assert!(codes("the security code is not something I can find at all, 123").0.is_empty());
        assert!(codes("social 000 12 3456").0.is_empty());
        assert!(codes("cv 123").0.is_empty());
    }

    #[test]
    fn last_four_confirmations_are_stepped_over() {
        assert_eq!(codes("security code for the card ending in 1111 is 987").0, ["987"]);
    }

    #[test]
    fn a_trailing_keyword_arms() {
        let (found, armed) = codes("What's the security code on the back?");
        assert!(found.is_empty());
        assert_eq!(armed.map(|a| a.trigger), Some(Trigger::Cvv));
        assert!(codes("security code 123").1.is_none());
    }
}
