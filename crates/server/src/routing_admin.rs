//! Routing administered as records, and as one YAML or JSON file.
//!
//! The configuration lives in the routing objects (`ServiceChannel`,
//! `ServicePresenceStatus`, `Skill`, `BusinessHours`, `Holiday`,
//! `QueueRoutingConfig`, `Queue`, `ServiceResource`, `RoutingRule`): the same
//! REST API, SOQL and access checks as any record, writes needing Manage
//! Routing and written to the setup audit trail. Between themselves they refer
//! by name (a Queue names its routing configuration), so a whole file imports
//! in one transaction; users and call centers are referred to by id.
//!
//! - [`load_spec`] reads the records into a [`RoutingSpec`] (what the routing
//!   service applies every second), with every record that does not make
//!   sense as a problem in words.
//! - [`ConfigFile`] is the file: names everywhere (call centers by internal
//!   name, users by username), durations in seconds. [`import`] checks a file
//!   whole — it parses, every name resolves, and the routing service accepts
//!   the result — before it replaces every routing record in one transaction;
//!   [`export`] writes the records back out. `GET/PUT /api/routing/config`
//!   and `dialtone routing export|import|validate` are the same functions.

use crate::auth::Session;
use crate::error::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dialtone_access::SystemPerm;
use dialtone_calls::AgentId;
use dialtone_model::{SalesforceId, Value};
use dialtone_model::standard::ROUTING_OBJECTS;
use dialtone_routing::engine::{BusinessHours, RoutingModel};
use dialtone_routing::spec::{AgentSpec, ChannelSpec, Conditions, HoursSpec, QueueSpec, RoutingSpec, RuleSpec, SkillNeed, StatusSpec, TargetSpec};
use dialtone_store::{Store, WriteOp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use time::Duration;

/// Largest configuration file taken.
pub use crate::config_file::MAX_FILE;
const DAYS: [(&str, time::Weekday); 7] = [
    ("Monday", time::Weekday::Monday),
    ("Tuesday", time::Weekday::Tuesday),
    ("Wednesday", time::Weekday::Wednesday),
    ("Thursday", time::Weekday::Thursday),
    ("Friday", time::Weekday::Friday),
    ("Saturday", time::Weekday::Saturday),
    ("Sunday", time::Weekday::Sunday),
];

/// Whether `object` is one of the routing configuration's.
pub fn is_routing_object(object: &str) -> bool {
    ROUTING_OBJECTS.contains(&object)
}

/// One record as name → value (the loader's and the importer's common form).
type Row = HashMap<String, Value>;

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

/// Every record of every routing object, plus users' and call centers' names.
struct Rows {
    by_object: HashMap<&'static str, Vec<Row>>,
    users: HashMap<SalesforceId, String>,
    centers: HashMap<SalesforceId, String>,
}

async fn read_rows(store: &dyn Store) -> Result<Rows, ApiError> {
    let mut by_object = HashMap::new();
    for name in ROUTING_OBJECTS {
        let o = store.schema().object(name).expect("routing objects are standard");
        let fields: Vec<&str> = o.fields.iter().map(|f| f.name.as_str()).collect();
        let plan = crate::query::compile(store, &format!("SELECT {} FROM {name} ORDER BY Id", fields.join(", ")))?;
        let rows = store.query(&plan, None).await?;
        by_object.insert(*name, rows.into_iter().map(|r| fields.iter().map(|f| f.to_string()).zip(r).collect()).collect());
    }
    let pairs = |rows: Vec<Vec<Value>>| -> HashMap<SalesforceId, String> {
        rows.into_iter().filter_map(|r| Some((SalesforceId::parse(r.first()?.as_str()?).ok()?, r.get(1)?.as_str()?.to_string()))).collect()
    };
    let users = pairs(store.query(&crate::query::compile(store, "SELECT Id, Username FROM User")?, None).await?);
    let centers = pairs(store.query(&crate::query::compile(store, "SELECT Id, InternalName FROM CallCenter")?, None).await?);
    Ok(Rows { by_object, users, centers })
}

/// The routing configuration the records hold, and what in them does not
/// make sense (each record that cannot be read is left out and named).
pub async fn load_spec(store: &dyn Store) -> Result<(RoutingSpec, Vec<String>), ApiError> {
    let rows = read_rows(store).await?;
    Ok(spec_of(&rows, store.normalizer()))
}

fn target(raw: &str) -> Option<TargetSpec> {
    match raw.trim() {
        t if t.eq_ignore_ascii_case("voicemail") => Some(TargetSpec::Voicemail),
        t if t.eq_ignore_ascii_case("callback") => Some(TargetSpec::Callback),
        t => t.strip_prefix("queue:").map(|q| TargetSpec::Queue(q.trim().to_string())).filter(|_| t.len() > "queue:".len()),
    }
}

fn list(raw: Option<&str>) -> Vec<String> {
    raw.map(|s| s.split(';').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default()
}

/// `HH:MM` (to `24:00`) as minutes of the day.
fn minutes(raw: &str) -> Option<u16> {
    let (h, m) = raw.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// A time zone's offset now: `UTC`, a fixed `±HH:MM`, or an IANA name
/// (`America/New_York`, daylight saving included — the refresher re-reads it
/// every second, so a change of offset takes effect within one).
fn offset(raw: &str) -> Option<time::UtcOffset> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("UTC") || t == "Z" {
        return Some(time::UtcOffset::UTC);
    }
    let (sign, rest) = match (t.strip_prefix('+'), t.strip_prefix('-')) {
        (Some(r), _) => (1, r),
        (None, Some(r)) => (-1, r),
        (None, None) => {
            let tz = jiff::tz::TimeZone::get(t).ok()?;
            let now = jiff::Timestamp::now();
            return time::UtcOffset::from_whole_seconds(tz.to_offset(now).seconds()).ok();
        }
    };
    let m = minutes(rest)? as i32;
    time::UtcOffset::from_whole_seconds(sign * m * 60).ok()
}

/// `spanish:5;vip:1@60` → skill, level (1 when left out), relaxed after.
fn needs(raw: Option<&str>, with_relax: bool, what: &str, problems: &mut Vec<String>) -> Vec<SkillNeed> {
    let mut out = Vec::new();
    for item in list(raw) {
        let (body, relax) = match item.split_once('@') {
            Some((b, r)) if with_relax => match r.trim().parse::<i64>() {
                Ok(n) if n > 0 => (b.to_string(), Some(Duration::seconds(n))),
                _ => {
                    problems.push(format!("{what}: {item:?}: after @ comes the seconds before the skill is dropped"));
                    continue;
                }
            },
            _ => (item.clone(), None),
        };
        let (skill, level) = match body.split_once(':') {
            Some((s, l)) => match l.trim().parse::<u8>() {
                Ok(l) if (1..=10).contains(&l) => (s.trim().to_string(), l),
                _ => {
                    problems.push(format!("{what}: {item:?}: a skill's level is 1 to 10"));
                    continue;
                }
            },
            None => (body.trim().to_string(), 1),
        };
        out.push(SkillNeed { skill, level, relax_after: relax });
    }
    out
}

fn spec_of(rows: &Rows, normalizer: &dialtone_phone::Normalizer) -> (RoutingSpec, Vec<String>) {
    let mut problems = Vec::new();
    let all = |o: &str| rows.by_object.get(o).map(Vec::as_slice).unwrap_or_default();
    let mut spec = RoutingSpec::default();
    for r in all("ServiceChannel") {
        let Some(name) = text(r, "DeveloperName") else { continue };
        match int(r, "CapacityWeight").unwrap_or(1) {
            w if (1..=1000).contains(&w) => spec.channels.push(ChannelSpec { name: name.into(), weight: w as u32 }),
            w => problems.push(format!("service channel {name:?}: capacity weight {w} is not 1 to 1000")),
        }
    }
    for r in all("ServicePresenceStatus") {
        let Some(name) = text(r, "MasterLabel").or(text(r, "DeveloperName")) else { continue };
        spec.statuses.push(StatusSpec { name: name.into(), channels: list(text(r, "Channels")) });
    }
    spec.skills = all("Skill").iter().filter_map(|r| text(r, "DeveloperName").map(str::to_string)).collect();
    for r in all("BusinessHours") {
        let Some(name) = text(r, "Name") else { continue };
        let Some(tz) = offset(text(r, "TimeZone").unwrap_or("UTC")) else {
            problems.push(format!("business hours {name:?}: time zone {:?} is not UTC, ±HH:MM or a time zone name such as America/New_York", text(r, "TimeZone").unwrap_or_default()));
            continue;
        };
        let mut windows = Vec::new();
        for (day, wd) in DAYS {
            let (start, end) = (text(r, &format!("{day}StartTime")), text(r, &format!("{day}EndTime")));
            match (start.map(minutes), end.map(minutes)) {
                (None, None) => {}
                (Some(Some(a)), Some(Some(b))) if a < b => windows.push((wd, a, b)),
                _ => problems.push(format!("business hours {name:?}: {day} needs a start before its end, each HH:MM ({start:?} to {end:?})")),
            }
        }
        let holidays = all("Holiday")
            .iter()
            .filter(|h| text(h, "BusinessHoursName").is_some_and(|b| b.eq_ignore_ascii_case(name)))
            .filter_map(|h| dialtone_model::parse_date(text(h, "ActivityDate")?))
            .collect();
        spec.hours.push(HoursSpec { name: name.into(), hours: BusinessHours { offset: tz, windows, holidays } });
    }
    for h in all("Holiday") {
        let b = text(h, "BusinessHoursName").unwrap_or_default();
        if !spec.hours.iter().any(|x| x.name.eq_ignore_ascii_case(b)) {
            problems.push(format!("holiday {:?} belongs to business hours {b:?}, which do not exist", text(h, "Name").unwrap_or_default()));
        }
    }
    let configs: HashMap<String, &Row> = all("QueueRoutingConfig").iter().filter_map(|r| Some((text(r, "DeveloperName")?.to_ascii_lowercase(), r))).collect();
    for q in all("Queue") {
        let Some(name) = text(q, "Name") else { continue };
        let config = match text(q, "RoutingConfigName") {
            Some(c) => match configs.get(&c.to_ascii_lowercase()) {
                Some(r) => Some(*r),
                None => {
                    problems.push(format!("queue {name:?} uses routing configuration {c:?}, which does not exist"));
                    continue;
                }
            },
            None => None,
        };
        let c = |f: &str| config.and_then(|r| int(r, f));
        let ct = |f: &str| config.and_then(|r| text(r, f));
        let model = match ct("RoutingModel").unwrap_or("LongestIdle") {
            "MostAvailable" => RoutingModel::MostAvailable,
            "LeastActive" => RoutingModel::LeastActive,
            _ => RoutingModel::LongestIdle,
        };
        let mut bad = false;
        let mut tgt = |f: &str| match ct(f) {
            None => None,
            Some(raw) => {
                let t = target(raw);
                if t.is_none() {
                    problems.push(format!("queue {name:?}: {f} {raw:?} is not queue:NAME, voicemail or callback"));
                    bad = true;
                }
                t
            }
        };
        let overflow_to = tgt("OverflowTarget");
        let nobody = tgt("WhenNobodySignedIn");
        let after_hours = tgt("AfterHoursTarget");
        let overflow = match (c("OverflowAfterSeconds"), overflow_to) {
            (Some(n), Some(t)) if n > 0 => Some((Duration::seconds(n), t)),
            (None, None) => None,
            _ => {
                problems.push(format!("queue {name:?}: an overflow needs both a time (over 0 seconds) and a target"));
                bad = true;
                None
            }
        };
        let hours = ct("BusinessHoursName").map(|h| (h.to_string(), after_hours.unwrap_or(TargetSpec::Voicemail)));
        let priority = c("RoutingPriority").unwrap_or(1);
        let push = c("PushTimeout").unwrap_or(30);
        let units = c("CapacityWeight");
        if !(0..=255).contains(&priority) || push <= 0 || units.is_some_and(|u| u <= 0) {
            problems.push(format!("queue {name:?}: priority is 0 to 255, the push timeout and units over 0"));
            bad = true;
        }
        if bad {
            continue;
        }
        spec.queues.push(QueueSpec {
            name: name.into(),
            channel: text(q, "ServiceChannel").unwrap_or("voice").to_string(),
            call_center: text(q, "CallCenterId").and_then(|i| SalesforceId::parse(i).ok()),
            priority: priority as u8,
            model,
            units: units.map(|u| u as u32),
            push_timeout: Duration::seconds(push),
            overflow,
            when_nobody_signed_in: nobody,
            hours,
        });
    }
    for r in all("ServiceResource") {
        if r.get("IsActive") == Some(&Value::Bool(false)) {
            continue;
        }
        let Some(user) = text(r, "RelatedRecordId").and_then(|i| AgentId::parse(i).ok()) else { continue };
        let who = rows.users.get(user.id()).cloned().unwrap_or_else(|| user.to_string());
        let mut caps = Vec::new();
        for item in list(text(r, "ChannelCapacities")) {
            match item.split_once('=').and_then(|(c, n)| Some((c.trim().to_string(), n.trim().parse::<u32>().ok()?))) {
                Some(c) => caps.push(c),
                None => problems.push(format!("agent {who}: capacity {item:?} is CHANNEL=NUMBER")),
            }
        }
        let skills = needs(text(r, "Skills"), false, &format!("agent {who}"), &mut problems).into_iter().map(|n| (n.skill, n.level)).collect();
        let capacity = int(r, "Capacity").unwrap_or(1).clamp(0, 1000) as u32;
        spec.agents.push(AgentSpec { user, capacity, channel_caps: caps, skills, queues: list(text(r, "Queues")) });
    }
    let queue_names: Vec<String> = spec.queues.iter().map(|q| q.name.clone()).collect();
    for r in all("RoutingRule") {
        let Some(name) = text(r, "Name") else { continue };
        let dialled = text(r, "DialledNumber").map(|d| normalizer.normalize(d).map_or_else(|| d.to_string(), |e| e.as_str().to_string()));
        let record_field = match (text(r, "RecordField"), text(r, "RecordValue")) {
            (Some(f), Some(v)) => Some((f.to_string(), v.to_string())),
            (None, None) => None,
            _ => {
                problems.push(format!("rule {name:?}: a record condition needs both the field and the value"));
                continue;
            }
        };
        let queue = text(r, "QueueName").map(str::to_string);
        if let Some(q) = queue.as_ref().filter(|q| !queue_names.iter().any(|n| n.eq_ignore_ascii_case(q))) {
            problems.push(format!("rule {name:?} sends calls to queue {q:?}, which does not exist"));
            continue;
        }
        spec.rules.push(RuleSpec {
            name: name.into(),
            order: int(r, "SortOrder").unwrap_or(100).clamp(0, u32::MAX as i64) as u32,
            when: Conditions {
                call_center: text(r, "CallCenterId").and_then(|i| SalesforceId::parse(i).ok()),
                dialled,
                ivr_choice: text(r, "IvrChoice").map(str::to_string),
                record_field,
            },
            queue,
            skills: needs(text(r, "Skills"), true, &format!("rule {name:?}"), &mut problems),
        });
    }
    (spec, problems)
}

// ---------------------------------------------------------------- the file

/// The routing configuration as one file (YAML or JSON, the same shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<ChannelFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub presence_statuses: Vec<StatusFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub business_hours: Vec<HoursFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing_configurations: Vec<RoutingConfigFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelFile {
    pub name: String,
    #[serde(default = "one")]
    pub weight: i64,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusFile {
    pub name: String,
    #[serde(default)]
    pub channels: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HoursFile {
    pub name: String,
    /// `UTC` or `±HH:MM`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Per day, `HH:MM-HH:MM`; a day left out is closed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days: BTreeMap<String, String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoutingConfigFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// LongestIdle, MostAvailable or LeastActive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_timeout_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow_after_seconds: Option<i64>,
    /// `queue:NAME`, `voicemail` or `callback`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_nobody_signed_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_hours: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_configuration: Option<String>,
    /// A call center's internal name: its calls come here unless a rule says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_center: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentFile {
    /// The username.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channel_capacity: BTreeMap<String, i64>,
    /// Skill name → level (1–10).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skills: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleFile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_center: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialled_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ivr_choice: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<NeedFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NeedFile {
    pub skill: String,
    #[serde(default = "one")]
    pub level: i64,
    /// Optional skill: dropped after this many seconds of waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional_after_seconds: Option<i64>,
}

pub use crate::config_file::Format;

/// Reads a file (JSON when it starts with `{`, else YAML); errors say where.
pub fn parse_file(bytes: &[u8]) -> Result<ConfigFile, ApiError> {
    crate::config_file::parse(bytes, "routing file", "INVALID_ROUTING_CONFIG")
}

pub fn render(file: &ConfigFile, format: Format) -> Result<String, ApiError> {
    crate::config_file::render(file, format)
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// The file as records (ops that replace every routing record), or every
/// name that does not resolve.
async fn records_of(store: &dyn Store, file: &ConfigFile) -> Result<Vec<WriteOp>, Vec<String>> {
    let mut problems = Vec::new();
    let rows = match read_rows(store).await {
        Ok(r) => r,
        Err(e) => return Err(vec![e.message]),
    };
    let center = |name: &str, problems: &mut Vec<String>, what: &str| match rows.centers.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
        Some((id, _)) => Some(t(id.as_str())),
        None => {
            problems.push(format!("{what}: no call center has the internal name {name:?}"));
            None
        }
    };
    let mut ops: Vec<WriteOp> = ROUTING_OBJECTS.iter().map(|o| WriteOp::DeleteAll { object: o.to_string() }).collect();
    let mut insert = |object: &str, fields: Vec<(&str, Option<Value>)>| {
        ops.push(WriteOp::Insert { object: object.into(), fields: fields.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).collect() });
    };
    for c in &file.channels {
        insert("ServiceChannel", vec![("DeveloperName", Some(t(&c.name))), ("MasterLabel", Some(t(&c.name))), ("CapacityWeight", Some(Value::Int(c.weight)))]);
    }
    for s in &file.presence_statuses {
        insert("ServicePresenceStatus", vec![("DeveloperName", Some(t(&s.name))), ("MasterLabel", Some(t(&s.name))), ("Channels", Some(t(&s.channels.join(";"))))]);
    }
    for s in &file.skills {
        insert("Skill", vec![("DeveloperName", Some(t(s))), ("MasterLabel", Some(t(s)))]);
    }
    for hrs in &file.business_hours {
        let mut fields = vec![("Name".to_string(), Some(t(&hrs.name))), ("TimeZone".to_string(), Some(t(hrs.time_zone.as_deref().unwrap_or("UTC"))))];
        for (day, span) in &hrs.days {
            let Some((d, _)) = DAYS.iter().find(|(d, _)| d.eq_ignore_ascii_case(day)) else {
                problems.push(format!("business hours {:?}: {day:?} is not a day of the week (Monday … Sunday)", hrs.name));
                continue;
            };
            let Some((a, b)) = span.split_once('-') else {
                problems.push(format!("business hours {:?}: {day} {span:?} is not HH:MM-HH:MM", hrs.name));
                continue;
            };
            fields.push((format!("{d}StartTime"), Some(t(a.trim()))));
            fields.push((format!("{d}EndTime"), Some(t(b.trim()))));
        }
        insert("BusinessHours", fields.iter().map(|(k, v)| (k.as_str(), v.clone())).collect());
        for day in &hrs.holidays {
            insert("Holiday", vec![("Name", Some(t(day))), ("ActivityDate", Some(t(day))), ("BusinessHoursName", Some(t(&hrs.name)))]);
        }
    }
    for c in &file.routing_configurations {
        insert(
            "QueueRoutingConfig",
            vec![
                ("DeveloperName", Some(t(&c.name))),
                ("MasterLabel", Some(t(&c.name))),
                ("RoutingPriority", c.priority.map(Value::Int)),
                ("RoutingModel", c.routing_model.as_deref().map(t)),
                ("CapacityWeight", c.units.map(Value::Int)),
                ("PushTimeout", c.push_timeout_seconds.map(Value::Int)),
                ("OverflowAfterSeconds", c.overflow_after_seconds.map(Value::Int)),
                ("OverflowTarget", c.overflow_to.as_deref().map(t)),
                ("WhenNobodySignedIn", c.when_nobody_signed_in.as_deref().map(t)),
                ("BusinessHoursName", c.business_hours.as_deref().map(t)),
                ("AfterHoursTarget", c.after_hours.as_deref().map(t)),
            ],
        );
    }
    for q in &file.queues {
        let cc = q.call_center.as_deref().and_then(|c| center(c, &mut problems, &format!("queue {:?}", q.name)));
        insert(
            "Queue",
            vec![("Name", Some(t(&q.name))), ("ServiceChannel", q.channel.as_deref().map(t)), ("RoutingConfigName", q.routing_configuration.as_deref().map(t)), ("CallCenterId", cc)],
        );
    }
    for a in &file.agents {
        let Some((id, _)) = rows.users.iter().find(|(_, u)| u.eq_ignore_ascii_case(&a.user)) else {
            problems.push(format!("agent {:?}: no user has that username", a.user));
            continue;
        };
        let caps: Vec<String> = a.channel_capacity.iter().map(|(c, n)| format!("{c}={n}")).collect();
        let skills: Vec<String> = a.skills.iter().map(|(s, l)| format!("{s}:{l}")).collect();
        insert(
            "ServiceResource",
            vec![
                ("RelatedRecordId", Some(t(id.as_str()))),
                ("IsActive", Some(Value::Bool(a.active.unwrap_or(true)))),
                ("Capacity", a.capacity.map(Value::Int)),
                ("ChannelCapacities", (!caps.is_empty()).then(|| t(&caps.join(";")))),
                ("Skills", (!skills.is_empty()).then(|| t(&skills.join(";")))),
                ("Queues", (!a.queues.is_empty()).then(|| t(&a.queues.join(";")))),
            ],
        );
    }
    for r in &file.rules {
        let cc = r.call_center.as_deref().and_then(|c| center(c, &mut problems, &format!("rule {:?}", r.name)));
        let skills: Vec<String> = r.skills.iter().map(|n| format!("{}:{}{}", n.skill, n.level, n.optional_after_seconds.map(|s| format!("@{s}")).unwrap_or_default())).collect();
        insert(
            "RoutingRule",
            vec![
                ("Name", Some(t(&r.name))),
                ("SortOrder", r.order.map(Value::Int)),
                ("CallCenterId", cc),
                ("DialledNumber", r.dialled_number.as_deref().map(t)),
                ("IvrChoice", r.ivr_choice.as_deref().map(t)),
                ("RecordField", r.record_field.as_deref().map(t)),
                ("RecordValue", r.record_value.as_deref().map(t)),
                ("QueueName", r.queue.as_deref().map(t)),
                ("Skills", (!skills.is_empty()).then(|| t(&skills.join(";")))),
            ],
        );
    }
    if problems.is_empty() { Ok(ops) } else { Err(problems) }
}

/// What a file would make: its records checked by the schema (types,
/// picklists, lengths), read back as a spec, and the spec tried on a scratch
/// routing service with the org's call centers.
async fn check(store: &dyn Store, file: &ConfigFile) -> Result<Vec<WriteOp>, Vec<String>> {
    let ops = records_of(store, file).await?;
    let mut problems = Vec::new();
    let mut rows = Rows { by_object: HashMap::new(), users: HashMap::new(), centers: HashMap::new() };
    let mut checked = Vec::with_capacity(ops.len());
    for op in ops {
        let WriteOp::Insert { object, fields } = &op else {
            checked.push(op);
            continue;
        };
        let o = store.schema().object(object).expect("routing objects are standard");
        let raw: Vec<(String, dialtone_model::RawValue)> = fields.iter().map(|(k, v)| (k.clone(), raw_of(v))).collect();
        match o.check_create(raw) {
            Ok(values) => {
                rows.by_object.entry(ROUTING_OBJECTS.iter().find(|n| **n == object.as_str()).copied().expect("routing object")).or_default().push(values.iter().cloned().collect());
                checked.push(WriteOp::Insert { object: object.clone(), fields: values });
            }
            Err(errors) => {
                let label = fields.iter().find(|(k, _)| matches!(k.as_str(), "Name" | "DeveloperName")).map(|(_, v)| v.to_string()).unwrap_or_default();
                for e in errors {
                    problems.push(format!("{object} {label:?}: {}", e.message));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (spec, mut problems) = spec_of(&rows, store.normalizer());
    let centers = match read_rows(store).await {
        Ok(r) => r.centers.into_iter().map(|(id, name)| dialtone_routing::service::CallCenterInfo { id, name }).collect::<Vec<_>>(),
        Err(e) => return Err(vec![e.message]),
    };
    if let Err(p) = dialtone_routing::service::Routing::new().apply(time::OffsetDateTime::now_utc(), &spec, &centers, &[]) {
        problems.extend(p);
    }
    if problems.is_empty() { Ok(checked) } else { Err(problems) }
}

fn raw_of(v: &Value) -> dialtone_model::RawValue {
    use dialtone_model::RawValue;
    match v {
        Value::Null => RawValue::Null,
        Value::Bool(b) => RawValue::Bool(*b),
        Value::Int(n) => RawValue::Number(*n as f64),
        Value::Float(x) => RawValue::Number(*x),
        Value::Text(s) => RawValue::Text(s.clone()),
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub records: usize,
}

/// Replaces the whole routing configuration with `file`, after checking it
/// whole; nothing is written when anything is wrong (`INVALID_ROUTING_CONFIG`
/// with every problem). `dry_run` checks only.
pub async fn import(store: &dyn Store, file: &ConfigFile, dry_run: bool, actor: Option<&SalesforceId>) -> Result<Imported, ApiError> {
    let ops = check(store, file).await.map_err(|p| ApiError::new("INVALID_ROUTING_CONFIG", p.join("; ")))?;
    let records = ops.iter().filter(|o| matches!(o, WriteOp::Insert { .. })).count();
    if !dry_run {
        store.write_batch(ops, actor).await?;
    }
    Ok(Imported { records })
}

/// The records as a file.
pub async fn export(store: &dyn Store) -> Result<ConfigFile, ApiError> {
    let rows = read_rows(store).await?;
    let all = |o: &str| rows.by_object.get(o).map(Vec::as_slice).unwrap_or_default();
    let s = |r: &Row, f: &str| text(r, f).map(str::to_string);
    let mut file = ConfigFile::default();
    for r in all("ServiceChannel") {
        file.channels.push(ChannelFile { name: s(r, "DeveloperName").unwrap_or_default(), weight: int(r, "CapacityWeight").unwrap_or(1) });
    }
    for r in all("ServicePresenceStatus") {
        file.presence_statuses.push(StatusFile { name: s(r, "MasterLabel").or(s(r, "DeveloperName")).unwrap_or_default(), channels: list(text(r, "Channels")) });
    }
    file.skills = all("Skill").iter().filter_map(|r| s(r, "DeveloperName")).collect();
    for r in all("BusinessHours") {
        let name = s(r, "Name").unwrap_or_default();
        let mut days = BTreeMap::new();
        for (d, _) in DAYS {
            if let (Some(a), Some(b)) = (text(r, &format!("{d}StartTime")), text(r, &format!("{d}EndTime"))) {
                days.insert(d.to_string(), format!("{a}-{b}"));
            }
        }
        let holidays = all("Holiday").iter().filter(|h| text(h, "BusinessHoursName").is_some_and(|b| b.eq_ignore_ascii_case(&name))).filter_map(|h| s(h, "ActivityDate")).collect();
        file.business_hours.push(HoursFile { name, time_zone: s(r, "TimeZone"), days, holidays });
    }
    for r in all("QueueRoutingConfig") {
        file.routing_configurations.push(RoutingConfigFile {
            name: s(r, "DeveloperName").unwrap_or_default(),
            priority: int(r, "RoutingPriority"),
            routing_model: s(r, "RoutingModel"),
            units: int(r, "CapacityWeight"),
            push_timeout_seconds: int(r, "PushTimeout"),
            overflow_after_seconds: int(r, "OverflowAfterSeconds"),
            overflow_to: s(r, "OverflowTarget"),
            when_nobody_signed_in: s(r, "WhenNobodySignedIn"),
            business_hours: s(r, "BusinessHoursName"),
            after_hours: s(r, "AfterHoursTarget"),
        });
    }
    let center_name = |r: &Row| text(r, "CallCenterId").and_then(|i| SalesforceId::parse(i).ok()).and_then(|i| rows.centers.get(&i).cloned());
    for r in all("Queue") {
        file.queues.push(QueueFile { name: s(r, "Name").unwrap_or_default(), channel: s(r, "ServiceChannel"), routing_configuration: s(r, "RoutingConfigName"), call_center: center_name(r) });
    }
    for r in all("ServiceResource") {
        let Some(user) = text(r, "RelatedRecordId").and_then(|i| SalesforceId::parse(i).ok()).and_then(|i| rows.users.get(&i).cloned()) else { continue };
        let mut probs = Vec::new();
        file.agents.push(AgentFile {
            user,
            active: r.get("IsActive").and_then(|v| if let Value::Bool(b) = v { Some(*b) } else { None }),
            capacity: int(r, "Capacity"),
            channel_capacity: list(text(r, "ChannelCapacities")).iter().filter_map(|i| i.split_once('=').and_then(|(c, n)| Some((c.trim().to_string(), n.trim().parse().ok()?)))).collect(),
            skills: needs(text(r, "Skills"), false, "", &mut probs).into_iter().map(|n| (n.skill, n.level as i64)).collect(),
            queues: list(text(r, "Queues")),
        });
    }
    for r in all("RoutingRule") {
        let mut probs = Vec::new();
        file.rules.push(RuleFile {
            name: s(r, "Name").unwrap_or_default(),
            order: int(r, "SortOrder"),
            call_center: center_name(r),
            dialled_number: s(r, "DialledNumber"),
            ivr_choice: s(r, "IvrChoice"),
            record_field: s(r, "RecordField"),
            record_value: s(r, "RecordValue"),
            queue: s(r, "QueueName"),
            skills: needs(text(r, "Skills"), true, "", &mut probs)
                .into_iter()
                .map(|n| NeedFile { skill: n.skill, level: n.level as i64, optional_after_seconds: n.relax_after.map(|d| d.whole_seconds()) })
                .collect(),
        });
    }
    Ok(file)
}

// ---------------------------------------------------------------- the API

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/routing/config", get(get_config).put(put_config))
}

/// Writes to routing records need Manage Routing (the REST API's sObject paths ask this).
pub fn require_manage_routing(s: &Session, object: &str) -> Result<(), ApiError> {
    if is_routing_object(object) && !s.grants.has(SystemPerm::ManageRouting) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", format!("changing {object} records needs the Manage Routing permission")));
    }
    Ok(())
}

use crate::config_file::FormatQuery;

/// `GET /api/routing/config[?format=yaml]`: the configuration as one file (View Setup or Manage Routing).
async fn get_config(State(state): State<AppState>, s: Session, Query(q): Query<FormatQuery>) -> Result<Response, ApiError> {
    if !s.grants.has(SystemPerm::ViewSetup) && !s.grants.has(SystemPerm::ManageRouting) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "reading the routing configuration needs View Setup or Manage Routing"));
    }
    crate::config_file::download(&export(state.store.as_ref()).await?, q.format.as_deref())
}

/// `PUT /api/routing/config[?dryRun=true]` with a YAML or JSON file: replaces
/// every routing record, all or nothing; audited (`routing.import`).
async fn put_config(State(state): State<AppState>, extensions: axum::http::Extensions, s: Session, Query(q): Query<FormatQuery>, _h: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    if !s.grants.has(SystemPerm::ManageRouting) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "replacing the routing configuration needs the Manage Routing permission"));
    }
    let store = state.store.as_ref();
    let file = parse_file(&body)?;
    let dry_run = q.dry_run.unwrap_or(false);
    let before = if dry_run { None } else { Some(render(&export(store).await?, Format::Json)?) };
    let done = import(store, &file, dry_run, Some(&s.user_id)).await?;
    if let Some(before) = before {
        crate::desktop::audit(store, &s, &extensions, "routing.import", "routing", Some(before), Some(render(&file, Format::Json)?)).await?;
        let _ = crate::routing::refresh(&state).await;
    }
    Ok((StatusCode::OK, axum::Json(serde_json::json!({"records": done.records, "dryRun": dry_run}))).into_response())
}

/// Audits a single-record write of a routing object (REST create, update, delete).
pub async fn audit_write(state: &AppState, s: &Session, extensions: &axum::http::Extensions, object: &str, op: &str, id: &str) {
    if !is_routing_object(object) {
        return;
    }
    if let Err(e) = crate::desktop::audit(state.store.as_ref(), s, extensions, &format!("routing.{object}.{op}"), id, None, None).await {
        tracing::warn!(error = %e.message, "auditing a routing record change");
    }
    let _ = crate::routing::refresh(state).await;
}
