//! Scenario tests of the `dialtone` binary: each test runs the real program against a fresh
//! temporary data directory and checks the exit code (0 success, 1 runtime, 2 bad input or
//! usage), the messages a person reads, and that bad input leaves the stored data unchanged.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// One `dialtone` installation: a temporary directory holding the data dir and input files.
struct Dialtone {
    dir: tempfile::TempDir,
}

/// What one run of the binary did.
struct Output {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
    stdout_bytes: Vec<u8>,
}

impl Output {
    /// Panics, showing everything the run printed, unless it exited with `code`.
    #[track_caller]
    fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code of `dialtone {}`\n{}", self.args.join(" "), self.dump());
        self
    }

    #[track_caller]
    fn ok(&self) -> &Self {
        self.code(0)
    }

    #[track_caller]
    fn stdout_has(&self, needle: &str) -> &Self {
        assert!(self.stdout.contains(needle), "stdout of `dialtone {}` lacks {needle:?}\n{}", self.args.join(" "), self.dump());
        self
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(self.stderr.contains(needle), "stderr of `dialtone {}` lacks {needle:?}\n{}", self.args.join(" "), self.dump());
        self
    }

    #[track_caller]
    fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(!self.stderr.contains(needle), "stderr of `dialtone {}` has {needle:?}\n{}", self.args.join(" "), self.dump());
        self
    }

    #[track_caller]
    fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(!self.stdout.contains(needle), "stdout of `dialtone {}` has {needle:?}\n{}", self.args.join(" "), self.dump());
        self
    }

    fn dump(&self) -> String {
        format!("exit code: {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Dialtone {
    fn new() -> Dialtone {
        Dialtone { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A Dialtone whose store exists (commands that only read refuse a missing one).
    fn with_store() -> Dialtone {
        let d = Dialtone::new();
        d.dt(&["app", "add", "setup"]).code(0);
        d
    }

    /// The `--data` directory (created by the first command that opens the store).
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes an input file into the temp dir and returns its path as a string.
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write fixture");
        p.to_str().expect("utf-8 temp path").to_string()
    }

    /// Runs `dialtone ARGS` exactly as given, in the temp dir, with `stdin` (or nothing) on
    /// standard input. The environment cannot point it at another store.
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialtone"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("DIALTONE_DATA", self.data())
            .env_remove("DIALTONE_STORE")
            .env_remove("DIALTONE_REGION")
            .env_remove("DIALTONE_LOG")
            .env_remove("DIALTONE_URL")
            .env_remove("DIALTONE_TOKEN")
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run dialtone");
        {
            let mut pipe = child.stdin.take().expect("stdin");
            if let Some(bytes) = stdin {
                // The program may exit before reading everything (e.g. on a usage error).
                let _ = pipe.write_all(bytes);
            }
        }
        let out = child.wait_with_output().expect("wait for dialtone");
        // Output to a pipe or file is plain text: no colour escape codes (logs included).
        assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b), "escape codes in the output of `dialtone {}`", args.join(" "));
        Output {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: out.status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout_bytes: out.stdout,
        }
    }

    /// Runs `dialtone ARGS --data DIR`.
    fn dt(&self, args: &[&str]) -> Output {
        self.dt_in(args, None)
    }

    /// Runs `dialtone ARGS --data DIR` with `stdin`.
    fn dt_in(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let data = self.data();
        let mut all: Vec<&str> = args.to_vec();
        all.push("--data");
        all.push(data.to_str().expect("utf-8 temp path"));
        self.run(&all, stdin)
    }

    /// `dialtone query SOQL`: the rows, as JSON objects, and totalSize.
    fn query(&self, soql: &str) -> (Vec<serde_json::Map<String, serde_json::Value>>, usize) {
        let out = self.dt(&["query", soql]);
        out.ok();
        let rows = out
            .stdout
            .lines()
            .map(|l| match serde_json::from_str(l) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => panic!("query printed a line that is not a JSON object: {l:?}\n{}", out.dump()),
            })
            .collect();
        let total = out
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("totalSize: "))
            .unwrap_or_else(|| panic!("no totalSize line\n{}", out.dump()))
            .trim()
            .parse()
            .expect("totalSize is a number");
        (rows, total)
    }

    fn count(&self, object: &str) -> usize {
        let (rows, total) = self.query(&format!("SELECT COUNT() FROM {object}"));
        assert!(rows.is_empty(), "COUNT() prints no rows");
        total
    }

    /// `dialtone callcenter list`, one entry per line.
    fn call_centers(&self) -> Vec<String> {
        let out = self.dt(&["callcenter", "list"]);
        out.ok();
        if out.stdout.starts_with("no call centers yet") {
            return Vec::new();
        }
        out.stdout.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect()
    }

    /// Adds a user with a good password.
    fn add_user(&self, username: &str) {
        self.dt_in(&["user", "add", username], Some(b"a long secret\n")).ok();
    }

    /// Username → CallCenterId (None when unassigned), from `dialtone query`.
    fn assignments(&self) -> Vec<(String, Option<String>)> {
        let (rows, _) = self.query("SELECT Username, CallCenterId FROM User ORDER BY Username");
        rows.into_iter()
            .map(|r| {
                let user = r["Username"].as_str().expect("Username").to_string();
                let cc = r["CallCenterId"].as_str().map(str::to_string);
                (user, cc)
            })
            .collect()
    }

    fn call_center_id(&self, internal_name: &str) -> String {
        let (rows, total) = self.query(&format!("SELECT Id FROM CallCenter WHERE InternalName = '{internal_name}'"));
        assert_eq!(total, 1, "one call center named {internal_name}");
        rows[0]["Id"].as_str().expect("Id").to_string()
    }

    /// `dialtone callcenter export NAME [ARGS]` on stdout, as bytes.
    fn export(&self, name: &str, extra: &[&str]) -> Vec<u8> {
        let mut args = vec!["callcenter", "export", name];
        args.extend_from_slice(extra);
        let out = self.dt(&args);
        out.ok();
        assert!(!out.stdout_bytes.is_empty(), "export printed nothing\n{}", out.dump());
        out.stdout_bytes
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8")
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const LEGACY: &str = r#"<?xml version="1.0" encoding="UTF-8" ?>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="InternalName">AcmeClick2Dial</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Acme Click-to-Dial</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/apex/AcmeClick2Dial</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">400</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
  </section>
  <section sortOrder="1" name="reqDialingOptions" label="Dialing Options">
    <item sortOrder="0" name="reqOutsidePrefix" label="Outside Prefix">9</item>
    <item sortOrder="1" name="reqLongDistPrefix" label="Long Distance Prefix">1</item>
    <item sortOrder="2" name="reqInternationalPrefix" label="International Prefix">011</item>
  </section>
  <section sortOrder="2" name="acmeSettings" label="Acme &amp; Sons settings">
    <item sortOrder="0" name="queues" label="Queues">support, sales &lt;EU&gt;</item>
    <item sortOrder="1" name="greeting" label="Greeting">Caf&#xE9; ☎ 電話</item>
  </section>
</callCenter>
"#;

/// The same call center with another display name: re-importing it replaces the first.
const LEGACY_RENAMED: &str = r#"<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="InternalName">AcmeClick2Dial</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Acme Click-to-Dial v2</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/apex/AcmeClick2DialV2</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">500</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
  </section>
</callCenter>
"#;

/// Metadata API file; the internal name comes from the file name (OpenCTI.callCenter).
const METADATA: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CallCenter xmlns="http://soap.sforce.com/2006/04/metadata">
    <adapterUrl>/apex/demoAdapterPage</adapterUrl>
    <customSettings>{&quot;reqTimeout&quot;:&quot;10000&quot;,&quot;reqUseApi&quot;:&quot;true&quot;}</customSettings>
    <displayName>Demo Call Center Adapter</displayName>
    <displayNameLabel>Display Name</displayNameLabel>
    <internalNameLabel>InternalName</internalNameLabel>
    <sections>
        <items>
            <label>CTI Adapter URL</label>
            <name>reqAdapterUrl</name>
            <value>/apex/demoAdapterPage</value>
        </items>
        <items>
            <label>Use CTI API</label>
            <name>reqUseApi</name>
            <value>true</value>
        </items>
        <items>
            <label>Softphone Height</label>
            <name>reqSoftphoneHeight</name>
            <value>550</value>
        </items>
        <items>
            <label>Softphone Width</label>
            <name>reqSoftphoneWidth</name>
            <value>400</value>
        </items>
        <label>General Information</label>
        <name>reqGeneralInfo</name>
    </sections>
    <sections>
        <items>
            <label>Simulated Incoming Phone Number</label>
            <name>reqIncomingNumber</name>
            <value>(415) 555-1212</value>
        </items>
        <label>Phone Demo Settings</label>
        <name>reqPhoneDemoSettings</name>
    </sections>
    <version>4</version>
</CallCenter>
"#;

const MISMATCHED_TAG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">Broken</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Broken</item>
</callCenter>
"#;

const BARE_AMPERSAND: &str = r#"<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">ATT</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">AT&T Support</item>
  </section>
</callCenter>
"#;

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">Lolz</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">&lol9;</item>
  </section>
</callCenter>
"#;

const XXE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE callCenter [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">Xxe</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">&xxe;</item>
  </section>
</callCenter>
"#;

/// Well-formed, but without the adapter URL and softphone width a CTI call center needs.
const MISSING_REQUIRED: &str = r#"<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">Incomplete</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Incomplete CTI</item>
    <item sortOrder="2" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="3" name="reqSoftphoneHeight" label="Softphone Height">400</item>
  </section>
</callCenter>
"#;

const WRONG_ROOT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>*</members>
        <name>CallCenter</name>
    </types>
</Package>
"#;

/// The internal name of LEGACY, with a softphone height that is not a number: refusing it
/// must leave the stored AcmeClick2Dial as it was.
const INVALID_SAME_NAME: &str = r#"<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="InternalName">AcmeClick2Dial</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">Hijacked</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/apex/AcmeClick2Dial</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">tall</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">300</item>
  </section>
</callCenter>
"#;

// ---------------------------------------------------------------------------------------------
// 1. Help and usage
// ---------------------------------------------------------------------------------------------

#[test]
fn help_of_every_command_and_subcommand_has_an_example() {
    let d = Dialtone::new();
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["user"],
        &["user", "add"],
        &["app"],
        &["app", "add"],
        &["callcenter"],
        &["callcenter", "import"],
        &["callcenter", "validate"],
        &["callcenter", "export"],
        &["callcenter", "assign"],
        &["callcenter", "list"],
        &["import"],
        &["query"],
        &["lookup"],
        &["simulate"],
        &["routing"],
        &["routing", "export"],
        &["routing", "import"],
        &["routing", "validate"],
        &["report"],
        &["flows"],
        &["flows", "export"],
        &["flows", "import"],
        &["flows", "validate"],
    ];
    for command in commands {
        for flag in ["--help", "-h"] {
            let mut args = command.to_vec();
            args.push(flag);
            let out = d.run(&args, None);
            out.ok().stdout_has("Example");
            assert!(out.stderr.is_empty(), "help writes to stdout only\n{}", out.dump());
        }
        // `dialtone help CMD …` says the same as `dialtone CMD … --help`.
        let mut args = vec!["help"];
        args.extend_from_slice(command);
        d.run(&args, None).ok().stdout_has("Example");
    }
    // Help never touches the store.
    assert!(!d.data().exists(), "--help created the data directory");
}

#[test]
fn top_level_help_states_the_exit_codes() {
    let d = Dialtone::new();
    d.run(&["--help"], None).ok().stdout_has("Exit codes: 0 success, 1 runtime failure, 2 bad input or usage.");
    let v = d.run(&["--version"], None);
    v.ok().stdout_has("dialtone ");
}

#[test]
fn usage_errors_exit_2() {
    let d = Dialtone::new();
    let cases: &[(&[&str], &str)] = &[
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&[], "Usage:"),
        (&["callcenter"], "Usage:"),
        (&["callcenter", "frobnicate"], "unrecognized subcommand"),
        (&["query", "SELECT Id FROM Contact", "--bogus"], "unexpected argument '--bogus'"),
        (&["query"], "<SOQL>"),
        (&["lookup"], "<NUMBER>"),
        (&["import", "Contact"], "<FILE>"),
        (&["callcenter", "export", "X", "--format", "yaml"], "invalid value 'yaml'"),
        (&["callcenter", "assign", "X"], "<--user <USER>|--users <USERS>>"),
        (&["callcenter", "assign", "X", "--user", "a@example.com", "--users", "u.csv"], "cannot be used with"),
        (&["import", "Contact", "c.csv", "--batch", "many"], "invalid value 'many'"),
    ];
    for (args, message) in cases {
        d.run(args, None).code(2).stderr_has(message);
    }
    assert!(!d.data().exists(), "a usage error created the data directory");
}

