//! Agent presence through the API (who may read and set whose) and the
//! Twilio voice webhook dialing the longest-idle Available agent.

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
const ACCOUNT: &str = "AC00000000000000000000000000000002";
const AUTH_TOKEN: &str = "twilio-auth-token-for-agent-tests";

struct Org {
    state: AppState,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

/// admin (System Administrator), ann and bob (Agents of Support), lone (an Agent of no call center).
async fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("t.db")), "US").await.unwrap();
    let schema = Schema::standard();
    let cc = schema.object("CallCenter").unwrap();
    let v = cc.check_create(vec![("Name".into(), t("Support")), ("InternalName".into(), t("Support"))]).unwrap();
    let center = store.insert(cc, vec![v], None).await.unwrap().remove(0);
    let user = schema.object("User").unwrap();
    let mut ids = HashMap::new();
    for (name, profile, in_center) in [("admin", "System Administrator", false), ("ann", "Agent", true), ("bob", "Agent", true), ("lone", "Agent", false)] {
        let u = format!("{name}@t.test");
        let mut fields = vec![("Username".into(), t(&u)), ("LastName".into(), t(name)), ("Email".into(), t(&u)), ("ProfileName".into(), t(profile))];
        if in_center {
            fields.push(("CallCenterId".into(), t(center.as_str())));
        }
        let v = user.check_create(fields).unwrap();
        ids.insert(name, store.insert(user, vec![v], None).await.unwrap().remove(0));
    }
    let key = dialtone_secrets::MasterKey::from_bytes([9; 32]);
    let trunk = TwilioTrunk { name: "main".into(), account_sid: ACCOUNT.into(), public_url: PUBLIC.into(), call_center: "Support".into() };
    store.put_setting(&trunk_setting(ACCOUNT), &serde_json::to_string(&trunk).unwrap()).await.unwrap();
    let cred = credential_name("main");
    store.put_setting(&format!("credential:{cred}"), &dialtone_secrets::seal(&key, &cred, AUTH_TOKEN.as_bytes())).await.unwrap();
    let mut state = AppState::new(store).await.unwrap();
    state.master_key = Some(Arc::new(key));
    let mut tokens = HashMap::new();
    for (name, id) in &ids {
        tokens.insert(*name, auth::issue_api_token(state.store.as_ref(), id, "test").await.unwrap());
    }
    let ids = ids.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Org { state, tokens, ids, _dir: dir }
}

