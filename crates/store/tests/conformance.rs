//! One suite, two backends: every scenario runs against SQLite (a fresh file)
//! and PostgreSQL (a fresh database on `DIALTONE_TEST_PG`, default
//! postgres://postgres@127.0.0.1:5432/postgres). Set DIALTONE_SKIP_PG=1 to run
//! the SQLite half alone; otherwise an unreachable PostgreSQL fails the suite.

use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_store::{App, Credential, DynStore, Location, StoreError, Token, WriteOp};
use std::future::Future;

fn admin_url() -> String {
    std::env::var("DIALTONE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn skip_pg() -> bool {
    std::env::var("DIALTONE_SKIP_PG").is_ok_and(|v| v == "1")
}

/// A fresh PostgreSQL database; returns its URL and a dropper.
async fn fresh_pg_db() -> (String, impl Future<Output = ()>) {
    let admin = admin_url();
    let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for the store tests (or set DIALTONE_SKIP_PG=1): {e}"));
    tokio::spawn(conn);
    let name = format!("dt_test_{}_{}", std::process::id(), rand_suffix());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_string();
    let url = format!("{base}/{name}");
    let drop = async move {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    };
    (url, drop)
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) % 1_000_000_000
}

/// Runs `scenario` against both backends. The scenario gets a way to (re)open
/// the same store, so durability and migrations can be checked.
async fn both<F, Fut>(scenario: F)
where
    F: Fn(Location) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    scenario(Location::Sqlite(dir.path().join("dialtone.db"))).await;
    if skip_pg() {
        eprintln!("DIALTONE_SKIP_PG=1: PostgreSQL half skipped");
        return;
    }
    let (url, drop) = fresh_pg_db().await;
    scenario(Location::Postgres(url)).await;
    drop.await;
}

async fn open(loc: &Location) -> DynStore {
    dialtone_store::open(loc, "US").await.expect("open store")
}

fn raw(pairs: &[(&str, &str)]) -> Vec<(String, RawValue)> {
    pairs.iter().map(|(k, v)| (k.to_string(), RawValue::Text(v.to_string()))).collect()
}

async fn create(store: &DynStore, object: &str, rows: &[&[(&str, &str)]]) -> Vec<SalesforceId> {
    let o = Schema::standard().object(object).unwrap();
    let checked = rows.iter().map(|r| o.check_create(raw(r)).unwrap()).collect();
    store.insert(o, checked, None).await.unwrap()
}

async fn soql(store: &DynStore, q: &str) -> Vec<Vec<Value>> {
    let plan = dialtone_soql::compile(q, store.schema(), store.dialect(), time::OffsetDateTime::now_utc()).unwrap();
    store.query(&plan, None).await.unwrap()
}

