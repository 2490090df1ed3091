//! Where handlers ask the access model. Object permissions, field-level
//! security and record access for single records are checked here; queries
//! carry the same grants into the SOQL planner.

use crate::error::{ApiError, ApiErrors};
use dialtone_access::{AccessLevel, FieldAccess, Grants, Mode, Op, Visibility};
use dialtone_model::{ObjectDef, RawValue, SalesforceId, Schema};
use dialtone_store::{Record, Store};

/// The object, if the user may do `op` on it. An object the user cannot read
/// does not exist for them (as in Salesforce); one they can read but not change
/// gives INSUFFICIENT_ACCESS_OR_READONLY.
pub fn object<'a>(grants: &Grants, schema: &'a Schema, name: &str, op: Op) -> Result<&'a ObjectDef, ApiError> {
    let o = crate::records::object(schema, name)?;
    if !grants.can(&o.name, Op::Read) {
        return Err(ApiError::new("NOT_FOUND", format!("The requested resource does not exist: sObject type '{name}' is not supported.")));
    }
    if !grants.can(&o.name, op) {
        let verb = match op {
            Op::Read => "read",
            Op::Create => "create",
            Op::Edit => "edit",
            Op::Delete => "delete",
        };
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", format!("You may not {verb} {} records", o.label)));
    }
    Ok(o)
}

/// Every field being written must be editable for this user; a hidden one is
/// reported as if it did not exist.
pub fn writable(grants: &Grants, schema: &Schema, o: &ObjectDef, raw: &[(String, RawValue)]) -> Result<(), ApiErrors> {
    let mut errors = Vec::new();
    for (name, _) in raw {
        if o.field(name).is_none() {
            continue; // the model reports unknown fields
        }
        match grants.field(schema, &o.name, name) {
            FieldAccess::Edit => {}
            FieldAccess::Read => errors.push(
                ApiError::new("INVALID_FIELD_FOR_INSERT_UPDATE", format!("Unable to create/update fields: {name}. Please check the security settings of this field."))
                    .with_fields(vec![name.clone()]),
            ),
            FieldAccess::Hidden => errors.push(
                ApiError::new("INVALID_FIELD", format!("No such column '{name}' on sobject of type {}", o.name)).with_fields(vec![name.clone()]),
            ),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiErrors(errors)) }
}

/// The record with only the fields this user may read.
pub fn redact(grants: &Grants, schema: &Schema, mut rec: Record) -> Record {
    let object = rec.object.clone();
    rec.values.retain(|(f, _)| grants.can_read_field(schema, &object, f));
    rec
}

/// Whether the user reaches this record in `mode` — owner, hierarchy, sharing
/// rules, manual shares, or its parent for objects controlled by one.
pub async fn reaches(store: &dyn Store, grants: &Grants, rec: &Record, mode: Mode) -> Result<bool, ApiError> {
    let v = grants.rows(&rec.object, mode).clone();
    admits(store, &v, rec, 0).await
}

async fn admits(store: &dyn Store, v: &Visibility, rec: &Record, depth: usize) -> Result<bool, ApiError> {
    let scope = match v {
        Visibility::All => return Ok(true),
        Visibility::None => return Ok(false),
        Visibility::Scoped(s) => s,
    };
    if let Some((field, parent, pv)) = &scope.parent {
        if depth > 4 {
            return Ok(false);
        }
        let Some(pid) = rec.get(field).and_then(|v| v.as_str()).and_then(|s| SalesforceId::parse(s).ok()) else { return Ok(false) };
        let Some(po) = store.schema().object(parent) else { return Ok(false) };
        let Some(prec) = store.get(po, &pid).await? else { return Ok(false) };
        return Box::pin(admits(store, pv, &prec, depth + 1)).await;
    }
    let id = rec.id().ok_or_else(|| ApiError::ours("record without id"))?;
    let shares: Vec<(String, AccessLevel)> = store
        .shares(&id)
        .await?
        .into_iter()
        .map(|s| (s.principal, if s.level >= 2 { AccessLevel::Edit } else { AccessLevel::Read }))
        .collect();
    let owner = rec.get("OwnerId").and_then(|v| v.as_str()).map(str::to_string);
    let field = |f: &str| {
        rec.get(f).and_then(|v| match v {
            dialtone_model::Value::Null => None,
            dialtone_model::Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        })
    };
    let no_parent = |_: &str, _: &str, _: &Visibility| false;
    Ok(scope.admits(owner.as_deref(), &field, &shares, &no_parent))
}

/// Reads a record the user may see, or NOT_FOUND (no hint that it exists).
pub async fn read(store: &dyn Store, grants: &Grants, o: &ObjectDef, id: &SalesforceId) -> Result<Record, ApiError> {
    let rec = store.get(o, id).await?.ok_or_else(ApiError::not_found)?;
    if !reaches(store, grants, &rec, Mode::Read).await? {
        return Err(ApiError::not_found());
    }
    Ok(rec)
}

/// A record the user may change: NOT_FOUND if they cannot see it,
/// INSUFFICIENT_ACCESS_OR_READONLY if they can see but not change it.
pub async fn editable(store: &dyn Store, grants: &Grants, o: &ObjectDef, id: &SalesforceId) -> Result<Record, ApiError> {
    let rec = read(store, grants, o, id).await?;
    if !reaches(store, grants, &rec, Mode::Edit).await? {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"));
    }
    Ok(rec)
}
