//! `dialtone simulate`: a demo call generator. It plans realistic inbound and
//! outbound calls (answered, held, transferred, abandoned, voicemail, no
//! answer, busy) from a seed, then plays them against a running server's
//! `POST /api/calls/events` on a compressed clock, so the calls go through
//! the same call desk as a carrier's. Callers are partly the org's Contacts
//! (found with SOQL through the API, so screen pops match) and partly random
//! numbers; agents are the call center's users.
//!
//! The simulated clock starts now and runs `--speed` times faster than the
//! wall clock: event times (and so call start and end times) are simulated
//! times, which run ahead of the wall clock during a long run.

use crate::cli::SimulateArgs;
use crate::remote::Api;
use crate::{Failure, input};
use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The number callers dial and outbound calls come from.
const COMPANY_NUMBER: &str = "+18005550100";
const QUEUES: &[&str] = &["Support", "Sales", "Billing"];
/// Most events sent in one request.
const BATCH: usize = 500;

/// How one simulated call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Answered,
    Held,
    Transferred,
    Abandoned,
    Voicemail,
    OutboundAnswered,
    OutboundNoAnswer,
    OutboundBusy,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Held => "answered, held",
            Outcome::Transferred => "answered, transferred",
            Outcome::Abandoned => "abandoned",
            Outcome::Voicemail => "voicemail",
            Outcome::OutboundAnswered => "outbound, answered",
            Outcome::OutboundNoAnswer => "outbound, no answer",
            Outcome::OutboundBusy => "outbound, busy",
        }
    }
}

/// What the org offers the simulation: who calls and who answers.
#[derive(Debug, Clone, Default)]
pub struct Cast {
    pub call_center: Option<String>,
    /// User ids of the call center's agents.
    pub agents: Vec<String>,
    /// Contacts' phone numbers, as written.
    pub numbers: Vec<String>,
}

/// One event of the plan: simulated seconds from the start, the call it
/// belongs to (index into the plan's calls), and the event without its `at`.
#[derive(Debug, Clone)]
pub struct Planned {
    pub offset: f64,
    pub call: usize,
    pub event: Value,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub outcomes: Vec<Outcome>,
    /// Ordered by offset.
    pub events: Vec<Planned>,
    /// Legs created by transfers (each a VoiceCall of its own).
    pub transfer_legs: usize,
}

