//! The flow runner: record-triggered automation after commit.
//!
//! Every insert or update of an object with an active flow writes an outbox
//! row in its own transaction (`dialtone-store`). One tokio task ([`start`])
//! wakes on the store's signal (and every second), reads the outbox in commit
//! order, and for each change and each flow it fires (`dialtone_flows::matching`,
//! in ExecutionOrder then Name):
//!
//! 1. **claims** the run by inserting its `FlowRun` (Status Running) — the
//!    store's unique (FlowId, ChangeSeq) makes a second claim a duplicate, so a
//!    change runs each flow once even after a restart or on a second node;
//! 2. evaluates the condition: `SELECT Id FROM <Object> WHERE Id = '<id>' AND
//!    (<condition>)`, i.e. against the record **as committed when the run
//!    executes** (parents' fields included);
//! 3. runs the actions in order. A store action (update, create) commits in
//!    the same transaction as the run's `ActionsDone`, guarded by a
//!    compare-and-set on it (`WriteOp::Expect`), so after a crash the run
//!    resumes at the next action and never repeats a write — even when a
//!    second runner took over a run the first still held. Webhooks are
//!    at-least-once (the `X-Dialtone-Delivery` header is the run id, for the
//!    receiver to drop repeats);
//! 4. records the outcome: Succeeded; Skipped (condition not met, or the chain
//!    of flows is deeper than `dialtone_flows::MAX_DEPTH`); Retrying (a webhook
//!    failed: tried again after the `RetryPolicy`'s back-off), Parked (out of
//!    attempts) or Failed (an error that would repeat, such as a validation
//!    error). Parked and Failed runs are retried on request
//!    (`POST /api/flows/runs/{id}/retry`). Nothing touches the triggering
//!    record's transaction: it committed before any of this.
//!
//! Writes made by actions go through the model's validation, run as the admin
//! who last changed the flow, and make outbox rows one level deeper.
//! Threshold alerts (`Trigger::Threshold`) are counted every few seconds with
//! two `count` queries and fire through `dialtone_flows::threshold::Alert`.

use crate::auth::Session;
use crate::error::ApiError;
use crate::flows_admin::Loaded;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use dialtone_access::SystemPerm;
use dialtone_flows::threshold::{Alert, Figures};
use dialtone_flows::{Action, Change, Delta, Op, RetryPolicy, Trigger};
use dialtone_model::{FieldType, RawValue, SalesforceId, Value};
use dialtone_store::{Store, StoreError, WriteOp};
use serde_json::{Value as Json_, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// What the lead can wire into /health and /metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowsStatus {
    /// Outbox rows waiting (as of the runner's last pass).
    pub backlog: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub retrying: u64,
    pub parked: u64,
    pub skipped: u64,
    pub last_error: Option<String>,
    /// Flow records the runner left out, in words.
    pub problems: Vec<String>,
}

/// Settings of the runner (tests shorten them).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub retry: RetryPolicy,
    pub webhook_timeout: std::time::Duration,
    /// How often threshold alerts are counted.
    pub threshold_every: std::time::Duration,
    /// How long a runner holds a run it is executing without progress: each
    /// action's commit renews it; past it, another runner takes the run over.
    pub lease: std::time::Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry: RetryPolicy::default(),
            webhook_timeout: std::time::Duration::from_secs(10),
            threshold_every: std::time::Duration::from_secs(15),
            lease: std::time::Duration::from_secs(60),
        }
    }
}

/// The runner's shared state (in `AppState::flows`).
#[derive(Default)]
pub struct Runtime {
    flows: Mutex<Arc<Vec<Loaded>>>,
    status: Mutex<FlowsStatus>,
    alerts: Mutex<HashMap<String, Alert>>,
    settings: Mutex<Settings>,
    wake: tokio::sync::Notify,
    started: std::sync::atomic::AtomicBool,
}

impl Runtime {
    pub fn status(&self) -> FlowsStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_settings(&self, s: Settings) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    fn flows(&self) -> Arc<Vec<Loaded>> {
        self.flows.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the Flow records and tells the store which objects to watch.
    pub async fn reload(&self, store: &dyn Store) {
        match crate::flows_admin::load(store).await {
            Ok((flows, problems)) => {
                let plain: Vec<dialtone_flows::Flow> = flows.iter().map(|l| l.flow.clone()).collect();
                if let Err(e) = dialtone_store::keep_outbox_objects(store, &dialtone_flows::watched_objects(&plain)).await {
                    tracing::error!(error = %e, "keeping the outbox's objects");
                }
                for p in &problems {
                    tracing::warn!(problem = %p, "a flow was left out");
                }
                *self.flows.lock().unwrap_or_else(|p| p.into_inner()) = Arc::new(flows);
                self.status.lock().unwrap_or_else(|p| p.into_inner()).problems = problems;
            }
            Err(e) => tracing::error!(error = %e.message, "reading the flows"),
        }
        self.wake.notify_one();
    }

    fn count(&self, status: &str, error: Option<&str>) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        match status {
            "Succeeded" => s.succeeded += 1,
            "Failed" => s.failed += 1,
            "Retrying" => s.retrying += 1,
            "Parked" => s.parked += 1,
            "Skipped" => s.skipped += 1,
            _ => {}
        }
        if let Some(e) = error {
            s.last_error = Some(e.to_string());
        }
    }
}

