//! Requests that reach dialerd from outside: keepalives, INVITEs for
//! numbers it does not route, strangers, stale dialogs. SIPp plays the peer.

mod common;

use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[test]
fn options_ping_gets_200_with_allow() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let r = Sipp::uac("uac_options.xml", d.sip, "127.0.0.1", 1).wait(T);
    assert_sipp(&r, 1);
    assert!(d.metric("dialerd_sip_messages_total", "direction=\"in\",kind=\"OPTIONS\"") >= 1.0);
    assert!(d.metric("dialerd_sip_messages_total", "direction=\"out\",kind=\"200\"") >= 1.0);
}

#[test]
fn invite_from_a_trunk_for_a_number_without_a_route_is_404() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let r = Sipp::uac("uac_invite_404.xml", d.sip, "127.0.0.1", 1).wait(T);
    assert_sipp(&r, 1);
    assert_eq!(d.metric("dialerd_sip_requests_rejected_total", "reason=\"no_inbound_route\""), 1.0);
}

#[test]
fn invite_from_a_stranger_is_403_and_nothing_else() {
    // The trunk is 127.0.0.1; the INVITE comes from 127.0.0.2.
    let d = Daemon::start(free_udp_port(), Opts::default());
    let r = Sipp::uac("uac_invite_403.xml", d.sip, "127.0.0.2", 1).wait(T);
    assert_sipp(&r, 1);
    assert_eq!(d.metric("dialerd_sip_requests_rejected_total", "reason=\"not_a_trunk\""), 1.0);
    let (_, health) = d.get("/healthz");
    assert_eq!(health["calls_known"], 0, "no call was created");
    assert!(!r.messages.contains("SIP/2.0 100 Trying"), "only the 403 is sent:\n{}", r.messages);
}

#[test]
fn bye_for_an_unknown_dialog_is_481() {
    let d = Daemon::start(free_udp_port(), Opts::default());
    let r = Sipp::uac("uac_bye_unknown.xml", d.sip, "127.0.0.1", 1).wait(T);
    assert_sipp(&r, 1);
}
