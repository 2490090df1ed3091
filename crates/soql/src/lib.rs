//! A sans-IO SOQL front end: [`parse`] a query, resolve it against the
//! [`Schema`] and compile it to parameterised SQL ([`plan`], or both at once
//! with [`compile`]). No I/O and no clock: the caller passes `now`.
//!
//! ```
//! use dialtone_model::{Schema, Storage, Value};
//! use dialtone_soql::{Dialect, PlanKind, compile};
//!
//! let now = time::macros::datetime!(2026-11-25 15:45 UTC);
//! let soql = "SELECT Name, Account.Name FROM Contact WHERE LastName = 'Lovelace' AND CreatedDate = TODAY";
//! let plan = compile(soql, Schema::standard(), Dialect::Sqlite, now)?;
//! assert_eq!(plan.kind, PlanKind::Records);
//! assert_eq!(plan.columns[1].path, ["Account", "Name"]);
//! assert_eq!(plan.columns[1].storage, Storage::Text);
//! assert_eq!(plan.params, [
//!     Value::Text("Lovelace".into()),
//!     Value::Text("2026-11-25T00:00:00.000+0000".into()),
//!     Value::Text("2026-11-26T00:00:00.000+0000".into()),
//! ]);
//! assert!(plan.sql().contains(r#"LEFT JOIN "sobj_account" AS "t1" ON "t1"."id" = "t0"."accountid""#));
//! # Ok::<(), dialtone_soql::SoqlError>(())
//! ```
//!
//! # Supported SOQL
//!
//! ```text
//! SELECT item, item … FROM Object
//!   [WHERE condition]
//!   [GROUP BY field, …] [HAVING condition]
//!   [ORDER BY key [ASC|DESC] [NULLS FIRST|LAST], …]
//!   [LIMIT n] [OFFSET n]
//! ```
//!
//! - Keywords, object and field names are case-insensitive; results use the
//!   canonical API names.
//! - SELECT items: fields (`Name`), parent fields one level up through a
//!   single-target lookup (`Account.Name`, `Owner.Name`, `CreatedBy.Name`),
//!   optionally prefixed with the object name (`Contact.Name`); `COUNT()` alone
//!   (count-only result); aggregates `COUNT(f)`, `COUNT_DISTINCT(f)`, `SUM`,
//!   `AVG`, `MIN`, `MAX`, with an optional alias (`COUNT(Id) cnt`). Unaliased
//!   aggregates are named `expr0`, `expr1`, … Fields beside aggregates must be
//!   grouped; in aggregate queries fields may be aliased too.
//! - Conditions: `= != <> < <= > >=`, `LIKE` (case-insensitive, `%` and `_`
//!   wildcards, `\%` `\_` literal), `IN (…)`, `NOT IN (…)`, `AND`, `OR`, `NOT`,
//!   parentheses. As in Salesforce, AND and OR cannot mix at one level without
//!   parentheses. `= null` / `!= null` test for null; `!=` and `NOT IN` also
//!   match nulls, and `NOT` treats a comparison with null as false (SOQL has
//!   no "unknown"). Text comparisons ignore case, as Salesforce's do.
//! - HAVING conditions on aggregates and grouped fields; ORDER BY of aggregate
//!   queries may name aggregates, aliases and `exprN`.
//! - Literals: `'strings'` with Salesforce's escapes (`\' \" \\ \n \r \t \b \f
//!   \uXXXX \% \_`), numbers, `true`, `false`, `null`, dates `2026-11-22`,
//!   date-times `2026-11-22T09:30:00Z` / `…+01:00`, and the relative date
//!   literals `TODAY`, `YESTERDAY`, `TOMORROW`, `THIS_`/`LAST_`/`NEXT_` +
//!   `WEEK`/`MONTH`/`QUARTER`/`YEAR`, `LAST_90_DAYS`, `NEXT_90_DAYS`,
//!   `LAST_N_DAYS:n`, `NEXT_N_DAYS:n` (and `_WEEKS`, `_MONTHS`, `_QUARTERS`,
//!   `_YEARS`), `N_DAYS_AGO:n` (and the other units). They are UTC ranges;
//!   weeks start on Sunday. On a date-time field a relative literal is a range
//!   of instants (`CreatedDate = TODAY` is today 00:00 to tomorrow 00:00), on a
//!   date field a range of dates.
//! - Values are checked and converted to the field's storage at plan time:
//!   ids are normalised to 18 characters, dates and date-times to their stored
//!   text form; a value of the wrong type is an error.
//!
//! # Not supported
//!
//! Relationship subqueries (`SELECT (SELECT … FROM Contacts) …`), semi-joins
//! and anti-joins (`Id IN (SELECT …)`), `TYPEOF`, polymorphic relationships
//! (`What.Name`, `Who.Name`), relationship paths deeper than one level,
//! `FROM` aliases, `WITH` (`SECURITY_ENFORCED`, data categories), `FOR VIEW` /
//! `FOR REFERENCE` / `FOR UPDATE`, `USING SCOPE`, `UPDATE TRACKING`,
//! `GROUP BY ROLLUP/CUBE`, `FIELDS(…)`, functions other than the aggregates
//! (`toLabel`, `FORMAT`, `convertCurrency`, date functions such as
//! `CALENDAR_YEAR`), `INCLUDES`/`EXCLUDES`, bind variables, fiscal-period
//! date literals, and locales (everything is UTC, weeks start on Sunday).
//!
//! # Limits
//!
//! Queries are at most 100,000 characters; conditions nest at most 64 levels;
//! OFFSET is at most 2000 (`NUMBER_OUTSIDE_VALID_RANGE`); no input panics.
//!
//! # The SQL
//!
//! Every value is a bound parameter (see [`Plan::params`]); the SQL text holds
//! only identifiers from the schema and the integers of LIMIT and OFFSET. The
//! store's layout: one table per object ([`dialtone_model::ObjectDef::table`])
//! with one column per field, named by the lower-cased API name.
//!
//! # Access
//!
//! [`plan`] and [`compile`] see everything: they are for the system's own
//! queries. A user's query goes through [`plan_for`] / [`compile_for`] with
//! their [`dialtone_access::Grants`] — the access crate decides, the planner
//! compiles, on the same code path:
//!
//! - **Objects.** The FROM object needs `Read`, or it does not exist for the
//!   user (`INVALID_TYPE`, exactly the error of a misspelt object). A parent
//!   relationship needs `Read` on the parent object and on its lookup field,
//!   or it is not understood (`INVALID_FIELD`, `Didn't understand
//!   relationship …`).
//! - **Fields.** A field the user cannot read does not exist for them,
//!   wherever the query names it — SELECT, WHERE, GROUP BY, HAVING, ORDER BY,
//!   aggregates, parent fields — with exactly the error of a field that does
//!   not exist (`INVALID_FIELD`, `No such column …`). So filtering on a hidden
//!   field is no side channel. `Id` and `COUNT()` need only the object.
//! - **Rows.** The user's visibility of the FROM object
//!   ([`dialtone_access::Grants::rows`]) is ANDed into WHERE after the query's
//!   own condition, which is put in parentheses. COUNT(), aggregates,
//!   `totalSize` and paging count only those rows.
//! - **Parents.** A parent's own visibility goes into its LEFT JOIN's ON
//!   clause: a parent the user cannot see joins as NULL (render the
//!   relationship as `null`) and matches no condition on its fields.
//!
//! A scope compiles to a disjunction equivalent to
//! [`dialtone_access::Scope::admits`] (`Visibility::All` adds nothing;
//! `Visibility::None` and an empty disjunction are `1 = 0`):
//!
//! ```text
//! ( t."ownerid" IN (?, …)                              -- owners (objects with OwnerId)
//!   OR (lower(t."status") = lower(?) AND t."isclosed" = ?)  -- each criteria set, typed
//!   OR t."id" IN (SELECT s."record_id" FROM "dt_shares" AS s
//!                 WHERE s."principal" IN (?, …) AND s."level" >= ?) )  -- manual shares
//!
//! t."voicecallid" IN (SELECT v."id" FROM "sobj_voicecall" AS v WHERE <VoiceCall's scope on v>)
//!                                                      -- controlled by the parent
//! ```
//!
//! Criteria values are compared as the planner compares literals: text
//! ignoring case, booleans from `true`/`false`, numbers and dates parsed; a
//! value the field can never hold (or an empty one) makes its set match
//! nothing. [`record_visible_plan`] checks one record for REST reads
//! ([`dialtone_access::Mode::Read`]) and updates and deletes
//! ([`dialtone_access::Mode::Edit`]); [`visibility_sql`] gives the bare
//! condition for read paths that are not SOQL. The store keeps manual shares
//! in [`SHARES_TABLE`].

