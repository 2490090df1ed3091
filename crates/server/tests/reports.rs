//! Reports and the dashboard on a real store, fed through the call desk like
//! real calls: every figure the dashboard shows is checked against a SOQL
//! query written here independently (plain date ranges and field filters, run
//! through the REST query endpoint), so a dashboard and a query cannot
//! disagree. Also: time in status from real presence changes, adapter errors
//! from the console's endpoint, CSV, permissions and bad parameters.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, Provider, QueueName, VendorCallKey};
use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location};
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

const V: &str = "/services/data/v60.0";

struct Org {
    state: AppState,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, SalesforceId>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.into())
}

/// admin, sue (Supervisor), ann and bob (Agents of Support).
async fn org() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("r.db")), "US").await.unwrap();
    let schema = Schema::standard();
    let cc = schema.object("CallCenter").unwrap();
    let v = cc.check_create(vec![("Name".into(), t("Support")), ("InternalName".into(), t("Support"))]).unwrap();
    let center = store.insert(cc, vec![v], None).await.unwrap().remove(0);
    let user = schema.object("User").unwrap();
    let mut ids = HashMap::new();
    for (name, profile) in [("admin", "System Administrator"), ("sue", "Supervisor"), ("ann", "Agent"), ("bob", "Agent")] {
        let u = format!("{name}@t.test");
        let fields = vec![
            ("Username".into(), t(&u)),
            ("LastName".into(), t(name)),
            ("Email".into(), t(&u)),
            ("ProfileName".into(), t(profile)),
            ("CallCenterId".into(), t(center.as_str())),
        ];
        let v = user.check_create(fields).unwrap();
        ids.insert(name, store.insert(user, vec![v], None).await.unwrap().remove(0));
    }
    let state = AppState::new(store).await.unwrap();
    let mut tokens = HashMap::new();
    for (name, id) in &ids {
        tokens.insert(*name, auth::issue_api_token(state.store.as_ref(), id, "test").await.unwrap());
    }
    Org { state, tokens, ids, _dir: dir }
}

impl Org {
    async fn send(&self, who: &str, req: axum::http::request::Builder, body: Body) -> (StatusCode, String, String) {
        let req = req.header("authorization", format!("Bearer {}", self.tokens[who])).body(body).unwrap();
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, ctype, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Json) {
        let (s, _, body) = self.send(who, Request::get(path), Body::empty()).await;
        (s, serde_json::from_str(&body).unwrap_or(Json::Null))
    }

    /// The REST query endpoint's answer as rows of JSON values (aggregate
    /// columns by alias), as a client would see it.
    async fn soql(&self, who: &str, q: &str) -> Json {
        let (s, j) = self.get(who, &format!("{V}/query?q={}", urlencoding::encode(q))).await;
        assert_eq!(s, StatusCode::OK, "{q}: {j}");
        j
    }

    async fn count(&self, q: &str) -> i64 {
        self.soql("admin", q).await["totalSize"].as_i64().unwrap()
    }

    /// `SELECT AVG(f) v FROM …`: the one number.
    async fn avg(&self, q: &str) -> Option<f64> {
        self.soql("admin", q).await["records"][0]["v"].as_f64()
    }
}

/// A deterministic pseudo-random sequence (the test must be repeatable).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn ev(key: &VendorCallKey, seq: u64, at: OffsetDateTime, kind: EventKind) -> Input {
    Input::Event(CallEvent { key: key.clone(), provider: Provider::Simulator, seq, at, kind })
}

