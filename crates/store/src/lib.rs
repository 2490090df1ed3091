//! The record store: one [`Store`] trait, two backends that pass the same
//! test suite — SQLite (embedded, the default) and PostgreSQL.
//!
//! The store owns tables, ids, the phone index, migrations and durability. It
//! never validates field values (that is `dialtone-model`'s job, done before a
//! write reaches here) and never parses SOQL (it executes a `dialtone_soql::Plan`).

mod ddl;
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use dialtone_model::{ObjectDef, SalesforceId, Schema, Value};
use dialtone_phone::{E164, Normalizer};
use dialtone_soql::{Dialect, Plan};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// A stored record: canonical field names in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub object: String,
    pub values: Vec<(String, Value)>,
}

impl Record {
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n.eq_ignore_ascii_case(field)).map(|(_, v)| v)
    }
    pub fn id(&self) -> Option<SalesforceId> {
        self.get("Id").and_then(|v| v.as_str()).and_then(|s| SalesforceId::parse(s).ok())
    }
}

/// A record found through the phone index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneMatch {
    pub object: String,
    pub id: SalesforceId,
    pub field: String,
}

/// A user's sign-in secret and lockout state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub user_id: SalesforceId,
    pub password_hash: String,
    pub failed_attempts: i64,
    /// UTC date-time text; sign-in refused until then.
    pub locked_until: Option<String>,
}

/// A registered connected app (OAuth client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub client_id: String,
    pub name: String,
    pub secret_hash: String,
}

/// An issued token, stored by the hash of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub token_hash: String,
    pub kind: String,
    pub user_id: SalesforceId,
    pub client_id: String,
    /// UTC date-time text.
    pub expires_at: String,
    pub revoked: bool,
}

/// One entry of the setup audit trail: who changed what, when, before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: String,
    /// A user id, or `cli:<os user>` for the command line.
    pub actor: String,
    /// e.g. `security.import`, `callcenter.import`, `recording.open`.
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// Where it came from: a client address, `cli`, `scheduler`.
    pub source: Option<String>,
}

/// One tracked field change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub actor: Option<String>,
    pub at: String,
}

/// The history rows an update of `values` makes, given the record's `old` values.
pub(crate) fn history_rows(obj: &ObjectDef, old: &[(String, Value)], values: &[(String, Value)]) -> Vec<(String, Option<String>, Option<String>)> {
    if !obj.history {
        return Vec::new();
    }
    let text = |v: &Value| if v.is_null() { None } else { Some(v.to_string()) };
    values
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "LastModifiedDate" | "SystemModstamp" | "LastModifiedById"))
        .filter(|(n, _)| obj.field(n).is_none_or(|f| f.tracked))
        .filter_map(|(n, new)| {
            let before = old.iter().find(|(o, _)| o == n).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
            (before != *new).then(|| (n.clone(), text(&before), text(new)))
        })
        .collect()
}

/// A manual share of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub record_id: SalesforceId,
    pub object: String,
    pub principal: String,
    /// 1 read, 2 edit.
    pub level: i64,
    pub created_by: Option<SalesforceId>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{object} {id} not found")]
    NotFound { object: String, id: String },
    #[error("duplicate value: {0}")]
    Duplicate(String),
    #[error("the query could not run: {0}")]
    Query(String),
    #[error("this store was written by a newer Dialtone (schema version {found}, this one knows {known}); upgrade Dialtone")]
    TooNew { found: i64, known: i64 },
    #[error("cannot open the store: {0}")]
    Open(String),
    #[error("store failure: {0}")]
    Backend(String),
    /// A [`WriteOp::Expect`] found other values: someone else changed the record first.
    #[error("{object} {id} was changed by someone else")]
    Conflict { object: String, id: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// One write of a [`Store::write_batch`]: validated values, as for
/// [`Store::insert`] and [`Store::update`].
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Insert { object: String, fields: Vec<(String, Value)> },
    Update { object: String, id: SalesforceId, fields: Vec<(String, Value)> },
    /// Every record of the object goes (a configuration replaced whole, e.g. `dialtone routing import`).
    DeleteAll { object: String },
    /// A compare-and-set guard: the batch goes on only if the record holds
    /// these values (read, and on PostgreSQL locked, in the batch's
    /// transaction); otherwise nothing of the batch is written and it fails
    /// with [`StoreError::Conflict`]. How two flow runners never run one action twice.
    Expect { object: String, id: SalesforceId, fields: Vec<(String, Value)> },
    /// An `Insert` or `Update` whose `links` fields take the id that the
    /// batch's op at that index inserted (a Contact's AccountId, when the
    /// Account is created in the same transaction).
    Linked { op: Box<WriteOp>, links: Vec<(String, usize)> },
}