mod ast;
mod dates;
mod error;
mod lexer;
mod parser;
mod plan;
mod restrict;
mod sql;

pub use ast::{
    Aggregate, AggregateFn, CompareOp, DateUnit, Expr, FieldPath, Literal, Operand, OrderItem,
    Query, RelativeDate, SelectItem,
};
pub use dates::{local_date, local_midnight};
pub use error::SoqlError;
pub use parser::{MAX_NESTING, MAX_QUERY_LENGTH, parse};
pub use plan::{MAX_OFFSET, MAX_PARAMS, check_zone, plan};
pub use restrict::{SHARES_TABLE, compile_for, plan_for, record_visible_plan, visibility_sql};
pub use sql::{Dialect, OutputColumn, Plan, PlanKind, Relationship};

use dialtone_model::Schema;
use time::OffsetDateTime;

/// Parses and plans in one step: `plan(&parse(soql)?, …)`. Unrestricted, for
/// the system's own queries; a user's go through [`compile_for`].
pub fn compile(
    soql: &str,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
) -> Result<Plan, SoqlError> {
    plan(&parse(soql)?, schema, dialect, now)
}

/// [`compile`] (without `grants`) or [`compile_for`] (with them) for a user
/// in `zone` (found by its IANA name, e.g. `America/New_York`; `UTC` or
/// `None`: none), as Salesforce plans a user's query: date functions'
/// `convertTimezone(field)` convert to it, and date literals (`TODAY`,
/// `LAST_N_DAYS:7`, …) are its days, from local midnight to local midnight.
pub fn compile_in(
    soql: &str,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
    grants: Option<&dialtone_access::Grants>,
    zone: Option<&jiff::tz::TimeZone>,
) -> Result<Plan, SoqlError> {
    let q = parse(soql)?;
    let access = grants.map(|grants| restrict::Access { grants, mode: dialtone_access::Mode::Read });
    plan::plan_with(&q, schema, dialect, now, access, zone)
}

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod tests;