/// Loads the flows, points the store's outbox at their objects, resumes runs
/// a stopped process left Running, and starts the runner (once).
pub async fn start(state: &AppState) {
    let rt = state.flows.clone();
    if rt.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    rt.reload(state.store.as_ref()).await;
    resume_interrupted(state).await;
    report_parked(state).await;
    let state = state.clone();
    tokio::spawn(async move {
        let signal = state.store.outbox_signal();
        let mut last_threshold = std::time::Instant::now() - std::time::Duration::from_secs(3600);
        let mut last_reload = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = signal.notified() => {}
                _ = state.flows.wake.notified() => {}
                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
            if last_reload.elapsed() >= std::time::Duration::from_secs(5) {
                // Flows changed by another node (or by SQL) show up within seconds;
                // runs a stopped node held come back once their lease is over.
                state.flows.reload(state.store.as_ref()).await;
                report_parked(&state).await;
                resume_interrupted(&state).await;
                last_reload = std::time::Instant::now();
            }
            if let Err(e) = drain(&state).await {
                tracing::error!(error = %e.message, "the flow runner's pass failed");
            }
            if let Err(e) = due_retries(&state).await {
                tracing::error!(error = %e.message, "retrying flow runs");
            }
            if last_threshold.elapsed() >= state.flows.settings().threshold_every {
                last_threshold = std::time::Instant::now();
                if let Err(e) = thresholds(&state, OffsetDateTime::now_utc()).await {
                    tracing::error!(error = %e.message, "counting threshold alerts");
                }
            }
        }
    });
}

fn now_text(now: OffsetDateTime) -> Value {
    Value::Text(dialtone_model::format_datetime(now))
}

fn t(s: &str) -> Value {
    Value::Text(s.to_string())
}

/// A FlowRun's fields as name → value.
async fn run_row(store: &dyn Store, id: &SalesforceId) -> Result<Option<dialtone_store::Record>, ApiError> {
    let o = store.schema().object("FlowRun").expect("FlowRun is standard");
    Ok(store.get(o, id).await?)
}

/// Runs left Running by a stopped process (their lease over: no runner has
/// made progress on them for that long) resume where they were. A run another
/// live runner holds is left to it.
async fn resume_interrupted(state: &AppState) {
    let store = state.store.as_ref();
    let Ok(plan) = crate::query::compile(store, "SELECT Id, LeaseExpiresDateTime FROM FlowRun WHERE Status = 'Running'") else { return };
    let Ok(rows) = store.query(&plan, None).await else { return };
    let now = OffsetDateTime::now_utc();
    for r in rows {
        let Some(id) = r.first().and_then(Value::as_str).and_then(|s| SalesforceId::parse(s).ok()) else { continue };
        let lease = r.get(1).cloned().unwrap_or(Value::Null);
        if lease.as_str().and_then(dialtone_model::parse_datetime).is_some_and(|until| until > now) {
            continue;
        }
        let fields = vec![("Status".into(), t("Retrying")), ("NextAttemptDateTime".into(), now_text(now)), ("LastError".into(), t("interrupted: the runner stopped while this run was executing; it resumes at its next action"))];
        let expect = vec![("Status".into(), t("Running")), ("LeaseExpiresDateTime".into(), lease)];
        let _ = update_run_if(store, &id, expect, fields).await;
    }
}

/// The lease a runner takes (or renews) on a run it executes, as a stored date-time.
fn lease(state: &AppState) -> Value {
    let lease = time::Duration::try_from(state.flows.settings().lease).unwrap_or(time::Duration::minutes(1));
    now_text(OffsetDateTime::now_utc() + lease)
}

/// Changes a run only while it is still `status`: false when another runner
/// (a second node, or a restart that took it over) changed it first.
async fn update_run(store: &dyn Store, id: &SalesforceId, status: &str, fields: Vec<(String, Value)>) -> Result<bool, ApiError> {
    update_run_if(store, id, vec![("Status".into(), t(status))], fields).await
}

