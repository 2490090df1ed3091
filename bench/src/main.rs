//! `dialtone-bench`: loads N Contacts + Leads through the real import path and
//! measures import rate, phone lookup latency, SOQL aggregates and resident
//! memory — each beside a reference in the same run (hand-written SQL through
//! the bare driver; the import references in child processes, fed batch by
//! batch between the store's own), so a noisy machine still yields a
//! meaningful ratio.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-bench cargo run --release -p dialtone-bench -- --records 1000000
//! ```
//!
//! Every figure is printed twice: in a table for people and as one
//! `BENCH <name> <value> <unit>` line for scripts. See BENCHMARKS.md.

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use dialtone_model::{ObjectDef, RawValue, SalesforceId, Schema, Value};
use dialtone_phone::Normalizer;
use dialtone_soql::Dialect;
use dialtone_store::{DynStore, Location};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(name = "dialtone-bench", about = "Load N Contacts+Leads and measure import, phone lookup, SOQL and memory")]
struct Args {
    /// Records to generate and import: half Contacts, half Leads.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// `sqlite` (a fresh file in a temporary directory) or a `postgres://…` URL
    /// of an empty database.
    #[arg(long, default_value = "sqlite")]
    store: String,
    /// Timed phone lookups (about 10% are numbers that are not in the store).
    #[arg(long, default_value_t = 100_000)]
    lookups: usize,
    /// The org's default phone region.
    #[arg(long, default_value = "US")]
    region: String,
    /// Seed of the record generator: the same seed gives the same records.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Rows per transaction, as `dialtone import --batch` (whose default is 10000).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Lookups timed for the naive full-scan reference (each scans the Contact table).
    #[arg(long, default_value_t = 20)]
    naive_lookups: usize,
    /// Timed runs of each SOQL query (best and median are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Where to create the temporary directory for SQLite files (default: the system's).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the temporary directory and its databases.
    #[arg(long)]
    keep: bool,
    /// Skip the hand-written rusqlite import references.
    #[arg(long)]
    no_reference_import: bool,
    /// An extra reference importer (with the phone index) using these SQLite
    /// pragmas, e.g. `cache_size=-262144;synchronous=NORMAL`: what a pragma in
    /// the store would buy. `phone_index=covering` widens ix_phone_e164 to
    /// (e164, object, record_id, field); `phone_index=without_rowid` makes the
    /// phone index one WITHOUT ROWID table (their lookups are timed too).
    /// Repeatable.
    #[arg(long, value_name = "PRAGMAS")]
    tune: Vec<String>,
    /// Internal: run as a reference import worker (driven over stdin/stdout).
    #[arg(long, hide = true)]
    reference_worker: bool,
    #[arg(long, hide = true)]
    worker_db: Option<PathBuf>,
    #[arg(long, hide = true)]
    worker_ddl_from: Option<PathBuf>,
    #[arg(long, hide = true)]
    worker_phone: bool,
    /// Internal: the worker copies the store's insert code (diagnosis).
    #[arg(long, hide = true)]
    worker_mimic: bool,
    #[arg(long, hide = true)]
    worker_lean: bool,
    #[arg(long, hide = true)]
    worker_commit_every: Option<u64>,
    /// Rows per transaction of the plain/phone/tuned reference importers
    /// (default: --batch). `--batch 10000 --reference-batch 2000` measures a
    /// bigger batch against an unchanged yardstick.
    #[arg(long)]
    reference_batch: Option<u64>,
    /// Add two reference importers running a copy of `SqliteStore::insert`'s
    /// body (rows already validated): as it is (`mimic`, tells the store's
    /// per-row code from the trait and runtime around it) and with the
    /// per-row fixes BENCHMARKS.md suggests (`lean`).
    #[arg(long)]
    mimic: bool,
    #[arg(long, hide = true)]
    worker_pragmas: Option<String>,
    /// Write the generated records as `Contact.csv` and `Lead.csv` (for
    /// `dialtone import`) into this directory, plus `callers.csv`: caller
    /// numbers sampled by how many records hold them (`matched`: one,
    /// `chooser`: two, `new`: none), for bench/screen-pop. Writes and exits;
    /// nothing is imported or measured.
    #[arg(long, value_name = "DIR")]
    write_csv: Option<PathBuf>,
    /// With --write-csv: caller numbers to sample of each kind.
    #[arg(long, default_value_t = 20_000)]
    callers: usize,
}

// ---------------------------------------------------------------------------
// Deterministic generation
// ---------------------------------------------------------------------------

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// splitmix64, seeded per (seed, stream, index) so any record can be rebuilt alone.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, i: u64) -> Rng {
        Rng(mix(seed ^ mix(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix(i.wrapping_add(0x632b_e59b_d9b4_e019)))))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Nancy",
    "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven",
    "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Dorothy", "Kevin", "Carol",
    "Brian", "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ada", "Grace", "Alan", "Chidi", "Priya", "Wei",
    "Yuki", "Fatima", "Olu", "Siobhan", "José", "Zoë", "Björn", "Ngozi",
];
const LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
    "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker",
    "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Singh", "Müller",
    "O'Brien", "Lovelace", "Hopper", "Okafor", "Kowalski", "Nakamura", "Fitzgerald", "Dubois", "Van der Berg",
];
const DOMAINS: &[&str] = &["example.com", "example.org", "mail.example.net", "corp.example.com", "example.co.uk"];
const LEAD_SOURCES: &[&str] = &["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
const STATUSES: &[&str] = &["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"];
const INDUSTRIES: &[&str] = &[
    "Agriculture", "Banking", "Communications", "Education", "Energy", "Finance", "Government", "Healthcare",
    "Hospitality", "Insurance", "Manufacturing", "Media", "Retail", "Technology", "Telecommunications",
    "Transportation", "Utilities", "Other",
];
/// (MailingCountry, weight out of 100). `None` is an empty cell.
const COUNTRIES: &[(Option<&str>, u64)] = &[
    (Some("United States"), 58),
    (Some("USA"), 5),
    (Some("United Kingdom"), 12),
    (Some("Canada"), 6),
    (Some("Germany"), 4),
    (Some("France"), 4),
    (Some("Australia"), 3),
    (Some("India"), 3),
    (Some("Mexico"), 2),
    (None, 3),
];
const ADJ: &[&str] = &[
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Hooli",
    "Vandelay", "Pied Piper", "Aperture", "Oscorp", "Gringotts", "Monarch", "Massive", "Blue Sun", "Nakatomi",
];
const NOUN: &[&str] = &[
    "Widgets", "Logistics", "Analytics", "Dynamics", "Holdings", "Labs", "Systems", "Foods", "Energy", "Media",
    "Robotics", "Capital", "Health", "Telecom", "Freight", "Software", "Textiles", "Optics", "Mining", "Ventures",
];
const SUFFIX: &[&str] = &["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Group"];

/// US area codes used for stored numbers; 907 is kept for numbers that are not stored.
const US_AREAS: &[u64] = &[201, 202, 206, 212, 213, 214, 303, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 808];
const UNKNOWN_AREA: u64 = 907;

/// A phone number as country code + 10 national digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    /// NPA-NXX-XXXX.
    Us(u64),
    /// London geographic, `20xxxxxxxx`.
    UkGeo(u64),
    /// UK mobile, `7xxxxxxxxx`.
    UkMobile(u64),
}

impl Num {
    fn e164(self) -> String {
        match self {
            Num::Us(d) => format!("+1{d:010}"),
            Num::UkGeo(d) | Num::UkMobile(d) => format!("+44{d:010}"),
        }
    }
}

/// Maps 0..space onto itself bijectively, so distinct `u` give distinct numbers.
fn scatter(u: u64, space: u64, salt: u64) -> u64 {
    ((u as u128 * 2_654_435_761u128 + salt as u128) % space as u128) as u64
}

const US_SPACE: u64 = 20 * 800 * 10_000;

fn us_number(u: u64, salt: u64) -> Num {
    let p = scatter(u % US_SPACE, US_SPACE, salt);
    let area = US_AREAS[(p / 8_000_000) as usize];
    let exch = 200 + (p / 10_000) % 800;
    Num::Us(area * 10_000_000 + exch * 10_000 + p % 10_000)
}
fn uk_geo(u: u64, salt: u64) -> Num {
    Num::UkGeo(2_070_000_000 + scatter(u % 10_000_000, 10_000_000, salt))
}
fn uk_mobile(u: u64, salt: u64) -> Num {
    Num::UkMobile(7_900_000_000 + scatter(u % 100_000_000, 100_000_000, salt))
}

