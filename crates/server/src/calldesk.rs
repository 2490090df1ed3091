//! The call desk: drives the sans-IO call lifecycle (`dialtone-calls`) and
//! applies what it decides to the store. Every telephony edge (SIP, Twilio,
//! partner telephony, the simulator) hands its events to [`CallDesk::ingest`];
//! the VoiceCall is written at the first event, before any agent is offered
//! the call, and the caller's record is matched from the phone index.

use crate::error::ApiError;
use dialtone_calls::{CallError, CallView, CenterConfig, Config, Effect, Input, Lifecycle, Notification, VendorCallKey, WrapUp};
use dialtone_model::{SalesforceId, Value};
use dialtone_store::{Store, WriteOp};
use std::collections::HashMap;
use time::OffsetDateTime;

/// The wrap-up outcomes a call center offers unless it configures its own.
pub const STANDARD_RESOLUTIONS: &[&str] =
    &["Resolved", "Callback Requested", "Escalated", "Sale", "No Sale", "Wrong Number", "Voicemail Left", "Other"];

/// [`STANDARD_RESOLUTIONS`] as the lifecycle's picklist.
pub fn standard_resolutions() -> Vec<String> {
    STANDARD_RESOLUTIONS.iter().map(|s| s.to_string()).collect()
}

/// One lock holds the lifecycle while its effects are written, so the effects
/// of one call are applied in order (throughput is bounded by the store's
/// writes; the telephony issue measures it).
pub struct CallDesk {
    inner: tokio::sync::Mutex<Desk>,
    /// Where every batch's notifications and call snapshots go (the agent
    /// desktop's hub), set once by [`CallDesk::subscribe`]. Unbounded and
    /// never awaited: the desk never waits for a desktop.
    sink: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<DeskUpdate>>,
    /// The routing service: shown every call event the desk takes, from any edge.
    pub routing: crate::routing::Shared,
    /// The server's metrics (the [`crate::AppState`] shares this one).
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
}

struct Desk {
    lifecycle: Lifecycle,
    calls: HashMap<VendorCallKey, SalesforceId>,
    tasks: HashMap<VendorCallKey, SalesforceId>,
    /// Calls the current batch touched (their snapshots are published).
    touched: Vec<VendorCallKey>,
}

/// What one batch changed, as the desktop needs it: every notification, and
/// the state after the batch of each call it touched, in order.
#[derive(Debug, Clone)]
pub struct DeskUpdate {
    pub notifications: Vec<Notification>,
    pub calls: Vec<CallSnapshot>,
    /// Calls the lifecycle has forgotten (late events change nothing now).
    pub forgotten: Vec<VendorCallKey>,
    /// When the batch reached the desk (screen-pop latency counts from here).
    pub received: std::time::Instant,
}

/// One call as the lifecycle sees it after a batch.
#[derive(Debug, Clone)]
pub struct CallSnapshot {
    pub key: VendorCallKey,
    pub voice_call: Option<SalesforceId>,
    pub view: CallView,
    pub wrap_up: Option<WrapUp>,
    /// The leg this one continues (a transfer made it).
    pub previous: Option<VendorCallKey>,
}

impl Default for CallDesk {
    fn default() -> CallDesk {
        CallDesk::new(CallDesk::default_config())
    }
}

impl CallDesk {
    /// The lifecycle's defaults with the standard wrap-up outcomes and Tasks written.
    pub fn default_config() -> Config {
        let center = CenterConfig { write_task: true, resolutions: standard_resolutions() };
        Config { default_center: center, ..Config::default() }
    }

    pub fn new(config: Config) -> CallDesk {
        let desk = Desk { lifecycle: Lifecycle::new(config), calls: HashMap::new(), tasks: HashMap::new(), touched: Vec::new() };
        CallDesk { inner: tokio::sync::Mutex::new(desk), sink: std::sync::OnceLock::new(), routing: crate::routing::Shared::default(), metrics: Default::default() }
    }

    /// The stream of every batch's notifications and call snapshots, for
    /// the one subscriber (the desktop hub); `None` if already taken.
    pub fn subscribe(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<DeskUpdate>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.sink.set(tx).ok().map(|()| rx)
    }

