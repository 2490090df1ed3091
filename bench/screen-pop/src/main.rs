//! `screen-pop-client`: the agent side of bench/screen-pop (see its README).
//!
//! * `ws`: opens one agent desktop WebSocket (`GET /api/desktop/ws`, bearer
//!   token) per line of a tokens file, waits for each socket's `hello`, prints
//!   `READY …`, then stamps every message with CLOCK_REALTIME the moment the
//!   socket yields it. Commands on stdin: `dump` prints the `offer`s received
//!   since the last dump as JSON lines, then `END …`; `stats` prints message
//!   counts; `quit` exits. One thread (a current-thread runtime), so the
//!   client takes one core at most and its own scheduling stays out of the
//!   server's way as far as two cores allow.
//! * `lookup`: the bare phone lookup on the same store (normalise +
//!   `Store::phone_lookup`, as the pop does), timed per call: the same-run
//!   reference for what the pop's lookup costs.
//!
//! Prints figures; asserts nothing about time.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Parser)]
#[command(name = "screen-pop-client")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Hold one desktop WebSocket per agent and stamp every offer on arrival.
    Ws {
        /// ws://HOST:PORT/api/desktop/ws
        #[arg(long)]
        url: String,
        /// Lines of `username<TAB>token`.
        #[arg(long)]
        tokens: PathBuf,
        /// Connections opened at once while connecting.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Time normalise + Store::phone_lookup for the numbers of a callers.csv.
    Lookup {
        /// The Dialtone data directory (its dialtone.db).
        #[arg(long)]
        data: PathBuf,
        /// callers.csv from `dialtone-bench --write-csv` (outcome,number,matches,record).
        #[arg(long)]
        numbers: PathBuf,
        /// Lookups per outcome (cycling through the file's numbers).
        #[arg(long, default_value_t = 5000)]
        n: usize,
        #[arg(long, default_value = "US")]
        region: String,
        /// Also time the last N `matched` numbers as `repeat` (run.py's repeat callers).
        #[arg(long, default_value_t = 0)]
        repeat: usize,
    },
}

fn now_ns() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0)
}

#[derive(Default)]
struct Shared {
    /// Offers since the last dump, as JSON lines.
    offers: Vec<String>,
    /// Messages by type, over the whole run.
    types: BTreeMap<String, u64>,
    /// Sockets that closed or failed after the hello.
    closed: u64,
    close_reasons: BTreeMap<String, u64>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match cli.cmd {
        Cmd::Ws { url, tokens, concurrency } => rt.block_on(ws(url, tokens, concurrency)),
        Cmd::Lookup { data, numbers, n, region, repeat } => rt.block_on(lookup(data, numbers, n, region, repeat)),
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, agent: String, token: String) -> Result<(String, Socket, Value)> {
    let mut req = url.into_client_request()?;
    req.headers_mut().insert("Authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
    let (mut sock, resp) = tokio_tungstenite::connect_async(req).await.with_context(|| format!("{agent}: connect"))?;
    if resp.status().as_u16() != 101 {
        bail!("{agent}: HTTP {}", resp.status());
    }
    // The first message must be the hello.
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), sock.next())
        .await
        .map_err(|_| anyhow!("{agent}: no hello within 20 s"))?
        .ok_or_else(|| anyhow!("{agent}: closed before the hello"))??;
    let text = match first {
        Message::Text(t) => t.to_string(),
        other => bail!("{agent}: first message is not text: {other:?}"),
    };
    let v: Value = serde_json::from_str(&text).with_context(|| format!("{agent}: hello is not JSON: {text}"))?;
    if v["type"] != "hello" {
        bail!("{agent}: first message is {:?}, not hello", v["type"]);
    }
    Ok((agent, sock, v))
}