/// 120 calls from 2026-11-19 to 2026-11-23 (the report covers the 20th to
/// the 22nd), every kind of outcome, two queues, two agents, wrap-ups and
/// screen-pop outcomes.
async fn calls(org: &Org) -> usize {
    let store = org.state.store.as_ref();
    let desk = &org.state.calls;
    let agents = [AgentId::new(org.ids["ann"].clone()).unwrap(), AgentId::new(org.ids["bob"].clone()).unwrap()];
    let resolutions = desk.resolutions(None).await;
    let pops = ["Matched", "Chooser", "NewRecord", "Failed"];
    let mut rng = Lcg(7);
    let t0 = datetime!(2026-11-19 00:00:00 UTC);
    let vc = Schema::standard().object("VoiceCall").unwrap();
    for i in 0..120u64 {
        let key = VendorCallKey::parse(&format!("RPT{i:04}")).unwrap();
        let start = t0 + Duration::minutes((rng.next(5 * 24 * 60)) as i64);
        let outbound = rng.next(5) == 0;
        let queue = if rng.next(3) == 0 { "Billing" } else { "Support" };
        let agent = agents[rng.next(2) as usize].clone();
        let dir = if outbound { Direction::Outbound } else { Direction::Inbound };
        let mut inputs = vec![ev(&key, 1, start, EventKind::Initiated { direction: dir, from: "+14155550100".into(), to: "+14155550199".into(), call_center: None })];
        let mut at = start;
        let mut step = |secs: u64| {
            at += Duration::seconds(secs as i64);
            at
        };
        if !outbound {
            inputs.push(ev(&key, 2, step(1), EventKind::Queued { queue: QueueName::parse(queue).unwrap() }));
        }
        let fate = rng.next(10);
        let answered = fate < 6;
        if answered {
            inputs.push(ev(&key, 3, step(rng.next(40)), EventKind::Offered { agent: agent.clone() }));
            let accepted = step(rng.next(15));
            inputs.push(ev(&key, 4, accepted, EventKind::OfferResult { agent: agent.clone(), result: OfferOutcome::Accepted }));
            inputs.push(ev(&key, 5, accepted, EventKind::Answered { agent: agent.clone() }));
            if rng.next(3) == 0 {
                inputs.push(ev(&key, 6, step(30 + rng.next(100)), EventKind::Held));
                inputs.push(ev(&key, 7, step(5 + rng.next(60)), EventKind::Resumed));
            }
            inputs.push(ev(&key, 8, step(20 + rng.next(600)), EventKind::Ended { reason: EndReason::CustomerDisconnect }));
        } else {
            let reason = match fate {
                6 | 7 => EndReason::CustomerDisconnect,
                8 => EndReason::Voicemail,
                _ => EndReason::NoAnswer,
            };
            inputs.push(ev(&key, 8, step(5 + rng.next(90)), EventKind::Ended { reason }));
        }
        let end = step(0);
        for input in inputs {
            desk.ingest(store, end + Duration::seconds(1), input).await.unwrap();
        }
        if answered && rng.next(4) != 0 {
            let resolution = resolutions[rng.next(resolutions.len() as u64) as usize].clone();
            desk.ingest(store, end + Duration::seconds(5 + rng.next(120) as i64), Input::WrapUp { key: key.clone(), resolution, notes: None }).await.unwrap();
        }
        if !outbound {
            let id = desk.voice_call(&key).await.unwrap();
            let pop = pops[rng.next(pops.len() as u64) as usize];
            store.update(vc, &id, vec![("ScreenPopOutcome".into(), Value::Text(pop.into()))], None).await.unwrap();
        }
    }
    120
}

const RANGE: &str = "CallStartDateTime >= 2026-11-20T00:00:00Z AND CallStartDateTime < 2026-11-23T00:00:00Z";

fn rows(report: &Json) -> Vec<Vec<Json>> {
    report["rows"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().clone()).collect()
}

fn report<'a>(dash: &'a Json, name: &str) -> &'a Json {
    dash["reports"].as_array().unwrap().iter().find(|r| r["report"] == name).unwrap_or_else(|| panic!("no {name} in the dashboard"))
}

