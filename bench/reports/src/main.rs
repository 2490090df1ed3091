//! bench/reports: the standard reports over millions of VoiceCalls.
//!
//! Loads N calls straight into the store's own VoiceCall table (SQL that
//! generates them, so loading 10M takes minutes, not hours), then times every
//! standard report through `dialtone_server::reports::run` (SOQL → plan → the
//! store, as the API and the CLI run them), and, in the same run, the same
//! questions written by hand in SQL against the same database on a plain
//! connection. The ratio is the figure; absolute times depend on the machine.
//!
//!   cargo run --release -p dialtone-bench-reports -- --calls 10000000 --store sqlite
//!   cargo run --release -p dialtone-bench-reports -- --calls 10000000 --store postgres://postgres@127.0.0.1:5432/postgres

use anyhow::{Context, Result, bail};
use clap::Parser;
use dialtone_model::{RawValue, Schema};
use dialtone_reports::{Params, REPORTS};
use dialtone_store::{DynStore, Location};
use std::time::{Duration, Instant};
use time::macros::{date, datetime};

#[derive(Parser, Debug)]
#[command(about = "Every standard report over N VoiceCalls, against hand-written SQL in the same run")]
struct Args {
    /// How many VoiceCalls to load.
    #[arg(long, default_value_t = 1_000_000)]
    calls: u64,
    /// `sqlite` (a file in a temporary directory, or --file) or a PostgreSQL admin URL (a fresh database is created and dropped).
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Reuse (or keep) this SQLite file: skips loading when it already holds the calls.
    #[arg(long)]
    file: Option<std::path::PathBuf>,
    /// Timed runs per query (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Days the calls spread over (from 2026-09-01): 1,000 days of 10,000 calls a day by default at 10M.
    #[arg(long, default_value_t = 1000)]
    days: u32,
    /// Also time the reports that group by day and hour in this time zone
    /// (`convertTimezone()`), against the same reports in UTC, in the same run.
    #[arg(long = "time-zone")]
    time_zone: Option<String>,
}

const AGENTS: u64 = 50;

#[derive(Clone, Copy, PartialEq)]
enum Db {
    Sqlite,
    Pg,
}