    /// Feeds one input; writes the resulting records; returns the desktop
    /// notifications (also published to the subscriber).
    pub async fn ingest(&self, store: &dyn Store, now: OffsetDateTime, input: Input) -> Result<Vec<Notification>, ApiError> {
        let received = std::time::Instant::now();
        let mut desk = self.inner.lock().await;
        self.observe(now, std::slice::from_ref(&input));
        let result = desk.run(store, now, vec![input], true).await;
        self.publish(&mut desk, result.as_deref().unwrap_or_default(), Vec::new(), received);
        result
    }

    /// Feeds a batch of inputs under one lock (the SIP edge's pump). An
    /// input that fails is logged and skipped; the rest still apply.
    pub async fn ingest_all(&self, store: &dyn Store, now: OffsetDateTime, inputs: Vec<Input>) -> Result<Vec<Notification>, ApiError> {
        let received = std::time::Instant::now();
        let mut desk = self.inner.lock().await;
        self.observe(now, &inputs);
        let result = desk.run(store, now, inputs, false).await;
        self.publish(&mut desk, result.as_deref().unwrap_or_default(), Vec::new(), received);
        result
    }

    /// Shows the routing service the batch's call events (under the desk's
    /// lock, so it sees them in the order the lifecycle does).
    fn observe(&self, now: OffsetDateTime, inputs: &[Input]) {
        let mut routing = self.routing.lock();
        for input in inputs {
            if let Input::Event(ev) = input {
                self.metrics.call_event(ev.provider);
                routing.observe(now, ev);
            }
        }
    }

    /// Closes calls whose end never came (the reaper); call at `next_wakeup`.
    pub async fn poll(&self, store: &dyn Store, now: OffsetDateTime) -> Result<Vec<Notification>, ApiError> {
        let received = std::time::Instant::now();
        let mut desk = self.inner.lock().await;
        let effects = desk.lifecycle.poll(now);
        // Forget the ids of calls the lifecycle has forgotten: late events
        // for them change nothing, so the maps stay as small as the live set.
        let Desk { lifecycle, calls, tasks, .. } = &mut *desk;
        let forgotten: Vec<VendorCallKey> = calls.keys().filter(|k| lifecycle.call(k).is_none()).cloned().collect();
        calls.retain(|k, _| lifecycle.call(k).is_some());
        tasks.retain(|k, _| lifecycle.call(k).is_some());
        let result = desk.apply(store, now, effects).await;
        self.publish(&mut desk, result.as_deref().unwrap_or_default(), forgotten, received);
        result
    }

    /// Sends what the batch changed to the subscriber, under the desk's
    /// lock (so batches arrive in order) but without waiting.
    fn publish(&self, desk: &mut Desk, notifications: &[Notification], forgotten: Vec<VendorCallKey>, received: std::time::Instant) {
        let touched = std::mem::take(&mut desk.touched);
        if touched.is_empty() && notifications.is_empty() && forgotten.is_empty() {
            return;
        }
        let mut seen = std::collections::HashSet::new();
        let calls: Vec<CallSnapshot> = touched
            .into_iter()
            .filter(|k| seen.insert(k.clone()))
            .filter_map(|key| {
                let call = desk.lifecycle.call(&key)?;
                Some(CallSnapshot {
                    voice_call: desk.calls.get(&key).cloned(),
                    view: call.view(),
                    wrap_up: call.wrap_up().cloned(),
                    previous: call.previous().cloned(),
                    key,
                })
            })
            .collect();
        self.metrics.desk_batch(calls.iter().map(|c| (&c.key, c.view.provider, c.view.ended_at.is_some())), &forgotten, notifications);
        // Calls that ended in this batch, however (an end event, the reaper): routing frees their agents.
        if calls.iter().any(|c| c.view.ended_at.is_some()) {
            let now = OffsetDateTime::now_utc();
            let mut routing = self.routing.lock();
            for c in calls.iter().filter(|c| c.view.ended_at.is_some()) {
                routing.call_ended(now, &c.key);
            }
        }
        let Some(sink) = self.sink.get() else { return };
        let _ = sink.send(DeskUpdate { notifications: notifications.to_vec(), calls, forgotten, received });
    }

    /// The agent's wrap-up of a call: `INVALID_RESOLUTION` outside the call
    /// center's list, `CALL_NOT_FOUND` for a call the lifecycle no longer holds.
    pub async fn wrap_up(&self, store: &dyn Store, now: OffsetDateTime, key: VendorCallKey, resolution: String, notes: Option<String>) -> Result<(), ApiError> {
        let received = std::time::Instant::now();
        let mut desk = self.inner.lock().await;
        let result = match desk.lifecycle.handle(now, Input::WrapUp { key, resolution, notes }) {
            Ok(effects) => desk.apply(store, now, effects).await,
            Err(e) => Err(call_error(e)),
        };
        self.publish(&mut desk, result.as_deref().unwrap_or_default(), Vec::new(), received);
        result.map(|_| ())
    }

