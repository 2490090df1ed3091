//! Transcript redaction before storage, for PCI DSS and privacy: call
//! transcripts arrive one utterance at a time, and what leaves this crate is
//! what may be stored.
//!
//! A [`Redactor`] per call applies a [`Policy`] to each utterance and returns
//! the [`Redacted`] text with a list of [`Removal`]s: what *kind* of data was
//! removed and where it was in the original text, never the value itself, so
//! the caller can count and audit without keeping the secret. Sans-IO: no
//! threads, no clock, no logging.
//!
//! # What is removed
//!
//! * **Payment card numbers**: 13–19 digits that pass the Luhn check,
//!   written in figures with spaces, dashes or dots between the groups
//!   (`4111 1111 1111 1111`, `3782-822463-10005`), or spelled out the way
//!   speech-to-text writes them (`four one one one…`, `oh`/`zero`/`nought`,
//!   `double four`, `triple one`, `forty-one eleven…`), or a mix. A number that
//!   fails Luhn (an order number) is kept. Masked as `[card ••••1111]`
//!   ([`MaskStyle`]).
//! * **Security codes**: 3–4 digits after "CVV", "CVC", "CV2", "security
//!   code", "verification code", "digit code", "on the back"…, and 4–6 digits
//!   after "PIN", in figures or words. When the keyword ends an utterance
//!   ("What's the security code?"), the next utterance that has digits is
//!   searched too.
//! * **National identifiers** ([`NationalId`]): US SSNs (`123-45-6789`,
//!   `123 45 6789`, or nine digits in any form after "SSN"/"social"), checked
//!   against the never-issued ranges; UK National Insurance numbers
//!   (`AB 12 34 56 C`) with HMRC's prefix rules; and any [`IdDetector`] you
//!   plug in.
//! * **Admin patterns** ([`Pattern`]): named regular expressions with a label,
//!   compiled with the linear-time `regex` crate under a size cap.
//! * **Paused stretches**: between a pause and a resume (an explicit
//!   [`Redactor::pause`] or a trigger phrase such as `[[pause]]`), every
//!   utterance is replaced whole by `[recording paused]`.
//!
//! Where detections overlap they are merged into one removal of the
//! strongest kind (card, then security code, then national identifier, then
//! pattern), covering all of them.
//!
//! # What is not
//!
//! Detection is per utterance: a card number split across two utterances
//! (the caller read half, paused, then read the rest) is found in neither,
//! and the pause/resume procedure, or joining speech-to-text segments per
//! speaker turn before redaction, is the control for that. Digits written in
//! scripts other than ASCII (`４１１１`, `٤١١١`), number words in languages
//! other than English, and homophones ("for", "to", "won") are not read as
//! digits. Expiry dates, names and addresses are not removed (add a
//! [`Pattern`] where needed). A Luhn-valid 13–19 digit number that is not a
//! card (about one random number in ten) is masked anyway: that is the
//! price of not missing cards.
//!
//! ```
//! use dialtone_redact::{Kind, Policy, Redactor};
//!
//! let mut call = Redactor::new(Policy::default());
//! let out = call.utterance("sure, it's 4111 1111 1111 1111, security code 123");
//! assert_eq!(out.text, "sure, it's [card ••••1111], security code [cvv]");
//! assert_eq!(out.removed[0].kind, Kind::Card);
//! assert_eq!(out.removed[0].range, 11..30);
//!
//! call.pause();
//! assert_eq!(call.utterance("my SSN is 123-45-6789").text, "[recording paused]");
//! call.resume();
//! assert_eq!(call.utterance("order 1234567812345678").text, "order 1234567812345678");
//! ```

mod card;
mod keyword;
mod lex;
mod luhn;
mod mask;
mod national;
mod pattern;

pub use luhn::luhn_valid;
pub use mask::MaskStyle;
pub use national::{IdDetector, NationalId};
pub use pattern::{PATTERN_DFA_SIZE_LIMIT, PATTERN_SIZE_LIMIT, Pattern, PolicyError};

use keyword::{Armed, Trigger};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The kind of data a [`Removal`] took out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A payment card number (PAN).
    Card,
    /// A card security code (CVV2/CVC2/CID).
    Cvv,
    /// A PIN.
    Pin,
    /// A US Social Security number.
    Ssn,
    /// A UK National Insurance number.
    Nino,
    /// An identifier found by a custom [`IdDetector`], by its label.
    NationalId(Arc<str>),
    /// A match of an admin [`Pattern`], by the pattern's name.
    Pattern(Arc<str>),
    /// A whole utterance spoken while recording was paused.
    Paused,
}