/// The SQL that generates calls `first..=last` of `total` (see the module doc), in the
/// order calls happen: start times rise with `n`, as a real call centre's do.
fn load_sql(db: Db, first: u64, last: u64, total: u64, days: u32) -> String {
    let base = datetime!(2026-09-01 00:00:00 UTC).unix_timestamp();
    let span = i64::from(days) * 86_400;
    let ts = |x: &str| match db {
        Db::Sqlite => format!("(strftime('%Y-%m-%dT%H:%M:%S', {x}, 'unixepoch') || '.000+0000')"),
        Db::Pg => format!("(to_char(to_timestamp({x}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000+0000')"),
    };
    let (source, id) = match db {
        Db::Sqlite => (
            format!("(WITH RECURSIVE g(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM g WHERE n < {last}) SELECT n FROM g)"),
            "'0LQ' || substr('000000000000000' || n, -15)".to_string(),
        ),
        Db::Pg => (format!("(SELECT generate_series({first}::bigint, {last}::bigint) AS n)"), "'0LQ' || lpad(n::text, 15, '0')".to_string()),
    };
    let answered = "r < 65";
    let end = "s + soa + talk + hold";
    format!(
        "INSERT INTO sobj_voicecall (id, name, vendorcallkey, vendortype, callorigin, calltype, calldisposition, calloutcome, callstartdatetime, \
         callqueueddatetime, callacceptdatetime, callenddatetime, calldurationinseconds, speedofanswerinseconds, talktimeinseconds, handletimeinseconds, \
         customerholdduration, numberofholds, aftercallworkduration, queuename, ownerid, callresolution, screenpopoutcome, isrecorded, createddate, \
         lastmodifieddate, systemmodstamp) \
         SELECT {id}, 'VC-' || n, 'BENCH' || n, 'Sip', 'SIP', \
           CASE WHEN r >= 88 AND r < 95 THEN 'Outbound' WHEN n % 10 = 0 THEN 'Outbound' ELSE 'Inbound' END, \
           CASE WHEN {answered} THEN 'completed' WHEN r < 80 THEN 'canceled' WHEN r < 88 THEN 'voicemail' WHEN r < 95 THEN 'no-answer' ELSE 'failed' END, \
           CASE WHEN {answered} THEN 'Answered' WHEN r < 80 THEN 'Abandoned' WHEN r < 88 THEN 'Voicemail' WHEN r < 95 THEN 'Missed' ELSE 'Failed' END, \
           {start}, {start}, CASE WHEN {answered} THEN {accept} END, {endts}, \
           (CASE WHEN {answered} THEN soa + talk + hold ELSE soa END), \
           CASE WHEN {answered} THEN soa END, CASE WHEN {answered} THEN talk END, CASE WHEN {answered} THEN talk + hold + acw END, \
           CASE WHEN {answered} THEN hold END, CASE WHEN {answered} AND hold > 0 THEN 1 ELSE 0 END, CASE WHEN {answered} THEN acw END, \
           CASE n % 4 WHEN 0 THEN 'Billing' WHEN 1 THEN 'Spanish' ELSE 'Support' END, \
           CASE WHEN {answered} THEN (SELECT id FROM bench_agents WHERE k = n % {AGENTS}) END, \
           CASE WHEN {answered} THEN CASE (n * 29) % 4 WHEN 0 THEN 'Resolved' WHEN 1 THEN 'Follow-up Needed' WHEN 2 THEN 'Sale' END END, \
           CASE WHEN (n * 37) % 10 < 6 THEN 'Matched' WHEN (n * 37) % 10 < 8 THEN 'Chooser' WHEN (n * 37) % 10 < 9 THEN 'NewRecord' ELSE 'Failed' END, \
           0, {start}, {start}, {start} \
         FROM (SELECT n, (n * 7919) % 100 AS r, {base} + ((n - 1) * {span}) / {total} + (n * 7) % 60 AS s, (n * 31) % 60 AS soa, 60 + (n * 13) % 600 AS talk, \
               CASE WHEN (n * 17) % 5 = 0 THEN (n * 19) % 120 ELSE 0 END AS hold, (n * 23) % 90 AS acw FROM {source} AS src) AS x",
        start = ts("s"),
        accept = ts("s + soa"),
        endts = ts(end),
    )
}

