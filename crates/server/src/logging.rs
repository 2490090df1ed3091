//! Personal data out of the logs, centrally: [`Masked`] wraps the writer of
//! `tracing-subscriber`'s formatter (text or JSON), so every line — any
//! crate's, any field, any message — passes [`mask_line`] before it is written:
//!
//! - the value of a field whose name says it holds personal data (`from`,
//!   `to`, `number`, `phone`, `caller`, `name`, `email`, … and names ending in
//!   `_phone`, `_number`, `_name`, `_email`) becomes `***`, except that a
//!   phone number keeps its last two digits;
//! - any phone-number-like run of 7 to 15 digits anywhere (a `+`, spaces,
//!   dashes and parentheses allowed between them) keeps its last two digits:
//!   `+14155550167` → `+1********67`. Dates, times and record ids are left alone.
//!
//! `dialtone_phone::E164`'s `Debug` already redacts; this is the net under it.

use regex::Regex;
use std::io::Write;
use std::sync::LazyLock;
use tracing_subscriber::fmt::MakeWriter;

/// Field names (lower case) whose values are personal data.
const PERSONAL: &[&str] = &[
    "from", "to", "number", "phone", "caller", "callee", "name", "first_name", "last_name", "firstname", "lastname", "email", "dialled", "dialed",
    "customer", "contact", "username", "ani", "dnis",
];
const PERSONAL_SUFFIXES: &[&str] = &["_phone", "_number", "_name", "_email", "phonenumber"];

/// Whether a field of this name holds personal data.
pub fn personal(field: &str) -> bool {
    let f = field.to_ascii_lowercase();
    PERSONAL.contains(&f.as_str()) || PERSONAL_SUFFIXES.iter().any(|s| f.ends_with(s))
}

/// `key=value` (text format: value quoted or up to a space) and `"key":"value"` /
/// `"key":number` (JSON format).
static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<pre>^|[\s{,])(?:(?P<tk>[A-Za-z_][A-Za-z0-9_.]*)=(?P<tv>"(?:[^"\\]|\\.)*"|[^\s,}]+)|"(?P<jk>[A-Za-z_][A-Za-z0-9_.]*)":(?P<jv>"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*))"#)
        .expect("a valid pattern")
});

/// A phone-number-like run: an optional `+` and `(`, then digits with single
/// separators (space, dash, parentheses) between them.
static PHONE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\+?\(?\d(?:[ \-()]{0,2}\d)+").expect("a valid pattern"));

/// Masks one phone-like run if it is one: 7–15 digits, not part of a word,
/// a decimal, a date or a time.
fn mask_phone(text: &str, start: usize, run: &str) -> Option<String> {
    let digits = run.chars().filter(char::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return None;
    }
    let before = text[..start].chars().next_back();
    let after = text[start + run.len()..].chars().next();
    // Part of an identifier, a decimal or a version (a1234567, 0.1234567, v1.2).
    if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == ':')
        || after.is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':' || (c == '.' && !run.ends_with(' ')))
    {
        // A number at the end of a sentence ("…from +14155550167.") is still a number.
        let sentence_end = after == Some('.') && text[start + run.len() + 1..].chars().next().is_none_or(|c| c.is_whitespace() || c == '"');
        let word = before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == ':') || after.is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
        if word || !sentence_end {
            return None;
        }
    }
    // A date (2026-12-05) or a date and time.
    let plain: String = run.chars().take(10).collect();
    if plain.len() == 10 && plain.as_bytes()[4] == b'-' && plain.as_bytes()[7] == b'-' {
        return None;
    }
    Some(mask_digits(run))
}

/// Keeps a leading `+` and its first digit, and the last two digits.
fn mask_digits(run: &str) -> String {
    let digits: Vec<char> = run.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    let mut out = String::with_capacity(n + 1);
    let plus = run.trim_start_matches('(').starts_with('+');
    for (i, d) in digits.iter().enumerate() {
        if i + 2 >= n || (plus && i == 0) {
            out.push(*d);
        } else {
            out.push('*');
        }
    }
    if plus { format!("+{out}") } else { out }
}

/// Every phone-like run in `text`, masked.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in PHONE.find_iter(text) {
        // A trailing separator is not part of the number.
        let run = m.as_str().trim_end_matches([' ', '-', '(', ')']);
        let start = m.start();
        if let Some(masked) = mask_phone(text, start, run) {
            out.push_str(&text[last..start]);
            out.push_str(&masked);
            last = start + run.len();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// A personal field's value: a phone number keeps its last two digits,
/// anything else becomes `***` (quotes kept).
fn mask_value(value: &str) -> String {
    let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
    let inner = if quoted { &value[1..value.len() - 1] } else { value };
    let digits = inner.chars().filter(char::is_ascii_digit).count();
    let phoneish = digits >= 3 && inner.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let masked = if inner.is_empty() || inner == "null" || inner == "None" {
        inner.to_string()
    } else if phoneish {
        mask_digits(inner)
    } else {
        "***".to_string()
    };
    if quoted { format!("\"{masked}\"") } else { masked }
}

/// The start of the next text-format field (` key=`).
static NEXT_FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s[A-Za-z_][A-Za-z0-9_.]*=").expect("a valid pattern"));

/// Masks personal fields, then phone-like runs, in one formatted log line.
pub fn mask_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    let mut at = 0;
    while let Some(c) = FIELD.captures_at(line, at) {
        let whole = c.get(0).expect("group 0");
        at = whole.end().max(at + 1);
        let (key, value, json) = match (c.name("tk"), c.name("tv"), c.name("jk"), c.name("jv")) {
            (Some(k), Some(v), ..) => (k, v, false),
            (.., Some(k), Some(v)) => (k, v, true),
            _ => continue,
        };
        if !personal(key.as_str()) || value.start() < last {
            continue;
        }
        // Text format writes Display values unquoted, spaces and all: the
        // value runs to the next ` key=` or the end of the line.
        let end = if !json && !value.as_str().starts_with('"') {
            NEXT_FIELD.find_at(line, value.start()).map_or(line.trim_end_matches(['\n', '\r']).len(), |m| m.start())
        } else {
            value.end()
        };
        let end = end.max(value.start());
        out.push_str(&line[last..value.start()]);
        out.push_str(&mask_value(&line[value.start()..end]));
        last = end;
        at = at.max(end);
    }
    out.push_str(&line[last..]);
    mask_numbers(&out)
}