    /// Takes the call centers' current settings (Tasks, wrap-up picklists).
    pub async fn set_centers(&self, centers: HashMap<SalesforceId, dialtone_calls::CenterConfig>) {
        self.inner.lock().await.lifecycle.set_centers(centers);
    }

    pub async fn next_wakeup(&self) -> Option<OffsetDateTime> {
        self.inner.lock().await.lifecycle.next_wakeup()
    }

    /// Whether the lifecycle still holds this call (late events merge into
    /// it); a forgotten or never-seen call is not live.
    pub async fn is_live(&self, key: &VendorCallKey) -> bool {
        self.inner.lock().await.lifecycle.call(key).is_some()
    }

    /// The wrap-up resolutions of a call center (the default list when it has none of its own).
    pub async fn resolutions(&self, center: Option<&SalesforceId>) -> Vec<String> {
        let desk = self.inner.lock().await;
        let config = desk.lifecycle.config();
        center.and_then(|id| config.centers.get(id)).unwrap_or(&config.default_center).resolutions.clone()
    }

    /// A live call as the lifecycle has it now.
    pub async fn snapshot(&self, key: &VendorCallKey) -> Option<CallSnapshot> {
        let desk = self.inner.lock().await;
        let call = desk.lifecycle.call(key)?;
        Some(CallSnapshot { key: key.clone(), voice_call: desk.calls.get(key).cloned(), view: call.view(), wrap_up: call.wrap_up().cloned(), previous: call.previous().cloned() })
    }

    /// The VoiceCall id of a live or recent call.
    pub async fn voice_call(&self, key: &VendorCallKey) -> Option<SalesforceId> {
        self.inner.lock().await.calls.get(key).cloned()
    }

    /// [`CallDesk::voice_call`] of many calls under one lock.
    pub async fn voice_calls(&self, keys: &[VendorCallKey]) -> Vec<Option<SalesforceId>> {
        let desk = self.inner.lock().await;
        keys.iter().map(|k| desk.calls.get(k).cloned()).collect()
    }
}

impl Desk {
    /// Runs inputs through the lifecycle in rounds. Each round's effects are
    /// coalesced (a create and later updates of the same call are one
    /// insert) and written in one transaction; the ids stored and the phone
    /// matches found are the next round's inputs. `strict`: the first input
    /// the lifecycle refuses fails the call; otherwise it is logged and skipped.
    async fn run(&mut self, store: &dyn Store, now: OffsetDateTime, inputs: Vec<Input>, strict: bool) -> Result<Vec<Notification>, ApiError> {
        let mut notes = Vec::new();
        let mut inputs = inputs;
        while !inputs.is_empty() {
            let mut effects = Vec::new();
            for input in inputs.drain(..) {
                match self.lifecycle.handle(now, input) {
                    Ok(e) => effects.extend(e),
                    Err(e) if strict => return Err(call_error(e)),
                    Err(e) => tracing::warn!(error = %e, "a call event was not applied"),
                }
            }
            let (more, follow) = self.apply_collect(store, effects).await?;
            notes.extend(more);
            inputs = follow;
        }
        Ok(notes)
    }

    async fn apply(&mut self, store: &dyn Store, now: OffsetDateTime, effects: Vec<Effect>) -> Result<Vec<Notification>, ApiError> {
        let (mut notes, follow_ups) = self.apply_collect(store, effects).await?;
        notes.extend(self.run(store, now, follow_ups, false).await?);
        Ok(notes)
    }