impl WriteOp {
    /// The object the op writes.
    pub fn object(&self) -> &str {
        match self {
            WriteOp::Insert { object, .. } | WriteOp::Update { object, .. } | WriteOp::DeleteAll { object } | WriteOp::Expect { object, .. } => object,
            WriteOp::Linked { op, .. } => op.object(),
        }
    }
}

/// A [`WriteOp::Linked`] with its links filled from the ids `out` holds so
/// far (the batch's earlier ops); any other op as it is.
pub(crate) fn unlink(op: WriteOp, out: &[Option<SalesforceId>]) -> Result<WriteOp> {
    let WriteOp::Linked { op, links } = op else { return Ok(op) };
    let mut op = *op;
    let fields = match &mut op {
        WriteOp::Insert { fields, .. } | WriteOp::Update { fields, .. } => fields,
        _ => return Err(StoreError::Backend("only an insert or an update takes links".into())),
    };
    for (field, i) in links {
        let id = out.get(i).cloned().flatten().ok_or_else(|| StoreError::Backend(format!("{field}: op {i} of the batch inserted no record before it")))?;
        fields.retain(|(n, _)| *n != field);
        fields.push((field, Value::Text(id.to_string())));
    }
    Ok(op)
}

/// The WHERE clause of a [`WriteOp::Expect`]: `"id" = P1 AND "col" IS P2 …`
/// (`IS` also matches two nulls), with `param(n)` naming the n-th parameter.
pub(crate) fn expect_where(obj: &ObjectDef, fields: &[(String, Value)], is: &str, param: impl Fn(usize) -> String) -> Result<String> {
    let mut clause = format!("\"id\" = {}", param(1));
    for (i, (name, _)) in fields.iter().enumerate() {
        let f = obj.field(name).ok_or_else(|| StoreError::Backend(format!("{} has no field {name}", obj.name)))?;
        clause.push_str(&format!(" AND \"{}\" {is} {}", f.column(), param(i + 2)));
    }
    Ok(clause)
}

/// Looks up each op's object before the transaction starts.
pub(crate) fn resolve_ops(schema: &Schema, ops: Vec<WriteOp>) -> Result<Vec<(ObjectDef, WriteOp)>> {
    ops.into_iter()
        .map(|op| {
            let name = op.object();
            let obj = schema.object(name).ok_or_else(|| StoreError::Backend(format!("no object named {name}")))?.clone();
            Ok((obj, op))
        })
        .collect()
}

/// One committed change of a watched object (see [`Store::set_outbox_objects`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub object: String,
    pub record_id: String,
    /// `created` or `updated`.
    pub op: String,
    /// (field, old, new) of every field whose value changed (on create, every field written).
    pub changes: Vec<(String, Option<String>, Option<String>)>,
    pub actor: Option<String>,
    pub at: String,
    /// 0 for a person's or a telephony edge's write; a flow's action writes at its run's depth + 1.
    pub depth: u32,
}

/// The objects whose changes go to the outbox, and the signal rung after a
/// commit that wrote some. Shared by both backends.
#[derive(Default)]
pub(crate) struct Outbox {
    watched: RwLock<Arc<HashSet<String>>>,
    pub(crate) signal: Arc<tokio::sync::Notify>,
}

