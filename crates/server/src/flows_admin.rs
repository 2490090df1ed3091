//! Flows administered as records (`Flow`), and as one YAML or JSON file.
//!
//! - [`load`] reads the Flow records into `dialtone_flows::Flow`s (what the
//!   runner executes), with every record that does not make sense as a problem.
//! - [`FlowsFile`] is the file. [`import`] checks it whole — it parses, every
//!   object, field, condition (planned with the SOQL planner), action and merge
//!   field makes sense — and lists every problem with the flow it is in;
//!   nothing is written on error. Then every Flow record is replaced in one
//!   `write_batch` (`WriteOp::DeleteAll`). [`export`] writes the records back
//!   out. `GET/PUT /api/flows/config` and `dialtone flows export|import|validate`
//!   are the same functions.
//!
//! REST writes of Flow records need Manage Flows and are audited
//! (`flows.Flow.<op>`); composite batches refuse them; FlowRun records are
//! written only by the runner.

use crate::auth::Session;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use dialtone_access::SystemPerm;
use dialtone_flows::threshold::ThresholdSpec;
use dialtone_flows::{Action, Flow, Trigger};
use dialtone_model::{FieldType, RawValue, SalesforceId, Schema, Value};
use dialtone_store::{Store, WriteOp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Largest flows file taken.
pub use crate::config_file::MAX_FILE;

/// The merge variables a threshold alert's actions may use.
pub const THRESHOLD_VARS: &[&str] = &["Count", "Total", "Percent", "WindowMinutes", "FlowName"];

/// The flows file (YAML or JSON, the same shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowsFile {
    #[serde(default)]
    pub flows: Vec<FlowFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowFile {
    pub name: String,
    pub object: String,
    /// created, updated, createdOrUpdated, changedTo, threshold.
    pub when: String,
    /// changedTo: the field and the value it changes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// SOQL WHERE text, e.g. `CallType = 'Inbound' AND Account.Rating = 'Hot'`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<ThresholdFile>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThresholdFile {
    /// SOQL WHERE: the records counted (e.g. `ScreenPopOutcome = 'Failed'`).
    pub count: String,
    /// SOQL WHERE: out of these (e.g. `ScreenPopOutcome != null`).
    pub out_of: String,
    /// A DateTime field of the object; the window ends now.
    pub window_field: String,
    pub window_minutes: i64,
    pub percent: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_minutes: Option<i64>,
}

pub use crate::config_file::Format;

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new("INVALID_FLOW_CONFIG", m)
}

pub fn parse_file(bytes: &[u8]) -> Result<FlowsFile, ApiError> {
    crate::config_file::parse(bytes, "flows file", "INVALID_FLOW_CONFIG")
}

pub fn render(file: &FlowsFile, format: Format) -> Result<String, ApiError> {
    crate::config_file::render(file, format)
}

/// A loaded flow and who its actions write as (the admin who last changed it).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub flow: Flow,
    pub actor: Option<SalesforceId>,
}

const FLOW_FIELDS: &[&str] = &[
    "Id", "Name", "Object", "TriggerType", "TriggerField", "TriggerValue", "Condition", "Actions", "ExecutionOrder", "IsActive", "Description",
    "Numerator", "Denominator", "WindowField", "WindowMinutes", "ThresholdPercent", "MinimumCount", "CooldownMinutes", "LastModifiedById",
];

type Row = HashMap<&'static str, Value>;

fn text<'a>(r: &'a Row, f: &str) -> Option<&'a str> {
    r.get(f).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

fn int(r: &Row, f: &str) -> Option<i64> {
    match r.get(f) {
        Some(Value::Int(n)) => Some(*n),
        Some(Value::Float(x)) => Some(*x as i64),
        _ => None,
    }
}

fn float(r: &Row, f: &str) -> Option<f64> {
    match r.get(f) {
        Some(Value::Int(n)) => Some(*n as f64),
        Some(Value::Float(x)) => Some(*x),
        _ => None,
    }
}

