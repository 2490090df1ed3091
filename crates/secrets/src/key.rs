//! The master key: loading it from the environment or a key file, and the
//! values derived from it.

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::{KeyProblem, SecretError};

/// The environment variable Dialtone reads the master key from.
pub const ENV_VAR: &str = "DIALTONE_SECRET_KEY";

/// Length of a master key in bytes (256 bits).
pub(crate) const KEY_LEN: usize = 32;

/// HKDF-Expand labels. Changing either invalidates every sealed value.
const ENCRYPTION_LABEL: &[u8] = b"dialtone-secrets/v1/encryption";
const FINGERPRINT_LABEL: &[u8] = b"dialtone-secrets/v1/fingerprint";

/// Number of hex characters in a [`fingerprint`].
pub(crate) const FINGERPRINT_HEX_LEN: usize = 16;

/// Where a [`MasterKey`] came from, for a startup log line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySource {
    /// The named environment variable.
    Env { var: String },
    /// A key file; `created` is true when this process just generated it, in
    /// which case the caller should tell the operator to back it up: losing it
    /// makes every sealed value unrecoverable.
    File { path: PathBuf, created: bool },
    /// [`MasterKey::generate`] or [`MasterKey::from_bytes`].
    InMemory,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env { var } => write!(f, "environment variable {var}"),
            KeySource::File {
                path,
                created: false,
            } => write!(f, "key file {}", path.display()),
            KeySource::File {
                path,
                created: true,
            } => {
                write!(f, "newly created key file {}", path.display())
            }
            KeySource::InMemory => f.write_str("memory"),
        }
    }
}

/// A 256-bit master key.
///
/// The raw key is used only to derive, with HKDF-Expand (HMAC-SHA-256), the
/// AEAD key and the [`fingerprint`]; the raw bytes are not kept. The derived
/// key lives on the heap (so moving a `MasterKey` does not copy it) and is
/// zeroized on drop. `Debug` and `Display` show only the fingerprint and the
/// source. There is deliberately no way to get the key bytes back out.
pub struct MasterKey {
    aead_key: Box<Zeroizing<[u8; KEY_LEN]>>,
    fingerprint: String,
    source: KeySource,
}

impl MasterKey {
    /// Loads the key the way the server does: from the environment variable
    /// `env_var` (normally [`ENV_VAR`], `DIALTONE_SECRET_KEY`) if it is set,
    /// otherwise from `key_file` via [`MasterKey::load_or_create`].
    ///
    /// A set-but-empty variable is an error, not "unset": falling back to a
    /// different key would make every stored credential fail to open.
    ///
    /// Note that a key passed in the environment stays in the process
    /// environment (readable via `/proc/PID/environ` by the same user and
    /// inherited by child processes); the key file is the tighter option.
    pub fn from_env_or_file(env_var: &str, key_file: &Path) -> Result<MasterKey, SecretError> {
        Self::from_env_value_or_file(env_var, std::env::var_os(env_var), key_file)
    }

    /// [`MasterKey::from_env_or_file`] with the variable's value passed in (testable
    /// without touching the process environment).
    pub(crate) fn from_env_value_or_file(
        env_var: &str,
        value: Option<OsString>,
        key_file: &Path,
    ) -> Result<MasterKey, SecretError> {
        let Some(value) = value else {
            return Self::load_or_create(key_file);
        };
        let malformed = |problem| SecretError::MalformedEnvKey {
            var: env_var.to_owned(),
            problem,
        };
        let value = Zeroizing::new(
            value
                .into_string()
                .map_err(|_| malformed(KeyProblem::NotBase64))?,
        );
        let raw = decode_key(&value).map_err(malformed)?;
        Ok(Self::from_raw(
            &raw,
            KeySource::Env {
                var: env_var.to_owned(),
            },
        ))
    }

    /// Loads the key from `path` (base64 text of 32 bytes; surrounding
    /// whitespace is ignored), creating it with 32 random bytes and mode 0600
    /// if it does not exist (its parent directory is created with mode 0700 if
    /// missing).
    ///
    /// On unix an existing file that group or others can access in any way is
    /// refused ([`SecretError::KeyFileTooOpen`], whose message says to
    /// `chmod 600` it). An existing but malformed file is an error and is never
    /// overwritten. If two processes race to create the file, both end up with
    /// the same key.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, SecretError> {
        match File::open(path) {
            Ok(file) => Self::load_open_file(path, file, false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::create(path),
            Err(source) => Err(io_err(path, "open it", source)),
        }
    }

    /// A fresh random key (for tests and for generating a key to hand out).
    pub fn generate() -> Result<MasterKey, SecretError> {
        let raw = random_key()?;
        Ok(Self::from_raw(&raw, KeySource::InMemory))
    }

    /// A key from raw bytes (e.g. from a secrets manager the caller talks to).
    /// The caller's copy is zeroized.
    pub fn from_bytes(mut bytes: [u8; KEY_LEN]) -> MasterKey {
        let key = Self::from_raw(&bytes, KeySource::InMemory);
        bytes.zeroize();
        key
    }

