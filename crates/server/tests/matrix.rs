//! The authorization matrix: a generated org (roles, profiles, permission
//! sets, a permission-set group, public groups, org-wide defaults, owner- and
//! criteria-based sharing rules, manual shares) × every object × every read
//! path the API has (REST read, SOQL, SOSL phone search, phone lookup, the
//! desktop's screen pop and global search,
//! describe, composite/REST writes). Each path's answer is compared with what
//! the access model allows. The test prints the number of cases and fails on
//! any leak (a record, field or object a user receives that the model denies)
//! or miss (one it allows that the path withholds).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dialtone_access::{AccessLevel, FieldAccess, Grants, Mode, Op, Visibility};
use dialtone_model::{RawValue, SalesforceId, Schema, Value};
use dialtone_server::security::{AccessCache, SETTING};
use dialtone_server::{AppState, auth, router};
use dialtone_store::{DynStore, Location, Share};
use serde_json::{Value as Json, json};
use std::collections::{BTreeSet, HashMap};
use tower::ServiceExt;

const PASSWORD: &str = "matrix password 1";
const V: &str = "/services/data/v60.0";

/// (username, profile, role, permission sets, permission set groups)
const USERS: &[(&str, &str, Option<&str>, &str, &str)] = &[
    ("admin@m.test", "System Administrator", None, "", ""),
    ("ceo@m.test", "Supervisor", Some("CEO"), "", ""),
    ("salesvp@m.test", "Standard User", Some("SalesVP"), "", ""),
    ("rep1@m.test", "Standard User", Some("SalesRep"), "", ""),
    ("rep2@m.test", "Standard User", Some("SalesRep"), "", ""),
    ("supvp@m.test", "Supervisor", Some("SupportVP"), "", ""),
    ("a1@m.test", "Agent", Some("TeamA"), "", ""),
    ("a2@m.test", "Agent", Some("TeamA"), "", ""),
    ("b1@m.test", "Restricted Agent", Some("TeamB"), "", ""),
    ("b2@m.test", "Agent", Some("TeamB"), "", "Escalation Desk"),
    ("ro@m.test", "Read Only", None, "Lead Editor", ""),
];

fn security_json() -> String {
    let mut file = serde_json::to_value(dialtone_server::security::standard()).unwrap();
    file["permissionSets"].as_array_mut().unwrap().extend([
        json!({"name": "Restricted Agent", "isProfile": true,
               "objects": {"Contact": ["read", "create", "edit"], "VoiceCall": ["read", "create", "edit"], "VoiceCallRecording": ["read"],
                           "Case": ["read"], "Account": ["read"], "User": ["read"]},
               "fields": {"Contact.Birthdate": "hidden", "Contact.MobilePhone": "read", "Case.Description": "hidden"},
               "system": ["ApiEnabled", "UseSoftphone"]}),
        json!({"name": "Case Viewer", "objects": {"Case": ["read", "viewAll"]}}),
        json!({"name": "Lead Editor", "objects": {"Lead": ["read", "create", "edit"]}, "fields": {"Lead.AnnualRevenue": "hidden"}}),
    ]);
    file["permissionSetGroups"] = json!([{"name": "Escalation Desk", "permissionSets": ["Case Viewer"]}]);
    file["roles"] = json!([
        {"name": "CEO"}, {"name": "SalesVP", "parent": "CEO"}, {"name": "SalesRep", "parent": "SalesVP"},
        {"name": "SupportVP", "parent": "CEO"}, {"name": "TeamA", "parent": "SupportVP"}, {"name": "TeamB", "parent": "SupportVP"}
    ]);
    file["groups"] = json!([{"name": "Escalations", "users": ["rep1@m.test"], "roles": ["TeamB"]}]);
    for (o, s) in [("Contact", "Private"), ("Case", "Private"), ("Lead", "PublicRead"), ("Opportunity", "Private"), ("Account", "PublicReadWrite")] {
        file["orgWideDefaults"][o] = json!(s);
    }
    file["sharingRules"] = json!([
        {"name": "TeamA contacts to TeamB", "object": "Contact", "ownedBy": "rolesub:TeamA", "shareWith": "role:TeamB", "access": "read"},
        {"name": "High cases to Escalations", "object": "Case", "criteria": {"Priority": "High"}, "shareWith": "group:Escalations", "access": "read"},
        {"name": "Sales calls to support", "object": "VoiceCall", "ownedBy": "role:SalesRep", "shareWith": "role:TeamA", "access": "edit"},
        {"name": "Big deals to sales", "object": "Opportunity", "criteria": {"StageName": "Negotiation"}, "shareWith": "rolesub:SalesVP", "access": "read"}
    ]);
    file.to_string()
}