async fn rows(store: &dyn Store) -> Result<Vec<Row>, ApiError> {
    let plan = crate::query::compile(store, &format!("SELECT {} FROM Flow ORDER BY ExecutionOrder, Name", FLOW_FIELDS.join(", ")))?;
    Ok(store.query(&plan, None).await?.into_iter().map(|r| FLOW_FIELDS.iter().copied().zip(r).collect()).collect())
}

fn flow_of(r: &Row) -> Result<Flow, String> {
    let name = text(r, "Name").unwrap_or_default().to_string();
    let trigger = match text(r, "TriggerType").unwrap_or_default() {
        "Created" => Trigger::Created,
        "Updated" => Trigger::Updated,
        "CreatedOrUpdated" => Trigger::CreatedOrUpdated,
        "FieldChangedTo" => Trigger::FieldChangedTo {
            field: text(r, "TriggerField").ok_or_else(|| format!("flow {name:?}: a changed-to trigger needs its field"))?.to_string(),
            value: r.get("TriggerValue").and_then(Value::as_str).unwrap_or_default().to_string(),
        },
        "Threshold" => Trigger::Threshold(ThresholdSpec {
            numerator: text(r, "Numerator").ok_or_else(|| format!("flow {name:?}: a threshold needs the records it counts"))?.to_string(),
            denominator: text(r, "Denominator").unwrap_or("Id != null").to_string(),
            window_field: text(r, "WindowField").ok_or_else(|| format!("flow {name:?}: a threshold needs its window field"))?.to_string(),
            window: time::Duration::minutes(int(r, "WindowMinutes").unwrap_or(5).max(1)),
            percent: float(r, "ThresholdPercent").unwrap_or(0.0),
            minimum_count: int(r, "MinimumCount").unwrap_or(1).max(1) as u64,
            cooldown: time::Duration::minutes(int(r, "CooldownMinutes").unwrap_or(30).max(0)),
        }),
        t => return Err(format!("flow {name:?}: trigger type {t:?} is unknown")),
    };
    let actions: Vec<Action> = match text(r, "Actions") {
        None => Vec::new(),
        Some(a) => serde_json::from_str(a).map_err(|e| format!("flow {name:?}: its actions do not read: {e}"))?,
    };
    Ok(Flow {
        id: text(r, "Id").unwrap_or_default().to_string(),
        name,
        object: text(r, "Object").unwrap_or_default().to_string(),
        trigger,
        condition: text(r, "Condition").map(str::to_string),
        actions,
        order: int(r, "ExecutionOrder").unwrap_or(100),
        active: r.get("IsActive") != Some(&Value::Bool(false)),
    })
}

/// The flows the records hold, and what in them does not make sense (those records are left out).
pub async fn load(store: &dyn Store) -> Result<(Vec<Loaded>, Vec<String>), ApiError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for r in rows(store).await? {
        match flow_of(&r) {
            Ok(flow) => {
                let mut p = Vec::new();
                check_flow(store.schema(), &flow, &mut p);
                if p.is_empty() {
                    out.push(Loaded { flow, actor: text(&r, "LastModifiedById").and_then(|i| SalesforceId::parse(i).ok()) });
                } else {
                    problems.extend(p);
                }
            }
            Err(p) => problems.push(p),
        }
    }
    Ok((out, problems))
}

/// Plans `SELECT Id FROM object WHERE Id = … AND (condition)`: the condition
/// is valid SOQL for this object (parents' fields included).
pub fn condition_plan(schema: &Schema, dialect: dialtone_soql::Dialect, object: &str, id: &str, condition: &str) -> Result<dialtone_soql::Plan, dialtone_soql::SoqlError> {
    dialtone_soql::compile(&format!("SELECT Id FROM {object} WHERE Id = '{id}' AND ({condition})"), schema, dialect, time::OffsetDateTime::now_utc())
}

