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
    if headers.is_empty() {
        return Err(input(format!("{}: the file is empty; its first row must name the fields, e.g. FirstName,LastName,Phone", args.file.display())));
    }
    // The header is checked before any row is read: a typo refuses the whole file.
    let mut unknown = Vec::new();
    let mut fields = Vec::with_capacity(headers.len());
    for h in headers.iter() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match obj.field(h) {
            Some(f) if fields.contains(&f.name) => unknown.push(format!("{} appears twice", f.name)),
            Some(f) if f.createable => fields.push(f.name.clone()),
            Some(f) => unknown.push(format!("{} is read-only", f.name)),
            // The ROW and ERROR columns of an --errors file: it can be fixed and imported as it is.
            None if h == "ROW" || h == "ERROR" => fields.push(String::new()),
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
                // A quote left open swallows every later line into this record: refuse it
                // rather than import one record with the rest of the file in a field.
                if rdr.position().byte() >= size && ends_in_open_quote(&args.file, &record) {
                    refused.push(Refused {
                        row,
                        reason: "a quoted field is never closed: it runs from this row to the end of the file; add the closing \"".into(),
                        record: Some(record.clone()),
                    });
                } else if record.len() != fields.len() {
                    refused.push(Refused { row, reason: format!("{} columns, the header has {}", record.len(), fields.len()), record: Some(record.clone()) });
                } else if let Some(big) = record.iter().position(|v| v.len() > MAX_FIELD) {
                    refused.push(Refused { row, reason: format!("{} is longer than {MAX_FIELD} bytes", fields[big]), record: None });
                } else {
                    // An empty cell sets nothing, as in Data Loader: the field's default applies.
                    let raw: Vec<(String, RawValue)> = fields
                        .iter()
                        .zip(record.iter())
                        .filter(|(f, v)| !f.is_empty() && !v.is_empty())
                        .map(|(f, v)| (f.clone(), RawValue::Text(v.to_string())))
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
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => format!(
                        "{} is not UTF-8 text; save the file as UTF-8 (in Excel: CSV UTF-8)",
                        fields.get(err.field()).map_or("a field", String::as_str)
                    ),
                    _ => format!("not readable CSV: {e}"),
                };
                refused.push(Refused { row, reason, record: None });
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

/// Whether the file, read from where `record` starts, ends inside a quoted field (the CSV
/// reader silently ends such a field at the end of the file). Only the last record can.
fn ends_in_open_quote(path: &std::path::Path, record: &csv::StringRecord) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Some(start) = record.position().map(|p| p.byte()) else { return false };
    // Longer than this, a field is over MAX_FIELD and refused for that.
    let limit = 2 * MAX_FIELD as u64 * (record.len() as u64 + 1);
    let mut tail = Vec::new();
    let read = std::fs::File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(start))?;
        f.take(limit).read_to_end(&mut tail)
    });
    if read.is_err() || tail.len() as u64 >= limit {
        return false;
    }
    // The reader's states: at a field's start, in an unquoted field, in a quoted one, or
    // just after a quote inside a quoted field (`""` is a literal quote).
    #[derive(PartialEq)]
    enum S {
        Start,
        Plain,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::Start;
    for &b in &tail {
        s = match (s, b) {
            (S::Quoted, b'"') => S::QuoteInQuoted,
            (S::Quoted, _) => S::Quoted,
            (S::Start, b'"') | (S::QuoteInQuoted, b'"') => S::Quoted,
            (_, b',' | b'\r' | b'\n') => S::Start,
            _ => S::Plain,
        };
    }
    s == S::Quoted
}

fn names(schema: &Schema) -> String {
    schema.objects().iter().map(|o| o.name.as_str()).collect::<Vec<_>>().join(", ")
}
