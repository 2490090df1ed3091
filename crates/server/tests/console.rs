//! The console's server side in process: cookie sign-in, CSRF on cookie
//! writes, the session document, global search, desktop actions and the
//! embedded assets. The browser itself is tested in tests/browser.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use dialtone_model::{RawValue, Schema};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";

struct App {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("c.db")), "US").await.unwrap();
    let t = |s: &str| RawValue::Text(s.to_string());
    let user = Schema::standard().object("User").unwrap();
    for (name, profile) in [("ada@example.com", "Agent"), ("reader@example.com", "Read Only")] {
        let v = user
            .check_create(vec![("Username".into(), t(name)), ("LastName".into(), t("Lovelace")), ("FirstName".into(), t("Ada")), ("Email".into(), t(name)), ("ProfileName".into(), t(profile))])
            .unwrap();
        let id = store.insert(user, vec![v], None).await.unwrap().remove(0);
        auth::set_password(store.as_ref(), &id, PASSWORD).await.unwrap();
    }
    let contact = Schema::standard().object("Contact").unwrap();
    let rows = vec![
        contact.check_create(vec![("FirstName".into(), t("Maria")), ("LastName".into(), t("Anders")), ("Phone".into(), t("(415) 555-0101")), ("Email".into(), t("maria@example.com"))]).unwrap(),
        contact.check_create(vec![("FirstName".into(), t("Thomas")), ("LastName".into(), t("O'Hardy")), ("Phone".into(), t("+1 415 555 0102"))]).unwrap(),
    ];
    store.insert(contact, rows, None).await.unwrap();
    App { state: AppState::new(store).await.unwrap(), _dir: dir }
}

struct Res {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Res {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    fn code(&self) -> String {
        self.json()[0]["errorCode"].as_str().unwrap_or("").to_string()
    }
}

impl App {
    async fn send(&self, req: Request<Body>) -> Res {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        Res { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn sign_in(&self, user: &str, password: &str, next: &str) -> Res {
        let body = format!("username={}&password={}&next={}", urlencoding::encode(user), urlencoding::encode(password), urlencoding::encode(next));
        self.send(Request::post("/console/login").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)).unwrap()).await
    }

    /// Signs in; returns the session cookie's value.
    async fn cookie(&self, user: &str) -> String {
        let r = self.sign_in(user, PASSWORD, "/console").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"), "{set}");
        set.split(';').next().unwrap().strip_prefix("dialtone_sid=").unwrap().to_string()
    }

