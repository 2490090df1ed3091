//! The standard contact-centre reports and the dashboard, as SOQL over the
//! native records (VoiceCall, UserServicePresence, AdapterErrorLog): no second
//! store, so a report, a dashboard tile and a query a client runs through the
//! REST API can never disagree.
//!
//! Sans-IO. A [`Report`] hands out its SOQL ([`Report::queries`]) for a
//! [`Params`] (a date range, an optional queue, the service-level threshold);
//! the caller runs each query — as a user, with their access, or as the
//! system — and gives the rows back to [`Report::shape`], which builds the
//! [`Table`]. [`render`] turns a table into CSV or JSON, [`svg`] draws its chart.
//!
//! Days are those of the report's time zone ([`Params::in_zone`]; UTC when
//! none): `from` and `to` are inclusive dates, the range is `[from 00:00,
//! to + 1 00:00)` local time on the record's start field, and days and hours
//! are grouped with `DAY_ONLY(convertTimezone(…))` / `HOUR_IN_DAY(…)`, which
//! the caller plans in the same zone (`dialtone_soql::compile_in`).

pub mod render;
pub mod svg;

use dialtone_model::Value;
use serde::Serialize;
use time::Date;
use time::macros::format_description;

/// What one run of a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub from: Date,
    /// Inclusive.
    pub to: Date,
    /// Only calls of this queue (`VoiceCall.QueueName`), when set.
    pub queue: Option<String>,
    /// The service-level threshold: answered within this many seconds.
    pub service_level_seconds: u32,
    /// The time zone whose days and hours the report counts in (`from`/`to`
    /// are its dates; the caller finds it by name); `None`: UTC.
    pub zone: Option<jiff::tz::TimeZone>,
}

/// The most days one report may cover (about ten years).
pub const MAX_DAYS: i64 = 3700;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    #[error("{0:?} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01")]
    BadDate(String),
    #[error("the range ends ({to}) before it starts ({from})")]
    Backwards { from: Date, to: Date },
    #[error("the range is {days} days; a report covers at most {MAX_DAYS} days")]
    TooLong { days: i64 },
    #[error("the queue name is {0} characters; at most 255")]
    QueueTooLong(usize),
    #[error("the service-level threshold is {0} seconds; give 1 to 86400")]
    BadThreshold(u64),
    #[error("{0:?} is not a time zone: give an IANA name such as America/New_York, Europe/London or UTC")]
    BadZone(String),
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, ParamsError> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| ParamsError::BadDate(s.to_string()))
}

impl Params {
    pub fn new(from: Date, to: Date, queue: Option<String>, service_level_seconds: u64) -> Result<Params, ParamsError> {
        if to < from {
            return Err(ParamsError::Backwards { from, to });
        }
        let days = (to - from).whole_days() + 1;
        if days > MAX_DAYS {
            return Err(ParamsError::TooLong { days });
        }
        if let Some(q) = &queue
            && q.chars().count() > 255
        {
            return Err(ParamsError::QueueTooLong(q.chars().count()));
        }
        if !(1..=86_400).contains(&service_level_seconds) {
            return Err(ParamsError::BadThreshold(service_level_seconds));
        }
        Ok(Params { from, to, queue: queue.filter(|q| !q.trim().is_empty()), service_level_seconds: service_level_seconds as u32, zone: None })
    }

    /// The same report counted in the days and hours of `zone` (UTC: none).
    /// Its IANA name goes into the SOQL, so it must have a plain one.
    pub fn in_zone(mut self, zone: jiff::tz::TimeZone) -> Result<Params, ParamsError> {
        let name = zone.iana_name().unwrap_or_default();
        if name.eq_ignore_ascii_case("UTC") {
            self.zone = None;
            return Ok(self);
        }
        if dialtone_soql::check_zone(name).is_err() {
            return Err(ParamsError::BadZone(name.chars().take(80).collect()));
        }
        self.zone = Some(zone);
        Ok(self)
    }

    /// The zone's name as shown with the report.
    pub fn zone_name(&self) -> &str {
        self.zone.as_ref().and_then(|z| z.iana_name()).unwrap_or("UTC")
    }

    /// The instant `day` starts in the report's zone, as a SOQL date-time literal (UTC).
    fn start_of(&self, day: Date) -> String {
        match self.zone.as_ref().and_then(|tz| dialtone_soql::local_midnight(day, tz)) {
            Some(t) => format!("{}T{:02}:{:02}:{:02}Z", t.date(), t.hour(), t.minute(), t.second()),
            None => format!("{day}T00:00:00Z"),
        }
    }

