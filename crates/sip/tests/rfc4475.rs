//! RFC 4475 torture messages, and random damage to a good INVITE, fed to the
//! core from the trunk and from an address that is no trunk.
//!
//! Each message states what RFC 4475 says of it and what the core does.
//! Where the two differ the case carries a note: those are known deviations,
//! not accidents, stated where the table below lists the message.

mod support;

use dialtone_calls::EventKind;
use dialtone_sip::Peer;
use proptest::prelude::*;
use support::*;
use time::Duration;

/// RFC 4475's verdict on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rfc {
    /// §3.1.1: well-formed, to be accepted.
    Valid,
    /// §3.1.2: invalid; reject (400) or, for a response, drop.
    Invalid,
    /// §3.2: a transaction-layer case.
    Transaction,
    /// §3.3: parses; the application answers it correctly.
    Application,
    /// §3.4: an RFC 2543 request, to be accepted.
    Compat,
}

/// What the core does with it when it comes from the trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Core {
    /// A new call: 100 and 180 back, an INVITE to an agent, events.
    Call,
    /// One response with this code, no event, nothing toward an agent.
    Answers(u16),
    /// Nothing sent, no event (unparseable, unanswerable, or a stray response).
    Drops,
}

struct Case {
    name: &'static str,
    rfc: Rfc,
    core: Core,
    /// Why the core's behaviour differs from what RFC 4475 asks, if it does.
    deviation: Option<&'static str>,
}

fn message(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"))).expect("the message file")
}

/// Runs a message from both sources and checks what every message must
/// satisfy, then what this one's case says.
fn check(case: Case) {
    let data = message(case.name);
    for (source, trunk) in [(CARRIER, true), (STRANGER, false)] {
        let mut sim = Sim::new();
        let out = sim.bytes_from(udp(source), &data);
        let to_agents = out.to(AGENT1).len() + out.to(AGENT2).len();
        let codes = out.codes_to(source);
        let expected = match (case.core, trunk) {
            (Core::Call, false) => Core::Answers(403),
            (c, _) => c,
        };
        let what = format!("{} from {source}: {:#?}", case.name, out.summary());
        match expected {
            Core::Call => {
                assert_eq!(codes, vec![100, 180], "{what}");
                assert_eq!(to_agents, 1, "{what}");
                assert!(matches!(out.kinds().first(), Some(EventKind::Initiated { .. })), "{what}");
            }
            Core::Answers(code) => {
                assert_eq!(codes, vec![code], "{what}");
                assert_eq!((out.sends(), to_agents, out.events().len()), (1, 0, 0), "{what}");
            }
            Core::Drops => assert_eq!((out.sends(), out.events().len()), (0, 0), "{what}"),
        }
        if case.rfc == Rfc::Invalid && case.deviation.is_none() {
            assert!(matches!(expected, Core::Drops | Core::Answers(400)), "an invalid message is answered 400 or dropped: {what}");
        }
        if matches!(case.rfc, Rfc::Valid | Rfc::Compat) && case.deviation.is_none() {
            assert!(expected != Core::Drops || codes.is_empty() && data.starts_with(b"SIP/2.0 "), "a valid request is answered: {what}");
        }
        // Whatever it started ends, and no agent is left busy.
        sim.run_for(Duration::seconds(200), Duration::seconds(1));
        assert_eq!((sim.core.stats().active, sim.core.stats_light().active), (0, 0), "{what}");
        assert_eq!(sim.host.busy(), 0, "{what}");
        assert!(sim.host.bad_releases.is_empty(), "{what}");
    }
}

macro_rules! torture {
    ($($name:ident: $rfc:ident, $core:expr $(, $deviation:literal)?;)*) => {
        $(
            #[test]
            fn $name() {
                #[allow(unused_mut, unused_assignments)]
                let mut deviation = None;
                $(deviation = Some($deviation);)?
                check(Case { name: stringify!($name), rfc: Rfc::$rfc, core: $core, deviation });
            }
        )*
    };
}