    /// This key's [`fingerprint`].
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Where this key was loaded from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub(crate) fn aead_key(&self) -> &[u8; KEY_LEN] {
        &self.aead_key
    }

    fn from_raw(raw: &[u8; KEY_LEN], source: KeySource) -> MasterKey {
        let aead_key = Box::new(hkdf_expand(raw, ENCRYPTION_LABEL));
        let fp = hkdf_expand(raw, FINGERPRINT_LABEL);
        let fingerprint = fp[..FINGERPRINT_HEX_LEN / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        MasterKey {
            aead_key,
            fingerprint,
            source,
        }
    }

    fn load_open_file(
        path: &Path,
        mut file: File,
        created: bool,
    ) -> Result<MasterKey, SecretError> {
        // Check the permissions of the file we actually opened (no race with a swap).
        let meta = file
            .metadata()
            .map_err(|e| io_err(path, "read its metadata", e))?;
        if !meta.is_file() {
            return Err(io_err(
                path,
                "read it",
                io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(SecretError::KeyFileTooOpen {
                    path: path.to_owned(),
                    mode,
                });
            }
        }
        // A key file is ~45 bytes; refuse to slurp something huge by mistake.
        let mut text = Zeroizing::new(Vec::with_capacity(64));
        (&mut file)
            .take(4096)
            .read_to_end(&mut text)
            .map_err(|e| io_err(path, "read it", e))?;
        let malformed = |problem| SecretError::MalformedKeyFile {
            path: path.to_owned(),
            problem,
        };
        let text = std::str::from_utf8(&text).map_err(|_| malformed(KeyProblem::NotBase64))?;
        let raw = decode_key(text).map_err(malformed)?;
        Ok(Self::from_raw(
            &raw,
            KeySource::File {
                path: path.to_owned(),
                created,
            },
        ))
    }

    fn create(path: &Path) -> Result<MasterKey, SecretError> {
        let missing_parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && !p.exists());
        if let Some(parent) = missing_parent {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder
                .create(parent)
                .map_err(|e| io_err(path, "create its directory", e))?;
        }

        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(file) => file,
            // Another process created it between our open and create: use theirs.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let file = File::open(path).map_err(|e| io_err(path, "open it", e))?;
                return Self::load_open_file(path, file, false);
            }
            Err(e) => return Err(io_err(path, "create it", e)),
        };

        let raw = random_key()?;
        let mut text = Zeroizing::new(STANDARD.encode(*raw));
        text.push('\n');
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            // Don't leave a partial key behind for the next start to trip over.
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(io_err(path, "write it", e));
        }
        // Make the new directory entry durable too (best effort).
        #[cfg(unix)]
        if let Some(parent) = path.parent() {
            let dir = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(Self::from_raw(
            &raw,
            KeySource::File {
                path: path.to_owned(),
                created: true,
            },
        ))
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("fingerprint", &self.fingerprint)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {} from {}", self.fingerprint, self.source)
    }
}

/// A short identifier of `key` (16 lowercase hex characters) that an operator
/// can compare across machines and against sealed values
/// ([`crate::sealed_fingerprint`]) without ever seeing the key.
///
/// It is the first 8 bytes of HKDF-Expand(key, "dialtone-secrets/v1/fingerprint")
/// — a keyed one-way derivation, not a hash of the key, and independent of the
/// encryption key.
pub fn fingerprint(key: &MasterKey) -> String {
    key.fingerprint.clone()
}

/// HKDF-Expand (RFC 5869) of one 32-byte block: HMAC-SHA-256(prk, info || 0x01).
/// The master key is uniformly random, so it serves as the PRK directly.
fn hkdf_expand(prk: &[u8; KEY_LEN], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(prk).expect("HMAC accepts keys of any length");
    mac.update(info);
    mac.update(&[1]);
    let mut okm = mac.finalize().into_bytes();
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(&okm);
    okm.as_mut_slice().zeroize();
    out
}

fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, SecretError> {
    let mut raw = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(&mut raw[..]).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(raw)
}

/// Decodes base64 text (standard alphabet, padding optional, surrounding
/// whitespace ignored) of exactly 32 bytes.
fn decode_key(text: &str) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(KeyProblem::Empty);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let mut buf = Zeroizing::new(Vec::with_capacity(text.len()));
    engine
        .decode_vec(text, &mut buf)
        .map_err(|_| KeyProblem::NotBase64)?;
    if buf.len() != KEY_LEN {
        return Err(KeyProblem::WrongLength { got: buf.len() });
    }
    let mut raw = Zeroizing::new([0u8; KEY_LEN]);
    raw.copy_from_slice(&buf);
    Ok(raw)
}