/// Every row of the dashboard that stands for calls links to them: counting its
/// drill-down (as `who`'s own SOQL) gives the row's count. Returns how many rows were checked.
async fn drills_count_their_rows(org: &Org, who: &str, dash: &Json) -> usize {
    let mut checked = 0;
    for r in dash["reports"].as_array().unwrap() {
        let units: Vec<&str> = r["columns"].as_array().unwrap().iter().map(|c| c["unit"].as_str().unwrap()).collect();
        for (row, drill) in r["rows"].as_array().unwrap().iter().zip(r["drill"].as_array().unwrap()) {
            let Some(w) = drill.as_str() else { continue };
            let row = row.as_array().unwrap();
            let expected: i64 = if r["report"] == "summary" {
                row[2].as_i64().unwrap()
            } else {
                row.iter().zip(&units).filter(|(_, u)| **u == "count").map(|(v, _)| v.as_i64().unwrap_or(0)).sum()
            };
            let got = org.soql(who, &format!("SELECT COUNT() FROM VoiceCall WHERE {w}")).await["totalSize"].as_i64();
            assert_eq!(got, Some(expected), "{} row {row:?}: {w}", r["report"]);
            checked += 1;
        }
    }
    checked
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (Some(a), Some(b)) => assert!((a - b).abs() <= 0.051, "{what}: dashboard {a}, SOQL {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_figure_equals_the_matching_soql_on_the_same_data() {
    let org = org().await;
    let generated = calls(&org).await;
    assert_eq!(org.count("SELECT COUNT() FROM VoiceCall").await as usize, generated);
    let (s, dash) = org.get("sue", "/api/dashboard?from=2026-11-20&to=2026-11-22&serviceLevelSeconds=20&timeZone=UTC").await;
    assert_eq!(s, StatusCode::OK, "{dash}");
    let in_range = org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE {RANGE}")).await;
    assert!(in_range > 40 && (in_range as usize) < generated, "the range holds some calls, not all: {in_range}");

    // The summary, figure by figure.
    let summary = rows(report(&dash, "summary"));
    let figure = |name: &str| summary.iter().find(|r| r[0] == name).map(|r| r[2].clone()).unwrap_or_else(|| panic!("no figure {name}"));
    let count = |more: &str| format!("SELECT COUNT() FROM VoiceCall WHERE {RANGE}{more}");
    let inbound = " AND CallType = 'Inbound'";
    assert_eq!(figure("calls").as_i64(), Some(in_range));
    assert_eq!(figure("inbound").as_i64(), Some(org.count(&count(inbound)).await));
    assert_eq!(figure("outbound").as_i64(), Some(org.count(&count(" AND CallType = 'Outbound'")).await));
    let answered = org.count(&count(&format!("{inbound} AND CallAcceptDateTime != null"))).await;
    assert_eq!(figure("answered").as_i64(), Some(answered));
    let abandoned = org.count(&count(&format!("{inbound} AND CallAcceptDateTime = null AND CallDisposition != 'voicemail' AND CallEndDateTime != null"))).await;
    assert_eq!(figure("abandoned").as_i64(), Some(abandoned));
    assert_eq!(figure("voicemail").as_i64(), Some(org.count(&count(" AND CallDisposition = 'voicemail'")).await));
    let avg = |f: &str, more: &str| format!("SELECT AVG({f}) v FROM VoiceCall WHERE {RANGE}{more}");
    close(figure("asa").as_f64(), org.avg(&avg("SpeedOfAnswerInSeconds", &format!("{inbound} AND CallAcceptDateTime != null"))).await, "asa");
    close(figure("aht").as_f64(), org.avg(&avg("HandleTimeInSeconds", " AND CallAcceptDateTime != null")).await, "aht");
    close(figure("hold").as_f64(), org.avg(&avg("CustomerHoldDuration", " AND CallAcceptDateTime != null")).await, "hold");
    close(figure("wrap").as_f64(), org.avg(&avg("AfterCallWorkDuration", " AND CallAcceptDateTime != null AND AfterCallWorkDuration != null")).await, "wrap");
    let within = org.count(&count(&format!("{inbound} AND CallAcceptDateTime != null AND SpeedOfAnswerInSeconds <= 20"))).await;
    assert!(within > 0 && within < answered, "the threshold splits the answered calls: {within} of {answered}");
    let pct = |n: i64, d: i64| ((1000.0 * n as f64 / d as f64).round()) / 10.0;
    close(figure("serviceLevel").as_f64(), Some(pct(within, answered + abandoned)), "service level");
    close(figure("abandonmentRate").as_f64(), Some(pct(abandoned, answered + abandoned)), "abandonment rate");
    // Handle time is talk + hold + wrap-up, on every answered call.
    let aht = figure("aht").as_f64().unwrap();
    let parts = figure("talk").as_f64().unwrap() + figure("hold").as_f64().unwrap();
    assert!(aht >= parts - 0.1, "aht {aht} covers talk + hold {parts}");

    // Calls by day: each day and type, by a plain range.
    let by_day = report(&dash, "calls-by-day");
    let types: Vec<String> = by_day["columns"].as_array().unwrap().iter().skip(1).map(|c| c["name"].as_str().unwrap().to_string()).collect();
    let days = rows(by_day);
    assert_eq!(days.len(), 3, "three days: {days:?}");
    for row in &days {
        let day = dialtone_reports::parse_date(row[0].as_str().unwrap()).unwrap();
        let next = day.next_day().unwrap();
        for (i, ty) in types.iter().enumerate() {
            let n = org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE CallStartDateTime >= {day}T00:00:00Z AND CallStartDateTime < {next}T00:00:00Z AND CallType = '{ty}'")).await;
            assert_eq!(row[i + 1].as_i64(), Some(n), "{day} {ty}");
        }
    }
    // Calls by hour: 24 rows summing to the range's calls; each hour against HOUR_IN_DAY in WHERE.
    let hours = rows(report(&dash, "calls-by-hour"));
    assert_eq!(hours.len(), 24);
    assert_eq!(hours.iter().map(|r| r[1].as_i64().unwrap()).sum::<i64>(), in_range);
    for (h, row) in hours.iter().enumerate() {
        assert_eq!(row[1].as_i64(), Some(org.count(&count(&format!(" AND HOUR_IN_DAY(CallStartDateTime) = {h}"))).await), "hour {h}");
    }
    // One-field breakdowns.
    for (name, field) in [("inbound-outbound", "CallType"), ("outcomes", "CallOutcome"), ("dispositions", "CallResolution"), ("screen-pops", "ScreenPopOutcome")] {
        let r = rows(report(&dash, name));
        assert!(!r.is_empty(), "{name} has rows");
        let mut total = 0;
        for row in &r {
            let n = org.count(&count(&format!(" AND {field} = '{}'", row[0].as_str().unwrap()))).await;
            assert_eq!(row[1].as_i64(), Some(n), "{name} {}", row[0]);
            total += n;
        }
        assert_eq!(total, org.count(&count(&format!(" AND {field} != null"))).await, "{name}: every value has a row");
    }
    assert!(report(&dash, "screen-pops")["svg"].as_str().unwrap().starts_with("<svg"), "charts are drawn on the server");
    // Per agent and per queue.
    let agents = rows(report(&dash, "agents"));
    assert_eq!(agents.len(), 2);
    for row in &agents {
        let name = row[0].as_str().unwrap();
        let id = &org.ids[if name == "ann" { "ann" } else { "bob" }];
        let mine = format!(" AND OwnerId = '{id}' AND CallAcceptDateTime != null");
        assert_eq!(row[1].as_i64(), Some(org.count(&count(&mine)).await), "{name} calls");
        close(row[2].as_f64(), org.avg(&avg("SpeedOfAnswerInSeconds", &mine)).await, "agent asa");
        close(row[6].as_f64(), org.avg(&avg("HandleTimeInSeconds", &mine)).await, "agent aht");
    }
    for row in rows(report(&dash, "queues")) {
        let q = row[0].as_str().unwrap().to_string();
        let answered = org.count(&count(&format!(" AND QueueName = '{q}' AND CallAcceptDateTime != null"))).await;
        let abandoned = org.count(&count(&format!(" AND QueueName = '{q}' AND CallOutcome = 'Abandoned'"))).await;
        assert_eq!(row[1].as_i64(), Some(answered), "{q} answered");
        assert_eq!(row[2].as_i64(), Some(abandoned), "{q} abandoned");
        assert_eq!(row[3].as_i64(), Some(org.count(&count(&format!(" AND QueueName = '{q}' AND CallOutcome = 'Voicemail'"))).await), "{q} voicemail");
        close(row[5].as_f64(), (answered + abandoned > 0).then(|| pct(abandoned, answered + abandoned)), "queue abandonment");
    }
    // A queue filter narrows every figure.
    let (_, billing) = org.get("sue", "/api/reports/summary?from=2026-11-20&to=2026-11-22&queue=Billing&timeZone=UTC").await;
    let calls = rows(&billing).iter().find(|r| r[0] == "calls").unwrap()[2].as_i64();
    assert_eq!(calls, Some(org.count(&count(" AND QueueName = 'Billing'")).await));
    // The admin sees the same figures as the supervisor (both see every call).
    let (_, admin_dash) = org.get("admin", "/api/dashboard?from=2026-11-20&to=2026-11-22&serviceLevelSeconds=20&timeZone=UTC").await;
    assert_eq!(rows(report(&admin_dash, "summary")), summary);
    // Drill-downs: each row's calls, as a query anyone can run, count what the row says.
    let checked = drills_count_their_rows(&org, "sue", &dash).await;
    assert!(checked > 40, "days, hours, outcomes, queues, agents, tiles: {checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisors_days_and_hours_are_those_of_her_time_zone_and_her_soql_agrees() {
    let org = org().await;
    calls(&org).await;
    // Sue keeps the default time zone, America/Los_Angeles: in November 2026, UTC-8.
    let (s, dash) = org.get("sue", "/api/dashboard?from=2026-11-20&to=2026-11-22").await;
    assert_eq!(s, StatusCode::OK, "{dash}");
    assert_eq!(dash["timeZone"], "America/Los_Angeles");
    let range = "CallStartDateTime >= 2026-11-20T08:00:00Z AND CallStartDateTime < 2026-11-23T08:00:00Z";
    let in_range = org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE {range}")).await;
    let summary = rows(report(&dash, "summary"));
    assert_eq!(summary.iter().find(|r| r[0] == "calls").unwrap()[2].as_i64(), Some(in_range), "the range runs from local midnight to local midnight");
    // Each local day, counted by UTC bounds written by hand.
    let days = rows(report(&dash, "calls-by-day"));
    assert_eq!(days.iter().map(|r| r[0].as_str().unwrap()).collect::<Vec<_>>(), ["2026-11-20", "2026-11-21", "2026-11-22"]);
    for row in &days {
        let day = dialtone_reports::parse_date(row[0].as_str().unwrap()).unwrap();
        let next = day.next_day().unwrap();
        let n = org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE CallStartDateTime >= {day}T08:00:00Z AND CallStartDateTime < {next}T08:00:00Z")).await;
        assert_eq!(row[1..].iter().map(|v| v.as_i64().unwrap_or(0)).sum::<i64>(), n, "{day}");
    }
    // Each local hour h is UTC hour h + 8, and her own convertTimezone() SOQL says the same.
    let hours = rows(report(&dash, "calls-by-hour"));
    assert_eq!(hours.iter().map(|r| r[1].as_i64().unwrap()).sum::<i64>(), in_range);
    let mut nonzero = 0;
    for (h, row) in hours.iter().enumerate() {
        let utc = org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE {range} AND HOUR_IN_DAY(CallStartDateTime) = {}", (h + 8) % 24)).await;
        assert_eq!(row[1].as_i64(), Some(utc), "local hour {h}");
        let (st, mine) = org.get("sue", &format!("{V}/query?q={}", urlencoding::encode(&format!("SELECT COUNT() FROM VoiceCall WHERE {range} AND HOUR_IN_DAY(convertTimezone(CallStartDateTime)) = {h}")))).await;
        assert_eq!((st, mine["totalSize"].as_i64()), (StatusCode::OK, Some(utc)), "her SOQL, local hour {h}");
        nonzero += usize::from(utc > 0);
    }
    assert!(nonzero > 5, "the calls spread over the hours");
    // Her drill-downs, hours included (her SOQL converts to her zone), count their rows.
    assert!(drills_count_their_rows(&org, "sue", &dash).await > 40);
    // Another zone on request; hours there cannot be her SOQL's hours, so they have no drill-down.
    let (_, tokyo) = org.get("sue", "/api/reports/calls-by-day?from=2026-11-20&to=2026-11-22&timeZone=Asia/Tokyo").await;
    assert_eq!(tokyo["timeZone"], "Asia/Tokyo");
    assert!(tokyo["drill"].as_array().unwrap().iter().all(|d| d.is_string()), "days are explicit bounds: {}", tokyo["drill"]);
    let (_, tokyo_hours) = org.get("sue", "/api/reports/calls-by-hour?from=2026-11-20&to=2026-11-22&timeZone=Asia/Tokyo").await;
    assert!(tokyo_hours["drill"].as_array().unwrap().iter().all(Json::is_null), "{}", tokyo_hours["drill"]);
    assert!(tokyo["soql"][0].as_str().unwrap().contains("CallStartDateTime >= 2026-11-19T15:00:00Z"), "{}", tokyo["soql"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_in_status_and_adapter_errors_are_records_and_reports() {
    let org = org().await;
    // ann goes Available, Away, Available, Offline; each change closes the previous stretch.
    for status in ["Available", "Away", "Available", "Offline"] {
        let (s, _, body) = org
            .send("ann", Request::put("/api/agents/ann@t.test/presence").header("content-type", "application/json"), Body::from(json!({"status": status}).to_string()))
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let open = org.soql("admin", "SELECT StatusName FROM UserServicePresence WHERE IsCurrentState = true").await;
    assert_eq!(open["totalSize"], 1, "one open stretch: {open}");
    assert_eq!(open["records"][0]["StatusName"], "Offline");
    assert_eq!(org.count("SELECT COUNT() FROM UserServicePresence WHERE IsCurrentState = false AND StatusEndDate != null AND StatusDuration != null").await, 3);
    let today = OffsetDateTime::now_utc().date();
    let (s, presence) = org.get("sue", &format!("/api/reports/presence?from={today}&to={today}")).await;
    assert_eq!(s, StatusCode::OK, "{presence}");
    let cols: Vec<String> = presence["columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(cols, vec!["key", "Available", "Away"], "closed stretches only");
    let row = &rows(&presence)[0];
    assert_eq!(row[0], "ann");
    let sum = org.soql("admin", "SELECT SUM(StatusDuration) v FROM UserServicePresence WHERE StatusName = 'Available' AND IsCurrentState = false").await;
    assert_eq!(row[1].as_f64(), sum["records"][0]["v"].as_f64());
    // An agent sees only their own stretches; bob has none.
    assert_eq!(org.soql("bob", "SELECT COUNT() FROM UserServicePresence").await["totalSize"], 0);

    // Adapter errors: posted by the console, counted by the report.
    let errors = json!({"errors": [
        {"code": "INTERNAL_ERROR", "method": "screenPop", "message": "screenPop failed: boom"},
        {"code": "INTERNAL_ERROR", "method": "screenPop", "message": "again"},
        {"code": "UNKNOWN_METHOD", "method": "fly", "message": "sforce.opencti.fly is not an Open CTI method"},
    ]});
    let (s, _, body) = org.send("ann", Request::post("/api/desktop/adapter-errors").header("content-type", "application/json"), Body::from(errors.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let too_many = json!({"errors": vec![json!({"code": "X"}); 51]});
    let (s, _, _) = org.send("ann", Request::post("/api/desktop/adapter-errors").header("content-type", "application/json"), Body::from(too_many.to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a flood is refused whole");
    let (_, errs) = org.get("sue", &format!("/api/reports/adapter-errors?from={today}&to={today}")).await;
    let r = rows(&errs);
    assert_eq!(r[0], vec![json!("INTERNAL_ERROR"), json!("screenPop"), json!(2)]);
    assert_eq!(r[1][2].as_i64(), Some(org.count("SELECT COUNT() FROM AdapterErrorLog WHERE Code = 'UNKNOWN_METHOD'").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_need_the_permission_speak_csv_and_refuse_bad_parameters() {
    let org = org().await;
    calls(&org).await;
    let (s, j) = org.get("ann", "/api/reports").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "agents have no Run Reports: {j}");
    let (s, j) = org.get("ann", "/api/dashboard").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{j}");
    let (s, list) = org.get("sue", "/api/reports").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["reports"].as_array().unwrap().len(), dialtone_reports::REPORTS.len());

    let (s, ctype, csv) = org.send("sue", Request::get("/api/reports/outcomes?from=2026-11-20&to=2026-11-22&format=csv&timeZone=UTC"), Body::empty()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("Outcome,Calls"));
    let total: i64 = lines.map(|l| l.rsplit(',').next().unwrap().parse::<i64>().unwrap()).sum();
    assert_eq!(total, org.count(&format!("SELECT COUNT() FROM VoiceCall WHERE {RANGE} AND CallOutcome != null")).await);

    for (path, code) in [
        ("/api/reports/outcomes?from=2026-11-31", "INVALID_REPORT_PARAMS"),
        ("/api/reports/outcomes?from=2026-11-22&to=2026-11-20", "INVALID_REPORT_PARAMS"),
        ("/api/reports/outcomes?format=xlsx", "INVALID_REPORT_PARAMS"),
        ("/api/reports/summary?serviceLevelSeconds=0", "INVALID_REPORT_PARAMS"),
        ("/api/reports/summary?serviceLevelSeconds=abc", "INVALID_REPORT_PARAMS"),
        ("/api/reports/no-such-report", "NOT_FOUND"),
        ("/api/reports/summary?timeZone=Mars/Olympus_Mons", "INVALID_REPORT_PARAMS"),
        ("/api/reports/summary?timeZone=UTC'%20OR%20'1", "INVALID_REPORT_PARAMS"),
    ] {
        let (s, j) = org.get("sue", path).await;
        assert!(s.is_client_error(), "{path}: {s}");
        assert_eq!(j[0]["errorCode"], code, "{path}: {j}");
    }
    // A time-zone name longer than any zone's is refused like one that names none.
    let (s, j) = org.get("sue", &format!("/api/reports/summary?timeZone={}", "x".repeat(100))).await;
    assert_eq!((s, j[0]["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("INVALID_REPORT_PARAMS")), "{j}");
    // A hostile queue name is a value, not SOQL.
    let (s, j) = org.get("sue", &format!("/api/reports/summary?queue={}", urlencoding::encode("x' OR Name != '"))).await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(rows(&j).iter().find(|r| r[0] == "calls").unwrap()[2], 0);
}
