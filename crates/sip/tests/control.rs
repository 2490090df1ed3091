//! Third-party call control (the agent's browser acting on the call through
//! the B2BUA) on a hand-driven clock: each command against the phone's own
//! equivalent, and the commands that must be refused.

mod support;

use dialtone_calls::{AgentId, EndReason, EventKind, OfferOutcome, VendorCallKey};
use dialtone_sip::wire::{self, Parsed};
use dialtone_sip::{AgentTarget, CallAction, Dial, Refusal, TransferTarget};
use rsipstack::sip::Method;
use support::*;
use time::Duration;

const KEY: &str = "ctl-1@carrier";
const BRANCH: &str = "z9hG4bK-ctl1";
const PHONE_TAG: &str = "ph1";
const TRUNK_OUT: &str = "192.0.2.2:5060";
const NUMBER_SDP: &str = "v=0\r\no=pstn 5 5 IN IP4 198.51.100.40\r\ns=-\r\nc=IN IP4 198.51.100.40\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\na=sendrecv\r\n";

fn connected() -> (Sim, String, Parsed) {
    let mut sim = Sim::new();
    let (a_tag, b_invite) = sim.connect(KEY, BRANCH, PHONE_TAG);
    (sim, a_tag, b_invite)
}

fn carrier_sdp(direction: &str) -> String {
    SDP_OFFER.replace("a=sendrecv", direction)
}

fn text(p: &Parsed) -> String {
    String::from_utf8_lossy(p.body()).into_owned()
}

fn has_line(p: &Parsed, line: &str) -> bool {
    text(p).lines().any(|l| l == line)
}