    async fn with_cookie(&self, method: &str, path: &str, cookie: &str, csrf: Option<&str>, body: Option<Value>) -> Res {
        let mut b = Request::builder().method(method).uri(path).header(header::COOKIE, format!("theme=dark; dialtone_sid={cookie}"));
        if let Some(c) = csrf {
            b = b.header("x-csrf-token", c);
        }
        let body = match body {
            Some(v) => {
                b = b.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        self.send(b.body(body).unwrap()).await
    }
}

#[tokio::test]
async fn a_wrong_password_gets_the_page_again_with_the_reason_and_no_cookie() {
    let app = spawn_app().await;
    let r = app.sign_in("ada@example.com", "wrong", "/console/list/Lead").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    assert!(r.text.contains("Wrong username or password."), "{}", r.text);
    assert!(r.text.contains(r#"value="/console/list/Lead""#), "next is kept");
    // Unknown users read the same.
    let r = app.sign_in("nobody@example.com", "wrong", "").await;
    assert!(r.text.contains("Wrong username or password."));
    // Markup in the username is escaped.
    let r = app.sign_in("<script>x</script>", "wrong", "").await;
    assert!(!r.text.contains("<script>x"), "{}", r.text);
    assert!(r.text.contains("&lt;script&gt;x"));
}

#[tokio::test]
async fn five_failures_lock_the_user_here_too() {
    let app = spawn_app().await;
    for _ in 0..auth::MAX_FAILED_LOGINS {
        app.sign_in("ada@example.com", "wrong", "").await;
    }
    let r = app.sign_in("ada@example.com", PASSWORD, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text.contains("locked"), "{}", r.text);
}

#[tokio::test]
async fn a_cookie_session_reads_freely_and_writes_only_with_the_csrf_token() {
    let app = spawn_app().await;
    let cookie = app.cookie("ada@example.com").await;
    let s = app.with_cookie("GET", "/api/desktop/session", &cookie, None, None).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text);
    let doc = s.json();
    assert_eq!(doc["user"]["username"], "ada@example.com");
    assert_eq!(doc["user"]["name"], "Ada Lovelace");
    assert_eq!(doc["permissions"]["useSoftphone"], true);
    assert_eq!(doc["callCenter"], Value::Null);
    let csrf = doc["csrfToken"].as_str().unwrap().to_string();
    assert_eq!(csrf, auth::csrf_token(&app.state.signing_key, &cookie));

    let task = json!({"Subject": "Call back"});
    let path = "/services/data/v60.0/sobjects/Task";
    let none = app.with_cookie("POST", path, &cookie, None, Some(task.clone())).await;
    assert_eq!((none.status, none.code().as_str()), (StatusCode::FORBIDDEN, "INVALID_CSRF_TOKEN"));
    let forged = app.with_cookie("POST", path, &cookie, Some(&"0".repeat(64)), Some(task.clone())).await;
    assert_eq!((forged.status, forged.code().as_str()), (StatusCode::FORBIDDEN, "INVALID_CSRF_TOKEN"));
    let other = app.cookie("reader@example.com").await;
    let theirs = auth::csrf_token(&app.state.signing_key, &other);
    let swapped = app.with_cookie("POST", path, &cookie, Some(&theirs), Some(task.clone())).await;
    assert_eq!(swapped.status, StatusCode::FORBIDDEN, "another session's token does not fit");
    let ok = app.with_cookie("POST", path, &cookie, Some(&csrf), Some(task)).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
}

#[tokio::test]
async fn console_tokens_work_only_as_cookies_and_die_at_sign_out() {
    let app = spawn_app().await;
    let cookie = app.cookie("ada@example.com").await;
    let bearer = app
        .send(Request::get("/api/desktop/session").header(header::AUTHORIZATION, format!("Bearer {cookie}")).body(Body::empty()).unwrap())
        .await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED, "a console token is no bearer token");
    let csrf = auth::csrf_token(&app.state.signing_key, &cookie);
    let no_token = app.with_cookie("POST", "/console/logout", &cookie, None, None).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let out = app.with_cookie("POST", "/console/logout", &cookie, Some(&csrf), None).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.headers.get(header::LOCATION).unwrap(), "/console/login");
    assert!(out.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().contains("Max-Age=0"));
    let after = app.with_cookie("GET", "/api/desktop/session", &cookie, None, None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_console_page_needs_a_session_and_carries_its_own_policy() {
    let app = spawn_app().await;
    let anon = app.send(Request::get("/console/r/003000000000001AAA").body(Body::empty()).unwrap()).await;
    assert_eq!(anon.status, StatusCode::SEE_OTHER);
    assert_eq!(anon.headers.get(header::LOCATION).unwrap(), "/console/login?next=%2Fconsole%2Fr%2F003000000000001AAA");
    let cookie = app.cookie("ada@example.com").await;
    let page = app.with_cookie("GET", "/console/list/Contact", &cookie, None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers.get_all(header::CONTENT_SECURITY_POLICY).iter().count(), 1, "the page's policy replaces the default");
    assert!(!page.text.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn global_search_finds_names_phones_and_emails_and_treats_input_as_text() {
    let app = spawn_app().await;
    let cookie = app.cookie("reader@example.com").await;
    let search = |q: &str| format!("/api/desktop/search?q={}", urlencoding::encode(q));
    let names = |r: &Res| r.json()["results"].as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let r = app.with_cookie("GET", &search("ander"), &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(names(&r), ["Maria Anders"]);
    assert_eq!(r.json()["results"][0]["object"], "Contact");
    let r = app.with_cookie("GET", &search("4155550101"), &cookie, None, None).await;
    assert_eq!(names(&r), ["Maria Anders"], "through the phone index");
    let r = app.with_cookie("GET", &search("maria@example"), &cookie, None, None).await;
    assert_eq!(names(&r), ["Maria Anders"]);
    let r = app.with_cookie("GET", &search("O'Hardy"), &cookie, None, None).await;
    assert_eq!(names(&r), ["Thomas O'Hardy"]);
    for hostile in ["%", "_%_", "' OR Name != '", "\\"] {
        let r = app.with_cookie("GET", &search(hostile), &cookie, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{hostile}: {}", r.text);
        assert!(names(&r).is_empty(), "{hostile} matched {:?}", names(&r));
    }
    let long = app.with_cookie("GET", &search(&"x".repeat(101)), &cookie, None, None).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn desktop_actions_run_by_name_and_unknown_names_are_errors() {
    let app = spawn_app().await;
    let cookie = app.cookie("ada@example.com").await;
    let csrf = auth::csrf_token(&app.state.signing_key, &cookie);
    let r = app.with_cookie("POST", "/api/desktop/actions/DialtoneLookup.findByPhone", &cookie, Some(&csrf), Some(json!({"params": {"number": "+1 415 555 0101"}}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json()["result"]["records"][0]["name"], "Maria Anders");
    let r = app.with_cookie("POST", "/api/desktop/actions/DialtoneLookup.findByPhone", &cookie, Some(&csrf), Some(json!({"params": {}}))).await;
    assert_eq!(r.code(), "REQUIRED_FIELD_MISSING");
    let r = app.with_cookie("POST", "/api/desktop/actions/Nope.nothing", &cookie, Some(&csrf), Some(json!({}))).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::NOT_FOUND, "UNKNOWN_ACTION"));
}

#[tokio::test]
async fn scripts_and_styles_are_served_with_their_types_and_revalidated() {
    let app = spawn_app().await;
    for (path, ty) in [
        ("/support/api/60.0/lightning/opencti.js", "text/javascript"),
        ("/support/api/52.0/lightning/opencti_min.js", "text/javascript"),
        ("/assets/css/console.css", "text/css"),
        ("/assets/js/console/main.js", "text/javascript"),
        ("/assets/js/console/flows.js", "text/javascript"),
    ] {
        let r = app.send(Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(ty), "{path}");
        assert_eq!(r.headers[header::CACHE_CONTROL], "no-cache", "{path}");
        let tag = r.headers[header::ETAG].to_str().unwrap().to_string();
        let again = app.send(Request::get(path).header(header::IF_NONE_MATCH, &tag).body(Body::empty()).unwrap()).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
    }
    let same = app.send(Request::get("/support/api/60.0/lightning/opencti_min.js").body(Body::empty()).unwrap()).await;
    assert!(same.text.contains("window.sforce.opencti = api"));
    for missing in ["/support/api/9.0/lightning/opencti.js", "/support/api/60.0/lightning/other.js", "/assets/../Cargo.toml", "/assets/js/nope.js"] {
        let r = app.send(Request::get(missing).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}");
    }
    // Everything else keeps the strict defaults.
    let api = app.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
}
