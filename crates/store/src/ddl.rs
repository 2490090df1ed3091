//! Table layout and versioned migrations, shared by both backends.
//!
//! Object tables are generated from the schema: one table per object
//! (`ObjectDef::table`), one column per field (`Field::column`). Migrations
//! are numbered; each runs once, inside a transaction, and is recorded in
//! `dt_migrations`. After them, `sync_objects` adds any table or column the
//! schema has gained (a new field needs no hand-written migration).

use dialtone_model::{Field, FieldType, ObjectDef, Schema, Storage};
use dialtone_soql::Dialect;

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: fn(Dialect) -> Vec<String>,
}

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, name: "system tables: sequences, phone index, settings", sql: system_tables },
    Migration { version: 2, name: "sign-in: credentials, connected apps, tokens", sql: auth_tables },
    Migration { version: 3, name: "standard objects", sql: |d| objects_ddl(Schema::standard(), d) },
    Migration { version: 4, name: "case-insensitive indexes on text fields", sql: |_| case_insensitive_indexes(Schema::standard()) },
    Migration { version: 5, name: "manual shares", sql: share_tables },
    Migration { version: 6, name: "setup audit trail and field history", sql: audit_tables },
    Migration { version: 7, name: "flows: the outbox of committed changes, one run per flow per change", sql: outbox_tables },
];

/// The outbox: one row per committed change of a watched object, written in
/// the change's own transaction. FlowRun (its table made here for stores
/// older than the object) gets a unique (flow, change) so a change runs each
/// flow once, whatever restarts or second nodes do.
fn outbox_tables(d: Dialect) -> Vec<String> {
    let key = serial_key(d);
    let int = int_type(d);
    let mut out = vec![format!(
        "CREATE TABLE dt_outbox (seq {key}, object TEXT NOT NULL, record_id TEXT NOT NULL, op TEXT NOT NULL, changes TEXT NOT NULL, actor TEXT, at TEXT NOT NULL, depth {int} NOT NULL DEFAULT 0)"
    )];
    if let Some(run) = Schema::standard().object("FlowRun") {
        out.extend(create_object(run, d));
        out.push(format!("CREATE UNIQUE INDEX IF NOT EXISTS ux_flowrun_change ON {} (\"flowid\", \"changeseq\")", run.table()));
    }
    out
}

fn serial_key(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
    }
}

fn audit_tables(d: Dialect) -> Vec<String> {
    let key = serial_key(d);
    vec![
        format!(
            "CREATE TABLE dt_audit (seq {key}, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, before_value TEXT, after_value TEXT, source TEXT)"
        ),
        "CREATE INDEX ix_audit_at ON dt_audit (at)".into(),
        format!(
            "CREATE TABLE dt_field_history (seq {key}, record_id TEXT NOT NULL, object TEXT NOT NULL, field TEXT NOT NULL, old_value TEXT, new_value TEXT, actor TEXT, at TEXT NOT NULL)"
        ),
        "CREATE INDEX ix_history_record ON dt_field_history (record_id, seq)".into(),
    ]
}

/// Manual shares: a record shared with a principal (`user:…`, `role:…`,
/// `rolesub:…`, `group:…`) at a level (1 read, 2 edit).
fn share_tables(d: Dialect) -> Vec<String> {
    let int = int_type(d);
    vec![
        format!(
            "CREATE TABLE dt_shares (record_id TEXT NOT NULL, object TEXT NOT NULL, principal TEXT NOT NULL, level {int} NOT NULL, created_by TEXT, created_at TEXT NOT NULL, PRIMARY KEY (record_id, principal))"
        ),
        "CREATE INDEX ix_shares_principal ON dt_shares (principal, level, record_id)".into(),
    ]
}

/// SOQL compares text case-insensitively (`lower(col) = lower(?)`), so text
/// fields are indexed on `lower(col)`; the plain index is dropped.
fn case_insensitive_indexes(schema: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for o in schema.objects() {
        for f in o.fields.iter().filter(|f| f.indexed && f.name != "Id" && folds_case(f)) {
            out.push(format!("DROP INDEX IF EXISTS ix_{}_{}", o.table(), f.column()));
            out.push(index(o, f));
        }
    }
    out
}

/// Whether SOQL compares this field case-insensitively.
fn folds_case(f: &Field) -> bool {
    matches!(
        f.ty,
        FieldType::String | FieldType::TextArea | FieldType::Picklist(_) | FieldType::Phone | FieldType::Email | FieldType::Url | FieldType::AutoNumber
    )
}

pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

pub(crate) fn migrations_table(d: Dialect) -> String {
    let int = int_type(d);
    format!("CREATE TABLE IF NOT EXISTS dt_migrations (version {int} PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
}

fn int_type(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "INTEGER",
        Dialect::Postgres => "BIGINT",
    }
}

pub(crate) fn column_type(s: Storage, d: Dialect) -> &'static str {
    match (s, d) {
        (Storage::Text, _) => "TEXT",
        (Storage::Int | Storage::Bool, Dialect::Sqlite) => "INTEGER",
        (Storage::Int | Storage::Bool, Dialect::Postgres) => "BIGINT",
        (Storage::Float, Dialect::Sqlite) => "REAL",
        (Storage::Float, Dialect::Postgres) => "DOUBLE PRECISION",
    }
}

