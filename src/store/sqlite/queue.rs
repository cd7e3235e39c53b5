//! Campaigns, their record queue and the call log in SQLite.
//!
//! The dialling order is one index walk: `records_queue` is
//! `(campaign_id, state, class, order_key)`, so the head of the ready
//! queue is read in order without sorting, however long the campaign.

use crate::ids::{CallId, CampaignId, ClientId, RecordId};
use crate::store::*;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

const CAMPAIGN_COLS: &str = "id, client_id, service_id, name, type, state, allow_append, settings, created_at, day,
    state_changed_at, uploaded, loaded, appended";

fn campaign_row(r: SqliteRow) -> CampaignRow {
    CampaignRow {
        id: CampaignId(r.get(0)),
        client: ClientId(r.get(1)),
        service: r.get(2),
        name: r.get(3),
        kind: r.get(4),
        state: r.get(5),
        allow_append: r.get(6),
        settings: r.get(7),
        created_at: r.get(8),
        day: r.get(9),
        state_changed_at: r.get(10),
        uploaded: r.get(11),
        loaded: r.get(12),
        appended: r.get(13),
    }
}

pub async fn create_campaign(pool: &SqlitePool, c: &NewCampaignRow) -> StoreResult<CampaignId> {
    super::people::ensure_client(pool, &c.client, c.created_at).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO campaigns (client_id, service_id, name, type, state, allow_append, settings, created_at, day,
         state_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&c.client.0)
    .bind(&c.service)
    .bind(&c.name)
    .bind(&c.kind)
    .bind(&c.state)
    .bind(c.allow_append)
    .bind(&c.settings)
    .bind(c.created_at)
    .bind(&c.day)
    .bind(c.created_at)
    .fetch_one(pool)
    .await?;
    Ok(CampaignId(id))
}

pub async fn campaign(pool: &SqlitePool, id: CampaignId) -> StoreResult<Option<CampaignRow>> {
    let row = sqlx::query(&format!("SELECT {CAMPAIGN_COLS} FROM campaigns WHERE id = ?"))
        .bind(id.0)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(campaign_row))
}

pub async fn find_campaigns(pool: &SqlitePool, client: &ClientId, f: &CampaignFilter) -> StoreResult<Vec<CampaignRow>> {
    let mut q = sqlx::QueryBuilder::<Sqlite>::new(format!("SELECT {CAMPAIGN_COLS} FROM campaigns WHERE client_id = "));
    q.push_bind(&client.0);
    if let Some(s) = &f.service {
        q.push(" AND service_id = ").push_bind(s);
    }
    for (col, values) in [("state", &f.states), ("type", &f.kinds)] {
        if !values.is_empty() {
            q.push(format!(" AND {col} IN ("));
            let mut sep = q.separated(", ");
            for v in values {
                sep.push_bind(v);
            }
            q.push(")");
        }
    }
    if let Some(from) = f.from_ms {
        q.push(" AND created_at >= ").push_bind(from);
    }
    if let Some(to) = f.to_ms {
        q.push(" AND created_at <= ").push_bind(to);
    }
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(f.limit);
    Ok(q.build().persistent(false).fetch_all(pool).await?.into_iter().map(campaign_row).collect())
}

pub async fn live_campaigns(pool: &SqlitePool) -> StoreResult<Vec<CampaignRow>> {
    let rows = sqlx::query(&format!("SELECT {CAMPAIGN_COLS} FROM campaigns WHERE state <> 'REPORTED' ORDER BY id"))
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(campaign_row).collect())
}

pub async fn insert_records(
    pool: &SqlitePool,
    id: CampaignId,
    class: RecordClass,
    rows: &[RecordInsert],
    uploaded: i64,
    now: i64,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let n = rows.len() as i64;
    let first: i64 = sqlx::query_scalar(
        "UPDATE campaigns SET next_seq = next_seq + ?1, uploaded = uploaded + ?2, loaded = loaded + ?1,
         appended = appended + ?3 WHERE id = ?4 RETURNING next_seq - ?1",
    )
    .bind(n)
    .bind(uploaded)
    .bind(if class == RecordClass::Appended { n } else { 0 })
    .bind(id.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("campaign {id}")))?;
    // Sequence numbers follow the order given (ties keep upload order);
    // rows are then written in key order, so a sorted build walks the
    // queue index forwards instead of touching it at random.
    let mut keyed: Vec<(Vec<u8>, &RecordInsert)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut key = r.key_prefix.clone();
            key.extend_from_slice(&((first + i as i64) as u64).to_be_bytes());
            (key, r)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // 8 values per row; SQLite allows 32,766 bound parameters. Statements
    // of varying row counts are not cached (each would be a new entry).
    for chunk in keyed.chunks(1000) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO records (campaign_id, class, order_key, state, due_at, phone1, data, updated_at) ",
        );
        q.push_values(chunk, |mut b, (key, r)| {
            b.push_bind(id.0)
                .push_bind(class as i64)
                .push_bind(key.clone())
                .push_bind("ready")
                .push_bind(now)
                .push_bind(&r.phone1)
                .push_bind(&r.data)
                .push_bind(now);
        });
        q.build().persistent(false).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn fetch_ready(pool: &SqlitePool, id: CampaignId, limit: u32) -> StoreResult<Vec<QueuedRecord>> {
    let rows = sqlx::query(
        "SELECT id, class, order_key, phone_idx, attempts_on_phone, attempts, data FROM records
         WHERE campaign_id = ? AND state = 'ready' ORDER BY class, order_key LIMIT ?",
    )
    .bind(id.0)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| QueuedRecord {
            id: RecordId(r.get(0)),
            class: r.get(1),
            order_key: r.get(2),
            phone_idx: r.get(3),
            attempts_on_phone: r.get(4),
            attempts: r.get(5),
            data: r.get(6),
        })
        .collect())
}