/// The same questions as the standard reports, written by hand: plain
/// equality (the data's spelling is known), one statement each.
fn hand_written(report: &str, p: &Params) -> Vec<String> {
    let next = p.to.next_day().unwrap_or(p.to);
    let r = format!("callstartdatetime >= '{}T00:00:00.000+0000' AND callstartdatetime < '{next}T00:00:00.000+0000'", p.from);
    let count = |more: &str| format!("SELECT COUNT(*) FROM sobj_voicecall WHERE {r}{more}");
    let inb = " AND calltype = 'Inbound'";
    match report {
        "summary" => vec![
            format!(
                "SELECT calltype, calloutcome, COUNT(*), SUM(speedofanswerinseconds), COUNT(speedofanswerinseconds), SUM(handletimeinseconds), \
                 COUNT(handletimeinseconds), SUM(talktimeinseconds), COUNT(talktimeinseconds), SUM(customerholdduration), COUNT(customerholdduration), \
                 SUM(aftercallworkduration), COUNT(aftercallworkduration) FROM sobj_voicecall WHERE {r} GROUP BY calltype, calloutcome"
            ),
            count(&format!("{inb} AND calloutcome = 'Answered' AND speedofanswerinseconds <= {}", p.service_level_seconds)),
        ],
        "calls-by-day" => vec![format!("SELECT substr(callstartdatetime, 1, 10), calltype, COUNT(*) FROM sobj_voicecall WHERE {r} GROUP BY 1, 2 ORDER BY 1, 2")],
        "calls-by-hour" => vec![format!("SELECT CAST(substr(callstartdatetime, 12, 2) AS INTEGER) AS h, COUNT(*) FROM sobj_voicecall WHERE {r} GROUP BY 1 ORDER BY 1")],
        "inbound-outbound" => vec![format!("SELECT calltype, COUNT(*) FROM sobj_voicecall WHERE {r} GROUP BY calltype ORDER BY 2 DESC, 1")],
        "outcomes" => vec![format!("SELECT calloutcome, COUNT(*) FROM sobj_voicecall WHERE {r} AND calloutcome IS NOT NULL GROUP BY calloutcome ORDER BY 2 DESC, 1")],
        "dispositions" => vec![format!("SELECT callresolution, COUNT(*) FROM sobj_voicecall WHERE {r} AND callresolution IS NOT NULL GROUP BY callresolution ORDER BY 2 DESC, 1")],
        "screen-pops" => vec![format!("SELECT screenpopoutcome, COUNT(*) FROM sobj_voicecall WHERE {r} AND screenpopoutcome IS NOT NULL GROUP BY screenpopoutcome ORDER BY 2 DESC, 1")],
        "agents" => vec![format!(
            "SELECT v.ownerid, u.name, COUNT(*), AVG(v.speedofanswerinseconds), AVG(v.talktimeinseconds), AVG(v.customerholdduration), AVG(v.aftercallworkduration), \
             AVG(v.handletimeinseconds) FROM sobj_voicecall v LEFT JOIN sobj_user u ON u.id = v.ownerid WHERE {r} AND v.calloutcome = 'Answered' \
             GROUP BY v.ownerid, u.name ORDER BY 3 DESC, 2"
        )],
        "queues" => vec![format!(
            "SELECT queuename, calloutcome, COUNT(*), AVG(speedofanswerinseconds) FROM sobj_voicecall WHERE {r} AND queuename IS NOT NULL \
             AND calloutcome IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
        )],
        _ => Vec::new(),
    }
}

/// A plain connection for the hand-written SQL.
enum Raw {
    Sqlite(rusqlite::Connection),
    Pg(tokio_postgres::Client),
}

impl Raw {
    async fn rows(&self, sql: &str) -> Result<usize> {
        Ok(match self {
            Raw::Sqlite(c) => {
                if std::env::var_os("BENCH_EXPLAIN").is_some() {
                    let mut plan = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let steps: Vec<String> = plan.query_map([], |r| r.get::<_, String>(3))?.collect::<rusqlite::Result<_>>()?;
                    eprintln!("{}\n  -> {}", &sql[..sql.len().min(90)], steps.join(" | "));
                }
                let mut stmt = c.prepare(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query([])?;
                let mut count = 0;
                while let Some(r) = rows.next()? {
                    for i in 0..n {
                        let _ = r.get_ref(i)?;
                    }
                    count += 1;
                }
                count
            }
            Raw::Pg(c) => c.simple_query(sql).await?.iter().filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_))).count(),
        })
    }

    async fn exec(&self, sql: &str) -> Result<()> {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql)?,
            Raw::Pg(c) => c.batch_execute(sql).await?,
        }
        Ok(())
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.runs == 0 || args.calls == 0 {
        bail!("--runs and --calls must be at least 1");
    }
    let tmp = tempfile::tempdir()?;
    let (db, location, pg_drop) = if args.store == "sqlite" {
        let path = args.file.clone().unwrap_or_else(|| tmp.path().join("reports.db"));
        (Db::Sqlite, Location::Sqlite(path), None)
    } else if args.store.starts_with("postgres://") {
        let name = format!("dialtone_report_bench_{}", std::process::id());
        let (admin, conn) = tokio_postgres::connect(&args.store, tokio_postgres::NoTls).await.context("connecting to PostgreSQL")?;
        tokio::spawn(conn);
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let url = match args.store.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{name}"),
            None => bail!("--store: a postgres://…/database URL"),
        };
        (Db::Pg, Location::Postgres(url), Some((admin, name)))
    } else {
        bail!("--store: sqlite or a postgres:// URL");
    };
    let result = bench(&args, db, &location).await;
    if let Some((admin, name)) = pg_drop {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
    }
    result
}