async fn count(store: &DynStore, q: &str) -> u64 {
    let plan = dialtone_soql::compile(q, store.schema(), store.dialect(), time::OffsetDateTime::now_utc()).unwrap();
    store.count(&plan).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_round_trip_with_types_ids_and_audit_fields() {
    both(|loc| async move {
        let s = open(&loc).await;
        let contact = Schema::standard().object("Contact").unwrap();
        let ids = create(&s, "Contact", &[&[("FirstName", "Ada"), ("LastName", "Lovelace"), ("Birthdate", "1815-12-10"), ("DoNotCall", "true")]]).await;
        let id = &ids[0];
        assert_eq!(id.key_prefix(), "003");
        assert_eq!(id.as_str().len(), 18);
        let rec = s.get(contact, id).await.unwrap().expect("stored");
        assert_eq!(rec.get("Name"), Some(&Value::Text("Ada Lovelace".into())));
        assert_eq!(rec.get("Birthdate"), Some(&Value::Text("1815-12-10".into())));
        assert_eq!(rec.get("DoNotCall"), Some(&Value::Bool(true)));
        assert_eq!(rec.get("HasOptedOutOfEmail"), Some(&Value::Bool(false)));
        assert!(rec.get("CreatedDate").and_then(Value::as_str).is_some_and(|d| d.ends_with("+0000")));

        let opp = Schema::standard().object("Opportunity").unwrap();
        let oid = create(&s, "Opportunity", &[&[("Name", "Renewal"), ("StageName", "Prospecting"), ("CloseDate", "2026-12-31"), ("Amount", "1250.5"), ("Probability", "20")]]).await;
        let rec = s.get(opp, &oid[0]).await.unwrap().unwrap();
        assert_eq!(rec.get("Amount"), Some(&Value::Float(1250.5)));

        let changes = contact.check_update(raw(&[("FirstName", "Augusta Ada")]), &rec_values(&s, contact, id).await).unwrap();
        s.update(contact, id, changes, None).await.unwrap();
        let rec = s.get(contact, id).await.unwrap().unwrap();
        assert_eq!(rec.get("Name"), Some(&Value::Text("Augusta Ada Lovelace".into())));

        s.delete(contact, id).await.unwrap();
        assert!(s.get(contact, id).await.unwrap().is_none());
        assert!(matches!(s.delete(contact, id).await, Err(StoreError::NotFound { .. })));
        assert!(matches!(s.update(contact, id, vec![("Title".into(), Value::Text("x".into()))], None).await, Err(StoreError::NotFound { .. })));
    })
    .await;
}

async fn rec_values(s: &DynStore, o: &dialtone_model::ObjectDef, id: &SalesforceId) -> Vec<(String, Value)> {
    s.get(o, id).await.unwrap().unwrap().values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_written_form_of_a_number_finds_contacts_leads_accounts_and_person_accounts() {
    both(|loc| async move {
        let s = open(&loc).await;
        let c = create(&s, "Contact", &[&[("LastName", "A"), ("Phone", "(415) 555-1212")], &[("LastName", "B"), ("MobilePhone", "+1 415-555-1212")]]).await;
        let l = create(&s, "Lead", &[&[("LastName", "C"), ("Company", "X"), ("Phone", "4155551212")]]).await;
        let a = create(&s, "Account", &[&[("Name", "Acme"), ("Phone", "415.555.1212")], &[("FirstName", "P"), ("LastName", "Person"), ("PersonMobilePhone", "1-415-555-1212")]]).await;
        create(&s, "Contact", &[&[("LastName", "Other"), ("Phone", "(415) 555-9999")]]).await;
        for written in ["(415) 555-1212", "+1 415-555-1212", "4155551212", "+14155551212"] {
            let e = s.normalizer().normalize(written).unwrap();
            let found: Vec<SalesforceId> = s.phone_lookup(&e).await.unwrap().into_iter().map(|m| m.id).collect();
            let mut want: Vec<SalesforceId> = c.iter().chain(&l).chain(&a).cloned().collect();
            want.sort();
            let mut got = found.clone();
            got.sort();
            assert_eq!(got, want, "lookup of {written}");
        }
        // A change of number moves the record in the index; a delete removes it.
        let contact = Schema::standard().object("Contact").unwrap();
        s.update(contact, &c[0], vec![("Phone".into(), Value::Text("+44 20 7946 0018".into()))], None).await.unwrap();
        let us = s.normalizer().normalize("4155551212").unwrap();
        assert_eq!(s.phone_lookup(&us).await.unwrap().len(), 4);
        let uk = s.normalizer().normalize("+442079460018").unwrap();
        assert_eq!(s.phone_lookup(&uk).await.unwrap().len(), 1);
        s.delete(contact, &c[0]).await.unwrap();
        assert!(s.phone_lookup(&uk).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soql_plans_run_the_same_on_both_backends() {
    both(|loc| async move {
        let s = open(&loc).await;
        let sources = ["Web", "Web", "Phone Inquiry", "Other", "Web"];
        let rows: Vec<Vec<(String, RawValue)>> = sources
            .iter()
            .enumerate()
            .map(|(i, src)| {
                raw(&[
                    ("LastName", &format!("Smith{i}")),
                    ("Company", if i % 2 == 0 { "Acme" } else { "Globex" }),
                    ("LeadSource", src),
                    ("AnnualRevenue", &format!("{}", (i + 1) * 1000)),
                    ("NumberOfEmployees", &format!("{}", i * 10)),
                ])
            })
            .collect();
        let lead = Schema::standard().object("Lead").unwrap();
        let checked = rows.into_iter().map(|r| lead.check_create(r).unwrap()).collect();
        s.insert(lead, checked, None).await.unwrap();

        assert_eq!(count(&s, "SELECT COUNT() FROM Lead").await, 5);
        assert_eq!(count(&s, "SELECT COUNT() FROM Lead WHERE Company = 'acme'").await, 3, "= is case-insensitive");
        assert_eq!(count(&s, "SELECT COUNT() FROM Lead WHERE LastName LIKE 'smith%'").await, 5, "LIKE is case-insensitive");
        assert_eq!(count(&s, "SELECT COUNT() FROM Lead WHERE CreatedDate = TODAY").await, 5);
        assert_eq!(count(&s, "SELECT COUNT() FROM Lead WHERE CreatedDate < LAST_N_DAYS:3").await, 0);
        assert_eq!(count(&s, "SELECT COUNT() FROM Lead WHERE LeadSource IN ('Other', 'Phone Inquiry') OR (NumberOfEmployees >= 40 AND Company != 'Globex')").await, 3);
        let agg = soql(&s, "SELECT LeadSource, COUNT(Id) cnt, SUM(AnnualRevenue), MAX(NumberOfEmployees) FROM Lead GROUP BY LeadSource ORDER BY LeadSource").await;
        assert_eq!(
            agg,
            vec![
                vec![Value::Text("Other".into()), Value::Int(1), Value::Float(4000.0), Value::Int(30)],
                vec![Value::Text("Phone Inquiry".into()), Value::Int(1), Value::Float(3000.0), Value::Int(20)],
                vec![Value::Text("Web".into()), Value::Int(3), Value::Float(8000.0), Value::Int(40)],
            ]
        );
        let plan = dialtone_soql::compile("SELECT LastName FROM Lead ORDER BY LastName DESC", s.schema(), s.dialect(), time::OffsetDateTime::now_utc()).unwrap();
        let page = s.query(&plan, Some(dialtone_store::Page { offset: 1, limit: 2 })).await.unwrap();
        assert_eq!(page.iter().map(|r| r[0].clone()).collect::<Vec<_>>(), vec![Value::Text("Smith3".into()), Value::Text("Smith2".into())]);
        assert_eq!(s.count(&plan).await.unwrap(), 5);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_functions_group_and_filter_the_same_on_both_backends() {
    both(|loc| async move {
        let s = open(&loc).await;
        // Sat 2026-12-05 09:xx twice, 23:59 once; Sun 2026-12-06 00:00; Tue 2027-03-02 14:30 (Q1).
        let starts = ["2026-12-05T09:00:00Z", "2026-12-05T09:59:59Z", "2026-12-05T23:59:59Z", "2026-12-06T00:00:00Z", "2027-03-02T14:30:00Z"];
        let call = Schema::standard().object("VoiceCall").unwrap();
        let rows = starts
            .iter()
            .enumerate()
            .map(|(i, t)| call.check_create(raw(&[("VendorCallKey", &format!("k{i}")), ("CallType", "Inbound"), ("CallStartDateTime", t)])).unwrap())
            .collect();
        s.insert(call, rows, None).await.unwrap();
        let by_day = soql(&s, "SELECT DAY_ONLY(CallStartDateTime) day, COUNT(Id) n FROM VoiceCall GROUP BY DAY_ONLY(CallStartDateTime) ORDER BY DAY_ONLY(CallStartDateTime)").await;
        let t = |x: &str| Value::Text(x.into());
        assert_eq!(by_day, vec![vec![t("2026-12-05"), Value::Int(3)], vec![t("2026-12-06"), Value::Int(1)], vec![t("2027-03-02"), Value::Int(1)]]);
        let by_hour = soql(&s, "SELECT HOUR_IN_DAY(CallStartDateTime), COUNT(Id) FROM VoiceCall GROUP BY HOUR_IN_DAY(CallStartDateTime) ORDER BY COUNT(Id) DESC, HOUR_IN_DAY(CallStartDateTime)").await;
        assert_eq!(by_hour, vec![vec![Value::Int(9), Value::Int(2)], vec![Value::Int(0), Value::Int(1)], vec![Value::Int(14), Value::Int(1)], vec![Value::Int(23), Value::Int(1)]]);
        let calendar = soql(
            &s,
            "SELECT CALENDAR_YEAR(CallStartDateTime) y, CALENDAR_QUARTER(CallStartDateTime) q, CALENDAR_MONTH(CallStartDateTime) m, COUNT(Id) n FROM VoiceCall \
             GROUP BY CALENDAR_YEAR(CallStartDateTime), CALENDAR_QUARTER(CallStartDateTime), CALENDAR_MONTH(CallStartDateTime) ORDER BY y",
        )
        .await;
        assert_eq!(calendar, vec![vec![Value::Int(2026), Value::Int(4), Value::Int(12), Value::Int(4)], vec![Value::Int(2027), Value::Int(1), Value::Int(3), Value::Int(1)]]);
        // 2026-12-05 is a Saturday (7), 2026-12-06 a Sunday (1), 2027-03-02 a Tuesday (3).
        let weekdays = soql(&s, "SELECT DAY_IN_WEEK(CallStartDateTime) d, DAY_IN_MONTH(CallStartDateTime) dm, COUNT(Id) FROM VoiceCall GROUP BY DAY_IN_WEEK(CallStartDateTime), DAY_IN_MONTH(CallStartDateTime) ORDER BY d").await;
        assert_eq!(
            weekdays,
            vec![vec![Value::Int(1), Value::Int(6), Value::Int(1)], vec![Value::Int(3), Value::Int(2), Value::Int(1)], vec![Value::Int(7), Value::Int(5), Value::Int(3)]]
        );
        assert_eq!(count(&s, "SELECT COUNT() FROM VoiceCall WHERE HOUR_IN_DAY(CallStartDateTime) = 9").await, 2);
        assert_eq!(count(&s, "SELECT COUNT() FROM VoiceCall WHERE DAY_ONLY(CallStartDateTime) = 2026-12-05").await, 3);
        assert_eq!(count(&s, "SELECT COUNT() FROM VoiceCall WHERE DAY_IN_WEEK(CallStartDateTime) IN (1, 7)").await, 4);
        let having = soql(&s, "SELECT DAY_ONLY(CallStartDateTime), COUNT(Id) FROM VoiceCall GROUP BY DAY_ONLY(CallStartDateTime) HAVING COUNT(Id) > 1").await;
        assert_eq!(having, vec![vec![t("2026-12-05"), Value::Int(3)]]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_writes_nothing() {
    both(|loc| async move {
        let s = open(&loc).await;
        let contact = Schema::standard().object("Contact").unwrap();
        let good = contact.check_create(raw(&[("LastName", "Kept")])).unwrap();
        let mut bad = contact.check_create(raw(&[("LastName", "Broken")])).unwrap();
        bad.push(("NoSuchColumn".into(), Value::Text("x".into())));
        let err = s.insert(contact, vec![good.clone(), bad], None).await;
        assert!(err.is_err());
        assert_eq!(count(&s, "SELECT COUNT() FROM Contact").await, 0);
        // The sequence is not burnt by the failure either: the next id is the first.
        let ids = s.insert(contact, vec![good], None).await.unwrap();
        assert_eq!(ids[0].seq(), Some(1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_keeps_records_ids_and_migrations() {
    both(|loc| async move {
        let first = {
            let s = open(&loc).await;
            let ids = create(&s, "Case", &[&[("Subject", "Printer on fire")]]).await;
            let rec = s.get(Schema::standard().object("Case").unwrap(), &ids[0]).await.unwrap().unwrap();
            assert_eq!(rec.get("CaseNumber"), Some(&Value::Text("00000001".into())));
            assert_eq!(rec.get("Status"), Some(&Value::Text("New".into())));
            ids[0].clone()
        };
        let s = open(&loc).await;
        assert!(s.get(Schema::standard().object("Case").unwrap(), &first).await.unwrap().is_some());
        let second = create(&s, "Case", &[&[("Subject", "Again")]]).await;
        assert_eq!(second[0].seq(), Some(2), "ids are never reused");
        let migrations = s.migrations().await.unwrap();
        let versions: Vec<i64> = migrations.iter().map(|(v, _)| *v).collect();
        assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
        assert!(versions.len() >= 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_a_newer_dialtone_is_refused() {
    both(|loc| async move {
        let s = open(&loc).await;
        drop(s);
        match &loc {
            Location::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                c.execute("INSERT INTO dt_migrations (version, name, applied_at) VALUES (999, 'future', 'x')", []).unwrap();
            }
            Location::Postgres(url) => {
                let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                c.batch_execute("INSERT INTO dt_migrations (version, name, applied_at) VALUES (999, 'future', 'x')").await.unwrap();
            }
        }
        match dialtone_store::open(&loc, "US").await {
            Err(StoreError::TooNew { found: 999, .. }) => {}
            Err(other) => panic!("expected TooNew, got {other}"),
            Ok(_) => panic!("expected TooNew, the store opened"),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_state_round_trips() {
    both(|loc| async move {
        let s = open(&loc).await;
        let user = create(&s, "User", &[&[("Username", "ada@example.com"), ("LastName", "L"), ("Email", "ada@example.com")]]).await.remove(0);
        assert_eq!(s.find_user_by_username("ada@example.com").await.unwrap().and_then(|r| r.id()), Some(user.clone()));
        assert!(s.find_user_by_username("nobody@example.com").await.unwrap().is_none());
        let cred = Credential { user_id: user.clone(), password_hash: "h".into(), failed_attempts: 2, locked_until: Some("2030-01-01T00:00:00.000+0000".into()) };
        s.put_credential(&cred).await.unwrap();
        assert_eq!(s.credential(&user).await.unwrap(), Some(cred));
        let app = App { client_id: "cid".into(), name: "Loader".into(), secret_hash: "sh".into() };
        s.put_app(&app).await.unwrap();
        assert_eq!(s.app("cid").await.unwrap(), Some(app));
        assert!(s.put_app(&App { client_id: "cid".into(), name: "dup".into(), secret_hash: "x".into() }).await.is_err());
        let t = Token { token_hash: "th".into(), kind: "access".into(), user_id: user, client_id: "cid".into(), expires_at: "2030-01-01T00:00:00.000+0000".into(), revoked: false };
        s.put_token(&t).await.unwrap();
        assert_eq!(s.token("th").await.unwrap(), Some(t.clone()));
        s.revoke_token("th").await.unwrap();
        assert!(s.token("th").await.unwrap().unwrap().revoked);
        s.put_setting("region", "GB").await.unwrap();
        s.put_setting("region", "DE").await.unwrap();
        assert_eq!(s.setting("region").await.unwrap().as_deref(), Some("DE"));
        for (k, v) in [("trunk:sip:b", "2"), ("trunk:sip:a", "1"), ("trunk:sipx", "no"), ("trunk:twilio:AC1", "no"), ("trunk:si%", "no")] {
            s.put_setting(k, v).await.unwrap();
        }
        let found = s.settings_with_prefix("trunk:sip:").await.unwrap();
        assert_eq!(found, vec![("trunk:sip:a".to_string(), "1".to_string()), ("trunk:sip:b".to_string(), "2".to_string())]);
        assert!(s.settings_with_prefix("nothing:").await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_shares_round_trip_and_go_with_their_record() {
    both(|loc| async move {
        let s = open(&loc).await;
        let id = create(&s, "Contact", &[&[("LastName", "Shared")]]).await.remove(0);
        let share = |p: &str, level| dialtone_store::Share { record_id: id.clone(), object: "Contact".into(), principal: p.into(), level, created_by: None };
        s.put_share(&share("user:005Dt0000000002IAA", 1)).await.unwrap();
        s.put_share(&share("role:Agents", 1)).await.unwrap();
        s.put_share(&share("role:Agents", 2)).await.unwrap();
        let got = s.shares(&id).await.unwrap();
        assert_eq!(got.iter().map(|x| (x.principal.as_str(), x.level)).collect::<Vec<_>>(), [("role:Agents", 2), ("user:005Dt0000000002IAA", 1)]);
        s.delete_share(&id, "role:Agents").await.unwrap();
        assert_eq!(s.shares(&id).await.unwrap().len(), 1);
        s.delete(Schema::standard().object("Contact").unwrap(), &id).await.unwrap();
        assert!(s.shares(&id).await.unwrap().is_empty(), "a deleted record's shares go with it");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_call_changes_are_kept_as_field_history_and_the_audit_trail_appends() {
    both(|loc| async move {
        let s = open(&loc).await;
        let vc = Schema::standard().object("VoiceCall").unwrap();
        let id = create(&s, "VoiceCall", &[&[("VendorCallKey", "CA1"), ("CallDisposition", "new")]]).await.remove(0);
        let agent = SalesforceId::new("005", 7);
        s.update(vc, &id, vec![("CallDisposition".into(), Value::Text("in-progress".into())), ("NumberOfHolds".into(), Value::Int(0))], Some(&agent)).await.unwrap();
        s.update(vc, &id, vec![("CallDisposition".into(), Value::Text("in-progress".into())), ("NumberOfHolds".into(), Value::Int(2))], None).await.unwrap();
        let h = s.field_history(&id).await.unwrap();
        let got: Vec<(&str, Option<&str>, Option<&str>)> = h.iter().map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref())).collect();
        assert_eq!(got, [("CallDisposition", Some("new"), Some("in-progress")), ("NumberOfHolds", None, Some("0")), ("NumberOfHolds", Some("0"), Some("2"))]);
        assert_eq!(h[0].actor.as_deref(), Some(agent.as_str()));
        // Objects without history keep none.
        let c = create(&s, "Contact", &[&[("LastName", "A")]]).await.remove(0);
        s.update(Schema::standard().object("Contact").unwrap(), &c, vec![("Title".into(), Value::Text("x".into()))], None).await.unwrap();
        assert!(s.field_history(&c).await.unwrap().is_empty());

        for (i, action) in ["security.import", "callcenter.import"].iter().enumerate() {
            s.append_audit(&dialtone_store::AuditEntry {
                at: format!("2026-11-22T00:00:0{i}.000+0000"),
                actor: "cli:root".into(),
                action: action.to_string(),
                target: "org".into(),
                before: None,
                after: Some("{}".into()),
                source: Some("cli".into()),
            })
            .await
            .unwrap();
        }
        let trail = s.audit_trail(10).await.unwrap();
        assert_eq!(trail.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["callcenter.import", "security.import"], "newest first");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_batch_applies_inserts_and_updates_of_several_objects_all_or_nothing() {
    both(|loc| async move {
        let s = open(&loc).await;
        let contact = create(&s, "Contact", &[&[("LastName", "Batch"), ("Phone", "+14155550100")]]).await.remove(0);
        let text = |v: &str| Value::Text(v.to_string());
        let ops = vec![
            WriteOp::Insert { object: "VoiceCall".into(), fields: vec![("VendorCallKey".into(), text("k-1")), ("CallType".into(), text("Inbound"))] },
            WriteOp::Update { object: "Contact".into(), id: contact.clone(), fields: vec![("Phone".into(), text("+14155550199"))] },
            WriteOp::Insert { object: "Task".into(), fields: vec![("Subject".into(), text("Inbound call"))] },
        ];
        let ids = s.write_batch(ops, None).await.unwrap();
        assert_eq!(ids.len(), 3);
        assert!(ids[0].as_ref().is_some_and(|i| i.as_str().starts_with("0LQ")) && ids[1].is_none() && ids[2].is_some());
        let calls = soql(&s, "SELECT Id, VendorCallKey FROM VoiceCall").await;
        assert_eq!(calls.len(), 1);
        assert_eq!((&calls[0][0], &calls[0][1]), (&text(ids[0].as_ref().unwrap().as_str()), &text("k-1")));
        let found = s.phone_lookup(&s.normalizer().normalize("+14155550199").unwrap()).await.unwrap();
        assert_eq!(found.len(), 1, "the update re-indexed the phone inside the batch");

        // One op fails (no such record): nothing of the batch is written.
        let missing = SalesforceId::parse("003Dt00000000ZZIAA").unwrap();
        let bad = vec![
            WriteOp::Insert { object: "VoiceCall".into(), fields: vec![("VendorCallKey".into(), text("k-2"))] },
            WriteOp::Update { object: "Contact".into(), id: missing, fields: vec![("LastName".into(), text("Ghost"))] },
        ];
        assert!(s.write_batch(bad, None).await.is_err());
        assert_eq!(soql(&s, "SELECT COUNT(Id) FROM VoiceCall WHERE VendorCallKey = 'k-2'").await[0][0], Value::Int(0));

        // A configuration replaced whole: every Skill goes and the new ones come, in one transaction.
        create(&s, "Skill", &[&[("DeveloperName", "french")], &[("DeveloperName", "german")]]).await;
        let replace = vec![
            WriteOp::DeleteAll { object: "Skill".into() },
            WriteOp::Insert { object: "Skill".into(), fields: vec![("DeveloperName".into(), text("spanish"))] },
        ];
        s.write_batch(replace, None).await.unwrap();
        assert_eq!(soql(&s, "SELECT DeveloperName FROM Skill").await[0][0], text("spanish"));
        assert_eq!(soql(&s, "SELECT COUNT(Id) FROM Skill").await[0][0], Value::Int(1));
        // A replacement that fails part-way deletes nothing.
        let failing = vec![WriteOp::DeleteAll { object: "Skill".into() }, WriteOp::Update { object: "Contact".into(), id: SalesforceId::parse("003Dt00000000ZZIAA").unwrap(), fields: vec![] }];
        assert!(s.write_batch(failing, None).await.is_err());
        assert_eq!(soql(&s, "SELECT COUNT(Id) FROM Skill").await[0][0], Value::Int(1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convert_timezone_groups_by_local_days_and_hours_across_daylight_saving_on_both_backends() {
    both(|loc| async move {
        let s = open(&loc).await;
        create(
            &s,
            "VoiceCall",
            &[
                &[("VendorCallKey", "tz-1"), ("CallStartDateTime", "2026-07-01T03:30:00Z")], // EDT: 30 June, 23:30
                &[("VendorCallKey", "tz-2"), ("CallStartDateTime", "2026-01-15T04:59:00Z")], // EST: 14 January, 23:59
                &[("VendorCallKey", "tz-3"), ("CallStartDateTime", "2026-01-15T05:00:00Z")], // EST: 15 January, 00:00
            ],
        )
        .await;
        let local = "DAY_ONLY(convertTimezone(CallStartDateTime))";
        let hour = "HOUR_IN_DAY(convertTimezone(CallStartDateTime))";
        let q = format!("SELECT {local} d, {hour} h, COUNT(Id) n FROM VoiceCall GROUP BY {local}, {hour} ORDER BY {local}");
        let run = |zone: Option<&'static str>| {
            let (s, q) = (s.clone(), q.clone());
            async move {
                let tz = zone.map(|z| jiff::tz::TimeZone::get(z).unwrap());
                let plan = dialtone_soql::compile_in(&q, s.schema(), s.dialect(), time::OffsetDateTime::now_utc(), None, tz.as_ref()).unwrap();
                s.query(&plan, None).await
            }
        };
        let text = |v: &str| Value::Text(v.to_string());
        let rows = run(Some("America/New_York")).await.unwrap();
        assert_eq!(
            rows,
            vec![
                vec![text("2026-01-14"), Value::Int(23), Value::Int(1)],
                vec![text("2026-01-15"), Value::Int(0), Value::Int(1)],
                vec![text("2026-06-30"), Value::Int(23), Value::Int(1)]
            ]
        );
        // A zone 5 h 45 min ahead: minutes move too.
        let rows = run(Some("Asia/Kathmandu")).await.unwrap();
        assert_eq!(rows, vec![vec![text("2026-01-15"), Value::Int(10), Value::Int(2)], vec![text("2026-07-01"), Value::Int(9), Value::Int(1)]]);
        // No zone (or UTC): the stored UTC, as without convertTimezone.
        let utc = run(None).await.unwrap();
        assert_eq!(utc.iter().map(|r| (r[0].clone(), r[1].clone())).collect::<Vec<_>>(), vec![(text("2026-01-15"), Value::Int(4)), (text("2026-01-15"), Value::Int(5)), (text("2026-07-01"), Value::Int(3))]);
        // Date literals are the zone's days: TODAY at 02:00 UTC on 15 January is still the 14th in New York.
        let at = time::macros::datetime!(2026-01-15 02:00 UTC);
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let today = |zone: Option<&jiff::tz::TimeZone>| {
            let plan = dialtone_soql::compile_in("SELECT VendorCallKey FROM VoiceCall WHERE CallStartDateTime = TODAY", s.schema(), s.dialect(), at, None, zone).unwrap();
            let s = s.clone();
            async move { s.query(&plan, None).await.unwrap().into_iter().map(|r| vec![r[0].clone()]).collect::<Vec<_>>() }
        };
        assert_eq!(today(Some(&tz)).await, vec![vec![text("tz-2")]], "14 January in New York: 05:00Z to 05:00Z");
        assert_eq!(today(None).await, vec![vec![text("tz-2")], vec![text("tz-3")]], "15 January in UTC");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_links_a_record_to_one_it_inserted_earlier_all_or_nothing() {
    both(|loc| async move {
        let s = open(&loc).await;
        let text = |v: &str| Value::Text(v.to_string());
        let lead = create(&s, "Lead", &[&[("LastName", "Linked"), ("Company", "Linked Co")]]).await.remove(0);
        let ids = s
            .write_batch(
                vec![
                    WriteOp::Insert { object: "Account".into(), fields: vec![("Name".into(), text("Linked Co"))] },
                    WriteOp::Linked { op: Box::new(WriteOp::Insert { object: "Contact".into(), fields: vec![("LastName".into(), text("Linked"))] }), links: vec![("AccountId".into(), 0)] },
                    WriteOp::Linked {
                        op: Box::new(WriteOp::Update { object: "Lead".into(), id: lead.clone(), fields: vec![("IsConverted".into(), Value::Bool(true))] }),
                        links: vec![("ConvertedAccountId".into(), 0), ("ConvertedContactId".into(), 1)],
                    },
                ],
                None,
            )
            .await
            .unwrap();
        let (account, contact) = (ids[0].clone().unwrap(), ids[1].clone().unwrap());
        let c = soql(&s, &format!("SELECT AccountId FROM Contact WHERE Id = '{contact}'")).await;
        assert_eq!(c[0][0], text(account.as_str()));
        let l = soql(&s, &format!("SELECT ConvertedAccountId, ConvertedContactId FROM Lead WHERE Id = '{lead}'")).await;
        assert_eq!((&l[0][0], &l[0][1]), (&text(account.as_str()), &text(contact.as_str())));
        // A link to an op that inserted nothing fails the batch: the Account before it is not kept.
        let bad = s
            .write_batch(
                vec![
                    WriteOp::Insert { object: "Account".into(), fields: vec![("Name".into(), text("Orphan Co"))] },
                    WriteOp::Linked { op: Box::new(WriteOp::Insert { object: "Contact".into(), fields: vec![("LastName".into(), text("Orphan"))] }), links: vec![("AccountId".into(), 5)] },
                ],
                None,
            )
            .await;
        assert!(bad.is_err());
        assert_eq!(count(&s, "SELECT Id FROM Account WHERE Name = 'Orphan Co'").await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expect_guard_lets_one_of_two_racing_writers_through_and_the_other_writes_nothing() {
    both(|loc| async move {
        let text = |v: &str| Value::Text(v.to_string());
        let s = open(&loc).await;
        let run = s
            .write_batch(vec![WriteOp::Insert { object: "FlowRun".into(), fields: vec![("FlowId".into(), text("f1")), ("Status".into(), text("Running")), ("ActionsDone".into(), Value::Int(0))] }], None)
            .await
            .unwrap()
            .remove(0)
            .unwrap();
        // Two processes on one database each do "action 1" of the same run.
        let step = |subject: &str| {
            vec![
                WriteOp::Expect { object: "FlowRun".into(), id: run.clone(), fields: vec![("Status".into(), text("Running")), ("ActionsDone".into(), Value::Int(0)), ("NextAttemptDateTime".into(), Value::Null)] },
                WriteOp::Insert { object: "Task".into(), fields: vec![("Subject".into(), text(subject))] },
                WriteOp::Update { object: "FlowRun".into(), id: run.clone(), fields: vec![("ActionsDone".into(), Value::Int(1))] },
            ]
        };
        let (a, b) = (open(&loc).await, open(&loc).await);
        let (ra, rb) = tokio::join!(a.write_batch(step("race"), None), b.write_batch(step("race"), None));
        let (ok, conflicts) = [&ra, &rb].iter().fold((0, 0), |(o, c), r| match r {
            Ok(_) => (o + 1, c),
            Err(StoreError::Conflict { object, .. }) if object == "FlowRun" => (o, c + 1),
            Err(e) => panic!("{e}"),
        });
        assert_eq!((ok, conflicts), (1, 1), "{ra:?} / {rb:?}");
        assert_eq!(count(&s, "SELECT Id FROM Task WHERE Subject = 'race'").await, 1, "the loser wrote nothing");
        // A value that does not match: refused, nothing written.
        let late = s.write_batch(step("late"), None).await;
        assert!(matches!(late, Err(StoreError::Conflict { .. })), "{late:?}");
        assert_eq!(count(&s, "SELECT Id FROM Task WHERE Subject = 'late'").await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_objects_write_an_outbox_row_in_the_same_transaction_and_runs_are_unique_per_flow_and_change() {
    both(|loc| async move {
        let s = open(&loc).await;
        let text = |v: &str| Value::Text(v.to_string());
        // Nothing watched: no outbox rows at all.
        let before = create(&s, "VoiceCall", &[&[("VendorCallKey", "ob-0")]]).await.remove(0);
        assert_eq!(s.outbox_backlog().await.unwrap(), 0);

        s.set_outbox_objects(&["VoiceCall".to_string()]);
        let signal = s.outbox_signal();
        let call = create(&s, "VoiceCall", &[&[("VendorCallKey", "ob-1"), ("CallType", "Inbound")]]).await.remove(0);
        tokio::time::timeout(std::time::Duration::from_secs(5), signal.notified()).await.expect("the commit rang the signal");
        create(&s, "Contact", &[&[("LastName", "Unwatched")]]).await;
        let vc = Schema::standard().object("VoiceCall").unwrap();
        s.update(vc, &call, vec![("CallResolution".into(), text("Callback Requested"))], None).await.unwrap();
        // An update that changes nothing makes no row.
        s.update(vc, &call, vec![("CallResolution".into(), text("Callback Requested"))], None).await.unwrap();
        // write_batch at a depth, and all-or-nothing: a failing batch leaves no outbox row.
        s.write_batch_at(vec![WriteOp::Update { object: "VoiceCall".into(), id: before.clone(), fields: vec![("Description".into(), text("by a flow"))] }], None, 2).await.unwrap();
        let missing = SalesforceId::parse("0LQDt00000000ZZIAA").unwrap();
        let bad = vec![
            WriteOp::Insert { object: "VoiceCall".into(), fields: vec![("VendorCallKey".into(), text("ob-x"))] },
            WriteOp::Update { object: "VoiceCall".into(), id: missing, fields: vec![("Description".into(), text("x"))] },
        ];
        assert!(s.write_batch(bad, None).await.is_err());

        let rows = s.outbox_pending(100).await.unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(rows.windows(2).all(|w| w[0].seq < w[1].seq), "commit order");
        assert_eq!((rows[0].op.as_str(), rows[0].record_id.as_str(), rows[0].depth), ("created", call.as_str(), 0));
        assert!(rows[0].changes.iter().any(|(f, o, n)| f == "VendorCallKey" && o.is_none() && n.as_deref() == Some("ob-1")));
        assert_eq!(rows[1].op, "updated");
        assert_eq!(rows[1].changes, vec![("CallResolution".to_string(), None, Some("Callback Requested".to_string()))]);
        assert_eq!((rows[2].record_id.as_str(), rows[2].depth), (before.as_str(), 2));
        s.ack_outbox(&[rows[0].seq, rows[1].seq]).await.unwrap();
        assert_eq!(s.outbox_backlog().await.unwrap(), 1);

        // One run per (flow, change): a second claim of the same change is a duplicate.
        let flow = create(&s, "Flow", &[&[("Name", "f"), ("Object", "VoiceCall"), ("TriggerType", "Created")]]).await.remove(0);
        let run = |seq: i64| WriteOp::Insert {
            object: "FlowRun".into(),
            fields: vec![("FlowId".into(), text(flow.as_str())), ("ChangeSeq".into(), Value::Int(seq)), ("Status".into(), text("Running"))],
        };
        s.write_batch(vec![run(rows[0].seq)], None).await.unwrap();
        assert!(matches!(s.write_batch(vec![run(rows[0].seq)], None).await, Err(StoreError::Duplicate(_))));
        s.write_batch(vec![run(rows[1].seq)], None).await.unwrap();

        // Rows survive a reopen (a restart) until acknowledged.
        drop(s);
        let s = open(&loc).await;
        assert_eq!(s.outbox_pending(10).await.unwrap().len(), 1);
    })
    .await;
}
