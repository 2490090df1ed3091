//! Table-driven tests of access enforcement in the planner ([`plan_for`]).
//! Execution against SQLite, checked against `Scope::admits`, is in
//! `tests/access.rs`.

use crate::*;
use dialtone_access::*;
use dialtone_model::{SalesforceId, Schema, Value};
use std::collections::BTreeMap;
use time::macros::datetime;

fn now() -> OffsetDateTime {
    datetime!(2026-11-25 15:45:00 UTC)
}

fn set(name: &str, profile: bool, objects: &[(&str, ObjectPerms)]) -> PermissionSet {
    PermissionSet {
        name: name.into(),
        is_profile: profile,
        objects: objects.iter().map(|(o, p)| (o.to_string(), *p)).collect(),
        ..PermissionSet::default()
    }
}

fn user(id: &str, profile: &str, role: Option<&str>, sets: &[&str]) -> UserInfo {
    UserInfo {
        id: id.into(),
        profile: profile.into(),
        role: role.map(str::to_string),
        permission_sets: sets.iter().map(|s| s.to_string()).collect(),
        permission_set_groups: vec![],
        active: true,
    }
}

const CRE: ObjectPerms = ObjectPerms {
    read: true,
    create: true,
    edit: true,
    delete: false,
    view_all: false,
    modify_all: false,
};

/// CEO > SalesVP > SalesRep; CEO > SupportLead > AgentRole.
fn org() -> (Security, Vec<UserInfo>) {
    let mut agent = set(
        "Agent",
        true,
        &[
            ("Contact", CRE),
            ("Case", ObjectPerms::CRED),
            ("Account", ObjectPerms::READ),
            ("VoiceCall", ObjectPerms::READ),
            ("VoiceCallRecording", ObjectPerms::READ),
        ],
    );
    agent
        .fields
        .insert("Contact.Birthdate".into(), FieldAccess::Hidden);
    agent
        .fields
        .insert("Contact.ReportsToId".into(), FieldAccess::Hidden);
    agent
        .fields
        .insert("Account.AnnualRevenue".into(), FieldAccess::Hidden);
    let mut birthdays = set("Birthdays", false, &[("Contact", ObjectPerms::READ)]);
    birthdays
        .fields
        .insert("Contact.Birthdate".into(), FieldAccess::Read);
    let admin = PermissionSet {
        name: "System Administrator".into(),
        is_profile: true,
        system: [SystemPerm::ModifyAllData].into(),
        ..Default::default()
    };
    let auditor = PermissionSet {
        name: "Auditor".into(),
        is_profile: true,
        system: [SystemPerm::ViewAllData].into(),
        ..Default::default()
    };
    let sec = Security {
        permission_sets: vec![
            agent,
            birthdays,
            admin,
            auditor,
            set(
                "Read Only",
                true,
                &[("Contact", ObjectPerms::READ), ("Lead", ObjectPerms::READ)],
            ),
            set(
                "Recordings Only",
                true,
                &[("VoiceCallRecording", ObjectPerms::READ)],
            ),
            set(
                "Call Supervisor",
                true,
                &[
                    (
                        "VoiceCall",
                        ObjectPerms {
                            view_all: true,
                            ..ObjectPerms::READ
                        },
                    ),
                    ("VoiceCallRecording", ObjectPerms::READ),
                ],
            ),
        ],
        permission_set_groups: vec![],
        roles: vec![
            Role {
                name: "CEO".into(),
                parent: None,
            },
            Role {
                name: "SalesVP".into(),
                parent: Some("CEO".into()),
            },
            Role {
                name: "SalesRep".into(),
                parent: Some("SalesVP".into()),
            },
            Role {
                name: "SupportLead".into(),
                parent: Some("CEO".into()),
            },
            Role {
                name: "AgentRole".into(),
                parent: Some("SupportLead".into()),
            },
        ],
        groups: vec![PublicGroup {
            name: "Escalations".into(),
            users: vec!["u-rep".into()],
            ..Default::default()
        }],
        defaults: BTreeMap::from([("Lead".into(), Sharing::PublicRead)]),
        rules: vec![
            SharingRule {
                name: "escalated cases".into(),
                object: "Case".into(),
                kind: RuleKind::CriteriaBased {
                    criteria: vec![Criterion {
                        field: "Status".into(),
                        value: "Escalated".into(),
                    }],
                },
                share_with: Principal::Group("Escalations".into()),
                level: AccessLevel::Read,
            },
            SharingRule {
                name: "agents share contacts".into(),
                object: "Contact".into(),
                kind: RuleKind::OwnerBased {
                    owners: Principal::Role("AgentRole".into()),
                },
                share_with: Principal::RoleAndSubordinates("AgentRole".into()),
                level: AccessLevel::Edit,
            },
            SharingRule {
                name: "big retail accounts".into(),
                object: "Account".into(),
                kind: RuleKind::CriteriaBased {
                    criteria: vec![
                        Criterion {
                            field: "Industry".into(),
                            value: "retail".into(),
                        },
                        Criterion {
                            field: "NumberOfEmployees".into(),
                            value: "100".into(),
                        },
                    ],
                },
                share_with: Principal::Role("SupportLead".into()),
                level: AccessLevel::Read,
            },
            SharingRule {
                name: "do-not-call contacts".into(),
                object: "Contact".into(),
                kind: RuleKind::CriteriaBased {
                    criteria: vec![Criterion {
                        field: "DoNotCall".into(),
                        value: "true".into(),
                    }],
                },
                share_with: Principal::Role("SalesRep".into()),
                level: AccessLevel::Read,
            },
        ],
    };
    let users = vec![
        user("u-ceo", "Agent", Some("CEO"), &[]),
        user("u-rep", "Agent", Some("SalesRep"), &[]),
        user("u-lead", "Agent", Some("SupportLead"), &[]),
        user("u-a1", "Agent", Some("AgentRole"), &[]),
        user("u-a2", "Agent", Some("AgentRole"), &["Birthdays"]),
        user("u-admin", "System Administrator", None, &[]),
        user("u-audit", "Auditor", None, &[]),
        user("u-ro", "Read Only", None, &[]),
        user("u-rec", "Recordings Only", None, &[]),
        user("u-sup", "Call Supervisor", None, &[]),
    ];
    sec.validate(Schema::standard()).unwrap();
    (sec, users)
}

