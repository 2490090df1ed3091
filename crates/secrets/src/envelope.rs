//! Sealing and opening: `v1:<fingerprint>:<base64(nonce || ciphertext || tag)>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::Secret;
use crate::error::SecretError;
use crate::key::{FINGERPRINT_HEX_LEN, MasterKey};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Domain-separation prefix of the associated data; the secret's name follows.
const AAD_PREFIX: &[u8] = b"dialtone-secrets/v1\0";

/// Encrypts `plaintext` under `key`, bound to the secret's `name`, and
/// returns the sealed text form (see the [crate docs](crate#format)).
///
/// `name` should identify the row/field the value belongs to (e.g.
/// `"trunk/42/sip_password"` or `"carrier/twilio/auth_token"`) and must be
/// passed identically to [`open`]. It is authenticated, not encrypted, and not
/// stored in the output.
///
/// Each call uses a fresh random nonce, so sealing the same plaintext twice
/// gives different strings.
///
/// # Panics
/// Only if the operating system's random number generator fails, which on
/// supported platforms does not happen once the system has booted.
pub fn seal(key: &MasterKey, name: &str, plaintext: &[u8]) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).expect("the operating system random number generator failed");
    let cipher = XChaCha20Poly1305::new(key.aead_key().into());
    let aad = aad(name);
    // `encrypt` copies the plaintext into a buffer with room for the tag and
    // encrypts it in place, so no plaintext copy outlives this call.
    let ciphertext = cipher
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .expect("XChaCha20-Poly1305 accepts messages up to 256 GiB");
    let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&ciphertext);
    format!("{VERSION}:{}:{}", key.fingerprint(), STANDARD.encode(&raw))
}

/// Decrypts a value produced by [`seal`] with the same `key` and `name`.
///
/// Never panics, whatever `sealed` holds. Errors, in the order checked:
/// [`SecretError::Malformed`] (not a sealed value, or truncated),
/// [`SecretError::UnsupportedVersion`] (`v2:` and so on),
/// [`SecretError::WrongKey`] (sealed under another key),
/// [`SecretError::AuthenticationFailed`] (modified, or sealed for another name).
/// The input is parsed strictly: no surrounding whitespace, canonical base64.
pub fn open(key: &MasterKey, name: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, SecretError> {
    let parsed = parse(sealed)?;
    if parsed.fingerprint != key.fingerprint() {
        return Err(SecretError::WrongKey {
            sealed_with: parsed.fingerprint.to_owned(),
            loaded: key.fingerprint().to_owned(),
        });
    }
    let (nonce, ciphertext) = parsed.raw.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| SecretError::Malformed("bad nonce length"))?;
    let cipher = XChaCha20Poly1305::new(key.aead_key().into());
    let aad = aad(name);
    // The tag is verified before anything is decrypted; on failure no
    // plaintext was produced.
    cipher
        .decrypt(
            &nonce,
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SecretError::AuthenticationFailed)
}

/// [`open`], for text credentials: the plaintext must be UTF-8.
pub fn open_secret(key: &MasterKey, name: &str, sealed: &str) -> Result<Secret, SecretError> {
    Secret::from_utf8(open(key, name, sealed)?)
}

/// Re-seals a value under a new key (key rotation): opens `sealed` with `old`
/// and seals it with `new` under the same `name`.
///
/// If `sealed` is already sealed under `new` (a rotation that is being
/// resumed after an interruption), it is verified with `new` and returned
/// unchanged, so running a rotation twice is harmless.
pub fn rekey(
    old: &MasterKey,
    new: &MasterKey,
    name: &str,
    sealed: &str,
) -> Result<String, SecretError> {
    if sealed_fingerprint(sealed) == Some(new.fingerprint()) {
        open(new, name, sealed)?;
        return Ok(sealed.to_owned());
    }
    let plaintext = open(old, name, sealed)?;
    Ok(seal(new, name, &plaintext))
}

/// The fingerprint of the key `sealed` was sealed with, if it is a well-formed
/// sealed value. Lets a rotation job find rows still under the old key, and an
/// operator check which key a store needs, without decrypting anything.
pub fn sealed_fingerprint(sealed: &str) -> Option<&str> {
    parse(sealed).ok().map(|p| p.fingerprint)
}

/// Whether `value` is a well-formed sealed value (of this version). Useful to
/// tell sealed rows from legacy plaintext ones during a migration; it checks
/// the shape only — whether it opens needs the key and the name.
pub fn is_sealed(value: &str) -> bool {
    parse(value).is_ok()
}

struct Parsed<'a> {
    fingerprint: &'a str,
    /// nonce || ciphertext || tag, at least NONCE_LEN + TAG_LEN bytes.
    raw: Vec<u8>,
}

fn parse(sealed: &str) -> Result<Parsed<'_>, SecretError> {
    let Some((version, rest)) = sealed.split_once(':') else {
        return Err(SecretError::Malformed("missing the `v1:` prefix"));
    };
    if version != VERSION {
        return Err(if looks_like_version(version) {
            SecretError::UnsupportedVersion {
                found: Some(version.to_owned()),
            }
        } else {
            // Don't echo it: a never-sealed row could hold a plaintext credential.
            SecretError::Malformed("missing the `v1:` prefix")
        });
    }
    let Some((fingerprint, body)) = rest.split_once(':') else {
        return Err(SecretError::Malformed("missing the key fingerprint"));
    };
    if fingerprint.len() != FINGERPRINT_HEX_LEN
        || !fingerprint
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(SecretError::Malformed(
            "the key fingerprint is not 16 lowercase hex digits",
        ));
    }
    let raw = STANDARD
        .decode(body)
        .map_err(|_| SecretError::Malformed("the ciphertext is not valid base64 (truncated?)"))?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return Err(SecretError::Malformed(
            "the ciphertext is too short (truncated?)",
        ));
    }
    Ok(Parsed { fingerprint, raw })
}

/// `v` followed by 1–6 digits: safe to show in an error message.
fn looks_like_version(s: &str) -> bool {
    s.len() >= 2 && s.len() <= 7 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

fn aad(name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_PREFIX.len() + name.len());
    aad.extend_from_slice(AAD_PREFIX);
    aad.extend_from_slice(name.as_bytes());
    aad
}
