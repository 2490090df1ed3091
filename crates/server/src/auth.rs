//! Sign-in: argon2id password hashes with lockout, connected apps, and OAuth2
//! access and refresh tokens (password and refresh_token grants).
//!
//! Tokens are random 256-bit values; only their SHA-256 is stored, so a copy
//! of the database does not hand out sessions.

use crate::error::ApiError;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use base64::Engine;
use dialtone_model::{SalesforceId, Value};
use dialtone_store::{App, Credential, Store, Token};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

pub const ACCESS_TTL: Duration = Duration::hours(2);
pub const REFRESH_TTL: Duration = Duration::days(30);
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT: Duration = Duration::minutes(15);

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(ApiError::ours)?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ApiError::ours)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random secret, URL-safe.
pub fn random_secret(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Registers a connected app; returns (client_id, client_secret). The
/// secret is shown once and stored only as a hash.
pub async fn register_app(store: &dyn Store, name: &str) -> Result<(String, String), dialtone_store::StoreError> {
    let client_id = format!("3MVG9{}", random_secret(24).replace(['-', '_'], "x"));
    let secret = random_secret(32);
    store.put_app(&App { client_id: client_id.clone(), name: name.to_string(), secret_hash: sha256_hex(&secret) }).await?;
    Ok((client_id, secret))
}

/// How long a console (browser) session lives.
pub const CONSOLE_TTL: Duration = Duration::hours(12);
/// The console's session cookie.
pub const SESSION_COOKIE: &str = "dialtone_sid";
/// The header that carries a cookie session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user behind a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: SalesforceId,
    pub client_id: String,
    /// What this user may do: every handler asks these, nothing else.
    pub grants: std::sync::Arc<dialtone_access::Grants>,
    /// Signed in through the console's cookie (an ambient credential: the
    /// request carried the CSRF token, and WebSockets must check Origin).
    pub via_cookie: bool,
}

/// The value of the console session cookie, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The CSRF token of a console session: hex(HMAC-SHA256(signing key, "csrf:" + token)).
/// Derived, not stored: it dies with the session.
pub fn csrf_token(signing_key: &str, session_token: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("csrf:{session_token}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a method changes nothing, so a cookie request needs no CSRF token.
pub fn is_safe_method(m: &axum::http::Method) -> bool {
    matches!(*m, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS)
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Session, ApiError> {
        // A bearer header wins; without one, the console cookie.
        let (token, via_cookie) = match parts.headers.get("authorization") {
            Some(h) => {
                let header = h.to_str().map_err(|_| ApiError::session())?;
                let token = header
                    .strip_prefix("Bearer ")
                    .or_else(|| header.strip_prefix("OAuth "))
                    .ok_or_else(ApiError::session)?
                    .trim();
                (token.to_string(), false)
            }
            None => (session_cookie(&parts.headers).ok_or_else(ApiError::session)?.to_string(), true),
        };
        let t = state.store.token(&sha256_hex(&token)).await?.ok_or_else(ApiError::session)?;
        let expired = dialtone_model::parse_datetime(&t.expires_at).is_none_or(|e| e <= OffsetDateTime::now_utc());
        // OAuth access tokens and integration API tokens open bearer sessions,
        // console tokens cookie sessions; refresh tokens neither.
        let kind_ok = if via_cookie { t.kind == "console" } else { matches!(t.kind.as_str(), "access" | "api") };
        if !kind_ok || t.revoked || expired {
            return Err(ApiError::session());
        }
        if via_cookie && !is_safe_method(&parts.method) {
            let want = csrf_token(&state.signing_key, &token);
            let got = parts.headers.get(CSRF_HEADER).and_then(|h| h.to_str().ok()).unwrap_or("");
            if !constant_time_eq(want.as_bytes(), got.as_bytes()) {
                return Err(ApiError::new(
                    "INVALID_CSRF_TOKEN",
                    "This request came with the console's session cookie but without its X-CSRF-Token header (see GET /api/desktop/session)",
                ));
            }
        }
        let grants = crate::security::AccessCache::grants(&state.access, state.store.as_ref(), &t.user_id)
            .await
            .map_err(ApiError::ours)?;
        if !grants.active {
            return Err(ApiError::session());
        }
        if !grants.has(dialtone_access::SystemPerm::ApiEnabled) {
            return Err(ApiError::new("API_DISABLED_FOR_ORG", "API is not enabled for this user: give them a profile or permission set with ApiEnabled"));
        }
        Ok(Session { user_id: t.user_id, client_id: t.client_id, grants, via_cookie })
    }
}

/// Why a console sign-in was refused, in words for the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefused {
    RateLimited,
    /// Wrong username or password (the same for both, so usernames do not leak).
    Wrong,
    Locked,
    /// Dialtone failed (the cause is in its log).
    Failed,
}

/// The console's sign-in: the same rate limits, checks and lockout as the
/// OAuth password grant. Returns the new session token (kind `console`,
/// [`CONSOLE_TTL`]); only its SHA-256 is stored.
pub async fn console_sign_in(state: &AppState, addr: &str, username: &str, password: &str) -> Result<String, SignInRefused> {
    let who = username.to_ascii_lowercase();
    let allowed = {
        let mut l = state.limits.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let by_addr = l.sign_in_addr.allow(addr, now);
        let by_user = who.is_empty() || l.sign_in_user.allow(&who, now);
        by_addr && by_user
    };
    if !allowed {
        return Err(SignInRefused::RateLimited);
    }
    let store = state.store.as_ref();
    let user_id = match password_grant(store, username, password).await {
        Ok(id) => id,
        Err(OAuthError("server_error", _)) => return Err(SignInRefused::Failed),
        Err(OAuthError(_, m)) if m.contains("locked") => return Err(SignInRefused::Locked),
        Err(_) => return Err(SignInRefused::Wrong),
    };
    let token = format!("dtc_{}", random_secret(32));
    let saved = store
        .put_token(&Token {
            token_hash: sha256_hex(&token),
            kind: "console".into(),
            user_id,
            client_id: "console".into(),
            expires_at: dialtone_model::format_datetime(OffsetDateTime::now_utc() + CONSOLE_TTL),
            revoked: false,
        })
        .await;
    match saved {
        Ok(()) => Ok(token),
        Err(e) => {
            tracing::error!(error = %e, "console sign-in: saving the session failed");
            Err(SignInRefused::Failed)
        }
    }
}

/// OAuth errors have their own shape: `{"error": …, "error_description": …}`.
pub struct OAuthError(&'static str, String);

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.0 {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, axum::Json(serde_json::json!({"error": self.0, "error_description": self.1}))).into_response()
    }
}

impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> OAuthError {
        OAuthError("server_error", e.message)
    }
}

impl From<dialtone_store::StoreError> for OAuthError {
    fn from(e: dialtone_store::StoreError) -> OAuthError {
        ApiError::from(e).into()
    }
}

async fn check_client(store: &dyn Store, form: &HashMap<String, String>) -> Result<String, OAuthError> {
    let id = form.get("client_id").ok_or(OAuthError("invalid_client_id", "client identifier invalid".into()))?;
    let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
    let app = store.app(id).await?.ok_or(OAuthError("invalid_client_id", "client identifier invalid".into()))?;
    if !constant_time_eq(sha256_hex(secret).as_bytes(), app.secret_hash.as_bytes()) {
        return Err(OAuthError("invalid_client", "invalid client credentials".into()));
    }
    Ok(app.client_id)
}

/// `POST /services/oauth2/token`.
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, OAuthError> {
    let store = state.store.as_ref();
    // Guessing passwords is slowed per account and per client address.
    let addr = crate::client_addr(&extensions);
    let who = form.get("username").map(|u| u.to_ascii_lowercase()).unwrap_or_default();
    let allowed = {
        let mut l = state.limits.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let by_addr = l.sign_in_addr.allow(&addr, now);
        let by_user = who.is_empty() || l.sign_in_user.allow(&who, now);
        by_addr && by_user
    };
    if !allowed {
        return Err(OAuthError("rate_limited", "too many sign-in attempts; wait a minute and try again".into()));
    }
    let client_id = check_client(store, &form).await?;
    let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
    let (user_id, refresh) = match grant {
        "password" => {
            let username = form.get("username").map(String::as_str).unwrap_or("");
            let password = form.get("password").map(String::as_str).unwrap_or("");
            (password_grant(store, username, password).await?, true)
        }
        "refresh_token" => {
            let rt = form.get("refresh_token").map(String::as_str).unwrap_or("");
            let t = store.token(&sha256_hex(rt)).await?;
            let valid = t.as_ref().is_some_and(|t| {
                t.kind == "refresh"
                    && !t.revoked
                    && t.client_id == client_id
                    && dialtone_model::parse_datetime(&t.expires_at).is_some_and(|e| e > OffsetDateTime::now_utc())
            });
            match t {
                Some(t) if valid => (t.user_id, false),
                _ => return Err(OAuthError("invalid_grant", "expired access/refresh token".into())),
            }
        }
        other => return Err(OAuthError("unsupported_grant_type", format!("grant type not supported: {other:?}"))),
    };
    let now = OffsetDateTime::now_utc();
    let org = state.org_id.clone();
    let access = format!("{}!{}", org.short(), random_secret(48));
    store
        .put_token(&Token {
            token_hash: sha256_hex(&access),
            kind: "access".into(),
            user_id: user_id.clone(),
            client_id: client_id.clone(),
            expires_at: dialtone_model::format_datetime(now + ACCESS_TTL),
            revoked: false,
        })
        .await?;
    let instance_url = state.instance_url(&headers);
    let issued_at = (now.unix_timestamp_nanos() / 1_000_000).to_string();
    let id_url = format!("{instance_url}/id/{org}/{user_id}");
    let signature = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(format!("{id_url}{issued_at}{}", state.signing_key).as_bytes()));
    let mut body = serde_json::json!({
        "access_token": access,
        "instance_url": instance_url,
        "id": id_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": "api refresh_token",
    });
    if refresh {
        let rt = format!("5Aep{}", random_secret(48));
        store
            .put_token(&Token {
                token_hash: sha256_hex(&rt),
                kind: "refresh".into(),
                user_id,
                client_id,
                expires_at: dialtone_model::format_datetime(now + REFRESH_TTL),
                revoked: false,
            })
            .await?;
        body["refresh_token"] = serde_json::Value::String(rt);
    }
    Ok(axum::Json(body).into_response())
}

