//! The harness shared by the scenario and torture tests: a fake [`Host`]
//! (one trunk, two agent phones, one phone user), a hand-driven clock, and
//! builders for the raw SIP text carriers and agent phones send.

// Each test binary uses part of the harness.
#![allow(dead_code)]

use dialtone_calls::{AgentId, CallEvent, EventKind, QueueName};
use dialtone_model::SalesforceId;
use dialtone_sip::wire::{self, Parsed};
use dialtone_sip::{AgentTarget, B2bua, Binding, CallAction, Command, Config, Host, Output, Overflow, Peer, PhoneUser, Refusal, RouteQuery, Routed, Transport, Trunk};
use rsipstack::sip::{HeadersExt, Method};
use std::net::{IpAddr, SocketAddr};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const LOCAL: &str = "192.0.2.100:5060";
pub const CARRIER: &str = "192.0.2.1:5060";
pub const STRANGER: &str = "198.51.100.7:5060";
pub const AGENT1: &str = "192.0.2.10:5060";
pub const AGENT2: &str = "192.0.2.11:5060";
pub const PHONE: &str = "192.0.2.20:5062";
pub const PASSWORD: &str = "s3cret";
pub const SDP_OFFER: &str = "v=0\r\no=carrier 1 1 IN IP4 203.0.113.5\r\ns=-\r\nc=IN IP4 203.0.113.5\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n";
pub const SDP_ANSWER: &str = "v=0\r\no=agent 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=sendrecv\r\n";

pub fn udp(addr: &str) -> Peer {
    Peer { addr: addr.parse().unwrap(), transport: Transport::Udp }
}

pub fn center() -> SalesforceId {
    SalesforceId::parse("04v000000000001").unwrap()
}

pub fn agent(n: u32) -> AgentId {
    AgentId::parse(&format!("00500000000000{n}")).unwrap()
}

pub struct FakeAgent {
    pub target: AgentTarget,
    pub busy: bool,
}

pub struct FakeHost {
    pub trunk: Trunk,
    pub trunk_ip: IpAddr,
    pub agents: Vec<FakeAgent>,
    pub registered: Vec<(String, Option<Binding>)>,
    /// `release_agent` for an agent that was not busy: an agent handed to
    /// two calls at once, or released twice.
    pub bad_releases: Vec<AgentId>,
    /// When set, routing sends every call it is asked about there (voicemail, callback).
    pub send_away: Option<Routed>,
    /// (call key, from, to) of every routing question.
    pub asked: Vec<(String, String, String)>,
}

impl FakeHost {
    pub fn new() -> FakeHost {
        let target = |n: u32, addr: &str| FakeAgent {
            target: AgentTarget { agent: agent(n), uri: format!("sip:agent{n}@{addr}"), peer: udp(addr) },
            busy: false,
        };
        FakeHost {
            trunk: Trunk {
                name: "carrier".into(),
                call_center: Some(center()),
                queue: QueueName::parse("Support").unwrap(),
                queue_timeout: Duration::seconds(60),
                overflow: Overflow::Reject,
                max_cps: None,
            },
            trunk_ip: CARRIER.parse::<SocketAddr>().unwrap().ip(),
            agents: vec![target(1, AGENT1), target(2, AGENT2)],
            registered: Vec::new(),
            bad_releases: Vec::new(),
            send_away: None,
            asked: Vec::new(),
        }
    }

    pub fn busy(&self) -> usize {
        self.agents.iter().filter(|a| a.busy).count()
    }
}

impl Host for FakeHost {
    fn trunk(&self, source: IpAddr) -> Option<Trunk> {
        (source == self.trunk_ip).then(|| self.trunk.clone())
    }

    fn phone_user(&self, username: &str) -> Option<PhoneUser> {
        (username == "agent1").then(|| PhoneUser { agent: agent(1), ha1: dialtone_sip::digest::ha1("agent1", dialtone_sip::REALM, PASSWORD) })
    }

    fn register(&mut self, username: &str, binding: Option<Binding>) {
        self.registered.push((username.to_string(), binding));
    }

    fn choose_agent(&mut self, call: &RouteQuery<'_>) -> Routed {
        self.asked.push((call.key.to_string(), call.from.to_string(), call.to.to_string()));
        if let Some(away) = &self.send_away {
            return away.clone();
        }
        if call.call_center != Some(&center()) {
            return Routed::Wait;
        }
        let Some(a) = self.agents.iter_mut().find(|a| !a.busy && !call.exclude.contains(&a.target.agent)) else { return Routed::Wait };
        a.busy = true;
        Routed::Agent(a.target.clone())
    }

    fn release_agent(&mut self, _key: &dialtone_calls::VendorCallKey, agent: &AgentId) {
        match self.agents.iter_mut().find(|a| &a.target.agent == agent) {
            Some(a) if a.busy => a.busy = false,
            _ => self.bad_releases.push(agent.clone()),
        }
    }

    /// `agent1`, `agent2`: that agent if free.
    fn agent_target(&mut self, username: &str) -> Option<AgentTarget> {
        let n: usize = username.strip_prefix("agent")?.parse().ok()?;
        let a = self.agents.get_mut(n.checked_sub(1)?)?;
        if a.busy {
            return None;
        }
        a.busy = true;
        Some(a.target.clone())
    }
}

