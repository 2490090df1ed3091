//! National identifiers: US Social Security numbers, UK National Insurance
//! numbers, and a trait for more.

use regex::Regex;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

/// Finds one kind of national identifier in an utterance: the extension point
/// for identifiers this crate does not know (a Canadian SIN, a French NIR…).
///
/// Implementations must not log or keep what they find. Ranges that do not
/// fall on character boundaries are widened to the nearest ones, and ranges
/// past the end are clipped, so a sloppy detector redacts a little more, never
/// less, and never panics the redactor.
pub trait IdDetector: Send + Sync {
    /// Short name used as the mask label and in [`Kind::NationalId`](crate::Kind::NationalId),
    /// e.g. `"sin"`.
    fn label(&self) -> &str;

    /// Pushes the byte range of every identifier in `text` onto `found`.
    fn find(&self, text: &str, found: &mut Vec<Range<usize>>);
}

/// A national identifier to look for.
#[derive(Clone)]
#[non_exhaustive]
pub enum NationalId {
    /// US Social Security number: `123-45-6789` or `123 45 6789` anywhere;
    /// nine digits in any form (including spelled out) right after "SSN" or
    /// "social (security)". Area `000`, `666` and `900`–`999`, group `00` and
    /// serial `0000` are never issued and are not redacted.
    UsSsn,
    /// UK National Insurance number: two prefix letters, six digits and a
    /// suffix `A`–`D` (`AB 12 34 56 C`, `ab123456c`), following HMRC's rules
    /// for the prefix. Without the suffix, the prefix must be in capitals.
    UkNino,
    /// Any other identifier.
    Custom(Arc<dyn IdDetector>),
}

impl NationalId {
    /// Wraps a detector for an identifier this crate does not know.
    pub fn custom(detector: impl IdDetector + 'static) -> NationalId {
        NationalId::Custom(Arc::new(detector))
    }

    /// The label used in masks: `ssn`, `ni number`, or the detector's own.
    pub fn label(&self) -> &str {
        match self {
            NationalId::UsSsn => "ssn",
            NationalId::UkNino => "ni number",
            NationalId::Custom(d) => d.label(),
        }
    }

    /// Byte ranges of the identifiers written in `text` (for SSNs: the
    /// formatted ones only; the keyword form is found with the other
    /// keyword-led codes).
    pub(crate) fn find(&self, text: &str) -> Vec<Range<usize>> {
        match self {
            NationalId::UsSsn => find_ssns(text),
            NationalId::UkNino => find_ninos(text),
            NationalId::Custom(d) => {
                let mut found = Vec::new();
                d.find(text, &mut found);
                found.into_iter().filter_map(|r| widen(text, r)).collect()
            }
        }
    }
}

impl fmt::Debug for NationalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NationalId::UsSsn => f.write_str("UsSsn"),
            NationalId::UkNino => f.write_str("UkNino"),
            NationalId::Custom(d) => f.debug_tuple("Custom").field(&d.label()).finish(),
        }
    }
}