/// Every problem of one flow, each naming the flow.
pub fn check_flow(schema: &Schema, flow: &Flow, problems: &mut Vec<String>) {
    let name = &flow.name;
    let mut p = |m: String| problems.push(format!("flow {name:?}: {m}"));
    let Some(obj) = schema.object(&flow.object) else {
        p(format!("there is no object {:?}", flow.object));
        return;
    };
    if dialtone_model::standard::FLOW_OBJECTS.contains(&obj.name.as_str()) {
        p(format!("flows cannot run on {} records", obj.name));
        return;
    }
    let dummy = SalesforceId::new(&obj.key_prefix, 1).to_string();
    let dialect = dialtone_soql::Dialect::Sqlite;
    if let Some(c) = &flow.condition
        && let Err(e) = condition_plan(schema, dialect, &obj.name, &dummy, c)
    {
        p(format!("condition {c:?}: {e}"));
    }
    let threshold = matches!(flow.trigger, Trigger::Threshold(_));
    match &flow.trigger {
        Trigger::FieldChangedTo { field, .. } if obj.field(field).is_none() => p(format!("{} has no field {field:?}", obj.name)),
        Trigger::Threshold(t) => {
            for (what, c) in [("count", &t.numerator), ("outOf", &t.denominator)] {
                if let Err(e) = dialtone_soql::compile(&format!("SELECT Id FROM {} WHERE {c}", obj.name), schema, dialect, time::OffsetDateTime::now_utc()) {
                    p(format!("threshold {what} {c:?}: {e}"));
                }
            }
            if !obj.field(&t.window_field).is_some_and(|f| f.ty == FieldType::DateTime) {
                p(format!("threshold window field {:?} is not a date-time field of {}", t.window_field, obj.name));
            }
            if !(0.0..=100.0).contains(&t.percent) {
                p(format!("threshold percent {} is not 0 to 100", t.percent));
            }
        }
        _ => {}
    }
    if flow.actions.is_empty() {
        p("it has no actions".into());
    }
    let vars: &[&str] = if threshold { THRESHOLD_VARS } else { &["FlowName"] };
    let check_fields = |target: &dialtone_model::ObjectDef, fields: &std::collections::BTreeMap<String, String>, p: &mut dyn FnMut(String)| {
        for (f, v) in fields {
            if target.field(f).is_none() {
                p(format!("{} has no field {f:?}", target.name));
            }
            if let Err(e) = dialtone_flows::template::check(v, vars) {
                p(format!("{f}: {e}"));
            }
        }
    };
    for (i, a) in flow.actions.iter().enumerate() {
        let n = i + 1;
        match a {
            Action::Update { record, fields } => {
                if threshold {
                    p(format!("action {n} (update): a threshold alert has no record to update"));
                    continue;
                }
                let target = match record {
                    None => Some(obj),
                    Some(r) => match obj.field(r).map(|f| &f.ty) {
                        Some(FieldType::Reference(targets)) if targets.len() == 1 => schema.object(&targets[0]),
                        Some(FieldType::Reference(targets)) => {
                            // Polymorphic (VoiceCall.RelatedRecordId): the fields must exist on every target.
                            for t in targets {
                                if let Some(o) = schema.object(t) {
                                    for f in fields.keys().filter(|f| o.field(f).is_none()) {
                                        p(format!("action {n} (update): {r} may point at a {t}, which has no field {f:?}"));
                                    }
                                }
                            }
                            None
                        }
                        _ => {
                            p(format!("action {n} (update): {r:?} is not a reference field of {}", obj.name));
                            None
                        }
                    },
                };
                if let Some(t) = target {
                    check_fields(t, fields, &mut |m| p(format!("action {n} (update): {m}")));
                } else if record.is_some() {
                    for (f, v) in fields {
                        if let Err(e) = dialtone_flows::template::check(v, vars) {
                            p(format!("action {n} (update): {f}: {e}"));
                        }
                    }
                }
            }
            Action::Create { object, fields } => match schema.object(object) {
                Some(t) if dialtone_model::standard::FLOW_OBJECTS.contains(&t.name.as_str()) || t.name == "CallCenter" || t.name == "User" => {
                    p(format!("action {n} (create): flows cannot create {} records", t.name))
                }
                Some(t) => check_fields(t, fields, &mut |m| p(format!("action {n} (create): {m}"))),
                None => p(format!("action {n} (create): there is no object {object:?}")),
            },
            Action::ConvertLead { lead } => {
                let ok = match lead {
                    None => obj.name == "Lead",
                    Some(f) => obj.field(f).is_some_and(|f| matches!(&f.ty, FieldType::Reference(t) if t.iter().any(|x| x == "Lead"))),
                };
                if !ok || threshold {
                    p(format!("action {n} (convertLead): the flow runs on a Lead, or `lead` names a field of {} that can point at one", obj.name));
                }
            }
            Action::Webhook { url, secret } => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    p(format!("action {n} (webhook): {url:?} is not an http(s) URL"));
                }
                if secret.is_empty() || !secret.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                    p(format!("action {n} (webhook): the secret names a stored credential (letters, digits, . _ -): `dialtone credential set NAME`"));
                }
            }
            Action::Callback {} => {
                if obj.name != "VoiceCall" || threshold {
                    p(format!("action {n} (callback): a callback is for a flow on VoiceCall"));
                }
            }
        }
    }
}