impl Org {
    async fn call(&self, req: Request<Body>) -> (StatusCode, String) {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn json(&self, req: Request<Body>) -> (StatusCode, Json) {
        let (s, body) = self.call(req).await;
        (s, serde_json::from_str(&body).unwrap_or(Json::Null))
    }

    async fn get(&self, who: Option<&str>, path: &str) -> (StatusCode, Json) {
        let mut req = Request::get(path);
        if let Some(w) = who {
            req = req.header("authorization", format!("Bearer {}", self.tokens[w]));
        }
        self.json(req.body(Body::empty()).unwrap()).await
    }

    async fn put(&self, who: Option<&str>, path: &str, body: &str) -> (StatusCode, Json) {
        let mut req = Request::put(path).header("content-type", "application/json");
        if let Some(w) = who {
            req = req.header("authorization", format!("Bearer {}", self.tokens[w]));
        }
        self.json(req.body(Body::from(body.to_string())).unwrap()).await
    }

    async fn presence(&self, who: &str, agent: &str, status: &str) {
        let (s, b) = self.put(Some(who), &format!("/api/agents/{agent}@t.test/presence"), &json!({"status": status}).to_string()).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    /// A signed Twilio webhook to `path_and_query` (signed over the full URL, as Twilio does).
    async fn twilio(&self, path_and_query: &str, params: &[(&str, &str)]) -> (StatusCode, String) {
        let params: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let sig = signature(AUTH_TOKEN, &format!("{PUBLIC}{path_and_query}"), &params);
        let body: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", urlencoding::encode(v))).collect();
        let req = Request::post(path_and_query)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(Body::from(body.join("&")))
            .unwrap();
        self.call(req).await
    }

    async fn voice(&self, call: &str) -> String {
        let (s, body) = self.twilio("/telephony/twilio/voice", &[("AccountSid", ACCOUNT), ("CallSid", call), ("From", "+14155550142"), ("To", "+18005550100")]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    /// Twilio asks the `<Enqueue waitUrl>` what to play to a waiting caller.
    async fn wait(&self, call: &str) -> String {
        let (s, body) = self.twilio("/telephony/twilio/wait", &[("AccountSid", ACCOUNT), ("CallSid", call), ("QueuePosition", "1")]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    /// The caller left the queue (`<Leave/>`): Twilio asks the `<Enqueue action>`.
    async fn dequeued(&self, call: &str) -> String {
        let (s, body) = self.twilio("/telephony/twilio/dequeued", &[("AccountSid", ACCOUNT), ("CallSid", call), ("QueueResult", "leave")]).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    async fn final_status(&self, call: &str, status: &str) {
        let (s, body) = self.twilio("/telephony/twilio/status", &[("AccountSid", ACCOUNT), ("CallSid", call), ("CallStatus", status), ("SequenceNumber", "3")]).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    }

    async fn rows(&self, soql: &str) -> Vec<Vec<Value>> {
        let plan = dialtone_server::query::compile(self.state.store.as_ref(), soql).unwrap();
        self.state.store.query(&plan, None).await.unwrap()
    }
}

fn code(b: &Json) -> &str {
    b[0]["errorCode"].as_str().unwrap_or("")
}

/// The `<Client>` a voice answer dials, if it dials one.
fn dialed(twiml: &str) -> Option<&str> {
    let start = twiml.find("<Client>")? + "<Client>".len();
    Some(&twiml[start..start + twiml[start..].find("</Client>")?])
}

fn action(twiml: &str) -> &str {
    let start = twiml.find("action=\"").expect("a Dial action") + "action=\"".len();
    &twiml[start..start + twiml[start..].find('"').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_set_their_own_presence_and_managers_anyones() {
    let o = org().await;
    let path = |u: &str| format!("/api/agents/{u}@t.test/presence");
    let body = |s: &str| json!({"status": s}).to_string();

    let (s, b) = o.put(None, &path("ann"), &body("Available")).await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID"));
    let (s, b) = o.put(Some("ann"), &path("ann"), &body("Available")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!((b["username"].as_str(), b["status"].as_str(), b["callCenter"].as_str()), (Some("ann@t.test"), Some("Available"), Some("Support")));
    assert!(b["since"].is_string());
    // Another agent's presence: neither set nor read without a permission, and no hint whether they exist.
    for who in ["bob", "nobody"] {
        let (s, b) = o.put(Some("ann"), &path(who), &body("Away")).await;
        assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "{who}: {b}");
        let (s, _) = o.get(Some("ann"), &path(who)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    let (s, b) = o.get(Some("ann"), "/api/agents?callCenter=Support").await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    // A manager sets anyone's; the caller's mistakes are 4xx with a reason.
    let (s, b) = o.put(Some("admin"), &path("bob"), &body("busy")).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("Busy")), "{b}");
    let (s, b) = o.put(Some("admin"), &path("nobody"), &body("Away")).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{b}");
    let (s, b) = o.put(Some("admin"), &path("lone"), &body("Away")).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "NO_CALL_CENTER"), "{b}");
    let (s, b) = o.put(Some("lone"), &path("lone"), &body("Away")).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "NO_CALL_CENTER"), "{b}");
    let (s, b) = o.put(Some("admin"), &path("bob"), &body("Sleeping")).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"), "{b}");
    let (s, b) = o.put(Some("admin"), &path("bob"), "{\"state\": \"Away\"}").await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "REQUIRED_FIELD_MISSING"), "{b}");
    let (s, b) = o.put(Some("admin"), &path("bob"), "not json").await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"), "{b}");
    let (s, b) = o.get(Some("admin"), "/api/agents?callCenter=Nowhere").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{b}");

    // Reads: one's own, or a manager's view of everyone.
    let (s, b) = o.get(Some("bob"), &path("bob")).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("Busy")), "refused writes changed nothing: {b}");
    let (s, b) = o.get(Some("admin"), "/api/agents?callCenter=Support").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let listed: Vec<(&str, &str)> = b["agents"].as_array().unwrap().iter().map(|a| (a["username"].as_str().unwrap(), a["status"].as_str().unwrap())).collect();
    assert_eq!(listed, vec![("ann@t.test", "Available"), ("bob@t.test", "Busy")]);
    assert_eq!(b["agents"][0]["userId"].as_str(), Some(o.ids["ann"].as_str()));

    // Every change is in the setup audit trail, with who made it.
    let (_, audit) = o.get(Some("admin"), "/api/setup/audit").await;
    let changes: Vec<(&str, &str, &str)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "agent.status")
        .map(|e| (e["actor"].as_str().unwrap(), e["target"].as_str().unwrap(), e["after"].as_str().unwrap()))
        .collect();
    assert_eq!(changes.len(), 2, "{audit}");
    assert!(changes.contains(&(o.ids["ann"].as_str(), "ann@t.test", "Available")), "{changes:?}");
    assert!(changes.contains(&(o.ids["admin"].as_str(), "bob@t.test", "Busy")), "{changes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voice_webhook_dials_a_free_available_agent_and_queues_when_none_is() {
    let o = org().await;
    let queued = |twiml: &str| twiml.contains(&format!("waitUrl=\"{PUBLIC}/telephony/twilio/wait\">Support</Enqueue>"));
    // Nobody available: the caller waits in the queue, and hangs up.
    let first = "CA00000000000000000000000000000001";
    let twiml = o.voice(first).await;
    assert!(queued(&twiml), "{twiml}");
    o.final_status(first, "completed").await;

    o.presence("admin", "ann", "Available").await;
    o.presence("admin", "bob", "Available").await;
    let a = "CA00000000000000000000000000000002";
    let twiml = o.voice(a).await;
    assert_eq!(dialed(&twiml), Some("ann@t.test"), "ann has been Available longest: {twiml}");
    assert!(twiml.contains("timeout=\"20\""), "{twiml}");
    assert!(action(&twiml).starts_with(&format!("{PUBLIC}/telephony/twilio/status?")), "{twiml}");
    assert_eq!(o.voice(a).await, twiml, "a repeated webhook rings the same agent");
    // A simultaneous call gets the other agent, a third one waits.
    let b = "CA00000000000000000000000000000003";
    assert_eq!(dialed(&o.voice(b).await), Some("bob@t.test"));
    let c = "CA00000000000000000000000000000004";
    assert!(queued(&o.voice(c).await));
    assert!(o.wait(c).await.contains("You are next in line"), "nobody is free yet");

    // The offer is on the call.
    let rows = o.rows(&format!("SELECT Id, CallCenterId FROM VoiceCall WHERE VendorCallKey = '{a}'")).await;
    assert_eq!(rows.len(), 1);
    assert!(o.state.calls.is_live(&dialtone_calls::VendorCallKey::parse(a).unwrap()).await);

    // ann answers and hangs up after 30 s: the dial action ends the call's TwiML, ann is free again —
    // and the caller waiting longest (c) is hers: its wait URL lets it leave the queue, which dials ann.
    let act = action(&twiml).trim_start_matches(PUBLIC).replace("&amp;", "&");
    let (s, body) = o
        .twilio(&act, &[("AccountSid", ACCOUNT), ("CallSid", a), ("CallStatus", "in-progress"), ("DialCallStatus", "completed"), ("DialCallDuration", "30"), ("DialCallSid", "CA99")])
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("<Hangup/>"), "{body}");
    let rows = o.rows(&format!("SELECT CallAcceptDateTime, OwnerId FROM VoiceCall WHERE VendorCallKey = '{a}'")).await;
    assert!(!matches!(rows[0][0], Value::Null), "the answer is recorded: {rows:?}");
    assert_eq!(rows[0][1].as_str(), Some(o.ids["ann"].as_str()), "{rows:?}");
    let d = "CA00000000000000000000000000000005";
    assert!(queued(&o.voice(d).await), "ann is kept for c, who waited longer than d");
    assert!(o.wait(c).await.contains("<Leave/>"));
    let twiml_c = o.dequeued(c).await;
    assert_eq!(dialed(&twiml_c), Some("ann@t.test"), "{twiml_c}");
    assert!(action(&twiml_c).ends_with("attempt=1"), "the second offer of a call records facts of its own: {twiml_c}");

