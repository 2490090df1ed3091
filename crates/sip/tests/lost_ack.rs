//! The carrier's ACK is lost; its BYE must still end the call normally.

mod support;

use dialtone_calls::{EndReason, EventKind};
use rsipstack::sip::Method;
use support::*;
use time::Duration;

#[test]
fn a_bye_after_a_lost_ack_ends_the_call_normally_and_stops_the_answer_retransmissions() {
    let mut sim = Sim::new();
    let key = "lost-ack@carrier";
    let out = sim.carrier(&invite(key, "z9hG4bK-la1"));
    let a_tag = out.response_to(CARRIER, 180).to_tag.unwrap();
    let b_invite = out.request_to(AGENT1, Method::Invite);
    sim.from(AGENT1, &answer(&b_invite, 200, "OK", "p1", AGENT1, Some(SDP_ANSWER)));
    sim.persisted(key).response_to(CARRIER, 200);
    // No ACK arrives; the BYE does.
    let out = sim.carrier(&carrier_in_dialog("BYE", key, &a_tag, "z9hG4bK-la2", 2, None));
    assert_eq!(out.codes_to(CARRIER), vec![200]);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::CustomerDisconnect }]);
    let later = sim.run_for(Duration::seconds(40), Duration::milliseconds(250));
    assert!(later.to(CARRIER).is_empty(), "no 200 resent after the BYE: {:?}", later.summary());
    assert!(later.events().is_empty(), "no Failed after the end: {:?}", later.kinds());
}
