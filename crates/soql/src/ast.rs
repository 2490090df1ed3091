//! The syntax tree [`crate::parse`] produces. Names are kept as written;
//! the planner resolves them against the schema.

use std::fmt;
use time::{Date, OffsetDateTime};

/// A parsed `SELECT` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    /// The object after FROM, as written.
    pub from: String,
    /// The WHERE condition.
    pub filter: Option<Expr>,
    /// GROUP BY keys: fields or date functions (never aggregates).
    pub group_by: Vec<Operand>,
    pub having: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// A field, possibly through a parent relationship: `Name`, `Account.Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(pub Vec<String>);

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// One element of the SELECT list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `COUNT()`: the query returns only the number of rows.
    CountAll,
    /// A field, with an alias (only meaningful in aggregate queries).
    Field {
        field: FieldPath,
        alias: Option<String>,
    },
    /// An aggregate function, e.g. `COUNT(Id) cnt`.
    Aggregate {
        call: Aggregate,
        alias: Option<String>,
    },
    /// A date function of a grouped field, e.g. `DAY_ONLY(CreatedDate) day`
    /// (aggregate queries only).
    Date {
        call: DateFunction,
        alias: Option<String>,
    },
}

/// `FUNC(field)` for a date function: `HOUR_IN_DAY(CallStartDateTime)`.
/// Date-times are taken in UTC (Dialtone stores them in UTC), or, written
/// `HOUR_IN_DAY(convertTimezone(CallStartDateTime))`, in the time zone the
/// query is planned in (the user's, as in Salesforce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFunction {
    pub func: DateFn,
    pub field: FieldPath,
    /// Wrapped in `convertTimezone(…)`.
    pub local: bool,
}

impl fmt::Display for DateFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.local {
            write!(f, "{}(convertTimezone({}))", self.func.name(), self.field)
        } else {
            write!(f, "{}({})", self.func.name(), self.field)
        }
    }
}

/// Salesforce's date functions that Dialtone supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFn {
    /// The date part of a date-time.
    DayOnly,
    /// 0–23.
    HourInDay,
    /// 1–31.
    DayInMonth,
    /// 1 (Sunday) – 7 (Saturday).
    DayInWeek,
    /// 1–12.
    CalendarMonth,
    /// 1–4.
    CalendarQuarter,
    CalendarYear,
}

impl DateFn {
    const ALL: [DateFn; 7] = [
        DateFn::DayOnly,
        DateFn::HourInDay,
        DateFn::DayInMonth,
        DateFn::DayInWeek,
        DateFn::CalendarMonth,
        DateFn::CalendarQuarter,
        DateFn::CalendarYear,
    ];