async fn bench(args: &Args, db: Db, location: &Location) -> Result<()> {
    let store: DynStore = dialtone_store::open(location, "US").await?;
    let raw = match location {
        Location::Sqlite(path) => {
            let c = rusqlite::Connection::open(path)?;
            // The same page cache as the store's own connections: a fair comparison.
            c.pragma_update(None, "cache_size", -65536)?;
            Raw::Sqlite(c)
        }
        Location::Postgres(url) => {
            let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            Raw::Pg(c)
        }
    };
    let have = store.count(&dialtone_soql::compile("SELECT COUNT() FROM VoiceCall", store.schema(), store.dialect(), time::OffsetDateTime::now_utc())?).await?;
    if have != args.calls {
        if have != 0 {
            bail!("the store holds {have} VoiceCalls, not {}: give a fresh --file", args.calls);
        }
        load(args, db, &store, &raw).await?;
    } else {
        println!("reusing {have} VoiceCalls");
    }
    let first = date!(2026 - 09 - 01);
    let last = first + time::Duration::days(i64::from(args.days) - 1);
    let backend = if db == Db::Sqlite { "sqlite" } else { "postgres" };
    let month = Params::new((last - time::Duration::days(30)).max(first), last, None, 20)?;
    let all = Params::new(first, last, None, 20)?;
    for (what, params) in [("the last 31 days", month), ("every call", all)] {
        let in_range = store
            .count(&dialtone_soql::compile(
                &format!("SELECT COUNT() FROM VoiceCall WHERE {}", params.range("CallStartDateTime")),
                store.schema(),
                store.dialect(),
                time::OffsetDateTime::now_utc(),
            )?)
            .await?;
        println!("\n{} VoiceCalls on {backend} over {} days; report range {}..{} ({what}: {in_range} calls); median of {} runs\n", args.calls, args.days, params.from, params.to, args.runs);
        timings(args, &store, &raw, &params).await?;
        if let Some(zone) = &args.time_zone {
            zone_cost(args, &store, &params, zone).await?;
        }
    }
    Ok(())
}

/// The reports that group by local day and hour, in `zone` and in UTC: what the conversion costs.
async fn zone_cost(args: &Args, store: &DynStore, utc: &Params, zone: &str) -> Result<()> {
    let tz = dialtone_server::reports::zone(zone).map_err(|e| anyhow::anyhow!("{}", e.message))?.context("give a zone other than UTC")?;
    let zoned = utc.clone().in_zone(tz)?;
    println!("\n{:<18} {:>12} {:>12} {:>7}", "report", "UTC ms", "zone ms", "ratio");
    for name in ["calls-by-day", "calls-by-hour"] {
        let report = dialtone_reports::find(name).context("a standard report")?;
        let time = async |p: &Params| -> Result<Duration> {
            let mut times = Vec::new();
            for _ in 0..args.runs {
                let t = Instant::now();
                dialtone_server::reports::run(store.as_ref(), None, report, p).await.map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
                times.push(t.elapsed());
            }
            Ok(median(times))
        };
        let (u, z) = (time(utc).await?, time(&zoned).await?);
        println!("{name:<18} {:>12.1} {:>12.1} {:>7.2}   (in {zone})", ms(u), ms(z), z.as_secs_f64() / u.as_secs_f64());
    }
    Ok(())
}