/// Plans `calls` calls arriving at `rate` a simulated minute. Pure: the same
/// seed and cast give the same plan (apart from `run`, which keeps keys unique).
pub fn plan(calls: u32, rate: f64, seed: u64, run: &str, cast: &Cast) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut free_at = vec![0.0_f64; cast.agents.len()];
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    let mut transfer_legs = 0;
    let mut t = 0.0_f64;
    for n in 0..calls as usize {
        // Poisson arrivals.
        t += -(1.0 - rng.random::<f64>()).ln() * 60.0 / rate;
        let key = format!("SIM-{run}-{n:05}");
        let mut out = Call { key: key.clone(), seq: 0, call: n, events: &mut events };
        let caller = if !cast.numbers.is_empty() && rng.random_bool(0.6) {
            cast.numbers[rng.random_range(0..cast.numbers.len())].clone()
        } else {
            random_number(&mut rng)
        };
        let have_agents = !cast.agents.is_empty();
        let outcome = pick(&mut rng, have_agents, cast.agents.len() > 1);
        outcomes.push(outcome);
        let mut agent = |rng: &mut StdRng, busy_until: f64, not: Option<usize>| -> usize {
            // The agent free soonest (ties broken at random); agents may take
            // more than one call when the simulation outpaces them.
            let mut best: Option<usize> = None;
            let start = rng.random_range(0..free_at.len());
            for i in (0..free_at.len()).map(|i| (i + start) % free_at.len()) {
                if Some(i) != not && best.is_none_or(|b| free_at[i] < free_at[b]) {
                    best = Some(i);
                }
            }
            let b = best.expect("at least one agent");
            free_at[b] = busy_until + 30.0; // after-call work
            b
        };
        let outbound = matches!(outcome, Outcome::OutboundAnswered | Outcome::OutboundNoAnswer | Outcome::OutboundBusy);
        let mut initiated = json!({"kind": "initiated", "direction": if outbound { "outbound" } else { "inbound" },
            "from": if outbound { COMPANY_NUMBER.to_string() } else { caller.clone() },
            "to": if outbound { caller.clone() } else { COMPANY_NUMBER.to_string() }});
        if let Some(cc) = &cast.call_center {
            initiated["callCenter"] = json!(cc);
        }
        out.push(t, initiated);
        if outbound {
            out.push(t + 1.0, json!({"kind": "ringing"}));
            match outcome {
                Outcome::OutboundBusy => out.push(t + 3.0, json!({"kind": "ended", "reason": "busy"})),
                Outcome::OutboundNoAnswer => out.push(t + 30.0, json!({"kind": "ended", "reason": "noAnswer"})),
                _ => {
                    let answer = t + rng.random_range(5.0..25.0);
                    let end = answer + talk(&mut rng);
                    let a = agent(&mut rng, end, None);
                    out.push(answer, json!({"kind": "answered", "agent": cast.agents[a]}));
                    out.push(end, json!({"kind": "ended", "reason": "agentDisconnect"}));
                    maybe_record(&mut rng, &mut out, &key, end, end - answer);
                }
            }
            continue;
        }
        out.push(t + 1.0, json!({"kind": "queued", "queue": QUEUES[rng.random_range(0..QUEUES.len())]}));
        // Queue waits are mostly short, sometimes long.
        let wait = 5.0 + 85.0 * rng.random::<f64>().powi(2);
        match outcome {
            Outcome::Abandoned => {
                let patience = rng.random_range(10.0..120.0);
                out.push(t + 1.0 + patience, json!({"kind": "ended", "reason": "customerDisconnect"}));
            }
            Outcome::Voicemail => {
                let at = t + 1.0 + wait.max(30.0);
                out.push(at, json!({"kind": "voicemail", "url": format!("https://recordings.dialtone.invalid/simulated/{key}-vm.wav")}));
                out.push(at + rng.random_range(15.0..60.0), json!({"kind": "ended", "reason": "voicemail"}));
            }
            _ => {
                let answer = t + 1.0 + wait;
                let mut talked = talk(&mut rng);
                let hold = if outcome == Outcome::Held { rng.random_range(15.0..120.0) } else { 0.0 };
                let mut end = answer + talked + hold;
                let a = agent(&mut rng, end, None);
                out.push(answer - 4.0, json!({"kind": "offered", "agent": cast.agents[a]}));
                out.push(answer, json!({"kind": "offerResult", "agent": cast.agents[a], "result": "accepted"}));
                out.push(answer, json!({"kind": "answered", "agent": cast.agents[a]}));
                if outcome == Outcome::Held {
                    let held = answer + talked * 0.4;
                    out.push(held, json!({"kind": "held"}));
                    out.push(held + hold, json!({"kind": "resumed"}));
                }
                if outcome == Outcome::Transferred {
                    // The first agent hands the caller to a colleague: a new leg.
                    talked *= 0.5;
                    end = answer + talked;
                    let leg_end = end + 1.0 + talk(&mut rng);
                    let b = agent(&mut rng, leg_end, Some(a));
                    let leg = format!("{key}-T");
                    out.push(end, json!({"kind": "transferred", "target": "agent", "to": cast.agents[b], "newLeg": leg}));
                    let mut second = Call { key: leg, seq: 0, call: n, events: &mut *out.events };
                    second.push(end + 1.0, json!({"kind": "answered", "agent": cast.agents[b]}));
                    second.push(leg_end, json!({"kind": "ended", "reason": "customerDisconnect"}));
                    transfer_legs += 1;
                } else {
                    let reason = if rng.random_bool(0.7) { "customerDisconnect" } else { "agentDisconnect" };
                    out.push(end, json!({"kind": "ended", "reason": reason}));
                    maybe_record(&mut rng, &mut out, &key, end, talked);
                }
            }
        }
    }
    // A stable sort keeps each call's events in sequence at equal times.
    events.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    Plan { outcomes, events, transfer_legs }
}

/// Appends one call leg's events with its sequence numbers.
struct Call<'a> {
    key: String,
    seq: u64,
    call: usize,
    events: &'a mut Vec<Planned>,
}

impl Call<'_> {
    fn push(&mut self, offset: f64, mut event: Value) {
        self.seq += 1;
        event["vendorCallKey"] = json!(self.key);
        event["seq"] = json!(self.seq);
        self.events.push(Planned { offset, call: self.call, event });
    }
}

