//! A blind transfer (RFC 3515 REFER) from the agent's phone, on a hand-driven clock.

mod support;

use dialtone_calls::{EventKind, OfferOutcome, TransferTarget};
use rsipstack::sip::Method;
use support::*;

const KEY: &str = "call-9@carrier";
const SDP_SECOND: &str = "v=0\r\no=agent2 1 1 IN IP4 192.0.2.11\r\ns=-\r\nc=IN IP4 192.0.2.11\r\nt=0 0\r\nm=audio 50002 RTP/AVP 0\r\na=sendrecv\r\n";

#[test]
fn an_agent_transfers_the_caller_to_another_agent_whose_media_replaces_theirs() {
    let mut sim = Sim::new();
    let out = sim.carrier(&invite(KEY, "z9hG4bK-inv9"));
    let a_tag = out.response_to(CARRIER, 180).to_tag.unwrap();
    let first = out.request_to(AGENT1, Method::Invite);
    sim.from(AGENT1, &answer(&first, 200, "OK", "p1", AGENT1, Some(SDP_ANSWER)));
    sim.persisted(KEY).response_to(CARRIER, 200);
    sim.carrier(&carrier_ack(KEY, &a_tag, "z9hG4bK-ack9", 1));

    let refer = agent_in_dialog("REFER", &first, "p1", AGENT1, "z9hG4bK-ref9", 2, None)
        .replace("Content-Length: 0", "Refer-To: <sip:agent2@192.0.2.100>\r\nContent-Length: 0");
    let out = sim.from(AGENT1, &refer);
    assert_eq!(out.codes_to(AGENT1), vec![202], "{:?}", out.summary());
    assert_eq!(out.requests_to(AGENT1), vec![Method::Bye], "the transferring phone is hung up: {:?}", out.summary());
    let second = out.request_to(AGENT2, Method::Invite);
    assert_eq!(second.body(), SDP_OFFER.as_bytes(), "the new agent gets the caller's SDP");
    let events = out.events();
    let EventKind::Transferred { to, new_leg } = &events[0].kind else { panic!("{events:?}") };
    assert_eq!((to, events[0].key.as_str()), (&TransferTarget::Agent(agent(2)), KEY));
    assert!(events[1..].iter().all(|e| &e.key == new_leg), "later events are the new leg's: {events:?}");
    assert_eq!(events[1].kind, EventKind::Offered { agent: agent(2) });
    assert_eq!(sim.host.busy(), 1, "agent 1 is free again, agent 2 engaged");

    let out = sim.from(AGENT2, &answer(&second, 200, "OK", "p2", AGENT2, Some(SDP_SECOND)));
    out.request_to(AGENT2, Method::Ack);
    let reinvite = out.request_to(CARRIER, Method::Invite);
    assert_eq!(reinvite.body(), SDP_SECOND.as_bytes(), "the caller's media moves to the new agent");
    assert_eq!(reinvite.call_id, KEY);
    assert_eq!(
        out.kinds(),
        vec![EventKind::OfferResult { agent: agent(2), result: OfferOutcome::Accepted }, EventKind::Answered { agent: agent(2) }]
    );
    let ok = sim.carrier(&answer(&reinvite, 200, "OK", &a_tag, CARRIER, Some(SDP_OFFER)));
    assert_eq!(ok.requests_to(CARRIER), vec![Method::Ack], "{:?}", ok.summary());

    // The caller hangs up: the new agent's leg ends, on the new key.
    let bye = sim.carrier(&carrier_in_dialog("BYE", KEY, &a_tag, "z9hG4bK-bye9", 2, None));
    assert_eq!(bye.requests_to(AGENT2), vec![Method::Bye]);
    let last = bye.events().pop().unwrap();
    assert_eq!(&last.key, new_leg);
    assert!(matches!(last.kind, EventKind::Ended { .. }));
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn a_transfer_to_an_agent_who_is_not_free_is_refused_and_the_call_stays() {
    let mut sim = Sim::new();
    let out = sim.carrier(&invite(KEY, "z9hG4bK-inv9"));
    let first = out.request_to(AGENT1, Method::Invite);
    sim.from(AGENT1, &answer(&first, 200, "OK", "p1", AGENT1, Some(SDP_ANSWER)));
    let refer = agent_in_dialog("REFER", &first, "p1", AGENT1, "z9hG4bK-ref9", 2, None)
        .replace("Content-Length: 0", "Refer-To: <sip:nobody@192.0.2.100>\r\nContent-Length: 0");
    let out = sim.from(AGENT1, &refer);
    assert_eq!(out.codes_to(AGENT1), vec![480], "{:?}", out.summary());
    assert!(out.events().is_empty() && out.requests_to(AGENT1).is_empty());
}
