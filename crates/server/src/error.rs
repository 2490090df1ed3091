//! The one table of API error codes, and the Salesforce-shaped error body.
//!
//! Every error the REST API returns is an [`ApiError`]: an HTTP status, a
//! stable `errorCode` from [`CODES`], a message for a person, and the fields
//! concerned. The caller's mistakes echo detail; our own failures (`ours`)
//! return a generic message and log the cause once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dialtone_model::FieldError;
use dialtone_store::StoreError;

/// (errorCode, HTTP status, category, meaning) — the table behind docs/ERRORS.md.
pub const CODES: &[(&str, u16, &str, &str)] = &[
    ("INVALID_SESSION_ID", 401, "auth", "The access token is missing, expired, revoked or forged."),
    ("INVALID_GRANT", 400, "auth", "Wrong username or password, locked user, or a bad refresh token (OAuth error)."),
    ("INVALID_CLIENT", 400, "auth", "Unknown connected app or wrong client secret (OAuth error)."),
    ("UNSUPPORTED_GRANT_TYPE", 400, "auth", "grant_type is not password or refresh_token (OAuth error)."),
    ("API_DISABLED_FOR_ORG", 403, "auth", "The user's profile and permission sets do not grant ApiEnabled."),
    ("INVALID_CSRF_TOKEN", 403, "auth", "A request signed in with the console's session cookie changes something but lacks the X-CSRF-Token header of GET /api/desktop/session (or carries a wrong one)."),
    ("UNKNOWN_ACTION", 404, "request", "No desktop action of that name (Open CTI runApex): see docs/DESKTOP.md for the registered actions."),
    ("INSUFFICIENT_ACCESS_OR_READONLY", 403, "access", "The user may see the record or object but not change it this way."),
    ("NOT_FOUND", 404, "request", "No record with that id, or no such resource."),
    ("METRICS_FORBIDDEN", 403, "auth", "A client that is not on the loopback interface asked for `/metrics` without the bearer token of `DIALTONE_METRICS_TOKEN` (or with a wrong one, or none is set)."),
    ("INVALID_ORIGIN", 403, "auth", "A desktop WebSocket was opened from a page of another origin (cross-site WebSocket hijacking is refused)."),
    ("INVALID_SIGNATURE", 403, "auth", "A webhook's signature does not match (forged, altered, or signed for another URL)."),
    ("INVALID_JWT", 401, "auth", "A partner telephony request has no bearer JWT, or one that is malformed, forged, signed with another key, or for another call center."),
    ("JWT_EXPIRED", 401, "auth", "A partner telephony JWT is past its exp, or before its nbf or iat (30 seconds of leeway); sign a fresh one."),
    ("CALL_NOT_LIVE", 409, "request", "The call is no longer held by the call desk (it was closed long ago, or Dialtone restarted), so provider updates cannot reach it."),
    ("AGENT_NOT_AVAILABLE", 409, "request", "Click-to-dial: the agent is not Available, is already on a call, or has no phone connected (registered or a static SIP contact)."),
    ("SIP_NOT_RUNNING", 503, "request", "Click-to-dial needs the SIP edge: start the server with `dialtone serve --sip ADDRESS`."),
    ("CALL_NOT_FOUND", 404, "request", "The desktop knows no live call with that key for this agent (it ended long ago, was never offered to them, or Dialtone restarted)."),
    ("CALL_CONTROL_UNSUPPORTED", 409, "request", "The call's provider does not let Dialtone do this (a Twilio or partner call is controlled from the provider's phone; the SIP edge has no command channel yet), or the call is not in a state that allows it; the call's `controls` list what works."),
    ("WORK_ITEM_NOT_FOUND", 404, "request", "Routing has no decision for this call or work item: it was never routed (an outbound or simulated call placed by name), or it ended before this server started and no decision was stored on its VoiceCall."),
    ("NOT_OFFERED", 409, "request", "The work item is not offered to this agent (another agent has it, its offer timed out, or its routing has ended), so it cannot be accepted, declined or completed."),
    ("INVALID_REPORT_PARAMS", 400, "request", "A report's parameters are wrong: a date not written YYYY-MM-DD, a range that ends before it starts or is longer than about ten years, a service-level threshold outside 1–86400 seconds, or an unknown format (csv or json)."),
    ("INVALID_ROUTING_CONFIG", 400, "request", "A routing configuration file does not parse (the message gives line and column) or does not hold together (a name that resolves to nothing, an overflow loop, a bad time); every problem is listed and nothing was written."),
    ("INVALID_FLOW_CONFIG", 400, "request", "A flows file does not parse (the message gives line and column) or does not hold together (an unknown object or field, a condition that is not valid SOQL for the object, a bad merge field or action); every problem is listed with its flow and nothing was written."),
    ("FLOW_RUN_NOT_RETRYABLE", 409, "request", "Only a Parked or Failed flow run can be retried; this one succeeded, was skipped, or is already running or waiting for its next attempt."),
    ("WRAP_UP_REQUIRED", 409, "request", "An agent in After Call Work tried to go Available with a required wrap-up still unsaved; save it (`POST /api/desktop/calls/{key}/wrapup`) first. A user with Manage Call Centers may override."),
    ("INVALID_RESOLUTION", 400, "request", "A wrap-up resolution is not in the call center's list of resolutions (the message lists them)."),
    ("DO_NOT_CALL", 400, "request", "Click-to-dial refused: the record (or the number's only match) is marked Do Not Call; the message names it."),
    ("RECORDING_LINK_INVALID", 403, "access", "A recording link was altered, forged or is for another user."),
    ("RECORDING_LINK_EXPIRED", 403, "access", "A recording link is past its few minutes of life; ask for a new one."),
    ("RECORDING_REMOVED", 410, "request", "The recording reference was removed by a retention policy or an erasure."),
    ("INVALID_TYPE", 400, "request", "No object of that name (sObject type is not supported)."),
    ("INVALID_FIELD", 400, "request", "No field of that name on the object."),
    ("INVALID_FIELD_FOR_INSERT_UPDATE", 400, "request", "The field is read-only for this operation."),
    ("REQUIRED_FIELD_MISSING", 400, "request", "A required field has no value."),
    ("STRING_TOO_LONG", 400, "request", "A text value is longer than the field allows."),
    ("INVALID_TYPE_ON_FIELD_IN_RECORD", 400, "request", "A value does not fit the field's type."),
    ("INVALID_EMAIL_ADDRESS", 400, "request", "An email field holds something that is not an email address."),
    ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", 400, "request", "A restricted picklist got a value outside its list."),
    ("MALFORMED_ID", 400, "request", "An id is not a 15- or 18-character record id."),
    ("FIELD_INTEGRITY_EXCEPTION", 400, "request", "A reference points at the wrong kind of record."),
    ("DUPLICATE_VALUE", 400, "request", "A value that must be unique is already used."),
    ("MALFORMED_QUERY", 400, "query", "The SOQL or SOSL text does not parse."),
    ("INVALID_QUERY_FILTER_OPERATOR", 400, "query", "A filter compares a field with a value of the wrong type."),
    ("INVALID_QUERY_LOCATOR", 400, "query", "The nextRecordsUrl expired or never existed."),
    ("NUMBER_OUTSIDE_VALID_RANGE", 400, "query", "LIMIT or OFFSET out of range."),
    ("JSON_PARSER_ERROR", 400, "request", "The request body is not valid JSON of the expected shape."),
    ("NO_CALL_CENTER", 400, "request", "The user belongs to no call center, so has no agent presence; assign them to one (`dialtone callcenter assign`) first."),
    ("INVALID_CALL_EVENT", 400, "request", "A call event in a /api/calls/events batch has an unknown kind or a missing or malformed field; the message names its index. Nothing in the batch was applied."),
    ("EXCEEDED_MAX_SIZE_REQUEST", 413, "request", "The request body or batch is too large."),
    ("METHOD_NOT_ALLOWED", 405, "request", "The HTTP method is not supported on this resource."),
    ("REQUEST_LIMIT_EXCEEDED", 429, "request", "Too many requests; retry later."),
    ("UNKNOWN_EXCEPTION", 500, "ours", "Dialtone failed; the cause is in its log."),
];

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        let status = CODES
            .iter()
            .find(|(c, ..)| *c == code)
            .and_then(|(_, s, ..)| StatusCode::from_u16(*s).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        ApiError { status, code, message: message.into(), fields: Vec::new() }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> ApiError {
        self.fields = fields;
        self
    }

    pub fn session() -> ApiError {
        ApiError::new("INVALID_SESSION_ID", "Session expired or invalid")
    }

    pub fn not_found() -> ApiError {
        ApiError::new("NOT_FOUND", "The requested resource does not exist")
    }

    /// Our own failure: the detail goes to the log, not to the caller.
    pub fn ours(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(%cause, "request failed");
        ApiError::new("UNKNOWN_EXCEPTION", "An unexpected error occurred. The cause is in Dialtone's log.")
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"message": self.message, "errorCode": self.code, "fields": self.fields})
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        let fields = e.field.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect();
        ApiError::new(e.code, e.message).with_fields(fields)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { .. } => ApiError::not_found(),
            StoreError::Duplicate(m) => ApiError::new("DUPLICATE_VALUE", format!("duplicate value found: {m}")),
            other => ApiError::ours(other),
        }
    }
}