/// The core, its host and a clock moved by hand.
pub struct Sim {
    pub core: B2bua,
    pub host: FakeHost,
    pub now: OffsetDateTime,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with(FakeHost::new())
    }

    pub fn with(host: FakeHost) -> Sim {
        let mut cfg = Config::new(LOCAL.parse().unwrap());
        cfg.nonce_key = [7; 32];
        Sim { core: B2bua::new(cfg), host, now: datetime!(2026-11-22 09:00 UTC) }
    }

    pub fn from(&mut self, peer: &str, text: &str) -> Outs {
        self.bytes_from(udp(peer), text.as_bytes())
    }

    pub fn bytes_from(&mut self, peer: Peer, data: &[u8]) -> Outs {
        Outs(self.core.packet(self.now, peer, data, &mut self.host))
    }

    pub fn carrier(&mut self, text: &str) -> Outs {
        self.from(CARRIER, text)
    }

    /// Moves the clock and runs the timers that came due.
    pub fn advance(&mut self, by: Duration) -> Outs {
        self.now += by;
        Outs(self.core.poll(self.now, &mut self.host))
    }

    /// Moves the clock in steps of `step` (as a driver polling at each
    /// wakeup would), collecting everything.
    pub fn run_for(&mut self, total: Duration, step: Duration) -> Outs {
        let end = self.now + total;
        let mut all = Vec::new();
        while self.now < end {
            all.extend(self.advance(step).0);
        }
        Outs(all)
    }

    /// A third-party call control command from the agent's browser.
    pub fn command(&mut self, key: &str, action: CallAction) -> Result<Outs, Refusal> {
        let cmd = Command { key: dialtone_calls::VendorCallKey::parse(key).unwrap(), action };
        self.core.command(self.now, cmd, &mut self.host).map(Outs)
    }

    /// A carrier call answered by agent 1 (tag `phone_tag`) and ACKed: the
    /// core's tag on the carrier's leg and its INVITE toward the phone.
    pub fn connect(&mut self, key: &str, branch: &str, phone_tag: &str) -> (String, Parsed) {
        let out = self.carrier(&invite(key, branch));
        let a_tag = out.response_to(CARRIER, 180).to_tag.expect("180 has the core's tag");
        let b_invite = out.request_to(AGENT1, Method::Invite);
        self.from(AGENT1, &answer(&b_invite, 200, "OK", phone_tag, AGENT1, Some(SDP_ANSWER)));
        self.persisted(key).response_to(CARRIER, 200);
        let out = self.carrier(&carrier_ack(key, &a_tag, &format!("{branch}-ack"), 1));
        assert_eq!(out.sends(), 0, "{:?}", out.summary());
        (a_tag, b_invite)
    }

    pub fn persisted(&mut self, key: &str) -> Outs {
        let key = dialtone_calls::VendorCallKey::parse(key).unwrap();
        Outs(self.core.persisted(self.now, &key))
    }
}

/// What one step produced.
#[derive(Debug)]
pub struct Outs(pub Vec<Output>);

impl Outs {
    /// The messages sent to `addr`, parsed.
    pub fn to(&self, addr: &str) -> Vec<Parsed> {
        let addr: SocketAddr = addr.parse().unwrap();
        self.0
            .iter()
            .filter_map(|o| match o {
                Output::Send { peer, data } if peer.addr == addr => Some(wire::parse(data).expect("the core sends what it can parse")),
                _ => None,
            })
            .collect()
    }

    /// Status codes of the responses sent to `addr`.
    pub fn codes_to(&self, addr: &str) -> Vec<u16> {
        self.to(addr).iter().filter_map(|p| p.response().map(|r| r.status_code.code())).collect()
    }

    /// Methods of the requests sent to `addr`.
    pub fn requests_to(&self, addr: &str) -> Vec<Method> {
        self.to(addr).iter().filter_map(|p| p.request().map(|r| r.method)).collect()
    }

    /// The one request of `method` sent to `addr`.
    pub fn request_to(&self, addr: &str, method: Method) -> Parsed {
        let mut found: Vec<Parsed> = self.to(addr).into_iter().filter(|p| p.request().is_some_and(|r| r.method == method)).collect();
        assert_eq!(found.len(), 1, "one {method} to {addr} in {:#?}", self.summary());
        found.remove(0)
    }

    /// The one response with `code` sent to `addr`.
    pub fn response_to(&self, addr: &str, code: u16) -> Parsed {
        let mut found: Vec<Parsed> = self.to(addr).into_iter().filter(|p| p.response().is_some_and(|r| r.status_code.code() == code)).collect();
        assert_eq!(found.len(), 1, "one {code} to {addr} in {:#?}", self.summary());
        found.remove(0)
    }

