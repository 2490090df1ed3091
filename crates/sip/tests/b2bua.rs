//! Scenario tests of the sans-IO core on a hand-driven clock: a carrier and
//! two agent phones exchange raw SIP text with [`dialtone_sip::B2bua`].

mod support;

use dialtone_calls::{Direction, EndReason, EventKind, OfferOutcome, QueueName};
use dialtone_sip::wire::Parsed;
use dialtone_sip::Overflow;
use rsipstack::sip::Method;
use support::*;
use time::Duration;

const KEY: &str = "call-1@carrier";
const BRANCH: &str = "z9hG4bK-inv1";

/// A call between the carrier and agent 1, confirmed on both legs.
struct Connected {
    sim: Sim,
    /// The core's tag on the carrier's leg.
    a_tag: String,
    /// The core's INVITE toward agent 1.
    b_invite: Parsed,
}

const PHONE_TAG: &str = "ph1";

fn ringing_call() -> (Sim, String, Parsed) {
    let mut sim = Sim::new();
    let out = sim.carrier(&invite(KEY, BRANCH));
    let a_tag = out.response_to(CARRIER, 180).to_tag.expect("180 has the core's tag");
    let b_invite = out.request_to(AGENT1, Method::Invite);
    (sim, a_tag, b_invite)
}

fn connected() -> Connected {
    let mut sim = Sim::new();
    let (a_tag, b_invite) = sim.connect(KEY, BRANCH, PHONE_TAG);
    Connected { sim, a_tag, b_invite }
}

fn sdp(direction: &str) -> String {
    SDP_OFFER.replace("a=sendrecv", direction)
}

#[test]
fn an_inbound_call_rings_the_agent_is_answered_once_stored_and_ends_when_the_customer_hangs_up() {
    let mut sim = Sim::new();
    let out = sim.carrier(&invite(KEY, BRANCH));
    assert_eq!(out.codes_to(CARRIER), vec![100, 180], "{:?}", out.summary());
    let a_tag = out.response_to(CARRIER, 180).to_tag.expect("a tag on the 180");
    let b_invite = out.request_to(AGENT1, Method::Invite);
    assert_eq!(b_invite.body(), SDP_OFFER.as_bytes(), "the agent gets the carrier's SDP untouched");
    assert_eq!(b_invite.request().unwrap().uri.to_string(), format!("sip:agent1@{AGENT1}"));
    assert_ne!(b_invite.call_id, KEY, "leg B is a dialog of its own");
    assert!(out.to(AGENT2).is_empty());
    let events = out.events();
    assert!(events.iter().all(|e| e.key.as_str() == KEY), "the VendorCallKey is the carrier's Call-ID");
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        out.kinds(),
        vec![
            EventKind::Initiated { direction: Direction::Inbound, from: "+15551230001".into(), to: "+18005550100".into(), call_center: Some(center()) },
            EventKind::Ringing,
            EventKind::Offered { agent: agent(1) },
        ]
    );

    let out = sim.from(AGENT1, &answer(&b_invite, 180, "Ringing", PHONE_TAG, AGENT1, None));
    assert_eq!((out.sends(), out.events().len()), (0, 0), "{:?}", out.summary());

    let out = sim.from(AGENT1, &answer(&b_invite, 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    let ack = out.request_to(AGENT1, Method::Ack);
    assert_eq!(ack.call_id, b_invite.call_id);
    assert_eq!(ack.to_tag.as_deref(), Some(PHONE_TAG));
    assert!(out.to(CARRIER).is_empty(), "the 200 waits for the VoiceCall: {:?}", out.summary());
    assert_eq!(out.kinds(), vec![EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Accepted }, EventKind::Answered { agent: agent(1) }]);
    assert!(sim.advance(Duration::seconds(2)).to(CARRIER).is_empty(), "still held");

    let out = sim.persisted(KEY);
    let ok = out.response_to(CARRIER, 200);
    assert_eq!(ok.body(), SDP_ANSWER.as_bytes(), "the carrier gets the agent's SDP");
    assert_eq!(ok.to_tag.as_deref(), Some(a_tag.as_str()), "the 200 keeps the 180's tag");
    assert_eq!(ok.branch, BRANCH);
    assert!(header_of(&ok, "Contact").is_some());

    let out = sim.carrier(&carrier_ack(KEY, &a_tag, "z9hG4bK-ack1", 1));
    assert_eq!(out.sends(), 0);
    assert!(sim.advance(Duration::seconds(5)).to(CARRIER).is_empty(), "no 200 retransmission after the ACK");

    let out = sim.carrier(&carrier_in_dialog("BYE", KEY, &a_tag, "z9hG4bK-bye1", 2, None));
    assert_eq!(out.codes_to(CARRIER), vec![200]);
    let bye = out.request_to(AGENT1, Method::Bye);
    assert_eq!(bye.call_id, b_invite.call_id);
    assert_eq!(bye.to_tag.as_deref(), Some(PHONE_TAG));
    assert_eq!(bye.request().unwrap().uri.to_string(), format!("sip:phone@{AGENT1}"), "BYE goes to the agent's Contact");
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::CustomerDisconnect }]);

    let out = sim.from(AGENT1, &answer(&bye, 200, "OK", PHONE_TAG, AGENT1, None));
    assert_eq!((out.sends(), out.events().len()), (0, 0));
    assert_eq!(sim.host.busy(), 0, "the agent is free again");
    assert!(sim.host.bad_releases.is_empty());
    assert_eq!(sim.core.stats().active, 0);
    assert_eq!(sim.core.stats().answered, 1);
}

