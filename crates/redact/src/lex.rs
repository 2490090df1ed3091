//! Splits an utterance into digit groups, words and separators, reading
//! spelled-out digits the way speech-to-text writes them ("four one one one",
//! "double oh", "forty-one", "eleven") as digits, and chains digit groups that
//! only separators lie between into *runs*, the candidates for card numbers and
//! codes.
//!
//! Nothing here derives `Debug`: these types hold digits from the original
//! text.

use std::ops::Range;

/// The most bytes of separators (and filler words) that may lie between two
/// digit groups of one run: enough for `" - "` or `", um, "`, not for a clause.
const MAX_BRIDGE_BYTES: usize = 12;

/// Digit words: one digit each.
const UNITS: &[(&str, u8)] = &[
    ("zero", 0),
    ("oh", 0),
    ("o", 0),
    ("nought", 0),
    ("naught", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
];

/// Ten to nineteen: two digits each.
const TEENS: &[(&str, u8)] = &[
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
];

/// Tens, with their first digit: "forty" is `40`, "forty one" and "forty-one"
/// are `41`.
const TENS: &[(&str, u8)] = &[
    ("twenty", 2),
    ("thirty", 3),
    ("forty", 4),
    ("fourty", 4),
    ("fifty", 5),
    ("sixty", 6),
    ("seventy", 7),
    ("eighty", 8),
    ("ninety", 9),
];

/// "double four" is `44`, "triple oh" is `000`.
const REPEATS: &[(&str, u8)] = &[("double", 2), ("triple", 3), ("treble", 3)];

/// Hesitations that speech-to-text keeps and that may sit inside a number
/// being read out ("four one one one, um, one one…").
const FILLERS: &[&str] = &["um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm"];

fn lookup(table: &[(&str, u8)], word: &str) -> Option<u8> {
    table.iter().find(|(name, _)| word.eq_ignore_ascii_case(name)).map(|&(_, v)| v)
}

pub(crate) fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

fn is_sep(c: char) -> bool {
    c.is_whitespace() || c == '.' || c == ',' || is_dash(c)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RawClass {
    Digits,
    Alpha,
    Sep,
    Other,
}

fn raw_class(c: char) -> RawClass {
    if c.is_ascii_digit() {
        RawClass::Digits
    } else if is_sep(c) {
        RawClass::Sep
    } else if c.is_alphabetic() {
        RawClass::Alpha
    } else {
        RawClass::Other
    }
}

/// How the separators between two digit groups look. Groups written in
/// figures must be separated the same way throughout one card number
/// ("4111-1111-1111-1111"), so that two phone numbers written
/// "415-555-1212 415-555-1313" do not read as one long number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SepClass {
    /// Whitespace, commas, filler words, or nothing.
    Soft,
    /// Contains a hyphen or dash.
    Dash,
    /// Contains a full stop.
    Dot,
    /// Contains both: never part of a card number written in figures.
    Mixed,
}

impl SepClass {
    fn of(sep: &str) -> SepClass {
        match (sep.chars().any(is_dash), sep.contains('.')) {
            (false, false) => SepClass::Soft,
            (true, false) => SepClass::Dash,
            (false, true) => SepClass::Dot,
            (true, true) => SepClass::Mixed,
        }
    }

    fn join(self, other: SepClass) -> SepClass {
        match (self, other) {
            (SepClass::Soft, x) | (x, SepClass::Soft) => x,
            (a, b) if a == b => a,
            _ => SepClass::Mixed,
        }
    }
}

/// A group of digits: figures ("4111") or words ("four", "double one").
pub(crate) struct Num {
    /// ASCII digits.
    pub digits: String,
    /// Written in figures rather than words.
    pub figures: bool,
}

pub(crate) enum ItemKind {
    Num(Num),
    Word,
    Filler,
    Sep,
    Other,
}

pub(crate) struct Item {
    pub range: Range<usize>,
    pub kind: ItemKind,
}

/// Digit groups with only separators and fillers between them.
pub(crate) struct Run {
    /// Indices into [`Lexed::items`], all of them [`ItemKind::Num`].
    pub items: Vec<usize>,
    /// `bridges[k]` separates `items[k]` from `items[k + 1]`.
    pub bridges: Vec<SepClass>,
}

pub(crate) struct Lexed<'t> {
    pub text: &'t str,
    pub items: Vec<Item>,
    pub runs: Vec<Run>,
    /// For each item that is a number: its run and its position in that run.
    pub run_of: Vec<Option<(usize, usize)>>,
}

impl Lexed<'_> {
    /// The original text of item `i`.
    pub fn text_of(&self, i: usize) -> &str {
        &self.text[self.items[i].range.clone()]
    }

    /// The digits of item `i`, when it is a number.
    pub fn num(&self, i: usize) -> Option<&Num> {
        match &self.items[i].kind {
            ItemKind::Num(n) => Some(n),
            _ => None,
        }
    }
}

pub(crate) fn lex(text: &str) -> Lexed<'_> {
    let raw = raw_items(text);
    let items = read_words(text, &raw);
    let runs = chain_runs(text, &items);
    let mut run_of = vec![None; items.len()];
    for (r, run) in runs.iter().enumerate() {
        for (pos, &i) in run.items.iter().enumerate() {
            run_of[i] = Some((r, pos));
        }
    }
    Lexed { text, items, runs, run_of }
}