// ---------------------------------------------------------------------------------------------
// 2. Users and apps
// ---------------------------------------------------------------------------------------------

#[test]
fn user_add_reads_the_password_from_stdin() {
    let d = Dialtone::new();
    let out = d.dt_in(&["user", "add", "ada@example.com", "--profile", "System Administrator", "--first-name", "Ada"], Some(b"correct horse battery\n"));
    out.ok().stdout_has("added user ada@example.com (005").stdout_has("with profile \"System Administrator\"");
    // A password without a trailing newline, and one ending in CRLF, are read too.
    d.dt_in(&["user", "add", "bob@example.com"], Some(b"no newline at all")).ok().stdout_has("with profile \"Standard User\"");
    d.dt_in(&["user", "add", "cy@example.com"], Some(b"windows line end\r\n")).ok();
    // --email makes a non-email username acceptable; the last name defaults to the username.
    d.dt_in(&["user", "add", "dee", "--email", "dee@example.com"], Some(b"a long secret\n")).ok();

    let (rows, total) = d.query("SELECT Username, FirstName, LastName, Email FROM User ORDER BY Username");
    assert_eq!(total, 4);
    let ada = &rows[0];
    assert_eq!(ada["Username"], "ada@example.com");
    assert_eq!(ada["FirstName"], "Ada");
    assert_eq!(ada["LastName"], "ada");
    assert_eq!(ada["Email"], "ada@example.com");
    assert_eq!(rows[3]["Username"], "dee");
    assert_eq!(rows[3]["Email"], "dee@example.com");
}

#[test]
fn user_add_refuses_bad_input_and_adds_nobody() {
    let d = Dialtone::new();
    d.add_user("ada@example.com");
    let cases: &[(&[&str], &[u8], &str)] = &[
        (&["user", "add", "bob@example.com"], b"short\n", "at least 8 characters"),
        (&["user", "add", "bob@example.com"], b"1234567\n", "at least 8 characters"),
        (&["user", "add", "bob@example.com"], b"", "at least 8 characters"),
        (&["user", "add", "bob@example.com"], b"\n", "at least 8 characters"),
        (&["user", "add", "ada@example.com"], b"another long secret\n", "a user named ada@example.com already exists"),
        (&["user", "add", "bob"], b"a long secret\n", "bob is not an email address: give --email"),
        (&["user", "add", "bob@example.com", "--email", "not-an-email"], b"a long secret\n", "Email: invalid email address: not-an-email"),
    ];
    for (args, stdin, message) in cases {
        d.dt_in(args, Some(stdin)).code(2).stderr_has(message).stderr_has("error: ");
    }
    let (rows, total) = d.query("SELECT Username FROM User");
    assert_eq!(total, 1, "only the first user exists: {rows:?}");
    assert_eq!(rows[0]["Username"], "ada@example.com");
}

#[test]
fn app_add_prints_exactly_the_client_id_and_secret() {
    let d = Dialtone::new();
    let first = d.dt(&["app", "add", "Data Loader"]);
    first.ok();
    let lines: Vec<&str> = first.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "two lines\n{}", first.dump());
    let id = lines[0].strip_prefix("client_id=").expect("client_id= line");
    let secret = lines[1].strip_prefix("client_secret=").expect("client_secret= line");
    assert!(!id.is_empty() && !secret.is_empty());
    assert!(!id.contains(char::is_whitespace) && !secret.contains(char::is_whitespace));
    assert!(secret.len() >= 16, "a secret worth the name: {secret:?}");

    // A second app gets its own credentials.
    let second = d.dt(&["app", "add", "Reports"]);
    second.ok();
    assert_eq!(second.stdout.lines().count(), 2);
    assert!(!second.stdout.contains(id) && !second.stdout.contains(secret), "credentials are not reused");
}

// ---------------------------------------------------------------------------------------------
// 3. Call centers
// ---------------------------------------------------------------------------------------------

#[test]
fn callcenter_validate_reports_format_names_and_counts_without_a_store() {
    let d = Dialtone::new();
    let legacy = d.file("AcmeClick2Dial.xml", LEGACY);
    let metadata = d.file("OpenCTI.callCenter", METADATA);
    d.run(&["callcenter", "validate", &legacy], None)
        .ok()
        .stdout_has("valid Legacy call center \"Acme Click-to-Dial\" (AcmeClick2Dial), 3 sections, 11 items");
    d.run(&["callcenter", "validate", &metadata], None)
        .ok()
        .stdout_has("valid Metadata call center \"Demo Call Center Adapter\" (OpenCTI), 2 sections, 5 items");
    assert!(!d.data().exists(), "validate does not open the store");
}

#[test]
fn callcenter_import_both_formats_and_list() {
    let d = Dialtone::with_store();
    d.dt(&["callcenter", "list"]).ok().stdout_has("no call centers yet: import one with `dialtone callcenter import FILE.xml`");

    let legacy = d.file("AcmeClick2Dial.xml", LEGACY);
    let metadata = d.file("OpenCTI.callCenter", METADATA);
    d.dt(&["callcenter", "import", &legacy]).ok().stdout_has("imported call center \"Acme Click-to-Dial\" (AcmeClick2Dial) as ");
    d.dt(&["callcenter", "import", &metadata]).ok().stdout_has("imported call center \"Demo Call Center Adapter\" (OpenCTI) as ");

    assert_eq!(
        d.call_centers(),
        ["AcmeClick2Dial Acme Click-to-Dial Legacy 0 user(s)", "OpenCTI Demo Call Center Adapter Metadata 0 user(s)"]
    );
    // The imported definitions are what the files say, in their own format.
    assert_eq!(text(&d.export("AcmeClick2Dial", &[])).matches("<item ").count(), 11);
    let exported = d.export("OpenCTI", &[]);
    assert!(text(&exported).contains("<CallCenter xmlns=\"http://soap.sforce.com/2006/04/metadata\">"));
    assert!(text(&exported).contains("<version>4</version>"));
}

#[test]
fn callcenter_reimport_of_the_same_internal_name_replaces() {
    let d = Dialtone::new();
    let first = d.file("AcmeClick2Dial.xml", LEGACY);
    let second = d.file("renamed.xml", LEGACY_RENAMED);
    d.dt(&["callcenter", "import", &first]).ok().stdout_has("imported call center");
    let id = d.call_center_id("AcmeClick2Dial");
    d.dt(&["callcenter", "import", &second])
        .ok()
        .stdout_has(&format!("replaced call center \"Acme Click-to-Dial v2\" (AcmeClick2Dial) as {id}"));
    assert_eq!(d.count("CallCenter"), 1);
    assert_eq!(d.call_centers(), ["AcmeClick2Dial Acme Click-to-Dial v2 Legacy 0 user(s)"]);
    let xml = d.export("AcmeClick2Dial", &[]);
    assert!(text(&xml).contains("/apex/AcmeClick2DialV2"));
    assert!(!text(&xml).contains("reqDialingOptions"), "replaced, not merged");
}

