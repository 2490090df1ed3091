//! The call desk end to end on a real store: provider events in (duplicated,
//! out of order), one VoiceCall with the right fields, the caller matched from
//! the phone index, a Task at the end, and the reaper for a call that never ends.

use dialtone_calls::{AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, Provider, QueueName, VendorCallKey};
use dialtone_model::{RawValue, Schema, Value};
use dialtone_server::calldesk::CallDesk;
use dialtone_store::{DynStore, Location};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

async fn store() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = dialtone_store::open(&Location::Sqlite(dir.path().join("c.db")), "US").await.unwrap();
    (s, dir)
}

fn ev(key: &VendorCallKey, seq: u64, at: OffsetDateTime, kind: EventKind) -> Input {
    Input::Event(CallEvent { key: key.clone(), provider: Provider::Twilio, seq, at, kind })
}

async fn count(store: &DynStore, soql: &str) -> u64 {
    let plan = dialtone_soql::compile(soql, store.schema(), store.dialect(), OffsetDateTime::now_utc()).unwrap();
    store.count(&plan).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_becomes_one_voice_call_matched_to_the_caller_whatever_the_order() {
    let (store, _dir) = store().await;
    let schema = Schema::standard();
    let contact = schema.object("Contact").unwrap();
    let v = contact.check_create(vec![("LastName".into(), RawValue::Text("Caller".into())), ("Phone".into(), RawValue::Text("(415) 555-0142".into()))]).unwrap();
    let caller = store.insert(contact, vec![v], None).await.unwrap().remove(0);
    let agent = AgentId::new(dialtone_model::SalesforceId::new("005", 3)).unwrap();
    let key = VendorCallKey::parse("CA0001").unwrap();
    let t0 = datetime!(2026-11-22 09:00:00 UTC);
    let events = [
        ev(&key, 1, t0, EventKind::Initiated { direction: Direction::Inbound, from: "+14155550142".into(), to: "+18005550100".into(), call_center: None }),
        ev(&key, 2, t0 + Duration::seconds(1), EventKind::Queued { queue: QueueName::parse("Support").unwrap() }),
        ev(&key, 3, t0 + Duration::seconds(5), EventKind::Offered { agent: agent.clone() }),
        ev(&key, 4, t0 + Duration::seconds(9), EventKind::OfferResult { agent: agent.clone(), result: OfferOutcome::Accepted }),
        ev(&key, 5, t0 + Duration::seconds(9), EventKind::Answered { agent: agent.clone() }),
        ev(&key, 6, t0 + Duration::seconds(60), EventKind::Held),
        ev(&key, 7, t0 + Duration::seconds(90), EventKind::Resumed),
        ev(&key, 8, t0 + Duration::seconds(300), EventKind::Ended { reason: EndReason::CustomerDisconnect }),
    ];
    // The first event arrives first (a call exists before anything else can be
    // said of it); the rest arrive reversed, and some twice.
    let desk = CallDesk::default();
    let now = t0 + Duration::seconds(301);
    let mut arrival = vec![events[0].clone()];
    arrival.extend(events[1..].iter().rev().cloned());
    arrival.push(events[5].clone());
    arrival.push(events[7].clone());
    for input in arrival {
        desk.ingest(store.as_ref(), now, input).await.unwrap();
    }
    assert_eq!(count(&store, "SELECT COUNT() FROM VoiceCall").await, 1, "one call, one record");
    let id = desk.voice_call(&key).await.unwrap();
    let call = store.get(schema.object("VoiceCall").unwrap(), &id).await.unwrap().unwrap();
    let text = |f: &str| call.get(f).and_then(Value::as_str).map(str::to_string);
    assert_eq!(text("VendorCallKey").as_deref(), Some("CA0001"));
    assert_eq!(text("CallType").as_deref(), Some("Inbound"));
    assert_eq!(text("CallDisposition").as_deref(), Some("completed"));
    assert_eq!(text("DisconnectReason").as_deref(), Some("CustomerDisconnect"));
    assert_eq!(text("QueueName").as_deref(), Some("Support"));
    assert_eq!(text("RelatedRecordId"), Some(caller.to_string()), "matched from the phone index");
    assert_eq!(text("OwnerId"), Some(agent.id().to_string()));
    assert_eq!(call.get("CallDurationInSeconds"), Some(&Value::Int(300)));
    assert_eq!(call.get("NumberOfHolds"), Some(&Value::Int(1)));
    assert_eq!(call.get("CustomerHoldDuration"), Some(&Value::Int(30)));
    assert_eq!(text("CallStartDateTime").as_deref(), Some("2026-11-22T09:00:00.000+0000"));
    // The Task for older reports, linked to the caller and the call.
    assert_eq!(count(&store, &format!("SELECT COUNT() FROM Task WHERE TaskSubtype = 'Call' AND WhoId = '{caller}' AND CallObject = 'CA0001'")).await, 1);
    // The wrap-up outcome lands on the call and its Task, from the controlled list only.
    assert!(desk.ingest(store.as_ref(), now, Input::WrapUp { key: key.clone(), resolution: "Made Up".into(), notes: None }).await.is_err());
    desk.ingest(store.as_ref(), now, Input::WrapUp { key: key.clone(), resolution: "Resolved".into(), notes: Some("fixed".into()) }).await.unwrap();
    let call = store.get(schema.object("VoiceCall").unwrap(), &id).await.unwrap().unwrap();
    assert_eq!(call.get("CallResolution").and_then(Value::as_str), Some("Resolved"));
    assert_eq!(count(&store, "SELECT COUNT() FROM Task WHERE CallDisposition = 'Resolved'").await, 1);
    // Field history saw the call move.
    assert!(store.field_history(&id).await.unwrap().iter().any(|c| c.field == "CallDisposition" && c.new.as_deref() == Some("completed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_end_never_comes_is_closed_by_the_reaper() {
    let (store, _dir) = store().await;
    let desk = CallDesk::default();
    let key = VendorCallKey::parse("CA-lost").unwrap();
    let agent = AgentId::new(dialtone_model::SalesforceId::new("005", 9)).unwrap();
    let t0 = datetime!(2026-11-22 10:00:00 UTC);
    desk.ingest(store.as_ref(), t0, ev(&key, 1, t0, EventKind::Initiated { direction: Direction::Inbound, from: "anonymous".into(), to: "+18005550100".into(), call_center: None })).await.unwrap();
    desk.ingest(store.as_ref(), t0, ev(&key, 2, t0, EventKind::Answered { agent })).await.unwrap();
    let wake = desk.next_wakeup().await.expect("the reaper has a wake-up");
    assert!(wake > t0);
    desk.poll(store.as_ref(), t0 + Duration::hours(5)).await.unwrap();
    let id = desk.voice_call(&key).await.unwrap();
    let call = store.get(Schema::standard().object("VoiceCall").unwrap(), &id).await.unwrap().unwrap();
    assert_eq!(call.get("DisconnectReason").and_then(Value::as_str), Some("Reaped"));
    assert_eq!(call.get("CallDisposition").and_then(Value::as_str), Some("completed"));
    assert!(call.get("CallEndDateTime").is_some_and(|v| !v.is_null()), "no call stays in progress for ever");
    assert_eq!(call.get("RelatedRecordId"), Some(&Value::Null), "an anonymous caller matches nobody");
}
