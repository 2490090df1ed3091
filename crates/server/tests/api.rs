//! The REST API in process: the real router over a fresh SQLite store, driven
//! request by request. Real-client tests (simple-salesforce, jsforce) live in
//! tests/clients; these cover the hostile and edge cases a client library
//! would never send.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, Schema};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value, json};
use tower::ServiceExt;

struct App {
    state: AppState,
    client_id: String,
    secret: String,
    _dir: tempfile::TempDir,
}

const PASSWORD: &str = "correct horse battery";

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("t.db")), "US").await.unwrap();
    let user = Schema::standard().object("User").unwrap();
    for name in ["ada@example.com", "bob@example.com"] {
        let v = user
            .check_create(vec![
                ("Username".into(), RawValue::Text(name.into())),
                ("LastName".into(), RawValue::Text("L".into())),
                ("Email".into(), RawValue::Text(name.into())),
            ])
            .unwrap();
        let id = store.insert(user, vec![v], None).await.unwrap().remove(0);
        auth::set_password(store.as_ref(), &id, PASSWORD).await.unwrap();
    }
    let (client_id, secret) = auth::register_app(store.as_ref(), "tests").await.unwrap();
    App { state: AppState::new(store).await.unwrap(), client_id, secret, _dir: dir }
}

impl App {
    async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn token_form(&self, form: &str) -> (StatusCode, Value) {
        let req = Request::post("/services/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("host", "127.0.0.1:8080")
            .body(Body::from(form.to_string()))
            .unwrap();
        self.call(req).await
    }

    async fn login(&self, user: &str, password: &str) -> (StatusCode, Value) {
        let form = format!(
            "grant_type=password&client_id={}&client_secret={}&username={}&password={}",
            self.client_id,
            self.secret,
            urlencoding::encode(user),
            urlencoding::encode(password)
        );
        self.token_form(&form).await
    }

    async fn token(&self, user: &str) -> String {
        let (s, body) = self.login(user, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn api(&self, token: &str, method: &str, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Body::from(body.unwrap_or("").to_string()))
            .unwrap();
        self.call(req).await
    }
}

const V: &str = "/services/data/v60.0";

fn code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_answers_like_salesforce() {
    let app = spawn_app().await;
    let (s, body) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["instance_url"], "http://127.0.0.1:8080");
    assert_eq!(body["token_type"], "Bearer");
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("http://127.0.0.1:8080/id/00D"), "{id}");
    assert!(id.rsplit('/').next().unwrap().starts_with("005"));

    // refresh_token grant gives a new working access token, without a new refresh token.
    let rt = body["refresh_token"].as_str().unwrap();
    let (s, refreshed) = app
        .token_form(&format!("grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={rt}", app.client_id, app.secret))
        .await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    let (s, _) = app.api(refreshed["access_token"].as_str().unwrap(), "GET", &format!("{V}/sobjects"), None).await;
    assert_eq!(s, StatusCode::OK);