/// Written forms. `national_us` / `national_gb`: the default region lets
/// numbers be written without a country code.
fn write_number(n: Num, style: u64, region: &str) -> String {
    let national_us = matches!(region, "US" | "CA");
    let national_gb = region == "GB";
    match n {
        Num::Us(d) => {
            let (a, e, l) = (d / 10_000_000, (d / 10_000) % 1000, d % 10_000);
            let style = if national_us { style % 9 } else { [1, 6][(style % 2) as usize] };
            match style {
                0 => format!("({a}) {e}-{l:04}"),
                1 => format!("+1 {a}-{e}-{l:04}"),
                2 => format!("{a}.{e}.{l:04}"),
                3 => format!("{a}{e}{l:04}"),
                4 => format!("1-{a}-{e}-{l:04}"),
                5 => format!("{a}-{e}-{l:04}"),
                6 => format!("+1{a}{e}{l:04}"),
                7 => format!("({a}) {e}-{l:04} x{}", 100 + style * 7),
                _ => format!(" {a} {e} {l:04} "),
            }
        }
        Num::UkGeo(d) => {
            let rest = d % 100_000_000;
            let (p1, p2) = (rest / 10_000, rest % 10_000);
            let styles: &[u64] = match (national_us, national_gb) {
                // Style 2, "+44 (0)20 …", is left out: the normaliser keeps the 0
                // (see `self_check`), so such records would not be found.
                (true, _) => &[0, 1, 3],
                (_, true) => &[0, 1, 4],
                _ => &[0, 1],
            };
            match styles[(style % styles.len() as u64) as usize] {
                0 => format!("+44 20 {p1:04} {p2:04}"),
                1 => format!("+4420{p1:04}{p2:04}"),
                2 => format!("+44 (0)20 {p1:04} {p2:04}"),
                3 => format!("011 44 20 {p1:04} {p2:04}"),
                _ => format!("020 {p1:04} {p2:04}"),
            }
        }
        Num::UkMobile(d) => {
            let (p1, p2) = (d / 1_000_000, d % 1_000_000);
            match (style % 3, national_gb) {
                (0, _) => format!("+44 {p1} {p2:06}"),
                (1, _) => format!("+44{d}"),
                (_, true) => format!("0{p1} {p2:06}"),
                (_, false) => format!("+44 ({p1}) {p2:06}"),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Contact,
    Lead,
}

/// One generated record: field values as a CSV would hold them, and the
/// numbers behind its phone fields.
struct GenRow {
    fields: Vec<(&'static str, Option<String>)>,
    phones: Vec<(&'static str, Num)>,
}

const CONTACT_FIELDS: &[&str] = &["FirstName", "LastName", "Email", "Phone", "MobilePhone", "LeadSource", "MailingCountry"];
const LEAD_FIELDS: &[&str] = &["FirstName", "LastName", "Company", "Phone", "Status", "LeadSource", "Industry", "AnnualRevenue"];

struct Generator {
    seed: u64,
    region: String,
    contacts: u64,
    leads: u64,
}

/// Bases of the number spaces, so unique and shared numbers never meet.
const SHARED_BASE: u64 = 4_600_000;

impl Generator {
    fn count(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Contact => self.contacts,
            Kind::Lead => self.leads,
        }
    }

    fn row(&self, kind: Kind, k: u64) -> GenRow {
        match kind {
            Kind::Contact => self.contact(k),
            Kind::Lead => self.lead(k),
        }
    }

    fn email(r: &mut Rng, first: &str, last: &str, tag: char, k: u64) -> String {
        let clean = |s: &str| s.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
        format!("{}.{}{tag}{k}@{}", clean(first), clean(last), r.pick(DOMAINS))
    }

    fn contact(&self, k: u64) -> GenRow {
        let mut r = Rng::new(self.seed, 1, k);
        let first = *r.pick(FIRST);
        let last = *r.pick(LAST);
        let email = r.pct(80).then(|| Self::email(&mut r, first, last, 'c', k));
        let mut roll = r.below(100);
        let mut country = None;
        for (c, w) in COUNTRIES {
            if roll < *w {
                country = *c;
                break;
            }
            roll -= w;
        }
        let uk = country == Some("United Kingdom");
        let mut phones = Vec::new();
        if r.pct(90) {
            // 5%: a household number shared by ~3 contacts.
            let n = if r.pct(5) {
                let h = SHARED_BASE + r.below(self.contacts / 60 + 1);
                if uk { uk_geo(h, 11) } else { us_number(h, 11) }
            } else if uk {
                uk_geo(4 * k, 11)
            } else {
                us_number(4 * k, 11)
            };
            phones.push(("Phone", n));
        }
        if r.pct(60) {
            phones.push(("MobilePhone", if uk { uk_mobile(4 * k + 1, 13) } else { us_number(4 * k + 1, 11) }));
        }
        let written = |r: &mut Rng, f: &str| {
            phones.iter().find(|(n, _)| *n == f).map(|(_, n)| write_number(*n, r.next(), &self.region))
        };
        let phone = written(&mut r, "Phone");
        let mobile = written(&mut r, "MobilePhone");
        let source = r.pct(85).then(|| r.pick(LEAD_SOURCES).to_string());
        GenRow {
            fields: vec![
                ("FirstName", Some(first.to_string())),
                ("LastName", Some(last.to_string())),
                ("Email", email),
                ("Phone", phone),
                ("MobilePhone", mobile),
                ("LeadSource", source),
                ("MailingCountry", country.map(str::to_string)),
            ],
            phones,
        }
    }

    fn lead(&self, k: u64) -> GenRow {
        let mut r = Rng::new(self.seed, 2, k);
        let first = *r.pick(FIRST);
        let last = *r.pick(LAST);
        // ~20 leads per company.
        let c = r.below(self.leads / 20 + 1);
        let combos = (ADJ.len() * NOUN.len() * SUFFIX.len()) as u64;
        let mut company = format!(
            "{} {} {}",
            ADJ[(c % ADJ.len() as u64) as usize],
            NOUN[((c / ADJ.len() as u64) % NOUN.len() as u64) as usize],
            SUFFIX[((c / (ADJ.len() * NOUN.len()) as u64) % SUFFIX.len() as u64) as usize]
        );
        if c >= combos {
            let _ = write!(company, " {}", c / combos);
        }
        let uk = mix(c ^ self.seed) % 100 < 15;
        let roll = r.below(100);
        let phone = if roll < 1 {
            // A big switchboard: 50 numbers shared by 1% of leads (~100 each at 1M records).
            let s = SHARED_BASE + 2_000_000 + r.below(50);
            Some(if uk { uk_geo(s, 17) } else { us_number(s, 17) })
        } else if roll < 11 {
            // The company's switchboard.
            let s = SHARED_BASE + 1_000_000 + c;
            Some(if uk { uk_geo(s, 17) } else { us_number(s, 17) })
        } else if roll < 98 {
            Some(if uk { uk_geo(4 * k + 2, 11) } else { us_number(4 * k + 2, 11) })
        } else {
            None
        };
        let phones: Vec<(&'static str, Num)> = phone.map(|n| ("Phone", n)).into_iter().collect();
        let phone_text = phone.map(|n| write_number(n, r.next(), &self.region));
        let status = r.pct(90).then(|| {
            let s = *r.pick(STATUSES);
            if r.pct(10) { s.to_lowercase() } else { s.to_string() }
        });
        let source = r.pct(85).then(|| r.pick(LEAD_SOURCES).to_string());
        let industry = r.pct(80).then(|| r.pick(INDUSTRIES).to_string());
        let revenue = r.pct(70).then(|| {
            // Log-uniform, $50k .. $100M.
            let x = 50_000f64 * (2000f64).powf(r.below(1_000_000) as f64 / 1_000_000.0);
            format!("{}", (x / 1000.0).round() as u64 * 1000)
        });
        GenRow {
            fields: vec![
                ("FirstName", Some(first.to_string())),
                ("LastName", Some(last.to_string())),
                ("Company", Some(company)),
                ("Phone", phone_text),
                ("Status", status),
                ("LeadSource", source),
                ("Industry", industry),
                ("AnnualRevenue", revenue),
            ],
            phones,
        }
    }
}

/// The row as `dialtone import` hands it to `check_create`: every CSV column,
/// empty cells as null. Empty cells of fields with a default are left out
/// (as a CSV without that column): see `raw_with_nulls`.
fn raw_row(obj: &ObjectDef, row: &GenRow) -> Vec<(String, RawValue)> {
    row.fields
        .iter()
        .filter(|(f, v)| v.is_some() || obj.field(f).is_none_or(|f| f.default.is_none()))
        .map(|(f, v)| (f.to_string(), v.as_ref().map_or(RawValue::Null, |s| RawValue::Text(s.clone()))))
        .collect()
}

// ---------------------------------------------------------------------------
// Measurement helpers
// ---------------------------------------------------------------------------

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
struct Mem {
    rss_kib: u64,
    hwm_kib: u64,
}

fn mem() -> Mem {
    Mem { rss_kib: status_kib("VmRSS:"), hwm_kib: status_kib("VmHWM:") }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Nearest-rank percentile of sorted nanoseconds, in µs.
fn pct_us(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

struct Dist {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
    n: usize,
}

fn dist(mut ns: Vec<u64>) -> Dist {
    ns.sort_unstable();
    let sum: u128 = ns.iter().map(|&x| x as u128).sum();
    Dist {
        p50: pct_us(&ns, 50.0),
        p90: pct_us(&ns, 90.0),
        p99: pct_us(&ns, 99.0),
        max: pct_us(&ns, 100.0),
        mean: if ns.is_empty() { f64::NAN } else { sum as f64 / ns.len() as f64 / 1000.0 },
        n: ns.len(),
    }
}

fn best_median(mut xs: Vec<Duration>) -> (f64, f64) {
    xs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(xs[0]), ms(xs[xs.len() / 2]))
}

/// Figures collected for the summary.
#[derive(Default)]
struct Report {
    rows: Vec<(String, String, String)>,
}

impl Report {
    /// One table row and one machine-readable line.
    fn fig(&mut self, name: &str, value: f64, unit: &str, note: impl Into<String>) {
        let shown = if value.is_nan() {
            "n/a".to_string()
        } else if value.abs() >= 100.0 {
            format!("{value:.0}")
        } else if value.abs() >= 10.0 {
            format!("{value:.1}")
        } else if value.abs() >= 1.0 {
            format!("{value:.2}")
        } else {
            format!("{value:.3}")
        };
        println!("BENCH {name} {value:.3} {unit}");
        self.rows.push((name.to_string(), format!("{shown} {unit}"), note.into()));
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "nproc {cores}, {model}, {:.1} GiB RAM, Linux {}",
        total as f64 / 1024.0 / 1024.0,
        kernel.trim()
    )
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn file_mib(path: &Path) -> f64 {
    let mut total = 0;
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        total += std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    }
    total as f64 / 1024.0 / 1024.0
}

// ---------------------------------------------------------------------------
// Direct (reference) access to the same database
// ---------------------------------------------------------------------------

enum Direct {
    Sqlite(rusqlite::Connection),
    /// The client and its prepared statements (as the store's `prepare_cached`).
    Pg(tokio_postgres::Client, std::sync::Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>),
}

const LOOKUP_SQL: &str = "SELECT object, record_id, field FROM dt_phone_index WHERE e164 = ?1 ORDER BY object, record_id, field";

impl Direct {
    async fn open(store: &Target) -> Result<Direct> {
        Ok(match store {
            Target::Sqlite(path) => {
                let c = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // The store's readers use a 64 MiB page cache; so does the reference.
                c.pragma_update(None, "cache_size", -65536)?;
                Direct::Sqlite(c)
            }
            Target::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        eprintln!("reference connection: {e}");
                    }
                });
                Direct::Pg(client, Default::default())
            }
        })
    }

    async fn pg_stmt(c: &tokio_postgres::Client, cache: &std::sync::Mutex<std::collections::HashMap<String, tokio_postgres::Statement>>, sql: &str) -> Result<tokio_postgres::Statement> {
        if let Some(s) = cache.lock().expect("not poisoned").get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql).await?;
        cache.lock().expect("not poisoned").insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The indexed phone query the store runs, without the store around it.
    async fn phone(&self, e164: &str) -> Result<usize> {
        match self {
            Direct::Sqlite(c) => {
                let mut stmt = c.prepare_cached(LOOKUP_SQL)?;
                let rows = stmt.query_map([e164], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.len())
            }
            Direct::Pg(c, cache) => {
                let stmt = Self::pg_stmt(c, cache, &LOOKUP_SQL.replace("?1", "$1")).await?;
                let rows = c.query(&stmt, &[&e164]).await?;
                let v: Vec<(String, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
                Ok(v.len())
            }
        }
    }

    /// What a system without a phone index does: compare the written text.
    async fn naive(&self, written: &str) -> Result<usize> {
        let sql = "SELECT id FROM sobj_contact WHERE phone = ?1 OR mobilephone = ?1";
        match self {
            Direct::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let rows = stmt.query_map([written], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.len())
            }
            Direct::Pg(c, cache) => {
                let stmt = Self::pg_stmt(c, cache, &sql.replace("?1", "$1")).await?;
                Ok(c.query(&stmt, &[&written]).await?.len())
            }
        }
    }

    /// Runs hand-written SQL; rows rendered as text for comparison.
    async fn rows(&self, sql: &str, param: Option<&str>) -> Result<Vec<Vec<String>>> {
        match self {
            Direct::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let width = stmt.column_count();
                let params: Vec<&str> = param.into_iter().collect();
                let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
                    (0..width)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => String::new(),
                                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                                rusqlite::types::ValueRef::Real(x) => x.to_string(),
                                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                        })
                        .collect::<rusqlite::Result<Vec<String>>>()
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Direct::Pg(c, cache) => {
                let stmt = Self::pg_stmt(c, cache, sql).await?;
                let rows = match param {
                    Some(p) => c.query(&stmt, &[&p]).await?,
                    None => c.query(&stmt, &[]).await?,
                };
                use tokio_postgres::types::Type;
                rows.iter()
                    .map(|r| {
                        (0..r.len())
                            .map(|i| {
                                Ok(match *r.columns()[i].type_() {
                                    Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(|v| v.to_string()),
                                    Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(|v| v.to_string()),
                                    Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(|v| v.to_string()),
                                    _ => r.try_get::<_, Option<String>>(i)?,
                                }
                                .unwrap_or_default())
                            })
                            .collect::<Result<Vec<String>>>()
                    })
                    .collect()
            }
        }
    }
}

