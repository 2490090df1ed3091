//! Governed data: recording links, their audit, field history, the setup trail.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use tower::ServiceExt;

const PASSWORD: &str = "governed password";

struct Org {
    state: AppState,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, SalesforceId>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

async fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("g.db")), "US").await.unwrap();
    let mut file = serde_json::to_value(dialtone_server::security::standard()).unwrap();
    file["permissionSets"].as_array_mut().unwrap().push(json!({"name": "Listener", "system": ["ListenToRecordings"]}));
    store.put_setting(dialtone_server::security::SETTING, &file.to_string()).await.unwrap();
    let user = Schema::standard().object("User").unwrap();
    let mut ids = HashMap::new();
    for (name, profile, sets) in [("admin", "System Administrator", ""), ("owner", "Agent", "Listener"), ("other", "Agent", "Listener"), ("plain", "Agent", "")] {
        let u = format!("{name}@g.test");
        let v = user
            .check_create(vec![("Username".into(), t(&u)), ("LastName".into(), t(name)), ("Email".into(), t(&u)), ("ProfileName".into(), t(profile)), ("PermissionSetNames".into(), t(sets))])
            .unwrap();
        let id = store.insert(user, vec![v], None).await.unwrap().remove(0);
        auth::set_password(store.as_ref(), &id, PASSWORD).await.unwrap();
        ids.insert(name, id);
    }
    let vc = Schema::standard().object("VoiceCall").unwrap();
    let v = vc.check_create(vec![("VendorCallKey".into(), t("CA-1")), ("CallDisposition".into(), t("new")), ("OwnerId".into(), t(ids["owner"].as_str()))]).unwrap();
    let call = store.insert(vc, vec![v], None).await.unwrap().remove(0);
    let rec = Schema::standard().object("VoiceCallRecording").unwrap();
    let v = rec.check_create(vec![("VoiceCallId".into(), t(call.as_str())), ("MediaUrl".into(), t("https://api.twilio.example/Recordings/RE1.mp3")), ("Provider".into(), t("Twilio"))]).unwrap();
    let recording = store.insert(rec, vec![v], None).await.unwrap().remove(0);
    ids.insert("call", call);
    ids.insert("recording", recording);
    let state = AppState::new(store).await.unwrap();
    let (cid, secret) = auth::register_app(state.store.as_ref(), "g").await.unwrap();
    let mut o = Org { state, tokens: HashMap::new(), ids, _dir: dir };
    for name in ["admin", "owner", "other", "plain"] {
        let form = format!("grant_type=password&client_id={cid}&client_secret={secret}&username={name}%40g.test&password={}", urlencoding::encode(PASSWORD));
        let (s, b) = o.call(Request::post("/services/oauth2/token").header("content-type", "application/x-www-form-urlencoded").body(Body::from(form)).unwrap()).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        o.tokens.insert(name, b["access_token"].as_str().unwrap().to_string());
    }
    o
}

