//! The call actor on tokio's paused clock: the SIP side is a scripted peer
//! behind the `LegFactory` seam (real RTP sockets on loopback), so timers of
//! tens of seconds run in zero real time.

use dialerd::call::actor::{self, CallDeps, CallSpec};
use dialerd::call::machine::{Event, Plan};
use dialerd::call::plan::Failover;
use dialerd::call::registry::{CallCommand, CallRegistry};
use dialerd::call::rtp::RtpPorts;
use dialerd::call::view::{CallState, CallView};
use dialerd::config::{IdleMedia, SipTransport, TrunkConfig, TrunkGroupConfig};
use dialerd::dialplan::Flow;
use dialerd::ids::{CallId, TrunkId};
use dialerd::media::Prompt;
use dialerd::media::dtmf::EventPayload;
use dialerd::sip::{InviteRequest, LegCommand, LegEvent, LegFactory, UacLeg};
use dialerd::trunk::{Admission, Route};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

type FarEnd = (InviteRequest, mpsc::Sender<LegEvent>, mpsc::Receiver<LegCommand>);

/// Hands every new leg to the test, which plays the far end.
struct ScriptedLegs(Mutex<mpsc::UnboundedSender<FarEnd>>);

impl LegFactory for ScriptedLegs {
    fn start(&self, req: InviteRequest) -> UacLeg {
        let (leg, events, commands) = UacLeg::channel();
        self.0.lock().unwrap().send((req, events, commands)).unwrap();
        leg
    }
}

async fn deps() -> (Arc<CallDeps>, mpsc::UnboundedReceiver<FarEnd>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let trunk = TrunkConfig {
        name: "t".into(),
        host: "127.0.0.1".into(),
        port: 5999,
        srv: false,
        transport: SipTransport::Udp,
        username: None,
        password: None,
        realm: None,
        caller_id: Some("+15550100".into()),
        caller_name: None,
        max_concurrent: 10,
        max_cps: 10.0,
        inbound_cidrs: vec![],
        inbound_username: None,
        inbound_password: None,
        inbound_algorithms: vec![],
        keepalive: None,
        keepalive_timeout: Duration::from_secs(2),
        rtp_timeout: None,
        max_duration: None,
        asserted_identity: None,
        privacy: None,
        identity: None,
        advertised_address: None,
    };
    // A second trunk and a group over both, for failover.
    let second = TrunkConfig { name: "t2".into(), port: 5998, ..trunk.clone() };
    let group = TrunkGroupConfig {
        name: "g".into(),
        trunks: vec!["t".into(), "t2".into()],
        provisional_timeout: Duration::from_secs(2),
    };
    let admission = Arc::new(Admission::resolve(&[trunk, second], &[group], 10, 10, 10).await.unwrap());
    let deps = CallDeps {
        legs: Arc::new(ScriptedLegs(Mutex::new(tx))),
        http: reqwest::Client::new(),
        admission,
        registry: Arc::new(CallRegistry::new(Duration::from_secs(3600), 100)),
        rtp: RtpPorts::new("127.0.0.1".parse().unwrap(), 41_000, 41_999),
        idle: IdleMedia::Silence,
        symmetric_rtp: true,
        session_timer: None,
        queue_timeout: Duration::from_secs(30),
        shutdown: CancellationToken::new(),
        events: dialerd::events::EventBus::new(1024),
        transfers: None,
        transfer_no_answer: Duration::from_secs(30),
    };
    (Arc::new(deps), rx)
}

fn plan(prompt: Option<Arc<Prompt>>, gather: Option<(usize, Duration)>) -> Plan {
    Plan {
        user: "+15551234".into(),
        flow: Arc::new(Flow::inline(prompt, gather)),
        vars: BTreeMap::new(),
        no_answer_timeout: Duration::from_secs(30),
        max_duration: Duration::from_secs(3600),
        max_redirects: 3,
        give_up_after: Duration::from_secs(33),
        park_on: None,
        rtp_timeout: None,
        failover: Default::default(),
    }
}