fn system_tables(d: Dialect) -> Vec<String> {
    let int = int_type(d);
    vec![
        format!("CREATE TABLE dt_sequences (object TEXT PRIMARY KEY, next {int} NOT NULL)"),
        "CREATE TABLE dt_phone_index (e164 TEXT NOT NULL, object TEXT NOT NULL, record_id TEXT NOT NULL, field TEXT NOT NULL)".into(),
        "CREATE INDEX ix_phone_e164 ON dt_phone_index (e164)".into(),
        "CREATE INDEX ix_phone_record ON dt_phone_index (record_id)".into(),
        "CREATE TABLE dt_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)".into(),
    ]
}

fn auth_tables(d: Dialect) -> Vec<String> {
    let int = int_type(d);
    vec![
        format!(
            "CREATE TABLE dt_credentials (user_id TEXT PRIMARY KEY, password_hash TEXT NOT NULL, failed_attempts {int} NOT NULL DEFAULT 0, locked_until TEXT)"
        ),
        "CREATE TABLE dt_apps (client_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL)".into(),
        format!(
            "CREATE TABLE dt_tokens (token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL, expires_at TEXT NOT NULL, revoked {int} NOT NULL DEFAULT 0)"
        ),
        "CREATE INDEX ix_tokens_user ON dt_tokens (user_id)".into(),
    ]
}

fn objects_ddl(schema: &Schema, d: Dialect) -> Vec<String> {
    schema.objects().iter().flat_map(|o| create_object(o, d)).collect()
}

/// CREATE TABLE and its indexes for one object.
pub(crate) fn create_object(o: &ObjectDef, d: Dialect) -> Vec<String> {
    let cols: Vec<String> = o
        .fields
        .iter()
        .map(|f| {
            if f.name == "Id" {
                "\"id\" TEXT PRIMARY KEY".to_string()
            } else {
                format!("\"{}\" {}", f.column(), column_type(f.ty.storage(), d))
            }
        })
        .collect();
    let mut out = vec![format!("CREATE TABLE IF NOT EXISTS {} ({})", o.table(), cols.join(", "))];
    out.extend(o.fields.iter().filter(|f| f.indexed && f.name != "Id").map(|f| index(o, f)));
    out.extend(composite_indexes(o));
    out
}

/// The object's composite indexes (`IF NOT EXISTS`: safe to run at every start).
pub(crate) fn composite_indexes(o: &ObjectDef) -> Vec<String> {
    o.indexes
        .iter()
        .map(|(name, fields)| {
            let cols: Vec<String> = fields.iter().filter_map(|f| o.field(f)).map(|f| format!("\"{}\"", f.column())).collect();
            format!("CREATE INDEX IF NOT EXISTS ixc_{t}_{name} ON {t} ({})", cols.join(", "), t = o.table())
        })
        .collect()
}

pub(crate) fn index(o: &ObjectDef, f: &Field) -> String {
    let column = f.column();
    if folds_case(f) {
        format!("CREATE INDEX IF NOT EXISTS ixl_{t}_{column} ON {t} (lower(\"{column}\"))", t = o.table())
    } else {
        format!("CREATE INDEX IF NOT EXISTS ix_{t}_{column} ON {t} (\"{column}\")", t = o.table())
    }
}

/// Statements that bring existing tables up to the schema: new tables,
/// new columns, new indexes. `existing` lists (table, column) pairs.
pub(crate) fn sync_objects(schema: &Schema, d: Dialect, existing: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for o in schema.objects() {
        let table = o.table();
        let has_table = existing.iter().any(|(t, _)| *t == table);
        if !has_table {
            out.extend(create_object(o, d));
            continue;
        }
        for f in &o.fields {
            let col = f.column();
            if !existing.iter().any(|(t, c)| *t == table && *c == col) {
                out.push(format!("ALTER TABLE {table} ADD COLUMN \"{col}\" {}", column_type(f.ty.storage(), d)));
                if f.indexed {
                    out.push(index(o, f));
                }
            }
        }
        // After the columns they name exist.
        out.extend(composite_indexes(o));
    }
    out
}

/// `INSERT INTO t (cols) VALUES (placeholders)` for the given columns.
pub(crate) fn insert_sql(o: &ObjectDef, columns: &[String], d: Dialect) -> String {
    let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let ph: Vec<String> = (1..=columns.len()).map(|i| placeholder(d, i)).collect();
    format!("INSERT INTO {} ({}) VALUES ({})", o.table(), cols.join(", "), ph.join(", "))
}

pub(crate) fn placeholder(d: Dialect, i: usize) -> String {
    match d {
        Dialect::Sqlite => format!("?{i}"),
        Dialect::Postgres => format!("${i}"),
    }
}

/// The column list of an object, in schema order (what `get` reads).
pub(crate) fn select_list(o: &ObjectDef) -> String {
    o.fields.iter().map(|f| format!("\"{}\"", f.column())).collect::<Vec<_>>().join(", ")
}