struct Org {
    state: AppState,
    users: Vec<(String, SalesforceId)>,
    tokens: HashMap<String, String>,
    /// object → ids
    records: HashMap<String, Vec<SalesforceId>>,
    _dir: tempfile::TempDir,
}

fn t(s: &str) -> RawValue {
    RawValue::Text(s.to_string())
}

async fn build() -> Org {
    let dir = tempfile::tempdir().unwrap();
    let store: DynStore = dialtone_store::open(&Location::Sqlite(dir.path().join("m.db")), "US").await.unwrap();
    let schema = Schema::standard();
    let user_obj = schema.object("User").unwrap();
    let mut users = Vec::new();
    for (name, profile, role, sets, groups) in USERS {
        let mut raw = vec![("Username".into(), t(name)), ("LastName".into(), t(name)), ("Email".into(), t(name)), ("ProfileName".into(), t(profile))];
        if let Some(r) = role {
            raw.push(("RoleName".into(), t(r)));
        }
        raw.push(("PermissionSetNames".into(), t(sets)));
        raw.push(("PermissionSetGroupNames".into(), t(groups)));
        let v = user_obj.check_create(raw).unwrap();
        let id = store.insert(user_obj, vec![v], None).await.unwrap().remove(0);
        auth::set_password(store.as_ref(), &id, PASSWORD).await.unwrap();
        users.push((name.to_string(), id));
    }
    store.put_setting(SETTING, &security_json()).await.unwrap();
    dialtone_server::security::load(store.as_ref()).await.expect("the matrix security file is valid");

    // Records: every owner owns some of everything, with phones, priorities, stages.
    let mut records: HashMap<String, Vec<SalesforceId>> = HashMap::new();
    let mut n = 0;
    for (i, (_, owner)) in users.iter().enumerate() {
        for k in 0..2 {
            n += 1;
            let phone = format!("(415) 555-{:04}", 1000 + n);
            let shared_phone = "+1 212-555-0100".to_string(); // every third record shares a switchboard number
            let p = if n % 3 == 0 { shared_phone.clone() } else { phone.clone() };
            let o = owner.to_string();
            let rows: Vec<(&str, Vec<(&str, RawValue)>)> = vec![
                ("Account", vec![("Name", t(&format!("Acct {n}"))), ("Phone", t(&p)), ("OwnerId", t(&o))]),
                ("Contact", vec![("LastName", t(&format!("C{n}"))), ("Phone", t(&p)), ("MobilePhone", t(&phone)), ("Birthdate", t("1990-01-01")), ("OwnerId", t(&o))]),
                ("Lead", vec![("LastName", t(&format!("L{n}"))), ("Company", t("Co")), ("Phone", t(&p)), ("AnnualRevenue", t("1000")), ("OwnerId", t(&o))]),
                ("Case", vec![("Subject", t(&format!("Case {n}"))), ("Priority", t(if (i + k) % 3 == 0 { "High" } else { "Low" })), ("Description", t("secret")), ("OwnerId", t(&o))]),
                ("Opportunity", vec![("Name", t(&format!("Opp {n}"))), ("StageName", t(if k == 0 { "Negotiation" } else { "Prospecting" })), ("CloseDate", t("2026-12-31")), ("OwnerId", t(&o))]),
                ("VoiceCall", vec![("VendorCallKey", t(&format!("call-{n}"))), ("CallType", t("Inbound")), ("FromPhoneNumber", t(&p)), ("OwnerId", t(&o))]),
                ("Task", vec![("Subject", t(&format!("Call {n}"))), ("TaskSubtype", t("Call")), ("OwnerId", t(&o))]),
            ];
            for (object, fields) in rows {
                let obj = schema.object(object).unwrap();
                let v = obj.check_create(fields.into_iter().map(|(f, v)| (f.to_string(), v)).collect()).unwrap();
                let id = store.insert(obj, vec![v], None).await.unwrap().remove(0);
                records.entry(object.to_string()).or_default().push(id);
            }
        }
    }
    // A recording per call.
    let rec_obj = schema.object("VoiceCallRecording").unwrap();
    for call in records["VoiceCall"].clone() {
        let v = rec_obj
            .check_create(vec![("VoiceCallId".into(), t(call.as_str())), ("Provider".into(), t("Twilio")), ("MediaUrl".into(), t("https://media.example/r.mp3"))])
            .unwrap();
        let id = store.insert(rec_obj, vec![v], None).await.unwrap().remove(0);
        records.entry("VoiceCallRecording".into()).or_default().push(id);
    }
    // Manual shares: to users, roles, roles-and-subordinates and a group, at both levels.
    let principals = [
        format!("user:{}", users[6].1),
        "role:SalesRep".into(),
        "rolesub:TeamB".into(),
        "group:Escalations".into(),
        format!("user:{}", users[10].1),
    ];
    for (object, ids) in &records {
        if object == "VoiceCallRecording" {
            continue;
        }
        for (j, id) in ids.iter().enumerate().filter(|(j, _)| j % 5 == 0) {
            let p = &principals[j % principals.len()];
            store.put_share(&Share { record_id: id.clone(), object: object.clone(), principal: p.clone(), level: 1 + (j % 2) as i64, created_by: None }).await.unwrap();
        }
    }
    let state = AppState::new(store).await.unwrap();
    let (client_id, secret) = auth::register_app(state.store.as_ref(), "matrix").await.unwrap();
    let mut org = Org { state, users, tokens: HashMap::new(), records, _dir: dir };
    for (name, _) in org.users.clone() {
        let form = format!("grant_type=password&client_id={client_id}&client_secret={secret}&username={}&password={}", urlencoding::encode(&name), urlencoding::encode(PASSWORD));
        let req = Request::post("/services/oauth2/token").header("content-type", "application/x-www-form-urlencoded").body(Body::from(form)).unwrap();
        let (s, body) = org.call(req).await;
        assert_eq!(s, StatusCode::OK, "{name}: {body}");
        org.tokens.insert(name, body["access_token"].as_str().unwrap().to_string());
    }
    org
}

