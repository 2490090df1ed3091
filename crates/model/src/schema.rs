//! Objects and fields as data. One [`Schema`] value describes every object:
//! validation, `describe`, SOQL planning and the store's tables all read it.

use crate::value::{FieldError, RawValue, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Id,
    /// A lookup to one of the named objects.
    Reference(Vec<String>),
    String,
    TextArea,
    LongTextArea,
    /// Allowed values, in display order.
    Picklist(Vec<String>),
    Phone,
    Email,
    Url,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    /// Numbered by the store on insert (CaseNumber, VoiceCall Name).
    AutoNumber,
}

impl FieldType {
    /// The name `describe` reports (Salesforce's `type`).
    pub fn describe_type(&self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Reference(_) => "reference",
            FieldType::String | FieldType::AutoNumber => "string",
            FieldType::TextArea | FieldType::LongTextArea => "textarea",
            FieldType::Picklist(_) => "picklist",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Url => "url",
            FieldType::Boolean => "boolean",
            FieldType::Int => "int",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
        }
    }

    pub fn soap_type(&self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference(_) => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            _ => "xsd:string",
        }
    }

    /// How the value is held in storage and compared in queries.
    pub fn storage(&self) -> Storage {
        match self {
            FieldType::Boolean => Storage::Bool,
            FieldType::Int => Storage::Int,
            FieldType::Double | FieldType::Currency | FieldType::Percent => Storage::Float,
            _ => Storage::Text,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self.storage(), Storage::Int | Storage::Float)
    }
}

/// Storage classes: every field type maps onto one of these columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Text,
    Int,
    Float,
    Bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub label: String,
    pub ty: FieldType,
    /// Maximum characters for text-like fields.
    pub length: u32,
    /// Must be given on create.
    pub required: bool,
    pub createable: bool,
    pub updateable: bool,
    /// A restricted picklist refuses values outside its list.
    pub restricted: bool,
    pub default: Option<Value>,
    /// For references: the relationship name (`AccountId` -> `Account`).
    pub relationship_name: Option<String>,
    /// Indexed in storage (lookups, equality filters).
    pub indexed: bool,
    /// Changes are kept as field history (when the object keeps history).
    pub tracked: bool,
}

impl Field {
    /// The storage column: the API name in lower case.
    pub fn column(&self) -> String {
        self.name.to_ascii_lowercase()
    }

    pub fn is_phone(&self) -> bool {
        self.ty == FieldType::Phone
    }

    pub fn nillable(&self) -> bool {
        !self.required && !matches!(self.ty, FieldType::Boolean | FieldType::Id)
    }

