//! A virtual clock and a simulated store: effects are applied to per-record
//! field maps, validated against the model schema, and the store's answers
//! (`Stored`, and the phone lookup's `Matched`) are fed back like the server would.
#![allow(dead_code)]

use dialtone_calls::*;
use dialtone_model::{FieldType, RawValue, SalesforceId, Schema, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const T0: OffsetDateTime = datetime!(2026-11-22 09:00 UTC);

pub type Map = BTreeMap<String, Value>;

pub fn key(s: &str) -> VendorCallKey {
    VendorCallKey::parse(s).unwrap()
}
pub fn agent(n: u64) -> AgentId {
    AgentId::new(SalesforceId::new("005", n)).unwrap()
}
pub fn contact(n: u64) -> SalesforceId {
    SalesforceId::new("003", n)
}
pub fn center() -> SalesforceId {
    SalesforceId::new("04v", 1)
}
pub fn queue(q: &str) -> QueueName {
    QueueName::parse(q).unwrap()
}
pub fn at(secs: i64) -> OffsetDateTime {
    T0 + Duration::seconds(secs)
}
pub fn ev(k: &str, seq: u64, secs: i64, kind: EventKind) -> CallEvent {
    CallEvent { key: key(k), provider: Provider::Twilio, seq, at: at(secs), kind }
}
pub fn initiated() -> EventKind {
    EventKind::Initiated {
        direction: Direction::Inbound,
        from: "+14155550100".into(),
        to: "+14155550199".into(),
        call_center: Some(center()),
    }
}

pub fn config(write_task: bool) -> Config {
    let mut c = Config::default();
    c.centers.insert(
        center(),
        CenterConfig { write_task, resolutions: vec!["Resolved".into(), "Follow-up Needed".into(), "Sale".into()] },
    );
    c
}

/// A deterministic VoiceCall id per key, as a store would hand out.
pub fn id_for(k: &VendorCallKey) -> SalesforceId {
    let h = k.as_str().bytes().fold(1469598103934665603u64, |h, b| (h ^ b as u64).wrapping_mul(1099511628211));
    SalesforceId::new("0LQ", h % 13_537_086_546_263_552) // 62^9
}

fn raw(v: &Value) -> RawValue {
    match v {
        Value::Null => RawValue::Null,
        Value::Bool(b) => RawValue::Bool(*b),
        Value::Int(i) => RawValue::Number(*i as f64),
        Value::Float(f) => RawValue::Number(*f),
        Value::Text(s) => RawValue::Text(s.clone()),
    }
}

const SYSTEM_WRITTEN: [&str; 4] = ["CallOutcome", "SpeedOfAnswerInSeconds", "TalkTimeInSeconds", "HandleTimeInSeconds"];

/// Validates like the store would; panics on any schema error.
pub fn validate(object: &str, fields: &Fields, create: bool) {
    let obj = Schema::standard().object(object).unwrap();
    // The contact-centre measures are read-only to API clients; only the
    // lifecycle writes them (checked for type and picklist below).
    let input: Vec<(String, RawValue)> = fields.iter().filter(|(n, _)| !SYSTEM_WRITTEN.contains(&n.as_str())).map(|(n, v)| (n.clone(), raw(v))).collect();
    let res = if create { obj.check_create(input) } else { obj.check_update(input, &[]) };
    if let Err(e) = res {
        panic!("{object} {} fails the schema: {e:?}\nfields: {fields:?}", if create { "create" } else { "update" });
    }
    // The model's picklists on VoiceCall are not restricted, so check every
    // value is one of the listed ones (exact spelling), and that date-times are
    // in the model's canonical form.
    for (n, v) in fields {
        let f = obj.field(n).unwrap();
        assert_eq!(&f.name, n, "API name spelled as the model spells it");
        if let (FieldType::Picklist(values), Value::Text(t)) = (&f.ty, v) {
            assert!(values.contains(t), "{object}.{n} = {t:?} is not in its picklist {values:?}");
        }
        if let (FieldType::DateTime, Value::Text(t)) = (&f.ty, v) {
            let parsed = dialtone_model::parse_datetime(t).unwrap();
            assert_eq!(&dialtone_model::format_datetime(parsed), t);
        }
    }
}

pub struct Harness {
    pub lc: Lifecycle,
    pub now: OffsetDateTime,
    pub voice_calls: BTreeMap<VendorCallKey, Map>,
    pub tasks: BTreeMap<VendorCallKey, Map>,
    pub recordings: BTreeMap<(VendorCallKey, String), Map>,
    pub transcript: BTreeMap<(VendorCallKey, String), Map>,
    pub creates: HashMap<VendorCallKey, usize>,
    pub task_creates: HashMap<VendorCallKey, usize>,
    pub log: Vec<Effect>,
    /// The phone lookup's answer per key, fed back after CreateVoiceCall.
    pub lookups: HashMap<VendorCallKey, SalesforceId>,
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        Harness {
            lc: Lifecycle::new(config),
            now: T0,
            voice_calls: BTreeMap::new(),
            tasks: BTreeMap::new(),
            recordings: BTreeMap::new(),
            transcript: BTreeMap::new(),
            creates: HashMap::new(),
            task_creates: HashMap::new(),
            log: Vec::new(),
            lookups: HashMap::new(),
        }
    }

    pub fn advance(&mut self, secs: i64) {
        self.now += Duration::seconds(secs);
    }

    /// Sends an input and everything the simulated server sends back because of it.
    pub fn send(&mut self, input: Input) -> Result<Vec<Effect>, CallError> {
        let mut queue = VecDeque::from([input]);
        let mut all = Vec::new();
        let mut first = true;
        while let Some(input) = queue.pop_front() {
            let effects = match self.lc.handle(self.now, input) {
                Ok(e) => e,
                Err(e) if first => return Err(e),
                Err(e) => panic!("feedback input refused: {e}"),
            };
            first = false;
            for e in &effects {
                if let Effect::CreateVoiceCall { key, .. } = e {
                    queue.push_back(Input::Stored { key: key.clone(), id: id_for(key) });
                    if let Some(r) = self.lookups.get(key) {
                        queue.push_back(Input::Matched { key: key.clone(), record: r.clone() });
                    }
                }
            }
            self.apply(&effects);
            all.extend(effects);
        }
        Ok(all)
    }

    pub fn event(&mut self, e: CallEvent) -> Vec<Effect> {
        self.send(Input::Event(e)).expect("events are never refused")
    }

    pub fn poll(&mut self) -> Vec<Effect> {
        let effects = self.lc.poll(self.now);
        self.apply(&effects);
        effects
    }

    pub fn apply(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::CreateVoiceCall { key, fields } => {
                    validate("VoiceCall", fields, true);
                    *self.creates.entry(key.clone()).or_default() += 1;
                    assert_eq!(self.creates[key], 1, "a second CreateVoiceCall for {key}");
                    self.voice_calls.insert(key.clone(), fields.iter().cloned().collect());
                }
                Effect::UpdateVoiceCall { key, fields } => {
                    validate("VoiceCall", fields, false);
                    let rec = self.voice_calls.get_mut(key).expect("update before create");
                    rec.extend(fields.iter().cloned());
                }
                Effect::CreateTask { key, fields } => {
                    validate("Task", fields, true);
                    *self.task_creates.entry(key.clone()).or_default() += 1;
                    assert_eq!(self.task_creates[key], 1, "a second CreateTask for {key}");
                    self.tasks.insert(key.clone(), fields.iter().cloned().collect());
                }
                Effect::UpdateTask { key, fields } => {
                    validate("Task", fields, false);
                    self.tasks.get_mut(key).expect("task update before create").extend(fields.iter().cloned());
                }
                Effect::CreateRecording { key, recording, fields } => {
                    validate("VoiceCallRecording", fields, true);
                    let prev = self.recordings.insert((key.clone(), recording.clone()), fields.iter().cloned().collect());
                    assert!(prev.is_none(), "recording {recording} created twice");
                }
                Effect::CreateTranscriptEntry { key, entry, fields } => {
                    validate("ConversationEntry", fields, true);
                    let prev = self.transcript.insert((key.clone(), entry.clone()), fields.iter().cloned().collect());
                    assert!(prev.is_none(), "transcript line {entry} created twice");
                }
                Effect::Notify(n) => {
                    assert!(self.creates.contains_key(&n.key), "Notify before CreateVoiceCall for {}", n.key);
                }
            }
            self.log.push(e.clone());
        }
    }

    pub fn vc(&self, k: &str) -> &Map {
        self.voice_calls.get(&key(k)).unwrap_or_else(|| panic!("no VoiceCall {k}"))
    }

    pub fn field(&self, k: &str, f: &str) -> Option<&Value> {
        self.vc(k).get(f)
    }

    pub fn text(&self, k: &str, f: &str) -> Option<&str> {
        self.field(k, f).and_then(|v| v.as_str())
    }

    pub fn int(&self, k: &str, f: &str) -> Option<i64> {
        match self.field(k, f) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn notifications(&self) -> Vec<&Notification> {
        self.log.iter().filter_map(|e| if let Effect::Notify(n) = e { Some(n) } else { None }).collect()
    }
}

pub fn dt(secs: i64) -> Value {
    Value::Text(dialtone_model::format_datetime(at(secs)))
}
