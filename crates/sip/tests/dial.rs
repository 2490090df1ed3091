//! Click-to-dial on a hand-driven clock: the agent's phone first, then the
//! customer through the trunk (RFC 3725 flow I).

mod support;

use dialtone_calls::{Direction, EndReason, EventKind, VendorCallKey};
use dialtone_sip::{AgentTarget, Dial};
use rsipstack::sip::Method;
use support::*;

const KEY: &str = "out-1@dialtone";
const CUSTOMER_SDP: &str = "v=0\r\no=customer 1 1 IN IP4 203.0.113.9\r\ns=-\r\nc=IN IP4 203.0.113.9\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n";

fn dial(sim: &mut Sim) -> Outs {
    sim.host.agents[0].busy = true; // the API engages the agent before dialling
    let agent = AgentTarget { agent: agent(1), uri: format!("sip:agent1@{AGENT1}"), peer: udp(AGENT1) };
    let d = Dial { key: VendorCallKey::parse(KEY).unwrap(), agent, number: "+14155550100".into(), trunk: udp(CARRIER), call_center: Some(center()) };
    Outs(sim.core.dial(sim.now, d, &mut sim.host))
}

#[test]
fn click_to_dial_rings_the_agent_then_the_customer_and_joins_their_media() {
    let mut sim = Sim::new();
    let out = dial(&mut sim);
    let phone_invite = out.request_to(AGENT1, Method::Invite);
    assert!(phone_invite.body().is_empty(), "the phone is asked for an offer");
    assert!(phone_invite.header("From").unwrap().contains("+14155550100"), "the phone shows the number it calls");
    assert!(out.to(CARRIER).is_empty(), "the customer is not called before the agent answers");
    assert_eq!(
        out.kinds(),
        vec![
            EventKind::Initiated { direction: Direction::Outbound, from: agent(1).to_string(), to: "+14155550100".into(), call_center: Some(center()) },
            EventKind::Offered { agent: agent(1) },
        ]
    );

    let out = sim.from(AGENT1, &answer(&phone_invite, 200, "OK", "ph", AGENT1, Some(SDP_ANSWER)));
    assert!(out.to(AGENT1).is_empty(), "the phone's ACK waits for the customer's answer: {:?}", out.summary());
    let customer = out.request_to(CARRIER, Method::Invite);
    assert_eq!(customer.call_id, KEY, "the customer leg's Call-ID is the VendorCallKey");
    assert_eq!(customer.body(), SDP_ANSWER.as_bytes(), "the phone's offer goes to the customer");
    assert_eq!(customer.request().unwrap().uri.to_string(), format!("sip:+14155550100@{CARRIER}"));

    let out = sim.carrier(&answer(&customer, 180, "Ringing", "cu", CARRIER, None));
    assert_eq!(out.kinds(), vec![EventKind::Ringing]);
    let out = sim.carrier(&answer(&customer, 200, "OK", "cu", CARRIER, Some(CUSTOMER_SDP)));
    out.request_to(CARRIER, Method::Ack);
    let ack = out.request_to(AGENT1, Method::Ack);
    assert_eq!(ack.body(), CUSTOMER_SDP.as_bytes(), "the customer's answer reaches the phone in the ACK");
    assert_eq!(out.kinds(), vec![EventKind::Answered { agent: agent(1) }]);

    // The agent hangs up: BYE to the customer, the call ends, the agent is free.
    let bye = agent_in_dialog("BYE", &phone_invite, "ph", AGENT1, "z9hG4bK-pbye", 2, None);
    let out = sim.from(AGENT1, &bye);
    assert_eq!(out.codes_to(AGENT1), vec![200]);
    assert_eq!(out.requests_to(CARRIER), vec![Method::Bye]);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::AgentDisconnect }]);
    assert_eq!(sim.host.busy(), 0);
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn a_busy_customer_ends_the_call_and_hangs_up_the_phone() {
    let mut sim = Sim::new();
    let phone_invite = dial(&mut sim).request_to(AGENT1, Method::Invite);
    let customer = sim.from(AGENT1, &answer(&phone_invite, 200, "OK", "ph", AGENT1, Some(SDP_ANSWER))).request_to(CARRIER, Method::Invite);
    let out = sim.carrier(&answer(&customer, 486, "Busy Here", "cu", CARRIER, None));
    out.request_to(CARRIER, Method::Ack);
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack, Method::Bye], "{:?}", out.summary());
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::Busy }]);
    assert_eq!(sim.host.busy(), 0);
}

#[test]
fn an_agent_who_does_not_pick_up_ends_the_call_before_the_customer_is_called() {
    let mut sim = Sim::new();
    let phone_invite = dial(&mut sim).request_to(AGENT1, Method::Invite);
    let out = sim.from(AGENT1, &answer(&phone_invite, 603, "Decline", "ph", AGENT1, None));
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);
    assert!(out.to(CARRIER).is_empty());
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::Canceled }]);
}