fn trigger_of(f: &FlowFile) -> Result<Trigger, String> {
    let need = |x: &Option<String>, what: &str| x.clone().ok_or_else(|| format!("flow {:?}: `when: changedTo` needs `{what}`", f.name));
    Ok(match f.when.to_ascii_lowercase().as_str() {
        "created" => Trigger::Created,
        "updated" => Trigger::Updated,
        "createdorupdated" => Trigger::CreatedOrUpdated,
        "changedto" => Trigger::FieldChangedTo { field: need(&f.field, "field")?, value: need(&f.value, "value")? },
        "threshold" => {
            let t = f.threshold.as_ref().ok_or_else(|| format!("flow {:?}: `when: threshold` needs a `threshold` section", f.name))?;
            if t.window_minutes < 1 {
                return Err(format!("flow {:?}: windowMinutes is at least 1", f.name));
            }
            Trigger::Threshold(ThresholdSpec {
                numerator: t.count.clone(),
                denominator: t.out_of.clone(),
                window_field: t.window_field.clone(),
                window: time::Duration::minutes(t.window_minutes),
                percent: t.percent,
                minimum_count: t.minimum_count.unwrap_or(1).max(1) as u64,
                cooldown: time::Duration::minutes(t.cooldown_minutes.unwrap_or(30).max(0)),
            })
        }
        w => return Err(format!("flow {:?}: when {w:?} is not created, updated, createdOrUpdated, changedTo or threshold", f.name)),
    })
}

/// The Flow fields whose absence is written as an explicit null when a flow is
/// replaced in place (a changed-to trigger turned into a created one loses its field).
const OPTIONAL_FIELDS: &[&str] = &[
    "TriggerField", "TriggerValue", "Condition", "Description", "Numerator", "Denominator", "WindowField", "WindowMinutes", "ThresholdPercent", "MinimumCount",
    "CooldownMinutes",
];

