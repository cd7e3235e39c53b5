//! Reload on SIGHUP (issue 8) with the real binary: trunks, trunk groups,
//! agents and operator webhooks change without a restart and without
//! dropping calls; a trunk removed from the file finishes its live call but
//! takes no new ones; agents created through the API survive; a broken
//! file is refused with its problems logged and the daemon keeps serving
//! the old configuration. (Dialplans: tests/dialplans.rs; certificates:
//! tests/transports.rs.)

mod common;

use common::leads::{Seen, receiver, wait_for};
use common::*;
use serde_json::json;
use std::time::Duration;

/// Event types the receiver got on `path`.
fn kinds(seen: &Seen, path: &str) -> Vec<String> {
    let seen = seen.lock().unwrap();
    seen.iter().filter(|(p, _, _)| p == path).filter_map(|(_, _, b)| b["type"].as_str().map(str::to_string)).collect()
}

fn hup_and_wait(d: &Daemon, what: &str) {
    let before = d.log().matches(what).count();
    d.signal("-HUP");
    wait_for(what, Duration::from_secs(10), || (d.log().matches(what).count() > before).then_some(()));
}

const RELOADED: &str = "SIGHUP: configuration reloaded";
const REFUSED: &str = "SIGHUP: reload refused";

#[test]
fn sighup_swaps_trunks_agents_and_webhooks_without_dropping_calls() {
    let old_trunk = Sipp::uas("answer_wait_bye.xml", 1);
    let new_trunk = Sipp::uas("answer_wait_bye.xml", 1);
    let (hooks, seen) = receiver();
    let section = |trunk: &str, port: u16, agent: &str, hook: &str| {
        format!(
            "[[trunks]]\nname = \"{trunk}\"\naddress = \"127.0.0.1:{port}\"\n\
             [[agents]]\nid = \"{agent}\"\nextension = \"20{n}\"\n\
             [[webhooks]]\nname = \"ops\"\nurl = \"http://{hooks}/{hook}\"\nevents = [\"call.ended\"]\n\
             secret = \"0123456789abcdef\"\n",
            n = agent.len()
        )
    };
    let d = Daemon::start(
        free_udp_port(),
        Opts { tail: section("old", old_trunk.port, "ann", "v1"), ..Default::default() },
    );
    // Created through the API: lives in the store, not in the file.
    let (s, _) = d.api("POST", "/v1/agents", Some(&json!({"id": "carl", "extension": "299"})));
    assert_eq!(s, 201);
    // A call up on the trunk the new file drops.
    let gather = json!({"max_digits": 1, "timeout_s": 60});
    let live = d.call(json!({"to": "+15551234567", "trunk": "old", "gather": gather}));
    d.wait_state(&live, "answered", Duration::from_secs(10));

    let path = d.dir.path().join("dialerd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[[trunks]]\nname = \"old\"").unwrap();
    let text = format!("{}{}", &text[..start], section("new", new_trunk.port, "bob", "v2"));
    std::fs::write(&path, text).unwrap();
    hup_and_wait(&d, RELOADED);
    let log = d.log();
    let line = log.lines().rfind(|l| l.contains(RELOADED)).unwrap();
    assert!(line.contains("trunks_added") && line.contains("new") && line.contains("old"), "{line}");

    // The removed trunk's call is still up; the trunk takes no new call.
    assert_eq!(d.call_view(&live)["state"], "answered");
    let (s, v) = d.post_call(call_body(json!({"trunk": "old"})));
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("trunk")), "{v}");
    // The new trunk works at once.
    let id = d.call(call_body(json!({"trunk": "new"})));
    assert_eq!(d.wait_ended(&id, Duration::from_secs(15))["disposition"], "answered");
    assert_sipp(&new_trunk.wait(Duration::from_secs(10)), 1);
    // The live call ends normally, with its BYE, on the old trunk.
    let (s, _) = d.delete(&format!("/v1/calls/{live}"));
    assert_eq!(s, 202);
    assert_eq!(d.wait_ended(&live, Duration::from_secs(10))["hangup_by"], "local");
    assert_sipp(&old_trunk.wait(Duration::from_secs(10)), 1);

    // Agents: the file's set changed, the API's agent stayed.
    let (_, v) = d.get("/v1/agents");
    let mut ids: Vec<&str> = v.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, ["bob", "carl"], "{v}");
    // The operator webhook moved to its new URL: both calls ended after the
    // reload, so both events went there and none to the old one.
    wait_for("two call.ended at the new URL", Duration::from_secs(10), || {
        (kinds(&seen, "/v2").len() == 2).then_some(())
    });
    assert!(kinds(&seen, "/v1").is_empty(), "{:?}", kinds(&seen, "/v1"));
}

#[test]
fn a_broken_file_is_refused_and_the_old_configuration_keeps_serving() {
    let sipp = Sipp::uas("answer_wait_bye.xml", 3);
    let d = Daemon::start(sipp.port, Opts::default());
    let path = d.dir.path().join("dialerd.toml");
    let good = std::fs::read_to_string(&path).unwrap();
    for (broken, names) in [
        (good.replace("name = \"sipp\"", "name = \"sipp\"\nkeepalive_failures = 0"), "trunks[0].keepalive_failures"),
        (format!("{good}[[trunk_groups]]\nname = \"g\"\ntrunks = [\"nope\"]\n"), "trunk_groups[0].trunks[0]"),
        (format!("{good}[[inbound]]\ndid = \"1\"\ndialplan = \"missing\"\n"), "inbound[0].dialplan"),
    ] {
        std::fs::write(&path, &broken).unwrap();
        hup_and_wait(&d, REFUSED);
        let log = d.log();
        let line = log.lines().rfind(|l| l.contains(REFUSED)).unwrap();
        assert!(line.contains(names), "the reason names {names}: {line}");
        let id = d.call(call_body(json!({})));
        assert_eq!(d.wait_ended(&id, Duration::from_secs(15))["disposition"], "answered", "still serving");
    }
    assert_sipp(&sipp.wait(Duration::from_secs(10)), 3);
}