impl Kind {
    /// Which kind wins when detections overlap: lower is stronger.
    fn rank(&self) -> u8 {
        match self {
            Kind::Paused => 0,
            Kind::Card => 1,
            Kind::Cvv | Kind::Pin => 2,
            Kind::Ssn | Kind::Nino => 3,
            Kind::NationalId(_) => 4,
            Kind::Pattern(_) => 5,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Card => f.write_str("card"),
            Kind::Cvv => f.write_str("cvv"),
            Kind::Pin => f.write_str("pin"),
            Kind::Ssn => f.write_str("ssn"),
            Kind::Nino => f.write_str("ni number"),
            Kind::NationalId(label) => f.write_str(label),
            Kind::Pattern(name) => write!(f, "pattern {name}"),
            Kind::Paused => f.write_str("paused"),
        }
    }
}

/// One stretch of the original utterance that was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// What it was.
    pub kind: Kind,
    /// Where it was, in bytes of the *original* utterance.
    pub range: Range<usize>,
}

/// An utterance fit for storage.
///
/// Holds only redacted text, so its `Debug` is as safe to log as the text is
/// to store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Redacted {
    /// The utterance with every removal replaced by its mask.
    pub text: String,
    /// What was removed, in order of position.
    pub removed: Vec<Removal>,
}

impl Redacted {
    /// Whether nothing was removed.
    pub fn is_clean(&self) -> bool {
        self.removed.is_empty()
    }

    /// How many removals of `kind` there were.
    pub fn count(&self, kind: &Kind) -> usize {
        self.removed.iter().filter(|r| &r.kind == kind).count()
    }
}

/// What to redact and how to write the masks. Build one per tenant or
/// queue, and share it between calls (a [`Redactor`] holds it in an `Arc`).
///
/// [`Policy::default`] turns on everything this crate knows: cards, security
/// codes, US SSNs and UK NI numbers, with `[[pause]]` / `[[resume]]` as
/// trigger phrases.
#[derive(Debug, Clone)]
pub struct Policy {
    cards: bool,
    security_codes: bool,
    national_ids: Vec<NationalId>,
    patterns: Vec<Pattern>,
    /// Lower-cased, none empty.
    pause_phrases: Vec<String>,
    /// Lower-cased, none empty.
    resume_phrases: Vec<String>,
    mask: MaskStyle,
    paused_text: String,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            cards: true,
            security_codes: true,
            national_ids: vec![NationalId::UsSsn, NationalId::UkNino],
            patterns: Vec::new(),
            pause_phrases: vec!["[[pause]]".into()],
            resume_phrases: vec!["[[resume]]".into()],
            mask: MaskStyle::default(),
            paused_text: "[recording paused]".into(),
        }
    }
}

fn phrases(list: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    list.into_iter().map(|p| p.as_ref().trim().to_lowercase()).filter(|p| !p.is_empty()).collect()
}

impl Policy {
    /// A policy that removes nothing and has no trigger phrases: a base to
    /// build a narrow policy on.
    pub fn none() -> Policy {
        Policy {
            cards: false,
            security_codes: false,
            national_ids: Vec::new(),
            pause_phrases: Vec::new(),
            resume_phrases: Vec::new(),
            ..Policy::default()
        }
    }

    /// Whether to remove payment card numbers.
    #[must_use]
    pub fn with_cards(mut self, on: bool) -> Policy {
        self.cards = on;
        self
    }

    /// Whether to remove CVVs and PINs introduced by their keywords.
    #[must_use]
    pub fn with_security_codes(mut self, on: bool) -> Policy {
        self.security_codes = on;
        self
    }

    /// Replaces the national identifiers to look for.
    #[must_use]
    pub fn with_national_ids(mut self, ids: impl IntoIterator<Item = NationalId>) -> Policy {
        self.national_ids = ids.into_iter().collect();
        self
    }

    /// Adds a national identifier to look for.
    #[must_use]
    pub fn with_national_id(mut self, id: NationalId) -> Policy {
        if !self.national_ids.contains(&id) {
            self.national_ids.push(id);
        }
        self
    }

