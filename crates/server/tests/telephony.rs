//! Telephony edges end to end through the router: Twilio's recording and
//! transcription callbacks (signed, idempotent, redacted) and the simulator's
//! `POST /api/calls/events` (authenticated, permission-checked, all or nothing).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, Schema, Value};
use dialtone_server::twilio::{TwilioTrunk, credential_name, signature, trunk_setting};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tower::ServiceExt;

const PUBLIC: &str = "https://cti.example.test";
const ACCOUNT: &str = "AC00000000000000000000000000000001";
const AUTH_TOKEN: &str = "twilio-auth-token-for-tests";

struct Org {
    state: AppState,
    tokens: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

async fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("t.db")), "US").await.unwrap();
    let user = Schema::standard().object("User").unwrap();
    let mut ids = Vec::new();
    for (name, profile) in [("admin", "System Administrator"), ("agent", "Agent")] {
        let u = format!("{name}@t.test");
        let v = user.check_create(vec![("Username".into(), t(&u)), ("LastName".into(), t(name)), ("Email".into(), t(&u)), ("ProfileName".into(), t(profile))]).unwrap();
        ids.push((name, store.insert(user, vec![v], None).await.unwrap().remove(0)));
    }
    let key = dialtone_secrets::MasterKey::from_bytes([7; 32]);
    let trunk = TwilioTrunk { name: "main".into(), account_sid: ACCOUNT.into(), public_url: PUBLIC.into(), call_center: "Nowhere".into() };
    store.put_setting(&trunk_setting(ACCOUNT), &serde_json::to_string(&trunk).unwrap()).await.unwrap();
    let cred = credential_name("main");
    store.put_setting(&format!("credential:{cred}"), &dialtone_secrets::seal(&key, &cred, AUTH_TOKEN.as_bytes())).await.unwrap();
    let mut state = AppState::new(store).await.unwrap();
    state.master_key = Some(Arc::new(key));
    let mut tokens = HashMap::new();
    for (name, id) in ids {
        tokens.insert(name, auth::issue_api_token(state.store.as_ref(), &id, "test").await.unwrap());
    }
    Org { state, tokens, _dir: dir }
}

impl Org {
    async fn call(&self, req: Request<Body>) -> (StatusCode, Json) {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
    }