impl Org {
    async fn call(&self, req: Request<Body>) -> (StatusCode, Json) {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        let mut body: Json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        if let Some(l) = location {
            body = json!({"location": l});
        }
        (status, body)
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Json) {
        let mut req = Request::get(path);
        if let Some(t) = self.tokens.get(who) {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        self.call(req.body(Body::empty()).unwrap()).await
    }
}

fn code(b: &Json) -> &str {
    b[0]["errorCode"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_open_only_through_short_lived_signed_links_and_every_open_is_audited() {
    let o = org().await;
    let rec = o.ids["recording"].clone();
    let (s, link) = o.get("owner", &format!("/api/recordings/{rec}/link")).await;
    assert_eq!(s, StatusCode::OK, "{link}");
    let url = link["url"].as_str().unwrap().to_string();
    let (s, opened) = o.get("nobody", &url).await;
    assert_eq!((s, opened["location"].as_str()), (StatusCode::FOUND, Some("https://api.twilio.example/Recordings/RE1.mp3")), "the link itself is the credential");

    // Who may not: an agent who cannot see the call, one without the permission.
    for who in ["other", "plain"] {
        let (s, b) = o.get(who, &format!("/api/recordings/{rec}/link")).await;
        assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{who}");
    }
    assert_eq!(o.get("admin", &format!("/api/recordings/{rec}/link")).await.0, StatusCode::OK, "View All Recordings");

    // Forged, altered, re-targeted and expired links.
    let other = o.ids["other"].to_string();
    let forged = [
        url.replace("sig=", "sig=0"),
        url.replace(o.ids["owner"].as_str(), &other),
        url.replace("exp=", "exp=9"),
        format!("/api/recordings/{rec}/media"),
    ];
    for bad in &forged {
        let (s, b) = o.get("nobody", bad).await;
        assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "RECORDING_LINK_INVALID"), "{bad}");
    }
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
    let sig = {
        use hmac::Mac;
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(o.state.signing_key.as_bytes()).unwrap();
        m.update(format!("{rec}:{}:{past}", o.ids["owner"]).as_bytes());
        hex::encode(m.finalize().into_bytes())
    };
    let (s, b) = o.get("nobody", &format!("/api/recordings/{rec}/media?user={}&exp={past}&sig={sig}", o.ids["owner"])).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "RECORDING_LINK_EXPIRED"));

    // Losing access revokes a link already issued.
    let store = o.state.store.as_ref();
    let vc = Schema::standard().object("VoiceCall").unwrap();
    store.update(vc, &o.ids["call"], vec![("OwnerId".into(), Value::Text(o.ids["other"].to_string()))], None).await.unwrap();
    assert_eq!(o.get("nobody", &url).await.0, StatusCode::NOT_FOUND);

    // Every open is in the trail: who, which recording and call, from where.
    let opens: Vec<_> = store.audit_trail(100).await.unwrap().into_iter().filter(|e| e.action == "recording.open").collect();
    assert_eq!(opens.len(), 1, "only the successful open is recorded");
    assert_eq!(opens[0].actor, o.ids["owner"].to_string());
    assert!(opens[0].target.contains(rec.as_str()) && opens[0].target.contains(o.ids["call"].as_str()));
    assert!(opens[0].source.is_some());

    // A recording removed by retention says so.
    let r = Schema::standard().object("VoiceCallRecording").unwrap();
    store.update(r, &rec, vec![("MediaUrl".into(), Value::Null)], None).await.unwrap();
    let (s, b) = o.get("admin", &format!("/api/recordings/{rec}/link")).await;
    assert_eq!((s, code(&b)), (StatusCode::GONE, "RECORDING_REMOVED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_history_and_the_setup_trail_follow_the_access_model() {
    let o = org().await;
    let store = o.state.store.as_ref();
    let call = o.ids["call"].clone();
    let vc = Schema::standard().object("VoiceCall").unwrap();
    store.update(vc, &call, vec![("CallDisposition".into(), Value::Text("in-progress".into()))], Some(&o.ids["owner"])).await.unwrap();
    let (s, h) = o.get("owner", &format!("/api/records/{call}/history")).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["changes"][0]["field"], "CallDisposition");
    assert_eq!((h["changes"][0]["oldValue"].as_str(), h["changes"][0]["newValue"].as_str()), (Some("new"), Some("in-progress")));
    assert_eq!(o.get("other", &format!("/api/records/{call}/history")).await.0, StatusCode::NOT_FOUND, "no history of a call you cannot see");

    let (s, b) = o.get("owner", "/api/setup/audit").await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    let (s, b) = o.get("admin", "/api/setup/audit").await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_recording_references_and_keeps_the_calls() {
    let o = org().await;
    let store = o.state.store.as_ref();
    let cc_obj = Schema::standard().object("CallCenter").unwrap();
    let v = cc_obj.check_create(vec![("Name".into(), t("Main")), ("InternalName".into(), t("Main")), ("RecordingRetentionDays".into(), t("30"))]).unwrap();
    let cc = store.insert(cc_obj, vec![v], None).await.unwrap().remove(0);
    let vc = Schema::standard().object("VoiceCall").unwrap();
    let rec = Schema::standard().object("VoiceCallRecording").unwrap();
    let mut made = Vec::new();
    for (key, ended) in [("old", "2026-09-01T10:00:00Z"), ("new", "2026-11-20T10:00:00Z")] {
        let v = vc.check_create(vec![("VendorCallKey".into(), t(key)), ("CallCenterId".into(), t(cc.as_str())), ("CallEndDateTime".into(), t(ended)), ("IsRecorded".into(), t("true"))]).unwrap();
        let call = store.insert(vc, vec![v], None).await.unwrap().remove(0);
        let v = rec.check_create(vec![("VoiceCallId".into(), t(call.as_str())), ("MediaUrl".into(), t(&format!("https://media.example/{key}.mp3")))]).unwrap();
        made.push((call, store.insert(rec, vec![v], None).await.unwrap().remove(0)));
    }
    let now = time::macros::datetime!(2026-11-22 00:00 UTC);
    let dry = dialtone_server::governance::apply_retention(store, now, true).await.unwrap();
    assert_eq!(dry.removed.len(), 1);
    assert!(store.get(rec, &made[0].1).await.unwrap().unwrap().get("MediaUrl").is_some_and(|v| !v.is_null()), "a dry run changes nothing");
    let report = dialtone_server::governance::apply_retention(store, now, false).await.unwrap();
    assert_eq!(report.removed, vec![("Main".to_string(), made[0].1.clone(), made[0].0.clone())]);
    assert_eq!(store.get(rec, &made[0].1).await.unwrap().unwrap().get("MediaUrl"), Some(&Value::Null));
    assert!(store.get(rec, &made[1].1).await.unwrap().unwrap().get("MediaUrl").is_some_and(|v| !v.is_null()), "a recent call keeps its recording");
    let call = store.get(vc, &made[0].0).await.unwrap().expect("the call itself stays");
    assert_eq!(call.get("IsRecorded"), Some(&Value::Bool(false)));
    assert!(dialtone_server::governance::apply_retention(store, now, false).await.unwrap().removed.is_empty(), "a second run finds nothing");
    assert!(store.audit_trail(10).await.unwrap().iter().any(|e| e.action == "retention.run"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_removes_a_person_everywhere_and_returns_a_receipt() {
    let o = org().await;
    let store = o.state.store.as_ref();
    let schema = Schema::standard();
    let contact = schema.object("Contact").unwrap();
    let v = contact.check_create(vec![("LastName".into(), t("Doe")), ("Phone".into(), t("(415) 555-0199")), ("Email".into(), t("jane@example.com"))]).unwrap();
    let jane = store.insert(contact, vec![v], None).await.unwrap().remove(0);
    let v = contact.check_create(vec![("LastName".into(), t("Other")), ("Phone".into(), t("(415) 555-0100"))]).unwrap();
    let other = store.insert(contact, vec![v], None).await.unwrap().remove(0);
    let lead = schema.object("Lead").unwrap();
    let v = lead.check_create(vec![("LastName".into(), t("Doe")), ("Company".into(), t("X")), ("MobilePhone".into(), t("+1 415 555 0199"))]).unwrap();
    let jane_lead = store.insert(lead, vec![v], None).await.unwrap().remove(0);
    let acct = schema.object("Account").unwrap();
    let v = acct.check_create(vec![("Name".into(), t("Switchboard Inc")), ("Phone".into(), t("4155550199"))]).unwrap();
    let business = store.insert(acct, vec![v], None).await.unwrap().remove(0);
    let task = schema.object("Task").unwrap();
    let v = task.check_create(vec![("Subject".into(), t("Call")), ("WhoId".into(), t(jane.as_str()))]).unwrap();
    let jane_task = store.insert(task, vec![v], None).await.unwrap().remove(0);
    let vc = schema.object("VoiceCall").unwrap();
    let v = vc.check_create(vec![("VendorCallKey".into(), t("CA-J")), ("FromPhoneNumber".into(), t("+14155550199")), ("RelatedRecordId".into(), t(jane.as_str()))]).unwrap();
    let call = store.insert(vc, vec![v], None).await.unwrap().remove(0);
    let rec = schema.object("VoiceCallRecording").unwrap();
    let v = rec.check_create(vec![("VoiceCallId".into(), t(call.as_str())), ("MediaUrl".into(), t("https://media.example/j.mp3"))]).unwrap();
    let recording = store.insert(rec, vec![v], None).await.unwrap().remove(0);

    use dialtone_server::governance::{Subject, erase};
    let preview = erase(store, &Subject::Phone("415-555-0199".into()), true).await.unwrap();
    assert!(store.get(contact, &jane).await.unwrap().is_some(), "a dry run erases nothing");
    let receipt = erase(store, &Subject::Phone("415-555-0199".into()), false).await.unwrap();
    assert_eq!(receipt.deleted, preview.deleted);
    let deleted: Vec<&SalesforceId> = receipt.deleted.iter().map(|(_, id)| id).collect();
    for id in [&jane, &jane_lead, &jane_task] {
        assert!(deleted.contains(&id), "{id} is in the receipt");
    }
    assert!(store.get(contact, &jane).await.unwrap().is_none() && store.get(lead, &jane_lead).await.unwrap().is_none());
    assert!(store.get(task, &jane_task).await.unwrap().is_none());
    assert!(store.get(rec, &recording).await.unwrap().is_none(), "the recording reference is gone");
    let c = store.get(vc, &call).await.unwrap().expect("the call stays for statistics");
    assert_eq!((c.get("FromPhoneNumber"), c.get("RelatedRecordId")), (Some(&Value::Null), Some(&Value::Null)));
    assert!(store.get(contact, &other).await.unwrap().is_some(), "other people are untouched");
    assert!(store.get(acct, &business).await.unwrap().is_some(), "a business account is not a person");
    let json = receipt.to_json();
    let text = json.to_string();
    for personal in ["4155550199", "555-0199", "jane", "Doe"] {
        assert!(!text.contains(personal), "the receipt does not repeat the personal data ({personal}): {json}");
    }
    assert_eq!(json["receiptSha256"].as_str().unwrap().len(), 64);
    let by_email = erase(store, &Subject::Email("jane@example.com".into()), false).await.unwrap();
    assert!(by_email.deleted.is_empty(), "erasing again finds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_share_records_by_hand_and_others_cannot() {
    let o = org().await;
    let call = o.ids["call"].clone();
    let send = |who: &'static str, method: &'static str, path: String, body: Json| {
        let token = o.tokens[who].clone();
        let req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}")).header("content-type", "application/json").body(Body::from(body.to_string())).unwrap();
        o.call(req)
    };
    assert_eq!(o.get("other", &format!("/services/data/v60.0/sobjects/VoiceCall/{call}")).await.0, StatusCode::NOT_FOUND);
    let (s, b) = send("other", "POST", format!("/api/records/{call}/shares"), json!({"principal": "user:other@g.test", "access": "read"})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "no sharing yourself into a record you cannot see");
    let (s, b) = send("owner", "POST", format!("/api/records/{call}/shares"), json!({"principal": "user:other@g.test", "access": "read"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(o.get("other", &format!("/services/data/v60.0/sobjects/VoiceCall/{call}")).await.0, StatusCode::OK, "the share takes effect at once");
    let (s, b) = send("other", "PATCH", format!("/services/data/v60.0/sobjects/VoiceCall/{call}"), json!({"Description": "x"})).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "a read share gives no edit");
    let (s, b) = send("other", "POST", format!("/api/records/{call}/shares"), json!({"principal": "user:plain@g.test", "access": "edit"})).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "a reader cannot pass the record on");
    for bad in [json!({"principal": "nobody"}), json!({"principal": "user:ghost@g.test"}), json!({"principal": "role:X", "access": "own"})] {
        let (s, _) = send("owner", "POST", format!("/api/records/{call}/shares"), bad.clone()).await;
        assert!(s.is_client_error(), "{bad}: {s}");
    }
    let (_, list) = o.get("owner", &format!("/api/records/{call}/shares")).await;
    assert_eq!(list["shares"].as_array().unwrap().len(), 1);
    let (s, _) = send("owner", "DELETE", format!("/api/records/{call}/shares/user:other@g.test"), Json::Null).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(o.get("other", &format!("/services/data/v60.0/sobjects/VoiceCall/{call}")).await.0, StatusCode::NOT_FOUND);
    let trail = o.state.store.audit_trail(20).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "share.add") && trail.iter().any(|e| e.action == "share.remove"));
}
