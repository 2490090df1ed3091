//! bench/routing service-bench: what the routing *service* (the layer every
//! edge calls: call keys, user ids, names, outputs) costs per call on top of
//! the bare engine, at 10,000 agents in 100 call centers.
//!
//! Each call does what a SIP call does to routing: arrive + route (an offer),
//! the answer (observe), the end (call_ended) — through `service::Routing`;
//! the reference in the same run does the same four steps straight on the
//! `engine::Engine` (enqueue, next_decision, accept, complete). Calls are
//! placed while half the agents are on calls, so every decision has real
//! work. Prints per-call latency (p50/p99) and calls/s for both and the
//! ratio; no assertion on time. Usage: service-bench [--agents N] [--calls N]

use dialtone_calls::{AgentId, CallEvent, EventKind, Provider, VendorCallKey};
use dialtone_model::SalesforceId;
use dialtone_routing::engine::{AgentDef, Decision, Engine, QueueDef, RoutingModel, Strategy, WorkItem, WorkItemId};
use dialtone_routing::service::{AgentInfo, Arrival, CallCenterInfo, Routed, Routing};
use dialtone_routing::spec::RoutingSpec;
use dialtone_routing::Presence;
use std::time::Instant;
use time::{Duration, OffsetDateTime};

const CENTERS: usize = 100;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn report(name: &str, lat: &mut [f64], secs: f64) -> (f64, f64, f64) {
    let rate = lat.len() as f64 / secs;
    let (p50, p99) = (pct(lat, 0.50), pct(lat, 0.99));
    println!("{name}: {} calls in {secs:.2} s = {rate:.0} calls/s; per call p50 {p50:.2} µs, p99 {p99:.2} µs", lat.len());
    (rate, p50, p99)
}

fn main() {
    let agents = arg("--agents", 10_000);
    let calls = arg("--calls", 200_000);
    let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let user = |i: usize| AgentId::new(SalesforceId::new("005", i as u64 + 1)).expect("user id");
    let center = |c: usize| SalesforceId::new("04v", c as u64 + 1);
    println!("service-bench: {agents} agents in {CENTERS} call centers, {calls} calls; cpus {}", std::thread::available_parallelism().map_or(0, |n| n.get()));

    // The service, as the server configures it (no routing records: a queue per call center).
    let mut r = Routing::new();
    let centers: Vec<CallCenterInfo> = (0..CENTERS).map(|c| CallCenterInfo { id: center(c), name: format!("cc{c}") }).collect();
    let infos: Vec<AgentInfo> = (0..agents).map(|i| AgentInfo { id: user(i), username: format!("a{i}"), call_center: Some(center(i % CENTERS)), presence: Presence::Available, status: None, since: None }).collect();
    r.apply(t0, &RoutingSpec::default(), &centers, &infos).expect("applies");
    // The engine alone, configured the same way.
    let mut e = Engine::new(Strategy::Indexed);
    let voice = e.add_channel("voice", 1).expect("channel");
    let available = e.add_status("Available", &[voice]).expect("status");
    let queues: Vec<_> = (0..CENTERS)
        .map(|c| {
            e.add_queue(QueueDef { name: format!("cc{c}"), channel: voice, priority: 1, model: RoutingModel::LongestIdle, units: None, push_timeout: Duration::seconds(30), overflow: None, when_nobody_signed_in: None, hours: None })
                .expect("queue")
        })
        .collect();
    let refs: Vec<_> = (0..agents)
        .map(|i| e.add_agent(t0, AgentDef { user: user(i), status: available, capacity: 1, channel_caps: vec![], skills: vec![], queues: vec![queues[i % CENTERS]] }).expect("agent"))
        .collect();

    let mut now = t0;
    let mut seq = 0u64;
    let mut ev = |key: &VendorCallKey, kind: EventKind, now: OffsetDateTime| {
        seq += 1;
        CallEvent { key: key.clone(), provider: Provider::Sip, seq, at: now, kind }
    };
    // Half of each call center's agents (every other hundred) are busy.
    for i in (0..agents).filter(|i| (i / CENTERS).is_multiple_of(2)) {
        let key = VendorCallKey::parse(&format!("busy-{i}")).expect("key");
        r.observe(now, &ev(&key, EventKind::Answered { agent: user(i) }, now));
        e.take(now, WorkItemId(10_000_000 + i as u64), queues[i % CENTERS], refs[i]).expect("take");
    }
    let _ = r.drain();
    while e.next_decision().is_some() {}

    let mut lat_s = Vec::with_capacity(calls);
    let start = Instant::now();
    for n in 0..calls {
        now += Duration::milliseconds(1);
        let key = VendorCallKey::parse(&format!("call-{n}")).expect("key");
        let arrival = Arrival { call_center: Some(center(n % CENTERS)), from: "+14155550100".into(), ..Arrival::default() };
        let t = Instant::now();
        r.arrive(now, &key, &arrival);
        let Routed::Offer(agent) = r.route(now, &key, &[], &|_| true) else { panic!("call {n} found no agent") };
        r.observe(now, &ev(&key, EventKind::Answered { agent }, now));
        r.call_ended(now, &key);
        let _ = r.drain();
        lat_s.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let service_secs = start.elapsed().as_secs_f64();

    let mut lat_e = Vec::with_capacity(calls);
    let start = Instant::now();
    for n in 0..calls {
        now += Duration::milliseconds(1);
        let item = WorkItemId(n as u64);
        let t = Instant::now();
        e.enqueue(now, WorkItem { id: item, queue: queues[n % CENTERS], requirements: vec![] }).expect("enqueue");
        let Some(Decision::Offer { agent, .. }) = e.next_decision() else { panic!("call {n} found no agent") };
        e.accept(now, item, agent).expect("accept");
        e.complete(now, item).expect("complete");
        e.forget(item);
        lat_e.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let engine_secs = start.elapsed().as_secs_f64();

    let (rs, s50, s99) = report("service (arrive + route + answer + end)", &mut lat_s, service_secs);
    let (re, e50, e99) = report("engine alone (enqueue + offer + accept + complete)", &mut lat_e, engine_secs);
    println!("service / engine: p50 {:.1}x, p99 {:.1}x, rate {:.2}", s50 / e50, s99 / e99, rs / re);
    println!("BENCH service_calls_per_s {rs:.0} 1/s");
    println!("BENCH service_p99 {s99:.3} us");
    println!("BENCH engine_calls_per_s {re:.0} 1/s");
    println!("BENCH engine_p99 {e99:.3} us");
}
