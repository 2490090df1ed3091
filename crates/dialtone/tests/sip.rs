//! The SIP edge against a real peer: sipp (Debian's `sip-tester`) plays the carrier and the
//! agent's desk phone over loopback, `dialtone serve --sip` sits between them, and the
//! VoiceCalls are read back with `dialtone query`. `scripts/test.sh` installs sipp.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dialtone");
const CALL_CENTER: &str = r#"<callCenter>
  <section sortOrder="0" name="reqGeneralInfo" label="General Information">
    <item sortOrder="0" name="reqInternalName" label="Internal Name">SipCC</item>
    <item sortOrder="1" name="reqDisplayName" label="Display Name">SIP Call Center</item>
    <item sortOrder="2" name="reqAdapterUrl" label="CTI Adapter URL">/softphone</item>
    <item sortOrder="3" name="reqUseApi" label="Use CTI API">true</item>
    <item sortOrder="4" name="reqSoftphoneHeight" label="Softphone Height">500</item>
    <item sortOrder="5" name="reqSoftphoneWidth" label="Softphone Width">320</item>
  </section>
</callCenter>"#;

fn sipp_exists() {
    let found = Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(found, "sipp is not installed: `apt-get install sip-tester` (scripts/test.sh does it)");
}

/// A free UDP and TCP port on loopback.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let site = Site { dir: tempfile::tempdir().unwrap() };
        std::fs::write(site.path("cc.xml"), CALL_CENTER).unwrap();
        site.run(&["callcenter", "import", site.path("cc.xml").to_str().unwrap()], None);
        site
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn data(&self) -> String {
        self.path("data").to_string_lossy().into_owned()
    }

    /// Runs a `dialtone` command against this site's data; panics unless it exits 0.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut cmd = Command::new(BIN);
        cmd.args(args).args(["--data", &self.data()]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "dialtone {args:?} failed\nstdout: {stdout}\nstderr: {stderr}");
        stdout.into_owned()
    }

    fn agent(&self, username: &str, contact: Option<&str>, presence: &str) {
        let mut args = vec!["user", "add", username, "--profile", "Agent", "--email", "agent@example.com", "--call-center", "SipCC"];
        if let Some(c) = contact {
            args.extend(["--sip-contact", c]);
        }
        self.run(&args, Some("secret123\n"));
        self.run(&["agent", "status", username, presence], None);
    }

    fn trunk(&self, queue_timeout: u32) {
        self.run(&["trunk", "add", "carrier", "--provider", "sip", "--match-ip", "127.0.0.1", "--call-center", "SipCC", "--queue-timeout", &queue_timeout.to_string()], None);
    }

    /// `dialtone query`: one JSON object per row.
    fn query(&self, soql: &str) -> Vec<serde_json::Value> {
        self.run(&["query", soql], None).lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    fn serve(&self, sip_port: u16) -> Server {
        self.serve_on(sip_port, free_port())
    }

    fn serve_on(&self, sip_port: u16, http: u16) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--data", &self.data(), "--http", &format!("127.0.0.1:{http}"), "--sip", &format!("127.0.0.1:{sip_port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = String::new();
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push_str(&line);
            seen.push('\n');
            if line.contains("Press Ctrl-C") {
                break;
            }
        }
        assert!(seen.contains(&format!("SIP:    127.0.0.1:{sip_port}")), "serve did not start the SIP edge:\n{seen}");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child }
    }
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sipp process.
struct Sipp {
    child: Child,
    args: Vec<String>,
}

