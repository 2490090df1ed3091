//! The call desk: drives the sans-IO call lifecycle (`dialtone-calls`) and
//! applies what it decides to the store. Every telephony edge (SIP, Twilio,
//! partner telephony, the simulator) hands its events to [`CallDesk::ingest`];
//! the VoiceCall is written at the first event, before any agent is offered
//! the call, and the caller's record is matched from the phone index.

use crate::error::ApiError;
use dialtone_calls::{CenterConfig, Config, Effect, Input, Lifecycle, Notification, VendorCallKey};
use dialtone_model::{SalesforceId, Schema, Value};
use dialtone_store::Store;
use std::collections::{HashMap, VecDeque};
use time::OffsetDateTime;

/// The wrap-up outcomes a call center offers unless it configures its own.
pub const STANDARD_RESOLUTIONS: &[&str] =
    &["Resolved", "Callback Requested", "Escalated", "Sale", "No Sale", "Wrong Number", "Voicemail Left", "Other"];

/// One lock holds the lifecycle while its effects are written, so the effects
/// of one call are applied in order (throughput is bounded by the store's
/// writes; the telephony issue measures it).
pub struct CallDesk {
    inner: tokio::sync::Mutex<Desk>,
}

struct Desk {
    lifecycle: Lifecycle,
    calls: HashMap<VendorCallKey, SalesforceId>,
    tasks: HashMap<VendorCallKey, SalesforceId>,
}

impl Default for CallDesk {
    fn default() -> CallDesk {
        let center = CenterConfig { write_task: true, resolutions: STANDARD_RESOLUTIONS.iter().map(|s| s.to_string()).collect() };
        CallDesk::new(Config { default_center: center, ..Config::default() })
    }
}

impl CallDesk {
    pub fn new(config: Config) -> CallDesk {
        CallDesk { inner: tokio::sync::Mutex::new(Desk { lifecycle: Lifecycle::new(config), calls: HashMap::new(), tasks: HashMap::new() }) }
    }

    /// Feeds one input; writes the resulting records; returns the desktop
    /// notifications for the caller to deliver.
    pub async fn ingest(&self, store: &dyn Store, now: OffsetDateTime, input: Input) -> Result<Vec<Notification>, ApiError> {
        let mut desk = self.inner.lock().await;
        desk.run(store, now, vec![input]).await
    }

    /// Feeds a batch of inputs under one lock (the SIP edge's pump). An
    /// input that fails is logged and skipped; the rest still apply.
    pub async fn ingest_all(&self, store: &dyn Store, now: OffsetDateTime, inputs: Vec<Input>) -> Result<Vec<Notification>, ApiError> {
        let mut desk = self.inner.lock().await;
        let mut notes = Vec::new();
        let mut first_error = None;
        for input in inputs {
            match desk.run(store, now, vec![input]).await {
                Ok(n) => notes.extend(n),
                Err(e) => {
                    tracing::warn!(error = %e.message, "a call event was not applied");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if notes.is_empty() => Err(e),
            _ => Ok(notes),
        }
    }

    /// Closes calls whose end never came (the reaper); call at `next_wakeup`.
    pub async fn poll(&self, store: &dyn Store, now: OffsetDateTime) -> Result<Vec<Notification>, ApiError> {
        let mut desk = self.inner.lock().await;
        let effects = desk.lifecycle.poll(now);
        desk.apply(store, now, effects).await
    }

    pub async fn next_wakeup(&self) -> Option<OffsetDateTime> {
        self.inner.lock().await.lifecycle.next_wakeup()
    }

    /// Whether the lifecycle still holds this call (late events merge into
    /// it); a forgotten or never-seen call is not live.
    pub async fn is_live(&self, key: &VendorCallKey) -> bool {
        self.inner.lock().await.lifecycle.call(key).is_some()
    }

    /// The VoiceCall id of a live or recent call.
    pub async fn voice_call(&self, key: &VendorCallKey) -> Option<SalesforceId> {
        self.inner.lock().await.calls.get(key).cloned()
    }
}

impl Desk {
    async fn run(&mut self, store: &dyn Store, now: OffsetDateTime, inputs: Vec<Input>) -> Result<Vec<Notification>, ApiError> {
        let mut queue: VecDeque<Input> = inputs.into();
        let mut notes = Vec::new();
        while let Some(input) = queue.pop_front() {
            let effects = self.lifecycle.handle(now, input).map_err(|e| ApiError::new("INVALID_FIELD", e.to_string()))?;
            let (more_notes, follow_ups) = self.apply_collect(store, effects).await?;
            notes.extend(more_notes);
            queue.extend(follow_ups);
        }
        Ok(notes)
    }

    async fn apply(&mut self, store: &dyn Store, now: OffsetDateTime, effects: Vec<Effect>) -> Result<Vec<Notification>, ApiError> {
        let (mut notes, follow_ups) = self.apply_collect(store, effects).await?;
        notes.extend(self.run(store, now, follow_ups).await?);
        Ok(notes)
    }

    /// Writes the effects; returns notifications and the inputs they cause
    /// (the stored id, the phone match).
    async fn apply_collect(&mut self, store: &dyn Store, effects: Vec<Effect>) -> Result<(Vec<Notification>, Vec<Input>), ApiError> {
        let schema = Schema::standard();
        let vc = schema.object("VoiceCall").expect("standard object");
        let mut notes = Vec::new();
        let mut follow = Vec::new();
        for e in effects {
            match e {
                Effect::CreateVoiceCall { key, fields } => {
                    let from = fields.iter().find(|(n, _)| n == "FromPhoneNumber").and_then(|(_, v)| v.as_str()).map(str::to_string);
                    let inbound = fields.iter().any(|(n, v)| n == "CallType" && v.as_str() == Some("Inbound"));
                    let id = store.insert(vc, vec![fields], None).await?.remove(0);
                    self.calls.insert(key.clone(), id.clone());
                    follow.push(Input::Stored { key: key.clone(), id });
                    let record = match (from, inbound) {
                        (Some(number), true) => caller_record(store, &number).await?,
                        _ => None,
                    };
                    if let Some(record) = record {
                        follow.push(Input::Matched { key, record });
                    }
                }
                Effect::UpdateVoiceCall { key, fields } => {
                    if let Some(id) = self.calls.get(&key) {
                        store.update(vc, id, fields, None).await?;
                    }
                }
                Effect::CreateRecording { fields, .. } => {
                    store.insert(schema.object("VoiceCallRecording").expect("standard object"), vec![fields], None).await?;
                }
                Effect::CreateTask { key, fields } => {
                    let id = store.insert(schema.object("Task").expect("standard object"), vec![fields], None).await?.remove(0);
                    self.tasks.insert(key, id);
                }
                Effect::UpdateTask { key, fields } => {
                    if let Some(id) = self.tasks.get(&key) {
                        store.update(schema.object("Task").expect("standard object"), id, fields, None).await?;
                    }
                }
                Effect::Notify(n) => notes.push(n),
            }
        }
        Ok((notes, follow))
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
