//! Partner telephony (Salesforce Voice's Telephony Integration REST API) end to
//! end in process: the real router over a fresh SQLite store, call centers
//! imported from partner-telephony definition files whose certificates come
//! from key pairs made here (rsa for the keys, rcgen for the self-signed
//! certificates), and JWTs signed with jsonwebtoken as a provider's connector
//! signs them.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, SalesforceId, Schema};
use dialtone_server::{AppState, router};
use dialtone_store::{DynStore, Location};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use std::sync::OnceLock;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

/// A partner's signing key: PKCS#1 DER for jsonwebtoken, and its certificate.
struct Signer {
    der: Vec<u8>,
    cert_pem: String,
}

fn signer() -> Signer {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let der = key.to_pkcs1_der().unwrap().as_bytes().to_vec();
    let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let pair = rcgen::KeyPair::from_pem(&pkcs8).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["connector.partner.example".to_string()]).unwrap().self_signed(&pair).unwrap();
    Signer { der, cert_pem: cert.pem() }
}

/// Keys for call centers A and B, and one no call center knows. RSA key
/// generation is slow in a debug build, so they are made once.
fn keys() -> &'static [Signer; 3] {
    static KEYS: OnceLock<[Signer; 3]> = OnceLock::new();
    KEYS.get_or_init(|| [signer(), signer(), signer()])
}

/// A partner telephony call center file, as `dialtone callcenter import` takes it.
fn center_xml(name: &str, cert_pem: &str) -> String {
    format!(
        r#"<callCenter>
    <section sortOrder="0" name="reqGeneralInfo" label="General Information">
        <item sortOrder="0" name="reqInternalName" label="InternalName">{name}</item>
        <item sortOrder="1" name="reqDisplayName" label="Display Name">{name} Partner Telephony</item>
        <item sortOrder="2" name="reqVendorInfoApiName" label="Conversation Vendor Info Developer Name">partnerVendorInfo</item>
    </section>
    <section sortOrder="1" name="reqHvcc" label="SCV Settings">
        <item sortOrder="0" name="reqRelayState" label="Relay State">https://idp.partner.example/relay</item>
        <item sortOrder="1" name="reqIdentityUrl" label="Identity URL">https://idp.partner.example/login</item>
        <item sortOrder="2" name="reqTelephonyIntegrationCertificate" label="Telephony Integration Certificate">{cert_pem}</item>
        <item sortOrder="3" name="reqLongDistPrefix" label="Long Distance Prefix">+1</item>
    </section>
</callCenter>
"#
    )
}

struct App {
    state: AppState,
    center_a: SalesforceId,
    agent: SalesforceId,
    _dir: tempfile::TempDir,
}

fn text(s: &str) -> RawValue {
    RawValue::Text(s.to_string())
}

async fn import(store: &DynStore, name: &str, cert_pem: &str) -> SalesforceId {
    let xml = center_xml(name, cert_pem);
    let def = dialtone_callcenter::parse(xml.as_bytes(), &format!("{name}.xml")).unwrap();
    assert!(def.is_partner_telephony());
    let problems = dialtone_callcenter::validate(&def);
    assert!(problems.is_empty(), "{problems:?}");
    let cc = Schema::standard().object("CallCenter").unwrap();
    let v = cc
        .check_create(vec![
            ("Name".into(), text(&def.display_name)),
            ("InternalName".into(), text(&def.internal_name)),
            ("Format".into(), text("Legacy")),
            ("Definition".into(), text(&dialtone_callcenter::export(&def, def.format))),
        ])
        .unwrap();
    store.insert(cc, vec![v], None).await.unwrap().remove(0)
}

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("p.db")), "US").await.unwrap();
    let [a, b, _] = keys();
    let center_a = import(&store, "PartnerA", &a.cert_pem).await;
    import(&store, "PartnerB", &b.cert_pem).await;
    let user = Schema::standard().object("User").unwrap();
    let v = user
        .check_create(vec![("Username".into(), text("agent@example.com")), ("LastName".into(), text("Agent")), ("Email".into(), text("agent@example.com"))])
        .unwrap();
    let agent = store.insert(user, vec![v], None).await.unwrap().remove(0);
    App { state: AppState::new(store).await.unwrap(), center_a, agent, _dir: dir }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// A token as a connector signs it: RS256, iss the org, sub the call center.
