//! The agent desktop end to end: the real router on a fresh SQLite store,
//! served on port 0, a real WebSocket client (tokio-tungstenite) for the
//! desktop socket, simulator calls through `POST /api/calls/events`, and
//! REST requests in process. docs/DESKTOP.md is the contract checked here.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CENTER_XML: &str = r#"<callCenter>
    <section sortOrder="0" name="reqGeneralInfo" label="General Information">
        <item sortOrder="0" name="reqInternalName" label="InternalName">Desk</item>
        <item sortOrder="1" name="reqDisplayName" label="Display Name">Desk Center</item>
        <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
        <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
        <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">420</item>
        <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item>
        <item sortOrder="6" name="reqTimeout" label="Timeout">7000</item>
    </section>
    <section sortOrder="1" name="reqDialingOptions" label="Dialing Options">
        <item sortOrder="0" name="reqOutsidePrefix" label="Outside Prefix">9</item>
        <item sortOrder="1" name="reqLongDistPrefix" label="Long Distance Prefix">1</item>
        <item sortOrder="2" name="reqInternationalPrefix" label="International Prefix">011</item>
    </section>
</callCenter>
"#;

struct App {
    state: AppState,
    addr: SocketAddr,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, SalesforceId>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

/// admin (System Administrator), ann and bob (Agents of Desk). Leads are
/// private, so an agent sees only their own.
async fn spawn_app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("d.db")), "US").await.unwrap();
    let mut security = serde_json::to_value(dialtone_server::security::standard()).unwrap();
    security["orgWideDefaults"]["Lead"] = json!("Private");
    store.put_setting(dialtone_server::security::SETTING, &security.to_string()).await.unwrap();
    let schema = Schema::standard();
    let def = dialtone_callcenter::parse(CENTER_XML.as_bytes(), "Desk.xml").unwrap();
    let cc = schema.object("CallCenter").unwrap();
    let v = cc
        .check_create(vec![
            ("Name".into(), t(&def.display_name)),
            ("InternalName".into(), t(&def.internal_name)),
            ("Format".into(), t("Legacy")),
            ("Definition".into(), t(&dialtone_callcenter::export(&def, def.format))),
        ])
        .unwrap();
    let center = store.insert(cc, vec![v], None).await.unwrap().remove(0);
    let user = schema.object("User").unwrap();
    let mut ids = HashMap::new();
    for (name, profile) in [("admin", "System Administrator"), ("ann", "Agent"), ("bob", "Agent")] {
        let u = format!("{name}@d.test");
        let fields = vec![
            ("Username".into(), t(&u)),
            ("LastName".into(), t(name)),
            ("FirstName".into(), t("Agent")),
            ("Email".into(), t(&u)),
            ("ProfileName".into(), t(profile)),
            ("CallCenterId".into(), t(center.as_str())),
        ];
        ids.insert(name, store.insert(user, vec![user.check_create(fields).unwrap()], None).await.unwrap().remove(0));
    }
    let state = AppState::new(store).await.unwrap();
    let mut tokens = HashMap::new();
    for (name, id) in &ids {
        tokens.insert(*name, auth::issue_api_token(state.store.as_ref(), id, "test").await.unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone());
    tokio::spawn(async move { axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap() });
    App { state, addr, tokens, ids, _dir: dir }
}

impl App {
    async fn raw(&self, method: &str, path: &str, who: Option<&str>, body: String) -> (StatusCode, Json) {
        let (status, text) = self.raw_text(method, path, who, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Json::Null))
    }

    async fn raw_text(&self, method: &str, path: &str, who: Option<&str>, body: String) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
        if let Some(w) = who {
            req = req.header("authorization", format!("Bearer {}", self.tokens[w]));
        }
        let res = router(self.state.clone()).oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn post(&self, who: &str, path: &str, body: Json) -> (StatusCode, Json) {
        self.raw("POST", path, Some(who), body.to_string()).await
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Json) {
        self.raw("GET", path, Some(who), String::new()).await
    }

    async fn put(&self, who: &str, path: &str, body: Json) -> (StatusCode, Json) {
        self.raw("PUT", path, Some(who), body.to_string()).await
    }

    async fn events(&self, batch: Json) {
        let (s, b) = self.post("admin", "/api/calls/events", batch).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    /// A simulator call from `from` offered to `agent`.
    async fn offer(&self, key: &str, from: &str, agent: &str) {
        self.events(json!([
            {"vendorCallKey": key, "seq": 1, "kind": "initiated", "direction": "inbound", "from": from, "to": "+18005550100", "callCenter": "Desk"},
            {"vendorCallKey": key, "seq": 2, "kind": "offered", "agent": self.ids[agent].as_str()},
        ]))
        .await;
    }

    async fn insert(&self, object: &str, fields: Vec<(&str, RawValue)>, owner: &str) -> SalesforceId {
        let o = Schema::standard().object(object).unwrap();
        let v = o.check_create(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).unwrap();
        self.state.store.insert(o, vec![v], Some(&self.ids[owner])).await.unwrap().remove(0)
    }

    async fn rows(&self, soql: &str) -> Vec<Vec<Value>> {
        let store = &self.state.store;
        let plan = dialtone_soql::compile(soql, store.schema(), store.dialect(), time::OffsetDateTime::now_utc()).unwrap();
        store.query(&plan, None).await.unwrap()
    }

    async fn voice_call(&self, key: &str, fields: &str) -> Vec<Value> {
        let rows = self.rows(&format!("SELECT {fields} FROM VoiceCall WHERE VendorCallKey = '{key}'")).await;
        assert_eq!(rows.len(), 1, "one VoiceCall for {key}");
        rows.into_iter().next().unwrap()
    }

    fn ws_request(&self, who: Option<&str>, origin: Option<&str>) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut req = format!("ws://{}/api/desktop/ws", self.addr).into_client_request().unwrap();
        if let Some(w) = who {
            req.headers_mut().insert("authorization", format!("Bearer {}", self.tokens[w]).parse().unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse().unwrap());
        }
        req
    }

    /// Opens a socket and returns it with its `hello`.
    async fn ws(&self, who: &str) -> (Ws, Json) {
        let (mut ws, _) = tokio_tungstenite::connect_async(self.ws_request(Some(who), None)).await.unwrap();
        let hello = next(&mut ws).await;
        assert_eq!(hello["type"], "hello", "{hello}");
        (ws, hello)
    }

    /// Waits until a condition on the store holds (pop outcomes are written off the hot path).
    async fn eventually(&self, key: &str, field: &str, want: &str) {
        for _ in 0..100 {
            if self.voice_call(key, field).await[0].as_str() == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("{key}: {field} never became {want}: {:?}", self.voice_call(key, field).await);
    }
}

