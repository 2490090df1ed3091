//! Rate limits (sign-in attempts per account and per client address) and the
//! security headers every response carries.

use axum::http::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A fixed-window counter per key. Sans-IO: the caller passes the time.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: HashMap<String, (Instant, u32)>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter { limit, window, hits: HashMap::new() }
    }

    /// Counts one attempt for `key`; false when the key is over its limit.
    pub fn allow(&mut self, key: &str, now: Instant) -> bool {
        if self.hits.len() > 100_000 {
            let window = self.window;
            self.hits.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = self.hits.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

/// Sign-in attempts allowed per username in a minute.
pub const SIGN_IN_PER_MINUTE: u32 = 20;
/// Sign-in attempts allowed per client address in a minute (one office may
/// sit behind one address).
pub const SIGN_IN_PER_ADDRESS_PER_MINUTE: u32 = 120;

/// Webhooks accepted per carrier account in a minute.
pub const WEBHOOKS_PER_MINUTE: u32 = 6000;

pub struct Limits {
    pub sign_in_user: RateLimiter,
    pub sign_in_addr: RateLimiter,
    pub webhooks: RateLimiter,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            sign_in_user: RateLimiter::new(SIGN_IN_PER_MINUTE, Duration::from_secs(60)),
            sign_in_addr: RateLimiter::new(SIGN_IN_PER_ADDRESS_PER_MINUTE, Duration::from_secs(60)),
            webhooks: RateLimiter::new(WEBHOOKS_PER_MINUTE, Duration::from_secs(60)),
        }
    }
}

/// Headers on every response: no sniffing, no framing by other sites, no
/// referrer leaks, nothing cached, a strict content policy, HSTS on HTTPS.
pub fn security_headers(https: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
        (HeaderName::from_static("x-frame-options"), HeaderValue::from_static("SAMEORIGIN")),
        (HeaderName::from_static("referrer-policy"), HeaderValue::from_static("no-referrer")),
        (HeaderName::from_static("cache-control"), HeaderValue::from_static("no-store")),
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'"),
        ),
    ];
    if https {
        h.push((HeaderName::from_static("strict-transport-security"), HeaderValue::from_static("max-age=31536000")));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_waits_for_the_next_window() {
        let mut r = RateLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!((0..3).all(|_| r.allow("ada", t0)));
        assert!(!r.allow("ada", t0 + Duration::from_secs(30)));
        assert!(r.allow("bob", t0), "keys are counted apart");
        assert!(r.allow("ada", t0 + Duration::from_secs(61)));
    }
}