fn claims(center: &str) -> Value {
    json!({"iss": "00D000000000001", "sub": center, "aud": "https://scrt.salesforce.com", "iat": now(), "exp": now() + 300, "jti": "t-1"})
}

fn sign(signer: &Signer, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &EncodingKey::from_rsa_der(&signer.der)).unwrap()
}

fn token_a() -> String {
    sign(&keys()[0], &claims("PartnerA"))
}

fn token_b() -> String {
    sign(&keys()[1], &claims("PartnerB"))
}

fn iso(t: OffsetDateTime) -> String {
    dialtone_model::format_datetime(t)
}

impl App {
    async fn send(&self, method: &str, path: &str, token: Option<&str>, body: String) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let res = router(self.state.clone()).oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn create(&self, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        self.send("POST", "/telephony/v1/voiceCalls", token, body.to_string()).await
    }

    async fn patch(&self, token: &str, call: &str, body: Value) -> (StatusCode, Value) {
        self.send("PATCH", &format!("/telephony/v1/voiceCalls/{call}"), Some(token), body.to_string()).await
    }

    async fn message(&self, token: &str, call: &str, body: Value) -> (StatusCode, Value) {
        self.send("POST", &format!("/telephony/v1/voiceCalls/{call}/messages"), Some(token), body.to_string()).await
    }

    async fn count(&self, soql: &str) -> u64 {
        let store = &self.state.store;
        let plan = dialtone_soql::compile(soql, store.schema(), store.dialect(), OffsetDateTime::now_utc()).unwrap();
        store.count(&plan).await.unwrap()
    }

    async fn voice_call(&self, id: &str) -> dialtone_store::Record {
        let vc = Schema::standard().object("VoiceCall").unwrap();
        self.state.store.get(vc, &SalesforceId::parse(id).unwrap()).await.unwrap().unwrap()
    }
}

fn new_call(key: &str, method: &str, start: OffsetDateTime) -> Value {
    json!({
        "callCenterApiName": "PartnerA",
        "vendorCallKey": key,
        "to": "+18005550100",
        "from": "+14155550142",
        "initiationMethod": method,
        "startTime": iso(start),
        "participants": [{"participantKey": "+14155550142", "type": "END_USER"}],
    })
}

fn code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or("")
}

fn field<'a>(r: &'a dialtone_store::Record, f: &str) -> Option<&'a str> {
    r.get(f).and_then(dialtone_model::Value::as_str)
}