    pub fn picklist_values(&self) -> &[String] {
        match &self.ty {
            FieldType::Picklist(v) => v,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    pub fields: Vec<Field>,
    /// Changes to this object's fields are kept as field history.
    pub history: bool,
    /// Composite indexes by name: the fields, in order. Reports' covering
    /// indexes live here, so a report reads the index, never the wide rows.
    pub indexes: Vec<(String, Vec<String>)>,
    by_lower: HashMap<String, usize>,
}

impl ObjectDef {
    /// Case-insensitive field lookup, as SOQL and the REST API do it.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.by_lower.get(&name.to_ascii_lowercase()).map(|&i| &self.fields[i])
    }

    /// The storage table.
    pub fn table(&self) -> String {
        format!("sobj_{}", self.name.to_ascii_lowercase())
    }

    pub fn phone_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.is_phone())
    }

    pub fn has_owner(&self) -> bool {
        self.field("OwnerId").is_some()
    }

    /// The record's display name field, if it has one.
    pub fn name_field(&self) -> Option<&Field> {
        self.field("Name").or_else(|| self.field("Subject")).or_else(|| self.field("CaseNumber"))
    }

    /// Validates input for a new record: unknown and read-only fields,
    /// types, lengths, restricted picklists, required fields; fills defaults.
    /// Every problem is reported, not only the first.
    pub fn check_create(&self, input: Vec<(String, RawValue)>) -> Result<Vec<(String, Value)>, Vec<FieldError>> {
        let mut out = self.check_values(input, true)?;
        let mut errors = Vec::new();
        for f in &self.fields {
            let given = out.iter().any(|(n, v)| n == &f.name && !v.is_null());
            if given {
                continue;
            }
            if let Some(d) = &f.default {
                // An explicit null means "not given": the default replaces it.
                out.retain(|(n, _)| n != &f.name);
                out.push((f.name.clone(), d.clone()));
            } else if f.required && !self.derivable(&f.name, &out) {
                errors.push(FieldError::new(
                    &f.name,
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", f.name),
                ));
            }
        }
        if errors.is_empty() {
            derive_fields(self, &mut out, &[]);
            Ok(out)
        } else {
            // Salesforce reports all missing required fields as one error.
            let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            let mut one = FieldError::new(&names.join(", "), "REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{}]", names.join(", ")));
            one.field = names.join(",");
            Err(vec![one])
        }
    }

    /// Validates a change to an existing record (`current` is its stored state).
    pub fn check_update(
        &self,
        input: Vec<(String, RawValue)>,
        current: &[(String, Value)],
    ) -> Result<Vec<(String, Value)>, Vec<FieldError>> {
        let mut out = self.check_values(input, false)?;
        let errors: Vec<FieldError> = out
            .iter()
            .filter(|(n, v)| v.is_null() && self.field(n).is_some_and(|f| f.required))
            .map(|(n, _)| FieldError::new(n, "REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{n}]")))
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        derive_fields(self, &mut out, current);
        Ok(out)
    }

    fn check_values(&self, input: Vec<(String, RawValue)>, create: bool) -> Result<Vec<(String, Value)>, Vec<FieldError>> {
        let mut out: Vec<(String, Value)> = Vec::with_capacity(input.len());
        let mut errors = Vec::new();
        for (name, raw) in input {
            let Some(f) = self.field(&name) else {
                errors.push(FieldError::new(
                    &name,
                    "INVALID_FIELD",
                    format!("No such column '{name}' on sobject of type {}", self.name),
                ));
                continue;
            };
            let allowed = if create { f.createable } else { f.updateable };
            if !allowed {
                errors.push(FieldError::new(
                    &f.name,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!("Unable to {} the field {}: it is read-only", if create { "create" } else { "update" }, f.name),
                ));
                continue;
            }
            if out.iter().any(|(n, _)| n == &f.name) {
                errors.push(FieldError::new(&f.name, "DUPLICATE_VALUE", format!("Field {} is given twice", f.name)));
                continue;
            }
            match f.coerce(raw) {
                Ok(v) => out.push((f.name.clone(), v)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    fn derivable(&self, field: &str, given: &[(String, Value)]) -> bool {
        // A Person Account has no Name of its own: it is derived from LastName.
        self.name == "Account" && field == "Name" && has_value(given, "LastName")
    }
}

fn has_value(values: &[(String, Value)], name: &str) -> bool {
    values.iter().any(|(n, v)| n == name && !v.is_null())
}

fn get<'a>(values: &'a [(String, Value)], current: &'a [(String, Value)], name: &str) -> Option<&'a str> {
    values
        .iter()
        .chain(current.iter())
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_str())
}

/// Fills the computed fields: `Name` of people from first and last name,
/// `IsPersonAccount` for Accounts created with a LastName.
fn derive_fields(obj: &ObjectDef, values: &mut Vec<(String, Value)>, current: &[(String, Value)]) {
    let people = matches!(obj.name.as_str(), "Contact" | "Lead" | "User");
    let person_account = obj.name == "Account"
        && (has_value(values, "LastName")
            || current.iter().any(|(n, v)| n == "IsPersonAccount" && *v == Value::Bool(true)));
    let touched = values.iter().any(|(n, _)| n == "FirstName" || n == "LastName");
    if (people || person_account) && touched {
        let first = get(values, current, "FirstName").unwrap_or("").to_string();
        let last = get(values, current, "LastName").unwrap_or("").to_string();
        let name = format!("{first} {last}").trim().to_string();
        values.retain(|(n, _)| n != "Name");
        values.push(("Name".to_string(), Value::Text(name)));
    }
    if obj.name == "Account" && current.is_empty() {
        values.retain(|(n, _)| n != "IsPersonAccount");
        values.push(("IsPersonAccount".to_string(), Value::Bool(person_account)));
    }
}

/// All objects. Lookups by name are case-insensitive.
#[derive(Debug, Clone)]
pub struct Schema {
    objects: Vec<ObjectDef>,
    by_lower: HashMap<String, usize>,
    by_prefix: HashMap<String, usize>,
}

impl Schema {
    pub fn new(objects: Vec<ObjectDef>) -> Schema {
        let by_lower = objects.iter().enumerate().map(|(i, o)| (o.name.to_ascii_lowercase(), i)).collect();
        let by_prefix = objects.iter().enumerate().map(|(i, o)| (o.key_prefix.clone(), i)).collect();
        Schema { objects, by_lower, by_prefix }
    }

    /// The standard objects a CTI system touches.
    pub fn standard() -> &'static Schema {
        &STANDARD
    }

    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.by_lower.get(&name.to_ascii_lowercase()).map(|&i| &self.objects[i])
    }

    pub fn by_key_prefix(&self, prefix: &str) -> Option<&ObjectDef> {
        self.by_prefix.get(prefix).map(|&i| &self.objects[i])
    }

    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }
}

/// The key prefix of a standard object.
pub fn key_prefix_of(object: &str) -> Option<&'static str> {
    Schema::standard().object(object).map(|o| o.key_prefix.as_str())
}

static STANDARD: LazyLock<Schema> = LazyLock::new(|| Schema::new(crate::standard::objects()));