impl Outbox {
    pub(crate) fn set(&self, objects: &[String]) {
        let set: HashSet<String> = objects.iter().map(|o| o.to_ascii_lowercase()).collect();
        *self.watched.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(set);
    }
    pub(crate) fn snapshot(&self, depth: u32) -> Watch {
        Watch { objects: self.watched.read().unwrap_or_else(|p| p.into_inner()).clone(), depth }
    }
}

/// What one write transaction needs of the outbox: which objects are watched, and the writer's depth.
#[derive(Clone)]
pub(crate) struct Watch {
    objects: Arc<HashSet<String>>,
    pub(crate) depth: u32,
}

impl Watch {
    pub(crate) fn watches(&self, obj: &ObjectDef) -> bool {
        !self.objects.is_empty() && self.objects.contains(&obj.name.to_ascii_lowercase())
    }
}

/// Fields that change on every write and never start a flow.
fn bookkeeping(field: &str) -> bool {
    matches!(field, "LastModifiedDate" | "SystemModstamp" | "LastModifiedById" | "CreatedDate" | "CreatedById")
}

/// The outbox changes of an insert (`old` empty) or an update, as JSON text; `None` when nothing changed.
pub(crate) fn outbox_changes(old: Option<&[(String, Value)]>, values: &[(String, Value)]) -> Option<String> {
    let text = |v: &Value| if v.is_null() { None } else { Some(v.to_string()) };
    let rows: Vec<(String, Option<String>, Option<String>)> = values
        .iter()
        .filter(|(n, _)| !bookkeeping(n))
        .filter_map(|(n, new)| {
            let before = old.and_then(|o| o.iter().find(|(f, _)| f == n)).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
            (before != *new || (old.is_none() && n == "Id")).then(|| (n.clone(), text(&before), text(new)))
        })
        .collect();
    if old.is_some() && rows.is_empty() {
        return None;
    }
    Some(serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into()))
}

pub(crate) fn parse_changes(text: &str) -> Vec<(String, Option<String>, Option<String>)> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Which page of a query's result to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

#[async_trait]
pub trait Store: Send + Sync {
    fn dialect(&self) -> Dialect;
    fn schema(&self) -> &Schema;
    fn normalizer(&self) -> &Normalizer;

    /// Inserts validated records of one object in one transaction: all are
    /// written and durable, or none. Returns their ids in order.
    async fn insert(&self, object: &ObjectDef, rows: Vec<Vec<(String, Value)>>, actor: Option<&SalesforceId>) -> Result<Vec<SalesforceId>>;
    async fn get(&self, object: &ObjectDef, id: &SalesforceId) -> Result<Option<Record>>;
    /// Inserts and updates of any objects in one transaction (group commit for
    /// the call desk): all are written and durable, or none. Returns, in
    /// order, the id of each insert (`None` for an update).
    async fn write_batch(&self, ops: Vec<WriteOp>, actor: Option<&SalesforceId>) -> Result<Vec<Option<SalesforceId>>>;
    /// [`Store::write_batch`] by a flow's action: the outbox rows it makes carry `depth`.
    async fn write_batch_at(&self, ops: Vec<WriteOp>, actor: Option<&SalesforceId>, depth: u32) -> Result<Vec<Option<SalesforceId>>>;

    /// The objects whose inserts and updates also write an outbox row in the
    /// same transaction (those with an active flow); empty: none, at no cost.
    fn set_outbox_objects(&self, objects: &[String]);
    /// Rung after a commit that wrote outbox rows.
    fn outbox_signal(&self) -> Arc<tokio::sync::Notify>;
    /// The oldest outbox rows, in commit order.
    async fn outbox_pending(&self, limit: u64) -> Result<Vec<OutboxEntry>>;
    /// Removes handled outbox rows.
    async fn ack_outbox(&self, seqs: &[i64]) -> Result<()>;
    /// How many outbox rows wait.
    async fn outbox_backlog(&self) -> Result<u64>;
    /// Applies validated changes; `NotFound` if the record does not exist.
    async fn update(&self, object: &ObjectDef, id: &SalesforceId, values: Vec<(String, Value)>, actor: Option<&SalesforceId>) -> Result<()>;
    async fn delete(&self, object: &ObjectDef, id: &SalesforceId) -> Result<()>;