type Spawned = (watch::Receiver<CallView>, mpsc::Sender<CallCommand>, tokio::task::JoinHandle<()>);

fn spawn(deps: &Arc<CallDeps>, plan: Plan) -> Spawned {
    spawn_on(deps, plan, Route::single(TrunkId(0)))
}

/// A call admitted on the route's first trunk, as `Placer` would.
fn spawn_on(deps: &Arc<CallDeps>, mut plan: Plan, route: Route) -> Spawned {
    let id = CallId::new();
    let trunk = deps.admission.trunk(route.trunks[0]);
    let permit = deps.admission.try_invite().unwrap();
    let admitted = deps.admission.try_admit(route.trunks[0]).unwrap();
    plan.failover = Failover { alternates: route.trunks.len() - 1, provisional_timeout: route.provisional_timeout };
    let (vt, vr) = watch::channel(CallView::new(id, "+15551234".into(), "t".into()));
    let (ct, cr) = mpsc::channel(4);
    deps.registry.insert(id, None, vr.clone(), ct.clone());
    let spec = CallSpec {
        id,
        trunk,
        route,
        host_is_trunk: true,
        identity: None,
        plan,
        host: "127.0.0.1:5999".into(),
        from_user: "+15550100".into(),
        from_display: None,
        admitted: Some((admitted, permit)),
        origin: Default::default(),
        inbound: None,
        supports_100rel: false,
    };
    (vr, ct, tokio::spawn(actor::run(spec, deps.clone(), vt, cr)))
}

fn request_terminated() -> LegEvent {
    LegEvent::Rejected {
        status: 487,
        reason: "Request Terminated".into(),
        retry_after: None,
        redirect_user: None,
        cause: None,
    }
}

#[tokio::test(start_paused = true)]
async fn no_answer_timeout_cancels_after_thirty_virtual_seconds() {
    let (deps, mut far) = deps().await;
    let (view, _cmd, done) = spawn(&deps, plan(None, None));
    let (req, events, mut commands) = far.recv().await.unwrap();
    assert_eq!(req.user, "+15551234");
    assert!(String::from_utf8_lossy(&req.sdp_offer).contains("m=audio 41"), "offer uses the RTP range");
    events.send(LegEvent::Progress { status: 180, reason: "Ringing".into(), sdp: None }).await.unwrap();

    let (virtual0, real0) = (tokio::time::Instant::now(), std::time::Instant::now());
    assert_eq!(
        commands.recv().await,
        Some(LegCommand::Cancel { reason: Some("Q.850;cause=19;text=\"No answer from user\"".into()) })
    );
    assert!(virtual0.elapsed() >= Duration::from_secs(30), "{:?}", virtual0.elapsed());
    assert!(real0.elapsed() < Duration::from_secs(2), "ran in virtual time");
    events.send(request_terminated()).await.unwrap();
    done.await.unwrap();
    let v = view.borrow().clone();
    assert_eq!(v.state, CallState::Ended);
    assert_eq!(v.disposition.map(|d| d.as_str()), Some("no_answer"));
    assert_eq!(v.sip_status, Some(487));
}