/// Maximal stretches of one class; `Other` characters stand alone.
fn raw_items(text: &str) -> Vec<(RawClass, Range<usize>)> {
    let mut raw = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let class = raw_class(c);
        let mut end = start + c.len_utf8();
        if class != RawClass::Other {
            while let Some(&(i, d)) = chars.peek() {
                if raw_class(d) != class {
                    break;
                }
                end = i + d.len_utf8();
                chars.next();
            }
        }
        raw.push((class, start..end));
    }
    raw
}

/// Turns digit words into numbers, joining "forty one" and "double four".
fn read_words(text: &str, raw: &[(RawClass, Range<usize>)]) -> Vec<Item> {
    let word = |i: usize| &text[raw[i].1.clone()];
    let class = |i: usize| raw.get(i).map(|r| r.0);
    let mut items = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let start = raw[i].1.start;
        let mut last = i;
        let kind = match raw[i].0 {
            RawClass::Digits => ItemKind::Num(Num { digits: word(i).to_owned(), figures: true }),
            RawClass::Sep => ItemKind::Sep,
            RawClass::Other => ItemKind::Other,
            RawClass::Alpha => {
                let w = word(i);
                let spelled = |digits: String| ItemKind::Num(Num { digits, figures: false });
                if let Some(d) = lookup(UNITS, w) {
                    spelled(d.to_string())
                } else if let Some(n) = lookup(TEENS, w) {
                    spelled(n.to_string())
                } else if let Some(t) = lookup(TENS, w) {
                    // "forty one" / "forty-one": a single space or dash, then 1–9.
                    let unit = (class(i + 1) == Some(RawClass::Sep)
                        && (word(i + 1) == " "
                            || (word(i + 1).chars().count() == 1 && word(i + 1).chars().all(is_dash)))
                        && class(i + 2) == Some(RawClass::Alpha))
                    .then(|| lookup(UNITS, word(i + 2)))
                    .flatten()
                    .filter(|&u| u > 0);
                    match unit {
                        Some(u) => {
                            last = i + 2;
                            spelled(format!("{t}{u}"))
                        }
                        None => spelled(format!("{t}0")),
                    }
                } else if let Some(times) = lookup(REPEATS, w) {
                    // "double four", "triple 0": whitespace, then one digit.
                    let digit = (class(i + 1) == Some(RawClass::Sep) && word(i + 1).trim().is_empty())
                        .then(|| match class(i + 2) {
                            Some(RawClass::Alpha) => lookup(UNITS, word(i + 2)).map(|d| char::from(b'0' + d)),
                            Some(RawClass::Digits) if word(i + 2).len() == 1 => word(i + 2).chars().next(),
                            _ => None,
                        })
                        .flatten();
                    match digit {
                        Some(d) => {
                            last = i + 2;
                            spelled(std::iter::repeat_n(d, usize::from(times)).collect())
                        }
                        None => ItemKind::Word,
                    }
                } else if FILLERS.iter().any(|f| w.eq_ignore_ascii_case(f)) {
                    ItemKind::Filler
                } else {
                    ItemKind::Word
                }
            }
        };
        items.push(Item { range: start..raw[last].1.end, kind });
        i = last + 1;
    }
    items
}

fn chain_runs(text: &str, items: &[Item]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut current: Option<Run> = None;
    // Since the last number: only separators and fillers (`open`), their
    // class, and where that number ended.
    let mut open = false;
    let mut bridge = SepClass::Soft;
    let mut last_end = 0;
    for (i, item) in items.iter().enumerate() {
        match item.kind {
            ItemKind::Num(_) => {
                let joins = open && item.range.start - last_end <= MAX_BRIDGE_BYTES;
                match current.as_mut() {
                    Some(run) if joins => {
                        run.items.push(i);
                        run.bridges.push(bridge);
                    }
                    _ => {
                        runs.extend(current.take());
                        current = Some(Run { items: vec![i], bridges: Vec::new() });
                    }
                }
                open = true;
                bridge = SepClass::Soft;
                last_end = item.range.end;
            }
            ItemKind::Sep => bridge = bridge.join(SepClass::of(&text[item.range.clone()])),
            ItemKind::Filler => {}
            ItemKind::Word | ItemKind::Other => open = false,
        }
    }
    runs.extend(current);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digits of each run, groups joined by `|`.
    fn runs(text: &str) -> Vec<String> {
        let l = lex(text);
        l.runs
            .iter()
            .map(|r| r.items.iter().map(|&i| l.num(i).unwrap().digits.as_str()).collect::<Vec<_>>().join("|"))
            .collect()
    }

    #[test]
    fn figures_and_words() {
        assert_eq!(runs("4111 1111-1111.1111"), ["4111|1111|1111|1111"]);
        assert_eq!(runs("four one one one"), ["4|1|1|1"]);
        assert_eq!(runs("Forty-one eleven, double oh, triple 7"), ["41|11|00|777"]);
        assert_eq!(runs("twenty, one"), ["20|1"]);
        assert_eq!(runs("four one, um, one one"), ["4|1|1|1"]);
        assert_eq!(runs("someone phoned 12 times"), ["12"]);
        assert_eq!(runs("double trouble"), Vec::<String>::new());
        assert_eq!(runs("12 and 34"), ["12", "34"]);
        assert_eq!(runs("12 / 34"), ["12", "34"]);
        assert_eq!(runs("card4111"), ["4111"]);
    }

    #[test]
    fn separator_classes() {
        let l = lex("1 2-3.4 -.5");
        let classes: Vec<_> = l.runs[0].bridges.clone();
        assert!(classes == [SepClass::Soft, SepClass::Dash, SepClass::Dot, SepClass::Mixed]);
    }

    #[test]
    fn long_gaps_split_runs() {
        assert_eq!(runs("1                  2"), ["1", "2"]);
    }
}
