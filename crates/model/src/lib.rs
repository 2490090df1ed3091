//! The CRM data model as data: objects, fields, ids and values.
//!
//! Everything that validates a record, describes an object, plans a SOQL query
//! or lays out a storage table reads the same [`Schema`]. This crate does no
//! I/O and knows nothing of JSON, SQL or HTTP.

mod id;
mod schema;
pub mod standard;
mod value;

pub use id::{IdError, SalesforceId};
pub use schema::{Field, FieldType, ObjectDef, Schema, Storage, key_prefix_of};
pub use value::{FieldError, RawValue, Value, format_date, format_datetime, parse_date, parse_datetime};

#[cfg(test)]
mod tests;