#[tokio::test(start_paused = true)]
async fn answered_call_paces_the_prompt_and_takes_a_digit() {
    let (deps, mut far) = deps().await;
    let samples: Vec<i16> = (0..800).map(|i| ((i % 40) as i16 - 20) * 500).collect();
    let prompt = Arc::new(Prompt::from_linear(&samples)); // 100 ms: 5 frames
    let (view, _cmd, done) = spawn(&deps, plan(Some(prompt.clone()), Some((1, Duration::from_secs(60)))));
    let (req, events, mut commands) = far.recv().await.unwrap();
    let offer = String::from_utf8_lossy(&req.sdp_offer).to_string();
    let actor_port: u16 =
        offer.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap().split(' ').next().unwrap().parse().unwrap();

    let phone = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n",
        phone.local_addr().unwrap().port()
    );
    events.send(LegEvent::Answered { sdp: Some(sdp.into_bytes()) }).await.unwrap();

    let mut buf = [0u8; 2048];
    let mut packets = Vec::new();
    while packets.len() < 8 {
        let (n, _) = phone.recv_from(&mut buf).await.unwrap();
        packets.push(buf[..n].to_vec());
    }
    for (k, p) in packets.iter().enumerate() {
        let r = rtp_rs::RtpReader::new(p).unwrap();
        let first = rtp_rs::RtpReader::new(&packets[0]).unwrap();
        assert_eq!(r.payload_type(), 0);
        assert_eq!(u16::from(r.sequence_number()), u16::from(first.sequence_number()).wrapping_add(k as u16));
        assert_eq!(r.timestamp(), first.timestamp().wrapping_add(160 * k as u32));
        assert_eq!(r.mark(), k == 0);
        if k < 5 {
            assert_eq!(r.payload(), &prompt.ulaw[k * 160..(k + 1) * 160], "frame {k} is the prompt");
        } else {
            assert!(r.payload().iter().all(|&b| b == 0xFF), "frame {k} is silence");
        }
    }
    // The caller presses 5 (with its own SSRC, end packet sent three times).
    for end in [false, true, true, true] {
        let payload = EventPayload { code: 5, end, volume: 10, duration: 800 }.encode();
        let pkt = rtp_rs::RtpPacketBuilder::new()
            .payload_type(101)
            .ssrc(7)
            .timestamp(1234)
            .payload(&payload)
            .build()
            .unwrap();
        phone.send_to(&pkt, ("127.0.0.1", actor_port)).await.unwrap();
    }
    // The flow ended the call: normal clearing (RFC 3326, Q.850 16).
    let bye = LegCommand::Bye { reason: Some("Q.850;cause=16;text=\"Normal call clearing\"".into()) };
    assert_eq!(commands.recv().await, Some(bye));
    events.send(LegEvent::Ended).await.unwrap();
    done.await.unwrap();
    let v = view.borrow().clone();
    assert_eq!(v.digits, "5");
    assert_eq!(v.disposition.map(|d| d.as_str()), Some("answered"));
    let kinds: Vec<String> =
        v.events.iter().map(|e| serde_json::to_value(e).unwrap()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["dialing", "answered", "dtmf", "hangup"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_ringing_call() {
    let (deps, mut far) = deps().await;
    let (view, _cmd, done) = spawn(&deps, plan(None, None));
    let (_req, events, mut commands) = far.recv().await.unwrap();
    events.send(LegEvent::Progress { status: 183, reason: "Session Progress".into(), sdp: None }).await.unwrap();
    deps.shutdown.cancel();
    let cancel = commands.recv().await;
    assert!(
        matches!(&cancel, Some(LegCommand::Cancel { reason: Some(r) }) if r.starts_with("Q.850;cause=16")),
        "{cancel:?}"
    );
    events.send(request_terminated()).await.unwrap();
    done.await.unwrap();
    let v = view.borrow().clone();
    assert_eq!(v.disposition.map(|d| d.as_str()), Some("canceled"));
    assert_eq!(serde_json::to_value(v.hangup_by).unwrap(), "system");
}

/// An inbound call: the actor answers the offer at once with an SDP
/// answer on its RTP port in the offerer's codec, plays its flow, and the
/// caller's BYE ends it; an offer it cannot use is refused 488.
#[tokio::test(start_paused = true)]
async fn an_inbound_call_is_answered_in_the_offered_codec_and_ends_on_the_callers_bye() {
    let (deps, _far) = deps().await;
    let start = |offer: Option<&str>| {
        let id = CallId::new();
        let trunk = deps.admission.trunk(TrunkId(0)).clone();
        let admitted = deps.admission.try_admit(TrunkId(0)).unwrap();
        let (leg, events, commands) = UacLeg::channel();
        let (vt, vr) = watch::channel(CallView::new(id, "+15550199".into(), "t".into()));
        let (ct, cr) = mpsc::channel(4);
        deps.registry.insert(id, None, vr.clone(), ct);
        let spec = CallSpec {
            id,
            trunk,
            route: Route::single(TrunkId(0)),
            host_is_trunk: true,
            identity: None,
            plan: plan(None, Some((1, Duration::from_secs(60)))),
            host: "127.0.0.1:5999".into(),
            from_user: "+15550100".into(),
            from_display: None,
            admitted: None,
            origin: Default::default(),
            inbound: Some(actor::InboundLeg { leg, offer: offer.map(|o| o.as_bytes().to_vec()), admitted }),
            supports_100rel: false,
        };
        (vr, events, commands, tokio::spawn(actor::run(spec, deps.clone(), vt, cr)))
    };
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 40998 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\n";
    let (view, events, mut commands, done) = start(Some(offer));
    let answer = match commands.recv().await {
        Some(LegCommand::Answer { sdp }) => String::from_utf8(sdp).unwrap(),
        other => panic!("expected the answer, got {other:?}"),
    };
    assert!(answer.contains("m=audio 41") && answer.contains(" RTP/AVP 8 96\r\n"), "{answer}");
    view.clone().wait_for(|v| v.state == CallState::Answered).await.unwrap();
    events.send(LegEvent::RemoteBye { cause: None }).await.unwrap();
    done.await.unwrap();
    let v = view.borrow().clone();
    assert_eq!((v.state, v.disposition.map(|d| d.as_str())), (CallState::Ended, Some("answered")));
    assert_eq!(v.hangup_by.map(|h| format!("{h:?}")), Some("Remote".into()));

    // G.722 only: nothing we speak.
    let (view, _events, mut commands, done) = start(Some(&offer.replace("RTP/AVP 8 96", "RTP/AVP 9")));
    assert_eq!(commands.recv().await, Some(LegCommand::Reject { status: 488, reason: None }));
    done.await.unwrap();
    assert_eq!(view.borrow().sip_status, Some(488));
    // No offer at all (we do not offer in the 2xx): refused the same way.
    let (_view, _events, mut commands, done) = start(None);
    assert_eq!(commands.recv().await, Some(LegCommand::Reject { status: 488, reason: None }));
    done.await.unwrap();
}

fn rejected(status: u16, retry_after: Option<Duration>) -> LegEvent {
    LegEvent::Rejected { status, reason: "x".into(), retry_after, redirect_user: None, cause: None }
}

fn group(deps: &CallDeps) -> Route {
    deps.admission.route("g").unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_silent_trunk_fails_over_after_the_provisional_timer() {
    let (deps, mut far) = deps().await;
    let (view, _cmd, done) = spawn_on(&deps, plan(None, None), group(&deps));
    let (first, _events, mut commands) = far.recv().await.unwrap();
    assert_eq!(first.target.port(), 5999);
    let t0 = tokio::time::Instant::now();
    // No 100, no 18x: after 2 virtual seconds the leg is dropped (its
    // command channel closes, which CANCELs) and trunk t2 gets the INVITE.
    let (second, events, _c2) = far.recv().await.unwrap();
    assert_eq!(commands.recv().await, None, "the first leg is dropped");
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_millis(2100), "{waited:?}");
    assert_eq!(second.target.port(), 5998);
    assert_eq!(second.host, "127.0.0.1:5998", "the Request-URI follows the trunk");
    assert_ne!(second.call_id, first.call_id, "a new INVITE gets a new Call-ID");
    events.send(LegEvent::Trying).await.unwrap();
    // t2 is the group's last trunk: no provisional timer there, so a slow
    // 180 is waited for.
    tokio::time::sleep(Duration::from_secs(10)).await;
    events.send(rejected(486, None)).await.unwrap();
    done.await.unwrap();
    let v = view.borrow().clone();
    assert_eq!(v.trunk, "t2");
    assert_eq!(v.disposition.map(|d| d.as_str()), Some("busy"));
    let failover = v.events.iter().find_map(|e| match &e.event {
        Event::Failover { from_trunk, to_trunk, sip_status, .. } => {
            Some((from_trunk.clone(), to_trunk.clone(), *sip_status))
        }
        _ => None,
    });
    assert_eq!(failover, Some(("t".into(), "t2".into(), None)));
}

#[tokio::test(start_paused = true)]
async fn failover_on_503_pauses_the_trunk_but_never_on_486_or_6xx() {
    let (deps, mut far) = deps().await;
    // 503 with Retry-After: the next trunk, and the first is paused.
    let (view, _cmd, done) = spawn_on(&deps, plan(None, None), group(&deps));
    let (_, events, _c) = far.recv().await.unwrap();
    events.send(rejected(503, Some(Duration::from_secs(30)))).await.unwrap();
    let (second, events2, _c2) = far.recv().await.unwrap();
    assert_eq!(second.target.port(), 5998);
    assert!(deps.admission.trunk(TrunkId(0)).paused(), "503 Retry-After pauses the trunk that sent it");
    events2.send(rejected(500, None)).await.unwrap();
    done.await.unwrap();
    // The last trunk's 500 ends the call: nothing left to try.
    assert_eq!(view.borrow().sip_status, Some(500));

    // 408 and any 5xx move on too.
    for status in [408, 500, 502] {
        let (deps, mut far) = self::deps().await;
        let (_view, _cmd, _done) = spawn_on(&deps, plan(None, None), group(&deps));
        let (_, events, _c) = far.recv().await.unwrap();
        events.send(rejected(status, None)).await.unwrap();
        let (second, _e2, _c2) = far.recv().await.unwrap();
        assert_eq!(second.target.port(), 5998, "{status}");
    }

    // 486 and 603 are the callee's answers: no second INVITE.
    for status in [486, 603, 404] {
        let (deps, mut far) = self::deps().await;
        let (view, _cmd, done) = spawn_on(&deps, plan(None, None), group(&deps));
        let (_, events, _c) = far.recv().await.unwrap();
        events.send(LegEvent::Progress { status: 180, reason: "Ringing".into(), sdp: None }).await.unwrap();
        events.send(rejected(status, None)).await.unwrap();
        done.await.unwrap();
        assert!(far.try_recv().is_err(), "{status}: no failover");
        assert_eq!(view.borrow().sip_status, Some(status));
    }
}

/// Symmetric RTP: the far end's SDP names one address, its RTP comes from
/// another (NAT); our RTP follows the packets, once.
#[tokio::test(start_paused = true)]
async fn rtp_latches_onto_where_the_far_end_sends_from() {
    let (deps, mut far) = deps().await;
    let (_view, _cmd, _done) = spawn(&deps, plan(None, Some((1, Duration::from_secs(60)))));
    let (req, events, _commands) = far.recv().await.unwrap();
    let offer = String::from_utf8_lossy(&req.sdp_offer).to_string();
    let actor_port: u16 =
        offer.lines().find_map(|l| l.strip_prefix("m=audio ")).unwrap().split(' ').next().unwrap().parse().unwrap();
    let declared = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let natted = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\n",
        declared.local_addr().unwrap().port()
    );
    events.send(LegEvent::Answered { sdp: Some(sdp.into_bytes()) }).await.unwrap();
    let mut buf = [0u8; 2048];
    // Until the far end speaks, our silence goes where its SDP says.
    declared.recv_from(&mut buf).await.unwrap();
    let mut pkt = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
    pkt.extend([0xffu8; 160]);
    natted.send_to(&pkt, ("127.0.0.1", actor_port)).await.unwrap();
    let (_, from) = tokio::time::timeout(Duration::from_secs(1), natted.recv_from(&mut buf))
        .await
        .expect("RTP reaches the address the far end sends from")
        .unwrap();
    assert_eq!(from.port(), actor_port, "our RTP now reaches the NATed source");
    // And no longer the declared address (drain what was already sent).
    tokio::time::sleep(Duration::from_millis(100)).await;
    while declared.try_recv_from(&mut buf).is_ok() {}
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(declared.try_recv_from(&mut buf).is_err(), "nothing more to the SDP address");
    // A stranger later in the call does not take the stream.
    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    stranger.send_to(&pkt, ("127.0.0.1", actor_port)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(stranger.try_recv_from(&mut buf).is_err(), "latching happens once");
    assert!(natted.try_recv_from(&mut buf).is_ok(), "the latched address still gets RTP");
}