    /// The SOQL condition of the range on `field` (a DateTime): from the start
    /// of `from` to the end of `to`, in the report's zone.
    pub fn range(&self, field: &str) -> String {
        let end = self.to.next_day().unwrap_or(self.to);
        format!("{field} >= {} AND {field} < {}", self.start_of(self.from), self.start_of(end))
    }

    /// A date function of `field` in the report's zone: `DAY_ONLY(convertTimezone(F))`, or `DAY_ONLY(F)` in UTC.
    fn local(&self, func: &str, field: &str) -> String {
        match self.zone {
            Some(_) => format!("{func}(convertTimezone({field}))"),
            None => format!("{func}({field})"),
        }
    }

    /// The range (and the queue) on VoiceCall, plus `more`.
    fn calls(&self, more: &str) -> String {
        let mut w = self.range("CallStartDateTime");
        if let Some(q) = &self.queue {
            w.push_str(&format!(" AND QueueName = '{}'", soql_string(q)));
        }
        if !more.is_empty() {
            w.push_str(" AND ");
            w.push_str(more);
        }
        w
    }
}

/// A SOQL string literal's inside: `'` and `\` escaped.
pub fn soql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// A column of a report's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    pub label: String,
    /// `text`, `count`, `seconds`, `percent` or `date`.
    pub unit: &'static str,
}

fn col(name: &str, label: &str, unit: &'static str) -> Column {
    Column { name: name.into(), label: label.into(), unit }
}

/// How the dashboard draws a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Chart {
    /// Vertical bars of the first numeric column along the first column (time series).
    Columns,
    /// Horizontal bars of the first numeric column per label (categories).
    Bars,
    /// Figures as tiles; no chart.
    Tiles,
    /// Stacked horizontal bars of every numeric column per row.
    Stacked,
    /// Only a table.
    Table,
}

/// A report's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Table {
    pub report: &'static str,
    pub title: &'static str,
    pub from: String,
    pub to: String,
    pub queue: Option<String>,
    /// The zone whose days and hours it counts (`UTC` or an IANA name).
    pub time_zone: String,
    pub columns: Vec<Column>,
    /// Serialized by [`render::json`] (the model's values are not serde types).
    #[serde(skip)]
    pub rows: Vec<Vec<Value>>,
    pub chart: Chart,
    /// The SOQL that produced it, in order: anyone can run the same query.
    pub soql: Vec<String>,
    /// Per row, the VoiceCall SOQL WHERE clause of the calls it counts (for a
    /// list of them), when a row stands for calls; `None` for averages and rates.
    pub drill: Vec<Option<String>>,
}

/// One standard report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CallsByDay,
    CallsByHour,
    Direction,
    Outcomes,
    Summary,
    Dispositions,
    Agents,
    Queues,
    Presence,
    ScreenPops,
    AdapterErrors,
}

/// Every standard report, in the dashboard's order.
pub const REPORTS: &[Report] = &[
    Report { name: "summary", title: "Service summary", description: "Calls, answered, abandoned, voicemail, average speed of answer, average handle time (talk + hold + wrap-up), service level and abandonment rate.", kind: Kind::Summary },
    Report { name: "calls-by-day", title: "Calls by day", description: "Calls started each day, inbound and outbound.", kind: Kind::CallsByDay },
    Report { name: "calls-by-hour", title: "Calls by hour of day", description: "Calls started in each hour of the day (in the report's time zone), all days of the range together.", kind: Kind::CallsByHour },
    Report { name: "inbound-outbound", title: "Inbound vs outbound", description: "Calls by call type.", kind: Kind::Direction },
    Report { name: "outcomes", title: "Answered, abandoned, voicemail", description: "Ended calls by outcome.", kind: Kind::Outcomes },
    Report { name: "dispositions", title: "Disposition mix", description: "Wrapped-up calls by the agent's disposition (CallResolution).", kind: Kind::Dispositions },
    Report { name: "agents", title: "Agents", description: "Per agent: calls answered, average speed of answer, average talk, hold, wrap-up and handle time.", kind: Kind::Agents },
    Report { name: "queues", title: "Queues", description: "Per queue: calls, answered, abandoned, voicemail, abandonment rate, average speed of answer.", kind: Kind::Queues },
    Report { name: "presence", title: "Time in presence status", description: "Per agent, hours in each presence status (closed stretches that started in the range).", kind: Kind::Presence },
    Report { name: "screen-pops", title: "Screen-pop outcomes", description: "Calls by screen-pop outcome: matched, chooser, new record, fallback, none, failed.", kind: Kind::ScreenPops },
    Report { name: "adapter-errors", title: "Adapter errors", description: "Errors the softphone adapter reported, by code and method.", kind: Kind::AdapterErrors },
];

