//! Flows end to end: the real router and flow runner on a fresh SQLite store
//! (one scenario on PostgreSQL), flows imported as a YAML file, records
//! changed through the REST API and the call desk, webhooks received by a
//! local HTTP listener, and FlowRun records read back with SOQL.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_server::flows::Settings;
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

const CENTER_XML: &str = r#"<callCenter>
    <section sortOrder="0" name="reqGeneralInfo" label="General Information">
        <item sortOrder="0" name="reqInternalName" label="InternalName">Desk</item>
        <item sortOrder="1" name="reqDisplayName" label="Display Name">Desk Center</item>
        <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
    </section>
</callCenter>
"#;

struct App {
    state: AppState,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, SalesforceId>,
    _dir: Option<tempfile::TempDir>,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

fn t_val(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn fast() -> Settings {
    Settings {
        retry: dialtone_flows::RetryPolicy { base: time::Duration::milliseconds(100), cap: time::Duration::milliseconds(300), max_attempts: 3 },
        webhook_timeout: Duration::from_secs(10),
        threshold_every: Duration::from_secs(3600),
        lease: Duration::from_secs(5),
    }
}

/// A fresh SQLite store in a temporary directory.
async fn sqlite() -> (DynStore, tempfile::TempDir, Location) {
    let dir = tempfile::tempdir().unwrap();
    let loc = Location::Sqlite(dir.path().join("d.db"));
    (dialtone_store::open(&loc, "US").await.unwrap(), dir, loc)
}

/// admin (System Administrator) and ann (Agent of Desk); a master key and the webhook secret `hook`.
async fn app_on(store: DynStore, dir: Option<tempfile::TempDir>, start: bool) -> App {
    let schema = Schema::standard();
    let mut ids = HashMap::new();
    if store.find_user_by_username("admin@f.test").await.unwrap().is_none() {
        let def = dialtone_callcenter::parse(CENTER_XML.as_bytes(), "Desk.xml").unwrap();
        let cc = schema.object("CallCenter").unwrap();
        let v = cc
            .check_create(vec![("Name".into(), t(&def.display_name)), ("InternalName".into(), t(&def.internal_name)), ("Format".into(), t("Legacy")), ("Definition".into(), t(&dialtone_callcenter::export(&def, def.format)))])
            .unwrap();
        let center = store.insert(cc, vec![v], None).await.unwrap().remove(0);
        let user = schema.object("User").unwrap();
        for (name, profile) in [("admin", "System Administrator"), ("ann", "Agent")] {
            let u = format!("{name}@f.test");
            let fields = vec![("Username".into(), t(&u)), ("LastName".into(), t(name)), ("Email".into(), t(&u)), ("ProfileName".into(), t(profile)), ("CallCenterId".into(), t(center.as_str()))];
            store.insert(user, vec![user.check_create(fields).unwrap()], None).await.unwrap();
        }
    }
    for name in ["admin", "ann"] {
        let u = store.find_user_by_username(&format!("{name}@f.test")).await.unwrap().unwrap();
        ids.insert(name, u.id().unwrap());
    }
    let mut state = AppState::new(store).await.unwrap();
    let key = dialtone_secrets::MasterKey::generate().unwrap();
    state.store.put_setting("credential:hook", &dialtone_secrets::seal(&key, "hook", b"s3cret")).await.unwrap();
    state.master_key = Some(Arc::new(key));
    state.flows.set_settings(fast());
    if start {
        dialtone_server::flows::start(&state).await;
    }
    let mut tokens = HashMap::new();
    for (name, id) in &ids {
        tokens.insert(*name, auth::issue_api_token(state.store.as_ref(), id, "test").await.unwrap());
    }
    App { state, tokens, ids, _dir: dir }
}

async fn spawn_app() -> App {
    let (store, dir, _) = sqlite().await;
    app_on(store, Some(dir), true).await
}

impl App {
    /// Polls `/health` until `ok(flows layer)` holds (at most 10 s).
    async fn until_health(&self, ok: impl Fn(&Json) -> bool) -> Json {
        let mut last = Json::Null;
        for _ in 0..100 {
            let (_, h) = self.raw("GET", "/health", "admin", String::new()).await;
            if ok(&h) {
                return h;
            }
            last = h;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("/health never got there: {last}");
    }

    async fn raw(&self, method: &str, path: &str, who: &str, body: String) -> (StatusCode, Json) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.tokens[who]))
            .body(Body::from(body))
            .unwrap();
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
    }

    async fn flows(&self, who: &str, yaml: &str) -> (StatusCode, Json) {
        self.raw("PUT", "/api/flows/config", who, yaml.to_string()).await
    }

    async fn import(&self, yaml: &str) {
        let (s, b) = self.flows("admin", yaml).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }

    async fn patch(&self, object: &str, id: &SalesforceId, body: Json) {
        let (s, b) = self.raw("PATCH", &format!("/services/data/v60.0/sobjects/{object}/{id}"), "admin", body.to_string()).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{b}");
    }

