//! Table-driven tests of the parser and planner. Execution against SQLite is
//! in `tests/sqlite.rs`, the never-panics property in `tests/fuzz.rs`.

use crate::*;
use dialtone_model::{Schema, Storage, Value};
use time::macros::datetime;

/// A Wednesday afternoon; that week started on Sunday 2026-11-22.
fn now() -> OffsetDateTime {
    datetime!(2026-11-25 15:45:00 UTC)
}

fn compile_in(soql: &str, dialect: Dialect) -> Plan {
    compile(soql, Schema::standard(), dialect, now())
        .unwrap_or_else(|e| panic!("{soql}: {e} ({})", e.code()))
}

fn sqlite(soql: &str) -> Plan {
    compile_in(soql, Dialect::Sqlite)
}

fn err(soql: &str) -> SoqlError {
    match compile(soql, Schema::standard(), Dialect::Sqlite, now()) {
        Ok(p) => panic!("{soql}: compiled to {}", p.sql()),
        Err(e) => e,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

#[test]
fn each_operator_compiles_to_its_sql() {
    let cases: &[(&str, &str, &[Value])] = &[
        (
            "Contact WHERE LastName = 'Smith'",
            r#"lower("t0"."lastname") = lower(?)"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE LastName != 'Smith'",
            r#"("t0"."lastname" IS NULL OR lower("t0"."lastname") <> lower(?))"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE LastName <> 'Smith'",
            r#"("t0"."lastname" IS NULL OR lower("t0"."lastname") <> lower(?))"#,
            &[Value::Null],
        ),
        (
            "Account WHERE NumberOfEmployees > 10",
            r#""t0"."numberofemployees" > ?"#,
            &[Value::Int(10)],
        ),
        (
            "Account WHERE NumberOfEmployees < 10",
            r#""t0"."numberofemployees" < ?"#,
            &[Value::Int(10)],
        ),
        (
            "Account WHERE NumberOfEmployees <= -3",
            r#""t0"."numberofemployees" <= ?"#,
            &[Value::Int(-3)],
        ),
        (
            "Account WHERE NumberOfEmployees >= 10.0",
            r#""t0"."numberofemployees" >= ?"#,
            &[Value::Int(10)],
        ),
        (
            "Account WHERE AnnualRevenue >= 5",
            r#""t0"."annualrevenue" >= ?"#,
            &[Value::Float(5.0)],
        ),
        (
            "Account WHERE AnnualRevenue < 2.5",
            r#""t0"."annualrevenue" < ?"#,
            &[Value::Float(2.5)],
        ),
        (
            "Account WHERE Name LIKE 'Ac%'",
            r#""t0"."name" LIKE ? ESCAPE '\'"#,
            &[Value::Null],
        ),
        (
            "Account WHERE Industry IN ('Retail', 'Banking')",
            r#"lower("t0"."industry") IN (lower(?), lower(?))"#,
            &[Value::Null, Value::Null],
        ),
        (
            "Account WHERE Industry NOT IN ('Retail')",
            r#"NOT COALESCE(lower("t0"."industry") IN (lower(?)), FALSE)"#,
            &[Value::Null],
        ),
        (
            "Account WHERE Industry IN ('Retail', null)",
            r#"(lower("t0"."industry") IN (lower(?)) OR "t0"."industry" IS NULL)"#,
            &[Value::Null],
        ),
        ("Contact WHERE Email = null", r#""t0"."email" IS NULL"#, &[]),
        (
            "Contact WHERE Email != null",
            r#""t0"."email" IS NOT NULL"#,
            &[],
        ),
        ("Contact WHERE Email = ''", r#""t0"."email" IS NULL"#, &[]),
        (
            "Contact WHERE DoNotCall = true",
            r#""t0"."donotcall" = ?"#,
            &[Value::Int(1)],
        ),
        (
            "Contact WHERE DoNotCall != FALSE",
            r#"("t0"."donotcall" IS NULL OR "t0"."donotcall" <> ?)"#,
            &[Value::Int(0)],
        ),
        (
            "Contact WHERE DoNotCall = null",
            r#"("t0"."donotcall" IS NULL OR "t0"."donotcall" = ?)"#,
            &[Value::Int(0)],
        ),
        (
            "Contact WHERE DoNotCall != null",
            r#""t0"."donotcall" = ?"#,
            &[Value::Int(1)],
        ),
        (
            "Contact WHERE (LastName = 'a' OR LastName = 'b') AND NOT Email = null",
            r#"((lower("t0"."lastname") = lower(?) OR lower("t0"."lastname") = lower(?)) AND NOT COALESCE("t0"."email" IS NULL, FALSE))"#,
            &[Value::Null, Value::Null],
        ),
        (
            "Contact WHERE NOT (LastName = 'a' AND DoNotCall = true)",
            r#"NOT COALESCE((lower("t0"."lastname") = lower(?) AND "t0"."donotcall" = ?), FALSE)"#,
            &[Value::Null, Value::Int(1)],
        ),
        (
            "Contact WHERE Id = '003A0000005QB3A'",
            r#""t0"."id" = ?"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE AccountId IN ('001A0000006Vm9r', '001A0000006Vm9rIAC')",
            r#""t0"."accountid" IN (?, ?)"#,
            &[Value::Null, Value::Null],
        ),
        (
            "Contact WHERE Birthdate = 1990-05-17",
            r#""t0"."birthdate" = ?"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE Birthdate < 1990-05-17",
            r#""t0"."birthdate" < ?"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE CreatedDate > 2026-11-22T09:30:00+01:00",
            r#""t0"."createddate" > ?"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE Account.Industry = 'Retail'",
            r#"lower("t1"."industry") = lower(?)"#,
            &[Value::Null],
        ),
        (
            "Contact WHERE Contact.LastName = 'x'",
            r#"lower("t0"."lastname") = lower(?)"#,
            &[Value::Null],
        ),
    ];
    for (tail, want, params) in cases {
        let soql = format!("SELECT Id FROM {tail}");
        let p = sqlite(&soql);
        assert_eq!(p.filter.as_deref(), Some(*want), "{soql}");
        // Value::Null in the table means "any text value"; checked below.
        assert_eq!(p.params.len(), params.len(), "{soql}: {:?}", p.params);
        for (got, want) in p.params.iter().zip(params.iter()) {
            if *want == Value::Null {
                assert!(matches!(got, Value::Text(_)), "{soql}: {got:?}");
            } else {
                assert_eq!(got, want, "{soql}");
            }
        }
    }
}

#[test]
fn values_are_normalised_to_their_storage_form() {
    let cases: &[(&str, &[&str])] = &[
        (
            "Contact WHERE Id = '003A0000005QB3A'",
            &["003A0000005QB3AIAW"],
        ),
        (
            "Contact WHERE Id = '003A0000005QB3AIAW'",
            &["003A0000005QB3AIAW"],
        ),
        (
            "Contact WHERE AccountId IN ('001A0000006Vm9r', '001A0000006VM9RIAC')",
            &["001A0000006Vm9rIAC", "001A0000006Vm9rIAC"],
        ),
        ("Contact WHERE Birthdate = 1990-05-17", &["1990-05-17"]),
        (
            "Contact WHERE CreatedDate > 2026-11-22T09:30:00+01:00",
            &["2026-11-22T08:30:00.000+0000"],
        ),
        (
            "Contact WHERE CreatedDate > 2026-11-22T09:30:00Z",
            &["2026-11-22T09:30:00.000+0000"],
        ),
        (
            "Contact WHERE CreatedDate > 2026-11-22T09:30:00.250-0800",
            &["2026-11-22T17:30:00.250+0000"],
        ),
        (
            "Account WHERE Name LIKE '100\\% _sure\\_\\\\'",
            &["100\\% _sure\\_\\\\"],
        ),
        (
            "Account WHERE Name = '100\\% \\'sure\\' \\\\ \\n'",
            &["100% 'sure' \\ \n"],
        ),
        ("Account WHERE Name = 'caf\\u00e9'", &["café"]),
    ];
    for (tail, want) in cases {
        let soql = format!("SELECT Id FROM {tail}");
        let p = sqlite(&soql);
        let want: Vec<Value> = want.iter().map(|s| text(s)).collect();
        assert_eq!(p.params, want, "{soql}");
    }
}

#[test]
fn relative_date_literals_are_ranges_relative_to_now() {
    let cases: &[(&str, &str, &str)] = &[
        ("TODAY", "2026-11-25", "2026-11-26"),
        ("YESTERDAY", "2026-11-24", "2026-11-25"),
        ("TOMORROW", "2026-11-26", "2026-11-27"),
        ("THIS_WEEK", "2026-11-22", "2026-11-29"),
        ("LAST_WEEK", "2026-11-15", "2026-11-22"),
        ("NEXT_WEEK", "2026-11-29", "2026-12-06"),
        ("THIS_MONTH", "2026-11-01", "2026-12-01"),
        ("LAST_MONTH", "2026-10-01", "2026-11-01"),
        ("NEXT_MONTH", "2026-12-01", "2027-01-01"),
        ("THIS_QUARTER", "2026-10-01", "2027-01-01"),
        ("LAST_QUARTER", "2026-07-01", "2026-10-01"),
        ("NEXT_QUARTER", "2027-01-01", "2027-04-01"),
        ("THIS_YEAR", "2026-01-01", "2027-01-01"),
        ("LAST_YEAR", "2025-01-01", "2026-01-01"),
        ("NEXT_YEAR", "2027-01-01", "2028-01-01"),
        ("LAST_N_DAYS:7", "2026-11-18", "2026-11-26"),
        ("last_n_days:0", "2026-11-25", "2026-11-26"),
        ("NEXT_N_DAYS:7", "2026-11-26", "2026-12-03"),
        ("LAST_90_DAYS", "2026-08-27", "2026-11-26"),
        ("NEXT_90_DAYS", "2026-11-26", "2027-02-24"),
        ("LAST_N_WEEKS:2", "2026-11-08", "2026-11-22"),
        ("NEXT_N_MONTHS:2", "2026-12-01", "2027-02-01"),
        ("LAST_N_QUARTERS:1", "2026-07-01", "2026-10-01"),
        ("LAST_N_YEARS:1", "2025-01-01", "2026-01-01"),
        ("NEXT_N_YEARS:2", "2027-01-01", "2029-01-01"),
        ("N_DAYS_AGO:3", "2026-11-22", "2026-11-23"),
        ("N_MONTHS_AGO:11", "2025-12-01", "2026-01-01"),
        ("LAST_N_DAYS:4000000000", "0001-01-01", "2026-11-26"),
        ("NEXT_N_YEARS:4000000000", "2027-01-01", "9999-12-31"),
    ];
    for (lit, from, until) in cases {
        // A Date field compares dates…
        let p = sqlite(&format!(
            "SELECT Id FROM Opportunity WHERE CloseDate = {lit}"
        ));
        assert_eq!(
            p.filter.as_deref(),
            Some(r#"("t0"."closedate" >= ? AND "t0"."closedate" < ?)"#)
        );
        assert_eq!(p.params, vec![text(from), text(until)], "{lit}");
        // …a DateTime field instants.
        let p = sqlite(&format!(
            "SELECT Id FROM Opportunity WHERE CreatedDate = {lit}"
        ));
        let midnight = |d: &str| text(&format!("{d}T00:00:00.000+0000"));
        assert_eq!(p.params, vec![midnight(from), midnight(until)], "{lit}");
    }
}

#[test]
fn operators_on_a_relative_date_compare_with_the_right_end_of_the_range() {
    let today = "2026-11-25T00:00:00.000+0000";
    let tomorrow = "2026-11-26T00:00:00.000+0000";
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "= TODAY",
            r#"("t0"."createddate" >= ? AND "t0"."createddate" < ?)"#,
            &[today, tomorrow],
        ),
        (
            "!= TODAY",
            r#"("t0"."createddate" IS NULL OR "t0"."createddate" < ? OR "t0"."createddate" >= ?)"#,
            &[today, tomorrow],
        ),
        ("> TODAY", r#""t0"."createddate" >= ?"#, &[tomorrow]),
        (">= TODAY", r#""t0"."createddate" >= ?"#, &[today]),
        ("< TODAY", r#""t0"."createddate" < ?"#, &[today]),
        ("<= TODAY", r#""t0"."createddate" < ?"#, &[tomorrow]),
        (
            "IN (TODAY, 2026-01-01T00:00:00Z)",
            r#"("t0"."createddate" IN (?) OR ("t0"."createddate" >= ? AND "t0"."createddate" < ?))"#,
            &["2026-01-01T00:00:00.000+0000", today, tomorrow],
        ),
    ];
    for (cond, want, params) in cases {
        let p = sqlite(&format!("SELECT Id FROM Case WHERE CreatedDate {cond}"));
        assert_eq!(p.filter.as_deref(), Some(*want), "{cond}");
        assert_eq!(
            p.params,
            params.iter().map(|s| text(s)).collect::<Vec<_>>(),
            "{cond}"
        );
    }
}

#[test]
fn errors_carry_salesforce_codes_messages_and_fields() {
    let long = format!(
        "SELECT Id FROM Contact WHERE Name = '{}'",
        "x".repeat(MAX_QUERY_LENGTH)
    );
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "SELECT Name FORM Contact",
            "MALFORMED_QUERY",
            "line 1:12 unexpected token: 'FORM'",
            &[],
        ),
        (
            "SELECT Name\nFROM Contact\n  WHERE",
            "MALFORMED_QUERY",
            "line 3:7 unexpected token: '<EOF>'",
            &[],
        ),
        ("", "MALFORMED_QUERY", "unexpected token: '<EOF>'", &[]),
        (
            "SELECT FROM Contact",
            "MALFORMED_QUERY",
            "unexpected token: 'FROM'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name = 'x",
            "MALFORMED_QUERY",
            "line 1:36 unterminated string",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name # 'x'",
            "MALFORMED_QUERY",
            "no viable alternative at character '#'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name = 'a\\q'",
            "MALFORMED_QUERY",
            "illegal escape sequence '\\q'",
            &[],
        ),
        (
            "SELECT Id FROM Contact LIMIT -1",
            "MALFORMED_QUERY",
            "unexpected token: '-1'",
            &[],
        ),
        (
            "SELECT Id FROM Contact LIMIT 1.5",
            "MALFORMED_QUERY",
            "unexpected token: '1.5'",
            &[],
        ),
        (
            "SELECT Id FROM Contact LIMIT 10abc",
            "MALFORMED_QUERY",
            "no viable alternative",
            &[],
        ),
        (
            "SELECT Id FROM Contact OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
            &[],
        ),
        (
            "SELECT Id FROM Contact LIMIT 99999999999999999999999",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "too large",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
            "MALFORMED_QUERY",
            "'OR'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name = 'a' OR Name = 'b' AND Name = 'c'",
            "MALFORMED_QUERY",
            "'AND'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name NOT LIKE 'a%'",
            "MALFORMED_QUERY",
            "'LIKE'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name IN ()",
            "MALFORMED_QUERY",
            "')'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Id IN (SELECT ContactId FROM Case)",
            "MALFORMED_QUERY",
            "semi-join",
            &[],
        ),
        (
            "SELECT Id, (SELECT Id FROM Cases) FROM Account",
            "MALFORMED_QUERY",
            "subqueries are not supported",
            &[],
        ),
        (
            "SELECT Id FROM Contact WITH SECURITY_ENFORCED",
            "MALFORMED_QUERY",
            "WITH clauses are not supported",
            &[],
        ),
        (
            "SELECT Id FROM Contact FOR VIEW",
            "MALFORMED_QUERY",
            "FOR VIEW",
            &[],
        ),
        (
            "SELECT TYPEOF What WHEN Account THEN Name END FROM Task",
            "MALFORMED_QUERY",
            "TYPEOF",
            &[],
        ),
        (
            "SELECT toLabel(Industry) FROM Account",
            "MALFORMED_QUERY",
            "unsupported function",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-13-01T00:00:00Z",
            "MALFORMED_QUERY",
            "invalid date",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > 2026-11-01T00:00:00",
            "MALFORMED_QUERY",
            "invalid date",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > THIS_FISCAL_YEAR",
            "MALFORMED_QUERY",
            "THIS_FISCAL_YEAR",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate > LAST_N_DAYS",
            "MALFORMED_QUERY",
            "'<EOF>'",
            &[],
        ),
        (
            "SELECT Id FROM Contact WHERE Name = :name",
            "MALFORMED_QUERY",
            "':'",
            &[],
        ),
        (
            "SELECT Id FROM Contact c",
            "MALFORMED_QUERY",
            "unexpected token: 'c'",
            &[],
        ),
        (
            &long,
            "MALFORMED_QUERY",
            "cannot be longer than 100000 characters",
            &[],
        ),
        (
            "SELECT Name FROM Foo",
            "INVALID_TYPE",
            "sObject type 'Foo' is not supported.",
            &[],
        ),
        (
            "SELECT Bogus FROM Contact",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'Contact'.",
            &["Bogus"],
        ),
        (
            "SELECT Id FROM Contact WHERE Bogus = 1",
            "INVALID_FIELD",
            "No such column 'Bogus'",
            &["Bogus"],
        ),
        (
            "SELECT Id FROM Contact ORDER BY Bogus",
            "INVALID_FIELD",
            "No such column 'Bogus'",
            &["Bogus"],
        ),
        (
            "SELECT Account.Bogus FROM Contact",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'Account'.",
            &["Account.Bogus"],
        ),
        (
            "SELECT Foo.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Foo'",
            &["Foo.Name"],
        ),
        (
            "SELECT Email.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Email'",
            &["Email.Name"],
        ),
        (
            "SELECT What.Name FROM Task",
            "INVALID_FIELD",
            "Polymorphic relationship 'What'",
            &["What.Name"],
        ),
        (
            "SELECT Account.Owner.Name FROM Contact",
            "INVALID_FIELD",
            "deeper than one level",
            &["Account.Owner.Name"],
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = 'ten'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type int",
            &["NumberOfEmployees"],
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = 1.5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "type int",
            &["NumberOfEmployees"],
        ),
        (
            "SELECT Id FROM Account WHERE AnnualRevenue = '5'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "type double",
            &["AnnualRevenue"],
        ),
        (
            "SELECT Id FROM Contact WHERE LastName = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "value of filter criterion for field 'LastName' must be of type string and should be enclosed in quotes",
            &["LastName"],
        ),
        (
            "SELECT Id FROM Contact WHERE Id = '003abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: 003abc",
            &["Id"],
        ),
        (
            "SELECT Id FROM Contact WHERE AccountId = 'x\\' OR \\'1\\'=\\'1'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID",
            &["AccountId"],
        ),
        (
            "SELECT Id FROM Contact WHERE DoNotCall > true",
            "INVALID_QUERY_FILTER_OPERATOR",
            "boolean",
            &["DoNotCall"],
        ),
        (
            "SELECT Id FROM Contact WHERE DoNotCall = 'yes'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "boolean",
            &["DoNotCall"],
        ),
        (
            "SELECT Id FROM Contact WHERE CreatedDate = 2026-11-22",
            "INVALID_QUERY_FILTER_OPERATOR",
            "type dateTime",
            &["CreatedDate"],
        ),
        (
            "SELECT Id FROM Contact WHERE Birthdate = '2026-11-22'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "type date",
            &["Birthdate"],
        ),
        (
            "SELECT Id FROM Contact WHERE Birthdate = 2026-11-22T00:00:00Z",
            "INVALID_QUERY_FILTER_OPERATOR",
            "type date",
            &["Birthdate"],
        ),
        (
            "SELECT Id FROM Contact WHERE Email > null",
            "INVALID_QUERY_FILTER_OPERATOR",
            "null",
            &["Email"],
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "LIKE",
            &["NumberOfEmployees"],
        ),
        (
            "SELECT Id FROM Account WHERE Id LIKE '001%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "LIKE",
            &["Id"],
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate LIKE '2026%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "LIKE",
            &["CloseDate"],
        ),
        (
            "SELECT Name, COUNT(Id) FROM Contact",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
            &["Name"],
        ),
        (
            "SELECT COUNT(), Name FROM Contact",
            "MALFORMED_QUERY",
            "COUNT() must be the only",
            &[],
        ),
        (
            "SELECT SUM(Name) FROM Contact",
            "MALFORMED_QUERY",
            "does not support aggregate operator SUM",
            &["Name"],
        ),
        (
            "SELECT MAX(DoNotCall) FROM Contact",
            "MALFORMED_QUERY",
            "does not support aggregate operator MAX",
            &["DoNotCall"],
        ),
        (
            "SELECT Name n FROM Contact",
            "MALFORMED_QUERY",
            "Only aggregate expressions use field aliasing",
            &[],
        ),
        (
            "SELECT Name, name FROM Contact",
            "MALFORMED_QUERY",
            "duplicate field selected: Name",
            &["Name"],
        ),
        (
            "SELECT COUNT(Id) expr1, COUNT(Name), SUM(Amount) FROM Opportunity",
            "MALFORMED_QUERY",
            "duplicate alias: expr1",
            &["expr1"],
        ),
        (
            "SELECT Id FROM Contact WHERE COUNT(Id) > 1",
            "MALFORMED_QUERY",
            "not allowed in WHERE",
            &["Id"],
        ),
        (
            "SELECT Id FROM Contact ORDER BY COUNT(Id)",
            "MALFORMED_QUERY",
            "need an aggregate query",
            &["Id"],
        ),
        (
            "SELECT LeadSource FROM Lead GROUP BY LeadSource ORDER BY Name",
            "MALFORMED_QUERY",
            "Ordered field must be grouped",
            &["Name"],
        ),
        (
            "SELECT LeadSource FROM Lead GROUP BY LeadSource HAVING Name = 'x'",
            "MALFORMED_QUERY",
            "grouped or aggregated",
            &["Name"],
        ),
        (
            "SELECT COUNT(Id) FROM Contact HAVING COUNT(Id) > 1",
            "MALFORMED_QUERY",
            "HAVING can only be used with GROUP BY",
            &[],
        ),
        (
            "SELECT Description FROM Case GROUP BY Description",
            "MALFORMED_QUERY",
            "can not be grouped",
            &["Description"],
        ),
    ];
    for (soql, code, message, fields) in cases {
        let e = err(soql);
        let shown = e.to_string();
        assert_eq!(e.code(), *code, "{soql}: {shown}");
        assert!(
            shown.contains(message),
            "{soql}: {shown:?} lacks {message:?}"
        );
        assert_eq!(e.fields(), *fields, "{soql}: {shown}");
    }
}

#[test]
fn deep_nesting_is_a_clean_error_and_shallow_nesting_works() {
    for depth in [MAX_NESTING + 1, 100, 1_000, 30_000] {
        let soql = format!(
            "SELECT Id FROM Contact WHERE {}Name = 'x'{}",
            "(".repeat(depth),
            ")".repeat(depth)
        );
        assert_eq!(err(&soql).code(), "MALFORMED_QUERY", "{depth}");
        let nots = format!(
            "SELECT Id FROM Contact WHERE {}Name = 'x'",
            "NOT ".repeat(depth)
        );
        assert_eq!(err(&nots).code(), "MALFORMED_QUERY", "{depth}");
    }
    let ok = format!(
        "SELECT Id FROM Contact WHERE {}Name = 'x'{}",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    assert_eq!(
        sqlite(&ok).filter.as_deref(),
        Some(r#"lower("t0"."name") = lower(?)"#)
    );
    // Long flat chains are lists, not nesting.
    let chain = vec!["Name = 'x'"; 5_000].join(" OR ");
    let p = sqlite(&format!("SELECT Id FROM Contact WHERE {chain}"));
    assert_eq!(p.params.len(), 5_000);
}

#[test]
fn a_hand_built_deep_tree_is_refused_by_the_planner_too() {
    let mut e = Expr::Compare {
        left: Operand::Field(FieldPath(vec!["Name".into()])),
        op: CompareOp::Eq,
        value: Literal::String("x".into()),
    };
    for _ in 0..1_000 {
        e = Expr::Not(Box::new(e));
    }
    let mut q = parse("SELECT Id FROM Contact").unwrap();
    q.filter = Some(e);
    assert_eq!(
        plan(&q, Schema::standard(), Dialect::Sqlite, now())
            .unwrap_err()
            .code(),
        "MALFORMED_QUERY"
    );
    q.filter = Some(Expr::In {
        left: Operand::Field(FieldPath(vec!["Name".into()])),
        values: vec![],
        negated: false,
    });
    assert_eq!(
        plan(&q, Schema::standard(), Dialect::Sqlite, now())
            .unwrap()
            .filter
            .as_deref(),
        Some("1 = 0")
    );
}

#[test]
fn parse_builds_the_tree_case_insensitively() {
    let q = parse(
        "select name, account.NAME from contact where (email != null or DoNotCall = TRUE) and \
         createddate > last_n_days:30 and LastName like 'Sm\\_%' group by name having count(id) >= 2 \
         order by name desc nulls first, count(Id) limit 5 offset 10",
    )
    .unwrap();
    let f = |p: &str| FieldPath(p.split('.').map(String::from).collect());
    let cmp = |p: &str, op, value| Expr::Compare {
        left: Operand::Field(f(p)),
        op,
        value,
    };
    let count = Aggregate {
        func: AggregateFn::Count,
        field: f("id"),
    };
    assert_eq!(
        q,
        Query {
            select: vec![
                SelectItem::Field {
                    field: f("name"),
                    alias: None
                },
                SelectItem::Field {
                    field: f("account.NAME"),
                    alias: None
                }
            ],
            from: "contact".into(),
            filter: Some(Expr::And(vec![
                Expr::Or(vec![
                    cmp("email", CompareOp::Ne, Literal::Null),
                    cmp("DoNotCall", CompareOp::Eq, Literal::Bool(true))
                ]),
                cmp(
                    "createddate",
                    CompareOp::Gt,
                    Literal::Relative(RelativeDate::LastN(DateUnit::Day, 30))
                ),
                Expr::Like {
                    left: Operand::Field(f("LastName")),
                    pattern: "Sm\\_%".into()
                },
            ])),
            group_by: vec![ast::Operand::Field(f("name"))],
            having: Some(Expr::Compare {
                left: Operand::Aggregate(count),
                op: CompareOp::Ge,
                value: Literal::Int(2)
            }),
            order_by: vec![
                OrderItem {
                    key: Operand::Field(f("name")),
                    descending: true,
                    nulls_first: Some(true)
                },
                OrderItem {
                    key: Operand::Aggregate(Aggregate {
                        func: AggregateFn::Count,
                        field: f("Id")
                    }),
                    descending: false,
                    nulls_first: None
                },
            ],
            limit: Some(5),
            offset: Some(10),
        }
    );
}

#[test]
fn records_sql_joins_parents_and_orders_stably() {
    let p = sqlite(
        "select name, account.NAME, Owner.Name from CONTACT where Account.Industry = 'Retail' \
         order by Name desc limit 10 offset 5",
    );
    assert_eq!(p.object, "Contact");
    assert_eq!(p.kind, PlanKind::Records);
    let paths: Vec<Vec<&str>> = p
        .columns
        .iter()
        .map(|c| c.path.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        paths,
        vec![vec!["Name"], vec!["Account", "Name"], vec!["Owner", "Name"]]
    );
    assert!(p.columns.iter().all(|c| c.storage == Storage::Text));
    assert_eq!(p.id_column, Some(3));
    assert_eq!(p.row_width(), 6);
    assert_eq!(
        p.relationships,
        vec![
            Relationship {
                name: "Account".into(),
                object: "Account".into(),
                id_column: 4
            },
            Relationship {
                name: "Owner".into(),
                object: "User".into(),
                id_column: 5
            },
        ]
    );
    let from = r#"FROM "sobj_contact" AS "t0" LEFT JOIN "sobj_account" AS "t1" ON "t1"."id" = "t0"."accountid" LEFT JOIN "sobj_user" AS "t2" ON "t2"."id" = "t0"."ownerid" WHERE lower("t1"."industry") = lower(?)"#;
    assert_eq!(
        p.sql(),
        format!(
            r#"SELECT "t0"."name" AS "c0", "t1"."name" AS "c1", "t2"."name" AS "c2", "t0"."id" AS "c3", "t1"."id" AS "c4", "t2"."id" AS "c5" {from} ORDER BY lower("t0"."name") DESC NULLS LAST, "t0"."id" ASC LIMIT 10 OFFSET 5"#
        )
    );
    assert_eq!(
        p.count_sql(),
        format!(r#"SELECT COUNT(*) FROM (SELECT 1 {from} LIMIT 10 OFFSET 5) AS "q""#)
    );
    assert_eq!(p.params, vec![text("Retail")]);
}

#[test]
fn order_by_gets_salesforce_null_placement_and_an_id_tiebreak() {
    let cases: &[(&str, &str)] = &[
        ("", r#""t0"."id" ASC"#),
        (
            "ORDER BY Name",
            r#"lower("t0"."name") ASC NULLS FIRST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY Name ASC",
            r#"lower("t0"."name") ASC NULLS FIRST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY Name DESC",
            r#"lower("t0"."name") DESC NULLS LAST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY Name DESC NULLS FIRST",
            r#"lower("t0"."name") DESC NULLS FIRST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY Name NULLS LAST",
            r#"lower("t0"."name") ASC NULLS LAST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY CreatedDate DESC, Id DESC",
            r#""t0"."createddate" DESC NULLS LAST, "t0"."id" DESC NULLS LAST"#,
        ),
        (
            "ORDER BY Account.Name",
            r#"lower("t1"."name") ASC NULLS FIRST, "t0"."id" ASC"#,
        ),
        (
            "ORDER BY DoNotCall",
            r#""t0"."donotcall" ASC NULLS FIRST, "t0"."id" ASC"#,
        ),
    ];
    for (order, want) in cases {
        let p = sqlite(&format!("SELECT Name FROM Contact {order}"));
        assert_eq!(p.order_by.join(", "), *want, "{order}");
    }
}

#[test]
fn aggregates_are_named_typed_and_grouped() {
    let p = sqlite(
        "SELECT LeadSource, COUNT(Id), MAX(AnnualRevenue) top, SUM(NumberOfEmployees), MIN(CreatedDate), \
         COUNT_DISTINCT(Company) FROM Lead WHERE IsConverted = false GROUP BY LeadSource \
         HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC",
    );
    assert_eq!(p.kind, PlanKind::Aggregate);
    let cols: Vec<(String, Storage)> = p
        .columns
        .iter()
        .map(|c| (c.path.join("."), c.storage))
        .collect();
    assert_eq!(
        cols,
        vec![
            ("LeadSource".into(), Storage::Text),
            ("expr0".into(), Storage::Int),
            ("top".into(), Storage::Float),
            ("expr1".into(), Storage::Float),
            ("expr2".into(), Storage::Text),
            ("expr3".into(), Storage::Int),
        ]
    );
    assert_eq!(p.id_column, None);
    assert_eq!(
        p.sql(),
        r#"SELECT "t0"."leadsource" AS "c0", COUNT(*) AS "c1", MAX("t0"."annualrevenue") AS "c2", CAST(SUM("t0"."numberofemployees") AS REAL) AS "c3", MIN("t0"."createddate") AS "c4", COUNT(DISTINCT "t0"."company") AS "c5" FROM "sobj_lead" AS "t0" WHERE "t0"."isconverted" = ? GROUP BY "t0"."leadsource" HAVING COUNT(*) > ? ORDER BY COUNT(*) DESC NULLS LAST, "t0"."leadsource" ASC NULLS FIRST"#
    );
    assert_eq!(p.params, vec![Value::Int(0), Value::Int(1)]);
    assert_eq!(
        p.count_sql(),
        r#"SELECT COUNT(*) FROM (SELECT 1 FROM "sobj_lead" AS "t0" WHERE "t0"."isconverted" = ? GROUP BY "t0"."leadsource" HAVING COUNT(*) > ?) AS "q""#
    );
}

#[test]
fn aggregate_order_by_may_name_aliases_and_grouped_fields() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT Industry ind, COUNT(Id) n FROM Account GROUP BY Industry ORDER BY n DESC, ind",
            r#"COUNT(*) DESC NULLS LAST, lower("t0"."industry") ASC NULLS FIRST, "t0"."industry" ASC NULLS FIRST"#,
        ),
        (
            "SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry ORDER BY expr0",
            r#"COUNT(*) ASC NULLS FIRST, "t0"."industry" ASC NULLS FIRST"#,
        ),
        (
            "SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name ORDER BY Account.Name",
            r#"lower("t1"."name") ASC NULLS FIRST, "t1"."name" ASC NULLS FIRST"#,
        ),
        ("SELECT COUNT(Id) FROM Contact", ""),
    ];
    for (soql, want) in cases {
        assert_eq!(sqlite(soql).order_by.join(", "), *want, "{soql}");
    }
    // A grouped parent field is named by its field name, as AggregateResult does.
    let p = sqlite("SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name");
    assert_eq!(p.columns[0].path, vec!["Name".to_string()]);
}

#[test]
fn count_only_queries_count() {
    let cases: &[(&str, &str)] = &[
        (
            "SELECT COUNT() FROM Contact",
            r#"SELECT COUNT(*) FROM "sobj_contact" AS "t0""#,
        ),
        (
            "SELECT count() FROM Contact WHERE Account.Name = 'Acme'",
            r#"SELECT COUNT(*) FROM "sobj_contact" AS "t0" LEFT JOIN "sobj_account" AS "t1" ON "t1"."id" = "t0"."accountid" WHERE lower("t1"."name") = lower(?)"#,
        ),
        (
            "SELECT COUNT() FROM Contact LIMIT 5",
            r#"SELECT COUNT(*) FROM (SELECT 1 FROM "sobj_contact" AS "t0" LIMIT 5) AS "q""#,
        ),
        (
            "SELECT COUNT() FROM Contact GROUP BY AccountId",
            r#"SELECT COUNT(*) FROM (SELECT 1 FROM "sobj_contact" AS "t0" GROUP BY "t0"."accountid") AS "q""#,
        ),
    ];
    for (soql, want) in cases {
        let p = sqlite(soql);
        assert_eq!(p.kind, PlanKind::CountOnly);
        assert!(p.columns.is_empty());
        assert_eq!(p.sql(), *want, "{soql}");
        assert_eq!(p.count_sql(), *want, "{soql}");
        assert_eq!(p.page_sql(0, 100), *want, "{soql}");
    }
    // An aggregate query without GROUP BY has exactly one row.
    let p = sqlite("SELECT COUNT(Id) FROM Contact");
    assert_eq!(
        p.count_sql(),
        r#"SELECT COUNT(*) FROM (SELECT COUNT(*) FROM "sobj_contact" AS "t0") AS "q""#
    );
}

#[test]
fn pages_are_cut_within_the_querys_own_limit_and_offset() {
    let base = r#"SELECT "t0"."name" AS "c0", "t0"."id" AS "c1" FROM "sobj_contact" AS "t0" ORDER BY "t0"."id" ASC"#;
    // (query tail, page offset, page limit, expected window, dialect)
    let cases: &[(&str, u64, u64, &str, Dialect)] = &[
        ("", 0, 2000, " LIMIT 2000", Dialect::Sqlite),
        ("", 2000, 2000, " LIMIT 2000 OFFSET 2000", Dialect::Sqlite),
        (
            " LIMIT 10 OFFSET 5",
            0,
            3,
            " LIMIT 3 OFFSET 5",
            Dialect::Sqlite,
        ),
        (
            " LIMIT 10 OFFSET 5",
            8,
            4,
            " LIMIT 2 OFFSET 13",
            Dialect::Sqlite,
        ),
        (
            " LIMIT 10 OFFSET 5",
            10,
            4,
            " LIMIT 0 OFFSET 15",
            Dialect::Sqlite,
        ),
        (
            " LIMIT 10 OFFSET 5",
            50,
            4,
            " LIMIT 0 OFFSET 55",
            Dialect::Sqlite,
        ),
        (" OFFSET 5", 0, 100, " LIMIT 100 OFFSET 5", Dialect::Sqlite),
        (" LIMIT 0", 0, 100, " LIMIT 0", Dialect::Sqlite),
        (
            "",
            u64::MAX,
            u64::MAX,
            " LIMIT 9223372036854775807 OFFSET 9223372036854775807",
            Dialect::Sqlite,
        ),
        (" LIMIT 10", 4, 100, " LIMIT 6 OFFSET 4", Dialect::Postgres),
    ];
    for (tail, offset, limit, window, dialect) in cases {
        let p = compile_in(&format!("SELECT Name FROM Contact{tail}"), *dialect);
        assert_eq!(
            p.page_sql(*offset, *limit),
            format!("{base}{window}"),
            "{tail} {offset} {limit}"
        );
    }
    let sql = |tail: &str, d| compile_in(&format!("SELECT Name FROM Contact{tail}"), d).sql();
    assert_eq!(
        sql(" OFFSET 5", Dialect::Sqlite),
        format!("{base} LIMIT -1 OFFSET 5")
    );
    assert_eq!(
        sql(" OFFSET 5", Dialect::Postgres),
        format!("{base} OFFSET 5")
    );
    assert_eq!(
        sql(" LIMIT 7", Dialect::Postgres),
        format!("{base} LIMIT 7")
    );
    assert_eq!(sql(" OFFSET 0", Dialect::Sqlite), base);
    let count = |tail: &str| {
        compile_in(&format!("SELECT Name FROM Contact{tail}"), Dialect::Sqlite).count_sql()
    };
    assert_eq!(count(""), r#"SELECT COUNT(*) FROM "sobj_contact" AS "t0""#);
    assert_eq!(
        count(" OFFSET 3"),
        r#"SELECT COUNT(*) FROM (SELECT 1 FROM "sobj_contact" AS "t0" LIMIT -1 OFFSET 3) AS "q""#
    );
}

#[test]
fn postgres_numbers_and_casts_its_placeholders() {
    let p = compile_in(
        "SELECT StageName, SUM(Amount), AVG(Probability), COUNT(Id) FROM Opportunity \
         WHERE Name LIKE 'Big%' AND Amount > 10 AND IsWon = true AND CloseDate = THIS_YEAR \
         GROUP BY StageName HAVING SUM(Amount) > 100",
        Dialect::Postgres,
    );
    assert_eq!(
        p.sql(),
        r#"SELECT "t0"."stagename" AS "c0", CAST(SUM("t0"."amount") AS DOUBLE PRECISION) AS "c1", CAST(AVG("t0"."probability") AS DOUBLE PRECISION) AS "c2", COUNT(*) AS "c3" FROM "sobj_opportunity" AS "t0" WHERE ("t0"."name" ILIKE $1::text AND "t0"."amount" > $2::double precision AND "t0"."iswon" = $3::bigint AND ("t0"."closedate" >= $4::text AND "t0"."closedate" < $5::text)) GROUP BY "t0"."stagename" HAVING CAST(SUM("t0"."amount") AS DOUBLE PRECISION) > $6::double precision ORDER BY "t0"."stagename" ASC NULLS FIRST"#
    );
    assert_eq!(
        p.params,
        vec![
            text("Big%"),
            Value::Float(10.0),
            Value::Int(1),
            text("2026-01-01"),
            text("2027-01-01"),
            Value::Float(100.0),
        ]
    );
    assert_eq!(p.dialect(), Dialect::Postgres);
}

#[test]
fn values_never_reach_the_sql_text() {
    let evil = [
        "x' OR '1'='1",
        "'; DROP TABLE sobj_contact; --",
        "\" OR \"\"=\"",
        "x\\' OR 1=1 --",
    ];
    for value in evil {
        let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
        for template in [
            "SELECT Id FROM Contact WHERE LastName = '{}'",
            "SELECT Id FROM Contact WHERE LastName LIKE '{}'",
            "SELECT Id FROM Contact WHERE LastName IN ('a', '{}')",
            "SELECT Id FROM Contact WHERE Account.Name != '{}'",
            "SELECT LastName, COUNT(Id) FROM Contact GROUP BY LastName HAVING MAX(Email) = '{}'",
        ] {
            let soql = template.replace("{}", &quoted);
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let p = compile_in(&soql, dialect);
                // A LIKE pattern keeps a literal backslash escaped.
                let bound = if soql.contains("LIKE") {
                    value.replace('\\', "\\\\")
                } else {
                    value.to_string()
                };
                assert!(p.params.contains(&text(&bound)), "{soql}: {:?}", p.params);
                for sql in [p.sql(), p.count_sql(), p.page_sql(1, 2)] {
                    assert!(!sql.contains(value), "{sql}");
                    assert!(
                        !sql.contains("DROP") && !sql.contains("'1'") && !sql.contains("1=1"),
                        "{sql}"
                    );
                }
            }
        }
    }
}

#[test]
fn date_functions_parse_plan_and_refuse_what_salesforce_refuses() {
    let p = sqlite("SELECT DAY_ONLY(CallStartDateTime) d, COUNT(Id) FROM VoiceCall GROUP BY DAY_ONLY(CallStartDateTime)");
    assert!(p.sql().contains(r#"substr("t0"."callstartdatetime", 1, 10) AS "c0""#), "{}", p.sql());
    assert!(p.sql().contains(r#"GROUP BY substr("t0"."callstartdatetime", 1, 10)"#), "{}", p.sql());
    let pg = compile_in("SELECT DAY_IN_WEEK(CallStartDateTime), COUNT(Id) FROM VoiceCall GROUP BY DAY_IN_WEEK(CallStartDateTime)", Dialect::Postgres);
    assert!(pg.sql().contains("EXTRACT(DOW FROM CAST("), "{}", pg.sql());
    // An unaliased date function is named exprN, like an aggregate.
    let p = sqlite("SELECT HOUR_IN_DAY(CallStartDateTime), COUNT(Id) FROM VoiceCall GROUP BY HOUR_IN_DAY(CallStartDateTime)");
    let names: Vec<String> = p.columns.iter().map(|c| c.path.join(".")).collect();
    assert_eq!(names, vec!["expr0", "expr1"]);
    // Must be grouped; needs a date-time; not on text; not in a record query.
    for bad in [
        "SELECT DAY_ONLY(CallStartDateTime), COUNT(Id) FROM VoiceCall GROUP BY CallType",
        "SELECT DAY_ONLY(CallStartDateTime) FROM VoiceCall",
        "SELECT HOUR_IN_DAY(Birthdate), COUNT(Id) FROM Contact GROUP BY HOUR_IN_DAY(Birthdate)",
        "SELECT COUNT(Id) FROM Contact GROUP BY CALENDAR_YEAR(LastName)",
        "SELECT CallType, COUNT(Id) FROM VoiceCall GROUP BY CallType ORDER BY DAY_ONLY(CallStartDateTime)",
        "SELECT COUNT(Id) FROM VoiceCall GROUP BY COUNT(Id)",
    ] {
        assert_eq!(err(bad).code(), "MALFORMED_QUERY", "{bad}");
    }
    // Date functions of dates work (no time part needed), and in WHERE.
    sqlite("SELECT CALENDAR_MONTH(Birthdate) m, COUNT(Id) FROM Contact GROUP BY CALENDAR_MONTH(Birthdate)");
    let w = sqlite("SELECT Id FROM VoiceCall WHERE HOUR_IN_DAY(CallStartDateTime) >= 9 AND DAY_ONLY(CallStartDateTime) = 2026-12-05");
    assert_eq!(w.params.len(), 2);
}

#[test]
fn convert_timezone_converts_inside_date_functions_in_the_zone_planned_in() {
    let q = "SELECT HOUR_IN_DAY(convertTimezone(CallStartDateTime)) h, COUNT(Id) FROM VoiceCall GROUP BY HOUR_IN_DAY(convertTimezone(CallStartDateTime))";
    let ny = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let zoned = |dialect| crate::compile_in(q, Schema::standard(), dialect, now(), None, Some(&ny)).unwrap().sql().to_string();
    let lite = zoned(Dialect::Sqlite);
    assert!(lite.contains(r#"CAST(substr(dt_local("t0"."callstartdatetime", 'America/New_York'), 12, 2) AS INTEGER) AS "c0""#), "{lite}");
    assert!(lite.contains(r#"GROUP BY CAST(substr(dt_local("t0"."callstartdatetime", 'America/New_York'), 12, 2) AS INTEGER)"#), "{lite}");
    assert!(zoned(Dialect::Postgres).contains("AT TIME ZONE 'America/New_York'"));
    // No zone (or UTC): the stored UTC, as without it; the written form round-trips.
    assert_eq!(sqlite(q).sql(), sqlite(&q.replace("convertTimezone(CallStartDateTime)", "CallStartDateTime")).sql());
    assert_eq!(crate::compile_in(q, Schema::standard(), Dialect::Sqlite, now(), None, Some(&jiff::tz::TimeZone::UTC)).unwrap().sql(), sqlite(q).sql());
    let parsed = crate::parse(q).unwrap();
    assert!(format!("{:?}", parsed.select).contains("local: true"));
    // Only a date-time, only inside a date function, and a zone is a name, never SQL.
    for bad in [
        "SELECT DAY_ONLY(convertTimezone(Birthdate)), COUNT(Id) FROM Contact GROUP BY DAY_ONLY(convertTimezone(Birthdate))",
        "SELECT convertTimezone(CallStartDateTime) FROM VoiceCall",
        "SELECT DAY_ONLY(convertTimezone(CallStartDateTime), COUNT(Id) FROM VoiceCall",
    ] {
        assert_eq!(err(bad).code(), "MALFORMED_QUERY", "{bad}");
    }
    // A zone the SQL could not name (a bare offset) is refused, not guessed.
    let fixed = jiff::tz::TimeZone::fixed(jiff::tz::offset(-5));
    let refused = crate::compile_in(q, Schema::standard(), Dialect::Sqlite, now(), None, Some(&fixed));
    assert_eq!(refused.map(|p| p.sql().to_string()).unwrap_err().code(), "MALFORMED_QUERY");
    assert!(crate::check_zone("UTC') OR 1=1 --").is_err(), "a name is letters, digits and _+-/ only");
    // TODAY is the zone's today: at 15:45 UTC on 25 November it is the 26th in Tokyo.
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let p = crate::compile_in("SELECT Id FROM VoiceCall WHERE CallStartDateTime = TODAY", Schema::standard(), Dialect::Sqlite, now(), None, Some(&tokyo)).unwrap();
    assert_eq!(p.params, vec![text("2026-11-25T15:00:00.000+0000"), text("2026-11-26T15:00:00.000+0000")]);
    let d = crate::compile_in("SELECT Id FROM Contact WHERE Birthdate = TODAY", Schema::standard(), Dialect::Sqlite, now(), None, Some(&tokyo)).unwrap();
    assert_eq!(d.params, vec![text("2026-11-26"), text("2026-11-27")], "a Date field's TODAY is the zone's date too");
}
