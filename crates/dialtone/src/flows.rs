//! `dialtone flows export|import|validate`: every flow as one YAML or JSON
//! file, through the same checks as `PUT /api/flows/config`.

use crate::cli::FlowsCommand;
use crate::{Failure, input, open_existing_store};
use dialtone_server::flows_admin::{self, Format};
use std::process::ExitCode;

fn read(file: &std::path::Path) -> Result<flows_admin::FlowsFile, Failure> {
    let meta = std::fs::metadata(file).map_err(|e| input(format!("{}: {e}", file.display())))?;
    if meta.len() > flows_admin::MAX_FILE as u64 {
        return Err(input(format!("{}: {} bytes; a flows file is at most {} bytes", file.display(), meta.len(), flows_admin::MAX_FILE)));
    }
    let bytes = std::fs::read(file).map_err(|e| input(format!("{}: {e}", file.display())))?;
    flows_admin::parse_file(&bytes).map_err(|e| input(format!("{}: {}", file.display(), e.message)))
}

fn problems(file: &std::path::Path, e: dialtone_server::error::ApiError) -> Failure {
    if e.code == "INVALID_FLOW_CONFIG" {
        let list: Vec<String> = e.message.split("; ").map(|p| format!("  - {p}")).collect();
        input(format!("{} is not a usable flows file; nothing was written:\n{}", file.display(), list.join("\n")))
    } else {
        Failure::Runtime(anyhow::anyhow!("{}: {}", e.code, e.message))
    }
}

pub async fn run(cmd: FlowsCommand) -> Result<ExitCode, Failure> {
    match cmd {
        FlowsCommand::Export { format, out, store } => {
            let format = Format::parse(&format).ok_or_else(|| input(format!("--format {format:?}: yaml or json")))?;
            let store = open_existing_store(&store).await?;
            let file = flows_admin::export(store.as_ref()).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            let text = flows_admin::render(&file, format).map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            match out {
                Some(path) => std::fs::write(&path, text).map_err(|e| input(format!("{}: {e}", path.display())))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowsCommand::Validate { file, store } => check_or_import(file, true, store).await,
        FlowsCommand::Import { file, dry_run, store } => check_or_import(file, dry_run, store).await,
    }
}

async fn check_or_import(file: std::path::PathBuf, dry_run: bool, store: crate::cli::StoreArgs) -> Result<ExitCode, Failure> {
    let config = read(&file)?;
    let store = open_existing_store(&store).await?;
    let before = flows_admin::export(store.as_ref()).await.ok().and_then(|f| flows_admin::render(&f, Format::Json).ok());
    let done = flows_admin::import(store.as_ref(), &config, dry_run, None).await.map_err(|e| problems(&file, e))?;
    if dry_run {
        println!("{}: {} usable flow(s); nothing was written", file.display(), done.flows);
    } else {
        let after = flows_admin::render(&config, Format::Json).ok();
        crate::audit(store.as_ref(), "flows.import", &file.display().to_string(), before, after).await?;
        println!("{}: imported {} flow(s) (the previous flows were replaced); a running server takes them within seconds", file.display(), done.flows);
    }
    Ok(ExitCode::SUCCESS)
}
