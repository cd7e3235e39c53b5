//! Agents and agent groups through the API against the real daemon
//! (issue 7): configured ones read-only, created ones stored (and still
//! there after kill -9), statuses, validation by field, tenancy, and the
//! operator-metrics endpoint.

mod common;

use common::*;
use serde_json::json;

const AGENTS: &str = r#"
[[agents]]
id = "dana"
extension = "201"
uri = "sip:201@127.0.0.1:5090"
[[agents]]
id = "omer"
extension = "202"
[[agents]]
id = "acme-agent"
extension = "301"
client = "acme"
[[agent_groups]]
id = "sales"
agents = ["dana", "omer"]
strategy = "ring_all"
ring_timeout_s = 15
then = [{ strategy = "longest_idle", ring_timeout_s = 5 }]
"#;

#[test]
fn agents_groups_statuses_and_stats() {
    let mut d = Daemon::start(free_udp_port(), Opts { tail: AGENTS.into(), ..Default::default() });
    let (s, v) = d.get("/v1/agents");
    assert_eq!(s, 200, "{v}");
    let ids: Vec<&str> = v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["dana", "omer"], "the default client's agents only: {v}");
    assert_eq!(v[0]["status"], "available");
    assert_eq!(v[0]["groups"], json!(["sales"]));
    assert_eq!(v[0]["source"], "config");

    // Status: paused and back; busy is dialerd's to set.
    let (s, v) = d.api("PUT", "/v1/agents/omer/status", Some(&json!({"status": "paused"})));
    assert_eq!((s, v["status"].as_str()), (200, Some("paused")), "{v}");
    let (s, v) = d.api("PUT", "/v1/agents/omer/status", Some(&json!({"status": "busy"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("status")), "{v}");
    let (s, _) = d.api("PUT", "/v1/agents/acme-agent/status", Some(&json!({"status": "offline"})));
    assert_eq!(s, 404, "another client's agent is not ours");

    // Create an agent and a group of it.
    let (s, v) = d.api("POST", "/v1/agents", Some(&json!({"id": "lior", "extension": "203", "uri": "sip:203@pbx"})));
    assert_eq!((s, v["source"].as_str()), (201, Some("api")), "{v}");
    for (body, field) in [
        (json!({"id": "bad id", "extension": "204"}), "id"),
        (json!({"id": "x", "extension": "201"}), "extension"),
        (json!({"id": "x", "extension": "204", "uri": "http://nope"}), "uri"),
    ] {
        let (s, v) = d.api("POST", "/v1/agents", Some(&body));
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    let (s, _) = d.api("POST", "/v1/agents", Some(&json!({"id": "dana", "extension": "299"})));
    assert_eq!(s, 409);
    let group = json!({"id": "support", "agents": ["lior", "dana"],
        "steps": [{"strategy": "round_robin", "ring_timeout_s": 10}], "fallback_dialplan": "voicemail-drop"});
    let (s, v) = d.api("POST", "/v1/agent-groups", Some(&group));
    assert_eq!(s, 201, "{v}");
    for (patch, field) in [
        (json!({"agents": ["nobody"]}), "agents[0]"),
        (json!({"agents": []}), "agents"),
        (json!({"steps": [{"strategy": "random", "ring_timeout_s": 10}]}), "steps[0]"),
        (json!({"steps": [{"strategy": "ring_all", "ring_timeout_s": 0}]}), "steps[0]"),
        (json!({"fallback_dialplan": "nope"}), "fallback_dialplan"),
    ] {
        let mut body = group.clone();
        body["id"] = json!("other");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, v) = d.api("POST", "/v1/agent-groups", Some(&body));
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    // An agent in a group cannot go; configured objects are read-only.
    assert_eq!(d.api("DELETE", "/v1/agents/lior", None).0, 409);
    assert_eq!(d.api("DELETE", "/v1/agents/dana", None).0, 403);
    assert_eq!(d.api("DELETE", "/v1/agent-groups/sales", None).0, 403);

    // Operator metrics: a group's totals and each member's.
    let (s, v) = d.get("/v1/agent-groups/sales/stats");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["agents"].as_array().unwrap().len(), 2);
    assert_eq!(v["totals"]["offered"], 0);
    assert_eq!(d.get("/v1/agent-groups/nope/stats").0, 404);

    // Created objects survive a crash; statuses start over as available.
    d.kill9_and_restart();
    let (_, v) = d.get("/v1/agents");
    let lior = v.as_array().unwrap().iter().find(|a| a["id"] == "lior").expect("lior after restart");
    assert_eq!((lior["source"].as_str(), lior["groups"].clone()), (Some("api"), json!(["support"])));
    let (_, g) = d.get("/v1/agent-groups");
    let support = g.as_array().unwrap().iter().find(|x| x["id"] == "support").expect("support after restart");
    assert_eq!(support["steps"][0]["strategy"], "round_robin");
    assert_eq!(d.api("DELETE", "/v1/agent-groups/support", None).0, 204);
    assert_eq!(d.api("DELETE", "/v1/agents/lior", None).0, 204);
    assert_eq!(d.get("/v1/agents").1.as_array().unwrap().len(), 2);
}