fn io_err(path: &Path, action: &'static str, source: io::Error) -> SecretError {
    SecretError::KeyFileIo {
        path: path.to_owned(),
        action,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; // bytes 0..32

    #[test]
    fn env_value_wins_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        let key = MasterKey::from_env_value_or_file(ENV_VAR, Some(B64.into()), &file).unwrap();
        assert_eq!(
            key.source(),
            &KeySource::Env {
                var: ENV_VAR.into()
            }
        );
        assert!(
            !file.exists(),
            "the key file must not be created when the env var is set"
        );
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(
            key.fingerprint(),
            MasterKey::from_bytes(bytes).fingerprint()
        );
    }

    #[test]
    fn env_value_tolerates_newline_and_missing_padding() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        let a = MasterKey::from_env_value_or_file(ENV_VAR, Some(format!("{B64}\n").into()), &file)
            .unwrap();
        let b = MasterKey::from_env_value_or_file(
            ENV_VAR,
            Some(B64.trim_end_matches('=').into()),
            &file,
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn unset_env_falls_back_to_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        let key = MasterKey::from_env_value_or_file(ENV_VAR, None, &file).unwrap();
        assert_eq!(
            key.source(),
            &KeySource::File {
                path: file.clone(),
                created: true
            }
        );
        let again = MasterKey::from_env_value_or_file(ENV_VAR, None, &file).unwrap();
        assert_eq!(
            again.source(),
            &KeySource::File {
                path: file,
                created: false
            }
        );
        assert_eq!(key.fingerprint(), again.fingerprint());
    }

    fn env_err(value: &str) -> SecretError {
        let dir = tempfile::tempdir().unwrap();
        MasterKey::from_env_value_or_file(ENV_VAR, Some(value.into()), &dir.path().join("key"))
            .unwrap_err()
    }

    #[test]
    fn bad_env_values_are_clear_errors() {
        for (value, want) in [
            ("", KeyProblem::Empty),
            ("  \n", KeyProblem::Empty),
            ("not base64 at all!", KeyProblem::NotBase64),
            ("AAAA", KeyProblem::WrongLength { got: 3 }),
            // 33 bytes
            (
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",
                KeyProblem::WrongLength { got: 33 },
            ),
            // 31 bytes
            (
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",
                KeyProblem::WrongLength { got: 31 },
            ),
        ] {
            let err = env_err(value);
            match &err {
                SecretError::MalformedEnvKey { var, problem } => {
                    assert_eq!(var, ENV_VAR);
                    assert_eq!(*problem, want, "value {value:?}");
                }
                other => panic!("unexpected error for {value:?}: {other:?}"),
            }
            let msg = err.to_string();
            assert!(
                msg.starts_with("DIALTONE_SECRET_KEY must be 32 bytes in base64"),
                "message: {msg}"
            );
            assert!(
                msg.contains("head -c 32 /dev/urandom | base64"),
                "message: {msg}"
            );
        }
    }

    #[test]
    fn env_error_does_not_echo_the_value() {
        let almost = "c2VjcmV0LWtleS1tYXRlcmlhbC10aGF0LWlzLXRvby1sb25nLWJ5LWEtbG90";
        let msg = env_err(almost).to_string();
        assert!(!msg.contains(almost), "{msg}");
        // Invalid symbol errors from base64 would name the offending byte; ours don't.
        let msg = env_err("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=").to_string();
        assert!(!msg.contains('*'), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_env_value_is_malformed() {
        use std::os::unix::ffi::OsStringExt as _;
        let dir = tempfile::tempdir().unwrap();
        let err = MasterKey::from_env_value_or_file(
            ENV_VAR,
            Some(OsString::from_vec(vec![0xff, 0xfe, 0x41])),
            &dir.path().join("key"),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            SecretError::MalformedEnvKey {
                problem: KeyProblem::NotBase64,
                ..
            }
        ));
    }

    #[test]
    fn hkdf_expand_matches_rfc5869_test_case_3() {
        // RFC 5869 A.3 (SHA-256, no salt, no info): PRK and first OKM block.
        let prk: [u8; 32] = [
            0x19, 0xef, 0x24, 0xa3, 0x2c, 0x71, 0x7b, 0x16, 0x7f, 0x33, 0xa9, 0x1d, 0x6f, 0x64,
            0x8b, 0xdf, 0x96, 0x59, 0x67, 0x76, 0xaf, 0xdb, 0x63, 0x77, 0xac, 0x43, 0x4c, 0x1c,
            0x29, 0x3c, 0xcb, 0x04,
        ];
        let okm = hkdf_expand(&prk, b"");
        let want: [u8; 32] = [
            0x8d, 0xa4, 0xe7, 0x75, 0xa5, 0x63, 0xc1, 0x8f, 0x71, 0x5f, 0x80, 0x2a, 0x06, 0x3c,
            0x5a, 0x31, 0xb8, 0xa1, 0x1f, 0x5c, 0x5e, 0xe1, 0x87, 0x9e, 0xc3, 0x45, 0x4e, 0x5f,
            0x3c, 0x73, 0x8d, 0x2d,
        ];
        assert_eq!(*okm, want);
    }
}