    async fn create(&self, object: &str, body: Json) -> SalesforceId {
        let (s, b) = self.raw("POST", &format!("/services/data/v60.0/sobjects/{object}"), "admin", body.to_string()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        SalesforceId::parse(b["id"].as_str().unwrap()).unwrap()
    }

    async fn insert(&self, object: &str, fields: Vec<(&str, RawValue)>) -> SalesforceId {
        let o = Schema::standard().object(object).unwrap();
        let v = o.check_create(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect()).unwrap();
        self.state.store.insert(o, vec![v], Some(&self.ids["ann"])).await.unwrap().remove(0)
    }

    async fn rows(&self, soql: &str) -> Vec<Vec<Value>> {
        let store = &self.state.store;
        let plan = dialtone_soql::compile(soql, store.schema(), store.dialect(), time::OffsetDateTime::now_utc()).unwrap();
        store.query(&plan, None).await.unwrap()
    }

    /// Waits (up to 10 s) until the query returns rows that satisfy `ok`.
    async fn until(&self, soql: &str, ok: impl Fn(&[Vec<Value>]) -> bool) -> Vec<Vec<Value>> {
        self.until_within(soql, 200, ok).await
    }

    /// [`App::until`] with `polls` of 50 ms.
    async fn until_within(&self, soql: &str, polls: usize, ok: impl Fn(&[Vec<Value>]) -> bool) -> Vec<Vec<Value>> {
        for _ in 0..polls {
            let rows = self.rows(soql).await;
            if ok(&rows) {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("never: {soql} → {:?}", self.rows(soql).await);
    }

    /// Waits until the runner has nothing left in the outbox and nothing running.
    async fn settle(&self) {
        for _ in 0..200 {
            let backlog = self.state.store.outbox_backlog().await.unwrap();
            let running = self.rows("SELECT Id FROM FlowRun WHERE Status = 'Running'").await.len();
            if backlog == 0 && running == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if self.state.store.outbox_backlog().await.unwrap() == 0 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the runner never settled");
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

const CALLBACK_TASK: &str = r#"
flows:
  - name: Callback task
    object: VoiceCall
    when: changedTo
    field: CallResolution
    value: Callback Requested
    actions:
      - create:
          object: Task
          fields:
            Subject: "Call back {!FromPhoneNumber}"
            WhatId: "{!Id}"
            ActivityDate: "{!$Today+1}"
            Priority: High
"#;

async fn a_task_follows_a_resolution_change_exactly_once(app: &App) {
    app.import(CALLBACK_TASK).await;
    let call = app.insert("VoiceCall", vec![("VendorCallKey", t("f-1")), ("CallType", t("Inbound")), ("FromPhoneNumber", t("+14155550123"))]).await;
    app.patch("VoiceCall", &call, json!({"CallResolution": "Callback Requested"})).await;
    let q = format!("SELECT Subject, WhatId, Priority, OwnerId, ActivityDate FROM Task WHERE WhatId = '{call}'");
    let tasks = app.until(&q, |r| !r.is_empty()).await;
    assert_eq!((s(&tasks[0][0]), s(&tasks[0][2]), s(&tasks[0][3])), ("Call back +14155550123", "High", app.ids["ann"].as_str()), "the call's owner owns the task");
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    assert_eq!(s(&tasks[0][4]), dialtone_model::format_date(tomorrow));
    // Updated again, and set to the same value again: no second task.
    app.patch("VoiceCall", &call, json!({"Description": "spoke to them"})).await;
    app.patch("VoiceCall", &call, json!({"CallResolution": "Callback Requested"})).await;
    app.settle().await;
    assert_eq!(app.rows(&q).await.len(), 1);
    let runs = app.rows(&format!("SELECT Status, FlowName, Object, Attempts FROM FlowRun WHERE RecordId = '{call}'")).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!((s(&runs[0][0]), s(&runs[0][1]), s(&runs[0][2]), &runs[0][3]), ("Succeeded", "Callback task", "VoiceCall", &Value::Int(1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_follows_a_resolution_change_exactly_once_on_sqlite() {
    let app = spawn_app().await;
    a_task_follows_a_resolution_change_exactly_once(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_follows_a_resolution_change_exactly_once_on_postgresql() {
    if std::env::var("DIALTONE_SKIP_PG").is_ok_and(|v| v == "1") {
        return;
    }
    let admin = std::env::var("DIALTONE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.expect("PostgreSQL for the flows test (or DIALTONE_SKIP_PG=1)");
    tokio::spawn(conn);
    let name = format!("dt_flows_{}_{}", std::process::id(), time::OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000);
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    {
        let store = dialtone_store::open(&Location::Postgres(url), "US").await.unwrap();
        let app = app_on(store, None, true).await;
        a_task_follows_a_resolution_change_exactly_once(&app).await;
    }
    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_before_a_restart_runs_once_even_with_two_runners() {
    let (store, dir, loc) = sqlite().await;
    // The first process: flows imported, the change committed, then it stops before its runner ran.
    let first = app_on(store, None, false).await;
    first.import(CALLBACK_TASK).await;
    let call = first.insert("VoiceCall", vec![("VendorCallKey", t("f-2")), ("FromPhoneNumber", t("+14155550124"))]).await;
    first.patch("VoiceCall", &call, json!({"CallResolution": "Callback Requested"})).await;
    assert_eq!(first.state.store.outbox_backlog().await.unwrap(), 2, "the insert and the change wait in the outbox");
    drop(first);
    // Two processes start on the same database (a restart racing a second node): one run, one task.
    let (a, b) = tokio::join!(
        async { app_on(dialtone_store::open(&loc, "US").await.unwrap(), None, true).await },
        async { app_on(dialtone_store::open(&loc, "US").await.unwrap(), None, true).await }
    );
    a.until(&format!("SELECT Id FROM Task WHERE WhatId = '{call}'"), |r| r.len() == 1).await;
    a.settle().await;
    b.settle().await;
    assert_eq!(a.rows(&format!("SELECT Id FROM Task WHERE WhatId = '{call}'")).await.len(), 1);
    assert_eq!(a.rows(&format!("SELECT Id FROM FlowRun WHERE RecordId = '{call}'")).await.len(), 1);
    drop(dir);
}

/// Runner A claims a run whose first action is a webhook the receiver holds open;
/// runner B starts meanwhile. With A's lease over (A looks stopped), B takes the run
/// over and calls the webhook again; else B leaves it to A. Either way, the Task after
/// the webhook is created once. Returns (webhook deliveries, tasks).
async fn second_runner_during_a_held_webhook(a_lease: Duration, pause: Duration) -> (usize, usize) {
    let (store, dir, loc) = sqlite().await;
    let hook = receiver().await;
    let first = app_on(store, None, false).await;
    first
        .import(&format!(
            r#"
flows:
  - name: Tell, then follow up
    object: VoiceCall
    when: changedTo
    field: CallResolution
    value: Callback Requested
    actions:
      - webhook: {{url: "{url}", secret: hook}}
      - create: {{object: Task, fields: {{Subject: "Call back {{!FromPhoneNumber}}", WhatId: "{{!Id}}"}}}}
"#,
            url = hook.url
        ))
        .await;
    let call = first.insert("VoiceCall", vec![("VendorCallKey", t("f-3")), ("FromPhoneNumber", t("+14155550125"))]).await;
    first.patch("VoiceCall", &call, json!({"CallResolution": "Callback Requested"})).await;
    drop(first);
    hook.hold.store(1, Ordering::SeqCst);
    let a = app_on(dialtone_store::open(&loc, "US").await.unwrap(), None, false).await;
    a.state.flows.set_settings(Settings { lease: a_lease, ..fast() });
    dialtone_server::flows::start(&a.state).await;
    let deliveries = |n: usize| {
        let got = hook.got.clone();
        async move {
            for _ in 0..200 {
                if got.lock().unwrap().len() >= n {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            got.lock().unwrap().len()
        }
    };
    assert_eq!(deliveries(1).await, 1, "A is inside the webhook");
    tokio::time::sleep(pause).await;
    let b = app_on(dialtone_store::open(&loc, "US").await.unwrap(), None, true).await;
    let inside = if a_lease < pause { deliveries(2).await } else { tokio::time::sleep(Duration::from_millis(700)).await; hook.got.lock().unwrap().len() };
    // The answers come back: only one runner may go on to create the Task.
    hook.hold.store(0, Ordering::SeqCst);
    let tasks = format!("SELECT Id FROM Task WHERE WhatId = '{call}'");
    a.until(&tasks, |r| !r.is_empty()).await;
    a.settle().await;
    b.settle().await;
    let runs = a.rows(&format!("SELECT Status, ActionsDone FROM FlowRun WHERE RecordId = '{call}'")).await;
    assert_eq!(runs.len(), 1);
    assert_eq!((s(&runs[0][0]), &runs[0][1]), ("Succeeded", &Value::Int(2)), "{runs:?}");
    let delivered = {
        let got = hook.got.lock().unwrap();
        assert!(got.iter().all(|(h, _)| h.get("x-dialtone-delivery") == got[0].0.get("x-dialtone-delivery")), "a repeated delivery carries the same id for the receiver to drop");
        got.len()
    };
    assert_eq!(delivered, inside);
    let n = a.rows(&tasks).await.len();
    drop(dir);
    (delivered, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runner_that_takes_over_a_run_whose_lease_is_over_never_repeats_its_actions() {
    // A's lease (200 ms) is over when B starts: B takes the run over, both are inside the webhook.
    let (deliveries, tasks) = second_runner_during_a_held_webhook(Duration::from_millis(200), Duration::from_millis(500)).await;
    assert_eq!((deliveries, tasks), (2, 1), "delivered twice (at least once), the follow-up created once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_a_stopped_node_held_resumes_on_a_live_node_once_its_lease_is_over() {
    let app = spawn_app().await;
    app.import(CALLBACK_TASK).await;
    let flow = s(&app.rows("SELECT Id FROM Flow WHERE Name = 'Callback task'").await[0][0]).to_string();
    let call = app.insert("VoiceCall", vec![("VendorCallKey", t("stuck-1")), ("FromPhoneNumber", t("+14155550126"))]).await;
    // Another node claimed this run and stopped before its first action; its lease ran out a minute ago.
    let gone = dialtone_model::format_datetime(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let fields = vec![
        ("FlowId".into(), Value::Text(flow)),
        ("FlowName".into(), t_val("Callback task")),
        ("RecordId".into(), Value::Text(call.to_string())),
        ("Object".into(), t_val("VoiceCall")),
        ("ChangeSeq".into(), Value::Int(987_654)),
        ("Status".into(), t_val("Running")),
        ("Attempts".into(), Value::Int(0)),
        ("ActionsDone".into(), Value::Int(0)),
        ("StartedDateTime".into(), Value::Text(gone.clone())),
        ("LeaseExpiresDateTime".into(), Value::Text(gone)),
    ];
    app.state.store.write_batch(vec![dialtone_store::WriteOp::Insert { object: "FlowRun".into(), fields }], None).await.unwrap();
    // No restart: the live runner's periodic look (every 5 s) finds it and finishes it.
    let tasks = format!("SELECT Id FROM Task WHERE WhatId = '{call}'");
    app.until_within(&tasks, 600, |r| r.len() == 1).await;
    app.settle().await;
    let run = app.rows(&format!("SELECT Status, LastError FROM FlowRun WHERE RecordId = '{call}'")).await;
    assert_eq!(s(&run[0][0]), "Succeeded", "{run:?}");
    assert!(s(&run[0][1]).starts_with("interrupted"), "the run says what happened: {run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_runner_leaves_a_live_run_to_the_runner_holding_its_lease() {
    let (deliveries, tasks) = second_runner_during_a_held_webhook(Duration::from_secs(30), Duration::from_millis(100)).await;
    assert_eq!((deliveries, tasks), (1, 1), "B never touched the run A holds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_see_the_parent_record_and_actions_update_it() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Hot account cases
    object: Case
    when: created
    condition: "Account.Rating = 'Hot' AND Origin = 'Phone'"
    actions:
      - update: {fields: {Priority: High}}
      - update: {record: AccountId, fields: {Description: "Case {!CaseNumber} opened by phone"}}
"#,
    )
    .await;
    let hot = app.create("Account", json!({"Name": "Hot Co", "Rating": "Hot"})).await;
    let cold = app.create("Account", json!({"Name": "Cold Co", "Rating": "Cold"})).await;
    let c1 = app.create("Case", json!({"Subject": "a", "Origin": "Phone", "AccountId": hot.as_str()})).await;
    let c2 = app.create("Case", json!({"Subject": "b", "Origin": "Phone", "AccountId": cold.as_str()})).await;
    app.until(&format!("SELECT Priority FROM Case WHERE Id = '{c1}'"), |r| s(&r[0][0]) == "High").await;
    let d = app.until(&format!("SELECT Description FROM Account WHERE Id = '{hot}'"), |r| !r[0][0].is_null()).await;
    assert!(s(&d[0][0]).starts_with("Case 0") && s(&d[0][0]).ends_with("opened by phone"), "{d:?}");
    app.settle().await;
    assert_eq!(s(&app.rows(&format!("SELECT Priority FROM Case WHERE Id = '{c2}'")).await[0][0]), "Medium");
    let run = app.rows(&format!("SELECT Status, Detail FROM FlowRun WHERE RecordId = '{c2}'")).await;
    assert_eq!((s(&run[0][0]), s(&run[0][1])), ("Skipped", "the condition was not met"));
}

/// Requests a receiver got: headers (lower-case names) and body.
type Got = Arc<Mutex<Vec<(HashMap<String, String>, Vec<u8>)>>>;

/// A local webhook receiver: records requests; answers 500 while `fail` is set,
/// and holds its answers while `hold` is set.
struct Receiver {
    url: String,
    got: Got,
    fail: Arc<AtomicU16>,
    hold: Arc<AtomicU16>,
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Got = Arc::default();
    let fail = Arc::new(AtomicU16::new(0));
    let hold = Arc::new(AtomicU16::new(0));
    let (g, f, hd) = (got.clone(), fail.clone(), hold.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (g, f, hd) = (g.clone(), f.clone(), hd.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, headers) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_string();
                        let headers: HashMap<String, String> = head.lines().skip(1).filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
                        break (i + 4, headers);
                    }
                };
                let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_end..].to_vec();
                g.lock().unwrap().push((headers, body));
                while hd.load(Ordering::SeqCst) > 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let status = if f.load(Ordering::SeqCst) > 0 { "500 Internal Server Error" } else { "200 OK" };
                let _ = sock.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes()).await;
            });
        }
    });
    Receiver { url, got, fail, hold }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_with_back_off_parked_and_retried_on_request() {
    let app = spawn_app().await;
    let hook = receiver().await;
    app.import(&format!(
        r#"
flows:
  - name: Completed calls
    object: VoiceCall
    when: changedTo
    field: CallDisposition
    value: completed
    actions:
      - webhook: {{url: "{url}", secret: hook}}
"#,
        url = hook.url
    ))
    .await;
    let call = app.insert("VoiceCall", vec![("VendorCallKey", t("w-1")), ("CallDisposition", t("in-progress"))]).await;
    app.patch("VoiceCall", &call, json!({"CallDisposition": "completed"})).await;
    app.until(&format!("SELECT Status FROM FlowRun WHERE RecordId = '{call}'"), |r| r.first().is_some_and(|x| s(&x[0]) == "Succeeded")).await;
    {
        let got = hook.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        let (headers, body) = &got[0];
        let sig = headers.get("x-dialtone-signature").expect("signed");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(dialtone_flows::signature::verify(b"s3cret", sig, body, now, 300), Ok(()));
        assert!(dialtone_flows::signature::verify(b"wrong", sig, body, now, 300).is_err());
        let j: Json = serde_json::from_slice(body).unwrap();
        assert_eq!((j["recordId"].as_str(), j["record"]["CallDisposition"].as_str(), j["event"].as_str()), (Some(call.as_str()), Some("completed"), Some("updated")), "{j}");
        assert_eq!(j["changes"][0], json!({"field": "CallDisposition", "old": "in-progress", "new": "completed"}));
        assert_eq!(headers.get("x-dialtone-delivery").map(String::as_str), j["deliveryId"].as_str());
    }

    // The receiver fails: tried 3 times with back-off, then parked; the call is untouched.
    hook.fail.store(1, Ordering::SeqCst);
    let second = app.insert("VoiceCall", vec![("VendorCallKey", t("w-2")), ("CallDisposition", t("in-progress"))]).await;
    app.patch("VoiceCall", &second, json!({"CallDisposition": "completed"})).await;
    let q = format!("SELECT Id, Status, Attempts, LastError FROM FlowRun WHERE RecordId = '{second}'");
    let parked = app.until(&q, |r| r.first().is_some_and(|x| s(&x[1]) == "Parked")).await;
    assert_eq!(parked[0][2], Value::Int(3));
    assert!(s(&parked[0][3]).contains("500"), "{parked:?}");
    assert_eq!(hook.got.lock().unwrap().len(), 4, "1 + 3 attempts");
    assert_eq!(s(&app.rows(&format!("SELECT CallDisposition FROM VoiceCall WHERE Id = '{second}'")).await[0][0]), "completed");
    let (st, b) = app.raw("GET", "/api/flows/runs?status=Parked", "admin", String::new()).await;
    assert_eq!((st, b["runs"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{b}");
    // /health shows the parked run (degraded, not failing) and the failures.
    let health = app.until_health(|h| h["flows"]["parkedRuns"] == 1).await;
    assert_eq!(health["flows"]["status"], "degraded", "{health}");
    assert!(health["flows"]["failedRuns"].as_u64() >= Some(1), "{health}");

    // Retried on request once the receiver is back.
    let run = s(&parked[0][0]).to_string();
    let (st, b) = app.raw("POST", &format!("/api/flows/runs/{run}/retry"), "ann", String::new()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{b}");
    hook.fail.store(0, Ordering::SeqCst);
    let (st, b) = app.raw("POST", &format!("/api/flows/runs/{run}/retry"), "admin", String::new()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    app.until(&q, |r| s(&r[0][1]) == "Succeeded").await;
    app.until_health(|h| h["flows"]["parkedRuns"] == 0 && h["flows"]["status"] == "ok").await;
    let (st, b) = app.raw("POST", &format!("/api/flows/runs/{run}/retry"), "admin", String::new()).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (StatusCode::CONFLICT, Some("FLOW_RUN_NOT_RETRYABLE")));
    let status = app.state.flows.status();
    assert!(status.parked >= 1 && status.succeeded >= 2, "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_lead_is_converted() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Convert hot leads
    object: Lead
    when: changedTo
    field: Rating
    value: Hot
    actions:
      - convertLead: {}
"#,
    )
    .await;
    let lead = app.create("Lead", json!({"FirstName": "Ada", "LastName": "Byron", "Company": "Engines Ltd", "Phone": "+14155550150", "Email": "ada@engines.test"})).await;
    app.patch("Lead", &lead, json!({"Rating": "Hot"})).await;
    let l = app.until(&format!("SELECT IsConverted, Status, ConvertedContactId, ConvertedAccountId, ConvertedDate FROM Lead WHERE Id = '{lead}'"), |r| r[0][0] == Value::Bool(true)).await;
    assert_eq!(s(&l[0][1]), "Closed - Converted");
    let c = app.rows(&format!("SELECT Name, Email, Account.Name, AccountId FROM Contact WHERE Id = '{}'", s(&l[0][2]))).await;
    assert_eq!((s(&c[0][0]), s(&c[0][1]), s(&c[0][2]), s(&c[0][3])), ("Ada Byron", "ada@engines.test", "Engines Ltd", s(&l[0][3])));
    assert!(!l[0][4].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_error_is_recorded_on_its_run_and_the_call_keeps_its_change() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Broken follow-up
    object: VoiceCall
    when: updated
    actions:
      - create: {object: Task, fields: {Subject: "x", ActivityDate: "{!Description}"}}
"#,
    )
    .await;
    let call = app.insert("VoiceCall", vec![("VendorCallKey", t("e-1"))]).await;
    app.patch("VoiceCall", &call, json!({"Description": "not a date"})).await;
    let run = app.until(&format!("SELECT Status, LastError FROM FlowRun WHERE RecordId = '{call}'"), |r| r.first().is_some_and(|x| s(&x[0]) == "Failed")).await;
    assert!(s(&run[0][1]).contains("action 1 (create)") && s(&run[0][1]).contains("not a date"), "{run:?}");
    assert_eq!(s(&app.rows(&format!("SELECT Description FROM VoiceCall WHERE Id = '{call}'")).await[0][0]), "not a date");
    assert!(app.state.flows.status().last_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_that_retriggers_itself_stops_at_the_depth_limit() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Loop
    object: Case
    when: updated
    actions:
      - update: {fields: {Description: "{!Description}x"}}
"#,
    )
    .await;
    let case = app.create("Case", json!({"Subject": "loop"})).await;
    app.patch("Case", &case, json!({"Description": "-"})).await;
    let runs = app.until(&format!("SELECT Status, LastError, Depth FROM FlowRun WHERE RecordId = '{case}' ORDER BY Depth"), |r| r.iter().any(|x| s(&x[0]) == "Skipped")).await;
    let max = dialtone_flows::MAX_DEPTH as usize;
    assert_eq!(runs.len(), max + 1, "{runs:?}");
    assert!(runs[..max].iter().all(|r| s(&r[0]) == "Succeeded"));
    assert!(s(&runs[max][1]).contains("chain"), "{runs:?}");
    app.settle().await;
    assert_eq!(s(&app.rows(&format!("SELECT Description FROM Case WHERE Id = '{case}'")).await[0][0]), format!("-{}", "x".repeat(max)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_pop_alert_fires_once_when_the_failure_rate_crosses_its_threshold() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Screen pops failing
    object: VoiceCall
    when: threshold
    threshold: {count: "ScreenPopOutcome = 'Failed'", outOf: "ScreenPopOutcome != null", windowField: CallStartDateTime, windowMinutes: 5, percent: 2, minimumCount: 20}
    actions:
      - create: {object: Task, fields: {Subject: "Screen pops failing: {!$Percent}% of {!$Total} calls in {!$WindowMinutes} min", OwnerId: "005000000000001AAA"}}
"#
        .replace("005000000000001AAA", app.ids["admin"].as_str())
        .as_str(),
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    let at = dialtone_model::format_datetime(now - time::Duration::minutes(1));
    for i in 0..20 {
        let outcome = if i == 0 { "Failed" } else { "Matched" };
        app.insert("VoiceCall", vec![("VendorCallKey", t(&format!("p-{i}"))), ("CallStartDateTime", t(&at)), ("ScreenPopOutcome", t(outcome))]).await;
    }
    // An old failure outside the window does not count.
    app.insert("VoiceCall", vec![("VendorCallKey", t("p-old")), ("CallStartDateTime", t(&dialtone_model::format_datetime(now - time::Duration::hours(1)))), ("ScreenPopOutcome", t("Failed"))]).await;
    dialtone_server::flows::thresholds(&app.state, now).await.unwrap();
    dialtone_server::flows::thresholds(&app.state, now + time::Duration::seconds(15)).await.unwrap();
    // A restart within the cooldown does not fire it again.
    let restarted = AppState::new(app.state.store.clone()).await.unwrap();
    restarted.flows.reload(restarted.store.as_ref()).await;
    dialtone_server::flows::thresholds(&restarted, now + time::Duration::seconds(30)).await.unwrap();
    let tasks = app.rows("SELECT Subject, OwnerId FROM Task WHERE Subject LIKE 'Screen pops failing%'").await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!((s(&tasks[0][0]), s(&tasks[0][1])), ("Screen pops failing: 5.00% of 20 calls in 5 min", app.ids["admin"].as_str()));
    let run = app.rows("SELECT Status, Detail FROM FlowRun WHERE FlowName = 'Screen pops failing'").await;
    assert_eq!(run.len(), 1);
    assert!(s(&run[0][1]).contains("\"count\":1") && s(&run[0][1]).contains("\"total\":20"), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_counting_the_same_calls_fire_an_alert_once() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Abandonment high
    object: VoiceCall
    when: threshold
    threshold: {count: "CallDisposition = 'no-answer'", outOf: "CallDisposition != null", windowField: CallStartDateTime, windowMinutes: 5, percent: 10, minimumCount: 5}
    actions:
      - create: {object: Task, fields: {Subject: "Abandonment at {!$Percent}%"}}
"#,
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    let at = dialtone_model::format_datetime(now - time::Duration::minutes(1));
    for i in 0..10 {
        let disposition = if i < 3 { "no-answer" } else { "completed" };
        app.insert("VoiceCall", vec![("VendorCallKey", t(&format!("ab-{i}"))), ("CallStartDateTime", t(&at)), ("CallDisposition", t(disposition))]).await;
    }
    // Two nodes that have never seen the alert count at the same moment.
    let node = || async {
        let s = AppState::new(app.state.store.clone()).await.unwrap();
        s.flows.set_settings(fast());
        s.flows.reload(s.store.as_ref()).await;
        s
    };
    let (a, b) = (node().await, node().await);
    let (ra, rb) = tokio::join!(dialtone_server::flows::thresholds(&a, now), dialtone_server::flows::thresholds(&b, now));
    ra.unwrap();
    rb.unwrap();
    // A third one a little later sees the firing and stays quiet through the cooldown.
    let c = node().await;
    dialtone_server::flows::thresholds(&c, now + time::Duration::seconds(20)).await.unwrap();
    app.settle().await;
    assert_eq!(app.rows("SELECT Id FROM FlowRun WHERE FlowName = 'Abandonment high'").await.len(), 1);
    assert_eq!(app.rows("SELECT Subject FROM Task WHERE Subject LIKE 'Abandonment at%'").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_is_started_for_a_waiting_call() {
    let app = spawn_app().await;
    app.import(
        r#"
flows:
  - name: Offer a callback
    object: VoiceCall
    when: created
    condition: "CallType = 'Inbound'"
    actions:
      - callback: {}
"#,
    )
    .await;
    // The call waits in Desk's queue (nobody is Available), as the SIP and Twilio edges put it there.
    dialtone_server::routing::refresh(&app.state).await.unwrap();
    {
        let now = time::OffsetDateTime::now_utc();
        let key = dialtone_calls::VendorCallKey::parse("cb-1").unwrap();
        let mut r = app.state.calls.routing.lock();
        let center = r.queues(now).into_iter().find(|q| q.name == "Desk").and_then(|q| q.call_center).expect("Desk's queue");
        r.arrive(now, &key, &dialtone_routing::service::Arrival { call_center: Some(center), from: "+14155550177".into(), ..Default::default() });
    }
    let (st, b) = app
        .raw("POST", "/api/calls/events", "admin", json!([{"vendorCallKey": "cb-1", "seq": 1, "kind": "initiated", "direction": "inbound", "from": "+14155550177", "to": "+18005550100", "callCenter": "Desk"}]).to_string())
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let run = app.until("SELECT Status, LastError FROM FlowRun WHERE FlowName = 'Offer a callback'", |r| r.first().is_some_and(|x| s(&x[0]) != "Running")).await;
    let key0 = dialtone_calls::VendorCallKey::parse("cb-1").unwrap();
    assert_eq!(s(&run[0][0]), "Succeeded", "{run:?} {:?}", app.state.calls.routing.lock().decision(&key0));
    let key = dialtone_calls::VendorCallKey::parse("cb-1").unwrap();
    assert_eq!(app.state.calls.routing.lock().decision(&key).map(|d| d.state), Some("callback"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_is_refused_whole_with_where_and_nothing_is_written() {
    let app = spawn_app().await;
    app.import(CALLBACK_TASK).await;
    // Syntax: line and column.
    let (st, b) = app.flows("admin", "flows:\n  - name: x\n    object: [unclosed\n").await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FLOW_CONFIG")));
    assert!(b[0]["message"].as_str().unwrap().contains("line 3"), "{b}");
    // Meaning: every problem, each with its flow.
    let bad = r#"
flows:
  - name: Good
    object: Case
    when: created
    actions: [{update: {fields: {Priority: High}}}]
  - name: Bad object
    object: Nope
    when: created
    actions: [{callback: {}}]
  - name: Bad condition
    object: Case
    when: created
    condition: "Nonsense = 1"
    actions: [{create: {object: Task, fields: {Subjekt: "{!Id}"}}}]
  - name: Bad merge
    object: Case
    when: changedTo
    field: Status
    value: Closed
    actions: [{webhook: {url: "ftp://x", secret: "hook"}}, {update: {fields: {Subject: "{!$Tomorrow}"}}}]
"#;
    let (st, b) = app.flows("admin", bad).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let m = b[0]["message"].as_str().unwrap();
    for want in ["\"Bad object\": there is no object \"Nope\"", "\"Bad condition\": condition", "Subjekt", "ftp://x", "$Tomorrow"] {
        assert!(m.contains(want), "{want} missing from: {m}");
    }
    let names = app.rows("SELECT Name FROM Flow").await;
    assert_eq!(names.len(), 1, "nothing written: {names:?}");
    assert_eq!(s(&names[0][0]), "Callback task");
    // The file round-trips.
    let (st, b) = app.raw("GET", "/api/flows/config", "admin", String::new()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["flows"][0]["when"], "changedTo");
    assert_eq!(b["flows"][0]["actions"][0]["create"]["object"], "Task");
    let (st, _) = app.raw("PUT", "/api/flows/config", "admin", b.to_string()).await;
    assert_eq!(st, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_flow_managers_write_flows_and_nobody_writes_runs() {
    let app = spawn_app().await;
    let (st, _) = app.flows("ann", CALLBACK_TASK).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let body = json!({"Name": "x", "Object": "Case", "TriggerType": "Created", "Actions": r#"[{"update":{"fields":{"Priority":"High"}}}]"#}).to_string();
    let (st, _) = app.raw("POST", "/services/data/v60.0/sobjects/Flow", "ann", body.clone()).await;
    assert!(st.is_client_error(), "{st}");
    assert!(app.rows("SELECT Id FROM Flow").await.is_empty());
    // An admin may, one record at a time (audited); composite batches refuse Flow.
    let (st, b) = app.raw("POST", "/services/data/v60.0/sobjects/Flow", "admin", body).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let audit = app.state.store.audit_trail(5).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "flows.Flow.create"), "{audit:?}");
    // A Flow record that could not run is refused, whole, with every problem, rather than saved and left out.
    let bad = json!({"Name": "y", "Object": "Case", "TriggerType": "Created", "Condition": "Nonsense = 1", "Actions": "[]"}).to_string();
    let (st, b) = app.raw("POST", "/services/data/v60.0/sobjects/Flow", "admin", bad).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FLOW_CONFIG")), "{b}");
    let all = b.to_string();
    assert!(all.contains("Nonsense") && all.contains("no actions"), "{b}");
    let id = app.rows("SELECT Id FROM Flow").await[0][0].as_str().unwrap().to_string();
    let (st, b) = app.raw("PATCH", &format!("/services/data/v60.0/sobjects/Flow/{id}"), "admin", json!({"TriggerType": "FieldChangedTo"}).to_string()).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_FLOW_CONFIG")), "a changed-to trigger with no field: {b}");
    let (st, b) = app.raw("PATCH", &format!("/services/data/v60.0/sobjects/Flow/{id}"), "admin", json!({"TriggerType": "FieldChangedTo", "TriggerField": "Status", "TriggerValue": "Closed"}).to_string()).await;
    assert_eq!(st, StatusCode::NO_CONTENT, "{b}");
    assert_eq!(app.rows("SELECT Id FROM Flow").await.len(), 1);
    let (st, b) = app.raw("POST", "/services/data/v60.0/sobjects/FlowRun", "admin", json!({"Status": "Succeeded"}).to_string()).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_TYPE")));
    let (st, _) = app.raw("GET", "/api/flows/runs", "ann", String::new()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_file_imports_and_round_trips() {
    let app = spawn_app().await;
    let yaml = include_str!("../../../docs/examples/flows.yaml");
    app.import(yaml).await;
    let (st, b) = app.raw("GET", "/api/flows/config?format=json", "admin", String::new()).await;
    assert_eq!(st, StatusCode::OK);
    let back: dialtone_server::flows_admin::FlowsFile = serde_json::from_value(b).unwrap();
    let sent = dialtone_server::flows_admin::parse_file(yaml.as_bytes()).unwrap();
    assert_eq!(back.flows.len(), sent.flows.len());
    for (a, b) in back.flows.iter().zip(&sent.flows) {
        assert_eq!((&a.name, &a.when, &a.field, &a.value, &a.condition, &a.threshold, &a.actions), (&b.name, &b.when, &b.field, &b.value, &b.condition, &b.threshold, &b.actions));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_editor_adds_checks_changes_and_deletes_one_flow_at_a_time() {
    let app = spawn_app().await;
    // Checked like a file: each problem is its own error, and nothing is written (dry run or not).
    let bad = json!({"name": "Bad", "object": "VoiceCall", "when": "created", "condition": "Nonsense = 1",
        "actions": [{"create": {"object": "Task", "fields": {"Subjekt": "x"}}}]});
    for path in ["/api/flows/flows?dryRun=true", "/api/flows/flows"] {
        let (st, b) = app.raw("POST", path, "admin", bad.to_string()).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
        let errors = b.as_array().unwrap();
        assert_eq!(errors.len(), 2, "{b}");
        assert!(errors.iter().all(|e| e["errorCode"] == "INVALID_FLOW_CONFIG"), "{b}");
        assert!(b.to_string().contains("Nonsense") && b.to_string().contains("Subjekt"), "{b}");
    }
    assert!(app.rows("SELECT Id FROM Flow").await.is_empty());
    // A good one: the dry run writes nothing, the save does.
    let good = json!({"name": "Callback task", "object": "VoiceCall", "when": "changedTo", "field": "CallResolution", "value": "Callback Requested",
        "actions": [{"create": {"object": "Task", "fields": {"Subject": "Call back {!FromPhoneNumber}", "WhatId": "{!Id}"}}}]});
    let (st, b) = app.raw("POST", "/api/flows/flows?dryRun=true", "admin", good.to_string()).await;
    assert_eq!((st, &b["dryRun"]), (StatusCode::OK, &json!(true)), "{b}");
    assert!(app.rows("SELECT Id FROM Flow").await.is_empty());
    let (st, b) = app.raw("POST", "/api/flows/flows", "admin", good.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let (st, _) = app.raw("POST", "/api/flows/flows", "ann", good.to_string()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "agents do not add flows");
    let (st, b) = app.raw("POST", "/api/flows/flows", "admin", good.to_string()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(b[0]["message"].as_str().unwrap().contains("another flow has this name"), "{b}");
    let (st, list) = app.raw("GET", "/api/flows/flows", "admin", String::new()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((list["flows"][0]["id"].as_str(), list["flows"][0]["field"].as_str()), (Some(id.as_str()), Some("CallResolution")));
    // It runs, and its run points at it.
    let call = app.insert("VoiceCall", vec![("VendorCallKey", t("ed-1")), ("CallType", t("Inbound")), ("FromPhoneNumber", t("+14155550123"))]).await;
    app.patch("VoiceCall", &call, json!({"CallResolution": "Callback Requested"})).await;
    let runs = app.until(&format!("SELECT FlowId, Status FROM FlowRun WHERE RecordId = '{call}'"), |r| r.first().is_some_and(|x| s(&x[1]) == "Succeeded")).await;
    assert_eq!(s(&runs[0][0]), id);
    // Changed in place: the same record (its runs still point at it); a field the new trigger has no use for is cleared.
    let changed = json!({"name": "Callback task", "object": "VoiceCall", "when": "updated", "condition": "CallType = 'Inbound'", "order": 5, "active": false,
        "actions": [{"update": {"fields": {"Description": "seen by {!FlowName}"}}}]});
    let (st, b) = app.raw("PUT", &format!("/api/flows/flows/{id}"), "admin", changed.to_string()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (_, list) = app.raw("GET", "/api/flows/flows", "admin", String::new()).await;
    let f = &list["flows"][0];
    assert_eq!((f["id"].as_str(), f["when"].as_str(), f["order"].as_i64(), f["active"].as_bool()), (Some(id.as_str()), Some("updated"), Some(5), Some(false)), "{list}");
    assert!(f.get("field").is_none() && f.get("value").is_none(), "{list}");
    assert_eq!(app.rows(&format!("SELECT Id FROM Flow WHERE Id = '{}'", s(&runs[0][0]))).await.len(), 1);
    let (st, b) = app.raw("PUT", &format!("/api/flows/flows/{id}"), "admin", json!({"name": "Callback task", "object": "VoiceCall", "when": "changedTo", "actions": [{"callback": {}}]}).to_string()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "changedTo without a field: {b}");
    let (st, _) = app.raw("PUT", "/api/flows/flows/300000000000000AAA", "admin", good.to_string()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let audit = app.state.store.audit_trail(10).await.unwrap();
    let upd = audit.iter().find(|a| a.action == "flows.Flow.update").expect("audited");
    assert!(upd.before.as_deref().unwrap_or("").contains("changedTo") && upd.after.as_deref().unwrap_or("").contains("updated"), "{upd:?}");
    // The agent who owns the call sees its runs, without their error text; not every run.
    let (st, b) = app.raw("GET", &format!("/api/flows/runs?recordId={call}"), "ann", String::new()).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["runs"][0]["FlowName"], "Callback task");
    assert!(b["runs"][0].get("LastError").is_none(), "{b}");
    let (st, b) = app.raw("GET", &format!("/api/flows/runs?recordId={call}"), "admin", String::new()).await;
    assert!(st == StatusCode::OK && b["runs"][0].get("LastError").is_some(), "{b}");
    for q in ["/api/flows/runs", "/api/flows/runs?recordId=0LQ000000000001AAA", "/api/flows/runs?recordId=nonsense"] {
        let (st, _) = app.raw("GET", q, "ann", String::new()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{q}");
    }
    // Deleted: gone from the runner, its runs kept.
    let (st, _) = app.raw("DELETE", &format!("/api/flows/flows/{id}"), "ann", String::new()).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = app.raw("DELETE", &format!("/api/flows/flows/{id}"), "admin", String::new()).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    assert!(app.rows("SELECT Id FROM Flow").await.is_empty());
    assert_eq!(app.rows(&format!("SELECT Id FROM FlowRun WHERE RecordId = '{call}'")).await.len(), 1);
}
