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

/// A call center's dialing options (`reqOutsidePrefix`, `reqLongDistPrefix`,
/// `reqInternationalPrefix`): what the phone system needs in front of a
/// number. Only digits, `*`, `#` and `,` (a pause) are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialingOptions {
    pub outside_prefix: String,
    pub long_distance_prefix: String,
    pub international_prefix: String,
    /// The org's own area code (national significant digits, e.g. `415`):
    /// numbers in it are local calls. Unknown: every call in the country is
    /// long distance (always dialable in NANP and trunk-prefix countries).
    pub local_area_code: Option<String>,
}

impl DialingOptions {
    pub fn new(outside: &str, long_distance: &str, international: &str) -> DialingOptions {
        DialingOptions {
            outside_prefix: dial_chars(outside),
            long_distance_prefix: dial_chars(long_distance),
            international_prefix: dial_chars(international),
            local_area_code: None,
        }
    }
}

fn dial_chars(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | ',')).collect()
}

/// How far a number is from the org's region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Same country and the org's area code.
    Local,
    /// Same country calling code (NANP: the US and Canada are one).
    LongDistance,
    International,
}

/// What to dial: the prefixes and the number, and which kind of call it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialString {
    pub digits: String,
    pub reach: Reach,
}

impl fmt::Display for DialString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl Normalizer {
    /// The country calling code of the org's region (1 for US, 44 for GB).
    pub fn calling_code(&self) -> Option<u16> {
        phonenumber::metadata::DATABASE.by_id(self.region.as_ref()).map(|m| m.country_code())
    }

    /// The dial string for `number` from this org's region: outside prefix,
    /// then the national significant number (local), the long-distance
    /// prefix and it (same calling code), or the international prefix, the
    /// calling code and it.
    pub fn dial_string(&self, number: &E164, options: &DialingOptions) -> DialString {
        let e164 = number.as_str();
        let code = phonenumber::parse(None, e164).map(|p| p.code().value()).ok();
        let code_len = code.map_or(0, |c| c.to_string().len());
        let nsn = e164.get(1 + code_len..).unwrap_or_default();
        let home = self.calling_code();
        let (reach, body) = match (code, home) {
            (Some(c), Some(h)) if c == h => {
                let local = options.local_area_code.as_deref().map(dial_chars).is_some_and(|a| !a.is_empty() && nsn.starts_with(&a));
                if local {
                    (Reach::Local, nsn.to_string())
                } else {
                    (Reach::LongDistance, format!("{}{nsn}", options.long_distance_prefix))
                }
            }
            _ => (Reach::International, format!("{}{}", options.international_prefix, &e164[1..])),
        };
        DialString { digits: format!("{}{body}", options.outside_prefix), reach }
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

    fn dial(region: &str, number: &str, options: &DialingOptions) -> (String, Reach) {
        let n = Normalizer::new(region).unwrap();
        let d = n.dial_string(&n.normalize(number).unwrap(), options);
        (d.digits, d.reach)
    }

    #[test]
    fn dial_strings_follow_the_dialing_options() {
        let us = DialingOptions::new("9", "1", "011");
        assert_eq!(dial("US", "(415) 555-0142", &us), ("914155550142".into(), Reach::LongDistance));
        assert_eq!(dial("US", "+1 416 555 0142", &us), ("914165550142".into(), Reach::LongDistance), "Canada shares NANP's calling code");
        assert_eq!(dial("US", "+44 20 7946 0018", &us), ("9011442079460018".into(), Reach::International));
        let local = DialingOptions { local_area_code: Some("415".into()), ..us.clone() };
        assert_eq!(dial("US", "415-555-0142", &local), ("94155550142".into(), Reach::Local));
        assert_eq!(dial("US", "212-555-0142", &local), ("912125550142".into(), Reach::LongDistance));
        let none = DialingOptions::default();
        assert_eq!(dial("US", "4155550142", &none).0, "4155550142");
        assert_eq!(dial("US", "+44 20 7946 0018", &none).0, "442079460018");
        let gb = DialingOptions::new("", "0", "00");
        assert_eq!(dial("GB", "020 7946 0018", &gb), ("02079460018".into(), Reach::LongDistance));
        assert_eq!(dial("GB", "+1 415 555 0142", &gb), ("0014155550142".into(), Reach::International));
        let italy = DialingOptions::new("", "", "00");
        assert_eq!(dial("US", "+39 06 6982 1234", &italy).0, "00390669821234", "Italy keeps its leading zero");
    }

    #[test]
    fn prefixes_keep_only_what_a_phone_can_dial() {
        let o = DialingOptions::new(" 9, ", "+1", "0 1 1");
        assert_eq!((o.outside_prefix.as_str(), o.long_distance_prefix.as_str(), o.international_prefix.as_str()), ("9,", "1", "011"));
    }
}