/// One flow of a file as the fields of its Flow record, after checking it
/// (every problem names the flow). Every optional field is present, null when unset.
pub fn flow_fields(schema: &Schema, f: &FlowFile) -> Result<Vec<(String, RawValue)>, Vec<String>> {
    let mut problems = Vec::new();
    if f.threshold.is_some() && !f.when.eq_ignore_ascii_case("threshold") {
        problems.push(format!("flow {:?}: a `threshold` section needs `when: threshold`", f.name));
    }
    let trigger = match trigger_of(f) {
        Ok(t) => t,
        Err(p) => {
            problems.push(p);
            return Err(problems);
        }
    };
    let flow = Flow {
        id: String::new(),
        name: f.name.clone(),
        object: f.object.clone(),
        trigger: trigger.clone(),
        condition: f.condition.clone().filter(|c| !c.trim().is_empty()),
        actions: f.actions.clone(),
        order: f.order.unwrap_or(100),
        active: f.active.unwrap_or(true),
    };
    check_flow(schema, &flow, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let canonical = schema.object(&f.object).map_or(f.object.clone(), |o| o.name.clone());
    let mut fields: Vec<(String, RawValue)> = vec![
        ("Name".into(), RawValue::Text(f.name.clone())),
        ("Object".into(), RawValue::Text(canonical)),
        ("ExecutionOrder".into(), RawValue::Number(flow.order as f64)),
        ("IsActive".into(), RawValue::Bool(flow.active)),
        ("Actions".into(), RawValue::Text(serde_json::to_string(&f.actions).unwrap_or_default())),
    ];
    let mut put = |k: &str, v: Option<RawValue>| fields.push((k.to_string(), v.unwrap_or(RawValue::Null)));
    put("Condition", flow.condition.clone().map(RawValue::Text));
    put("Description", f.description.clone().filter(|d| !d.trim().is_empty()).map(RawValue::Text));
    let kind = match &trigger {
        Trigger::Created => "Created",
        Trigger::Updated => "Updated",
        Trigger::CreatedOrUpdated => "CreatedOrUpdated",
        Trigger::FieldChangedTo { field, value } => {
            put("TriggerField", Some(RawValue::Text(field.clone())));
            put("TriggerValue", Some(RawValue::Text(value.clone())));
            "FieldChangedTo"
        }
        Trigger::Threshold(s) => {
            put("Numerator", Some(RawValue::Text(s.numerator.clone())));
            put("Denominator", Some(RawValue::Text(s.denominator.clone())));
            put("WindowField", Some(RawValue::Text(s.window_field.clone())));
            put("WindowMinutes", Some(RawValue::Number(s.window.whole_minutes() as f64)));
            put("ThresholdPercent", Some(RawValue::Number(s.percent)));
            put("MinimumCount", Some(RawValue::Number(s.minimum_count as f64)));
            put("CooldownMinutes", Some(RawValue::Number(s.cooldown.whole_minutes() as f64)));
            "Threshold"
        }
    };
    put("TriggerType", Some(RawValue::Text(kind.into())));
    for k in OPTIONAL_FIELDS {
        if !fields.iter().any(|(n, _)| n == k) {
            fields.push((k.to_string(), RawValue::Null));
        }
    }
    Ok(fields)
}

/// Checks a file whole: every problem, with the flow it is in; or the writes that replace every Flow.
pub fn check(schema: &Schema, file: &FlowsFile) -> Result<Vec<WriteOp>, Vec<String>> {
    let mut problems = Vec::new();
    let mut ops = vec![WriteOp::DeleteAll { object: "Flow".into() }];
    let obj = schema.object("Flow").expect("Flow is standard");
    let mut names = std::collections::HashSet::new();
    for f in &file.flows {
        if !names.insert(f.name.to_lowercase()) {
            problems.push(format!("flow {:?}: two flows have this name", f.name));
        }
        match flow_fields(schema, f).map(|fields| obj.check_create(fields.into_iter().filter(|(_, v)| *v != RawValue::Null).collect())) {
            Ok(Ok(values)) => ops.push(WriteOp::Insert { object: "Flow".into(), fields: values }),
            Ok(Err(errors)) => problems.extend(errors.into_iter().map(|e| format!("flow {:?}: {}", f.name, e.message))),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() { Ok(ops) } else { Err(problems) }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub flows: usize,
}

/// Replaces every flow with `file`'s, after checking it whole
/// (`INVALID_FLOW_CONFIG` with every problem; nothing written). `dry_run` checks only.
pub async fn import(store: &dyn Store, file: &FlowsFile, dry_run: bool, actor: Option<&SalesforceId>) -> Result<Imported, ApiError> {
    let ops = check(store.schema(), file).map_err(|p| invalid(p.join("; ")))?;
    let flows = ops.len() - 1;
    if !dry_run {
        store.write_batch(ops, actor).await?;
        // A running server picks the flows up within seconds; until then (or with
        // no server at all) the changes this process writes still reach the outbox.
        let (loaded, _) = load(store).await?;
        let plain: Vec<dialtone_flows::Flow> = loaded.into_iter().map(|l| l.flow).collect();
        dialtone_store::keep_outbox_objects(store, &dialtone_flows::watched_objects(&plain)).await?;
    }
    Ok(Imported { flows })
}

/// The Flow records as a file.
pub async fn export(store: &dyn Store) -> Result<FlowsFile, ApiError> {
    Ok(FlowsFile { flows: rows(store).await?.iter().map(file_of).collect() })
}

/// One Flow record as it reads in a file.
fn file_of(r: &Row) -> FlowFile {
    let s = |f: &str| text(r, f).map(str::to_string);
    let when = match text(r, "TriggerType").unwrap_or_default() {
        "FieldChangedTo" => "changedTo",
        "CreatedOrUpdated" => "createdOrUpdated",
        "Created" => "created",
        "Updated" => "updated",
        _ => "threshold",
    };
    let threshold = (when == "threshold").then(|| ThresholdFile {
        count: s("Numerator").unwrap_or_default(),
        out_of: s("Denominator").unwrap_or_default(),
        window_field: s("WindowField").unwrap_or_default(),
        window_minutes: int(r, "WindowMinutes").unwrap_or(5),
        percent: float(r, "ThresholdPercent").unwrap_or(0.0),
        minimum_count: int(r, "MinimumCount"),
        cooldown_minutes: int(r, "CooldownMinutes"),
    });
    FlowFile {
        name: s("Name").unwrap_or_default(),
        object: s("Object").unwrap_or_default(),
        when: when.into(),
        field: s("TriggerField"),
        value: r.get("TriggerValue").and_then(Value::as_str).map(str::to_string),
        condition: s("Condition"),
        order: int(r, "ExecutionOrder"),
        active: match r.get("IsActive") {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        },
        description: s("Description"),
        threshold,
        actions: s("Actions").and_then(|a| serde_json::from_str(&a).ok()).unwrap_or_default(),
    }
}

// ---------------------------------------------------------------- the API

/// Writes to Flow records need Manage Flows.
pub fn require_manage_flows(s: &Session, object: &str) -> Result<(), ApiError> {
    if object == "Flow" && !s.grants.has(SystemPerm::ManageFlows) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "changing Flow records needs the Manage Flows permission"));
    }
    Ok(())
}

