//! Runs users' queries ([`compile_for`], [`record_visible_plan`]) against an
//! in-memory SQLite database with owners, sharing rules and manual shares,
//! and checks every (user, record) pair against the reference semantics,
//! [`Scope::admits`]: nothing hidden comes back (no leak), nothing visible is
//! missing.

mod common;

use dialtone_access::*;
use dialtone_model::{SalesforceId, Schema, Value};
use dialtone_soql::{Dialect, Plan, SHARES_TABLE, SoqlError, compile_for, record_visible_plan};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use time::macros::datetime;

fn now() -> OffsetDateTime {
    datetime!(2026-11-25 15:45:00 UTC)
}

fn id(prefix: &str, seq: u64) -> String {
    SalesforceId::new(prefix, seq).to_string()
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The users, by label; `ghost` owns records but is not in the directory.
const LABELS: [&str; 10] = [
    "ceo", "vp", "rep", "lead", "a1", "a2", "ro", "admin", "off", "ghost",
];

fn uid(label: &str) -> String {
    id(
        "005",
        LABELS.iter().position(|l| *l == label).unwrap() as u64 + 1,
    )
}

fn key(label: &str) -> String {
    format!("user:{}", uid(label))
}

fn perms(name: &str, profile: bool, objects: &[(&str, ObjectPerms)]) -> PermissionSet {
    PermissionSet {
        name: name.into(),
        is_profile: profile,
        objects: objects.iter().map(|(o, p)| (o.to_string(), *p)).collect(),
        ..PermissionSet::default()
    }
}

fn rule(object: &str, kind: RuleKind, share_with: Principal, level: AccessLevel) -> SharingRule {
    SharingRule {
        name: format!("{object} {share_with:?}"),
        object: object.into(),
        kind,
        share_with,
        level,
    }
}

fn criteria(pairs: &[(&str, &str)]) -> RuleKind {
    RuleKind::CriteriaBased {
        criteria: pairs
            .iter()
            .map(|(f, v)| Criterion {
                field: f.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

/// CEO > SalesVP > SalesRep; CEO > SupportLead > AgentRole. Everything Private
/// but recordings, which follow their call.
fn org() -> (Security, Vec<UserInfo>) {
    let cre = ObjectPerms {
        delete: false,
        ..ObjectPerms::CRED
    };
    let mut agent = perms(
        "Agent",
        true,
        &[
            ("Contact", cre),
            ("Case", ObjectPerms::CRED),
            ("Account", ObjectPerms::READ),
            ("VoiceCall", ObjectPerms::READ),
            ("VoiceCallRecording", ObjectPerms::READ),
        ],
    );
    agent
        .fields
        .insert("Contact.Birthdate".into(), FieldAccess::Hidden);
    let mut birthdays = perms("Birthdays", false, &[("Contact", ObjectPerms::READ)]);
    birthdays
        .fields
        .insert("Contact.Birthdate".into(), FieldAccess::Read);
    let admin = PermissionSet {
        name: "System Administrator".into(),
        is_profile: true,
        system: [SystemPerm::ModifyAllData].into(),
        ..Default::default()
    };
    let role = |name: &str, parent: Option<&str>| Role {
        name: name.into(),
        parent: parent.map(Into::into),
    };
    let sec = Security {
        permission_sets: vec![
            agent,
            birthdays,
            admin,
            perms(
                "Read Only",
                true,
                &[
                    ("Contact", ObjectPerms::READ),
                    ("Account", ObjectPerms::READ),
                ],
            ),
        ],
        permission_set_groups: vec![],
        roles: vec![
            role("CEO", None),
            role("SalesVP", Some("CEO")),
            role("SalesRep", Some("SalesVP")),
            role("SupportLead", Some("CEO")),
            role("AgentRole", Some("SupportLead")),
        ],
        groups: vec![PublicGroup {
            name: "Escalations".into(),
            users: vec![uid("rep")],
            ..Default::default()
        }],
        defaults: BTreeMap::new(),
        rules: vec![
            rule(
                "Case",
                criteria(&[("Status", "Escalated")]),
                Principal::Group("Escalations".into()),
                AccessLevel::Read,
            ),
            rule(
                "Case",
                criteria(&[("Priority", "high"), ("IsClosed", "false")]),
                Principal::Role("SupportLead".into()),
                AccessLevel::Edit,
            ),
            rule(
                "Contact",
                RuleKind::OwnerBased {
                    owners: Principal::Role("AgentRole".into()),
                },
                Principal::RoleAndSubordinates("AgentRole".into()),
                AccessLevel::Edit,
            ),
            rule(
                "Contact",
                criteria(&[("DoNotCall", "true")]),
                Principal::Role("SalesRep".into()),
                AccessLevel::Read,
            ),
            rule(
                "Account",
                criteria(&[("Industry", "retail")]),
                Principal::Role("SupportLead".into()),
                AccessLevel::Read,
            ),
            rule(
                "Account",
                criteria(&[("NumberOfEmployees", "100")]),
                Principal::Group("Escalations".into()),
                AccessLevel::Read,
            ),
        ],
    };
    sec.validate(Schema::standard()).unwrap();
    let user = |label: &str, profile: &str, role: Option<&str>, sets: &[&str]| UserInfo {
        id: uid(label),
        profile: profile.into(),
        role: role.map(Into::into),
        permission_sets: sets.iter().map(|s| s.to_string()).collect(),
        permission_set_groups: vec![],
        active: label != "off",
    };
    let users = vec![
        user("ceo", "Agent", Some("CEO"), &[]),
        user("vp", "Agent", Some("SalesVP"), &[]),
        user("rep", "Agent", Some("SalesRep"), &[]),
        user("lead", "Agent", Some("SupportLead"), &[]),
        user("a1", "Agent", Some("AgentRole"), &[]),
        user("a2", "Agent", Some("AgentRole"), &["Birthdays"]),
        user("ro", "Read Only", None, &[]),
        user("admin", "System Administrator", None, &[]),
        user("off", "Agent", Some("AgentRole"), &[]),
    ];
    (sec, users)
}

/// One stored record, as the reference model sees it.
struct Rec {
    object: &'static str,
    id: String,
    owner: Option<String>,
    fields: Vec<(&'static str, Value)>,
}

impl Rec {
    fn get(&self, field: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    /// A field's value as text, as `Scope::admits` reads it.
    fn text(&self, field: &str) -> Option<String> {
        if field.eq_ignore_ascii_case("Id") {
            return Some(self.id.clone());
        }
        if field.eq_ignore_ascii_case("OwnerId") {
            return self.owner.clone();
        }
        self.get(field).map(|v| match v {
            Value::Bool(b) => b.to_string(),
            v => v.to_string(),
        })
    }
}

struct World {
    conn: Connection,
    recs: Vec<Rec>,
    /// (record id, principal key, level).
    shares: Vec<(String, String, AccessLevel)>,
    sec: Security,
    users: Vec<UserInfo>,
}

const OBJECTS: [&str; 5] = [
    "Account",
    "Contact",
    "Case",
    "VoiceCall",
    "VoiceCallRecording",
];

fn world() -> World {
    let (sec, users) = org();
    let owners: Vec<Option<String>> = LABELS.iter().map(|l| Some(uid(l))).chain([None]).collect();
    let mut recs = Vec::new();
    for i in 0..8u64 {
        recs.push(Rec {
            object: "Account",
            id: id("001", i + 1),
            owner: owners[(i as usize * 3) % owners.len()].clone(),
            fields: vec![
                ("Name", t(&format!("Account {i}"))),
                (
                    "Industry",
                    [t("Retail"), t("Banking"), Value::Null][i as usize % 3].clone(),
                ),
                (
                    "NumberOfEmployees",
                    [
                        Value::Int(100),
                        Value::Int(50),
                        Value::Null,
                        Value::Int(1000),
                    ][i as usize % 4]
                        .clone(),
                ),
            ],
        });
    }
    let names = ["Adams", "baker", "Avery", "Cole", "Diaz", "ahn"];
    for i in 0..40u64 {
        let account = (i % 5 != 4).then(|| id("001", (i * 7) % 8 + 1));
        recs.push(Rec {
            object: "Contact",
            id: id("003", i + 1),
            owner: owners[(i as usize * 7 + 2) % owners.len()].clone(),
            fields: vec![
                (
                    "LastName",
                    t(&format!("{}{i}", names[i as usize % names.len()])),
                ),
                ("AccountId", account.map_or(Value::Null, |a| t(&a))),
                ("DoNotCall", Value::Bool(i % 4 == 0)),
                (
                    "LeadSource",
                    [t("Web"), t("Phone Inquiry"), Value::Null][i as usize % 3].clone(),
                ),
                ("Birthdate", t(&format!("1990-01-0{}", i % 3 + 1))),
            ],
        });
    }
    for i in 0..20u64 {
        let status = ["New", "Working", "Escalated", "Closed"][i as usize % 4];
        recs.push(Rec {
            object: "Case",
            id: id("500", i + 1),
            owner: owners[(i as usize * 5 + 1) % owners.len()].clone(),
            fields: vec![
                ("Subject", t(&format!("Case {i}"))),
                ("Status", t(status)),
                ("Priority", t(["High", "Medium", "Low"][i as usize % 3])),
                ("IsClosed", Value::Bool(status == "Closed")),
                ("ContactId", t(&id("003", (i * 3) % 40 + 1))),
                (
                    "AccountId",
                    if i % 6 == 5 {
                        Value::Null
                    } else {
                        t(&id("001", i % 8 + 1))
                    },
                ),
            ],
        });
    }
    for i in 0..8u64 {
        recs.push(Rec {
            object: "VoiceCall",
            id: id("0LQ", i + 1),
            owner: owners[(i as usize * 3 + 4) % owners.len()].clone(),
            fields: vec![("Name", t(&format!("VC-{i}"))), ("CallType", t("Inbound"))],
        });
    }
    for i in 0..16u64 {
        // The last recording's call does not exist.
        let call = if i == 15 {
            id("0LQ", 99)
        } else {
            id("0LQ", i % 8 + 1)
        };
        recs.push(Rec {
            object: "VoiceCallRecording",
            id: id("0Ls", i + 1),
            owner: None,
            fields: vec![("Name", t(&format!("R-{i}"))), ("VoiceCallId", t(&call))],
        });
    }
    let principals = [
        key("a1"),
        key("rep"),
        "role:SalesRep".to_string(),
        "rolesub:SupportLead".to_string(),
        "group:Escalations".to_string(),
        "role:AgentRole".to_string(),
        key("ghost"),
        "rolesub:SalesVP".to_string(),
        key("ro"),
        key("a2"),
        "role:CEO".to_string(),
    ];
    let mut shares = Vec::new();
    for (k, r) in recs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.object != "VoiceCallRecording")
    {
        let level = if k % 2 == 0 {
            AccessLevel::Read
        } else {
            AccessLevel::Edit
        };
        if k % 3 == 0 {
            shares.push((
                r.id.clone(),
                principals[k % principals.len()].clone(),
                level,
            ));
        }
        if k % 7 == 0 {
            shares.push((
                r.id.clone(),
                principals[(k / 7) % principals.len()].clone(),
                AccessLevel::Edit,
            ));
        }
    }
    shares.sort();
    shares.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);

    let conn = common::open();
    for r in &recs {
        let mut values = vec![("Id", t(&r.id))];
        if Schema::standard().object(r.object).unwrap().has_owner() {
            values.push(("OwnerId", r.owner.as_deref().map_or(Value::Null, t)));
        }
        values.extend(r.fields.iter().cloned());
        common::insert(&conn, r.object, values);
    }
    for (record, principal, level) in &shares {
        let object = recs.iter().find(|r| &r.id == record).unwrap().object;
        let level = if *level == AccessLevel::Read { 1 } else { 2 };
        conn.execute(
            &format!("INSERT INTO {SHARES_TABLE} (record_id, object, principal, level, created_at) VALUES (?, ?, ?, ?, '2026-11-25')"),
            rusqlite::params![record, object, principal, level],
        )
        .unwrap();
    }
    World {
        conn,
        recs,
        shares,
        sec,
        users,
    }
}

/// Comparisons made and their failures, over the whole matrix.
#[derive(Default)]
struct Tally {
    cases: usize,
    visible: usize,
    leaks: Vec<String>,
    misses: Vec<String>,
    /// Whole results (counts, groups) that differ from the reference.
    wrong: Vec<String>,
    refused: usize,
}

impl Tally {
    fn check(&mut self, what: impl Fn() -> String, returned: bool, expected: bool) {
        self.cases += 1;
        self.visible += usize::from(expected);
        if returned && !expected {
            self.leaks.push(what());
        }
        if expected && !returned {
            self.misses.push(what());
        }
    }

    fn same<T: PartialEq + std::fmt::Debug>(
        &mut self,
        what: impl Fn() -> String,
        got: T,
        expected: T,
    ) {
        if got != expected {
            self.wrong
                .push(format!("{}: {got:?} != {expected:?}", what()));
        }
    }
}

impl World {
    fn grants(&self, u: &UserInfo) -> Grants {
        self.sec.grants(Schema::standard(), u, &self.users)
    }

    fn rec(&self, id: &str) -> Option<&Rec> {
        self.recs.iter().find(|r| r.id == id)
    }

    fn of(&self, object: &str) -> impl Iterator<Item = &Rec> {
        self.recs.iter().filter(move |r| r.object == object)
    }

    /// The reference: `Visibility` and `Scope::admits`.
    fn reaches(&self, v: &Visibility, r: &Rec) -> bool {
        match v {
            Visibility::All => true,
            Visibility::None => false,
            Visibility::Scoped(s) => {
                let shares: Vec<(String, AccessLevel)> = self
                    .shares
                    .iter()
                    .filter(|(rid, _, _)| *rid == r.id)
                    .map(|(_, p, l)| (p.clone(), *l))
                    .collect();
                let parent = |object: &str, pid: &str, v: &Visibility| {
                    self.rec(pid)
                        .is_some_and(|p| p.object == object && self.reaches(v, p))
                };
                s.admits(r.owner.as_deref(), &|f| r.text(f), &shares, &parent)
            }
        }
    }

    fn sees(&self, g: &Grants, r: &Rec, mode: Mode) -> bool {
        self.reaches(g.rows(r.object, mode), r)
    }

    /// A parent the user sees through `field` of `r` (None: no such parent).
    fn parent_seen(&self, g: &Grants, r: &Rec, field: &str) -> Option<&Rec> {
        let p = self.rec(r.get(field)?.as_str()?)?;
        self.sees(g, p, Mode::Read).then_some(p)
    }

    fn run(&self, g: &Grants, soql: &str) -> Result<(Plan, Vec<Vec<Value>>), SoqlError> {
        let p = compile_for(soql, Schema::standard(), Dialect::Sqlite, now(), g)?;
        let rows = common::rows(&self.conn, &p, &p.sql());
        assert_eq!(
            common::count(&self.conn, &p, &p.count_sql()),
            rows.len() as i64,
            "totalSize of {soql}"
        );
        Ok((p, rows))
    }
}

fn text_of(v: &Value) -> String {
    v.to_string()
}

#[test]
fn every_users_queries_return_exactly_what_admits_allows() {
    let w = world();
    let mut tally = Tally::default();
    let mut hidden_parents = 0;
    let mut shown_parents = 0;
    for u in &w.users {
        let g = w.grants(u);
        let who = |soql: &str| {
            format!(
                "{}: {soql}",
                LABELS[LABELS.iter().position(|l| uid(l) == u.id).unwrap()]
            )
        };

        // Every object: the rows, their count, COUNT().
        for object in OBJECTS {
            let soql = format!("SELECT Id FROM {object}");
            let rows = match w.run(&g, &soql) {
                Ok((_, rows)) => rows,
                Err(e) => {
                    assert_eq!(e.code(), "INVALID_TYPE", "{}", who(&soql));
                    assert!(!g.can(object, Op::Read));
                    tally.refused += 1;
                    continue;
                }
            };
            let got: BTreeSet<String> = rows.iter().map(|r| text_of(&r[0])).collect();
            assert_eq!(got.len(), rows.len(), "no duplicates: {}", who(&soql));
            let mut expected = 0;
            for r in w.of(object) {
                let sees = w.sees(&g, r, Mode::Read);
                expected += usize::from(sees);
                tally.check(
                    || format!("{} {}", who(&soql), r.id),
                    got.contains(&r.id),
                    sees,
                );
            }
            let p = compile_for(
                &format!("SELECT COUNT() FROM {object}"),
                Schema::standard(),
                Dialect::Sqlite,
                now(),
                &g,
            )
            .unwrap();
            assert_eq!(
                common::count(&w.conn, &p, &p.sql()),
                expected as i64,
                "{}",
                who("COUNT()")
            );
        }

        // The query's own OR stays inside its parentheses.
        let soql = "SELECT Id FROM Contact WHERE DoNotCall = true OR LastName LIKE 'a%'";
        if let Ok((_, rows)) = w.run(&g, soql) {
            let got: BTreeSet<String> = rows.iter().map(|r| text_of(&r[0])).collect();
            for r in w.of("Contact") {
                let matches = r.get("DoNotCall") == Some(&Value::Bool(true))
                    || r.text("LastName")
                        .unwrap()
                        .to_ascii_lowercase()
                        .starts_with('a');
                tally.check(
                    || format!("{} {}", who(soql), r.id),
                    got.contains(&r.id),
                    matches && w.sees(&g, r, Mode::Read),
                );
            }
        }

        // Parent fields: NULL when the parent is hidden.
        let soql = "SELECT Id, LastName, Account.Name, Account.Industry FROM Contact";
        if let Ok((p, rows)) = w.run(&g, soql) {
            let rel = p.relationships[0].id_column;
            for row in &rows {
                let c = w.rec(&text_of(&row[0])).unwrap();
                let parent = w.parent_seen(&g, c, "AccountId");
                let what = || format!("{} {} Account", who(soql), c.id);
                tally.check(
                    what,
                    !row[2].is_null() || !row[rel].is_null(),
                    parent.is_some(),
                );
                match parent {
                    Some(a) => {
                        shown_parents += 1;
                        assert_eq!(
                            (row[2].clone(), text_of(&row[rel])),
                            (a.get("Name").unwrap().clone(), a.id.clone())
                        );
                        assert_eq!(row[3], a.get("Industry").cloned().unwrap_or(Value::Null));
                    }
                    None => {
                        hidden_parents += usize::from(c.get("AccountId").is_some());
                        assert_eq!(
                            (&row[2], &row[3], &row[rel]),
                            (&Value::Null, &Value::Null, &Value::Null),
                            "{}",
                            what()
                        );
                    }
                }
            }
        }

        // A filter on a parent's field sees only visible parents.
        let soql = "SELECT COUNT(Id) n FROM Contact WHERE Account.Industry = 'retail'";
        if let Ok((_, rows)) = w.run(&g, soql) {
            let expected = w
                .of("Contact")
                .filter(|c| w.sees(&g, c, Mode::Read))
                .filter(|c| {
                    w.parent_seen(&g, c, "AccountId")
                        .is_some_and(|a| a.text("Industry").as_deref() == Some("Retail"))
                })
                .count();
            tally.same(|| who(soql), &rows[0][0], &Value::Int(expected as i64));
        }

        // Aggregates count visible rows only.
        let soql =
            "SELECT LeadSource, COUNT(Id) n FROM Contact GROUP BY LeadSource HAVING COUNT(Id) > 0";
        if let Ok((_, rows)) = w.run(&g, soql) {
            let got: BTreeMap<String, Value> = rows
                .iter()
                .map(|r| (text_of(&r[0]), r[1].clone()))
                .collect();
            let mut expected: BTreeMap<String, Value> = BTreeMap::new();
            for c in w.of("Contact").filter(|c| w.sees(&g, c, Mode::Read)) {
                let n = expected
                    .entry(c.text("LeadSource").unwrap_or_default())
                    .or_insert(Value::Int(0));
                if let Value::Int(i) = n {
                    *i += 1;
                }
            }
            tally.same(|| who(soql), got, expected);
        }

        // Two parents, each with its own scope, and conditions and HAVING
        // placeholders around them (SQLite binds by position).
        let soql = "SELECT Id, Contact.LastName, Account.Name FROM Case WHERE Status != 'Closed' AND (Account.Name != 'x' OR Contact.LastName != 'y')";
        if let Ok((p, rows)) = w.run(&g, soql) {
            let got: BTreeMap<String, &Vec<Value>> =
                rows.iter().map(|r| (text_of(&r[0]), r)).collect();
            for r in w.of("Case") {
                let sees =
                    w.sees(&g, r, Mode::Read) && r.text("Status").as_deref() != Some("Closed");
                tally.check(
                    || format!("{} {}", who(soql), r.id),
                    got.contains_key(&r.id),
                    sees,
                );
                let Some(row) = got.get(&r.id) else { continue };
                for (k, field, name) in [(0, "ContactId", "LastName"), (1, "AccountId", "Name")] {
                    let parent = w.parent_seen(&g, r, field);
                    let col = if name == "LastName" { 1 } else { 2 };
                    tally.check(
                        || format!("{} {} {field}", who(soql), r.id),
                        !row[p.relationships[k].id_column].is_null(),
                        parent.is_some(),
                    );
                    assert_eq!(
                        row[col],
                        parent
                            .and_then(|x| x.get(name))
                            .cloned()
                            .unwrap_or(Value::Null)
                    );
                }
            }
        }

        // Recordings follow their call; the call's fields follow the call's visibility.
        let soql = "SELECT Id, VoiceCall.Name FROM VoiceCallRecording";
        if let Ok((p, rows)) = w.run(&g, soql) {
            for row in &rows {
                let r = w.rec(&text_of(&row[0])).unwrap();
                let parent = w.parent_seen(&g, r, "VoiceCallId");
                tally.check(
                    || format!("{} {}", who(soql), r.id),
                    !row[p.relationships[0].id_column].is_null(),
                    parent.is_some(),
                );
            }
        }

        // Single-record checks for REST read, update and delete.
        for r in &w.recs {
            let sid = SalesforceId::parse(&r.id).unwrap();
            for mode in [Mode::Read, Mode::Edit] {
                let expected = w.sees(&g, r, mode);
                match record_visible_plan(
                    r.object,
                    &sid,
                    Schema::standard(),
                    Dialect::Sqlite,
                    &g,
                    mode,
                ) {
                    Ok(p) => {
                        let n = common::count(&w.conn, &p, &p.sql());
                        assert!(n <= 1);
                        tally.check(
                            || format!("{} {mode:?} {}", who("record"), r.id),
                            n == 1,
                            expected,
                        );
                    }
                    Err(e) => {
                        assert_eq!(e.code(), "INVALID_TYPE");
                        assert!(!expected);
                        tally.refused += 1;
                    }
                }
            }
        }
    }
    println!(
        "access matrix: {} users x {} records; {} (user, record) cases compared ({} visible), {} refused as INVALID_TYPE, \
         {} leaks, {} misses, {} wrong aggregates; parents shown {shown_parents}, hidden {hidden_parents}",
        w.users.len(),
        w.recs.len(),
        tally.cases,
        tally.visible,
        tally.refused,
        tally.leaks.len(),
        tally.misses.len(),
        tally.wrong.len()
    );
    assert!(tally.leaks.is_empty(), "leaks: {:#?}", tally.leaks);
    assert!(tally.misses.is_empty(), "misses: {:#?}", tally.misses);
    assert!(tally.wrong.is_empty(), "wrong: {:#?}", tally.wrong);
    // The matrix is not trivial: both outcomes occur, hidden parents included.
    assert!(tally.visible > 0 && tally.visible < tally.cases);
    assert!(hidden_parents > 0 && shown_parents > 0);
}

#[test]
fn the_matrix_exercises_every_kind_of_access() {
    // Each way to reach a record reaches one somewhere: owner, hierarchy,
    // owner-based rule, criteria rule, manual share, parent.
    let w = world();
    let g = |label: &str| w.grants(w.users.iter().find(|u| u.id == uid(label)).unwrap());
    let ids = |label: &str, object: &str| -> BTreeSet<String> {
        w.of(object)
            .filter(|r| w.sees(&g(label), r, Mode::Read))
            .map(|r| r.id.clone())
            .collect()
    };
    let owned = |labels: &[&str], object: &str| -> BTreeSet<String> {
        let owners: Vec<String> = labels.iter().map(|l| uid(l)).collect();
        w.of(object)
            .filter(|r| r.owner.as_ref().is_some_and(|o| owners.contains(o)))
            .map(|r| r.id.clone())
            .collect()
    };
    assert!(
        ids("a1", "Contact").is_superset(&owned(&["a1", "a2", "off"], "Contact")),
        "owner-based rule"
    );
    assert!(
        ids("lead", "Contact").is_superset(&owned(&["lead", "a1", "a2", "off"], "Contact")),
        "hierarchy"
    );
    assert!(
        ids("rep", "Contact").len() > owned(&["rep"], "Contact").len(),
        "criteria rule and shares"
    );
    assert!(
        ids("lead", "Account").len() > owned(&["lead", "a1", "a2", "off"], "Account").len(),
        "criteria rule"
    );
    assert!(
        !ids("a1", "VoiceCallRecording").is_empty() && ids("a1", "VoiceCallRecording").len() < 15,
        "parent"
    );
    assert_eq!(ids("admin", "VoiceCallRecording").len(), 16);
    assert!(
        ids("off", "Contact").is_empty(),
        "an inactive user sees nothing"
    );
}

#[test]
fn hidden_fields_cannot_be_read_or_filtered_on() {
    let w = world();
    let a1 = w.grants(&w.users[4]);
    let a2 = w.grants(&w.users[5]);
    for soql in [
        "SELECT Id FROM Contact WHERE Birthdate = 1990-01-02",
        "SELECT Birthdate FROM Contact",
        "SELECT COUNT(Id) FROM Contact WHERE Birthdate > 1990-01-01",
        "SELECT Id FROM Case WHERE Contact.Birthdate = 1990-01-02",
    ] {
        let e = w.run(&a1, soql).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string()),
            (
                "INVALID_FIELD",
                "No such column 'Birthdate' on entity 'Contact'.".into()
            ),
            "{soql}"
        );
    }
    // With the field revealed, the filter works — on visible rows only.
    let (_, rows) = w
        .run(&a2, "SELECT Id FROM Contact WHERE Birthdate = 1990-01-02")
        .unwrap();
    let expected: BTreeSet<String> = w
        .of("Contact")
        .filter(|c| {
            c.text("Birthdate").as_deref() == Some("1990-01-02") && w.sees(&a2, c, Mode::Read)
        })
        .map(|c| c.id.clone())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(
        rows.iter().map(|r| text_of(&r[0])).collect::<BTreeSet<_>>(),
        expected
    );
}