    pub fn events(&self) -> Vec<CallEvent> {
        self.0
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn kinds(&self) -> Vec<EventKind> {
        self.events().into_iter().map(|e| e.kind).collect()
    }

    pub fn sends(&self) -> usize {
        self.0.iter().filter(|o| matches!(o, Output::Send { .. })).count()
    }

    /// One line per output, for assertion messages.
    pub fn summary(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|o| match o {
                Output::Send { peer, data } => {
                    let text = String::from_utf8_lossy(data);
                    format!("send {} {}", peer.addr, text.lines().next().unwrap_or_default())
                }
                Output::Event(e) => format!("event {} {:?}", e.key, e.kind),
                Output::Rejected { peer, reason } => format!("rejected {} {reason}", peer.addr),
            })
            .collect()
    }
}

/// A carrier's INVITE carrying [`SDP_OFFER`].
pub fn invite(call_id: &str, branch: &str) -> String {
    format!(
        "INVITE sip:+18005550100@{LOCAL} SIP/2.0\r\n\
Via: SIP/2.0/UDP {CARRIER};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:+15551230001@{CARRIER}>;tag=carrier-tag\r\n\
To: <sip:+18005550100@{LOCAL}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:+15551230001@{CARRIER}>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP_OFFER}",
        SDP_OFFER.len()
    )
}

/// A request within the carrier's dialog (the core's tag in To).
pub fn carrier_in_dialog(method: &str, call_id: &str, a_tag: &str, branch: &str, cseq: u32, sdp: Option<&str>) -> String {
    let body = sdp.unwrap_or_default();
    let ctype = if sdp.is_some() { "Content-Type: application/sdp\r\n" } else { "" };
    format!(
        "{method} sip:dialtone@{LOCAL} SIP/2.0\r\n\
Via: SIP/2.0/UDP {CARRIER};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:+15551230001@{CARRIER}>;tag=carrier-tag\r\n\
To: <sip:+18005550100@{LOCAL}>;tag={a_tag}\r\n\
Call-ID: {call_id}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:+15551230001@{CARRIER}>\r\n\
{ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The carrier's CANCEL of its INVITE (same branch, same CSeq number).
pub fn carrier_cancel(call_id: &str, branch: &str) -> String {
    format!(
        "CANCEL sip:+18005550100@{LOCAL} SIP/2.0\r\n\
Via: SIP/2.0/UDP {CARRIER};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: \"Caller\" <sip:+15551230001@{CARRIER}>;tag=carrier-tag\r\n\
To: <sip:+18005550100@{LOCAL}>\r\n\
Call-ID: {call_id}\r\n\
CSeq: 1 CANCEL\r\n\
Content-Length: 0\r\n\r\n"
    )
}

/// A response to `req` as a phone at `contact_addr` sends it: Via, From,
/// Call-ID and CSeq copied, `to_tag` added to To.
pub fn answer(req: &Parsed, code: u16, reason: &str, to_tag: &str, contact_addr: &str, sdp: Option<&str>) -> String {
    let r = req.request().expect("a request");
    let mut head = format!("SIP/2.0 {code} {reason}\r\n");
    for h in r.headers.iter() {
        let name = h.name();
        if ["Via", "From", "Call-ID", "CSeq"].iter().any(|n| name.eq_ignore_ascii_case(n)) {
            head.push_str(&format!("{name}: {}\r\n", h.value()));
        }
    }
    let to = req.header("To").unwrap();
    let to = if req.to_tag.is_some() { to } else { format!("{to};tag={to_tag}") };
    head.push_str(&format!("To: {to}\r\n"));
    head.push_str(&format!("Contact: <sip:phone@{contact_addr}>\r\n"));
    let body = sdp.unwrap_or_default();
    if sdp.is_some() {
        head.push_str("Content-Type: application/sdp\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    head
}

/// A request from an agent's phone within the B dialog that `invite` (the
/// core's INVITE toward it) and the phone's `to_tag` set up.
pub fn agent_in_dialog(method: &str, invite: &Parsed, to_tag: &str, addr: &str, branch: &str, cseq: u32, sdp: Option<&str>) -> String {
    let body = sdp.unwrap_or_default();
    let ctype = if sdp.is_some() { "Content-Type: application/sdp\r\n" } else { "" };
    let core_side = invite.header("From").unwrap();
    let phone_side = format!("{};tag={to_tag}", invite.header("To").unwrap());
    format!(
        "{method} sip:dialtone@{LOCAL} SIP/2.0\r\n\
Via: SIP/2.0/UDP {addr};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: {phone_side}\r\n\
To: {core_side}\r\n\
Call-ID: {}\r\n\
CSeq: {cseq} {method}\r\n\
Contact: <sip:phone@{addr}>\r\n\
{ctype}Content-Length: {}\r\n\r\n{body}",
        invite.call_id,
        body.len()
    )
}

/// The ACK a carrier sends for the 2xx it got.
pub fn carrier_ack(call_id: &str, a_tag: &str, branch: &str, cseq: u32) -> String {
    carrier_in_dialog("ACK", call_id, a_tag, branch, cseq, None)
}

pub fn method_of(p: &Parsed) -> Option<Method> {
    p.request().map(|r| r.method)
}

pub fn header_of(p: &Parsed, name: &str) -> Option<String> {
    p.msg.header_value(name)
}
