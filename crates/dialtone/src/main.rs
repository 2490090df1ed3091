//! `dialtone`: one binary for the whole system. `main` is one line into `run`.

mod callcenter;
mod cli;
mod demo;
mod import;
mod remote;
mod report;
mod flows;
mod routing;
mod security;
mod simulate;

use anyhow::Context;
use clap::Parser;
use cli::{AgentCommand, AppCommand, CallsCommand, Cli, Command, CredentialCommand, ListFormat, StoreArgs, TokenCommand, TrunkCommand, UserCommand};
use dialtone_model::{RawValue, Schema};
use dialtone_store::{DynStore, Location};
use std::io::BufRead;
use std::process::ExitCode;

/// A failure and the exit code it earns: 2 for the caller's input, 1 for ours.
#[derive(Debug)]
pub enum Failure {
    Input(anyhow::Error),
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::Runtime(e)
    }
}

/// The master key for carrier credentials: DIALTONE_SECRET_KEY, or the key file in the data directory.
pub fn master_key(args: &StoreArgs) -> Result<dialtone_secrets::MasterKey, Failure> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    dialtone_secrets::MasterKey::from_env_or_file(dialtone_secrets::ENV_VAR, &args.data.join("secret.key")).map_err(|e| input(e.to_string()))
}

/// Records a setup change made from the command line in the audit trail.
pub async fn audit(store: &dyn dialtone_store::Store, action: &str, target: &str, before: Option<String>, after: Option<String>) -> Result<(), Failure> {
    let who = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
    store
        .append_audit(&dialtone_store::AuditEntry {
            at: dialtone_model::format_datetime(time::OffsetDateTime::now_utc()),
            actor: format!("cli:{who}"),
            action: action.to_string(),
            target: target.to_string(),
            before,
            after,
            source: Some("cli".into()),
        })
        .await
        .context("writing the audit trail")?;
    Ok(())
}

pub fn input(msg: impl std::fmt::Display) -> Failure {
    Failure::Input(anyhow::anyhow!("{msg}"))
}

fn main() -> ExitCode {
    run()
}