pub async fn counts(pool: &SqlitePool, id: CampaignId) -> StoreResult<RecordCounts> {
    let mut c = RecordCounts::default();
    let rows: Vec<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT state, final, COUNT(*) FROM records WHERE campaign_id = ? GROUP BY state, final ORDER BY state, final",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    for (state, fin, n) in rows {
        match state.as_str() {
            "ready" => c.ready += n,
            "waiting" => c.waiting += n,
            "dialing" => c.dialing += n,
            _ => {
                c.done += n;
                c.finals.push((fin.unwrap_or_else(|| "unknown".into()), n));
            }
        }
    }
    c.attempts = sqlx::query_as(
        "SELECT COALESCE(disposition, 'in_progress'), COUNT(*) FROM calls WHERE campaign_id = ?
         GROUP BY 1 ORDER BY 1",
    )
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    c.next_due = sqlx::query_scalar("SELECT MIN(due_at) FROM records WHERE campaign_id = ? AND state = 'waiting'")
        .bind(id.0)
        .fetch_one(pool)
        .await?;
    Ok(c)
}

pub async fn begin_attempt(pool: &SqlitePool, a: &AttemptStart) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE records SET state = 'dialing', phone_idx = ?, attempts = attempts + 1,
         attempts_on_phone = attempts_on_phone + 1, updated_at = ? WHERE id = ?",
    )
    .bind(a.phone_idx)
    .bind(a.started_at)
    .bind(a.record.0)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO calls (id, client_id, campaign_id, record_id, phone_idx, phone, trunk, started_at, caller_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(a.call.to_string())
    .bind(&a.client.0)
    .bind(a.campaign.0)
    .bind(a.record.0)
    .bind(a.phone_idx)
    .bind(&a.phone)
    .bind(&a.trunk)
    .bind(a.started_at)
    .bind(&a.caller_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn finish_attempt(
    pool: &SqlitePool,
    call: CallId,
    end: &CallEnd,
    record: RecordId,
    next: &RecordNext,
) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE calls SET ended_at = ?, disposition = ?, sip_status = ?, cause = ?, outcome = ?, digits = ?,
         duration_ms = ?, q850_cause = ?, q850_text = ? WHERE id = ?",
    )
    .bind(end.ended_at)
    .bind(&end.disposition)
    .bind(end.sip_status)
    .bind(&end.cause)
    .bind(&end.outcome)
    .bind(&end.digits)
    .bind(end.duration_ms)
    .bind(end.q850_cause)
    .bind(&end.q850_text)
    .bind(call.to_string())
    .execute(&mut *tx)
    .await?;
    move_record(&mut tx, record, next, end.ended_at, Some(&end.disposition)).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn move_record(
    tx: &mut Transaction<'_, Sqlite>,
    record: RecordId,
    next: &RecordNext,
    now: i64,
    last_disposition: Option<&str>,
) -> StoreResult<()> {
    match next {
        RecordNext::Wait { due_at, phone_idx, attempts_on_phone } => {
            sqlx::query(
                "UPDATE records SET state = CASE WHEN ?1 <= ?2 THEN 'ready' ELSE 'waiting' END, due_at = ?1,
                 phone_idx = ?3, attempts_on_phone = ?4, updated_at = ?2,
                 last_disposition = COALESCE(?6, last_disposition) WHERE id = ?5 AND state <> 'done'",
            )
            .bind(due_at)
            .bind(now)
            .bind(phone_idx)
            .bind(attempts_on_phone)
            .bind(record.0)
            .bind(last_disposition)
            .execute(&mut **tx)
            .await?;
        }
        RecordNext::Done { final_state } => {
            sqlx::query(
                "UPDATE records SET state = 'done', final = ?, updated_at = ?,
                 last_disposition = COALESCE(?, last_disposition) WHERE id = ?",
            )
            .bind(final_state)
            .bind(now)
            .bind(last_disposition)
            .bind(record.0)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

pub async fn open_attempts(pool: &SqlitePool) -> StoreResult<Vec<OpenAttempt>> {
    let rows = sqlx::query(
        "SELECT id, campaign_id, record_id, phone_idx, started_at FROM calls
         WHERE ended_at IS NULL AND campaign_id IS NOT NULL ORDER BY started_at",
    )
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: String = r.get(0);
        let Ok(call) = id.parse() else { continue };
        out.push(OpenAttempt {
            call,
            campaign: CampaignId(r.get(1)),
            record: RecordId(r.get(2)),
            phone_idx: r.get(3),
            started_at: r.get(4),
        });
    }
    Ok(out)
}

const RECORD_COLS: &str =
    "id, class, state, due_at, phone_idx, attempts_on_phone, attempts, last_disposition, final, data";

fn record_row(r: SqliteRow) -> RecordRow {
    RecordRow {
        id: RecordId(r.get(0)),
        class: r.get(1),
        state: r.get(2),
        due_at: r.get(3),
        phone_idx: r.get(4),
        attempts_on_phone: r.get(5),
        attempts: r.get(6),
        last_disposition: r.get(7),
        final_state: r.get(8),
        data: r.get(9),
    }
}

pub async fn record(pool: &SqlitePool, id: RecordId) -> StoreResult<Option<RecordRow>> {
    let row =
        sqlx::query(&format!("SELECT {RECORD_COLS} FROM records WHERE id = ?")).bind(id.0).fetch_optional(pool).await?;
    Ok(row.map(record_row))
}

pub async fn records_page(
    pool: &SqlitePool,
    id: CampaignId,
    state: Option<&str>,
    after: RecordId,
    limit: u32,
) -> StoreResult<Vec<RecordRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLS} FROM records
         WHERE campaign_id = ?1 AND id > ?2 AND (?3 IS NULL OR state = ?3) ORDER BY id LIMIT ?4"
    ))
    .bind(id.0)
    .bind(after.0)
    .bind(state)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(record_row).collect())
}

