//! Phone numbers as the contact centre writes them, and as the index keeps them.
//!
//! Every phone field keeps what the user typed; this crate turns that text into
//! an [`E164`] (`+14155551212`) using libphonenumber's metadata (the
//! `phonenumber` crate) and the org's default region, so "(415) 555-1212",
//! "+1 415-555-1212" and "4155551212" all land on one key. No I/O.

use phonenumber::country::Id as Country;
use phonenumber::{Mode, PhoneNumber};
use std::fmt;
use std::str::FromStr;

/// A phone number in E.164 form. Only [`Normalizer::normalize`] builds one.
/// `Debug` redacts all but the last two digits, so it is safe in logs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", redact(&self.0))
    }
}

/// Masks a phone number for logs: `+1415*****12`-style, keeping the country
/// code hint and the last two digits.
pub fn redact(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() <= 4 {
        return "*".repeat(digits.len());
    }
    let keep_tail = 2;
    let mut out = String::new();
    if number.trim_start().starts_with('+') {
        out.push('+');
    }
    for (i, d) in digits.iter().enumerate() {
        if i < 1 || i >= digits.len() - keep_tail {
            out.push(*d);
        } else {
            out.push('*');
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("unknown region {0:?}: use a two-letter country code such as US, GB or DE")]
    Region(String),
}

/// Normalises written numbers with a default region for numbers written
/// without a country code.
#[derive(Debug, Clone, Copy)]
pub struct Normalizer {
    region: Country,
}

impl Normalizer {
    pub fn new(region: &str) -> Result<Normalizer, PhoneError> {
        let region =
            Country::from_str(&region.trim().to_ascii_uppercase()).map_err(|_| PhoneError::Region(region.to_string()))?;
        Ok(Normalizer { region })
    }

    /// The E.164 form of `written`, or `None` when it is not a phone number
    /// (too short, letters only, an extension alone). Numbers that parse but
    /// fail libphonenumber's validity check are still indexed when they have a
    /// plausible length, so a lookup by the same digits finds them.
    pub fn normalize(&self, written: &str) -> Option<E164> {
        let written = written.trim();
        if written.is_empty() || written.len() > 64 {
            return None;
        }
        let digits = written.chars().filter(|c| c.is_ascii_digit()).count();
        if !(4..=17).contains(&digits) {
            return None;
        }
        // "+44 (0)20 7946 0018": the bracketed trunk prefix is dialled only
        // from inside the country and is not part of the international number.
        let cleaned;
        let written = if written.starts_with('+') && written.contains("(0)") {
            cleaned = written.replace("(0)", "");
            cleaned.as_str()
        } else {
            written
        };
        let parsed = self.parse(written)?;
        let e164 = parsed.format().mode(Mode::E164).to_string();
        let national_digits = e164.len().saturating_sub(1);
        if national_digits < 7 {
            return None;
        }
        Some(E164(e164))
    }

    /// Parses with the default region only where the number needs it. The
    /// `phonenumber` crate strips the *default region's* national prefix from
    /// a foreign number's national part: from a US org, "+44 121 496 0000"
    /// and "011 33 1 42 68 53 00" lost their leading 1 (the US trunk prefix).
    /// So a number written with `+` is parsed without a region, and one
    /// dialled with an international prefix (011, 00, 0011 …) is parsed again
    /// from its country code on, without a region.
    fn parse(&self, written: &str) -> Option<PhoneNumber> {
        if written.starts_with('+') {
            return phonenumber::parse(None, written).ok();
        }
        let parsed: PhoneNumber = phonenumber::parse(Some(self.region), written).ok()?;
        if parsed.country().id() == Some(self.region) {
            return Some(parsed);
        }
        let code = parsed.code().value().to_string();
        let digits: String = written.chars().filter(char::is_ascii_digit).collect();
        (2..=4)
            .filter(|&idd| digits.get(idd..).is_some_and(|rest| rest.starts_with(&code)))
            .find_map(|idd| phonenumber::parse(None, format!("+{}", &digits[idd..])).ok().filter(|p| p.code().value() == parsed.code().value()))
            .or(Some(parsed))
    }

    /// Whether libphonenumber considers the number valid for its region.
    pub fn is_valid(&self, written: &str) -> bool {
        phonenumber::parse(Some(self.region), written.trim()).is_ok_and(|n| phonenumber::is_valid(&n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(region: &str, s: &str) -> Option<String> {
        Normalizer::new(region).unwrap().normalize(s).map(|e| e.to_string())
    }

    #[test]
    fn written_forms_of_one_number_meet_on_one_key() {
        for s in ["(415) 555-1212", "+1 415-555-1212", "4155551212", "415.555.1212", "1-415-555-1212", "+14155551212"] {
            assert_eq!(n("US", s).as_deref(), Some("+14155551212"), "{s}");
        }
    }

    #[test]
    fn the_default_region_applies_only_without_a_country_code() {
        assert_eq!(n("GB", "020 7946 0018").as_deref(), Some("+442079460018"));
        assert_eq!(n("DE", "030 901820").as_deref(), Some("+4930901820"));
        assert_eq!(n("US", "+44 20 7946 0018").as_deref(), Some("+442079460018"));
        assert_eq!(n("FR", "01 42 68 53 00").as_deref(), Some("+33142685300"));
        assert_eq!(n("US", "011 44 20 7946 0018").as_deref(), Some("+442079460018"));
        assert_eq!(n("US", "+44 (0)20 7946 0018").as_deref(), Some("+442079460018"), "the bracketed trunk zero is dropped");
        assert_eq!(n("DE", "+49 (0)30 901820").as_deref(), Some("+4930901820"));
    }

    #[test]
    fn a_foreign_number_keeps_a_leading_digit_that_is_the_default_regions_trunk_prefix() {
        // Regression: from a US org these lost their leading 1 (the US trunk prefix).
        for s in ["+33 1 42 68 53 00", "+33142685300", "011 33 1 42 68 53 00", "+33 (0)1 42 68 53 00"] {
            assert_eq!(n("US", s).as_deref(), Some("+33142685300"), "{s}");
        }
        assert_eq!(n("US", "+44 121 496 0000").as_deref(), Some("+441214960000"));
        assert_eq!(n("US", "011 44 121 496 0000").as_deref(), Some("+441214960000"));
        assert_eq!(n("GB", "00 1 415 555 1212").as_deref(), Some("+14155551212"));
        assert_eq!(n("AU", "0011 44 121 496 0000").as_deref(), Some("+441214960000"));
        // A Canadian number from a US org is still a NANP number, not an international one.
        assert_eq!(n("US", "(604) 555-0199").as_deref(), Some("+16045550199"));
        assert_eq!(n("US", "1 604 555 0199").as_deref(), Some("+16045550199"));
    }

    #[test]
    fn junk_is_not_a_number() {
        for s in ["", "n/a", "12", "call me", "+", "x1234", &"9".repeat(80)] {
            assert_eq!(n("US", s), None, "{s:?}");
        }
    }

    #[test]
    fn debug_output_never_shows_the_number() {
        let e = Normalizer::new("US").unwrap().normalize("(415) 555-1212").unwrap();
        let shown = format!("{e:?}");
        assert!(!shown.contains("5551212"), "{shown}");
        assert!(shown.ends_with("12)"));
    }

    #[test]
    fn a_bad_region_is_a_clear_error() {
        assert_eq!(Normalizer::new("Narnia").unwrap_err(), PhoneError::Region("Narnia".into()));
    }
}