    /// Runs a compiled SOQL plan; rows hold `plan.row_width()` values: the
    /// `plan.columns`, then the hidden record and parent ids.
    async fn query(&self, plan: &Plan, page: Option<Page>) -> Result<Vec<Vec<Value>>>;
    /// The number of rows (or groups) the plan yields.
    async fn count(&self, plan: &Plan) -> Result<u64>;

    /// Records whose phone fields hold this number, across all objects.
    async fn phone_lookup(&self, number: &E164) -> Result<Vec<PhoneMatch>>;

    async fn find_user_by_username(&self, username: &str) -> Result<Option<Record>>;
    async fn put_credential(&self, c: &Credential) -> Result<()>;
    async fn credential(&self, user_id: &SalesforceId) -> Result<Option<Credential>>;
    async fn put_app(&self, app: &App) -> Result<()>;
    async fn app(&self, client_id: &str) -> Result<Option<App>>;
    async fn put_token(&self, t: &Token) -> Result<()>;
    async fn token(&self, token_hash: &str) -> Result<Option<Token>>;
    async fn revoke_token(&self, token_hash: &str) -> Result<()>;

    /// Shares a record with a principal key at a level (1 read, 2 edit);
    /// sharing again replaces the level.
    async fn put_share(&self, s: &Share) -> Result<()>;
    async fn delete_share(&self, record_id: &SalesforceId, principal: &str) -> Result<()>;
    async fn shares(&self, record_id: &SalesforceId) -> Result<Vec<Share>>;

    /// Appends to the setup audit trail.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The newest audit entries first.
    async fn audit_trail(&self, limit: u64) -> Result<Vec<AuditEntry>>;
    /// Field changes of one record, oldest first (objects with `history`).
    async fn field_history(&self, record_id: &SalesforceId) -> Result<Vec<FieldChange>>;

    /// Org-wide settings (default region, …).
    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> Result<()>;
    /// Every setting whose key starts with `prefix`, in key order.
    async fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;

    /// The applied migrations, oldest first: (version, name).
    async fn migrations(&self) -> Result<Vec<(i64, String)>>;
}

pub type DynStore = Arc<dyn Store>;

/// Where records live: `sqlite:DIR` style paths or a `postgres://` URL.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Location {
    /// `--store` wins when given; otherwise the SQLite file in the data dir.
    pub fn from_args(store: Option<&str>, data_dir: &std::path::Path) -> Location {
        match store {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => Location::Postgres(s.to_string()),
            Some(s) => Location::Sqlite(std::path::PathBuf::from(s.strip_prefix("sqlite:").unwrap_or(s))),
            None => Location::Sqlite(data_dir.join("dialtone.db")),
        }
    }
}

/// Opens (creating and migrating as needed) the store at `location`. The
/// outbox watches the objects last kept with [`keep_outbox_objects`], so a
/// process that is not the server (`dialtone import`) still notes its changes
/// for the server's flows.
pub async fn open(location: &Location, region: &str) -> Result<DynStore> {
    let normalizer = Normalizer::new(region).map_err(|e| StoreError::Open(e.to_string()))?;
    let store: DynStore = match location {
        Location::Sqlite(path) => Arc::new(SqliteStore::open(path, normalizer)?),
        Location::Postgres(url) => Arc::new(PostgresStore::open(url, normalizer).await?),
    };
    if let Some(kept) = store.setting(OUTBOX_OBJECTS).await? {
        store.set_outbox_objects(&kept.split(',').filter(|o| !o.is_empty()).map(str::to_string).collect::<Vec<_>>());
    }
    Ok(store)
}

