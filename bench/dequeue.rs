//! How fast the campaign queue hands out records, through the store alone
//! (no HTTP, no SIP): a temporary SQLite database opened as dialerd opens
//! it (WAL, synchronous = NORMAL, 8 MiB page cache, 4 connections), one
//! campaign, N loaded records, then
//!
//! - **fetch**: the actor's refill alone, `promote_due` + `fetch_ready(100)`
//!   and parsing each record's JSON, repeated N/100 times on the untouched
//!   queue (the head does not move: this is the cost of the read path);
//! - **cycle**: what the campaign actor does per record until the queue is
//!   empty: a refill per 100 records, then per record `begin_attempt` (a
//!   new call id) and `finish_attempt(... Done { final_state: "answered" })`
//!   — two write transactions per record, one at a time like the actor.
//!
//! With `--checks`, the cycle also does the per-record reads the actor makes
//! before dialling (`dnc_find` and `attempts_since`), on a second campaign.
//!
//!   cargo run --release --example campaign_dequeue -- 100000 [--checks] [--json]

use dialerd::campaign::record::NewRecord;
use dialerd::ids::{CallId, ClientId};
use dialerd::store::{
    AttemptStart, CallEnd, NewCampaignRow, RecordClass, RecordInsert, RecordNext, SqliteStore, Store,
};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const REFILL: u32 = 100;
const INSERT_BATCH: usize = 1000;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

struct Latencies(Vec<f64>);

impl Latencies {
    fn summary(mut self) -> (f64, f64, f64) {
        self.0.sort_by(|a, b| a.total_cmp(b));
        (pct(&self.0, 50.0), pct(&self.0, 99.0), self.0.last().copied().unwrap_or(0.0))
    }
}

fn record_data(i: u64) -> (String, String) {
    let phone = format!("+4420{:08}", i);
    let mut fields = BTreeMap::new();
    fields.insert("balance".to_string(), format!("{}.{:02}", (i * 7919) % 100_000, i % 100));
    let r = NewRecord {
        phone1: phone.clone(),
        phone2: Vec::new(),
        account: Some(format!("A{i:07}")),
        first_name: None,
        last_name: Some(format!("Name{:05}", (i * 104_729) % 50_000)),
        email: None,
        time_zone: None,
        fields,
    };
    (phone, serde_json::to_string(&r).unwrap())
}

async fn campaign(store: &SqliteStore, client: &ClientId, name: &str) -> dialerd::ids::CampaignId {
    let now = now_ms();
    store
        .create_campaign(&NewCampaignRow {
            client: client.clone(),
            service: "bench".into(),
            name: name.into(),
            kind: "OUTBOUND".into(),
            state: "BUILT".into(),
            allow_append: true,
            settings: "{}".into(),
            created_at: now,
            day: "2000-01-01".into(),
        })
        .await
        .expect("create the campaign")
}

/// Inserts n records (batches of 1,000, one transaction each); seconds.
async fn load(store: &SqliteStore, id: dialerd::ids::CampaignId, n: u64) -> f64 {
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let end = (i + INSERT_BATCH as u64).min(n);
        let rows: Vec<RecordInsert> = (i..end)
            .map(|k| {
                let (phone1, data) = record_data(k);
                RecordInsert { key_prefix: Vec::new(), phone1, data }
            })
            .collect();
        store.insert_records(id, RecordClass::Loaded, &rows, rows.len() as i64, now_ms()).await.expect("insert");
        i = end;
    }
    t.elapsed().as_secs_f64()
}

struct Cycle {
    records: u64,
    secs: f64,
    refill_us: (f64, f64, f64),
    record_us: (f64, f64, f64),
}

