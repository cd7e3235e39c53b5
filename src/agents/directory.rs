//! Every agent and agent group, from the configuration (read-only) and the
//! store (created through the API), with the roster of their statuses and
//! operator metrics. One owner: the state sits behind a mutex held for a
//! few map operations, never across an await; store writes happen before
//! the directory is changed, so the two agree after a crash.

use super::AgentId;
use super::ring::{Step, Strategy};
use super::roster::{AgentReport, Roster, RosterError, Status};
use crate::config::Config;
use crate::store::{AgentGroupRow, AgentRow, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub client: String,
    pub id: String,
    pub extension: String,
    pub uri: Option<String>,
    /// `config` (read-only through the API) or `api`.
    pub source: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub client: String,
    pub id: String,
    pub agents: Vec<String>,
    pub steps: Vec<Step>,
    pub fallback_dialplan: Option<String>,
    pub source: &'static str,
}

/// How a group created through the API is stored (`agent_groups.body`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupBody {
    pub agents: Vec<String>,
    pub steps: Vec<StepBody>,
    pub fallback_dialplan: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepBody {
    /// `ring_all`, `round_robin` or `longest_idle`.
    pub strategy: String,
    pub ring_timeout_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Roster(#[from] RosterError),
    #[error("stored group {0:?}: {1}")]
    BadGroup(String, String),
}

pub fn step_of(s: &StepBody) -> Result<Step, String> {
    let strategy = Strategy::parse(&s.strategy)
        .ok_or_else(|| format!("{:?} is not ring_all, round_robin or longest_idle", s.strategy))?;
    if !(s.ring_timeout_s.is_finite() && (1.0..=600.0).contains(&s.ring_timeout_s)) {
        return Err("ring_timeout_s must be from 1 to 600".into());
    }
    Ok(Step { strategy, ring_timeout: Duration::from_secs_f64(s.ring_timeout_s) })
}

pub fn step_body(s: &Step) -> StepBody {
    let strategy = match s.strategy {
        Strategy::RingAll => "ring_all",
        Strategy::RoundRobin => "round_robin",
        Strategy::LongestIdle => "longest_idle",
    };
    StepBody { strategy: strategy.into(), ring_timeout_s: s.ring_timeout.as_secs_f64() }
}

/// The roster's key: agent ids are unique per client only.
fn key(client: &str, id: &str) -> AgentId {
    AgentId(format!("{client}/{id}"))
}

struct Inner {
    agents: Vec<Agent>,
    groups: Vec<Group>,
    roster: Roster,
    /// Round-robin position per (client, group).
    cursors: std::collections::HashMap<(String, String), usize>,
}

pub struct Directory {
    inner: Mutex<Inner>,
}

impl Directory {
    pub async fn load(cfg: &Config, store: &dyn Store, now: Instant) -> Result<Directory, DirectoryError> {
        let (mut agents, mut groups) = config_entries(cfg);
        agents.extend(store.agents().await?.into_iter().map(|a: AgentRow| Agent {
            client: a.client.0,
            id: a.id,
            extension: a.extension,
            uri: a.uri,
            source: "api",
        }));
        for g in store.groups().await? {
            groups.push(group_of_row(&g)?);
        }
        let roster = Roster::new(agents.iter().map(|a| key(&a.client, &a.id)), now);
        let inner = Inner { agents, groups, roster, cursors: Default::default() };
        publish_statuses(&inner);
        Ok(Directory { inner: Mutex::new(inner) })
    }

    /// SIGHUP: agents and groups from the configuration are replaced;
    /// those created through the API (in the store) stay, and agents that
    /// remain keep their status and figures.
    pub fn reload_config(&self, cfg: &Config, now: Instant) {
        let (agents, groups) = config_entries(cfg);
        let mut g = self.lock();
        g.agents.retain(|a| a.source != "config");
        g.groups.retain(|x| x.source != "config");
        for a in &agents {
            g.roster.add(key(&a.client, &a.id), now);
        }
        let api_agents = std::mem::take(&mut g.agents);
        g.agents = agents;
        g.agents.extend(api_agents);
        let api_groups = std::mem::take(&mut g.groups);
        g.groups = groups;
        g.groups.extend(api_groups);
        publish_statuses(&g);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("directory lock")
    }

    pub fn agents(&self, client: &str) -> Vec<(Agent, Status)> {
        let g = self.lock();
        g.agents
            .iter()
            .filter(|a| a.client == client)
            .map(|a| (a.clone(), g.roster.status(&key(client, &a.id)).unwrap_or(Status::Offline)))
            .collect()
    }

    pub fn agent(&self, client: &str, id: &str) -> Option<(Agent, Status)> {
        self.agents(client).into_iter().find(|(a, _)| a.id == id)
    }

    pub fn add_agent(&self, a: Agent, now: Instant) {
        let mut g = self.lock();
        g.roster.add(key(&a.client, &a.id), now);
        g.agents.push(a);
        publish_statuses(&g);
    }

    pub fn remove_agent(&self, client: &str, id: &str) {
        let mut g = self.lock();
        g.agents.retain(|a| !(a.client == client && a.id == id));
        publish_statuses(&g);
    }

    pub fn set_status(&self, client: &str, id: &str, s: Status, now: Instant) -> Result<Status, RosterError> {
        let mut g = self.lock();
        let k = key(client, id);
        g.roster.set_status(&k, s, now)?;
        publish_statuses(&g);
        Ok(g.roster.status(&k).unwrap_or(s))
    }

    pub fn groups(&self, client: &str) -> Vec<Group> {
        self.lock().groups.iter().filter(|g| g.client == client).cloned().collect()
    }

    pub fn add_group(&self, group: Group) {
        self.lock().groups.push(group);
    }

    pub fn remove_group(&self, client: &str, id: &str) {
        self.lock().groups.retain(|g| !(g.client == client && g.id == id));
    }

    /// Groups of `client` an agent belongs to.
    pub fn groups_of(&self, client: &str, agent: &str) -> Vec<String> {
        self.groups(client).into_iter().filter(|g| g.agents.iter().any(|a| a == agent)).map(|g| g.id).collect()
    }

    /// A group's members that may be offered a call now, as roster keys
    /// (`client/id`, see [`Directory::agent_of`]), with the group's steps
    /// and round-robin cursor.
    pub fn offer(&self, client: &str, group: &str) -> Option<(Vec<super::ring::Candidate>, Vec<Step>, usize)> {
        let g = self.lock();
        let grp = g.groups.iter().find(|x| x.client == client && x.id == group)?;
        let keys: Vec<AgentId> = grp.agents.iter().map(|a| key(client, a)).collect();
        let cursor = g.cursors.get(&(client.to_string(), group.to_string())).copied().unwrap_or(0);
        Some((g.roster.candidates(&keys), grp.steps.clone(), cursor))
    }

    pub fn set_cursor(&self, client: &str, group: &str, cursor: usize) {
        self.lock().cursors.insert((client.to_string(), group.to_string()), cursor);
    }

    /// The agent behind a roster key.
    pub fn agent_of(&self, k: &AgentId) -> Option<Agent> {
        let (client, id) = k.0.split_once('/')?;
        self.lock().agents.iter().find(|a| a.client == client && a.id == id).cloned()
    }

    /// Roster updates from a group offer (keys as [`Directory::offer`] gave),
    /// mirrored in the metrics.
    pub fn offered(&self, k: &AgentId) {
        let mut g = self.lock();
        if g.roster.offered(k).is_ok() {
            crate::metrics::agent_offer(&k.0, "offered");
            publish_statuses(&g);
        }
    }

    pub fn missed(&self, k: &AgentId) {
        let mut g = self.lock();
        if g.roster.missed(k).is_ok() {
            crate::metrics::agent_offer(&k.0, "missed");
            publish_statuses(&g);
        }
    }

    pub fn answered(&self, k: &AgentId, rang: Duration, now: Instant) {
        if self.lock().roster.answered(k, rang, now).is_ok() {
            crate::metrics::agent_offer(&k.0, "answered");
        }
    }

    pub fn call_ended(&self, k: &AgentId, talked: Duration, now: Instant) {
        let mut g = self.lock();
        if g.roster.call_ended(k, talked, now).is_ok() {
            crate::metrics::agent_talk(&k.0, talked.as_secs_f64());
            publish_statuses(&g);
        }
    }

    /// The group's figures and each member's.
    pub fn group_report(
        &self,
        client: &str,
        id: &str,
        now: Instant,
    ) -> Option<(AgentReport, Vec<(String, AgentReport)>)> {
        let g = self.lock();
        let group = g.groups.iter().find(|x| x.client == client && x.id == id)?;
        let keys: Vec<AgentId> = group.agents.iter().map(|a| key(client, a)).collect();
        let members = group
            .agents
            .iter()
            .zip(&keys)
            .filter_map(|(a, k)| g.roster.report(k, now).map(|r| (a.clone(), r)))
            .collect();
        Some((g.roster.group_report(&keys, now), members))
    }
}

/// `dialerd_agents{status}`: a few map reads per change.
fn publish_statuses(g: &Inner) {
    let mut counts = [("available", 0), ("busy", 0), ("paused", 0), ("offline", 0)];
    for a in &g.agents {
        let i = match g.roster.status(&key(&a.client, &a.id)) {
            Some(Status::Available) => 0,
            Some(Status::Busy) => 1,
            Some(Status::Paused) => 2,
            _ => 3,
        };
        counts[i].1 += 1;
    }
    crate::metrics::agents_by_status(&counts);
}

/// The agents and groups the configuration declares.
fn config_entries(cfg: &Config) -> (Vec<Agent>, Vec<Group>) {
    let agents = cfg
        .agents
        .iter()
        .map(|a| Agent {
            client: a.client.clone(),
            id: a.id.clone(),
            extension: a.extension.clone(),
            uri: a.uri.clone(),
            source: "config",
        })
        .collect();
    let groups = cfg
        .agent_groups
        .iter()
        .map(|g| Group {
            client: g.client.clone(),
            id: g.id.clone(),
            agents: g.agents.clone(),
            steps: g.steps.clone(),
            fallback_dialplan: g.fallback_dialplan.clone(),
            source: "config",
        })
        .collect();
    (agents, groups)
}

pub fn group_of_row(g: &AgentGroupRow) -> Result<Group, DirectoryError> {
    let bad = |m: String| DirectoryError::BadGroup(g.id.clone(), m);
    let body: GroupBody = serde_json::from_str(&g.body).map_err(|e| bad(e.to_string()))?;
    let steps = body.steps.iter().map(step_of).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    Ok(Group {
        client: g.client.0.clone(),
        id: g.id.clone(),
        agents: body.agents,
        steps,
        fallback_dialplan: body.fallback_dialplan,
        source: "api",
    })
}
