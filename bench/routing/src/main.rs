//! bench/routing: the routing engine (`dialtone_routing::engine`) under a
//! contact-centre load — 10,000 agents, 1,000 queues, 200 skills, a mix of
//! presence — and the same workload through `Strategy::Scan` (every agent
//! looked at for every decision) in the same run, so the figure is a ratio.
//!
//! The workload is a simulation on a virtual clock: items arrive in random
//! queues with 0–2 of the queue's skills required (one of them relaxable),
//! offered agents accept (9 in 10) or decline, accepted items complete after
//! 30–300 virtual seconds, agents change presence. Every engine call is timed
//! with `Instant`; a call's time counts as decision latency when it made
//! exactly one offer. Prints figures and `BENCH <name> <value> <unit>` lines;
//! no assertion on time. See BENCHMARKS.md.

use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use dialtone_routing::engine::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Opts {
    agents: usize,
    queues: usize,
    skills: usize,
    items: usize,
    naive_items: usize,
    seed: u64,
    rate: u64,
}

fn opts() -> Opts {
    let mut o = Opts { agents: 10_000, queues: 1_000, skills: 200, items: 200_000, naive_items: 20_000, seed: 7, rate: 120 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let v = || pair.get(1).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{} needs a number", pair[0]));
        match pair[0].as_str() {
            "--agents" => o.agents = v() as usize,
            "--queues" => o.queues = v() as usize,
            "--skills" => o.skills = v() as usize,
            "--items" => o.items = v() as usize,
            "--naive-items" => o.naive_items = v() as usize,
            "--seed" => o.seed = v(),
            "--rate" => o.rate = v(),
            other => panic!("unknown option {other} (--agents --queues --skills --items --naive-items --seed --rate)"),
        }
    }
    o
}

struct World {
    e: Engine,
    statuses: Vec<StatusId>,
    queues: Vec<QueueId>,
    queue_skills: Vec<Vec<SkillId>>,
    agents: Vec<AgentRef>,
}

const T0: OffsetDateTime = time::macros::datetime!(2026-12-01 09:00 UTC);

/// Presence mix: Available – All 50%, Available – Voice 15%, Busy 10%, After Call Work 5%, Offline 20%.
fn pick_status(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..50 => 0,
        50..65 => 1,
        65..75 => 2,
        75..80 => 3,
        _ => 4,
    }
}

fn build(o: &Opts, strategy: Strategy) -> World {
    let mut rng = Rng(o.seed | 1);
    let mut e = Engine::new(strategy);
    let voice = e.add_channel("voice", 5).unwrap();
    let case = e.add_channel("case", 3).unwrap();
    let chat = e.add_channel("chat", 2).unwrap();
    let channels = [voice, case, chat];
    let statuses = vec![
        e.add_status("Available - All", &channels).unwrap(),
        e.add_status("Available - Voice", &[voice]).unwrap(),
        e.add_status("Busy", &[]).unwrap(),
        e.add_status("After Call Work", &[]).unwrap(),
        e.add_status("Offline", &[]).unwrap(),
    ];
    let skills: Vec<SkillId> = (0..o.skills).map(|i| e.add_skill(&format!("skill {i}"))).collect();
    let models = [RoutingModel::MostAvailable, RoutingModel::LeastActive, RoutingModel::LongestIdle];
    let mut queues = Vec::with_capacity(o.queues);
    let mut queue_skills = Vec::with_capacity(o.queues);
    for i in 0..o.queues {
        // One in five queues overflows into an earlier one; the others to voicemail or a callback.
        let to = if i > 0 && rng.chance(20) {
            OverflowTarget::Queue(queues[rng.below(i as u64) as usize])
        } else if rng.chance(50) {
            OverflowTarget::Voicemail
        } else {
            OverflowTarget::Callback
        };
        let def = QueueDef {
            name: format!("queue {i}"),
            channel: channels[i % 3],
            priority: 1 + rng.below(3) as u8,
            model: models[i % 3],
            units: None,
            push_timeout: Duration::seconds(20),
            overflow: Some(Overflow { after: Duration::seconds(120 + rng.below(480) as i64), to }),
            when_nobody_signed_in: Some(OverflowTarget::Voicemail),
            hours: None,
        };
        queues.push(e.add_queue(def).unwrap());
        queue_skills.push((0..3).map(|_| skills[rng.below(o.skills as u64) as usize]).collect::<Vec<_>>());
    }
    let mut agents = Vec::with_capacity(o.agents);
    for i in 0..o.agents {
        let mine: Vec<usize> = (0..5).map(|_| rng.below(o.queues as u64) as usize).collect();
        let mut sk: Vec<(SkillId, u8)> = Vec::new();
        for &q in &mine {
            for &s in &queue_skills[q] {
                if rng.chance(70) {
                    sk.push((s, 1 + rng.below(5) as u8));
                }
            }
        }
        for _ in 0..2 {
            sk.push((skills[rng.below(o.skills as u64) as usize], 1 + rng.below(5) as u8));
        }
        let user = AgentId::new(SalesforceId::new("005", i as u64 + 1)).unwrap();
        let def = AgentDef {
            user,
            status: statuses[pick_status(&mut rng)],
            capacity: 10,
            channel_caps: vec![(voice, 5)],
            skills: sk,
            queues: mine.iter().map(|q| queues[*q]).collect(),
        };
        agents.push(e.add_agent(T0, def).unwrap());
    }
    World { e, statuses, queues, queue_skills, agents }
}

