//! Prometheus metrics: names, descriptions, buckets and the recording
//! helpers every module uses, so the catalogue lives in one file.

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::LazyLock;
use std::time::Duration;

pub const CALLS_STARTED: &str = "dialerd_calls_started_total";
pub const CALLS_ENDED: &str = "dialerd_calls_ended_total";
pub const CALLS_ACTIVE: &str = "dialerd_calls_active";
pub const CALLS_REFUSED: &str = "dialerd_calls_refused_total";
pub const CALL_SETUP: &str = "dialerd_call_setup_seconds";
pub const CALL_DURATION: &str = "dialerd_call_duration_seconds";
pub const SIP_MESSAGES: &str = "dialerd_sip_messages_total";
pub const SIP_MALFORMED: &str = "dialerd_sip_malformed_total";
pub const SIP_REJECTED: &str = "dialerd_sip_requests_rejected_total";
pub const RTP_PACKETS: &str = "dialerd_rtp_packets_total";
pub const INVITES_IN_FLIGHT: &str = "dialerd_invites_in_flight";
pub const TRUNK_PAUSED: &str = "dialerd_trunk_paused";
pub const TRUNK_UP: &str = "dialerd_trunk_up";
pub const TRUNK_FAILOVERS: &str = "dialerd_trunk_failovers_total";
pub const CAMPAIGN_RECORDS: &str = "dialerd_campaign_records";
pub const CAMPAIGN_QUEUE: &str = "dialerd_campaign_queue_depth";
pub const CAMPAIGN_LOADED: &str = "dialerd_campaign_records_loaded_total";
pub const CAMPAIGN_ATTEMPTS: &str = "dialerd_campaign_attempts_total";
pub const CAMPAIGN_ENDED: &str = "dialerd_campaign_attempts_ended_total";
pub const CAMPAIGN_SKIPPED: &str = "dialerd_campaign_records_skipped_total";
pub const CALL_LOG_DROPPED: &str = "dialerd_call_log_dropped_total";
pub const EVENTS: &str = "dialerd_events_total";
pub const EVENTS_LAGGED: &str = "dialerd_events_lagged_total";
pub const WEBHOOK_DELIVERIES: &str = "dialerd_webhook_deliveries_total";
pub const WEBHOOK_SEND: &str = "dialerd_webhook_send_seconds";
pub const WEBHOOK_DELAY: &str = "dialerd_webhook_delivery_delay_seconds";
pub const OUTBOX_DEPTH: &str = "dialerd_outbox_pending";
pub const SCREEN_POPS: &str = "dialerd_screen_pops_total";
pub const SCREEN_POP_SECONDS: &str = "dialerd_screen_pop_seconds";
pub const AGENT_OFFERS: &str = "dialerd_agent_offers_total";
pub const AGENT_TALK: &str = "dialerd_agent_talk_seconds_total";
pub const AGENTS: &str = "dialerd_agents";
pub const LEAD_REQUESTS: &str = "dialerd_lead_api_requests_total";
pub const LEAD_EVENTS: &str = "dialerd_leads_total";
pub const CLICK_TO_CALL: &str = "dialerd_click_to_call_total";
pub const BRIDGE_RELAY: &str = "dialerd_bridge_relay_seconds";
pub const CLICK_REFUSED: &str = "dialerd_click_to_call_refused_total";
pub const CLICK_SCHEDULED: &str = "dialerd_click_to_call_scheduled";
pub const LEAD_MESSAGES: &str = "dialerd_lead_messages_total";
pub const HANGUP_CAUSE: &str = "dialerd_hangup_cause_total";

/// Call set-up spans loopback (sub-millisecond) to carriers (seconds).
const SETUP_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// A datagram's way through a bridge: tens of microseconds when idle.
const RELAY_BUCKETS: [f64; 11] =
    [0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1];

/// Answered calls last seconds (IVR, voicemail drop) to an hour.
const DURATION_BUCKETS: [f64; 12] = [1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0];

/// Webhook delays span milliseconds (receiver up) to hours (retries).
const DELAY_BUCKETS: [f64; 14] =
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0, 3600.0, 86_400.0];