impl From<dialtone_soql::SoqlError> for ApiError {
    fn from(e: dialtone_soql::SoqlError) -> ApiError {
        let code = CODES.iter().map(|(c, ..)| *c).find(|c| *c == e.code()).unwrap_or("MALFORMED_QUERY");
        ApiError::new(code, e.to_string()).with_fields(e.fields().iter().map(|s| s.to_string()).collect())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::Value::Array(vec![self.body()]))).into_response()
    }
}

/// Several field errors from one record, as Salesforce lists them.
pub struct ApiErrors(pub Vec<ApiError>);

impl IntoResponse for ApiErrors {
    fn into_response(self) -> Response {
        let status = self.0.first().map_or(StatusCode::BAD_REQUEST, |e| e.status);
        let body: Vec<_> = self.0.iter().map(ApiError::body).collect();
        (status, axum::Json(serde_json::Value::Array(body))).into_response()
    }
}

impl From<ApiError> for ApiErrors {
    fn from(e: ApiError) -> ApiErrors {
        ApiErrors(vec![e])
    }
}

impl From<Vec<FieldError>> for ApiErrors {
    fn from(e: Vec<FieldError>) -> ApiErrors {
        ApiErrors(e.into_iter().map(ApiError::from).collect())
    }
}

impl From<StoreError> for ApiErrors {
    fn from(e: StoreError) -> ApiErrors {
        ApiErrors(vec![e.into()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_every_status_is_valid() {
        let mut names: Vec<_> = CODES.iter().map(|(c, ..)| *c).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CODES.len());
        for (c, s, ..) in CODES {
            assert!(StatusCode::from_u16(*s).is_ok(), "{c}");
        }
        assert_eq!(ApiError::new("NOT_FOUND", "x").status, StatusCode::NOT_FOUND);
    }
}

#[cfg(test)]
mod doc_tests {
    #[test]
    fn docs_errors_md_lists_every_code() {
        let doc = include_str!("../../../docs/ERRORS.md");
        for (code, status, ..) in super::CODES {
            let row = format!("| `{code}` | {status} |");
            assert!(doc.contains(&row), "docs/ERRORS.md lacks the row for {code} ({status})");
        }
    }
}