    /// A Twilio webhook, signed with the trunk's auth token unless `signed_with` says otherwise.
    async fn twilio(&self, path: &str, params: &[(&str, &str)], signed_with: Option<&str>) -> (StatusCode, Json) {
        let params: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let sig = signature(signed_with.unwrap_or(AUTH_TOKEN), &format!("{PUBLIC}{path}"), &params);
        let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", urlencoding::encode(v))).collect();
        let req = Request::post(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(Body::from(body.join("&")))
            .unwrap();
        self.call(req).await
    }

    async fn events(&self, who: Option<&str>, body: &str) -> (StatusCode, Json) {
        let mut req = Request::post("/api/calls/events").header("content-type", "application/json");
        if let Some(w) = who {
            req = req.header("authorization", format!("Bearer {}", self.tokens[w]));
        }
        self.call(req.body(Body::from(body.to_string())).unwrap()).await
    }

    async fn rows(&self, soql: &str) -> Vec<Vec<Value>> {
        let plan = dialtone_server::query::compile(self.state.store.as_ref(), soql).unwrap();
        self.state.store.query(&plan, None).await.unwrap()
    }
}

fn code(b: &Json) -> &str {
    b[0]["errorCode"].as_str().unwrap_or("")
}

fn recording_params<'a>(call: &'a str, rec: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("AccountSid", ACCOUNT),
        ("CallSid", call),
        ("RecordingSid", rec),
        ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"),
        ("RecordingDuration", "42"),
        ("RecordingStatus", "completed"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_callback_makes_one_recording_linked_to_the_call_and_a_repeat_adds_none() {
    let o = org().await;
    let call = "CA11111111111111111111111111111111";
    let (s, _) = o.twilio("/telephony/twilio/voice", &[("AccountSid", ACCOUNT), ("CallSid", call), ("From", "+14155550142"), ("To", "+18005550100")], None).await;
    assert_eq!(s, StatusCode::OK);
    let rec = "RE11111111111111111111111111111111";
    for _ in 0..2 {
        let (s, b) = o.twilio("/telephony/twilio/recording", &recording_params(call, rec), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }
    let calls = o.rows(&format!("SELECT Id, IsRecorded FROM VoiceCall WHERE VendorCallKey = '{call}'")).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0][1], Value::Bool(true));
    let recs = o.rows("SELECT VoiceCallId, VendorRecordingKey, Provider, DurationInSeconds, MediaUrl FROM VoiceCallRecording").await;
    assert_eq!(recs.len(), 1, "one recording however often Twilio calls back");
    assert_eq!(recs[0][0], calls[0][0], "linked to the call");
    assert_eq!((recs[0][1].as_str(), recs[0][2].as_str(), &recs[0][3]), (Some(rec), Some("Twilio"), &Value::Int(42)));
    assert!(recs[0][4].as_str().unwrap().starts_with("https://api.twilio.com/"), "a reference to the carrier's media");

    // In progress or failed recordings reference nothing.
    let mut p = recording_params(call, "RE22222222222222222222222222222222");
    p[5] = ("RecordingStatus", "failed");
    assert_eq!(o.twilio("/telephony/twilio/recording", &p, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(o.rows("SELECT Id FROM VoiceCallRecording").await.len(), 1);

    // After a restart the desk has forgotten the call: the callback still links
    // the stored call, and does not invent a second one.
    let mut restarted = o.state.clone();
    restarted.calls = Arc::default();
    let o2 = Org { state: restarted, tokens: HashMap::new(), _dir: tempfile::tempdir().unwrap() };
    let late = "RE33333333333333333333333333333333";
    assert_eq!(o2.twilio("/telephony/twilio/recording", &recording_params(call, late), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(o.rows(&format!("SELECT Id FROM VoiceCall WHERE VendorCallKey = '{call}'")).await.len(), 1);
    let linked = o.rows(&format!("SELECT VoiceCallId FROM VoiceCallRecording WHERE VendorRecordingKey = '{late}'")).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0][0], calls[0][0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcription_is_stored_redacted_on_its_recording() {
    let o = org().await;
    let call = "CA44444444444444444444444444444444";
    o.twilio("/telephony/twilio/voice", &[("AccountSid", ACCOUNT), ("CallSid", call), ("From", "+14155550142")], None).await;
    let rec = "RE44444444444444444444444444444444";
    o.twilio("/telephony/twilio/recording", &recording_params(call, rec), None).await;
    let said = "my card is 4111 1111 1111 1111 and my social is 123-45-6789, thanks";
    let params = [
        ("AccountSid", ACCOUNT),
        ("CallSid", call),
        ("RecordingSid", rec),
        ("TranscriptionSid", "TR44444444444444444444444444444444"),
        ("TranscriptionStatus", "completed"),
        ("TranscriptionText", said),
    ];
    let (s, b) = o.twilio("/telephony/twilio/transcription", &params, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let rows = o.rows(&format!("SELECT Transcript FROM VoiceCallRecording WHERE VendorRecordingKey = '{rec}'")).await;
    let stored = rows[0][0].as_str().expect("a transcript").to_string();
    assert!(!stored.contains("4111 1111 1111 1111") && !stored.contains("4111111111111111"), "{stored}");
    assert!(!stored.contains("123-45-6789"), "{stored}");
    assert!(stored.starts_with("my card is ") && stored.ends_with("thanks"), "the rest is kept: {stored}");
    // Nowhere in the database file either.
    for file in ["t.db", "t.db-wal"] {
        let bytes = std::fs::read(o._dir.path().join(file)).unwrap_or_default();
        assert!(!bytes.windows(19).any(|w| w == b"4111 1111 1111 1111"), "{file} holds the card number");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_recording_and_transcription_callbacks_are_refused_and_leave_no_record() {
    let o = org().await;
    let call = "CA55555555555555555555555555555555";
    let rec = "RE55555555555555555555555555555555";
    let (s, b) = o.twilio("/telephony/twilio/recording", &recording_params(call, rec), Some("not-the-token")).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INVALID_SIGNATURE"));
    let params = [("AccountSid", ACCOUNT), ("CallSid", call), ("RecordingSid", rec), ("TranscriptionSid", "TR5"), ("TranscriptionStatus", "completed"), ("TranscriptionText", "hello")];
    let (s, b) = o.twilio("/telephony/twilio/transcription", &params, Some("not-the-token")).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INVALID_SIGNATURE"));
    assert!(o.rows("SELECT Id FROM VoiceCallRecording").await.is_empty());
    assert!(o.rows("SELECT Id FROM VoiceCall").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_events_need_a_session_and_the_manage_call_centers_permission() {
    let o = org().await;
    let batch = r#"[{"vendorCallKey": "SIM-1", "seq": 1, "kind": "initiated", "direction": "inbound", "from": "+14155550142", "to": "+18005550100"}]"#;
    let (s, b) = o.events(None, batch).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));
    let (s, b) = o.events(Some("agent"), batch).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    assert!(o.rows("SELECT Id FROM VoiceCall").await.is_empty());
    let (s, b) = o.events(Some("admin"), batch).await;
    assert_eq!((s, b["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{b}");
    let calls = o.rows("SELECT CallType, VendorType FROM VoiceCall WHERE VendorCallKey = 'SIM-1'").await;
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0][0].as_str(), calls[0][1].as_str()), (Some("Inbound"), Some("ContactCenter")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_is_refused_whole_with_the_event_named() {
    let o = org().await;
    let good = json!({"vendorCallKey": "SIM-2", "seq": 1, "at": "2026-11-22T09:00:00Z", "kind": "initiated", "direction": "inbound", "from": "+14155550142", "to": "+18005550100"});
    let cases: Vec<(Json, &str, &str)> = vec![
        (json!([good, {"vendorCallKey": "SIM-2", "seq": 2, "kind": "exploded"}]), "INVALID_CALL_EVENT", "event 1: unknown kind \"exploded\""),
        (json!([good, {"vendorCallKey": "SIM-2", "seq": 2, "kind": "answered"}]), "INVALID_CALL_EVENT", "needs \"agent\""),
        (json!([good, {"vendorCallKey": "SIM-2", "seq": 2, "kind": "answered", "agent": "003000000000001AAA"}]), "INVALID_CALL_EVENT", "event 1"),
        (json!([good, {"vendorCallKey": "SIM-2", "seq": 2, "kind": "ended", "at": "yesterday"}]), "INVALID_CALL_EVENT", "\"at\""),
        (json!([good, {"vendorCallKey": "SIM-2", "seq": 2, "kind": "ended", "colour": "red"}]), "INVALID_CALL_EVENT", "colour"),
        (json!([good, {"seq": 2, "kind": "ended"}]), "INVALID_CALL_EVENT", "vendorCallKey"),
        (json!([dict_with(&good, "callCenter", "NoSuchCenter")]), "INVALID_CALL_EVENT", "no call center named"),
        (json!({"events": [good]}), "JSON_PARSER_ERROR", "JSON array"),
    ];
    for (body, want, says) in cases {
        let (s, b) = o.events(Some("admin"), &body.to_string()).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{body}: {b}");
        let message = b[0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    }
    let (s, b) = o.events(Some("admin"), "[{not json").await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));
    assert!(o.rows("SELECT Id FROM VoiceCall").await.is_empty(), "nothing of a refused batch is applied");
}

fn dict_with(v: &Json, k: &str, val: &str) -> Json {
    let mut v = v.clone();
    v[k] = json!(val);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_events_make_one_whole_call_with_one_recording() {
    let o = org().await;
    let admin = o.rows("SELECT Id FROM User WHERE Username = 'admin@t.test'").await[0][0].to_string();
    let batch = json!([
        {"vendorCallKey": "SIM-3", "seq": 1, "at": "2026-11-22T09:00:00Z", "kind": "initiated", "direction": "inbound", "from": "+14155550142", "to": "+18005550100"},
        {"vendorCallKey": "SIM-3", "seq": 2, "at": "2026-11-22T09:00:01Z", "kind": "queued", "queue": "Support"},
        {"vendorCallKey": "SIM-3", "seq": 3, "at": "2026-11-22T09:00:10Z", "kind": "answered", "agent": admin},
        {"vendorCallKey": "SIM-3", "seq": 4, "at": "2026-11-22T09:01:00Z", "kind": "held"},
        {"vendorCallKey": "SIM-3", "seq": 5, "at": "2026-11-22T09:01:30Z", "kind": "resumed"},
        {"vendorCallKey": "SIM-3", "seq": 6, "at": "2026-11-22T09:02:00Z", "kind": "transcript", "speaker": "customer", "text": "card 4111 1111 1111 1111"},
        {"vendorCallKey": "SIM-3", "seq": 7, "at": "2026-11-22T09:05:10Z", "kind": "ended", "reason": "agentDisconnect"},
        {"vendorCallKey": "SIM-3", "seq": 8, "at": "2026-11-22T09:05:12Z", "kind": "recording", "recording": "RESIM3", "url": "https://media.example.test/r.wav", "durationSeconds": 300},
        {"vendorCallKey": "SIM-3", "seq": 8, "at": "2026-11-22T09:05:12Z", "kind": "recording", "recording": "RESIM3", "url": "https://media.example.test/r.wav", "durationSeconds": 300}
    ]);
    let (s, b) = o.events(Some("admin"), &batch.to_string()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let c = o.rows("SELECT CallDisposition, CallDurationInSeconds, NumberOfHolds, QueueName, OwnerId FROM VoiceCall WHERE VendorCallKey = 'SIM-3'").await;
    assert_eq!(c.len(), 1);
    assert_eq!((c[0][0].as_str(), &c[0][1], &c[0][2], c[0][3].as_str()), (Some("completed"), &Value::Int(310), &Value::Int(1), Some("Support")));
    assert_eq!(c[0][4].to_string(), admin);
    assert_eq!(o.rows("SELECT Id FROM VoiceCallRecording WHERE VendorRecordingKey = 'RESIM3'").await.len(), 1);
}
