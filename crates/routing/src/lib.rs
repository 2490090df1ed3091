//! Who gets the next call. Until the routing engine (queues, skills,
//! capacity, business hours) lands, the rule is the one every ACD starts
//! with: the call center's **longest-idle Available agent** who can be
//! reached. Edges ask through [`Router`], so the engine can replace the rule
//! without touching them. Sans-IO: no clock (every call takes `now`), no
//! store; the server loads agents into a [`Board`] and keeps it current.

pub mod engine;
pub mod service;
pub mod spec;

use dialtone_calls::AgentId;
use dialtone_model::SalesforceId;
use std::collections::HashMap;
use time::OffsetDateTime;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub username: String,
    pub call_center: Option<SalesforceId>,
    pub presence: Presence,
    /// On a call (or being offered one): not offered another.
    pub engaged: bool,
    /// Since when the agent has been free; the longest idle goes first.
    pub idle_since: OffsetDateTime,
}

/// The routing interface every edge uses.
pub trait Router {
    /// The agent to offer a call of `call_center` to, now engaged; `None`
    /// when nobody eligible is free. `reachable` says whether the edge can
    /// ring that agent (a registered phone, a connected softphone).
    fn choose(&mut self, now: OffsetDateTime, call_center: Option<&SalesforceId>, exclude: &[AgentId], reachable: &dyn Fn(&Agent) -> bool) -> Option<AgentId>;
    /// The agent is free again (the offer failed, or the call ended).
    fn release(&mut self, now: OffsetDateTime, agent: &AgentId);
}

/// Every agent's presence and availability.
#[derive(Debug, Default, Clone)]
pub struct Board {
    agents: HashMap<AgentId, Agent>,
}

impl Board {
    /// Adds an agent or updates its configuration (call center, presence),
    /// keeping its engagement. Becoming Available starts its idle time.
    pub fn upsert(&mut self, now: OffsetDateTime, id: AgentId, username: &str, call_center: Option<SalesforceId>, presence: Presence, presence_since: Option<OffsetDateTime>) {
        let since = presence_since.unwrap_or(now);
        match self.agents.get_mut(&id) {
            Some(a) => {
                if a.presence != presence && presence == Presence::Available {
                    a.idle_since = since;
                }
                a.presence = presence;
                a.call_center = call_center;
                a.username = username.to_string();
            }
            None => {
                let agent = Agent { id: id.clone(), username: username.to_string(), call_center, presence, engaged: false, idle_since: since };
                self.agents.insert(id, agent);
            }
        }
    }

    /// Drops agents not in `keep` (deactivated, or moved out of every call center).
    pub fn retain(&mut self, keep: &[AgentId]) {
        self.agents.retain(|id, _| keep.contains(id));
    }

    pub fn get(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    pub fn by_username(&self, username: &str) -> Option<&Agent> {
        self.agents.values().find(|a| a.username == username)
    }

    /// Engages one named agent (a transfer to them) if they are Available
    /// and free; `false` otherwise.
    pub fn engage(&mut self, id: &AgentId) -> bool {
        match self.agents.get_mut(id) {
            Some(a) if a.presence == Presence::Available && !a.engaged => {
                a.engaged = true;
                true
            }
            _ => false,
        }
    }

    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values()
    }
}

impl Router for Board {
    fn choose(&mut self, _now: OffsetDateTime, call_center: Option<&SalesforceId>, exclude: &[AgentId], reachable: &dyn Fn(&Agent) -> bool) -> Option<AgentId> {
        let chosen = self
            .agents
            .values()
            .filter(|a| a.presence == Presence::Available && !a.engaged)
            .filter(|a| call_center.is_none() || a.call_center.as_ref() == call_center)
            .filter(|a| !exclude.contains(&a.id) && reachable(a))
            .min_by(|a, b| a.idle_since.cmp(&b.idle_since).then_with(|| a.id.cmp(&b.id)))?
            .id
            .clone();
        self.agents.get_mut(&chosen).expect("chosen from the board").engaged = true;
        Some(chosen)
    }

    fn release(&mut self, now: OffsetDateTime, agent: &AgentId) {
        if let Some(a) = self.agents.get_mut(agent) {
            if a.engaged {
                a.engaged = false;
                a.idle_since = now;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn agent(n: u64) -> AgentId {
        AgentId::new(SalesforceId::new("005", n)).unwrap()
    }

    #[test]
    fn the_longest_idle_available_reachable_agent_of_the_center_gets_the_call() {
        let t0 = datetime!(2026-11-22 09:00 UTC);
        let cc = SalesforceId::new("04v", 1);
        let other = SalesforceId::new("04v", 2);
        let mut board = Board::default();
        board.upsert(t0, agent(1), "a1", Some(cc.clone()), Presence::Available, Some(t0 + time::Duration::minutes(5)));
        board.upsert(t0, agent(2), "a2", Some(cc.clone()), Presence::Available, Some(t0 + time::Duration::minutes(1)));
        board.upsert(t0, agent(3), "a3", Some(cc.clone()), Presence::Away, Some(t0));
        board.upsert(t0, agent(4), "a4", Some(other), Presence::Available, Some(t0));
        board.upsert(t0, agent(5), "a5", Some(cc.clone()), Presence::Available, Some(t0));
        let all = |_: &Agent| true;
        let no5 = |a: &Agent| a.username != "a5";
        let now = t0 + time::Duration::minutes(10);
        assert_eq!(board.choose(now, Some(&cc), &[], &no5), Some(agent(2)), "a5 is unreachable, a3 away, a4 elsewhere");
        assert_eq!(board.choose(now, Some(&cc), &[], &no5), Some(agent(1)), "a2 is engaged now");
        assert_eq!(board.choose(now, Some(&cc), &[], &no5), None);
        board.release(now, &agent(2));
        assert_eq!(board.choose(now, Some(&cc), &[agent(2)], &all), Some(agent(5)), "excluded agents are skipped");
        assert_eq!(board.choose(now, Some(&cc), &[], &all), Some(agent(2)));
        assert!(!board.engage(&agent(2)), "already engaged");
        assert!(!board.engage(&agent(3)), "away");
        board.release(now, &agent(1));
        assert!(board.engage(&agent(1)));
    }

    #[test]
    fn after_call_work_is_never_offered_a_call() {
        let t0 = datetime!(2026-11-22 09:00 UTC);
        let mut board = Board::default();
        board.upsert(t0, agent(1), "a1", None, Presence::AfterCallWork, Some(t0));
        assert_eq!(board.choose(t0, None, &[], &|_| true), None);
        assert!(!board.engage(&agent(1)));
        board.upsert(t0, agent(1), "a1", None, Presence::Available, Some(t0));
        assert_eq!(board.choose(t0, None, &[], &|_| true), Some(agent(1)));
        assert_eq!(Presence::parse("After Call Work"), Some(Presence::AfterCallWork));
    }
}