/// [`update_run`] guarded by any of the run's values.
async fn update_run_if(store: &dyn Store, id: &SalesforceId, expect: Vec<(String, Value)>, fields: Vec<(String, Value)>) -> Result<bool, ApiError> {
    let guard = WriteOp::Expect { object: "FlowRun".into(), id: id.clone(), fields: expect };
    match store.write_batch(vec![guard, WriteOp::Update { object: "FlowRun".into(), id: id.clone(), fields }], None).await {
        Ok(_) => Ok(true),
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Counts a finished run on the runner and on `/metrics` (`dialtone_flow_runs_total{status}`).
fn count_run(state: &AppState, status: &str, error: Option<&str>) {
    state.flows.count(status, error);
    state.metrics.flow_run(&status.to_ascii_lowercase());
}

/// Parked runs right now (what `/health` shows until an admin retries them), on `/metrics`:
/// one count, read with the flows every few seconds rather than on every pass.
async fn report_parked(state: &AppState) {
    let parked = crate::query::compile(state.store.as_ref(), "SELECT COUNT() FROM FlowRun WHERE Status = 'Parked'");
    if let Ok(plan) = parked
        && let Ok(n) = state.store.count(&plan).await
    {
        state.metrics.set_flow_parked(n as usize);
    }
}

/// One pass over the outbox.
async fn drain(state: &AppState) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    loop {
        let rows = store.outbox_pending(200).await?;
        state.flows.status.lock().unwrap_or_else(|p| p.into_inner()).backlog = rows.len() as u64;
        state.metrics.set_flow_backlog(rows.len());
        if rows.is_empty() {
            return Ok(());
        }
        let flows = state.flows.flows();
        let plain: Vec<dialtone_flows::Flow> = flows.iter().map(|l| l.flow.clone()).collect();
        for row in rows {
            let change = Change {
                seq: row.seq,
                object: row.object.clone(),
                record_id: row.record_id.clone(),
                op: Op::parse(&row.op).unwrap_or(Op::Updated),
                deltas: row.changes.iter().map(|(f, o, n)| Delta { field: f.clone(), old: o.clone(), new: n.clone() }).collect(),
                depth: row.depth,
            };
            for flow in dialtone_flows::matching(&plain, &change) {
                let Some(loaded) = flows.iter().find(|l| l.flow.id == flow.id) else { continue };
                if let Err(e) = run_change(state, loaded, &change).await {
                    // The run could not even be recorded (the store failed): keep the row for the next pass.
                    tracing::error!(error = %e.message, flow = %flow.name, "a flow run could not be recorded; the change stays in the outbox");
                    return Err(e);
                }
            }
            store.ack_outbox(&[row.seq]).await?;
        }
    }
}

fn changes_json(change: &Change) -> Json_ {
    Json_::Array(change.deltas.iter().filter(|d| d.field != "Id").map(|d| json!({"field": d.field, "old": d.old, "new": d.new})).collect())
}

/// Claims and runs one flow for one change.
async fn run_change(state: &AppState, loaded: &Loaded, change: &Change) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc();
    let flow = &loaded.flow;
    let skipped = change.depth >= dialtone_flows::MAX_DEPTH;
    let detail = json!({"op": change.op.as_str(), "changes": changes_json(change)});
    let mut fields = vec![
        ("FlowId".to_string(), t(&flow.id)),
        ("FlowName".into(), t(&flow.name)),
        ("RecordId".into(), t(&change.record_id)),
        ("Object".into(), t(&change.object)),
        ("ChangeSeq".into(), Value::Int(change.seq)),
        ("Status".into(), t(if skipped { "Skipped" } else { "Running" })),
        ("Attempts".into(), Value::Int(0)),
        ("ActionsDone".into(), Value::Int(0)),
        ("Depth".into(), Value::Int(change.depth as i64)),
        ("StartedDateTime".into(), now_text(now)),
        ("LeaseExpiresDateTime".into(), lease(state)),
        ("Detail".into(), t(&detail.to_string())),
    ];
    if skipped {
        fields.push((
            "LastError".into(),
            t(&format!("not run: this change was made by a chain of {} flows (the limit is {}); a flow that changes what triggers it loops", change.depth, dialtone_flows::MAX_DEPTH)),
        ));
        fields.push(("FinishedDateTime".into(), now_text(now)));
    }
    // Already claimed: this change ran this flow before (a restart, another node).
    let Some(run_id) = claim(store, fields).await? else { return Ok(()) };
    if skipped {
        count_run(state, "Skipped", None);
        return Ok(());
    }
    execute(state, loaded, &run_id, &change.record_id, 0, 0, None).await
}

/// Inserts a run; `None` when (FlowId, ChangeSeq) is taken: another runner, or
/// this one before a restart, claimed it first.
async fn claim(store: &dyn Store, fields: Vec<(String, Value)>) -> Result<Option<SalesforceId>, ApiError> {
    match store.write_batch(vec![WriteOp::Insert { object: "FlowRun".into(), fields }], None).await {
        Ok(ids) => Ok(Some(ids.into_iter().next().flatten().ok_or_else(|| ApiError::ours("no FlowRun id"))?)),
        Err(StoreError::Duplicate(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Runs (or resumes) a run's actions from `done`.
async fn execute(state: &AppState, loaded: &Loaded, run_id: &SalesforceId, record_id: &str, done: usize, attempts: i64, figures: Option<&Json_>) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let flow = &loaded.flow;
    let now = OffsetDateTime::now_utc();
    let threshold = matches!(flow.trigger, Trigger::Threshold(_));
    if done == 0 && attempts == 0 && !threshold && let Some(c) = &flow.condition {
        let plan = crate::flows_admin::condition_plan(store.schema(), store.dialect(), &flow.object, record_id, c);
        let met = match plan {
            Ok(p) => store.count(&p).await? > 0,
            Err(e) => return finish(state, run_id, "Failed", attempts + 1, Some(format!("condition: {e}")), None).await,
        };
        if !met {
            if update_run(store, run_id, "Running", vec![("Status".into(), t("Skipped")), ("Detail".into(), t("the condition was not met")), ("FinishedDateTime".into(), now_text(now))]).await? {
                count_run(state, "Skipped", None);
            }
            return Ok(());
        }
    }
    for (i, action) in flow.actions.iter().enumerate().skip(done) {
        let outcome = run_action(state, loaded, action, run_id, record_id, i, figures).await;
        if let Err(ActionFail::Lost) = outcome {
            tracing::info!(run = %run_id, "another runner took this run over; it carries on there");
            return Ok(());
        }
        if let Err(ActionFail::Failed(err)) = outcome {
            let attempts = attempts + 1;
            let message = format!("action {} ({}): {err}", i + 1, action.kind());
            let settings = state.flows.settings();
            if action.retryable() {
                return match settings.retry.next_delay(attempts.clamp(0, u32::MAX as i64) as u32) {
                    Some(d) => finish(state, run_id, "Retrying", attempts, Some(message), Some(now + d)).await,
                    None => finish(state, run_id, "Parked", attempts, Some(message), None).await,
                };
            }
            return finish(state, run_id, "Failed", attempts, Some(message), None).await;
        }
    }
    finish(state, run_id, "Succeeded", attempts + 1, None, None).await
}

async fn finish(state: &AppState, run_id: &SalesforceId, status: &str, attempts: i64, error: Option<String>, next: Option<OffsetDateTime>) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc();
    let mut fields = vec![("Status".to_string(), t(status)), ("Attempts".into(), Value::Int(attempts)), ("NextAttemptDateTime".into(), next.map_or(Value::Null, now_text))];
    if let Some(e) = &error {
        fields.push(("LastError".into(), t(&e.chars().take(30_000).collect::<String>())));
    }
    if status != "Retrying" {
        fields.push(("FinishedDateTime".into(), now_text(now)));
    }
    if !update_run(state.store.as_ref(), run_id, "Running", fields).await? {
        return Ok(()); // another runner took it over and records the outcome
    }
    if let Some(e) = &error {
        tracing::warn!(run = %run_id, status, error = %e, "a flow run did not succeed");
    }
    count_run(state, status, error.as_deref());
    Ok(())
}

/// Why an action did not complete.
enum ActionFail {
    /// In words, for the run's LastError.
    Failed(String),
    /// Another runner moved the run on first (its `ActionsDone` or `Status`
    /// guard failed): nothing of this action was written, and this runner stops.
    Lost,
}

impl From<String> for ActionFail {
    fn from(s: String) -> Self {
        ActionFail::Failed(s)
    }
}

impl From<&str> for ActionFail {
    fn from(s: &str) -> Self {
        ActionFail::Failed(s.to_string())
    }
}

fn store_fail(e: StoreError) -> ActionFail {
    match e {
        StoreError::Conflict { .. } => ActionFail::Lost,
        e => ActionFail::Failed(e.to_string()),
    }
}

type ActionResult = Result<(), ActionFail>;

/// The record's values for templates: the fields the templates name (parents too), read with SOQL.
async fn template_values(store: &dyn Store, object: &str, id: &str, templates: &[&String]) -> Result<HashMap<String, Option<String>>, String> {
    let mut wanted: Vec<String> = vec!["Id".into()];
    for tpl in templates {
        for f in dialtone_flows::template::fields(tpl).map_err(|e| e.to_string())? {
            if !wanted.iter().any(|w| w.eq_ignore_ascii_case(&f)) {
                wanted.push(f);
            }
        }
    }
    let soql = format!("SELECT {} FROM {object} WHERE Id = '{id}'", wanted.join(", "));
    let plan = crate::query::compile(store, &soql).map_err(|e| format!("merge fields: {}", e.message))?;
    let rows = store.query(&plan, None).await.map_err(|e| e.to_string())?;
    let row = rows.into_iter().next().ok_or_else(|| format!("the {object} {id} no longer exists"))?;
    Ok(wanted.into_iter().zip(row).map(|(k, v)| (k.to_ascii_lowercase(), if v.is_null() { None } else { Some(v.to_string()) })).collect())
}

fn render_all(fields: &std::collections::BTreeMap<String, String>, values: &HashMap<String, Option<String>>, vars: &HashMap<&str, String>) -> Result<Vec<(String, String)>, String> {
    let now = OffsetDateTime::now_utc();
    fields
        .iter()
        .map(|(k, tpl)| {
            let v = dialtone_flows::template::render(tpl, now, &|f| values.get(&f.to_ascii_lowercase()).cloned().flatten(), &|v| {
                vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)).map(|(_, x)| x.clone())
            })
            .map_err(|e| format!("{k}: {e}"))?;
            Ok((k.clone(), v))
        })
        .collect()
}