/// The setting that holds the objects the outbox watches (comma-separated).
pub const OUTBOX_OBJECTS: &str = "outbox.objects";

/// [`Store::set_outbox_objects`], and the list kept in the store's settings
/// (written only when it changed) for every process that opens the store later.
pub async fn keep_outbox_objects(store: &dyn Store, objects: &[String]) -> Result<()> {
    store.set_outbox_objects(objects);
    let list = objects.join(",");
    if store.setting(OUTBOX_OBJECTS).await?.unwrap_or_default() != list {
        store.put_setting(OUTBOX_OBJECTS, &list).await?;
    }
    Ok(())
}

/// How to read each column of a plan's rows: the visible columns, then the
/// hidden record and parent ids (text).
pub(crate) fn row_storages(plan: &Plan) -> Vec<dialtone_model::Storage> {
    (0..plan.row_width()).map(|i| plan.columns.get(i).map_or(dialtone_model::Storage::Text, |c| c.storage)).collect()
}

/// The current UTC time in stored form.
pub(crate) fn now_text() -> String {
    dialtone_model::format_datetime(time::OffsetDateTime::now_utc())
}

/// What a write adds to the phone index for one record's values.
pub(crate) fn phone_entries(obj: &ObjectDef, normalizer: &Normalizer, values: &[(String, Value)]) -> Vec<(String, E164)> {
    obj.phone_fields()
        .filter_map(|f| {
            let (_, v) = values.iter().find(|(n, _)| *n == f.name)?;
            Some((f.name.clone(), normalizer.normalize(v.as_str()?)?))
        })
        .collect()
}

/// The auto-number text for a record's sequence number.
pub(crate) fn auto_number(obj: &ObjectDef, seq: u64) -> String {
    match obj.name.as_str() {
        "VoiceCall" => format!("VC-{seq:08}"),
        "VoiceCallRecording" => format!("VCR-{seq:08}"),
        _ => format!("{seq:08}"),
    }
}

/// Completes a validated row for insert: id, audit fields, owner, auto numbers.
pub(crate) fn complete_row(
    obj: &ObjectDef,
    seq: u64,
    mut values: Vec<(String, Value)>,
    actor: Option<&SalesforceId>,
    now: &str,
) -> (SalesforceId, Vec<(String, Value)>) {
    let id = SalesforceId::new(&obj.key_prefix, seq);
    values.retain(|(n, _)| !matches!(n.as_str(), "Id" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp" | "CreatedById" | "LastModifiedById"));
    values.push(("Id".into(), Value::Text(id.to_string())));
    for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        values.push((f.into(), Value::Text(now.to_string())));
    }
    if let Some(a) = actor {
        for f in ["CreatedById", "LastModifiedById"] {
            values.push((f.into(), Value::Text(a.to_string())));
        }
        if obj.has_owner() && !values.iter().any(|(n, v)| n == "OwnerId" && !v.is_null()) {
            values.retain(|(n, _)| n != "OwnerId");
            values.push(("OwnerId".into(), Value::Text(a.to_string())));
        }
    }
    for f in &obj.fields {
        if f.ty == dialtone_model::FieldType::AutoNumber {
            values.push((f.name.clone(), Value::Text(auto_number(obj, seq))));
        }
    }
    (id, values)
}

/// Adds the audit fields of an update.
pub(crate) fn touch_row(mut values: Vec<(String, Value)>, actor: Option<&SalesforceId>, now: &str) -> Vec<(String, Value)> {
    values.retain(|(n, _)| !matches!(n.as_str(), "Id" | "LastModifiedDate" | "SystemModstamp" | "LastModifiedById"));
    values.push(("LastModifiedDate".into(), Value::Text(now.to_string())));
    values.push(("SystemModstamp".into(), Value::Text(now.to_string())));
    if let Some(a) = actor {
        values.push(("LastModifiedById".into(), Value::Text(a.to_string())));
    }
    values
}
