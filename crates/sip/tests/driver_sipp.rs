//! The driver on real loopback sockets between two sipp peers (Debian's
//! `sip-tester`): the carrier and the agent's phone. Third-party call control
//! arrives through the driver's `commands` channel, as the server sends it:
//! hold, resume and hang up from the browser.

mod support;

use dialtone_calls::{CallEvent, EndReason, EventKind, VendorCallKey};
use dialtone_sip::driver::{self, Channels};
use dialtone_sip::{AgentTarget, B2bua, CallAction, Command, Config};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{FakeHost, agent, udp};
use tokio::sync::{mpsc, watch};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Sipp {
    child: Child,
    args: Vec<String>,
}

impl Sipp {
    fn start(args: &[&str]) -> Sipp {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(["-nostdin", "-i", "127.0.0.1", "-timeout", "30s", "-timeout_error"].map(String::from));
        let dir = std::env::temp_dir();
        let child = std::process::Command::new("sipp").args(&all).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("sipp runs");
        Sipp { child, args: all }
    }

    /// Waits for sipp to exit; panics unless its call succeeded.
    async fn succeed(mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                let _ = std::io::Read::read_to_string(self.child.stdout.as_mut().unwrap(), &mut out);
                let mut err = String::new();
                let _ = std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut err);
                let tail: Vec<&str> = out.lines().rev().take(30).collect();
                assert!(status.success(), "sipp {} failed:\n{}\n{err}", self.args.join(" "), tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(40), "sipp {} ran too long", self.args.join(" "));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scenario(relative: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    assert!(path.exists(), "{path:?}");
    path.to_string_lossy().into_owned()
}

/// The next event the driver reports that `want` accepts (earlier ones are
/// kept in `seen`).
async fn until(events: &mut mpsc::UnboundedReceiver<CallEvent>, seen: &mut Vec<EventKind>, want: impl Fn(&EventKind) -> bool) -> CallEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv()).await.unwrap_or_else(|_| panic!("no such event; saw {seen:?}")).expect("driver running");
        seen.push(e.kind.clone());
        if want(&e.kind) {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_resume_and_hangup_from_the_browser_reach_real_sip_peers_through_the_driver() {
    assert!(
        std::process::Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok(),
        "sipp is not installed: `apt-get install sip-tester` (scripts/test.sh does it)"
    );
    let (udp_socket, tcp) = driver::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let local = udp_socket.local_addr().unwrap();
    let phone = free_port();
    let mut host = FakeHost::new();
    host.trunk_ip = "127.0.0.1".parse().unwrap();
    host.agents.truncate(1);
    let phone_addr = format!("127.0.0.1:{phone}");
    host.agents[0].target = AgentTarget { agent: agent(1), uri: format!("sip:agent1@{phone_addr}"), peer: udp(&phone_addr) };

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (persisted_tx, persisted) = mpsc::unbounded_channel();
    let (_dials_tx, dials) = mpsc::unbounded_channel();
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let (stats, _stats_rx) = watch::channel(dialtone_sip::Stats::default());
    let (shutdown_tx, shutdown) = watch::channel(false);
    let channels = Channels { events: events_tx, persisted, dials, commands, stats, shutdown };
    let core = B2bua::new(Config::new(local));
    let running = tokio::spawn(driver::run(udp_socket, tcp, core, host, channels));

    let agent_phone = Sipp::start(&["-sf", &scenario("../dialtone/tests/sip/uas_agent.xml"), "-p", &phone.to_string(), "-m", "1"]);
    tokio::time::sleep(Duration::from_millis(300)).await; // the phone listens first
    let carrier = Sipp::start(&[&local.to_string(), "-sf", &scenario("tests/sipp/uac_controlled.xml"), "-s", "support", "-m", "1", "-p", &free_port().to_string()]);

    let mut seen = Vec::new();
    let first = until(&mut events, &mut seen, |k| matches!(k, EventKind::Initiated { .. })).await;
    let key: VendorCallKey = first.key.clone();
    persisted_tx.send(key.clone()).unwrap(); // the desk stored the VoiceCall: the 200 may go out
    until(&mut events, &mut seen, |k| matches!(k, EventKind::Answered { .. })).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // the carrier's ACK

    let command = |action| commands_tx.send(Command { key: key.clone(), action }.into()).unwrap();
    command(CallAction::Hold);
    until(&mut events, &mut seen, |k| k == &EventKind::Held).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the phone's re-INVITE completes
    command(CallAction::Resume);
    until(&mut events, &mut seen, |k| k == &EventKind::Resumed).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    command(CallAction::Hangup);
    until(&mut events, &mut seen, |k| matches!(k, EventKind::Ended { .. })).await;
    assert_eq!(seen.last(), Some(&EventKind::Ended { reason: EndReason::AgentDisconnect }));
    assert_eq!(seen.iter().filter(|k| matches!(k, EventKind::Held | EventKind::Resumed)).count(), 2, "{seen:?}");

    carrier.succeed().await;
    agent_phone.succeed().await;
    shutdown_tx.send(true).unwrap();
    running.await.unwrap();
}
