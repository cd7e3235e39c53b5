//! `[[agent_groups]]`: groups of `[[agents]]` a call can be offered to
//! (issue 7), each a list of ring steps then a fallback.
//!
//! ```toml
//! [[agent_groups]]
//! id = "sales"
//! agents = ["dana", "omer", "lior"]
//! strategy = "ring_all"        # or round_robin, longest_idle
//! ring_timeout_s = 20
//! then = [{ strategy = "longest_idle", ring_timeout_s = 15 }]
//! fallback_dialplan = "voicemail-drop"
//! ```

use super::reader::{self, Reader};
use super::{AgentConfig, Problem};
use crate::agents::ring::{Step, Strategy};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentGroupConfig {
    pub id: String,
    pub client: String,
    pub agents: Vec<String>,
    pub steps: Vec<Step>,
    /// Where the call goes when no agent took it; hung up when absent.
    pub fallback_dialplan: Option<String>,
}

const STRATEGIES: &str = "ring_all, round_robin or longest_idle";

fn step(r: &mut Reader<'_, '_>) -> Option<Step> {
    let strategy = match r.opt_string("strategy") {
        None => Strategy::RingAll,
        Some(s) => match Strategy::parse(&s) {
            Some(x) => x,
            None => {
                r.problem("strategy", format!("{s:?} is not {STRATEGIES}"));
                return None;
            }
        },
    };
    Some(Step { strategy, ring_timeout: r.seconds("ring_timeout_s", 20.0, 1.0, 600.0) })
}

pub(super) fn read(v: Option<&Value>, agents: &[AgentConfig], problems: &mut Vec<Problem>) -> Vec<AgentGroupConfig> {
    let mut out: Vec<AgentGroupConfig> = Vec::new();
    for (prefix, table) in reader::tables(v, "agent_groups", problems) {
        let mut r = Reader::new(Some(table), prefix.clone(), problems);
        let id = r.required_string("id").unwrap_or_default();
        if !id.is_empty() && !crate::ids::valid_name(&id) {
            r.problem("id", "1 to 64 letters, digits, '-', '_' or '.'");
        }
        let client = r.string("client", crate::auth::DEFAULT_CLIENT);
        if out.iter().any(|g| g.id == id && g.client == client) {
            r.problem("id", format!("{id:?} is used by another group of client {client:?}"));
        }
        let members = r.strings("agents").unwrap_or_default();
        if members.is_empty() {
            r.problem("agents", "name at least one [[agents]] id");
        }
        for (i, m) in members.iter().enumerate() {
            match agents.iter().find(|a| &a.id == m) {
                None => r.problem(&format!("agents[{i}]"), format!("no [[agents]] entry with id {m:?}")),
                Some(a) if a.client != client => {
                    r.problem(&format!("agents[{i}]"), format!("agent {m:?} works for client {:?}", a.client))
                }
                Some(_) => {}
            }
            if members[..i].contains(m) {
                r.problem(&format!("agents[{i}]"), format!("{m:?} is listed twice"));
            }
        }
        let first = step(&mut r);
        let then = r.raw("then").cloned();
        let fallback_dialplan = r.opt_string("fallback_dialplan");
        r.finish();
        let mut steps: Vec<Step> = first.into_iter().collect();
        for (key, t) in reader::tables(then.as_ref(), &format!("{prefix}.then"), problems) {
            let mut r = Reader::new(Some(t), key, problems);
            steps.extend(step(&mut r));
            r.finish();
        }
        out.push(AgentGroupConfig { id, client, agents: members, steps, fallback_dialplan });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const BASE: &str = r#"
[sip]
listen = "127.0.0.1:5060"
[api]
listen = "127.0.0.1:8080"
keys = ["0123456789abcdef"]
[media]
prompts_dir = "."
[[trunks]]
name = "pbx"
address = "127.0.0.1:5080"
[[agents]]
id = "dana"
extension = "201"
[[agents]]
id = "omer"
extension = "202"
[[agents]]
id = "acme-agent"
extension = "301"
client = "acme"
"#;

    #[test]
    fn groups_with_steps() {
        let text = format!(
            "{BASE}[[agent_groups]]\nid = \"sales\"\nagents = [\"dana\", \"omer\"]\nring_timeout_s = 15\n\
             then = [{{ strategy = \"longest_idle\", ring_timeout_s = 5 }}]\nfallback_dialplan = \"voicemail-drop\"\n"
        );
        let c = Config::from_toml(&text).unwrap();
        let g = &c.agent_groups[0];
        assert_eq!((g.id.as_str(), g.client.as_str(), g.agents.len()), ("sales", "default", 2));
        assert_eq!(g.steps.len(), 2);
        assert_eq!(g.steps[0].strategy, Strategy::RingAll);
        assert_eq!(g.steps[1].strategy, Strategy::LongestIdle);
        assert_eq!(g.steps[1].ring_timeout.as_secs(), 5);
    }

    #[test]
    fn every_problem_is_named() {
        let text = format!(
            "{BASE}[[agent_groups]]\nid = \"bad id\"\nagents = [\"dana\", \"nobody\", \"acme-agent\", \"dana\"]\n\
             strategy = \"random\"\nthen = [{{ strategy = \"ring_all\", ring_timeout_s = 0 }}]\n\
             [[agent_groups]]\nid = \"empty\"\nagents = []\n"
        );
        let err = Config::from_toml(&text).unwrap_err();
        let mut keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "agent_groups[0].agents[1]",
                "agent_groups[0].agents[2]",
                "agent_groups[0].agents[3]",
                "agent_groups[0].id",
                "agent_groups[0].strategy",
                "agent_groups[0].then[0].ring_timeout_s",
                "agent_groups[1].agents",
            ]
        );
    }
}
