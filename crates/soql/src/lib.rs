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

mod ast;
mod dates;
mod error;
mod lexer;
mod parser;
mod plan;
mod sql;

pub use ast::{
    Aggregate, AggregateFn, CompareOp, DateUnit, Expr, FieldPath, Literal, Operand, OrderItem,
    Query, RelativeDate, SelectItem,
};
pub use error::SoqlError;
pub use parser::{MAX_NESTING, MAX_QUERY_LENGTH, parse};
pub use plan::{MAX_OFFSET, MAX_PARAMS, plan};
pub use sql::{Dialect, OutputColumn, Plan, PlanKind, Relationship};

use dialtone_model::Schema;
use time::OffsetDateTime;

/// Parses and plans in one step: `plan(&parse(soql)?, …)`.
pub fn compile(
    soql: &str,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
) -> Result<Plan, SoqlError> {
    plan(&parse(soql)?, schema, dialect, now)
}

#[cfg(test)]
mod tests;