    /// The SOQL spelling.
    pub fn name(self) -> &'static str {
        match self {
            DateFn::DayOnly => "DAY_ONLY",
            DateFn::HourInDay => "HOUR_IN_DAY",
            DateFn::DayInMonth => "DAY_IN_MONTH",
            DateFn::DayInWeek => "DAY_IN_WEEK",
            DateFn::CalendarMonth => "CALENDAR_MONTH",
            DateFn::CalendarQuarter => "CALENDAR_QUARTER",
            DateFn::CalendarYear => "CALENDAR_YEAR",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<DateFn> {
        Self::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// `FUNC(field)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub func: AggregateFn,
    pub field: FieldPath,
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.func.name(), self.field)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateFn {
    Count,
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggregateFn {
    /// The SOQL spelling.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFn::Count => "COUNT",
            AggregateFn::CountDistinct => "COUNT_DISTINCT",
            AggregateFn::Sum => "SUM",
            AggregateFn::Avg => "AVG",
            AggregateFn::Min => "MIN",
            AggregateFn::Max => "MAX",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<AggregateFn> {
        [
            AggregateFn::Count,
            AggregateFn::CountDistinct,
            AggregateFn::Sum,
            AggregateFn::Avg,
            AggregateFn::Min,
            AggregateFn::Max,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// What a condition or ORDER BY item is about: a field, or (in HAVING and in
/// the ORDER BY of aggregate queries) an aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Field(FieldPath),
    Aggregate(Aggregate),
    Date(DateFunction),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(p) => p.fmt(f),
            Operand::Aggregate(a) => a.fmt(f),
            Operand::Date(d) => d.fmt(f),
        }
    }
}

/// A condition of WHERE or HAVING. SOQL does not let AND and OR mix at one
/// level without parentheses, so each `And`/`Or` is one flat list.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `operand op value`.
    Compare {
        left: Operand,
        op: CompareOp,
        value: Literal,
    },
    /// `operand LIKE 'pattern'`. The pattern is in SQL LIKE syntax with `\`
    /// as the escape character: `%` and `_` are wildcards, `\%`, `\_` and `\\`
    /// stand for themselves.
    Like {
        left: Operand,
        pattern: String,
    },
    /// `operand [NOT] IN (values)`.
    In {
        left: Operand,
        values: Vec<Literal>,
        negated: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A value written in the query.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A quoted string, escapes resolved.
    String(String),
    /// An unquoted date: `2026-11-22`.
    Date(Date),
    /// An unquoted date-time with its offset: `2026-11-22T09:30:00Z`.
    DateTime(OffsetDateTime),
    /// A relative date literal: `TODAY`, `LAST_N_DAYS:7`, …
    Relative(RelativeDate),
}

/// The unit of a relative date literal. Weeks start on Sunday (the en_US
/// locale); quarters are calendar quarters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateUnit {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl DateUnit {
    fn plural(self) -> &'static str {
        match self {
            DateUnit::Day => "DAYS",
            DateUnit::Week => "WEEKS",
            DateUnit::Month => "MONTHS",
            DateUnit::Quarter => "QUARTERS",
            DateUnit::Year => "YEARS",
        }
    }
}

/// A relative date literal; it stands for a range of days, relative to today (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativeDate {
    /// `TODAY`, `THIS_WEEK`, `THIS_MONTH`, `THIS_QUARTER`, `THIS_YEAR`.
    This(DateUnit),
    /// `YESTERDAY`, `LAST_WEEK`, `LAST_MONTH`, `LAST_QUARTER`, `LAST_YEAR`.
    Last(DateUnit),
    /// `TOMORROW`, `NEXT_WEEK`, `NEXT_MONTH`, `NEXT_QUARTER`, `NEXT_YEAR`.
    Next(DateUnit),
    /// `LAST_N_DAYS:n` (includes today, as Salesforce's does), `LAST_90_DAYS`,
    /// `LAST_N_WEEKS:n`, … (the n whole units before the current one).
    LastN(DateUnit, u32),
    /// `NEXT_N_DAYS:n`, `NEXT_90_DAYS`, `NEXT_N_WEEKS:n`, …: the n whole units
    /// after the current one.
    NextN(DateUnit, u32),
    /// `N_DAYS_AGO:n`, `N_WEEKS_AGO:n`, …: the single unit n units back.
    Ago(DateUnit, u32),
}

impl RelativeDate {
    /// Recognises a literal without a number (`TODAY`, `LAST_90_DAYS`, …).
    pub(crate) fn fixed(word: &str) -> Option<RelativeDate> {
        use DateUnit::*;
        use RelativeDate::*;
        let w = word.to_ascii_uppercase();
        Some(match w.as_str() {
            "TODAY" => This(Day),
            "YESTERDAY" => Last(Day),
            "TOMORROW" => Next(Day),
            "LAST_90_DAYS" => LastN(Day, 90),
            "NEXT_90_DAYS" => NextN(Day, 90),
            _ => {
                let (kind, unit) = w.split_once('_')?;
                let unit = match unit {
                    "WEEK" => Week,
                    "MONTH" => Month,
                    "QUARTER" => Quarter,
                    "YEAR" => Year,
                    _ => return None,
                };
                match kind {
                    "THIS" => This(unit),
                    "LAST" => Last(unit),
                    "NEXT" => Next(unit),
                    _ => return None,
                }
            }
        })
    }

    /// Recognises a literal that takes `:n` (`LAST_N_DAYS`, `N_WEEKS_AGO`, …)
    /// and returns how to build it from n.
    pub(crate) fn with_n(word: &str) -> Option<impl Fn(u32) -> RelativeDate> {
        let w = word.to_ascii_uppercase();
        [
            DateUnit::Day,
            DateUnit::Week,
            DateUnit::Month,
            DateUnit::Quarter,
            DateUnit::Year,
        ]
        .into_iter()
        .find_map(|u| {
            let p = u.plural();
            let kind: fn(DateUnit, u32) -> RelativeDate = if w == format!("LAST_N_{p}") {
                RelativeDate::LastN
            } else if w == format!("NEXT_N_{p}") {
                RelativeDate::NextN
            } else if w == format!("N_{p}_AGO") {
                RelativeDate::Ago
            } else {
                return None;
            };
            Some(move |n| kind(u, n))
        })
    }
}

/// One ORDER BY item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub key: Operand,
    pub descending: bool,
    /// Explicit NULLS FIRST / LAST; `None` means Salesforce's default (first
    /// when ascending, last when descending).
    pub nulls_first: Option<bool>,
}
