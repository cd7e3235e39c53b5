//! `[[inbound]]`: where calls from the trunks go, by the number dialled
//! (the DID: the Request-URI's user part). The first entry that matches
//! the DID (exactly, or `*`) and the trunk (when it names one) wins.
//!
//! ```toml
//! [[inbound]]
//! did = "+442071838750"
//! agent_group = "sales"        # ring the group, bridge whoever answers
//! [[inbound]]
//! did = "*"
//! trunk = "carrier"
//! dialplan = "lead-qualification"
//! ```

use super::reader::{self, Reader};
use super::{AgentGroupConfig, Problem};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundTarget {
    Dialplan(String),
    Group(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundConfig {
    /// The dialled user part, or `*` for any.
    pub did: String,
    pub trunk: Option<String>,
    pub client: String,
    pub target: InboundTarget,
}

impl InboundConfig {
    pub fn matches(&self, did: &str, trunk: &str) -> bool {
        (self.did == "*" || self.did == did) && self.trunk.as_deref().is_none_or(|t| t == trunk)
    }
}

pub(super) fn read(
    v: Option<&Value>,
    trunks: &[&str],
    groups: &[AgentGroupConfig],
    problems: &mut Vec<Problem>,
) -> Vec<InboundConfig> {
    let mut out = Vec::new();
    for (prefix, table) in reader::tables(v, "inbound", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let did = r.required_string("did").unwrap_or_default();
        if !did.is_empty() && did != "*" && !super::is_sip_user(&did) {
            r.problem("did", format!("{did:?} is not a SIP user part (digits, letters, + * . _ -) or \"*\""));
        }
        let trunk = r.opt_string("trunk");
        if let Some(t) = &trunk
            && !trunks.contains(&t.as_str())
        {
            r.problem("trunk", format!("no [[trunks]] entry named {t:?}"));
        }
        let client = r.string("client", crate::auth::DEFAULT_CLIENT);
        let target = match (r.opt_string("dialplan"), r.opt_string("agent_group")) {
            (Some(d), None) => Some(InboundTarget::Dialplan(d)),
            (None, Some(g)) => {
                // Groups created through the API are checked when a call comes.
                if !groups.is_empty() && !groups.iter().any(|x| x.id == g && x.client == client) {
                    r.problem("agent_group", format!("no [[agent_groups]] entry {g:?} of client {client:?}"));
                }
                Some(InboundTarget::Group(g))
            }
            (Some(_), Some(_)) => {
                r.problem("dialplan", "give either dialplan or agent_group, not both");
                None
            }
            (None, None) => {
                r.problem("dialplan", "give a dialplan or an agent_group for these calls");
                None
            }
        };
        r.finish();
        if let Some(target) = target {
            out.push(InboundConfig { did, trunk, client, target });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn base() -> String {
        format!("{}inbound_cidrs = [\"10.0.0.0/8\"]\n", crate::config::TEST_BASE)
    }

    #[test]
    fn routes_read_and_match() {
        let c = Config::from_toml(&format!(
            "{}[[inbound]]\ndid = \"+15550199\"\ndialplan = \"lead-qualification\"\n\
             [[inbound]]\ndid = \"*\"\ntrunk = \"pbx\"\nagent_group = \"sales\"\n",
            base()
        ))
        .unwrap();
        assert_eq!(c.inbound[0].target, InboundTarget::Dialplan("lead-qualification".into()));
        assert!(c.inbound[0].matches("+15550199", "pbx") && !c.inbound[0].matches("+15550100", "pbx"));
        assert!(c.inbound[1].matches("anything", "pbx") && !c.inbound[1].matches("anything", "other"));
        assert_eq!(c.trunks[0].inbound_cidrs[0].to_string(), "10.0.0.0/8");
    }

    #[test]
    fn bad_routes_are_named() {
        let err = Config::from_toml(&format!(
            "{}[[inbound]]\ndid = \"bad did\"\ntrunk = \"nope\"\n[[inbound]]\ndid = \"1\"\ndialplan = \"a\"\n\
             agent_group = \"b\"\n",
            base()
        ))
        .unwrap_err();
        let keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        for k in ["inbound[0].did", "inbound[0].trunk", "inbound[0].dialplan", "inbound[1].dialplan"] {
            assert!(keys.contains(&k.to_string()), "{k}: {keys:?}");
        }
        let err =
            Config::from_toml(&base().replace("inbound_cidrs = [\"10.0.0.0/8\"]", "inbound_cidrs = [\"10.0.0.0/99\"]"))
                .unwrap_err();
        assert_eq!(err.problems()[0].key, "trunks[0].inbound_cidrs[0]");
        let err = Config::from_toml(&base().replace(
            "inbound_cidrs = [\"10.0.0.0/8\"]",
            "inbound_username = \"carrier\"\ninbound_algorithms = [\"SHA-1\"]",
        ))
        .unwrap_err();
        let keys: Vec<String> = err.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["trunks[0].inbound_password", "trunks[0].inbound_algorithms[0]"]);
    }
}
