//! Random and mutated queries: `compile` never panics, and whatever it accepts
//! is SQL that SQLite accepts and can run with the plan's parameters. The same
//! holds for a user's query (`compile_for`), with sharing in WHERE and in the
//! parents' joins.

mod common;

use dialtone_access::{
    AccessLevel, Criterion, FieldAccess, Grants, ObjectPerms, PermissionSet, Principal, Role,
    RuleKind, Security, SharingRule, UserInfo,
};
use dialtone_model::{FieldType, ObjectDef, Schema, Storage, Value};
use dialtone_soql::{Dialect, compile, compile_for};
use proptest::prelude::*;
use rusqlite::Connection;
use std::sync::LazyLock;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-25 15:45:00 UTC);

const SEEDS: &[&str] = &[
    "SELECT Id, Name, Account.Name FROM Contact WHERE Account.Industry = 'Retail' ORDER BY Name DESC LIMIT 10 OFFSET 5",
    "SELECT LeadSource, COUNT(Id) cnt, SUM(NumberOfEmployees) FROM Lead WHERE IsConverted = false GROUP BY LeadSource HAVING COUNT(Id) > 1 ORDER BY cnt DESC",
    "SELECT COUNT() FROM Case WHERE CreatedDate = LAST_N_DAYS:7 AND (Status != 'Closed' OR Priority IN ('High', null))",
    "SELECT Name FROM Account WHERE NOT (Name LIKE 'Ac\\%%' OR NumberOfEmployees >= 10.0) AND CreatedDate < 2026-11-22T09:30:00+01:00",
    "SELECT Id FROM Opportunity WHERE CloseDate = THIS_QUARTER AND Amount > 5 AND Owner.Name != null ORDER BY Amount NULLS LAST",
    "SELECT MAX(CallDurationInSeconds), MIN(CallStartDateTime) FROM VoiceCall WHERE CallType NOT IN ('Inbound') AND Id = '0LQDt0000000001'",
];

const TOKENS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "HAVING",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "NULLS FIRST",
    "DESC",
    "ASC",
    "null",
    "true",
    "false",
    "(",
    ")",
    ",",
    ".",
    ":",
    "=",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "Id",
    "Name",
    "Account",
    "Account.Name",
    "Owner.Name",
    "Contact",
    "Lead",
    "Case",
    "Opportunity",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "CreatedDate",
    "Birthdate",
    "DoNotCall",
    "COUNT()",
    "COUNT(Id)",
    "SUM(Amount)",
    "AVG(NumberOfEmployees)",
    "MIN(Name)",
    "MAX(CreatedDate)",
    "COUNT_DISTINCT(Email)",
    "cnt",
    "expr0",
    "'x'",
    "''",
    "'a\\'b'",
    "'%\\_'",
    "0",
    "-1",
    "2.5",
    "2000",
    "2001",
    "99999999999999999999",
    "TODAY",
    "LAST_N_DAYS:3",
    "NEXT_N_YEARS:9999",
    "THIS_WEEK",
    "2026-11-22",
    "2026-11-22T09:30:00Z",
    "9999-12-31T23:59:59-01:00",
    "'003A0000005QB3A'",
    "'001A0000006Vm9rIAC'",
    "\\",
    "'",
    "#",
    "é",
    "\n",
];

thread_local! {
    static DB: Connection = common::open();
}

