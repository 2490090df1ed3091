use std::fmt;

use zeroize::{Zeroize as _, Zeroizing};

use crate::error::SecretError;

/// A plaintext credential in memory: an auth token, a SIP password, a PEM
/// private key.
///
/// - zeroized on drop;
/// - `Debug` prints `Secret(***)`, so it can sit in a `#[derive(Debug)]` struct;
/// - no `Display`, no `Clone`, no serde, no `PartialEq` — it cannot end up in a
///   log line, an API response or a copy by accident;
/// - [`Secret::expose`] gets at the value, deliberately, at the point of use
///   (building the carrier request); keep the `&str` it returns short-lived.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a plaintext. The `String`'s buffer is taken over, not copied.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(value.into()))
    }

    /// Takes over an opened plaintext, which must be UTF-8. On error the bytes
    /// are zeroized.
    pub fn from_utf8(mut bytes: Zeroizing<Vec<u8>>) -> Result<Secret, SecretError> {
        let bytes = std::mem::take(&mut *bytes);
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Secret(Zeroizing::new(s))),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(SecretError::NotUtf8)
            }
        }
    }

    /// The plaintext. Named so that every use is easy to find and review.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string (e.g. "no password configured").
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
