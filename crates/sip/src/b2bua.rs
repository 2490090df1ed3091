//! The B2BUA core: packets and time in, packets and call events out.
//!
//! Two dialogs per call: the carrier's leg A (Dialtone is its UAS) and the
//! agent's leg B (Dialtone is its UAC). SDP passes through untouched, so
//! media flows end to end and audio never reaches Dialtone. The core owns
//! its transactions (retransmission over UDP, absorbing retransmitted
//! requests) because a B2BUA must pair a transaction on one leg with one on
//! the other; it asks a [`Host`] — synchronously, from memory — which trunk a
//! packet came from, which agent is free and what an agent phone's HA1 is.
//!
//! ```text
//! carrier ──INVITE──▶ A ─100,180─▶ carrier          Host::choose_agent
//!                     │ Initiated, Ringing, Offered   │
//!                     B ──INVITE (SDP offer)──▶ agent phone
//!                     B ◀─200 (SDP answer)── ; ACK ─▶
//!                     A ──200 (answer)──▶ carrier (once the VoiceCall is stored)
//! ```

use crate::digest::Nonces;
use crate::wire::{self, Malformed, Outgoing, Parsed};
use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, OfferOutcome, Provider, QueueName, VendorCallKey};
use dialtone_model::SalesforceId;
use rsipstack::sip::{self as rs, HeadersExt, Method};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a message came from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub addr: SocketAddr,
    pub transport: Transport,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The address put in Via and Contact (the listening address).
    pub local: SocketAddr,
    pub realm: String,
    /// RFC 3261 T1: the first retransmission interval over UDP.
    pub t1: Duration,
    /// How long an agent's phone rings before the offer is withdrawn.
    pub offer_timeout: Duration,
    /// The longest registration granted.
    pub max_expires: u32,
    pub nonce_key: [u8; 32],
    /// Overload control: while this many calls wait for their VoiceCall to be
    /// stored (the store has fallen behind), a new INVITE is refused with
    /// 503 Service Unavailable and Retry-After (RFC 3261 §21.5.4) instead of
    /// being taken on, so the calls already admitted complete and the carrier
    /// can route elsewhere.
    pub max_unstored: usize,
    /// The Retry-After (seconds) of that 503.
    pub overload_retry_after: u32,
}

impl Config {
    pub fn new(local: SocketAddr) -> Config {
        Config {
            local,
            realm: crate::REALM.into(),
            t1: Duration::milliseconds(500),
            offer_timeout: Duration::seconds(20),
            max_expires: 3600,
            nonce_key: rand::random(),
            max_unstored: 1000,
            overload_retry_after: 5,
        }
    }
}

/// What happens to a caller nobody answered within the queue's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overflow {
    /// 480 Temporarily Unavailable.
    Reject,
    /// 302 to a voicemail system at this URI.
    Voicemail(String),
    /// 302 to another destination.
    Forward(String),
}

/// A carrier or PBX allowed to send calls, as the host knows it.
#[derive(Debug, Clone)]
pub struct Trunk {
    pub name: String,
    pub call_center: Option<SalesforceId>,
    pub queue: QueueName,
    pub queue_timeout: Duration,
    pub overflow: Overflow,
    /// The most new calls per second taken from this trunk (the carrier's
    /// CPS limit, or what the server sustains): INVITEs beyond it get 503
    /// with Retry-After at once — three messages instead of a whole call —
    /// so an overload is a plateau, not a collapse. `None`: no limit.
    pub max_cps: Option<u32>,
}

/// A free agent's phone.
#[derive(Debug, Clone)]
pub struct AgentTarget {
    pub agent: AgentId,
    pub uri: String,
    pub peer: Peer,
}

/// An agent phone's credentials.
#[derive(Debug, Clone)]
pub struct PhoneUser {
    pub agent: AgentId,
    pub ha1: String,
}

/// A REGISTER's binding.
#[derive(Debug, Clone)]
pub struct Binding {
    pub uri: String,
    pub peer: Peer,
    pub expires_at: OffsetDateTime,
}

/// What the core asks of the program around it. Answers come from memory:
/// the core never waits.
pub trait Host {
    /// The trunk whose address sent this packet.
    fn trunk(&self, source: IpAddr) -> Option<Trunk>;
    fn phone_user(&self, username: &str) -> Option<PhoneUser>;
    /// A REGISTER added (Some) or removed (None) the phone's contact.
    fn register(&mut self, username: &str, binding: Option<Binding>);
    /// Who should take the call now (the routing decision): an agent,
    /// marked busy until [`Host::release_agent`] or the call's end; or wait
    /// and ask again; or send the caller away. `exclude`: agents already tried.
    fn choose_agent(&mut self, call: &RouteQuery<'_>) -> Routed;
    /// The offer of `key` to `agent` failed (declined, unanswered,
    /// unreachable) or the call ended.
    fn release_agent(&mut self, key: &VendorCallKey, agent: &AgentId);
    /// A transfer names an agent: that agent's phone if they are free (then
    /// engaged), else `None`.
    fn agent_target(&mut self, username: &str) -> Option<AgentTarget>;
}

/// The call [`Host::choose_agent`] is asked about.
#[derive(Debug, Clone, Copy)]
pub struct RouteQuery<'a> {
    pub key: &'a VendorCallKey,
    pub call_center: Option<&'a SalesforceId>,
    /// The caller's and the dialled number (user parts), for entry rules and callbacks.
    pub from: &'a str,
    pub to: &'a str,
    pub exclude: &'a [AgentId],
}

/// The host's routing answer.
#[derive(Debug, Clone)]
pub enum Routed {
    Agent(AgentTarget),
    /// Nobody free: the caller waits (asked again every few hundred ms, up to the trunk's queue limit).
    Wait,
    /// Routing sent the caller to voicemail: the trunk's overflow.
    Voicemail,
    /// The caller keeps their place and will be called back: the live call ends.
    Callback,
}

/// Click-to-dial: ring the agent's phone first, then the customer through a
/// trunk (RFC 3725 flow I: the phone's SDP offer goes to the customer, the
/// customer's answer back in the ACK to the phone).
#[derive(Debug, Clone)]
pub struct Dial {
    /// The customer leg's Call-ID: the VoiceCall's VendorCallKey.
    pub key: VendorCallKey,
    pub agent: AgentTarget,
    /// The number as dialled (the Request-URI's user part).
    pub number: String,
    /// Where the trunk takes calls out.
    pub trunk: Peer,
    pub call_center: Option<SalesforceId>,
}

/// Third-party call control: what the agent asks of a call from the
/// browser, acted on by the B2BUA in the middle of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The call's VendorCallKey (the carrier leg's Call-ID, a click-to-dial
    /// key, or a transfer's new leg).
    pub key: VendorCallKey,
    pub action: CallAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// BYE on both legs (CANCEL or a final response if not yet answered):
    /// the call ends with AgentDisconnect.
    Hangup,
    /// The customer is put on hold: the carrier is re-offered the agent's
    /// SDP `a=sendonly`, then the phone the carrier's `a=inactive`.
    Hold,
    Resume,
    /// The customer stops hearing the agent: the carrier is re-offered the
    /// agent's SDP `a=recvonly`.
    Mute,
    Unmute,
    /// The agent refuses the call their phone is ringing with.
    Decline,
    /// A blind transfer, as a REFER from the agent's phone does it.
    Transfer {
        to: TransferTarget,
    },
}

impl CallAction {
    /// The action's name, for logs (a transfer's number stays out of them).
    pub fn name(&self) -> &'static str {
        match self {
            CallAction::Hangup => "hangup",
            CallAction::Hold => "hold",
            CallAction::Resume => "resume",
            CallAction::Mute => "mute",
            CallAction::Unmute => "unmute",
            CallAction::Decline => "decline",
            CallAction::Transfer { .. } => "transfer",
        }
    }
}

/// Where a blind transfer sends the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// An agent by username, if free.
    Agent { username: String },
    /// An outside number, dialled through `trunk` (a trunk's outbound
    /// address), or when `None` through the peer the call's carrier leg is on.
    Number { number: String, trunk: Option<Peer> },
}

/// Why a [`Command`] was not carried out; the call is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no live call has this key")]
    UnknownCall,
    #[error("the call is not answered on both legs")]
    NotAnswered,
    #[error("the agent's phone is not ringing with this call")]
    NotRinging,
    #[error("a re-INVITE is already in progress on this call")]
    Renegotiating,
    #[error("the call is already on hold")]
    AlreadyHeld,
    #[error("the call is not on hold")]
    NotHeld,
    #[error("the agent is already muted")]
    AlreadyMuted,
    #[error("the agent is not muted")]
    NotMuted,
    #[error("agent {0:?} is unknown or not free")]
    AgentUnavailable(String),
    /// (The number is not repeated: it stays out of logs.)
    #[error("the transfer's number cannot be dialled (`+` and 2 to 32 digits)")]
    BadNumber,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Send { peer: Peer, data: Vec<u8> },
    Event(CallEvent),
    /// A refused message, for the log: never silent.
    Rejected { peer: Peer, reason: String },
}

/// Counters for `/metrics` and the benchmark.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub calls: u64,
    pub answered: u64,
    pub active: usize,
    pub malformed: u64,
    pub registrations: u64,
    /// INVITEs refused with 503 because too many calls waited for the store.
    pub overloaded: u64,
}

