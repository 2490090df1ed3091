//! The embedded backend: one SQLite file in WAL mode.
//!
//! One writer connection (behind a mutex) takes every write in an IMMEDIATE
//! transaction with `synchronous=FULL`, so a write is acknowledged only after
//! it is on disk. Readers use a small pool of their own connections and never
//! wait for the writer. Point reads (a record by id, a phone lookup) run on
//! the caller's thread — they take microseconds; queries and writes run on
//! tokio's blocking pool.

use crate::ddl::{self, MIGRATIONS};
use crate::{App, AuditEntry, Credential, FieldChange, OutboxEntry, Page, PhoneMatch, Record, Result, Share, Store, StoreError, Token, Watch};
use async_trait::async_trait;
use dialtone_model::{ObjectDef, SalesforceId, Schema, Storage, Value};
use dialtone_phone::{E164, Normalizer};
use dialtone_soql::{Dialect, Plan};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension, ToSql, TransactionBehavior, params_from_iter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    normalizer: Normalizer,
    outbox: crate::Outbox,
}

fn err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Duplicate(msg.clone().unwrap_or_else(|| e.to_string()))
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*b as i64)),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn binds(values: &[Value]) -> impl Iterator<Item = Bind<'_>> {
    values.iter().map(Bind)
}

/// Reads one column as the storage class says, tolerating SQLite's dynamic typing.
fn read(row: &rusqlite::Row<'_>, i: usize, storage: Storage) -> rusqlite::Result<Value> {
    Ok(match (row.get_ref(i)?, storage) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(n), Storage::Bool) => Value::Bool(n != 0),
        (ValueRef::Integer(n), Storage::Float) => Value::Float(n as f64),
        (ValueRef::Integer(n), _) => Value::Int(n),
        (ValueRef::Real(x), Storage::Int) if x.fract() == 0.0 => Value::Int(x as i64),
        (ValueRef::Real(x), _) => Value::Float(x),
        (ValueRef::Text(t), _) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        (ValueRef::Blob(b), _) => Value::Text(String::from_utf8_lossy(b).into_owned()),
    })
}

impl SqliteStore {
    /// Opens or creates the database file and brings it to the latest schema.
    pub fn open(path: &Path, normalizer: Normalizer) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Open(format!("cannot create the data directory {}: {e}", dir.display())))?;
        }
        let mut writer = connect(path, true)?;
        migrate(&mut writer)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(Vec::new())),
            normalizer,
            outbox: crate::Outbox::default(),
        })
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        with_reader(&self.path, &self.readers, f)
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
            let out = f(&tx)?;
            tx.commit().map_err(err)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("write task failed: {e}")))?
    }

    async fn read_blocking<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let path = self.path.clone();
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || with_reader(&path, &readers, f))
            .await
            .map_err(|e| StoreError::Backend(format!("query task failed: {e}")))?
    }
}