/// The report named `name` (case-insensitive).
pub fn find(name: &str) -> Option<&'static Report> {
    REPORTS.iter().find(|r| r.name.eq_ignore_ascii_case(name))
}

const INBOUND: &str = "CallType = 'Inbound'";

impl Report {
    /// The queries to run, in order; each returns rows for [`Report::shape`].
    pub fn queries(&self, p: &Params) -> Vec<String> {
        let vc = |select: &str, more: &str, tail: &str| format!("SELECT {select} FROM VoiceCall WHERE {}{tail}", p.calls(more));
        match self.kind {
            Kind::CallsByDay => {
                let day = p.local("DAY_ONLY", "CallStartDateTime");
                vec![vc(&format!("{day} day, CallType, COUNT(Id) calls"), "", &format!(" GROUP BY {day}, CallType ORDER BY {day}, CallType"))]
            }
            Kind::CallsByHour => {
                let hour = p.local("HOUR_IN_DAY", "CallStartDateTime");
                vec![vc(&format!("{hour} hour, COUNT(Id) calls"), "", &format!(" GROUP BY {hour} ORDER BY {hour}"))]
            }
            Kind::Direction => vec![vc("CallType, COUNT(Id) calls", "", " GROUP BY CallType ORDER BY COUNT(Id) DESC, CallType")],
            Kind::Outcomes => vec![vc("CallOutcome, COUNT(Id) calls", "CallOutcome != null", " GROUP BY CallOutcome ORDER BY COUNT(Id) DESC, CallOutcome")],
            Kind::Dispositions => {
                vec![vc("CallResolution, COUNT(Id) calls", "CallResolution != null", " GROUP BY CallResolution ORDER BY COUNT(Id) DESC, CallResolution")]
            }
            Kind::ScreenPops => {
                vec![vc("ScreenPopOutcome, COUNT(Id) calls", "ScreenPopOutcome != null", " GROUP BY ScreenPopOutcome ORDER BY COUNT(Id) DESC, ScreenPopOutcome")]
            }
            Kind::Agents => vec![vc(
                "OwnerId, Owner.Name, COUNT(Id) calls, AVG(SpeedOfAnswerInSeconds) asa, AVG(TalkTimeInSeconds) talk, AVG(CustomerHoldDuration) hold, \
                 AVG(AfterCallWorkDuration) wrap, AVG(HandleTimeInSeconds) aht",
                "CallOutcome = 'Answered'",
                " GROUP BY OwnerId, Owner.Name ORDER BY COUNT(Id) DESC, Owner.Name",
            )],
            Kind::Queues => vec![vc(
                "QueueName, CallOutcome, COUNT(Id) calls, AVG(SpeedOfAnswerInSeconds) asa",
                "QueueName != null AND CallOutcome != null",
                " GROUP BY QueueName, CallOutcome ORDER BY QueueName, CallOutcome",
            )],
            Kind::Presence => vec![format!(
                "SELECT User.Name, StatusName, SUM(StatusDuration) seconds FROM UserServicePresence WHERE {} AND IsCurrentState = false \
                 GROUP BY User.Name, StatusName ORDER BY User.Name, StatusName",
                p.range("StatusStartDate")
            )],
            Kind::AdapterErrors => vec![format!(
                "SELECT Code, Method, COUNT(Id) errors FROM AdapterErrorLog WHERE {} GROUP BY Code, Method ORDER BY COUNT(Id) DESC, Code, Method",
                p.range("OccurredDateTime")
            )],
            Kind::Summary => vec![
                vc(SUMMARY_SELECT, "", " GROUP BY CallType, CallOutcome"),
                format!(
                    "SELECT COUNT() FROM VoiceCall WHERE {}",
                    p.calls(&format!("{INBOUND} AND CallOutcome = 'Answered' AND SpeedOfAnswerInSeconds <= {}", p.service_level_seconds))
                ),
            ],
        }
    }