/// Text from a template, as the field's type wants it.
fn raw(obj: &dialtone_model::ObjectDef, field: &str, v: String) -> RawValue {
    if v.is_empty() {
        return RawValue::Null;
    }
    match obj.field(field).map(|f| &f.ty) {
        Some(FieldType::Int | FieldType::Double | FieldType::Currency | FieldType::Percent) => v.trim().parse::<f64>().map_or(RawValue::Text(v), RawValue::Number),
        _ => RawValue::Text(v),
    }
}

fn field_errors(e: Vec<dialtone_model::FieldError>) -> String {
    e.iter().map(|x| format!("{} ({})", x.message, x.code)).collect::<Vec<_>>().join("; ")
}

/// Action `done - 1` is done: written in the action's own transaction, and
/// only if the run is still Running at that action — so two runners holding
/// one run (a restart racing a second node) never both write an action.
fn progress(run_id: &SalesforceId, done: usize, lease: Value) -> Vec<WriteOp> {
    vec![
        WriteOp::Expect { object: "FlowRun".into(), id: run_id.clone(), fields: vec![("Status".into(), t("Running")), ("ActionsDone".into(), Value::Int(done as i64 - 1))] },
        WriteOp::Update { object: "FlowRun".into(), id: run_id.clone(), fields: vec![("ActionsDone".into(), Value::Int(done as i64)), ("LeaseExpiresDateTime".into(), lease)] },
    ]
}

