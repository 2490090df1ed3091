//! The command line: what each command takes, with an example in its help.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "dialtone",
    version,
    about = "Dialtone: the phone system and the CRM records of a contact centre, in one program.",
    long_about = "Dialtone: the phone system and the CRM records of a contact centre, in one program.\n\n\
Every call is a VoiceCall record in Dialtone's own store from its first signalling event. \
Existing Salesforce clients (simple-salesforce, jsforce, Data Loader-style tools) work against its REST API.\n\n\
Start here:\n  dialtone serve --demo          run with a demo org and print how to sign in\n  dialtone serve --help          every server option",
    after_help = "Examples:\n  dialtone serve --demo\n  dialtone callcenter import DemoAdapter.xml\n  dialtone import Contact contacts.csv --errors refused.csv\n\n\
Exit codes: 0 success, 1 runtime failure, 2 bad input or usage."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Data directory (the SQLite store, TLS certificates).
    #[arg(long, default_value = "./dialtone-data", env = "DIALTONE_DATA")]
    pub data: PathBuf,
    /// Use PostgreSQL instead of the embedded store, e.g. postgres://dialtone@127.0.0.1:5432/dialtone
    #[arg(long, env = "DIALTONE_STORE")]
    pub store: Option<String>,
    /// Country for numbers written without a country code (ISO code: US, GB, DE, …).
    #[arg(long, default_value = "US", env = "DIALTONE_REGION")]
    pub region: String,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run Dialtone: the REST API (and, later, telephony edges and the console).
    #[command(after_help = "Examples:\n  dialtone serve --demo\n  dialtone serve --http 0.0.0.0:8080 --https 0.0.0.0:8443 --tls-self-signed\n  dialtone serve --store postgres://dialtone@127.0.0.1:5432/dialtone")]
    Serve(ServeArgs),
    /// Manage users (agents, supervisors, administrators).
    #[command(subcommand, after_help = "Example:\n  echo 'a long secret' | dialtone user add ada@example.com --profile \"System Administrator\"")]
    User(UserCommand),
    /// Register connected apps (OAuth clients) for API access.
    #[command(subcommand, after_help = "Example:\n  dialtone app add \"Data Loader\"")]
    App(AppCommand),
    /// Call Center definition files: import, validate, export, assign users.
    #[command(subcommand, after_help = "Examples:\n  dialtone callcenter import DemoAdapter.xml\n  dialtone callcenter assign DemoAdapter --users users.csv")]
    Callcenter(CallCenterCommand),
    /// Who may see and do what: profiles, permission sets, roles, sharing.
    #[command(subcommand)]
    Security(SecurityCommand),
    /// Routing: queues, skills, presence statuses, business hours, agents' capacity, entry rules — as one YAML or JSON file.
    #[command(
        subcommand,
        after_help = "Examples:\n  dialtone routing export --format yaml > routing.yaml\n  dialtone routing validate routing.yaml\n  dialtone routing import routing.yaml"
    )]
    Routing(RoutingCommand),
    /// Run a standard contact-centre report (the dashboard's figures) over the store, as CSV or JSON.
    #[command(
        after_help = "Reports: summary, calls-by-day, calls-by-hour, inbound-outbound, outcomes, dispositions, agents, queues, presence, screen-pops, adapter-errors.\n\
Days and hours are those of --time-zone (UTC unless given); --from and --to are inclusive (default: the last 7 days).\n\n\
Examples:\n  dialtone report summary --from 2026-12-01 --to 2026-12-07\n  dialtone report agents --from 2026-12-01 --to 2026-12-31 --format csv > agents.csv\n  dialtone report queues --queue Billing --service-level 30 --format json\n  dialtone report calls-by-hour --time-zone America/New_York"
    )]
    Report(ReportArgs),
    /// Flows: automation that runs when records are created or changed, and threshold alerts — as one YAML or JSON file.
    #[command(
        subcommand,
        after_help = "Examples:\n  dialtone flows export --format yaml > flows.yaml\n  dialtone flows validate flows.yaml\n  dialtone flows import flows.yaml"
    )]
    Flows(FlowsCommand),
    /// Carrier credentials (Twilio auth tokens, SIP trunk passwords, certificates), kept encrypted.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// The calls: VoiceCall records, as the REST API returns them.
    #[command(subcommand)]
    Calls(CallsCommand),
    /// Carrier connections: SIP trunks (carriers, PBXs) and a customer's own Twilio account.
    #[command(subcommand)]
    Trunk(TrunkCommand),
    /// Agents' presence (who is offered calls).
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Revocable API tokens for integrations (a bearer token that acts as one user).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the setup audit trail: who changed users, apps, call centers and security, and when.
    #[command(after_help = "Example:\n  dialtone audit --limit 20")]
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Apply each call center's recording retention (RecordingRetentionDays) now. `serve` also does it every hour.
    #[command(after_help = "Example:\n  dialtone retention --dry-run")]
    Retention {
        /// Only report what would be removed.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Right to erasure: remove a person's records, tasks and recordings, scrub their calls, print a receipt.
    #[command(after_help = "Examples:\n  dialtone erase --phone \"+44 20 7946 0018\" --dry-run\n  dialtone erase --email jane@example.com --receipt jane-erasure.json")]
    Erase {
        #[arg(long, conflicts_with = "email", required_unless_present = "email")]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Only report what would be erased.
        #[arg(long)]
        dry_run: bool,
        /// Write the receipt (JSON) to this file as well.
        #[arg(long)]
        receipt: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Drive simulated calls (inbound and outbound: answered, held, transferred, abandoned, voicemail)
    /// against a running server, on a compressed clock: a demo, and a check of the call path.
    #[command(after_help = "Example:\n  dialtone token create admin@dialtone.demo --label simulator   # prints TOKEN\n  \
dialtone simulate --server http://127.0.0.1:8080 --token TOKEN --rate 20 --calls 500 --speed 60\n\n\
The events go to POST /api/calls/events, so the token's user needs the Manage Call Centers permission\n\
(System Administrator has it). Callers are partly the org's Contacts (screen pops match), partly random\n\
numbers; agents are the call center's users. Prints the calls by outcome at the end.")]
    Simulate(SimulateArgs),
    /// Import records from a CSV file whose header row holds field API names.
    #[command(after_help = "Example:\n  dialtone import Contact contacts.csv --errors refused.csv\n\n\
The header names fields (FirstName,LastName,Phone,…). Refused rows are reported by row number and \
reason; the good rows are kept. Exit code 2 when any row was refused.")]
    Import(ImportArgs),
    /// Run a SOQL query and print the rows as JSON lines.
    #[command(after_help = "Example:\n  dialtone query \"SELECT LeadSource, COUNT(Id) FROM Lead GROUP BY LeadSource\"")]
    Query {
        soql: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Find the records whose phone fields hold a number, written any way.
    #[command(after_help = "Example:\n  dialtone lookup \"(415) 555-1212\"")]
    Lookup {
        number: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Plain HTTP address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: String,
    /// HTTPS address (needs --tls-cert/--tls-key or --tls-self-signed).
    #[arg(long)]
    pub https: Option<String>,
    /// PEM certificate chain for --https.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --https.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Generate a certificate for localhost and 127.0.0.1 in DATA/tls and print its path.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// Run the SIP edge (UDP and TCP) on this address, e.g. 0.0.0.0:5060.
    #[arg(long)]
    pub sip: Option<String>,
    /// Load a small demo org (accounts, contacts, leads, a call center, three agents) on first start.
    #[arg(long)]
    pub demo: bool,
    /// Log as JSON lines instead of text (the same as --log-format json).
    #[arg(long)]
    pub log_json: bool,
    /// Log format: text or json (one JSON object a line). Phone numbers and
    /// people's names are masked in both.
    #[arg(long, env = "DIALTONE_LOG_FORMAT", value_name = "FORMAT", value_parser = ["text", "json"])]
    pub log_format: Option<String>,
    /// Close a call whose end never arrived this long after it began (its
    /// Disconnect Reason says Reaped), e.g. 4h, 90m: no call stays "in progress" for ever.
    #[arg(long, default_value = "4h", value_name = "AGE")]
    pub max_call_age: String,
    /// Close an unanswered call whose carrier has gone silent this long
    /// (Disconnect Reason Timeout, disposition no-answer), e.g. 5m, 90s.
    #[arg(long, default_value = "5m", value_name = "AGE")]
    pub ring_timeout: String,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    #[command(after_help = "Example:\n  echo 'a long secret' | dialtone user add ada@example.com --profile \"System Administrator\"")]
    Add {
        username: String,
        /// Profile name, e.g. "System Administrator", "Standard User", "Agent", "Supervisor", "Read Only".
        #[arg(long, default_value = "Standard User")]
        profile: String,
        /// Role in the role hierarchy (see `dialtone security export`).
        #[arg(long)]
        role: Option<String>,
        /// Extra permission sets, comma-separated.
        #[arg(long, value_delimiter = ',')]
        permission_set: Vec<String>,
        #[arg(long)]
        first_name: Option<String>,
        /// Defaults to the part of the username before '@'.
        #[arg(long)]
        last_name: Option<String>,
        /// Defaults to the username when it is an email address.
        #[arg(long)]
        email: Option<String>,
        /// Assign the user to this call center (internal name); their desk phone may then
        /// REGISTER with the username and password.
        #[arg(long)]
        call_center: Option<String>,
        /// A static SIP contact for a desk phone that does not register, e.g. sip:ada@192.0.2.10:5060
        /// (a REGISTER replaces it).
        #[arg(long, requires = "call_center")]
        sip_contact: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AppCommand {
    /// Register a connected app; prints client_id=… and client_secret=… (shown once).
    #[command(after_help = "Example:\n  dialtone app add \"Data Loader\"")]
    Add {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum XmlFormat {
    /// The legacy import file: <callCenter><section><item>.
    Legacy,
    /// The Metadata API type: <CallCenter xmlns=…>.
    Metadata,
}

#[derive(Subcommand, Debug)]
pub enum RoutingCommand {
    /// Write the routing configuration as one file (standard output unless --out).
    #[command(after_help = "Example:\n  dialtone routing export --format yaml --out routing.yaml")]
    Export {
        #[arg(long, default_value = "yaml")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a file and replace the whole routing configuration with it, in one transaction (a running server takes it within a second).
    #[command(after_help = "Example:\n  dialtone routing import routing.yaml")]
    Import {
        file: PathBuf,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a file against the org (call centers, users) without importing it.
    #[command(after_help = "Example:\n  dialtone routing validate routing.yaml")]
    Validate {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum FlowsCommand {
    /// Write every flow as one file (standard output unless --out).
    #[command(after_help = "Example:\n  dialtone flows export --format yaml --out flows.yaml")]
    Export {
        #[arg(long, default_value = "yaml")]
        format: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a file and replace every flow with its flows, in one transaction (a running server takes them within seconds).
    #[command(after_help = "Example:\n  dialtone flows import flows.yaml")]
    Import {
        file: PathBuf,
        /// Check only; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a file (objects, fields, conditions, actions) without importing it.
    #[command(after_help = "Example:\n  dialtone flows validate flows.yaml")]
    Validate {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CallCenterCommand {
    /// Check a definition file and import it (re-importing replaces the call center of the same internal name).
    #[command(after_help = "Example:\n  dialtone callcenter import DemoAdapter.xml")]
    Import {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a definition file without importing it.
    #[command(after_help = "Example:\n  dialtone callcenter validate DemoAdapter.xml")]
    Validate { file: PathBuf },
    /// Write a call center's definition; it imports back identically.
    #[command(after_help = "Example:\n  dialtone callcenter export DemoAdapter --format metadata --out DemoAdapter.callCenter")]
    Export {
        /// Internal name (reqInternalName).
        name: String,
        /// Defaults to the format the call center was imported in.
        #[arg(long, value_enum)]
        format: Option<XmlFormat>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Assign users to a call center, one (--user) or many (--users CSV with a Username column). A user belongs to at most one call center.
    #[command(
        after_help = "Examples:\n  dialtone callcenter assign DemoAdapter --user agent1@example.com\n  dialtone callcenter assign DemoAdapter --users users.csv",
        group(clap::ArgGroup::new("who").args(["user", "users"]).required(true))
    )]
    Assign {
        name: String,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        users: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show or change a call center's desk settings: Tasks, wrap-up outcomes, After Call Work, headless softphone, local area code.
    #[command(after_help = "Examples:\n  dialtone callcenter settings DemoAdapter\n  dialtone callcenter settings DemoAdapter --resolutions 'Resolved;Callback Requested;Sale;No Sale' --wrap-up-required off\n  dialtone callcenter settings DemoAdapter --write-tasks off --headless on --local-area-code 415\n\nPrints the settings after the change as JSON. A running server takes them within 5 seconds.")]
    Settings {
        name: String,
        /// Write a Task (TaskSubtype Call) for every ended call (default on).
        #[arg(long, value_parser = on_off)]
        write_tasks: Option<bool>,
        /// The wrap-up outcomes agents choose from, separated by ';' (default: the standard list).
        #[arg(long)]
        resolutions: Option<String>,
        /// Keep agents in After Call Work until they save the wrap-up (default on).
        #[arg(long, value_parser = on_off)]
        wrap_up_required: Option<bool>,
        /// No visible softphone panel in the console; screen pops still happen (default off).
        #[arg(long, value_parser = on_off)]
        headless: Option<bool>,
        /// The call center's own area code: numbers in it are dialled as local calls.
        #[arg(long)]
        local_area_code: Option<String>,
        /// The softphone panel's label in the console.
        #[arg(long)]
        panel_label: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show or replace a call center's softphone layout: the screen-pop rules per call type.
    #[command(after_help = "Examples:\n  dialtone callcenter layout DemoAdapter > layout.json      # the current rules (start here)\n  dialtone callcenter layout DemoAdapter --file layout.json   # check and replace them\n\nPer call type (inbound, outbound, internal): searchOrder (Contact, Account, Lead), singleMatch (open),\nmultipleMatches (chooser | none), noMatch {action: new | none, object}, fallback {object} for a missing,\nanonymous or malformed caller ID. See docs/DESKTOP.md. A running server uses the new rules at the next call.")]
    Layout {
        name: String,
        /// A layout as JSON: checked whole, then it replaces the current one.
        #[arg(long)]
        file: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List call centers and how many users each has.
    #[command(after_help = "Example:\n  dialtone callcenter list --data ./dialtone-data")]
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Base URL of a running `dialtone serve`.
    #[arg(long, env = "DIALTONE_URL")]
    pub server: String,
    /// An API token (`dialtone token create`) of a user with the Manage Call Centers permission.
    #[arg(long, env = "DIALTONE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// New calls a simulated minute (arrivals are random around this rate).
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// How many calls to make.
    #[arg(long, default_value_t = 100)]
    pub calls: u32,
    /// Simulated seconds a real second: 60 plays one simulated minute each second.
    #[arg(long, default_value_t = 60.0)]
    pub speed: f64,
    /// Internal name of the call center (default: the first one on the server).
    #[arg(long)]
    pub call_center: Option<String>,
    /// Seed for the random choices, to replay a run (printed when not given).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Accept the server's certificate without checking it (a dev server's self-signed one).
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Object API name: Contact, Lead, Account, Case, …
    pub object: String,
    pub file: PathBuf,
    /// Write refused rows here, with an ERROR column, to fix and re-import.
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Rows per transaction.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum SecurityCommand {
    /// Print the security configuration as JSON (the standard one until you import your own).
    #[command(after_help = "Example:\n  dialtone security export > security.json")]
    Export {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Check a security JSON file and make it the org's configuration (takes effect within seconds, no restart).
    #[command(after_help = "Example:\n  dialtone security import security.json\n\nThe file lists permissionSets (profiles have \"isProfile\": true), permissionSetGroups, roles, groups,\norgWideDefaults and sharingRules; start from `dialtone security export`.")]
    Import {
        file: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue a token for an integration acting as USERNAME (printed once; valid a year unless revoked).
    #[command(after_help = "Example:\n  dialtone token create integration@example.com --label \"Nightly export\"")]
    Create {
        username: String,
        #[arg(long, default_value = "integration")]
        label: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token (read from standard input, so it stays out of shell history).
    #[command(after_help = "Example:\n  echo \"$TOKEN\" | dialtone token revoke")]
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum CredentialCommand {
    /// Store a credential, read from standard input, encrypted with the master key
    /// (DIALTONE_SECRET_KEY, or DATA/secret.key created on first use). It is never shown again.
    #[command(after_help = "Example:\n  printf '%s' \"$TWILIO_AUTH_TOKEN\" | dialtone credential set twilio.auth_token")]
    Set {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List credential names and which key sealed them — never the values.
    #[command(after_help = "Example:\n  dialtone credential list")]
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrunkCommand {
    /// Connect a carrier: a SIP trunk (a carrier or PBX sending INVITEs from an address) or a Twilio account.
    #[command(after_help = "Examples:\n  dialtone trunk add carrier1 --provider sip --match-ip 203.0.113.5 --call-center DialtoneDemo\n  dialtone trunk add pbx --provider sip --match-ip 10.0.0.2 --call-center Support \\\n      --queue-timeout 45 --overflow voicemail:sip:vm@10.0.0.9\n  printf '%s' \"$TWILIO_AUTH_TOKEN\" | dialtone trunk add main --provider twilio --account-sid AC0123… \\\n      --public-url https://cti.example.com --call-center DialtoneDemo\n\nSIP: INVITEs from --match-ip are answered by `dialtone serve --sip ADDR`; others get 403.\nTwilio: the auth token is read from standard input and stored encrypted. Point the number's voice\nwebhook at PUBLIC_URL/telephony/twilio/voice and its status callback at PUBLIC_URL/telephony/twilio/status.")]
    Add {
        name: String,
        #[arg(long, value_parser = ["sip", "twilio"])]
        provider: String,
        /// SIP: the source address the trunk's INVITEs come from.
        #[arg(long, required_if_eq("provider", "sip"))]
        match_ip: Option<std::net::IpAddr>,
        /// SIP: where click-to-dial calls go out (default: --match-ip, port 5060).
        #[arg(long)]
        outbound: Option<std::net::SocketAddr>,
        /// SIP: seconds a caller waits for a free agent before the overflow.
        #[arg(long, default_value_t = 30)]
        queue_timeout: u32,
        /// SIP: what happens after the wait: reject (480), voicemail:URI or forward:URI (302).
        #[arg(long, default_value = "reject")]
        overflow: String,
        /// SIP: the most new calls per second taken from this trunk (the carrier's CPS limit);
        /// INVITEs beyond it are answered 503 with Retry-After. Default: no limit.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        max_cps: Option<u32>,
        /// Twilio: the account SID (AC…).
        #[arg(long, required_if_eq("provider", "twilio"))]
        account_sid: Option<String>,
        /// Twilio: the base URL Twilio reaches Dialtone at (signatures are checked against it).
        #[arg(long, required_if_eq("provider", "twilio"))]
        public_url: Option<String>,
        /// Internal name of the call center the calls belong to.
        #[arg(long)]
        call_center: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgentCommand {
    /// Set an agent's presence: Available agents are offered calls (longest idle first).
    #[command(after_help = "Examples:\n  dialtone agent status ada@example.com Available\n  dialtone agent status ada@example.com Away --server https://cti.example.com --token \"$DIALTONE_TOKEN\"\n\nStatuses: Available, Busy, Away, Offline. The softphone sets it too.\nWith --server, the token's user may set their own presence; anyone's needs Manage Call Centers.")]
    Status {
        username: String,
        status: String,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set (or clear) an agent's static SIP contact: a desk phone that does not register.
    #[command(after_help = "Examples:\n  dialtone agent contact ada@example.com sip:ada@192.0.2.10:5060\n  dialtone agent contact ada@example.com --clear\n\nA running server takes it within a few seconds; a REGISTER from the phone replaces it.")]
    Contact {
        username: String,
        /// e.g. sip:ada@192.0.2.10:5060
        #[arg(required_unless_present = "clear", conflicts_with = "clear")]
        contact: Option<String>,
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Act on a running server through its API instead of opening the store.
#[derive(Args, Debug, Clone)]
pub struct RemoteArgs {
    /// URL of a running Dialtone (with --token): act through its API.
    #[arg(long, env = "DIALTONE_URL", requires = "token")]
    pub server: Option<String>,
    /// API token (`dialtone token create`) for --server.
    #[arg(long, env = "DIALTONE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Accept a self-signed certificate from --server.
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum CallsCommand {
    /// Calls that started within a time window, newest first.
    #[command(after_help = "Examples:\n  dialtone calls list --since 10m\n  dialtone calls list --since 2h --format json\n  dialtone calls list --since 1d --server https://cti.example.com --token \"$DIALTONE_TOKEN\"\n\nWith --server the same query runs through the server's /services/data/vNN.N/query as the token's user.")]
    List {
        /// How far back: a number and a unit, s, m, h or d (e.g. 90s, 10m, 24h, 7d).
        #[arg(long, default_value = "1h")]
        since: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `on`/`off` (also true/false, yes/no) for switches that keep their value when not given.
fn on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(format!("{s:?}: say on or off")),
    }
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The report's name (see below), or `list` for every report with what it shows.
    pub name: String,
    /// First day (YYYY-MM-DD, in --time-zone), inclusive.
    #[arg(long)]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, in --time-zone), inclusive. Default: today.
    #[arg(long)]
    pub to: Option<String>,
    /// Only calls of this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// The time zone whose days and hours the report counts (an IANA name such
    /// as America/New_York or Europe/London).
    #[arg(long = "time-zone", default_value = "UTC")]
    pub time_zone: String,
    /// The service-level threshold in seconds (answered within it).
    #[arg(long = "service-level", default_value_t = 20)]
    pub service_level: u64,
    /// csv or json.
    #[arg(long, default_value = "csv")]
    pub format: String,
    #[command(flatten)]
    pub store: StoreArgs,
}