/// Audits a single-record write of a Flow (REST create, update, delete) and applies it at once.
pub async fn audit_write(state: &AppState, s: &Session, extensions: &axum::http::Extensions, object: &str, op: &str, id: &str) {
    if object != "Flow" {
        return;
    }
    if let Err(e) = crate::desktop::audit(state.store.as_ref(), s, extensions, &format!("flows.Flow.{op}"), id, None, None).await {
        tracing::warn!(error = %e.message, "auditing a flow change");
    }
    state.flows.reload(state.store.as_ref()).await;
}

use crate::config_file::FormatQuery;

/// `GET /api/flows/config[?format=yaml]` (View Setup or Manage Flows).
/// Reading the flows (the file, the list) needs View Setup or Manage Flows.
fn may_read_flows(s: &Session) -> Result<(), ApiError> {
    if crate::flows::can_monitor(s) {
        Ok(())
    } else {
        Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "reading the flows needs View Setup or Manage Flows"))
    }
}

pub(crate) async fn get_config(State(state): State<AppState>, s: Session, Query(q): Query<FormatQuery>) -> Result<Response, ApiError> {
    may_read_flows(&s)?;
    crate::config_file::download(&export(state.store.as_ref()).await?, q.format.as_deref())
}

/// `PUT /api/flows/config[?dryRun=true]`: replaces every flow, all or nothing; audited (`flows.import`).
pub(crate) async fn put_config(State(state): State<AppState>, extensions: axum::http::Extensions, s: Session, Query(q): Query<FormatQuery>, body: Bytes) -> Result<Response, ApiError> {
    if !s.grants.has(SystemPerm::ManageFlows) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "replacing the flows needs the Manage Flows permission"));
    }
    let store = state.store.as_ref();
    let file = parse_file(&body)?;
    let dry_run = q.dry_run.unwrap_or(false);
    let before = if dry_run { None } else { Some(render(&export(store).await?, Format::Json)?) };
    let done = import(store, &file, dry_run, Some(&s.user_id)).await?;
    if let Some(before) = before {
        crate::desktop::audit(store, &s, &extensions, "flows.import", "flows", Some(before), Some(render(&file, Format::Json)?)).await?;
        state.flows.reload(store).await;
    }
    Ok((StatusCode::OK, axum::Json(serde_json::json!({"flows": done.flows, "dryRun": dry_run}))).into_response())
}