impl Org {
    async fn call(&self, req: Request<Body>) -> (StatusCode, Json) {
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Json::Null))
    }

    async fn get(&self, user: &str, path: &str) -> (StatusCode, Json) {
        let req = Request::get(path).header("authorization", format!("Bearer {}", self.tokens[user])).body(Body::empty()).unwrap();
        self.call(req).await
    }

    async fn get_text(&self, user: &str, path: &str) -> (StatusCode, String) {
        let req = Request::get(path).header("authorization", format!("Bearer {}", self.tokens[user])).body(Body::empty()).unwrap();
        let res = router(self.state.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    async fn send(&self, user: &str, method: &str, path: &str, body: &Json) -> (StatusCode, Json) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.tokens[user]))
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(req).await
    }

    async fn grants(&self, user: &SalesforceId) -> std::sync::Arc<Grants> {
        AccessCache::grants(&self.state.access, self.state.store.as_ref(), user).await.unwrap()
    }

    /// What the model allows: the record is reached in `mode`.
    async fn allowed(&self, g: &Grants, object: &str, id: &SalesforceId, mode: Mode) -> bool {
        if !g.can(object, Op::Read) {
            return false;
        }
        let store = self.state.store.as_ref();
        let o = store.schema().object(object).unwrap();
        let rec = store.get(o, id).await.unwrap().unwrap();
        model_admits(self, g.rows(object, mode), &rec).await
    }
}

