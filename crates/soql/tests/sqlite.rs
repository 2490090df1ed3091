//! Runs compiled SQL against an in-memory SQLite database laid out as the
//! store lays it out, and checks the rows: the SQL is valid and means what the
//! SOQL means.

mod common;

use dialtone_model::{SalesforceId, Schema, Value, format_datetime};
use dialtone_soql::{Dialect, Plan, PlanKind, compile};
use rusqlite::Connection;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    datetime!(2026-11-25 15:45:00 UTC)
}

fn id(prefix: &str, seq: u64) -> String {
    SalesforceId::new(prefix, seq).to_string()
}

fn dt(t: OffsetDateTime) -> Value {
    Value::Text(format_datetime(t))
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// One test contact; the expectations are computed from these.
#[derive(Clone)]
struct Contact {
    id: String,
    last: String,
    account: Option<usize>,
    email: Option<String>,
    do_not_call: bool,
    lead_source: Option<&'static str>,
    created: OffsetDateTime,
}

struct Db {
    conn: Connection,
    contacts: Vec<Contact>,
}

/// Name, Industry, NumberOfEmployees, AnnualRevenue, owner's seq, CreatedDate.
type AccountRow = (
    &'static str,
    Option<&'static str>,
    Option<i64>,
    Option<f64>,
    u64,
    OffsetDateTime,
);

const ACCOUNTS: [&str; 5] = ["Acme", "Globex", "Initech", "beta corp", "100% Natural"];

fn setup() -> Db {
    let conn = common::open();
    let insert = |object: &str, values: Vec<(&str, Value)>| common::insert(&conn, object, values);
    insert(
        "User",
        vec![
            ("Id", t(&id("005", 1))),
            ("Name", t("Ada Admin")),
            ("IsActive", Value::Bool(true)),
        ],
    );
    insert(
        "User",
        vec![
            ("Id", t(&id("005", 2))),
            ("Name", t("Bob Agent")),
            ("IsActive", Value::Bool(false)),
        ],
    );
    let accounts: [AccountRow; 5] = [
        (
            ACCOUNTS[0],
            Some("Retail"),
            Some(100),
            Some(1_000_000.0),
            1,
            datetime!(2026-11-25 01:00 UTC),
        ),
        (
            ACCOUNTS[1],
            Some("Banking"),
            Some(50),
            Some(500_000.0),
            2,
            datetime!(2026-11-24 23:59:59.999 UTC),
        ),
        (
            ACCOUNTS[2],
            Some("Retail"),
            Some(10),
            None,
            1,
            datetime!(2026-10-15 12:00 UTC),
        ),
        (
            ACCOUNTS[3],
            None,
            None,
            None,
            2,
            datetime!(2025-06-01 00:00 UTC),
        ),
        (
            ACCOUNTS[4],
            Some("Retail"),
            Some(5),
            Some(10.5),
            1,
            datetime!(2026-11-26 00:00 UTC),
        ),
    ];
    for (i, (name, industry, employees, revenue, owner, created)) in
        accounts.into_iter().enumerate()
    {
        let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
        insert(
            "Account",
            vec![
                ("Id", t(&id("001", i as u64 + 1))),
                ("Name", t(name)),
                ("Industry", opt(industry.map(t))),
                ("NumberOfEmployees", opt(employees.map(Value::Int))),
                ("AnnualRevenue", opt(revenue.map(Value::Float))),
                ("OwnerId", t(&id("005", owner))),
                ("IsPersonAccount", Value::Bool(false)),
                ("CreatedDate", dt(created)),
            ],
        );
    }
    let names = [
        "Smith", "jones", "Brown", "Taylor", "O'Brien", "Wilson", "Évora", "Lee",
    ];
    let mut contacts = Vec::new();
    for i in 0..30u64 {
        let c = Contact {
            id: id("003", i + 1),
            last: format!("{}{}", names[i as usize % names.len()], i / 8),
            account: [Some(0), Some(1), Some(2), Some(3), None][i as usize % 5],
            email: (i % 4 != 0).then(|| format!("person{i}@Example.com")),
            do_not_call: i % 3 == 0,
            lead_source: [Some("Web"), Some("Phone Inquiry"), None][i as usize % 3],
            created: now() - Duration::hours(11 * i as i64),
        };
        insert(
            "Contact",
            vec![
                ("Id", t(&c.id)),
                ("LastName", t(&c.last)),
                ("Name", t(&c.last)),
                (
                    "AccountId",
                    c.account
                        .map(|a| t(&id("001", a as u64 + 1)))
                        .unwrap_or(Value::Null),
                ),
                (
                    "Email",
                    c.email.clone().map(Value::Text).unwrap_or(Value::Null),
                ),
                ("DoNotCall", Value::Bool(c.do_not_call)),
                ("LeadSource", c.lead_source.map(t).unwrap_or(Value::Null)),
                ("CreatedDate", dt(c.created)),
                (
                    "Birthdate",
                    t(&format!("1990-{:02}-{:02}", i % 12 + 1, i % 28 + 1)),
                ),
            ],
        );
        contacts.push(c);
    }
    Db { conn, contacts }
}

impl Db {
    fn plan(&self, soql: &str) -> Plan {
        compile(soql, Schema::standard(), Dialect::Sqlite, now())
            .unwrap_or_else(|e| panic!("{soql}: {e}"))
    }

    fn rows(&self, plan: &Plan, sql: &str) -> Vec<Vec<Value>> {
        common::rows(&self.conn, plan, sql)
    }

    fn count(&self, plan: &Plan, sql: &str) -> i64 {
        common::count(&self.conn, plan, sql)
    }

    /// The first column of every row of the query, as text.
    fn first(&self, soql: &str) -> Vec<String> {
        let p = self.plan(soql);
        let rows = self.rows(&p, &p.sql());
        assert_eq!(
            self.count(&p, &p.count_sql()),
            rows.len() as i64,
            "count_sql of {soql}"
        );
        rows.into_iter().map(|r| r[0].to_string()).collect()
    }

    /// Ids (ordered by Id) of the contacts `keep` selects.
    fn contacts_where(&self, keep: impl Fn(&Contact) -> bool) -> Vec<String> {
        let mut ids: Vec<String> = self
            .contacts
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.id.clone())
            .collect();
        ids.sort();
        ids
    }
}

