//! A report's table as CSV (a header of column labels, then the rows, as a
//! spreadsheet opens it) or JSON (the whole [`Table`], SOQL included).

use crate::Table;
use dialtone_model::Value;

/// CSV with a header row of column labels. Numbers are written plainly,
/// empty cells for no value.
pub fn csv(t: &Table) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(t.columns.iter().map(|c| c.label.as_str()));
    for row in &t.rows {
        let _ = w.write_record(row.iter().map(cell));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// One cell as text.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f}"),
        Value::Text(s) => guard_formula(s),
    }
}

/// A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`)
/// gets a leading `'` (CSV injection). Numbers never come as text here.
fn guard_formula(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// The table as JSON.
pub fn json(t: &Table) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = t.rows.iter().map(|r| serde_json::Value::Array(r.iter().map(value).collect())).collect();
    let mut j = serde_json::to_value(t).unwrap_or_default();
    j["rows"] = serde_json::Value::Array(rows);
    j
}

fn value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Text(s) => s.clone().into(),
    }
}