    /// Adds an admin pattern: matches of `regex` are replaced by `[label]` and
    /// reported as [`Kind::Pattern`]`(name)`. Refused, naming the pattern, when
    /// the regex does not compile or is too large, or the name is taken.
    ///
    /// ```
    /// use dialtone_redact::{Policy, Redactor};
    /// let policy = Policy::default().with_pattern("member", r"\bMBR-[0-9]{6}\b", "member id")?;
    /// let out = Redactor::new(policy).utterance("it's MBR-123456");
    /// assert_eq!(out.text, "it's [member id]");
    /// # Ok::<(), dialtone_redact::PolicyError>(())
    /// ```
    pub fn with_pattern(self, name: &str, regex: &str, label: &str) -> Result<Policy, PolicyError> {
        self.with_compiled_pattern(Pattern::new(name, regex, label)?)
    }

    /// Adds a pattern compiled with [`Pattern::new`]. Refused when the name
    /// is taken.
    pub fn with_compiled_pattern(mut self, pattern: Pattern) -> Result<Policy, PolicyError> {
        if self.patterns.iter().any(|p| p.name() == pattern.name()) {
            return Err(PolicyError::DuplicatePattern { name: pattern.name().to_owned() });
        }
        self.patterns.push(pattern);
        Ok(self)
    }

    /// Phrases that pause recording when an utterance contains them, matched
    /// without regard to case. Empty phrases are ignored.
    #[must_use]
    pub fn with_pause_phrases(mut self, list: impl IntoIterator<Item = impl AsRef<str>>) -> Policy {
        self.pause_phrases = phrases(list);
        self
    }

    /// Phrases that resume recording; see [`Policy::with_pause_phrases`].
    #[must_use]
    pub fn with_resume_phrases(mut self, list: impl IntoIterator<Item = impl AsRef<str>>) -> Policy {
        self.resume_phrases = phrases(list);
        self
    }

    /// How masks are written.
    #[must_use]
    pub fn with_mask(mut self, mask: MaskStyle) -> Policy {
        self.mask = mask;
        self
    }

    /// What a paused utterance is replaced with (default `[recording paused]`).
    #[must_use]
    pub fn with_paused_text(mut self, text: impl Into<String>) -> Policy {
        self.paused_text = text.into();
        self
    }

    pub fn cards(&self) -> bool {
        self.cards
    }

    pub fn security_codes(&self) -> bool {
        self.security_codes
    }