/// Installs the global recorder; call once, from the daemon.
pub fn install() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(CALL_SETUP.into()), &SETUP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(WEBHOOK_SEND.into()), &SETUP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(CALL_DURATION.into()), &DURATION_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(SCREEN_POP_SECONDS.into()), &SETUP_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(WEBHOOK_DELAY.into()), &DELAY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(BRIDGE_RELAY.into()), &RELAY_BUCKETS)?
        .install_recorder()?;
    describe();
    // Unlabelled series exist from the start, so dashboards see zeros.
    for c in [&SIP_MALFORMED_C, &RTP_IN, &RTP_OUT] {
        LazyLock::force(c);
    }
    LazyLock::force(&ACTIVE);
    LazyLock::force(&IN_FLIGHT);
    Ok(handle)
}

fn describe() {
    describe_counter!(CALLS_STARTED, Unit::Count, "Calls whose first INVITE was sent, by trunk.");
    describe_counter!(CALLS_ENDED, Unit::Count, "Calls that ended, by trunk and disposition.");
    describe_gauge!(
        CALLS_ACTIVE,
        Unit::Count,
        "Calls that exist and have not ended (queued, dialling, ringing or answered)."
    );
    describe_counter!(
        HANGUP_CAUSE,
        Unit::Count,
        "Ended calls by Q.850 cause (RFC 3326 Reason): the far end's (BYE, final error response), else our BYE's."
    );
    describe_counter!(CALLS_REFUSED, Unit::Count, "POST /v1/calls refused by admission control, by reason.");
    describe_histogram!(CALL_SETUP, Unit::Seconds, "Time from sending an INVITE to its first 18x or 2xx response.");
    describe_histogram!(
        CALL_DURATION,
        Unit::Seconds,
        "Answered calls from answer to hang-up, by trunk (ACD = sum / count)."
    );
    describe_counter!(
        SIP_MESSAGES,
        Unit::Count,
        "SIP datagrams sent and received (retransmissions included), by direction and kind (method or status code)."
    );
    describe_counter!(SIP_MALFORMED, Unit::Count, "Received datagrams that are not parseable SIP; dropped.");
    describe_counter!(
        SIP_REJECTED,
        Unit::Count,
        "Incoming SIP requests answered with an error by the router, by reason."
    );
    describe_counter!(RTP_PACKETS, Unit::Count, "RTP packets sent and received, by direction.");
    describe_gauge!(INVITES_IN_FLIGHT, Unit::Count, "INVITE transactions awaiting a final response.");
    describe_gauge!(TRUNK_PAUSED, Unit::Count, "1 while a trunk is paused by a 503 Retry-After, by trunk.");
    describe_gauge!(
        TRUNK_UP,
        Unit::Count,
        "1 while a trunk answers its OPTIONS keepalive, 0 once it is down (trunks with a keepalive)."
    );
    describe_counter!(
        TRUNK_FAILOVERS,
        Unit::Count,
        "Calls moved to their group's next trunk, by the trunk that failed (408, 5xx, no provisional, transport)."
    );
    // Per-campaign series are gauges of live campaigns only (refreshed every
    // 10 s by the campaign's actor); counters are summed over campaigns so
    // daily campaigns do not grow the label set without bound.
    describe_gauge!(
        CAMPAIGN_RECORDS,
        Unit::Count,
        "Records of a live campaign by state (ready, waiting, dialing, done)."
    );
    describe_gauge!(CAMPAIGN_QUEUE, Unit::Count, "Records of a live campaign that could be dialled now (ready).");
    describe_counter!(CAMPAIGN_LOADED, Unit::Count, "Records added to campaigns, by class (appended or loaded).");
    describe_counter!(CAMPAIGN_ATTEMPTS, Unit::Count, "Campaign calls placed, by the record's class.");
    describe_counter!(CAMPAIGN_ENDED, Unit::Count, "Campaign calls ended, by disposition (interrupted included).");
    describe_counter!(
        CAMPAIGN_SKIPPED,
        Unit::Count,
        "Records not dialled at their turn, by reason (dnc, no_window, per_day_cap, ...)."
    );
    describe_counter!(CALL_LOG_DROPPED, Unit::Count, "API call-log rows dropped because the writer fell behind.");
    describe_counter!(EVENTS, Unit::Count, "Events published on the bus, by type.");
    describe_counter!(
        EVENTS_LAGGED,
        Unit::Count,
        "Events a bus consumer missed because it fell more than [events] bus_capacity behind."
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        Unit::Count,
        "Webhook delivery attempts, by outcome (delivered, retry, dead)."
    );
    describe_histogram!(WEBHOOK_SEND, Unit::Seconds, "Time of one webhook POST, request to response.");
    describe_histogram!(
        WEBHOOK_DELAY,
        Unit::Seconds,
        "Time from an event entering the outbox to its delivery (or giving up)."
    );
    describe_gauge!(OUTBOX_DEPTH, Unit::Count, "Outbox rows waiting for delivery (all webhooks).");
    describe_counter!(
        AGENT_OFFERS,
        Unit::Count,
        "Calls offered to agents (client/id), by result: offered, answered, missed."
    );
    describe_counter!(AGENT_TALK, Unit::Seconds, "Agents' talk time on answered offers (client/id).");
    describe_gauge!(AGENTS, Unit::Count, "Agents by status: available, busy, paused, offline.");
    describe_counter!(
        LEAD_REQUESTS,
        Unit::Count,
        "Lead API requests (POST /api/), by action and status (ok, fail, error)."
    );
    describe_counter!(CLICK_TO_CALL, Unit::Count, "Click-to-call requests reaching each status.");
    describe_gauge!(
        CLICK_SCHEDULED,
        Unit::Count,
        "Scheduled click-to-call requests (callbacks) waiting for their time."
    );
    describe_counter!(
        CLICK_REFUSED,
        Unit::Count,
        "Click-to-call requests refused, by reason (signature, replay, rate, dnc, closed...)."
    );
    describe_counter!(LEAD_EVENTS, Unit::Count, "Leads created, qualified and rejected (by event type).");
    describe_counter!(LEAD_MESSAGES, Unit::Count, "Lead messages by channel and result (sent, retry, failed).");
    describe_counter!(
        SCREEN_POPS,
        Unit::Count,
        "Screen pops sent to agents' CRMs, by outcome (ok, http_status, bad_json, not_ok, timeout, transport)."
    );
    describe_histogram!(
        BRIDGE_RELAY,
        Unit::Seconds,
        "Time a bridged datagram spends in dialerd: read from one leg's socket to sent on the other's."
    );
    describe_histogram!(SCREEN_POP_SECONDS, Unit::Seconds, "Time from a screen pop's request to the CRM's reply.");
}

