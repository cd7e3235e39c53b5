//! The command line: `check-config` reports every problem with its key,
//! environment overrides included; the shipped config is valid.

mod common;

use common::repo;
use std::process::Command;

fn dialerd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dialerd"));
    c.current_dir(repo()).env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALERD__") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn the_shipped_config_checks_clean() {
    let out = dialerd().args(["check-config", "dialerd.toml"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok") && text.contains("127.0.0.1:5060") && text.contains("local"), "{text}");
}

#[test]
fn every_problem_is_printed_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[sip]
listen = "localhost"
t1_ms = 0
[api]
listen = "127.0.0.1:8080"
keys = ["short"]
[media]
prompts_dir = "/nope"
[[trunks]]
name = "x"
adress = "127.0.0.1:5080"
"#,
    )
    .unwrap();
    let out =
        dialerd().arg("check-config").arg(&path).env("DIALERD__CALLS__ON_CAPACITY", "sometimes").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "sip.listen:",
        "sip.t1_ms:",
        "api.keys[0]:",
        "media.prompts_dir:",
        "trunks[0].address: is required",
        "trunks[0].adress: unknown key",
        "calls.on_capacity:",
    ] {
        assert!(err.contains(key), "missing {key:?} in:\n{err}");
    }
}

#[test]
fn a_missing_file_is_named() {
    let out = dialerd().args(["check-config", "/no/such/dialerd.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/dialerd.toml"));
    let out = dialerd().args(["--config", "/no/such/dialerd.toml"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
}

#[test]
fn version_and_help() {
    let out = dialerd().arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(version.starts_with(&format!("dialerd {} (rev ", env!("CARGO_PKG_VERSION"))), "{version}");
    // Built from this checkout: the revision is git's (possibly -modified).
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    if !head.is_empty() {
        assert!(version.contains(&format!("(rev {head}")), "{version} vs {head}");
    }
    let out = dialerd().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("check-config") && text.contains("--config"), "{text}");
}

#[test]
fn broken_dialplans_are_reported_by_file_and_node() {
    let dir = tempfile::tempdir().unwrap();
    let plans = dir.path().join("plans");
    std::fs::create_dir(&plans).unwrap();
    std::fs::write(plans.join("good.toml"), "start = \"end\"\n[nodes.end]\nkind = \"hangup\"\n").unwrap();
    std::fs::write(
        plans.join("bad.toml"),
        "start = \"ask\"\n[nodes.ask]\nkind = \"menu\"\nprompt = \"nope.wav\"\noptions = { \"1\" = \"gone\" }\non_fail = \"end\"\n[nodes.end]\nkind = \"hangup\"\n[nodes.lost]\nkind = \"hangup\"\n",
    )
    .unwrap();
    let cfg = dir.path().join("d.toml");
    let text = std::fs::read_to_string(repo().join("dialerd.toml"))
        .unwrap()
        .replace(
            "prompts_dir = \"dialplans/prompts\"",
            &format!("prompts_dir = \"{}\"", repo().join("dialplans/prompts").display()),
        )
        .replace("dir = \"dialplans\"", &format!("dir = \"{}\"", plans.display()));
    std::fs::write(&cfg, text).unwrap();
    let out = dialerd().arg("check-config").arg(&cfg).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "bad.toml: nodes.ask.prompt: \"nope.wav\": no such prompt file",
        "bad.toml: nodes.ask.options.1: no node named \"gone\"",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The daemon refuses to start on them too, naming the same problems.
    let out = dialerd().arg("--config").arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nodes.ask.options.1"));
    // Once fixed, the unreachable node is the last problem.
    std::fs::write(
        plans.join("bad.toml"),
        "start = \"end\"\n[nodes.end]\nkind = \"hangup\"\n[nodes.lost]\nkind = \"hangup\"\n",
    )
    .unwrap();
    let out = dialerd().arg("check-config").arg(&cfg).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml: nodes.lost: unreachable from the start node \"end\"")
    );
}

#[test]
fn a_broken_cell_phone_list_and_bad_user_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cells = dir.path().join("cells.txt");
    std::fs::write(&cells, "# mobiles\n+447*\n+1 555 0100\nnot a number\n").unwrap();
    let out = dialerd()
        .args(["check-config", "dialerd.toml"])
        .env("DIALERD__CAMPAIGNS__CELL_PHONE_LIST", &cells)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("campaigns.cell_phone_list") && err.contains("line 4"), "{err}");

    let data = dir.path().join("var");
    let out = dialerd()
        .args(["user", "add", "--client", "acme", "--username", "u", "--role", "root"])
        .env("DIALERD__STORAGE__DATA_DIR", &data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role"), "{}", String::from_utf8_lossy(&out.stderr));
}
