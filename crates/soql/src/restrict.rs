//! A user's SOQL: the access crate decides, the planner compiles. The rules
//! and the SQL are described in the crate documentation ("Access").

use crate::ast::*;
use crate::error::SoqlError;
use crate::parser::parse;
use crate::plan::{BASE, MAX_PARAMS, Planner, Typed, column_sql, plan_with, quote};
use crate::sql::{Dialect, Plan};
use dialtone_access::{AccessLevel, Criterion, Grants, Mode, Op, Scope, Visibility};
use dialtone_model::{
    Field, FieldType, ObjectDef, SalesforceId, Schema, Value, parse_date, parse_datetime,
};
use time::{OffsetDateTime, macros::date};

/// The store's table of manual shares: `record_id`, `principal` (a
/// [`dialtone_access::Principal::key`]) and `level` (1 read, 2 edit).
pub const SHARES_TABLE: &str = "dt_shares";

/// Whose query a plan is for, and which rows they need (seeing or changing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access<'g> {
    pub(crate) grants: &'g Grants,
    pub(crate) mode: Mode,
}

impl Access<'_> {
    pub(crate) fn can_read(&self, object: &str) -> bool {
        self.grants.can(object, Op::Read)
    }
}

/// [`crate::plan`] for a user: only the objects, fields and rows their
/// `grants` reach (see "Access" in the [crate documentation](crate)).
pub fn plan_for(
    q: &Query,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
    grants: &Grants,
) -> Result<Plan, SoqlError> {
    let access = Access {
        grants,
        mode: Mode::Read,
    };
    plan_with(q, schema, dialect, now, Some(access), None)
}

/// Parses and plans a user's query in one step: `plan_for(&parse(soql)?, …)`.
pub fn compile_for(
    soql: &str,
    schema: &Schema,
    dialect: Dialect,
    now: OffsetDateTime,
    grants: &Grants,
) -> Result<Plan, SoqlError> {
    plan_for(&parse(soql)?, schema, dialect, now, grants)
}

/// A `CountOnly` plan of `SELECT COUNT() FROM object WHERE Id = :id` under the
/// user's visibility for `mode` ([`Mode::Edit`] for updates and deletes): its
/// count is 1 when the user reaches the record, 0 when they do not (or it does
/// not exist). The object needs `Read` (else `INVALID_TYPE`); whether the user
/// may edit or delete the object at all is [`Grants::can`]'s to say.
pub fn record_visible_plan(
    object: &str,
    id: &SalesforceId,
    schema: &Schema,
    dialect: Dialect,
    grants: &Grants,
    mode: Mode,
) -> Result<Plan, SoqlError> {
    let q = Query {
        select: vec![SelectItem::CountAll],
        from: object.to_string(),
        filter: Some(Expr::Compare {
            left: Operand::Field(FieldPath(vec!["Id".into()])),
            op: CompareOp::Eq,
            value: Literal::String(id.to_string()),
        }),
        group_by: Vec::new(),
        having: None,
        order_by: Vec::new(),
        limit: None,
        offset: None,
    };
    // No relative dates here: any instant will do.
    let now = date!(2000 - 01 - 01).midnight().assume_utc();
    plan_with(&q, schema, dialect, now, Some(Access { grants, mode }), None)
}

/// The condition keeping the rows of `object` (aliased `alias` in the
/// caller's SQL) that `visibility` reaches, with its parameters; `None` when
/// it reaches every row. PostgreSQL placeholders are numbered from
/// `first_param` (1 for a statement with no other parameters). Its own
/// subqueries are aliased `s1`, `v2`, … For the store's read paths that are
/// not SOQL; SOQL goes through [`plan_for`].
pub fn visibility_sql(
    object: &str,
    alias: &str,
    visibility: &Visibility,
    schema: &Schema,
    dialect: Dialect,
    first_param: usize,
) -> Result<Option<(String, Vec<Value>)>, SoqlError> {
    let obj = schema
        .object(object)
        .ok_or_else(|| SoqlError::UnknownObject {
            object: object.to_string(),
        })?;
    let skip = first_param.saturating_sub(1);
    if skip >= MAX_PARAMS {
        return Err(SoqlError::malformed(format!(
            "A query may compare against at most {MAX_PARAMS} values"
        )));
    }
    let mut p = Planner {
        schema,
        obj,
        dialect,
        today: date!(2000 - 01 - 01),
        // Stand-ins for the caller's parameters, so placeholders number on.
        params: vec![Value::Null; skip],
        joins: Vec::new(),
        groups: Vec::new(),
        access: None,
        subqueries: 0,
        sharing_params: 0,
        zone: None,
    };
    let sql = p.visible(obj, alias, visibility);
    p.params.drain(..skip);
    p.sharing_params = p.params.len();
    p.check_params()?;
    Ok(sql.map(|s| (s, p.params)))
}