#[test]
fn account_filters_return_the_right_rows() {
    let db = setup();
    let cases: &[(&str, &[&str])] = &[
        (
            "ORDER BY Name",
            &["100% Natural", "Acme", "beta corp", "Globex", "Initech"],
        ),
        ("ORDER BY Name DESC LIMIT 2", &["Initech", "Globex"]),
        ("WHERE Name = 'ACME'", &["Acme"]),
        (
            "WHERE Name != 'acme' ORDER BY Name",
            &["100% Natural", "beta corp", "Globex", "Initech"],
        ),
        (
            "WHERE Name IN ('GLOBEX', 'initech') ORDER BY Name",
            &["Globex", "Initech"],
        ),
        ("WHERE Name LIKE 'ac%'", &["Acme"]),
        ("WHERE Name LIKE '_CME'", &["Acme"]),
        ("WHERE Name LIKE '100\\% %'", &["100% Natural"]),
        ("WHERE Name LIKE '100\\_%'", &[]),
        (
            "WHERE Name LIKE '%e%' ORDER BY Name",
            &["Acme", "beta corp", "Globex", "Initech"],
        ),
        ("WHERE NOT Name LIKE '%e%'", &["100% Natural"]),
        (
            "WHERE Industry = 'retail' ORDER BY Name",
            &["100% Natural", "Acme", "Initech"],
        ),
        (
            "WHERE Industry != 'Retail' ORDER BY Name",
            &["beta corp", "Globex"],
        ),
        (
            "WHERE Industry <> 'Retail' ORDER BY Name",
            &["beta corp", "Globex"],
        ),
        (
            "WHERE Industry NOT IN ('Retail') ORDER BY Name",
            &["beta corp", "Globex"],
        ),
        ("WHERE Industry NOT IN ('Retail', null)", &["Globex"]),
        (
            "WHERE NOT Industry = 'Retail' ORDER BY Name",
            &["beta corp", "Globex"],
        ),
        (
            "WHERE NOT (Industry = 'Retail' OR NumberOfEmployees > 40)",
            &["beta corp"],
        ),
        ("WHERE Industry = null", &["beta corp"]),
        (
            "WHERE Industry != null AND Industry != 'Retail'",
            &["Globex"],
        ),
        (
            "WHERE NumberOfEmployees > 10 ORDER BY Name",
            &["Acme", "Globex"],
        ),
        (
            "WHERE NumberOfEmployees >= 10 ORDER BY Name",
            &["Acme", "Globex", "Initech"],
        ),
        ("WHERE NumberOfEmployees < 10", &["100% Natural"]),
        (
            "WHERE NumberOfEmployees <= 10 ORDER BY NumberOfEmployees DESC",
            &["Initech", "100% Natural"],
        ),
        (
            "WHERE AnnualRevenue > 10 AND AnnualRevenue < 600000 ORDER BY Name",
            &["100% Natural", "Globex"],
        ),
        (
            "ORDER BY AnnualRevenue DESC, Name",
            &["Acme", "Globex", "100% Natural", "beta corp", "Initech"],
        ),
        (
            "ORDER BY AnnualRevenue ASC, Name",
            &["beta corp", "Initech", "100% Natural", "Globex", "Acme"],
        ),
        (
            "ORDER BY AnnualRevenue ASC NULLS LAST, Name LIMIT 3",
            &["100% Natural", "Globex", "Acme"],
        ),
        ("WHERE CreatedDate = TODAY", &["Acme"]),
        ("WHERE CreatedDate = YESTERDAY", &["Globex"]),
        ("WHERE CreatedDate = TOMORROW", &["100% Natural"]),
        ("WHERE CreatedDate > TODAY", &["100% Natural"]),
        (
            "WHERE CreatedDate >= TODAY ORDER BY Name",
            &["100% Natural", "Acme"],
        ),
        (
            "WHERE CreatedDate < TODAY ORDER BY Name",
            &["beta corp", "Globex", "Initech"],
        ),
        (
            "WHERE CreatedDate <= TODAY ORDER BY Name",
            &["Acme", "beta corp", "Globex", "Initech"],
        ),
        (
            "WHERE CreatedDate != TODAY AND CreatedDate = THIS_YEAR ORDER BY Name",
            &["100% Natural", "Globex", "Initech"],
        ),
        ("WHERE CreatedDate = LAST_MONTH", &["Initech"]),
        (
            "WHERE CreatedDate = LAST_N_DAYS:1 ORDER BY Name",
            &["Acme", "Globex"],
        ),
        ("WHERE CreatedDate = NEXT_N_DAYS:1", &["100% Natural"]),
        (
            "WHERE CreatedDate IN (YESTERDAY, TOMORROW) ORDER BY Name",
            &["100% Natural", "Globex"],
        ),
        (
            "WHERE CreatedDate < 2026-11-24T23:59:59.999Z ORDER BY Name",
            &["beta corp", "Initech"],
        ),
        ("WHERE CreatedDate = 2026-11-25T02:00:00+01:00", &["Acme"]),
        (
            "WHERE Owner.Name = 'ada admin' ORDER BY Name",
            &["100% Natural", "Acme", "Initech"],
        ),
        (
            "WHERE Owner.IsActive = false ORDER BY Name",
            &["beta corp", "Globex"],
        ),
        ("WHERE Name = 'x\\' OR \\'1\\'=\\'1'", &[]),
        (
            "WHERE Name = 'Acme' OR (Industry = 'Banking' AND NumberOfEmployees = 50) ORDER BY Name",
            &["Acme", "Globex"],
        ),
    ];
    for (tail, want) in cases {
        let soql = format!("SELECT Name FROM Account {tail}");
        assert_eq!(db.first(&soql), *want, "{soql}");
    }
    let globex15 = SalesforceId::parse(&id("001", 2))
        .unwrap()
        .short()
        .to_string();
    assert_eq!(
        db.first(&format!("SELECT Name FROM Account WHERE Id = '{globex15}'")),
        ["Globex"]
    );
    assert_eq!(
        db.first(&format!(
            "SELECT Name FROM Account WHERE Id != '{globex15}'"
        ))
        .len(),
        4
    );
}