#[test]
fn callcenter_export_imports_back_identically_in_every_format() {
    let d = Dialtone::new();
    for (file, contents, name) in [("AcmeClick2Dial.xml", LEGACY, "AcmeClick2Dial"), ("OpenCTI.callCenter", METADATA, "OpenCTI")] {
        let path = d.file(file, contents);
        d.dt(&["callcenter", "import", &path]).ok();

        let default = d.export(name, &[]);
        let legacy = d.export(name, &["--format", "legacy"]);
        let metadata = d.export(name, &["--format", "metadata"]);
        assert!(text(&legacy).contains("<callCenter>"), "{}", text(&legacy));
        assert!(text(&metadata).contains("<CallCenter xmlns=\"http://soap.sforce.com/2006/04/metadata\">"), "{}", text(&metadata));
        let native = if file.ends_with(".xml") { &legacy } else { &metadata };
        assert_eq!(text(&default), text(native), "the default export format is the imported one");

        // --out writes the same bytes to a file and says so on stderr.
        let out_path = d.path(&format!("{name}.export"));
        let out = d.dt(&["callcenter", "export", name, "--out", out_path.to_str().unwrap()]);
        out.ok().stderr_has(&format!("wrote {}", out_path.display()));
        assert!(out.stdout.is_empty(), "--out prints nothing on stdout\n{}", out.dump());
        assert_eq!(std::fs::read(&out_path).unwrap(), default);

        // Each export imports back ("replaced") and exports again byte for byte.
        for (format, first, ext) in [("legacy", &legacy, "xml"), ("metadata", &metadata, "callCenter")] {
            let again = d.file(&format!("{name}.{ext}"), first);
            d.dt(&["callcenter", "import", &again]).ok().stdout_has("replaced call center").stdout_has(&format!("({name})"));
            let second = d.export(name, &["--format", format]);
            assert_eq!(text(&second), text(first), "{name}: {format} export, re-imported, exports identically");
            // …and the call center now remembers the format it was last imported in.
            assert_eq!(text(&d.export(name, &[])), text(first));
        }
        // The legacy → metadata → legacy trip changed nothing for a file with sorted items.
        if file.ends_with(".xml") {
            assert_eq!(text(&d.export(name, &["--format", "legacy"])), text(&legacy));
        }
    }
    assert_eq!(d.count("CallCenter"), 2, "re-imports replaced, never duplicated");
}

#[test]
fn callcenter_bad_files_exit_2_name_the_problem_and_import_nothing() {
    let d = Dialtone::new();
    let good = d.file("AcmeClick2Dial.xml", LEGACY);
    d.dt(&["callcenter", "import", &good]).ok();
    let before_list = d.call_centers();
    let before_xml = d.export("AcmeClick2Dial", &[]);

    let latin1: Vec<u8> = b"<callCenter>\n  <section name=\"reqGeneralInfo\">\n    <item name=\"reqDisplayName\">Caf\xe9</item>\n  </section>\n</callCenter>\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("mismatched.xml", MISMATCHED_TAG.into(), vec!["mismatched.xml:6:1: ", "malformed XML: </callCenter> does not close the open <section>"]),
        ("ampersand.xml", BARE_AMPERSAND.into(), vec!["ampersand.xml:4:", "&amp;"]),
        ("lolz.xml", BILLION_LAUGHS.into(), vec!["lolz.xml:2:1: ", "DOCTYPE declarations are not allowed"]),
        ("xxe.xml", XXE.into(), vec!["xxe.xml:2:1: ", "DOCTYPE"]),
        ("incomplete.xml", MISSING_REQUIRED.into(), vec![
                "has 2 problem(s)",
                "incomplete.xml:2:3: item \"reqAdapterUrl\" in section \"reqGeneralInfo\": this required item (CTI Adapter URL) is missing",
                "item \"reqSoftphoneWidth\" in section \"reqGeneralInfo\": this required item (Softphone Width) is missing",
                "[MISSING_REQUIRED_ITEM]",
            ]),
        ("package.xml", WRONG_ROOT.into(), vec!["package.xml:2:1: ", "root element is <Package>; expected <callCenter>"]),
        ("same_name.xml", INVALID_SAME_NAME.into(), vec!["same_name.xml:7:", "reqSoftphoneHeight", "\"tall\" is not a whole number"]),
        ("empty.xml", Vec::new(), vec!["empty.xml", "file is empty"]),
        ("latin1.xml", latin1, vec!["latin1.xml:3:", "not valid UTF-8 (unexpected byte 0xE9)"]),
    ];
    for (name, contents, messages) in &cases {
        let path = d.file(name, contents);
        for command in ["validate", "import"] {
            let out = if command == "validate" { d.run(&["callcenter", command, &path], None) } else { d.dt(&["callcenter", command, &path]) };
            out.code(2).stderr_has("error: ");
            for m in messages {
                out.stderr_has(m);
            }
            assert!(out.stdout.is_empty(), "nothing on stdout\n{}", out.dump());
        }
    }
    let missing = d.path("no-such-file.xml");
    d.dt(&["callcenter", "import", missing.to_str().unwrap()]).code(2).stderr_has("cannot read").stderr_has("no-such-file.xml");

    assert_eq!(d.call_centers(), before_list, "nothing new was imported");
    assert_eq!(d.count("CallCenter"), 1);
    assert_eq!(text(&d.export("AcmeClick2Dial", &[])), text(&before_xml), "the stored call center is unchanged");
}

#[test]
fn callcenter_export_of_an_unknown_name_exits_2() {
    let d = Dialtone::with_store();
    d.dt(&["callcenter", "export", "Nope"]).code(2).stderr_has("no call center named Nope: see `dialtone callcenter list`");
    d.dt(&["callcenter", "export", "no'pe"]).code(2).stderr_has("is not a call center internal name");
    let out = d.path("never.xml");
    d.dt(&["callcenter", "export", "Nope", "--out", out.to_str().unwrap()]).code(2);
    assert!(!out.exists(), "no file written for a failed export");
}

#[test]
fn callcenter_assign_one_user_and_a_csv_of_users() {
    let d = Dialtone::new();
    d.dt(&["callcenter", "import", &d.file("AcmeClick2Dial.xml", LEGACY)]).ok();
    for u in ["ada@example.com", "bob@example.com", "cy@example.com"] {
        d.add_user(u);
    }
    let acme = d.call_center_id("AcmeClick2Dial");

    d.dt(&["callcenter", "assign", "AcmeClick2Dial", "--user", "ada@example.com"]).ok().stdout_has("assigned 1 user(s) to AcmeClick2Dial");
    assert_eq!(
        d.assignments(),
        [("ada@example.com".into(), Some(acme.clone())), ("bob@example.com".into(), None), ("cy@example.com".into(), None)]
    );

    // Header `Username` (any case, surrounding spaces ignored), a second column, CRLF lines.
    let csv = d.file("users.csv", "Name, username \r\nBob,bob@example.com\r\nCy, cy@example.com \r\n");
    d.dt(&["callcenter", "assign", "AcmeClick2Dial", "--users", &csv]).ok().stdout_has("assigned 2 user(s) to AcmeClick2Dial");
    assert!(d.assignments().iter().all(|(_, cc)| cc.as_deref() == Some(acme.as_str())));
    assert_eq!(d.call_centers(), ["AcmeClick2Dial Acme Click-to-Dial Legacy 3 user(s)"]);

    // Assigning again is harmless.
    d.dt(&["callcenter", "assign", "AcmeClick2Dial", "--user", "ada@example.com"]).ok().stdout_has("assigned 1 user(s)");
    assert_eq!(d.call_centers(), ["AcmeClick2Dial Acme Click-to-Dial Legacy 3 user(s)"]);
}

#[test]
fn callcenter_assign_is_all_or_nothing() {
    let d = Dialtone::new();
    d.dt(&["callcenter", "import", &d.file("AcmeClick2Dial.xml", LEGACY)]).ok();
    d.add_user("ada@example.com");
    d.add_user("bob@example.com");
    let before = d.assignments();

    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["--users".into(), d.file("one_unknown.csv", "Username\nada@example.com\nghost@example.com\nbob@example.com\n")],
            vec!["nothing was assigned", "row 3: no user named ghost@example.com"],
        ),
        (vec!["--user".into(), "ghost@example.com".into()], vec!["nothing was assigned", "no user named ghost@example.com"]),
        (vec!["--users".into(), d.file("no_column.csv", "Email\nada@example.com\n")], vec!["the header needs a Username column"]),
        (vec!["--users".into(), d.file("blank_row.csv", "Username,Team\nada@example.com,A\n,B\n")], vec!["row 3: empty Username"]),
        (vec!["--users".into(), d.file("ragged.csv", "Username\nada@example.com\nbob@example.com,extra\n")], vec!["row 3"]),
        (vec!["--users".into(), d.file("header_only.csv", "Username\n")], vec!["no users listed"]),
        (vec!["--users".into(), d.file("empty.csv", "")], vec!["Username"]),
        (vec!["--users".into(), d.path("missing.csv").to_str().unwrap().into()], vec!["cannot read"]),
    ];
    for (extra, messages) in &cases {
        let mut args = vec!["callcenter", "assign", "AcmeClick2Dial"];
        args.extend(extra.iter().map(String::as_str));
        let out = d.dt(&args);
        out.code(2);
        for m in messages {
            out.stderr_has(m);
        }
        assert_eq!(d.assignments(), before, "nobody was assigned by {extra:?}");
    }
    d.dt(&["callcenter", "assign", "Nope", "--user", "ada@example.com"]).code(2).stderr_has("no call center named Nope");
    assert_eq!(d.assignments(), before);
    assert_eq!(d.call_centers(), ["AcmeClick2Dial Acme Click-to-Dial Legacy 0 user(s)"]);
}