fn run() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(&cli.command, Command::Serve(_));
    let log_json = matches!(&cli.command, Command::Serve(a) if a.log_json || a.log_format.as_deref() == Some("json"));
    init_logging(serving, log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(Failure::Input(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The server logs its own progress; one-shot commands print only warnings.
fn init_logging(serving: bool, json: bool) {
    let default = if serving { "warn,dialtone=info,dialtone_store=info,dialtone_server=info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DIALTONE_LOG").unwrap_or_else(|_| default.into());
    // Every line passes the masker (phone numbers, people's names), in either format.
    let format = if json { dialtone_server::logging::Format::Json } else { dialtone_server::logging::Format::Text };
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = dialtone_server::logging::subscriber(format, filter, std::io::stderr).try_init();
}

/// Opens a store that must already exist: commands that only read refuse a
/// mistyped `--data` instead of quietly creating an empty store there.
pub async fn open_existing_store(args: &StoreArgs) -> Result<DynStore, Failure> {
    if args.store.is_none() {
        let db = args.data.join("dialtone.db");
        if !db.exists() {
            return Err(input(format!(
                "no Dialtone data in {}: pass the --data directory `dialtone serve` uses (or --store for PostgreSQL)",
                args.data.display()
            )));
        }
    }
    open_store(args).await
}

pub async fn open_store(args: &StoreArgs) -> Result<DynStore, Failure> {
    let location = Location::from_args(args.store.as_deref(), &args.data);
    dialtone_store::open(&location, &args.region).await.map_err(|e| match e {
        dialtone_store::StoreError::Open(m) if m.contains("region") => input(m),
        other => Failure::Runtime(anyhow::Error::new(other).context(match &location {
            Location::Sqlite(p) => format!("opening the store at {}", p.display()),
            Location::Postgres(_) => "opening the PostgreSQL store".to_string(),
        })),
    })
}

async fn dispatch(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::User(UserCommand::Add { username, profile, role, permission_set, first_name, last_name, email, call_center, sip_contact, store: args }) => {
            let password = read_password()?;
            let store = open_store(&args).await?;
            // Check the call center and contact before the user exists: all or nothing.
            let center = match &call_center {
                Some(name) => Some(callcenter::find(store.as_ref(), name).await?.and_then(|r| r.id()).ok_or_else(|| input(format!("no call center named {name}: import it first")))?),
                None => None,
            };
            if let Some(c) = &sip_contact
                && dialtone_server::sipedge::contact_peer(c).is_none() {
                    return Err(input(format!("--sip-contact {c:?} is not a SIP URI with an IP address, e.g. sip:ada@192.0.2.10:5060")));
                }
            let key = if center.is_some() { Some(master_key(&args)?) } else { None };
            let access = NewUserAccess { profile: &profile, role: role.as_deref(), permission_sets: &permission_set };
            let id = add_user(store.as_ref(), &username, &access, first_name, last_name, email, &password).await?;
            if let (Some(cc), Some(key)) = (&center, &key) {
                let user_obj = Schema::standard().object("User").expect("standard User");
                store.update(user_obj, &id, vec![("CallCenterId".into(), dialtone_model::Value::Text(cc.to_string()))], None).await.context("assigning the call center")?;
                let name = dialtone_server::sipedge::ha1_credential(&username);
                let ha1 = dialtone_sip::digest::ha1(&username, dialtone_sip::REALM, &password);
                store.put_setting(&format!("credential:{name}"), &dialtone_secrets::seal(key, &name, ha1.as_bytes())).await.context("saving the phone credential")?;
                dialtone_server::sipedge::set_sip_contact(store.as_ref(), &username, sip_contact.as_deref()).await.map_err(api_failure)?;
            }
            audit(store.as_ref(), "user.add", &username, None, Some(format!("profile={profile} role={} call_center={}", role.as_deref().unwrap_or(""), call_center.as_deref().unwrap_or("")))).await?;
            println!("added user {username} ({id}) with profile \"{profile}\"{}", call_center.map(|c| format!(" in call center {c}")).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent(AgentCommand::Status { username, status, remote, store }) => {
            let presence = dialtone_routing::Presence::parse(&status).ok_or_else(|| input(format!("{status:?} is not a status: Available, Busy, Away or Offline")))?;
            if let (Some(server), Some(token)) = (&remote.server, &remote.token) {
                remote_presence(server, token, remote.insecure, &username, presence).await?;
            } else {
                let store = open_existing_store(&store).await?;
                let user = store.find_user_by_username(&username).await.context("looking up the user")?.ok_or_else(|| input(format!("no user named {username}")))?;
                if user.get("CallCenterId").and_then(dialtone_model::Value::as_str).is_none() {
                    return Err(input(format!("{username} belongs to no call center: `dialtone callcenter assign NAME --user {username}` first")));
                }
                dialtone_server::sipedge::set_presence(store.as_ref(), &username, presence, time::OffsetDateTime::now_utc()).await.map_err(api_failure)?;
                audit(store.as_ref(), "agent.status", &username, None, Some(presence.as_str().to_string())).await?;
            }
            println!("{username} is {}", presence.as_str());
            Ok(ExitCode::SUCCESS)
        }
        Command::Agent(AgentCommand::Contact { username, contact, clear: _, store }) => {
            if let Some(c) = &contact
                && dialtone_server::sipedge::contact_peer(c).is_none()
            {
                return Err(input(format!("{c:?} is not a SIP URI with an IP address, e.g. sip:ada@192.0.2.10:5060")));
            }
            let store = open_existing_store(&store).await?;
            let user = store.find_user_by_username(&username).await.context("looking up the user")?.ok_or_else(|| input(format!("no user named {username}")))?;
            if user.get("CallCenterId").and_then(dialtone_model::Value::as_str).is_none() {
                return Err(input(format!("{username} belongs to no call center: `dialtone callcenter assign NAME --user {username}` first")));
            }
            dialtone_server::sipedge::set_sip_contact(store.as_ref(), &username, contact.as_deref()).await.map_err(api_failure)?;
            audit(store.as_ref(), "agent.contact", &username, None, contact.clone()).await?;
            match contact {
                Some(c) => println!("{username}'s phone is {c}"),
                None => println!("{username} has no static SIP contact"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Security(cmd) => security::run(cmd).await,
        Command::Calls(CallsCommand::List { since, format, remote, store }) => {
            let window = parse_window(&since).ok_or_else(|| input(format!("--since {since:?} is not a time window like 90s, 10m, 24h or 7d")))?;
            let from = dialtone_model::format_datetime(time::OffsetDateTime::now_utc() - window).replace("+0000", "Z");
            let soql = format!(
                "SELECT Id, VendorCallKey, CallType, CallDisposition, FromPhoneNumber, ToPhoneNumber, QueueName, OwnerId, CallStartDateTime, CallDurationInSeconds, DisconnectReason FROM VoiceCall WHERE CallStartDateTime >= {from} ORDER BY CallStartDateTime DESC"
            );
            let records = if let (Some(server), Some(token)) = (remote.server, remote.token) {
                let api = remote::Api::new(&server, &token, remote.insecure)?;
                tokio::task::spawn_blocking(move || api.query(&soql)).await.map_err(|e| Failure::Runtime(anyhow::anyhow!("listing calls: {e}")))??
            } else {
                let store = open_existing_store(&store).await?;
                let plan = dialtone_server::query::compile(store.as_ref(), &soql).map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
                let rows = store.query(&plan, None).await.context("listing calls")?;
                rows.iter()
                    .map(|r| {
                        let mut m = serde_json::Map::new();
                        let id = r[0].to_string();
                        m.insert("attributes".into(), serde_json::json!({"type": "VoiceCall", "url": dialtone_server::wire::sobject_url(&format!("v{}", dialtone_server::rest::API_VERSION), "VoiceCall", &id)}));
                        for (c, v) in plan.columns.iter().zip(r) {
                            m.insert(c.path.join("."), dialtone_server::wire::value_to_json(v));
                        }
                        serde_json::Value::Object(m)
                    })
                    .collect()
            };
            match format {
                ListFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&serde_json::json!({"totalSize": records.len(), "done": true, "records": records})).context("writing JSON")?);
                }
                ListFormat::Table => {
                    let cell = |r: &serde_json::Value, f: &str| match &r[f] {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    for r in &records {
                        println!(
                            "{}  {:<10} {:<12} {:<18} {:>5}s  {}",
                            cell(r, "CallStartDateTime"),
                            cell(r, "CallType"),
                            cell(r, "CallDisposition"),
                            cell(r, "FromPhoneNumber"),
                            cell(r, "CallDurationInSeconds"),
                            cell(r, "VendorCallKey")
                        );
                    }
                    eprintln!("{} call(s) since {since} ago", records.len());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Trunk(TrunkCommand::Add { name, provider, match_ip, outbound, queue_timeout, overflow, max_cps, account_sid, public_url, call_center, store }) => {
            let valid_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
            if !valid_name {
                return Err(input(format!("{name:?} is not a trunk name (letters, digits, _ -)")));
            }
            if provider == "sip" {
                let match_ip = match_ip.ok_or_else(|| input("--provider sip needs --match-ip ADDRESS"))?;
                if dialtone_server::sipedge::parse_overflow(&overflow).is_none() {
                    return Err(input(format!("--overflow {overflow:?} is not reject, voicemail:sip:… or forward:sip:…")));
                }
                let db = open_store(&store).await?;
                if callcenter::find(db.as_ref(), &call_center).await?.is_none() {
                    return Err(input(format!("no call center named {call_center}: import it first")));
                }
                let trunk = dialtone_server::sipedge::SipTrunk { name: name.clone(), match_ip, call_center, queue_timeout_secs: queue_timeout, overflow, outbound, max_cps };
                let json = serde_json::to_string(&trunk).context("writing the trunk")?;
                db.put_setting(&dialtone_server::sipedge::trunk_setting(&name), &json).await.context("saving the trunk")?;
                audit(db.as_ref(), "trunk.add", &name, None, Some(json)).await?;
                println!("SIP trunk {name}: INVITEs from {match_ip} go to call center {} (wait {queue_timeout}s, then {})", trunk.call_center, trunk.overflow);
                return Ok(ExitCode::SUCCESS);
            }
            let (Some(account_sid), Some(public_url)) = (account_sid, public_url) else {
                return Err(input("--provider twilio needs --account-sid and --public-url"));
            };
            if !(account_sid.starts_with("AC") && account_sid.len() == 34 && account_sid.chars().all(|c| c.is_ascii_alphanumeric())) {
                return Err(input(format!("{account_sid:?} is not a Twilio account SID (AC followed by 32 characters)")));
            }
            if !(public_url.starts_with("https://") || public_url.starts_with("http://")) {
                return Err(input("--public-url is the base URL Twilio calls, e.g. https://cti.example.com"));
            }
            let mut token = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut token).context("reading the auth token from standard input")?;
            let token = dialtone_secrets::Secret::new(token.trim().to_string());
            if token.is_empty() {
                return Err(input("the auth token (read from standard input) is empty"));
            }
            let key = master_key(&store)?;
            let db = open_store(&store).await?;
            if callcenter::find(db.as_ref(), &call_center).await?.is_none() {
                return Err(input(format!("no call center named {call_center}: import it first")));
            }
            let cred = dialtone_server::twilio::credential_name(&name);
            db.put_setting(&format!("credential:{cred}"), &dialtone_secrets::seal(&key, &cred, token.expose().as_bytes())).await.context("saving the auth token")?;
            let trunk = dialtone_server::twilio::TwilioTrunk { name: name.clone(), account_sid: account_sid.clone(), public_url, call_center };
            let json = serde_json::to_string(&trunk).context("writing the trunk")?;
            db.put_setting(&dialtone_server::twilio::trunk_setting(&account_sid), &json).await.context("saving the trunk")?;
            audit(db.as_ref(), "trunk.add", &name, None, Some(json)).await?;
            println!("connected Twilio account {account_sid} as trunk {name} (auth token encrypted with key {})", key.fingerprint());
            Ok(ExitCode::SUCCESS)
        }
        Command::Credential(CredentialCommand::Set { name, store }) => {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                return Err(input(format!("{name:?} is not a credential name (letters, digits, . _ -), e.g. twilio.auth_token")));
            }
            let mut value = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut value).context("reading the credential from standard input")?;
            let value = dialtone_secrets::Secret::new(value.trim_end_matches(['\n', '\r']).to_string());
            if value.is_empty() {
                return Err(input("the credential (read from standard input) is empty"));
            }
            let key = master_key(&store)?;
            let db = open_store(&store).await?;
            let sealed = dialtone_secrets::seal(&key, &name, value.expose().as_bytes());
            db.put_setting(&format!("credential:{name}"), &sealed).await.context("saving the credential")?;
            let mut names: Vec<String> = db.setting("credential_names").await.context("reading settings")?.map(|n| n.split(',').map(str::to_string).collect()).unwrap_or_default();
            if !names.contains(&name) {
                names.push(name.clone());
                names.sort();
                db.put_setting("credential_names", &names.join(",")).await.context("saving settings")?;
            }
            audit(db.as_ref(), "credential.set", &name, None, Some(format!("sealed with key {}", key.fingerprint()))).await?;
            println!("stored {name} (encrypted with key {})", key.fingerprint());
            Ok(ExitCode::SUCCESS)
        }
        Command::Credential(CredentialCommand::List { store }) => {
            let db = open_existing_store(&store).await?;
            let names = db.setting("credential_names").await.context("reading settings")?.unwrap_or_default();
            for name in names.split(',').filter(|n| !n.is_empty()) {
                let sealed = db.setting(&format!("credential:{name}")).await.context("reading settings")?.unwrap_or_default();
                println!("{name:<32} sealed with key {}", dialtone_secrets::sealed_fingerprint(&sealed).unwrap_or("?"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Create { username, label, store }) => {
            let store = open_existing_store(&store).await?;
            let user = store.find_user_by_username(&username).await.context("looking up the user")?.ok_or_else(|| input(format!("no user named {username}")))?;
            let id = user.id().context("user without id")?;
            let token = dialtone_server::auth::issue_api_token(store.as_ref(), &id, &label).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            audit(store.as_ref(), "token.create", &username, None, Some(label)).await?;
            println!("{token}");
            eprintln!("Shown once. Use it as `Authorization: Bearer …`; revoke with `dialtone token revoke`.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(TokenCommand::Revoke { store }) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the token from standard input")?;
            let token = line.trim();
            let store = open_existing_store(&store).await?;
            let hash = dialtone_server::auth::sha256_hex(token);
            let Some(t) = store.token(&hash).await.context("looking up the token")? else {
                return Err(input("no such token"));
            };
            store.revoke_token(&hash).await.context("revoking")?;
            audit(store.as_ref(), "token.revoke", t.user_id.as_str(), None, Some(t.client_id)).await?;
            println!("revoked");
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention { dry_run, store } => {
            let store = open_existing_store(&store).await?;
            let report = dialtone_server::governance::apply_retention(store.as_ref(), time::OffsetDateTime::now_utc(), dry_run)
                .await
                .map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            for (cc, rec, call) in &report.removed {
                println!("{cc:<24} recording {rec} of call {call}");
            }
            println!("{} {} recording reference(s)", if dry_run { "would remove" } else { "removed" }, report.removed.len());
            Ok(ExitCode::SUCCESS)
        }
        Command::Erase { phone, email, dry_run, receipt, store } => {
            let store = open_existing_store(&store).await?;
            let subject = match (phone, email) {
                (Some(p), _) => dialtone_server::governance::Subject::Phone(p),
                (None, Some(e)) => dialtone_server::governance::Subject::Email(e),
                (None, None) => return Err(input("give --phone or --email")),
            };
            let r = dialtone_server::governance::erase(store.as_ref(), &subject, dry_run).await.map_err(|e| match e.status.as_u16() {
                400..=499 => input(e.message),
                _ => Failure::Runtime(anyhow::anyhow!(e.message)),
            })?;
            let json = serde_json::to_string_pretty(&r.to_json()).context("writing the receipt")?;
            if let Some(path) = receipt.filter(|_| !dry_run) {
                std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
            }
            println!("{json}");
            eprintln!(
                "{}: {} record(s), {} call(s) scrubbed, {} recording(s)",
                if dry_run { "would erase" } else { "erased" },
                r.deleted.len(),
                r.calls_scrubbed.len(),
                r.recordings_removed.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit { limit, store } => {
            let store = open_existing_store(&store).await?;
            for e in store.audit_trail(limit).await.context("reading the audit trail")? {
                println!("{}  {:<18} {:<22} {:<28} {}", e.at, e.actor, e.action, e.target, e.source.unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::App(AppCommand::Add { name, store }) => {
            let store = open_store(&store).await?;
            let (id, secret) = dialtone_server::auth::register_app(store.as_ref(), &name).await.context("registering the app")?;
            audit(store.as_ref(), "app.add", &name, None, Some(format!("client_id={id}"))).await?;
            println!("client_id={id}");
            println!("client_secret={secret}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Callcenter(cmd) => callcenter::run(cmd).await,
        Command::Routing(cmd) => routing::run(cmd).await,
        Command::Report(args) => report::run(args).await,
        Command::Flows(cmd) => flows::run(cmd).await,
        Command::Import(args) => import::run(args).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Query { soql, store } => {
            let store = open_existing_store(&store).await?;
            let plan = dialtone_server::query::compile(store.as_ref(), &soql).map_err(|e| input(format!("{}: {}", e.code, e.message)))?;
            let total = store.count(&plan).await.context("counting")?;
            if plan.kind != dialtone_soql::PlanKind::CountOnly {
                for row in store.query(&plan, None).await.context("running the query")? {
                    let mut m = serde_json::Map::new();
                    for (c, v) in plan.columns.iter().zip(&row) {
                        m.insert(c.path.join("."), dialtone_server::wire::value_to_json(v));
                    }
                    println!("{}", serde_json::Value::Object(m));
                }
            }
            eprintln!("totalSize: {total}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lookup { number, store } => {
            let store = open_existing_store(&store).await?;
            let Some(e164) = store.normalizer().normalize(&number) else {
                return Err(input(format!("{number:?} is not a phone number")));
            };
            let found = dialtone_server::query::lookup(store.as_ref(), &number).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
            println!("{e164}: {} match(es)", found.len());
            for (m, rec) in found {
                let name = rec.get("Name").map(|v| v.to_string()).unwrap_or_default();
                println!("  {:<10} {}  {:<28} ({})", m.object, m.id, name, m.field);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// "90s", "10m", "24h", "7d" as a duration.
fn parse_window(s: &str) -> Option<time::Duration> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = n.parse().ok().filter(|n| *n > 0 && *n <= 10_000_000)?;
    Some(match unit {
        "s" => time::Duration::seconds(n),
        "m" => time::Duration::minutes(n),
        "h" => time::Duration::hours(n),
        "d" => time::Duration::days(n),
        _ => return None,
    })
}

fn read_password() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 8 {
        return Err(input("the password (read from standard input) must have at least 8 characters"));
    }
    Ok(password)
}

/// A new user's place in the access model.
pub struct NewUserAccess<'a> {
    pub profile: &'a str,
    pub role: Option<&'a str>,
    pub permission_sets: &'a [String],
}

/// Creates a User record and its password, after checking the profile, role
/// and permission sets exist in the org's security configuration.
fn api_failure(e: dialtone_server::error::ApiError) -> Failure {
    Failure::Runtime(anyhow::anyhow!("{}: {}", e.code, e.message))
}

/// `agent status --server`: sets presence through a running server's API.
async fn remote_presence(server: &str, token: &str, insecure: bool, username: &str, presence: dialtone_routing::Presence) -> Result<(), Failure> {
    let api = remote::Api::new(server, token, insecure)?;
    let path = format!("/api/agents/{}/presence", remote::segment(username));
    let body = serde_json::json!({"status": presence.as_str()});
    tokio::task::spawn_blocking(move || api.put("setting the presence", &path, &body))
        .await
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("setting the presence: {e}")))??;
    Ok(())
}

pub async fn add_user(
    store: &dyn dialtone_store::Store,
    username: &str,
    access: &NewUserAccess<'_>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    password: &str,
) -> Result<dialtone_model::SalesforceId, Failure> {
    if store.find_user_by_username(username).await.context("looking up the user")?.is_some() {
        return Err(input(format!("a user named {username} already exists")));
    }
    let email = email.or_else(|| username.contains('@').then(|| username.to_string()));
    let Some(email) = email else {
        return Err(input(format!("{username} is not an email address: give --email")));
    };
    let last = last_name.unwrap_or_else(|| username.split('@').next().unwrap_or(username).to_string());
    let alias: String = last.chars().filter(|c| c.is_alphanumeric()).take(8).collect();
    let security = dialtone_server::security::load(store).await.map_err(|e| Failure::Runtime(anyhow::anyhow!("reading the security configuration: {e}")))?;
    let profile = match security.set(access.profile) {
        Some(p) if p.is_profile => p.name.clone(),
        _ => {
            let profiles: Vec<&str> = security.permission_sets.iter().filter(|p| p.is_profile).map(|p| p.name.as_str()).collect();
            return Err(input(format!("no profile named {:?}; profiles: {}", access.profile, profiles.join(", "))));
        }
    };
    if let Some(r) = access.role
        && !security.roles.iter().any(|x| x.name == r) {
            return Err(input(format!("no role named {r:?}: define it in the security configuration (`dialtone security export`)")));
        }
    for p in access.permission_sets {
        if security.set(p).is_none_or(|x| x.is_profile) {
            return Err(input(format!("no permission set named {p:?}")));
        }
    }
    let mut raw = vec![
        ("Username".to_string(), RawValue::Text(username.to_string())),
        ("LastName".to_string(), RawValue::Text(last)),
        ("Email".to_string(), RawValue::Text(email)),
        ("ProfileName".to_string(), RawValue::Text(profile)),
        ("Alias".to_string(), RawValue::Text(alias)),
    ];
    if let Some(r) = access.role {
        raw.push(("RoleName".to_string(), RawValue::Text(r.to_string())));
    }
    if !access.permission_sets.is_empty() {
        raw.push(("PermissionSetNames".to_string(), RawValue::Text(access.permission_sets.join(";"))));
    }
    if let Some(f) = first_name {
        raw.push(("FirstName".to_string(), RawValue::Text(f)));
    }
    let user = Schema::standard().object("User").expect("standard User");
    let values = user
        .check_create(raw)
        .map_err(|errs| input(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")))?;
    let id = store.insert(user, vec![values], None).await.context("saving the user")?.remove(0);
    dialtone_server::auth::set_password(store, &id, password).await.map_err(|e| Failure::Runtime(anyhow::anyhow!(e.message)))?;
    Ok(id)
}

async fn serve(args: cli::ServeArgs) -> Result<ExitCode, Failure> {
    let http: std::net::SocketAddr =
        args.http.parse().map_err(|_| input(format!("--http {:?} is not an address like 127.0.0.1:8080", args.http)))?;
    let https = match &args.https {
        None => None,
        Some(a) => {
            let addr: std::net::SocketAddr = a.parse().map_err(|_| input(format!("--https {a:?} is not an address like 127.0.0.1:8443")))?;
            let (cert, key) = if args.tls_self_signed {
                let dir = args.store.data.join("tls");
                let (c, k) = dialtone_server::self_signed(&dir).context("writing the self-signed certificate")?;
                println!("TLS certificate (self-signed, for localhost and 127.0.0.1): {}", c.display());
                (c, k)
            } else {
                match (&args.tls_cert, &args.tls_key) {
                    (Some(c), Some(k)) => (c.clone(), k.clone()),
                    _ => return Err(input("--https needs --tls-cert and --tls-key, or --tls-self-signed")),
                }
            };
            Some((addr, cert, key))
        }
    };
    let sip: Option<std::net::SocketAddr> = match &args.sip {
        None => None,
        Some(a) => Some(a.parse().map_err(|_| input(format!("--sip {a:?} is not an address like 127.0.0.1:5060")))?),
    };
    let age = |flag: &str, value: &str| parse_window(value).ok_or_else(|| input(format!("{flag} {value:?} is not a time like 90s, 10m, 4h or 1d")));
    let timers = dialtone_calls::Config {
        max_call_age: age("--max-call-age", &args.max_call_age)?,
        ring_timeout: age("--ring-timeout", &args.ring_timeout)?,
        ..dialtone_server::calldesk::CallDesk::default_config()
    };
    let store = open_store(&args.store).await?;
    let mut state = dialtone_server::AppState::with_calls(store.clone(), timers).await.context("loading org settings")?;
    state.master_key = Some(std::sync::Arc::new(master_key(&args.store)?));
    if args.demo {
        demo::load(store.as_ref(), &format!("http://{http}")).await?;
    }
    let closed = dialtone_server::calldesk::close_orphans(store.as_ref(), time::OffsetDateTime::now_utc()).await.map_err(api_failure)?;
    if closed > 0 {
        println!("  closed {closed} call(s) left open by the previous run (DisconnectReason Reaped)");
    }
    dialtone_server::calldesk::spawn_reaper(state.clone());
    // Flows: the outbox is watched from here on; the runner starts.
    dialtone_server::flows::start(&state).await;
    let (_stop_sip, sip_stop) = tokio::sync::watch::channel(false);
    let sip_edge = match sip {
        Some(addr) => Some(dialtone_server::sipedge::start(state.clone(), addr, sip_stop).await.with_context(|| format!("starting the SIP edge on {addr}"))?),
        None => None,
    };
    println!("Dialtone {} is running.", env!("CARGO_PKG_VERSION"));
    match &args.store.store {
        Some(_) => println!("  store:  PostgreSQL"),
        None => println!("  store:  {}", args.store.data.join("dialtone.db").display()),
    }
    println!("  REST:   http://{http}/services/data/v{}", dialtone_server::rest::API_VERSION);
    if let Some((a, ..)) = &https {
        println!("  HTTPS:  https://{a}/services/data/v{}", dialtone_server::rest::API_VERSION);
    }
    if let Some(edge) = &sip_edge {
        println!("  SIP:    {} (UDP and TCP)", edge.local);
    }
    println!("  console: http://{http}/console   (agents and supervisors sign in here)");
    println!("  health: http://{http}/health");
    println!("Press Ctrl-C to stop.");
    // Retention runs at start and then hourly.
    let retention_store = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match dialtone_server::governance::apply_retention(retention_store.as_ref(), time::OffsetDateTime::now_utc(), false).await {
                Ok(r) if !r.removed.is_empty() => tracing::info!(removed = r.removed.len(), "retention removed recording references"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.message, "retention run failed"),
            }
        }
    });
    dialtone_server::serve(state, dialtone_server::Listeners { http: Some(http), https })
        .await
        .with_context(|| format!("serving on {http}"))?;
    Ok(ExitCode::SUCCESS)
}
