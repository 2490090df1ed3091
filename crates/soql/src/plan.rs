//! Resolves a [`Query`] against the schema and compiles it to SQL pieces.

use crate::ast::*;
use crate::dates;
use crate::error::SoqlError;
use crate::parser::MAX_NESTING;
use crate::restrict::Access;
use crate::sql::{Dialect, OutputColumn, Plan, PlanKind, Relationship};
use dialtone_model::{
    Field, FieldType, ObjectDef, SalesforceId, Schema, Value, format_date, format_datetime,
};
use time::{Date, OffsetDateTime, UtcOffset};

/// Salesforce's largest OFFSET.
pub const MAX_OFFSET: u64 = 2000;

/// The most values one query may bind (SQLite allows 32,766 placeholders).
pub const MAX_PARAMS: usize = 30_000;

/// The alias of the FROM object's table.
pub(crate) const BASE: &str = "t0";

/// Resolves `q` against `schema` and compiles it for `dialect`. `now` is the
/// instant relative date literals (`TODAY`, …) are taken from, in UTC.
///
/// This plan sees every object, field and row: it is for the system's own
/// use. A user's query goes through [`crate::plan_for`].
pub fn plan(
    q: &Query,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
) -> Result<Plan, SoqlError> {
    plan_with(q, schema, dialect, now, None, None)
}

/// The longest time-zone name a query may be planned in.
const MAX_ZONE: usize = 64;

/// Checks a time-zone name for [`crate::compile_in`]: an IANA name such as
/// `America/New_York` (letters, digits, `_`, `+`, `-`, `/`). Whether the zone
/// exists is the store's to say (its SQL function knows the zones).
pub fn check_zone(zone: &str) -> Result<(), SoqlError> {
    let ok = !zone.is_empty() && zone.len() <= MAX_ZONE && zone.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '/'));
    if ok { Ok(()) } else { Err(SoqlError::malformed(format!("{zone:?} is not a time zone name (write one such as America/New_York)"))) }
}

