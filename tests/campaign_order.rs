//! The dialling order, proved against the real SQLite store: over random
//! builds, appends, outcomes and the passing of time, the record the store
//! hands out next is always the one a reference model picks — appended
//! records first in first out, then loaded records by the service sort
//! (`sortkey::compare`), each only once due.

use dialerd::campaign::record::NewRecord;
use dialerd::campaign::sortkey::{self, SortSpec};
use dialerd::ids::{CallId, ClientId};
use dialerd::store::*;
use proptest::prelude::*;
use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Op {
    /// Load records (balance, last name) in the service sort.
    Build(Vec<(u8, u8)>),
    Append(u8),
    /// Dial the head of the queue; busy → due again after `delay` ticks.
    Dial {
        busy: bool,
        delay: u8,
    },
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => prop::collection::vec((0u8..5, 0u8..3), 1..6).prop_map(Op::Build),
        2 => (1u8..4).prop_map(Op::Append),
        5 => (any::<bool>(), 0u8..3).prop_map(|(busy, delay)| Op::Dial { busy, delay }),
        1 => Just(Op::Tick),
    ]
}

struct Model {
    rec: NewRecord,
    appended: bool,
    seq: u64,
    due: i64,
    done: bool,
}

fn record(n: usize, balance: Option<u8>, name: Option<u8>) -> NewRecord {
    let mut v = serde_json::json!({ "phone1": format!("+1555{n:06}") });
    if let Some(b) = balance {
        v["balance"] = b.into();
    }
    if let Some(l) = name {
        v["last_name"] = ["adams", "baker", "cole"][l as usize].into();
    }
    NewRecord::from_json(&v).unwrap()
}

fn expected<'a>(models: &'a [Model], spec: &SortSpec, now: i64) -> Option<&'a Model> {
    models.iter().filter(|m| !m.done && m.due <= now).min_by(|a, b| match (a.appended, b.appended) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => a.seq.cmp(&b.seq),
        (false, false) => sortkey::compare(spec, &a.rec, a.seq, &b.rec, b.seq),
    })
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        let client = ClientId("c".into());
        let spec: SortSpec = "balance desc, last_name asc".parse().unwrap();
        let id = store
            .create_campaign(&NewCampaignRow {
                client: client.clone(),
                service: "s".into(),
                name: "n".into(),
                kind: "OUTBOUND".into(),
                state: "PLAY".into(),
                allow_append: true,
                settings: "{}".into(),
                created_at: 0,
                day: "1970-01-01".into(),
            })
            .await
            .unwrap();
        let mut models: Vec<Model> = Vec::new();
        let mut seq = 1u64;
        let mut now = 0i64;
        for op in ops {
            match op {
                Op::Build(rows) => {
                    let mut inserts = Vec::new();
                    for (b, l) in rows {
                        // Some records lack a field: they sort last.
                        let r = record(models.len(), (b != 4).then_some(b), (l != 2).then_some(l));
                        let mut key = sortkey::key(&spec, &r, 0);
                        key.truncate(key.len() - 8);
                        inserts.push(RecordInsert {
                            key_prefix: key,
                            phone1: r.phone1.clone(),
                            data: serde_json::to_string(&r).unwrap(),
                        });
                        models.push(Model { rec: r, appended: false, seq, due: now, done: false });
                        seq += 1;
                    }
                    store.insert_records(id, RecordClass::Loaded, &inserts, 0, now).await.unwrap();
                }
                Op::Append(k) => {
                    let mut inserts = Vec::new();
                    for _ in 0..k {
                        let r = record(models.len(), None, None);
                        inserts.push(RecordInsert {
                            key_prefix: Vec::new(),
                            phone1: r.phone1.clone(),
                            data: serde_json::to_string(&r).unwrap(),
                        });
                        models.push(Model { rec: r, appended: true, seq, due: now, done: false });
                        seq += 1;
                    }
                    store.insert_records(id, RecordClass::Appended, &inserts, 0, now).await.unwrap();
                }
                Op::Tick => now += 1000,
                Op::Dial { busy, delay } => {
                    store.promote_due(id, now).await.unwrap();
                    let head = store.fetch_ready(id, 1).await.unwrap();
                    let want = expected(&models, &spec, now);
                    let got: Option<NewRecord> = head.first().map(|q| serde_json::from_str(&q.data).unwrap());
                    prop_assert_eq!(got.as_ref().map(|r| &r.phone1), want.map(|m| &m.rec.phone1), "at {}", now);
                    let Some(q) = head.into_iter().next() else { continue };
                    let call = CallId::new();
                    let start = AttemptStart {
                        call,
                        client: client.clone(),
                        campaign: id,
                        record: q.id,
                        phone_idx: 0,
                        phone: got.as_ref().unwrap().phone1.clone(),
                        trunk: "t".into(),
                        started_at: now,
                        caller_id: None,
                    };
                    store.begin_attempt(&start).await.unwrap();
                    let m = models.iter_mut().find(|m| Some(&m.rec.phone1) == got.as_ref().map(|r| &r.phone1)).unwrap();
                    let next = if busy {
                        m.due = now + i64::from(delay) * 1000;
                        RecordNext::Wait { due_at: m.due, phone_idx: 0, attempts_on_phone: 1 }
                    } else {
                        m.done = true;
                        RecordNext::Done { final_state: "answered".into() }
                    };
                    let d = if busy { "busy" } else { "answered" };
                    let end = CallEnd { ended_at: now, disposition: d.into(), ..Default::default() };
                    store.finish_attempt(call, &end, q.id, &next).await.unwrap();
                }
            }
        }
        let report = dialerd::campaign::report::write(std::sync::Arc::new(store.clone()), id, "day", dir.path()).await;
        let text = std::fs::read_to_string(report.unwrap()).unwrap();
        prop_assert_eq!(text.lines().count(), models.len() + 1, "the report holds every record");
        let c = store.counts(id).await.unwrap();
        prop_assert_eq!(c.ready + c.waiting + c.dialing + c.done, models.len() as i64, "no record lost");
        prop_assert_eq!(c.done, models.iter().filter(|m| m.done).count() as i64);
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]
    #[test]
    fn the_store_dials_appended_records_first_fifo_then_the_service_sort(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