// ------------------------------------------------- one flow at a time (the console's editor)

/// A flow with its record id, as `GET /api/flows/flows` lists it.
#[derive(Serialize)]
struct FlowEntry {
    id: String,
    #[serde(flatten)]
    flow: FlowFile,
}

fn problems_error(problems: Vec<String>) -> crate::error::ApiErrors {
    crate::error::ApiErrors(problems.into_iter().map(invalid).collect())
}

fn manage(s: &Session, what: &str) -> Result<(), ApiError> {
    if s.grants.has(SystemPerm::ManageFlows) {
        Ok(())
    } else {
        Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", format!("{what} needs the Manage Flows permission")))
    }
}

/// A flow named like another one (other than `except`) is a problem: runs and the file name flows.
fn duplicate_name(existing: &[Row], name: &str, except: Option<&SalesforceId>) -> Option<String> {
    existing
        .iter()
        .filter(|r| except.is_none_or(|id| text(r, "Id") != Some(id.as_str())))
        .any(|r| text(r, "Name").is_some_and(|n| n.trim().eq_ignore_ascii_case(name.trim())))
        .then(|| format!("flow {name:?}: another flow has this name"))
}

/// The flow `id` among `existing` (every Flow record, as [`rows`] reads them).
fn flow_row(existing: &[Row], id: &str) -> Result<(SalesforceId, Row), ApiError> {
    let id = SalesforceId::parse(id).map_err(|_| ApiError::not_found())?;
    let row = existing.iter().find(|r| text(r, "Id") == Some(id.as_str())).cloned().ok_or_else(ApiError::not_found)?;
    Ok((id, row))
}

/// `GET /api/flows/flows`: every flow, in run order, with its record id (View Setup or Manage Flows).
pub(crate) async fn list_flows(State(state): State<AppState>, s: Session) -> Result<axum::Json<serde_json::Value>, ApiError> {
    may_read_flows(&s)?;
    let flows: Vec<FlowEntry> = rows(state.store.as_ref()).await?.iter().map(|r| FlowEntry { id: text(r, "Id").unwrap_or_default().into(), flow: file_of(r) }).collect();
    Ok(axum::Json(serde_json::json!({ "flows": flows })))
}

/// `POST /api/flows/flows[?dryRun=true]`: one new flow (JSON or YAML, a file's
/// entry), checked like a file; every problem is its own INVALID_FLOW_CONFIG
/// error and nothing is written. Audited (`flows.Flow.create`).
pub(crate) async fn create_flow(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    s: Session,
    Query(q): Query<FormatQuery>,
    body: Bytes,
) -> Result<Response, crate::error::ApiErrors> {
    manage(&s, "adding a flow")?;
    let store = state.store.as_ref();
    let f: FlowFile = crate::config_file::parse(&body, "flow", "INVALID_FLOW_CONFIG")?;
    let obj = store.schema().object("Flow").expect("Flow is standard");
    let mut fields = flow_fields(store.schema(), &f).map_err(problems_error)?;
    if let Some(p) = duplicate_name(&rows(store).await?, &f.name, None) {
        return Err(problems_error(vec![p]));
    }
    fields.retain(|(_, v)| *v != RawValue::Null);
    let values = obj.check_create(fields)?;
    if q.dry_run.unwrap_or(false) {
        return Ok(axum::Json(serde_json::json!({ "dryRun": true })).into_response());
    }
    let id = store.insert(obj, vec![values], Some(&s.user_id)).await?.into_iter().next().ok_or_else(|| ApiError::ours("the flow was not stored"))?;
    crate::desktop::audit(store, &s, &extensions, "flows.Flow.create", id.as_str(), None, Some(render_one(&f)?)).await?;
    state.flows.reload(store).await;
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "id": id.as_str(), "dryRun": false }))).into_response())
}