fn grants(id: &str) -> Grants {
    let (sec, users) = org();
    let u = users.iter().find(|u| u.id == id).unwrap();
    sec.grants(Schema::standard(), u, &users)
}

fn plan_as(id: &str, soql: &str, dialect: Dialect) -> Plan {
    compile_for(soql, Schema::standard(), dialect, now(), &grants(id))
        .unwrap_or_else(|e| panic!("{id}: {soql}: {e} ({})", e.code()))
}

fn as_user(id: &str, soql: &str) -> Plan {
    let p = plan_as(id, soql, Dialect::Sqlite);
    assert_same_binding(&p, &plan_as(id, soql, Dialect::Postgres));
    p
}

fn err_as(id: &str, soql: &str) -> SoqlError {
    match compile_for(
        soql,
        Schema::standard(),
        Dialect::Sqlite,
        now(),
        &grants(id),
    ) {
        Ok(p) => panic!("{id}: {soql}: compiled to {}", p.sql()),
        Err(e) => e,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The WHERE clause of the full SQL (up to ORDER BY / GROUP BY).
fn where_of(sql: &str) -> &str {
    let w = &sql[sql.find(" WHERE ").expect("a WHERE clause") + 7..];
    let end = [" GROUP BY ", " ORDER BY ", " HAVING "]
        .iter()
        .filter_map(|k| w.find(k))
        .min()
        .unwrap_or(w.len());
    &w[..end]
}

/// The SQLite plan binds by position, the PostgreSQL plan by number: in text
/// order, both must bind the same values.
fn assert_same_binding(sqlite: &Plan, pg: &Plan) {
    for (s, p) in [
        (sqlite.sql(), pg.sql()),
        (sqlite.count_sql(), pg.count_sql()),
    ] {
        let marks = s.matches('?').count();
        assert_eq!(marks, sqlite.params.len(), "{s}");
        let mut bound = Vec::new();
        let mut rest = p.as_str();
        while let Some(i) = rest.find('$') {
            rest = &rest[i + 1..];
            let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
            bound.push(pg.params[n.parse::<usize>().unwrap() - 1].clone());
        }
        assert_eq!(bound, sqlite.params, "{p}");
    }
}

#[test]
fn an_object_the_user_cannot_read_does_not_exist_for_them() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "u-ro",
            "SELECT Id FROM Case",
            "INVALID_TYPE",
            "sObject type 'Case' is not supported.",
        ),
        (
            "u-a1",
            "SELECT Id FROM lead",
            "INVALID_TYPE",
            "sObject type 'lead' is not supported.",
        ),
        (
            "u-a1",
            "SELECT COUNT() FROM Opportunity",
            "INVALID_TYPE",
            "sObject type 'Opportunity' is not supported.",
        ),
        (
            "u-rec",
            "SELECT Id FROM VoiceCall",
            "INVALID_TYPE",
            "sObject type 'VoiceCall' is not supported.",
        ),
        // Parents: the relationship is not understood.
        (
            "u-a1",
            "SELECT Owner.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Owner' in field path.",
        ),
        (
            "u-ro",
            "SELECT Id FROM Contact WHERE Account.Name = 'x'",
            "INVALID_FIELD",
            "Didn't understand relationship 'Account' in field path.",
        ),
        (
            "u-ro",
            "SELECT Id FROM Contact ORDER BY Account.Name",
            "INVALID_FIELD",
            "Didn't understand relationship 'Account' in field path.",
        ),
        (
            "u-rec",
            "SELECT VoiceCall.Name FROM VoiceCallRecording",
            "INVALID_FIELD",
            "Didn't understand relationship 'VoiceCall' in field path.",
        ),
        // Through a lookup field the user cannot read.
        (
            "u-a1",
            "SELECT ReportsTo.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'ReportsTo' in field path.",
        ),
    ];
    for (id, soql, code, message) in cases {
        let e = err_as(id, soql);
        assert_eq!(e.code(), *code, "{id}: {soql}");
        assert!(e.to_string().starts_with(message), "{id}: {soql}: {e}");
    }
    // Exactly the error of an object that does not exist.
    let missing = compile(
        "SELECT Id FROM Nope",
        Schema::standard(),
        Dialect::Sqlite,
        now(),
    )
    .unwrap_err();
    assert_eq!(err_as("u-ro", "SELECT Id FROM Nope"), missing);
    assert_eq!(
        err_as("u-ro", "SELECT Id FROM Case").to_string(),
        missing.to_string().replace("Nope", "Case")
    );
    // An inactive user reads nothing.
    let (sec, mut users) = org();
    users[5].active = false;
    let g = sec.grants(Schema::standard(), &users[5], &users);
    let e = compile_for(
        "SELECT Id FROM Contact",
        Schema::standard(),
        Dialect::Sqlite,
        now(),
        &g,
    )
    .unwrap_err();
    assert_eq!(e.code(), "INVALID_TYPE");
}

