//! `dialtone security export|import`: the org's access configuration as a file.

use crate::cli::SecurityCommand;
use crate::{Failure, input, open_existing_store, open_store};
use anyhow::Context;
use dialtone_server::security::{self, SecurityFile};
use std::collections::HashMap;
use std::process::ExitCode;

pub async fn run(cmd: SecurityCommand) -> Result<ExitCode, Failure> {
    match cmd {
        SecurityCommand::Export { store } => {
            let store = open_existing_store(&store).await?;
            let model = security::load(store.as_ref()).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e)))?;
            let (_, names) = security::directory(store.as_ref()).await.context("reading users")?;
            let file = SecurityFile::from_model(&model, &names);
            println!("{}", serde_json::to_string_pretty(&file).context("writing JSON")?);
            Ok(ExitCode::SUCCESS)
        }
        SecurityCommand::Import { file, store } => {
            let text = std::fs::read_to_string(&file).map_err(|e| input(format!("cannot read {}: {e}", file.display())))?;
            let parsed = SecurityFile::parse(&text).map_err(|e| input(format!("{}: {e}", file.display())))?;
            let store = open_store(&store).await?;
            let (_, names) = security::directory(store.as_ref()).await.context("reading users")?;
            let by_name: HashMap<String, String> = names.iter().map(|(id, n)| (n.to_ascii_lowercase(), id.clone())).collect();
            let model = parsed.to_model(store.schema(), &by_name).map_err(|e| input(format!("{}: {e}; nothing was changed", file.display())))?;
            // Users must keep a profile that exists.
            let (users, names) = security::directory(store.as_ref()).await.context("reading users")?;
            let orphans: Vec<String> = users
                .iter()
                .filter(|u| model.set(&u.profile).is_none_or(|p| !p.is_profile))
                .map(|u| format!("{} (profile {:?})", names.get(&u.id).cloned().unwrap_or_default(), u.profile))
                .collect();
            if !orphans.is_empty() {
                return Err(input(format!("{}: these users' profiles would no longer exist; nothing was changed:\n  {}", file.display(), orphans.join("\n  "))));
            }
            let canonical = serde_json::to_string(&SecurityFile::from_model(&model, &names)).context("writing JSON")?;
            let before = store.setting(security::SETTING).await.context("reading the configuration")?;
            store.put_setting(security::SETTING, &canonical).await.context("saving the configuration")?;
            crate::audit(store.as_ref(), "security.import", &file.display().to_string(), before, Some(canonical)).await?;
            println!(
                "imported {} permission sets ({} profiles), {} roles, {} groups, {} sharing rules",
                model.permission_sets.len(),
                model.permission_sets.iter().filter(|p| p.is_profile).count(),
                model.roles.len(),
                model.groups.len(),
                model.rules.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