fn maybe_record(rng: &mut StdRng, out: &mut Call<'_>, key: &str, end: f64, seconds: f64) {
    if rng.random_bool(0.5) {
        out.push(
            end + 2.0,
            json!({"kind": "recording", "recording": format!("RE{key}"), "url": format!("https://recordings.dialtone.invalid/simulated/{key}.wav"), "durationSeconds": seconds.round() as u64}),
        );
    }
}

/// Talk time in seconds: mostly a few minutes, now and then long.
fn talk(rng: &mut StdRng) -> f64 {
    (-(1.0 - rng.random::<f64>()).ln() * 240.0).clamp(20.0, 1500.0)
}

fn pick(rng: &mut StdRng, agents: bool, colleagues: bool) -> Outcome {
    if !agents {
        return if rng.random_bool(0.5) { Outcome::Abandoned } else { Outcome::Voicemail };
    }
    let table: &[(Outcome, u32)] = &[
        (Outcome::Answered, 32),
        (Outcome::Held, 10),
        (Outcome::Transferred, if colleagues { 8 } else { 0 }),
        (Outcome::Abandoned, 12),
        (Outcome::Voicemail, 8),
        (Outcome::OutboundAnswered, 18),
        (Outcome::OutboundNoAnswer, 8),
        (Outcome::OutboundBusy, 4),
    ];
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (o, w) in table {
        if x < *w {
            return *o;
        }
        x -= w;
    }
    Outcome::Answered
}

/// A fictional North American number (555-01xx).
fn random_number(rng: &mut StdRng) -> String {
    const AREAS: &[u32] = &[212, 312, 415, 503, 617, 646, 720, 808];
    format!("+1{}55501{:02}", AREAS[rng.random_range(0..AREAS.len())], rng.random_range(0..100))
}

/// The simulator's one write: a batch of call events.
fn send(api: &Api, events: &[Value]) -> Result<(), Failure> {
    api.post("sending call events", "/api/calls/events", &Value::Array(events.to_vec())).map(|_| ())
}

/// Finds the call center, its agents and the Contacts' numbers.
fn cast(api: &Api, call_center: Option<&str>) -> Result<Cast, Failure> {
    let centers = match call_center {
        Some(name) => {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(input(format!("{name:?} is not a call center's internal name (letters, digits, _)")));
            }
            let found = api.query(&format!("SELECT Id, InternalName FROM CallCenter WHERE InternalName = '{name}'"))?;
            if found.is_empty() {
                return Err(input(format!("no call center named {name} on the server (`dialtone callcenter list`)")));
            }
            found
        }
        None => api.query("SELECT Id, InternalName FROM CallCenter ORDER BY InternalName LIMIT 1")?,
    };
    let mut cast = Cast::default();
    if let Some(cc) = centers.first() {
        let id = cc["Id"].as_str().context("a call center without Id")?;
        cast.call_center = cc["InternalName"].as_str().map(str::to_string);
        let agents = api.query(&format!("SELECT Id FROM User WHERE CallCenterId = '{id}' AND IsActive = true ORDER BY Username"))?;
        cast.agents = agents.iter().filter_map(|u| u["Id"].as_str().map(str::to_string)).collect();
    }
    let contacts = api.query("SELECT Phone, MobilePhone FROM Contact WHERE Phone != null ORDER BY Id LIMIT 500")?;
    for c in contacts {
        for f in ["Phone", "MobilePhone"] {
            if let Some(n) = c[f].as_str().filter(|n| !n.is_empty()) {
                cast.numbers.push(n.to_string());
            }
        }
    }
    Ok(cast)
}

pub async fn run(args: SimulateArgs) -> Result<ExitCode, Failure> {
    if !(args.rate > 0.0 && args.rate <= 100_000.0) {
        return Err(input(format!("--rate {} is not between 0 and 100000 calls a simulated minute", args.rate)));
    }
    if !(args.speed >= 1.0 && args.speed <= 1_000_000.0) {
        return Err(input(format!("--speed {} is not between 1 and 1000000", args.speed)));
    }
    if args.calls == 0 || args.calls > 1_000_000 {
        return Err(input("--calls is between 1 and 1000000"));
    }
    let api = Api::new(&args.server, &args.token, args.insecure)?;
    tokio::task::spawn_blocking(move || simulate(&api, &args)).await.map_err(|e| Failure::Runtime(anyhow!("the simulator stopped: {e}")))?
}