/// A hold or resume from the browser, through both steps; the events.
fn hold_or_resume(sim: &mut Sim, action: CallAction, carrier_answer: &str) -> Vec<EventKind> {
    let out = sim.command(KEY, action).expect("accepted");
    assert!(out.events().is_empty(), "nothing changes before the carrier agrees");
    let reinvite = out.request_to(CARRIER, Method::Invite);
    let out = sim.carrier(&answer(&reinvite, 200, "OK", "x", CARRIER, Some(carrier_answer)));
    out.request_to(CARRIER, Method::Ack);
    let kinds = out.kinds();
    let to_phone = out.request_to(AGENT1, Method::Invite);
    let done = sim.from(AGENT1, &answer(&to_phone, 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    assert_eq!(done.requests_to(AGENT1), vec![Method::Ack]);
    assert!(done.events().is_empty());
    kinds
}

#[test]
fn hold_from_the_browser_reoffers_the_agents_sdp_sendonly_to_the_carrier_then_the_carriers_inactive_to_the_phone() {
    let (mut sim, a_tag, _) = connected();
    let out = sim.command(KEY, CallAction::Hold).unwrap();
    let reinvite = out.request_to(CARRIER, Method::Invite);
    assert_eq!((reinvite.call_id.as_str(), reinvite.from_tag.as_deref(), reinvite.to_tag.as_deref()), (KEY, Some(a_tag.as_str()), Some("carrier-tag")));
    assert_eq!(reinvite.cseq, 2, "the first request of ours in the carrier's dialog");
    assert!(has_line(&reinvite, "a=sendonly") && !has_line(&reinvite, "a=sendrecv"), "{}", text(&reinvite));
    assert!(has_line(&reinvite, "c=IN IP4 192.0.2.10"), "the agent's media address: {}", text(&reinvite));
    assert_eq!(wire::sdp_version(reinvite.body()), Some(2), "newer than the agent's answer the carrier has");
    assert!(out.to(AGENT1).is_empty() && out.events().is_empty());

    let out = sim.carrier(&answer(&reinvite, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=recvonly"))));
    out.request_to(CARRIER, Method::Ack);
    assert_eq!(out.kinds(), vec![EventKind::Held]);
    let to_phone = out.request_to(AGENT1, Method::Invite);
    assert_eq!(to_phone.to_tag.as_deref(), Some(PHONE_TAG));
    assert!(has_line(&to_phone, "a=inactive") && has_line(&to_phone, "c=IN IP4 203.0.113.5"), "{}", text(&to_phone));
    let out = sim.from(AGENT1, &answer(&to_phone, 200, "OK", PHONE_TAG, AGENT1, Some(&SDP_ANSWER.replace("a=sendrecv", "a=inactive"))));
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);

    let out = sim.command(KEY, CallAction::Resume).unwrap();
    let resume = out.request_to(CARRIER, Method::Invite);
    assert!(has_line(&resume, "a=sendrecv"), "{}", text(&resume));
    assert_eq!(wire::sdp_version(resume.body()), Some(3), "newer than the hold's");
    assert_eq!(resume.cseq, 3);
    let out = sim.carrier(&answer(&resume, 200, "OK", "x", CARRIER, Some(SDP_OFFER)));
    assert_eq!(out.kinds(), vec![EventKind::Resumed]);
    assert!(has_line(&out.request_to(AGENT1, Method::Invite), "a=sendrecv"));
}

#[test]
fn hold_and_resume_from_the_browser_report_what_the_phone_holding_itself_reports() {
    let (mut sim, _, _) = connected();
    let mut browser = hold_or_resume(&mut sim, CallAction::Hold, &carrier_sdp("a=recvonly"));
    browser.extend(hold_or_resume(&mut sim, CallAction::Resume, SDP_OFFER));

    let (mut sim, _, b_invite) = connected();
    let mut phone = Vec::new();
    for (cseq, direction) in [(2, "a=sendonly"), (3, "a=sendrecv")] {
        let offer = SDP_ANSWER.replace("a=sendrecv", direction);
        let out = sim.from(AGENT1, &agent_in_dialog("INVITE", &b_invite, PHONE_TAG, AGENT1, &format!("z9hG4bK-ph{cseq}"), cseq, Some(&offer)));
        phone.extend(out.kinds());
        let relayed = out.request_to(CARRIER, Method::Invite);
        sim.carrier(&answer(&relayed, 200, "OK", "x", CARRIER, Some(SDP_OFFER)));
    }
    assert_eq!(browser, phone);
    assert_eq!(browser, vec![EventKind::Held, EventKind::Resumed]);
}

#[test]
fn the_carriers_re_invite_is_retransmitted_over_udp_until_answered_and_a_repeated_200_is_acked_again() {
    let (mut sim, _, _) = connected();
    let first = sim.command(KEY, CallAction::Hold).unwrap().request_to(CARRIER, Method::Invite);
    let resent = |out: &Outs| out.to(CARRIER).into_iter().filter(|p| method_of(p) == Some(Method::Invite)).map(|p| p.branch).collect::<Vec<_>>();
    assert!(resent(&sim.advance(Duration::milliseconds(499))).is_empty());
    assert_eq!(resent(&sim.advance(Duration::milliseconds(1))), vec![first.branch.clone()], "at T1");
    assert!(resent(&sim.advance(Duration::milliseconds(999))).is_empty());
    assert_eq!(resent(&sim.advance(Duration::milliseconds(1))), vec![first.branch.clone()], "2·T1 later");
    let ok = answer(&first, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=recvonly")));
    assert_eq!(sim.carrier(&ok).kinds(), vec![EventKind::Held]);
    assert!(resent(&sim.run_for(Duration::seconds(10), Duration::milliseconds(100))).is_empty(), "the 200 stops it");
    let again = sim.carrier(&ok);
    assert_eq!(again.requests_to(CARRIER), vec![Method::Ack], "a retransmitted 200 is ACKed again");
    assert!(again.events().is_empty() && again.to(AGENT1).is_empty(), "and changes nothing: {:?}", again.summary());
}

#[test]
fn a_carrier_that_never_answers_the_hold_is_hung_up_on_both_legs_and_the_call_fails() {
    let (mut sim, _, _) = connected();
    sim.command(KEY, CallAction::Hold).unwrap();
    let out = sim.run_for(Duration::seconds(33), Duration::milliseconds(500));
    let byes = |addr: &str| {
        let mut b: Vec<String> = out.to(addr).into_iter().filter(|p| method_of(p) == Some(Method::Bye)).map(|p| p.branch).collect();
        b.dedup();
        b.len()
    };
    assert_eq!((byes(AGENT1), byes(CARRIER)), (1, 1), "{:?}", out.summary());
    let kinds = out.kinds();
    assert!(matches!(kinds[0], EventKind::Failed { .. }), "{kinds:?}");
    assert_eq!(kinds[1..], [EventKind::Ended { reason: EndReason::Failed }]);
    assert_eq!(sim.host.busy(), 0);
}

#[test]
fn glare_answers_the_carriers_re_invite_491_and_our_hold_is_sent_again_after_its_491() {
    let (mut sim, a_tag, _) = connected();
    let ours = sim.command(KEY, CallAction::Hold).unwrap().request_to(CARRIER, Method::Invite);
    // The carrier re-INVITEs at the same moment: glare on both sides.
    let theirs = carrier_in_dialog("INVITE", KEY, &a_tag, "z9hG4bK-glare", 2, Some(SDP_OFFER));
    let out = sim.carrier(&theirs);
    assert_eq!(out.codes_to(CARRIER), vec![491]);
    assert!(out.to(AGENT1).is_empty() && out.events().is_empty());
    let out = sim.carrier(&answer(&ours, 491, "Request Pending", "x", CARRIER, None));
    assert_eq!(out.requests_to(CARRIER), vec![Method::Ack], "a non-2xx is ACKed");
    assert!(out.events().is_empty());
    assert_eq!(sim.command(KEY, CallAction::Hold).unwrap_err(), Refusal::Renegotiating, "a retry is pending");

    let out = sim.run_for(Duration::seconds(2), Duration::milliseconds(10));
    let sent: Vec<Parsed> = out.to(CARRIER).into_iter().filter(|p| method_of(p) == Some(Method::Invite)).collect();
    assert!(!sent.is_empty() && sent.iter().all(|p| p.branch == sent[0].branch), "one retry (and its retransmissions): {:?}", out.summary());
    let retry = sent[0].clone();
    assert!(retry.cseq > ours.cseq && retry.branch != ours.branch);
    assert!(has_line(&retry, "a=sendonly"));
    let out = sim.carrier(&answer(&retry, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=recvonly"))));
    assert_eq!(out.kinds(), vec![EventKind::Held]);
}

#[test]
fn a_command_while_a_phones_re_invite_is_relayed_is_refused_and_the_relay_completes() {
    let (mut sim, _, b_invite) = connected();
    let offer = SDP_ANSWER.replace("a=sendrecv", "a=sendonly");
    let relayed = sim.from(AGENT1, &agent_in_dialog("INVITE", &b_invite, PHONE_TAG, AGENT1, "z9hG4bK-ph2", 2, Some(&offer))).request_to(CARRIER, Method::Invite);
    assert_eq!(sim.command(KEY, CallAction::Resume).unwrap_err(), Refusal::Renegotiating);
    assert_eq!(sim.command(KEY, CallAction::Mute).unwrap_err(), Refusal::Renegotiating);
    let out = sim.carrier(&answer(&relayed, 200, "OK", "x", CARRIER, Some(SDP_OFFER)));
    assert_eq!(out.codes_to(AGENT1), vec![200]);
    // The phone held the call; the browser may resume it.
    let out = sim.command(KEY, CallAction::Resume).unwrap();
    let out = sim.carrier(&answer(&out.request_to(CARRIER, Method::Invite), 200, "OK", "x", CARRIER, Some(SDP_OFFER)));
    assert_eq!(out.kinds(), vec![EventKind::Resumed]);
}

#[test]
fn commands_the_call_cannot_take_are_refused_and_change_nothing() {
    let mut sim = Sim::new();
    assert_eq!(sim.command("nobody@carrier", CallAction::Hangup).unwrap_err(), Refusal::UnknownCall);
    let out = sim.carrier(&invite(KEY, BRANCH));
    let b_invite = out.request_to(AGENT1, Method::Invite);
    for action in [CallAction::Hold, CallAction::Mute, CallAction::Transfer { to: TransferTarget::Agent { username: "agent2".into() } }] {
        assert_eq!(sim.command(KEY, action).unwrap_err(), Refusal::NotAnswered, "while ringing");
    }
    assert!(!sim.host.agents[1].busy, "a refused transfer engages nobody");

    sim.from(AGENT1, &answer(&b_invite, 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    assert_eq!(sim.command(KEY, CallAction::Hold).unwrap_err(), Refusal::NotAnswered, "before the carrier has the answer");
    let a_tag = sim.persisted(KEY).response_to(CARRIER, 200).to_tag.unwrap();
    sim.carrier(&carrier_ack(KEY, &a_tag, "z9hG4bK-a", 1));
    assert_eq!(sim.command(KEY, CallAction::Decline).unwrap_err(), Refusal::NotRinging, "declined after the answer");
    assert_eq!(sim.command(KEY, CallAction::Resume).unwrap_err(), Refusal::NotHeld);
    assert_eq!(sim.command(KEY, CallAction::Unmute).unwrap_err(), Refusal::NotMuted);
    let bad = TransferTarget::Number { number: "+1 415 <evil>".into(), trunk: None };
    assert_eq!(sim.command(KEY, CallAction::Transfer { to: bad }).unwrap_err(), Refusal::BadNumber);
    let busy = TransferTarget::Agent { username: "agent1".into() };
    assert_eq!(sim.command(KEY, CallAction::Transfer { to: busy }).unwrap_err(), Refusal::AgentUnavailable("agent1".into()));
    let out = sim.command(KEY, CallAction::Hold).unwrap();
    assert_eq!(sim.command(KEY, CallAction::Hold).unwrap_err(), Refusal::Renegotiating, "while the first is in progress");
    assert_eq!(out.requests_to(CARRIER), vec![Method::Invite], "{:?}", out.summary());
    let out = sim.carrier(&answer(&out.request_to(CARRIER, Method::Invite), 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=recvonly"))));
    sim.from(AGENT1, &answer(&out.request_to(AGENT1, Method::Invite), 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));
    assert_eq!(sim.command(KEY, CallAction::Hold).unwrap_err(), Refusal::AlreadyHeld);

    sim.command(KEY, CallAction::Hangup).unwrap();
    assert_eq!(sim.command(KEY, CallAction::Hangup).unwrap_err(), Refusal::UnknownCall, "an ended call takes no command");
}

#[test]
fn mute_reoffers_the_carrier_recvonly_and_leaves_the_phone_alone_and_unmute_restores_it() {
    let (mut sim, _, _) = connected();
    let out = sim.command(KEY, CallAction::Mute).unwrap();
    let mute = out.request_to(CARRIER, Method::Invite);
    assert!(has_line(&mute, "a=recvonly"), "the agent only receives: {}", text(&mute));
    let out = sim.carrier(&answer(&mute, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=sendonly"))));
    out.request_to(CARRIER, Method::Ack);
    assert!(out.to(AGENT1).is_empty(), "the phone is not re-INVITEd: {:?}", out.summary());
    assert!(out.events().is_empty(), "the lifecycle has no mute fact");
    assert_eq!(sim.command(KEY, CallAction::Mute).unwrap_err(), Refusal::AlreadyMuted);

    // Held while muted: nothing flows either way.
    let hold = sim.command(KEY, CallAction::Hold).unwrap().request_to(CARRIER, Method::Invite);
    assert!(has_line(&hold, "a=inactive"), "{}", text(&hold));
    let out = sim.carrier(&answer(&hold, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=inactive"))));
    assert_eq!(out.kinds(), vec![EventKind::Held]);
    sim.from(AGENT1, &answer(&out.request_to(AGENT1, Method::Invite), 200, "OK", PHONE_TAG, AGENT1, Some(SDP_ANSWER)));

    let unmute = sim.command(KEY, CallAction::Unmute).unwrap().request_to(CARRIER, Method::Invite);
    assert!(has_line(&unmute, "a=sendonly"), "unmuted, still held: {}", text(&unmute));
    assert!(wire::sdp_version(unmute.body()) > wire::sdp_version(hold.body()));
}

#[test]
fn hangup_from_the_browser_byes_both_legs_as_the_phones_own_bye_ends_the_call() {
    let (mut sim, _, _) = connected();
    let out = sim.command(KEY, CallAction::Hangup).unwrap();
    let (to_carrier, to_phone) = (out.request_to(CARRIER, Method::Bye), out.request_to(AGENT1, Method::Bye));
    assert_eq!(to_carrier.call_id, KEY);
    assert_eq!(to_phone.to_tag.as_deref(), Some(PHONE_TAG));
    let browser = out.kinds();
    assert_eq!(sim.host.busy(), 0);
    assert!(sim.carrier(&answer(&to_carrier, 200, "OK", "x", CARRIER, None)).0.is_empty());
    assert!(sim.from(AGENT1, &answer(&to_phone, 200, "OK", PHONE_TAG, AGENT1, None)).0.is_empty());

    let (mut phone_sim, _, b_invite) = connected();
    let phone = phone_sim.from(AGENT1, &agent_in_dialog("BYE", &b_invite, PHONE_TAG, AGENT1, "z9hG4bK-pb", 2, None)).kinds();
    assert_eq!(browser, phone);
    assert_eq!(browser, vec![EventKind::Ended { reason: EndReason::AgentDisconnect }]);
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn hangup_while_our_hold_is_in_flight_byes_the_carrier_only_after_acking_its_answer() {
    let (mut sim, _, _) = connected();
    let hold = sim.command(KEY, CallAction::Hold).unwrap().request_to(CARRIER, Method::Invite);
    let out = sim.command(KEY, CallAction::Hangup).unwrap();
    out.request_to(AGENT1, Method::Bye);
    assert!(out.to(CARRIER).iter().all(|p| method_of(p) != Some(Method::Bye)), "no BYE before the re-INVITE's answer: {:?}", out.summary());
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::AgentDisconnect }], "the call ends for the agent at once");
    assert_eq!(sim.host.busy(), 0);
    // The carrier answers the hold: ACK, then the BYE, and no Held for an ended call.
    let out = sim.carrier(&answer(&hold, 200, "OK", "x", CARRIER, Some(&carrier_sdp("a=recvonly"))));
    let methods: Vec<Option<Method>> = out.to(CARRIER).iter().map(method_of).collect();
    assert_eq!(methods, vec![Some(Method::Ack), Some(Method::Bye)], "{:?}", out.summary());
    assert!(out.kinds().is_empty());
    assert!(out.to(AGENT1).is_empty(), "the phone's leg was hung up already");

    // A carrier that never answers the hold still gets its BYE once the re-INVITE times out.
    let (mut sim, _, _) = connected();
    sim.command(KEY, CallAction::Hold).unwrap();
    sim.command(KEY, CallAction::Hangup).unwrap();
    let out = sim.run_for(Duration::seconds(33), Duration::milliseconds(500));
    assert!(out.to(CARRIER).iter().any(|p| method_of(p) == Some(Method::Bye)), "{:?}", out.summary());
}

#[test]
fn hangup_while_the_phone_rings_cancels_it_and_refuses_the_caller() {
    let mut sim = Sim::new();
    let b_invite = sim.carrier(&invite(KEY, BRANCH)).request_to(AGENT1, Method::Invite);
    let out = sim.command(KEY, CallAction::Hangup).unwrap();
    assert_eq!(out.request_to(AGENT1, Method::Cancel).branch, b_invite.branch);
    assert_eq!(out.response_to(CARRIER, 480).branch, BRANCH);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::AgentDisconnect }]);
    assert_eq!(sim.host.busy(), 0);
    // The phone finishes the canceled INVITE: ACKed, nothing more.
    let out = sim.from(AGENT1, &answer(&b_invite, 487, "Request Terminated", PHONE_TAG, AGENT1, None));
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack]);
    assert!(out.events().is_empty() && sim.host.bad_releases.is_empty());
}

#[test]
fn decline_from_the_browser_cancels_the_phone_and_offers_the_next_agent_as_a_486_from_the_phone_does() {
    let mut sim = Sim::new();
    let b_invite = sim.carrier(&invite(KEY, BRANCH)).request_to(AGENT1, Method::Invite);
    let out = sim.command(KEY, CallAction::Decline).unwrap();
    assert_eq!(out.request_to(AGENT1, Method::Cancel).branch, b_invite.branch);
    out.request_to(AGENT2, Method::Invite);
    assert!(out.to(CARRIER).is_empty(), "the caller keeps ringing");
    let browser = out.kinds();

    let mut phone_sim = Sim::new();
    let first = phone_sim.carrier(&invite(KEY, BRANCH)).request_to(AGENT1, Method::Invite);
    let phone = phone_sim.from(AGENT1, &answer(&first, 486, "Busy Here", PHONE_TAG, AGENT1, None)).kinds();
    assert_eq!(browser, phone);
    assert_eq!(browser, vec![EventKind::OfferResult { agent: agent(1), result: OfferOutcome::Declined }, EventKind::Offered { agent: agent(2) }]);
    assert!(!sim.host.agents[0].busy && sim.host.agents[1].busy);

    // The canceled INVITE's 487 and the old offer's timer change nothing.
    let out = sim.from(AGENT1, &answer(&b_invite, 487, "Request Terminated", PHONE_TAG, AGENT1, None));
    assert!(out.events().is_empty());
    assert!(sim.advance(Duration::seconds(21)).kinds().iter().all(|k| !matches!(k, EventKind::OfferResult { agent: a, .. } if a == &agent(1))));
}

fn click_to_dial(sim: &mut Sim) -> Parsed {
    sim.host.agents[0].busy = true;
    let target = AgentTarget { agent: agent(1), uri: format!("sip:agent1@{AGENT1}"), peer: udp(AGENT1) };
    let d = Dial { key: VendorCallKey::parse("out-7@dialtone").unwrap(), agent: target, number: "+14155550100".into(), trunk: udp(CARRIER), call_center: Some(center()) };
    Outs(sim.core.dial(sim.now, d, &mut sim.host)).request_to(AGENT1, Method::Invite)
}

#[test]
fn decline_of_a_click_to_dial_ringing_the_agent_cancels_it_and_ends_the_call_as_the_phones_603_does() {
    let mut sim = Sim::new();
    let phone_invite = click_to_dial(&mut sim);
    let out = sim.command("out-7@dialtone", CallAction::Decline).unwrap();
    assert_eq!(out.request_to(AGENT1, Method::Cancel).branch, phone_invite.branch);
    assert!(out.to(CARRIER).is_empty());
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::Canceled }]);
    assert_eq!(sim.host.busy(), 0);
}

#[test]
fn hangup_of_a_click_to_dial_while_the_customer_rings_cancels_the_customer_and_hangs_up_the_phone() {
    let mut sim = Sim::new();
    let phone_invite = click_to_dial(&mut sim);
    let customer = sim.from(AGENT1, &answer(&phone_invite, 200, "OK", "ph", AGENT1, Some(SDP_ANSWER))).request_to(CARRIER, Method::Invite);
    sim.carrier(&answer(&customer, 180, "Ringing", "cu", CARRIER, None));
    let out = sim.command("out-7@dialtone", CallAction::Hangup).unwrap();
    assert_eq!(out.request_to(CARRIER, Method::Cancel).branch, customer.branch);
    assert_eq!(out.requests_to(AGENT1), vec![Method::Ack, Method::Bye], "{:?}", out.summary());
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::AgentDisconnect }]);
    assert_eq!(sim.host.busy(), 0);
}

/// The events of a transfer to agent 2 and of its answer, from the browser or a REFER.
fn transfer_to_agent2(browser: bool) -> (Vec<dialtone_calls::CallEvent>, Sim) {
    let (mut sim, _, b_invite) = connected();
    let out = if browser {
        sim.command(KEY, CallAction::Transfer { to: TransferTarget::Agent { username: "agent2".into() } }).unwrap()
    } else {
        let refer = agent_in_dialog("REFER", &b_invite, PHONE_TAG, AGENT1, "z9hG4bK-ref", 2, None).replace("Content-Length: 0", "Refer-To: <sip:agent2@192.0.2.100>\r\nContent-Length: 0");
        let out = sim.from(AGENT1, &refer);
        assert_eq!(out.codes_to(AGENT1), vec![202]);
        out
    };
    assert_eq!(out.requests_to(AGENT1), vec![Method::Bye]);
    let second = out.request_to(AGENT2, Method::Invite);
    assert_eq!(second.body(), SDP_OFFER.as_bytes());
    let mut events = out.events();
    let answered = sim.from(AGENT2, &answer(&second, 200, "OK", "p2", AGENT2, Some(SDP_ANSWER)));
    answered.request_to(CARRIER, Method::Invite);
    events.extend(answered.events());
    (events, sim)
}

#[test]
fn a_transfer_to_an_agent_from_the_browser_takes_the_refer_path_and_reports_the_same_events() {
    let (browser, mut sim) = transfer_to_agent2(true);
    let (phone, _) = transfer_to_agent2(false);
    let strip = |es: &[dialtone_calls::CallEvent]| es.iter().map(|e| (e.key.clone(), e.seq, e.kind.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&browser), strip(&phone));
    let new_leg = match &browser[0].kind {
        EventKind::Transferred { to: dialtone_calls::TransferTarget::Agent(a), new_leg } if a == &agent(2) => new_leg.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(sim.host.busy(), 1);
    // The new leg's key takes commands; the old one is no longer live.
    assert_eq!(sim.command(KEY, CallAction::Hangup).unwrap_err(), Refusal::UnknownCall);
    let out = sim.command(new_leg.as_str(), CallAction::Hangup).unwrap();
    assert_eq!(out.requests_to(AGENT2), vec![Method::Bye]);
    assert_eq!(out.events().iter().map(|e| (&e.key, &e.kind)).collect::<Vec<_>>(), vec![(&new_leg, &EventKind::Ended { reason: EndReason::AgentDisconnect })]);
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn a_transfer_to_a_number_dials_it_through_the_trunk_and_moves_the_carriers_media_to_it() {
    let (mut sim, a_tag, _) = connected();
    let to = TransferTarget::Number { number: "+14155550100".into(), trunk: Some(udp(TRUNK_OUT)) };
    let out = sim.command(KEY, CallAction::Transfer { to }).unwrap();
    assert_eq!(out.requests_to(AGENT1), vec![Method::Bye]);
    let leg = out.request_to(TRUNK_OUT, Method::Invite);
    assert_eq!(leg.request().unwrap().uri.to_string(), format!("sip:+14155550100@{TRUNK_OUT}"));
    assert_eq!(leg.body(), SDP_OFFER.as_bytes(), "the caller's SDP");
    assert!(leg.header("X-Dialtone-Call").is_none(), "no internal header to the outside");
    let events = out.events();
    let EventKind::Transferred { to: dialtone_calls::TransferTarget::Number(n), new_leg } = &events[0].kind else { panic!("{events:?}") };
    assert_eq!((n.as_str(), events.len(), sim.host.busy()), ("+14155550100", 1, 0), "agent 1 is free: {events:?}");

    let out = sim.from(TRUNK_OUT, &answer(&leg, 180, "Ringing", "n1", TRUNK_OUT, None));
    assert_eq!(out.events().iter().map(|e| (&e.key, &e.kind)).collect::<Vec<_>>(), vec![(new_leg, &EventKind::Ringing)]);
    let out = sim.from(TRUNK_OUT, &answer(&leg, 200, "OK", "n1", TRUNK_OUT, Some(NUMBER_SDP)));
    out.request_to(TRUNK_OUT, Method::Ack);
    let reinvite = out.request_to(CARRIER, Method::Invite);
    assert_eq!(reinvite.body(), NUMBER_SDP.as_bytes());
    sim.carrier(&answer(&reinvite, 200, "OK", "x", CARRIER, Some(SDP_OFFER))).request_to(CARRIER, Method::Ack);

    // The caller hangs up: the number's leg gets the BYE, the new leg ends.
    let out = sim.carrier(&carrier_in_dialog("BYE", KEY, &a_tag, "z9hG4bK-nbye", 2, None));
    assert_eq!(out.requests_to(TRUNK_OUT), vec![Method::Bye]);
    let last = out.events().pop().unwrap();
    assert_eq!((&last.key, last.kind), (new_leg, EventKind::Ended { reason: EndReason::CustomerDisconnect }));
    assert!(sim.host.bad_releases.is_empty());
}

#[test]
fn a_busy_number_ends_the_transferred_call_and_hangs_up_the_caller() {
    let (mut sim, _, _) = connected();
    let to = TransferTarget::Number { number: "+14155550100".into(), trunk: Some(udp(TRUNK_OUT)) };
    let leg = sim.command(KEY, CallAction::Transfer { to }).unwrap().request_to(TRUNK_OUT, Method::Invite);
    let out = sim.from(TRUNK_OUT, &answer(&leg, 486, "Busy Here", "n1", TRUNK_OUT, None));
    out.request_to(TRUNK_OUT, Method::Ack);
    assert_eq!(out.requests_to(CARRIER), vec![Method::Bye]);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::Busy }]);
    assert_eq!(sim.core.stats().active, 0);
}

