//! Webhook signatures, so a receiver can tell a Dialtone delivery from a forgery.
//!
//! Every webhook request carries
//!
//! ```text
//! X-Dialtone-Signature: t=1733390000,v1=5f1c…(64 hex digits)
//! ```
//!
//! where `v1` is HMAC-SHA256, keyed with the webhook's secret, over the bytes
//! `"{t}.{body}"` (the Unix time in seconds, a full stop, the raw request
//! body). To verify: split the header on `,`, take `t` and `v1`, compute the
//! HMAC over `t + "." + body` with the shared secret, compare in constant
//! time, and refuse a `t` more than a few minutes from your clock (a replay).
//! [`verify`] does exactly that.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "X-Dialtone-Signature";

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// The header value for `body` sent at Unix time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the signature header is not t=SECONDS,v1=HEX")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's time is more than the tolerance away from now (a replay?)")]
    Stale,
}

/// Checks a header against the body, with `now` (Unix seconds) and a tolerance in seconds.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance: i64) -> Result<(), VerifyError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| VerifyError::Malformed)?),
            Some(("v1", v)) => sigs.push(hex::decode(v).map_err(|_| VerifyError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed)?;
    if sigs.is_empty() {
        return Err(VerifyError::Malformed);
    }
    let want = mac(secret, t, body);
    let matched = sigs.iter().any(|s| {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
        m.update(t.to_string().as_bytes());
        m.update(b".");
        m.update(body);
        s.len() == want.len() && m.verify_slice(s).is_ok()
    });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    if (now - t).abs() > tolerance {
        return Err(VerifyError::Stale);
    }
    Ok(())
}