async fn run_depth(store: &dyn Store, run_id: &SalesforceId) -> u32 {
    match run_row(store, run_id).await {
        Ok(Some(r)) => match r.get("Depth") {
            Some(Value::Int(n)) => (*n).clamp(0, 1000) as u32,
            _ => 0,
        },
        _ => 0,
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_action(state: &AppState, loaded: &Loaded, action: &Action, run_id: &SalesforceId, record_id: &str, index: usize, figures: Option<&Json_>) -> ActionResult {
    let store = state.store.as_ref();
    let schema = store.schema();
    let flow = &loaded.flow;
    let depth = run_depth(store, run_id).await + 1;
    let threshold = figures.is_some();
    let mut vars: HashMap<&str, String> = HashMap::from([("FlowName", flow.name.clone())]);
    if let Some(f) = figures {
        for k in ["Count", "Total", "Percent", "WindowMinutes"] {
            let key = k[..1].to_ascii_lowercase() + &k[1..];
            vars.insert(k, f.get(&key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).unwrap_or_default());
        }
    }
    let actor = loaded.actor.as_ref();
    let done = progress(run_id, index + 1, lease(state));
    match action {
        Action::Update { record, fields } => {
            let values = template_values(store, &flow.object, record_id, &fields.values().collect::<Vec<_>>()).await?;
            let (obj, id) = match record {
                None => (schema.object(&flow.object).ok_or("the flow's object is gone")?, record_id.to_string()),
                Some(r) => {
                    let more = template_values(store, &flow.object, record_id, &[&format!("{{!{r}}}")]).await?;
                    let target = more.get(&r.to_ascii_lowercase()).cloned().flatten().ok_or_else(|| format!("{r} is empty: no record to update"))?;
                    let id = SalesforceId::parse(&target).map_err(|e| e.to_string())?;
                    (schema.by_key_prefix(id.key_prefix()).ok_or("the reference points at no known object")?, target)
                }
            };
            let id = SalesforceId::parse(&id).map_err(|e| e.to_string())?;
            let current = store.get(obj, &id).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("the {} {id} no longer exists", obj.name))?;
            let rendered = render_all(fields, &values, &vars)?;
            let input = rendered.into_iter().map(|(k, v)| { let r = raw(obj, &k, v); (k, r) }).collect();
            let checked = obj.check_update(input, &current.values).map_err(field_errors)?;
            let mut ops = Vec::new();
            if !checked.is_empty() {
                ops.push(WriteOp::Update { object: obj.name.clone(), id, fields: checked });
            }
            ops.extend(done);
            store.write_batch_at(ops, actor, depth).await.map_err(store_fail)?;
            Ok(())
        }
        Action::Create { object, fields } => {
            let obj = schema.object(object).ok_or_else(|| format!("there is no object {object:?}"))?;
            let values = if threshold { HashMap::new() } else { template_values(store, &flow.object, record_id, &fields.values().collect::<Vec<_>>()).await? };
            let rendered = render_all(fields, &values, &vars)?;
            let mut input: Vec<(String, RawValue)> = rendered.into_iter().map(|(k, v)| { let r = raw(obj, &k, v); (k, r) }).collect();
            if obj.has_owner() && !input.iter().any(|(k, _)| k.eq_ignore_ascii_case("OwnerId")) {
                // The triggering record's owner, when it has one (the agent of a call), else the flow's admin.
                let owner = if threshold { None } else { template_values(store, &flow.object, record_id, &[&"{!OwnerId}".to_string()]).await.ok().and_then(|m| m.get("ownerid").cloned().flatten()) };
                if let Some(o) = owner.or_else(|| actor.map(|a| a.to_string())) {
                    input.push(("OwnerId".into(), RawValue::Text(o)));
                }
            }
            let checked = obj.check_create(input).map_err(field_errors)?;
            store.write_batch_at([vec![WriteOp::Insert { object: obj.name.clone(), fields: checked }], done].concat(), actor, depth).await.map_err(store_fail)?;
            Ok(())
        }
        Action::ConvertLead { lead } => convert_lead(store, &flow.object, record_id, lead.as_deref(), actor, depth, done).await,
        Action::Webhook { url, secret } => {
            webhook(state, loaded, run_id, record_id, url, secret, figures).await?;
            store.write_batch(done, None).await.map_err(store_fail)?;
            Ok(())
        }
        Action::Callback {} => {
            let values = template_values(store, &flow.object, record_id, &[&"{!VendorCallKey}".to_string()]).await?;
            let key = values.get("vendorcallkey").cloned().flatten().ok_or("the call has no VendorCallKey")?;
            let key = dialtone_calls::VendorCallKey::parse(&key).map_err(|e| e.to_string())?;
            let ok = state.calls.routing.lock().callback_requested(OffsetDateTime::now_utc(), &key);
            crate::routing::act_now(state);
            if !ok {
                return Err("routing holds no waiting work item for this call (it was answered, ended, or never queued)".into());
            }
            store.write_batch(done, None).await.map_err(store_fail)?;
            Ok(())
        }
    }
}

async fn convert_lead(store: &dyn Store, object: &str, record_id: &str, field: Option<&str>, actor: Option<&SalesforceId>, depth: u32, done: Vec<WriteOp>) -> ActionResult {
    let schema = store.schema();
    let lead_id = match field {
        None => record_id.to_string(),
        Some(f) => template_values(store, object, record_id, &[&format!("{{!{f}}}")]).await?.get(&f.to_ascii_lowercase()).cloned().flatten().ok_or_else(|| format!("{f} is empty: no lead to convert"))?,
    };
    let lead_id = SalesforceId::parse(&lead_id).map_err(|e| e.to_string())?;
    let lo = schema.object("Lead").expect("Lead is standard");
    if lead_id.key_prefix() != lo.key_prefix {
        return Err(format!("{lead_id} is not a Lead").into());
    }
    let lead = store.get(lo, &lead_id).await.map_err(|e| e.to_string())?.ok_or("the lead no longer exists")?;
    if lead.get("IsConverted") == Some(&Value::Bool(true)) {
        return Err("the lead is already converted".into());
    }
    let g = |f: &str| lead.get(f).filter(|v| !v.is_null()).map(|v| RawValue::Text(v.to_string()));
    let mut account: Vec<(String, RawValue)> = vec![("Name".into(), g("Company").or_else(|| g("Name")).unwrap_or(RawValue::Text("Unknown".into())))];
    for (from, to) in [("Phone", "Phone"), ("Website", "Website"), ("Industry", "Industry"), ("Street", "BillingStreet"), ("City", "BillingCity"), ("State", "BillingState"), ("PostalCode", "BillingPostalCode"), ("Country", "BillingCountry"), ("LeadSource", "AccountSource")] {
        if let Some(v) = g(from) {
            account.push((to.into(), v));
        }
    }
    let owner = lead.get("OwnerId").and_then(Value::as_str).map(str::to_string);
    if let Some(o) = &owner {
        account.push(("OwnerId".into(), RawValue::Text(o.clone())));
    }
    let ao = schema.object("Account").expect("Account is standard");
    let account = ao.check_create(account).map_err(field_errors)?;
    let mut contact: Vec<(String, RawValue)> = Vec::new();
    for (from, to) in [("Salutation", "Salutation"), ("FirstName", "FirstName"), ("LastName", "LastName"), ("Title", "Title"), ("Email", "Email"), ("Phone", "Phone"), ("MobilePhone", "MobilePhone"), ("LeadSource", "LeadSource"), ("DoNotCall", "DoNotCall"), ("Street", "MailingStreet"), ("City", "MailingCity"), ("State", "MailingState"), ("PostalCode", "MailingPostalCode"), ("Country", "MailingCountry")] {
        if let Some(v) = g(from) {
            contact.push((to.into(), v));
        }
    }
    if let Some(o) = &owner {
        contact.push(("OwnerId".into(), RawValue::Text(o.clone())));
    }
    let co = schema.object("Contact").expect("Contact is standard");
    let contact = co.check_create(contact).map_err(field_errors)?;
    // The conversion fields are read-only to the API; the conversion sets them.
    let today = OffsetDateTime::now_utc().date();
    let converted = vec![
        ("IsConverted".to_string(), Value::Bool(true)),
        ("Status".into(), t("Closed - Converted")),
        ("ConvertedDate".into(), t(&dialtone_model::format_date(today))),
    ];
    // One transaction: the Account, its Contact, the Lead marked converted and the run's
    // progress — an interrupted conversion leaves nothing behind to repeat.
    let ops = vec![
        WriteOp::Insert { object: "Account".into(), fields: account },
        WriteOp::Linked { op: Box::new(WriteOp::Insert { object: "Contact".into(), fields: contact }), links: vec![("AccountId".into(), 0)] },
        WriteOp::Linked {
            op: Box::new(WriteOp::Update { object: "Lead".into(), id: lead_id, fields: converted }),
            links: vec![("ConvertedAccountId".into(), 0), ("ConvertedContactId".into(), 1)],
        },
    ];
    store.write_batch_at([ops, done].concat(), actor, depth).await.map_err(store_fail)?;
    Ok(())
}

/// The record as JSON for a webhook body.
async fn record_json(store: &dyn Store, object: &str, id: &str) -> Json_ {
    let (Some(o), Ok(id)) = (store.schema().object(object), SalesforceId::parse(id)) else { return Json_::Null };
    match store.get(o, &id).await {
        Ok(Some(r)) => Json_::Object(
            r.values
                .iter()
                .map(|(k, v)| (k.clone(), crate::wire::value_to_json(v)))
                .collect(),
        ),
        _ => Json_::Null,
    }
}

async fn webhook(state: &AppState, loaded: &Loaded, run_id: &SalesforceId, record_id: &str, url: &str, secret: &str, figures: Option<&Json_>) -> ActionResult {
    let store = state.store.as_ref();
    let flow = &loaded.flow;
    let key = state.master_key.as_ref().ok_or("no master key is loaded, so the webhook's secret cannot be opened")?;
    let sealed = store.setting(&format!("credential:{secret}")).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("no credential named {secret:?}: `dialtone credential set {secret}`"))?;
    let secret_value = dialtone_secrets::open_secret(key, secret, &sealed).map_err(|e| e.to_string())?;
    let run = run_row(store, run_id).await.ok().flatten();
    let detail: Json_ = run.as_ref().and_then(|r| r.get("Detail")).and_then(Value::as_str).and_then(|d| serde_json::from_str(d).ok()).unwrap_or(Json_::Null);
    let seq = run.as_ref().and_then(|r| r.get("ChangeSeq")).and_then(|v| if let Value::Int(n) = v { Some(*n) } else { None });
    let body = json!({
        "deliveryId": run_id.as_str(),
        "flow": flow.name,
        "event": if figures.is_some() { "threshold" } else { detail.get("op").and_then(Json_::as_str).unwrap_or("updated") },
        "object": flow.object,
        "recordId": if figures.is_some() { Json_::Null } else { json!(record_id) },
        "changeSeq": if figures.is_some() { None } else { seq },
        "changes": detail.get("changes").cloned().unwrap_or(Json_::Array(vec![])),
        "record": if figures.is_some() { Json_::Null } else { record_json(store, &flow.object, record_id).await },
        "figures": figures.cloned().unwrap_or(Json_::Null),
    })
    .to_string();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let signature = dialtone_flows::signature::sign(secret_value.expose().as_bytes(), now, body.as_bytes());
    let timeout = state.flows.settings().webhook_timeout;
    let url = url.to_string();
    let delivery = run_id.to_string();
    tokio::task::spawn_blocking(move || {
        let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build();
        let agent: ureq::Agent = config.into();
        let res = agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header(dialtone_flows::signature::HEADER, &signature)
            .header("X-Dialtone-Delivery", &delivery)
            .send(body.as_bytes());
        match res {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("{url} answered {}", r.status())),
            Err(e) => Err(format!("{url}: {e}")),
        }
    })
    .await
    .map_err(|e| format!("webhook task: {e}"))?
    .map_err(ActionFail::Failed)
}

