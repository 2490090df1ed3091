//! Record writes shared by the REST API, the CSV importer and the demo org:
//! validate with the schema, then one store call per batch.

use crate::error::{ApiError, ApiErrors};
use dialtone_model::{FieldError, ObjectDef, RawValue, SalesforceId, Schema};
use dialtone_store::Store;

pub fn object<'a>(schema: &'a Schema, name: &str) -> Result<&'a ObjectDef, ApiError> {
    schema
        .object(name)
        .ok_or_else(|| ApiError::new("NOT_FOUND", format!("The requested resource does not exist: sObject type '{name}' is not supported.")))
}

/// Objects that are written only through their own commands, never as records.
pub fn check_writable(o: &ObjectDef) -> Result<(), ApiError> {
    if o.name == "CallCenter" {
        return Err(ApiError::new(
            "INVALID_TYPE",
            "Call centers are defined by Call Center definition files: use `dialtone callcenter import FILE`",
        ));
    }
    if o.name == "FlowRun" {
        return Err(ApiError::new("INVALID_TYPE", "FlowRun records are written by the flow runner only (retry one with POST /api/flows/runs/{id}/retry)"));
    }
    Ok(())
}

/// [`check_writable`], and routing records are changed one at a time (each
/// audited) or as one file, never in a composite batch.
pub fn check_batchable(o: &ObjectDef) -> Result<(), ApiError> {
    check_writable(o)?;
    if o.name == "Flow" {
        return Err(ApiError::new("INVALID_TYPE", "Flow records are changed one at a time (sobjects/Flow) or as one file (PUT /api/flows/config, `dialtone flows import`)"));
    }
    if crate::routing_admin::is_routing_object(&o.name) {
        return Err(ApiError::new(
            "INVALID_TYPE",
            format!("{} records are changed one at a time (sobjects/{}) or as one file (PUT /api/routing/config, `dialtone routing import`)", o.name, o.name),
        ));
    }
    Ok(())
}

/// One record's outcome in a batch.
pub type Outcome = Result<SalesforceId, Vec<FieldError>>;

/// Creates records. Every row is validated first; the valid rows are written
/// in one transaction. With `all_or_none`, one invalid row writes nothing.
pub async fn create_many(
    store: &dyn Store,
    obj: &ObjectDef,
    rows: Vec<Vec<(String, RawValue)>>,
    actor: Option<&SalesforceId>,
    all_or_none: bool,
) -> Result<Vec<Outcome>, ApiErrors> {
    let checked: Vec<_> = rows.into_iter().map(|r| obj.check_create(r)).collect();
    let any_bad = checked.iter().any(Result::is_err);
    if all_or_none && any_bad {
        return Ok(checked
            .into_iter()
            .map(|c| match c {
                Err(e) => Err(e),
                Ok(_) => Err(vec![rolled_back()]),
            })
            .collect());
    }
    let good: Vec<_> = checked.iter().filter_map(|c| c.as_ref().ok().cloned()).collect();
    let mut ids = store.insert(obj, good, actor).await?.into_iter();
    Ok(checked
        .into_iter()
        .map(|c| match c {
            Ok(_) => Ok(ids.next().expect("one id per written row")),
            Err(e) => Err(e),
        })
        .collect())
}

/// The error of a valid record that an `allOrNone` batch did not write.
pub fn rolled_back() -> FieldError {
    FieldError::new(
        "",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
}

/// Updates one record after validating the change against its current state.
pub async fn update(
    store: &dyn Store,
    obj: &ObjectDef,
    id: &SalesforceId,
    input: Vec<(String, RawValue)>,
    actor: Option<&SalesforceId>,
) -> Result<(), ApiErrors> {
    let current = store.get(obj, id).await?.ok_or_else(ApiError::not_found)?;
    let values = obj.check_update(input, &current.values)?;
    if values.is_empty() {
        return Ok(());
    }
    store.update(obj, id, values, actor).await?;
    Ok(())
}

/// Parses a record id from a URL and checks it names a record of `obj`.
pub fn record_id(obj: &ObjectDef, raw: &str) -> Result<SalesforceId, ApiError> {
    let id = SalesforceId::parse(raw).map_err(|_| {
        ApiError::new("NOT_FOUND", format!("Provided external ID field does not exist or is not accessible: {raw}"))
    })?;
    if id.key_prefix() != obj.key_prefix {
        return Err(ApiError::new("NOT_FOUND", format!("The requested resource does not exist: {raw} is not a {}", obj.name)));
    }
    Ok(id)
}
