//! An in-memory SQLite database laid out as the store lays it out: one table
//! per object, one column per field, and the manual-share table.

// Each test crate uses its own part.
#![allow(dead_code)]

use dialtone_model::{Schema, Storage, Value};
use dialtone_soql::{Plan, SHARES_TABLE};
use rusqlite::Connection;
use rusqlite::types::Value as Sql;

/// Every standard object's table, and `dt_shares` as the store creates it.
pub fn open() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    for o in Schema::standard().objects() {
        let cols: Vec<String> = o
            .fields
            .iter()
            .map(|f| {
                let ty = match f.ty.storage() {
                    Storage::Text => "TEXT",
                    Storage::Int | Storage::Bool => "INTEGER",
                    Storage::Float => "REAL",
                };
                let key = if f.name == "Id" { " PRIMARY KEY" } else { "" };
                format!("\"{}\" {ty}{key}", f.column())
            })
            .collect();
        conn.execute(
            &format!("CREATE TABLE \"{}\" ({})", o.table(), cols.join(", ")),
            [],
        )
        .unwrap();
    }
    conn.execute_batch(&format!(
        "CREATE TABLE {SHARES_TABLE} (record_id TEXT NOT NULL, object TEXT NOT NULL, principal TEXT NOT NULL, \
         level INTEGER NOT NULL, created_by TEXT, created_at TEXT NOT NULL, PRIMARY KEY (record_id, principal));
         CREATE INDEX ix_shares_principal ON {SHARES_TABLE} (principal, level, record_id);"
    ))
    .unwrap();
    conn
}

/// Inserts one record of `object`; fields by API name.
pub fn insert(conn: &Connection, object: &str, values: Vec<(&str, Value)>) {
    let o = Schema::standard().object(object).unwrap();
    let cols: Vec<String> = values
        .iter()
        .map(|(n, _)| format!("\"{}\"", o.field(n).unwrap().column()))
        .collect();
    let marks = vec!["?"; cols.len()].join(", ");
    let sql = format!(
        "INSERT INTO \"{}\" ({}) VALUES ({marks})",
        o.table(),
        cols.join(", ")
    );
    conn.execute(
        &sql,
        rusqlite::params_from_iter(values.into_iter().map(|(_, v)| to_sql(&v))),
    )
    .unwrap();
}

pub fn to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Int(i) => Sql::Integer(*i),
        Value::Float(x) => Sql::Real(*x),
        Value::Text(s) => Sql::Text(s.clone()),
    }
}

/// Runs `sql` with the plan's parameters; reads the visible columns by
/// their storage, the hidden ones as text.
pub fn rows(conn: &Connection, plan: &Plan, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let width = stmt.column_count();
    assert_eq!(width, plan.row_width(), "{sql}");
    let params = rusqlite::params_from_iter(plan.params.iter().map(to_sql));
    let rows = stmt
        .query_map(params, |row| {
            (0..width)
                .map(|i| {
                    let storage = plan.columns.get(i).map_or(Storage::Text, |c| c.storage);
                    Ok(match storage {
                        Storage::Text => row
                            .get::<_, Option<String>>(i)?
                            .map_or(Value::Null, Value::Text),
                        Storage::Int => row
                            .get::<_, Option<i64>>(i)?
                            .map_or(Value::Null, Value::Int),
                        Storage::Float => row
                            .get::<_, Option<f64>>(i)?
                            .map_or(Value::Null, Value::Float),
                        Storage::Bool => row
                            .get::<_, Option<i64>>(i)?
                            .map_or(Value::Null, |b| Value::Bool(b != 0)),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.collect::<Result<Vec<_>, _>>().unwrap()
}

/// The single integer a count query returns.
pub fn count(conn: &Connection, plan: &Plan, sql: &str) -> i64 {
    let params = rusqlite::params_from_iter(plan.params.iter().map(to_sql));
    conn.query_row(sql, params, |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
