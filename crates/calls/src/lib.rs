//! The call lifecycle as a sans-IO state machine.
//!
//! Typed inputs ([`Input`]: provider [`CallEvent`]s, the store's ids, the phone
//! lookup's match, the agent's wrap-up) go into [`Lifecycle::handle`]; record
//! changes and desktop notifications ([`Effect`]) come out. The caller applies
//! the changes to the store and sends the notifications. This crate has no
//! sockets, no clock (every input carries `now`), no database and no JSON.
//!
//! A call is a set of facts, not a step machine (see [`call`]): the final
//! VoiceCall is the same for any interleaving, duplication or reordering of
//! the same events. A duplicate — same provider, key and sequence number —
//! changes nothing; a late event is merged; an ended call stays ended.
//!
//! Time: [`Lifecycle::poll`] closes calls whose end never came (the reaper) and
//! forgets ended calls after [`Config::linger`]; [`Lifecycle::next_wakeup`]
//! says when to call it. Forgotten keys are remembered in a bounded FIFO
//! ([`Config::recent_capacity`]) so that a late duplicate never creates a
//! second VoiceCall.
//!
//! ```text
//! edge (SIP / Twilio) ──CallEvent──▶ Lifecycle::handle(now, input) ──▶ Vec<Effect>
//!        store ──Stored{id}──────────▶        │                         │
//!  phone lookup ──Matched{record}────▶        │        CreateVoiceCall / UpdateVoiceCall /
//!  agent desktop ──WrapUp────────────▶        │        CreateRecording / CreateTask / UpdateTask
//!  timer ──────────────────────────▶ poll(now) ◀── next_wakeup()      Notify
//! ```
//!
//! The crate never reads the clock, never touches the store, and never
//! decides routing (it records offers; `routing` makes them).

//! ```
//! use dialtone_calls::*;
//! use time::macros::datetime;
//!
//! let mut calls = Lifecycle::new(Config::default());
//! let now = datetime!(2026-11-22 09:00 UTC);
//! let key = VendorCallKey::parse("CA0123").unwrap();
//! let ringing = CallEvent { key: key.clone(), provider: Provider::Twilio, seq: 1, at: now, kind: EventKind::Ringing };
//! let effects = calls.handle(now, Input::Event(ringing.clone())).unwrap();
//! assert!(matches!(&effects[0], Effect::CreateVoiceCall { .. }));
//! // The same event again is a duplicate: nothing happens.
//! assert!(calls.handle(now, Input::Event(ringing)).unwrap().is_empty());
//! assert_eq!(calls.next_wakeup(), Some(now + Config::default().ring_timeout));
//! ```

pub mod call;
mod effect;
mod event;
mod lifecycle;

pub use call::{Call, CallView, Disposition, Holds, Offer, ReapReason, Recording, WrapUp};
pub use effect::{Effect, Fields, Notification, NotificationKind};
pub use event::{
    AgentId, CallEvent, Direction, EndReason, EventKind, Input, OfferOutcome, ParseError, Provider, QueueName, Speaker,
    TransferTarget, VendorCallKey,
};
pub use lifecycle::{CallError, CenterConfig, Config, Lifecycle, Stats};