async fn cycle(store: &SqliteStore, client: &ClientId, id: dialerd::ids::CampaignId, checks: bool) -> Cycle {
    let mut refills = Latencies(Vec::new());
    let mut per_record = Latencies(Vec::new());
    let mut done = 0u64;
    let t = Instant::now();
    loop {
        let r0 = Instant::now();
        store.promote_due(id, now_ms()).await.expect("promote_due");
        let rows = store.fetch_ready(id, REFILL).await.expect("fetch_ready");
        let parsed: Vec<(dialerd::ids::RecordId, i64, NewRecord)> = rows
            .into_iter()
            .map(|r| (r.id, r.phone_idx, serde_json::from_str(&r.data).expect("record JSON")))
            .collect();
        refills.0.push(r0.elapsed().as_secs_f64() * 1e6);
        if parsed.is_empty() {
            break;
        }
        for (record, phone_idx, rec) in parsed {
            let p0 = Instant::now();
            let started = now_ms();
            if checks {
                let hit = store.dnc_find(client, &rec.phone1).await.expect("dnc_find");
                assert!(hit.is_none());
                let _ = store.attempts_since(client, &rec.phone1, started - 86_400_000).await.expect("attempts_since");
            }
            let call = CallId::new();
            store
                .begin_attempt(&AttemptStart {
                    call,
                    client: client.clone(),
                    campaign: id,
                    record,
                    phone_idx,
                    phone: rec.phone1.clone(),
                    trunk: "local".into(),
                    started_at: started,
                    caller_id: None,
                })
                .await
                .expect("begin_attempt");
            let end = CallEnd {
                ended_at: now_ms(),
                disposition: "answered".into(),
                sip_status: Some(200),
                cause: Some("normal".into()),
                outcome: None,
                digits: String::new(),
                duration_ms: Some(0),
                ..Default::default()
            };
            store
                .finish_attempt(call, &end, record, &RecordNext::Done { final_state: "answered".into() })
                .await
                .expect("finish_attempt");
            per_record.0.push(p0.elapsed().as_secs_f64() * 1e6);
            done += 1;
        }
    }
    Cycle {
        records: done,
        secs: t.elapsed().as_secs_f64(),
        refill_us: refills.summary(),
        record_us: per_record.summary(),
    }
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mut n: u64 = 100_000;
    let mut checks = false;
    let mut json = false;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--checks" => checks = true,
            "--json" => json = true,
            s => n = s.parse().unwrap_or_else(|_| panic!("usage: campaign_dequeue [N] [--checks] [--json]; got {s}")),
        }
    }
    assert!(n > 0, "N must be positive");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("dialerd.db");
    let store = SqliteStore::open(&db).await.expect("open the store");
    let client = ClientId("bench".into());

    let id = campaign(&store, &client, "dequeue").await;
    let insert_s = load(&store, id, n).await;

    // Fetch alone: the refill on the full, untouched queue.
    let fetches = n.div_ceil(REFILL as u64);
    let mut lat = Latencies(Vec::with_capacity(fetches as usize));
    let t = Instant::now();
    let mut fetched = 0u64;
    for _ in 0..fetches {
        let f0 = Instant::now();
        store.promote_due(id, now_ms()).await.expect("promote_due");
        let rows = store.fetch_ready(id, REFILL).await.expect("fetch_ready");
        for r in &rows {
            let _: NewRecord = serde_json::from_str(&r.data).expect("record JSON");
        }
        fetched += rows.len() as u64;
        lat.0.push(f0.elapsed().as_secs_f64() * 1e6);
    }
    let fetch_s = t.elapsed().as_secs_f64();
    let fetch_us = lat.summary();

    let c = cycle(&store, &client, id, false).await;
    let counts = store.counts(id).await.expect("counts");
    assert_eq!(counts.done as u64, n, "every record done after the cycle");
    assert_eq!(counts.ready + counts.dialing + counts.waiting, 0);

    let checked = if checks {
        let id2 = campaign(&store, &client, "dequeue-checks").await;
        load(&store, id2, n).await;
        Some(cycle(&store, &client, id2, true).await)
    } else {
        None
    };

    let db_bytes = file_size(&db) + file_size(&db.with_extension("db-wal"));
    store.close().await;

    let rate = |k: u64, s: f64| k as f64 / s;
    if json {
        let mut o = serde_json::json!({
            "records": n,
            "insert_s": insert_s,
            "insert_rows_per_s": rate(n, insert_s),
            "fetch_s": fetch_s,
            "fetch_records_per_s": rate(fetched, fetch_s),
            "refill_us_p50": fetch_us.0, "refill_us_p99": fetch_us.1, "refill_us_max": fetch_us.2,
            "cycle_s": c.secs,
            "cycle_records_per_s": rate(c.records, c.secs),
            "cycle_record_us_p50": c.record_us.0, "cycle_record_us_p99": c.record_us.1,
            "cycle_record_us_max": c.record_us.2,
            "cycle_refill_us_p50": c.refill_us.0, "cycle_refill_us_p99": c.refill_us.1,
            "db_bytes": db_bytes,
        });
        if let Some(k) = &checked {
            o["checks_s"] = k.secs.into();
            o["checks_records_per_s"] = rate(k.records, k.secs).into();
            o["checks_record_us_p50"] = k.record_us.0.into();
            o["checks_record_us_p99"] = k.record_us.1.into();
        }
        println!("{o}");
        return;
    }
    println!("campaign_dequeue: {n} records, SQLite as dialerd opens it (WAL, synchronous=NORMAL)");
    println!("  insert (batches of {INSERT_BATCH})   {:>10.0} rows/s   ({insert_s:.2} s)", rate(n, insert_s));
    println!(
        "  fetch alone (refill of {REFILL})  {:>10.0} records/s ({fetch_s:.2} s; per refill p50 {:.0} us, p99 {:.0} us, max {:.0} us)",
        rate(fetched, fetch_s),
        fetch_us.0,
        fetch_us.1,
        fetch_us.2
    );
    println!(
        "  full cycle                  {:>10.0} records/s ({:.2} s; per record p50 {:.0} us, p99 {:.0} us, max {:.0} us)",
        rate(c.records, c.secs),
        c.secs,
        c.record_us.0,
        c.record_us.1,
        c.record_us.2
    );
    if let Some(k) = checked {
        println!(
            "  cycle + DNC/caps reads      {:>10.0} records/s ({:.2} s; per record p50 {:.0} us, p99 {:.0} us)",
            rate(k.records, k.secs),
            k.secs,
            k.record_us.0,
            k.record_us.1
        );
    }
    println!("  database after the run      {:.1} MB", db_bytes as f64 / 1e6);
}