/// A small builder so the standard objects read as a table.
pub(crate) struct ObjectBuilder {
    obj: ObjectDef,
}

impl ObjectBuilder {
    pub(crate) fn new(name: &str, label: &str, plural: &str, prefix: &str, owned: bool) -> ObjectBuilder {
        let mut b = ObjectBuilder {
            obj: ObjectDef {
                name: name.into(),
                label: label.into(),
                label_plural: plural.into(),
                key_prefix: prefix.into(),
                fields: Vec::new(),
                history: false,
                indexes: Vec::new(),
                by_lower: HashMap::new(),
            },
        };
        b = b.add(FieldType::Id, "Id", "Record ID", 18).read_only().indexed();
        if owned {
            b = b.add(FieldType::Reference(vec!["User".into()]), "OwnerId", "Owner ID", 18).indexed();
        }
        b
    }

    pub(crate) fn add(mut self, ty: FieldType, name: &str, label: &str, length: u32) -> ObjectBuilder {
        let relationship_name = match &ty {
            FieldType::Reference(_) => Some(name.strip_suffix("Id").unwrap_or(name).to_string()),
            _ => None,
        };
        let length = match ty {
            FieldType::Reference(_) | FieldType::Id => 18,
            _ => length,
        };
        self.obj.fields.push(Field {
            name: name.into(),
            label: label.into(),
            ty,
            length,
            required: false,
            createable: true,
            updateable: true,
            restricted: false,
            default: None,
            relationship_name,
            indexed: false,
            tracked: true,
        });
        self
    }

    pub(crate) fn text(self, name: &str, label: &str, length: u32) -> ObjectBuilder {
        self.add(FieldType::String, name, label, length)
    }
    pub(crate) fn phone(self, name: &str, label: &str) -> ObjectBuilder {
        self.add(FieldType::Phone, name, label, 40)
    }
    pub(crate) fn reference(self, name: &str, label: &str, targets: &[&str]) -> ObjectBuilder {
        self.add(FieldType::Reference(targets.iter().map(|s| s.to_string()).collect()), name, label, 18)
            .indexed()
    }
    pub(crate) fn picklist(self, name: &str, label: &str, values: &[&str]) -> ObjectBuilder {
        self.add(FieldType::Picklist(values.iter().map(|s| s.to_string()).collect()), name, label, 255)
    }
    pub(crate) fn boolean(self, name: &str, label: &str) -> ObjectBuilder {
        self.add(FieldType::Boolean, name, label, 0).default(Value::Bool(false))
    }

    fn last(&mut self) -> &mut Field {
        self.obj.fields.last_mut().expect("a field was added")
    }
    pub(crate) fn required(mut self) -> ObjectBuilder {
        self.last().required = true;
        self
    }
    pub(crate) fn restricted(mut self) -> ObjectBuilder {
        self.last().restricted = true;
        self
    }
    pub(crate) fn read_only(mut self) -> ObjectBuilder {
        let f = self.last();
        f.createable = false;
        f.updateable = false;
        self
    }
    pub(crate) fn create_only(mut self) -> ObjectBuilder {
        self.last().updateable = false;
        self
    }
    pub(crate) fn indexed(mut self) -> ObjectBuilder {
        self.last().indexed = true;
        self
    }
    pub(crate) fn default(mut self, v: Value) -> ObjectBuilder {
        self.last().default = Some(v);
        self
    }
    pub(crate) fn default_text(self, v: &str) -> ObjectBuilder {
        self.default(Value::Text(v.into()))
    }

    /// The last field's changes are not kept as history (a system-written document, not a fact an admin audits).
    pub(crate) fn untracked(mut self) -> ObjectBuilder {
        self.last().tracked = false;
        self
    }
    /// A composite index over `fields` (API names), in this order.
    pub(crate) fn composite_index(mut self, name: &str, fields: &[&str]) -> ObjectBuilder {
        self.obj.indexes.push((name.to_string(), fields.iter().map(|f| f.to_string()).collect()));
        self
    }
    pub(crate) fn with_history(mut self) -> ObjectBuilder {
        self.obj.history = true;
        self
    }

    pub(crate) fn build(self) -> ObjectDef {
        let mut b = self
            .add(FieldType::DateTime, "CreatedDate", "Created Date", 0)
            .read_only()
            .indexed()
            .add(FieldType::Reference(vec!["User".into()]), "CreatedById", "Created By ID", 18)
            .read_only()
            .add(FieldType::DateTime, "LastModifiedDate", "Last Modified Date", 0)
            .read_only()
            .add(FieldType::Reference(vec!["User".into()]), "LastModifiedById", "Last Modified By ID", 18)
            .read_only()
            .add(FieldType::DateTime, "SystemModstamp", "System Modstamp", 0)
            .read_only();
        b.obj.by_lower = b.obj.fields.iter().enumerate().map(|(i, f)| (f.name.to_ascii_lowercase(), i)).collect();
        b.obj
    }
}