    // bob does not answer b: bob is tried no more for b, which waits again; the next waiting call (d) is bob's.
    let (s, body) = o.twilio(&format!("/telephony/twilio/status?offer={}", o.ids["bob"]), &[("AccountSid", ACCOUNT), ("CallSid", b), ("CallStatus", "in-progress"), ("DialCallStatus", "no-answer")]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(queued(&body), "{body}");
    assert!(o.wait(d).await.contains("<Leave/>"));
    assert_eq!(dialed(&o.dequeued(d).await), Some("bob@t.test"));
    assert!(o.wait(b).await.contains("Please hold"), "ann and bob are both on calls");
    let decision = o.state.calls.routing.lock().decision(&dialtone_calls::VendorCallKey::parse(b).unwrap()).unwrap();
    assert_eq!(decision.offers[0].outcome, Some("declined"), "{decision:?}");
    // A final status frees the agent its call engaged — and only that one.
    o.final_status(b, "completed").await;
    o.final_status(c, "completed").await;
    o.final_status(d, "completed").await;
    let e = "CA00000000000000000000000000000006";
    let f = "CA00000000000000000000000000000007";
    let both: Vec<Option<String>> = vec![dialed(&o.voice(e).await).map(str::to_string), dialed(&o.voice(f).await).map(str::to_string)];
    assert!(both.contains(&Some("ann@t.test".into())) && both.contains(&Some("bob@t.test".into())), "{both:?}");
    o.final_status(a, "completed").await; // a's agent was already freed; this frees nobody else
    assert!(queued(&o.voice("CA00000000000000000000000000000008").await), "both agents are still on calls");
    o.final_status("CA00000000000000000000000000000008", "completed").await;

    // Away agents are not offered calls; a forged dial action changes nothing.
    o.final_status(e, "completed").await;
    o.final_status(f, "completed").await;
    o.presence("admin", "ann", "Away").await;
    o.presence("admin", "bob", "Offline").await;
    assert!(o.voice("CA00000000000000000000000000000009").await.contains(">Support</Enqueue>"));
    let req = Request::post("/telephony/twilio/status?offer=x")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature(AUTH_TOKEN, &format!("{PUBLIC}/telephony/twilio/status"), &BTreeMap::new()))
        .body(Body::from(format!("AccountSid={ACCOUNT}&CallSid={a}&DialCallStatus=completed")))
        .unwrap();
    assert_eq!(o.call(req).await.0, StatusCode::FORBIDDEN, "the query string is part of what Twilio signs");
}