#[test]
fn contact_filters_match_a_reference_implementation() {
    let db = setup();
    let today = now().date();
    type Keep = Box<dyn Fn(&Contact) -> bool>;
    let cases: Vec<(&str, Keep)> = vec![
        ("DoNotCall = true", Box::new(|c| c.do_not_call)),
        ("DoNotCall = false", Box::new(|c| !c.do_not_call)),
        ("DoNotCall = null", Box::new(|c| !c.do_not_call)),
        ("DoNotCall != true", Box::new(|c| !c.do_not_call)),
        ("Email = null", Box::new(|c| c.email.is_none())),
        (
            "Email LIKE '%@example.COM'",
            Box::new(|c| c.email.is_some()),
        ),
        (
            "Email = 'PERSON5@example.com'",
            Box::new(|c| c.email.as_deref() == Some("person5@Example.com")),
        ),
        (
            "LeadSource != 'Web'",
            Box::new(|c| c.lead_source != Some("Web")),
        ),
        (
            "LeadSource NOT IN ('Web', 'Phone Inquiry')",
            Box::new(|c| c.lead_source.is_none()),
        ),
        (
            "LeadSource IN ('web', null)",
            Box::new(|c| c.lead_source != Some("Phone Inquiry")),
        ),
        ("AccountId = null", Box::new(|c| c.account.is_none())),
        ("Account.Name = null", Box::new(|c| c.account.is_none())),
        (
            "Account.Industry = 'Retail'",
            Box::new(|c| matches!(c.account, Some(0) | Some(2))),
        ),
        (
            "Account.Industry != 'Retail'",
            Box::new(|c| !matches!(c.account, Some(0) | Some(2))),
        ),
        (
            "Account.NumberOfEmployees > 20",
            Box::new(|c| matches!(c.account, Some(0) | Some(1))),
        ),
        (
            "CreatedDate = TODAY",
            Box::new(move |c| c.created.date() == today),
        ),
        (
            "CreatedDate = LAST_N_DAYS:3",
            Box::new(move |c| c.created.date() >= today - Duration::days(3)),
        ),
        (
            "CreatedDate < LAST_N_DAYS:3",
            Box::new(move |c| c.created.date() < today - Duration::days(3)),
        ),
        (
            "CreatedDate = THIS_WEEK",
            Box::new(|c| c.created >= datetime!(2026-11-22 00:00 UTC)),
        ),
        (
            "CreatedDate = LAST_WEEK",
            Box::new(|c| {
                c.created >= datetime!(2026-11-15 00:00 UTC)
                    && c.created < datetime!(2026-11-22 00:00 UTC)
            }),
        ),
        (
            "CreatedDate = N_DAYS_AGO:2",
            Box::new(move |c| c.created.date() == today - Duration::days(2)),
        ),
        (
            "LastName LIKE 'o\\'b%'",
            Box::new(|c| c.last.starts_with("O'Brien")),
        ),
        (
            "LastName IN ('SMITH0', 'Jones1')",
            Box::new(|c| c.last == "Smith0" || c.last == "jones1"),
        ),
        (
            "NOT (LastName LIKE 's%' OR Email = null)",
            Box::new(|c| !c.last.starts_with('S') && c.email.is_some()),
        ),
        (
            "(DoNotCall = true OR LeadSource = 'Web') AND AccountId != null",
            Box::new(|c| (c.do_not_call || c.lead_source == Some("Web")) && c.account.is_some()),
        ),
        ("Birthdate = 1990-03-03", Box::new(|c| c.id == id("003", 3))),
        (
            "Birthdate < 1990-02-01",
            Box::new(|c| c.id == id("003", 1) || c.id == id("003", 13) || c.id == id("003", 25)),
        ),
    ];
    for (cond, keep) in cases {
        let soql = format!("SELECT Id FROM Contact WHERE {cond}");
        assert_eq!(db.first(&soql), db.contacts_where(keep), "{soql}");
    }
}

