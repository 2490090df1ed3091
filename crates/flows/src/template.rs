//! Action values with merge fields: `{!Field}`, `{!Account.Name}` (a parent's
//! field, as SOQL names it), `{!$Now}` (UTC date-time), `{!$Today}`,
//! `{!$Today+2}` / `{!$Today-1}` (dates, days added), and any `{!$Name}`
//! the caller supplies (a threshold alert's `{!$Count}`, `{!$Total}`,
//! `{!$Percent}`). A null field renders as nothing.

use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{0:?} is not closed: a merge field is {{!Name}}")]
    Unclosed(String),
    #[error("{{!{0}}} is not a merge field: use {{!Field}}, {{!Parent.Field}}, {{!$Now}}, {{!$Today}} or {{!$Today+N}}")]
    Bad(String),
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part<'a> {
    Text(&'a str),
    Field(&'a str),
    Var(&'a str),
}

fn parts(t: &str) -> Result<Vec<Part<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find("{!") {
        if i > 0 {
            out.push(Part::Text(&rest[..i]));
        }
        let after = &rest[i + 2..];
        let end = after.find('}').ok_or_else(|| TemplateError::Unclosed(t.to_string()))?;
        let name = after[..end].trim();
        if let Some(v) = name.strip_prefix('$') {
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphanumeric() || "+-_".contains(c)) {
                return Err(TemplateError::Bad(name.to_string()));
            }
            out.push(Part::Var(v));
        } else {
            let ok = !name.is_empty()
                && name.split('.').all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                && name.split('.').count() <= 3;
            if !ok {
                return Err(TemplateError::Bad(name.to_string()));
            }
            out.push(Part::Field(name));
        }
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Part::Text(rest));
    }
    Ok(out)
}

/// The record fields a template reads (`Id`, `Account.Name`), in order, without repeats.
pub fn fields(t: &str) -> Result<Vec<String>, TemplateError> {
    let mut out: Vec<String> = Vec::new();
    for p in parts(t)? {
        if let Part::Field(f) = p
            && !out.iter().any(|x| x.eq_ignore_ascii_case(f))
        {
            out.push(f.to_string());
        }
    }
    Ok(out)
}

/// Checks a template's shape (for import); unknown `$` variables are refused
/// unless in `extra_vars`.
pub fn check(t: &str, extra_vars: &[&str]) -> Result<(), TemplateError> {
    for p in parts(t)? {
        if let Part::Var(v) = p
            && builtin(v, OffsetDateTime::UNIX_EPOCH).is_none()
            && !extra_vars.iter().any(|x| x.eq_ignore_ascii_case(v))
        {
            return Err(TemplateError::Bad(format!("${v}")));
        }
    }
    Ok(())
}

fn builtin(v: &str, now: OffsetDateTime) -> Option<String> {
    if v.eq_ignore_ascii_case("Now") {
        return Some(format_datetime(now));
    }
    let rest = v.strip_prefix("Today").or_else(|| v.strip_prefix("today"))?;
    let days: i64 = match rest {
        "" => 0,
        r if r.starts_with('+') => r[1..].parse().ok()?,
        r if r.starts_with('-') => -r[1..].parse::<i64>().ok()?,
        _ => return None,
    };
    if days.abs() > 36_500 {
        return None;
    }
    let d = (now + Duration::days(days)).date();
    Some(format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

fn format_datetime(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Fills a template: `field` gives a record field's text (`None`: null, or
/// not read), `var` a caller-supplied `$` variable.
pub fn render(
    t: &str,
    now: OffsetDateTime,
    field: &dyn Fn(&str) -> Option<String>,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(t.len());
    for p in parts(t)? {
        match p {
            Part::Text(s) => out.push_str(s),
            Part::Field(f) => out.push_str(&field(f).unwrap_or_default()),
            Part::Var(v) => match builtin(v, now).or_else(|| var(v)) {
                Some(s) => out.push_str(&s),
                None => return Err(TemplateError::Bad(format!("${v}"))),
            },
        }
    }
    Ok(out)
}
