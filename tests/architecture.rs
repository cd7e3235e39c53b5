//! Architecture rules that code review alone would let slip:
//! 1. only `src/sip/` knows rsipstack;
//! 2. the logic we own (media, the call machine, admission, SDP, digest,
//!    the wire lint) does no I/O and never reads the clock;
//! 3. SIP scenarios and torture tests run against real peers (no mocks
//!    of SIP in tests/).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// Code lines outside comments and outside `#[cfg(test)]` tails.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push((i + 1, line.to_string()));
    }
    out
}

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn only_the_sip_module_touches_rsipstack() {
    let sip = src().join("sip");
    let mut offenders = Vec::new();
    for f in rust_files(&src()) {
        if f.starts_with(&sip) {
            continue;
        }
        for (n, line) in code_lines(&f) {
            if line.contains("rsipstack") {
                offenders.push(format!("{}:{n}: {}", f.display(), line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "rsipstack outside src/sip:\n{}", offenders.join("\n"));
}

#[test]
fn sans_io_cores_do_no_io_and_read_no_clock() {
    let cores: Vec<PathBuf> = [
        "media",
        "call/machine.rs",
        "call/plan.rs",
        "call/script.rs",
        "call/outcome.rs",
        "call/failover.rs",
        "call/session_timer.rs",
        "call/hold.rs",
        "sip/reason.rs",
        "trunk/gate.rs",
        "trunk/health.rs",
        "trunk/srv.rs",
        "sip/digest.rs",
        "sip/digest_server.rs",
        "sip/wire.rs",
        "sip/policy.rs",
        "sip/leg.rs",
        "dialplan/mod.rs",
        "dialplan/parse.rs",
        "dialplan/check.rs",
        "dialplan/interp.rs",
        "campaign/model.rs",
        "campaign/sched.rs",
        "campaign/retry.rs",
        "campaign/explain.rs",
        "campaign/calendar.rs",
        "campaign/caller_ids.rs",
        "campaign/tzmap.rs",
        "campaign/record.rs",
        "campaign/sortkey.rs",
        "campaign/csv.rs",
        "campaign/build.rs",
        "leads/machine.rs",
        "leads/wire.rs",
        "leads/phone.rs",
        "leads/sms.rs",
        "leads/template.rs",
        "leads/link.rs",
        "leads/page.rs",
        "agents/ring.rs",
        "agents/roster.rs",
        "clicktocall/signature.rs",
        "clicktocall/status.rs",
        "clicktocall/schedule.rs",
        "config/cidr.rs",
    ]
    .iter()
    .map(|p| src().join(p))
    .collect();
    let forbidden = [
        "tokio::net",
        "tokio::time",
        "tokio::spawn",
        "tokio::fs",
        "std::net::UdpSocket",
        "std::net::TcpStream",
        "std::fs",
        "std::thread",
        "Instant::now",
        "SystemTime::now",
        "Timestamp::now",
        "rand::",
    ];
    let mut offenders = Vec::new();
    for core in &cores {
        let files = if core.is_dir() { rust_files(core) } else { vec![core.clone()] };
        assert!(!files.is_empty(), "{} is gone: update this test", core.display());
        for f in files {
            if f.file_name().is_some_and(|n| n == "tests.rs") {
                continue;
            }
            for (n, line) in code_lines(&f) {
                for word in forbidden {
                    if line.contains(word) {
                        offenders.push(format!("{}:{n}: {word}: {}", f.display(), line.trim()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "I/O or clock reads in sans-IO code:\n{}", offenders.join("\n"));
}

#[test]
fn call_actors_hold_no_stack_types() {
    // The actor talks to legs through our own channel types only.
    for f in ["call/actor.rs", "call/machine.rs", "api/calls.rs"] {
        let text = std::fs::read_to_string(src().join(f)).unwrap();
        assert!(!text.contains("rsipstack") && !text.contains("DialogState"), "{f}");
    }
}
