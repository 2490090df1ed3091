//! `dialtone import Object FILE.csv`: Data Loader-style bulk import.
//!
//! The header row names fields by API name. Every row is validated against
//! the schema; good rows are written in batches (one transaction each), bad
//! rows are reported by row number and reason — and, with `--errors`, written
//! to a CSV to fix and import again.

use crate::cli::ImportArgs;
use crate::{Failure, input, open_store};
use anyhow::Context;
use dialtone_model::{RawValue, Schema};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

/// Largest CSV field accepted (a long description is fine; a runaway quote is not).
const MAX_FIELD: usize = 131_072;

struct Refused {
    row: u64,
    reason: String,
    record: Option<csv::StringRecord>,
}

pub async fn run(args: ImportArgs) -> Result<ExitCode, Failure> {
    let schema = Schema::standard();
    let obj = schema
        .object(&args.object)
        .ok_or_else(|| input(format!("no object named {:?}; objects: {}", args.object, names(schema))))?;
    if obj.name == "CallCenter" {
        return Err(input("call centers come from definition files: use `dialtone callcenter import FILE.xml`"));
    }
    let file = std::fs::File::open(&args.file).map_err(|e| input(format!("cannot read {}: {e}", args.file.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
    let headers = rdr.headers().map_err(|e| input(format!("{}: the header row cannot be read: {e}", args.file.display())))?.clone();
    // The header is checked before any row is read: a typo refuses the whole file.
    let mut unknown = Vec::new();
    let mut fields = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match obj.field(h) {
            Some(f) if f.createable => fields.push(f.name.clone()),
            Some(f) => unknown.push(format!("{} is read-only", f.name)),
            None => unknown.push(format!("{h:?} is not a field of {}", obj.name)),
        }
    }
    if !unknown.is_empty() {
        return Err(input(format!("{}: the header row has problems; nothing was imported:\n  {}", args.file.display(), unknown.join("\n  "))));
    }
    let store = open_store(&args.store).await?;
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut batch = Vec::with_capacity(args.batch);
    let mut refused: Vec<Refused> = Vec::new();
    let mut imported: u64 = 0;
    let mut rows: u64 = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let row = rows + 2; // as a spreadsheet numbers it: the header is row 1
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                rows += 1;
                if record.len() != fields.len() {
                    refused.push(Refused { row, reason: format!("{} columns, the header has {}", record.len(), fields.len()), record: Some(record.clone()) });
                } else if let Some(big) = record.iter().position(|v| v.len() > MAX_FIELD) {
                    refused.push(Refused { row, reason: format!("{} is longer than {MAX_FIELD} bytes", fields[big]), record: None });
                } else {
                    let raw: Vec<(String, RawValue)> = fields
                        .iter()
                        .zip(record.iter())
                        .map(|(f, v)| (f.clone(), if v.is_empty() { RawValue::Null } else { RawValue::Text(v.to_string()) }))
                        .collect();
                    match obj.check_create(raw) {
                        Ok(values) => batch.push(values),
                        Err(errs) => refused.push(Refused {
                            row,
                            reason: errs.iter().map(|e| format!("{} ({})", e, e.code)).collect::<Vec<_>>().join("; "),
                            record: Some(record.clone()),
                        }),
                    }
                }
            }
            Err(e) => {
                rows += 1;
                refused.push(Refused { row, reason: format!("not readable CSV: {e}"), record: None });
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
                    break; // the reader cannot resynchronise after an I/O or structural error
                }
            }
        }
        if batch.len() >= args.batch {
            imported += write(store.as_ref(), obj, &mut batch).await?;
            bar.set_position(rdr.position().byte());
            bar.set_message(format!("{imported} imported, {} refused", refused.len()));
        }
    }
    imported += write(store.as_ref(), obj, &mut batch).await?;
    bar.finish_and_clear();
    for r in refused.iter().take(200) {
        eprintln!("row {}: {}", r.row, r.reason);
    }
    if refused.len() > 200 {
        eprintln!("… and {} more refused rows", refused.len() - 200);
    }
    if let Some(path) = &args.errors {
        write_errors(path, &headers, &refused).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("imported {imported} of {rows} {} row(s); {} refused", obj.name, refused.len());
    if refused.is_empty() { Ok(ExitCode::SUCCESS) } else { Ok(ExitCode::from(2)) }
}

async fn write(store: &dyn dialtone_store::Store, obj: &dialtone_model::ObjectDef, batch: &mut Vec<Vec<(String, dialtone_model::Value)>>) -> Result<u64, Failure> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows = std::mem::take(batch);
    let n = rows.len() as u64;
    store.insert(obj, rows, None).await.context("writing a batch of records")?;
    Ok(n)
}

fn write_errors(path: &std::path::Path, headers: &csv::StringRecord, refused: &[Refused]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    let mut h: Vec<&str> = headers.iter().collect();
    h.push("ROW");
    h.push("ERROR");
    w.write_record(&h)?;
    for r in refused {
        let mut rec: Vec<String> = match &r.record {
            Some(rec) => rec.iter().map(str::to_string).collect(),
            None => Vec::new(),
        };
        rec.resize(headers.len(), String::new());
        rec.push(r.row.to_string());
        rec.push(r.reason.clone());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

fn names(schema: &Schema) -> String {
    schema.objects().iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
}