/// A `MakeWriter` whose writers mask each event before passing it on.
#[derive(Debug, Clone)]
pub struct Masked<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Masked<M> {
    type Writer = MaskedWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedWriter { inner: self.0.make_writer(), buf: Vec::new() }
    }
}

/// Collects one event's bytes; masks and writes them when dropped (the
/// formatter makes one writer per event) or flushed.
pub struct MaskedWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> MaskedWriter<W> {
    fn emit(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let masked: String = text.split_inclusive('\n').map(mask_line).collect();
        self.buf.clear();
        self.inner.write_all(masked.as_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Write for MaskedWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.emit()
    }
}

impl<W: Write> Drop for MaskedWriter<W> {
    fn drop(&mut self) {
        let _ = self.emit();
    }
}

/// The log format of `dialtone serve` (`--log-format`, `DIALTONE_LOG_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("log format is text or json, not {other:?}")),
        }
    }
}

/// A subscriber writing masked lines to `writer` in `format`, with `filter`
/// (`DIALTONE_LOG` syntax). ANSI colours are off: they would split field names.
pub fn subscriber<W>(format: Format, filter: tracing_subscriber::EnvFilter, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Masked(writer)).with_ansi(false);
    match format {
        Format::Json => Box::new(builder.json().finish()),
        Format::Text => Box::new(builder.finish()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input line, masked line).
    const CASES: &[(&str, &str)] = &[
        // Text format: personal fields by name.
        (r#"INFO dialtone_server::calldesk: call started key=SIM-1 from=+14155550167 to=+18005550100"#, r#"INFO dialtone_server::calldesk: call started key=SIM-1 from=+1********67 to=+1********00"#),
        (r#"DEBUG hub: screen pop sent key=SIM-1 outcome="Matched" name=Some("Ada Lovelace")"#, r#"DEBUG hub: screen pop sent key=SIM-1 outcome="Matched" name=***"#),
        ("DEBUG hub: screen pop sent name=Ada Lovelace outcome=Matched", "DEBUG hub: screen pop sent name=*** outcome=Matched"),
        ("INFO x: caller is name=Ada Lovelace\n", "INFO x: caller is name=***\n"),
        (r#"x caller_name="Grace Hopper" n=3"#, r#"x caller_name="***" n=3"#),
        // JSON format.
        (r#"{"level":"INFO","fields":{"message":"call started","key":"SIM-1","from":"+14155550167","name":"Ada Lovelace"}}"#,
         r#"{"level":"INFO","fields":{"message":"call started","key":"SIM-1","from":"+1********67","name":"***"}}"#),
        // Numbers anywhere, written any way.
        ("refused: the number (415) 555-0142 is on the Do Not Call list", "refused: the number ********42 is on the Do Not Call list"),
        ("transfer to 415-555-0142 failed", "transfer to ********42 failed"),
        ("a call from +1 415 555 0142.", "a call from +1********42."),
        ("dial 4155550142", "dial ********42"),
        // Left alone: times, dates, ids, addresses, small numbers, decimals.
        ("2026-12-05T09:44:24.123456789Z INFO x: took 1234567 ns", "2026-12-05T09:44:24.123456789Z INFO x: took *****67 ns"),
        ("record 003Dt0000012345678 stored at 127.0.0.1:5060", "record 003Dt0000012345678 stored at 127.0.0.1:5060"),
        ("version=3 migration=phone_index writes=12", "version=3 migration=phone_index writes=12"),
        ("latency 0.123456789 s", "latency 0.123456789 s"),
        ("2026-12-05 09:44:24 started", "2026-12-05 09:44:24 started"),
    ];

    #[test]
    fn the_masker_masks_numbers_and_names_and_leaves_the_rest() {
        for (input, want) in CASES {
            assert_eq!(mask_line(input), *want, "input: {input}");
        }
    }

    #[test]
    fn field_names_that_hold_personal_data() {
        for f in ["from", "To", "caller", "name", "contact_name", "mobile_phone", "FromPhoneNumber", "email"] {
            assert!(personal(f), "{f}");
        }
        for f in ["key", "outcome", "migration", "socket", "code", "provider", "message"] {
            assert!(!personal(f), "{f}");
        }
    }

    #[test]
    fn both_formats_are_masked_through_the_writer() {
        for format in [Format::Text, Format::Json] {
            let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
            let sink = buf.clone();
            let make = move || Sink(sink.clone());
            let sub = subscriber(format, tracing_subscriber::EnvFilter::new("info"), make);
            tracing::subscriber::with_default(sub, || {
                tracing::info!(from = "+14155550167", name = "Ada Lovelace", "call from +14155550167 for Ada");
            });
            let out = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
            assert!(!out.contains("4155550167"), "{format:?}: {out}");
            assert!(!out.contains("Lovelace"), "{format:?}: {out}");
            assert!(out.contains("+1********67"), "{format:?}: {out}");
        }
    }

    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
