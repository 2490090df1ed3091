//! The compiled form of a query, and how it is rendered as SQL text.

use dialtone_model::{Storage, Value};

/// The SQL dialect to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite: `?` placeholders, bound in order.
    Sqlite,
    /// PostgreSQL: `$1`, `$2`, … placeholders, each with an explicit cast
    /// (`::bigint`, `::double precision`, `::text`) matching its [`Value`].
    Postgres,
}

/// What a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Rows of records (`SELECT Name, Account.Name FROM Contact`).
    Records,
    /// Only a count (`SELECT COUNT() FROM Contact`): every SQL form returns one
    /// row with one integer column.
    CountOnly,
    /// Aggregate rows (`SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource`).
    Aggregate,
}

/// One column of the result, in SELECT order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// Where the value goes in the JSON record: `["Name"]`,
    /// `["Account", "Name"]` (a parent's field, Records only), or the output
    /// name of an aggregate row: `["expr0"]`, `["cnt"]`, `["LeadSource"]`.
    pub path: Vec<String>,
    /// How to read the SQL column. `Bool` columns hold 0/1 integers.
    pub storage: Storage,
}

/// A parent relationship whose fields a Records plan selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The relationship name, the first element of its columns' paths (`Account`).
    pub name: String,
    /// The parent object (`Account`), for the nested record's `attributes`.
    pub object: String,
    /// The SQL column holding the parent's Id (NULL when there is no parent:
    /// render the relationship as `null`).
    pub id_column: usize,
}

/// A query compiled for one dialect. The SQL forms share `params`.
///
/// A row of [`Plan::sql`] / [`Plan::page_sql`] holds `columns.len()` columns,
/// in order, and for Records plans then the hidden columns: the record's Id at
/// [`Plan::id_column`], then each relationship's parent Id.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The canonical object name.
    pub object: String,
    pub kind: PlanKind,
    /// The visible columns, in SELECT order (empty for `CountOnly`).
    pub columns: Vec<OutputColumn>,
    /// Values to bind, in order. Already in storage form: `Int` for integer and
    /// boolean columns (booleans as 0/1), `Float`, `Text` (ids as 18
    /// characters, dates `YYYY-MM-DD`, date-times `YYYY-MM-DDTHH:MM:SS.sss+0000`).
    /// Never `Bool` or `Null`.
    pub params: Vec<Value>,
    /// The query's own LIMIT.
    pub limit: Option<u64>,
    /// The query's own OFFSET.
    pub offset: Option<u64>,
    /// Records plans: the SQL column holding the record's Id.
    pub id_column: Option<usize>,
    /// Records plans: the parent relationships with selected fields.
    pub relationships: Vec<Relationship>,
    pub(crate) dialect: Dialect,
    /// Select expressions, each already `… AS "cN"`, hidden ones included.
    pub(crate) select: Vec<String>,
    /// `"sobj_x" AS "t0" LEFT JOIN …`.
    pub(crate) from: String,
    pub(crate) filter: Option<String>,
    pub(crate) group_by: Vec<String>,
    pub(crate) having: Option<String>,
    pub(crate) order_by: Vec<String>,
}

/// LIMIT and OFFSET values beyond this are clamped (SQL takes signed 64-bit).
const MAX_SQL_INT: u64 = i64::MAX as u64;

impl Plan {
    /// The dialect this plan was compiled for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// How many columns each row of [`Plan::sql`] / [`Plan::page_sql`] has:
    /// for Records plans `columns.len()` plus the hidden Id columns (read those
    /// as text), for Aggregate plans `columns.len()`, for CountOnly plans 1.
    pub fn row_width(&self) -> usize {
        match self.kind {
            PlanKind::CountOnly => 1,
            _ => self.select.len(),
        }
    }

    /// The full query, with the query's own LIMIT and OFFSET. For `CountOnly`
    /// plans this is [`Plan::count_sql`].
    pub fn sql(&self) -> String {
        match self.kind {
            PlanKind::CountOnly => self.count_sql(),
            _ => self.select_sql(self.limit, self.offset),
        }
    }

    /// Rows `offset .. offset + limit` of the query's result (the result being
    /// already cut by the query's own LIMIT/OFFSET): for `… LIMIT 10 OFFSET 5`,
    /// `page_sql(8, 4)` returns rows 13 and 14 of the table order. For
    /// `CountOnly` plans this is [`Plan::count_sql`].
    pub fn page_sql(&self, offset: u64, limit: u64) -> String {
        if self.kind == PlanKind::CountOnly {
            return self.count_sql();
        }
        let start = self.offset.unwrap_or(0).saturating_add(offset);
        let room = match self.limit {
            Some(l) => l.saturating_sub(offset).min(limit),
            None => limit,
        };
        self.select_sql(Some(room), Some(start))
    }

    /// `SELECT COUNT(*)` of the rows [`Plan::sql`] returns: the query's
    /// LIMIT/OFFSET applied, and for grouped queries the number of groups (an
    /// aggregate query without GROUP BY has one row). One row, one integer
    /// column. This is Salesforce's `totalSize`.
    pub fn count_sql(&self) -> String {
        let single_row = self.kind == PlanKind::Aggregate && self.group_by.is_empty();
        let windowed = self.limit.is_some() || self.offset.is_some_and(|o| o > 0);
        if !windowed && !single_row && self.group_by.is_empty() {
            return format!("SELECT COUNT(*){}", self.body());
        }
        let inner = if single_row { "COUNT(*)" } else { "1" };
        format!(
            "SELECT COUNT(*) FROM (SELECT {inner}{}{}) AS \"q\"",
            self.body(),
            self.window(self.limit, self.offset)
        )
    }

    fn select_sql(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        let mut s = format!("SELECT {}{}", self.select.join(", "), self.body());
        if !self.order_by.is_empty() {
            s.push_str(" ORDER BY ");
            s.push_str(&self.order_by.join(", "));
        }
        s.push_str(&self.window(limit, offset));
        s
    }

    /// FROM, WHERE, GROUP BY and HAVING.
    fn body(&self) -> String {
        let mut s = format!(" FROM {}", self.from);
        if let Some(w) = &self.filter {
            s.push_str(" WHERE ");
            s.push_str(w);
        }
        if !self.group_by.is_empty() {
            s.push_str(" GROUP BY ");
            s.push_str(&self.group_by.join(", "));
        }
        if let Some(h) = &self.having {
            s.push_str(" HAVING ");
            s.push_str(h);
        }
        s
    }

    fn window(&self, limit: Option<u64>, offset: Option<u64>) -> String {
        let limit = limit.map(|l| l.min(MAX_SQL_INT));
        let offset = offset.filter(|&o| o > 0).map(|o| o.min(MAX_SQL_INT));
        match (self.dialect, limit, offset) {
            (_, None, None) => String::new(),
            (_, Some(l), None) => format!(" LIMIT {l}"),
            (_, Some(l), Some(o)) => format!(" LIMIT {l} OFFSET {o}"),
            // SQLite needs a LIMIT before OFFSET; -1 means none.
            (Dialect::Sqlite, None, Some(o)) => format!(" LIMIT -1 OFFSET {o}"),
            (Dialect::Postgres, None, Some(o)) => format!(" OFFSET {o}"),
        }
    }
}