#[test]
fn parent_fields_come_with_the_parent_id() {
    let db = setup();
    let p = db.plan("SELECT LastName, Account.Name, Owner.Name FROM Contact WHERE LastName LIKE 'smith%' ORDER BY LastName");
    let rows = db.rows(&p, &p.sql());
    assert_eq!(rows.len(), 4);
    let acc = &p.relationships[0];
    assert_eq!(
        (acc.name.as_str(), acc.object.as_str()),
        ("Account", "Account")
    );
    for (row, c) in rows
        .iter()
        .zip(db.contacts.iter().filter(|c| c.last.starts_with("Smith")))
    {
        assert_eq!(row[0], t(&c.last));
        assert_eq!(row[p.id_column.unwrap()], t(&c.id));
        match c.account {
            Some(a) => {
                assert_eq!(row[1], t(ACCOUNTS[a]));
                assert_eq!(row[acc.id_column], t(&id("001", a as u64 + 1)));
            }
            None => assert_eq!((&row[1], &row[acc.id_column]), (&Value::Null, &Value::Null)),
        }
        // No contact has an owner: the relationship's id is null.
        assert_eq!(row[p.relationships[1].id_column], Value::Null);
    }
}

#[test]
fn aggregates_group_count_and_sum() {
    let db = setup();
    let p = db.plan(
        "SELECT Industry, COUNT(Id) n, SUM(NumberOfEmployees), AVG(AnnualRevenue), MAX(Name), MIN(CreatedDate) \
         FROM Account GROUP BY Industry ORDER BY n DESC",
    );
    assert_eq!(p.kind, PlanKind::Aggregate);
    let rows = db.rows(&p, &p.sql());
    assert_eq!(
        rows,
        vec![
            vec![
                t("Retail"),
                Value::Int(3),
                Value::Float(115.0),
                Value::Float(500_005.25),
                t("Initech"),
                t("2026-10-15T12:00:00.000+0000")
            ],
            vec![
                Value::Null,
                Value::Int(1),
                Value::Null,
                Value::Null,
                t("beta corp"),
                t("2025-06-01T00:00:00.000+0000")
            ],
            vec![
                t("Banking"),
                Value::Int(1),
                Value::Float(50.0),
                Value::Float(500_000.0),
                t("Globex"),
                t("2026-11-24T23:59:59.999+0000")
            ],
        ]
    );
    assert_eq!(db.count(&p, &p.count_sql()), 3);
    assert_eq!(db.rows(&p, &p.page_sql(1, 1)), vec![rows[1].clone()]);

    let p = db.plan("SELECT Industry FROM Account GROUP BY Industry HAVING COUNT(Id) > 1 AND MAX(NumberOfEmployees) >= 100");
    assert_eq!(db.rows(&p, &p.sql()), vec![vec![t("Retail")]]);
    assert_eq!(db.count(&p, &p.count_sql()), 1);

    let p = db.plan(
        "SELECT COUNT(Id), COUNT(Email), COUNT_DISTINCT(AccountId), MAX(CreatedDate) FROM Contact",
    );
    let rows = db.rows(&p, &p.sql());
    let emails = db.contacts.iter().filter(|c| c.email.is_some()).count() as i64;
    assert_eq!(
        rows,
        vec![vec![
            Value::Int(30),
            Value::Int(emails),
            Value::Int(4),
            dt(now())
        ]]
    );
    assert_eq!(db.count(&p, &p.count_sql()), 1);

    let p = db.plan("SELECT Account.Name, COUNT(Id) FROM Contact WHERE AccountId != null GROUP BY Account.Name ORDER BY Account.Name");
    let rows = db.rows(&p, &p.sql());
    let names: Vec<String> = rows.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(names, ["Acme", "beta corp", "Globex", "Initech"]);
    assert!(rows.iter().all(|r| r[1] == Value::Int(6)));
}