pub async fn record_call(tx: &mut Transaction<'_, Sqlite>, c: &CallRow) -> StoreResult<()> {
    let e = c.end.clone().unwrap_or_default();
    sqlx::query(
        "INSERT INTO calls (id, client_id, campaign_id, record_id, phone, trunk, started_at, ended_at, disposition,
         sip_status, cause, outcome, digits, duration_ms, q850_cause, q850_text)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&c.id)
    .bind(&c.client.0)
    .bind(c.campaign.map(|x| x.0))
    .bind(c.record.map(|x| x.0))
    .bind(&c.phone)
    .bind(&c.trunk)
    .bind(c.started_at)
    .bind(c.end.as_ref().map(|e| e.ended_at))
    .bind(c.end.as_ref().map(|e| e.disposition.clone()))
    .bind(e.sip_status)
    .bind(e.cause)
    .bind(e.outcome)
    .bind(e.digits)
    .bind(e.duration_ms)
    .bind(e.q850_cause)
    .bind(e.q850_text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn calls(pool: &SqlitePool, f: &CallFilter) -> StoreResult<Vec<CallRow>> {
    let mut q = sqlx::QueryBuilder::<Sqlite>::new(
        "SELECT id, client_id, campaign_id, record_id, phone, trunk, started_at, ended_at, disposition, sip_status,
         cause, outcome, digits, duration_ms, q850_cause, q850_text FROM calls WHERE 1 = 1",
    );
    if let Some(c) = &f.client {
        q.push(" AND client_id = ").push_bind(&c.0);
    }
    if let Some(c) = f.campaign {
        q.push(" AND campaign_id = ").push_bind(c.0);
    }
    if let Some(d) = &f.disposition {
        q.push(" AND disposition = ").push_bind(d);
    }
    if let Some(from) = f.from_ms {
        q.push(" AND started_at >= ").push_bind(from);
    }
    if let Some(to) = f.to_ms {
        q.push(" AND started_at <= ").push_bind(to);
    }
    if let Some((at, id)) = &f.before {
        q.push(" AND (started_at < ").push_bind(*at);
        q.push(" OR (started_at = ").push_bind(*at).push(" AND id < ").push_bind(id).push("))");
    }
    q.push(" ORDER BY started_at DESC, id DESC LIMIT ").push_bind(f.limit);
    let rows = q.build().persistent(false).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let ended_at: Option<i64> = r.get(7);
            CallRow {
                id: r.get(0),
                client: ClientId(r.get(1)),
                campaign: r.get::<Option<i64>, _>(2).map(CampaignId),
                record: r.get::<Option<i64>, _>(3).map(RecordId),
                phone: r.get(4),
                trunk: r.get(5),
                started_at: r.get(6),
                end: ended_at.map(|ended_at| CallEnd {
                    ended_at,
                    disposition: r.get::<Option<String>, _>(8).unwrap_or_default(),
                    sip_status: r.get(9),
                    cause: r.get(10),
                    outcome: r.get(11),
                    digits: r.get::<Option<String>, _>(12).unwrap_or_default(),
                    duration_ms: r.get(13),
                    q850_cause: r.get(14),
                    q850_text: r.get(15),
                }),
            }
        })
        .collect())
}