async fn timings(args: &Args, store: &DynStore, raw: &Raw, params: &Params) -> Result<()> {
    println!("{:<18} {:>8} {:>12} {:>12} {:>7}", "report", "queries", "SOQL ms", "hand SQL ms", "ratio");
    let mut heaviest = (String::new(), Duration::ZERO, None::<Duration>);
    for report in REPORTS {
        let mut soql = Vec::new();
        let mut rows = 0;
        for _ in 0..args.runs {
            let t = Instant::now();
            let table = dialtone_server::reports::run(store.as_ref(), None, report, params).await.map_err(|e| anyhow::anyhow!("{}: {}", e.code, e.message))?;
            soql.push(t.elapsed());
            rows = table.rows.len();
        }
        let soql = median(soql);
        let hand = hand_written(report.name, params);
        let hand_time = if hand.is_empty() {
            None
        } else {
            let mut times = Vec::new();
            for _ in 0..args.runs {
                let t = Instant::now();
                for sql in &hand {
                    raw.rows(sql).await.with_context(|| sql.clone())?;
                }
                times.push(t.elapsed());
            }
            Some(median(times))
        };
        let queries = report.queries(params).len();
        match hand_time {
            Some(h) => println!("{:<18} {:>8} {:>12.1} {:>12.1} {:>7.2}   ({rows} rows)", report.name, queries, ms(soql), ms(h), soql.as_secs_f64() / h.as_secs_f64()),
            None => println!("{:<18} {:>8} {:>12.1} {:>12} {:>7}   ({rows} rows; this bench loads no records of its object)", report.name, queries, ms(soql), "-", "-"),
        }
        if soql > heaviest.1 {
            heaviest = (report.name.to_string(), soql, hand_time);
        }
    }
    let (name, soql, hand) = heaviest;
    println!(
        "heaviest: {name}: {:.0} ms through SOQL{}",
        ms(soql),
        hand.map(|h| format!(", {:.0} ms hand-written, ratio {:.2}", ms(h), soql.as_secs_f64() / h.as_secs_f64())).unwrap_or_default()
    );
    Ok(())
}

async fn load(args: &Args, db: Db, store: &DynStore, raw: &Raw) -> Result<()> {
    let schema = Schema::standard();
    let user = schema.object("User").expect("standard object");
    let t = |s: &str| RawValue::Text(s.into());
    let rows = (0..AGENTS)
        .map(|i| {
            let u = format!("agent{i}@bench.test");
            user.check_create(vec![("Username".into(), t(&u)), ("LastName".into(), t(&format!("Agent {i:02}"))), ("Email".into(), t(&u)), ("ProfileName".into(), t("Agent"))])
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let ids = store.insert(user, rows, None).await?;
    raw.exec("CREATE TABLE bench_agents (k BIGINT PRIMARY KEY, id TEXT NOT NULL)").await?;
    let values: Vec<String> = ids.iter().enumerate().map(|(k, id)| format!("({k}, '{id}')")).collect();
    raw.exec(&format!("INSERT INTO bench_agents (k, id) VALUES {}", values.join(", "))).await?;
    if db == Db::Sqlite {
        // A bulk load, as an admin restoring a backup would: a large page cache, no fsync per chunk.
        raw.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -1000000;").await?;
    }
    let chunk = 1_000_000;
    let started = Instant::now();
    let mut first = 1;
    while first <= args.calls {
        let last = (first + chunk - 1).min(args.calls);
        let t = Instant::now();
        raw.exec(&format!("BEGIN; {}; COMMIT;", load_sql(db, first, last, args.calls, args.days))).await?;
        println!("loaded {last:>10} calls ({:.1} s for this million, {:.0} s in all)", t.elapsed().as_secs_f64(), started.elapsed().as_secs_f64());
        first = last + 1;
    }
    raw.exec("ANALYZE").await?;
    if db == Db::Sqlite {
        raw.exec("PRAGMA synchronous = FULL; PRAGMA cache_size = -65536; PRAGMA wal_checkpoint(TRUNCATE);").await?;
    }
    println!("loaded {} calls in {:.0} s (and ANALYZE)", args.calls, started.elapsed().as_secs_f64());
    Ok(())
}