#[test]
fn the_answer_goes_out_at_once_when_the_call_was_stored_before_the_agent_answered() {
    let (mut sim, _, b_invite) = ringing_call();
    assert_eq!(sim.persisted(KEY).sends(), 0);
    let out = sim.from(AGENT1, &answer(&b_invite, 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    assert_eq!(out.response_to(CARRIER, 200).body(), SDP_ANSWER.as_bytes());
}

#[test]
fn an_unacknowledged_answer_is_retransmitted_then_both_legs_are_hung_up() {
    let (mut sim, _, b_invite) = ringing_call();
    sim.from(AGENT1, &answer(&b_invite, 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    sim.persisted(KEY).response_to(CARRIER, 200);
    assert_eq!(sim.advance(Duration::milliseconds(500)).codes_to(CARRIER), vec![200]);
    let out = sim.run_for(Duration::seconds(40), Duration::milliseconds(250));
    assert!(out.codes_to(CARRIER).iter().all(|c| *c == 200));
    let byes = out.to(AGENT1).into_iter().filter(|p| method_of(p) == Some(Method::Bye)).map(|p| p.branch).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(byes.len(), 1, "one BYE transaction (retransmitted while unanswered)");
    assert_eq!(out.kinds().last(), Some(&EventKind::Ended { reason: EndReason::Failed }));
}

#[test]
fn when_the_agent_hangs_up_first_the_carrier_gets_a_bye() {
    let Connected { mut sim, a_tag, b_invite } = connected();
    let out = sim.from(AGENT1, &agent_in_dialog("BYE", &b_invite, PHONE_TAG, AGENT1, "z9hG4bK-pbye", 1, None));
    assert_eq!(out.codes_to(AGENT1), vec![200]);
    let bye = out.request_to(CARRIER, Method::Bye);
    assert_eq!(bye.call_id, KEY);
    assert_eq!(bye.from_tag.as_deref(), Some(a_tag.as_str()), "the core's tag is our From on leg A");
    assert_eq!(bye.to_tag.as_deref(), Some("carrier-tag"));
    assert_eq!(bye.request().unwrap().uri.to_string(), format!("sip:+15551230001@{CARRIER}"));
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::AgentDisconnect }]);
    let out = sim.carrier(&answer(&bye, 200, "OK", "ignored", CARRIER, None));
    assert_eq!((out.sends(), out.events().len()), (0, 0));
    assert_eq!(sim.host.busy(), 0);
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn a_hold_and_resume_from_the_carrier_is_relayed_to_the_agent_and_reported() {
    let Connected { mut sim, a_tag, .. } = connected();
    for (cseq, direction, kind) in [(2, "a=sendonly", EventKind::Held), (3, "a=sendrecv", EventKind::Resumed)] {
        let branch = format!("z9hG4bK-re{cseq}");
        let offer = sdp(direction);
        let out = sim.carrier(&carrier_in_dialog("INVITE", KEY, &a_tag, &branch, cseq, Some(&offer)));
        assert_eq!(out.codes_to(CARRIER), vec![100]);
        let relayed = out.request_to(AGENT1, Method::Invite);
        assert_eq!(relayed.body(), offer.as_bytes());
        assert_eq!(relayed.to_tag.as_deref(), Some(PHONE_TAG), "within the agent's dialog");
        assert_eq!(out.kinds(), vec![kind]);

        let reply = SDP_ANSWER.replace("a=sendrecv", if direction == "a=sendonly" { "a=recvonly" } else { "a=sendrecv" });
        let out = sim.from(AGENT1, &answer(&relayed, 200, "OK", PHONE_TAG, AGENT1, Some(&reply)));
        assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);
        let ok = out.response_to(CARRIER, 200);
        assert_eq!(ok.body(), reply.as_bytes());
        assert_eq!(ok.branch, branch, "the answer is to the carrier's re-INVITE");
        assert_eq!(ok.to_tag.as_deref(), Some(a_tag.as_str()));
        assert!(out.events().is_empty());
        let out = sim.carrier(&carrier_ack(KEY, &a_tag, &format!("z9hG4bK-reack{cseq}"), cseq));
        assert_eq!(out.sends(), 0);
    }
}

#[test]
fn a_hold_and_resume_from_the_agent_is_relayed_to_the_carrier_and_reported() {
    let Connected { mut sim, a_tag, b_invite } = connected();
    for (cseq, direction, kind) in [(2, "a=sendonly", EventKind::Held), (3, "a=sendrecv", EventKind::Resumed)] {
        let branch = format!("z9hG4bK-pre{cseq}");
        let offer = sdp(direction);
        let out = sim.from(AGENT1, &agent_in_dialog("INVITE", &b_invite, PHONE_TAG, AGENT1, &branch, cseq, Some(&offer)));
        assert_eq!(out.codes_to(AGENT1), vec![100]);
        let relayed = out.request_to(CARRIER, Method::Invite);
        assert_eq!(relayed.call_id, KEY);
        assert_eq!(relayed.from_tag.as_deref(), Some(a_tag.as_str()));
        assert_eq!(relayed.to_tag.as_deref(), Some("carrier-tag"));
        assert_eq!(relayed.body(), offer.as_bytes());
        assert_eq!(out.kinds(), vec![kind]);

        let out = sim.carrier(&answer(&relayed, 200, "OK", "ignored", CARRIER, Some(SDP_OFFER)));
        assert_eq!(out.requests_to(CARRIER), vec![Method::Ack]);
        let ok = out.response_to(AGENT1, 200);
        assert_eq!(ok.branch, branch);
        assert_eq!(ok.body(), SDP_OFFER.as_bytes());
        assert!(out.events().is_empty());
    }
}

#[test]
fn a_declined_offer_is_reported_and_the_call_goes_to_the_next_agent() {
    let (mut sim, _, b_invite) = ringing_call();
    let out = sim.from(AGENT1, &answer(&b_invite, 486, "Busy Here", PHONE_TAG, AGENT1, None));
    let ack = out.request_to(AGENT1, Method::Ack);
    assert_eq!(ack.branch, b_invite.branch, "a non-2xx is acknowledged in its own transaction");
    assert_eq!(out.kinds(), vec![EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Declined }, EventKind::Offered { agent: agent(2) }]);
    let next = out.request_to(AGENT2, Method::Invite);
    assert_eq!(next.body(), SDP_OFFER.as_bytes());
    assert!(out.to(CARRIER).is_empty(), "the carrier keeps ringing");
    assert_eq!((sim.host.busy(), sim.host.agents[1].busy), (1, true));
}

