//! The SIP edge (RFC 3261): a signalling-only back-to-back user agent.
//!
//! Trunks (carriers, PBXs) send INVITEs; agent phones REGISTER with digest
//! authentication; each inbound call is bridged to the agent the host chose,
//! with SDP passed through so media flows end to end and audio never enters
//! Dialtone. Every signalling step becomes a [`dialtone_calls::CallEvent`]
//! with the carrier leg's Call-ID as the VendorCallKey.
//!
//! - [`wire`]: parsing and building messages with `rsipstack`'s SIP types;
//! - [`digest`]: REGISTER digest checks against stored HA1, stateless nonces;
//! - [`b2bua`]: the sans-IO core (packets and time in, packets and events out);
//! - [`driver`]: the thin tokio driver (UDP and TCP on one address).

pub mod b2bua;
pub mod digest;
pub mod driver;
pub mod wire;

/// The digest realm agent phones authenticate in.
pub const REALM: &str = "dialtone";

pub use b2bua::{
    AgentTarget, B2bua, Binding, CallAction, Command, Config, Dial, Host, Output, Overflow, Peer,
    PhoneUser, Refusal, RouteQuery, Routed, Stats, TransferTarget, Transport, Trunk,
};