impl PartialEq for NationalId {
    /// Built-ins compare by kind, custom detectors by identity.
    fn eq(&self, other: &NationalId) -> bool {
        match (self, other) {
            (NationalId::UsSsn, NationalId::UsSsn) | (NationalId::UkNino, NationalId::UkNino) => true,
            (NationalId::Custom(a), NationalId::Custom(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// Clips `r` to `text` and widens it to character boundaries; `None` if empty.
fn widen(text: &str, r: Range<usize>) -> Option<Range<usize>> {
    let mut start = r.start.min(text.len());
    let mut end = r.end.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start < end).then_some(start..end)
}

/// Whether nine ASCII digits are a structurally valid SSN.
pub(crate) fn ssn_valid(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (area, group, serial) = (&digits[..3], &digits[3..5], &digits[5..]);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}").expect("SSN regex compiles"));

fn find_ssns(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let alnum_before = |i: usize| text[..i].chars().next_back().is_some_and(char::is_alphanumeric);
    let alnum_after = |i: usize| text[i..].chars().next().is_some_and(char::is_alphanumeric);
    SSN.find_iter(text)
        .filter(|m| {
            let (s, e) = (m.start(), m.end());
            let sep = bytes[s + 3];
            // Not one group of a longer run: "555 123 45 6789", "123-45-6789-01".
            let longer =
                (s >= 2 && bytes[s - 1] == sep && digit_at(s - 2)) || (bytes.get(e) == Some(&sep) && digit_at(e + 1));
            bytes[s + 6] == sep
                && !longer
                && !alnum_before(s)
                && !alnum_after(e)
                && ssn_valid(&[&text[s..s + 3], &text[s + 4..s + 6], &text[s + 7..e]].concat())
        })
        .map(|m| m.range())
        .collect()
}

static NINO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([A-Z]{2})\s?([0-9]{2})\s?([0-9]{2})\s?([0-9]{2})(?:\s?([A-D]))?\b")
        .expect("NINO regex compiles")
});

/// HMRC's rules: the first letter is not D, F, I, Q, U or V; the second is
/// not D, F, I, O, Q, U or V; and BG, GB, KN, NK, NT, TN and ZZ are never
/// allocated.
pub(crate) fn nino_prefix_valid(prefix: &str) -> bool {
    let p = prefix.to_ascii_uppercase();
    let b = p.as_bytes();
    b.len() == 2
        && b.iter().all(u8::is_ascii_uppercase)
        && !b"DFIQUV".contains(&b[0])
        && !b"DFIOQUV".contains(&b[1])
        && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&p.as_str())
}

fn find_ninos(text: &str) -> Vec<Range<usize>> {
    NINO.captures_iter(text)
        .filter(|c| {
            let prefix = c.get(1).expect("group 1 always matches").as_str();
            let end = c.get(0).expect("group 0 always matches").end();
            nino_prefix_valid(prefix)
                && (c.get(5).is_some()
                    || (prefix.bytes().all(|b| b.is_ascii_uppercase()) && !followed_by_letter(&text[end..])))
        })
        .map(|c| c.get(0).expect("group 0 always matches").range())
        .collect()
}

/// Whether `rest` starts with a lone letter, after at most one whitespace
/// character: the wrong suffix of what would otherwise read as a NINO
/// written without one ("AB 12 34 56 E").
fn followed_by_letter(rest: &str) -> bool {
    let mut chars = rest.chars().peekable();
    chars.next_if(|c| c.is_whitespace());
    chars.next().is_some_and(char::is_alphabetic) && !chars.next().is_some_and(char::is_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert!(ssn_valid("123456789"));
        for bad in ["000456789", "666456789", "900456789", "123006789", "123450000", "12345678", "12345678x"] {
            assert!(!ssn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn ssn_boundaries() {
        let f = |t: &str| find_ssns(t).into_iter().map(|r| t[r].to_owned()).collect::<Vec<_>>();
        assert_eq!(f("ssn 123-45-6789."), ["123-45-6789"]);
        assert_eq!(f("123 45 6789"), ["123 45 6789"]);
        assert!(f("123-45 6789").is_empty());
        assert!(f("555 123 45 6789").is_empty());
        assert!(f("123-45-6789-01").is_empty());
        assert!(f("x123-45-6789").is_empty());
    }

    #[test]
    fn nino_prefixes() {
        for ok in ["AB", "ce", "JG", "ZY"] {
            assert!(nino_prefix_valid(ok), "{ok}");
        }
        for bad in ["DA", "AD", "AO", "QQ", "GB", "BG", "NK", "KN", "TN", "NT", "ZZ", "A1", "ÄB"] {
            assert!(!nino_prefix_valid(bad), "{bad}");
        }
    }

    #[test]
    fn widening_never_splits_a_character() {
        assert_eq!(widen("a€b", 2..3), Some(1..4));
        assert_eq!(widen("ab", 1..99), Some(1..2));
        assert_eq!(widen("ab", 5..9), None);
    }
}
