//! Commands that act on a running server (`--server URL --token T`): a
//! blocking `ureq` agent (`--insecure` accepts a dev server's self-signed
//! certificate), JSON in and out, and Salesforce-shaped error bodies
//! (`[{"errorCode", "message"}]`) turned into messages and exit codes: the
//! caller's mistakes (4xx: a refused token, a missing permission, an unknown
//! name) exit 2, an unreachable or failing server 1.
//!
//! Blocking: call it from `tokio::task::spawn_blocking`.

use crate::{Failure, input};
use anyhow::anyhow;
use serde_json::Value;
use std::time::Duration;

/// The server's API, as the token's user.
pub struct Api {
    agent: ureq::Agent,
    base: String,
    token: String,
}

type Answer = Result<ureq::http::Response<ureq::Body>, ureq::Error>;

impl Api {
    /// Checks that `base` is a URL; nothing is sent yet.
    pub fn new(base: &str, token: &str, insecure: bool) -> Result<Api, Failure> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(input(format!("--server {base:?} is not a URL like http://127.0.0.1:8080")));
        }
        let tls = ureq::tls::TlsConfig::builder().disable_verification(insecure).build();
        let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).tls_config(tls).build();
        Ok(Api { agent: config.into(), base: base.trim_end_matches('/').to_string(), token: token.to_string() })
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `GET base+path` with query parameters; `what` names the step in messages.
    pub fn get(&self, what: &str, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
        let mut req = self.agent.get(&format!("{}{path}", self.base)).header("Authorization", &self.auth());
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        self.answer(what, req.call())
    }

    pub fn put(&self, what: &str, path: &str, body: &Value) -> Result<Value, Failure> {
        let res = self.agent.put(&format!("{}{path}", self.base)).header("Authorization", &self.auth()).send_json(body);
        self.answer(what, res)
    }

    pub fn post(&self, what: &str, path: &str, body: &Value) -> Result<Value, Failure> {
        let res = self.agent.post(&format!("{}{path}", self.base)).header("Authorization", &self.auth()).send_json(body);
        self.answer(what, res)
    }

    /// Every record of a SOQL query, following nextRecordsUrl.
    pub fn query(&self, soql: &str) -> Result<Vec<Value>, Failure> {
        let path = format!("/services/data/v{}/query", dialtone_server::rest::API_VERSION);
        let mut page = self.get("querying the org", &path, &[("q", soql)])?;
        let mut rows = Vec::new();
        loop {
            rows.extend(page["records"].as_array().cloned().unwrap_or_default());
            let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) else { return Ok(rows) };
            page = self.get("querying the org", &next, &[])?;
        }
    }

    /// The body of a successful answer, or the failure it earns.
    fn answer(&self, what: &str, res: Answer) -> Result<Value, Failure> {
        let mut res = res.map_err(|e| Failure::Runtime(anyhow!("cannot reach {}: {e}", self.base)))?;
        let status = res.status().as_u16();
        let body: Value = res.body_mut().read_json().unwrap_or(Value::Null);
        let detail = error_detail(&body);
        match status {
            200..=299 => Ok(body),
            401 => Err(input(format!("{what}: the server refused the token (401 {detail}); create one with `dialtone token create`"))),
            403 => Err(input(format!("{what}: not allowed (403 {detail})"))),
            400..=499 => Err(input(format!("{what}: {detail} ({status})"))),
            s => Err(Failure::Runtime(anyhow!("{what}: the server answered {s}: {detail}"))),
        }
    }
}

/// `ERROR_CODE message` from a Salesforce-shaped error body (or an OAuth one).
pub fn error_detail(body: &Value) -> String {
    let e = match body {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let code = e.get("errorCode").or_else(|| e.get("error")).and_then(Value::as_str);
    let message = e.get("message").or_else(|| e.get("error_description")).and_then(Value::as_str);
    match (code, message) {
        (Some(c), Some(m)) => format!("{c} {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => body.to_string(),
    }
}

/// One path segment, percent-encoded (usernames hold `@`, `+`, maybe more).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_read_as_code_and_message() {
        assert_eq!(error_detail(&json!([{"errorCode": "NOT_FOUND", "message": "no user named x"}])), "NOT_FOUND no user named x");
        assert_eq!(error_detail(&json!({"error": "invalid_grant", "error_description": "authentication failure"})), "invalid_grant authentication failure");
        assert_eq!(error_detail(&Value::Null), "null");
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(segment("ada+1@example.com"), "ada%2B1@example.com");
        assert_eq!(segment("a/b?c"), "a%2Fb%3Fc");
    }
}