#[test]
fn callcenter_a_user_moved_to_a_second_call_center_belongs_only_to_it() {
    let d = Dialtone::new();
    d.dt(&["callcenter", "import", &d.file("AcmeClick2Dial.xml", LEGACY)]).ok();
    d.dt(&["callcenter", "import", &d.file("OpenCTI.callCenter", METADATA)]).ok();
    d.add_user("ada@example.com");
    d.add_user("bob@example.com");
    let acme = d.call_center_id("AcmeClick2Dial");
    let open = d.call_center_id("OpenCTI");

    let both = d.file("both.csv", "Username\nada@example.com\nbob@example.com\n");
    d.dt(&["callcenter", "assign", "AcmeClick2Dial", "--users", &both]).ok().stdout_has("assigned 2 user(s) to AcmeClick2Dial\n");
    d.dt(&["callcenter", "assign", "OpenCTI", "--user", "bob@example.com"])
        .ok()
        .stdout_has("assigned 1 user(s) to OpenCTI (1 moved from another call center)");
    assert_eq!(d.assignments(), [("ada@example.com".into(), Some(acme.clone())), ("bob@example.com".into(), Some(open.clone()))]);
    assert_eq!(
        d.call_centers(),
        ["AcmeClick2Dial Acme Click-to-Dial Legacy 1 user(s)", "OpenCTI Demo Call Center Adapter Metadata 1 user(s)"]
    );
    let (_, in_acme) = d.query(&format!("SELECT Id FROM User WHERE CallCenterId = '{acme}'"));
    assert_eq!(in_acme, 1);

    // Re-importing a call center keeps its users.
    d.dt(&["callcenter", "import", &d.file("renamed.xml", LEGACY_RENAMED)]).ok().stdout_has("replaced");
    assert_eq!(d.assignments(), [("ada@example.com".into(), Some(acme)), ("bob@example.com".into(), Some(open))]);
}

// ---------------------------------------------------------------------------------------------
// 4. CSV import and phone lookup
// ---------------------------------------------------------------------------------------------

/// Reads a CSV file into its header and rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_path(path).expect("open csv");
    let header = r.headers().expect("header").iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.expect("record").iter().map(str::to_string).collect()).collect();
    (header, rows)
}

#[test]
fn import_keeps_good_rows_and_reports_bad_ones_by_row_and_reason() {
    let d = Dialtone::new();
    let csv = d.file(
        "contacts.csv",
        "FirstName,LastName,Email,Phone\n\
         Ada,Lovelace,ada@example.com,+1 415-555-1212\n\
         Nolast,,nolast@example.com,\n\
         Bad,Email,not-an-email,\n\
         Too,Many,many@example.com,4155550000,extra\n\
         Grace,Hopper,grace@example.com,4155551212\n\
         Few,Columns\n",
    );
    let errors = d.path("refused.csv");
    let out = d.dt(&["import", "Contact", &csv, "--errors", errors.to_str().unwrap()]);
    out.code(2)
        .stdout_has("imported 2 of 6 Contact row(s); 4 refused")
        .stderr_has("row 3: ")
        .stderr_has("LastName")
        .stderr_has("(REQUIRED_FIELD_MISSING)")
        .stderr_has("row 4: ")
        .stderr_has("invalid email address: not-an-email (INVALID_EMAIL_ADDRESS)")
        .stderr_has("row 5: 5 columns, the header has 4")
        .stderr_has("row 7: 2 columns, the header has 4")
        .stderr_lacks("row 2:")
        .stderr_lacks("row 6:");
    let refused_lines: Vec<&str> = out.stderr.lines().filter(|l| l.starts_with("row ")).collect();
    assert_eq!(refused_lines.len(), 4, "one line per refused row\n{}", out.dump());

    let (rows, total) = d.query("SELECT FirstName, LastName, Email FROM Contact ORDER BY LastName");
    assert_eq!(total, 2);
    assert_eq!(rows[0]["LastName"], "Hopper");
    assert_eq!(rows[1]["LastName"], "Lovelace");

    let (header, refused) = read_csv(&errors);
    assert_eq!(header, ["FirstName", "LastName", "Email", "Phone", "ROW", "ERROR"]);
    let row_numbers: Vec<&str> = refused.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(row_numbers, ["3", "4", "5", "7"]);
    assert_eq!(&refused[0][..4], ["Nolast", "", "nolast@example.com", ""]);
    assert!(refused[0][5].contains("REQUIRED_FIELD_MISSING"), "{:?}", refused[0]);
    assert_eq!(&refused[1][..4], ["Bad", "Email", "not-an-email", ""]);
    assert!(refused[1][5].contains("INVALID_EMAIL_ADDRESS"));
    assert!(refused[2][5].contains("5 columns"));
    assert_eq!(&refused[3][..4], ["Few", "Columns", "", ""]);

    // The errors file, once fixed, imports as it is: its ROW and ERROR columns are ignored.
    let fixed = std::fs::read_to_string(&errors).unwrap().replace("Nolast,,", "Nolast,Fixed,").replace("not-an-email", "bad@example.com");
    let again = d.file("fixed.csv", &fixed);
    d.dt(&["import", "Contact", &again]).code(0).stdout_has("imported 4 of 4 Contact row(s); 0 refused");
    assert_eq!(d.query("SELECT Id FROM Contact").1, 6);
}

#[test]
fn import_of_only_good_rows_exits_0() {
    let d = Dialtone::new();
    // A byte-order mark, CRLF line ends, quoted fields with commas, quotes and newlines.
    let csv = d.file(
        "contacts.csv",
        "\u{feff}FirstName,LastName,Title,Description\r\n\
         Ada,Lovelace,\"Countess, Analyst\",\"said \"\"hello\"\"\nover two lines\"\r\n\
         ,Hopper,,\r\n",
    );
    let errors = d.path("refused.csv");
    let out = d.dt(&["import", "Contact", &csv, "--errors", errors.to_str().unwrap()]);
    out.ok().stdout_has("imported 2 of 2 Contact row(s); 0 refused");
    assert!(!out.stderr.contains("row "), "{}", out.dump());
    let (rows, _) = d.query("SELECT Title, Description FROM Contact WHERE LastName = 'Lovelace'");
    assert_eq!(rows[0]["Title"], "Countess, Analyst");
    assert_eq!(rows[0]["Description"], "said \"hello\"\nover two lines");
    let (header, refused) = read_csv(&errors);
    assert_eq!(header.last().map(String::as_str), Some("ERROR"));
    assert!(refused.is_empty());
}

#[test]
fn import_refuses_the_whole_file_for_a_bad_header() {
    let d = Dialtone::with_store();
    let cases: &[(&str, &str, &[&str])] = &[
        ("typo.csv", "FirstName,LastName,Phnoe\nAda,Lovelace,4155551212\n", &["\"Phnoe\" is not a field of Contact", "nothing was imported"]),
        ("readonly.csv", "Name,LastName\nAda Lovelace,Lovelace\n", &["Name is read-only"]),
        ("two_bad.csv", "Bogus,LastName,Other\nx,Lovelace,y\n", &["\"Bogus\" is not a field", "\"Other\" is not a field"]),
        ("twice.csv", "LastName,Email,LastName\nLovelace,ada@example.com,\n", &["LastName appears twice"]),
        ("blank_name.csv", "LastName,,Email\nLovelace,x,ada@example.com\n", &["\"\" is not a field of Contact"]),
    ];
    for (name, contents, messages) in cases {
        let path = d.file(name, contents);
        let out = d.dt(&["import", "Contact", &path]);
        out.code(2).stderr_has(&format!("{name}: the header row has problems; nothing was imported"));
        for m in *messages {
            out.stderr_has(m);
        }
        assert!(out.stdout.is_empty(), "{}", out.dump());
    }
    let out = d.dt(&["import", "Nope", &d.file("c.csv", "LastName\nx\n")]);
    out.code(2).stderr_has("no object named \"Nope\"; objects: ").stderr_has("Contact");
    d.dt(&["import", "CallCenter", &d.file("cc.csv", "Name\nx\n")]).code(2).stderr_has("dialtone callcenter import");
    d.dt(&["import", "Contact", d.path("missing.csv").to_str().unwrap()]).code(2).stderr_has("cannot read").stderr_has("missing.csv");
    assert_eq!(d.count("Contact"), 0);
}

