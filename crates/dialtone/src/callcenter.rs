//! `dialtone callcenter …`: Call Center definition files in and out of the store.

use crate::cli::{CallCenterCommand, XmlFormat};
use crate::{Failure, input, open_existing_store, open_store};
use anyhow::Context;
use dialtone_callcenter::{CallCenterDef, Format};
use dialtone_model::{ObjectDef, RawValue, SalesforceId, Schema, Value};
use dialtone_store::{Record, Store};
use std::path::Path;
use std::process::ExitCode;

fn call_center_object() -> &'static ObjectDef {
    Schema::standard().object("CallCenter").expect("standard CallCenter")
}

/// Reads, parses and validates a definition file; every problem is an input error.
pub fn load_file(path: &Path, importing: bool) -> Result<CallCenterDef, Failure> {
    let bytes = std::fs::read(path).map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("callcenter.xml");
    let def = dialtone_callcenter::parse(&bytes, name).map_err(|e| input(e.to_string()))?;
    let problems = dialtone_callcenter::validate(&def);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        let outcome = if importing { "; nothing was imported" } else { "" };
        return Err(input(format!("{} has {} problem(s){outcome}:\n{}", path.display(), problems.len(), list.join("\n"))));
    }
    Ok(def)
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Legacy => "Legacy",
        Format::Metadata => "Metadata",
    }
}

/// Finds a call center record by its internal name.
pub async fn find(store: &dyn Store, internal_name: &str) -> Result<Option<Record>, Failure> {
    if internal_name.is_empty() || !internal_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(input(format!("{internal_name:?} is not a call center internal name (letters, digits, underscores)")));
    }
    let found = dialtone_server::query::call_center_id(store, internal_name).await;
    let Some(id) = found.map_err(|e| Failure::Runtime(anyhow::anyhow!("looking up the call center: {}", e.message)))? else {
        return Ok(None);
    };
    Ok(store.get(call_center_object(), &id).await.context("reading the call center")?)
}

/// Imports (or replaces) a call center; returns its id and whether it was new.
pub async fn import(store: &dyn Store, def: &CallCenterDef) -> Result<(SalesforceId, bool), Failure> {
    let obj = call_center_object();
    let text = |s: &str| RawValue::Text(s.to_string());
    let raw = vec![
        ("Name".to_string(), text(&def.display_name)),
        ("AdapterUrl".to_string(), def.adapter_url.as_deref().map_or(RawValue::Null, text)),
        ("Version".to_string(), def.version.as_deref().map_or(RawValue::Null, text)),
        ("CustomSettings".to_string(), def.custom_settings.as_deref().map_or(RawValue::Null, text)),
        ("Format".to_string(), text(format_name(def.format))),
        ("Definition".to_string(), text(&dialtone_callcenter::export(def, def.format))),
    ];
    match find(store, &def.internal_name).await? {
        Some(existing) => {
            let id = existing.id().context("stored call center without an id")?;
            let values = obj.check_update(raw, &existing.values).map_err(|e| input(join(&e)))?;
            store.update(obj, &id, values, None).await.context("saving the call center")?;
            Ok((id, false))
        }
        None => {
            let mut raw = raw;
            raw.push(("InternalName".to_string(), text(&def.internal_name)));
            let values = obj.check_create(raw).map_err(|e| input(join(&e)))?;
            let id = store.insert(obj, vec![values], None).await.context("saving the call center")?.remove(0);
            Ok((id, true))
        }
    }
}