    /// Writes the effects in one transaction; returns notifications and the
    /// inputs they cause (the stored ids, the phone matches).
    async fn apply_collect(&mut self, store: &dyn Store, effects: Vec<Effect>) -> Result<(Vec<Notification>, Vec<Input>), ApiError> {
        let mut notes = Vec::new();
        let mut ops: Vec<WriteOp> = Vec::new();
        let mut vc_insert: HashMap<VendorCallKey, usize> = HashMap::new();
        let mut vc_update: HashMap<VendorCallKey, usize> = HashMap::new();
        let mut task_insert: HashMap<VendorCallKey, usize> = HashMap::new();
        let mut task_update: HashMap<VendorCallKey, usize> = HashMap::new();
        let mut callers: Vec<(VendorCallKey, String)> = Vec::new();
        for e in effects {
            if self.touched.last() != Some(e.key()) {
                self.touched.push(e.key().clone());
            }
            match e {
                Effect::CreateVoiceCall { key, fields } => {
                    let text = |name: &str| fields.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_str()).unwrap_or("").to_string();
                    // Numbers are masked by the log writer (crate::logging), in every format.
                    tracing::info!(key = %key, from = %text("FromPhoneNumber"), to = %text("ToPhoneNumber"), "call started");
                    let from = fields.iter().find(|(n, _)| n == "FromPhoneNumber").and_then(|(_, v)| v.as_str()).map(str::to_string);
                    let inbound = fields.iter().any(|(n, v)| n == "CallType" && v.as_str() == Some("Inbound"));
                    if let (Some(number), true) = (from, inbound) {
                        callers.push((key.clone(), number));
                    }
                    vc_insert.insert(key, ops.len());
                    ops.push(WriteOp::Insert { object: "VoiceCall".into(), fields });
                }
                Effect::UpdateVoiceCall { key, fields } => match vc_insert.get(&key).or_else(|| vc_update.get(&key)) {
                    Some(&i) => merge(&mut ops[i], fields),
                    None => {
                        if let Some(id) = self.calls.get(&key) {
                            vc_update.insert(key, ops.len());
                            ops.push(WriteOp::Update { object: "VoiceCall".into(), id: id.clone(), fields });
                        }
                    }
                },
                Effect::CreateRecording { fields, .. } => ops.push(WriteOp::Insert { object: "VoiceCallRecording".into(), fields }),
                Effect::CreateTranscriptEntry { fields, .. } => ops.push(WriteOp::Insert { object: "ConversationEntry".into(), fields }),
                Effect::CreateTask { key, fields } => {
                    task_insert.insert(key, ops.len());
                    ops.push(WriteOp::Insert { object: "Task".into(), fields });
                }
                Effect::UpdateTask { key, fields } => match task_insert.get(&key).or_else(|| task_update.get(&key)) {
                    Some(&i) => merge(&mut ops[i], fields),
                    None => {
                        if let Some(id) = self.tasks.get(&key) {
                            task_update.insert(key, ops.len());
                            ops.push(WriteOp::Update { object: "Task".into(), id: id.clone(), fields });
                        }
                    }
                },
                Effect::Notify(n) => notes.push(n),
            }
        }
        if ops.is_empty() {
            return Ok((notes, Vec::new()));
        }
        let ids = write_all(store, ops).await?;
        let mut follow = Vec::new();
        let mut stored: Vec<(VendorCallKey, usize)> = vc_insert.into_iter().collect();
        stored.sort_by_key(|(_, i)| *i);
        for (key, i) in stored {
            if let Some(Some(id)) = ids.get(i) {
                self.calls.insert(key.clone(), id.clone());
                follow.push(Input::Stored { key, id: id.clone() });
            }
        }
        for (key, i) in task_insert {
            if let Some(Some(id)) = ids.get(i) {
                self.tasks.insert(key, id.clone());
            }
        }
        for (key, number) in callers {
            if self.calls.contains_key(&key)
                && let Some(record) = caller_record(store, &number).await?
            {
                follow.push(Input::Matched { key, record });
            }
        }
        Ok((notes, follow))
    }
}

/// The lifecycle's refusal as an API error (the caller's fault, detail echoed).
fn call_error(e: CallError) -> ApiError {
    let code = match &e {
        CallError::UnknownCall(_) => "CALL_NOT_FOUND",
        CallError::UnknownResolution { .. } => "INVALID_RESOLUTION",
        CallError::NotesTooLong { .. } => "STRING_TOO_LONG",
        CallError::NotRelatable(_) => "INVALID_FIELD",
    };
    ApiError::new(code, e.to_string())
}

/// Later values of the same field replace earlier ones.
fn merge(op: &mut WriteOp, fields: Vec<(String, Value)>) {
    let (WriteOp::Insert { fields: into, .. } | WriteOp::Update { fields: into, .. }) = op else { return };
    for (name, value) in fields {
        match into.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => into.push((name, value)),
        }
    }
}