#[test]
fn an_offer_nobody_picks_up_is_canceled_after_the_offer_timeout_and_goes_to_the_next_agent() {
    let (mut sim, _, b_invite) = ringing_call();
    sim.from(AGENT1, &answer(&b_invite, 180, "Ringing", PHONE_TAG, AGENT1, None));
    let out = sim.advance(Duration::seconds(19));
    assert_eq!((out.sends(), out.events().len()), (0, 0), "a provisional stops retransmission: {:?}", out.summary());
    let out = sim.advance(Duration::seconds(1));
    let cancel = out.request_to(AGENT1, Method::Cancel);
    assert_eq!(cancel.branch, b_invite.branch, "CANCEL matches the INVITE's transaction");
    assert_eq!(cancel.cseq, b_invite.cseq);
    assert_eq!(out.kinds(), vec![EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Missed }, EventKind::Offered { agent: agent(2) }]);
    out.request_to(AGENT2, Method::Invite);

    // The phone finishes the canceled transaction: nothing more happens.
    let out = sim.from(AGENT1, &answer(&cancel, 200, "OK", PHONE_TAG, AGENT1, None));
    assert_eq!(out.sends(), 0);
    let out = sim.from(AGENT1, &answer(&b_invite, 487, "Request Terminated", PHONE_TAG, AGENT1, None));
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);
    assert!(out.events().is_empty(), "{:?}", out.summary());
    assert!(!sim.host.agents[0].busy && sim.host.agents[1].busy);
    assert!(sim.host.bad_releases.is_empty());
}