/// The model's verdict, computed from the raw record, its shares and its parent.
async fn model_admits(org: &Org, v: &Visibility, rec: &dialtone_store::Record) -> bool {
    let store = org.state.store.as_ref();
    let scope = match v {
        Visibility::All => return true,
        Visibility::None => return false,
        Visibility::Scoped(s) => s,
    };
    if let Some((field, parent, pv)) = &scope.parent {
        let Some(pid) = rec.get(field).and_then(Value::as_str).and_then(|s| SalesforceId::parse(s).ok()) else { return false };
        let prec = store.get(store.schema().object(parent).unwrap(), &pid).await.unwrap().unwrap();
        return Box::pin(model_admits(org, pv, &prec)).await;
    }
    let shares: Vec<(String, AccessLevel)> = store
        .shares(&rec.id().unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.principal, if s.level >= 2 { AccessLevel::Edit } else { AccessLevel::Read }))
        .collect();
    let field = |f: &str| rec.get(f).filter(|v| !v.is_null()).map(|v| v.to_string());
    let no_parent = |_: &str, _: &str, _: &Visibility| false;
    scope.admits(rec.get("OwnerId").and_then(Value::as_str), &field, &shares, &no_parent)
}

#[derive(Default)]
struct Tally {
    cases: usize,
    leaks: Vec<String>,
    misses: Vec<String>,
}

impl Tally {
    fn check(&mut self, allowed: bool, received: bool, what: impl FnOnce() -> String) {
        self.cases += 1;
        if received && !allowed {
            self.leaks.push(what());
        } else if allowed && !received {
            self.misses.push(what());
        }
    }
}