fn render(rows: &[Vec<Value>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Null => String::new(),
                    Value::Float(x) => x.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The hand-written import reference
// ---------------------------------------------------------------------------

/// Columns the reference writes beyond the generated fields, with their values.
fn reference_defaults(kind: Kind) -> &'static [(&'static str, i64)] {
    match kind {
        Kind::Contact => &[("DoNotCall", 0), ("HasOptedOutOfEmail", 0)],
        Kind::Lead => &[("DoNotCall", 0), ("IsConverted", 0)],
    }
}

fn reference_columns(kind: Kind) -> Vec<String> {
    let fields = match kind {
        Kind::Contact => CONTACT_FIELDS,
        Kind::Lead => LEAD_FIELDS,
    };
    let mut cols: Vec<String> = ["Id", "Name", "CreatedDate", "LastModifiedDate", "SystemModstamp"].iter().map(|s| s.to_string()).collect();
    cols.extend(fields.iter().map(|s| s.to_string()));
    cols.extend(reference_defaults(kind).iter().map(|(n, _)| n.to_string()));
    cols
}

/// The phone index as one clustered B-tree keyed by number: a lookup is one
/// range scan, an insert one B-tree insert (instead of a rowid row plus an
/// entry in `ix_phone_e164`).
const WITHOUT_ROWID_PHONE_INDEX: &str = "CREATE TABLE dt_phone_index (e164 TEXT NOT NULL, object TEXT NOT NULL, record_id TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (e164, object, record_id, field)) WITHOUT ROWID";

/// The store's phone index widened to cover the lookup: no rowid fetch per
/// match and no temp B-tree for its ORDER BY.
const COVERING_PHONE_INDEX: &str = "CREATE INDEX ix_phone_e164 ON dt_phone_index (e164, object, record_id, field)";

/// The standard pragmas of the store's writer: WAL, synchronous=FULL, 64 MiB cache.
const STORE_PRAGMAS: &str = "journal_mode=WAL;synchronous=FULL;cache_size=-65536";

/// A reference importer in a child process, so its memory is its own, driven
/// batch by batch between the store's batches, so the machine's noise falls
/// on both alike. Same rows, same DDL, same pragmas, same rows per transaction.
struct Worker {
    label: String,
    child: std::process::Child,
    tx: Option<std::process::ChildStdin>,
    rx: std::io::BufReader<std::process::ChildStdout>,
    elapsed: Duration,
}

impl Worker {
    fn spawn(label: &str, args: &Args, db: &Path, ddl_from: &Path, phone: bool, pragmas: &str) -> Result<Worker> {
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["--reference-worker", "--records", &args.records.to_string(), "--seed", &args.seed.to_string()])
            .args(["--region", &args.region, "--batch", &args.batch.to_string()])
            .arg("--worker-db")
            .arg(db)
            .arg("--worker-ddl-from")
            .arg(ddl_from)
            .args(["--worker-pragmas", pragmas])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if phone {
            cmd.arg("--worker-phone");
        }
        if label == "mimic" {
            cmd.arg("--worker-mimic");
        }
        if let Some(n) = args.reference_batch.filter(|_| !matches!(label, "mimic" | "lean")) {
            cmd.args(["--worker-commit-every", &n.to_string()]);
        }
        if label == "lean" {
            cmd.arg("--worker-lean");
        }
        let mut child = cmd.spawn().context("starting a reference worker")?;
        let tx = child.stdin.take();
        let rx = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut w = Worker { label: label.to_string(), child, tx, rx, elapsed: Duration::ZERO };
        let ready = w.line()?;
        if ready != "ready" {
            bail!("reference worker {label}: {ready}");
        }
        Ok(w)
    }

    fn line(&mut self) -> Result<String> {
        use std::io::BufRead;
        let mut l = String::new();
        self.rx.read_line(&mut l)?;
        if l.is_empty() {
            bail!("reference worker {} exited", self.label);
        }
        Ok(l.trim().to_string())
    }

    fn batch(&mut self, kind: Kind, k: u64, end: u64) -> Result<()> {
        use std::io::Write;
        let tx = self.tx.as_mut().expect("open");
        writeln!(tx, "{} {k} {end}", if kind == Kind::Contact { 'C' } else { 'L' })?;
        tx.flush()?;
        let reply = self.line()?;
        let ns: u64 = reply
            .strip_prefix("ok ")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| anyhow!("reference worker {}: {reply}", self.label))?;
        self.elapsed += Duration::from_nanos(ns);
        Ok(())
    }

    /// Ends the worker; returns its peak resident memory (KiB).
    fn finish(mut self) -> Result<u64> {
        drop(self.tx.take());
        let reply = self.line()?;
        self.child.wait()?;
        reply.strip_prefix("hwm ").and_then(|n| n.parse().ok()).ok_or_else(|| anyhow!("reference worker {}: {reply}", self.label))
    }
}