async fn next(ws: &mut Ws) -> Json {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a message within 5 s").expect("the socket is open").unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next message of type `ty`, and what came before it.
async fn expect(ws: &mut Ws, ty: &str) -> (Json, Vec<Json>) {
    let mut before = Vec::new();
    loop {
        let m = next(ws).await;
        if m["type"] == ty {
            return (m, before);
        }
        before.push(m);
    }
}

/// Everything that arrives within `ms`.
async fn quiet(ws: &mut Ws, ms: u64) -> Vec<Json> {
    let mut got = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(ms), ws.next()).await {
        if let Message::Text(t) = m {
            got.push(serde_json::from_str(t.as_str()).unwrap());
        }
    }
    got
}

fn code(b: &Json) -> &str {
    b[0]["errorCode"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_pops_follow_the_phone_index_the_layout_and_what_the_agent_may_read() {
    let app = spawn_app().await;
    app.insert("Contact", vec![("FirstName", t("Ada")), ("LastName", t("Lovelace")), ("Phone", t("(415) 555-0101"))], "admin").await;
    app.insert("Contact", vec![("FirstName", t("Grace")), ("LastName", t("Hopper")), ("MobilePhone", t("415-555-0102"))], "bob").await;
    app.insert("Account", vec![("Name", t("Hopper Inc")), ("Phone", t("+1 415 555 0102"))], "admin").await;
    app.insert("Lead", vec![("LastName", t("Secret")), ("Company", t("Hidden Co")), ("Phone", t("4155550103"))], "admin").await;
    let (mut ws, hello) = app.ws("ann").await;
    assert_eq!(hello["calls"], json!([]));
    assert_eq!(hello["agent"]["username"], "ann@d.test");

    let cases = [
        ("pop-1", "+14155550101", "matched", "Matched"),
        ("pop-2", "+14155550102", "chooser", "Chooser"),
        ("pop-3", "+14155550199", "new", "NewRecord"),
        ("pop-4", "anonymous", "fallback", "Fallback"),
        ("pop-5", "12ab", "fallback", "Fallback"),
        ("pop-6", "+14155550103", "new", "NewRecord"),
    ];
    let mut pops = HashMap::new();
    for (key, from, outcome, _) in cases {
        app.offer(key, from, "ann").await;
        let (offer, _) = expect(&mut ws, "offer").await;
        assert_eq!(offer["call"]["key"], key, "{offer}");
        assert_eq!(offer["call"]["state"], "offered");
        assert_eq!(offer["call"]["controls"], json!(["accept", "decline"]));
        assert_eq!(offer["pop"]["outcome"], outcome, "{key}: {offer}");
        pops.insert(key, offer["pop"].clone());
    }
    let ada = &pops["pop-1"]["records"];
    assert_eq!(ada.as_array().unwrap().len(), 1);
    assert_eq!((ada[0]["name"].as_str(), ada[0]["object"].as_str(), ada[0]["owner"].as_str(), ada[0]["phone"].as_str()), (Some("Ada Lovelace"), Some("Contact"), Some("Agent admin"), Some("(415) 555-0101")));
    let both: Vec<(&str, &str)> = pops["pop-2"]["records"].as_array().unwrap().iter().map(|r| (r["object"].as_str().unwrap(), r["owner"].as_str().unwrap())).collect();
    assert_eq!(both, vec![("Contact", "Agent bob"), ("Account", "Agent admin")], "search order Contact, Account, Lead; owners named");
    assert_eq!(pops["pop-3"]["newRecord"], json!({"object": "Contact", "fields": {"Phone": "+14155550199"}}));
    assert_eq!(pops["pop-3"]["number"], "+14155550199");
    assert_eq!((pops["pop-4"]["reason"].as_str(), pops["pop-4"]["newRecord"]["object"].as_str(), &pops["pop-4"]["number"]), (Some("caller id withheld"), Some("Lead"), &Json::Null));
    assert_eq!(pops["pop-5"]["reason"], "caller id is not a phone number");
    // ann may not read admin's private Lead: counted, never named.
    assert_eq!((pops["pop-6"]["records"].clone(), pops["pop-6"]["hiddenMatches"].clone()), (json!([]), json!(1)));
    assert!(!pops["pop-6"].to_string().contains("Secret"));
    for (key, _, _, stored) in cases {
        app.eventually(key, "ScreenPopOutcome", stored).await;
    }

    // The adapters' searchAndScreenPop: the same decision over REST.
    let (s, b) = app.get("ann", "/api/desktop/pop?number=(415)%20555-0101").await;
    assert_eq!((s, b["outcome"].as_str()), (StatusCode::OK, Some("matched")), "{b}");
    let (s, b) = app.get("admin", "/api/desktop/pop?number=4155550103").await;
    assert_eq!((b["outcome"].as_str(), b["records"][0]["name"].as_str()), (Some("matched"), Some("Secret")), "the owner's admin sees it: {s} {b}");
    let (s, b) = app.get("ann", "/api/desktop/pop?number=1&callType=sideways").await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    let (s, b) = app.get("ann", "/api/desktop/pop?number=1&sql=drop").await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));

    // The layout: agents may read it, only Manage Call Centers may change it; bad layouts change nothing.
    let path = "/api/callcenters/Desk/softphone-layout";
    let (s, default) = app.get("ann", path).await;
    assert_eq!((s, default["inbound"]["searchOrder"].clone()), (StatusCode::OK, json!(["Contact", "Account", "Lead"])));
    let quiet_layout = json!({"inbound": {"searchOrder": ["Account", "Contact"], "singleMatch": "open", "multipleMatches": "none", "noMatch": {"action": "none", "object": "Lead"}, "fallback": {"object": "Contact"}}});
    let (s, b) = app.put("ann", path, quiet_layout.clone()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    for (bad, want) in [
        (json!({"inbound": {"searchOrder": ["Opportunity"]}}), "INVALID_FIELD"),
        (json!({"inbound": {"searchOrder": ["Contact", "Contact"]}}), "INVALID_FIELD"),
        (json!({"inbound": {"searchOrder": []}}), "INVALID_FIELD"),
        (json!({"inbound": {"multipleMatches": "sometimes"}}), "JSON_PARSER_ERROR"),
        (json!({"inbound": {}, "colour": "blue"}), "JSON_PARSER_ERROR"),
    ] {
        let (s, b) = app.put("admin", path, bad.clone()).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{bad}: {b}");
    }
    let (s, b) = app.raw("PUT", path, Some("admin"), "{\"inbound\": ".into()).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));
    assert_eq!(app.get("ann", path).await.1, default, "refused layouts stored nothing");
    let (s, b) = app.put("admin", path, quiet_layout).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.offer("pop-7", "+14155550102", "ann").await;
    let (offer, _) = expect(&mut ws, "offer").await;
    assert_eq!((offer["pop"]["outcome"].as_str(), offer["pop"]["records"].as_array().map(Vec::len)), (Some("none"), Some(2)), "{offer}");
    app.eventually("pop-7", "ScreenPopOutcome", "None").await;
    app.offer("pop-8", "restricted", "ann").await;
    let (offer, _) = expect(&mut ws, "offer").await;
    assert_eq!(offer["pop"]["newRecord"]["object"], "Contact", "the layout's fallback form");
    let (_, audit) = app.get("admin", "/api/setup/audit").await;
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "callcenter.softphoneLayout" && e["target"] == "Desk"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_wrap_up_and_after_call_work_with_tabs_that_reconnect() {
    let app = spawn_app().await;
    let (s, b) = app.put("ann", "/api/agents/ann@d.test/presence", json!({"status": "Available"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (mut tab1, _) = app.ws("ann").await;
    app.offer("call-1", "+14155550111", "ann").await;
    let (offer, _) = expect(&mut tab1, "offer").await;
    assert_eq!(offer["call"]["provider"], "simulator");

    // bob may not touch ann's call; unknown calls and commands are clear errors.
    let (s, b) = app.post("bob", "/api/desktop/calls/call-1/accept", json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    let (s, b) = app.post("ann", "/api/desktop/calls/nope/accept", json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "CALL_NOT_FOUND"));
    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/dance", json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/hold", json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "CALL_CONTROL_UNSUPPORTED"), "not connected yet: {b}");
    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/accept", json!({"now": true})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"));

    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/accept", json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["call"]["state"], "connected");
    assert_eq!(b["call"]["controls"], json!(["hold", "mute", "hangup", "transfer"]));
    let (closed, _) = expect(&mut tab1, "offerClosed").await;
    assert_eq!((closed["key"].as_str(), closed["result"].as_str()), (Some("call-1"), Some("accepted")));
    let (call, _) = expect(&mut tab1, "call").await;
    assert_eq!(call["call"]["state"], "connected");

    // A second tab resumes the live call from its hello.
    let (mut tab2, hello) = app.ws("ann").await;
    let live: Vec<&str> = hello["calls"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(live, vec!["call-1"], "{hello}");
    assert_eq!(hello["calls"][0]["state"], "connected");
    assert_eq!(hello["agent"]["presence"], "Available");
    assert!(quiet(&mut tab2, 300).await.is_empty(), "nothing in hello is sent again");

    assert_eq!(app.post("ann", "/api/desktop/calls/call-1/hold", json!({})).await.0, StatusCode::ACCEPTED);
    for tab in [&mut tab1, &mut tab2] {
        let (held, _) = expect(tab, "call").await;
        assert_eq!((held["call"]["state"].as_str(), held["call"]["holds"].as_i64()), (Some("held"), Some(1)), "{held}");
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.post("ann", "/api/desktop/calls/call-1/resume", json!({})).await.0, StatusCode::ACCEPTED);
    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/mute", json!({})).await;
    assert_eq!((s, b["call"]["muted"].as_bool()), (StatusCode::ACCEPTED, Some(true)), "{b}");
    assert!(b["call"]["controls"].as_array().unwrap().contains(&json!("unmute")));
    let (m, _) = expect(&mut tab2, "call").await;
    let m = if m["call"]["muted"] == true { m } else { expect(&mut tab2, "call").await.0 };
    assert_eq!(m["call"]["muted"], true);

    // The hang-up ends it; the call center wants a wrap-up: After Call Work.
    assert_eq!(app.post("ann", "/api/desktop/calls/call-1/hangup", json!({})).await.0, StatusCode::ACCEPTED);
    let (wrap, before) = expect(&mut tab1, "wrapUp").await;
    assert_eq!((wrap["call"]["state"].as_str(), wrap["required"].as_bool()), (Some("ended"), Some(true)), "{wrap}");
    assert!(before.iter().any(|m| m["type"] == "presence" && m["presence"] == "After Call Work"), "{before:?}");
    drop(tab1);

    // Nobody offers a call to an agent in After Call Work.
    let center = SalesforceId::parse(app.voice_call("call-1", "CallCenterId").await[0].as_str().unwrap()).unwrap();
    // Routing, asked for an agent for a probe call of the center (which then hangs up).
    let chosen = |app: &App| {
        let state = app.state.clone();
        let center = center.clone();
        async move {
            dialtone_server::routing::refresh(&state).await.unwrap();
            let now = time::OffsetDateTime::now_utc();
            let key = dialtone_calls::VendorCallKey::parse(&format!("probe-{}", now.unix_timestamp_nanos())).unwrap();
            let mut r = state.calls.routing.lock();
            r.arrive(now, &key, &dialtone_routing::service::Arrival { call_center: Some(center), ..Default::default() });
            let routed = r.route(now, &key, &[], &|_| true);
            let end = dialtone_calls::EventKind::Ended { reason: dialtone_calls::EndReason::CustomerDisconnect };
            r.observe(now, &dialtone_calls::CallEvent { key, provider: dialtone_calls::Provider::Simulator, seq: 1, at: now, kind: end });
            match routed {
                dialtone_routing::service::Routed::Offer(a) => Some(a),
                _ => None,
            }
        }
    };
    assert_eq!(chosen(&app).await, None, "ann is in After Call Work, bob offline");
    let (_, p) = app.get("ann", "/api/agents/ann@d.test/presence").await;
    assert_eq!((p["status"].as_str(), p["base"].as_str()), (Some("After Call Work"), Some("AfterCallWork")), "{p}");

    // A reconnecting tab finds the pending wrap-up, not a live call.
    let (mut tab3, hello) = app.ws("ann").await;
    assert_eq!(hello["calls"], json!([]), "{hello}");
    let wraps: Vec<&str> = hello["wrapUps"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(wraps, vec!["call-1"]);
    assert_eq!(hello["agent"]["presence"], "After Call Work");

    // Only the call center's resolutions; bad bodies store nothing.
    for (body, want) in [
        (json!({"resolution": "Made Up"}), "INVALID_RESOLUTION"),
        (json!({"resolution": "Resolved", "mood": "happy"}), "JSON_PARSER_ERROR"),
        (json!({"notes": "no resolution"}), "JSON_PARSER_ERROR"),
    ] {
        let (s, b) = app.post("ann", "/api/desktop/calls/call-1/wrapup", body.clone()).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{body}: {b}");
    }
    let (s, b) = app.post("bob", "/api/desktop/calls/call-1/wrapup", json!({"resolution": "Resolved"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(app.voice_call("call-1", "CallResolution").await[0], Value::Null);

    let (s, b) = app.post("ann", "/api/desktop/calls/call-1/wrapup", json!({"resolution": "resolved", "notes": "replaced the router"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (saved, _) = expect(&mut tab3, "wrapUpSaved").await;
    assert_eq!((saved["key"].as_str(), saved["resolution"].as_str()), (Some("call-1"), Some("Resolved")));
    let (presence, _) = expect(&mut tab3, "presence").await;
    assert_eq!(presence["presence"], "Available", "back to the status before the call");
    assert_eq!(chosen(&app).await.map(|a| a.to_string()), Some(app.ids["ann"].to_string()));
    let (_, hello) = app.ws("ann").await;
    assert_eq!(hello["wrapUps"], json!([]));
    assert_eq!(hello["recent"][0]["key"], "call-1", "{hello}");
    assert_eq!(hello["recent"][0]["resolution"], "Resolved");

    let vc = app.voice_call("call-1", "CallResolution, NumberOfHolds, CustomerHoldDuration, CallDurationInSeconds, DisconnectReason, OwnerId, CallDisposition, Description").await;
    assert_eq!(vc[0].as_str(), Some("Resolved"));
    assert_eq!(vc[1], Value::Int(1));
    assert!(matches!(vc[2], Value::Int(n) if n >= 1), "held for a second: {:?}", vc[2]);
    assert!(matches!(vc[3], Value::Int(n) if n >= 1), "{:?}", vc[3]);
    assert_eq!((vc[4].as_str(), vc[5].as_str(), vc[6].as_str()), (Some("AgentDisconnect"), Some(app.ids["ann"].as_str()), Some("completed")));
    assert_eq!(vc[7].as_str(), Some("replaced the router"));
    let task = app.rows("SELECT CallDisposition, Description FROM Task WHERE CallObject = 'call-1'").await;
    assert_eq!(task.len(), 1);
    assert_eq!(task[0][..2], [Value::Text("Resolved".into()), Value::Text("replaced the router".into())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_another_agent_offers_them_the_new_leg() {
    let app = spawn_app().await;
    assert_eq!(app.put("ann", "/api/agents/ann@d.test/presence", json!({"status": "Available"})).await.0, StatusCode::OK);
    let (mut bob, _) = app.ws("bob").await;
    app.offer("call-t", "+14155550120", "ann").await;
    assert_eq!(app.post("ann", "/api/desktop/calls/call-t/accept", json!({})).await.0, StatusCode::ACCEPTED);
    for (body, want) in [(json!({}), "JSON_PARSER_ERROR"), (json!({"agent": "bob@d.test", "queue": "Q"}), "JSON_PARSER_ERROR"), (json!({"agent": "nobody@d.test"}), "NOT_FOUND")] {
        let (s, b) = app.post("ann", "/api/desktop/calls/call-t/transfer", body.clone()).await;
        assert_eq!(code(&b), want, "{body}: {s} {b}");
    }
    let (s, b) = app.post("ann", "/api/desktop/calls/call-t/transfer", json!({"agent": "bob@d.test"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (offer, _) = expect(&mut bob, "offer").await;
    let leg = offer["call"]["key"].as_str().unwrap().to_string();
    assert_ne!(leg, "call-t");
    assert_eq!(offer["call"]["from"], "+14155550120", "the new leg keeps the caller");
    let vc = app.voice_call("call-t", "DisconnectReason, NextCallId").await;
    assert_eq!(vc[0].as_str(), Some("Transferred"));
    assert_eq!(app.voice_call(&leg, "Id").await[0], vc[1]);
    // ann's leg ended, but she has no desktop open to wrap up in: she stays routable.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, p) = app.get("ann", "/api/agents/ann@d.test/presence").await;
    assert_eq!(p["status"], "Available", "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_to_dial_builds_the_dial_string_and_refuses_do_not_call() {
    let app = spawn_app().await;
    let nora = app.insert("Contact", vec![("FirstName", t("Nora")), ("LastName", t("Quiet")), ("Phone", t("415-555-0142")), ("DoNotCall", RawValue::Bool(true))], "admin").await;
    let ola = app.insert("Contact", vec![("FirstName", t("Ola")), ("LastName", t("Nordmann")), ("Phone", t("415-555-0150"))], "admin").await;
    let (mut ws, _) = app.ws("ann").await;

    let (s, b) = app.post("ann", "/api/desktop/dial", json!({"number": "415-555-0142", "recordId": nora.as_str()})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "DO_NOT_CALL"));
    assert!(b[0]["message"].as_str().unwrap().contains("Nora Quiet"), "{b}");
    let (s, b) = app.post("ann", "/api/desktop/dial", json!({"number": "(415) 555-0142"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "DO_NOT_CALL"), "the number's only match is marked: {b}");
    for (body, want, status) in [
        ("{\"number\": ".to_string(), "JSON_PARSER_ERROR", StatusCode::BAD_REQUEST),
        (json!({"number": "4155550150", "speed": 2}).to_string(), "JSON_PARSER_ERROR", StatusCode::BAD_REQUEST),
        (json!({"number": "hello"}).to_string(), "INVALID_FIELD", StatusCode::BAD_REQUEST),
        (json!({"number": "4155550150", "recordId": "xyz"}).to_string(), "MALFORMED_ID", StatusCode::BAD_REQUEST),
        (json!({"number": "4155550150", "pad": "x".repeat(100_000)}).to_string(), "EXCEEDED_MAX_SIZE_REQUEST", StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let (s, b) = app.raw("POST", "/api/desktop/dial", Some("ann"), body).await;
        assert_eq!((s, code(&b)), (status, want), "{b}");
    }
    assert!(app.rows("SELECT Id FROM VoiceCall").await.is_empty(), "refused dials write nothing");

    // No SIP edge: the simulator places the call, with the call center's prefixes.
    let (s, b) = app.post("ann", "/api/desktop/dial", json!({"number": "+44 20 7946 0018", "recordId": ola.as_str()})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["dialString"], "9011442079460018");
    let (s, b) = app.post("ann", "/api/desktop/dial", json!({"number": "(415) 555-0150"})).await;
    assert_eq!((s, b["dialString"].as_str()), (StatusCode::ACCEPTED, Some("914155550150")), "{b}");
    let key = b["key"].as_str().unwrap().to_string();
    let vc = app.voice_call(&key, "Id, RelatedRecordId, CallType, VendorType, ToPhoneNumber").await;
    assert_eq!(vc[0].as_str(), b["voiceCallId"].as_str());
    assert_eq!(vc[1].as_str(), Some(ola.as_str()), "the only match, visible to ann, is the related record");
    assert_eq!((vc[2].as_str(), vc[3].as_str(), vc[4].as_str()), (Some("Outbound"), Some("ContactCenter"), Some("+14155550150")));
    let mut seen = Vec::new();
    let call = loop {
        let (c, before) = expect(&mut ws, "call").await;
        seen.extend(before);
        if c["call"]["key"] == key.as_str() {
            break c;
        }
    };
    assert!(seen.iter().all(|m| m["type"] != "offer"), "a dial rings no one: {seen:?}");
    assert_eq!((call["call"]["direction"].as_str(), call["call"]["provider"].as_str()), (Some("outbound"), Some("simulator")));
    assert_eq!(app.post("ann", "/api/desktop/calls/{key}/hangup".replace("{key}", &key).as_str(), json!({})).await.0, StatusCode::ACCEPTED);
    let (s, b) = app.post("ann", &format!("/api/desktop/calls/{key}/wrapup"), json!({"resolution": "Voicemail Left"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(app.voice_call(&key, "CallResolution").await[0].as_str(), Some("Voicemail Left"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_refuses_other_origins_and_presence_statuses_reach_it() {
    let app = spawn_app().await;
    let refused = tokio_tungstenite::connect_async(app.ws_request(Some("ann"), Some("http://evil.example"))).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), StatusCode::FORBIDDEN),
        other => panic!("a cross-site socket must be refused: {:?}", other.map(|_| ())),
    }
    match tokio_tungstenite::connect_async(app.ws_request(None, None)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), StatusCode::UNAUTHORIZED),
        other => panic!("a socket needs a session: {:?}", other.map(|_| ())),
    }
    let own = format!("http://{}", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_request(Some("ann"), Some(&own))).await.expect("its own origin is fine");
    assert_eq!(next(&mut ws).await["type"], "hello");
    ws.send(Message::Text(json!({"type": "ping"}).to_string().into())).await.unwrap();
    assert_eq!(next(&mut ws).await["type"], "pong");

    let path = "/api/setup/presence-statuses";
    let (s, b) = app.put("ann", path, json!([{"name": "Lunch", "base": "Away"}])).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    for (bad, want) in [
        (json!([{"name": "Wrapping", "base": "AfterCallWork"}]), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        (json!([{"name": "Lunch", "base": "Away"}, {"name": "lunch", "base": "Busy"}]), "DUPLICATE_VALUE"),
        (json!([{"name": "Busy", "base": "Busy"}]), "DUPLICATE_VALUE"),
        (json!([{"name": "Lunch", "base": "Away", "colour": "red"}]), "JSON_PARSER_ERROR"),
        (json!({"name": "Lunch"}), "JSON_PARSER_ERROR"),
    ] {
        let (s, b) = app.put("admin", path, bad.clone()).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, want), "{bad}: {b}");
    }
    let (s, b) = app.put("admin", path, json!([{"name": "Lunch", "base": "away"}])).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let names: Vec<(&str, &str)> = b.as_array().unwrap().iter().map(|s| (s["name"].as_str().unwrap(), s["base"].as_str().unwrap())).collect();
    assert_eq!(names, vec![("Available", "Available"), ("Busy", "Busy"), ("After Call Work", "AfterCallWork"), ("Offline", "Offline"), ("Lunch", "Away")]);

    let (s, b) = app.put("ann", "/api/agents/ann@d.test/presence", json!({"status": "lunch"})).await;
    assert_eq!((s, b["status"].as_str(), b["base"].as_str()), (StatusCode::OK, Some("Lunch"), Some("Away")), "{b}");
    let (p, _) = expect(&mut ws, "presence").await;
    assert_eq!(p["presence"], "Lunch");
    assert!(p["presenceSince"].is_string());
    let (s, b) = app.put("ann", "/api/agents/ann@d.test/presence", json!({"status": "Sunbathing"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"));
    assert!(b[0]["message"].as_str().unwrap().contains("Lunch"), "the message lists the statuses: {b}");

    // The call-center part of the session document.
    let grants = dialtone_server::security::AccessCache::grants(&app.state.access, app.state.store.as_ref(), &app.ids["ann"]).await.unwrap();
    let session = auth::Session { user_id: app.ids["ann"].clone(), client_id: "test".into(), grants, via_cookie: false };
    let config = dialtone_server::desktop::session_config(&app.state, &session).await.unwrap();
    let cc = &config["callCenter"];
    assert_eq!((cc["internalName"].as_str(), cc["name"].as_str(), cc["adapterUrl"].as_str()), (Some("Desk"), Some("Desk Center"), Some("/softphone")));
    assert_eq!((cc["timeoutMs"].as_u64(), cc["panel"]["width"].as_u64(), cc["panel"]["height"].as_u64()), (Some(7000), Some(320), Some(420)));
    assert_eq!(cc["dialing"], json!({"outsidePrefix": "9", "longDistancePrefix": "1", "internationalPrefix": "011"}));
    assert_eq!((cc["wrapUpRequired"].as_bool(), cc["headless"].as_bool(), &cc["standbyUrl"]), (Some(true), Some(false), &Json::Null));
    assert!(cc["resolutions"].as_array().unwrap().contains(&json!("Resolved")));
    assert_eq!(config["presenceStatuses"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn the_agent_relates_a_chooser_call_to_the_record_they_picked() {
    let app = spawn_app().await;
    let grace = app.insert("Contact", vec![("FirstName", t("Grace")), ("LastName", t("Hopper")), ("MobilePhone", t("415-555-0102"))], "ann").await;
    let account = app.insert("Account", vec![("Name", t("Hopper Inc")), ("Phone", t("+1 415 555 0102"))], "admin").await;
    let secret = app.insert("Lead", vec![("LastName", t("Secret")), ("Company", t("Hidden Co")), ("Phone", t("4155550103"))], "admin").await;
    let (mut ws, _) = app.ws("ann").await;
    app.offer("rel-1", "+14155550102", "ann").await;
    let (offer, _) = expect(&mut ws, "offer").await;
    assert_eq!(offer["pop"]["outcome"], "chooser", "{offer}");
    // The agent picks the Account from the chooser: the call is about it now.
    let (s, b) = app.post("ann", "/api/desktop/calls/rel-1/relate", json!({"recordId": account.as_str()})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(app.voice_call("rel-1", "RelatedRecordId").await[0].as_str(), Some(account.as_str()));
    // Changing their mind is fine; the last choice counts.
    let (s, b) = app.post("ann", "/api/desktop/calls/rel-1/relate", json!({"recordId": grace.as_str()})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(app.voice_call("rel-1", "RelatedRecordId").await[0].as_str(), Some(grace.as_str()));
    // A record the agent may not read, a malformed id, a User, and another agent's call are refused and change nothing.
    for bad in [secret.as_str(), "not-an-id", app.ids["bob"].as_str()] {
        let (s, b) = app.post("ann", "/api/desktop/calls/rel-1/relate", json!({"recordId": bad})).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"), "{bad}: {b}");
    }
    let (s, b) = app.post("bob", "/api/desktop/calls/rel-1/relate", json!({"recordId": account.as_str()})).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "{b}");
    let (s, b) = app.post("ann", "/api/desktop/calls/rel-1/relate", json!({"record": account.as_str()})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR"), "{b}");
    assert_eq!(app.voice_call("rel-1", "RelatedRecordId").await[0].as_str(), Some(grace.as_str()));
}

/// Asks routing for an agent for a new call of Desk, as the SIP and Twilio edges do.
fn route(app: &App, key: &str, from: &str) -> dialtone_routing::service::Routed {
    let now = time::OffsetDateTime::now_utc();
    let key = dialtone_calls::VendorCallKey::parse(key).unwrap();
    let mut r = app.state.calls.routing.lock();
    let center = r.queues(now).into_iter().find(|q| q.name == "Desk").and_then(|q| q.call_center).expect("Desk's queue");
    r.arrive(now, &key, &dialtone_routing::service::Arrival { call_center: Some(center), from: from.into(), ..Default::default() });
    r.route(now, &key, &[], &|_| true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_explains_its_choice_shows_supervisors_the_queue_and_calls_back_through_the_desktop() {
    use dialtone_routing::service::Routed;
    let app = spawn_app().await;
    dialtone_server::routing::refresh(&app.state).await.unwrap();
    for who in ["ann", "bob"] {
        let (s, b) = app.put(who, &format!("/api/agents/{who}@d.test/presence"), json!({"status": "Available"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    dialtone_server::routing::refresh(&app.state).await.unwrap();
    let (mut ws, _) = app.ws("ann").await;

    // A call arrives; routing picks ann (Available longest); the edge rings her and she answers.
    app.events(json!([{"vendorCallKey": "r-1", "seq": 1, "kind": "initiated", "direction": "inbound", "from": "+14155550123", "to": "+18005550100", "callCenter": "Desk"}])).await;
    assert_eq!(route(&app, "r-1", "+14155550123"), Routed::Offer(dialtone_calls::AgentId::new(app.ids["ann"].clone()).unwrap()));
    app.events(json!([
        {"vendorCallKey": "r-1", "seq": 2, "kind": "offered", "agent": app.ids["ann"].as_str()},
        {"vendorCallKey": "r-1", "seq": 3, "kind": "answered", "agent": app.ids["ann"].as_str()},
    ]))
    .await;
    let vc = app.voice_call("r-1", "Id").await[0].as_str().unwrap().to_string();
    // Why ann: answerable by whoever may read the call, and stored with it.
    let (s, d) = app.get("ann", &format!("/api/routing/work-items/{vc}/decision")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!((d["state"].as_str(), d["agent"].as_str(), d["queue"].as_str(), d["voiceCallId"].as_str()), (Some("accepted"), Some("ann@d.test"), Some("Desk"), Some(vc.as_str())), "{d}");
    assert!(d["rule"].as_str().unwrap().contains("longest idle"), "{d}");
    let verdicts: Vec<(&str, &str)> = d["candidates"].as_array().unwrap().iter().map(|c| (c["agent"].as_str().unwrap(), c["verdict"].as_str().unwrap())).collect();
    assert!(verdicts.contains(&("ann@d.test", "chosen")), "{d}");
    assert_eq!(d["offers"][0]["outcome"], "accepted", "{d}");
    let (s, b) = app.get("bob", &format!("/api/routing/work-items/{vc}/decision")).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "bob may not read ann's call, so not its routing either");
    let (s, b) = app.get("bob", "/api/routing/work-items/r-1/decision").await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "agents ask by VoiceCall id");
    let mut stored = Value::Null;
    for _ in 0..100 {
        stored = app.voice_call("r-1", "RoutingDecision").await.remove(0);
        if !matches!(stored, Value::Null) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored: Json = serde_json::from_str(stored.as_str().expect("the decision is stored on the VoiceCall")).unwrap();
    assert_eq!((stored["agent"].as_str(), stored["state"].as_str()), (Some("ann@d.test"), Some("accepted")));
    let (_, history) = app.get("admin", &format!("/api/records/{vc}/history")).await;
    assert!(!history["changes"].as_array().unwrap().iter().any(|c| c["field"] == "RoutingDecision"), "a system document, not history: {history}");
    assert!(history["changes"].as_array().unwrap().iter().any(|c| c["field"] == "CallDisposition"), "{history}");

    // bob goes Busy; the next caller waits, and the supervisor's board shows it.
    let (s, b) = app.put("bob", "/api/agents/bob@d.test/presence", json!({"status": "Busy"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.events(json!([{"vendorCallKey": "r-2", "seq": 1, "kind": "initiated", "direction": "inbound", "from": "+14155550188", "to": "+18005550100", "callCenter": "Desk"}])).await;
    assert_eq!(route(&app, "r-2", "+14155550188"), Routed::Wait);
    let (s, b) = app.get("ann", "/api/routing/queues").await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
    let (s, board) = app.get("admin", "/api/routing/queues").await;
    assert_eq!(s, StatusCode::OK, "{board}");
    let desk = board["queues"].as_array().unwrap().iter().find(|q| q["name"] == "Desk").unwrap();
    assert_eq!((desk["waiting"].as_u64(), desk["members"].as_u64(), desk["signedIn"].as_u64()), (Some(1), Some(3), Some(1)), "{board}");
    assert_eq!(desk["items"][0]["workItemId"], "r-2");
    let agents: Vec<(&str, &str, u64)> = board["agents"].as_array().unwrap().iter().map(|a| (a["username"].as_str().unwrap(), a["status"].as_str().unwrap(), a["usedCapacity"].as_u64().unwrap())).collect();
    assert!(agents.contains(&("ann@d.test", "Available", 1)) && agents.contains(&("bob@d.test", "Busy", 0)), "{agents:?}");
    assert!(board["agents"].as_array().unwrap().iter().all(|a| a["timeInStatusSeconds"].is_object()), "{board}");

    // The caller keeps their place and hangs up: a callback.
    let (s, d) = app.post("admin", "/api/routing/work-items/r-2/callback", json!({})).await;
    assert_eq!((s, d["state"].as_str()), (StatusCode::OK, Some("callback")), "{d}");
    app.events(json!([{"vendorCallKey": "r-2", "seq": 2, "kind": "ended", "reason": "customerDisconnect"}])).await;
    let (_, d) = app.get("admin", "/api/routing/work-items/r-2/decision").await;
    assert_eq!(d["state"], "callback", "the callback outlives its call: {d}");

    // ann finishes and wraps up: the callback is offered on her desktop; she calls back.
    assert_eq!(app.post("ann", "/api/desktop/calls/r-1/accept", json!({})).await.0, StatusCode::CONFLICT, "answered by the edge already");
    let (s, b) = app.post("ann", "/api/desktop/calls/r-1/hangup", json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (s, b) = app.post("ann", "/api/desktop/calls/r-1/wrapup", json!({"resolution": "Resolved"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (offer, _) = expect(&mut ws, "workOffer").await;
    assert_eq!((offer["key"].as_str(), offer["callback"].as_bool()), (Some("r-2"), Some(true)), "{offer}");
    let (s, b) = app.post("bob", "/api/routing/work-items/r-2/accept", json!({})).await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "NOT_OFFERED"), "offered to ann, not bob");
    let (s, d) = app.post("ann", "/api/routing/work-items/r-2/accept", json!({})).await;
    assert_eq!((s, d["state"].as_str()), (StatusCode::OK, Some("calledBack")), "{d}");
    // No carrier here: the simulator places the dial-out, ann's outbound call to the caller.
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = app.rows("SELECT VendorCallKey, OwnerId FROM VoiceCall WHERE CallType = 'Outbound' AND ToPhoneNumber = '+14155550188'").await;
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rows.len(), 1, "one dial-out call");
    let dial = rows[0][0].as_str().unwrap().to_string();
    let ann = dialtone_calls::AgentId::new(app.ids["ann"].clone()).unwrap();
    assert!(!app.state.calls.routing.lock().can_take_call(&ann), "the callback holds ann");
    let (s, b) = app.post("ann", &format!("/api/desktop/calls/{dial}/hangup"), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (_, d) = app.get("admin", "/api/routing/work-items/r-2/decision").await;
    assert_eq!((d["state"].as_str(), d["agent"].as_str()), (Some("calledBack"), Some("ann@d.test")), "{d}");

    // Bad input gets a clear answer.
    let (s, b) = app.get("admin", "/api/routing/work-items/no-such-call/decision").await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "WORK_ITEM_NOT_FOUND"));
    let (s, b) = app.post("admin", "/api/routing/work-items", json!({"channel": "voice", "recordId": vc})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_FIELD"));
    let (s, b) = app.post("admin", "/api/routing/work-items", json!({"channel": "chat", "recordId": "nope"})).await;
    assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "MALFORMED_ID"));
    let (s, b) = app.post("ann", "/api/routing/work-items", json!({"channel": "case", "recordId": vc})).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"));
}

const ROUTING_YAML: &str = r#"# A contact centre's routing, as an admin writes it.
channels:
  - name: voice
  - name: case
    weight: 1
presenceStatuses:
  - name: Available - Voice
    channels: [voice]
skills: [english, spanish]
businessHours:
  - name: Office
    timeZone: Europe/London
    days: {Monday: "00:00-24:00", Tuesday: "00:00-24:00", Wednesday: "00:00-24:00", Thursday: "00:00-24:00", Friday: "00:00-24:00", Saturday: "00:00-24:00", Sunday: "00:00-24:00"}
    holidays: ["2031-12-25"]
routingConfigurations:
  - name: Standard
    priority: 1
    routingModel: MostAvailable
    pushTimeoutSeconds: 20
    overflowAfterSeconds: 120
    overflowTo: callback
    businessHours: Office
    afterHours: voicemail
queues:
  - name: Spanish
    routingConfiguration: Standard
  - name: Desk Line
    routingConfiguration: Standard
    callCenter: Desk
agents:
  - user: ann@d.test
    capacity: 2
    skills: {spanish: 7}
    queues: [Desk Line, Spanish]
  - user: bob@d.test
    queues: [Desk Line]
rules:
  - name: Spanish line
    order: 10
    dialledNumber: "(800) 555-0199"
    queue: Spanish
    skills: [{skill: spanish, level: 5, optionalAfterSeconds: 60}]
  - name: Hot accounts
    order: 20
    recordField: Account.Rating
    recordValue: hot
    queue: Spanish
"#;

impl App {
    async fn put_config(&self, who: &str, body: &str) -> (StatusCode, Json) {
        self.raw("PUT", "/api/routing/config", Some(who), body.to_string()).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_is_administered_as_records_and_as_one_file_and_takes_effect_without_a_restart() {
    let app = spawn_app().await;
    // The whole configuration from one YAML file.
    let (s, b) = app.put_config("ann", ROUTING_YAML).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "INSUFFICIENT_ACCESS_OR_READONLY"), "agents do not administer routing");
    let (s, b) = app.put_config("admin", ROUTING_YAML).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["records"], 14, "{b}");
    // It reads back as the same file, in YAML and in JSON.
    let (s, yaml) = app.raw_text("GET", "/api/routing/config?format=yaml", Some("admin"), String::new()).await;
    assert_eq!(s, StatusCode::OK);
    let back = dialtone_server::routing_admin::parse_file(yaml.as_bytes()).unwrap_or_else(|e| panic!("{}: {yaml}", e.message));
    let mut sent = dialtone_server::routing_admin::parse_file(ROUTING_YAML.as_bytes()).unwrap();
    // Defaults left out of the file are written out.
    sent.queues.iter_mut().for_each(|q| q.channel = Some("voice".into()));
    sent.agents.iter_mut().for_each(|a| {
        a.active = Some(true);
        a.capacity.get_or_insert(1);
    });
    assert_eq!(back.queues, sent.queues);
    assert_eq!(back.rules, sent.rules);
    assert_eq!(back.agents, sent.agents);
    assert_eq!(back.business_hours, sent.business_hours);
    let (_, json_file) = app.get("admin", "/api/routing/config").await;
    assert_eq!(json_file["queues"][1]["callCenter"], "Desk", "{json_file}");
    // The records are records: SOQL sees them.
    let (_, q) = app.get("admin", "/services/data/v60.0/query?q=SELECT+Name,+RoutingConfigName+FROM+Queue+ORDER+BY+Name").await;
    let names: Vec<&str> = q["records"].as_array().unwrap().iter().map(|r| r["Name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Desk Line", "Spanish"], "{q}");

    // A running server takes it: the queues are live, and a call to the Spanish number follows the rule.
    dialtone_server::routing::refresh(&app.state).await.unwrap();
    let (_, board) = app.get("admin", "/api/routing/queues").await;
    let queues: Vec<&str> = board["queues"].as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(queues, vec!["Spanish", "Desk Line"], "{board}");
    assert_eq!(board["configurationProblems"], json!([]));
    for who in ["ann", "bob"] {
        let (s, b) = app.put(who, &format!("/api/agents/{who}@d.test/presence"), json!({"status": "Available"})).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let now = time::OffsetDateTime::now_utc();
    let key = dialtone_calls::VendorCallKey::parse("es-1").unwrap();
    {
        let mut r = app.state.calls.routing.lock();
        let center = r.queues(now).into_iter().find(|q| q.name == "Desk Line").and_then(|q| q.call_center).unwrap();
        let arrival = dialtone_server::routing::arrival(Some(center), "+14155550100", "+1 800 555 0199", Some(app.state.store.normalizer()));
        r.arrive(now, &key, &arrival);
    }
    let (_, d) = app.get("admin", "/api/routing/work-items/es-1/decision").await;
    assert_eq!((d["entry"].as_str(), d["queue"].as_str(), d["state"].as_str(), d["agent"].as_str()), (Some("rule Spanish line"), Some("Spanish"), Some("offered"), Some("ann@d.test")), "{d}");
    // A rule on the caller's record: a Contact of a Hot account.
    let account = app.insert("Account", vec![("Name", t("Hot Co")), ("Rating", t("Hot"))], "admin").await;
    app.insert("Contact", vec![("LastName", t("Warm")), ("Phone", t("(415) 555-0177")), ("AccountId", t(account.as_str()))], "admin").await;
    let wanted = app.state.calls.routing.lock().record_fields_wanted();
    assert_eq!(wanted, vec!["Account.Rating".to_string()]);
    let fields = dialtone_server::routing::caller_fields(app.state.store.as_ref(), "+14155550177", &wanted).await;
    assert_eq!(fields, vec![("Account.Rating".to_string(), "Hot".to_string())]);
    {
        let mut r = app.state.calls.routing.lock();
        let center = r.queues(now).into_iter().find(|q| q.name == "Desk Line").and_then(|q| q.call_center).unwrap();
        let mut arrival = dialtone_server::routing::arrival(Some(center), "+14155550177", "+18005550100", Some(app.state.store.normalizer()));
        arrival.record = fields;
        r.arrive(now, &dialtone_calls::VendorCallKey::parse("hot-1").unwrap(), &arrival);
    }
    let (_, hot) = app.get("admin", "/api/routing/work-items/hot-1/decision").await;
    assert_eq!((hot["entry"].as_str(), hot["queue"].as_str()), (Some("rule Hot accounts"), Some("Spanish")), "{hot}");

    // The configuration's presence statuses are the agents' to pick.
    let (_, statuses) = app.get("ann", "/api/setup/presence-statuses").await;
    assert!(statuses.as_array().unwrap().contains(&json!({"name": "Available - Voice", "base": "Available"})), "{statuses}");
    let (s, b) = app.put("bob", "/api/agents/bob@d.test/presence", json!({"status": "Available - Voice"})).await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("Available - Voice")), "{b}");
    let (_, board) = app.get("admin", "/api/routing/queues").await;
    let bob = board["agents"].as_array().unwrap().iter().find(|a| a["username"] == "bob@d.test").unwrap().clone();
    assert_eq!(bob["status"], "Available - Voice", "{board}");
    assert_eq!(d["requirements"], json!([{"skill": "spanish", "level": 5, "relaxAfterSeconds": 60}]));

    // One record at a time, through the REST API: audited, and live within a refresh.
    let (s, b) = app.post("admin", "/services/data/v60.0/sobjects/Skill", json!({"DeveloperName": "billing"})).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = app.post("ann", "/services/data/v60.0/sobjects/Skill", json!({"DeveloperName": "sneaky"})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "an agent's profile has no routing objects at all: {b}");
    let (s, b) = app.post("admin", "/services/data/v60.0/composite/sobjects", json!({"records": [{"attributes": {"type": "Skill"}, "DeveloperName": "batched"}]})).await;
    assert!(s == StatusCode::BAD_REQUEST || b.to_string().contains("INVALID_TYPE"), "{s} {b}");
    let (_, file) = app.get("admin", "/api/routing/config").await;
    assert_eq!(file["skills"], json!(["english", "spanish", "billing"]), "{file}");

    // Bad files are refused with where and why, and change nothing.
    for (bad, want) in [
        ("queues:\n  - name: [unclosed\n", "line 2"),
        ("queues:\n  - name: Lost\n    callCenter: Nowhere\n", "no call center has the internal name \"Nowhere\""),
        ("queues:\n  - name: A\n    routingConfiguration: Loop\nroutingConfigurations:\n  - name: Loop\n    overflowAfterSeconds: 5\n    overflowTo: queue:A\n", "in a loop"),
        ("rules:\n  - name: Ghost\n    queue: Nowhere\n", "queue \"Nowhere\", which does not exist"),
        ("skills: [a]\nsurprise: true\n", "unknown field `surprise`"),
        ("businessHours:\n  - name: Odd\n    days: {Funday: \"09:00-17:00\"}\n", "not a day of the week"),
        ("businessHours:\n  - name: Mars\n    timeZone: Mars/Olympus_Mons\n", "is not UTC, ±HH:MM or a time zone name"),
    ] {
        let (s, b) = app.put_config("admin", bad).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "INVALID_ROUTING_CONFIG"), "{bad}: {b}");
        assert!(b[0]["message"].as_str().unwrap().contains(want), "{bad}: {b}");
    }
    let (_, after) = app.get("admin", "/api/routing/config").await;
    assert_eq!(after, file, "refused files wrote nothing");
    let (s, b) = app.raw("PUT", "/api/routing/config?dryRun=true", Some("admin"), "skills: [only]\n".to_string()).await;
    assert_eq!((s, b["dryRun"].as_bool()), (StatusCode::OK, Some(true)), "{b}");
    assert_eq!(app.get("admin", "/api/routing/config").await.1, file, "a dry run writes nothing");

    // Every change is in the setup audit trail.
    let (_, audit) = app.get("admin", "/api/setup/audit").await;
    let actions: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"routing.import") && actions.contains(&"routing.Skill.create"), "{actions:?}");
}