    // An access token is not a refresh token.
    let at = body["access_token"].as_str().unwrap();
    let (s, e) = app.token_form(&format!("grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={at}", app.client_id, app.secret)).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_and_repeated_failures_lock_the_user() {
    let app = spawn_app().await;
    let (s, e) = app.token_form(&format!("grant_type=password&client_id={}&client_secret=wrong&username=ada@example.com&password={PASSWORD}", app.client_id)).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let (s, e) = app.token_form("grant_type=password&client_id=nope&client_secret=x&username=a&password=b").await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_client_id")));
    let (s, e) = app.token_form(&format!("grant_type=client_credentials&client_id={}&client_secret={}", app.client_id, app.secret)).await;
    assert_eq!((s, e["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
    let (_, unknown) = app.login("nobody@example.com", PASSWORD).await;
    let (_, wrong) = app.login("ada@example.com", "wrong password").await;
    assert_eq!(unknown, wrong, "the answer does not tell which usernames exist");
    for _ in 0..4 {
        app.login("ada@example.com", "wrong password").await;
    }
    let (s, e) = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e["error_description"].as_str().unwrap().contains("locked"), "{e}");
    // Another user is not affected.
    assert_eq!(app.login("bob@example.com", PASSWORD).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_missing_and_revoked_tokens_get_invalid_session() {
    let app = spawn_app().await;
    let good = app.token("ada@example.com").await;
    for t in ["", "00DDt0000000001!forged", &format!("{good}x"), "Bearer"] {
        let (s, body) = app.api(t, "GET", &format!("{V}/sobjects"), None).await;
        assert_eq!((s, code(&body)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"), "{t:?}");
    }
    let req = Request::get(format!("{V}/sobjects")).body(Body::empty()).unwrap();
    assert_eq!(app.call(req).await.0, StatusCode::UNAUTHORIZED);
    let req = Request::post("/services/oauth2/revoke").header("content-type", "application/x-www-form-urlencoded").body(Body::from(format!("token={good}"))).unwrap();
    assert_eq!(app.call(req).await.0, StatusCode::OK);
    assert_eq!(app.api(&good, "GET", &format!("{V}/sobjects"), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_hostile_bodies_get_clear_errors_and_write_nothing() {
    let app = spawn_app().await;
    let t = app.token("ada@example.com").await;
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        ("Contact", "{\"LastName\":", StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        ("Contact", "[1,2,3]", StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        ("Contact", "{\"LastName\":{\"nested\":1}}", StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"),
        ("Contact", "{\"LastName\":\"x\",\"Bogus__c\":1}", StatusCode::BAD_REQUEST, "INVALID_FIELD"),
        ("Contact", "{\"FirstName\":\"x\"}", StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"),
        ("Contact", "{\"LastName\":\"x\",\"Id\":\"003Dt0000000001IAA\"}", StatusCode::BAD_REQUEST, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ("Contact", "{\"LastName\":\"x\",\"Birthdate\":\"last tuesday\"}", StatusCode::BAD_REQUEST, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ("Contact", "{\"LastName\":\"x\",\"AccountId\":\"00QDt0000000001IAA\"}", StatusCode::BAD_REQUEST, "FIELD_INTEGRITY_EXCEPTION"),
        ("Lead", "{\"LastName\":\"x\",\"Company\":\"y\",\"Status\":\"Nope\"}", StatusCode::BAD_REQUEST, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ("NoSuchObject", "{}", StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("CallCenter", "{\"Name\":\"x\",\"InternalName\":\"x\"}", StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"),
    ];
    for (object, body, status, want) in cases {
        let (s, b) = app.api(&t, "POST", &format!("{V}/sobjects/{object}"), Some(body)).await;
        assert_eq!((s, code(&b)), (*status, *want), "{object} {body}: {b}");
    }
    let huge = format!("{{\"LastName\":\"{}\"}}", "x".repeat(dialtone_server::MAX_BODY + 10));
    let (s, b) = app.api(&t, "POST", &format!("{V}/sobjects/Contact"), Some(&huge)).await;
    assert_eq!((s, code(&b)), (StatusCode::PAYLOAD_TOO_LARGE, "EXCEEDED_MAX_SIZE_REQUEST"));
    let (_, q) = app.api(&t, "GET", &format!("{V}/query?q=SELECT+COUNT()+FROM+Contact"), None).await;
    assert_eq!(q["totalSize"], 0, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_read_update_delete_with_bad_ids_handled() {
    let app = spawn_app().await;
    let t = app.token("ada@example.com").await;
    let (s, b) = app.api(&t, "POST", &format!("{V}/sobjects/Contact"), Some(r#"{"attributes":{"type":"Contact"},"FirstName":"Ada","LastName":"Lovelace","Phone":"(415) 555-1212"}"#)).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = b["id"].as_str().unwrap().to_string();
    let (s, rec) = app.api(&t, "GET", &format!("{V}/sobjects/Contact/{}", &id[..15]), None).await;
    assert_eq!(s, StatusCode::OK, "a 15-character id is accepted");
    assert_eq!(rec["Phone"], "(415) 555-1212", "the phone comes back as written");
    assert_eq!(rec["Id"], id.as_str());
    let (_, only) = app.api(&t, "GET", &format!("{V}/sobjects/Contact/{id}?fields=Name,Phone"), None).await;
    assert_eq!(only.as_object().unwrap().len(), 3, "{only}");
    for bad in ["nope", "003Dt0000000999IAA", "00QDt0000000001IAA", "003%27%20OR%201=1"] {
        let (s, b) = app.api(&t, "GET", &format!("{V}/sobjects/Contact/{bad}"), None).await;
        assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{bad}");
    }
    let (s, _) = app.api(&t, "PATCH", &format!("{V}/sobjects/Contact/{id}"), Some(r#"{"Title":"Countess"}"#)).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = app.api(&t, "PATCH", &format!("{V}/sobjects/Contact/{id}"), Some(r#"{"LastName":null}"#)).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"));
    let (_, rec) = app.api(&t, "GET", &format!("{V}/sobjects/Contact/{id}"), None).await;
    assert_eq!((rec["Title"].as_str(), rec["LastName"].as_str()), (Some("Countess"), Some("Lovelace")));
    let (_, found) = app.api(&t, "GET", "/api/phone/lookup?number=%2B1%20415-555-1212", None).await;
    assert_eq!(found["matches"][0]["id"], id.as_str());
    let (_, sosl) = app.api(&t, "GET", &format!("{V}/search?q=FIND%20%7B4155551212%7D%20IN%20PHONE%20FIELDS%20RETURNING%20Contact(Id%2C%20Name)"), None).await;
    assert_eq!(sosl["searchRecords"][0]["Name"], "Ada Lovelace");
    assert_eq!(app.api(&t, "DELETE", &format!("{V}/sobjects/Contact/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.api(&t, "DELETE", &format!("{V}/sobjects/Contact/{id}"), None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composite_batches_honour_all_or_none_and_size_limits() {
    let app = spawn_app().await;
    let t = app.token("ada@example.com").await;
    let batch = |all: bool| {
        json!({"allOrNone": all, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "One"},
            {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
            {"attributes": {"type": "Lead"}, "LastName": "Two", "Company": "X"},
        ]})
        .to_string()
    };
    let (s, b) = app.api(&t, "POST", &format!("{V}/composite/sobjects"), Some(&batch(true))).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.as_array().unwrap().iter().all(|r| r["success"] == false), "{b}");
    assert_eq!(b[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(b[1]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    let (_, q) = app.api(&t, "GET", &format!("{V}/query?q=SELECT+COUNT()+FROM+Contact"), None).await;
    assert_eq!(q["totalSize"], 0);

    let (_, b) = app.api(&t, "POST", &format!("{V}/composite/sobjects"), Some(&batch(false))).await;
    let ok: Vec<bool> = b.as_array().unwrap().iter().map(|r| r["success"].as_bool().unwrap()).collect();
    assert_eq!(ok, [true, false, true]);

    let too_many: Vec<Value> = (0..201).map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("n{i}")})).collect();
    let (s, b) = app.api(&t, "POST", &format!("{V}/composite/sobjects"), Some(&json!({"records": too_many}).to_string())).await;
    assert_eq!((s, code(&b)), (StatusCode::PAYLOAD_TOO_LARGE, "EXCEEDED_MAX_SIZE_REQUEST"));

    let (_, q) = app.api(&t, "GET", &format!("{V}/query?q=SELECT+Id+FROM+Contact"), None).await;
    let id = q["records"][0]["Id"].as_str().unwrap().to_string();
    let (_, d) = app.api(&t, "DELETE", &format!("{V}/composite/sobjects?ids={id},nope"), None).await;
    assert_eq!((d[0]["success"].as_bool(), d[1]["success"].as_bool()), (Some(true), Some(false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_paging_is_private_to_its_user_and_errors_are_salesforce_shaped() {
    let app = spawn_app().await;
    let ada = app.token("ada@example.com").await;
    let bob = app.token("bob@example.com").await;
    for chunk in 0..3 {
        let recs: Vec<Value> = (0..200).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("L{chunk}-{i}"), "Company": "C"})).collect();
        let (s, _) = app.api(&ada, "POST", &format!("{V}/composite/sobjects"), Some(&json!({"records": recs}).to_string())).await;
        assert_eq!(s, StatusCode::OK);
    }
    let req = Request::get(format!("{V}/query?q=SELECT+Id,+LastName+FROM+Lead"))
        .header("authorization", format!("Bearer {ada}"))
        .header("sforce-query-options", "batchSize=250")
        .body(Body::empty())
        .unwrap();
    let (_, first) = app.call(req).await;
    assert_eq!((first["totalSize"].as_u64(), first["done"].as_bool(), first["records"].as_array().map(Vec::len)), (Some(600), Some(false), Some(250)));
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    assert_eq!(code(&app.api(&bob, "GET", &next, None).await.1), "INVALID_QUERY_LOCATOR", "another user cannot read the cursor");
    let mut seen = 250;
    let mut url = Some(next);
    while let Some(u) = url {
        let (s, page) = app.api(&ada, "GET", &u, None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        seen += page["records"].as_array().unwrap().len();
        url = page["nextRecordsUrl"].as_str().map(str::to_string);
    }
    assert_eq!(seen, 600);
    for (q, want) in [
        ("SELECT+Id+FORM+Lead", "MALFORMED_QUERY"),
        ("SELECT+Bogus+FROM+Lead", "INVALID_FIELD"),
        ("SELECT+Id+FROM+Nothing", "INVALID_TYPE"),
        ("SELECT+Id+FROM+Lead+WHERE+NumberOfEmployees+=+'many'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT+Id+FROM+Lead+OFFSET+5000", "NUMBER_OUTSIDE_VALID_RANGE"),
    ] {
        let (s, b) = app.api(&ada, "GET", &format!("{V}/query?q={q}"), None).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{q}: {b}");
    }
    let (s, b) = app.api(&ada, "GET", &format!("{V}/query/01gNOPE-2000"), None).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_rate_limited_and_responses_carry_security_headers() {
    let app = spawn_app().await;
    let mut limited = false;
    for _ in 0..dialtone_server::limits::SIGN_IN_PER_MINUTE + 1 {
        let (s, e) = app.login("nobody-here@example.com", "guess").await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(e["error"], "rate_limited");
            limited = true;
        }
    }
    assert!(limited, "the 21st attempt in a minute is refused");
    let res = router(app.state.clone()).oneshot(Request::get("/health").body(Body::empty()).unwrap()).await.unwrap();
    for h in ["x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy", "cache-control"] {
        assert!(res.headers().contains_key(h), "{h} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_api_tokens_work_until_revoked() {
    let app = spawn_app().await;
    let user = app.state.store.find_user_by_username("ada@example.com").await.unwrap().unwrap().id().unwrap();
    let token = auth::issue_api_token(app.state.store.as_ref(), &user, "nightly").await.unwrap();
    assert_eq!(app.api(&token, "GET", &format!("{V}/sobjects"), None).await.0, StatusCode::OK);
    app.state.store.revoke_token(&auth::sha256_hex(&token)).await.unwrap();
    assert_eq!(app.api(&token, "GET", &format!("{V}/sobjects"), None).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_through_search_and_query_parameters_stays_data() {
    let app = spawn_app().await;
    let t = app.token("ada@example.com").await;
    let (s, _) = app.api(&t, "POST", &format!("{V}/sobjects/Contact"), Some(r#"{"LastName":"O'Brien","Phone":"(415) 555-1212"}"#)).await;
    assert_eq!(s, StatusCode::CREATED);
    for term in ["' OR 1=1 --", "4155551212') OR ('1'='1", "x}; DROP TABLE sobj_contact; --"] {
        let q = format!("FIND {{{term}}} IN PHONE FIELDS RETURNING Contact(Id)");
        let (s, b) = app.api(&t, "GET", &format!("{V}/search?q={}", urlencoding::encode(&q)), None).await;
        assert!(s == StatusCode::OK || s == StatusCode::BAD_REQUEST, "{term}: {s}");
        if s == StatusCode::OK {
            assert!(b["searchRecords"].as_array().unwrap().len() <= 1, "{term}: {b}");
        }
        let (s, b) = app.api(&t, "GET", &format!("/api/phone/lookup?number={}", urlencoding::encode(term)), None).await;
        assert_eq!(s, StatusCode::OK);
        assert!(b["matches"].as_array().unwrap().len() <= 1);
    }
    for (q, want) in [
        (r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien'", 1),
        (r"SELECT Id FROM Contact WHERE LastName = 'x\' OR LastName != \'y'", 0),
        ("SELECT Id FROM Contact WHERE LastName = 'x' OR LastName != 'y'", 1),
    ] {
        let (s, b) = app.api(&t, "GET", &format!("{V}/query?q={}", urlencoding::encode(q)), None).await;
        assert_eq!((s, b["totalSize"].as_u64()), (StatusCode::OK, Some(want)), "{q}: {b}");
    }
    let (_, b) = app.api(&t, "GET", &format!("{V}/query?q={}", urlencoding::encode("SELECT COUNT() FROM Contact")), None).await;
    assert_eq!(b["totalSize"], 1, "the table is still there");
}