/// A copy of `SqliteStore::insert`'s body (complete_row, per-row SQL text,
/// prepare_cached, phone_entries), to tell its cost from the trait's.
/// With `lean`, the small changes suggested in BENCHMARKS.md: the INSERT text
/// built once per column shape, values bound without cloning, phone fields
/// found through `ObjectDef::phone_fields` instead of a lookup per value.
fn mimic_insert(conn: &mut rusqlite::Connection, obj: &ObjectDef, first: u64, rows: Vec<Vec<(String, Value)>>, normalizer: &Normalizer, lean: bool) -> Result<()> {
    struct Bind<'a>(&'a Value);
    impl rusqlite::ToSql for Bind<'_> {
        fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
            use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
            Ok(match self.0 {
                Value::Null => ToSqlOutput::Owned(V::Null),
                Value::Bool(b) => ToSqlOutput::Owned(V::Integer(*b as i64)),
                Value::Int(i) => ToSqlOutput::Owned(V::Integer(*i)),
                Value::Float(f) => ToSqlOutput::Owned(V::Real(*f)),
                Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            })
        }
    }
    let now = dialtone_model::format_datetime(time::OffsetDateTime::now_utc());
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut shape: Vec<String> = Vec::new();
    let mut shape_sql = String::new();
    let phone_fields: Vec<&str> = obj.phone_fields().map(|f| f.name.as_str()).collect();
    for (i, mut values) in rows.into_iter().enumerate() {
        if lean {
            let id = SalesforceId::new(&obj.key_prefix, first + i as u64);
            values.retain(|(n, _)| !matches!(n.as_str(), "Id" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp" | "CreatedById" | "LastModifiedById"));
            values.push(("Id".into(), Value::Text(id.to_string())));
            for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
                values.push((f.into(), Value::Text(now.clone())));
            }
            if shape.len() != values.len() || shape.iter().zip(&values).any(|(a, (b, _))| a != b) {
                shape = values.iter().map(|(n, _)| n.clone()).collect();
                let cols: Vec<String> = shape.iter().map(|c| format!("\"{}\"", c.to_ascii_lowercase())).collect();
                let ph: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                shape_sql = format!("INSERT INTO {} ({}) VALUES ({})", obj.table(), cols.join(", "), ph.join(", "));
            }
            tx.prepare_cached(&shape_sql)?.execute(rusqlite::params_from_iter(values.iter().map(|(_, v)| Bind(v))))?;
            let mut ix = tx.prepare_cached("INSERT INTO dt_phone_index (e164, object, record_id, field) VALUES (?1, ?2, ?3, ?4)")?;
            for (name, v) in &values {
                if !phone_fields.contains(&name.as_str()) {
                    continue;
                }
                if let Some(e) = v.as_str().and_then(|w| normalizer.normalize(w)) {
                    ix.execute(rusqlite::params![e.as_str(), obj.name, id.as_str(), name])?;
                }
            }
            continue;
        }
        let id = SalesforceId::new(&obj.key_prefix, first + i as u64);
        values.retain(|(n, _)| !matches!(n.as_str(), "Id" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp" | "CreatedById" | "LastModifiedById"));
        values.push(("Id".into(), Value::Text(id.to_string())));
        for f in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
            values.push((f.into(), Value::Text(now.clone())));
        }
        let columns: Vec<String> = values.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let vals: Vec<Value> = values.iter().map(|(_, v)| v.clone()).collect();
        let cols: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let ph: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("INSERT INTO {} ({}) VALUES ({})", obj.table(), cols.join(", "), ph.join(", "));
        let mut stmt = tx.prepare_cached(&sql)?;
        stmt.execute(rusqlite::params_from_iter(vals.iter().map(Bind)))?;
        let entries: Vec<(String, dialtone_phone::E164)> = values
            .iter()
            .filter_map(|(name, v)| {
                let f = obj.field(name)?;
                if !f.is_phone() {
                    return None;
                }
                Some((f.name.clone(), normalizer.normalize(v.as_str()?)?))
            })
            .collect();
        let mut ix = tx.prepare_cached("INSERT INTO dt_phone_index (e164, object, record_id, field) VALUES (?1, ?2, ?3, ?4)")?;
        for (field, e) in &entries {
            ix.execute(rusqlite::params![e.as_str(), obj.name, id.as_str(), field])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The worker's side: plain prepared INSERTs, no validation, no trait; with
/// `--worker-phone` also normalisation and the phone index rows.
fn run_worker(args: &Args) -> Result<()> {
    use std::io::{BufRead, Write};
    use rusqlite::types::Value as V;
    let out = std::io::stdout();
    let mut out = out.lock();
    let setup = || -> Result<(rusqlite::Connection, Generator, Normalizer)> {
        let db = args.worker_db.as_ref().ok_or_else(|| anyhow!("--worker-db"))?;
        let ddl = copy_ddl(args.worker_ddl_from.as_ref().ok_or_else(|| anyhow!("--worker-ddl-from"))?)?;
        let conn = rusqlite::Connection::open(db)?;
        let mut layout = "store";
        for p in args.worker_pragmas.as_deref().unwrap_or(STORE_PRAGMAS).split(';').filter(|p| !p.trim().is_empty()) {
            let (k, v) = p.split_once('=').ok_or_else(|| anyhow!("pragma {p:?} is not name=value"))?;
            if k.trim() == "phone_index" {
                // Not a pragma: the phone index's layout.
                layout = match v.trim() {
                    "without_rowid" => "without_rowid",
                    "covering" => "covering",
                    "store" => "store",
                    other => bail!("phone_index={other}: use without_rowid, covering or store"),
                };
                continue;
            }
            conn.pragma_update(None, k.trim(), v.trim())?;
        }
        for stmt in &ddl {
            match layout {
                "without_rowid" if stmt.starts_with("CREATE INDEX ix_phone_e164") => continue,
                "without_rowid" if stmt.starts_with("CREATE TABLE dt_phone_index") => conn.execute(WITHOUT_ROWID_PHONE_INDEX, [])?,
                "covering" if stmt.starts_with("CREATE INDEX ix_phone_e164") => conn.execute(COVERING_PHONE_INDEX, [])?,
                _ => conn.execute(stmt, [])?,
            };
        }
        let region = args.region.trim().to_ascii_uppercase();
        let normalizer = Normalizer::new(&region).map_err(|e| anyhow!("{e}"))?;
        let data = Generator { seed: args.seed, region, contacts: args.records / 2, leads: args.records - args.records / 2 };
        Ok((conn, data, normalizer))
    };
    let (mut conn, data, normalizer) = match setup() {
        Ok(x) => x,
        Err(e) => {
            writeln!(out, "error {e:#}")?;
            return Ok(());
        }
    };
    writeln!(out, "ready")?;
    out.flush()?;
    let schema = Schema::standard();
    let sql = |kind: Kind, obj: &ObjectDef| {
        let cols = reference_columns(kind);
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            obj.table(),
            cols.iter().map(|c| format!("\"{}\"", c.to_ascii_lowercase())).collect::<Vec<_>>().join(", "),
            (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
        )
    };
    let (mut in_tx, mut rows_in_tx) = (false, 0u64);
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        let mut parts = line.split_whitespace();
        let (kind, k, end) = match (parts.next(), parts.next().and_then(|x| x.parse::<u64>().ok()), parts.next().and_then(|x| x.parse::<u64>().ok())) {
            (Some("C"), Some(k), Some(e)) => (Kind::Contact, k, e),
            (Some("L"), Some(k), Some(e)) => (Kind::Lead, k, e),
            _ => {
                writeln!(out, "error bad request {line:?}")?;
                out.flush()?;
                continue;
            }
        };
        let obj = schema.object(if kind == Kind::Contact { "Contact" } else { "Lead" }).expect("standard object");
        let insert_sql = sql(kind, obj);
        if args.worker_mimic || args.worker_lean {
            let rows: Vec<Vec<(String, Value)>> = (k..end)
                .map(|k| obj.check_create(raw_row(obj, &data.row(kind, k))).map_err(|e| anyhow!("{e:?}")))
                .collect::<Result<_>>()?;
            let t = Instant::now();
            let r = mimic_insert(&mut conn, obj, k + 1, rows, &normalizer, args.worker_lean);
            match r {
                Ok(()) => writeln!(out, "ok {}", t.elapsed().as_nanos())?,
                Err(e) => writeln!(out, "error {e:#}")?,
            }
            out.flush()?;
            continue;
        }
        let t = Instant::now();
        let result = (|| -> Result<()> {
            let now = dialtone_model::format_datetime(time::OffsetDateTime::now_utc());
            // Commit every `commit_every` rows (by default once per request).
            let commit_every = args.worker_commit_every.unwrap_or(u64::MAX);
            for k in k..end {
                if !in_tx {
                    conn.execute_batch("BEGIN IMMEDIATE")?;
                    in_tx = true;
                }
                let row = data.row(kind, k);
                let id = SalesforceId::new(&obj.key_prefix, k + 1);
                let text = |f: &str| row.fields.iter().find(|(n, _)| *n == f).and_then(|(_, v)| v.clone());
                let name = format!("{} {}", text("FirstName").unwrap_or_default(), text("LastName").unwrap_or_default());
                let mut vals: Vec<V> = vec![
                    V::Text(id.to_string()),
                    V::Text(name.trim().to_string()),
                    V::Text(now.clone()),
                    V::Text(now.clone()),
                    V::Text(now.clone()),
                ];
                for (f, v) in &row.fields {
                    vals.push(match (v, *f) {
                        (None, "Status") => V::Text("Open - Not Contacted".into()),
                        (None, _) => V::Null,
                        (Some(s), "AnnualRevenue") => V::Real(s.parse()?),
                        (Some(s), _) => V::Text(s.clone()),
                    });
                }
                vals.extend(reference_defaults(kind).iter().map(|(_, n)| V::Integer(*n)));
                conn.prepare_cached(&insert_sql)?.execute(rusqlite::params_from_iter(vals))?;
                if args.worker_phone {
                    let mut idx = conn.prepare_cached("INSERT INTO dt_phone_index (e164, object, record_id, field) VALUES (?1, ?2, ?3, ?4)")?;
                    for (f, v) in &row.fields {
                        if !matches!(*f, "Phone" | "MobilePhone") {
                            continue;
                        }
                        if let Some(e) = v.as_deref().and_then(|w| normalizer.normalize(w)) {
                            idx.execute(rusqlite::params![e.as_str(), obj.name, id.as_str(), f])?;
                        }
                    }
                }
                rows_in_tx += 1;
                if rows_in_tx >= commit_every {
                    conn.execute_batch("COMMIT")?;
                    in_tx = false;
                    rows_in_tx = 0;
                }
            }
            if args.worker_commit_every.is_none() && in_tx {
                conn.execute_batch("COMMIT")?;
                in_tx = false;
                rows_in_tx = 0;
            }
            Ok(())
        })();
        match result {
            Ok(()) => writeln!(out, "ok {}", t.elapsed().as_nanos())?,
            Err(e) => writeln!(out, "error {e:#}")?,
        }
        out.flush()?;
    }
    if in_tx {
        conn.execute_batch("COMMIT")?;
    }
    drop(conn);
    writeln!(out, "hwm {}", status_kib("VmHWM:"))?;
    out.flush()?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.reference_worker {
        return run_worker(&args);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let mut report = Report::default();
    println!("# dialtone-bench");
    println!("command: {}", std::env::args().collect::<Vec<_>>().join(" "));
    println!("machine: {}", machine());
    println!("load average at start: {}", loadavg());
    println!("profile: {}", if cfg!(debug_assertions) { "DEBUG (numbers are meaningless; use --release)" } else { "release" });

    let region = args.region.trim().to_ascii_uppercase();
    let normalizer = Normalizer::new(&region).map_err(|e| anyhow!("{e}"))?;
    let schema = Schema::standard();
    let contact = schema.object("Contact").expect("standard Contact");
    let lead = schema.object("Lead").expect("standard Lead");
    let data = Generator { seed: args.seed, region: region.clone(), contacts: args.records / 2, leads: args.records - args.records / 2 };

    // Every written form of a number must meet on one key, or the lookups below mean nothing.
    self_check(&data, &normalizer)?;
    if let Some(dir) = &args.write_csv {
        return write_csv(dir, &data, args.callers, args.seed);
    }

    // The store.
    let tmp = match &args.dir {
        Some(d) => tempfile::Builder::new().prefix("dialtone-bench-").tempdir_in(d)?,
        None => tempfile::Builder::new().prefix("dialtone-bench-").tempdir()?,
    };
    let target = if args.store.starts_with("postgres://") || args.store.starts_with("postgresql://") {
        Target::Postgres(args.store.clone())
    } else if args.store == "sqlite" {
        Target::Sqlite(tmp.path().join("dialtone.db"))
    } else {
        bail!("--store is `sqlite` or a postgres:// URL");
    };
    let location = match &target {
        Target::Sqlite(p) => {
            println!("sqlite store: {}", p.display());
            Location::Sqlite(p.clone())
        }
        Target::Postgres(u) => {
            println!("postgres store: {}", redact_url(u));
            Location::Postgres(u.clone())
        }
    };
    let store: DynStore = dialtone_store::open(&location, &region).await.context("opening the store")?;
    let dialect = store.dialect();
    let existing = count(&store, "SELECT COUNT() FROM Contact").await? + count(&store, "SELECT COUNT() FROM Lead").await?;
    if existing > 0 {
        bail!("the store already holds {existing} Contacts/Leads: use an empty database");
    }
    println!(
        "records: {} ({} Contacts + {} Leads), batch {} rows/transaction, seed {}, region {region}",
        args.records, data.contacts, data.leads, args.batch, args.seed
    );
    let m0 = mem();
    println!("memory before import: VmRSS {:.0} MiB", mib(m0.rss_kib));

    // ---- 1. Import through the real path ---------------------------------------------------
    // The reference importers start first (they copy the store's DDL) and take
    // each batch right after the store does.
    let mut workers: Vec<Worker> = Vec::new();
    // Reference databases whose phone lookups are timed too.
    let mut what_if: Vec<(String, PathBuf)> = Vec::new();
    match (&target, args.no_reference_import) {
        (Target::Sqlite(db), false) => {
            let ddl = copy_ddl(db)?;
            println!(
                "reference importers: child processes, same {} DDL statements (copied from sqlite_master), same rows, {} rows per transaction",
                ddl.len(),
                args.reference_batch.unwrap_or(args.batch as u64)
            );
            check_same_columns(contact, Kind::Contact, &data)?;
            check_same_columns(lead, Kind::Lead, &data)?;
            workers.push(Worker::spawn("plain", &args, &tmp.path().join("ref-plain.db"), db, false, STORE_PRAGMAS)?);
            workers.push(Worker::spawn("phone", &args, &tmp.path().join("ref-phone.db"), db, true, STORE_PRAGMAS)?);
            if args.mimic {
                workers.push(Worker::spawn("mimic", &args, &tmp.path().join("ref-mimic.db"), db, true, STORE_PRAGMAS)?);
                workers.push(Worker::spawn("lean", &args, &tmp.path().join("ref-lean.db"), db, true, STORE_PRAGMAS)?);
            }
            for (i, t) in args.tune.iter().enumerate() {
                let pragmas = format!("{STORE_PRAGMAS};{t}");
                let path = tmp.path().join(format!("ref-tuned-{i}.db"));
                workers.push(Worker::spawn(&format!("phone+{t}"), &args, &path, db, true, &pragmas)?);
                if t.contains("phone_index=without_rowid") || t.contains("phone_index=covering") {
                    what_if.push((t.clone(), path));
                }
            }
        }
        (Target::Postgres(_), _) => println!("(the hand-written import reference is SQLite-only; skipped for PostgreSQL)"),
        (_, true) => println!("(import references skipped: --no-reference-import)"),
    }
    println!("\n## Import (check_create + Store::insert, {} rows per transaction)", args.batch);
    let mut t_gen = Duration::ZERO;
    let mut t_check = Duration::ZERO;
    let mut t_insert = Duration::ZERO;
    let mut phones_written = 0u64;
    let mut done = 0u64;
    let mut next_progress = args.records / 10;
    let mut last = (Duration::ZERO, workers.iter().map(|w| w.elapsed).collect::<Vec<_>>());
    for (kind, obj) in [(Kind::Contact, contact), (Kind::Lead, lead)] {
        let total = data.count(kind);
        let mut k = 0;
        while k < total {
            let end = (k + args.batch as u64).min(total);
            let t = Instant::now();
            let raws: Vec<Vec<(String, RawValue)>> = (k..end)
                .map(|k| {
                    let row = data.row(kind, k);
                    phones_written += row.phones.len() as u64;
                    raw_row(obj, &row)
                })
                .collect();
            t_gen += t.elapsed();
            let t = Instant::now();
            let mut rows = Vec::with_capacity(raws.len());
            for (i, raw) in raws.into_iter().enumerate() {
                match obj.check_create(raw) {
                    Ok(v) => rows.push(v),
                    Err(e) => bail!("{} {} refused: {e:?}", obj.name, k + i as u64),
                }
            }
            t_check += t.elapsed();
            let t = Instant::now();
            store.insert(obj, rows, None).await.with_context(|| format!("inserting {} {k}..{end}", obj.name))?;
            t_insert += t.elapsed();
            for w in &mut workers {
                w.batch(kind, k, end)?;
            }
            done += end - k;
            k = end;
            if done >= next_progress {
                let ours = t_gen + t_check + t_insert;
                let mut line = format!("  {:>3}%: Dialtone {:>5.1} s (this tenth {:>4.1} s)", done * 100 / args.records, ours.as_secs_f64(), (ours - last.0).as_secs_f64());
                for (w, prev) in workers.iter().zip(&last.1) {
                    let _ = write!(line, "; {} {:.1} s ({:.1} s)", w.label, w.elapsed.as_secs_f64(), (w.elapsed - *prev).as_secs_f64());
                }
                println!("{line}");
                last = (ours, workers.iter().map(|w| w.elapsed).collect());
                next_progress += args.records / 10;
            }
        }
    }
    let t_import = t_gen + t_check + t_insert;
    let m_import = mem();
    let rate = args.records as f64 / t_import.as_secs_f64();
    println!(
        "imported {} records in {:.1} s = {:.0} records/s (generate {:.1} s, check_create {:.1} s, Store::insert {:.1} s); {} phone numbers indexed",
        args.records,
        t_import.as_secs_f64(),
        rate,
        t_gen.as_secs_f64(),
        t_check.as_secs_f64(),
        t_insert.as_secs_f64(),
        phones_written
    );
    let db_mib = match &target {
        Target::Sqlite(p) => Some(file_mib(p)),
        Target::Postgres(_) => None,
    };
    if let Some(m) = db_mib {
        println!("database size after import: {m:.0} MiB (main file + WAL)");
    }
    println!("memory after import: VmRSS {:.0} MiB, VmHWM {:.0} MiB", mib(m_import.rss_kib), mib(m_import.hwm_kib));

    // Phone normalisation alone, on the same written numbers (a share of the import's cost).
    let norm_sample: Vec<String> = (0..data.contacts.min(100_000))
        .flat_map(|k| data.contact(k).fields.into_iter().filter(|(f, _)| matches!(*f, "Phone" | "MobilePhone")).filter_map(|(_, v)| v))
        .collect();
    let t = Instant::now();
    let mut ok = 0;
    for w in &norm_sample {
        ok += normalizer.normalize(w).is_some() as usize;
    }
    let norm_us = t.elapsed().as_secs_f64() * 1e6 / norm_sample.len().max(1) as f64;
    assert_eq!(ok, norm_sample.len(), "every generated number normalises");
    println!("phone normalisation alone: {norm_us:.2} µs per number → ≈{:.1} s of the import for {phones_written} numbers",
        norm_us * phones_written as f64 / 1e6);

    report.fig("import.seconds", t_import.as_secs_f64(), "s", format!("{} records, {} per transaction", args.records, args.batch));
    report.fig("import.rate", rate, "records/s", "");
    report.fig("import.generate.seconds", t_gen.as_secs_f64(), "s", "building the raw rows (the CSV reader's share in `dialtone import`)");
    report.fig("import.check_create.seconds", t_check.as_secs_f64(), "s", "validation");
    report.fig("import.store_insert.seconds", t_insert.as_secs_f64(), "s", "Store::insert: SQL, phone normalisation + index, commit");
    report.fig("import.normalise.us_per_number", norm_us, "µs", format!("≈{:.1} s of the import", norm_us * phones_written as f64 / 1e6));
    if let Some(m) = db_mib {
        report.fig("import.db_size", m, "MiB", "SQLite file + WAL");
    }
    report.fig("mem.after_import.rss", mib(m_import.rss_kib), "MiB", "VmRSS");
    report.fig("mem.after_import.hwm", mib(m_import.hwm_kib), "MiB", "VmHWM (peak so far)");

    // ---- 2. Phone lookups ---------------------------------------------------------------------
    let probe_email = data.contact(data.contacts / 3).fields.into_iter().find(|(f, _)| *f == "Email").and_then(|(_, v)| v);
    let probe_email = match probe_email {
        Some(e) => e,
        None => (0..data.contacts).find_map(|k| data.contact(k).fields.into_iter().find(|(f, _)| *f == "Email").and_then(|(_, v)| v)).unwrap_or_default(),
    };
    let pg = dialect == Dialect::Postgres;
    let queries: Vec<(&str, String, String, Option<String>)> = vec![
        (
            "soql.lead_by_source",
            "SELECT LeadSource, COUNT(Id) cnt, SUM(AnnualRevenue) FROM Lead GROUP BY LeadSource".into(),
            "SELECT leadsource, COUNT(id), SUM(annualrevenue) FROM sobj_lead GROUP BY leadsource".into(),
            None,
        ),
        (
            "soql.contact_by_country",
            "SELECT MailingCountry, COUNT(Id) FROM Contact GROUP BY MailingCountry".into(),
            "SELECT mailingcountry, COUNT(id) FROM sobj_contact GROUP BY mailingcountry".into(),
            None,
        ),
        (
            "soql.count_lastname",
            "SELECT COUNT() FROM Contact WHERE LastName = 'Smith'".into(),
            if pg {
                "SELECT COUNT(*) FROM sobj_contact WHERE lower(lastname) = lower($1)".into()
            } else {
                "SELECT COUNT(*) FROM sobj_contact WHERE lastname = ?1 COLLATE NOCASE".into()
            },
            Some("Smith".into()),
        ),
        (
            "soql.by_email",
            format!("SELECT Id, Name, Phone FROM Contact WHERE Email = '{probe_email}'"),
            if pg {
                "SELECT id, name, phone FROM sobj_contact WHERE lower(email) = lower($1)".into()
            } else {
                "SELECT id, name, phone FROM sobj_contact WHERE lower(email) = lower(?1)".into()
            },
            Some(probe_email.clone()),
        ),
    ];
    println!("\n## Phone lookup (normalise + Store::phone_lookup, sequential, one task)");
    // Let the kernel write back the import's dirty pages first, so they do not
    // land in the middle of the timings.
    let t = Instant::now();
    let synced = std::process::Command::new("sync").status().map(|s| s.success()).unwrap_or(false);
    println!("sync before timing: {} ({:.1} s)", if synced { "done" } else { "failed" }, t.elapsed().as_secs_f64());
    let probes = make_probes(&data, &normalizer, args.lookups + 1000, args.seed);
    let mismatched = probes.iter().filter(|p| normalizer.normalize(&p.written).map(|e| e.to_string()) != Some(p.e164.clone())).count();
    if mismatched > 0 {
        bail!("{mismatched} probes normalise to a different number than generated");
    }
    let (warm, timed) = probes.split_at(1000.min(probes.len()));
    for p in warm {
        let e = normalizer.normalize(&p.written).expect("checked");
        store.phone_lookup(&e).await?;
    }
    // Pass 1, the store alone: throughput (wall clock) and correctness.
    let mut wrong = 0usize;
    let mut max_matches = 0usize;
    let mut matched_rows = 0usize;
    let loop_start = Instant::now();
    for p in timed {
        let matches = match normalizer.normalize(&p.written) {
            Some(e) => store.phone_lookup(&e).await?,
            None => Vec::new(),
        };
        max_matches = max_matches.max(matches.len());
        matched_rows += matches.len();
        let right = match &p.expect {
            Some(id) => matches.iter().any(|m| &m.id == id),
            None => matches.is_empty(),
        };
        wrong += !right as usize;
    }
    let loop_secs = loop_start.elapsed().as_secs_f64();
    let unknown = timed.iter().filter(|p| p.expect.is_none()).count();
    if wrong > 0 {
        bail!("{wrong} of {} lookups returned the wrong records", timed.len());
    }
    println!(
        "{} lookups ({} unknown numbers), all correct; {:.2} matches per lookup on average, at most {max_matches}",
        timed.len(),
        unknown,
        matched_rows as f64 / timed.len() as f64
    );
    let lps = timed.len() as f64 / loop_secs;
    println!("throughput: {lps:.0} lookups/s (sequential, one task, including normalisation)");
    // The SOQL queries once through the store, so the memory figure below covers them.
    for (_, soql, _, _) in &queries {
        let plan = dialtone_soql::compile(soql, schema, dialect, time::OffsetDateTime::now_utc()).map_err(|e| anyhow!("{soql}: {e}"))?;
        std::hint::black_box(store.query(&plan, None).await?);
    }
    let m_lookup = mem();
    println!("memory after lookups and one run of each SOQL query: VmRSS {:.0} MiB, VmHWM {:.0} MiB", mib(m_lookup.rss_kib), mib(m_lookup.hwm_kib));

    // Pass 2, latency: each lookup timed, alternating with the floor — the
    // store's own SQL through the driver, same E164 key — so noise hits both.
    let direct = Direct::open(&target).await?;
    for p in warm {
        direct.phone(&p.e164).await?;
    }
    let mut total_ns = Vec::with_capacity(timed.len());
    let mut lookup_ns = Vec::with_capacity(timed.len());
    let mut floor_ns = Vec::with_capacity(timed.len());
    for (i, p) in timed.iter().enumerate() {
        if i % 2 == 1 {
            let t = Instant::now();
            direct.phone(&p.e164).await?;
            floor_ns.push(t.elapsed().as_nanos() as u64);
        }
        let t0 = Instant::now();
        let e = normalizer.normalize(&p.written);
        let t1 = Instant::now();
        let matches = match &e {
            Some(e) => store.phone_lookup(e).await?,
            None => Vec::new(),
        };
        let t2 = Instant::now();
        std::hint::black_box(matches);
        total_ns.push((t2 - t0).as_nanos() as u64);
        lookup_ns.push((t2 - t1).as_nanos() as u64);
        if i % 2 == 0 {
            let t = Instant::now();
            direct.phone(&p.e164).await?;
            floor_ns.push(t.elapsed().as_nanos() as u64);
        }
    }
    let dt = dist(total_ns);
    let dl = dist(lookup_ns);
    let df = dist(floor_ns);
    print_dist("normalise + lookup", &dt);
    print_dist("lookup only (E164 given)", &dl);
    print_dist("floor: indexed SQL via the driver", &df);
    for (label, path) in &what_if {
        // The same floor query on the reference database with another phone index layout, alternating with the store's.
        let other = Direct::open(&Target::Sqlite(path.clone())).await?;
        for p in warm {
            other.phone(&p.e164).await?;
        }
        let (mut ours, mut theirs) = (Vec::with_capacity(timed.len()), Vec::with_capacity(timed.len()));
        for (i, p) in timed.iter().enumerate() {
            for side in [i % 2, 1 - i % 2] {
                let t = Instant::now();
                let n = if side == 0 { direct.phone(&p.e164).await? } else { other.phone(&p.e164).await? };
                std::hint::black_box(n);
                if side == 0 { ours.push(t.elapsed().as_nanos() as u64) } else { theirs.push(t.elapsed().as_nanos() as u64) }
            }
        }
        let (o, t) = (dist(ours), dist(theirs));
        print_dist(&format!("what if {label}: floor on the store's layout"), &o);
        print_dist(&format!("what if {label}: floor on that layout"), &t);
        report.fig(&format!("lookup.what_if.{label}.p50"), t.p50, "µs", format!("driver floor on that layout; store's layout {:.1} µs alongside", o.p50));
        report.fig(&format!("lookup.what_if.{label}.p99"), t.p99, "µs", format!("store's layout {:.1} µs alongside", o.p99));
    }

    // The naive reference: no index, compare the written text (Contact table only).
    let naive_probes: Vec<&Probe> = timed.iter().filter(|p| p.stored.is_some()).take(args.naive_lookups).collect();
    let mut naive_ns = Vec::new();
    let mut naive_found = 0;
    for p in &naive_probes {
        let t = Instant::now();
        naive_found += (direct.naive(p.stored.as_deref().expect("filtered")).await? > 0) as usize;
        naive_ns.push(t.elapsed().as_nanos() as u64);
    }
    let mut naive_other_form = 0;
    for p in &naive_probes {
        naive_other_form += (direct.naive(&p.written).await? > 0) as usize;
    }
    let dn = dist(naive_ns);
    print_dist("naive: WHERE phone = ? OR mobilephone = ? (no index, Contact only)", &dn);
    println!(
        "  (the naive scan found {naive_found} of {} given the exact stored text, {naive_other_form} of {} given the caller's written form)",
        naive_probes.len(),
        naive_probes.len()
    );

    report.fig("lookup.p50", dt.p50, "µs", "normalise + Store::phone_lookup");
    report.fig("lookup.p90", dt.p90, "µs", "");
    report.fig("lookup.p99", dt.p99, "µs", "target < 50 µs");
    report.fig("lookup.max", dt.max, "µs", "");
    report.fig("lookup.rate", lps, "lookups/s", "sequential, one task");
    report.fig("lookup.only.p50", dl.p50, "µs", "Store::phone_lookup alone (E164 given)");
    report.fig("lookup.only.p99", dl.p99, "µs", "");
    report.fig("lookup.normalise.p50", dt.p50 - dl.p50, "µs", "difference of medians");
    report.fig("lookup.floor.p50", df.p50, "µs", "same SQL via the driver directly");
    report.fig("lookup.floor.p99", df.p99, "µs", "");
    report.fig("lookup.trait_overhead.ratio", dl.p50 / df.p50, "x", "Store::phone_lookup p50 / driver p50");
    report.fig("lookup.naive.p50", dn.p50, "µs", format!("{} full scans of the Contact table", dn.n));
    report.fig("lookup.naive.ratio", dn.p50 / dt.p50, "x", "naive p50 / Dialtone p50 (with normalisation)");

    // ---- 3. SOQL aggregates ---------------------------------------------------------------------
    println!("\n## SOQL over {} rows (compile + Store::query vs hand-written SQL via the driver)", args.records);
    for (name, soql, hand, param) in &queries {
        let plan = dialtone_soql::compile(soql, schema, dialect, time::OffsetDateTime::now_utc())
            .map_err(|e| anyhow!("{soql}: {e}"))?;
        println!("\n{soql}\n  compiled: {}\n  by hand:  {hand}", plan.sql());
        // Warm both once, and check they agree.
        let mut ours = render(&store.query(&plan, None).await?);
        let mut theirs = direct.rows(hand, param.as_deref()).await?;
        ours.sort();
        theirs.sort();
        // Dialtone appends the hidden Id column to record rows.
        let agree = ours.len() == theirs.len() && ours.iter().zip(&theirs).all(|(a, b)| a.len() >= b.len() && a[..b.len()] == b[..]);
        let mut d_runs = Vec::new();
        let mut h_runs = Vec::new();
        for run in 0..args.runs.max(1) {
            // Alternate which goes first, so neither always follows the other.
            for side in [run % 2, 1 - run % 2] {
                if side == 0 {
                    let t = Instant::now();
                    let plan = dialtone_soql::compile(soql, schema, dialect, time::OffsetDateTime::now_utc())
                        .map_err(|e| anyhow!("{e}"))?;
                    let rows = store.query(&plan, None).await?;
                    d_runs.push(t.elapsed());
                    std::hint::black_box(rows);
                } else {
                    let t = Instant::now();
                    let rows = direct.rows(hand, param.as_deref()).await?;
                    h_runs.push(t.elapsed());
                    std::hint::black_box(rows);
                }
            }
        }
        let (db, dm) = best_median(d_runs);
        let (hb, hm) = best_median(h_runs);
        println!(
            "  {} rows, results {}; Dialtone best {db:.2} ms / median {dm:.2} ms; by hand best {hb:.2} ms / median {hm:.2} ms; ratio (best) {:.2}x",
            ours.len(),
            if agree { "agree" } else { "DIFFER" },
            db / hb
        );
        if !agree {
            println!("  ours:   {:?}\n  theirs: {:?}", &ours[..ours.len().min(5)], &theirs[..theirs.len().min(5)]);
        }
        report.fig(&format!("{name}.best"), db, "ms", soql.clone());
        report.fig(&format!("{name}.median"), dm, "ms", "");
        report.fig(&format!("{name}.hand.best"), hb, "ms", hand.clone());
        report.fig(&format!("{name}.ratio"), db / hb, "x", "Dialtone best / hand-written best");
    }
    let m_soql = mem();
    drop(direct);

    // ---- 4. The import references ---------------------------------------------------------------
    if !workers.is_empty() {
        println!("\n## Import references (interleaved with the store's batches, each in its own process)");
        let mut plain = None;
        for w in workers {
            let (label, secs) = (w.label.clone(), w.elapsed.as_secs_f64());
            let hwm = w.finish()?;
            // The mimic runs validated rows: compare it with Store::insert alone.
            let validated = matches!(label.as_str(), "mimic" | "lean");
            let ours = if validated { t_insert } else { t_import }.as_secs_f64();
            println!(
                "{label}: {secs:.1} s = {:.0} records/s; Dialtone{} / this = {:.2}x; its peak RSS {:.0} MiB",
                args.records as f64 / secs,
                if validated { " Store::insert" } else { "" },
                ours / secs,
                mib(hwm)
            );
            let (name, note) = match label.as_str() {
                "plain" => ("import.ref_plain".to_string(), "rusqlite prepared INSERTs: no validation, no phone index".to_string()),
                "mimic" => ("import.ref_mimic".to_string(), "a copy of SqliteStore::insert's body, no trait/runtime (compare with import.store_insert)".to_string()),
                "lean" => ("import.ref_lean".to_string(), "that copy with the suggested per-row fixes".to_string()),
                "phone" => ("import.ref_phone".to_string(), "the same + normalise + dt_phone_index rows".to_string()),
                other => (format!("import.ref_tuned.{}", other.trim_start_matches("phone+")), format!("ref_phone with PRAGMA {}", other.trim_start_matches("phone+"))),
            };
            report.fig(&format!("{name}.seconds"), secs, "s", note);
            report.fig(&format!("{name}.ratio"), ours / secs, "x", if validated { "Store::insert time / this" } else { "Dialtone import time / this" });
            if label == "plain" {
                report.fig("import.ref_plain.hwm", mib(hwm), "MiB", "the reference process's peak RSS");
                plain = Some(secs);
            }
        }
        let _ = plain;
    }

    let m_end = mem();
    report.fig("mem.dialtone.rss", mib(m_lookup.rss_kib), "MiB", "after import, lookups, each SOQL query once; no reference connection yet");
    report.fig("mem.dialtone.hwm", mib(m_lookup.hwm_kib), "MiB", "peak of the same (target < 1 GiB)");
    report.fig("mem.with_reference.rss", mib(m_soql.rss_kib), "MiB", "plus the reference's driver connection (64 MiB page cache) and its scans");
    report.fig("mem.with_reference.hwm", mib(m_soql.hwm_kib), "MiB", "");
    report.fig("mem.end.rss", mib(m_end.rss_kib), "MiB", "at the end (references run in their own processes)");
    report.fig("mem.end.hwm", mib(m_end.hwm_kib), "MiB", "");

    println!("\n## Summary\n");
    println!("| figure | value | note |\n|---|---:|---|");
    for (n, v, note) in &report.rows {
        println!("| {n} | {v} | {note} |");
    }
    let import_target = if args.records >= 1_000_000 {
        format!("import {:.1} s (< 60 s: {})", t_import.as_secs_f64(), yes(t_import.as_secs_f64() < 60.0))
    } else {
        format!("import {:.1} s for {} records (the 60 s target is for 1,000,000; at this rate ≈{:.0} s, though the rate falls as the tables grow)", t_import.as_secs_f64(), args.records, 1e6 / rate)
    };
    println!(
        "\ntargets: lookup p99 {:.1} µs (< 50 µs: {}), {import_target}, peak RSS {:.0} MiB (< 1024 MiB: {})",
        dt.p99,
        yes(dt.p99 < 50.0),
        mib(m_lookup.hwm_kib),
        yes(m_lookup.hwm_kib < 1024 * 1024)
    );
    println!("load average at end: {}; wall time {:.0} s", loadavg(), started.elapsed().as_secs_f64());
    if args.keep {
        let p = tmp.keep();
        println!("kept {}", p.display());
    }
    Ok(())
}

fn yes(b: bool) -> &'static str {
    if b { "met" } else { "MISSED" }
}

fn redact_url(u: &str) -> String {
    match (u.find("://"), u.find('@')) {
        (Some(s), Some(at)) if u[s + 3..at].contains(':') => format!("{}://***@{}", &u[..s], &u[at + 1..]),
        _ => u.to_string(),
    }
}

fn print_dist(label: &str, d: &Dist) {
    println!(
        "  {label}: p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs, max {:.1} µs, mean {:.1} µs (n={})",
        d.p50, d.p90, d.p99, d.max, d.mean, d.n
    );
}

async fn count(store: &DynStore, soql: &str) -> Result<u64> {
    let plan = dialtone_soql::compile(soql, Schema::standard(), store.dialect(), time::OffsetDateTime::now_utc())
        .map_err(|e| anyhow!("{e}"))?;
    Ok(store.count(&plan).await?)
}

/// A lookup to time: a written form (maybe not the stored one) of a number.
struct Probe {
    written: String,
    e164: String,
    /// The record that must be among the matches; `None` for a number not in the store.
    expect: Option<SalesforceId>,
    /// The text stored in the record's field, for the naive reference (Contacts only).
    stored: Option<String>,
}

fn make_probes(data: &Generator, normalizer: &Normalizer, n: usize, seed: u64) -> Vec<Probe> {
    let mut r = Rng::new(seed, 3, 0);
    let total = data.contacts + data.leads;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        if r.pct(10) {
            let num = if r.pct(85) {
                Num::Us(UNKNOWN_AREA * 10_000_000 + (200 + r.below(800)) * 10_000 + r.below(10_000))
            } else {
                Num::UkGeo(2_030_000_000 + r.below(10_000_000))
            };
            out.push(Probe { written: write_number(num, r.next(), &data.region), e164: num.e164(), expect: None, stored: None });
            continue;
        }
        let i = r.below(total);
        let (kind, k) = if i < data.contacts { (Kind::Contact, i) } else { (Kind::Lead, i - data.contacts) };
        let row = data.row(kind, k);
        if row.phones.is_empty() {
            continue;
        }
        let (field, num) = *r.pick(&row.phones);
        let prefix = if kind == Kind::Contact { "003" } else { "00Q" };
        let stored = if kind == Kind::Contact { row.fields.iter().find(|(f, _)| *f == field).and_then(|(_, v)| v.clone()) } else { None };
        let written = write_number(num, r.next(), &data.region);
        debug_assert!(normalizer.normalize(&written).is_some());
        out.push(Probe { written, e164: num.e164(), expect: Some(SalesforceId::new(prefix, k + 1)), stored });
    }
    out
}

/// Fails unless every written style of sample numbers normalises to the generated E.164.
fn self_check(data: &Generator, normalizer: &Normalizer) -> Result<()> {
    let mut bad = Vec::new();
    let samples = [us_number(1, 11), us_number(123_456, 11), uk_geo(7, 11), uk_mobile(9, 13), Num::Us(UNKNOWN_AREA * 10_000_000 + 5_550_134)];
    for n in samples {
        for style in 0..12 {
            let w = write_number(n, style, &data.region);
            let got = normalizer.normalize(&w).map(|e| e.to_string());
            if got.as_deref() != Some(n.e164().as_str()) {
                bad.push(format!("{w:?} -> {got:?}, expected {}", n.e164()));
            }
        }
    }
    // A common UK business-card form; reported, not generated.
    let n = uk_geo(7, 11);
    let w = match n {
        Num::UkGeo(d) => format!("+44 (0)20 {:04} {:04}", (d % 100_000_000) / 10_000, d % 10_000),
        _ => unreachable!(),
    };
    let got = normalizer.normalize(&w).map(|e| e.to_string());
    if got.as_deref() != Some(n.e164().as_str()) {
        println!("note: {w:?} normalises to {got:?}, not {} — this form is not generated", n.e164());
    }
    if bad.is_empty() {
        Ok(())
    } else {
        bail!("written forms do not normalise as expected:\n  {}", bad.join("\n  "))
    }
}

/// `--write-csv`: the generated records as CSV files for `dialtone import`
/// (ids follow the file order: the k-th Contact becomes 003…k+1 in an empty
/// store, as the import above assumes too), and `callers.csv`, sampled caller
/// numbers with the number of distinct records that hold each one.
fn write_csv(dir: &Path, data: &Generator, per_kind: usize, seed: u64) -> Result<()> {
    use std::collections::HashMap;
    let t0 = Instant::now();
    std::fs::create_dir_all(dir)?;
    // E.164 -> (records holding it, the first such record)
    let mut holders: HashMap<String, (u32, SalesforceId)> = HashMap::new();
    for (kind, name, fields, prefix) in [(Kind::Contact, "Contact", CONTACT_FIELDS, "003"), (Kind::Lead, "Lead", LEAD_FIELDS, "00Q")] {
        let path = dir.join(format!("{name}.csv"));
        let mut w = csv::Writer::from_path(&path).with_context(|| format!("creating {}", path.display()))?;
        w.write_record(fields)?;
        for k in 0..data.count(kind) {
            let row = data.row(kind, k);
            w.write_record(row.fields.iter().map(|(_, v)| v.as_deref().unwrap_or("")))?;
            let mut mine: Vec<String> = row.phones.iter().map(|(_, n)| n.e164()).collect();
            mine.sort();
            mine.dedup();
            for e in mine {
                holders.entry(e).and_modify(|h| h.0 += 1).or_insert((1, SalesforceId::new(prefix, k + 1)));
            }
        }
        w.flush()?;
        println!("wrote {} ({} rows)", path.display(), data.count(kind));
    }
    let mut by_count: Vec<(&String, &(u32, SalesforceId))> = holders.iter().collect();
    by_count.sort_by(|a, b| a.0.cmp(b.0));
    let ones: Vec<_> = by_count.iter().filter(|(_, h)| h.0 == 1).collect();
    let twos: Vec<_> = by_count.iter().filter(|(_, h)| h.0 == 2).collect();
    let mut r = Rng::new(seed, 7, 0);
    let path = dir.join("callers.csv");
    let mut w = csv::Writer::from_path(&path)?;
    w.write_record(["outcome", "number", "matches", "record"])?;
    for _ in 0..per_kind.min(ones.len()) {
        let (e, h) = ones[r.below(ones.len() as u64) as usize];
        w.write_record(["matched", e.as_str(), "1", &h.1.to_string()])?;
    }
    for _ in 0..per_kind.min(twos.len()) {
        let (e, _) = twos[r.below(twos.len() as u64) as usize];
        w.write_record(["chooser", e.as_str(), "2", ""])?;
    }
    let mut unknown = 0;
    while unknown < per_kind {
        let e = Num::Us(UNKNOWN_AREA * 10_000_000 + (200 + r.below(800)) * 10_000 + r.below(10_000)).e164();
        if !holders.contains_key(&e) {
            w.write_record(["new", e.as_str(), "0", ""])?;
            unknown += 1;
        }
    }
    w.flush()?;
    let n = |c: u32| holders.values().filter(|h| h.0 == c).count();
    println!(
        "wrote {}: {per_kind} numbers of each outcome; distinct numbers {} (held by 1 record: {}, by 2: {}, by more: {}) in {:.1} s",
        path.display(),
        holders.len(),
        n(1),
        n(2),
        holders.len() - n(1) - n(2),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The Contact and Lead DDL (tables and indexes) of the Dialtone database, plus the phone index.
fn copy_ddl(db: &Path) -> Result<Vec<String>> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut stmt = c.prepare(
        "SELECT sql FROM sqlite_master WHERE tbl_name IN ('sobj_contact', 'sobj_lead', 'dt_phone_index') AND sql IS NOT NULL ORDER BY type DESC, name",
    )?;
    Ok(stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The reference must write the same columns as Dialtone does.
fn check_same_columns(obj: &ObjectDef, kind: Kind, data: &Generator) -> Result<()> {
    let theirs: BTreeSet<String> = reference_columns(kind).into_iter().collect();
    let mut ours: BTreeSet<String> = ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"].iter().map(|s| s.to_string()).collect();
    for k in 0..200 {
        let row = data.row(kind, k);
        let checked = obj.check_create(raw_row(obj, &row)).map_err(|e| anyhow!("{e:?}"))?;
        ours.extend(checked.into_iter().map(|(n, _)| n));
    }
    let only_ref: Vec<&String> = theirs.difference(&ours).collect();
    let only_ours: Vec<&String> = ours.difference(&theirs).collect();
    if !only_ref.is_empty() || !only_ours.is_empty() {
        bail!("the reference writes different {} columns: only the reference {only_ref:?}, only Dialtone {only_ours:?}", obj.name);
    }
    Ok(())
}