/// One transaction for the batch; if it fails, each write alone, so one bad
/// write costs only itself (logged).
async fn write_all(store: &dyn Store, ops: Vec<WriteOp>) -> Result<Vec<Option<SalesforceId>>, ApiError> {
    match store.write_batch(ops.clone(), None).await {
        Ok(ids) => Ok(ids),
        Err(batch_error) if ops.len() > 1 => {
            tracing::warn!(error = %batch_error, writes = ops.len(), "a call desk batch failed; writing its parts one by one");
            let mut ids = Vec::with_capacity(ops.len());
            for op in ops {
                match store.write_batch(vec![op], None).await {
                    Ok(mut one) => ids.push(one.pop().flatten()),
                    Err(e) => {
                        tracing::error!(error = %e, "a call desk write failed");
                        ids.push(None);
                    }
                }
            }
            Ok(ids)
        }
        Err(e) => Err(e.into()),
    }
}

/// Closes VoiceCalls a previous run left open (the process was killed
/// mid-call: the lifecycle lives in memory): their end is now, the
/// disposition `completed` if an agent had answered and `failed` if not,
/// DisconnectReason `Reaped`. Returns how many were closed.
pub async fn close_orphans(store: &dyn Store, now: OffsetDateTime) -> Result<usize, ApiError> {
    let plan = crate::query::compile(store, "SELECT Id, CallAcceptDateTime FROM VoiceCall WHERE CallEndDateTime = null")?;
    let rows = store.query(&plan, None).await?;
    let vc = store.schema().object("VoiceCall").expect("standard object");
    let end = dialtone_model::format_datetime(now);
    for row in &rows {
        let Some(id) = row[0].as_str().and_then(|s| SalesforceId::parse(s).ok()) else { continue };
        let answered = !matches!(row[1], Value::Null);
        let fields = vec![
            ("CallEndDateTime".to_string(), Value::Text(end.clone())),
            ("CallDisposition".to_string(), Value::Text(if answered { "completed" } else { "failed" }.into())),
            ("DisconnectReason".to_string(), Value::Text("Reaped".into())),
        ];
        store.update(vc, &id, fields, None).await?;
    }
    Ok(rows.len())
}

/// Runs the lifecycle's timers (the reaper) for as long as the server runs.
pub fn spawn_reaper(state: crate::AppState) {
    // Call center settings changed by the CLI or the API reach the lifecycle within 5 s.
    let settings = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            match crate::desktop::center_configs(settings.store.as_ref()).await {
                Ok(centers) => settings.calls.set_centers(centers).await,
                Err(e) => tracing::warn!(error = %e.message, "reading call center settings"),
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let now = OffsetDateTime::now_utc();
            let wait = match state.calls.next_wakeup().await {
                Some(t) => (t - now).clamp(time::Duration::ZERO, time::Duration::seconds(5)),
                None => time::Duration::seconds(5),
            };
            tokio::time::sleep(std::time::Duration::try_from(wait).unwrap_or_default()).await;
            if let Err(e) = state.calls.poll(state.store.as_ref(), OffsetDateTime::now_utc()).await {
                tracing::warn!(error = %e.message, "the call reaper could not write");
            }
        }
    });
}

/// Who is calling: the one Contact, Person Account or Lead whose phone fields
/// hold the number (Contacts first). Several matches of the same kind, or
/// none, leave the call unmatched: the agent's screen pop offers the choice.
pub async fn caller_record(store: &dyn Store, number: &str) -> Result<Option<SalesforceId>, ApiError> {
    let Some(e164) = store.normalizer().normalize(number) else { return Ok(None) };
    let matches = store.phone_lookup(&e164).await?;
    for object in ["Contact", "Account", "Lead"] {
        let mut ids: Vec<&SalesforceId> = matches.iter().filter(|m| m.object == object).map(|m| &m.id).collect();
        ids.dedup();
        if object == "Account" {
            let o = store.schema().object("Account").expect("standard object");
            let mut people = Vec::new();
            for id in ids {
                if store.get(o, id).await?.is_some_and(|r| r.get("IsPersonAccount") == Some(&Value::Bool(true))) {
                    people.push(id);
                }
            }
            ids = people;
        }
        match ids.as_slice() {
            [one] => return Ok(Some((*one).clone())),
            [] => continue,
            _ => return Ok(None),
        }
    }
    Ok(None)
}