/// A user who reads every object, with a hidden field or two, whose sharing
/// has owners, criteria of several types, manual-share principals and a
/// parent-controlled object.
static USER: LazyLock<Grants> = LazyLock::new(|| {
    let schema = Schema::standard();
    let mut profile = PermissionSet {
        name: "Fuzz".into(),
        is_profile: true,
        ..PermissionSet::default()
    };
    for o in schema.objects() {
        profile.objects.insert(o.name.clone(), ObjectPerms::CRED);
    }
    profile
        .fields
        .insert("Contact.Birthdate".into(), FieldAccess::Hidden);
    profile
        .fields
        .insert("Account.Industry".into(), FieldAccess::Hidden);
    let rule = |object: &str, criteria: &[(&str, &str)]| SharingRule {
        name: format!("{object} {criteria:?}"),
        object: object.into(),
        kind: RuleKind::CriteriaBased {
            criteria: criteria
                .iter()
                .map(|(f, v)| Criterion {
                    field: f.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        },
        share_with: Principal::Role("Boss".into()),
        level: AccessLevel::Read,
    };
    let sec = Security {
        permission_sets: vec![profile],
        roles: vec![
            Role {
                name: "Boss".into(),
                parent: None,
            },
            Role {
                name: "Staff".into(),
                parent: Some("Boss".into()),
            },
        ],
        rules: vec![
            rule("Contact", &[("DoNotCall", "true"), ("LeadSource", "web")]),
            rule("Account", &[("NumberOfEmployees", "5")]),
            rule("Case", &[("Status", "Escalated")]),
            rule(
                "Lead",
                &[
                    ("CreatedDate", "2026-11-25T00:00:00Z"),
                    ("AnnualRevenue", "1.5"),
                ],
            ),
            rule("VoiceCall", &[("CallStartDateTime", "not a date")]),
        ],
        ..Security::default()
    };
    let user = |id: &str, role: &str| UserInfo {
        id: id.into(),
        profile: "Fuzz".into(),
        role: Some(role.into()),
        permission_sets: vec![],
        permission_set_groups: vec![],
        active: true,
    };
    let users = [
        user("005Dt0000000001AAA", "Boss"),
        user("005Dt0000000002AAA", "Staff"),
    ];
    sec.grants(schema, &users[0], &users)
});

fn check(soql: &str) -> Result<(), TestCaseError> {
    for (dialect, user) in [Dialect::Sqlite, Dialect::Postgres]
        .into_iter()
        .flat_map(|d| [(d, false), (d, true)])
    {
        let compiled = if user {
            compile_for(soql, Schema::standard(), dialect, NOW, &USER)
        } else {
            compile(soql, Schema::standard(), dialect, NOW)
        };
        let Ok(plan) = compiled else {
            continue;
        };
        let sqls = [plan.sql(), plan.count_sql(), plan.page_sql(3, 7)];
        prop_assert!(
            plan.params
                .iter()
                .all(|v| !matches!(v, Value::Null | Value::Bool(_)))
        );
        if dialect == Dialect::Postgres {
            continue;
        }
        for sql in sqls {
            DB.with(|db| -> Result<(), TestCaseError> {
                let mut stmt = db
                    .prepare(&sql)
                    .map_err(|e| TestCaseError::fail(format!("{soql}\n{sql}\n{e}")))?;
                prop_assert_eq!(stmt.parameter_count(), plan.params.len(), "{}", sql);
                let params = plan.params.iter().map(|v| match v {
                    Value::Int(i) => rusqlite::types::Value::Integer(*i),
                    Value::Float(x) => rusqlite::types::Value::Real(*x),
                    v => rusqlite::types::Value::Text(v.to_string()),
                });
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(|e| TestCaseError::fail(format!("{sql}: {e}")))?;
                while rows
                    .next()
                    .map_err(|e| TestCaseError::fail(format!("{sql}: {e}")))?
                    .is_some()
                {}
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn mutate(seed: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for m in mutations {
        let n = chars.len().max(1);
        match *m {
            Mutation::Delete(at, len) => {
                let at = at % n;
                let end = (at + len % 12).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            Mutation::Insert(at, tok) => {
                let at = (at % n).min(chars.len());
                let tok: Vec<char> = format!(" {tok} ").chars().collect();
                chars.splice(at..at, tok);
            }
            Mutation::Duplicate(at, len) => {
                let at = (at % n).min(chars.len());
                let end = (at + len % 30).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            Mutation::Swap(a, b) => {
                if !chars.is_empty() {
                    let (a, b) = (a % chars.len(), b % chars.len());
                    chars.swap(a, b);
                }
            }
        }
    }
    chars.into_iter().collect()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

const FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "CreatedDate",
    "Birthdate",
    "DoNotCall",
    "Email",
    "LastName",
    "AccountId",
    "Account.Name",
    "Account.Industry",
    "Owner.Name",
    "Amount",
    "CloseDate",
    "IsClosed",
    "Status",
    "LeadSource",
    "CreatedBy.IsActive",
];

const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "'x'",
    "''",
    "'Retail'",
    "'a\\'b'",
    "0",
    "-1",
    "2.5",
    "TODAY",
    "LAST_N_DAYS:3",
    "THIS_WEEK",
    "NEXT_N_MONTHS:2",
    "2026-11-22",
    "2026-11-22T09:30:00Z",
    "'003A0000005QB3A'",
    "'001A0000006Vm9rIAC'",
];

fn object() -> impl Strategy<Value = &'static ObjectDef> {
    prop::sample::select(Schema::standard().objects().iter().collect::<Vec<_>>())
}

/// A field of `o`: mostly its own, sometimes a parent's or an unknown one.
fn field(o: &'static ObjectDef) -> BoxedStrategy<(String, Option<&'static FieldType>)> {
    let own = prop::sample::select(o.fields.iter().collect::<Vec<_>>())
        .prop_map(|f| (f.name.clone(), Some(&f.ty)));
    let user = Schema::standard().object("User").unwrap();
    let parent = prop::sample::select(user.fields.iter().collect::<Vec<_>>())
        .prop_map(|f| (format!("CreatedBy.{}", f.name), Some(&f.ty)));
    let other = prop::sample::select(FIELDS).prop_map(|f| (f.to_string(), None));
    prop_oneof![8 => own, 2 => parent, 1 => other].boxed()
}

/// A literal, usually of the field's type.
fn value(ty: Option<&'static FieldType>) -> BoxedStrategy<String> {
    let typed: &[&str] = match ty.map(FieldType::storage) {
        _ if ty == Some(&FieldType::Date) => &[
            "2026-11-22",
            "TODAY",
            "LAST_N_DAYS:3",
            "THIS_QUARTER",
            "null",
        ],
        _ if ty == Some(&FieldType::DateTime) => &[
            "2026-11-22T09:30:00Z",
            "YESTERDAY",
            "NEXT_N_WEEKS:2",
            "null",
        ],
        _ if matches!(ty, Some(FieldType::Id | FieldType::Reference(_))) => {
            &["'003A0000005QB3A'", "'001A0000006Vm9rIAC'", "null", "''"]
        }
        Some(Storage::Int) => &["0", "-1", "42", "null"],
        Some(Storage::Float) => &["0", "2.5", "-1e", "null"],
        Some(Storage::Bool) => &["true", "false", "null"],
        _ => &["'x'", "''", "'Retail'", "'a\\'b'", "null"],
    };
    prop_oneof![6 => prop::sample::select(typed), 1 => prop::sample::select(VALUES)]
        .prop_map(String::from)
        .boxed()
}

/// Syntactically valid conditions, mostly well typed.
fn condition(o: &'static ObjectDef) -> impl Strategy<Value = String> {
    let op = prop::sample::select(&["=", "!=", "<", "<=", ">", ">="][..]);
    let compare = (field(o), op)
        .prop_flat_map(|((f, ty), op)| (Just(f), Just(op), value(ty)))
        .prop_map(|(f, o, v)| format!("{f} {o} {v}"));
    let like = (
        field(o),
        prop::sample::select(&["'%a%'", "'x\\_'", "''"][..]),
    )
        .prop_map(|((f, _), p)| format!("{f} LIKE {p}"));
    let list = (field(o), any::<bool>())
        .prop_flat_map(|((f, ty), not)| {
            (Just(f), Just(not), prop::collection::vec(value(ty), 1..4))
        })
        .prop_map(|(f, not, vs)| {
            format!(
                "{f} {}IN ({})",
                if not { "NOT " } else { "" },
                vs.join(", ")
            )
        });
    let leaf = prop_oneof![4 => compare, 1 => like, 2 => list];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("NOT ({c})")),
            (prop::collection::vec(inner, 2..4), any::<bool>())
                .prop_map(|(cs, and)| format!("({})", cs.join(if and { " AND " } else { " OR " }))),
        ]
    })
}

/// Syntactically valid queries, mostly meaningful ones.
fn query() -> impl Strategy<Value = String> {
    object()
        .prop_flat_map(|o| {
            let agg = (
                prop::sample::select(&["COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"][..]),
                field(o),
            )
                .prop_map(|(f, (x, _))| format!("{f}({x})"));
            (
                Just(o.name.as_str()),
                prop::collection::vec(field(o).prop_map(|(f, _)| f), 1..4),
                prop::option::of((
                    field(o).prop_map(|(f, _)| f),
                    prop::collection::vec(agg, 1..3),
                )),
                prop::option::of(condition(o)),
                prop::option::of((field(o).prop_map(|(f, _)| f), any::<bool>())),
                prop::option::of(0u64..3000),
                prop::option::of(0u64..2100),
            )
        })
        .prop_map(|(object, fields, grouped, filter, order, limit, offset)| {
            let (items, group) = match grouped {
                Some((g, aggs)) => (
                    format!("{g}, {}", aggs.join(", ")),
                    format!(" GROUP BY {g}"),
                ),
                None => (fields.join(", "), String::new()),
            };
            let mut q = format!("SELECT {items} FROM {object}");
            if let Some(c) = filter {
                q.push_str(&format!(" WHERE {c}"));
            }
            q.push_str(&group);
            if let Some((o, desc)) = order {
                q.push_str(&format!(" ORDER BY {o}{}", if desc { " DESC" } else { "" }));
            }
            if let Some(l) = limit {
                q.push_str(&format!(" LIMIT {l}"));
            }
            if let Some(o) = offset {
                q.push_str(&format!(" OFFSET {o}"));
            }
            q
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn seeds_compile_and_run(i in 0..SEEDS.len()) {
        prop_assert!(compile(SEEDS[i], Schema::standard(), Dialect::Sqlite, NOW).is_ok(), "{}", SEEDS[i]);
        check(SEEDS[i])?;
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
        check(&s)?;
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        check(&format!("SELECT {}", tokens.join(" ")))?;
        check(&tokens.join(" "))?;
    }

    #[test]
    fn mutated_queries_never_panic(i in 0..SEEDS.len(), mutations in prop::collection::vec(mutation(), 1..4)) {
        check(&mutate(SEEDS[i], &mutations))?;
    }

    #[test]
    fn generated_queries_compile_to_runnable_sql_or_fail_cleanly(q in query()) {
        check(&q)?;
    }
}