    /// Builds the table from each query's rows (in the order of [`Report::queries`]).
    pub fn shape(&self, p: &Params, results: Vec<Vec<Vec<Value>>>) -> Table {
        let soql = self.queries(p);
        let mut results = results.into_iter();
        let mut next = || results.next().unwrap_or_default();
        let (columns, rows, chart) = match self.kind {
            Kind::CallsByDay => {
                let (cols, rows) = pivot(next(), "Day", "date", &["Inbound", "Outbound", "Transfer", "Callback", "Internal"], 3);
                (cols, rows, Chart::Columns)
            }
            Kind::CallsByHour => {
                let found = next();
                let rows = (0..24)
                    .map(|h| {
                        let n = found.iter().find(|r| r.first() == Some(&Value::Int(h))).and_then(|r| r.get(1).cloned()).unwrap_or(Value::Int(0));
                        vec![Value::Text(format!("{h:02}:00")), n]
                    })
                    .collect();
                (vec![col("hour", "Hour", "text"), col("calls", "Calls", "count")], rows, Chart::Columns)
            }
            Kind::Direction => (vec![col("callType", "Call type", "text"), col("calls", "Calls", "count")], next(), Chart::Bars),
            Kind::Outcomes => (vec![col("outcome", "Outcome", "text"), col("calls", "Calls", "count")], next(), Chart::Bars),
            Kind::Dispositions => (vec![col("disposition", "Disposition", "text"), col("calls", "Calls", "count")], next(), Chart::Bars),
            Kind::ScreenPops => (vec![col("outcome", "Screen-pop outcome", "text"), col("calls", "Calls", "count")], next(), Chart::Bars),
            Kind::AdapterErrors => {
                (vec![col("code", "Code", "text"), col("method", "Method", "text"), col("errors", "Errors", "count")], next(), Chart::Table)
            }
            Kind::Agents => {
                let rows = next().into_iter().map(|r| r.into_iter().skip(1).collect()).collect();
                let cols = vec![
                    col("agent", "Agent", "text"),
                    col("calls", "Calls answered", "count"),
                    col("asa", "Avg speed of answer", "seconds"),
                    col("talk", "Avg talk", "seconds"),
                    col("hold", "Avg hold", "seconds"),
                    col("wrap", "Avg wrap-up", "seconds"),
                    col("aht", "Avg handle time", "seconds"),
                ];
                (cols, rows, Chart::Table)
            }
            Kind::Queues => (queue_columns(), queues(next()), Chart::Stacked),
            Kind::Presence => {
                let found = next();
                let mut statuses: Vec<String> = found.iter().filter_map(|r| r.get(1)?.as_str().map(str::to_string)).collect();
                statuses.sort();
                statuses.dedup();
                let names: Vec<&str> = statuses.iter().map(String::as_str).collect();
                let (mut cols, rows) = pivot(found, "Agent", "text", &names, 2);
                for c in cols.iter_mut().skip(1) {
                    c.unit = "seconds";
                }
                (cols, rows, Chart::Stacked)
            }
            Kind::Summary => {
                let groups = next();
                let within = first_number(&next()).unwrap_or(0.0);
                let cols = vec![col("figure", "Figure", "text"), col("label", "Label", "text"), col("value", "Value", "number"), col("unit", "Unit", "text")];
                (cols, summary(&groups, within), Chart::Tiles)
            }
        };
        let drill = rows.iter().map(|r| self.drill(p, r)).collect();
        Table {
            drill,
            report: self.name,
            title: self.title,
            from: p.from.to_string(),
            to: p.to.to_string(),
            queue: p.queue.clone(),
            time_zone: p.zone_name().to_string(),
            columns,
            rows,
            chart,
            soql,
        }
    }
}