/// The one code path of [`plan`] and [`crate::plan_for`]: with `access`, the
/// user's object permissions, field-level security and row visibility apply.
pub(crate) fn plan_with(
    q: &Query,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
    access: Option<Access<'_>>,
    zone: Option<&jiff::tz::TimeZone>,
) -> Result<Plan, SoqlError> {
    // UTC is no zone; any other must have its IANA name, which the SQL names.
    let zone = zone.filter(|z| z.iana_name().is_none_or(|n| !n.eq_ignore_ascii_case("UTC")));
    if let Some(z) = zone {
        check_zone(z.iana_name().ok_or_else(|| SoqlError::malformed("a query's time zone must have an IANA name such as America/New_York"))?)?;
    }
    let unknown = || SoqlError::UnknownObject {
        object: q.from.clone(),
    };
    let obj = schema.object(&q.from).ok_or_else(unknown)?;
    // An object the user may not read does not exist for them.
    if access.is_some_and(|a| !a.can_read(&obj.name)) {
        return Err(unknown());
    }
    // TODAY is the user's today: the date in their zone.
    let utc_today = now.checked_to_offset(UtcOffset::UTC).unwrap_or(now).date();
    let today = zone.and_then(|z| dates::local_date(now, z)).unwrap_or(utc_today);
    let mut p = Planner {
        schema,
        obj,
        dialect,
        today,
        params: Vec::new(),
        joins: Vec::new(),
        groups: Vec::new(),
        access,
        subqueries: 0,
        sharing_params: 0,
        zone: zone.cloned(),
    };

    let counts = q
        .select
        .iter()
        .filter(|s| matches!(s, SelectItem::CountAll))
        .count();
    if counts > 0 && q.select.len() > 1 {
        return Err(SoqlError::malformed(
            "COUNT() must be the only element in the SELECT list",
        ));
    }
    let aggregated = q
        .select
        .iter()
        .any(|s| matches!(s, SelectItem::Aggregate { .. }));
    let kind = if counts > 0 {
        PlanKind::CountOnly
    } else if aggregated || !q.group_by.is_empty() {
        PlanKind::Aggregate
    } else {
        PlanKind::Records
    };

    for g in &q.group_by {
        let sql = match g {
            Operand::Field(path) => {
                let c = p.field(path)?;
                if matches!(c.field.ty, FieldType::TextArea | FieldType::LongTextArea) {
                    return Err(SoqlError::malformed_field(
                        &g.to_string(),
                        format!(
                            "field '{}' can not be grouped in a query call",
                            c.field.name
                        ),
                    ));
                }
                c.sql
            }
            Operand::Date(d) => p.date_function(d)?.sql,
            Operand::Aggregate(a) => {
                return Err(SoqlError::malformed_field(
                    &a.field.to_string(),
                    format!("Aggregate functions cannot be grouped by: {a}"),
                ));
            }
        };
        if !p.groups.contains(&sql) {
            p.groups.push(sql);
        }
    }

    let select = p.select_list(q, kind)?;

    let filter = q
        .filter
        .as_ref()
        .map(|e| p.condition(e, Clause::Where, 0))
        .transpose()?;
    // The rows the user may see, after the query's own condition (the
    // placeholders follow the text order).
    let filter = p.restrict_rows(filter);
    if q.having.is_some() && q.group_by.is_empty() {
        return Err(SoqlError::malformed(
            "HAVING can only be used with GROUP BY",
        ));
    }
    let having = q
        .having
        .as_ref()
        .map(|e| p.condition(e, Clause::Having, 0))
        .transpose()?;

    let mut order_by = Vec::new();
    let mut ordered = Vec::new();
    for item in &q.order_by {
        let (key, exact) = p.order_item(item, kind, &select.named)?;
        order_by.push(key);
        ordered.extend(exact);
    }
    // Stable paging: end with the record Id, or with the group keys.
    match kind {
        PlanKind::Records => {
            let id = column_sql(BASE, "id");
            if !ordered.contains(&id) {
                order_by.push(format!("{id} ASC"));
            }
        }
        PlanKind::Aggregate => {
            for g in &p.groups {
                if !ordered.contains(g) {
                    order_by.push(format!("{g} ASC NULLS FIRST"));
                }
            }
        }
        PlanKind::CountOnly => order_by.clear(),
    }

    if let Some(o) = q.offset.filter(|&o| o > MAX_OFFSET) {
        return Err(SoqlError::OutOfRange {
            message: format!("Maximum SOQL offset allowed is {MAX_OFFSET} (got {o})"),
        });
    }

    // A parent the user may not see joins as no parent at all.
    let parents = p.restrict_parents();
    let mut from = format!("{} AS {}", quote(&obj.table()), quote(BASE));
    for (j, only) in p.joins.iter().zip(&parents) {
        from.push_str(&format!(
            " LEFT JOIN {} AS {} ON {} = {}",
            quote(&j.target.table()),
            quote(&j.alias),
            column_sql(&j.alias, "id"),
            column_sql(BASE, &j.reference.column())
        ));
        if let Some(only) = only {
            from.push_str(" AND ");
            from.push_str(only);
        }
    }
    p.check_params()?;

    let mut exprs = select.exprs;
    let mut id_column = None;
    let mut relationships = Vec::new();
    if kind == PlanKind::Records {
        id_column = Some(exprs.len());
        exprs.push(column_sql(BASE, "id"));
        for j in select.joins_used {
            let join = &p.joins[j];
            relationships.push(Relationship {
                name: join.name.clone(),
                object: join.target.name.clone(),
                id_column: exprs.len(),
            });
            exprs.push(column_sql(&join.alias, "id"));
        }
    }
    let select_sql = if kind == PlanKind::CountOnly {
        Vec::new()
    } else {
        exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{e} AS {}", quote(&format!("c{i}"))))
            .collect()
    };

    Ok(Plan {
        object: obj.name.clone(),
        kind,
        columns: select.columns,
        params: p.params,
        limit: q.limit,
        offset: q.offset,
        id_column,
        relationships,
        dialect,
        select: select_sql,
        from,
        filter,
        group_by: p.groups,
        having,
        order_by,
    })
}

/// A double-quoted SQL identifier.
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

pub(crate) fn column_sql(alias: &str, column: &str) -> String {
    format!("{}.{}", quote(alias), quote(column))
}

/// Text types compared without regard to case, as Salesforce does.
fn folds_case(ty: &FieldType) -> bool {
    matches!(
        ty,
        FieldType::String
            | FieldType::TextArea
            | FieldType::LongTextArea
            | FieldType::Picklist(_)
            | FieldType::Phone
            | FieldType::Email
            | FieldType::Url
            | FieldType::AutoNumber
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clause {
    Where,
    Having,
}

/// A parent object joined in through a reference field.
pub(crate) struct Join<'s> {
    /// The canonical relationship name (`Account`).
    name: String,
    reference: &'s Field,
    pub(crate) target: &'s ObjectDef,
    pub(crate) alias: String,
}

/// A field reference resolved to its column.
struct Col<'s> {
    sql: String,
    field: &'s Field,
    join: Option<usize>,
    /// As written in the query, for messages.
    written: String,
}