#[test]
fn a_hidden_field_does_not_exist_wherever_it_is_named() {
    let contact = "No such column 'Birthdate' on entity 'Contact'.";
    let account = "No such column 'AnnualRevenue' on entity 'Account'.";
    let cases: &[(&str, &str)] = &[
        ("SELECT Birthdate FROM Contact", contact),
        ("SELECT Contact.Birthdate FROM Contact", contact),
        (
            "SELECT Id FROM Contact WHERE Birthdate = 1990-01-01",
            contact,
        ),
        // No side channel through the value's type either.
        ("SELECT Id FROM Contact WHERE Birthdate = 'x'", contact),
        ("SELECT Id FROM Contact WHERE Birthdate = null", contact),
        (
            "SELECT Id FROM Contact WHERE NOT (LastName = 'a' OR Birthdate IN (TODAY))",
            contact,
        ),
        ("SELECT Id FROM Contact WHERE Birthdate LIKE '19%'", contact),
        (
            "SELECT Birthdate, COUNT(Id) FROM Contact GROUP BY Birthdate",
            contact,
        ),
        ("SELECT COUNT(Id) FROM Contact GROUP BY Birthdate", contact),
        ("SELECT Id FROM Contact ORDER BY Birthdate", contact),
        ("SELECT MAX(Birthdate) FROM Contact", contact),
        ("SELECT COUNT_DISTINCT(Birthdate) FROM Contact", contact),
        (
            "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName HAVING MAX(Birthdate) > 2000-01-01",
            contact,
        ),
        (
            "SELECT LastName FROM Contact GROUP BY LastName ORDER BY MIN(Birthdate)",
            contact,
        ),
        ("SELECT Account.AnnualRevenue FROM Contact", account),
        (
            "SELECT Id FROM Contact WHERE Account.AnnualRevenue > 5",
            account,
        ),
        ("SELECT SUM(Account.AnnualRevenue) FROM Contact", account),
        (
            "SELECT Id FROM Case WHERE Contact.Birthdate = TODAY",
            contact,
        ),
        ("SELECT AnnualRevenue FROM Account", account),
    ];
    for (soql, message) in cases {
        let e = err_as("u-a1", soql);
        assert_eq!(e.code(), "INVALID_FIELD", "{soql}");
        assert_eq!(e.to_string(), *message, "{soql}");
        // A user who may read the field gets what the unrestricted planner
        // gives (a plan, or e.g. the type error of `Birthdate = 'x'`).
        let unrestricted = compile(soql, Schema::standard(), Dialect::Sqlite, now()).map(|_| ());
        for id in if message.contains("Account") {
            &["u-admin"][..]
        } else {
            &["u-a2", "u-admin"][..]
        } {
            let restricted = compile_for(
                soql,
                Schema::standard(),
                Dialect::Sqlite,
                now(),
                &grants(id),
            )
            .map(|_| ());
            assert_eq!(restricted, unrestricted, "{id}: {soql}");
        }
    }
    // Exactly the error of a field that does not exist.
    let e = compile(
        "SELECT Birthdat FROM Contact",
        Schema::standard(),
        Dialect::Sqlite,
        now(),
    )
    .unwrap_err();
    assert_eq!(e.to_string().replace("Birthdat'", "Birthdate'"), contact);
    // Id and COUNT() need only the object.
    for soql in [
        "SELECT Id FROM Contact",
        "SELECT COUNT() FROM Contact",
        "SELECT COUNT(Id) FROM Contact",
        "SELECT Id FROM Lead WHERE Id != null",
    ] {
        as_user("u-ro", soql);
    }
}