fn all_agents_busy() -> FakeHost {
    let mut host = FakeHost::new();
    for a in &mut host.agents {
        a.busy = true;
    }
    host
}

#[test]
fn a_call_nobody_can_take_is_queued_and_rejected_with_480_after_the_queue_timeout() {
    let mut sim = Sim::with(all_agents_busy());
    let out = sim.carrier(&invite(KEY, BRANCH));
    assert_eq!(out.codes_to(CARRIER), vec![100, 180]);
    assert_eq!(out.kinds()[2..], [EventKind::Queued { queue: QueueName::parse("Support").unwrap() }]);
    let out = sim.run_for(Duration::seconds(59), Duration::seconds(1));
    assert_eq!((out.sends(), out.events().len()), (0, 0), "{:?}", out.summary());
    let out = sim.advance(Duration::seconds(1));
    let rejected = out.response_to(CARRIER, 480);
    assert_eq!(rejected.branch, BRANCH);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::NoAnswer }]);
    let a_tag = rejected.to_tag.unwrap();
    assert_eq!(sim.carrier(&carrier_ack(KEY, &a_tag, BRANCH, 1)).sends(), 0);
    assert_eq!(sim.core.stats().active, 0);
}

#[test]
fn a_queued_call_is_offered_when_an_agent_frees_up() {
    let mut sim = Sim::with(all_agents_busy());
    sim.carrier(&invite(KEY, BRANCH));
    sim.host.agents[1].busy = false;
    let out = sim.advance(Duration::seconds(1));
    assert_eq!(out.kinds(), vec![EventKind::Offered { agent: agent(2) }]);
    out.request_to(AGENT2, Method::Invite);
}

#[test]
fn a_queued_call_overflowing_to_voicemail_is_redirected_there() {
    let mut host = all_agents_busy();
    host.trunk.overflow = Overflow::Voicemail("sip:vm@192.0.2.50".into());
    let mut sim = Sim::with(host);
    sim.carrier(&invite(KEY, BRANCH));
    let out = sim.advance(Duration::seconds(60));
    let moved = out.response_to(CARRIER, 302);
    assert_eq!(header_of(&moved, "Contact").as_deref(), Some("<sip:vm@192.0.2.50>"));
    assert_eq!(out.kinds(), vec![EventKind::Voicemail { url: "sip:vm@192.0.2.50".into() }, EventKind::Ended { reason: EndReason::Voicemail }]);
}

#[test]
fn a_carrier_cancel_while_ringing_ends_the_call_and_cancels_the_agent_offer() {
    let (mut sim, _, b_invite) = ringing_call();
    let out = sim.carrier(&carrier_cancel(KEY, BRANCH));
    assert_eq!(out.codes_to(CARRIER), vec![200, 487]);
    assert_eq!(out.response_to(CARRIER, 200).cseq_method, Method::Cancel);
    assert_eq!(out.response_to(CARRIER, 487).cseq_method, Method::Invite);
    let cancel = out.request_to(AGENT1, Method::Cancel);
    assert_eq!(cancel.branch, b_invite.branch);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::Canceled }]);
    assert_eq!(sim.host.busy(), 0);
}