impl Report {
    /// The WHERE clause on VoiceCall of the calls `row` counts: `SELECT COUNT()
    /// FROM VoiceCall WHERE` it is the row's count (its first count column).
    pub fn drill(&self, p: &Params, row: &[Value]) -> Option<String> {
        let key = row.first().and_then(Value::as_str).map(soql_string);
        let eq = |field: &str| key.as_ref().map(|k| p.calls(&format!("{field} = '{k}'")));
        match self.kind {
            Kind::CallsByDay => {
                let day = parse_date(row.first()?.as_str()?).ok()?;
                let one = Params { from: day, to: day, ..p.clone() };
                Some(one.calls(""))
            }
            Kind::CallsByHour => {
                // Rows read "09:00".
                let h: u8 = row.first()?.as_str()?.split(':').next()?.parse().ok()?;
                Some(p.calls(&format!("{} = {h}", p.local("HOUR_IN_DAY", "CallStartDateTime"))))
            }
            Kind::Direction => eq("CallType"),
            Kind::Outcomes => eq("CallOutcome"),
            Kind::Dispositions => eq("CallResolution"),
            Kind::ScreenPops => eq("ScreenPopOutcome"),
            Kind::Queues => key.map(|k| p.calls(&format!("QueueName = '{k}' AND CallOutcome != null"))),
            Kind::Agents => key.map(|k| p.calls(&format!("Owner.Name = '{k}' AND CallOutcome = 'Answered'"))),
            Kind::Summary => match key?.as_str() {
                "calls" => Some(p.calls("")),
                "inbound" => Some(p.calls(INBOUND)),
                "outbound" => Some(p.calls("CallType = 'Outbound'")),
                "answered" => Some(p.calls(&format!("{INBOUND} AND CallOutcome = 'Answered'"))),
                "abandoned" => Some(p.calls(&format!("{INBOUND} AND CallOutcome = 'Abandoned'"))),
                "voicemail" => Some(p.calls("CallOutcome = 'Voicemail'")),
                _ => None,
            },
            Kind::Presence | Kind::AdapterErrors => None,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The single number a COUNT() or one-aggregate query returned.
fn first_number(rows: &[Vec<Value>]) -> Option<f64> {
    match rows.first()?.first()? {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The summary's one grouped pass: per (call type, outcome), the count and
/// each measure's sum and count of values, from which every figure follows.
const SUMMARY_SELECT: &str = "CallType, CallOutcome, COUNT(Id) calls, \
    SUM(SpeedOfAnswerInSeconds) soaSum, COUNT(SpeedOfAnswerInSeconds) soaN, SUM(HandleTimeInSeconds) ahtSum, COUNT(HandleTimeInSeconds) ahtN, \
    SUM(TalkTimeInSeconds) talkSum, COUNT(TalkTimeInSeconds) talkN, SUM(CustomerHoldDuration) holdSum, COUNT(CustomerHoldDuration) holdN, \
    SUM(AfterCallWorkDuration) wrapSum, COUNT(AfterCallWorkDuration) wrapN";

/// The summary's figures (in order): each is what a SOQL query over the same
/// range would give — `SELECT COUNT() … WHERE CallType = 'Inbound' AND
/// CallOutcome = 'Answered'`, `SELECT AVG(HandleTimeInSeconds) … WHERE
/// CallOutcome = 'Answered'` — computed from the grouped pass; service level
/// and abandonment rate are ratios over offered calls (answered + abandoned, inbound).
fn summary(groups: &[Vec<Value>], within: f64) -> Vec<Vec<Value>> {
    let num = |v: Option<&Value>| match v {
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Float(f)) => *f,
        _ => 0.0,
    };
    // (type, outcome) filters: None = any.
    let total = |ty: Option<&str>, outcome: Option<&str>, col: usize| -> f64 {
        groups
            .iter()
            .filter(|r| ty.is_none_or(|t| r.first().and_then(Value::as_str) == Some(t)))
            .filter(|r| outcome.is_none_or(|o| r.get(1).and_then(Value::as_str) == Some(o)))
            .map(|r| num(r.get(col)))
            .sum()
    };
    let avg = |ty: Option<&str>, sum: usize| {
        let n = total(ty, Some("Answered"), sum + 1);
        (n > 0.0).then(|| Value::Float(round1(total(ty, Some("Answered"), sum) / n)))
    };
    let count = |ty: Option<&str>, outcome: Option<&str>| Some(Value::Int(total(ty, outcome, 2) as i64));
    let answered = total(Some("Inbound"), Some("Answered"), 2);
    let abandoned = total(Some("Inbound"), Some("Abandoned"), 2);
    let offered = answered + abandoned;
    let pct = |n: f64| (offered > 0.0).then(|| Value::Float(round1(100.0 * n / offered)));
    let figures: [(&str, &str, &str, Option<Value>); 13] = [
        ("calls", "Calls", "count", count(None, None)),
        ("inbound", "Inbound", "count", count(Some("Inbound"), None)),
        ("outbound", "Outbound", "count", count(Some("Outbound"), None)),
        ("answered", "Inbound answered", "count", count(Some("Inbound"), Some("Answered"))),
        ("abandoned", "Abandoned", "count", count(Some("Inbound"), Some("Abandoned"))),
        ("voicemail", "Voicemail", "count", count(None, Some("Voicemail"))),
        ("asa", "Average speed of answer", "seconds", avg(Some("Inbound"), 3)),
        ("aht", "Average handle time", "seconds", avg(None, 5)),
        ("talk", "Average talk time", "seconds", avg(None, 7)),
        ("hold", "Average hold time", "seconds", avg(None, 9)),
        ("wrap", "Average wrap-up time", "seconds", avg(None, 11)),
        ("serviceLevel", "Service level (answered within the threshold)", "percent", pct(within)),
        ("abandonmentRate", "Abandonment rate", "percent", pct(abandoned)),
    ];
    figures
        .into_iter()
        .map(|(name, label, unit, v)| vec![Value::Text(name.into()), Value::Text(label.into()), v.unwrap_or(Value::Null), Value::Text(unit.into())])
        .collect()
}

/// Rows of `(key, category, value)` into one row per key with a column per
/// category (in `categories`' order, then any others met), zero-filled.
fn pivot(found: Vec<Vec<Value>>, key_label: &str, key_unit: &'static str, categories: &[&str], width: usize) -> (Vec<Column>, Vec<Vec<Value>>) {
    let mut cats: Vec<String> = categories.iter().map(|s| s.to_string()).collect();
    for r in &found {
        if let Some(c) = r.get(1).and_then(Value::as_str)
            && !cats.iter().any(|k| k == c)
        {
            cats.push(c.to_string());
        }
    }
    let none = "(none)".to_string();
    let mut keys: Vec<Value> = Vec::new();
    let mut cells: Vec<Vec<i64>> = Vec::new();
    let mut seen = vec![false; cats.len() + 1];
    for r in found.into_iter().filter(|r| r.len() >= width) {
        let key = r[0].clone();
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                cells.push(vec![0; cats.len()]);
                keys.len() - 1
            }
        };
        let cat = r[1].as_str().map(str::to_string).unwrap_or_else(|| none.clone());
        let j = cats.iter().position(|c| *c == cat).unwrap_or(0);
        seen[j] = true;
        cells[i][j] += match &r[width - 1] {
            Value::Int(n) => *n,
            Value::Float(f) => f.round() as i64,
            _ => 0,
        };
    }
    // Only the categories the data has (not every call type there could be).
    let used: Vec<usize> = (0..cats.len()).filter(|&j| seen[j]).collect();
    let mut cols = vec![col("key", key_label, key_unit)];
    cols.extend(used.iter().map(|&j| col(&cats[j], &cats[j], "count")));
    let rows = keys
        .into_iter()
        .zip(cells)
        .map(|(k, row)| {
            let mut out = vec![match k {
                Value::Null => Value::Text(none.clone()),
                k => k,
            }];
            out.extend(used.iter().map(|&j| Value::Int(row[j])));
            out
        })
        .collect();
    (cols, rows)
}

fn queue_columns() -> Vec<Column> {
    vec![
        col("queue", "Queue", "text"),
        col("Answered", "Answered", "count"),
        col("Abandoned", "Abandoned", "count"),
        col("Voicemail", "Voicemail", "count"),
        col("Other", "Missed or failed", "count"),
        col("abandonmentRate", "Abandonment rate", "percent"),
        col("asa", "Avg speed of answer", "seconds"),
    ]
}

/// `(queue, outcome, count, asa)` rows into one row per queue.
fn queues(found: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let mut out: Vec<(String, [i64; 4], Option<f64>)> = Vec::new();
    for r in found {
        let (Some(q), Some(outcome)) = (r.first().and_then(Value::as_str), r.get(1).and_then(Value::as_str)) else { continue };
        let n = match r.get(2) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        let i = match out.iter().position(|(name, _, _)| name == q) {
            Some(i) => i,
            None => {
                out.push((q.to_string(), [0; 4], None));
                out.len() - 1
            }
        };
        let slot = match outcome {
            "Answered" => 0,
            "Abandoned" => 1,
            "Voicemail" => 2,
            _ => 3,
        };
        out[i].1[slot] += n;
        if slot == 0 {
            out[i].2 = match r.get(3) {
                Some(Value::Float(f)) => Some(*f),
                Some(Value::Int(n)) => Some(*n as f64),
                _ => None,
            };
        }
    }
    out.into_iter()
        .map(|(q, c, asa)| {
            let offered = c[0] + c[1];
            let rate = if offered > 0 { Value::Float(round1(100.0 * c[1] as f64 / offered as f64)) } else { Value::Null };
            vec![Value::Text(q), Value::Int(c[0]), Value::Int(c[1]), Value::Int(c[2]), Value::Int(c[3]), rate, asa.map(|a| Value::Float(round1(a))).unwrap_or(Value::Null)]
        })
        .collect()
}

#[cfg(test)]
mod tests;
