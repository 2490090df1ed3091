//! Digest authentication of REGISTER (RFC 3261 §22.4, RFC 2617 `qop=auth`).
//!
//! Dialtone keeps HA1 = MD5(username:realm:password) for each agent phone,
//! never the SIP password. Nonces are stateless: the time they were minted
//! and an HMAC over it, so any node can check one and a stale one is
//! refused without a table of outstanding challenges.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rsipstack::sip::headers::auth::AuthQop;
use rsipstack::sip::typed::Authorization;
use sha2::Sha256;
use time::OffsetDateTime;

/// How long a challenge's nonce stays good.
pub const NONCE_LIFETIME_SECS: i64 = 300;

pub fn ha1(username: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{username}:{realm}:{password}"))
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

pub struct Nonces {
    key: [u8; 32],
}

impl Nonces {
    pub fn new(key: [u8; 32]) -> Nonces {
        Nonces { key }
    }

    fn mac(&self, stamp: &str) -> String {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        m.update(stamp.as_bytes());
        hex::encode(&m.finalize().into_bytes()[..12])
    }

    pub fn mint(&self, now: OffsetDateTime) -> String {
        let stamp = format!("{:x}", now.unix_timestamp());
        format!("{stamp}.{}", self.mac(&stamp))
    }

    /// `Ok` for a nonce this node minted within the lifetime; `Err(true)`
    /// for one that is genuine but stale (the phone retries with a fresh one).
    pub fn check(&self, nonce: &str, now: OffsetDateTime) -> Result<(), bool> {
        let Some((stamp, mac)) = nonce.split_once('.') else { return Err(false) };
        if self.mac(stamp) != mac {
            return Err(false);
        }
        let minted = i64::from_str_radix(stamp, 16).map_err(|_| false)?;
        let age = now.unix_timestamp() - minted;
        if !(0..=NONCE_LIFETIME_SECS).contains(&age) {
            return Err(true);
        }
        Ok(())
    }
}

/// Checks an Authorization header's response against the stored HA1.
pub fn verify(auth: &Authorization, method: &str, ha1: &str) -> bool {
    let ha2 = md5_hex(&format!("{method}:{}", auth.uri));
    let expected = match &auth.qop {
        Some(AuthQop::Auth { cnonce, nc }) => md5_hex(&format!("{ha1}:{}:{nc:08x}:{cnonce}:auth:{ha2}", auth.nonce)),
        Some(AuthQop::AuthInt { .. }) => return false,
        None => md5_hex(&format!("{ha1}:{}:{ha2}", auth.nonce)),
    };
    constant_time_eq(expected.as_bytes(), auth.response.to_ascii_lowercase().as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsipstack::sip::DigestGenerator;
    use rsipstack::sip::Method;
    use time::macros::datetime;

    #[test]
    fn a_response_computed_by_the_crate_verifies_against_ha1() {
        let now = datetime!(2026-11-22 09:00 UTC);
        let nonces = Nonces::new([7; 32]);
        let nonce = nonces.mint(now);
        let header = format!(
            "Digest username=\"agent1\", realm=\"dialtone\", nonce=\"{nonce}\", uri=\"sip:127.0.0.1:5060\", response=\"x\", algorithm=MD5, qop=auth, cnonce=\"abc\", nc=00000001"
        );
        let mut auth = Authorization::parse(&header).unwrap();
        auth.response = DigestGenerator::from(&auth, "s3cret", &Method::Register).compute();
        assert!(verify(&auth, "REGISTER", &ha1("agent1", "dialtone", "s3cret")));
        assert!(!verify(&auth, "REGISTER", &ha1("agent1", "dialtone", "wrong")));
        assert_eq!(nonces.check(&nonce, now), Ok(()));
        assert_eq!(nonces.check(&nonce, now + time::Duration::minutes(6)), Err(true));
        assert_eq!(nonces.check(&nonce.replace('.', ".0"), now), Err(false));
        assert_eq!(Nonces::new([8; 32]).check(&nonce, now), Err(false));
    }
}