impl Planner<'_> {
    /// Field-level security: whether the user may read `f` of `obj`.
    pub(crate) fn readable(&self, obj: &ObjectDef, f: &Field) -> bool {
        self.access
            .is_none_or(|a| a.grants.can_read_field(self.schema, &obj.name, &f.name))
    }

    /// The WHERE condition: the query's own, then the rows the user reaches.
    pub(crate) fn restrict_rows(&mut self, filter: Option<String>) -> Option<String> {
        let Some(a) = self.access else { return filter };
        let (obj, before) = (self.obj, self.params.len());
        let rows = self.visible(obj, BASE, a.grants.rows(&obj.name, a.mode));
        self.sharing_params += self.params.len() - before;
        match (filter, rows) {
            (f, None) => f,
            (None, r) => r,
            (Some(f), Some(r)) => Some(format!("({f}) AND {r}")),
        }
    }

    /// For each join, in order, what its ON clause adds: the parent rows the
    /// user reaches. Call once every join is known, after WHERE and HAVING.
    pub(crate) fn restrict_parents(&mut self) -> Vec<Option<String>> {
        let Some(a) = self.access else {
            return vec![None; self.joins.len()];
        };
        let before = self.params.len();
        let mut out = Vec::with_capacity(self.joins.len());
        for i in 0..self.joins.len() {
            let (target, alias) = (self.joins[i].target, self.joins[i].alias.clone());
            out.push(self.visible(target, &alias, a.grants.rows(&target.name, Mode::Read)));
        }
        let added = self.params.len() - before;
        self.sharing_params += added;
        // These placeholders sit in FROM, before WHERE's and HAVING's. SQLite
        // binds by position, so their values go first; PostgreSQL's are
        // numbered, so they may stay last.
        if self.dialect == Dialect::Sqlite {
            self.params.rotate_right(added);
        }
        out
    }

    /// Refuses a plan with more values than a statement can bind.
    pub(crate) fn check_params(&self) -> Result<(), SoqlError> {
        let n = self.params.len();
        if n <= MAX_PARAMS {
            Ok(())
        } else if n - self.sharing_params <= MAX_PARAMS {
            Err(SoqlError::malformed(format!(
                "This user's sharing (owners, criteria and share principals) needs {} values, \
                 more than one query may bind ({MAX_PARAMS}); grant View All on {} or simplify the sharing",
                self.sharing_params, self.obj.name
            )))
        } else {
            Err(SoqlError::malformed(format!(
                "A query may compare against at most {MAX_PARAMS} values"
            )))
        }
    }

    /// The rows of `obj`, aliased `alias`, that `v` reaches; `None` for all.
    fn visible(&mut self, obj: &ObjectDef, alias: &str, v: &Visibility) -> Option<String> {
        match v {
            Visibility::All => None,
            Visibility::None => Some(NOTHING.into()),
            Visibility::Scoped(s) => Some(self.scope(obj, alias, s)),
        }
    }

    /// [`Scope::admits`] as SQL.
    fn scope(&mut self, obj: &ObjectDef, alias: &str, s: &Scope) -> String {
        if let Some((field, parent, v)) = &s.parent {
            return self.through_parent(obj, alias, field, parent, v);
        }
        let mut any = Vec::new();
        if !s.owners.is_empty()
            && let Some(owner) = obj.field("OwnerId")
        {
            let list = self.list(s.owners.iter());
            any.push(format!(
                "{} IN ({list})",
                column_sql(alias, &owner.column())
            ));
        }
        for set in &s.criteria {
            any.extend(self.criteria(obj, alias, set));
        }
        if !s.principals.is_empty() {
            let sh = self.subquery_alias("s");
            let list = self.list(s.principals.iter());
            let level = match s.level.unwrap_or(AccessLevel::Read) {
                AccessLevel::Read => 1,
                AccessLevel::Edit => 2,
            };
            let level = self.param(Value::Int(level));
            any.push(format!(
                "{} IN (SELECT {} FROM {} AS {} WHERE {} IN ({list}) AND {} >= {level})",
                column_sql(alias, "id"),
                column_sql(&sh, "record_id"),
                quote(SHARES_TABLE),
                quote(&sh),
                column_sql(&sh, "principal"),
                column_sql(&sh, "level"),
            ));
        }
        match any.len() {
            0 => NOTHING.into(),
            1 => any.remove(0),
            _ => format!("({})", any.join(" OR ")),
        }
    }

    /// A record controlled by its parent is reached when its parent is.
    fn through_parent(
        &mut self,
        obj: &ObjectDef,
        alias: &str,
        field: &str,
        parent: &str,
        v: &Visibility,
    ) -> String {
        let schema = self.schema;
        let (Some(f), Some(p)) = (obj.field(field), schema.object(parent)) else {
            return NOTHING.into();
        };
        if *v == Visibility::None {
            return NOTHING.into();
        }
        let pa = self.subquery_alias("v");
        let mut sub = format!(
            "SELECT {} FROM {} AS {}",
            column_sql(&pa, "id"),
            quote(&p.table()),
            quote(&pa)
        );
        if let Some(w) = self.visible(p, &pa, v) {
            sub.push_str(" WHERE ");
            sub.push_str(&w);
        }
        format!("{} IN ({sub})", column_sql(alias, &f.column()))
    }

    /// One criteria set: every criterion holds. `None` when one can never
    /// hold (an unknown field, a value its type cannot take, an empty value:
    /// a stored value is never empty).
    fn criteria(&mut self, obj: &ObjectDef, alias: &str, set: &[Criterion]) -> Option<String> {
        let mark = self.params.len();
        let mut all = Vec::with_capacity(set.len());
        for c in set {
            let clause = obj.field(&c.field).and_then(|f| {
                let lit = criterion_literal(&f.ty, &c.value)?;
                let t = Typed {
                    sql: column_sql(alias, &f.column()),
                    ty: f.ty.clone(),
                    name: f.name.clone(),
                };
                // The planner's own comparison: case-insensitive text, ids
                // normalised, booleans as 0/1.
                self.compare(&t, CompareOp::Eq, &lit).ok()
            });
            match clause {
                Some(x) => all.push(x),
                None => {
                    self.params.truncate(mark);
                    return None;
                }
            }
        }
        Some(match all.len() {
            0 => "1 = 1".into(),
            1 => all.remove(0),
            _ => format!("({})", all.join(" AND ")),
        })
    }

    /// `?, ?, …`, one text parameter each.
    fn list<'a>(&mut self, values: impl Iterator<Item = &'a String>) -> String {
        values
            .map(|v| self.param(Value::Text(v.clone())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn subquery_alias(&mut self, prefix: &str) -> String {
        self.subqueries += 1;
        format!("{prefix}{}", self.subqueries)
    }
}

/// Matches no row.
const NOTHING: &str = "1 = 0";

/// A sharing criterion's value (always text) as the literal the planner
/// compares the field with; `None` when the field can never equal it.
fn criterion_literal(ty: &FieldType, value: &str) -> Option<Literal> {
    if value.is_empty() {
        return None;
    }
    let v = value.trim();
    Some(match ty {
        FieldType::Boolean if v.eq_ignore_ascii_case("true") => Literal::Bool(true),
        FieldType::Boolean if v.eq_ignore_ascii_case("false") => Literal::Bool(false),
        FieldType::Boolean => return None,
        FieldType::Int => Literal::Int(v.parse().ok()?),
        FieldType::Double | FieldType::Currency | FieldType::Percent => {
            Literal::Float(v.parse::<f64>().ok().filter(|x| x.is_finite())?)
        }
        FieldType::Date => Literal::Date(parse_date(v)?),
        FieldType::DateTime => Literal::DateTime(parse_datetime(v)?),
        _ => Literal::String(value.to_string()),
    })
}