/// Every input the driver makes is valid; an error is a bug in the engine or the driver.
trait Checked {
    fn check(self);
}
impl Checked for () {
    fn check(self) {}
}
impl Checked for Result<(), InputError> {
    fn check(self) {
        self.expect("the engine refused a valid input");
    }
}

#[derive(Default)]
struct Run {
    offers: u64,
    calls: u64,
    engine_ns: u128,
    one_offer_ns: Vec<u64>,
    /// Every call, whatever it decided (offers, no candidate, overflow, nothing).
    all_ns: Vec<u64>,
    wall_s: f64,
    outcomes: [u64; 4], // accepted, overflowed, abandoned, callback offers
    waiting_at_end: usize,
    /// The slowest call: ns, which input, decisions it made, its number.
    slowest: (u64, &'static str, usize, u64),
    virtual_s: i64,
}

fn simulate(w: &mut World, o: &Opts, items: usize) -> Run {
    let mut rng = Rng(o.seed.wrapping_mul(31) | 1);
    let mut r = Run::default();
    let mut completions: BinaryHeap<Reverse<(i64, u64)>> = BinaryHeap::new();
    let mut now = T0;
    let mut next_id = 1u64;
    let mut pending: Vec<Decision> = Vec::new();
    let start = Instant::now();
    macro_rules! timed {
        ($call:expr) => {{
            let t = Instant::now();
            let v = $call;
            let ns = t.elapsed().as_nanos();
            Checked::check(v);
            r.engine_ns += ns;
            r.calls += 1;
            let before = pending.len();
            while let Some(d) = w.e.next_decision() {
                pending.push(d);
            }
            let offers = pending[before..].iter().filter(|d| matches!(d, Decision::Offer { .. })).count();
            r.offers += offers as u64;
            if offers == 1 {
                r.one_offer_ns.push(ns as u64);
            }
            r.all_ns.push(ns as u64);
            if ns as u64 >= r.slowest.0 {
                r.slowest = (ns as u64, stringify!($call), pending.len() - before, r.calls);
            }
        }};
    }
    let per_second = o.rate;
    while (next_id as usize) <= items {
        now += Duration::seconds(1);
        timed!(w.e.poll(now));
        for _ in 0..per_second {
            if next_id as usize > items {
                break;
            }
            let qi = rng.below(w.queues.len() as u64) as usize;
            let mut requirements = Vec::new();
            for (k, s) in w.queue_skills[qi].iter().enumerate().take(rng.below(3) as usize) {
                requirements.push(Requirement { skill: *s, level: 1 + rng.below(3) as u8, relax_after: (k == 1).then(|| Duration::seconds(30)) });
            }
            let item = WorkItem { id: WorkItemId(next_id), queue: w.queues[qi], requirements };
            next_id += 1;
            timed!(w.e.enqueue(now, item));
        }
        for _ in 0..10 {
            let a = w.agents[rng.below(w.agents.len() as u64) as usize];
            let s = w.statuses[pick_status(&mut rng)];
            timed!(w.e.agent_presence(now, a, s));
        }
        let t = (now - T0).whole_seconds();
        while let Some(Reverse((due, id))) = completions.peek().copied() {
            if due > t {
                break;
            }
            completions.pop();
            timed!(w.e.complete(now, WorkItemId(id)));
            // As a server would once the record is written: finished items are dropped.
            w.e.forget(WorkItemId(id));
        }
        // Agents answer what they were offered.
        let mut i = 0;
        while i < pending.len() {
            let d = pending[i].clone();
            i += 1;
            match d {
                Decision::Offer { item, agent, callback } => {
                    // Withdrawn since (the agent changed presence, or the caller hung up)?
                    if !matches!(w.e.state(item), Some(ItemState::Offered { agent: a, .. }) if a == agent) {
                        continue;
                    }
                    if rng.chance(90) {
                        timed!(w.e.accept(now, item, agent));
                        completions.push(Reverse((t + 30 + rng.below(270) as i64, item.0)));
                        r.outcomes[if callback { 3 } else { 0 }] += 1;
                    } else {
                        timed!(w.e.decline(now, item, agent));
                    }
                }
                Decision::Overflowed { item, to: OverflowTarget::Voicemail, .. } => {
                    r.outcomes[1] += 1;
                    w.e.forget(item);
                }
                _ => {}
            }
        }
        pending.clear();
        // A few callers hang up while waiting.
        for _ in 0..2 {
            let id = WorkItemId(1 + rng.below(next_id));
            if matches!(w.e.state(id), Some(ItemState::Waiting { callback: false, .. })) {
                timed!(w.e.abandon(now, id));
                r.outcomes[2] += 1;
                w.e.forget(id);
            }
        }
    }
    r.wall_s = start.elapsed().as_secs_f64();
    r.waiting_at_end = w.queues.iter().map(|q| w.e.waiting(*q).count()).sum();
    r.virtual_s = (now - T0).whole_seconds();
    r
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i] as f64 / 1000.0
}

fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |k: &str| s.lines().find(|l| l.starts_with(k)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

struct Figures {
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
}

fn report(name: &str, r: &mut Run) -> Figures {
    let rate = r.offers as f64 / (r.engine_ns as f64 / 1e9);
    let n = r.one_offer_ns.len();
    let p50 = pct(&mut r.one_offer_ns, 0.50);
    let p99 = pct(&mut r.one_offer_ns, 0.99);
    let max = pct(&mut r.one_offer_ns, 1.0);
    println!(
        "{name}: {} decisions (offers) in {} engine calls, {:.3} s in the engine, {:.3} s wall with the driver; {rate:.0} decisions/s; one-offer calls: {n}, p50 {p50:.2} µs, p99 {p99:.2} µs, max {max:.1} µs",
        r.offers,
        r.calls,
        r.engine_ns as f64 / 1e9,
        r.wall_s
    );
    println!(
        "{name}: over {} virtual s: accepted {} (callbacks {}), to voicemail {}, abandoned {}, waiting at the end {}",
        r.virtual_s, r.outcomes[0], r.outcomes[3], r.outcomes[1], r.outcomes[2], r.waiting_at_end
    );
    let (a50, a99, a999) = (pct(&mut r.all_ns, 0.50), pct(&mut r.all_ns, 0.99), pct(&mut r.all_ns, 0.999));
    println!("{name}: every engine call: p50 {a50:.2} µs, p99 {a99:.2} µs, p99.9 {a999:.2} µs");
    let (ns, call, decisions, nth) = r.slowest;
    println!("{name}: slowest call: {:.1} µs, {call}, {decisions} decisions, call {nth} of {}", ns as f64 / 1000.0, r.calls);
    Figures { rate, p50, p99, max }
}

fn main() {
    let o = opts();
    println!("routing-bench {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    println!(
        "machine: {} cpus, load {} at start; {} agents, {} queues, {} skills; {} items/virtual s; {} items (engine), {} items (scan)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load(),
        o.agents,
        o.queues,
        o.skills,
        o.rate,
        o.items,
        o.naive_items
    );
    let (rss0, _) = rss();
    let t = Instant::now();
    let mut w = build(&o, Strategy::Indexed);
    let (rss1, _) = rss();
    println!("engine: built in {:.2} s; RSS {:.1} MiB (+{:.1} MiB for the engine)", t.elapsed().as_secs_f64(), rss1 as f64 / 1024.0, (rss1 - rss0) as f64 / 1024.0);
    let mut ri = simulate(&mut w, &o, o.items);
    let (rss2, hwm2) = rss();
    let fi = report("engine", &mut ri);
    println!("engine: RSS {:.1} MiB after the run (peak {:.1} MiB)", rss2 as f64 / 1024.0, hwm2 as f64 / 1024.0);
    drop(w);
    let mut ws = build(&o, Strategy::Scan);
    let mut rs = simulate(&mut ws, &o, o.naive_items);
    let fs = report("scan", &mut rs);
    // The same prefix of the workload, through the engine again, so both counts are like for like.
    let mut w2 = build(&o, Strategy::Indexed);
    let mut rp = simulate(&mut w2, &o, o.naive_items);
    let fp = report("engine, scan's prefix", &mut rp);
    println!("same prefix ({} items): engine {:.0}/s vs scan {:.0}/s = {:.1}x; p50 {:.2} vs {:.2} µs; p99 {:.2} vs {:.2} µs = {:.1}x", o.naive_items, fp.rate, fs.rate, fp.rate / fs.rate, fp.p50, fs.p50, fp.p99, fs.p99, fs.p99 / fp.p99);
    println!("targets: p99 < 50 µs: {}; >= 50,000 decisions/s: {}", if fi.p99 < 50.0 { "met" } else { "MISSED" }, if fi.rate >= 50_000.0 { "met" } else { "MISSED" });
    println!("load {} at end", load());
    println!("BENCH routing_decisions_per_s {:.0} 1/s", fi.rate);
    println!("BENCH routing_p50 {:.3} us", fi.p50);
    println!("BENCH routing_p99 {:.3} us", fi.p99);
    println!("BENCH routing_max {:.3} us", fi.max);
    println!("BENCH routing_rss_after {:.1} MiB", rss2 as f64 / 1024.0);
    println!("BENCH scan_decisions_per_s {:.0} 1/s", fs.rate);
    println!("BENCH scan_p99 {:.3} us", fs.p99);
    println!("BENCH ratio_rate {:.2} x", fp.rate / fs.rate);
    println!("BENCH ratio_p99 {:.2} x", fs.p99 / fp.p99);
}
