//! `dialtone report NAME --from … --to … --format csv|json`: the same
//! reports as `/api/reports` and the dashboard, run as the system over the
//! store (the command line has the database, so it sees every record).

use crate::cli::ReportArgs;
use crate::{Failure, input, open_existing_store};
use dialtone_reports::REPORTS;
use std::collections::HashMap;
use std::process::ExitCode;

pub async fn run(args: ReportArgs) -> Result<ExitCode, Failure> {
    if args.name == "list" {
        for r in REPORTS {
            println!("{:<18} {}", r.name, r.description);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let names: Vec<&str> = REPORTS.iter().map(|r| r.name).collect();
    let report = dialtone_reports::find(&args.name).ok_or_else(|| input(format!("no report named {:?}; the reports are: {}", args.name, names.join(", "))))?;
    let format = args.format.to_ascii_lowercase();
    if format != "csv" && format != "json" {
        return Err(input(format!("--format {:?}: csv or json", args.format)));
    }
    let mut q = HashMap::new();
    for (k, v) in [("from", &args.from), ("to", &args.to), ("queue", &args.queue)] {
        if let Some(v) = v {
            q.insert(k.to_string(), v.clone());
        }
    }
    q.insert("serviceLevelSeconds".into(), args.service_level.to_string());
    q.insert("timeZone".into(), args.time_zone.clone());
    let params = dialtone_server::reports::params(&q, None).map_err(|e| input(e.message))?;
    let store = open_existing_store(&args.store).await?;
    let table = dialtone_server::reports::run(store.as_ref(), None, report, &params).await.map_err(|e| Failure::Runtime(anyhow::anyhow!("{}: {}", e.code, e.message)))?;
    match format.as_str() {
        "csv" => print!("{}", dialtone_reports::render::csv(&table)),
        _ => println!("{}", serde_json::to_string_pretty(&dialtone_reports::render::json(&table)).unwrap_or_default()),
    }
    Ok(ExitCode::SUCCESS)
}