/// Something a condition can test: a column or an aggregate, with its type.
pub(crate) struct Typed {
    pub(crate) sql: String,
    pub(crate) ty: FieldType,
    /// The canonical name, for messages.
    pub(crate) name: String,
}

/// A literal bound to a field's type.
enum Bound {
    Null,
    One(Value),
    /// A relative date literal: `[from, until)`.
    Range(Value, Value),
}

/// The SELECT list, compiled.
struct Select {
    columns: Vec<OutputColumn>,
    exprs: Vec<String>,
    /// Joins with selected columns, in order of first use.
    joins_used: Vec<usize>,
    /// Output names of aggregate queries, lower-cased, with their expression
    /// and type (ORDER BY may name them).
    named: Vec<(String, String, FieldType)>,
}

impl Select {
    /// An aggregate or date function: named by its alias, else `exprN` as Salesforce does.
    fn expression(&mut self, alias: &Option<String>, t: Typed, unnamed: &mut usize) {
        let name = alias.clone().unwrap_or_else(|| {
            *unnamed += 1;
            format!("expr{}", *unnamed - 1)
        });
        self.named.push((name.to_ascii_lowercase(), t.sql.clone(), t.ty.clone()));
        self.columns.push(OutputColumn {
            path: vec![name],
            storage: t.ty.storage(),
        });
        self.exprs.push(t.sql);
    }
}

pub(crate) struct Planner<'s> {
    pub(crate) schema: &'s Schema,
    pub(crate) obj: &'s ObjectDef,
    pub(crate) dialect: Dialect,
    pub(crate) today: Date,
    pub(crate) params: Vec<Value>,
    pub(crate) joins: Vec<Join<'s>>,
    /// The GROUP BY expressions.
    pub(crate) groups: Vec<String>,
    /// Whose query this is; `None` for the system's own.
    pub(crate) access: Option<Access<'s>>,
    /// How many sharing subqueries have been aliased (`v1`, `s2`, …).
    pub(crate) subqueries: usize,
    /// How many of `params` the user's sharing added.
    pub(crate) sharing_params: usize,
    /// The zone `convertTimezone(…)` converts to and whose days TODAY and
    /// its kin are (its IANA name checked); `None`: UTC.
    pub(crate) zone: Option<jiff::tz::TimeZone>,
}

impl<'s> Planner<'s> {
    /// The instant `day` begins in the query's zone (UTC without one), in stored form.
    fn midnight(&self, day: Date) -> String {
        let local = self.zone.as_ref().and_then(|tz| dates::local_midnight(day, tz));
        format_datetime(local.unwrap_or(day.midnight().assume_utc()))
    }