fn join(errors: &[dialtone_model::FieldError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// The stored definition, parsed back.
pub fn stored_definition(rec: &Record) -> Result<CallCenterDef, Failure> {
    let internal = rec.get("InternalName").and_then(Value::as_str).unwrap_or("CallCenter");
    let xml = rec.get("Definition").and_then(Value::as_str).context("the call center has no stored definition")?;
    let name = match rec.get("Format").and_then(Value::as_str) {
        Some("Metadata") => format!("{internal}.callCenter"),
        _ => format!("{internal}.xml"),
    };
    dialtone_callcenter::parse(xml.as_bytes(), &name).map_err(|e| Failure::Runtime(anyhow::anyhow!("stored definition: {e}")))
}

async fn user_by_name(store: &dyn Store, username: &str) -> Result<Option<Record>, Failure> {
    Ok(store.find_user_by_username(username).await.context("looking up a user")?)
}

pub async fn run(cmd: CallCenterCommand) -> Result<ExitCode, Failure> {
    match cmd {
        CallCenterCommand::Validate { file } => {
            let def = load_file(&file, false)?;
            let sections: usize = def.sections.len();
            let items: usize = def.sections.iter().map(|s| s.items.len()).sum();
            println!(
                "{}: valid {} call center \"{}\" ({}), {sections} sections, {items} items",
                file.display(),
                format_name(def.format),
                def.display_name,
                def.internal_name
            );
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::Import { file, store } => {
            let def = load_file(&file, true)?;
            let store = open_store(&store).await?;
            let before = find(store.as_ref(), &def.internal_name).await?.and_then(|r| r.get("Definition").and_then(Value::as_str).map(str::to_string));
            let (id, new) = import(store.as_ref(), &def).await?;
            let after = dialtone_callcenter::export(&def, def.format);
            crate::audit(store.as_ref(), "callcenter.import", &def.internal_name, before, Some(after)).await?;
            println!("{} call center \"{}\" ({}) as {id}", if new { "imported" } else { "replaced" }, def.display_name, def.internal_name);
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::Export { name, format, out, store } => {
            let store = open_existing_store(&store).await?;
            let rec = find(store.as_ref(), &name).await?.ok_or_else(|| input(format!("no call center named {name}: see `dialtone callcenter list`")))?;
            let def = stored_definition(&rec)?;
            let format = match format {
                Some(XmlFormat::Legacy) => Format::Legacy,
                Some(XmlFormat::Metadata) => Format::Metadata,
                None => def.format,
            };
            let xml = dialtone_callcenter::export(&def, format);
            match out {
                Some(path) => {
                    std::fs::write(&path, xml).with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{xml}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::Assign { name, user, users, store } => {
            let store = open_existing_store(&store).await?;
            let cc = find(store.as_ref(), &name).await?.ok_or_else(|| input(format!("no call center named {name}: import it first")))?;
            let cc_id = cc.id().context("call center without id")?;
            let usernames: Vec<(usize, String)> = match (user, users) {
                (Some(u), _) => vec![(0, u)],
                (None, Some(path)) => read_usernames(&path)?,
                (None, None) => return Err(input("give --user USERNAME or --users FILE.csv")),
            };
            // Check every row before changing anything: all or nothing.
            let mut found = Vec::new();
            let mut problems = Vec::new();
            for (row, u) in &usernames {
                match user_by_name(store.as_ref(), u).await? {
                    Some(rec) => found.push(rec),
                    None if *row == 0 => problems.push(format!("no user named {u}")),
                    None => problems.push(format!("row {row}: no user named {u}")),
                }
            }
            if !problems.is_empty() {
                return Err(input(format!("nothing was assigned:\n  {}", problems.join("\n  "))));
            }
            let user_obj = Schema::standard().object("User").expect("standard User");
            let mut moved = 0;
            for rec in &found {
                let id = rec.id().context("user without id")?;
                if rec.get("CallCenterId").and_then(Value::as_str).is_some_and(|c| c != cc_id.as_str()) {
                    moved += 1;
                }
                store
                    .update(user_obj, &id, vec![("CallCenterId".into(), Value::Text(cc_id.to_string()))], None)
                    .await
                    .context("assigning a user")?;
            }
            let names: Vec<String> = found.iter().filter_map(|r| r.get("Username").map(|v| v.to_string())).collect();
            crate::audit(store.as_ref(), "callcenter.assign", &name, None, Some(names.join(", "))).await?;
            println!("assigned {} user(s) to {name}{}", found.len(), if moved > 0 { format!(" ({moved} moved from another call center)") } else { String::new() });
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::Settings { name, write_tasks, resolutions, wrap_up_required, headless, local_area_code, panel_label, store } => {
            let store = open_existing_store(&store).await?;
            let cc = find(store.as_ref(), &name).await?.ok_or_else(|| input(format!("no call center named {name}: see `dialtone callcenter list`")))?;
            let id = cc.id().context("call center without id")?;
            let key = dialtone_server::desktop::center_setting(&id);
            let before = store.setting(&key).await.context("reading the settings")?;
            let mut s: dialtone_server::desktop::CenterDesktop = match &before {
                Some(json) => serde_json::from_str(json).context("the stored settings are unreadable")?,
                None => Default::default(),
            };
            let changed = write_tasks.is_some() || resolutions.is_some() || wrap_up_required.is_some() || headless.is_some() || local_area_code.is_some() || panel_label.is_some();
            if let Some(v) = write_tasks {
                s.write_tasks = Some(v);
            }
            if let Some(list) = resolutions {
                s.resolutions = Some(list.split(';').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect());
            }
            if let Some(v) = wrap_up_required {
                s.wrap_up_required = Some(v);
            }
            if let Some(v) = headless {
                s.headless = Some(v);
            }
            if let Some(v) = local_area_code {
                s.local_area_code = Some(v);
            }
            if let Some(v) = panel_label {
                s.panel_label = Some(v);
            }
            s.check().map_err(|e| input(format!("nothing was changed: {e}")))?;
            let json = serde_json::to_string(&s).context("writing the settings")?;
            if changed {
                store.put_setting(&key, &json).await.context("saving the settings")?;
                crate::audit(store.as_ref(), "callcenter.settings", &name, before, Some(json.clone())).await?;
            }
            let shown = serde_json::json!({
                "writeTasks": s.write_tasks.unwrap_or(true),
                "resolutions": s.center_config().resolutions,
                "wrapUpRequired": s.wrap_up_required.unwrap_or(true),
                "headless": s.headless.unwrap_or(false),
                "localAreaCode": s.local_area_code,
                "panelLabel": s.panel_label,
            });
            println!("{}", serde_json::to_string_pretty(&shown).context("printing")?);
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::Layout { name, file, store } => {
            use dialtone_server::desktop::layout;
            let store = open_existing_store(&store).await?;
            let cc = find(store.as_ref(), &name).await?.ok_or_else(|| input(format!("no call center named {name}: see `dialtone callcenter list`")))?;
            let id = cc.id().context("call center without id")?;
            let shown = match file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
                    let new: layout::SoftphoneLayout = serde_json::from_str(&text).map_err(|e| input(format!("{}: not a softphone layout (see docs/DESKTOP.md): {e}; nothing was changed", path.display())))?;
                    new.check().map_err(|e| input(format!("{}: {}; nothing was changed", path.display(), e.message)))?;
                    let after = serde_json::to_string(&new).context("writing the layout")?;
                    let before = store.setting(&layout::setting(&id)).await.context("reading the layout")?;
                    store.put_setting(&layout::setting(&id), &after).await.context("saving the layout")?;
                    crate::audit(store.as_ref(), "callcenter.softphoneLayout", &name, before, Some(after)).await?;
                    new
                }
                None => layout::load(store.as_ref(), Some(&id)).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?,
            };
            println!("{}", serde_json::to_string_pretty(&shown).context("printing the layout")?);
            Ok(ExitCode::SUCCESS)
        }
        CallCenterCommand::List { store } => {
            let store = open_existing_store(&store).await?;
            let plan = dialtone_server::query::compile(store.as_ref(), "SELECT Id, InternalName, Name, Format FROM CallCenter ORDER BY InternalName")
                .map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            let rows = store.query(&plan, None).await.context("listing call centers")?;
            if rows.is_empty() {
                println!("no call centers yet: import one with `dialtone callcenter import FILE.xml`");
            }
            for r in rows {
                let id = r[0].to_string();
                let users = dialtone_server::query::compile(store.as_ref(), &format!("SELECT COUNT() FROM User WHERE CallCenterId = '{id}'"))
                    .map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
                let n = store.count(&users).await.context("counting users")?;
                println!("{:<32} {:<40} {:<9} {n} user(s)", r[1], r[2], r[3]);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The Username column of a CSV (header required); rows numbered as a spreadsheet shows them.
fn read_usernames(path: &Path) -> Result<Vec<(usize, String)>, Failure> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_path(path)
        .map_err(|e| input(format!("cannot read {}: {e}", path.display())))?;
    let headers = rdr.headers().map_err(|e| input(format!("{}: {e}", path.display())))?.clone();
    let col = headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("Username"))
        .ok_or_else(|| input(format!("{}: the header needs a Username column", path.display())))?;
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = rec.map_err(|e| input(format!("{} row {row}: {e}", path.display())))?;
        let u = rec.get(col).unwrap_or("").trim();
        if u.is_empty() {
            return Err(input(format!("{} row {row}: empty Username", path.display())));
        }
        out.push((row, u.to_string()));
    }
    if out.is_empty() {
        return Err(input(format!("{}: no users listed", path.display())));
    }
    Ok(out)
}