/// The re-INVITEs of third-party call control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reneg {
    Hold,
    Resume,
    Mute,
    Unmute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Leg {
    A,
    B,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AState {
    Early,
    /// The agent answered; the 200 waits for the VoiceCall to be stored.
    AwaitingStore,
    /// 200 sent, retransmitted until the ACK.
    Answering,
    Confirmed,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BState {
    Inviting,
    Confirmed,
    Done,
}

/// One side of a confirmed dialog, enough to send requests within it.
#[derive(Debug, Clone)]
struct Dialog {
    peer: Peer,
    call_id: String,
    /// Our From when we send a request in this dialog (with our tag).
    local: String,
    /// Our To (with their tag).
    remote: String,
    remote_target: String,
    cseq: u32,
}

#[derive(Debug)]
struct BLeg {
    /// `None`: an outside number a transfer dialled through a trunk.
    agent: Option<AgentId>,
    invite_branch: String,
    state: BState,
    dialog: Dialog,
}

#[derive(Debug)]
struct Call {
    key: VendorCallKey,
    seq: u64,
    trunk: Trunk,
    invite: rs::Request,
    invite_branch: String,
    a_state: AState,
    a: Dialog,
    a_tag: String,
    /// The 200 for A, held or being retransmitted.
    answer: Option<Vec<u8>>,
    answer_interval: Duration,
    answer_deadline: OffsetDateTime,
    b: Option<BLeg>,
    tried: Vec<AgentId>,
    queued: bool,
    queue_deadline: Option<OffsetDateTime>,
    held: bool,
    /// The customer does not hear the agent (a browser Mute).
    muted: bool,
    persisted: bool,
    ended: bool,
    /// The last SDP each side gave (offer or answer), for the re-offers of
    /// third-party call control and a transfer's new leg.
    carrier_sdp: Vec<u8>,
    agent_sdp: Vec<u8>,
    /// The highest `o=` version sent toward each leg, so that a re-offer of
    /// our own is always newer (RFC 3264 §8).
    carrier_version: u64,
    agent_version: u64,
    /// The branch of the re-INVITE in progress on the call (relayed or our
    /// own): another one meanwhile is glare, answered 491 or refused.
    reneg: Option<String>,
    /// A BYE held back until our re-INVITE on that leg has its final
    /// response (and its ACK): a peer may not take a BYE before the ACK.
    bye_after_reneg: Option<Leg>,
    transfers: u32,
    /// Click-to-dial: the phone's 200 (its SDP offer) waiting for the
    /// customer's answer to go back in the ACK; the customer INVITE's branch.
    outbound: Option<OutboundState>,
}

#[derive(Debug)]
struct OutboundState {
    agent_answer: Option<Parsed>,
    agent_invite_branch: String,
    customer_branch: Option<String>,
}

#[derive(Debug)]
enum Purpose {
    /// The INVITE offering the call to an agent; `ack` builds the ACK of a
    /// non-2xx final response.
    Offer { call: u64 },
    Bye,
    Cancel,
    /// Click-to-dial: the offer-less INVITE to the agent's phone.
    DialAgent { call: u64 },
    /// Click-to-dial: the INVITE to the customer, carrying the phone's offer.
    DialCustomer { call: u64 },
    /// A re-INVITE of our own (the carrier's media moves to a transfer's new
    /// agent): its 2xx is ACKed, nothing else.
    Refresh {
        call: u64,
    },
    /// A re-INVITE relayed from the other leg: its response goes back there.
    Relay {
        call: u64,
        origin: Box<rs::Request>,
        origin_peer: Peer,
        to_tag: String,
    },
    /// A re-INVITE of third-party call control on one leg.
    Control {
        call: u64,
        action: Reneg,
        leg: Leg,
        attempt: u8,
    },
}

#[derive(Debug)]
struct ClientTx {
    method: Method,
    peer: Peer,
    data: Vec<u8>,
    interval: Duration,
    retransmit: bool,
    deadline: OffsetDateTime,
    done: bool,
    purpose: Purpose,
    /// For INVITE: the request line URI, From, To, Call-ID and CSeq number,
    /// to build the ACK.
    ack: Option<(String, String, String, String, u32)>,
    /// The ACK sent for a 2xx, resent when the 2xx is retransmitted.
    ack_2xx: Option<(Peer, Vec<u8>)>,
}

#[derive(Debug)]
struct ServerTx {
    peer: Peer,
    last: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Retransmit(String),
    ClientTimeout(String),
    Answer(u64),
    Offer(u64, String),
    Queue(u64),
    /// A re-INVITE of call control that met glare (491), sent again.
    Reoffer(u64, Reneg, Leg, u8),
}

pub struct B2bua {
    cfg: Config,
    nonces: Nonces,
    calls: HashMap<u64, Call>,
    by_call_id: HashMap<String, (u64, Leg)>,
    client: HashMap<String, ClientTx>,
    server: HashMap<(String, Method), ServerTx>,
    server_expiry: VecDeque<(OffsetDateTime, (String, Method))>,
    timers: BinaryHeap<Reverse<(OffsetDateTime, Timer)>>,
    waiting: VecDeque<u64>,
    /// Ended calls are kept for a while to answer stray retransmissions.
    finished: VecDeque<(OffsetDateTime, u64)>,
    next_id: u64,
    prefix: u32,
    last_now: OffsetDateTime,
    out: Vec<Output>,
    stats: Stats,
    /// Calls whose VoiceCall the desk has not yet reported stored (overload control).
    unstored: usize,
    /// Per trunk: (admission tokens, when last refilled).
    admissions: HashMap<String, (f64, OffsetDateTime)>,
}

impl B2bua {
    pub fn new(cfg: Config) -> B2bua {
        B2bua {
            nonces: Nonces::new(cfg.nonce_key),
            cfg,
            calls: HashMap::new(),
            by_call_id: HashMap::new(),
            client: HashMap::new(),
            server: HashMap::new(),
            server_expiry: VecDeque::new(),
            timers: BinaryHeap::new(),
            waiting: VecDeque::new(),
            finished: VecDeque::new(),
            next_id: 1,
            prefix: rand::random(),
            last_now: OffsetDateTime::UNIX_EPOCH,
            out: Vec::new(),
            stats: Stats::default(),
            unstored: 0,
            admissions: HashMap::new(),
        }
    }

    /// Counters without the active count (cheap enough for every loop turn).
    pub fn stats_light(&self) -> Stats {
        Stats { active: self.calls.len(), ..self.stats }
    }

    pub fn stats(&self) -> Stats {
        Stats { active: self.calls.values().filter(|c| !c.ended).count(), ..self.stats }
    }

    /// When [`B2bua::poll`] next has work.
    pub fn next_wakeup(&self) -> Option<OffsetDateTime> {
        let timer = self.timers.peek().map(|Reverse((t, _))| *t);
        let expiry = [self.server_expiry.front().map(|(t, _)| *t), self.finished.front().map(|(t, _)| *t)].into_iter().flatten().min();
        let retry = (!self.waiting.is_empty()).then(|| self.last_now + RETRY_QUEUED);
        [timer, expiry, retry].into_iter().flatten().min()
    }

    fn unique(&mut self) -> String {
        self.next_id += 1;
        format!("{:08x}{:x}", self.prefix, self.next_id)
    }

    fn send(&mut self, peer: Peer, data: Vec<u8>) {
        self.out.push(Output::Send { peer, data });
    }

    fn event(&mut self, id: u64, now: OffsetDateTime, kind: EventKind) {
        if let Some(call) = self.calls.get_mut(&id) {
            call.seq += 1;
            let e = CallEvent { key: call.key.clone(), provider: Provider::Sip, seq: call.seq, at: now, kind };
            self.out.push(Output::Event(e));
        }
    }

    fn via(&self, transport: Transport) -> String {
        format!("SIP/2.0/{} {}", transport.as_str(), self.cfg.local)
    }

    fn contact(&self, transport: Transport) -> String {
        match transport {
            Transport::Udp => format!("<sip:dialtone@{}>", self.cfg.local),
            Transport::Tcp => format!("<sip:dialtone@{};transport=tcp>", self.cfg.local),
        }
    }

    /// A token bucket per trunk (rate and burst `max_cps`): whether one more
    /// call may start now.
    fn admit(&mut self, now: OffsetDateTime, trunk: &Trunk) -> bool {
        let Some(cps) = trunk.max_cps else { return true };
        let cps = f64::from(cps.max(1));
        let (tokens, last) = self.admissions.entry(trunk.name.clone()).or_insert((cps, now));
        let elapsed = (now - *last).as_seconds_f64().max(0.0);
        *tokens = (*tokens + elapsed * cps).min(cps);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// The carrier's call key is stored: a held answer may go out.
    pub fn persisted(&mut self, now: OffsetDateTime, key: &VendorCallKey) -> Vec<Output> {
        if let Some(&(id, Leg::A)) = self.by_call_id.get(key.as_str()) {
            if let Some(call) = self.calls.get_mut(&id) {
                if !call.persisted {
                    self.unstored -= 1;
                }
                call.persisted = true;
                if call.a_state == AState::AwaitingStore {
                    self.release_answer(now, id);
                }
            }
        }
        std::mem::take(&mut self.out)
    }

    /// One message from the network.
    pub fn packet(&mut self, now: OffsetDateTime, peer: Peer, data: &[u8], host: &mut dyn Host) -> Vec<Output> {
        self.last_now = now;
        self.on_packet(now, peer, data, host);
        if !self.waiting.is_empty() {
            self.retry_waiting(now, host);
        }
        std::mem::take(&mut self.out)
    }

    fn on_packet(&mut self, now: OffsetDateTime, peer: Peer, data: &[u8], host: &mut dyn Host) {
        match wire::parse(data) {
            Ok(p) => match &p.msg {
                rs::SipMessage::Request(_) => self.on_request(now, peer, p, host),
                rs::SipMessage::Response(_) => self.on_response(now, p, host),
            },
            Err(Malformed::BadRequest(reason)) => {
                self.stats.malformed += 1;
                if let Some(answer) = wire::bad_request(data, &reason) {
                    self.send(peer, answer);
                }
                self.out.push(Output::Rejected { peer, reason });
            }
            Err(Malformed::Unparseable(reason)) => {
                self.stats.malformed += 1;
                if data.iter().all(|b| b.is_ascii_whitespace()) {
                    // A keep-alive (RFC 5626 CRLF ping): not an error.
                } else {
                    self.out.push(Output::Rejected { peer, reason });
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn respond(&mut self, peer: Peer, req: &rs::Request, branch: &str, code: u16, to_tag: Option<&str>, extra: &[(&str, String)], body: Option<(&str, &[u8])>) {
        let data = wire::response(req, code, to_tag, extra, body);
        if let Some(tx) = self.server.get_mut(&(branch.to_string(), req.method)) {
            tx.last = Some(data.clone());
        }
        self.send(peer, data);
    }

    fn on_request(&mut self, now: OffsetDateTime, peer: Peer, p: Parsed, host: &mut dyn Host) {
        let req = p.request().expect("a request").clone();
        let method = req.method;
        if method != Method::Ack {
            let key = (p.branch.clone(), method);
            if let Some(tx) = self.server.get(&key) {
                // A retransmission: answer it with what the first copy got.
                if let Some(last) = tx.last.clone() {
                    let to = tx.peer;
                    self.send(to, last);
                }
                return;
            }
            self.server.insert(key.clone(), ServerTx { peer, last: None });
            self.server_expiry.push_back((now + self.cfg.t1 * 64, key));
        }
        let dialog = self.by_call_id.get(&p.call_id).copied();
        match (method, dialog) {
            (Method::Register, _) => self.register(now, peer, &p, &req, host),
            (Method::Invite, None) if p.to_tag.is_none() => self.new_call(now, peer, &p, req, host),
            (Method::Invite, Some((id, leg))) if p.to_tag.is_some() => self.reinvite(now, peer, &p, req, id, leg),
            (Method::Ack, Some((id, Leg::A))) => self.ack(id),
            (Method::Ack, _) => {}
            (Method::Cancel, Some((id, Leg::A))) => self.cancel(now, peer, &p, &req, id, host),
            (Method::Bye, Some((id, leg))) => self.bye(now, peer, &p, &req, id, leg, host),
            (Method::Options, _) => self.respond(peer, &req, &p.branch, 200, Some("options"), &[("Allow", ALLOW.into())], None),
            (Method::Info | Method::Notify | Method::Update, Some(_)) => self.respond(peer, &req, &p.branch, 200, None, &[], None),
            (Method::Refer, Some((id, Leg::B))) => self.refer(now, peer, &p, &req, id, host),
            (Method::Refer, Some(_)) => {
                self.respond(peer, &req, &p.branch, 403, None, &[], None);
                self.out.push(Output::Rejected { peer, reason: "REFER from the carrier leg: only agents transfer".into() });
            }
            (Method::Cancel | Method::Bye | Method::Info | Method::Notify | Method::Update | Method::Refer, _) | (Method::Invite, _) => {
                self.respond(peer, &req, &p.branch, 481, None, &[], None)
            }
            _ => self.respond(peer, &req, &p.branch, 405, None, &[("Allow", ALLOW.into())], None),
        }
    }

    fn register(&mut self, now: OffsetDateTime, peer: Peer, p: &Parsed, req: &rs::Request, host: &mut dyn Host) {
        let username = p.header("To").map(|t| wire::user_of(&t)).unwrap_or_default();
        let challenge = |stale: bool, me: &B2bua| {
            let stale = if stale { ", stale=true" } else { "" };
            format!("Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{stale}", me.cfg.realm, me.nonces.mint(now))
        };
        let Some(auth) = req.authorization_header().and_then(|a| rs::typed::Authorization::parse(a.value()).ok()) else {
            let c = challenge(false, self);
            return self.respond(peer, req, &p.branch, 401, Some("reg"), &[("WWW-Authenticate", c)], None);
        };
        if let Err(stale) = self.nonces.check(&auth.nonce, now) {
            let c = challenge(stale, self);
            return self.respond(peer, req, &p.branch, 401, Some("reg"), &[("WWW-Authenticate", c)], None);
        }
        let user = host.phone_user(&auth.username);
        let ok = auth.username == username
            && auth.realm == self.cfg.realm
            && user.as_ref().is_some_and(|u| crate::digest::verify(&auth, "REGISTER", &u.ha1));
        if !ok {
            self.out.push(Output::Rejected { peer, reason: format!("REGISTER for {username:?}: wrong credentials") });
            return self.respond(peer, req, &p.branch, 403, Some("reg"), &[], None);
        }
        let expires_header = p.header("Expires").and_then(|e| e.parse::<u32>().ok());
        let contact = p.header("Contact");
        match contact.as_deref().map(str::trim) {
            None => self.respond(peer, req, &p.branch, 200, Some("reg"), &[], None),
            Some("*") => {
                host.register(&username, None);
                self.respond(peer, req, &p.branch, 200, Some("reg"), &[], None)
            }
            Some(value) => {
                let Some((uri, param_expires)) = wire::contact(value) else {
                    return self.respond(peer, req, &p.branch, 400, Some("reg"), &[], None);
                };
                let expires = param_expires.or(expires_header).unwrap_or(3600).min(self.cfg.max_expires);
                if expires == 0 {
                    host.register(&username, None);
                    return self.respond(peer, req, &p.branch, 200, Some("reg"), &[], None);
                }
                let transport = if uri.to_string().to_ascii_lowercase().contains("transport=tcp") { Transport::Tcp } else { peer.transport };
                let addr = match (&uri.host_with_port.host, uri.host_with_port.port.as_ref()) {
                    (rs::Host::IpAddr(ip), port) => SocketAddr::new(*ip, port.map_or(5060, |p| p.value())),
                    _ => peer.addr,
                };
                let binding = Binding { uri: uri.to_string(), peer: Peer { addr, transport }, expires_at: now + Duration::seconds(expires.into()) };
                host.register(&username, Some(binding));
                self.stats.registrations += 1;
                let contact = format!("<{uri}>;expires={expires}");
                self.respond(peer, req, &p.branch, 200, Some("reg"), &[("Contact", contact)], None)
            }
        }
    }

    fn new_call(&mut self, now: OffsetDateTime, peer: Peer, p: &Parsed, req: rs::Request, host: &mut dyn Host) {
        let Some(trunk) = host.trunk(peer.addr.ip()) else {
            self.out.push(Output::Rejected { peer, reason: format!("INVITE from {} which is no trunk", peer.addr) });
            return self.respond(peer, &req, &p.branch, 403, None, &[], None);
        };
        let Ok(key) = VendorCallKey::parse(&p.call_id) else {
            return self.respond(peer, &req, &p.branch, 400, None, &[], None);
        };
        if self.unstored >= self.cfg.max_unstored || !self.admit(now, &trunk) {
            self.stats.overloaded += 1;
            let retry = self.cfg.overload_retry_after.to_string();
            return self.respond(peer, &req, &p.branch, 503, None, &[("Retry-After", retry)], None);
        }
        let id = self.next_id;
        self.next_id += 1;
        let a_tag = self.unique();
        let from = p.header("From").unwrap_or_default();
        let to = p.header("To").unwrap_or_default();
        let remote_target = p.header("Contact").and_then(|c| wire::contact(&c)).map(|(u, _)| u.to_string()).unwrap_or_else(|| format!("sip:{}", peer.addr));
        let a = Dialog {
            peer,
            call_id: p.call_id.clone(),
            local: format!("{to};tag={a_tag}"),
            remote: from.clone(),
            remote_target,
            cseq: 1,
        };
        let call = Call {
            key,
            seq: 0,
            trunk: trunk.clone(),
            invite: req.clone(),
            invite_branch: p.branch.clone(),
            a_state: AState::Early,
            a,
            a_tag: a_tag.clone(),
            answer: None,
            answer_interval: self.cfg.t1,
            answer_deadline: now,
            b: None,
            tried: Vec::new(),
            queued: false,
            queue_deadline: None,
            held: false,
            muted: false,
            persisted: false,
            ended: false,
            carrier_sdp: req.body.clone(),
            agent_sdp: Vec::new(),
            carrier_version: 0,
            agent_version: 0,
            reneg: None,
            bye_after_reneg: None,
            transfers: 0,
            outbound: None,
        };
        self.calls.insert(id, call);
        self.unstored += 1;
        self.by_call_id.insert(p.call_id.clone(), (id, Leg::A));
        self.stats.calls += 1;
        self.respond(peer, &req, &p.branch, 100, None, &[], None);
        self.respond(peer, &req, &p.branch, 180, Some(&a_tag), &[("Contact", self.contact(peer.transport))], None);
        let initiated = EventKind::Initiated {
            direction: Direction::Inbound,
            from: wire::user_of(&from),
            to: wire::user_of(&to),
            call_center: trunk.call_center.clone(),
        };
        self.event(id, now, initiated);
        self.event(id, now, EventKind::Ringing);
        self.offer(now, id, host);
    }

    /// Offers the call to the next free agent, or queues it.
    fn offer(&mut self, now: OffsetDateTime, id: u64, host: &mut dyn Host) -> bool {
        let Some(call) = self.calls.get(&id) else { return false };
        if call.ended || call.b.is_some() {
            return false;
        }
        let (from, to) = (wire::user_of(&call.a.remote), wire::user_of(&call.a.local));
        let query = RouteQuery { key: &call.key, call_center: call.trunk.call_center.as_ref(), from: &from, to: &to, exclude: &call.tried };
        let target = match host.choose_agent(&query) {
            Routed::Agent(target) => Some(target),
            Routed::Wait => None,
            Routed::Voicemail => {
                self.overflow(now, id, host);
                return false;
            }
            Routed::Callback => {
                self.callback_scheduled(now, id, host);
                return false;
            }
        };
        let Some(target) = target else {
            if call.queue_deadline.is_some_and(|d| d <= now) {
                self.overflow(now, id, host);
            } else if !call.queued {
                let deadline = now + call.trunk.queue_timeout;
                let queue = call.trunk.queue.clone();
                let call = self.calls.get_mut(&id).expect("present");
                call.queued = true;
                call.queue_deadline = Some(deadline);
                self.waiting.push_back(id);
                self.timers.push(Reverse((deadline, Timer::Queue(id))));
                self.event(id, now, EventKind::Queued { queue });
            }
            return false;
        };
        self.offer_to(now, id, target, host)
    }

    /// Sends the call's INVITE to one agent's phone (leg B).
    fn offer_to(
        &mut self,
        now: OffsetDateTime,
        id: u64,
        target: AgentTarget,
        host: &mut dyn Host,
    ) -> bool {
        self.invite_leg(now, id, Some(target.agent), &target.uri, target.peer, host)
    }

    /// Sends the call's INVITE on a new leg B, carrying the carrier's SDP: an
    /// agent's phone, or (`agent` None) an outside number through a trunk.
    fn invite_leg(
        &mut self,
        now: OffsetDateTime,
        id: u64,
        agent: Option<AgentId>,
        uri: &str,
        peer: Peer,
        host: &mut dyn Host,
    ) -> bool {
        let branch = format!("z9hG4bK{}", self.unique());
        let from_tag = self.unique();
        let call_id = format!("{}@dialtone", self.unique());
        let via = self.via(peer.transport);
        let contact = self.contact(peer.transport);
        let call = self.calls.get(&id).expect("present");
        let caller = rs::typed::From::parse(&call.a.remote).map(|f| f.uri.to_string()).unwrap_or_else(|_| "sip:anonymous@invalid".into());
        let from = format!("<{caller}>;tag={from_tag}");
        let to = format!("<{uri}>");
        let body = fresh_offer(&call.carrier_sdp);
        let ctype = call
            .invite
            .header_value("Content-Type")
            .unwrap_or_else(|| "application/sdp".into());
        // Only Dialtone's own phones learn the call's key.
        let extra: Vec<(&str, String)> = agent
            .iter()
            .map(|_| ("X-Dialtone-Call", call.key.to_string()))
            .collect();
        let out = Outgoing {
            method: Method::Invite,
            uri,
            via: &via,
            branch: &branch,
            from: &from,
            to: &to,
            call_id: &call_id,
            cseq: 1,
            contact: Some(&contact),
            extra: &extra,
            body: (!body.is_empty()).then_some((ctype.as_str(), body.as_slice())),
        };
        let data = match wire::request(&out) {
            Ok(d) => d,
            Err(reason) => {
                self.out.push(Output::Rejected { peer, reason });
                if let Some(agent) = agent {
                    let call = self.calls.get_mut(&id).expect("present");
                    host.release_agent(&call.key, &agent);
                    call.tried.push(agent);
                }
                return false;
            }
        };
        let dialog = Dialog {
            peer,
            call_id: call_id.clone(),
            local: from.clone(),
            remote: to.clone(),
            remote_target: uri.to_string(),
            cseq: 1,
        };
        let call = self.calls.get_mut(&id).expect("present");
        call.tried.extend(agent.clone());
        call.b = Some(BLeg {
            agent: agent.clone(),
            invite_branch: branch.clone(),
            state: BState::Inviting,
            dialog,
        });
        self.by_call_id.insert(call_id.clone(), (id, Leg::B));
        self.timers.push(Reverse((
            now + self.cfg.offer_timeout,
            Timer::Offer(id, branch.clone()),
        )));
        self.start_client(
            now,
            branch,
            Method::Invite,
            peer,
            data,
            Purpose::Offer { call: id },
            Some((uri.to_string(), from, to, call_id, 1)),
        );
        if let Some(agent) = agent {
            self.event(id, now, EventKind::Offered { agent });
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn start_client(&mut self, now: OffsetDateTime, branch: String, method: Method, peer: Peer, data: Vec<u8>, purpose: Purpose, ack: Option<(String, String, String, String, u32)>) {
        let retransmit = peer.transport == Transport::Udp;
        if retransmit {
            self.timers.push(Reverse((now + self.cfg.t1, Timer::Retransmit(branch.clone()))));
        }
        let deadline = now + self.cfg.t1 * 64;
        self.timers.push(Reverse((deadline, Timer::ClientTimeout(branch.clone()))));
        self.send(peer, data.clone());
        self.client.insert(branch, ClientTx { method, peer, data, interval: self.cfg.t1, retransmit, deadline, done: false, purpose, ack, ack_2xx: None });
    }

    /// Sends a request within a dialog of the call; its branch.
    fn in_dialog(
        &mut self,
        now: OffsetDateTime,
        id: u64,
        leg: Leg,
        method: Method,
        body: Option<(&str, &[u8])>,
        purpose: Purpose,
    ) -> Option<String> {
        if method == Method::Bye && self.reneg_leg(id) == Some(leg) {
            // Sent once the re-INVITE in flight on this leg is answered (`reneg_over`).
            self.calls.get_mut(&id)?.bye_after_reneg = Some(leg);
            return None;
        }
        let call = self.calls.get_mut(&id)?;
        let dialog = match leg {
            Leg::A => &mut call.a,
            Leg::B => &mut call.b.as_mut()?.dialog,
        };
        dialog.cseq += 1;
        let d = dialog.clone();
        let branch = format!("z9hG4bK{}", self.unique());
        let via = self.via(d.peer.transport);
        let contact = self.contact(d.peer.transport);
        let out = Outgoing {
            method,
            uri: &d.remote_target,
            via: &via,
            branch: &branch,
            from: &d.local,
            to: &d.remote,
            call_id: &d.call_id,
            cseq: d.cseq,
            contact: (method == Method::Invite).then_some(contact.as_str()),
            extra: &[],
            body,
        };
        match wire::request(&out) {
            Ok(data) => {
                let ack = (method == Method::Invite).then(|| {
                    (
                        d.remote_target.clone(),
                        d.local.clone(),
                        d.remote.clone(),
                        d.call_id.clone(),
                        d.cseq,
                    )
                });
                self.start_client(now, branch.clone(), method, d.peer, data, purpose, ack);
                Some(branch)
            }
            Err(reason) => {
                self.out.push(Output::Rejected {
                    peer: d.peer,
                    reason,
                });
                None
            }
        }
    }

    /// The leg on which our own re-INVITE (sent by us: call control, a relayed
    /// one, a refresh) waits for its final response.
    fn reneg_leg(&self, id: u64) -> Option<Leg> {
        let call = self.calls.get(&id)?;
        let tx = self.client.get(call.reneg.as_deref()?).filter(|t| !t.done && t.method == Method::Invite)?;
        let call_id = &tx.ack.as_ref()?.3;
        if *call_id == call.a.call_id {
            Some(Leg::A)
        } else {
            call.b.as_ref().filter(|b| b.dialog.call_id == *call_id).map(|_| Leg::B)
        }
    }

    /// The re-INVITE `branch` of the call is over (answered, or timed out):
    /// the call may renegotiate again, and a BYE held back for it goes now.
    fn reneg_over(&mut self, now: OffsetDateTime, id: u64, branch: &str) {
        let Some(c) = self.calls.get_mut(&id).filter(|c| c.reneg.as_deref() == Some(branch)) else { return };
        c.reneg = None;
        if let Some(leg) = c.bye_after_reneg.take() {
            self.in_dialog(now, id, leg, Method::Bye, None, Purpose::Bye);
        }
    }

    /// Hangs up leg B: a BYE once it is `confirmed`, else a CANCEL of its
    /// INVITE if that has no final response yet.
    fn close_b(&mut self, now: OffsetDateTime, id: u64, confirmed: bool) {
        if confirmed {
            self.in_dialog(now, id, Leg::B, Method::Bye, None, Purpose::Bye);
        } else if let Some(branch) = self
            .calls
            .get(&id)
            .and_then(|c| c.b.as_ref())
            .map(|b| b.invite_branch.clone())
        {
            self.cancel_invite(now, &branch);
        }
        if let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.as_mut()) {
            b.state = BState::Done;
        }
    }

    fn cancel_b(&mut self, now: OffsetDateTime, id: u64) {
        let Some(b) = self.calls.get(&id).and_then(|c| c.b.as_ref()) else { return };
        if b.state == BState::Inviting {
            let branch = b.invite_branch.clone();
            self.cancel_invite(now, &branch);
        }
    }

    /// Click-to-dial: stops the customer's INVITE while it rings.
    fn cancel_customer(&mut self, now: OffsetDateTime, id: u64) {
        if let Some(branch) = self.calls.get(&id).and_then(|c| c.outbound.as_ref()).and_then(|o| o.customer_branch.clone()) {
            self.cancel_invite(now, &branch);
        }
    }

    /// CANCELs one of our INVITEs that has no final response yet.
    fn cancel_invite(&mut self, now: OffsetDateTime, branch: &str) {
        let Some(tx) = self.client.get(branch) else { return };
        if tx.done {
            return;
        }
        let Some((uri, from, to, call_id, cseq)) = tx.ack.clone() else { return };
        let peer = tx.peer;
        let via = self.via(peer.transport);
        let out = Outgoing { method: Method::Cancel, uri: &uri, via: &via, branch, from: &from, to: &to, call_id: &call_id, cseq, contact: None, extra: &[], body: None };
        if let Ok(data) = wire::request(&out) {
            // CANCEL shares the INVITE's branch; key its transaction apart.
            self.start_client(now, format!("{branch};cancel"), Method::Cancel, peer, data, Purpose::Cancel, None);
        }
    }

    fn end(&mut self, now: OffsetDateTime, id: u64, reason: EndReason, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.ended {
            return;
        }
        call.ended = true;
        call.queued = false;
        if let Some(agent) = call.b.as_ref().and_then(|b| b.agent.as_ref()) {
            host.release_agent(&call.key, agent);
        }
        self.event(id, now, EventKind::Ended { reason });
        self.finished.push_back((now + self.cfg.t1 * 64, id));
    }

    fn ack(&mut self, id: u64) {
        if let Some(call) = self.calls.get_mut(&id) {
            if call.a_state == AState::Answering {
                call.a_state = AState::Confirmed;
                call.answer = None;
            }
        }
    }

    fn cancel(&mut self, now: OffsetDateTime, peer: Peer, p: &Parsed, req: &rs::Request, id: u64, host: &mut dyn Host) {
        self.respond(peer, req, &p.branch, 200, None, &[], None);
        let Some(call) = self.calls.get(&id) else { return };
        if !matches!(call.a_state, AState::Early | AState::AwaitingStore) || call.invite_branch != p.branch {
            return;
        }
        let invite = call.invite.clone();
        let (branch, tag) = (call.invite_branch.clone(), call.a_tag.clone());
        self.respond(peer, &invite, &branch, 487, Some(&tag), &[], None);
        self.cancel_b(now, id);
        if let Some(call) = self.calls.get_mut(&id) {
            call.a_state = AState::Done;
        }
        self.end(now, id, EndReason::Canceled, host);
    }

    #[allow(clippy::too_many_arguments)]
    fn bye(&mut self, now: OffsetDateTime, peer: Peer, p: &Parsed, req: &rs::Request, id: u64, leg: Leg, host: &mut dyn Host) {
        self.respond(peer, req, &p.branch, 200, None, &[], None);
        let Some(call) = self.calls.get_mut(&id) else { return };
        if leg == Leg::A {
            // A BYE confirms the dialog as an ACK would (RFC 3261 §13.3.1.4):
            // stop retransmitting the answer even if the ACK was lost.
            call.answer = None;
            if call.a_state == AState::Answering {
                call.a_state = AState::Confirmed;
            }
        }
        if call.ended {
            call.a_state = AState::Done;
            return;
        }
        let b_confirmed = call.b.as_ref().is_some_and(|b| b.state == BState::Confirmed);
        let a_live = matches!(call.a_state, AState::Answering | AState::Confirmed);
        call.a_state = AState::Done;
        call.answer = None;
        if let Some(b) = call.b.as_mut() {
            b.state = BState::Done;
        }
        match leg {
            Leg::A => {
                self.close_b(now, id, b_confirmed);
                self.end(now, id, EndReason::CustomerDisconnect, host);
            }
            Leg::B => {
                if a_live {
                    self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
                } else {
                    self.cancel_customer(now, id);
                }
                self.end(now, id, EndReason::AgentDisconnect, host);
            }
        }
    }

    fn reinvite(
        &mut self,
        now: OffsetDateTime,
        peer: Peer,
        p: &Parsed,
        req: rs::Request,
        id: u64,
        leg: Leg,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let confirmed = !call.ended
            && call
                .b
                .as_ref()
                .is_some_and(|b| b.state == BState::Confirmed);
        // RFC 3261 §14.2: a re-INVITE while another is in progress is glare.
        if !confirmed || call.reneg.is_some() {
            return self.respond(peer, &req, &p.branch, 491, None, &[], None);
        }
        if !req.body.is_empty() {
            match leg {
                Leg::A => call.carrier_sdp = req.body.clone(),
                Leg::B => {
                    call.agent_sdp = req.body.clone();
                    // The carrier now has the phone's own direction.
                    call.muted = false;
                }
            }
        }
        let hold = wire::sdp_is_hold(&req.body);
        let change = match (hold, call.held) {
            (true, false) => Some(EventKind::Held),
            (false, true) if !req.body.is_empty() => Some(EventKind::Resumed),
            _ => None,
        };
        if change.is_some() {
            call.held = hold;
        }
        let to_tag = match leg {
            Leg::A => call.a_tag.clone(),
            Leg::B => p.to_tag.clone().unwrap_or_default(),
        };
        self.respond(peer, &req, &p.branch, 100, None, &[], None);
        let ctype = req.header_value("Content-Type").unwrap_or_else(|| "application/sdp".into());
        let body = req.body.clone();
        let other = if leg == Leg::A { Leg::B } else { Leg::A };
        let purpose = Purpose::Relay {
            call: id,
            origin: Box::new(req),
            origin_peer: peer,
            to_tag,
        };
        let branch = self.in_dialog(
            now,
            id,
            other,
            Method::Invite,
            (!body.is_empty()).then_some((ctype.as_str(), body.as_slice())),
            purpose,
        );
        if let Some(call) = self.calls.get_mut(&id) {
            call.reneg = branch;
        }
        if let Some(kind) = change {
            self.event(id, now, kind);
        }
    }

    fn on_response(&mut self, now: OffsetDateTime, p: Parsed, host: &mut dyn Host) {
        let code = p.response().expect("a response").status_code.code();
        let branch = if p.cseq_method == Method::Cancel { format!("{};cancel", p.branch) } else { p.branch.clone() };
        let Some(tx) = self.client.get_mut(&branch) else { return };
        if tx.method != p.cseq_method {
            return;
        }
        tx.retransmit = false;
        if code < 200 {
            let ringing = match tx.purpose {
                Purpose::DialCustomer { call } => self
                    .calls
                    .get(&call)
                    .is_some_and(|c| c.a_state == AState::Early && !c.ended)
                    .then_some(call),
                // An outside number a transfer dialled: the new leg rings.
                Purpose::Offer { call } => self
                    .calls
                    .get(&call)
                    .filter(|c| !c.ended)
                    .and_then(|c| c.b.as_ref())
                    .is_some_and(|b| {
                        b.agent.is_none()
                            && b.invite_branch == branch
                            && b.state == BState::Inviting
                    })
                    .then_some(call),
                _ => None,
            };
            if let (180, Some(call)) = (code, ringing) {
                self.event(call, now, EventKind::Ringing);
            }
            return;
        }
        if tx.done {
            // A retransmitted final response: re-ACK a 2xx, absorb the rest.
            if (200..300).contains(&code) {
                if let Some((peer, ack)) = tx.ack_2xx.clone() {
                    self.send(peer, ack);
                }
            }
            return;
        }
        tx.done = true;
        let peer = tx.peer;
        let ack = tx.ack.clone();
        let method = tx.method;
        let holds_ack = (200..300).contains(&code) && matches!(self.client.get(&branch), Some(ClientTx { purpose: Purpose::DialAgent { .. }, .. }));
        if method == Method::Invite && !holds_ack {
            let ack_data = self.ack_for(&p, code, peer, ack);
            if let (Some(data), Some(tx)) = (ack_data.clone(), self.client.get_mut(&branch)) {
                if (200..300).contains(&code) {
                    tx.ack_2xx = Some((peer, data));
                }
            }
            if let Some(data) = ack_data {
                self.send(peer, data);
            }
        }
        if method == Method::Invite && (200..300).contains(&code) && !p.body().is_empty() {
            self.learn_sdp(&p);
        }
        if let Some(
            Purpose::Relay { call, .. } | Purpose::Refresh { call } | Purpose::Control { call, .. },
        ) = self.client.get(&branch).map(|t| &t.purpose)
        {
            let id = *call;
            self.reneg_over(now, id, &branch);
        }
        match self.client.get(&branch).map(|t| &t.purpose) {
            Some(Purpose::Offer { call }) => {
                let id = *call;
                self.offer_answered(now, id, &branch, code, &p, host)
            }
            Some(Purpose::Relay { .. }) => self.relay_answered(&branch, code, &p),
            Some(Purpose::Control {
                call,
                action,
                leg,
                attempt,
            }) => {
                let (id, action, leg, attempt) = (*call, *action, *leg, *attempt);
                self.control_answered(now, id, action, leg, attempt, code, host)
            }
            Some(Purpose::Refresh { call }) if !(200..300).contains(&code) => {
                let id = *call;
                self.reneg_failed(now, id, code, host)
            }
            Some(Purpose::DialAgent { call }) => {
                let id = *call;
                self.dial_agent_answered(now, id, code, p, host)
            }
            Some(Purpose::DialCustomer { call }) => {
                let id = *call;
                self.dial_customer_answered(now, id, code, &p, host)
            }
            _ => {}
        }
    }

    /// The ACK for a final response to one of our INVITEs: a new transaction
    /// to the remote target for a 2xx, the INVITE's own branch otherwise.
    fn ack_for(&mut self, p: &Parsed, code: u16, peer: Peer, ack: Option<(String, String, String, String, u32)>) -> Option<Vec<u8>> {
        let (uri, from, _, call_id, cseq) = ack?;
        let to = p.header("To")?;
        let via = self.via(peer.transport);
        let (uri, branch) = if (200..300).contains(&code) {
            let target = p.header("Contact").and_then(|c| wire::contact(&c)).map(|(u, _)| u.to_string()).unwrap_or(uri);
            (target, format!("z9hG4bK{}", self.unique()))
        } else {
            (uri, p.branch.clone())
        };
        let out = Outgoing { method: Method::Ack, uri: &uri, via: &via, branch: &branch, from: &from, to: &to, call_id: &call_id, cseq, contact: None, extra: &[], body: None };
        wire::request(&out).ok()
    }

    fn offer_answered(&mut self, now: OffsetDateTime, id: u64, branch: &str, code: u16, p: &Parsed, host: &mut dyn Host) {
        let a_transport = self.calls.get(&id).map_or(Transport::Udp, |c| c.a.peer.transport);
        let contact = self.contact(a_transport);
        let Some(call) = self.calls.get_mut(&id) else { return };
        let current = call.b.as_ref().is_some_and(|b| b.invite_branch == branch && b.state == BState::Inviting);
        if (200..300).contains(&code) {
            if !current || call.ended {
                // Answered after we gave up on it: hang that phone up.
                let peer = self.client.get(branch).map(|t| t.peer);
                let target = p.header("Contact").and_then(|c| wire::contact(&c)).map(|(u, _)| u.to_string());
                if let (Some(peer), Some(target), Some((_, from, _, call_id, cseq))) = (peer, target, self.client.get(branch).and_then(|t| t.ack.clone())) {
                    let stale = Dialog { peer, call_id, local: from, remote: p.header("To").unwrap_or_default(), remote_target: target, cseq };
                    self.bye_stale(now, stale);
                }
                return;
            }
            let b = call.b.as_mut().expect("current");
            b.state = BState::Confirmed;
            b.dialog.remote = p.header("To").unwrap_or_default();
            if let Some((uri, _)) = p.header("Contact").and_then(|c| wire::contact(&c)) {
                b.dialog.remote_target = uri.to_string();
            }
            let agent = b.agent.clone();
            call.queued = false;
            let ctype = p.header("Content-Type").unwrap_or_else(|| "application/sdp".into());
            let body = p.body().to_vec();
            if matches!(call.a_state, AState::Answering | AState::Confirmed) {
                // A transfer's new agent (or number) answered: move the carrier's media to them.
                self.stats.answered += 1;
                if let Some(agent) = agent {
                    self.event(
                        id,
                        now,
                        EventKind::OfferResult {
                            agent: agent.clone(),
                            result: OfferOutcome::Accepted,
                        },
                    );
                    self.event(id, now, EventKind::Answered { agent });
                }
                let branch = self.in_dialog(
                    now,
                    id,
                    Leg::A,
                    Method::Invite,
                    (!body.is_empty()).then_some((ctype.as_str(), body.as_slice())),
                    Purpose::Refresh { call: id },
                );
                if let Some(call) = self.calls.get_mut(&id) {
                    call.reneg = branch;
                }
                return;
            }
            let Some(agent) = agent else { return };
            let extra = [("Contact", contact)];
            let data = wire::response(&call.invite, 200, Some(&call.a_tag), &extra, (!body.is_empty()).then_some((ctype.as_str(), body.as_slice())));
            call.answer = Some(data);
            call.a_state = AState::AwaitingStore;
            self.stats.answered += 1;
            self.event(id, now, EventKind::OfferResult { agent: agent.clone(), result: OfferOutcome::Accepted });
            self.event(id, now, EventKind::Answered { agent });
            if self.calls.get(&id).is_some_and(|c| c.persisted) {
                self.release_answer(now, id);
            }
            return;
        }
        // A call ended (canceled) while this offer rang: its agent is already released.
        if !current || call.ended {
            return;
        }
        self.leg_failed(now, id, Some(code), host);
    }

    /// The current leg B's INVITE got no answer (`code` None: it timed out
    /// or was withdrawn) or a failure. An agent's offer is Declined (486,
    /// 600, 603) or Missed and the next agent is tried; an outside number a
    /// transfer dialled ends the call, the carrier hung up.
    fn leg_failed(&mut self, now: OffsetDateTime, id: u64, code: Option<u16>, host: &mut dyn Host) {
        let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.take()) else {
            return;
        };
        self.by_call_id.remove(&b.dialog.call_id);
        match b.agent {
            Some(agent) => {
                if let Some(call) = self.calls.get(&id) {
                    host.release_agent(&call.key, &agent);
                }
                let result = match code {
                    Some(486 | 600 | 603) => OfferOutcome::Declined,
                    _ => OfferOutcome::Missed,
                };
                self.event(id, now, EventKind::OfferResult { agent, result });
                self.offer(now, id, host);
            }
            None => {
                if let Some(call) = self.calls.get_mut(&id) {
                    call.a_state = AState::Done;
                }
                self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
                self.end(now, id, end_reason(code.unwrap_or(408)), host);
            }
        }
    }

    fn bye_stale(&mut self, now: OffsetDateTime, d: Dialog) {
        let branch = format!("z9hG4bK{}", self.unique());
        let via = self.via(d.peer.transport);
        let out = Outgoing { method: Method::Bye, uri: &d.remote_target, via: &via, branch: &branch, from: &d.local, to: &d.remote, call_id: &d.call_id, cseq: d.cseq + 1, contact: None, extra: &[], body: None };
        if let Ok(data) = wire::request(&out) {
            self.start_client(now, branch, Method::Bye, d.peer, data, Purpose::Bye, None);
        }
    }

    /// Sends the held 200 to the carrier, retransmitted until its ACK.
    fn release_answer(&mut self, now: OffsetDateTime, id: u64) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(data) = call.answer.clone() else { return };
        call.a_state = AState::Answering;
        call.answer_interval = self.cfg.t1;
        call.answer_deadline = now + self.cfg.t1 * 64;
        let peer = call.a.peer;
        let branch = call.invite_branch.clone();
        if let Some(tx) = self.server.get_mut(&(branch, Method::Invite)) {
            tx.last = Some(data.clone());
        }
        let first = if peer.transport == Transport::Udp { now + self.cfg.t1 } else { call.answer_deadline };
        self.timers.push(Reverse((first, Timer::Answer(id))));
        self.send(peer, data);
    }

    fn relay_answered(&mut self, branch: &str, code: u16, p: &Parsed) {
        let Some(ClientTx { purpose: Purpose::Relay { origin, origin_peer, to_tag, .. }, .. }) = self.client.get(branch) else { return };
        let (origin, origin_peer, to_tag) = (origin.clone(), *origin_peer, to_tag.clone());
        let ctype = p.header("Content-Type").unwrap_or_else(|| "application/sdp".into());
        let body = p.body().to_vec();
        let origin_branch = origin.transaction_id().ok().flatten().map(|b| b.to_string()).unwrap_or_default();
        let contact = self.contact(origin_peer.transport);
        let extra = [("Contact", contact)];
        self.respond(origin_peer, &origin, &origin_branch, code, Some(&to_tag), &extra, (!body.is_empty()).then_some((ctype.as_str(), body.as_slice())));
    }

    /// Third-party call control: an action the agent took in the browser,
    /// carried out on the call's SIP legs. The call events are those of the
    /// same action taken on the phone. A refused command changes nothing.
    pub fn command(
        &mut self,
        now: OffsetDateTime,
        cmd: Command,
        host: &mut dyn Host,
    ) -> Result<Vec<Output>, Refusal> {
        self.last_now = now;
        let id = self.live_call(&cmd.key).ok_or(Refusal::UnknownCall)?;
        match cmd.action {
            CallAction::Hangup => self.hangup(now, id, host),
            CallAction::Hold => self.renegotiate(now, id, Reneg::Hold)?,
            CallAction::Resume => self.renegotiate(now, id, Reneg::Resume)?,
            CallAction::Mute => self.renegotiate(now, id, Reneg::Mute)?,
            CallAction::Unmute => self.renegotiate(now, id, Reneg::Unmute)?,
            CallAction::Decline => self.decline(now, id, host)?,
            CallAction::Transfer { to } => {
                let dest = self.resolve_transfer(id, to, host)?;
                self.transfer(now, id, dest, host);
            }
        }
        Ok(std::mem::take(&mut self.out))
    }

    /// The call whose current VendorCallKey this is (a transfer's new leg is
    /// keyed `CALL-ID;transfer=N`; the old leg's key is no longer live).
    fn live_call(&self, key: &VendorCallKey) -> Option<u64> {
        let carrier = key.as_str().split(";transfer=").next()?;
        let &(id, leg) = self.by_call_id.get(carrier)?;
        let call = self.calls.get(&id)?;
        (leg == Leg::A && !call.ended && &call.key == key).then_some(id)
    }

    /// The agent hangs up: BYE on the legs that are answered, CANCEL or a
    /// final response (480) on those that are not.
    fn hangup(&mut self, now: OffsetDateTime, id: u64, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let b_confirmed = call
            .b
            .as_ref()
            .is_some_and(|b| b.state == BState::Confirmed);
        call.answer = None;
        match call.a_state {
            AState::Early if call.outbound.is_some() => {
                self.cancel_customer(now, id);
                return self.dial_failed(now, id, EndReason::AgentDisconnect, host);
            }
            AState::Early | AState::AwaitingStore => {
                let (invite, branch, tag, peer) = (
                    call.invite.clone(),
                    call.invite_branch.clone(),
                    call.a_tag.clone(),
                    call.a.peer,
                );
                self.respond(peer, &invite, &branch, 480, Some(&tag), &[], None);
            }
            AState::Answering | AState::Confirmed => {
                self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
            }
            AState::Done => {}
        }
        if let Some(call) = self.calls.get_mut(&id) {
            call.a_state = AState::Done;
        }
        self.close_b(now, id, b_confirmed);
        self.end(now, id, EndReason::AgentDisconnect, host);
    }

    /// Hold, resume, mute or unmute: checks, then the carrier's re-INVITE.
    fn renegotiate(&mut self, now: OffsetDateTime, id: u64, action: Reneg) -> Result<(), Refusal> {
        let call = self.calls.get(&id).ok_or(Refusal::UnknownCall)?;
        let answered = call.a_state == AState::Confirmed
            && call
                .b
                .as_ref()
                .is_some_and(|b| b.state == BState::Confirmed)
            && !call.agent_sdp.is_empty();
        if !answered {
            return Err(Refusal::NotAnswered);
        }
        if call.reneg.is_some() {
            return Err(Refusal::Renegotiating);
        }
        match action {
            Reneg::Hold if call.held => return Err(Refusal::AlreadyHeld),
            Reneg::Resume if !call.held => return Err(Refusal::NotHeld),
            Reneg::Mute if call.muted => return Err(Refusal::AlreadyMuted),
            Reneg::Unmute if !call.muted => return Err(Refusal::NotMuted),
            _ => {}
        }
        self.reoffer(now, id, action, Leg::A, 0);
        Ok(())
    }

    /// Sends one re-INVITE of call control. Toward the carrier: the agent's
    /// last SDP, sending unless muted and receiving unless held (hold
    /// `sendonly`, mute `recvonly`, both `inactive`). Toward the phone: the
    /// carrier's last SDP, `inactive` while held. Each with an `o=` version
    /// newer than any that leg has seen from us.
    fn reoffer(&mut self, now: OffsetDateTime, id: u64, action: Reneg, leg: Leg, attempt: u8) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        let (held, muted) = match (leg, action) {
            (Leg::A, Reneg::Hold | Reneg::Resume) => (action == Reneg::Hold, call.muted),
            (Leg::A, Reneg::Mute | Reneg::Unmute) => (call.held, action == Reneg::Mute),
            (Leg::B, _) => (call.held, call.muted),
        };
        let sdp = match leg {
            Leg::A => reoffer_sdp(&call.agent_sdp, &mut call.carrier_version, wire::Direction { send: !muted, recv: !held }),
            Leg::B => reoffer_sdp(&call.carrier_sdp, &mut call.agent_version, wire::Direction { send: !held, recv: !held }),
        };
        let purpose = Purpose::Control {
            call: id,
            action,
            leg,
            attempt,
        };
        let branch = self.in_dialog(
            now,
            id,
            leg,
            Method::Invite,
            Some(("application/sdp", &sdp)),
            purpose,
        );
        if let Some(call) = self.calls.get_mut(&id) {
            call.reneg = branch;
        }
    }

    /// A final response to a re-INVITE of call control. The carrier's 2xx
    /// makes the change (Held, Resumed) and, for hold and resume, re-offers
    /// the phone; a 491 is glare, tried again; any other failure leaves the
    /// call as it was, except 408 and 481, which end it (RFC 3261 §14.1).
    #[allow(clippy::too_many_arguments)]
    fn control_answered(
        &mut self,
        now: OffsetDateTime,
        id: u64,
        action: Reneg,
        leg: Leg,
        attempt: u8,
        code: u16,
        host: &mut dyn Host,
    ) {
        let Some(call) = self.calls.get_mut(&id).filter(|c| !c.ended) else {
            return;
        };
        if !(200..300).contains(&code) {
            let peer = match leg {
                Leg::A => call.a.peer,
                Leg::B => call.b.as_ref().map_or(call.a.peer, |b| b.dialog.peer),
            };
            if code == 491 {
                return self.glare(now, id, action, leg, attempt);
            }
            self.out.push(Output::Rejected {
                peer,
                reason: format!("{action:?}: the re-INVITE was answered {code}; nothing changed"),
            });
            if matches!(code, 408 | 481) {
                self.reneg_failed(now, id, code, host);
            }
            return;
        }
        if leg == Leg::B {
            return;
        }
        let kind = match action {
            Reneg::Hold => (!call.held).then_some(EventKind::Held),
            Reneg::Resume => call.held.then_some(EventKind::Resumed),
            Reneg::Mute | Reneg::Unmute => None,
        };
        match action {
            Reneg::Hold | Reneg::Resume => call.held = action == Reneg::Hold,
            Reneg::Mute | Reneg::Unmute => call.muted = action == Reneg::Mute,
        }
        if let Some(kind) = kind {
            self.event(id, now, kind);
        }
        if matches!(action, Reneg::Hold | Reneg::Resume) {
            self.reoffer(now, id, action, Leg::B, 0);
        }
    }

    /// Our re-INVITE met another (RFC 3261 §14.1): it is sent again after
    /// a pause — 2.1 to 4 s on the phone's leg, whose Call-ID is ours, up to
    /// 2 s on the carrier's — at most three times, then given up (logged).
    fn glare(&mut self, now: OffsetDateTime, id: u64, action: Reneg, leg: Leg, attempt: u8) {
        if attempt >= 3 {
            let peer = self.calls.get(&id).map(|c| c.a.peer);
            if let Some(peer) = peer {
                self.out.push(Output::Rejected {
                    peer,
                    reason: format!("{action:?}: glare three times; given up, nothing changed"),
                });
            }
            return;
        }
        self.next_id += 1;
        let jitter =
            Duration::milliseconds(10 * (self.next_id.wrapping_mul(2_654_435_761) % 190) as i64);
        let pause = match leg {
            Leg::A => jitter,
            Leg::B => Duration::milliseconds(2100) + jitter,
        };
        self.timers.push(Reverse((now + pause, Timer::Reoffer(id, action, leg, attempt + 1))));
        // Until then the call is mid-renegotiation: other re-INVITEs are glare, commands refused.
        if let Some(call) = self.calls.get_mut(&id).filter(|c| c.reneg.is_none()) {
            call.reneg = Some(AWAITING_RETRY.into());
        }
    }

    /// A re-INVITE within the call timed out or found no dialog: the legs
    /// cannot be trusted to agree any more, so the call is hung up.
    fn reneg_failed(&mut self, now: OffsetDateTime, id: u64, code: u16, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id).filter(|c| !c.ended) else {
            return;
        };
        let b_confirmed = call
            .b
            .as_ref()
            .is_some_and(|b| b.state == BState::Confirmed);
        let a_live = matches!(call.a_state, AState::Answering | AState::Confirmed);
        call.a_state = AState::Done;
        call.answer = None;
        if a_live {
            self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
        }
        self.close_b(now, id, b_confirmed);
        self.event(
            id,
            now,
            EventKind::Failed {
                reason: format!("a re-INVITE within the call failed ({code}); both legs hung up"),
            },
        );
        self.end(now, id, EndReason::Failed, host);
    }

    /// The agent refuses the call their phone rings with: CANCEL, and as a
    /// phone's own 603 (an offer Declined, the next agent tried; a
    /// click-to-dial ends).
    fn decline(
        &mut self,
        now: OffsetDateTime,
        id: u64,
        host: &mut dyn Host,
    ) -> Result<(), Refusal> {
        let call = self.calls.get(&id).ok_or(Refusal::UnknownCall)?;
        if !call
            .b
            .as_ref()
            .is_some_and(|b| b.state == BState::Inviting && b.agent.is_some())
        {
            return Err(Refusal::NotRinging);
        }
        if call.outbound.is_some() {
            self.dial_failed(now, id, EndReason::Canceled, host);
        } else {
            self.cancel_b(now, id);
            self.leg_failed(now, id, Some(603), host);
        }
        Ok(())
    }

    /// Remembers the SDP a response to one of our INVITEs carried, by leg.
    fn learn_sdp(&mut self, p: &Parsed) {
        let Some(&(id, leg)) = self.by_call_id.get(&p.call_id) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        match leg {
            Leg::A => call.carrier_sdp = p.body().to_vec(),
            Leg::B => call.agent_sdp = p.body().to_vec(),
        }
    }

    /// Timers: retransmissions, timeouts, queue limits; retries queued calls.
    pub fn poll(&mut self, now: OffsetDateTime, host: &mut dyn Host) -> Vec<Output> {
        self.last_now = now;
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Reverse((_, timer)) = self.timers.pop().expect("peeked");
            self.fire(now, timer, host);
        }
        while self.server_expiry.front().is_some_and(|(t, _)| *t <= now) {
            let (_, key) = self.server_expiry.pop_front().expect("front");
            self.server.remove(&key);
        }
        while self.finished.front().is_some_and(|(t, _)| *t <= now) {
            let (_, id) = self.finished.pop_front().expect("front");
            if let Some(call) = self.calls.remove(&id) {
                if !call.persisted {
                    self.unstored -= 1;
                }
                self.by_call_id.remove(&call.a.call_id);
                if let Some(b) = call.b {
                    self.by_call_id.remove(&b.dialog.call_id);
                }
            }
        }
        self.retry_waiting(now, host);
        std::mem::take(&mut self.out)
    }

    /// Offers queued calls again, oldest first (agents may have freed up).
    /// A call center with no free agent for its oldest caller is skipped.
    pub fn retry_waiting(&mut self, now: OffsetDateTime, host: &mut dyn Host) {
        let mut keep = VecDeque::with_capacity(self.waiting.len());
        let mut blocked: Vec<Option<SalesforceId>> = Vec::new();
        while let Some(id) = self.waiting.pop_front() {
            let Some(call) = self.calls.get(&id) else { continue };
            if call.ended || !call.queued {
                continue;
            }
            let center = call.trunk.call_center.clone();
            if call.b.is_none() && !blocked.contains(&center) && !self.offer(now, id, host) {
                blocked.push(center);
            }
            if self.calls.get(&id).is_some_and(|c| c.queued && !c.ended) {
                keep.push_back(id);
            }
        }
        self.waiting = keep;
    }

    /// Starts a click-to-dial call: the agent's phone rings first.
    pub fn dial(&mut self, now: OffsetDateTime, dial: Dial, host: &mut dyn Host) -> Vec<Output> {
        self.last_now = now;
        let id = self.next_id;
        self.next_id += 1;
        let key = dial.key.clone();
        let number_uri = format!("sip:{}@{}", dial.number, dial.trunk.addr);
        let local_tag = self.unique();
        // Leg A is the customer's; we are its UAC. Its "INVITE" is the one we
        // will send, kept for the parts of the core that read one.
        let placeholder = rs::Request {
            method: Method::Invite,
            uri: rs::Uri::try_from(number_uri.as_str()).unwrap_or_default(),
            version: rs::Version::V2,
            headers: Default::default(),
            body: Vec::new(),
        };
        let a = Dialog {
            peer: dial.trunk,
            call_id: key.to_string(),
            local: format!("<sip:{}@{}>;tag={local_tag}", dial.agent.agent, self.cfg.local),
            remote: format!("<{number_uri}>"),
            remote_target: number_uri.clone(),
            cseq: 1,
        };
        let trunk = Trunk { name: "outbound".into(), call_center: dial.call_center.clone(), queue: QueueName::parse("Outbound").expect("a name"), queue_timeout: Duration::ZERO, overflow: Overflow::Reject, max_cps: None };
        let call = Call {
            key: key.clone(),
            seq: 0,
            trunk,
            invite: placeholder,
            invite_branch: String::new(),
            a_state: AState::Early,
            a,
            a_tag: local_tag,
            answer: None,
            answer_interval: self.cfg.t1,
            answer_deadline: now,
            b: None,
            tried: vec![dial.agent.agent.clone()],
            queued: false,
            queue_deadline: None,
            held: false,
            muted: false,
            persisted: true,
            ended: false,
            carrier_sdp: Vec::new(),
            agent_sdp: Vec::new(),
            carrier_version: 0,
            agent_version: 0,
            reneg: None,
            bye_after_reneg: None,
            transfers: 0,
            outbound: Some(OutboundState { agent_answer: None, agent_invite_branch: String::new(), customer_branch: None }),
        };
        self.calls.insert(id, call);
        self.by_call_id.insert(key.to_string(), (id, Leg::A));
        self.stats.calls += 1;
        let initiated = EventKind::Initiated { direction: Direction::Outbound, from: dial.agent.agent.to_string(), to: dial.number.clone(), call_center: dial.call_center };
        self.event(id, now, initiated);
        // The phone shows the number it is calling.
        let branch = format!("z9hG4bK{}", self.unique());
        let from_tag = self.unique();
        let b_call_id = format!("{}@dialtone", self.unique());
        let via = self.via(dial.agent.peer.transport);
        let contact = self.contact(dial.agent.peer.transport);
        let from = format!("<sip:{}@{}>;tag={from_tag}", dial.number, self.cfg.local);
        let to = format!("<{}>", dial.agent.uri);
        let extra = [("X-Dialtone-Call", key.to_string())];
        let out = Outgoing { method: Method::Invite, uri: &dial.agent.uri, via: &via, branch: &branch, from: &from, to: &to, call_id: &b_call_id, cseq: 1, contact: Some(&contact), extra: &extra, body: None };
        match wire::request(&out) {
            Ok(data) => {
                let dialog = Dialog { peer: dial.agent.peer, call_id: b_call_id.clone(), local: from.clone(), remote: to.clone(), remote_target: dial.agent.uri.clone(), cseq: 1 };
                let call = self.calls.get_mut(&id).expect("inserted");
                call.b = Some(BLeg {
                    agent: Some(dial.agent.agent.clone()),
                    invite_branch: branch.clone(),
                    state: BState::Inviting,
                    dialog,
                });
                if let Some(o) = call.outbound.as_mut() {
                    o.agent_invite_branch = branch.clone();
                }
                self.by_call_id.insert(b_call_id.clone(), (id, Leg::B));
                self.start_client(now, branch, Method::Invite, dial.agent.peer, data, Purpose::DialAgent { call: id }, Some((dial.agent.uri, from, to, b_call_id, 1)));
                self.event(id, now, EventKind::Offered { agent: dial.agent.agent });
            }
            Err(reason) => {
                self.out.push(Output::Rejected { peer: dial.agent.peer, reason });
                self.dial_failed(now, id, EndReason::Failed, host);
            }
        }
        std::mem::take(&mut self.out)
    }

    /// The agent's phone answered a click-to-dial (its 200 holds the SDP
    /// offer): now call the customer with it.
    fn dial_agent_answered(&mut self, now: OffsetDateTime, id: u64, code: u16, p: Parsed, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.ended {
            return;
        }
        if !(200..300).contains(&code) {
            if let Some(b) = call.b.as_mut() {
                b.state = BState::Done;
            }
            return self.dial_failed(now, id, EndReason::Canceled, host);
        }
        let b = call.b.as_mut().expect("dialling");
        b.state = BState::Confirmed;
        b.dialog.remote = p.header("To").unwrap_or_default();
        if let Some((uri, _)) = p.header("Contact").and_then(|c| wire::contact(&c)) {
            b.dialog.remote_target = uri.to_string();
        }
        let sdp = p.body().to_vec();
        let ctype = p
            .header("Content-Type")
            .unwrap_or_else(|| "application/sdp".into());
        if let Some(o) = call.outbound.as_mut() {
            o.agent_answer = Some(p);
        }
        let d = call.a.clone();
        let branch = format!("z9hG4bK{}", self.unique());
        let via = self.via(d.peer.transport);
        let contact = self.contact(d.peer.transport);
        let out = Outgoing {
            method: Method::Invite,
            uri: &d.remote_target,
            via: &via,
            branch: &branch,
            from: &d.local,
            to: &d.remote,
            call_id: &d.call_id,
            cseq: d.cseq,
            contact: Some(&contact),
            extra: &[],
            body: (!sdp.is_empty()).then_some((ctype.as_str(), sdp.as_slice())),
        };
        match wire::request(&out) {
            Ok(data) => {
                if let Some(o) = self.calls.get_mut(&id).and_then(|c| c.outbound.as_mut()) {
                    o.customer_branch = Some(branch.clone());
                }
                if let Some(call) = self.calls.get_mut(&id) {
                    call.invite_branch = branch.clone();
                }
                let ack = Some((d.remote_target.clone(), d.local.clone(), d.remote.clone(), d.call_id.clone(), d.cseq));
                self.start_client(now, branch, Method::Invite, d.peer, data, Purpose::DialCustomer { call: id }, ack);
            }
            Err(reason) => {
                self.out.push(Output::Rejected { peer: d.peer, reason });
                self.dial_failed(now, id, EndReason::Failed, host);
            }
        }
    }

    /// The customer answered (or did not): complete or tear down both legs.
    fn dial_customer_answered(&mut self, now: OffsetDateTime, id: u64, code: u16, p: &Parsed, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.ended {
            // The agent gave up while the customer rang: hang the customer up.
            if (200..300).contains(&code) {
                call.a.remote = p.header("To").unwrap_or_default();
                if let Some((uri, _)) = p.header("Contact").and_then(|c| wire::contact(&c)) {
                    call.a.remote_target = uri.to_string();
                }
                self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
            }
            return;
        }
        if !(200..300).contains(&code) {
            return self.dial_failed(now, id, end_reason(code), host);
        }
        call.a.remote = p.header("To").unwrap_or_default();
        if let Some((uri, _)) = p.header("Contact").and_then(|c| wire::contact(&c)) {
            call.a.remote_target = uri.to_string();
        }
        call.a_state = AState::Confirmed;
        let agent = call.b.as_ref().and_then(|b| b.agent.clone());
        let ctype = p
            .header("Content-Type")
            .unwrap_or_else(|| "application/sdp".into());
        self.ack_agent(now, id, Some((ctype.as_str(), p.body())));
        self.stats.answered += 1;
        if let Some(agent) = agent {
            self.event(id, now, EventKind::Answered { agent });
        }
    }

    /// ACKs the agent phone's 200 of a click-to-dial, with the customer's SDP
    /// answer (or none when the call failed).
    fn ack_agent(&mut self, _now: OffsetDateTime, id: u64, body: Option<(&str, &[u8])>) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        let Some(o) = call.outbound.as_mut() else { return };
        let Some(answer) = o.agent_answer.take() else { return };
        let branch = o.agent_invite_branch.clone();
        let Some(tx) = self.client.get(&branch) else { return };
        let (peer, Some((uri, from, _, call_id, cseq))) = (tx.peer, tx.ack.clone()) else { return };
        let to = answer.header("To").unwrap_or_default();
        let uri = answer.header("Contact").and_then(|c| wire::contact(&c)).map(|(u, _)| u.to_string()).unwrap_or(uri);
        let ack_branch = format!("z9hG4bK{}", self.unique());
        let via = self.via(peer.transport);
        let out = Outgoing { method: Method::Ack, uri: &uri, via: &via, branch: &ack_branch, from: &from, to: &to, call_id: &call_id, cseq, contact: None, extra: &[], body: body.filter(|(_, b)| !b.is_empty()) };
        if let Ok(data) = wire::request(&out) {
            if let Some(tx) = self.client.get_mut(&branch) {
                tx.ack_2xx = Some((peer, data.clone()));
            }
            self.send(peer, data);
        }
    }

    /// A click-to-dial that did not connect: the phone's leg is closed (ACK
    /// then BYE if it answered, CANCEL if it still rings) and the call ends.
    fn dial_failed(&mut self, now: OffsetDateTime, id: u64, reason: EndReason, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.ended {
            return;
        }
        call.a_state = AState::Done;
        let b_state = call.b.as_ref().map(|b| b.state);
        match b_state {
            Some(BState::Confirmed) => {
                let hold =
                    b"v=0\r\no=dialtone 0 0 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                        .to_vec();
                let offered = self.calls.get(&id).is_some_and(|c| !c.agent_sdp.is_empty());
                self.ack_agent(
                    now,
                    id,
                    offered.then_some(("application/sdp", hold.as_slice())),
                );
                self.in_dialog(now, id, Leg::B, Method::Bye, None, Purpose::Bye);
            }
            Some(BState::Inviting) => self.cancel_b(now, id),
            _ => {}
        }
        if let Some(b) = self.calls.get_mut(&id).and_then(|c| c.b.as_mut()) {
            b.state = BState::Done;
        }
        self.end(now, id, reason, host);
    }

    /// A blind transfer from the agent (RFC 3515): 202, then as
    /// [`CallAction::Transfer`]. A Refer-To whose user part is a number
    /// (`+` and digits, or a `tel:` URI) goes out through the trunk the
    /// call's carrier leg is on; any other names an agent.
    fn refer(
        &mut self,
        now: OffsetDateTime,
        peer: Peer,
        p: &Parsed,
        req: &rs::Request,
        id: u64,
        host: &mut dyn Host,
    ) {
        let from_agent = self.calls.get(&id).is_some_and(|c| {
            !c.ended
                && c.b
                    .as_ref()
                    .is_some_and(|b| b.state == BState::Confirmed && b.agent.is_some())
        });
        if !from_agent {
            return self.respond(peer, req, &p.branch, 481, None, &[], None);
        }
        let Some(refer_to) = p.header("Refer-To") else {
            return self.respond(peer, req, &p.branch, 400, None, &[("Warning", "399 dialtone \"REFER without Refer-To\"".into())], None);
        };
        let user = wire::user_of(&refer_to);
        let user = user.strip_prefix("tel:").unwrap_or(&user).to_string();
        let to = if is_number(&user) {
            TransferTarget::Number {
                number: user,
                trunk: None,
            }
        } else {
            TransferTarget::Agent { username: user }
        };
        match self.resolve_transfer(id, to, host) {
            Ok(dest) => {
                self.respond(peer, req, &p.branch, 202, None, &[], None);
                self.transfer(now, id, dest, host);
            }
            Err(refusal) => {
                let code = match refusal {
                    Refusal::AgentUnavailable(_) => 480,
                    Refusal::Renegotiating => 491,
                    _ => 481,
                };
                self.out.push(Output::Rejected {
                    peer,
                    reason: format!("transfer: {refusal}"),
                });
                self.respond(peer, req, &p.branch, code, None, &[], None);
            }
        }
    }

    /// Checks a transfer and engages its target; nothing is sent yet.
    fn resolve_transfer(
        &mut self,
        id: u64,
        to: TransferTarget,
        host: &mut dyn Host,
    ) -> Result<Destination, Refusal> {
        let call = self.calls.get(&id).ok_or(Refusal::UnknownCall)?;
        if !call
            .b
            .as_ref()
            .is_some_and(|b| b.state == BState::Confirmed)
            || !matches!(
                call.a_state,
                AState::Answering | AState::Confirmed | AState::AwaitingStore
            )
        {
            return Err(Refusal::NotAnswered);
        }
        if call.reneg.is_some() {
            return Err(Refusal::Renegotiating);
        }
        match to {
            TransferTarget::Agent { username } => host
                .agent_target(&username)
                .map(Destination::Agent)
                .ok_or(Refusal::AgentUnavailable(username)),
            TransferTarget::Number { number, .. } if !is_number(&number) => Err(Refusal::BadNumber),
            TransferTarget::Number { number, trunk } => Ok(Destination::Number {
                number,
                trunk: trunk.unwrap_or(call.a.peer),
            }),
        }
    }

    /// A blind transfer: the agent's leg is hung up, and the caller
    /// continues on a new leg (its own VoiceCall, linked as
    /// PreviousCallId/NextCallId) ringing the named agent or the number.
    fn transfer(&mut self, now: OffsetDateTime, id: u64, dest: Destination, host: &mut dyn Host) {
        let call = self.calls.get_mut(&id).expect("resolved");
        call.transfers += 1;
        let Ok(new_leg) =
            VendorCallKey::parse(&format!("{};transfer={}", call.a.call_id, call.transfers))
        else {
            if let Destination::Agent(target) = dest {
                host.release_agent(&call.key, &target.agent);
            }
            return;
        };
        self.close_b(now, id, true);
        let call = self.calls.get_mut(&id).expect("resolved");
        if let Some(b) = call.b.take() {
            self.by_call_id.remove(&b.dialog.call_id);
            if let Some(agent) = b.agent {
                host.release_agent(&call.key, &agent);
            }
        }
        let to = match &dest {
            Destination::Agent(t) => dialtone_calls::TransferTarget::Agent(t.agent.clone()),
            Destination::Number { number, .. } => {
                dialtone_calls::TransferTarget::Number(number.clone())
            }
        };
        self.event(
            id,
            now,
            EventKind::Transferred {
                to,
                new_leg: new_leg.clone(),
            },
        );
        let call = self.calls.get_mut(&id).expect("resolved");
        call.key = new_leg;
        call.seq = 0;
        call.tried.clear();
        // The new party's SDP replaces the old one: the new leg starts neither held nor muted.
        call.held = false;
        call.muted = false;
        match dest {
            Destination::Agent(target) => {
                self.offer_to(now, id, target, host);
            }
            Destination::Number { number, trunk } => {
                let uri = format!("sip:{number}@{}", trunk.addr);
                if !self.invite_leg(now, id, None, &uri, trunk, host) {
                    self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
                    self.end(now, id, EndReason::Failed, host);
                }
            }
        }
    }

    /// Routing turned the waiting caller into a callback: the call ends
    /// (480 with a Reason saying so while it rings; BYE once answered).
    fn callback_scheduled(&mut self, now: OffsetDateTime, id: u64, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if call.ended {
            return;
        }
        if matches!(call.a_state, AState::Confirmed | AState::Answering) {
            call.a_state = AState::Done;
            self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
            return self.end(now, id, EndReason::NoAnswer, host);
        }
        if !matches!(call.a_state, AState::Early) {
            return;
        }
        call.a_state = AState::Done;
        let (invite, branch, tag, peer) = (call.invite.clone(), call.invite_branch.clone(), call.a_tag.clone(), call.a.peer);
        self.respond(peer, &invite, &branch, 480, Some(&tag), &[("Reason", "SIP;cause=480;text=\"Callback scheduled\"".into())], None);
        self.end(now, id, EndReason::NoAnswer, host);
    }

    /// Nobody answered within the queue's limit: the trunk's overflow.
    fn overflow(&mut self, now: OffsetDateTime, id: u64, host: &mut dyn Host) {
        let Some(call) = self.calls.get_mut(&id) else { return };
        if !call.ended && matches!(call.a_state, AState::Confirmed | AState::Answering) {
            // A transferred caller nobody took: hang up rather than leave them in silence.
            call.a_state = AState::Done;
            self.in_dialog(now, id, Leg::A, Method::Bye, None, Purpose::Bye);
            return self.end(now, id, EndReason::NoAnswer, host);
        }
        if call.ended || !matches!(call.a_state, AState::Early) {
            return;
        }
        call.a_state = AState::Done;
        let (invite, branch, tag, peer) = (call.invite.clone(), call.invite_branch.clone(), call.a_tag.clone(), call.a.peer);
        match call.trunk.overflow.clone() {
            Overflow::Reject => {
                self.respond(peer, &invite, &branch, 480, Some(&tag), &[("Retry-After", "60".into())], None);
                self.end(now, id, EndReason::NoAnswer, host);
            }
            Overflow::Voicemail(uri) => {
                self.respond(peer, &invite, &branch, 302, Some(&tag), &[("Contact", format!("<{uri}>"))], None);
                self.event(id, now, EventKind::Voicemail { url: uri });
                self.end(now, id, EndReason::Voicemail, host);
            }
            Overflow::Forward(uri) => {
                self.respond(peer, &invite, &branch, 302, Some(&tag), &[("Contact", format!("<{uri}>"))], None);
                self.end(now, id, EndReason::NoAnswer, host);
            }
        }
    }

    fn fire(&mut self, now: OffsetDateTime, timer: Timer, host: &mut dyn Host) {
        match timer {
            Timer::Retransmit(branch) => {
                let t2 = Duration::seconds(4);
                let Some(tx) = self.client.get_mut(&branch) else { return };
                if !tx.retransmit || tx.done {
                    return;
                }
                let (peer, data) = (tx.peer, tx.data.clone());
                tx.interval = if tx.method == Method::Invite { tx.interval * 2i32 } else { (tx.interval * 2i32).min(t2) };
                self.timers.push(Reverse((now + tx.interval, Timer::Retransmit(branch))));
                self.send(peer, data);
            }
            Timer::ClientTimeout(branch) => {
                let Some(tx) = self.client.remove(&branch) else { return };
                if tx.deadline > now {
                    self.client.insert(branch, tx);
                    return;
                }
                if tx.done {
                    return;
                }
                if let Purpose::DialAgent { call } | Purpose::DialCustomer { call } = tx.purpose {
                    self.dial_failed(now, call, EndReason::NoAnswer, host);
                }
                if let Purpose::Offer { call } = tx.purpose {
                    let current = self.calls.get(&call).filter(|c| !c.ended).and_then(|c| c.b.as_ref()).is_some_and(|b| b.invite_branch == branch);
                    if current {
                        self.leg_failed(now, call, None, host);
                    }
                }
                match tx.purpose {
                    Purpose::Relay {
                        call,
                        origin,
                        origin_peer,
                        to_tag,
                    } => {
                        // The other leg never answered: neither does the origin's re-INVITE succeed.
                        self.reneg_over(now, call, &branch);
                        let origin_branch = origin
                            .transaction_id()
                            .ok()
                            .flatten()
                            .map(|b| b.to_string())
                            .unwrap_or_default();
                        self.respond(
                            origin_peer,
                            &origin,
                            &origin_branch,
                            408,
                            Some(&to_tag),
                            &[],
                            None,
                        );
                    }
                    Purpose::Refresh { call } | Purpose::Control { call, .. } => {
                        self.reneg_over(now, call, &branch);
                        self.reneg_failed(now, call, 408, host)
                    }
                    _ => {}
                }
            }
            Timer::Offer(id, branch) => {
                let current = self.calls.get(&id).filter(|c| !c.ended).and_then(|c| c.b.as_ref()).is_some_and(|b| b.invite_branch == branch && b.state == BState::Inviting);
                if !current {
                    return;
                }
                self.cancel_b(now, id);
                self.leg_failed(now, id, None, host);
            }
            Timer::Reoffer(id, action, leg, attempt) => {
                let Some(call) = self.calls.get_mut(&id).filter(|c| !c.ended) else { return };
                if call.reneg.as_deref() == Some(AWAITING_RETRY) {
                    call.reneg = None;
                }
                if call.reneg.is_some() {
                    // The other side's re-INVITE is still in progress: wait again.
                    return self.glare(now, id, action, leg, attempt);
                }
                self.reoffer(now, id, action, leg, attempt);
            }
            Timer::Queue(id) => {
                let Some(call) = self.calls.get(&id) else { return };
                if call.ended || !call.queued || call.b.is_some() || call.queue_deadline.is_some_and(|d| d > now) {
                    return;
                }
                self.overflow(now, id, host);
            }
            Timer::Answer(id) => {
                let Some(call) = self.calls.get_mut(&id) else { return };
                if call.a_state != AState::Answering || call.ended {
                    return;
                }
                if now >= call.answer_deadline {
                    // The carrier never acknowledged the answer: hang up both legs.
                    call.a_state = AState::Done;
                    call.answer = None;
                    self.in_dialog(now, id, Leg::B, Method::Bye, None, Purpose::Bye);
                    self.event(id, now, EventKind::Failed { reason: "the carrier never acknowledged the answer (no ACK)".into() });
                    self.end(now, id, EndReason::Failed, host);
                    return;
                }
                let data = call.answer.clone().expect("answering");
                call.answer_interval = (call.answer_interval * 2i32).min(Duration::seconds(4));
                let next = (now + call.answer_interval).min(call.answer_deadline);
                let peer = call.a.peer;
                self.timers.push(Reverse((next, Timer::Answer(id))));
                if peer.transport == Transport::Udp {
                    self.send(peer, data);
                }
            }
        }
    }
}

/// The call's `reneg` while a re-INVITE that met glare waits to be sent again.
const AWAITING_RETRY: &str = "awaiting retry";

/// How often queued calls are offered again while they wait.
const RETRY_QUEUED: Duration = Duration::milliseconds(200);

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, NOTIFY, UPDATE";

/// The other side's SDP re-offered with `direction`, its `o=` version newer
/// than both its own and the last we sent this leg (`sent`, updated).
fn reoffer_sdp(source: &[u8], sent: &mut u64, direction: wire::Direction) -> Vec<u8> {
    *sent = wire::sdp_version(source).unwrap_or(0).max(*sent) + 1;
    wire::sdp_with_direction(source, direction, Some(*sent))
}

/// How a call that did not connect ends, by the far side's final response.
fn end_reason(code: u16) -> EndReason {
    match code {
        486 | 600 => EndReason::Busy,
        408 | 480 | 487 => EndReason::NoAnswer,
        _ => EndReason::Failed,
    }
}

/// The carrier's SDP as an offer to a new leg: as it is, unless it holds
/// (its last answer to a hold), then `a=sendrecv`.
fn fresh_offer(carrier_sdp: &[u8]) -> Vec<u8> {
    if wire::sdp_is_hold(carrier_sdp) {
        wire::sdp_with_direction(carrier_sdp, wire::Direction::SENDRECV, None)
    } else {
        carrier_sdp.to_vec()
    }
}

/// A number a trunk can dial: `+` and digits, or digits (2 to 32).
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    (2..=32).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A transfer's target once checked (an agent is engaged by then).
#[derive(Debug)]
enum Destination {
    Agent(AgentTarget),
    Number { number: String, trunk: Peer },
}
