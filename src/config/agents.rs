//! `[[agents]]`: the people behind extensions, each with an optional CRM
//! screen pop (seed 004) and the call types that pop it.

use super::Problem;
use super::reader::{self, Reader};
use crate::events::screenpop::{PopEndpoint, PopMethod};
use serde_json::{Map, Value};

/// Which calls pop the agent's CRM screen (seed 004: incoming / outgoing /
/// click-to-call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopFilter {
    pub incoming: bool,
    pub outgoing: bool,
    pub click_to_call: bool,
}

impl Default for PopFilter {
    fn default() -> Self {
        PopFilter { incoming: true, outgoing: true, click_to_call: true }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    pub id: String,
    /// The tenant the agent works for (`default` when absent).
    pub client: String,
    /// The extension calls ring at; sent to the CRM as `extenUser`.
    pub extension: String,
    /// Where the agent's phone is reached (`sip:...`).
    pub uri: Option<String>,
    pub pop: Option<PopEndpoint>,
    pub pops: PopFilter,
}

/// Field names the pop request already uses; a status field may not repeat
/// one of them.
const POP_FIELDS: [&str; 4] = ["phone", "ivrid", "extenUser", "did"];

pub(super) fn read_agents(v: Option<&Value>, problems: &mut Vec<Problem>) -> Vec<AgentConfig> {
    let mut out: Vec<AgentConfig> = Vec::new();
    for (prefix, table) in reader::tables(v, "agents", problems) {
        let mut r = Reader::new(Some(table), prefix, problems);
        let mut id = r.required_string("id");
        if let Some(n) = &id {
            if !crate::ids::valid_name(n) {
                r.problem("id", "1 to 64 letters, digits, '-', '_' or '.'");
                id = None;
            } else if out.iter().any(|a| &a.id == n) {
                r.problem("id", format!("{n:?} is used by another agent"));
            }
        }
        let mut extension = r.required_string("extension");
        if let Some(e) = &extension {
            if !valid_extension(e) {
                r.problem("extension", format!("{e:?} is not 1 to 32 of: letters, digits, * # + . _ -"));
                extension = None;
            } else if let Some(other) = out.iter().find(|a| &a.extension == e) {
                r.problem("extension", format!("{e:?} is also agent {:?}'s extension", other.id));
            }
        }
        let client = r.string("client", crate::auth::DEFAULT_CLIENT);
        if !crate::ids::valid_name(&client) {
            r.problem("client", "1 to 64 letters, digits, '-', '_' or '.'");
        }
        let uri = r.opt_string("uri");
        if let Some(u) = &uri
            && let Err(m) = check_sip_uri(u)
        {
            r.problem("uri", m);
        }
        let pop = sub_table(&mut r, "screen_pop").and_then(|(t, key)| read_pop(t, key, r.problems));
        let pops = match sub_table(&mut r, "pops") {
            Some((t, key)) => read_filter(t, key, r.problems),
            None => PopFilter::default(),
        };
        r.finish();
        if let (Some(id), Some(extension)) = (id, extension) {
            out.push(AgentConfig { id, client, extension, uri, pop, pops });
        }
    }
    out
}

/// An optional nested table and its full key; anything but a table is a
/// problem.
fn sub_table<'t>(r: &mut Reader<'t, '_>, name: &str) -> Option<(&'t Map<String, Value>, String)> {
    match r.raw(name)? {
        Value::Object(t) => Some((t, r.key(name))),
        other => {
            r.problem(name, format!("expected a table, found {}", reader::kind(other)));
            None
        }
    }
}

fn read_pop(table: &Map<String, Value>, key: String, problems: &mut Vec<Problem>) -> Option<PopEndpoint> {
    let mut r = Reader::new(Some(table), key, problems);
    let mut url = r.required_string("url");
    if let Some(u) = &url
        && let Err(m) = crate::events::check_url(u)
    {
        r.problem("url", m);
        url = None;
    }
    let method = r.choice("method", PopMethod::Get, &[("get", PopMethod::Get), ("post", PopMethod::Post)]);
    let status_field = r.string("status_field", "statusCall");
    if status_field.is_empty()
        || status_field.len() > 64
        || !status_field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        r.problem("status_field", format!("{status_field:?} is not 1 to 64 letters, digits, '_', '-' or '.'"));
    } else if POP_FIELDS.contains(&status_field.as_str()) {
        r.problem("status_field", format!("{status_field:?} is already one of the pop's fields"));
    }
    let timeout = r.seconds("timeout_s", 2.0, 0.05, 30.0);
    r.finish();
    Some(PopEndpoint { url: url?, method, status_field, timeout })
}

