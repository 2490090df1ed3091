//! Who gets the next call, chat or case: Omni-Channel-style routing.
//!
//! - [`engine`]: the sans-IO core (channels, presence statuses, capacity,
//!   queues with routing models, push timeouts, overflow, business hours,
//!   skills with relaxation, explainable decisions).
//! - [`spec`]: its configuration as plain values, by name.
//! - [`service`]: the engine as every edge uses it — calls by their vendor
//!   key, agents by user id, live reconfiguration.
//!
//! No clock (every input takes `now`), no store, no sockets.

pub mod engine;
pub mod service;
pub mod spec;

/// An agent's presence, as the softphone (or `dialtone agent status`) sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Presence {
    Available,
    Busy,
    Away,
    Offline,
    /// Wrapping up the last call: not offered calls until the wrap-up is saved.
    AfterCallWork,
}

impl Presence {
    pub fn parse(s: &str) -> Option<Presence> {
        match s.to_ascii_lowercase().as_str() {
            "available" | "online" => Some(Presence::Available),
            "busy" => Some(Presence::Busy),
            "away" | "break" => Some(Presence::Away),
            "offline" => Some(Presence::Offline),
            "aftercallwork" | "after call work" | "acw" => Some(Presence::AfterCallWork),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "Available",
            Presence::Busy => "Busy",
            Presence::Away => "Away",
            Presence::Offline => "Offline",
            Presence::AfterCallWork => "AfterCallWork",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_names_parse_as_agents_and_the_cli_write_them() {
        assert_eq!(Presence::parse("After Call Work"), Some(Presence::AfterCallWork));
        assert_eq!(Presence::parse("online"), Some(Presence::Available));
        assert_eq!(Presence::parse("lunch"), None);
        for p in [Presence::Available, Presence::Busy, Presence::Away, Presence::Offline, Presence::AfterCallWork] {
            assert_eq!(Presence::parse(p.as_str()), Some(p));
        }
    }
}