/// `POST /services/oauth2/revoke` (token=…): revokes an access or refresh token.
pub async fn revoke(State(state): State<AppState>, Form(form): Form<HashMap<String, String>>) -> Result<StatusCode, OAuthError> {
    if let Some(t) = form.get("token") {
        state.store.revoke_token(&sha256_hex(t)).await?;
    }
    Ok(StatusCode::OK)
}

/// Checks a username and password, counting failures and locking the user
/// after [`MAX_FAILED_LOGINS`]. The same message for every failure, so the
/// endpoint does not tell which usernames exist.
pub async fn password_grant(store: &dyn Store, username: &str, password: &str) -> Result<SalesforceId, OAuthError> {
    let fail = || OAuthError("invalid_grant", "authentication failure".into());
    let user = store.find_user_by_username(username).await?.ok_or_else(fail)?;
    if user.get("IsActive") == Some(&Value::Bool(false)) {
        return Err(fail());
    }
    let id = user.id().ok_or_else(fail)?;
    let mut cred = store.credential(&id).await?.ok_or_else(fail)?;
    let now = OffsetDateTime::now_utc();
    if let Some(until) = cred.locked_until.as_deref().and_then(dialtone_model::parse_datetime)
        && until > now {
            return Err(OAuthError("invalid_grant", "this user is locked after repeated failed sign-ins; try again later".into()));
        }
    if verify_password(password, &cred.password_hash) {
        if cred.failed_attempts != 0 || cred.locked_until.is_some() {
            cred.failed_attempts = 0;
            cred.locked_until = None;
            store.put_credential(&cred).await?;
        }
        Ok(id)
    } else {
        cred.failed_attempts += 1;
        if cred.failed_attempts >= MAX_FAILED_LOGINS {
            cred.locked_until = Some(dialtone_model::format_datetime(now + LOCKOUT));
            cred.failed_attempts = 0;
        }
        store.put_credential(&cred).await?;
        Err(fail())
    }
}

/// How long an integration API token lives unless revoked.
pub const API_TOKEN_TTL: Duration = Duration::days(365);

/// Issues a revocable API token for an integration acting as `user`. The
/// token is shown once; only its hash is kept. `label` names it in the audit trail.
pub async fn issue_api_token(store: &dyn Store, user: &SalesforceId, label: &str) -> Result<String, ApiError> {
    let token = format!("dtapi_{}", random_secret(40));
    store
        .put_token(&Token {
            token_hash: sha256_hex(&token),
            kind: "api".into(),
            user_id: user.clone(),
            client_id: format!("api-token:{label}"),
            expires_at: dialtone_model::format_datetime(OffsetDateTime::now_utc() + API_TOKEN_TTL),
            revoked: false,
        })
        .await?;
    Ok(token)
}

/// Sets a user's password (CLI `user add`, demo org).
pub async fn set_password(store: &dyn Store, user_id: &SalesforceId, password: &str) -> Result<(), ApiError> {
    let hash = hash_password(password)?;
    store
        .put_credential(&Credential { user_id: user_id.clone(), password_hash: hash, failed_attempts: 0, locked_until: None })
        .await?;
    Ok(())
}