#[test]
fn import_refuses_a_restricted_picklist_value() {
    // Contact has no restricted picklist in the standard schema; Lead.Status is one.
    let d = Dialtone::new();
    let csv = d.file(
        "leads.csv",
        "LastName,Company,Status\n\
         Lovelace,Analytical Engines,Working - Contacted\n\
         Hopper,Navy,Bogus\n\
         Turing,Bletchley,\n",
    );
    d.dt(&["import", "Lead", &csv])
        .code(2)
        .stdout_has("imported 2 of 3 Lead row(s); 1 refused")
        .stderr_has("row 3: ")
        .stderr_has("Status")
        .stderr_has("Bogus")
        .stderr_has("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let (rows, total) = d.query("SELECT LastName, Status FROM Lead ORDER BY LastName");
    assert_eq!(total, 2);
    assert_eq!(rows[0]["Status"], "Working - Contacted");
    assert_eq!(rows[1]["Status"], "Open - Not Contacted", "an empty cell takes the default");
}

#[test]
fn import_refuses_a_row_that_is_not_utf8_and_keeps_the_others() {
    let d = Dialtone::new();
    let mut bytes = b"FirstName,LastName\nAda,Lovelace\n".to_vec();
    bytes.extend_from_slice(b"Andr\xe9,Latin1\n");
    bytes.extend_from_slice(b"Grace,Hopper\n");
    let csv = d.file("mixed.csv", bytes);
    let errors = d.path("refused.csv");
    d.dt(&["import", "Contact", &csv, "--errors", errors.to_str().unwrap()])
        .code(2)
        .stdout_has("imported 2 of 3 Contact row(s); 1 refused")
        .stderr_has("row 3: FirstName is not UTF-8 text; save the file as UTF-8 (in Excel: CSV UTF-8)");
    assert_eq!(d.count("Contact"), 2);
    let (_, refused) = read_csv(&errors);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0][2], "3");
}

#[test]
fn import_of_an_unterminated_quote_refuses_the_row_it_starts() {
    let d = Dialtone::new();
    let csv = d.file(
        "quote.csv",
        "FirstName,LastName,Title\n\
         Ada,Lovelace,Countess\n\
         Grace,Hopper,\"Rear Admiral\n\
         Alan,Turing,Mathematician\n",
    );
    let errors = d.path("refused.csv");
    let out = d.dt(&["import", "Contact", &csv, "--errors", errors.to_str().unwrap()]);
    out.code(2)
        .stdout_has("imported 1 of 2 Contact row(s); 1 refused")
        .stderr_has("row 3: a quoted field is never closed: it runs from this row to the end of the file; add the closing \"");
    let (rows, total) = d.query("SELECT LastName, Title FROM Contact");
    assert_eq!(total, 1, "only the row before the quote\n{}", out.dump());
    assert_eq!(rows[0]["LastName"], "Lovelace");
    // The refused row keeps what the quote swallowed, to fix by hand.
    let (_, refused) = read_csv(&errors);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0][..3], ["Grace", "Hopper", "Rear Admiral\nAlan,Turing,Mathematician\n"]);
    assert_eq!(refused[0][3], "3");

    // A closed quote spanning lines, and a literal quote inside an unquoted field, are fine.
    let fine = d.file(
        "fine.csv",
        "FirstName,LastName,Title\n\
         Edsger,Dijkstra,\"Professor,\n\"\"EWD\"\"\"\n\
         Barbara,Liskov,5\" tall\n",
    );
    d.dt(&["import", "Contact", &fine]).ok().stdout_has("imported 2 of 2 Contact row(s); 0 refused");
    let (rows, _) = d.query("SELECT Title FROM Contact WHERE LastName = 'Dijkstra'");
    assert_eq!(rows[0]["Title"], "Professor,\n\"EWD\"");
}

#[test]
fn import_of_an_empty_file_or_a_header_alone() {
    let d = Dialtone::new();
    let empty = d.file("empty.csv", "");
    d.dt(&["import", "Contact", &empty])
        .code(2)
        .stderr_has("empty.csv: the file is empty; its first row must name the fields, e.g. FirstName,LastName,Phone");
    let blank = d.file("blank.csv", "\n\r\n\n");
    d.dt(&["import", "Contact", &blank]).code(2).stderr_has("the file is empty");
    let header_only = d.file("header.csv", "FirstName,LastName\n");
    d.dt(&["import", "Contact", &header_only]).ok().stdout_has("imported 0 of 0 Contact row(s); 0 refused");
    assert_eq!(d.count("Contact"), 0);
}

#[test]
fn lookup_finds_imported_contacts_however_their_numbers_were_written() {
    let d = Dialtone::new();
    let csv = d.file(
        "contacts.csv",
        "FirstName,LastName,Phone,MobilePhone\n\
         Ada,Lovelace,+1 415-555-1212,\n\
         Grace,Hopper,4155551212,\n\
         Alan,Turing,,(415) 555.1212\n\
         Edsger,Dijkstra,+1 (415) 555-9999,\n\
         Barbara,Liskov,+44 20 7946 0958,\n",
    );
    d.dt(&["import", "Contact", &csv]).ok();

    let out = d.dt(&["lookup", "(415) 555-1212"]);
    out.ok().stdout_has("+14155551212: 3 match(es)");
    for name in ["Ada Lovelace", "Grace Hopper", "Alan Turing"] {
        out.stdout_has(name);
    }
    assert!(!out.stdout.contains("Dijkstra") && !out.stdout.contains("Liskov"), "{}", out.dump());
    let fields: Vec<&str> = out.stdout.lines().skip(1).filter_map(|l| l.trim_end().rsplit(' ').next()).collect();
    assert_eq!(fields.iter().filter(|f| **f == "(Phone)").count(), 2, "{}", out.dump());
    assert_eq!(fields.iter().filter(|f| **f == "(MobilePhone)").count(), 1, "{}", out.dump());

    for written in ["4155551212", "+1 415 555 1212", "1-415-555-1212", "tel:+14155551212"] {
        d.dt(&["lookup", written]).ok().stdout_has("+14155551212: 3 match(es)");
    }
    d.dt(&["lookup", "+44 20 7946 0958"]).ok().stdout_has("+442079460958: 1 match(es)").stdout_has("Barbara Liskov");
    d.dt(&["lookup", "415-555-0000"]).ok().stdout_has("+14155550000: 0 match(es)");
    d.dt(&["lookup", "not a number"]).code(2).stderr_has("\"not a number\" is not a phone number");
}

// ---------------------------------------------------------------------------------------------
// 5. Queries
// ---------------------------------------------------------------------------------------------

#[test]
fn query_prints_json_lines_and_total_size() {
    let d = Dialtone::new();
    d.dt(&["import", "Contact", &d.file("c.csv", "FirstName,LastName\nAda,Lovelace\nGrace,Hopper\n")]).ok();
    let out = d.dt(&["query", "SELECT FirstName, LastName FROM Contact ORDER BY LastName"]);
    out.ok().stderr_has("totalSize: 2");
    assert_eq!(out.stdout, "{\"FirstName\":\"Grace\",\"LastName\":\"Hopper\"}\n{\"FirstName\":\"Ada\",\"LastName\":\"Lovelace\"}\n");
    let count = d.dt(&["query", "SELECT COUNT() FROM Contact"]);
    count.ok().stderr_has("totalSize: 2");
    assert!(count.stdout.is_empty());
}

#[test]
fn read_only_commands_refuse_a_mistyped_data_directory() {
    let d = Dialtone::new();
    for args in [&["query", "SELECT Id FROM Contact"][..], &["lookup", "4155551212"], &["callcenter", "list"], &["callcenter", "export", "X"]] {
        d.dt(args).code(2).stderr_has("no Dialtone data in");
    }
    assert!(!d.data().exists(), "nothing was created");
}

#[test]
fn query_with_malformed_soql_exits_2_with_the_error_code() {
    let d = Dialtone::with_store();
    let cases: &[(&str, &str)] = &[
        ("SELECT FROM Contact", "MALFORMED_QUERY"),
        ("SELEC Id FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact WHERE LastName = 'unterminated", "MALFORMED_QUERY"),
        ("SELECT Id FROM Contact LIMIT ten", "MALFORMED_QUERY"),
        ("", "MALFORMED_QUERY"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Nope FROM Contact", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE LastName > 5", "INVALID_QUERY_FILTER_OPERATOR"),
    ];
    for (soql, code) in cases {
        let out = d.dt(&["query", soql]);
        out.code(2).stderr_has(&format!("error: {code}")).stderr_lacks("totalSize");
        assert!(out.stdout.is_empty(), "{}", out.dump());
    }
}

#[test]
fn setup_changes_are_audited_and_erasure_and_retention_run_from_the_command_line() {
    let d = Dialtone::with_store();
    d.run(&["user", "add", "sam@example.com", "--profile", "Agent", "--data", d.data().to_str().unwrap()], Some(b"long enough secret\n")).code(0);
    d.run(&["user", "add", "x@example.com", "--profile", "Janitor", "--data", d.data().to_str().unwrap()], Some(b"long enough secret\n"))
        .code(2)
        .stderr_has("no profile named \"Janitor\"");
    let csv = d.file("people.csv", "LastName,Phone,Email\nDoe,(415) 555-0199,jane@example.com\nRoe,(415) 555-0100,\n");
    d.dt(&["import", "Contact", &csv]).code(0);
    let out = d.dt(&["erase", "--phone", "415-555-0199", "--dry-run"]);
    out.code(0).stderr_has("would erase: 1 record(s)");
    assert_eq!(d.query("SELECT Id FROM Contact").1, 2, "a dry run erases nothing");
    let receipt = d.path("receipt.json");
    d.dt(&["erase", "--email", "jane@example.com", "--receipt", receipt.to_str().unwrap()]).code(0).stderr_has("erased: 1 record(s)");
    assert_eq!(d.query("SELECT Id FROM Contact").1, 1);
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&receipt).unwrap()).unwrap();
    assert_eq!(r["recordsDeleted"].as_array().unwrap().len(), 1);
    d.dt(&["erase", "--phone", "not a number"]).code(2);
    d.dt(&["retention", "--dry-run"]).code(0).stdout_has("would remove 0 recording reference(s)");
    let trail = d.dt(&["audit"]);
    trail.code(0).stdout_has("user.add").stdout_has("sam@example.com").stdout_has("app.add");
    let export = d.dt(&["security", "export"]);
    export.code(0).stdout_has("\"Supervisor\"");
    let file = d.file("sec.json", export.stdout.replace("\"Read Only\"", "\"Read Only Renamed\""));
    d.dt(&["security", "import", &file]).code(0).stdout_has("imported");
    d.dt(&["audit"]).code(0).stdout_has("security.import");
    let bad = d.file("bad.json", "{\"orgWideDefaults\": {\"Contact\": \"Sometimes\"}}");
    d.dt(&["security", "import", &bad]).code(2).stderr_has("nothing was changed");
}