fn simulate(api: &Api, args: &SimulateArgs) -> Result<ExitCode, Failure> {
    let cast = cast(api, args.call_center.as_deref())?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let run = format!("{:x}", OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000);
    let plan = plan(args.calls, args.rate, seed, &run, &cast);
    match &cast.call_center {
        Some(cc) if cast.agents.is_empty() => eprintln!("warning: call center {cc} has no agents: every call goes unanswered (`dialtone callcenter assign`)"),
        Some(cc) => eprintln!("simulating {} calls in call center {cc} with {} agent(s), {} known caller number(s); seed {seed}", args.calls, cast.agents.len(), cast.numbers.len()),
        None => eprintln!("warning: no call center on the server: every call goes unanswered (`dialtone callcenter import`)"),
    }

    // How many events each call still has to send, to count calls as they finish.
    let mut remaining = vec![0usize; plan.outcomes.len()];
    for e in &plan.events {
        remaining[e.call] += 1;
    }
    let bar = ProgressBar::new(plan.outcomes.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} calls {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let sim_start = OffsetDateTime::now_utc();
    let mut sent = 0;
    while sent < plan.events.len() {
        let now_sim = started.elapsed().as_secs_f64() * args.speed;
        let next = plan.events[sent].offset;
        if next > now_sim {
            std::thread::sleep(Duration::from_secs_f64(((next - now_sim) / args.speed).min(0.2)));
            continue;
        }
        let mut batch = Vec::new();
        while sent < plan.events.len() && plan.events[sent].offset <= now_sim && batch.len() < BATCH {
            let p = &plan.events[sent];
            let mut e = p.event.clone();
            let at = sim_start + time::Duration::seconds_f64(p.offset);
            e["at"] = json!(at.format(&time::format_description::well_known::Rfc3339).context("formatting a time")?);
            batch.push(e);
            remaining[p.call] -= 1;
            if remaining[p.call] == 0 {
                bar.inc(1);
            }
            sent += 1;
        }
        if let Err(e) = send(api, &batch) {
            bar.abandon();
            return Err(e);
        }
        bar.set_message(format!("simulated clock +{}m", (now_sim / 60.0) as u64));
    }
    bar.finish_and_clear();

    let mut by: BTreeMap<Outcome, usize> = BTreeMap::new();
    for o in &plan.outcomes {
        *by.entry(*o).or_default() += 1;
    }
    println!(
        "simulated {} calls ({} transfer legs, {} events) in {:.1}s, seed {seed}",
        plan.outcomes.len(),
        plan.transfer_legs,
        plan.events.len(),
        started.elapsed().as_secs_f64()
    );
    for (o, n) in by {
        println!("  {:<24} {n:>6}", o.label());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast() -> Cast {
        Cast { call_center: Some("CC".into()), agents: vec!["005A".into(), "005B".into()], numbers: vec!["(415) 555-0142".into()] }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_every_call_ends() {
        let a = plan(200, 20.0, 7, "r", &cast());
        let b = plan(200, 20.0, 7, "r", &cast());
        assert_eq!(a.outcomes, b.outcomes);
        assert_eq!(a.events.len(), b.events.len());
        for leg in a.events.iter().filter_map(|e| e.event["vendorCallKey"].as_str()).collect::<std::collections::BTreeSet<_>>() {
            let kinds: Vec<&str> = a.events.iter().filter(|e| e.event["vendorCallKey"] == leg).filter_map(|e| e.event["kind"].as_str()).collect();
            assert!(kinds.contains(&"ended") || kinds.contains(&"transferred"), "{leg}: {kinds:?}");
            let seqs: Vec<u64> = a.events.iter().filter(|e| e.event["vendorCallKey"] == leg).filter_map(|e| e.event["seq"].as_u64()).collect();
            let mut unique = seqs.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), seqs.len(), "{leg}: sequence numbers are unique per leg");
        }
        let kinds: std::collections::BTreeSet<_> = a.outcomes.iter().collect();
        assert!(kinds.len() >= 6, "a mix of outcomes: {kinds:?}");
    }

    #[test]
    fn without_agents_every_call_goes_unanswered() {
        let p = plan(50, 20.0, 1, "r", &Cast::default());
        assert!(p.outcomes.iter().all(|o| matches!(o, Outcome::Abandoned | Outcome::Voicemail)));
        assert!(p.events.iter().all(|e| e.event.get("callCenter").is_none()));
    }
}