/// Inserts rows of one object inside a write transaction.
fn insert_in(
    tx: &rusqlite::Transaction<'_>,
    obj: &ObjectDef,
    rows: Vec<Vec<(String, Value)>>,
    actor: Option<&SalesforceId>,
    normalizer: &Normalizer,
    now: &str,
    watch: &Watch,
) -> Result<Vec<SalesforceId>> {
    let first = reserve(tx, &obj.name, rows.len() as u64)?;
    let mut ids = Vec::with_capacity(rows.len());
    // Rows of one batch usually share their columns: build the INSERT once per shape.
    let mut shape: Vec<String> = Vec::new();
    let mut sql = String::new();
    for (i, row) in rows.into_iter().enumerate() {
        let (id, values) = crate::complete_row(obj, first + i as u64, row, actor, now);
        if values.len() != shape.len() || values.iter().zip(&shape).any(|((n, _), s)| !n.eq_ignore_ascii_case(s)) {
            shape = values.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
            sql = ddl::insert_sql(obj, &shape, Dialect::Sqlite);
        }
        let mut stmt = tx.prepare_cached(&sql).map_err(err)?;
        stmt.execute(params_from_iter(values.iter().map(|(_, v)| Bind(v)))).map_err(err)?;
        index_phones(tx, obj, id.as_str(), &crate::phone_entries(obj, normalizer, &values))?;
        if watch.watches(obj)
            && let Some(changes) = crate::outbox_changes(None, &values)
        {
            outbox_row(tx, obj, &id, "created", &changes, actor, now, watch.depth)?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Updates one record inside a write transaction (field history, phone index).
#[allow(clippy::too_many_arguments)]
fn update_in(
    tx: &rusqlite::Transaction<'_>,
    obj: &ObjectDef,
    id: &SalesforceId,
    values: Vec<(String, Value)>,
    actor: Option<&SalesforceId>,
    normalizer: &Normalizer,
    now: &str,
    watch: &Watch,
) -> Result<()> {
    let values = crate::touch_row(values, actor, now);
    let watched = watch.watches(obj);
    // Field history and the outbox: the old values, read in the same transaction.
    let old = if obj.history || watched { old_values(tx, obj, id, &values)? } else { Vec::new() };
    let sets: Vec<String> = values.iter().enumerate().map(|(i, (n, _))| format!("\"{}\" = ?{}", n.to_ascii_lowercase(), i + 1)).collect();
    let sql = format!("UPDATE {} SET {} WHERE \"id\" = ?{}", obj.table(), sets.join(", "), values.len() + 1);
    let mut vals: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
    vals.push(Value::Text(id.to_string()));
    let n = tx.prepare_cached(&sql).and_then(|mut st| st.execute(params_from_iter(binds(&vals)))).map_err(err)?;
    if n == 0 {
        return Err(StoreError::NotFound { object: obj.name.clone(), id: id.to_string() });
    }
    let mut hist = tx
        .prepare_cached("INSERT INTO dt_field_history (record_id, object, field, old_value, new_value, actor, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .map_err(err)?;
    for (field, before, after) in crate::history_rows(obj, &old, &values) {
        hist.execute(rusqlite::params![id.as_str(), obj.name, field, before, after, actor.map(|a| a.to_string()), now]).map_err(err)?;
    }
    if watched && let Some(changes) = crate::outbox_changes(Some(&old), &values) {
        outbox_row(tx, obj, id, "updated", &changes, actor, now, watch.depth)?;
    }
    for (name, _) in values.iter().filter(|(n, _)| obj.field(n).is_some_and(|f| f.is_phone())) {
        tx.execute("DELETE FROM dt_phone_index WHERE record_id = ?1 AND field = ?2", [id.as_str(), name.as_str()]).map_err(err)?;
    }
    index_phones(tx, obj, id.as_str(), &crate::phone_entries(obj, normalizer, &values))
}

#[allow(clippy::too_many_arguments)]
fn outbox_row(tx: &rusqlite::Transaction<'_>, obj: &ObjectDef, id: &SalesforceId, op: &str, changes: &str, actor: Option<&SalesforceId>, now: &str, depth: u32) -> Result<()> {
    tx.prepare_cached("INSERT INTO dt_outbox (object, record_id, op, changes, actor, at, depth) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .and_then(|mut st| st.execute(rusqlite::params![obj.name, id.as_str(), op, changes, actor.map(|a| a.to_string()), now, depth as i64]))
        .map_err(err)?;
    Ok(())
}

fn with_reader<T>(path: &Path, readers: &Mutex<Vec<Connection>>, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let conn = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let conn = match conn {
        Some(c) => c,
        None => connect(path, false)?,
    };
    let out = f(&conn);
    let mut pool = readers.lock().unwrap_or_else(|p| p.into_inner());
    if pool.len() < 8 {
        pool.push(conn);
    }
    out
}

fn connect(path: &Path, writer: bool) -> Result<Connection> {
    let flags = if writer {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Open(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
    if writer {
        // WAL + FULL: each commit is fsynced before the write is acknowledged.
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
    }
    conn.pragma_update(None, "cache_size", -65536).map_err(err)?;
    conn.set_prepared_statement_cache_capacity(256);
    register_functions(&conn)?;
    Ok(conn)
}

/// SQL functions SOQL plans use on SQLite, which has no time zones:
/// `dt_local(stored, zone)` is a stored UTC date-time (`2026-07-01T03:30:00.000+0000`)
/// as local time in the IANA `zone`, laid out `2026-06-30T23:30:00` (what
/// `convertTimezone()` compiles to; PostgreSQL has `AT TIME ZONE`).
fn register_functions(conn: &Connection) -> Result<()> {
    use rusqlite::functions::FunctionFlags;
    // The zone last asked for, looked up once per query rather than per row;
    // and the last minute converted: rows read in time order share it often.
    struct Last {
        zone: String,
        tz: jiff::tz::TimeZone,
        minute: String,
        local: Option<String>,
    }
    let last: Mutex<Option<Last>> = Mutex::new(None);
    conn.create_scalar_function("dt_local", 2, FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC, move |ctx| {
        let stored = match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?,
            _ => return Ok(None),
        };
        let zone = ctx.get_raw(1).as_str().map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
        let mut guard = last.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_none_or(|l| l.zone != zone) {
            let tz = jiff::tz::TimeZone::get(zone).map_err(|_| rusqlite::Error::UserFunctionError(format!("{zone:?} is not a known time zone (write one such as America/New_York)").into()))?;
            *guard = Some(Last { zone: zone.to_string(), tz, minute: String::new(), local: None });
        }
        let l = guard.as_mut().expect("set above");
        // Offsets are whole minutes (since 1972 in every zone): the seconds carry over.
        let (Some(minute), Some(seconds)) = (stored.get(..16), stored.get(16..19)) else { return Ok(local_text(stored, &l.tz)) };
        if l.minute != minute {
            l.local = local_text(stored, &l.tz).and_then(|t| t.get(..16).map(str::to_string));
            l.minute = minute.to_string();
        }
        Ok(l.local.as_ref().map(|m| format!("{m}{seconds}")))
    })
    .map_err(err)
}

/// `2026-07-01T03:30:00.000+0000` (UTC) in `tz`, as `2026-06-30T23:30:00`; `None` when it is no date-time.
pub(crate) fn local_text(stored: &str, tz: &jiff::tz::TimeZone) -> Option<String> {
    let civil: jiff::civil::DateTime = stored.get(..19)?.parse().ok()?;
    let local = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.with_time_zone(tz.clone());
    Some(local.strftime("%Y-%m-%dT%H:%M:%S").to_string())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let d = Dialect::Sqlite;
    conn.execute(&ddl::migrations_table(d), []).map_err(err)?;
    let applied: i64 =
        conn.query_row("SELECT COALESCE(MAX(version), 0) FROM dt_migrations", [], |r| r.get(0)).map_err(err)?;
    if applied > ddl::latest_version() {
        return Err(StoreError::TooNew { found: applied, known: ddl::latest_version() });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > applied) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        for stmt in (m.sql)(d) {
            tx.execute(&stmt, []).map_err(|e| StoreError::Open(format!("migration {} ({}): {e}", m.version, m.name)))?;
        }
        tx.execute(
            "INSERT INTO dt_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![m.version, m.name, crate::now_text()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        tracing::info!(version = m.version, migration = m.name, "applied store migration");
    }
    let existing: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare("SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name LIKE 'sobj_%'")
            .map_err(err)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?.collect::<rusqlite::Result<_>>().map_err(err)?
    };
    let tx = conn.transaction().map_err(err)?;
    for stmt in ddl::sync_objects(Schema::standard(), d, &existing) {
        tx.execute(&stmt, []).map_err(|e| StoreError::Open(format!("schema sync: {e}")))?;
    }
    tx.commit().map_err(err)
}

/// The stored values of the fields about to change.
fn old_values(tx: &rusqlite::Transaction<'_>, obj: &ObjectDef, id: &SalesforceId, values: &[(String, Value)]) -> Result<Vec<(String, Value)>> {
    let fields: Vec<&dialtone_model::Field> = values.iter().filter_map(|(n, _)| obj.field(n)).collect();
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    let cols: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.column())).collect();
    let sql = format!("SELECT {} FROM {} WHERE \"id\" = ?1", cols.join(", "), obj.table());
    tx.query_row(&sql, [id.as_str()], |row| {
        fields.iter().enumerate().map(|(i, f)| Ok((f.name.clone(), read(row, i, f.ty.storage())?))).collect::<rusqlite::Result<Vec<_>>>()
    })
    .optional()
    .map_err(err)
    .map(Option::unwrap_or_default)
}

/// Reserves `n` sequence numbers for an object inside the write transaction.
fn reserve(tx: &rusqlite::Transaction<'_>, object: &str, n: u64) -> Result<u64> {
    let next: Option<i64> = tx
        .query_row("SELECT next FROM dt_sequences WHERE object = ?1", [object], |r| r.get(0))
        .optional()
        .map_err(err)?;
    let first = next.unwrap_or(1) as u64;
    tx.execute(
        "INSERT INTO dt_sequences (object, next) VALUES (?1, ?2) ON CONFLICT(object) DO UPDATE SET next = excluded.next",
        rusqlite::params![object, (first + n) as i64],
    )
    .map_err(err)?;
    Ok(first)
}

fn index_phones(tx: &rusqlite::Transaction<'_>, obj: &ObjectDef, id: &str, entries: &[(String, E164)]) -> Result<()> {
    let mut stmt = tx
        .prepare_cached("INSERT INTO dt_phone_index (e164, object, record_id, field) VALUES (?1, ?2, ?3, ?4)")
        .map_err(err)?;
    for (field, e) in entries {
        stmt.execute(rusqlite::params![e.as_str(), obj.name, id, field]).map_err(err)?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    fn schema(&self) -> &Schema {
        Schema::standard()
    }
    fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    async fn insert(&self, object: &ObjectDef, rows: Vec<Vec<(String, Value)>>, actor: Option<&SalesforceId>) -> Result<Vec<SalesforceId>> {
        let obj = object.clone();
        let actor = actor.cloned();
        let normalizer = self.normalizer;
        let watch = self.outbox.snapshot(0);
        let ring = watch.watches(object);
        let out = self.write(move |tx| insert_in(tx, &obj, rows, actor.as_ref(), &normalizer, &crate::now_text(), &watch)).await;
        if ring && out.is_ok() {
            self.outbox.signal.notify_one();
        }
        out
    }

    async fn write_batch(&self, ops: Vec<crate::WriteOp>, actor: Option<&SalesforceId>) -> Result<Vec<Option<SalesforceId>>> {
        self.write_batch_at(ops, actor, 0).await
    }

    fn set_outbox_objects(&self, objects: &[String]) {
        self.outbox.set(objects);
    }

    fn outbox_signal(&self) -> Arc<tokio::sync::Notify> {
        self.outbox.signal.clone()
    }

    async fn outbox_pending(&self, limit: u64) -> Result<Vec<OutboxEntry>> {
        self.read_blocking(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, object, record_id, op, changes, actor, at, depth FROM dt_outbox ORDER BY seq LIMIT ?1")
                .map_err(err)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(OutboxEntry {
                        seq: r.get(0)?,
                        object: r.get(1)?,
                        record_id: r.get(2)?,
                        op: r.get(3)?,
                        changes: crate::parse_changes(&r.get::<_, String>(4)?),
                        actor: r.get(5)?,
                        at: r.get(6)?,
                        depth: r.get::<_, i64>(7)?.clamp(0, u32::MAX as i64) as u32,
                    })
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
        .await
    }

    async fn ack_outbox(&self, seqs: &[i64]) -> Result<()> {
        let seqs = seqs.to_vec();
        self.write(move |tx| {
            let mut st = tx.prepare_cached("DELETE FROM dt_outbox WHERE seq = ?1").map_err(err)?;
            for s in seqs {
                st.execute([s]).map_err(err)?;
            }
            Ok(())
        })
        .await
    }

    async fn outbox_backlog(&self) -> Result<u64> {
        self.with_reader(|conn| {
            let n: i64 = conn.query_row("SELECT COUNT(*) FROM dt_outbox", [], |r| r.get(0)).map_err(err)?;
            Ok(n.max(0) as u64)
        })
    }

    async fn write_batch_at(&self, ops: Vec<crate::WriteOp>, actor: Option<&SalesforceId>, depth: u32) -> Result<Vec<Option<SalesforceId>>> {
        let ops = crate::resolve_ops(Schema::standard(), ops)?;
        let watch = self.outbox.snapshot(depth);
        let ring = ops.iter().any(|(o, _)| watch.watches(o));
        let actor = actor.cloned();
        let normalizer = self.normalizer;
        let result = self.write(move |tx| {
            let now = crate::now_text();
            let mut out = Vec::with_capacity(ops.len());
            for (obj, op) in ops {
                match crate::unlink(op, &out)? {
                    crate::WriteOp::Linked { .. } => return Err(StoreError::Backend("a link inside a link".into())),
                    crate::WriteOp::Insert { fields, .. } => out.push(insert_in(tx, &obj, vec![fields], actor.as_ref(), &normalizer, &now, &watch)?.pop()),
                    crate::WriteOp::Update { id, fields, .. } => {
                        update_in(tx, &obj, &id, fields, actor.as_ref(), &normalizer, &now, &watch)?;
                        out.push(None);
                    }
                    crate::WriteOp::Expect { id, fields, .. } => {
                        let sql = format!("SELECT 1 FROM {} WHERE {}", obj.table(), crate::expect_where(&obj, &fields, "IS", |n| format!("?{n}"))?);
                        let mut vals = vec![Value::Text(id.to_string())];
                        vals.extend(fields.into_iter().map(|(_, v)| v));
                        let found = tx.prepare_cached(&sql).and_then(|mut st| st.exists(params_from_iter(binds(&vals)))).map_err(err)?;
                        if !found {
                            return Err(StoreError::Conflict { object: obj.name.clone(), id: id.to_string() });
                        }
                        out.push(None);
                    }
                    crate::WriteOp::DeleteAll { .. } => {
                        let t = obj.table();
                        tx.execute(&format!("DELETE FROM dt_phone_index WHERE record_id IN (SELECT \"id\" FROM {t})"), []).map_err(err)?;
                        tx.execute(&format!("DELETE FROM dt_shares WHERE record_id IN (SELECT \"id\" FROM {t})"), []).map_err(err)?;
                        tx.execute(&format!("DELETE FROM {t}"), []).map_err(err)?;
                        out.push(None);
                    }
                }
            }
            Ok(out)
        })
        .await;
        if ring && result.is_ok() {
            self.outbox.signal.notify_one();
        }
        result
    }

    async fn get(&self, object: &ObjectDef, id: &SalesforceId) -> Result<Option<Record>> {
        let sql = format!("SELECT {} FROM {} WHERE \"id\" = ?1", ddl::select_list(object), object.table());
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
            stmt.query_row([id.as_str()], |row| {
                let mut values = Vec::with_capacity(object.fields.len());
                for (i, f) in object.fields.iter().enumerate() {
                    values.push((f.name.clone(), read(row, i, f.ty.storage())?));
                }
                Ok(Record { object: object.name.clone(), values })
            })
            .optional()
            .map_err(err)
        })
    }

    async fn update(&self, object: &ObjectDef, id: &SalesforceId, values: Vec<(String, Value)>, actor: Option<&SalesforceId>) -> Result<()> {
        let obj = object.clone();
        let id = id.clone();
        let actor = actor.cloned();
        let normalizer = self.normalizer;
        let watch = self.outbox.snapshot(0);
        let ring = watch.watches(object);
        let out = self.write(move |tx| update_in(tx, &obj, &id, values, actor.as_ref(), &normalizer, &crate::now_text(), &watch)).await;
        if ring && out.is_ok() {
            self.outbox.signal.notify_one();
        }
        out
    }

    async fn delete(&self, object: &ObjectDef, id: &SalesforceId) -> Result<()> {
        let obj = object.clone();
        let id = id.clone();
        self.write(move |tx| {
            let n = tx.execute(&format!("DELETE FROM {} WHERE \"id\" = ?1", obj.table()), [id.as_str()]).map_err(err)?;
            if n == 0 {
                return Err(StoreError::NotFound { object: obj.name.clone(), id: id.to_string() });
            }
            tx.execute("DELETE FROM dt_phone_index WHERE record_id = ?1", [id.as_str()]).map_err(err)?;
            tx.execute("DELETE FROM dt_shares WHERE record_id = ?1", [id.as_str()]).map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn query(&self, plan: &Plan, page: Option<Page>) -> Result<Vec<Vec<Value>>> {
        let sql = match page {
            Some(p) => plan.page_sql(p.offset, p.limit),
            None => plan.sql(),
        };
        let params = plan.params.clone();
        let storages = crate::row_storages(plan);
        self.read_blocking(move |conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(|e| StoreError::Query(e.to_string()))?;
            let rows = stmt
                .query_map(params_from_iter(binds(&params)), |row| {
                    storages.iter().enumerate().map(|(i, s)| read(row, i, *s)).collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(|e| StoreError::Query(e.to_string()))?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| StoreError::Query(e.to_string()))
        })
        .await
    }

    async fn count(&self, plan: &Plan) -> Result<u64> {
        let sql = plan.count_sql();
        let params = plan.params.clone();
        self.read_blocking(move |conn| {
            let n: i64 = conn
                .prepare_cached(&sql)
                .and_then(|mut s| s.query_row(params_from_iter(binds(&params)), |r| r.get(0)))
                .map_err(|e| StoreError::Query(e.to_string()))?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn phone_lookup(&self, number: &E164) -> Result<Vec<PhoneMatch>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT object, record_id, field FROM dt_phone_index WHERE e164 = ?1 ORDER BY object, record_id, field")
                .map_err(err)?;
            let rows = stmt
                .query_map([number.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (object, id, field) = row.map_err(err)?;
                let id = SalesforceId::parse(&id).map_err(|e| StoreError::Backend(e.to_string()))?;
                out.push(PhoneMatch { object, id, field });
            }
            Ok(out)
        })
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<Record>> {
        let user = Schema::standard().object("User").expect("standard User");
        let sql = format!("SELECT \"id\" FROM {} WHERE \"username\" = ?1", user.table());
        let id: Option<String> = self.with_reader(|conn| {
            conn.prepare_cached(&sql).and_then(|mut s| s.query_row([username], |r| r.get(0)).optional()).map_err(err)
        })?;
        match id.map(|s| SalesforceId::parse(&s)) {
            Some(Ok(id)) => self.get(user, &id).await,
            _ => Ok(None),
        }
    }

    async fn put_credential(&self, c: &Credential) -> Result<()> {
        let c = c.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_credentials (user_id, password_hash, failed_attempts, locked_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id) DO UPDATE SET password_hash = excluded.password_hash, failed_attempts = excluded.failed_attempts, locked_until = excluded.locked_until",
                rusqlite::params![c.user_id.as_str(), c.password_hash, c.failed_attempts, c.locked_until],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn credential(&self, user_id: &SalesforceId) -> Result<Option<Credential>> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT password_hash, failed_attempts, locked_until FROM dt_credentials WHERE user_id = ?1")
                .and_then(|mut s| {
                    s.query_row([user_id.as_str()], |r| {
                        Ok(Credential {
                            user_id: user_id.clone(),
                            password_hash: r.get(0)?,
                            failed_attempts: r.get(1)?,
                            locked_until: r.get(2)?,
                        })
                    })
                    .optional()
                })
                .map_err(err)
        })
    }

    async fn put_app(&self, app: &App) -> Result<()> {
        let app = app.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_apps (client_id, name, secret_hash) VALUES (?1, ?2, ?3)",
                rusqlite::params![app.client_id, app.name, app.secret_hash],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn app(&self, client_id: &str) -> Result<Option<App>> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT client_id, name, secret_hash FROM dt_apps WHERE client_id = ?1")
                .and_then(|mut s| {
                    s.query_row([client_id], |r| Ok(App { client_id: r.get(0)?, name: r.get(1)?, secret_hash: r.get(2)? }))
                        .optional()
                })
                .map_err(err)
        })
    }

    async fn put_token(&self, t: &Token) -> Result<()> {
        let t = t.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_tokens (token_hash, kind, user_id, client_id, expires_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![t.token_hash, t.kind, t.user_id.as_str(), t.client_id, t.expires_at, t.revoked as i64],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn token(&self, token_hash: &str) -> Result<Option<Token>> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT token_hash, kind, user_id, client_id, expires_at, revoked FROM dt_tokens WHERE token_hash = ?1")
                .and_then(|mut s| {
                    s.query_row([token_hash], |r| {
                        let user: String = r.get(2)?;
                        Ok(Token {
                            token_hash: r.get(0)?,
                            kind: r.get(1)?,
                            user_id: SalesforceId::parse(&user).map_err(|e| {
                                rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
                            })?,
                            client_id: r.get(3)?,
                            expires_at: r.get(4)?,
                            revoked: r.get::<_, i64>(5)? != 0,
                        })
                    })
                    .optional()
                })
                .map_err(err)
        })
    }

    async fn revoke_token(&self, token_hash: &str) -> Result<()> {
        let h = token_hash.to_string();
        self.write(move |tx| {
            tx.execute("UPDATE dt_tokens SET revoked = 1 WHERE token_hash = ?1", [h]).map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn put_share(&self, sh: &Share) -> Result<()> {
        let sh = sh.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_shares (record_id, object, principal, level, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(record_id, principal) DO UPDATE SET level = excluded.level",
                rusqlite::params![sh.record_id.as_str(), sh.object, sh.principal, sh.level, sh.created_by.as_ref().map(|c| c.to_string()), crate::now_text()],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn delete_share(&self, record_id: &SalesforceId, principal: &str) -> Result<()> {
        let (r, p) = (record_id.to_string(), principal.to_string());
        self.write(move |tx| {
            tx.execute("DELETE FROM dt_shares WHERE record_id = ?1 AND principal = ?2", [r, p]).map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn shares(&self, record_id: &SalesforceId) -> Result<Vec<Share>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT object, principal, level, created_by FROM dt_shares WHERE record_id = ?1 ORDER BY principal")
                .map_err(err)?;
            let rows = stmt
                .query_map([record_id.as_str()], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
                })
                .map_err(err)?;
            let mut out = Vec::new();
            for row in rows {
                let (object, principal, level, by) = row.map_err(err)?;
                out.push(Share { record_id: record_id.clone(), object, principal, level, created_by: by.and_then(|b| SalesforceId::parse(&b).ok()) });
            }
            Ok(out)
        })
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        let e = e.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_audit (at, actor, action, target, before_value, after_value, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![e.at, e.actor, e.action, e.target, e.before, e.after, e.source],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn audit_trail(&self, limit: u64) -> Result<Vec<AuditEntry>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT at, actor, action, target, before_value, after_value, source FROM dt_audit ORDER BY seq DESC LIMIT ?1")
                .map_err(err)?;
            let rows = stmt
                .query_map([limit as i64], |r| {
                    Ok(AuditEntry { at: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, target: r.get(3)?, before: r.get(4)?, after: r.get(5)?, source: r.get(6)? })
                })
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
    }

    async fn field_history(&self, record_id: &SalesforceId) -> Result<Vec<FieldChange>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT field, old_value, new_value, actor, at FROM dt_field_history WHERE record_id = ?1 ORDER BY seq")
                .map_err(err)?;
            let rows = stmt
                .query_map([record_id.as_str()], |r| Ok(FieldChange { field: r.get(0)?, old: r.get(1)?, new: r.get(2)?, actor: r.get(3)?, at: r.get(4)? }))
                .map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|conn| {
            conn.prepare_cached("SELECT value FROM dt_settings WHERE key = ?1")
                .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
                .map_err(err)
        })
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        let (k, v) = (key.to_string(), value.to_string());
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO dt_settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [k, v],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.with_reader(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT key, value FROM dt_settings WHERE substr(key, 1, ?2) = ?1 ORDER BY key")
                .map_err(err)?;
            let rows = stmt.query_map(rusqlite::params![prefix, prefix.chars().count() as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
    }

    async fn migrations(&self) -> Result<Vec<(i64, String)>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare("SELECT version, name FROM dt_migrations ORDER BY version").map_err(err)?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(err)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(err)
        })
    }
}
