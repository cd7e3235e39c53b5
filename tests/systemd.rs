//! Running under systemd (issue 8): the unit file passes
//! `systemd-analyze verify` with the real binary at its ExecStart path and
//! `systemd-analyze security` rates it at most 2.0; the daemon speaks the
//! sd_notify protocol to a socket the test creates (`NOTIFY_SOCKET`):
//! READY=1 after start, WATCHDOG=1 while healthy, RELOADING=1 then
//! READY=1 around SIGHUP, STOPPING=1 on SIGTERM. No systemd PID 1 needed.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The unit with ExecStart pointing at the binary cargo built.
fn unit_here(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("systemd/dialerd.service")).unwrap();
    assert!(text.contains("ExecStart=/usr/bin/dialerd "), "the packaged path");
    let path = dir.join("dialerd.service");
    std::fs::write(&path, text.replace("/usr/bin/dialerd", env!("CARGO_BIN_EXE_dialerd"))).unwrap();
    path
}

#[test]
fn the_unit_verifies_and_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_here(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (scripts/test installs systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("dialerd.service"), "verify: {stderr}");

    let out = Command::new("systemd-analyze").args(["security", "--offline=true"]).arg(&unit).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for dialerd.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.0, "exposure {level} > 2.0:\n{text}");

    // The checks are not vacuous: a missing binary fails verify.
    let broken = dir.path().join("broken.service");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&unit).unwrap().replace(env!("CARGO_BIN_EXE_dialerd"), "/nonexistent/dialerd"),
    )
    .unwrap();
    assert!(!Command::new("systemd-analyze").arg("verify").arg(&broken).output().unwrap().status.success());
}

/// Every datagram the daemon sent to our socket, until `until` matches one.
fn read_until(sock: &UnixDatagram, seen: &mut Vec<String>, until: impl Fn(&str) -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 1024];
    loop {
        assert!(Instant::now() < deadline, "no {what}; got {seen:?}");
        match sock.recv(&mut buf) {
            Ok(n) => {
                let m = String::from_utf8_lossy(&buf[..n]).to_string();
                let done = until(&m);
                seen.push(m);
                if done {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn the_daemon_speaks_sd_notify_ready_watchdog_reload_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let env = vec![
        ("NOTIFY_SOCKET".to_string(), path.to_str().unwrap().to_string()),
        // 400 ms: a ping every 200 ms while healthy.
        ("WATCHDOG_USEC".to_string(), "400000".to_string()),
    ];
    let mut d = Daemon::start(free_udp_port(), Opts { env, ..Default::default() });
    let mut seen = Vec::new();
    read_until(&sock, &mut seen, |m| m.starts_with("READY=1"), "READY=1");
    let ready = seen.last().unwrap().clone();
    assert!(ready.contains(&format!("MAINPID={}", d.pid())) && ready.contains(&d.http.to_string()), "{ready}");
    let mut pings = 0;
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    while start.elapsed() < Duration::from_millis(1200) {
        if let Ok(n) = sock.recv(&mut buf)
            && &buf[..n] == b"WATCHDOG=1"
        {
            pings += 1;
        }
    }
    assert!((3..=10).contains(&pings), "about 5 pings in 1.2 s at 200 ms, got {pings}");

    Command::new("kill").arg("-HUP").arg(d.pid().to_string()).status().unwrap();
    let mut seen = Vec::new();
    read_until(&sock, &mut seen, |m| m.starts_with("READY=1"), "READY=1 after the reload");
    let reload = seen.iter().position(|m| m.starts_with("RELOADING=1")).unwrap_or_else(|| panic!("{seen:?}"));
    assert!(reload < seen.len() - 1, "RELOADING=1 comes before READY=1: {seen:?}");

    let status = d.terminate(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    let mut seen = Vec::new();
    read_until(&sock, &mut seen, |m| m.starts_with("STOPPING=1"), "STOPPING=1");
}

/// The Debian postinst writes the first /etc/dialerd/dialerd.toml with
/// `packaging/make-config.sh`: packaged paths, a fresh API key, the
/// dialplans copied where the admin can edit them; it never overwrites.
#[test]
fn the_packaged_first_config_is_valid_and_has_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let (etc, var, out) = (dir.path().join("etc"), dir.path().join("var"), dir.path().join("etc/dialerd.toml"));
    let run = || {
        Command::new("sh")
            .arg(repo().join("packaging/make-config.sh"))
            .arg(repo().join("dialerd.toml"))
            .arg(repo())
            .args([&etc, &var, &out])
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(!text.contains("dev-key-change-me"), "the demo key is replaced");
    let key = text.lines().find_map(|l| l.strip_prefix("keys = [\"")).unwrap().trim_end_matches("\"]");
    assert!(key.len() == 48 && key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
    assert!(text.contains(&format!("data_dir = \"{}\"", var.display())), "{text}");
    assert!(
        etc.join("dialplans/lead-qualification.toml").is_file()
            && etc.join("dialplans/prompts/agent/whisper.wav").is_file()
    );
    let check = Command::new(env!("CARGO_BIN_EXE_dialerd")).arg("check-config").arg(&out).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    // Run again (an upgrade): the admin's file stays as it is.
    std::fs::write(&out, text.replace(key, "the-admins-own-key-0123")).unwrap();
    assert!(run().status.success());
    assert!(std::fs::read_to_string(&out).unwrap().contains("the-admins-own-key-0123"));
}