#[test]
fn carrier_credentials_are_stored_encrypted_and_never_shown() {
    let d = Dialtone::with_store();
    let secret = "AC-super-secret-auth-token-123";
    let data = d.data();
    d.run(&["credential", "set", "twilio.auth_token", "--data", data.to_str().unwrap()], Some(secret.as_bytes())).code(0).stdout_has("encrypted with key");
    let list = d.dt(&["credential", "list"]);
    list.code(0).stdout_has("twilio.auth_token").stdout_lacks(secret);
    d.run(&["credential", "set", "bad name!", "--data", data.to_str().unwrap()], Some(b"x")).code(2);
    // Nowhere on disk in clear: not in the database, its WAL, or the audit trail.
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds the credential in clear", path.display());
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("secret.key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    d.dt(&["audit"]).code(0).stdout_has("credential.set").stdout_lacks(secret);
}

#[test]
fn calls_list_shows_recent_voice_calls_as_the_api_would() {
    let d = Dialtone::with_store();
    d.dt(&["calls", "list", "--since", "10m"]).code(0).stderr_has("0 call(s) since 10m ago");
    for bad in ["ten minutes", "10", "0m", "5w"] {
        d.dt(&["calls", "list", "--since", bad]).code(2).stderr_has("is not a time window");
    }
    let csv = d.file("calls.csv", format!(
        "VendorCallKey,CallType,CallDisposition,FromPhoneNumber,CallStartDateTime\nCA-new,Inbound,completed,+14155550142,{}\nCA-old,Inbound,completed,+14155550143,2020-01-01T00:00:00Z\n",
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
    ));
    d.dt(&["import", "VoiceCall", &csv]).code(0);
    let out = d.dt(&["calls", "list", "--since", "1h", "--format", "json"]);
    out.code(0);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["totalSize"], 1, "{}", out.stdout);
    assert_eq!(v["records"][0]["VendorCallKey"], "CA-new");
    assert_eq!(v["records"][0]["attributes"]["type"], "VoiceCall");
    d.dt(&["calls", "list", "--since", "7d"]).code(0).stdout_has("CA-new").stdout_lacks("CA-old");
}

// ---------------------------------------------------------------------------------------------
// The simulator against a running server
// ---------------------------------------------------------------------------------------------

/// A `dialtone serve` child process, stopped (by its own id) when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dialtone {
    /// Starts `dialtone serve --demo` on a free local port and waits until /health answers.
    fn serve_demo(&self) -> Server {
        self.serve_demo_with(&[])
    }

    /// `serve_demo` with more `serve` flags.
    fn serve_demo_with(&self, extra: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(self.path("server.log")).unwrap();
        let http = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--demo", "--http", &http];
        args.extend_from_slice(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_dialtone"))
            .args(&args)
            .current_dir(self.dir.path())
            .env("DIALTONE_DATA", self.data())
            .env_remove("DIALTONE_STORE")
            .env_remove("DIALTONE_REGION")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dialtone serve");
        let server = Server { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            if ureq::get(&format!("{}/health", server.url)).call().is_ok() {
                return server;
            }
            assert!(std::time::Instant::now() < deadline, "the server did not start:\n{}", std::fs::read_to_string(self.path("server.log")).unwrap_or_default());
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

#[test]
fn simulate_drives_calls_through_a_running_server() {
    let d = Dialtone::new();
    let server = d.serve_demo();
    let token = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "simulator"]);
    token.code(0);
    let token = token.stdout.trim().to_string();
    let agent = d.dt(&["token", "create", "agent1@dialtone.demo"]);
    let agent = agent.stdout.trim().to_string();
    let sim = |token: &str, extra: &[&str]| {
        let mut args = vec!["simulate", "--server", &server.url, "--token", token];
        args.extend_from_slice(extra);
        d.run(&args, None)
    };
    // The caller's mistakes exit 2, an unreachable server 1; none of them writes a call.
    sim("not-a-token", &["--calls", "1"]).code(2).stderr_has("refused the token");
    sim(&agent, &["--calls", "1", "--speed", "100000"]).code(2).stderr_has("Manage Call Centers");
    sim(&token, &["--calls", "1", "--call-center", "NoSuchCenter"]).code(2).stderr_has("no call center named NoSuchCenter");
    sim(&token, &["--calls", "0"]).code(2);
    d.run(&["simulate", "--server", "http://127.0.0.1:9", "--token", &token, "--calls", "1"], None).code(1).stderr_has("cannot reach");
    assert_eq!(d.count("VoiceCall"), 0);

    let out = sim(&token, &["--rate", "50", "--calls", "20", "--speed", "600", "--call-center", "DialtoneDemo", "--seed", "7"]);
    out.code(0).stdout_has("simulated 20 calls").stdout_has("seed 7");
    let (rows, total) = d.query("SELECT VendorCallKey, CallDisposition, CallEndDateTime, PreviousCallId, RelatedRecordId, CallType FROM VoiceCall");
    let first_legs: Vec<_> = rows.iter().filter(|r| r["PreviousCallId"].is_null()).collect();
    assert_eq!(first_legs.len(), 20, "one VoiceCall per simulated call (plus one per transfer leg)\n{}", out.dump());
    assert!(rows.iter().all(|r| !r["CallEndDateTime"].is_null()), "every call ended: {rows:?}");
    let dispositions: std::collections::BTreeSet<&str> = rows.iter().filter_map(|r| r["CallDisposition"].as_str()).collect();
    assert!(dispositions.len() >= 3, "a mix of outcomes: {dispositions:?}");
    assert!(dispositions.iter().all(|d| ["completed", "canceled", "voicemail", "no-answer", "busy"].contains(d)), "{dispositions:?}");
    assert!(rows.iter().any(|r| r["RelatedRecordId"].is_string()), "some callers are the org's Contacts, matched for a screen pop");
    // The summary adds up to the calls made.
    let counted: usize = out.stdout.lines().skip(1).filter_map(|l| l.split_whitespace().last()?.parse::<usize>().ok()).sum();
    assert_eq!(counted, 20, "{}", out.stdout);
    // `calls list` sees them as the API would.
    let list = d.dt(&["calls", "list", "--since", "1d", "--format", "json"]);
    list.code(0);
    let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v["totalSize"].as_u64(), Some(total as u64));
    // `report` gives the dashboard's figures from the command line, over the same records.
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = ((today - time::Duration::days(1)).to_string(), today.to_string());
    let rep = d.dt(&["report", "summary", "--from", &from, "--to", &to, "--format", "json"]);
    rep.code(0);
    let j: serde_json::Value = serde_json::from_str(&rep.stdout).unwrap();
    let calls = j["rows"].as_array().unwrap().iter().find(|r| r[0] == "calls").unwrap()[2].as_u64();
    assert_eq!(calls, Some(total as u64), "{}", rep.dump());
    let csv = d.dt(&["report", "outcomes", "--from", &from, "--to", &to]);
    csv.code(0).stdout_has("Outcome,Calls");
    d.dt(&["report", "nonsense"]).code(2).stderr_has("calls-by-day");
    d.dt(&["report", "summary", "--from", "2026-02-30"]).code(2).stderr_has("YYYY-MM-DD");
    // In a time zone: its days and hours, the hours of the same calls moved by the zone's offset.
    let tomorrow = (today + time::Duration::days(1)).to_string();
    let hours = |zone: &str| {
        let out = d.dt(&["report", "calls-by-hour", "--from", &from, "--to", &tomorrow, "--format", "json", "--time-zone", zone]);
        out.code(0);
        let j: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(j["timeZone"], zone);
        j["rows"].as_array().unwrap().iter().map(|r| r[1].as_u64().unwrap()).collect::<Vec<_>>()
    };
    let (utc, tokyo) = (hours("UTC"), hours("Asia/Tokyo"));
    assert_eq!((utc.len(), utc.iter().sum::<u64>()), (24, total as u64));
    for h in 0..24 {
        assert_eq!(tokyo[(h + 9) % 24], utc[h], "Tokyo is UTC+9 all year: {utc:?} / {tokyo:?}");
    }
    d.dt(&["report", "summary", "--time-zone", "Mars/Olympus_Mons"]).code(2).stderr_has("is not a time zone");
}

// ---------------------------------------------------------------------------------------------
// `--server URL --token T`: commands acting through a running server's API
// ---------------------------------------------------------------------------------------------