/// Runs whose retry time has come.
async fn due_retries(state: &AppState) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let now = OffsetDateTime::now_utc();
    let soql = format!(
        "SELECT Id, FlowId, RecordId, ActionsDone, Attempts, Detail FROM FlowRun WHERE Status = 'Retrying' AND NextAttemptDateTime <= {} ORDER BY NextAttemptDateTime LIMIT 100",
        dialtone_model::format_datetime(now).replace(".000Z", "Z")
    );
    let plan = crate::query::compile(store, &soql)?;
    let rows = store.query(&plan, None).await?;
    let flows = state.flows.flows();
    for r in rows {
        let s = |i: usize| r.get(i).and_then(Value::as_str).unwrap_or_default().to_string();
        let n = |i: usize| if let Some(Value::Int(n)) = r.get(i) { *n } else { 0 };
        let Ok(run_id) = SalesforceId::parse(&s(0)) else { continue };
        // Claimed by one runner only: the first to turn it from Retrying to Running.
        if !update_run(store, &run_id, "Retrying", vec![("Status".into(), t("Running")), ("LeaseExpiresDateTime".into(), lease(state))]).await? {
            continue;
        }
        let Some(loaded) = flows.iter().find(|l| l.flow.id == s(1)) else {
            finish(state, &run_id, "Failed", n(4), Some("the flow no longer exists (it was deleted or the flows file was imported again)".into()), None).await?;
            continue;
        };
        let detail: Option<Json_> = serde_json::from_str(&s(5)).ok();
        let figures = detail.as_ref().and_then(|d| d.get("figures")).cloned();
        execute(state, loaded, &run_id, &s(2), n(3).max(0) as usize, n(4), figures.as_ref()).await?;
    }
    Ok(())
}