#[test]
fn rows_are_anded_into_where_as_a_disjunction() {
    let s = r#""s1"."record_id" FROM "dt_shares" AS "s1" WHERE "s1"."principal""#;
    let cases: &[(&str, &str, String)] = &[
        // Everything visible: nothing added.
        ("u-admin", "SELECT Id FROM Contact WHERE LastName = 'x'", r#"lower("t0"."lastname") = lower(?)"#.into()),
        ("u-audit", "SELECT Id FROM Case", String::new()),
        ("u-ro", "SELECT Id FROM Lead", String::new()),
        // Owners (the user, subordinates, owner-based rules) or a share.
        (
            "u-a1",
            "SELECT Id FROM Contact",
            format!(r#"("t0"."ownerid" IN (?, ?) OR "t0"."id" IN (SELECT {s} IN (?, ?, ?, ?, ?) AND "s1"."level" >= ?))"#),
        ),
        // The query's own condition comes first, in parentheses.
        (
            "u-a1",
            "SELECT Id FROM Contact WHERE LastName = 'a' OR LastName = 'b'",
            format!(
                r#"((lower("t0"."lastname") = lower(?) OR lower("t0"."lastname") = lower(?))) AND ("t0"."ownerid" IN (?, ?) OR "t0"."id" IN (SELECT {s} IN (?, ?, ?, ?, ?) AND "s1"."level" >= ?))"#
            ),
        ),
        // Criteria sets, case-insensitive for text, typed otherwise.
        (
            "u-rep",
            "SELECT Id FROM Case",
            format!(r#"("t0"."ownerid" IN (?) OR lower("t0"."status") = lower(?) OR "t0"."id" IN (SELECT {s} IN (?, ?, ?, ?, ?, ?) AND "s1"."level" >= ?))"#),
        ),
        (
            "u-lead",
            "SELECT Id FROM Account",
            format!(
                r#"("t0"."ownerid" IN (?, ?, ?) OR (lower("t0"."industry") = lower(?) AND "t0"."numberofemployees" = ?) OR "t0"."id" IN (SELECT {s} IN (?, ?, ?, ?, ?, ?) AND "s1"."level" >= ?))"#
            ),
        ),
        (
            "u-rep",
            "SELECT Id FROM Contact",
            format!(r#"("t0"."ownerid" IN (?) OR "t0"."donotcall" = ? OR "t0"."id" IN (SELECT {s} IN (?, ?, ?, ?, ?, ?) AND "s1"."level" >= ?))"#),
        ),
        // Controlled by the parent: the parent's scope, inside.
        (
            "u-a1",
            "SELECT Id FROM VoiceCallRecording",
            r#""t0"."voicecallid" IN (SELECT "v1"."id" FROM "sobj_voicecall" AS "v1" WHERE ("v1"."ownerid" IN (?) OR "v1"."id" IN (SELECT "s2"."record_id" FROM "dt_shares" AS "s2" WHERE "s2"."principal" IN (?, ?, ?, ?, ?) AND "s2"."level" >= ?)))"#.into(),
        ),
        ("u-sup", "SELECT Id FROM VoiceCallRecording", r#""t0"."voicecallid" IN (SELECT "v1"."id" FROM "sobj_voicecall" AS "v1")"#.into()),
        // Readable, but no row reachable (the parent is not readable).
        ("u-rec", "SELECT Id FROM VoiceCallRecording WHERE Name = 'x'", r#"(lower("t0"."name") = lower(?)) AND 1 = 0"#.into()),
    ];
    for (id, soql, want) in cases {
        let p = as_user(id, soql);
        let sql = p.sql();
        if want.is_empty() {
            assert!(!sql.contains(" WHERE "), "{id}: {soql}: {sql}");
            let q = parse(soql).unwrap();
            assert_eq!(
                p,
                plan(&q, Schema::standard(), Dialect::Sqlite, now()).unwrap()
            );
        } else {
            assert_eq!(where_of(&sql), want, "{id}: {soql}");
        }
    }
    // The values: owners, then criteria, then principals and the level.
    let p = as_user("u-lead", "SELECT Id FROM Account WHERE Name = 'Acme'");
    assert_eq!(
        p.params,
        [
            text("Acme"),
            text("u-a1"),
            text("u-a2"),
            text("u-lead"),
            text("retail"),
            Value::Int(100),
            text("role:SupportLead"),
            text("rolesub:CEO"),
            text("rolesub:SupportLead"),
            text("user:u-a1"),
            text("user:u-a2"),
            text("user:u-lead"),
            Value::Int(1),
        ][..]
    );
    let p = as_user("u-rep", "SELECT Id FROM Contact");
    assert_eq!(p.params[1], Value::Int(1), "DoNotCall = 'true' binds 1");
}

#[test]
fn count_and_aggregates_see_only_visible_rows() {
    for soql in [
        "SELECT COUNT() FROM Contact",
        "SELECT COUNT(Id) n FROM Contact",
        "SELECT LeadSource, COUNT(Id) FROM Contact GROUP BY LeadSource HAVING COUNT(Id) > 1",
    ] {
        let p = as_user("u-a1", soql);
        for sql in [p.sql(), p.count_sql(), p.page_sql(0, 10)] {
            assert!(
                sql.contains(
                    r#" WHERE ("t0"."ownerid" IN (?, ?) OR "t0"."id" IN (SELECT "s1"."record_id""#
                ),
                "{sql}"
            );
        }
    }
    // HAVING's values come after the sharing values.
    let p = as_user(
        "u-a1",
        "SELECT LeadSource, COUNT(Id) FROM Contact GROUP BY LeadSource HAVING COUNT(Id) > 1",
    );
    assert_eq!(p.params.last(), Some(&Value::Int(1)));
    assert_eq!(
        p.params[p.params.len() - 2],
        Value::Int(1),
        "the share level"
    );
}

#[test]
fn a_parent_the_user_cannot_see_joins_as_null() {
    let p = as_user(
        "u-a1",
        "SELECT Name, Account.Name FROM Contact WHERE LastName = 'x'",
    );
    let sql = p.sql();
    assert!(
        sql.contains(
            r#"LEFT JOIN "sobj_account" AS "t1" ON "t1"."id" = "t0"."accountid" AND ("t1"."ownerid" IN (?) OR "t1"."id" IN (SELECT "s2"."record_id" FROM "dt_shares" AS "s2" WHERE "s2"."principal" IN (?, ?, ?, ?, ?) AND "s2"."level" >= ?)) WHERE (lower("t0"."lastname") = lower(?)) AND ("t0"."ownerid""#
        ),
        "{sql}"
    );
    // SQLite binds by position: the join's values first, then WHERE's.
    assert_eq!(p.params[0], text("u-a1"));
    assert_eq!(p.params[7], text("x"));
    // A parent visible in full joins without a condition.
    let p = as_user("u-admin", "SELECT Account.Name FROM Contact");
    assert!(
        p.sql()
            .contains(r#"ON "t1"."id" = "t0"."accountid" ORDER BY"#),
        "{}",
        p.sql()
    );
    let p = as_user("u-a1", "SELECT Id FROM Contact WHERE Account.Name = 'x'");
    assert!(
        p.sql()
            .contains(r#"ON "t1"."id" = "t0"."accountid" AND ("t1"."ownerid" IN (?)"#),
        "a parent only filtered on is restricted too: {}",
        p.sql()
    );
    // Several parents, each with its own scope, with conditions on both.
    let p = as_user(
        "u-rep",
        "SELECT Subject, Account.Name, Contact.LastName FROM Case WHERE Contact.LastName LIKE 'a%' OR Account.Name = 'b' ORDER BY Account.Name",
    );
    let sql = p.sql();
    assert!(sql.contains(r#"LEFT JOIN "sobj_contact" AS "t2" ON "t2"."id" = "t0"."contactid" AND ("t2"."ownerid" IN (?) OR "t2"."donotcall" = ?"#), "{sql}");
    assert_eq!(p.relationships.len(), 2);
    // A parent with no reachable rows.
    let mut sec_users = org();
    sec_users.0.permission_sets[0]
        .objects
        .insert("VoiceCall".into(), ObjectPerms::default());
    let g = sec_users
        .0
        .grants(Schema::standard(), &sec_users.1[3], &sec_users.1);
    assert!(
        compile_for(
            "SELECT Id FROM VoiceCallRecording",
            Schema::standard(),
            Dialect::Sqlite,
            now(),
            &g
        )
        .unwrap()
        .sql()
        .contains("1 = 0")
    );
}

#[test]
fn single_record_checks_count_under_read_or_edit_visibility() {
    let id = SalesforceId::new("500", 7);
    let check = |user: &str, mode: Mode| {
        let g = grants(user);
        let p = record_visible_plan("Case", &id, Schema::standard(), Dialect::Sqlite, &g, mode)
            .unwrap();
        let pg = record_visible_plan("Case", &id, Schema::standard(), Dialect::Postgres, &g, mode)
            .unwrap();
        assert_same_binding(&p, &pg);
        assert_eq!(p.kind, PlanKind::CountOnly);
        assert_eq!(p.params[0], text(id.as_str()));
        p
    };
    let read = check("u-rep", Mode::Read);
    assert!(read.sql().starts_with(r#"SELECT COUNT(*) FROM "sobj_case" AS "t0" WHERE ("t0"."id" = ?) AND ("t0"."ownerid" IN (?) OR lower("t0"."status") = lower(?)"#), "{}", read.sql());
    assert_eq!(read.params.last(), Some(&Value::Int(1)));
    let edit = check("u-rep", Mode::Edit);
    assert!(
        !edit.sql().contains("status"),
        "a read-only rule gives no edit: {}",
        edit.sql()
    );
    assert_eq!(
        edit.params.last(),
        Some(&Value::Int(2)),
        "edit needs an edit share"
    );
    assert_eq!(
        check("u-admin", Mode::Edit).sql(),
        r#"SELECT COUNT(*) FROM "sobj_case" AS "t0" WHERE "t0"."id" = ?"#
    );
    // Readable, not editable: no row.
    let g = grants("u-a1");
    let p = record_visible_plan(
        "Account",
        &SalesforceId::new("001", 1),
        Schema::standard(),
        Dialect::Sqlite,
        &g,
        Mode::Edit,
    )
    .unwrap();
    assert!(p.sql().ends_with("AND 1 = 0"), "{}", p.sql());
    let e = record_visible_plan(
        "Lead",
        &SalesforceId::new("00Q", 1),
        Schema::standard(),
        Dialect::Sqlite,
        &g,
        Mode::Read,
    )
    .unwrap_err();
    assert_eq!(e.code(), "INVALID_TYPE");
}

#[test]
fn hand_built_scopes_compile_as_admits_reads_them() {
    let schema = Schema::standard();
    let sql =
        |v: &Visibility| visibility_sql("Contact", "c", v, schema, Dialect::Sqlite, 1).unwrap();
    let crit = |pairs: &[(&str, &str)]| -> Vec<Criterion> {
        pairs
            .iter()
            .map(|(f, v)| Criterion {
                field: f.to_string(),
                value: v.to_string(),
            })
            .collect()
    };
    assert_eq!(sql(&Visibility::All), None);
    assert_eq!(sql(&Visibility::None), Some(("1 = 0".into(), vec![])));
    assert_eq!(
        sql(&Visibility::Scoped(Scope::default())),
        Some(("1 = 0".into(), vec![])),
        "an empty disjunction"
    );
    // A set that can never hold drops out; its values with it.
    let never = Scope {
        criteria: vec![
            crit(&[("LastName", "x"), ("DoNotCall", "maybe")]),
            crit(&[("Nope", "x")]),
            crit(&[("LastName", "")]),
            crit(&[("Birthdate", "not a date")]),
            crit(&[("AccountId", "001short")]),
        ],
        ..Scope::default()
    };
    assert_eq!(
        sql(&Visibility::Scoped(never)),
        Some(("1 = 0".into(), vec![]))
    );
    // An empty set holds for every record (`all` of nothing).
    let every = Scope {
        criteria: vec![vec![]],
        ..Scope::default()
    };
    assert_eq!(
        sql(&Visibility::Scoped(every)),
        Some(("1 = 1".into(), vec![]))
    );
    let typed = Scope {
        criteria: vec![crit(&[
            ("DoNotCall", "FALSE"),
            ("Birthdate", "1990-01-02"),
            ("AccountId", SalesforceId::new("001", 3).short()),
            ("leadsource", "web"),
        ])],
        ..Scope::default()
    };
    let (s, params) = sql(&Visibility::Scoped(typed.clone())).unwrap();
    assert_eq!(
        s,
        r#"("c"."donotcall" = ? AND "c"."birthdate" = ? AND "c"."accountid" = ? AND lower("c"."leadsource") = lower(?))"#
    );
    assert_eq!(
        params,
        [
            Value::Int(0),
            text("1990-01-02"),
            text(SalesforceId::new("001", 3).as_str()),
            text("web")
        ]
    );
    // PostgreSQL placeholders continue the caller's numbering.
    let (s, _) = visibility_sql(
        "Contact",
        "c",
        &Visibility::Scoped(typed),
        schema,
        Dialect::Postgres,
        3,
    )
    .unwrap()
    .unwrap();
    assert!(s.starts_with(r#"("c"."donotcall" = $3::bigint AND"#), "{s}");
    // An object without owners ignores the owner list.
    let owners = Scope {
        owners: ["u-1".to_string()].into(),
        ..Scope::default()
    };
    assert_eq!(
        visibility_sql(
            "VoiceCallRecording",
            "r",
            &Visibility::Scoped(owners),
            schema,
            Dialect::Sqlite,
            1
        )
        .unwrap(),
        Some(("1 = 0".into(), vec![]))
    );
}

#[test]
fn too_many_sharing_values_is_a_clear_error() {
    let (mut sec, mut users) = org();
    sec.rules.clear();
    for i in 0..MAX_PARAMS {
        users.push(user(&format!("u-{i}"), "Agent", Some("AgentRole"), &[]));
    }
    let ceo = sec.grants(Schema::standard(), &users[0], &users);
    let e = compile_for(
        "SELECT Id FROM Contact",
        Schema::standard(),
        Dialect::Sqlite,
        now(),
        &ceo,
    )
    .unwrap_err();
    assert_eq!(e.code(), "MALFORMED_QUERY");
    assert!(e.to_string().starts_with("This user's sharing"), "{e}");
    // Plain queries keep their own limit and message.
    let mut q = parse("SELECT Id FROM Lead WHERE Name IN ('x')").unwrap();
    let Some(Expr::In { values, .. }) = &mut q.filter else {
        unreachable!()
    };
    values.extend((0..MAX_PARAMS).map(|i| Literal::String(i.to_string())));
    let e = plan_for(
        &q,
        Schema::standard(),
        Dialect::Sqlite,
        now(),
        &grants("u-ro"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("A query may compare against at most {MAX_PARAMS} values")
    );
}