/// `GET url` with a bearer token: (status, JSON body).
fn api_get(url: &str, token: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut res = agent.get(url).header("Authorization", &format!("Bearer {token}")).call().expect("server reachable");
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn agent_status_and_calls_list_work_through_a_running_server() {
    let d = Dialtone::new();
    let server = d.serve_demo();
    let admin = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "remote"]).stdout.trim().to_string();
    let agent1 = d.dt(&["token", "create", "agent1@dialtone.demo"]).stdout.trim().to_string();
    let remote = |token: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--server", &server.url, "--token", token]);
        d.run(&all, None)
    };

    // An admin sets an agent's presence; the API shows it, and the audit trail has it.
    remote(&admin, &["agent", "status", "agent1@dialtone.demo", "Available"]).ok().stdout_has("agent1@dialtone.demo is Available");
    let (status, v) = api_get(&format!("{}/api/agents/agent1@dialtone.demo/presence", server.url), &admin);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "Available", "{v}");
    assert_eq!(v["callCenter"], "DialtoneDemo", "{v}");
    assert!(v["since"].is_string(), "{v}");
    let (_, list) = api_get(&format!("{}/api/agents?callCenter=DialtoneDemo", server.url), &admin);
    let listed: Vec<(&str, &str)> = list["agents"].as_array().unwrap().iter().map(|a| (a["username"].as_str().unwrap(), a["status"].as_str().unwrap())).collect();
    assert!(listed.contains(&("agent1@dialtone.demo", "Available")), "{list}");
    let (_, audit) = api_get(&format!("{}/api/setup/audit", server.url), &admin);
    assert!(
        audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "agent.status" && e["target"] == "agent1@dialtone.demo" && e["after"] == "Available"),
        "{audit}"
    );

    // An agent sets their own presence, not a colleague's.
    remote(&agent1, &["agent", "status", "agent1@dialtone.demo", "Away"]).ok();
    let (_, v) = api_get(&format!("{}/api/agents/agent1@dialtone.demo/presence", server.url), &agent1);
    assert_eq!(v["status"], "Away", "{v}");
    remote(&agent1, &["agent", "status", "agent2@dialtone.demo", "Away"]).code(2).stderr_has("not allowed (403").stderr_has("Manage Call Centers");
    // The caller's mistakes exit 2 with the server's reason; an unreachable server 1.
    remote("not-a-token", &["agent", "status", "agent1@dialtone.demo", "Busy"]).code(2).stderr_has("refused the token").stderr_has("INVALID_SESSION_ID");
    remote(&admin, &["agent", "status", "nobody@dialtone.demo", "Busy"]).code(2).stderr_has("NOT_FOUND no user named nobody@dialtone.demo");
    remote(&admin, &["agent", "status", "admin@dialtone.demo", "Busy"]).code(2).stderr_has("NO_CALL_CENTER");
    remote(&admin, &["agent", "status", "agent1@dialtone.demo", "Sleepy"]).code(2).stderr_has("is not a status");
    d.run(&["agent", "status", "agent1@dialtone.demo", "Busy", "--server", "http://127.0.0.1:9", "--token", &admin], None).code(1).stderr_has("cannot reach");
    let (_, v) = api_get(&format!("{}/api/agents/agent1@dialtone.demo/presence", server.url), &admin);
    assert_eq!(v["status"], "Away", "refused changes changed nothing: {v}");

    // `calls list --server` prints what `calls list --data` prints.
    d.run(&["simulate", "--server", &server.url, "--token", &admin, "--calls", "6", "--rate", "100", "--speed", "100000", "--seed", "3"], None).ok();
    let local = d.dt(&["calls", "list", "--since", "1d", "--format", "json"]);
    local.ok();
    let over_api = remote(&admin, &["calls", "list", "--since", "1d", "--format", "json"]);
    over_api.ok();
    let local: serde_json::Value = serde_json::from_str(&local.stdout).unwrap();
    let over_api: serde_json::Value = serde_json::from_str(&over_api.stdout).unwrap();
    assert!(local["totalSize"].as_u64().unwrap() >= 6, "{local}");
    assert_eq!(over_api["records"], local["records"]);
    assert_eq!(over_api["totalSize"], local["totalSize"]);
    let table = remote(&admin, &["calls", "list", "--since", "1d"]);
    table.ok();
    assert_eq!(table.stdout, d.dt(&["calls", "list", "--since", "1d"]).stdout);
    remote("not-a-token", &["calls", "list"]).code(2).stderr_has("refused the token");
}

/// POST a JSON body with a bearer token: (status, JSON body).
fn api_post(url: &str, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut res = agent.post(url).header("Authorization", &format!("Bearer {token}")).send_json(body).expect("server reachable");
    let status = res.status().as_u16();
    (status, res.body_mut().read_json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn serve_reaps_a_call_whose_end_never_comes_after_max_call_age() {
    let d = Dialtone::new();
    d.dt(&["serve", "--max-call-age", "soon"]).code(2).stderr_has("--max-call-age \"soon\" is not a time");
    let server = d.serve_demo_with(&["--max-call-age", "2s", "--ring-timeout", "1h"]);
    let admin = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "carrier"]).stdout.trim().to_string();
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, v) = api_post(
        &format!("{}/api/calls/events", server.url),
        &admin,
        serde_json::json!([{"vendorCallKey": "never-ends-1", "seq": 1, "at": now, "kind": "initiated",
            "direction": "inbound", "from": "+14155550100", "to": "+18005550000", "callCenter": "DialtoneDemo"}]),
    );
    assert!(status < 300, "{status} {v}");
    // The carrier never says the call ended: the reaper (at most 5 s between rounds) closes it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (rows, _) = d.query("SELECT DisconnectReason, CallDisposition, CallEndDateTime FROM VoiceCall WHERE VendorCallKey = 'never-ends-1'");
        assert_eq!(rows.len(), 1, "one VoiceCall from the first event: {rows:?}");
        if rows[0]["DisconnectReason"] == "Reaped" {
            assert_eq!(rows[0]["CallDisposition"], "failed", "never answered: {rows:?}");
            assert!(rows[0]["CallEndDateTime"].is_string(), "{rows:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not reaped within a minute: {rows:?}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    drop(server);
}

#[test]
fn callcenter_settings_choose_the_wrap_up_outcomes_and_whether_tasks_are_written() {
    let d = Dialtone::new();
    // The demo org exists once a server has started on the data directory.
    drop(d.serve_demo());
    d.dt(&["callcenter", "settings", "DialtoneDemo"]).ok().stdout_has("\"writeTasks\": true").stdout_has("\"Callback Requested\"");
    d.dt(&["callcenter", "settings", "DialtoneDemo", "--resolutions", " ; "]).code(2).stderr_has("nothing was changed");
    d.dt(&["callcenter", "settings", "DialtoneDemo", "--resolutions", "Fixed;fixed"]).code(2).stderr_has("listed twice");
    d.dt(&["callcenter", "settings", "DialtoneDemo", "--local-area-code", "4l5"]).code(2).stderr_has("not an area code");
    d.dt(&["callcenter", "settings", "DialtoneDemo", "--write-tasks", "maybe"]).code(2).stderr_has("say on or off");
    d.dt(&["callcenter", "settings", "NoSuchCenter"]).code(2).stderr_has("no call center named NoSuchCenter");
    d.dt(&["callcenter", "settings", "DialtoneDemo", "--resolutions", "Fixed; Not fixed", "--write-tasks", "off", "--wrap-up-required", "off"])
        .ok()
        .stdout_has("\"Not fixed\"")
        .stdout_has("\"writeTasks\": false");
    d.dt(&["audit"]).ok().stdout_has("callcenter.settings");

    let server = d.serve_demo();
    let admin = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "carrier"]).stdout.trim().to_string();
    let agent = d.dt(&["token", "create", "agent1@dialtone.demo"]).stdout.trim().to_string();
    let (rows, _) = d.query("SELECT Id FROM User WHERE Username = 'agent1@dialtone.demo'");
    let agent_id = rows[0]["Id"].as_str().unwrap().to_string();
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let ev = |seq: u64, kind: &str, extra: serde_json::Value| {
        let mut e = serde_json::json!({"vendorCallKey": "settings-1", "seq": seq, "at": now, "kind": kind});
        e.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        e
    };
    let (status, v) = api_post(
        &format!("{}/api/calls/events", server.url),
        &admin,
        serde_json::json!([
            ev(1, "initiated", serde_json::json!({"direction": "inbound", "from": "+14155550100", "to": "+18005550000", "callCenter": "DialtoneDemo"})),
            ev(2, "answered", serde_json::json!({"agent": agent_id})),
            ev(3, "ended", serde_json::json!({"reason": "customerDisconnect"})),
        ]),
    );
    assert!(status < 300, "{status} {v}");
    let wrap = |resolution: &str| api_post(&format!("{}/api/desktop/calls/settings-1/wrapup", server.url), &agent, serde_json::json!({"resolution": resolution}));
    let (status, v) = wrap("Resolved");
    assert_eq!((status, v[0]["errorCode"].as_str()), (400, Some("INVALID_RESOLUTION")), "the standard list is replaced: {v}");
    let (status, v) = wrap("Not fixed");
    assert_eq!(status, 202, "{v}");
    let (rows, _) = d.query("SELECT CallResolution FROM VoiceCall WHERE VendorCallKey = 'settings-1'");
    assert_eq!(rows[0]["CallResolution"], "Not fixed", "{rows:?}");
    assert_eq!(d.count("Task"), 0, "this call center writes no Tasks");
}

#[test]
fn callcenter_layout_prints_the_screen_pop_rules_and_replaces_them_only_when_valid() {
    let d = Dialtone::new();
    drop(d.serve_demo());
    let shown = d.dt(&["callcenter", "layout", "DialtoneDemo"]);
    shown.ok();
    let mut layout: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(layout["inbound"]["noMatch"]["object"], "Contact", "the default pops a New Contact: {layout}");
    // Unknown numbers should open a New Lead instead.
    layout["inbound"]["noMatch"]["object"] = "Lead".into();
    let good = d.file("layout.json", serde_json::to_string(&layout).unwrap());
    d.dt(&["callcenter", "layout", "DialtoneDemo", "--file", &good]).ok().stdout_has("\"Lead\"");
    let mut bad = layout.clone();
    bad["outbound"]["searchOrder"] = serde_json::json!(["Contact", "Opportunity"]);
    let bad = d.file("bad.json", serde_json::to_string(&bad).unwrap());
    d.dt(&["callcenter", "layout", "DialtoneDemo", "--file", &bad]).code(2).stderr_has("outbound.searchOrder").stderr_has("nothing was changed");
    let broken = d.file("broken.json", "{\"inbound\": ");
    d.dt(&["callcenter", "layout", "DialtoneDemo", "--file", &broken]).code(2).stderr_has("not a softphone layout");
    let now: serde_json::Value = serde_json::from_str(&d.dt(&["callcenter", "layout", "DialtoneDemo"]).stdout).unwrap();
    assert_eq!(now, layout, "only the valid layout was stored");
    d.dt(&["audit"]).ok().stdout_has("callcenter.softphoneLayout");
}