async fn soql_ids(org: &Org, user: &str, object: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let (s, mut body) = org.get(user, &format!("{V}/query?q={}", urlencoding::encode(&format!("SELECT Id FROM {object}")))).await;
    if s != StatusCode::OK {
        return Err(body[0]["errorCode"].as_str().unwrap_or("?").to_string());
    }
    loop {
        for r in body["records"].as_array().unwrap() {
            out.insert(r["Id"].as_str().unwrap().to_string());
        }
        match body["nextRecordsUrl"].as_str() {
            Some(next) => body = org.get(user, next).await.1,
            None => break,
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_path_gives_each_user_exactly_what_the_model_allows() {
    let org = build().await;
    let schema = Schema::standard();
    let mut tally = Tally::default();
    let objects = ["Account", "Contact", "Lead", "Case", "Opportunity", "VoiceCall", "VoiceCallRecording", "Task"];
    for (user, uid) in &org.users {
        let g = org.grants(uid).await;
        for object in objects {
            let ids = &org.records[object];
            let readable = g.can(object, Op::Read);
            // describe: the object and exactly the readable fields.
            let (s, d) = org.get(user, &format!("{V}/sobjects/{object}/describe")).await;
            tally.check(readable, s == StatusCode::OK, || format!("{user} describe {object}: {s}"));
            let o = schema.object(object).unwrap();
            if s == StatusCode::OK {
                let shown: BTreeSet<&str> = d["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
                for f in &o.fields {
                    let allowed = g.field(schema, object, &f.name) != FieldAccess::Hidden;
                    tally.check(allowed, shown.contains(f.name.as_str()), || format!("{user} describe {object}.{}", f.name));
                }
            }
            // SOQL: the set of rows.
            let soql = soql_ids(&org, user, object).await;
            match &soql {
                Err(code) => {
                    tally.check(readable, false, || format!("{user} SOQL {object}: {code}"));
                    assert!(readable || code == "INVALID_TYPE", "{user} {object}: {code}");
                }
                Ok(_) => tally.check(readable, true, || format!("{user} SOQL {object} runs")),
            }
            for id in ids {
                let allowed = org.allowed(&g, object, id, Mode::Read).await;
                let in_soql = soql.as_ref().is_ok_and(|s| s.contains(id.as_str()));
                tally.check(allowed, in_soql, || format!("{user} SOQL {object} {id}"));
                // REST read, and only readable fields in it.
                let (s, rec) = org.get(user, &format!("{V}/sobjects/{object}/{id}")).await;
                tally.check(allowed, s == StatusCode::OK, || format!("{user} GET {object} {id}: {s}"));
                if s == StatusCode::OK {
                    for (f, _) in rec.as_object().unwrap().iter().filter(|(k, _)| *k != "attributes") {
                        tally.check(g.can_read_field(schema, object, f), true, || format!("{user} GET {object} {id} field {f}"));
                    }
                }
                // Edit: a harmless PATCH where the object has a writable text field.
                if let Some(field) = ["Description", "Subject"].iter().find(|f| o.field(f).is_some_and(|x| x.updateable)) {
                    let may_edit = g.can(object, Op::Edit) && g.field(schema, object, field) == FieldAccess::Edit && org.allowed(&g, object, id, Mode::Edit).await;
                    let (s, _) = org.send(user, "PATCH", &format!("{V}/sobjects/{object}/{id}"), &json!({*field: "touched"})).await;
                    tally.check(may_edit, s == StatusCode::NO_CONTENT, || format!("{user} PATCH {object} {id}: {s}"));
                }
            }
            // Export: Export Data, then exactly the SOQL rows and readable fields.
            let (s, csv) = org.get_text(user, &format!("/api/export/{object}")).await;
            let may_export = readable && g.has(dialtone_access::SystemPerm::ExportData);
            tally.check(may_export, s == StatusCode::OK, || format!("{user} export {object}: {s}"));
            if s == StatusCode::OK {
                let mut lines = csv.lines();
                let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
                for f in &header {
                    tally.check(g.can_read_field(schema, object, f), true, || format!("{user} export {object} column {f}"));
                }
                let id_col = header.iter().position(|h| *h == "Id").expect("Id is exported");
                let exported: BTreeSet<String> = lines.map(|l| l.split(',').nth(id_col).unwrap_or("").to_string()).collect();
                for id in ids {
                    let allowed = org.allowed(&g, object, id, Mode::Read).await;
                    tally.check(allowed, exported.contains(id.as_str()), || format!("{user} export {object} {id}"));
                }
            }
            // A hidden field cannot be used as a filter (no side channel).
            if readable {
                for f in o.fields.iter().filter(|f| g.field(schema, object, &f.name) == FieldAccess::Hidden) {
                    let q = format!("SELECT Id FROM {object} WHERE {} != null", f.name);
                    let (s, b) = org.get(user, &format!("{V}/query?q={}", urlencoding::encode(&q))).await;
                    tally.check(false, s == StatusCode::OK, || format!("{user} filters {object} on hidden {}: {b}", f.name));
                }
            }
        }
        // Recording links: View All Recordings, or Listen to Recordings and access to the call.
        for id in &org.records["VoiceCallRecording"] {
            let allowed = g.has(dialtone_access::SystemPerm::ViewAllRecordings)
                || (g.has(dialtone_access::SystemPerm::ListenToRecordings) && org.allowed(&g, "VoiceCallRecording", id, Mode::Read).await);
            let (s, link) = org.get(user, &format!("/api/recordings/{id}/link")).await;
            tally.check(allowed, s == StatusCode::OK, || format!("{user} recording link {id}: {s}"));
            if s == StatusCode::OK {
                let (s, _) = org.get(user, link["url"].as_str().unwrap()).await;
                tally.check(allowed, s == StatusCode::FOUND, || format!("{user} opens recording {id}: {s}"));
            }
        }
        // Phone paths: lookup and SOSL see only what SOQL may see; hidden matches are only counted.
        for number in ["+1 212-555-0100", "(415) 555-1001", "4155551004"] {
            let (s, body) = org.get(user, &format!("/api/phone/lookup?number={}", urlencoding::encode(number))).await;
            assert_eq!(s, StatusCode::OK);
            let mut visible = 0;
            for m in body["matches"].as_array().unwrap() {
                let id = SalesforceId::parse(m["id"].as_str().unwrap()).unwrap();
                let object = m["object"].as_str().unwrap();
                let allowed = org.allowed(&g, object, &id, Mode::Read).await;
                tally.check(allowed, true, || format!("{user} lookup {number} shows {object} {id}"));
                visible += 1;
            }
            let e164 = org.state.store.normalizer().normalize(number).unwrap();
            let all = org.state.store.phone_lookup(&e164).await.unwrap();
            let mut want_visible = 0;
            for m in &all {
                if org.allowed(&g, &m.object, &m.id, Mode::Read).await {
                    want_visible += 1;
                }
            }
            tally.check(true, visible + body["hiddenMatches"].as_u64().unwrap() as usize == all.len(), || format!("{user} lookup {number} count"));
            tally.check(want_visible > 0, visible > 0, || format!("{user} lookup {number}: {visible} of {want_visible}"));
            let sosl = format!("FIND {{{number}}} IN PHONE FIELDS RETURNING Contact(Id), Lead(Id), Account(Id)");
            let (s, body) = org.get(user, &format!("{V}/search?q={}", urlencoding::encode(&sosl))).await;
            if s == StatusCode::OK {
                for r in body["searchRecords"].as_array().unwrap() {
                    let id = SalesforceId::parse(r["Id"].as_str().unwrap()).unwrap();
                    let object = r["attributes"]["type"].as_str().unwrap();
                    let allowed = org.allowed(&g, object, &id, Mode::Read).await;
                    tally.check(allowed, true, || format!("{user} SOSL {number} shows {object} {id}"));
                }
            } else {
                let any_unreadable = ["Contact", "Lead", "Account"].iter().any(|o| !g.can(o, Op::Read));
                tally.check(!any_unreadable, false, || format!("{user} SOSL refused: {body}"));
            }
            // The agent desktop's screen pop (the default layout: Contact, Account, Lead)
            // names only what the user may read and counts the rest.
            let (s, pop) = org.get(user, &format!("/api/desktop/pop?number={}", urlencoding::encode(number))).await;
            assert_eq!(s, StatusCode::OK, "{user} pop {number}: {pop}");
            let mut named = 0;
            for r in pop["records"].as_array().unwrap() {
                let id = SalesforceId::parse(r["id"].as_str().unwrap()).unwrap();
                let object = r["object"].as_str().unwrap();
                let allowed = org.allowed(&g, object, &id, Mode::Read).await;
                tally.check(allowed, true, || format!("{user} pop {number} names {object} {id}"));
                named += 1;
            }
            let mut in_layout = BTreeSet::new();
            let mut want_named = 0;
            for m in all.iter().filter(|m| ["Contact", "Account", "Lead"].contains(&m.object.as_str())) {
                if in_layout.insert(m.id.clone()) && org.allowed(&g, &m.object, &m.id, Mode::Read).await {
                    want_named += 1;
                }
            }
            tally.check(true, named == want_named, || format!("{user} pop {number} names {named} of the {want_named} it may: {pop}"));
            let hidden = pop["hiddenMatches"].as_u64().unwrap() as usize;
            tally.check(in_layout.len() > want_named, hidden > 0, || format!("{user} pop {number}: hidden matches counted: {pop}"));
            // The console's global search (a number goes through the phone index too).
            let (s, found) = org.get(user, &format!("/api/desktop/search?q={}", urlencoding::encode(number))).await;
            assert_eq!(s, StatusCode::OK, "{user} search {number}: {found}");
            for r in found["results"].as_array().unwrap() {
                let id = SalesforceId::parse(r["id"].as_str().unwrap()).unwrap();
                let object = r["object"].as_str().unwrap();
                let allowed = org.allowed(&g, object, &id, Mode::Read).await;
                tally.check(allowed, true, || format!("{user} search {number} finds {object} {id}"));
            }
        }
    }
    eprintln!(
        "authorization matrix: {} users, {} cases, {} leaks, {} misses",
        org.users.len(),
        tally.cases,
        tally.leaks.len(),
        tally.misses.len()
    );
    assert!(tally.leaks.is_empty(), "LEAKS:\n{}", tally.leaks.join("\n"));
    assert!(tally.misses.is_empty(), "MISSES:\n{}", tally.misses.join("\n"));
    assert!(tally.cases > 5000, "the matrix is meant to be large: {}", tally.cases);
}