    pub fn national_ids(&self) -> &[NationalId] {
        &self.national_ids
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    pub fn pause_phrases(&self) -> &[String] {
        &self.pause_phrases
    }

    pub fn resume_phrases(&self) -> &[String] {
        &self.resume_phrases
    }

    pub fn mask(&self) -> &MaskStyle {
        &self.mask
    }

    pub fn paused_text(&self) -> &str {
        &self.paused_text
    }

    fn enabled(&self, trigger: Trigger) -> bool {
        match trigger {
            Trigger::Cvv | Trigger::Pin => self.security_codes,
            Trigger::Ssn => self.national_ids.contains(&NationalId::UsSsn),
        }
    }

    /// Redacts one utterance; returns what it leaves armed for the next.
    fn apply(&self, text: &str, armed: Option<Armed>) -> (Redacted, Option<Armed>) {
        let mut found: Vec<Found<'_>> = Vec::new();
        let lexed = lex::lex(text);
        if self.cards {
            for hit in card::find(&lexed) {
                found.push(Found { range: hit.range, kind: Kind::Card, label: "card", last4: Some(hit.last4) });
            }
        }
        let mut codes = Vec::new();
        let armed = keyword::scan(&lexed, armed, |t| self.enabled(t), &mut codes);
        for hit in codes {
            let (kind, label) = match hit.trigger {
                Trigger::Cvv => (Kind::Cvv, "cvv"),
                Trigger::Pin => (Kind::Pin, "pin"),
                Trigger::Ssn => (Kind::Ssn, NationalId::UsSsn.label()),
            };
            found.push(Found { range: hit.range, kind, label, last4: None });
        }
        for id in &self.national_ids {
            let kind = match id {
                NationalId::UsSsn => Kind::Ssn,
                NationalId::UkNino => Kind::Nino,
                NationalId::Custom(d) => Kind::NationalId(d.label().into()),
            };
            for range in id.find(text) {
                found.push(Found { range, kind: kind.clone(), label: id.label(), last4: None });
            }
        }
        for p in &self.patterns {
            for m in p.regex().find_iter(text).filter(|m| !m.is_empty()) {
                found.push(Found {
                    range: m.range(),
                    kind: Kind::Pattern(p.shared_name()),
                    label: p.label(),
                    last4: None,
                });
            }
        }
        (self.assemble(text, found), armed)
    }

    /// Merges overlapping detections and writes the masks.
    fn assemble(&self, text: &str, mut found: Vec<Found<'_>>) -> Redacted {
        found.sort_by_key(|f| (f.range.start, f.kind.rank()));
        // (covered range, index of the strongest detection in it)
        let mut merged: Vec<(Range<usize>, usize)> = Vec::new();
        for (i, f) in found.iter().enumerate() {
            match merged.last_mut() {
                Some((range, strongest)) if f.range.start < range.end => {
                    range.end = range.end.max(f.range.end);
                    if f.kind.rank() < found[*strongest].kind.rank() {
                        *strongest = i;
                    }
                }
                _ => merged.push((f.range.clone(), i)),
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut removed = Vec::with_capacity(merged.len());
        let mut at = 0;
        for (range, i) in merged {
            let f = &found[i];
            out.push_str(&text[at..range.start]);
            self.mask.render(f.label, f.last4.as_deref(), &mut out);
            at = range.end;
            removed.push(Removal { kind: f.kind.clone(), range });
        }
        out.push_str(&text[at..]);
        Redacted { text: out, removed }
    }
}

/// One detection before merging. No `Debug`: it holds a card's last four.
struct Found<'p> {
    range: Range<usize>,
    kind: Kind,
    label: &'p str,
    last4: Option<String>,
}

/// Redacts one utterance on its own: no pause state, and no security-code
/// keyword carried over from an earlier utterance. Trigger phrases are not
/// honoured either; use a [`Redactor`] for calls.
pub fn redact(policy: &Policy, text: &str) -> Redacted {
    policy.apply(text, None).0
}

/// The redaction state of one call: whether recording is paused, and a
/// security-code question still waiting for its answer. Create one per call
/// and feed it the call's utterances in order.
///
/// It holds no text of the call, so its `Debug` is safe to log.
#[derive(Debug, Clone)]
pub struct Redactor {
    policy: Arc<Policy>,
    paused: bool,
    armed: Option<Armed>,
}

impl Redactor {
    /// A redactor for a new call, not paused.
    pub fn new(policy: impl Into<Arc<Policy>>) -> Redactor {
        Redactor { policy: policy.into(), paused: false, armed: None }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Pauses recording (the agent pressed "pause"): utterances are replaced
    /// whole until [`Redactor::resume`].
    pub fn pause(&mut self) {
        self.paused = true;
        self.armed = None;
    }

    /// Resumes recording. Harmless when not paused.
    pub fn resume(&mut self) {
        self.paused = false;
        self.armed = None;
    }

    /// Whether recording is paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Redacts the call's next utterance.
    ///
    /// An utterance spoken while paused, or containing a pause phrase, is
    /// replaced whole by the policy's paused text, even if it also contains a
    /// resume phrase: what was said around the markers cannot be told apart
    /// from what was said between them. After it, the call is paused or not
    /// according to the last marker in it.
    pub fn utterance(&mut self, text: &str) -> Redacted {
        let (saw_pause, resumed) = self.markers(text);
        let paused_during = self.paused || saw_pause;
        if let Some(resumed) = resumed {
            self.paused = !resumed;
        }
        if paused_during {
            self.armed = None;
            return Redacted {
                text: self.policy.paused_text.clone(),
                removed: vec![Removal { kind: Kind::Paused, range: 0..text.len() }],
            };
        }
        let (redacted, armed) = self.policy.apply(text, self.armed.take());
        self.armed = armed;
        redacted
    }

    /// Whether `text` contains a pause phrase, and whether its last marker
    /// (if any) resumes.
    fn markers(&self, text: &str) -> (bool, Option<bool>) {
        let policy = &self.policy;
        if policy.pause_phrases.is_empty() && policy.resume_phrases.is_empty() {
            return (false, None);
        }
        let lower = text.to_lowercase();
        let last = |list: &[String]| list.iter().filter_map(|p| lower.rfind(p.as_str())).max();
        let (pause, resume) = (last(&policy.pause_phrases), last(&policy.resume_phrases));
        let resumed = match (pause, resume) {
            (None, None) => None,
            (Some(_), None) => Some(false),
            (None, Some(_)) => Some(true),
            (Some(p), Some(r)) => Some(r > p),
        };
        (pause.is_some(), resumed)
    }
}