    fn field(&mut self, path: &FieldPath) -> Result<Col<'s>, SoqlError> {
        let written = path.to_string();
        let mut parts = path.0.as_slice();
        if parts.len() > 1 && parts[0].eq_ignore_ascii_case(&self.obj.name) {
            parts = &parts[1..];
        }
        match parts {
            [name] => {
                let field = self
                    .obj
                    .field(name)
                    .filter(|f| self.readable(self.obj, f))
                    .ok_or_else(|| no_such_column(&written, name, &self.obj.name))?;
                Ok(Col {
                    sql: column_sql(BASE, &field.column()),
                    field,
                    join: None,
                    written,
                })
            }
            [rel, name] => {
                let j = self.join(rel, &written)?;
                let join = &self.joins[j];
                let field = join
                    .target
                    .field(name)
                    .filter(|f| self.readable(join.target, f))
                    .ok_or_else(|| no_such_column(&written, name, &join.target.name))?;
                Ok(Col {
                    sql: column_sql(&join.alias, &field.column()),
                    field,
                    join: Some(j),
                    written,
                })
            }
            _ => Err(SoqlError::invalid_field(
                &written,
                format!("Relationship paths deeper than one level are not supported: {written}"),
            )),
        }
    }

    fn join(&mut self, rel: &str, written: &str) -> Result<usize, SoqlError> {
        if let Some(i) = self
            .joins
            .iter()
            .position(|j| j.name.eq_ignore_ascii_case(rel))
        {
            return Ok(i);
        }
        let not_understood = || {
            SoqlError::invalid_field(
                written,
                format!(
                    "Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom \
                     relationship, be sure to append the '__r' after the custom relationship name."
                ),
            )
        };
        // A relationship through a lookup field the user cannot read, or to
        // an object they cannot read, is not there for them.
        let reference = self
            .obj
            .fields
            .iter()
            .find(|f| {
                f.relationship_name
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(rel))
            })
            .filter(|f| self.readable(self.obj, f))
            .ok_or_else(not_understood)?;
        let FieldType::Reference(targets) = &reference.ty else {
            return Err(not_understood());
        };
        let [target] = targets.as_slice() else {
            return Err(SoqlError::invalid_field(
                written,
                format!(
                    "Polymorphic relationship '{}' is not supported (it can point to {})",
                    rel,
                    targets.join(", ")
                ),
            ));
        };
        let target = self
            .schema
            .object(target)
            .filter(|t| self.access.is_none_or(|a| a.can_read(&t.name)))
            .ok_or_else(not_understood)?;
        let name = reference
            .relationship_name
            .clone()
            .unwrap_or_else(|| rel.to_string());
        self.joins.push(Join {
            name,
            reference,
            target,
            alias: format!("t{}", self.joins.len() + 1),
        });
        Ok(self.joins.len() - 1)
    }

    fn canonical_path(&self, c: &Col<'_>) -> Vec<String> {
        match c.join {
            Some(j) => vec![self.joins[j].name.clone(), c.field.name.clone()],
            None => vec![c.field.name.clone()],
        }
    }

    fn select_list(&mut self, q: &Query, kind: PlanKind) -> Result<Select, SoqlError> {
        let mut out = Select {
            columns: Vec::new(),
            exprs: Vec::new(),
            joins_used: Vec::new(),
            named: Vec::new(),
        };
        let mut unnamed = 0;
        for item in &q.select {
            match item {
                SelectItem::CountAll => {}
                SelectItem::Field { field, alias } => {
                    let c = self.field(field)?;
                    let path = if kind == PlanKind::Records {
                        if let Some(a) = alias {
                            return Err(SoqlError::malformed(format!(
                                "Only aggregate expressions use field aliasing (alias '{a}' on {field})"
                            )));
                        }
                        if let Some(j) = c.join.filter(|j| !out.joins_used.contains(j)) {
                            out.joins_used.push(j);
                        }
                        self.canonical_path(&c)
                    } else {
                        if !self.groups.contains(&c.sql) {
                            return Err(SoqlError::malformed_field(
                                &c.written,
                                format!("Field must be grouped or aggregated: {}", c.field.name),
                            ));
                        }
                        let name = alias.clone().unwrap_or_else(|| c.field.name.clone());
                        out.named.push((
                            name.to_ascii_lowercase(),
                            c.sql.clone(),
                            c.field.ty.clone(),
                        ));
                        vec![name]
                    };
                    out.columns.push(OutputColumn {
                        path,
                        storage: c.field.ty.storage(),
                    });
                    out.exprs.push(c.sql);
                }
                SelectItem::Date { call, alias } => {
                    let t = self.date_function(call)?;
                    if kind == PlanKind::Records || !self.groups.contains(&t.sql) {
                        return Err(SoqlError::malformed_field(
                            &call.field.to_string(),
                            format!("Date function must be grouped: {call} (add it to GROUP BY)"),
                        ));
                    }
                    out.expression(alias, t, &mut unnamed);
                }
                SelectItem::Aggregate { call, alias } => {
                    let t = self.aggregate(call)?;
                    out.expression(alias, t, &mut unnamed);
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for c in &out.columns {
            let key = c.path.join(".").to_ascii_lowercase();
            if seen.contains(&key) {
                let message = if kind == PlanKind::Records {
                    format!("duplicate field selected: {}", c.path.join("."))
                } else {
                    format!("duplicate alias: {}", c.path.join("."))
                };
                return Err(SoqlError::malformed_field(&c.path.join("."), message));
            }
            seen.push(key);
        }
        Ok(out)
    }

    fn aggregate(&mut self, a: &Aggregate) -> Result<Typed, SoqlError> {
        let c = self.field(&a.field)?;
        let ty = &c.field.ty;
        let name = format!("{}({})", a.func.name(), self.canonical_path(&c).join("."));
        let supported = match a.func {
            AggregateFn::Sum | AggregateFn::Avg => ty.is_numeric(),
            AggregateFn::Min | AggregateFn::Max => !matches!(
                ty,
                FieldType::Boolean | FieldType::TextArea | FieldType::LongTextArea
            ),
            AggregateFn::Count | AggregateFn::CountDistinct => {
                !matches!(ty, FieldType::LongTextArea)
            }
        };
        if !supported {
            return Err(SoqlError::malformed_field(
                &c.written,
                format!(
                    "field {} does not support aggregate operator {}",
                    c.field.name,
                    a.func.name()
                ),
            ));
        }
        let float = match self.dialect {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
        };
        let col = &c.sql;
        let (sql, ty) = match a.func {
            // The Id is never null: COUNT(*) counts the same rows without
            // reading the column (an index can then answer the query alone).
            AggregateFn::Count if c.join.is_none() && c.field.name == "Id" => ("COUNT(*)".to_string(), FieldType::Int),
            AggregateFn::Count => (format!("COUNT({col})"), FieldType::Int),
            AggregateFn::CountDistinct => (format!("COUNT(DISTINCT {col})"), FieldType::Int),
            AggregateFn::Sum => (format!("CAST(SUM({col}) AS {float})"), FieldType::Double),
            AggregateFn::Avg => (format!("CAST(AVG({col}) AS {float})"), FieldType::Double),
            AggregateFn::Min => (format!("MIN({col})"), ty.clone()),
            AggregateFn::Max => (format!("MAX({col})"), ty.clone()),
        };
        Ok(Typed { sql, ty, name })
    }

    /// A date function of a Date or DateTime field. Stored values are text
    /// (`2026-12-05` and `2026-12-05T09:14:07.000+0000`, always UTC), so
    /// every function is a fixed slice of it, the same in both dialects.
    fn date_function(&mut self, d: &DateFunction) -> Result<Typed, SoqlError> {
        let c = self.field(&d.field)?;
        let is_datetime = matches!(c.field.ty, FieldType::DateTime);
        let fits = match d.func {
            DateFn::DayOnly | DateFn::HourInDay => is_datetime,
            _ => is_datetime || matches!(c.field.ty, FieldType::Date),
        };
        if d.local && !is_datetime {
            return Err(SoqlError::malformed_field(&c.written, format!("convertTimezone() needs a date-time field; {} is not one", c.field.name)));
        }
        if !fits {
            return Err(SoqlError::malformed_field(
                &c.written,
                format!(
                    "field {} does not support date function {} (it needs a {})",
                    c.field.name,
                    d.func.name(),
                    if matches!(d.func, DateFn::DayOnly | DateFn::HourInDay) { "date-time" } else { "date or date-time" }
                ),
            ));
        }
        // The local time as text laid out like the stored UTC (`2026-12-05T04:14:07`), so the slices below apply.
        let col = &match (self.zone.as_ref().and_then(|z| z.iana_name()), d.local) {
            (Some(z), true) => match self.dialect {
                Dialect::Sqlite => format!("dt_local({}, '{z}')", c.sql),
                Dialect::Postgres => format!("to_char(CAST({} AS timestamptz) AT TIME ZONE '{z}', 'YYYY-MM-DD\"T\"HH24:MI:SS')", c.sql),
            },
            _ => c.sql.clone(),
        };
        let int = |from: u8, len: u8| format!("CAST(substr({col}, {from}, {len}) AS INTEGER)");
        let (sql, ty) = match d.func {
            DateFn::DayOnly => (format!("substr({col}, 1, 10)"), FieldType::Date),
            DateFn::HourInDay => (int(12, 2), FieldType::Int),
            DateFn::DayInMonth => (int(9, 2), FieldType::Int),
            DateFn::CalendarMonth => (int(6, 2), FieldType::Int),
            DateFn::CalendarQuarter => (format!("(({} + 2) / 3)", int(6, 2)), FieldType::Int),
            DateFn::CalendarYear => (int(1, 4), FieldType::Int),
            DateFn::DayInWeek => {
                let day = format!("substr({col}, 1, 10)");
                let dow = match self.dialect {
                    Dialect::Sqlite => format!("CAST(strftime('%w', {day}) AS INTEGER)"),
                    Dialect::Postgres => format!("CAST(EXTRACT(DOW FROM CAST({day} AS DATE)) AS INTEGER)"),
                };
                (format!("({dow} + 1)"), FieldType::Int)
            }
        };
        let name = format!("{}({})", d.func.name(), self.canonical_path(&c).join("."));
        Ok(Typed { sql, ty, name })
    }

    fn operand(&mut self, op: &Operand, clause: Clause) -> Result<Typed, SoqlError> {
        match op {
            Operand::Date(d) => {
                let t = self.date_function(d)?;
                if clause == Clause::Having && !self.groups.contains(&t.sql) {
                    return Err(SoqlError::malformed_field(
                        &d.field.to_string(),
                        format!("Date function must be grouped: {d}"),
                    ));
                }
                Ok(t)
            }
            Operand::Field(path) => {
                let c = self.field(path)?;
                if clause == Clause::Having && !self.groups.contains(&c.sql) {
                    return Err(SoqlError::malformed_field(
                        &c.written,
                        format!("Field must be grouped or aggregated: {}", c.field.name),
                    ));
                }
                let name = self.canonical_path(&c).join(".");
                Ok(Typed {
                    sql: c.sql,
                    ty: c.field.ty.clone(),
                    name,
                })
            }
            Operand::Aggregate(a) if clause == Clause::Where => Err(SoqlError::malformed_field(
                &a.field.to_string(),
                format!("Aggregate functions are not allowed in WHERE (use HAVING): {a}"),
            )),
            Operand::Aggregate(a) => self.aggregate(a),
        }
    }

    /// Returns the ORDER BY term, and the expression it sorts on exactly
    /// (`None` when it sorts ignoring case, so ties need a tiebreak).
    fn order_item(
        &mut self,
        item: &OrderItem,
        kind: PlanKind,
        named: &[(String, String, FieldType)],
    ) -> Result<(String, Option<String>), SoqlError> {
        let aggregate_query = kind != PlanKind::Records;
        let alias = match &item.key {
            Operand::Field(FieldPath(parts)) if aggregate_query && parts.len() == 1 => {
                let lower = parts[0].to_ascii_lowercase();
                named
                    .iter()
                    .find(|(n, _, _)| *n == lower)
                    .map(|(_, sql, ty)| (sql.clone(), ty.clone()))
            }
            _ => None,
        };
        let (sql, ty) = match (alias, &item.key) {
            (Some(found), _) => found,
            (None, Operand::Field(path)) => {
                let c = self.field(path)?;
                if aggregate_query && !self.groups.contains(&c.sql) {
                    return Err(SoqlError::malformed_field(
                        &c.written,
                        format!(
                            "Ordered field must be grouped or aggregated: {}",
                            c.field.name
                        ),
                    ));
                }
                (c.sql, c.field.ty.clone())
            }
            (None, Operand::Date(d)) => {
                let t = self.date_function(d)?;
                if aggregate_query && !self.groups.contains(&t.sql) {
                    return Err(SoqlError::malformed_field(
                        &d.field.to_string(),
                        format!("Ordered date function must be grouped: {d}"),
                    ));
                }
                (t.sql, t.ty)
            }
            (None, Operand::Aggregate(a)) => {
                if !aggregate_query {
                    return Err(SoqlError::malformed_field(
                        &a.field.to_string(),
                        format!("Aggregate functions in ORDER BY need an aggregate query: {a}"),
                    ));
                }
                let t = self.aggregate(a)?;
                (t.sql, t.ty)
            }
        };
        let (key, exact) = if folds_case(&ty) {
            (format!("lower({sql})"), None)
        } else {
            (sql.clone(), Some(sql))
        };
        let nulls_first = item.nulls_first.unwrap_or(!item.descending);
        let term = format!(
            "{key} {} NULLS {}",
            if item.descending { "DESC" } else { "ASC" },
            if nulls_first { "FIRST" } else { "LAST" }
        );
        Ok((term, exact))
    }

    /// A placeholder for `v`, which is added to the parameters.
    pub(crate) fn param(&mut self, v: Value) -> String {
        let v = match v {
            Value::Bool(b) => Value::Int(i64::from(b)),
            v => v,
        };
        let cast = match &v {
            Value::Int(_) => "::bigint",
            Value::Float(_) => "::double precision",
            _ => "::text",
        };
        self.params.push(v);
        match self.dialect {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${}{cast}", self.params.len()),
        }
    }

    fn condition(&mut self, e: &Expr, clause: Clause, depth: usize) -> Result<String, SoqlError> {
        if depth > 4 * MAX_NESTING {
            return Err(SoqlError::malformed(format!(
                "conditions nest too deeply (at most {MAX_NESTING} levels)"
            )));
        }
        match e {
            Expr::And(items) | Expr::Or(items) => {
                let and = matches!(e, Expr::And(_));
                let parts = items
                    .iter()
                    .map(|i| self.condition(i, clause, depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(match parts.len() {
                    0 if and => "1 = 1".to_string(),
                    0 => "1 = 0".to_string(),
                    1 => parts.into_iter().next().unwrap_or_default(),
                    _ => format!("({})", parts.join(if and { " AND " } else { " OR " })),
                })
            }
            // SOQL logic has two values: a comparison with NULL is false, so
            // NOT of it is true. COALESCE turns SQL's unknown into false first.
            Expr::Not(inner) => Ok(format!(
                "NOT COALESCE({}, FALSE)",
                self.condition(inner, clause, depth + 1)?
            )),
            Expr::Compare { left, op, value } => {
                let t = self.operand(left, clause)?;
                self.compare(&t, *op, value)
            }
            Expr::Like { left, pattern } => {
                let t = self.operand(left, clause)?;
                self.like(&t, pattern)
            }
            Expr::In {
                left,
                values,
                negated,
            } => {
                let t = self.operand(left, clause)?;
                self.in_list(&t, values, *negated)
            }
        }
    }

    fn bind(&self, t: &Typed, lit: &Literal) -> Result<Bound, SoqlError> {
        let expect = |ty: &str, quoted: bool| {
            SoqlError::filter(
                &t.name,
                format!(
                    "value of filter criterion for field '{}' must be of type {ty} and should {}be enclosed in quotes",
                    t.name,
                    if quoted { "" } else { "not " }
                ),
            )
        };
        if *lit == Literal::Null {
            return Ok(Bound::Null);
        }
        let text = |s: &str| {
            if s.is_empty() {
                Bound::Null
            } else {
                Bound::One(Value::Text(s.to_string()))
            }
        };
        Ok(match (&t.ty, lit) {
            (FieldType::Boolean, Literal::Bool(b)) => Bound::One(Value::Int(i64::from(*b))),
            (FieldType::Boolean, _) => return Err(expect("boolean", false)),
            (FieldType::Int, Literal::Int(i)) => Bound::One(Value::Int(*i)),
            (FieldType::Int, Literal::Float(x)) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                Bound::One(Value::Int(*x as i64))
            }
            (FieldType::Int, _) => return Err(expect("int", false)),
            (FieldType::Double | FieldType::Currency | FieldType::Percent, Literal::Int(i)) => {
                Bound::One(Value::Float(*i as f64))
            }
            (FieldType::Double | FieldType::Currency | FieldType::Percent, Literal::Float(x)) => {
                Bound::One(Value::Float(*x))
            }
            (FieldType::Double | FieldType::Currency | FieldType::Percent, _) => {
                return Err(expect("double", false));
            }
            (FieldType::Date, Literal::Date(d)) => Bound::One(Value::Text(format_date(*d))),
            (FieldType::Date, Literal::Relative(r)) => {
                let (from, until) = dates::range(*r, self.today);
                Bound::Range(
                    Value::Text(format_date(from)),
                    Value::Text(format_date(until)),
                )
            }
            (FieldType::Date, _) => return Err(expect("date", false)),
            (FieldType::DateTime, Literal::DateTime(dt)) => {
                let utc = dt
                    .checked_to_offset(UtcOffset::UTC)
                    .filter(|u| (0..=9999).contains(&u.year()))
                    .ok_or_else(|| expect("dateTime", false))?;
                Bound::One(Value::Text(format_datetime(utc)))
            }
            (FieldType::DateTime, Literal::Relative(r)) => {
                let (from, until) = dates::range(*r, self.today);
                Bound::Range(Value::Text(self.midnight(from)), Value::Text(self.midnight(until)))
            }
            (FieldType::DateTime, _) => return Err(expect("dateTime", false)),
            (FieldType::Id | FieldType::Reference(_), Literal::String(s)) if s.is_empty() => {
                Bound::Null
            }
            (FieldType::Id | FieldType::Reference(_), Literal::String(s)) => {
                match SalesforceId::parse(s) {
                    Ok(id) if id.as_str().len() == 18 && s.trim() == s => {
                        Bound::One(Value::Text(id.to_string()))
                    }
                    _ => return Err(SoqlError::filter(&t.name, format!("invalid ID field: {s}"))),
                }
            }
            (FieldType::Id | FieldType::Reference(_), _) => return Err(expect("id", true)),
            (_, Literal::String(s)) => text(s),
            (_, _) => return Err(expect("string", true)),
        })
    }

    pub(crate) fn compare(
        &mut self,
        t: &Typed,
        op: CompareOp,
        lit: &Literal,
    ) -> Result<String, SoqlError> {
        let c = &t.sql;
        let boolean = t.ty == FieldType::Boolean;
        if boolean && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err(SoqlError::filter(
                &t.name,
                format!("invalid operator on boolean field: {}", op.symbol()),
            ));
        }
        Ok(match self.bind(t, lit)? {
            // A boolean is never null in Salesforce: `= null` means false.
            Bound::Null if boolean && op == CompareOp::Eq => {
                let p = self.param(Value::Int(0));
                format!("({c} IS NULL OR {c} = {p})")
            }
            Bound::Null if boolean => {
                let p = self.param(Value::Int(1));
                format!("{c} = {p}")
            }
            Bound::Null => match op {
                CompareOp::Eq => format!("{c} IS NULL"),
                CompareOp::Ne => format!("{c} IS NOT NULL"),
                _ => {
                    return Err(SoqlError::filter(
                        &t.name,
                        format!(
                            "invalid operator for a null value: {} (use = or !=)",
                            op.symbol()
                        ),
                    ));
                }
            },
            Bound::One(v) => {
                let (l, r) = self.sides(t, v);
                match op {
                    CompareOp::Eq => format!("{l} = {r}"),
                    // SOQL's != also matches records where the field is null.
                    CompareOp::Ne => format!("({c} IS NULL OR {l} <> {r})"),
                    CompareOp::Lt => format!("{l} < {r}"),
                    CompareOp::Le => format!("{l} <= {r}"),
                    CompareOp::Gt => format!("{l} > {r}"),
                    CompareOp::Ge => format!("{l} >= {r}"),
                }
            }
            Bound::Range(from, until) => match op {
                CompareOp::Eq => {
                    let (a, b) = (self.param(from), self.param(until));
                    format!("({c} >= {a} AND {c} < {b})")
                }
                CompareOp::Ne => {
                    let (a, b) = (self.param(from), self.param(until));
                    format!("({c} IS NULL OR {c} < {a} OR {c} >= {b})")
                }
                CompareOp::Lt => format!("{c} < {}", self.param(from)),
                CompareOp::Le => format!("{c} < {}", self.param(until)),
                CompareOp::Gt => format!("{c} >= {}", self.param(until)),
                CompareOp::Ge => format!("{c} >= {}", self.param(from)),
            },
        })
    }

    /// The two sides of a comparison with `v`: case-folded for text types.
    fn sides(&mut self, t: &Typed, v: Value) -> (String, String) {
        let p = self.param(v);
        if folds_case(&t.ty) {
            (format!("lower({})", t.sql), format!("lower({p})"))
        } else {
            (t.sql.clone(), p)
        }
    }

    fn like(&mut self, t: &Typed, pattern: &str) -> Result<String, SoqlError> {
        if !folds_case(&t.ty) {
            return Err(SoqlError::filter(
                &t.name,
                format!(
                    "invalid operator on {} field: LIKE (only text fields support LIKE)",
                    t.ty.describe_type()
                ),
            ));
        }
        let p = self.param(Value::Text(pattern.to_string()));
        let c = &t.sql;
        Ok(match self.dialect {
            // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE escapes with `\` by default.
            Dialect::Sqlite => format!("{c} LIKE {p} ESCAPE '\\'"),
            Dialect::Postgres => format!("{c} ILIKE {p}"),
        })
    }

    fn in_list(
        &mut self,
        t: &Typed,
        values: &[Literal],
        negated: bool,
    ) -> Result<String, SoqlError> {
        let c = &t.sql;
        let mut ones = Vec::new();
        let mut ranges = Vec::new();
        let mut null = false;
        for v in values {
            match self.bind(t, v)? {
                Bound::Null => null = true,
                Bound::One(v) => ones.push(v),
                Bound::Range(a, b) => ranges.push((a, b)),
            }
        }
        let mut parts = Vec::new();
        if !ones.is_empty() {
            let fold = folds_case(&t.ty);
            let ps: Vec<String> = ones
                .into_iter()
                .map(|v| {
                    let p = self.param(v);
                    if fold { format!("lower({p})") } else { p }
                })
                .collect();
            let l = if fold {
                format!("lower({c})")
            } else {
                c.clone()
            };
            parts.push(format!("{l} IN ({})", ps.join(", ")));
        }
        for (a, b) in ranges {
            let (a, b) = (self.param(a), self.param(b));
            parts.push(format!("({c} >= {a} AND {c} < {b})"));
        }
        if null {
            if t.ty == FieldType::Boolean {
                let p = self.param(Value::Int(0));
                parts.push(format!("({c} IS NULL OR {c} = {p})"));
            } else {
                parts.push(format!("{c} IS NULL"));
            }
        }
        let positive = match parts.len() {
            0 => "1 = 0".to_string(),
            1 => parts.remove(0),
            _ => format!("({})", parts.join(" OR ")),
        };
        // NOT IN, like !=, also matches nulls (unless null is in the list).
        Ok(if negated {
            format!("NOT COALESCE({positive}, FALSE)")
        } else {
            positive
        })
    }
}

fn no_such_column(written: &str, name: &str, object: &str) -> SoqlError {
    SoqlError::invalid_field(
        written,
        format!("No such column '{name}' on entity '{object}'."),
    )
}