async fn ws(url: String, tokens: PathBuf, concurrency: usize) -> Result<()> {
    let text = std::fs::read_to_string(&tokens).with_context(|| format!("reading {}", tokens.display()))?;
    let agents: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut p = l.splitn(2, '\t');
            (p.next().unwrap_or("").to_string(), p.next().unwrap_or("").trim().to_string())
        })
        .collect();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let t0 = Instant::now();
    let mut results = futures_util::stream::iter(agents.into_iter().map(|(a, t)| connect(&url, a, t))).buffer_unordered(concurrency.max(1));
    let (mut ok, mut failed, mut first_err) = (0u64, 0u64, None::<String>);
    let mut presence: BTreeMap<String, u64> = BTreeMap::new();
    let mut live_calls = 0u64;
    while let Some(r) = results.next().await {
        match r {
            Ok((agent, sock, hello)) => {
                ok += 1;
                let p = hello["agent"]["presence"].as_str().unwrap_or("?").to_string();
                *presence.entry(p).or_default() += 1;
                live_calls += hello["calls"].as_array().map_or(0, |c| c.len() as u64);
                tokio::spawn(read_loop(agent, sock, shared.clone()));
            }
            Err(e) => {
                failed += 1;
                first_err.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    drop(results);
    let mut stdout = tokio::io::stdout();
    let line = json!({"connected": ok, "failed": failed, "seconds": t0.elapsed().as_secs_f64(),
        "presence": presence, "liveCallsInHellos": live_calls, "firstError": first_err});
    stdout.write_all(format!("READY {line}\n").as_bytes()).await?;
    stdout.flush().await?;

    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while let Some(cmd) = stdin.next_line().await? {
        match cmd.trim() {
            "dump" => {
                let (offers, summary) = {
                    let mut s = shared.lock().expect("lock");
                    let offers = std::mem::take(&mut s.offers);
                    let summary = json!({"types": s.types, "closed": s.closed, "closeReasons": s.close_reasons});
                    (offers, summary)
                };
                let mut buf = String::with_capacity(offers.len() * 200);
                for o in offers {
                    buf.push_str(&o);
                    buf.push('\n');
                }
                buf.push_str(&format!("END {summary}\n"));
                stdout.write_all(buf.as_bytes()).await?;
                stdout.flush().await?;
            }
            "stats" => {
                let summary = {
                    let s = shared.lock().expect("lock");
                    json!({"types": s.types, "closed": s.closed, "closeReasons": s.close_reasons})
                };
                stdout.write_all(format!("STATS {summary}\n").as_bytes()).await?;
                stdout.flush().await?;
            }
            "quit" | "" => break,
            other => eprintln!("unknown command {other:?}"),
        }
    }
    Ok(())
}

async fn read_loop(agent: String, mut sock: Socket, shared: Arc<Mutex<Shared>>) {
    let reason = loop {
        let Some(msg) = sock.next().await else { break "end of stream".to_string() };
        // The arrival time: before anything else is done with the message.
        let t = now_ns();
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(c)) => break format!("close {:?}", c.map(|c| c.code)),
            Ok(_) => continue,
            Err(e) => break format!("error {e}"),
        };
        let v: Value = match serde_json::from_str(text.as_str()) {
            Ok(v) => v,
            Err(_) => {
                *shared.lock().expect("lock").types.entry("(not json)".into()).or_default() += 1;
                continue;
            }
        };
        let ty = v["type"].as_str().unwrap_or("?").to_string();
        let mut s = shared.lock().expect("lock");
        *s.types.entry(ty.clone()).or_default() += 1;
        if ty == "offer" {
            let records: Vec<Value> = v["pop"]["records"].as_array().map(|r| r.iter().map(|x| x["id"].clone()).collect()).unwrap_or_default();
            let line = json!({
                "t": t.to_string(), "agent": agent, "key": v["call"]["key"], "from": v["call"]["from"],
                "state": v["call"]["state"], "outcome": v["pop"]["outcome"], "records": records,
                "hidden": v["pop"]["hiddenMatches"], "number": v["pop"]["number"], "bytes": text.len(),
            });
            s.offers.push(line.to_string());
        }
    };
    let mut s = shared.lock().expect("lock");
    s.closed += 1;
    let short: String = reason.chars().take(80).collect();
    *s.close_reasons.entry(short).or_default() += 1;
}

async fn lookup(data: PathBuf, numbers: PathBuf, n: usize, region: String, repeat: usize) -> Result<()> {
    let normalizer = dialtone_phone::Normalizer::new(&region).map_err(|e| anyhow!("{e}"))?;
    let store = dialtone_store::open(&dialtone_store::Location::Sqlite(data.join("dialtone.db")), &region).await?;
    let text = std::fs::read_to_string(&numbers)?;
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let mut p = l.split(',');
        let (Some(o), Some(num)) = (p.next(), p.next()) else { continue };
        by.entry(o.to_string()).or_default().push(num.to_string());
    }
    if repeat > 0
        && let Some(m) = by.get("matched")
    {
        let tail = m[m.len().saturating_sub(repeat)..].to_vec();
        by.insert("repeat".into(), tail);
    }
    // Interleave the outcomes so machine noise falls on all alike.
    let kinds: Vec<String> = by.keys().cloned().collect();
    let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut matches: BTreeMap<String, u64> = BTreeMap::new();
    for pass in 0..2 {
        for i in 0..n {
            for k in &kinds {
                let nums = &by[k];
                let num = &nums[i % nums.len()];
                let t = Instant::now();
                let e = normalizer.normalize(num).ok_or_else(|| anyhow!("{num} does not normalise"))?;
                let m = store.phone_lookup(&e).await?;
                let ns = t.elapsed().as_nanos() as u64;
                if pass == 1 {
                    times.entry(k.clone()).or_default().push(ns);
                    *matches.entry(k.clone()).or_default() += m.len() as u64;
                }
            }
        }
    }
    let mut out = serde_json::Map::new();
    for (k, mut v) in times {
        v.sort_unstable();
        let p = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1] as f64 / 1000.0;
        out.insert(k.clone(), json!({"n": v.len(), "p50_us": p(0.5), "p90_us": p(0.9), "p99_us": p(0.99), "max_us": p(1.0),
            "matchesPerLookup": matches[&k] as f64 / v.len() as f64}));
    }
    println!("LOOKUP {}", Value::Object(out));
    Ok(())
}