impl Sipp {
    fn start(args: &[&str], dir: &Path) -> Sipp {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["-nostdin", "-i", "127.0.0.1", "-timeout_error"].map(String::from));
        let child = Command::new("sipp").args(&all).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        Sipp { child, args: all }
    }

    /// Waits for sipp to finish; returns its exit code and output.
    fn finish(mut self, limit: Duration) -> (i32, String) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                let _ = std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut out);
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err);
                return (status.code().unwrap_or(-1), format!("sipp {}\n{}\n{}", self.args.join(" "), tail(&out, 40), err));
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("sipp {} ran longer than {limit:?}", self.args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs to the end; panics unless every call succeeded.
    fn succeed(self, limit: Duration) {
        let (code, out) = self.finish(limit);
        assert_eq!(code, 0, "sipp reported failed calls:\n{out}");
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn scenario(site: &Site, name: &str, replace: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sip").join(name)).unwrap();
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    let path = site.path(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// Polls until `check` holds (calls are written a moment after their last message).
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn int(v: &serde_json::Value) -> i64 {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str().and_then(|s| s.parse::<f64>().ok()).map(|f| f as i64)).unwrap_or(0)
}

#[test]
fn a_registered_phone_answers_carrier_calls_and_each_call_is_one_voice_call_with_its_holds() {
    sipp_exists();
    let site = Site::new();
    site.agent("agent1", None, "Available");
    site.trunk(10);
    let sip = free_port();
    let _server = site.serve(sip);
    let remote = format!("127.0.0.1:{sip}");

    // The agent's phone listens, then signs in with its digest credentials.
    let phone = free_port();
    let uas = scenario(&site, "uas_agent.xml", &[]);
    let _phone = Sipp::start(&["-sf", &uas, "-p", &phone.to_string()], site.dir.path());
    let wrong = scenario(&site, "register.xml", &[("CONTACT_PORT", &phone.to_string()), ("EXPECTED", "403")]);
    Sipp::start(&[&remote, "-sf", &wrong, "-s", "agent1", "-au", "agent1", "-ap", "not-the-password", "-m", "1", "-p", &free_port().to_string()], site.dir.path())
        .succeed(Duration::from_secs(20));
    let register = scenario(&site, "register.xml", &[("CONTACT_PORT", &phone.to_string()), ("EXPECTED", "200")]);
    Sipp::start(&[&remote, "-sf", &register, "-s", "agent1", "-au", "agent1", "-ap", "secret123", "-m", "1", "-p", &free_port().to_string()], site.dir.path())
        .succeed(Duration::from_secs(20));

    // Five calls with a hold each, then forty plain ones (sipp's own uac scenario).
    let hold = scenario(&site, "uac_hold.xml", &[]);
    Sipp::start(&[&remote, "-sf", &hold, "-s", "support", "-m", "5", "-r", "10", "-l", "1", "-p", &free_port().to_string()], site.dir.path()).succeed(Duration::from_secs(60));
    Sipp::start(&[&remote, "-sn", "uac", "-s", "support", "-m", "40", "-r", "40", "-l", "1", "-p", &free_port().to_string()], site.dir.path()).succeed(Duration::from_secs(60));
    // The same carrier over TCP (one connection, messages framed by Content-Length).
    Sipp::start(&[&remote, "-sn", "uac", "-t", "t1", "-s", "support", "-m", "10", "-r", "10", "-l", "1", "-p", &free_port().to_string()], site.dir.path())
        .succeed(Duration::from_secs(60));

    let agent = site.query("SELECT Id FROM User WHERE Username = 'agent1'")[0]["Id"].as_str().unwrap().to_string();
    let soql = "SELECT VendorCallKey, FromPhoneNumber, CallDisposition, NumberOfHolds, CustomerHoldDuration, CallDurationInSeconds, OwnerId, CallType, VendorType, CallEndDateTime FROM VoiceCall";
    let rows = eventually("55 ended VoiceCalls", || {
        let rows = site.query(soql);
        (rows.len() == 55 && rows.iter().all(|r| !r["CallEndDateTime"].is_null())).then_some(rows)
    });
    let mut keys: Vec<&str> = rows.iter().map(|r| r["VendorCallKey"].as_str().unwrap()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 55, "one VoiceCall per carrier Call-ID");
    for r in &rows {
        assert_eq!(r["CallDisposition"], "completed", "{r}");
        assert_eq!(r["OwnerId"].as_str(), Some(agent.as_str()), "{r}");
        assert_eq!((r["CallType"].as_str(), r["VendorType"].as_str()), (Some("Inbound"), Some("Sip")), "{r}");
    }
    let held: Vec<_> = rows.iter().filter(|r| r["FromPhoneNumber"].as_str().is_some_and(|f| f.starts_with("+1415555"))).collect();
    assert_eq!(held.len(), 5);
    for r in held {
        assert_eq!(int(&r["NumberOfHolds"]), 1, "{r}");
        let hold = int(&r["CustomerHoldDuration"]);
        assert!((0..=3).contains(&hold), "hold of about 0.8 s: {r}");
        let length = int(&r["CallDurationInSeconds"]);
        assert!((1..=6).contains(&length), "a call of about 2 s: {r}");
    }
    for r in rows.iter().filter(|r| !r["FromPhoneNumber"].as_str().is_some_and(|f| f.starts_with("+1415555"))) {
        assert_eq!(int(&r["NumberOfHolds"]), 0, "{r}");
    }
}

#[test]
fn a_caller_nobody_is_free_for_waits_then_hears_480_and_the_call_is_recorded_unanswered() {
    sipp_exists();
    let site = Site::new();
    site.agent("agent1", Some("sip:agent1@127.0.0.1:9"), "Offline");
    site.trunk(1);
    let sip = free_port();
    let _server = site.serve(sip);
    let uac = scenario(&site, "uac_unanswered.xml", &[]);
    Sipp::start(&[&format!("127.0.0.1:{sip}"), "-sf", &uac, "-s", "support", "-m", "3", "-r", "3", "-p", &free_port().to_string()], site.dir.path())
        .succeed(Duration::from_secs(30));
    let rows = eventually("3 ended VoiceCalls", || {
        let rows = site.query("SELECT CallDisposition, DisconnectReason, QueueName, CallQueuedDateTime, OwnerId FROM VoiceCall");
        (rows.len() == 3 && rows.iter().all(|r| !r["DisconnectReason"].is_null())).then_some(rows)
    });
    for r in rows {
        assert_eq!((r["CallDisposition"].as_str(), r["DisconnectReason"].as_str()), (Some("no-answer"), Some("NoAnswer")), "{r}");
        assert_eq!(r["QueueName"], "SipCC", "{r}");
        assert!(!r["CallQueuedDateTime"].is_null() && r["OwnerId"].is_null(), "{r}");
    }
}

#[test]
fn killing_the_server_mid_run_loses_no_answered_call_and_leaves_no_call_open() {
    sipp_exists();
    let site = Site::new();
    let phone = free_port();
    // Static contacts this time (desk phones that do not register), all rung on one sipp
    // phone: one agent takes one call at a time, ten take ten.
    for n in 0..10 {
        site.agent(&format!("desk{n}"), Some(&format!("sip:desk{n}@127.0.0.1:{phone}")), "Available");
    }
    site.trunk(10);
    let sip = free_port();
    let server = site.serve(sip);
    let _phone = Sipp::start(&["-sn", "uas", "-p", &phone.to_string()], site.dir.path());
    let trace = site.path("carrier_messages.log");
    let carrier = Sipp::start(
        &[
            &format!("127.0.0.1:{sip}"),
            "-sn",
            "uac",
            "-s",
            "support",
            "-d",
            "1500",
            "-r",
            "10",
            "-m",
            "400",
            "-p",
            &free_port().to_string(),
            "-trace_msg",
            "-message_file",
            trace.to_str().unwrap(),
            "-timeout",
            "8s",
        ],
        site.dir.path(),
    );
    std::thread::sleep(Duration::from_millis(2500));
    drop(server); // SIGKILL: no shutdown path runs.
    let (code, out) = carrier.finish(Duration::from_secs(60));
    assert_ne!(code, 0, "the carrier should have seen calls cut off:\n{out}");

    // Every call the carrier saw answered (a 200 to its INVITE) has its VoiceCall.
    let log = std::fs::read_to_string(&trace).unwrap();
    let mut answered: Vec<String> = log
        .split("message received")
        .filter(|m| m.contains("SIP/2.0 200") && m.contains("CSeq: 1 INVITE"))
        .filter_map(|m| m.lines().find_map(|l| l.strip_prefix("Call-ID: ").or_else(|| l.strip_prefix("Call-ID:")).map(|v| v.trim().to_string())))
        .collect();
    answered.sort();
    answered.dedup();
    assert!(answered.len() >= 5, "too few calls answered before the kill to tell anything: {}", answered.len());

    let _restarted = site.serve(sip);
    let rows = site.query("SELECT VendorCallKey, CallEndDateTime, CallDisposition, DisconnectReason FROM VoiceCall");
    let keys: Vec<&str> = rows.iter().filter_map(|r| r["VendorCallKey"].as_str()).collect();
    for id in &answered {
        assert!(keys.contains(&id.as_str()), "call {id} got a 200 OK but has no VoiceCall");
    }
    for r in &rows {
        assert!(!r["CallEndDateTime"].is_null(), "a call was left open after the restart: {r}");
        assert!(r["CallDisposition"].as_str().is_some_and(|d| d != "in-progress" && d != "ringing" && d != "new"), "{r}");
    }
    assert!(rows.iter().any(|r| r["DisconnectReason"] == "Reaped"), "calls cut off by the kill are closed as Reaped");
}

#[test]
fn an_agent_transfers_a_caller_blind_to_another_agent_and_the_two_legs_are_linked() {
    sipp_exists();
    let site = Site::new();
    let (first, second) = (free_port(), free_port());
    site.agent("first", Some(&format!("sip:first@127.0.0.1:{first}")), "Available");
    site.trunk(10);
    let sip = free_port();
    let _server = site.serve(sip);
    // The second agent becomes Available later, so the call rings the first one.
    let refer = scenario(&site, "uas_refer.xml", &[("TARGET", "second")]);
    let first_phone = Sipp::start(&["-sf", &refer, "-p", &first.to_string(), "-m", "1"], site.dir.path());
    let plain = scenario(&site, "uas_agent.xml", &[]);
    let _second_phone = Sipp::start(&["-sf", &plain, "-p", &second.to_string()], site.dir.path());
    site.agent("second", Some(&format!("sip:second@127.0.0.1:{second}")), "Offline");
    site.run(&["agent", "status", "second", "Available"], None);
    std::thread::sleep(Duration::from_millis(1500)); // the edge re-reads presence every second
    let uac = scenario(&site, "uac_transferred.xml", &[]);
    let carrier = Sipp::start(&[&format!("127.0.0.1:{sip}"), "-sf", &uac, "-s", "support", "-m", "1", "-p", &free_port().to_string(), "-trace_err"], site.dir.path());
    first_phone.succeed(Duration::from_secs(20));
    carrier.succeed(Duration::from_secs(30));

    let ids: std::collections::HashMap<String, String> = site
        .query("SELECT Id, Username FROM User WHERE Username IN ('first', 'second')")
        .iter()
        .map(|r| (r["Username"].as_str().unwrap().to_string(), r["Id"].as_str().unwrap().to_string()))
        .collect();
    let rows = eventually("two ended legs", || {
        let rows = site.query("SELECT Id, VendorCallKey, OwnerId, CallType, DisconnectReason, PreviousCallId, NextCallId, CallEndDateTime FROM VoiceCall ORDER BY CallStartDateTime");
        (rows.len() == 2 && rows.iter().all(|r| !r["CallEndDateTime"].is_null())).then_some(rows)
    });
    let (a, b) = (&rows[0], &rows[1]);
    let (a, b) = if a["PreviousCallId"].is_null() { (a, b) } else { (b, a) };
    assert_eq!(a["OwnerId"].as_str(), Some(ids["first"].as_str()), "{a}");
    assert_eq!(a["DisconnectReason"], "Transferred", "{a}");
    assert_eq!(a["NextCallId"], b["Id"], "{a}\n{b}");
    assert_eq!(b["PreviousCallId"], a["Id"], "{b}");
    assert_eq!(b["OwnerId"].as_str(), Some(ids["second"].as_str()), "{b}");
    assert_eq!(b["CallType"], "Transfer", "{b}");
    assert!(b["VendorCallKey"].as_str().unwrap().starts_with(a["VendorCallKey"].as_str().unwrap()), "{a}\n{b}");
}

#[test]
fn click_to_dial_rings_the_agents_phone_then_the_customer_through_the_trunk() {
    sipp_exists();
    let site = Site::new();
    let (phone, customer) = (free_port(), free_port());
    site.agent("caller", Some(&format!("sip:caller@127.0.0.1:{phone}")), "Available");
    site.run(
        &["trunk", "add", "carrier", "--provider", "sip", "--match-ip", "127.0.0.1", "--outbound", &format!("127.0.0.1:{customer}"), "--call-center", "SipCC"],
        None,
    );
    let token = site.run(&["token", "create", "caller"], None).trim().to_string();
    let sip = free_port();
    let http = free_port();
    let _server = site.serve_on(sip, http);
    let _phone = Sipp::start(&["-sn", "uas", "-p", &phone.to_string()], site.dir.path());
    let answering = scenario(&site, "uas_customer.xml", &[]);
    let customer_side = Sipp::start(&["-sf", &answering, "-p", &customer.to_string(), "-m", "1"], site.dir.path());

    let url = format!("http://127.0.0.1:{http}/api/calls/dial");
    // The banner prints just before the HTTP listener binds.
    let mut reply = eventually("the HTTP listener", || ureq::post(&url).header("Authorization", &format!("Bearer {token}")).send_json(serde_json::json!({"to": "(415) 555-0142"})).ok());
    assert_eq!(reply.status(), 202);
    let body: serde_json::Value = reply.body_mut().read_json().unwrap();
    let key = body["vendorCallKey"].as_str().unwrap().to_string();
    customer_side.succeed(Duration::from_secs(20));

    let row = eventually("the ended outbound call", || {
        let rows = site.query(&format!("SELECT CallType, ToPhoneNumber, OwnerId, CallDisposition, DisconnectReason, CallEndDateTime FROM VoiceCall WHERE VendorCallKey = '{key}'"));
        rows.into_iter().next().filter(|r| !r["CallEndDateTime"].is_null())
    });
    let caller = site.query("SELECT Id FROM User WHERE Username = 'caller'")[0]["Id"].as_str().unwrap().to_string();
    assert_eq!(row["CallType"], "Outbound", "{row}");
    assert_eq!(row["ToPhoneNumber"], "+14155550142", "{row}");
    assert_eq!(row["OwnerId"].as_str(), Some(caller.as_str()), "{row}");
    assert_eq!((row["CallDisposition"].as_str(), row["DisconnectReason"].as_str()), (Some("completed"), Some("CustomerDisconnect")), "{row}");

    // A second dial while the first is over works; a dial with no number is refused clearly.
    let bad = ureq::post(&url).header("Authorization", &format!("Bearer {token}")).send_json(serde_json::json!({"number": "x"}));
    assert!(matches!(bad, Err(ureq::Error::StatusCode(400))), "{bad:?}");
}

/// `POST path` with a bearer token; (status, JSON body). Errors are answers here, not failures.
fn desk_post(http: u16, token: &str, path: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut res = agent.post(&format!("http://127.0.0.1:{http}{path}")).header("Authorization", &format!("Bearer {token}")).send_empty().expect("server reachable");
    (res.status().as_u16(), res.body_mut().read_json().unwrap_or(serde_json::Value::Null))
}

#[test]
fn the_agent_holds_resumes_and_hangs_up_a_sip_call_from_the_desktop() {
    sipp_exists();
    let site = Site::new();
    let phone = free_port();
    site.agent("desk1", Some(&format!("sip:desk1@127.0.0.1:{phone}")), "Available");
    site.trunk(10);
    let token = site.run(&["token", "create", "desk1"], None).trim().to_string();
    let (sip, http) = (free_port(), free_port());
    let _server = site.serve_on(sip, http);
    let uas = scenario(&site, "uas_agent.xml", &[]);
    let _phone = Sipp::start(&["-sf", &uas, "-p", &phone.to_string()], site.dir.path());
    // The carrier checks that it is re-INVITEd a=sendonly (hold), then a=sendrecv (resume), then gets a BYE.
    let controlled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/sipp/uac_controlled.xml");
    let carrier = Sipp::start(&[&format!("127.0.0.1:{sip}"), "-sf", controlled.to_str().unwrap(), "-s", "support", "-m", "1", "-p", &free_port().to_string()], site.dir.path());

    let key = eventually("the answered call", || {
        let rows = site.query("SELECT VendorCallKey, CallAcceptDateTime FROM VoiceCall");
        rows.into_iter().find(|r| !r["CallAcceptDateTime"].is_null()).and_then(|r| r["VendorCallKey"].as_str().map(str::to_string))
    });
    let path = |action: &str| format!("/api/desktop/calls/{}/{action}", urlencoding::encode(&key));
    // An answered SIP call is not accepted from the browser (the phone answered it).
    let (status, body) = desk_post(http, &token, &path("accept"));
    assert_eq!((status, body[0]["errorCode"].as_str()), (409, Some("CALL_CONTROL_UNSUPPORTED")), "{body}");
    let (status, body) = desk_post(http, &token, &path("hold"));
    assert_eq!(status, 202, "{body}");
    // The resume is taken once the hold's re-INVITE is answered (one renegotiation at a time).
    eventually("the resume", || {
        let (status, body) = desk_post(http, &token, &path("resume"));
        assert!(status == 202 || status == 409, "{status} {body}");
        (status == 202).then_some(())
    });
    // Hung up at once, possibly while the resume's re-INVITE is still in flight: the
    // B2BUA holds the carrier's BYE until it has ACKed that re-INVITE's answer, which is
    // the order this sipp carrier insists on.
    eventually("the hangup", || {
        let (status, body) = desk_post(http, &token, &path("hangup"));
        assert!(status == 202 || status == 409, "{status} {body}");
        (status == 202).then_some(())
    });
    carrier.succeed(Duration::from_secs(30));
    let row = eventually("the ended call", || {
        let rows = site.query(&format!("SELECT NumberOfHolds, DisconnectReason, CallDisposition, CallEndDateTime FROM VoiceCall WHERE VendorCallKey = '{key}'"));
        rows.into_iter().next().filter(|r| !r["CallEndDateTime"].is_null())
    });
    assert_eq!(int(&row["NumberOfHolds"]), 1, "{row}");
    assert_eq!((row["DisconnectReason"].as_str(), row["CallDisposition"].as_str()), (Some("AgentDisconnect"), Some("completed")), "{row}");
    // The call is over: nothing more to command.
    let (status, _) = desk_post(http, &token, &path("hold"));
    assert!(status == 404 || status == 409, "{status}");
}