fn read_filter(table: &Map<String, Value>, key: String, problems: &mut Vec<Problem>) -> PopFilter {
    let mut r = Reader::new(Some(table), key, problems);
    let f = PopFilter {
        incoming: r.boolean("incoming", true),
        outgoing: r.boolean("outgoing", true),
        click_to_call: r.boolean("click_to_call", true),
    };
    r.finish();
    f
}

/// 1 to 32 of `A-Za-z0-9*#+._-`.
pub(crate) fn valid_extension(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '#' | '+' | '.' | '_' | '-'))
}

fn check_sip_uri(u: &str) -> Result<(), String> {
    let rest = match u.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("sip:") => &u[4..],
        _ => return Err(format!("{u:?} must start with sip:")),
    };
    if rest.is_empty() || u.len() > 256 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{u:?} is not a SIP URI (sip:user@host, at most 256 characters, no spaces)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn read(text: &str) -> (Vec<AgentConfig>, Vec<Problem>) {
        let tree: Value = toml::from_str(text).unwrap();
        let mut problems = Vec::new();
        let agents = read_agents(tree.get("agents"), &mut problems);
        (agents, problems)
    }

    fn keys(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.key.as_str()).collect()
    }

    #[test]
    fn good_config() {
        let (agents, problems) = read(
            r#"
[[agents]]
id = "dana"
extension = "201"
uri = "sip:201@pbx.example.com"
[agents.screen_pop]
url = "https://crm.example.com/pop"
method = "post"
status_field = "status"
timeout_s = 1.5
[agents.pops]
incoming = true
outgoing = false
click_to_call = false

[[agents]]
id = "avi"
extension = "*202#"
[agents.screen_pop]
url = "http://crm.example.com/pop.asp?key=1"

[[agents]]
id = "noa"
extension = "203"
"#,
        );
        assert_eq!(problems, vec![]);
        assert_eq!(
            agents,
            vec![
                AgentConfig {
                    client: "default".into(),
                    id: "dana".into(),
                    extension: "201".into(),
                    uri: Some("sip:201@pbx.example.com".into()),
                    pop: Some(PopEndpoint {
                        url: "https://crm.example.com/pop".into(),
                        method: PopMethod::Post,
                        status_field: "status".into(),
                        timeout: Duration::from_millis(1500),
                    }),
                    pops: PopFilter { incoming: true, outgoing: false, click_to_call: false },
                },
                AgentConfig {
                    client: "default".into(),
                    id: "avi".into(),
                    extension: "*202#".into(),
                    uri: None,
                    pop: Some(PopEndpoint {
                        url: "http://crm.example.com/pop.asp?key=1".into(),
                        method: PopMethod::Get,
                        status_field: "statusCall".into(),
                        timeout: Duration::from_secs(2),
                    }),
                    pops: PopFilter::default(),
                },
                AgentConfig {
                    client: "default".into(),
                    id: "noa".into(),
                    extension: "203".into(),
                    uri: None,
                    pop: None,
                    pops: PopFilter { incoming: true, outgoing: true, click_to_call: true },
                },
            ]
        );
    }

    #[test]
    fn no_agents_is_fine() {
        let (agents, problems) = read("");
        assert!(agents.is_empty() && problems.is_empty());
    }

    #[test]
    fn agents_must_be_tables() {
        let (_, problems) = read(r#"agents = "dana""#);
        assert_eq!(keys(&problems), ["agents"]);
        let (_, problems) = read(r#"agents = ["dana"]"#);
        assert_eq!(keys(&problems), ["agents[0]"]);
    }

    #[test]
    fn required_fields() {
        let (agents, problems) = read(
            r#"
[[agents]]
uri = "sip:x@y"
"#,
        );
        assert!(agents.is_empty());
        assert_eq!(keys(&problems), ["agents[0].id", "agents[0].extension"]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let (_, problems) = read(
            r#"
[[agents]]
id = "dana"
extension = "201"

[[agents]]
id = "bad id!"
extension = "20 1"
uri = "tel:+972501234567"
colour = "blue"
[agents.screen_pop]
url = "ftp://crm.example.com/pop"
method = "put"
status_field = "a b"
timeout_s = 60
retries = 3
[agents.pops]
incoming = "yes"
outgoing = 1
click_to_call = false
inbound = true
"#,
        );
        let mut got = keys(&problems);
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "agents[1].colour",
                "agents[1].extension",
                "agents[1].id",
                "agents[1].pops.inbound",
                "agents[1].pops.incoming",
                "agents[1].pops.outgoing",
                "agents[1].screen_pop.method",
                "agents[1].screen_pop.retries",
                "agents[1].screen_pop.status_field",
                "agents[1].screen_pop.timeout_s",
                "agents[1].screen_pop.url",
                "agents[1].uri",
            ],
            "{problems:#?}"
        );
        let unknown: Vec<&str> =
            problems.iter().filter(|p| p.message == "unknown key").map(|p| p.key.as_str()).collect();
        assert_eq!(unknown, ["agents[1].screen_pop.retries", "agents[1].pops.inbound", "agents[1].colour"]);
    }

    #[test]
    fn pop_tables_must_be_tables_and_need_a_url() {
        let (agents, problems) = read(
            r#"
[[agents]]
id = "dana"
extension = "201"
screen_pop = "https://crm.example.com/pop"
pops = true

[[agents]]
id = "avi"
extension = "202"
[agents.screen_pop]
method = "get"
"#,
        );
        assert_eq!(keys(&problems), ["agents[0].screen_pop", "agents[0].pops", "agents[1].screen_pop.url"]);
        assert_eq!(agents[1].pop, None);
    }

    #[test]
    fn bad_urls_and_uris() {
        for (url, uri) in [
            ("https://user:pw@crm.example.com/pop", "sip:"),
            ("https://", "sip:a b@host"),
            ("crm.example.com/pop", "201@pbx"),
        ] {
            let text = format!(
                "[[agents]]\nid = \"dana\"\nextension = \"201\"\nuri = {uri:?}\n[agents.screen_pop]\nurl = {url:?}\n"
            );
            let (_, problems) = read(&text);
            assert_eq!(keys(&problems), ["agents[0].uri", "agents[0].screen_pop.url"], "{url} {uri}");
        }
        let (_, problems) = read("[[agents]]\nid = \"dana\"\nextension = \"201\"\nuri = \"SIP:201@pbx\"\n");
        assert_eq!(problems, vec![]);
    }

    #[test]
    fn timeout_bounds() {
        for (t, ok) in [("0.05", true), ("30", true), ("0.01", false), ("30.5", false), ("\"soon\"", false)] {
            let text = format!(
                "[[agents]]\nid = \"d\"\nextension = \"1\"\n[agents.screen_pop]\nurl = \"https://crm/p\"\ntimeout_s = {t}\n"
            );
            let (_, problems) = read(&text);
            assert_eq!(problems.is_empty(), ok, "{t}: {problems:?}");
        }
    }

    #[test]
    fn status_field_must_not_repeat_a_pop_field() {
        let text = "[[agents]]\nid = \"d\"\nextension = \"1\"\n[agents.screen_pop]\nurl = \"https://crm/p\"\n\
                    status_field = \"phone\"\n";
        let (_, problems) = read(text);
        assert_eq!(keys(&problems), ["agents[0].screen_pop.status_field"]);
    }

    #[test]
    fn extension_length() {
        let long = "1".repeat(33);
        let (_, problems) = read(&format!("[[agents]]\nid = \"d\"\nextension = \"{long}\"\n"));
        assert_eq!(keys(&problems), ["agents[0].extension"]);
        let ok = "1".repeat(32);
        let (_, problems) = read(&format!("[[agents]]\nid = \"d\"\nextension = \"{ok}\"\n"));
        assert!(problems.is_empty());
    }

    #[test]
    fn duplicate_id() {
        let (agents, problems) = read(
            r#"
[[agents]]
id = "dana"
extension = "201"
[[agents]]
id = "avi"
extension = "202"
[[agents]]
id = "dana"
extension = "203"
"#,
        );
        assert_eq!(keys(&problems), ["agents[2].id"]);
        assert!(problems[0].message.contains("another agent"), "{}", problems[0].message);
        assert_eq!(agents.len(), 3);
    }

    #[test]
    fn duplicate_extension() {
        let (_, problems) = read(
            r#"
[[agents]]
id = "dana"
extension = "201"
[[agents]]
id = "avi"
extension = "201"
"#,
        );
        assert_eq!(keys(&problems), ["agents[1].extension"]);
        assert!(problems[0].message.contains("dana"), "{}", problems[0].message);
    }
}