#[test]
fn count_only_and_paging_agree_with_the_full_result() {
    let db = setup();
    let p = db.plan("SELECT COUNT() FROM Contact WHERE DoNotCall = true");
    assert_eq!(
        db.count(&p, &p.sql()),
        db.contacts.iter().filter(|c| c.do_not_call).count() as i64
    );
    let p = db.plan("SELECT COUNT() FROM Contact LIMIT 7");
    assert_eq!(db.count(&p, &p.sql()), 7);
    let p = db.plan("SELECT COUNT() FROM Contact GROUP BY LeadSource");
    assert_eq!(db.count(&p, &p.sql()), 3);

    for soql in [
        "SELECT Id, LastName FROM Contact",
        "SELECT Id, LastName FROM Contact ORDER BY LastName DESC",
        "SELECT Id FROM Contact ORDER BY DoNotCall LIMIT 17 OFFSET 4",
        "SELECT Id FROM Contact WHERE Email != null ORDER BY LeadSource NULLS LAST OFFSET 9",
        "SELECT Id FROM Contact LIMIT 100 OFFSET 25",
        "SELECT LeadSource, COUNT(Id) FROM Contact GROUP BY LeadSource LIMIT 2 OFFSET 1",
    ] {
        let p = db.plan(soql);
        let all = db.rows(&p, &p.sql());
        assert_eq!(db.count(&p, &p.count_sql()), all.len() as i64, "{soql}");
        for size in [1, 3, 5, 100] {
            let mut paged = Vec::new();
            let mut offset = 0;
            while offset < all.len() as u64 + 2 {
                paged.extend(db.rows(&p, &p.page_sql(offset, size)));
                offset += size;
            }
            assert_eq!(paged, all, "{soql} in pages of {size}");
        }
    }
}