pub fn event_published(kind: &'static str) {
    counter!(EVENTS, "type" => kind).increment(1);
}

pub fn events_lagged(n: u64) {
    counter!(EVENTS_LAGGED).increment(n);
}

pub fn webhook_delivery(outcome: &'static str, send: Duration, age_ms: i64) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
    histogram!(WEBHOOK_SEND).record(send.as_secs_f64());
    if outcome != "retry" {
        histogram!(WEBHOOK_DELAY).record(age_ms.max(0) as f64 / 1000.0);
    }
}

pub fn outbox_depth(n: i64) {
    gauge!(OUTBOX_DEPTH).set(n as f64);
}

pub fn campaign_records(campaign: i64, counts: &[(&'static str, i64)]) {
    for (state, n) in counts {
        gauge!(CAMPAIGN_RECORDS, "campaign" => campaign.to_string(), "state" => *state).set(*n as f64);
        if *state == "ready" {
            gauge!(CAMPAIGN_QUEUE, "campaign" => campaign.to_string()).set(*n as f64);
        }
    }
}

pub fn campaign_loaded(appended: bool, n: u64) {
    counter!(CAMPAIGN_LOADED, "class" => if appended { "appended" } else { "loaded" }).increment(n);
}

pub fn campaign_attempt(appended: bool) {
    counter!(CAMPAIGN_ATTEMPTS, "class" => if appended { "appended" } else { "loaded" }).increment(1);
}

pub fn campaign_attempt_ended(disposition: &str) {
    counter!(CAMPAIGN_ENDED, "disposition" => disposition.to_string()).increment(1);
}

pub fn campaign_skipped(reason: &'static str) {
    counter!(CAMPAIGN_SKIPPED, "reason" => reason).increment(1);
}

pub fn agent_offer(agent: &str, result: &'static str) {
    counter!(AGENT_OFFERS, "agent" => agent.to_string(), "result" => result).increment(1);
}

pub fn agent_talk(agent: &str, seconds: f64) {
    counter!(AGENT_TALK, "agent" => agent.to_string()).increment(seconds.round() as u64);
}

pub fn agents_by_status(counts: &[(&'static str, usize)]) {
    for (status, n) in counts {
        gauge!(AGENTS, "status" => *status).set(*n as f64);
    }
}

pub fn lead_request(action: &'static str, status: &'static str) {
    counter!(LEAD_REQUESTS, "action" => action, "status" => status).increment(1);
}

pub fn click_to_call(status: &'static str) {
    counter!(CLICK_TO_CALL, "status" => status).increment(1);
}

pub fn click_scheduled(waiting: usize) {
    gauge!(CLICK_SCHEDULED).set(waiting as f64);
}

pub fn click_refused(reason: &'static str) {
    counter!(CLICK_REFUSED, "reason" => reason).increment(1);
}

pub fn lead_event(kind: &'static str) {
    counter!(LEAD_EVENTS, "event" => kind).increment(1);
}

pub fn lead_message(channel: &'static str, result: &'static str) {
    counter!(LEAD_MESSAGES, "channel" => channel, "result" => result).increment(1);
}

pub fn call_log_dropped(n: u64) {
    counter!(CALL_LOG_DROPPED).increment(n);
}

static SIP_MALFORMED_C: LazyLock<Counter> = LazyLock::new(|| counter!(SIP_MALFORMED));
static RTP_IN: LazyLock<Counter> = LazyLock::new(|| counter!(RTP_PACKETS, "direction" => "in"));
static RTP_OUT: LazyLock<Counter> = LazyLock::new(|| counter!(RTP_PACKETS, "direction" => "out"));
static RELAY: LazyLock<metrics::Histogram> = LazyLock::new(|| histogram!(BRIDGE_RELAY));
static ACTIVE: LazyLock<Gauge> = LazyLock::new(|| gauge!(CALLS_ACTIVE));
static IN_FLIGHT: LazyLock<Gauge> = LazyLock::new(|| gauge!(INVITES_IN_FLIGHT));

/// One datagram through a bridge; a static handle, as it runs per packet.
pub fn bridge_relay(took: std::time::Duration) {
    RELAY.record(took.as_secs_f64());
}

pub fn sip_message(direction: &'static str, kind: &str) {
    counter!(SIP_MESSAGES, "direction" => direction, "kind" => kind.to_string()).increment(1);
}

pub fn sip_malformed() {
    SIP_MALFORMED_C.increment(1);
}

pub fn sip_rejected(reason: &'static str) {
    counter!(SIP_REJECTED, "reason" => reason).increment(1);
}

pub fn rtp_packets(rx: u64, tx: u64) {
    if rx > 0 {
        RTP_IN.increment(rx);
    }
    if tx > 0 {
        RTP_OUT.increment(tx);
    }
}

pub fn call_created() {
    ACTIVE.increment(1.0);
}

pub fn call_started(trunk: &str) {
    counter!(CALLS_STARTED, "trunk" => trunk.to_string()).increment(1);
}

pub fn call_ended(trunk: &str, disposition: &'static str, talked: Option<Duration>) {
    ACTIVE.decrement(1.0);
    counter!(CALLS_ENDED, "trunk" => trunk.to_string(), "disposition" => disposition).increment(1);
    if let Some(d) = talked {
        histogram!(CALL_DURATION, "trunk" => trunk.to_string()).record(d.as_secs_f64());
    }
}

pub fn hangup_cause(cause: u16) {
    counter!(HANGUP_CAUSE, "cause" => cause.to_string()).increment(1);
}

pub fn call_refused(reason: &'static str) {
    counter!(CALLS_REFUSED, "reason" => reason).increment(1);
}

pub fn call_setup(d: Duration) {
    histogram!(CALL_SETUP).record(d.as_secs_f64());
}

pub fn invites_in_flight(delta: f64) {
    IN_FLIGHT.increment(delta);
}

pub fn trunk_up(trunk: &str, up: bool) {
    gauge!(TRUNK_UP, "trunk" => trunk.to_string()).set(if up { 1.0 } else { 0.0 });
}

pub fn trunk_failover(from: &str) {
    counter!(TRUNK_FAILOVERS, "trunk" => from.to_string()).increment(1);
}

pub fn trunk_paused(trunk: &str, paused: bool) {
    gauge!(TRUNK_PAUSED, "trunk" => trunk.to_string()).set(if paused { 1.0 } else { 0.0 });
}

pub fn screen_pop(outcome: &'static str, took: Duration) {
    counter!(SCREEN_POPS, "outcome" => outcome).increment(1);
    histogram!(SCREEN_POP_SECONDS).record(took.as_secs_f64());
}