fn int(r: &dialtone_store::Record, f: &str) -> Option<i64> {
    match r.get(f) {
        Some(dialtone_model::Value::Int(i)) => Some(*i),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_call_is_created_updated_and_ended_through_the_call_desk() {
    let app = spawn_app().await;
    let token = token_a();
    let t0 = OffsetDateTime::now_utc().replace_millisecond(0).unwrap() - Duration::seconds(300);
    let (s, body) = app.create(Some(&token), &new_call("c-1001", "Inbound", t0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let id = body["voiceCallId"].as_str().unwrap().to_string();
    assert!(id.starts_with("0LQ"), "{id}");

    // The same vendorCallKey again: the same call, no second record.
    let (s, again) = app.create(Some(&token), &new_call("c-1001", "Inbound", t0)).await;
    assert_eq!((s, again["voiceCallId"].as_str()), (StatusCode::OK, Some(id.as_str())));
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 1);

    // Transcript lines, by vendorCallKey; a retried messageId is a duplicate.
    let line = json!({"participantId": "+14155550142", "messageId": "m-1", "senderType": "END_USER", "message": "my order never came", "startTime": iso(t0 + Duration::seconds(20)), "endTime": iso(t0 + Duration::seconds(22))});
    assert_eq!(app.message(&token, "c-1001", line.clone()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.message(&token, "c-1001", line).await.0, StatusCode::NO_CONTENT);
    let bot = json!({"participantId": "ivr", "messageId": "m-2", "senderType": "VIRTUAL_AGENT", "message": "Let me find an agent", "startTime": (t0 + Duration::seconds(25)).unix_timestamp() * 1000});
    assert_eq!(app.message(&token, &id, bot).await.0, StatusCode::NO_CONTENT, "by voiceCallId too, with epoch milliseconds");
    let agent_line = json!({"participantId": "agent@example.com", "messageId": "m-3", "senderType": "HUMAN_AGENT", "message": "Hello, I can help"});
    assert_eq!(app.message(&token, "c-1001", agent_line).await.0, StatusCode::NO_CONTENT);
    let (s, b) = app.message(&token, "c-1001", json!({"participantId": "x", "messageId": "m-4", "senderType": "ROBOT", "message": "?"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"));
    let (s, b) = app.message(&token, "c-1001", json!({"participantId": "nobody", "messageId": "m-5", "senderType": "HUMAN_AGENT", "message": "hi"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    let (s, b) = app.message(&token, "c-1001", json!({"messageId": "m-6", "senderType": "END_USER"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"));
    assert_eq!(b[0]["fields"], json!(["participantId", "message"]));

    // Queue and answer (by voiceCallId), then holds and the recording, then the end (by vendorCallKey).
    let (s, b) = app
        .patch(&token, &id, json!({"enqueueTime": iso(t0 + Duration::seconds(2)), "queue": "Support", "acceptTime": iso(t0 + Duration::seconds(10)), "agent": "agent@example.com"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let (s, b) = app
        .patch(&token, &id, json!({"numberOfHolds": 2, "totalHoldDuration": 30, "longestHoldDuration": 20, "recordingLocation": "https://media.partner.example/rec/c-1001.wav", "totalRecordingDuration": 95}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let end = json!({"endTime": iso(t0 + Duration::seconds(100)), "isActiveCall": false, "callOrigin": "Partner", "agentInteractionDuration": 90});
    assert_eq!(app.patch(&token, "c-1001", end.clone()).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.patch(&token, "c-1001", end).await.0, StatusCode::NO_CONTENT, "a retried update changes nothing");

    let call = app.voice_call(&id).await;
    assert_eq!(field(&call, "VendorCallKey"), Some("c-1001"));
    assert_eq!(field(&call, "CallType"), Some("Inbound"));
    assert_eq!(field(&call, "CallOrigin"), Some("Partner"));
    assert_eq!(field(&call, "VendorType"), Some("PartnerTelephony"));
    assert_eq!(field(&call, "FromPhoneNumber"), Some("+14155550142"));
    assert_eq!(field(&call, "ToPhoneNumber"), Some("+18005550100"));
    assert_eq!(field(&call, "CallCenterId"), Some(app.center_a.as_str()));
    assert_eq!(field(&call, "CallStartDateTime"), Some(iso(t0).as_str()));
    assert_eq!(field(&call, "CallQueuedDateTime"), Some(iso(t0 + Duration::seconds(2)).as_str()));
    assert_eq!(field(&call, "CallAcceptDateTime"), Some(iso(t0 + Duration::seconds(10)).as_str()));
    assert_eq!(field(&call, "CallEndDateTime"), Some(iso(t0 + Duration::seconds(100)).as_str()));
    assert_eq!(int(&call, "CallDurationInSeconds"), Some(100));
    assert_eq!(field(&call, "QueueName"), Some("Support"));
    assert_eq!(field(&call, "OwnerId"), Some(app.agent.as_str()));
    assert_eq!(field(&call, "CallDisposition"), Some("completed"));
    assert_eq!((int(&call, "NumberOfHolds"), int(&call, "CustomerHoldDuration"), int(&call, "LongestHoldDuration")), (Some(2), Some(30), Some(20)));
    assert_eq!(call.get("IsRecorded"), Some(&dialtone_model::Value::Bool(true)));
    assert_eq!(app.count(&format!("SELECT COUNT() FROM VoiceCallRecording WHERE VoiceCallId = '{id}' AND DurationInSeconds = 95 AND Provider = 'Partner'")).await, 1);
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 1);

    // Unknown calls and bad values are refused and change nothing.
    let (s, b) = app.patch(&token, "no-such-call", json!({"endTime": iso(t0)})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (s, b) = app.patch(&token, "c-1001", json!({"numberOfHolds": -1})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "NUMBER_OUTSIDE_VALID_RANGE"));
    let (s, b) = app.patch(&token, "c-1001", json!({"endTime": "soon"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_TYPE_ON_FIELD_IN_RECORD"));
    let (s, b) = app.send("PATCH", "/telephony/v1/voiceCalls/c-1001", Some(&token), "{\"endTime\": ".into()).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_names_its_parent_and_the_parent_names_it() {
    let app = spawn_app().await;
    let token = token_a();
    let t0 = OffsetDateTime::now_utc().replace_millisecond(0).unwrap() - Duration::seconds(600);
    let (s, parent) = app.create(Some(&token), &new_call("out-1", "Outbound", t0)).await;
    assert_eq!(s, StatusCode::OK, "{parent}");
    let parent = parent["voiceCallId"].as_str().unwrap().to_string();
    let mut leg = new_call("out-1-transfer", "Transfer", t0 + Duration::seconds(40));
    leg["parentVoiceCallId"] = json!("out-1");
    let (s, child) = app.create(Some(&token), &leg).await;
    assert_eq!(s, StatusCode::OK, "{child}");
    let child = child["voiceCallId"].as_str().unwrap().to_string();
    assert_ne!(child, parent);

    let c = app.voice_call(&child).await;
    assert_eq!(field(&c, "CallType"), Some("Transfer"));
    assert_eq!(field(&c, "PreviousCallId"), Some(parent.as_str()));
    let p = app.voice_call(&parent).await;
    assert_eq!(field(&p, "CallType"), Some("Outbound"));
    assert_eq!(field(&p, "NextCallId"), Some(child.as_str()));
    assert_eq!(field(&p, "DisconnectReason"), Some("Transferred"));
    assert_eq!(field(&p, "CallEndDateTime"), Some(iso(t0 + Duration::seconds(40)).as_str()));

    // A parent that does not exist is refused, and nothing is written.
    let mut orphan = new_call("orphan-1", "Transfer", t0);
    orphan["parentVoiceCallId"] = json!("no-such-parent");
    let (s, b) = app.create(Some(&token), &orphan).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_that_do_not_verify_are_refused_and_leave_no_record() {
    let app = spawn_app().await;
    let [a, b, other] = keys();
    let start = OffsetDateTime::now_utc();
    let body = new_call("c-forged", "Inbound", start);

    let valid = token_a();
    let mut parts: Vec<String> = valid.split('.').map(str::to_string).collect();
    // Same signature, altered claims (a later exp).
    let mut altered = claims("PartnerA");
    altered["exp"] = json!(now() + 86_400);
    parts[1] = base64_url(&altered.to_string());
    let forged_payload = parts.join(".");
    // One signature character changed, well inside the signature.
    let mut sig: Vec<char> = valid.chars().collect();
    let i = sig.len() - 10;
    sig[i] = if sig[i] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();

    let mut expired = claims("PartnerA");
    expired["exp"] = json!(now() - 3600);
    expired["iat"] = json!(now() - 3900);
    let mut not_yet = claims("PartnerA");
    not_yet["nbf"] = json!(now() + 3600);
    let mut future_iat = claims("PartnerA");
    future_iat["iat"] = json!(now() + 3600);
    let mut no_exp = claims("PartnerA");
    no_exp.as_object_mut().unwrap().remove("exp");
    let hs256 = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims("PartnerA"), &EncodingKey::from_secret(a.cert_pem.as_bytes())).unwrap();

    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "INVALID_JWT"),
        ("not a JWT", Some("not-a-jwt".into()), "INVALID_JWT"),
        ("altered claims", Some(forged_payload), "INVALID_JWT"),
        ("altered signature", Some(sig), "INVALID_JWT"),
        ("signed with a key no call center has", Some(sign(other, &claims("PartnerA"))), "INVALID_JWT"),
        ("B's key claiming to be A", Some(sign(b, &claims("PartnerA"))), "INVALID_JWT"),
        ("a call center that does not exist", Some(sign(a, &claims("NoSuchCenter"))), "INVALID_JWT"),
        ("HS256 keyed with the certificate", Some(hs256), "INVALID_JWT"),
        ("no exp", Some(sign(a, &no_exp)), "INVALID_JWT"),
        ("expired", Some(sign(a, &expired)), "JWT_EXPIRED"),
        ("not valid yet", Some(sign(a, &not_yet)), "JWT_EXPIRED"),
        ("issued in the future", Some(sign(a, &future_iat)), "JWT_EXPIRED"),
        ("B's valid token creating a call for A", Some(token_b()), "INVALID_JWT"),
    ];
    for (what, token, want) in cases {
        let (s, b) = app.create(token.as_deref(), &body).await;
        assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, want), "{what}: {b}");
        assert!(b[0]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: Salesforce-shaped error");
    }
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 0, "a refused request leaves no VoiceCall");

    // A's call cannot be updated or transcribed with B's token.
    let (s, created) = app.create(Some(&token_a()), &new_call("c-a", "Inbound", start)).await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let (s, b) = app.patch(&token_b(), "c-a", json!({"endTime": iso(start + Duration::seconds(5))})).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "INVALID_JWT"));
    let (s, b) = app.message(&token_b(), "c-a", json!({"participantId": "p", "messageId": "m", "senderType": "END_USER", "message": "hi"})).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "INVALID_JWT"));
    let (s, b) = app.send("PATCH", "/telephony/v1/voiceCalls/c-a", None, "{}".into()).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "INVALID_JWT"));
    let call = app.voice_call(created["voiceCallId"].as_str().unwrap()).await;
    assert_eq!(field(&call, "CallEndDateTime"), None, "still in progress");
    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_clear_errors_and_write_nothing() {
    let app = spawn_app().await;
    let token = token_a();
    let start = OffsetDateTime::now_utc();

    let (s, b) = app.send("POST", "/telephony/v1/voiceCalls", Some(&token), "{\"vendorCallKey\": \"c-1\",".into()).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));
    let (s, b) = app.send("POST", "/telephony/v1/voiceCalls", Some(&token), "[1, 2, 3]".into()).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));

    let (s, b) = app.create(Some(&token), &json!({"callCenterApiName": "PartnerA", "vendorCallKey": "c-2"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"));
    assert_eq!(b[0]["fields"], json!(["to", "from", "initiationMethod", "startTime", "participants"]));

    let mut unknown = new_call("c-3", "Inbound", start);
    unknown["callCenterApiName"] = json!("NoSuchCenter");
    let (s, b) = app.create(Some(&token), &unknown).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    assert_eq!(b[0]["fields"], json!(["callCenterApiName"]));

    let (s, b) = app.create(Some(&token), &new_call("c-4", "Conference", start)).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"));
    let mut bad_time = new_call("c-5", "Inbound", start);
    bad_time["startTime"] = json!("Tuesday");
    let (s, b) = app.create(Some(&token), &bad_time).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_TYPE_ON_FIELD_IN_RECORD"));
    let (s, b) = app.create(Some(&token), &new_call("bad\u{7}key", "Inbound", start)).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));

    let mut huge = new_call("c-6", "Inbound", start);
    huge["callAttributes"] = json!("x".repeat(100 * 1024));
    let (s, b) = app.create(Some(&token), &huge).await;
    assert_eq!((s, code(&b)), (StatusCode::PAYLOAD_TOO_LARGE, "EXCEEDED_MAX_SIZE_REQUEST"));

    assert_eq!(app.count("SELECT COUNT() FROM VoiceCall").await, 0);
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn a_transcript_message_reaches_the_agents_desktop_redacted() {
    let app = spawn_app().await;
    let token = token_a();
    let t0 = OffsetDateTime::now_utc().replace_millisecond(0).unwrap() - Duration::seconds(60);
    let (s, body) = app.create(Some(&token), &new_call("c-pci", "Inbound", t0)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, b) = app.patch(&token, "c-pci", json!({"acceptTime": iso(t0 + Duration::seconds(5)), "agent": "agent@example.com"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    let agent = dialtone_calls::AgentId::new(app.agent.clone()).unwrap();
    let mut desktop = app.state.hub.connect(&agent);
    let line = json!({"participantId": "+14155550142", "messageId": "pci-1", "senderType": "END_USER", "message": "my card is 4111 1111 1111 1111 thanks"});
    assert_eq!(app.message(&token, "c-pci", line).await.0, StatusCode::NO_CONTENT);
    let text = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let msg = desktop.rx.recv().await.expect("the hub keeps the socket");
            let v: Value = serde_json::from_str(&msg).unwrap();
            if v["type"] == "utterance" {
                return v["text"].as_str().unwrap().to_string();
            }
        }
    })
    .await
    .expect("the utterance reaches the agent");
    assert!(!text.contains("4111"), "{text}");
    assert!(text.starts_with("my card is ") && text.contains("[card"), "{text}");
    // The line is stored on the call as a ConversationEntry, redacted as well.
    let stored = app.count("SELECT COUNT() FROM ConversationEntry WHERE Message LIKE 'my card is %' AND ActorType = 'EndUser'").await;
    assert_eq!(stored, 1);
    assert_eq!(app.count("SELECT COUNT() FROM ConversationEntry WHERE Message LIKE '%4111%'").await, 0);
}
