//! Admin-defined patterns: named regular expressions with a mask label.

use regex::{Regex, RegexBuilder};
use std::fmt;
use std::sync::Arc;

/// The most memory one compiled pattern may take (the `regex` crate's
/// `size_limit`; its default is 10 MiB). Patterns that would need more are
/// refused with [`PolicyError::PatternTooLarge`], so a hostile or careless
/// pattern (`\w{1000}{1000}`) cannot exhaust memory.
pub const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// The most memory the lazy DFA of one pattern may cache while searching.
/// Past it the `regex` crate falls back to slower engines, still in linear
/// time.
pub const PATTERN_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Why a policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The regular expression does not compile.
    #[error("pattern {name:?} is not a valid regular expression: {reason}")]
    InvalidPattern { name: String, reason: String },
    /// The regular expression compiles to more than [`PATTERN_SIZE_LIMIT`].
    #[error("pattern {name:?} is too large: compiled, it would exceed the {limit}-byte limit")]
    PatternTooLarge { name: String, limit: usize },
    /// A pattern with no name cannot be audited.
    #[error("a pattern needs a name")]
    EmptyName,
    /// A pattern with no label would leave no trace in the transcript.
    #[error("pattern {name:?} needs a label to replace its matches with")]
    EmptyLabel { name: String },
    /// Two patterns with one name could not be told apart in the audit.
    #[error("there is already a pattern named {name:?}")]
    DuplicatePattern { name: String },
}

/// A named regular expression whose matches are replaced by `[label]`.
///
/// Compiled with the [`regex`] crate, whose searches run in time linear in the
/// text whatever the pattern (no backtracking, so no ReDoS), and with its size
/// capped by [`PATTERN_SIZE_LIMIT`]. Use `(?i)` for case-insensitive matching.
#[derive(Clone)]
pub struct Pattern {
    name: Arc<str>,
    label: Arc<str>,
    regex: Regex,
}

impl Pattern {
    /// Compiles `regex`, refusing it with an error that names the pattern when
    /// it is invalid or too large.
    ///
    /// ```
    /// use dialtone_redact::{Pattern, PolicyError};
    /// let p = Pattern::new("member", r"\bMBR-[0-9]{6}\b", "member id").unwrap();
    /// assert_eq!(p.name(), "member");
    /// assert!(matches!(Pattern::new("broken", "(", "x"), Err(PolicyError::InvalidPattern { .. })));
    /// ```
    pub fn new(name: &str, regex: &str, label: &str) -> Result<Pattern, PolicyError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(PolicyError::EmptyName);
        }
        if label.trim().is_empty() {
            return Err(PolicyError::EmptyLabel { name: name.to_owned() });
        }
        let regex = RegexBuilder::new(regex)
            .size_limit(PATTERN_SIZE_LIMIT)
            .dfa_size_limit(PATTERN_DFA_SIZE_LIMIT)
            .build()
            .map_err(|e| match e {
                regex::Error::CompiledTooBig(limit) => PolicyError::PatternTooLarge { name: name.to_owned(), limit },
                other => PolicyError::InvalidPattern { name: name.to_owned(), reason: other.to_string() },
            })?;
        Ok(Pattern { name: name.into(), label: label.trim().into(), regex })
    }

    /// The pattern's name, as reported in [`Kind::Pattern`](crate::Kind::Pattern).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What its matches are replaced with, inside the mask.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The regular expression's source.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    pub(crate) fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.name)
    }

    pub(crate) fn regex(&self) -> &Regex {
        &self.regex
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pattern")
            .field("name", &self.name)
            .field("regex", &self.regex.as_str())
            .field("label", &self.label)
            .finish()
    }
}