/// When the alert `flow_id` last fired (by any node), from its latest FlowRun.
async fn last_fired(store: &dyn Store, flow_id: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    let last = format!("SELECT StartedDateTime FROM FlowRun WHERE FlowId = '{flow_id}' ORDER BY StartedDateTime DESC LIMIT 1");
    Ok(match crate::query::compile(store, &last) {
        Ok(plan) => store.query(&plan, None).await?.first().and_then(|r| r.first()).and_then(Value::as_str).and_then(dialtone_model::parse_datetime),
        Err(_) => None,
    })
}

/// Counts every threshold alert and fires those that crossed.
pub async fn thresholds(state: &AppState, now: OffsetDateTime) -> Result<(), ApiError> {
    let store = state.store.as_ref();
    let flows = state.flows.flows();
    let every = (state.flows.settings().threshold_every.as_secs() as i64).max(1);
    for loaded in flows.iter() {
        let flow = &loaded.flow;
        let Trigger::Threshold(spec) = &flow.trigger else { continue };
        if !flow.active {
            continue;
        }
        let since = dialtone_model::format_datetime(now - spec.window).replace(".000Z", "Z");
        let count = |cond: &str| format!("SELECT Id FROM {} WHERE {} >= {since} AND ({cond})", flow.object, spec.window_field);
        let c = store.count(&crate::query::compile(store, &count(&spec.numerator))?).await?;
        let total = store.count(&crate::query::compile(store, &count(&spec.denominator))?).await?;
        let figures = Figures { count: c, total };
        let known = state.flows.alerts.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&flow.id);
        // The last firing (by any node), read at most once a round.
        let mut last = None;
        if !known {
            // After a restart: the last firing within the cooldown counts, so the alert does not fire again at once.
            let at = last_fired(store, &flow.id).await?;
            last = Some(at);
            let alert = at.filter(|t| now - *t < spec.cooldown).map_or_else(Alert::default, Alert::fired_at);
            state.flows.alerts.lock().unwrap_or_else(|p| p.into_inner()).insert(flow.id.clone(), alert);
        }
        let fire = state.flows.alerts.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&flow.id).is_some_and(|a| a.observe(spec, figures, now));
        if !fire {
            continue;
        }
        let last = match last {
            Some(at) => at,
            None => last_fired(store, &flow.id).await?,
        };
        // Another node counting the same records may have fired it already: its firing counts too.
        if let Some(at) = last.filter(|t| now - *t < spec.cooldown) {
            state.flows.alerts.lock().unwrap_or_else(|p| p.into_inner()).insert(flow.id.clone(), Alert::fired_at(at));
            continue;
        }
        let f = json!({"count": c, "total": total, "percent": format!("{:.2}", figures.percent()), "windowMinutes": spec.window.whole_minutes(), "threshold": spec.percent});
        let fields = vec![
            ("FlowId".to_string(), t(&flow.id)),
            ("FlowName".into(), t(&flow.name)),
            ("RecordId".into(), t(&flow.id)),
            ("Object".into(), t(&flow.object)),
            ("Status".into(), t("Running")),
            ("Attempts".into(), Value::Int(0)),
            ("ActionsDone".into(), Value::Int(0)),
            ("Depth".into(), Value::Int(0)),
            ("StartedDateTime".into(), now_text(now)),
            ("LeaseExpiresDateTime".into(), lease(state)),
            ("Detail".into(), t(&json!({"op": "threshold", "figures": f}).to_string())),
            // One firing per counting round across nodes: (FlowId, ChangeSeq) is unique,
            // and an alert's ChangeSeq is minus its round (no change has a negative seq).
            ("ChangeSeq".into(), Value::Int(-(now.unix_timestamp() / every))),
        ];
        let Some(run_id) = claim(store, fields).await? else { continue };
        execute(state, loaded, &run_id, &flow.id, 0, 0, Some(&f)).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- the API

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/flows/config", get(crate::flows_admin::get_config).put(crate::flows_admin::put_config))
        .route("/api/flows/flows", get(crate::flows_admin::list_flows).post(crate::flows_admin::create_flow))
        .route("/api/flows/flows/{id}", axum::routing::put(crate::flows_admin::replace_flow).delete(crate::flows_admin::delete_flow))
        .route("/api/flows/status", get(status))
        .route("/api/flows/runs", get(runs))
        .route("/api/flows/runs/{id}/retry", post(retry))
}