#[test]
fn a_phone_finishing_a_canceled_offer_releases_its_agent_only_once_and_reports_nothing_after_the_end() {
    let (mut sim, _, b_invite) = ringing_call();
    let out = sim.carrier(&carrier_cancel(KEY, BRANCH));
    let cancel = out.request_to(AGENT1, Method::Cancel);
    // Agent 1 is free again: the next caller gets it.
    let out = sim.carrier(&invite("call-2@carrier", "z9hG4bK-inv2"));
    out.request_to(AGENT1, Method::Invite);
    assert!(sim.host.agents[0].busy);

    sim.from(AGENT1, &answer(&cancel, 200, "OK", PHONE_TAG, AGENT1, None));
    let out = sim.from(AGENT1, &answer(&b_invite, 487, "Request Terminated", PHONE_TAG, AGENT1, None));
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);
    assert!(sim.host.bad_releases.is_empty(), "agent 1 was released twice while on the second call");
    assert!(out.events().is_empty(), "nothing after Ended: {:?}", out.summary());
    assert!(sim.host.agents[0].busy, "agent 1 still rings for the second call");
}

#[test]
fn a_canceled_offer_the_phone_never_finishes_releases_nothing_more_when_it_times_out() {
    let (mut sim, _, _) = ringing_call();
    sim.carrier(&carrier_cancel(KEY, BRANCH));
    sim.carrier(&invite("call-2@carrier", "z9hG4bK-inv2"));
    let out = sim.run_for(Duration::seconds(40), Duration::milliseconds(500));
    let first = out.events().into_iter().filter(|e| e.key.as_str() == KEY).map(|e| e.kind).collect::<Vec<_>>();
    assert!(sim.host.bad_releases.is_empty(), "an agent was released twice: {:?}", sim.host.bad_releases);
    assert!(first.is_empty(), "nothing after Ended: {first:?}");
}

#[test]
fn an_invite_from_an_address_that_is_no_trunk_is_refused_with_403() {
    let mut sim = Sim::new();
    let out = sim.from(STRANGER, &invite(KEY, BRANCH));
    assert_eq!(out.codes_to(STRANGER), vec![403]);
    assert!(out.events().is_empty());
    assert!(out.to(AGENT1).is_empty() && out.to(AGENT2).is_empty());
    assert_eq!(sim.core.stats().calls, 0);
}

#[test]
fn a_retransmitted_invite_gets_the_last_response_again_and_makes_no_second_call() {
    let mut sim = Sim::new();
    sim.carrier(&invite(KEY, BRANCH));
    let out = sim.carrier(&invite(KEY, BRANCH));
    assert_eq!(out.codes_to(CARRIER), vec![180]);
    assert!(out.events().is_empty());
    assert!(out.to(AGENT1).is_empty() && out.to(AGENT2).is_empty());
    assert_eq!(sim.core.stats().calls, 1);
}

#[test]
fn a_retransmitted_bye_is_answered_again_and_ends_nothing_twice() {
    let Connected { mut sim, a_tag, .. } = connected();
    let bye = carrier_in_dialog("BYE", KEY, &a_tag, "z9hG4bK-bye1", 2, None);
    assert_eq!(sim.carrier(&bye).kinds(), vec![EventKind::Ended { reason: EndReason::CustomerDisconnect }]);
    let out = sim.carrier(&bye);
    assert_eq!(out.codes_to(CARRIER), vec![200]);
    assert!(out.events().is_empty() && out.to(AGENT1).is_empty());
    // After the server transaction is gone, but while the call is remembered.
    sim.advance(Duration::seconds(31));
    let out = sim.carrier(&bye);
    assert!(out.events().is_empty() && out.to(AGENT1).is_empty(), "{:?}", out.summary());
}