#[test]
fn an_unanswered_number_is_canceled_after_the_offer_timeout_and_the_call_ends() {
    let (mut sim, _, _) = connected();
    let to = TransferTarget::Number { number: "+14155550100".into(), trunk: Some(udp(TRUNK_OUT)) };
    let leg = sim.command(KEY, CallAction::Transfer { to }).unwrap().request_to(TRUNK_OUT, Method::Invite);
    sim.from(TRUNK_OUT, &answer(&leg, 180, "Ringing", "n1", TRUNK_OUT, None));
    let out = sim.advance(Duration::seconds(20));
    assert_eq!(out.request_to(TRUNK_OUT, Method::Cancel).branch, leg.branch);
    assert_eq!(out.requests_to(CARRIER), vec![Method::Bye]);
    assert_eq!(out.kinds(), vec![EventKind::Ended { reason: EndReason::NoAnswer }]);
}

#[test]
fn a_refer_to_a_number_goes_out_through_the_trunk_the_call_came_in_on() {
    let (mut sim, _, b_invite) = connected();
    let refer = agent_in_dialog("REFER", &b_invite, PHONE_TAG, AGENT1, "z9hG4bK-refn", 2, None).replace("Content-Length: 0", "Refer-To: <sip:+14155550100@192.0.2.100>\r\nContent-Length: 0");
    let out = sim.from(AGENT1, &refer);
    assert_eq!(out.codes_to(AGENT1), vec![202]);
    let leg = out.request_to(CARRIER, Method::Invite);
    assert_eq!(leg.request().unwrap().uri.to_string(), format!("sip:+14155550100@{CARRIER}"));
    assert_ne!(leg.call_id, KEY, "a leg of its own");
    assert!(matches!(&out.kinds()[0], EventKind::Transferred { to: dialtone_calls::TransferTarget::Number(n), .. } if n == "+14155550100"));
    let none: Vec<AgentId> = Vec::new();
    assert_eq!(sim.host.agents.iter().filter(|a| a.busy).map(|a| a.target.agent.clone()).collect::<Vec<_>>(), none);
}
