//! The PostgreSQL backend (`--store postgres://…`), for teams that outgrow one
//! machine. Same tables, same migrations, same behaviour as SQLite: the shared
//! conformance suite in `tests/conformance.rs` runs against both.

use crate::ddl::{self, MIGRATIONS};
use crate::{App, AuditEntry, Credential, FieldChange, OutboxEntry, Page, PhoneMatch, Record, Result, Share, Store, StoreError, Token, Watch};
use async_trait::async_trait;
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use dialtone_model::{ObjectDef, SalesforceId, Schema, Storage, Value};
use dialtone_phone::{E164, Normalizer};
use dialtone_soql::{Dialect, Plan};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{NoTls, Row};

pub struct PostgresStore {
    pool: Pool,
    normalizer: Normalizer,
    outbox: crate::Outbox,
}

fn err(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            return StoreError::Duplicate(db.message().to_string());
        }
        return StoreError::Backend(format!("{}: {}", db.code().code(), db.message()));
    }
    StoreError::Backend(e.to_string())
}

fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Backend(format!("no database connection: {e}"))
}

/// Binds a [`Value`] to whatever type PostgreSQL inferred for the parameter.
#[derive(Debug)]
struct Bind<'a>(&'a Value);

type BoxErr = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxErr> {
        let int = |i: i64, out: &mut BytesMut| -> std::result::Result<IsNull, BoxErr> {
            match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                _ => i.to_string().to_sql(&Type::TEXT, out),
            }
        };
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => int(*b as i64, out),
            Value::Int(i) => int(*i, out),
            Value::Float(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 | Type::INT4 | Type::INT2 if f.fract() == 0.0 => int(*f as i64, out),
                _ => f.to_string().to_sql(&Type::TEXT, out),
            },
            Value::Text(s) => match *ty {
                Type::INT8 | Type::INT4 | Type::INT2 => int(s.parse()?, out),
                Type::FLOAT8 => s.parse::<f64>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn binds(values: &[Value]) -> Vec<Bind<'_>> {
    values.iter().map(Bind).collect()
}

fn refs<'a>(b: &'a [Bind<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    b.iter().map(|x| x as &(dyn ToSql + Sync)).collect()
}

fn read(row: &Row, i: usize, storage: Storage) -> Result<Value> {
    let ty = row.columns()[i].type_().clone();
    let e = |e: tokio_postgres::Error| StoreError::Backend(format!("column {i}: {e}"));
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i).map_err(e)?.map(|n| int_value(n, storage)),
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map_err(e)?.map(|n| int_value(n as i64, storage)),
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map_err(e)?.map(|n| int_value(n as i64, storage)),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map_err(e)?.map(|x| float_value(x, storage)),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i).map_err(e)?.map(|x| float_value(x as f64, storage)),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map_err(e)?.map(Value::Bool),
        _ => row.try_get::<_, Option<String>>(i).map_err(e)?.map(Value::Text),
    };
    Ok(v.unwrap_or(Value::Null))
}

fn int_value(n: i64, storage: Storage) -> Value {
    match storage {
        Storage::Bool => Value::Bool(n != 0),
        Storage::Float => Value::Float(n as f64),
        _ => Value::Int(n),
    }
}

fn float_value(x: f64, storage: Storage) -> Value {
    match storage {
        Storage::Int if x.fract() == 0.0 => Value::Int(x as i64),
        _ => Value::Float(x),
    }
}

fn record(object: &ObjectDef, row: &Row) -> Result<Record> {
    let mut values = Vec::with_capacity(object.fields.len());
    for (i, f) in object.fields.iter().enumerate() {
        values.push((f.name.clone(), read(row, i, f.ty.storage())?));
    }
    Ok(Record { object: object.name.clone(), values })
}