pub(crate) fn can_monitor(s: &Session) -> bool {
    s.grants.has(SystemPerm::ManageFlows) || s.grants.has(SystemPerm::ViewSetup)
}

/// `GET /api/flows/status`: the runner's counters (View Setup or Manage Flows).
async fn status(State(state): State<AppState>, s: Session) -> Result<Json<Json_>, ApiError> {
    if !can_monitor(&s) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "the flow runner's status needs View Setup or Manage Flows"));
    }
    let backlog = state.store.outbox_backlog().await?;
    let st = state.flows.status();
    Ok(Json(json!({
        "backlog": backlog, "succeeded": st.succeeded, "failed": st.failed, "retrying": st.retrying,
        "parked": st.parked, "skipped": st.skipped, "lastError": st.last_error, "problems": st.problems,
    })))
}

#[derive(serde::Deserialize)]
struct RunsQuery {
    status: Option<String>,
    #[serde(rename = "recordId")]
    record_id: Option<String>,
    limit: Option<u64>,
}

/// `GET /api/flows/runs[?status=Parked][&recordId=…]`: recent runs, newest
/// first (View Setup or Manage Flows). Anyone who can read a record sees the
/// runs it triggered (`recordId=`), without their error text and detail, which
/// may name other systems.
async fn runs(State(state): State<AppState>, s: Session, Query(q): Query<RunsQuery>) -> Result<Json<Json_>, ApiError> {
    let admin = can_monitor(&s);
    if !admin {
        let refused = || ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "flow runs need View Setup or Manage Flows; a record's own runs need access to the record");
        let id = q.record_id.as_deref().and_then(|r| SalesforceId::parse(r).ok()).ok_or_else(refused)?;
        let schema = state.store.schema();
        let o = schema.by_key_prefix(&id.as_str()[..3]).filter(|o| s.grants.can(&o.name, dialtone_access::Op::Read)).ok_or_else(refused)?;
        crate::guard::read(state.store.as_ref(), &s.grants, o, &id).await.map_err(|_| refused())?;
    }
    let mut wheres = Vec::new();
    if let Some(st) = &q.status {
        let list: Vec<String> = st.split(',').map(str::trim).filter(|x| x.chars().all(|c| c.is_ascii_alphabetic()) && !x.is_empty()).map(|x| format!("'{x}'")).collect();
        if !list.is_empty() {
            wheres.push(format!("Status IN ({})", list.join(", ")));
        }
    }
    if let Some(r) = &q.record_id {
        let id = SalesforceId::parse(r).map_err(|_| ApiError::new("MALFORMED_ID", format!("{r:?} is not a record id")))?;
        wheres.push(format!("RecordId = '{id}'"));
    }
    let fields = ["Id", "FlowId", "FlowName", "RecordId", "Object", "ChangeSeq", "Status", "Attempts", "ActionsDone", "LastError", "NextAttemptDateTime", "StartedDateTime", "FinishedDateTime", "Detail"];
    let soql = format!(
        "SELECT {} FROM FlowRun{} ORDER BY Id DESC LIMIT {}",
        fields.join(", "),
        if wheres.is_empty() { String::new() } else { format!(" WHERE {}", wheres.join(" AND ")) },
        q.limit.unwrap_or(100).clamp(1, 2000)
    );
    let store = state.store.as_ref();
    let rows = store.query(&crate::query::compile(store, &soql)?, None).await?;
    let out: Vec<Json_> = rows
        .into_iter()
        .map(|r| {
            Json_::Object(
                fields
                    .iter()
                    .zip(r)
                    .filter(|(k, _)| admin || !matches!(**k, "LastError" | "Detail"))
                    .map(|(k, v)| (k.to_string(), crate::wire::value_to_json(&v)))
                    .collect(),
            )
        })
        .collect();
    Ok(Json(json!({"runs": out})))
}

/// `POST /api/flows/runs/{id}/retry`: a Parked or Failed run is tried again
/// now, from the action that failed (Manage Flows; audited).
async fn retry(State(state): State<AppState>, extensions: axum::http::Extensions, s: Session, Path(id): Path<String>) -> Result<Json<Json_>, ApiError> {
    if !s.grants.has(SystemPerm::ManageFlows) {
        return Err(ApiError::new("INSUFFICIENT_ACCESS_OR_READONLY", "retrying a flow run needs the Manage Flows permission"));
    }
    let store = state.store.as_ref();
    let run_id = SalesforceId::parse(&id).map_err(|_| ApiError::not_found())?;
    let run = run_row(store, &run_id).await.ok().flatten().ok_or_else(ApiError::not_found)?;
    let status = run.get("Status").and_then(Value::as_str).unwrap_or_default().to_string();
    if !matches!(status.as_str(), "Parked" | "Failed") {
        return Err(ApiError::new("FLOW_RUN_NOT_RETRYABLE", format!("the run is {status}; only Parked and Failed runs are retried")));
    }
    // A retried run gets a fresh set of attempts.
    if !update_run(store, &run_id, &status, vec![("Status".into(), t("Retrying")), ("Attempts".into(), Value::Int(0)), ("NextAttemptDateTime".into(), now_text(OffsetDateTime::now_utc()))]).await? {
        return Err(ApiError::new("FLOW_RUN_NOT_RETRYABLE", "the run changed while you asked (someone else retried it); reload the page"));
    }
    crate::desktop::audit(store, &s, &extensions, "flows.run.retry", run_id.as_str(), Some(status), Some("Retrying".into())).await?;
    state.flows.wake.notify_one();
    Ok(Json(json!({"id": run_id.as_str(), "status": "Retrying"})))
}