/// Regression: `serve` built its call desk after the desktop hub had subscribed to
/// another one, so no agent's WebSocket ever got an offer (every in-process test passed).
#[test]
fn serve_delivers_an_offer_with_its_screen_pop_to_the_agents_websocket() {
    use tungstenite::client::IntoClientRequest;
    let d = Dialtone::new();
    let server = d.serve_demo();
    let admin = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "carrier"]).stdout.trim().to_string();
    let agent = d.dt(&["token", "create", "agent1@dialtone.demo"]).stdout.trim().to_string();
    let (rows, _) = d.query("SELECT Id FROM User WHERE Username = 'agent1@dialtone.demo'");
    let agent_id = rows[0]["Id"].as_str().unwrap().to_string();
    let (contacts, _) = d.query("SELECT Id, Phone FROM Contact WHERE Phone != null ORDER BY Id LIMIT 1");
    let (contact, phone) = (contacts[0]["Id"].as_str().unwrap().to_string(), contacts[0]["Phone"].as_str().unwrap().to_string());

    let mut request = format!("{}/api/desktop/ws", server.url.replacen("http", "ws", 1)).into_client_request().unwrap();
    request.headers_mut().insert("Authorization", format!("Bearer {agent}").parse().unwrap());
    let (mut socket, _) = tungstenite::connect(request).expect("the desktop WebSocket opens");
    if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    }
    let mut next = || -> serde_json::Value {
        loop {
            match socket.read().expect("a message within 20 s") {
                tungstenite::Message::Text(t) => return serde_json::from_str(&t).unwrap(),
                _ => continue,
            }
        }
    };
    assert_eq!(next()["type"], "hello");

    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let (status, v) = api_post(
        &format!("{}/api/calls/events", server.url),
        &admin,
        serde_json::json!([
            {"vendorCallKey": "ws-1", "seq": 1, "at": now, "kind": "initiated", "direction": "inbound", "from": phone, "to": "+18005550000", "callCenter": "DialtoneDemo"},
            {"vendorCallKey": "ws-1", "seq": 2, "at": now, "kind": "offered", "agent": agent_id},
        ]),
    );
    assert!(status < 300, "{status} {v}");
    let offer = loop {
        let m = next();
        if m["type"] == "offer" {
            break m;
        }
    };
    assert_eq!(offer["call"]["key"], "ws-1", "{offer}");
    assert_eq!(offer["pop"]["outcome"], "matched", "{offer}");
    assert_eq!(offer["pop"]["records"][0]["id"].as_str(), Some(contact.as_str()), "{offer}");
}

#[test]
fn routing_files_validate_import_and_export_and_bad_ones_write_nothing() {
    let d = Dialtone::with_store();
    let legacy = d.file("AcmeClick2Dial.xml", LEGACY);
    d.dt(&["callcenter", "import", &legacy]).ok();
    let good = d.file(
        "routing.yaml",
        "skills: [spanish]\nqueues:\n  - name: Support\n    callCenter: AcmeClick2Dial\nrules:\n  - name: Spanish\n    dialledNumber: \"+1 800 555 0199\"\n    queue: Support\n    skills: [{skill: spanish, level: 3, optionalAfterSeconds: 45}]\n",
    );
    d.dt(&["routing", "validate", &good]).ok().stdout_has("a usable routing configuration (3 records); nothing was written");
    d.dt(&["routing", "export", "--format", "json"]).ok().stdout_has("{}");
    d.dt(&["routing", "import", &good]).ok().stdout_has("imported, 3 routing records");
    let out = d.dt(&["routing", "export"]);
    out.ok().stdout_has("callCenter: AcmeClick2Dial").stdout_has("optionalAfterSeconds: 45");
    // What export writes imports back as it was.
    let again = d.file("again.yaml", &out.stdout);
    d.dt(&["routing", "import", &again]).ok();
    assert_eq!(d.dt(&["routing", "export"]).stdout, out.stdout);

    let broken = d.file("broken.yaml", "queues:\n  - name: [oops\n");
    d.dt(&["routing", "import", &broken]).code(2).stderr_has("line 2");
    let wrong = d.file("wrong.yaml", "queues:\n  - name: A\n    callCenter: Nowhere\nrules:\n  - name: R\n    queue: Ghost\n");
    d.dt(&["routing", "import", &wrong])
        .code(2)
        .stderr_has("nothing was written")
        .stderr_has("no call center has the internal name \"Nowhere\"");
    assert_eq!(d.dt(&["routing", "export"]).stdout, out.stdout, "refused files changed nothing");
    d.dt(&["routing", "export", "--format", "xml"]).code(2).stderr_has("yaml or json");
}

/// `serve --log-format json` (or `DIALTONE_LOG_FORMAT=json`): one JSON object a
/// line, and no caller's number in any of them (kept to its last two digits).
#[test]
fn serve_logs_json_lines_with_callers_numbers_masked() {
    let d = Dialtone::new();
    let server = d.serve_demo_with(&["--log-format", "json"]);
    let token = d.dt(&["token", "create", "admin@dialtone.demo", "--label", "simulator"]);
    let token = token.stdout.trim().to_string();
    d.run(&["simulate", "--server", &server.url, "--token", &token, "--calls", "3", "--speed", "600", "--seed", "3"], None).code(0);
    let numbers: Vec<String> = d.query("SELECT FromPhoneNumber FROM VoiceCall").0.iter().filter_map(|r| r["FromPhoneNumber"].as_str().map(str::to_string)).collect();
    assert!(!numbers.is_empty());
    let log = std::fs::read_to_string(d.path("server.log")).unwrap();
    let lines: Vec<serde_json::Value> = log.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let started: Vec<&serde_json::Value> = lines.iter().filter(|l| l["fields"]["message"] == "call started").collect();
    assert!(started.len() >= 3, "each call's start is logged:\n{log}");
    assert!(started.iter().all(|l| l["fields"]["from"].as_str().is_some_and(|f| f.contains("****"))), "{log}");
    for n in &numbers {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        assert!(!log.contains(&digits[digits.len().saturating_sub(10)..]), "{n} leaked into the log:\n{log}");
    }
    drop(server);
}

#[test]
fn flows_files_validate_import_and_export_and_bad_ones_write_nothing() {
    let d = Dialtone::with_store();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/flows.yaml");
    let example = example.to_str().unwrap();
    d.dt(&["flows", "validate", example]).ok().stdout_has("3 usable flow(s); nothing was written");
    d.dt(&["flows", "import", example]).ok().stdout_has("imported 3 flow(s)");
    let out = d.dt(&["flows", "export"]);
    out.ok().stdout_has("name: Callback follow-up").stdout_has("windowField: CallStartDateTime");
    let again = d.file("again.yaml", &out.stdout);
    d.dt(&["flows", "import", &again]).ok();
    assert_eq!(d.dt(&["flows", "export"]).stdout, out.stdout, "what export writes imports back as it was");
    let broken = d.file("broken.yaml", "flows:\n  - name: [oops\n");
    d.dt(&["flows", "import", &broken]).code(2).stderr_has("line 2");
    let wrong = d.file("wrong.yaml", "flows:\n  - name: A\n    object: Nowhere\n    when: created\n    actions: [{callback: {}}]\n");
    d.dt(&["flows", "import", &wrong]).code(2).stderr_has("nothing was written").stderr_has("there is no object \"Nowhere\"");
    assert_eq!(d.dt(&["flows", "export"]).stdout, out.stdout, "refused files changed nothing");
}

#[test]
fn rows_imported_while_no_server_runs_still_fire_their_flows_once_it_starts() {
    let d = Dialtone::new();
    drop(d.serve_demo()); // a set-up org, then the server is stopped
    let flows = d.file(
        "welcome.yaml",
        "flows:\n  - name: Welcome call\n    object: Contact\n    when: created\n    condition: \"Title = 'Buyer'\"\n    actions:\n      - create: {object: Task, fields: {Subject: \"Welcome {!LastName}\", WhoId: \"{!Id}\"}}\n",
    );
    d.dt(&["flows", "import", &flows]).ok();
    let csv = d.file("new.csv", "FirstName,LastName,Title\nAda,Offline,Buyer\nGrace,Offline,Buyer\nAlan,Offline,Engineer\n");
    d.dt(&["import", "Contact", &csv]).ok().stdout_has("imported 3 of 3");
    assert_eq!(d.count("Task WHERE Subject LIKE 'Welcome %'"), 0, "nothing runs the flows yet");
    let _server = d.serve_demo();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while d.count("FlowRun WHERE FlowName = 'Welcome call' AND Status IN ('Succeeded', 'Skipped')") < 3 {
        assert!(std::time::Instant::now() < deadline, "the imported rows never reached the flows");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (rows, _) = d.query("SELECT Subject FROM Task WHERE Subject LIKE 'Welcome %' ORDER BY Subject");
    let subjects: Vec<&str> = rows.iter().filter_map(|r| r["Subject"].as_str()).collect();
    assert_eq!(subjects, ["Welcome Offline", "Welcome Offline"], "one Task per Buyer, none for the engineer");
}
