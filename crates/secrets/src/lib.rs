//! Carrier credentials encrypted at rest.
//!
//! Twilio auth tokens, SIP trunk passwords and telephony private keys are
//! stored in the database only as *sealed* strings produced by [`seal`], and
//! turned back into plaintext only by [`open`] / [`open_secret`] at the moment
//! they are needed to talk to a carrier. The key that seals them, the
//! [`MasterKey`], lives outside the database: in the `DIALTONE_SECRET_KEY`
//! environment variable or in a key file ([`MasterKey::from_env_or_file`]).
//!
//! This crate is sans-IO except for reading (or, the first time, creating) the
//! key file. It does not log: nothing here writes a key, a plaintext or a
//! sealed string anywhere.
//!
//! # Threat model
//!
//! **What it protects against:** someone who obtains a copy of the database
//! or of a backup — a leaked dump, a stolen disk or snapshot, a read-only SQL
//! injection, a support bundle — but *not* the master key. Without the key a
//! sealed value reveals nothing but its length (to within a few bytes) and the
//! [fingerprint] of the key that sealed it. Each sealed value is also bound to
//! the secret's name (as AEAD associated data), so someone who can *write* to
//! the database cannot swap one credential's ciphertext into another row (for
//! example to make Dialtone send the SIP password of trunk A to the
//! attacker-controlled trunk B): the moved value fails to open. Any
//! modification of a sealed value is detected and refused.
//!
//! **What it does not protect against:**
//! - A compromised running process, or anyone who can read its memory or
//!   environment (`/proc/PID/environ`, a core dump, a debugger, root on the
//!   host). The process holds the key and, while in use, the plaintext. Drop-time
//!   zeroization ([`zeroize`]) shortens how long plaintext lingers in memory;
//!   it does not make memory safe to read.
//! - Someone who has both the database and the key (e.g. a backup that
//!   includes the key file — keep the key out of database backups and back it
//!   up separately).
//! - Rolling back a row to an *older* value sealed under the same key and
//!   name (e.g. an old password): that value still opens. Integrity here means
//!   "was sealed by a holder of the key for this name", not "is the latest".
//! - Leaks by callers: code that puts an opened credential into a log line, an
//!   error message or an API response. [`Secret`] helps — its `Debug` prints
//!   `Secret(***)`, it has no `Display` and no serde support — but an API must
//!   still never return credentials, only whether one is set.
//!
//! # Format
//!
//! A sealed value is ASCII text, safe for a `TEXT` column:
//!
//! ```text
//! v1:<key fingerprint, 16 lowercase hex>:<base64(24-byte nonce || ciphertext || 16-byte tag)>
//! ```
//!
//! The cipher is XChaCha20-Poly1305 with a fresh random 192-bit nonce per
//! seal (so re-sealing the same value gives a different string and nonce
//! reuse is not a practical concern). The associated data is
//! `"dialtone-secrets/v1\0" || name`. The fingerprint lets [`open`] tell
//! "sealed with another key" ([`SecretError::WrongKey`]) apart from "modified"
//! ([`SecretError::AuthenticationFailed`]), and lets an operator or a rotation
//! job see which key sealed each row ([`sealed_fingerprint`]).
//!
//! The AEAD key and the fingerprint are derived from the master key with
//! HKDF-Expand (HMAC-SHA-256) under distinct labels, so the fingerprint is a
//! one-way function of the key that is useless for decrypting.
//!
//! # Example
//!
//! ```
//! use dialtone_secrets::{MasterKey, seal, open_secret, rekey};
//!
//! let key = MasterKey::generate()?;
//! let sealed = seal(&key, "trunk/acme/sip_password", b"hunter2");
//! assert!(sealed.starts_with("v1:"));
//!
//! let secret = open_secret(&key, "trunk/acme/sip_password", &sealed)?;
//! assert_eq!(secret.expose(), "hunter2");
//! assert_eq!(format!("{secret:?}"), "Secret(***)");
//!
//! // Moved to another row: refused.
//! assert!(open_secret(&key, "trunk/evil/sip_password", &sealed).is_err());
//!
//! // Rotation.
//! let new_key = MasterKey::generate()?;
//! let resealed = rekey(&key, &new_key, "trunk/acme/sip_password", &sealed)?;
//! assert_eq!(open_secret(&new_key, "trunk/acme/sip_password", &resealed)?.expose(), "hunter2");
//! # Ok::<(), dialtone_secrets::SecretError>(())
//! ```

mod envelope;
mod error;
mod key;
mod secret;

pub use envelope::{is_sealed, open, open_secret, rekey, seal, sealed_fingerprint};
pub use error::{KeyProblem, SecretError};
pub use key::{ENV_VAR, KeySource, MasterKey, fingerprint};
pub use secret::Secret;
pub use zeroize::Zeroizing;