#[test]
fn the_invite_to_an_agent_is_retransmitted_over_udp_at_t1_then_doubling_until_a_provisional() {
    let (mut sim, _, b_invite) = ringing_call();
    let resent = |out: &Outs| out.to(AGENT1).into_iter().filter(|p| method_of(p) == Some(Method::Invite)).map(|p| p.branch).collect::<Vec<_>>();
    assert!(resent(&sim.advance(Duration::milliseconds(499))).is_empty());
    assert_eq!(resent(&sim.advance(Duration::milliseconds(1))), vec![b_invite.branch.clone()], "at T1");
    assert!(resent(&sim.advance(Duration::milliseconds(999))).is_empty());
    assert_eq!(resent(&sim.advance(Duration::milliseconds(1))), vec![b_invite.branch.clone()], "2·T1 later");
    assert!(resent(&sim.advance(Duration::milliseconds(1999))).is_empty());
    assert_eq!(resent(&sim.advance(Duration::milliseconds(1))), vec![b_invite.branch.clone()], "4·T1 later");
    sim.from(AGENT1, &answer(&b_invite, 180, "Ringing", PHONE_TAG, AGENT1, None));
    assert!(resent(&sim.run_for(Duration::seconds(10), Duration::milliseconds(100))).is_empty(), "a provisional stops it");
}

fn register(branch: &str, cseq: u32, authorization: Option<&str>) -> String {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!(
        "REGISTER sip:{LOCAL} SIP/2.0\r\n\
Via: SIP/2.0/UDP {PHONE};branch={branch}\r\n\
Max-Forwards: 70\r\n\
From: <sip:agent1@{LOCAL}>;tag=reg-tag\r\n\
To: <sip:agent1@{LOCAL}>\r\n\
Call-ID: reg-1@phone\r\n\
CSeq: {cseq} REGISTER\r\n\
Contact: <sip:agent1@{PHONE}>\r\n\
Expires: 600\r\n\
{auth}Content-Length: 0\r\n\r\n"
    )
}

fn challenge(out: &Outs) -> (String, String) {
    let resp = out.response_to(PHONE, 401);
    let header = header_of(&resp, "WWW-Authenticate").expect("a challenge");
    let nonce = header.split("nonce=\"").nth(1).and_then(|s| s.split('"').next()).expect("a nonce").to_string();
    (header, nonce)
}

fn authorization(nonce: &str, password: &str) -> String {
    let header = format!(
        "Digest username=\"agent1\", realm=\"dialtone\", nonce=\"{nonce}\", uri=\"sip:{LOCAL}\", response=\"x\", algorithm=MD5, qop=auth, cnonce=\"c0ffee\", nc=00000001"
    );
    let auth = rsipstack::sip::typed::Authorization::parse(&header).unwrap();
    let response = rsipstack::sip::DigestGenerator::from(&auth, password, &Method::Register).compute();
    header.replace("response=\"x\"", &format!("response=\"{response}\""))
}

#[test]
fn a_register_without_credentials_is_challenged_and_with_the_right_digest_is_bound() {
    let mut sim = Sim::new();
    let out = sim.from(PHONE, &register("z9hG4bK-r1", 1, None));
    let (header, nonce) = challenge(&out);
    assert!(header.starts_with("Digest "), "{header}");
    assert!(header.contains("realm=\"dialtone\"") && header.contains("qop=\"auth\""), "{header}");
    assert!(!header.contains("stale"));
    assert!(sim.host.registered.is_empty());

    let out = sim.from(PHONE, &register("z9hG4bK-r2", 2, Some(&authorization(&nonce, PASSWORD))));
    let ok = out.response_to(PHONE, 200);
    assert_eq!(header_of(&ok, "Contact").as_deref(), Some(format!("<sip:agent1@{PHONE}>;expires=600").as_str()));
    let (user, binding) = sim.host.registered.last().cloned().expect("Host::register was called");
    let binding = binding.expect("a binding, not a removal");
    assert_eq!(user, "agent1");
    assert_eq!(binding.uri, format!("sip:agent1@{PHONE}"));
    assert_eq!(binding.peer, udp(PHONE));
    assert_eq!(binding.expires_at, sim.now + Duration::seconds(600));
    assert_eq!(sim.core.stats().registrations, 1);
}