fn render_one(f: &FlowFile) -> Result<String, ApiError> {
    serde_json::to_string(f).map_err(|e| ApiError::ours(format!("rendering a flow: {e}")))
}

/// `PUT /api/flows/flows/{id}[?dryRun=true]`: replaces one flow in place, so
/// its runs keep pointing at it; checked like `create_flow`. Audited
/// (`flows.Flow.update`, before and after).
pub(crate) async fn replace_flow(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    s: Session,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
    body: Bytes,
) -> Result<Response, crate::error::ApiErrors> {
    manage(&s, "changing a flow")?;
    let store = state.store.as_ref();
    let existing = rows(store).await?;
    let (id, row) = flow_row(&existing, &id)?;
    let f: FlowFile = crate::config_file::parse(&body, "flow", "INVALID_FLOW_CONFIG")?;
    let obj = store.schema().object("Flow").expect("Flow is standard");
    let fields = flow_fields(store.schema(), &f).map_err(problems_error)?;
    if let Some(p) = duplicate_name(&existing, &f.name, Some(&id)) {
        return Err(problems_error(vec![p]));
    }
    let current: Vec<(String, Value)> = row.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let values = obj.check_update(fields, &current)?;
    if q.dry_run.unwrap_or(false) {
        return Ok(axum::Json(serde_json::json!({ "dryRun": true })).into_response());
    }
    store.update(obj, &id, values, Some(&s.user_id)).await?;
    crate::desktop::audit(store, &s, &extensions, "flows.Flow.update", id.as_str(), Some(render_one(&file_of(&row))?), Some(render_one(&f)?)).await?;
    state.flows.reload(store).await;
    Ok(axum::Json(serde_json::json!({ "id": id.as_str(), "dryRun": false })).into_response())
}

/// `DELETE /api/flows/flows/{id}`: the flow goes; its runs stay, naming it. Audited.
pub(crate) async fn delete_flow(State(state): State<AppState>, extensions: axum::http::Extensions, s: Session, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    manage(&s, "deleting a flow")?;
    let store = state.store.as_ref();
    let (id, row) = flow_row(&rows(store).await?, &id)?;
    store.delete(store.schema().object("Flow").expect("Flow is standard"), &id).await?;
    crate::desktop::audit(store, &s, &extensions, "flows.Flow.delete", id.as_str(), Some(render_one(&file_of(&row))?), None).await?;
    state.flows.reload(store).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A REST create or update of a Flow record is checked as the flow it makes
/// (the record as it would be after the write): a flow that cannot run is
/// refused with every problem rather than saved and left out by the runner.
/// Field-level errors are left to the write itself.
pub async fn check_record_write(store: &dyn Store, id: Option<&SalesforceId>, raw: &[(String, RawValue)]) -> Result<(), crate::error::ApiErrors> {
    let obj = store.schema().object("Flow").expect("Flow is standard");
    let existing = rows(store).await?;
    let mut row: Row = match id {
        Some(id) => match existing.iter().find(|r| text(r, "Id") == Some(id.as_str())) {
            Some(r) => r.clone(),
            None => return Ok(()),
        },
        None => Row::new(),
    };
    let current: Vec<(String, Value)> = row.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let values = match id {
        Some(_) => obj.check_update(raw.to_vec(), &current),
        None => obj.check_create(raw.to_vec()),
    };
    let Ok(values) = values else { return Ok(()) };
    for (k, v) in values {
        if let Some(name) = FLOW_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(&k)) {
            row.insert(name, v);
        }
    }
    let mut problems = Vec::new();
    match flow_of(&row) {
        Ok(flow) => check_flow(store.schema(), &flow, &mut problems),
        Err(p) => problems.push(p),
    }
    if let Some(name) = text(&row, "Name")
        && let Some(p) = duplicate_name(&existing, name, id)
    {
        problems.push(p);
    }
    if problems.is_empty() { Ok(()) } else { Err(problems_error(problems)) }
}
