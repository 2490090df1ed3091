//! Salesforce-style record ids.
//!
//! An id is 15 case-sensitive base-62 characters (3-character key prefix of the
//! object, then 12 characters that make it unique) followed by a 3-character
//! suffix that encodes the case of the first 15, so the 18-character form
//! survives case-insensitive systems (spreadsheets, some databases). Both forms
//! are accepted on input; the 18-character form is what Dialtone hands out.

use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The characters between the key prefix and the unique number: a two-character
/// instance ("Dt") and Salesforce's reserved character.
const INSTANCE: &str = "Dt0";

/// A validated 18-character record id. Only [`SalesforceId::parse`] and
/// [`SalesforceId::new`] build one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SalesforceId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an id has 15 or 18 characters; {0:?} has {1}")]
    Length(String, usize),
    #[error("an id holds only letters and digits; {0:?} does not")]
    Charset(String),
    #[error("the last 3 characters of {0:?} do not match the first 15 (a mistyped id?)")]
    Checksum(String),
}

impl SalesforceId {
    /// Builds the id of the `seq`-th record of the object with `key_prefix`.
    pub fn new(key_prefix: &str, seq: u64) -> SalesforceId {
        debug_assert_eq!(key_prefix.len(), 3);
        let mut digits = [b'0'; 9];
        let mut n = seq;
        for d in digits.iter_mut().rev() {
            *d = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let mut s = String::with_capacity(18);
        s.push_str(key_prefix);
        s.push_str(INSTANCE);
        s.push_str(std::str::from_utf8(&digits).expect("base62 is ascii"));
        let suffix = checksum(s.as_bytes());
        s.push_str(std::str::from_utf8(&suffix).expect("ascii"));
        SalesforceId(s)
    }

    /// Parses a 15- or 18-character id. An 18-character id whose case was lost
    /// (e.g. upper-cased by a spreadsheet) is repaired from its suffix.
    pub fn parse(raw: &str) -> Result<SalesforceId, IdError> {
        let raw = raw.trim();
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(IdError::Charset(raw.to_string()));
        }
        match raw.len() {
            15 => {
                let mut s = raw.to_string();
                let suffix = checksum(raw.as_bytes());
                s.push_str(std::str::from_utf8(&suffix).expect("ascii"));
                Ok(SalesforceId(s))
            }
            18 => {
                let (body, suffix) = raw.split_at(15);
                let expected = checksum(body.as_bytes());
                if suffix.as_bytes() == expected {
                    return Ok(SalesforceId(raw.to_string()));
                }
                // The suffix is case-insensitive by construction; use it to
                // restore the case of the body.
                let repaired = repair_case(body, suffix).ok_or_else(|| IdError::Checksum(raw.to_string()))?;
                let mut s = repaired;
                s.push_str(std::str::from_utf8(&checksum(s.as_bytes())).expect("ascii"));
                Ok(SalesforceId(s))
            }
            n => Err(IdError::Length(raw.to_string(), n)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-character key prefix naming the object.
    pub fn key_prefix(&self) -> &str {
        &self.0[..3]
    }

    /// The 15-character case-sensitive form.
    pub fn short(&self) -> &str {
        &self.0[..15]
    }

    /// The sequence number this id was built from, if it was built by Dialtone.
    pub fn seq(&self) -> Option<u64> {
        if &self.0[3..6] != INSTANCE {
            return None;
        }
        let mut n: u64 = 0;
        for b in self.0[6..15].bytes() {
            let d = BASE62.iter().position(|&c| c == b)? as u64;
            n = n.checked_mul(62)?.checked_add(d)?;
        }
        Some(n)
    }
}

fn checksum(body: &[u8]) -> [u8; 3] {
    let mut out = [0u8; 3];
    for (chunk, slot) in body[..15].chunks(5).zip(out.iter_mut()) {
        let mut bits = 0usize;
        for (i, c) in chunk.iter().enumerate() {
            if c.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        *slot = SUFFIX[bits];
    }
    out
}

fn repair_case(body: &str, suffix: &str) -> Option<String> {
    let mut out = String::with_capacity(15);
    for (chunk, s) in body.as_bytes().chunks(5).zip(suffix.bytes()) {
        let bits = SUFFIX.iter().position(|&c| c == s.to_ascii_uppercase())?;
        for (i, c) in chunk.iter().enumerate() {
            let upper = bits & (1 << i) != 0;
            if c.is_ascii_alphabetic() {
                out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() } as char);
            } else if upper {
                return None;
            } else {
                out.push(*c as char);
            }
        }
    }
    Some(out)
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SalesforceId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_salesforce_ids_get_their_real_suffix() {
        // Real-world pairs (15 -> 18) as Salesforce computes them.
        assert_eq!(SalesforceId::parse("001A0000006Vm9r").unwrap().as_str(), "001A0000006Vm9rIAC");
        assert_eq!(SalesforceId::parse("003A0000005QB3A").unwrap().as_str(), "003A0000005QB3AIAW");
    }

    #[test]
    fn a_case_mangled_18_char_id_is_repaired() {
        let id = SalesforceId::parse("001A0000006Vm9rIAC").unwrap();
        let upper = id.as_str().to_ascii_uppercase();
        assert_eq!(SalesforceId::parse(&upper).unwrap(), id);
        assert_eq!(SalesforceId::parse(&id.as_str().to_ascii_lowercase()).unwrap(), id);
    }

    #[test]
    fn bad_ids_are_refused_with_a_reason() {
        assert!(matches!(SalesforceId::parse("003"), Err(IdError::Length(..))));
        assert!(matches!(SalesforceId::parse("003A0000005QB3A'--"), Err(IdError::Charset(_))));
        assert!(matches!(SalesforceId::parse("0035A0000005QB3AZZ9"), Err(IdError::Length(..))));
    }

    proptest! {
        #[test]
        fn new_ids_round_trip_and_sort_in_creation_order(a in 0u64..62u64.pow(9), b in 0u64..62u64.pow(9)) {
            let ia = SalesforceId::new("003", a);
            let ib = SalesforceId::new("003", b);
            prop_assert_eq!(SalesforceId::parse(ia.as_str()).unwrap(), ia.clone());
            prop_assert_eq!(SalesforceId::parse(ia.short()).unwrap(), ia.clone());
            prop_assert_eq!(ia.seq(), Some(a));
            prop_assert_eq!(a.cmp(&b), ia.short().cmp(ib.short()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = SalesforceId::parse(&s);
        }
    }
}