#[test]
fn a_register_with_the_wrong_password_is_forbidden() {
    let mut sim = Sim::new();
    let (_, nonce) = challenge(&sim.from(PHONE, &register("z9hG4bK-r1", 1, None)));
    let out = sim.from(PHONE, &register("z9hG4bK-r2", 2, Some(&authorization(&nonce, "guess"))));
    assert_eq!(out.codes_to(PHONE), vec![403]);
    assert!(sim.host.registered.is_empty());
}

#[test]
fn a_register_with_a_stale_nonce_is_challenged_again_with_stale_true() {
    let mut sim = Sim::new();
    let (_, nonce) = challenge(&sim.from(PHONE, &register("z9hG4bK-r1", 1, None)));
    sim.advance(Duration::minutes(6));
    let out = sim.from(PHONE, &register("z9hG4bK-r2", 2, Some(&authorization(&nonce, PASSWORD))));
    let (header, fresh) = challenge(&out);
    assert!(header.contains("stale=true"), "{header}");
    assert_ne!(fresh, nonce);
    assert!(sim.host.registered.is_empty());
}

#[test]
fn while_too_many_calls_wait_for_the_store_new_invites_get_503_with_retry_after() {
    let mut sim = Sim::new();
    let mut cfg = dialtone_sip::Config::new(LOCAL.parse().unwrap());
    cfg.max_unstored = 2;
    cfg.overload_retry_after = 7;
    sim.core = dialtone_sip::B2bua::new(cfg);
    for (n, key) in ["over-1@carrier", "over-2@carrier"].iter().enumerate() {
        let out = sim.carrier(&invite(key, &format!("z9hG4bK-over{n}")));
        assert_eq!(out.codes_to(CARRIER), vec![100, 180], "admitted: {:?}", out.summary());
    }
    // Neither VoiceCall is stored yet: the third caller is turned away at once,
    // with no agent rung and no call event.
    let out = sim.carrier(&invite("over-3@carrier", "z9hG4bK-over3"));
    assert_eq!(out.codes_to(CARRIER), vec![503], "{:?}", out.summary());
    assert_eq!(header_of(&out.response_to(CARRIER, 503), "Retry-After").as_deref(), Some("7"));
    assert!(out.events().is_empty(), "a refused call is no call: {:?}", out.kinds());
    assert!(out.to(AGENT1).is_empty() && out.to(AGENT2).is_empty());
    // Its retransmission is answered from the transaction, not admitted.
    let again = sim.carrier(&invite("over-3@carrier", "z9hG4bK-over3"));
    assert_eq!(again.codes_to(CARRIER), vec![503], "{:?}", again.summary());
    assert_eq!(sim.core.stats().overloaded, 1);
    // Once the store catches up, callers are taken again.
    sim.persisted("over-1@carrier");
    let out = sim.carrier(&invite("over-4@carrier", "z9hG4bK-over4"));
    assert_eq!(out.codes_to(CARRIER), vec![100, 180], "{:?}", out.summary());
}

#[test]
fn a_trunk_with_a_calls_per_second_limit_turns_the_excess_away_with_503_and_refills_over_time() {
    let mut host = FakeHost::new();
    host.trunk.max_cps = Some(2);
    let mut sim = Sim::with(host);
    let mut codes = Vec::new();
    for n in 0..3 {
        let out = sim.carrier(&invite(&format!("cps-{n}@carrier"), &format!("z9hG4bK-cps{n}")));
        codes.push(out.codes_to(CARRIER).last().copied());
    }
    // A burst of the limit is taken; the third in the same instant is not.
    assert_eq!(codes, vec![Some(180), Some(180), Some(503)]);
    assert_eq!(sim.core.stats().overloaded, 1);
    // Half a second refills one call's worth at 2 per second.
    sim.advance(Duration::milliseconds(500));
    let out = sim.carrier(&invite("cps-3@carrier", "z9hG4bK-cps3"));
    assert_eq!(out.codes_to(CARRIER), vec![100, 180], "{:?}", out.summary());
    let out = sim.carrier(&invite("cps-4@carrier", "z9hG4bK-cps4"));
    assert_eq!(out.codes_to(CARRIER), vec![503], "{:?}", out.summary());
}
