//! Wire shapes: JSON <-> model values, record and describe bodies.
//! Only this crate knows JSON field names.

use crate::error::{ApiError, ApiErrors};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use dialtone_access::{FieldAccess, Grants, ObjectPerms};
use dialtone_model::{Field, FieldType, ObjectDef, RawValue, Schema, Value};
use dialtone_store::Record;
use serde_json::{Map, Value as Json, json};

/// A JSON request body; a parse failure is a Salesforce `JSON_PARSER_ERROR`.
pub struct JsonBody(pub Json);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<JsonBody, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new("EXCEEDED_MAX_SIZE_REQUEST", "The request body is too large")
            } else {
                ApiError::new("JSON_PARSER_ERROR", e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new("JSON_PARSER_ERROR", format!("Invalid JSON at line {} column {}: {e}", e.line(), e.column())))
    }
}

pub fn value_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => json!(i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
    }
}

/// Turns a JSON object into raw field input; `attributes` is ignored, as
/// Salesforce does. Nested objects and arrays are not field values.
pub fn raw_fields(body: &Json) -> Result<Vec<(String, RawValue)>, ApiErrors> {
    let Json::Object(map) = body else {
        return Err(ApiError::new("JSON_PARSER_ERROR", "The request body must be a JSON object of field names and values").into());
    };
    let mut out = Vec::with_capacity(map.len());
    let mut errors = Vec::new();
    for (k, v) in map {
        if k == "attributes" {
            continue;
        }
        let raw = match v {
            Json::Null => RawValue::Null,
            Json::Bool(b) => RawValue::Bool(*b),
            Json::Number(n) => RawValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            Json::String(s) => RawValue::Text(s.clone()),
            Json::Array(_) | Json::Object(_) => {
                errors.push(
                    ApiError::new("JSON_PARSER_ERROR", format!("Field {k} must hold a single value, not a list or object"))
                        .with_fields(vec![k.clone()]),
                );
                continue;
            }
        };
        out.push((k.clone(), raw));
    }
    if errors.is_empty() { Ok(out) } else { Err(ApiErrors(errors)) }
}

pub fn sobject_url(version: &str, object: &str, id: &str) -> String {
    format!("/services/data/{version}/sobjects/{object}/{id}")
}

/// A record as GET /sobjects/{Object}/{id} returns it, optionally only some fields.
pub fn record_json(version: &str, rec: &Record, only: Option<&[String]>) -> Json {
    let mut m = Map::new();
    let id = rec.get("Id").and_then(Value::as_str).unwrap_or("").to_string();
    m.insert("attributes".into(), json!({"type": rec.object, "url": sobject_url(version, &rec.object, &id)}));
    for (name, v) in &rec.values {
        if only.is_some_and(|o| !o.iter().any(|f| f.eq_ignore_ascii_case(name))) {
            continue;
        }
        m.insert(name.clone(), value_to_json(v));
    }
    Json::Object(m)
}

fn field_describe(f: &Field, access: FieldAccess, obj: ObjectPerms) -> Json {
    let (reference_to, relationship) = match &f.ty {
        FieldType::Reference(t) => (json!(t), json!(f.relationship_name)),
        _ => (json!([]), Json::Null),
    };
    let picklist: Vec<Json> = f
        .picklist_values()
        .iter()
        .map(|v| {
            let default = f.default.as_ref().and_then(Value::as_str) == Some(v.as_str());
            json!({"value": v, "label": v, "active": true, "defaultValue": default, "validFor": null})
        })
        .collect();
    let text_like = matches!(f.ty.storage(), dialtone_model::Storage::Text);
    json!({
        "name": f.name,
        "label": f.label,
        "type": f.ty.describe_type(),
        "soapType": f.ty.soap_type(),
        "length": if text_like { f.length } else { 0 },
        "byteLength": if text_like { f.length * 3 } else { 0 },
        "precision": if matches!(f.ty, FieldType::Currency | FieldType::Double | FieldType::Percent) { 18 } else { 0 },
        "scale": if matches!(f.ty, FieldType::Currency) { 2 } else { 0 },
        "digits": if f.ty == FieldType::Int { 9 } else { 0 },
        "nillable": f.nillable(),
        "createable": f.createable && access == FieldAccess::Edit && obj.create,
        "updateable": f.updateable && access == FieldAccess::Edit && obj.edit,
        "filterable": !matches!(f.ty, FieldType::LongTextArea),
        "sortable": !matches!(f.ty, FieldType::LongTextArea),
        "groupable": !matches!(f.ty, FieldType::LongTextArea | FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::DateTime),
        "aggregatable": true,
        "defaultedOnCreate": f.default.is_some() || !f.createable,
        "defaultValue": f.default.as_ref().map_or(Json::Null, value_to_json),
        "calculated": false,
        "autoNumber": f.ty == FieldType::AutoNumber,
        "custom": f.name.ends_with("__c"),
        "externalId": false,
        "unique": false,
        "idLookup": f.name == "Id" || f.name == "Username",
        "nameField": f.name == "Name",
        "restrictedPicklist": f.restricted,
        "picklistValues": picklist,
        "referenceTo": reference_to,
        "relationshipName": relationship,
        "indexed": f.indexed,
    })
}

fn object_urls(version: &str, o: &ObjectDef) -> Json {
    let base = format!("/services/data/{version}/sobjects/{}", o.name);
    json!({
        "sobject": base,
        "describe": format!("{base}/describe"),
        "rowTemplate": format!("{base}/{{ID}}"),
    })
}

/// The object-level part of describe (describeGlobal entries), as this user may use it.
pub fn object_summary(version: &str, o: &ObjectDef, grants: &Grants) -> Json {
    let writable = o.name != "CallCenter";
    let p = grants.object(&o.name);
    json!({
        "name": o.name,
        "label": o.label,
        "labelPlural": o.label_plural,
        "keyPrefix": o.key_prefix,
        "custom": false,
        "createable": writable && p.create,
        "updateable": writable && p.edit,
        "deletable": writable && p.delete,
        "queryable": true,
        "retrieveable": true,
        "searchable": o.phone_fields().next().is_some(),
        "layoutable": true,
        "activateable": false,
        "feedEnabled": false,
        "urls": object_urls(version, o),
    })
}

/// Describe as this user sees it: hidden fields are left out, and a field is
/// createable or updateable only where field-level security allows.
pub fn describe(version: &str, o: &ObjectDef, schema: &Schema, grants: &Grants) -> Json {
    let mut d = object_summary(version, o, grants);
    let perms = grants.object(&o.name);
    let fields = o
        .fields
        .iter()
        .map(|f| (f, grants.field(schema, &o.name, &f.name)))
        .filter(|(_, a)| *a != FieldAccess::Hidden)
        .map(|(f, a)| field_describe(f, a, perms))
        .collect();
    d["fields"] = Json::Array(fields);
    d["childRelationships"] = json!([]);
    d["recordTypeInfos"] = json!([]);
    d
}
