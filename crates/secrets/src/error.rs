use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong loading a key or opening a sealed value.
///
/// No variant ever carries key material, plaintext, or the text of a sealed
/// value (which, for a row that was never sealed, might be a plaintext
/// credential), so errors are safe to log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The key environment variable is set but does not hold 32 bytes of base64.
    #[error(
        "{var} must be 32 bytes in base64 ({problem}); generate one with `head -c 32 /dev/urandom | base64`"
    )]
    MalformedEnvKey { var: String, problem: KeyProblem },

    /// The key file exists but does not hold 32 bytes of base64. It is never
    /// overwritten: values sealed with the key it used to hold would be lost.
    #[error(
        "key file {path} must contain 32 bytes in base64 ({problem}); restore it from backup, or, if nothing was ever sealed with it, replace it: `head -c 32 /dev/urandom | base64 > {path} && chmod 600 {path}`",
        path = .path.display()
    )]
    MalformedKeyFile { path: PathBuf, problem: KeyProblem },

    /// The key file can be read or written by group or others (unix).
    #[error(
        "key file {path} is accessible by group or others (mode {mode:04o}); refusing to use it: run `chmod 600 {path}`",
        path = .path.display(), mode = .mode
    )]
    KeyFileTooOpen { path: PathBuf, mode: u32 },

    /// Reading or creating the key file failed.
    #[error("key file {path}: cannot {action}: {source}", path = .path.display())]
    KeyFileIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random number generator failed.
    #[error("the operating system random number generator failed: {0}")]
    Random(String),

    /// The input is not a sealed value of any known shape (missing prefix,
    /// bad fingerprint, bad base64, truncated).
    #[error("not a valid sealed secret: {0}")]
    Malformed(&'static str),

    /// The input looks like a sealed value of a format version this build
    /// does not understand (e.g. `v2:` from a newer Dialtone).
    #[error("sealed secret uses format {}, this build understands only v1", found.as_deref().unwrap_or("(unknown)"))]
    UnsupportedVersion { found: Option<String> },

    /// The value was sealed under a different master key.
    #[error(
        "sealed secret was sealed with key {sealed_with}, but the loaded key is {loaded}: load the original key (DIALTONE_SECRET_KEY or the key file), or rekey the store"
    )]
    WrongKey { sealed_with: String, loaded: String },

    /// Authentication failed under the right key: the value was modified or
    /// truncated, or it was sealed for a different secret name (moved between rows).
    #[error(
        "sealed secret failed authentication: it was modified, or it belongs to a different secret than the one asked for"
    )]
    AuthenticationFailed,

    /// The opened value is not UTF-8, so it cannot be a [`crate::Secret`].
    #[error("the opened secret is not valid UTF-8")]
    NotUtf8,
}

/// Why a key in base64 was rejected. Never includes any of the key's characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// Empty (or only whitespace).
    Empty,
    /// Not valid base64.
    NotBase64,
    /// Valid base64 of the wrong number of bytes.
    WrongLength { got: usize },
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyProblem::Empty => f.write_str("it is empty"),
            KeyProblem::NotBase64 => f.write_str("it is not valid base64"),
            KeyProblem::WrongLength { got } => write!(f, "it decodes to {got} bytes, not 32"),
        }
    }
}