torture! {
    // §3.1.1 valid messages.
    wsinv: Valid, Core::Call;
    intmeth: Valid, Core::Drops, "rsipstack's Method has no extension methods: an unknown method is unparseable, so no 405/501";
    esc01: Valid, Core::Call;
    escnull: Valid, Core::Answers(401);
    esc02: Valid, Core::Drops, "RE%47IST%45R is an unknown method to rsipstack (see intmeth): dropped, not 405";
    lwsdisp: Valid, Core::Answers(200);
    longreq: Valid, Core::Answers(400), "its top Via has no branch: the core keeps no RFC 2543 transactions (wire::parse answers 400)";
    dblreq: Valid, Core::Answers(401);
    semiuri: Valid, Core::Answers(200);
    transports: Valid, Core::Answers(200);
    mpart01: Valid, Core::Answers(405);
    unreason: Valid, Core::Drops;
    noreason: Valid, Core::Drops;

    // §3.1.2 invalid messages.
    badinv01: Invalid, Core::Answers(400);
    clerr: Invalid, Core::Answers(400);
    ncl: Invalid, Core::Answers(400);
    scalar02: Invalid, Core::Drops;
    scalarlg: Invalid, Core::Drops;
    quotbal: Invalid, Core::Call, "rsipstack parses the unterminated quote in To; the core never checks display names";
    ltgtruri: Invalid, Core::Answers(400);
    lwsruri: Invalid, Core::Drops;
    lwsstart: Invalid, Core::Drops;
    trws: Invalid, Core::Answers(200), "rsipstack accepts trailing whitespace after SIP/2.0 in the request line";
    escruri: Invalid, Core::Answers(400);
    baddate: Invalid, Core::Call, "the core never reads Date, so an EST date changes nothing; RFC 4475 lets such an element accept it";
    regbadct: Invalid, Core::Answers(401), "REGISTER is challenged before its Contact is read; with credentials wire::contact decides";
    badaspec: Invalid, Core::Answers(200), "the spaces inside To's <...> are tolerated by rsipstack; OPTIONS reads nothing else";
    baddn: Invalid, Core::Drops;
    badvers: Invalid, Core::Answers(400);
    mismatch01: Invalid, Core::Answers(400);
    mismatch02: Invalid, Core::Drops;
    bigcode: Invalid, Core::Drops;

    // §3.2 transaction layer.
    badbranch: Transaction, Core::Answers(200);

    // §3.3 application layer.
    insuf: Application, Core::Drops;
    unkscm: Application, Core::Answers(200), "RFC 4475 asks 416 for an unknown Request-URI scheme; OPTIONS is answered 200 regardless";
    novelsc: Application, Core::Answers(200), "RFC 4475 asks 416 (soap.beep scheme); OPTIONS is answered 200 regardless";
    unksm2: Application, Core::Answers(401), "RFC 4475 asks 416 for the To scheme; REGISTER is challenged first";
    bext01: Application, Core::Answers(200), "RFC 4475 asks 420 for Require: nothingyet; the core does not check Require";
    invut: Application, Core::Call, "RFC 4475 asks 415 for an unknown Content-Type; the body goes to the agent's phone as it is";
    regaut01: Application, Core::Answers(401);
    multi01: Application, Core::Answers(400);
    mcl01: Application, Core::Answers(400);
    bcast: Application, Core::Drops;
    zeromf: Application, Core::Answers(200);
    cparam01: Application, Core::Answers(401);
    cparam02: Application, Core::Answers(401);
    regescrt: Application, Core::Answers(401);
    sdp01: Application, Core::Call, "RFC 4475 allows 406 or 400 (Accept lacks application/sdp); the core does not read Accept";

    // §3.4 backward compatibility.
    inv2543: Compat, Core::Answers(400), "no branch in Via: the core keeps no RFC 2543 transactions (see longreq)";
}

const GOOD: &str = "z9hG4bK-prop";

/// One kind of damage to a message.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    DuplicateLine(usize),
    DeleteLine(usize),
}

