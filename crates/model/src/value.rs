//! Typed field values and the coercion of raw input into them.

use crate::id::SalesforceId;
use crate::schema::{Field, FieldType};
use std::fmt;
use time::format_description::well_known::Iso8601;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A stored field value. Dates are kept as `YYYY-MM-DD`, date-times as
/// `YYYY-MM-DDTHH:MM:SS.sss+0000` (UTC, fixed width, so text order is time order).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Text(s) => f.write_str(s),
        }
    }
}

/// Raw input as it arrives from JSON, CSV or a form, before the schema has seen it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

/// Why a value does not fit its field. `code` is the Salesforce error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), code, message: message.into() }
    }
}

/// Formats a UTC instant the way Salesforce returns date-times.
pub fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses the date-time forms clients send: ISO 8601 with `Z`, `+00:00` or
/// `+0000`, with or without fractional seconds; a bare date means midnight UTC.
pub fn parse_datetime(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t);
    }
    // "+0000" without a colon, as Salesforce itself writes.
    if s.len() > 5 {
        let (head, tail) = s.split_at(s.len() - 5);
        if (tail.starts_with('+') || tail.starts_with('-')) && tail[1..].bytes().all(|b| b.is_ascii_digit()) {
            let fixed = format!("{head}{}:{}", &tail[..3], &tail[3..]);
            if let Ok(t) = OffsetDateTime::parse(&fixed, &Iso8601::DEFAULT) {
                return Some(t);
            }
        }
    }
    if let Ok(t) = PrimitiveDateTime::parse(s, &Iso8601::DEFAULT) {
        return Some(t.assume_utc());
    }
    parse_date(s).map(|d| d.midnight().assume_utc())
}

pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok()
}

impl Field {
    /// Turns raw input into a stored value, or says why it does not fit.
    pub fn coerce(&self, raw: RawValue) -> Result<Value, FieldError> {
        let name = self.name.as_str();
        let bad = |msg: String| FieldError::new(name, "INVALID_TYPE_ON_FIELD_IN_RECORD", msg);
        if let RawValue::Text(s) = &raw
            && s.is_empty() && !matches!(self.ty, FieldType::Boolean) {
                return Ok(Value::Null);
            }
        let v = match (&self.ty, raw) {
            (_, RawValue::Null) => Value::Null,
            (FieldType::Boolean, RawValue::Bool(b)) => Value::Bool(b),
            (FieldType::Boolean, RawValue::Text(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Value::Bool(true),
                "false" | "0" | "no" | "" => Value::Bool(false),
                _ => return Err(bad(format!("{s:?} is not true or false"))),
            },
            (FieldType::Int, RawValue::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => Value::Int(n as i64),
            (FieldType::Int, RawValue::Text(s)) => Value::Int(
                s.trim().parse::<i64>().map_err(|_| bad(format!("{s:?} is not a whole number")))?,
            ),
            (FieldType::Double | FieldType::Currency | FieldType::Percent, RawValue::Number(n)) if n.is_finite() => {
                Value::Float(n)
            }
            (FieldType::Double | FieldType::Currency | FieldType::Percent, RawValue::Text(s)) => {
                match s.trim().parse::<f64>() {
                    Ok(n) if n.is_finite() => Value::Float(n),
                    _ => return Err(bad(format!("{s:?} is not a number"))),
                }
            }
            (FieldType::Date, RawValue::Text(s)) => {
                let d = parse_date(&s)
                    .or_else(|| parse_datetime(&s).map(|t| t.date()))
                    .ok_or_else(|| bad(format!("{s:?} is not a date (YYYY-MM-DD)")))?;
                Value::Text(format_date(d))
            }
            (FieldType::DateTime, RawValue::Text(s)) => {
                let t = parse_datetime(&s)
                    .ok_or_else(|| bad(format!("{s:?} is not a date-time (e.g. 2026-11-22T09:30:00Z)")))?;
                Value::Text(format_datetime(t))
            }
            (FieldType::Id | FieldType::Reference(_), RawValue::Text(s)) => {
                let id = SalesforceId::parse(&s)
                    .map_err(|e| FieldError::new(name, "MALFORMED_ID", format!("{e}")))?;
                if let FieldType::Reference(targets) = &self.ty {
                    let ok = targets.iter().any(|t| crate::schema::key_prefix_of(t) == Some(id.key_prefix()));
                    if !ok {
                        return Err(FieldError::new(
                            name,
                            "FIELD_INTEGRITY_EXCEPTION",
                            format!("id {id} is not a {}", targets.join(" or ")),
                        ));
                    }
                }
                Value::Text(id.to_string())
            }
            (FieldType::Picklist(values), RawValue::Text(s)) => {
                match values.iter().find(|v| v.eq_ignore_ascii_case(s.trim())) {
                    Some(v) => Value::Text((*v).to_string()),
                    None if !self.restricted => Value::Text(s),
                    None => {
                        return Err(FieldError::new(
                            name,
                            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            format!("bad value for restricted picklist field: {s} (allowed: {})", values.join(", ")),
                        ));
                    }
                }
            }
            (FieldType::Email, RawValue::Text(s)) => {
                let t = s.trim();
                let ok = t.len() <= 80
                    && t.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
                    && !t.contains(char::is_whitespace);
                if !ok {
                    return Err(FieldError::new(name, "INVALID_EMAIL_ADDRESS", format!("invalid email address: {s}")));
                }
                Value::Text(t.to_string())
            }
            (
                FieldType::String | FieldType::TextArea | FieldType::LongTextArea | FieldType::Phone | FieldType::Url,
                RawValue::Text(s),
            ) => Value::Text(s),
            (
                FieldType::String | FieldType::TextArea | FieldType::LongTextArea | FieldType::Phone | FieldType::Url,
                RawValue::Number(n),
            ) => Value::Text(if n.fract() == 0.0 { format!("{}", n as i64) } else { n.to_string() }),
            (ty, raw) => return Err(bad(format!("{raw:?} does not fit a {} field", ty.soap_type()))),
        };
        if let (Value::Text(s), true) = (&v, self.length > 0) {
            let chars = s.chars().count();
            if chars > self.length as usize {
                return Err(FieldError::new(
                    name,
                    "STRING_TOO_LONG",
                    format!("data value too large: {} characters, at most {}", chars, self.length),
                ));
            }
        }
        Ok(v)
    }
}