impl PostgresStore {
    /// Connects, takes the migration lock, migrates, and hands out a pool.
    pub async fn open(url: &str, normalizer: Normalizer) -> Result<PostgresStore> {
        let pg: tokio_postgres::Config =
            url.parse().map_err(|e| StoreError::Open(format!("bad PostgreSQL URL (postgres://user@host:5432/db): {e}")))?;
        let mgr = Manager::from_config(pg, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(mgr)
            .max_size(16)
            .build()
            .map_err(|e| StoreError::Open(format!("PostgreSQL pool: {e}")))?;
        let store = PostgresStore { pool, normalizer, outbox: crate::Outbox::default() };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let d = Dialect::Postgres;
        let mut client = self.pool.get().await.map_err(|e| StoreError::Open(format!("cannot reach PostgreSQL: {e}")))?;
        // One node migrates at a time.
        client.execute("SELECT pg_advisory_lock(7405110)", &[]).await.map_err(err)?;
        let result = async {
            client.batch_execute(&ddl::migrations_table(d)).await.map_err(err)?;
            let applied: i64 =
                client.query_one("SELECT COALESCE(MAX(version), 0)::BIGINT FROM dt_migrations", &[]).await.map_err(err)?.get(0);
            if applied > ddl::latest_version() {
                return Err(StoreError::TooNew { found: applied, known: ddl::latest_version() });
            }
            for m in MIGRATIONS.iter().filter(|m| m.version > applied) {
                let tx = client.transaction().await.map_err(err)?;
                for stmt in (m.sql)(d) {
                    tx.batch_execute(&stmt)
                        .await
                        .map_err(|e| StoreError::Open(format!("migration {} ({}): {e}", m.version, m.name)))?;
                }
                tx.execute(
                    "INSERT INTO dt_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    &[&m.version, &m.name, &crate::now_text()],
                )
                .await
                .map_err(err)?;
                tx.commit().await.map_err(err)?;
                tracing::info!(version = m.version, migration = m.name, "applied store migration");
            }
            let existing: Vec<(String, String)> = client
                .query(
                    "SELECT table_name::TEXT, column_name::TEXT FROM information_schema.columns WHERE table_schema = current_schema() AND table_name LIKE 'sobj_%'",
                    &[],
                )
                .await
                .map_err(err)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            let tx = client.transaction().await.map_err(err)?;
            for stmt in ddl::sync_objects(Schema::standard(), d, &existing) {
                tx.batch_execute(&stmt).await.map_err(|e| StoreError::Open(format!("schema sync: {e}")))?;
            }
            tx.commit().await.map_err(err)
        }
        .await;
        client.execute("SELECT pg_advisory_unlock(7405110)", &[]).await.map_err(err)?;
        result
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(pool_err)
    }

    async fn exec(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(err)?;
        let b = binds(params);
        client.execute(&stmt, &refs(&b)).await.map_err(err)
    }

    async fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(err)?;
        let b = binds(params);
        client.query(&stmt, &refs(&b)).await.map_err(err)
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

async fn index_phones(tx: &deadpool_postgres::Transaction<'_>, obj: &ObjectDef, id: &str, entries: &[(String, E164)]) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare_cached("INSERT INTO dt_phone_index (e164, object, record_id, field) VALUES ($1, $2, $3, $4)")
        .await
        .map_err(err)?;
    for (field, e) in entries {
        tx.execute(&stmt, &[&e.as_str(), &obj.name, &id, field]).await.map_err(err)?;
    }
    Ok(())
}

#[async_trait]
impl Store for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn schema(&self) -> &Schema {
        Schema::standard()
    }
    fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    async fn insert(&self, object: &ObjectDef, rows: Vec<Vec<(String, Value)>>, actor: Option<&SalesforceId>) -> Result<Vec<SalesforceId>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        let watch = self.outbox.snapshot(0);
        let ids = insert_in(&tx, object, rows, actor, &self.normalizer, &crate::now_text(), &watch).await?;
        tx.commit().await.map_err(err)?;
        if watch.watches(object) {
            self.outbox.signal.notify_one();
        }
        Ok(ids)
    }

    async fn write_batch(&self, ops: Vec<crate::WriteOp>, actor: Option<&SalesforceId>) -> Result<Vec<Option<SalesforceId>>> {
        self.write_batch_at(ops, actor, 0).await
    }

    fn set_outbox_objects(&self, objects: &[String]) {
        self.outbox.set(objects);
    }

    fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.outbox.signal.clone()
    }

    async fn outbox_pending(&self, limit: u64) -> Result<Vec<OutboxEntry>> {
        let rows = self
            .rows("SELECT seq, object, record_id, op, changes, actor, at, depth FROM dt_outbox ORDER BY seq LIMIT $1", &[Value::Int(limit as i64)])
            .await?;
        Ok(rows
            .iter()
            .map(|r| OutboxEntry {
                seq: r.get(0),
                object: r.get(1),
                record_id: r.get(2),
                op: r.get(3),
                changes: crate::parse_changes(&r.get::<_, String>(4)),
                actor: r.get(5),
                at: r.get(6),
                depth: r.get::<_, i64>(7).clamp(0, u32::MAX as i64) as u32,
            })
            .collect())
    }

    async fn ack_outbox(&self, seqs: &[i64]) -> Result<()> {
        let client = self.client().await?;
        client.execute("DELETE FROM dt_outbox WHERE seq = ANY($1)", &[&seqs]).await.map_err(err)?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> Result<u64> {
        let rows = self.rows("SELECT COUNT(*)::BIGINT FROM dt_outbox", &[]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0).max(0) as u64))
    }

    async fn write_batch_at(&self, ops: Vec<crate::WriteOp>, actor: Option<&SalesforceId>, depth: u32) -> Result<Vec<Option<SalesforceId>>> {
        let ops = crate::resolve_ops(Schema::standard(), ops)?;
        let watch = self.outbox.snapshot(depth);
        let ring = ops.iter().any(|(o, _)| watch.watches(o));
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        let now = crate::now_text();
        let mut out = Vec::with_capacity(ops.len());
        for (obj, op) in ops {
            match crate::unlink(op, &out)? {
                crate::WriteOp::Linked { .. } => return Err(StoreError::Backend("a link inside a link".into())),
                crate::WriteOp::Insert { fields, .. } => out.push(insert_in(&tx, &obj, vec![fields], actor, &self.normalizer, &now, &watch).await?.pop()),
                crate::WriteOp::Update { id, fields, .. } => {
                    update_in(&tx, &obj, &id, fields, actor, &self.normalizer, &now, &watch).await?;
                    out.push(None);
                }
                crate::WriteOp::Expect { id, fields, .. } => {
                    // FOR UPDATE: a second runner waits here, then sees the first one's values.
                    let sql = format!("SELECT 1 FROM {} WHERE {} FOR UPDATE", obj.table(), crate::expect_where(&obj, &fields, "IS NOT DISTINCT FROM", |n| format!("${n}"))?);
                    let mut vals = vec![text(id.as_str())];
                    vals.extend(fields.into_iter().map(|(_, v)| v));
                    let b = binds(&vals);
                    if tx.query_opt(&sql, &refs(&b)).await.map_err(err)?.is_none() {
                        return Err(StoreError::Conflict { object: obj.name.clone(), id: id.to_string() });
                    }
                    out.push(None);
                }
                crate::WriteOp::DeleteAll { .. } => {
                    let t = obj.table();
                    tx.execute(&format!("DELETE FROM dt_phone_index WHERE record_id IN (SELECT \"id\" FROM {t})"), &[]).await.map_err(err)?;
                    tx.execute(&format!("DELETE FROM dt_shares WHERE record_id IN (SELECT \"id\" FROM {t})"), &[]).await.map_err(err)?;
                    tx.execute(&format!("DELETE FROM {t}"), &[]).await.map_err(err)?;
                    out.push(None);
                }
            }
        }
        tx.commit().await.map_err(err)?;
        if ring {
            self.outbox.signal.notify_one();
        }
        Ok(out)
    }

    async fn get(&self, object: &ObjectDef, id: &SalesforceId) -> Result<Option<Record>> {
        let sql = format!("SELECT {} FROM {} WHERE \"id\" = $1", ddl::select_list(object), object.table());
        let rows = self.rows(&sql, &[text(id.as_str())]).await?;
        rows.first().map(|r| record(object, r)).transpose()
    }

    async fn update(&self, object: &ObjectDef, id: &SalesforceId, values: Vec<(String, Value)>, actor: Option<&SalesforceId>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        let watch = self.outbox.snapshot(0);
        update_in(&tx, object, id, values, actor, &self.normalizer, &crate::now_text(), &watch).await?;
        tx.commit().await.map_err(err)?;
        if watch.watches(object) {
            self.outbox.signal.notify_one();
        }
        Ok(())
    }

    async fn delete(&self, object: &ObjectDef, id: &SalesforceId) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(err)?;
        let n = tx.execute(&format!("DELETE FROM {} WHERE \"id\" = $1", object.table()), &[&id.as_str()]).await.map_err(err)?;
        if n == 0 {
            return Err(StoreError::NotFound { object: object.name.clone(), id: id.to_string() });
        }
        tx.execute("DELETE FROM dt_phone_index WHERE record_id = $1", &[&id.as_str()]).await.map_err(err)?;
        tx.execute("DELETE FROM dt_shares WHERE record_id = $1", &[&id.as_str()]).await.map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn query(&self, plan: &Plan, page: Option<Page>) -> Result<Vec<Vec<Value>>> {
        let sql = match page {
            Some(p) => plan.page_sql(p.offset, p.limit),
            None => plan.sql(),
        };
        let rows = self.rows(&sql, &plan.params).await.map_err(|e| StoreError::Query(e.to_string()))?;
        let storages = crate::row_storages(plan);
        rows.iter().map(|row| storages.iter().enumerate().map(|(i, s)| read(row, i, *s)).collect()).collect()
    }

    async fn count(&self, plan: &Plan) -> Result<u64> {
        let rows = self.rows(&plan.count_sql(), &plan.params).await.map_err(|e| StoreError::Query(e.to_string()))?;
        match rows.first().map(|r| read(r, 0, Storage::Int)).transpose()? {
            Some(Value::Int(n)) => Ok(n.max(0) as u64),
            _ => Ok(0),
        }
    }

    async fn phone_lookup(&self, number: &E164) -> Result<Vec<PhoneMatch>> {
        let rows = self
            .rows(
                "SELECT object, record_id, field FROM dt_phone_index WHERE e164 = $1 ORDER BY object, record_id, field",
                &[text(number.as_str())],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(1);
                Ok(PhoneMatch {
                    object: r.get(0),
                    id: SalesforceId::parse(&id).map_err(|e| StoreError::Backend(e.to_string()))?,
                    field: r.get(2),
                })
            })
            .collect()
    }

    async fn find_user_by_username(&self, username: &str) -> Result<Option<Record>> {
        let user = Schema::standard().object("User").expect("standard User");
        let sql = format!("SELECT {} FROM {} WHERE \"username\" = $1", ddl::select_list(user), user.table());
        let rows = self.rows(&sql, &[text(username)]).await?;
        rows.first().map(|r| record(user, r)).transpose()
    }

    async fn put_credential(&self, c: &Credential) -> Result<()> {
        self.exec(
            "INSERT INTO dt_credentials (user_id, password_hash, failed_attempts, locked_until) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, failed_attempts = excluded.failed_attempts, locked_until = excluded.locked_until",
            &[
                text(c.user_id.as_str()),
                text(&c.password_hash),
                Value::Int(c.failed_attempts),
                c.locked_until.as_deref().map_or(Value::Null, text),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn credential(&self, user_id: &SalesforceId) -> Result<Option<Credential>> {
        let rows = self
            .rows("SELECT password_hash, failed_attempts, locked_until FROM dt_credentials WHERE user_id = $1", &[text(user_id.as_str())])
            .await?;
        Ok(rows.first().map(|r| Credential {
            user_id: user_id.clone(),
            password_hash: r.get(0),
            failed_attempts: r.get(1),
            locked_until: r.get(2),
        }))
    }

    async fn put_app(&self, app: &App) -> Result<()> {
        self.exec(
            "INSERT INTO dt_apps (client_id, name, secret_hash) VALUES ($1, $2, $3)",
            &[text(&app.client_id), text(&app.name), text(&app.secret_hash)],
        )
        .await
        .map(|_| ())
    }

    async fn app(&self, client_id: &str) -> Result<Option<App>> {
        let rows = self.rows("SELECT client_id, name, secret_hash FROM dt_apps WHERE client_id = $1", &[text(client_id)]).await?;
        Ok(rows.first().map(|r| App { client_id: r.get(0), name: r.get(1), secret_hash: r.get(2) }))
    }

    async fn put_token(&self, t: &Token) -> Result<()> {
        self.exec(
            "INSERT INTO dt_tokens (token_hash, kind, user_id, client_id, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                text(&t.token_hash),
                text(&t.kind),
                text(t.user_id.as_str()),
                text(&t.client_id),
                text(&t.expires_at),
                Value::Int(t.revoked as i64),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn token(&self, token_hash: &str) -> Result<Option<Token>> {
        let rows = self
            .rows("SELECT token_hash, kind, user_id, client_id, expires_at, revoked FROM dt_tokens WHERE token_hash = $1", &[text(token_hash)])
            .await?;
        rows.first()
            .map(|r| {
                let user: String = r.get(2);
                Ok(Token {
                    token_hash: r.get(0),
                    kind: r.get(1),
                    user_id: SalesforceId::parse(&user).map_err(|e| StoreError::Backend(e.to_string()))?,
                    client_id: r.get(3),
                    expires_at: r.get(4),
                    revoked: r.get::<_, i64>(5) != 0,
                })
            })
            .transpose()
    }

    async fn revoke_token(&self, token_hash: &str) -> Result<()> {
        self.exec("UPDATE dt_tokens SET revoked = 1 WHERE token_hash = $1", &[text(token_hash)]).await.map(|_| ())
    }

    async fn put_share(&self, sh: &Share) -> Result<()> {
        self.exec(
            "INSERT INTO dt_shares (record_id, object, principal, level, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (record_id, principal) DO UPDATE SET level = excluded.level",
            &[
                text(sh.record_id.as_str()),
                text(&sh.object),
                text(&sh.principal),
                Value::Int(sh.level),
                sh.created_by.as_ref().map_or(Value::Null, |c| text(c.as_str())),
                text(&crate::now_text()),
            ],
        )
        .await
        .map(|_| ())
    }

    async fn delete_share(&self, record_id: &SalesforceId, principal: &str) -> Result<()> {
        self.exec("DELETE FROM dt_shares WHERE record_id = $1 AND principal = $2", &[text(record_id.as_str()), text(principal)]).await.map(|_| ())
    }

    async fn shares(&self, record_id: &SalesforceId) -> Result<Vec<Share>> {
        let rows = self
            .rows("SELECT object, principal, level, created_by FROM dt_shares WHERE record_id = $1 ORDER BY principal", &[text(record_id.as_str())])
            .await?;
        Ok(rows
            .iter()
            .map(|r| Share {
                record_id: record_id.clone(),
                object: r.get(0),
                principal: r.get(1),
                level: r.get(2),
                created_by: r.get::<_, Option<String>>(3).and_then(|b| SalesforceId::parse(&b).ok()),
            })
            .collect())
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        let opt = |v: &Option<String>| v.as_deref().map_or(Value::Null, text);
        self.exec(
            "INSERT INTO dt_audit (at, actor, action, target, before_value, after_value, source) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[text(&e.at), text(&e.actor), text(&e.action), text(&e.target), opt(&e.before), opt(&e.after), opt(&e.source)],
        )
        .await
        .map(|_| ())
    }

    async fn audit_trail(&self, limit: u64) -> Result<Vec<AuditEntry>> {
        let rows = self
            .rows("SELECT at, actor, action, target, before_value, after_value, source FROM dt_audit ORDER BY seq DESC LIMIT $1", &[Value::Int(limit as i64)])
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry { at: r.get(0), actor: r.get(1), action: r.get(2), target: r.get(3), before: r.get(4), after: r.get(5), source: r.get(6) })
            .collect())
    }

    async fn field_history(&self, record_id: &SalesforceId) -> Result<Vec<FieldChange>> {
        let rows = self
            .rows("SELECT field, old_value, new_value, actor, at FROM dt_field_history WHERE record_id = $1 ORDER BY seq", &[text(record_id.as_str())])
            .await?;
        Ok(rows.iter().map(|r| FieldChange { field: r.get(0), old: r.get(1), new: r.get(2), actor: r.get(3), at: r.get(4) }).collect())
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        let rows = self.rows("SELECT value FROM dt_settings WHERE key = $1", &[text(key)]).await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    async fn put_setting(&self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO dt_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[text(key), text(value)],
        )
        .await
        .map(|_| ())
    }

    async fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let rows = self.rows("SELECT key, value FROM dt_settings WHERE left(key, char_length($1)) = $1 ORDER BY key", &[text(prefix)]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn migrations(&self) -> Result<Vec<(i64, String)>> {
        let rows = self.rows("SELECT version, name FROM dt_migrations ORDER BY version", &[]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// Inserts rows of one object inside a transaction.
async fn insert_in(
    tx: &deadpool_postgres::Transaction<'_>,
    object: &ObjectDef,
    rows: Vec<Vec<(String, Value)>>,
    actor: Option<&SalesforceId>,
    normalizer: &Normalizer,
    now: &str,
    watch: &Watch,
) -> Result<Vec<SalesforceId>> {
    let n = rows.len() as i64;
    let next: i64 = tx
        .query_one(
            "INSERT INTO dt_sequences (object, next) VALUES ($1, 1 + $2::BIGINT) ON CONFLICT (object) DO UPDATE SET next = dt_sequences.next + $2::BIGINT RETURNING next",
            &[&object.name, &n],
        )
        .await
        .map_err(err)?
        .get(0);
    let first = (next - n) as u64;
    let mut ids = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let (id, values) = crate::complete_row(object, first + i as u64, row, actor, now);
        let columns: Vec<String> = values.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let vals: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
        let stmt = tx.prepare_cached(&ddl::insert_sql(object, &columns, Dialect::Postgres)).await.map_err(err)?;
        let b = binds(&vals);
        tx.execute(&stmt, &refs(&b)).await.map_err(err)?;
        index_phones(tx, object, id.as_str(), &crate::phone_entries(object, normalizer, &values)).await?;
        if watch.watches(object)
            && let Some(changes) = crate::outbox_changes(None, &values)
        {
            outbox_row(tx, object, &id, "created", &changes, actor, now, watch.depth).await?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// Updates one record inside a transaction (field history, phone index).
#[allow(clippy::too_many_arguments)]
async fn update_in(
    tx: &deadpool_postgres::Transaction<'_>,
    object: &ObjectDef,
    id: &SalesforceId,
    values: Vec<(String, Value)>,
    actor: Option<&SalesforceId>,
    normalizer: &Normalizer,
    now: &str,
    watch: &Watch,
) -> Result<()> {
    let values = crate::touch_row(values, actor, now);
    let watched = watch.watches(object);
    let sets: Vec<String> = values.iter().enumerate().map(|(i, (n, _))| format!("\"{}\" = ${}", n.to_ascii_lowercase(), i + 1)).collect();
    let sql = format!("UPDATE {} SET {} WHERE \"id\" = ${}", object.table(), sets.join(", "), values.len() + 1);
    let mut vals: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
    vals.push(text(id.as_str()));
    // Field history: the old values, read (and locked) in the same transaction.
    let fields: Vec<&dialtone_model::Field> = values.iter().filter_map(|(n, _)| object.field(n)).collect();
    let old: Vec<(String, Value)> = if (object.history || watched) && !fields.is_empty() {
        let cols: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.column())).collect();
        let q = format!("SELECT {} FROM {} WHERE \"id\" = $1 FOR UPDATE", cols.join(", "), object.table());
        match tx.query_opt(&q, &[&id.as_str()]).await.map_err(err)? {
            Some(row) => fields.iter().enumerate().map(|(i, f)| Ok((f.name.clone(), read(&row, i, f.ty.storage())?))).collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let stmt = tx.prepare_cached(&sql).await.map_err(err)?;
    let b = binds(&vals);
    let n = tx.execute(&stmt, &refs(&b)).await.map_err(err)?;
    if n == 0 {
        return Err(StoreError::NotFound { object: object.name.clone(), id: id.to_string() });
    }
    let actor_text = actor.map(|a| a.to_string());
    for (field, before, after) in crate::history_rows(object, &old, &values) {
        tx.execute(
            "INSERT INTO dt_field_history (record_id, object, field, old_value, new_value, actor, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&id.as_str(), &object.name, &field, &before, &after, &actor_text, &now],
        )
        .await
        .map_err(err)?;
    }
    if watched && let Some(changes) = crate::outbox_changes(Some(&old), &values) {
        outbox_row(tx, object, id, "updated", &changes, actor, now, watch.depth).await?;
    }
    for (name, _) in values.iter().filter(|(n, _)| object.field(n).is_some_and(|f| f.is_phone())) {
        tx.execute("DELETE FROM dt_phone_index WHERE record_id = $1 AND field = $2", &[&id.as_str(), name]).await.map_err(err)?;
    }
    index_phones(tx, object, id.as_str(), &crate::phone_entries(object, normalizer, &values)).await
}

#[allow(clippy::too_many_arguments)]
async fn outbox_row(
    tx: &deadpool_postgres::Transaction<'_>,
    object: &ObjectDef,
    id: &SalesforceId,
    op: &str,
    changes: &str,
    actor: Option<&SalesforceId>,
    now: &str,
    depth: u32,
) -> Result<()> {
    let stmt = tx
        .prepare_cached("INSERT INTO dt_outbox (object, record_id, op, changes, actor, at, depth) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .await
        .map_err(err)?;
    let actor = actor.map(|a| a.to_string());
    tx.execute(&stmt, &[&object.name, &id.as_str(), &op, &changes, &actor, &now, &(depth as i64)]).await.map_err(err)?;
    Ok(())
}