fn damage(mut data: Vec<u8>, d: &Damage) -> Vec<u8> {
    let lines = |data: &[u8]| data.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect::<Vec<_>>();
    match d {
        Damage::Truncate(n) => data.truncate(n % (data.len() + 1)),
        Damage::Flip(i, b) if !data.is_empty() => {
            let i = i % data.len();
            data[i] ^= b | 1;
        }
        Damage::Flip(..) => {}
        Damage::DuplicateLine(i) | Damage::DeleteLine(i) => {
            let mut ls = lines(&data);
            if !ls.is_empty() {
                let i = i % ls.len();
                if matches!(d, Damage::DuplicateLine(_)) {
                    let l = ls[i].clone();
                    ls.insert(i, l);
                } else {
                    ls.remove(i);
                }
            }
            data = ls.concat();
        }
    }
    data
}

fn any_damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        any::<usize>().prop_map(Damage::DuplicateLine),
        any::<usize>().prop_map(Damage::DeleteLine),
    ]
}

/// Feeds `inputs` (source, bytes), lets all timers run out with nobody
/// answering, and checks the core is left with nothing alive: every call
/// it started ended exactly once with nothing after, no agent is busy or
/// released twice, and the ended calls are forgotten.
fn survives(inputs: &[(Peer, Vec<u8>)]) -> Result<(), TestCaseError> {
    let mut sim = Sim::new();
    let mut outs = Vec::new();
    for (peer, data) in inputs {
        outs.extend(sim.bytes_from(*peer, data).0);
    }
    outs.extend(sim.run_for(Duration::seconds(200), Duration::seconds(1)).0);
    let outs = Outs(outs);
    prop_assert_eq!(sim.core.stats().active, 0);
    prop_assert_eq!(sim.core.stats_light().active, 0, "ended calls are forgotten");
    prop_assert_eq!(sim.host.busy(), 0);
    prop_assert!(sim.host.bad_releases.is_empty());
    let mut keys: Vec<_> = outs.events().into_iter().map(|e| e.key).collect();
    keys.dedup();
    for key in keys {
        let kinds: Vec<_> = outs.events().into_iter().filter(|e| e.key == key).map(|e| e.kind).collect();
        let ends = kinds.iter().filter(|k| matches!(k, EventKind::Ended { .. })).count();
        prop_assert_eq!(ends, 1, "{:?}", kinds);
        prop_assert!(matches!(kinds.last(), Some(EventKind::Ended { .. })), "nothing after Ended: {:?}", kinds);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_from_anywhere_never_panic_nor_leave_a_call_alive(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        survives(&[(udp(CARRIER), data.clone()), (udp(AGENT1), data.clone()), (udp(STRANGER), data)])?;
    }

    #[test]
    fn a_damaged_invite_never_panics_nor_leaves_a_call_alive(damages in proptest::collection::vec(any_damage(), 1..4), repeat in any::<bool>()) {
        let data = damages.iter().fold(invite("prop@carrier", GOOD).into_bytes(), damage);
        let mut inputs = vec![(udp(CARRIER), data.clone())];
        if repeat {
            inputs.push((udp(CARRIER), data));
        }
        inputs.push((udp(CARRIER), carrier_cancel("prop@carrier", GOOD).into_bytes()));
        survives(&inputs)?;
    }

    #[test]
    fn a_damaged_invite_with_the_good_one_after_it_never_panics_nor_leaves_a_call_alive(damages in proptest::collection::vec(any_damage(), 1..4)) {
        let data = damages.iter().fold(invite("prop@carrier", GOOD).into_bytes(), damage);
        survives(&[(udp(CARRIER), data), (udp(CARRIER), invite("prop@carrier", "z9hG4bK-good2").into_bytes())])?;
    }
}

#[test]
fn the_good_invite_the_damage_starts_from_makes_a_call() {
    let mut sim = Sim::new();
    assert_eq!(sim.carrier(&invite("prop@carrier", GOOD)).codes_to(CARRIER), vec![100, 180]);
}
