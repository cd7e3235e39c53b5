//! Lead qualification in SQLite: one-time tokens, API keys created through
//! the API, leads with their history, and the queue of email/SMS/WhatsApp
//! messages.

use crate::ids::{CampaignId, ClientId, LeadId, RecordId};
use crate::store::{LeadFilter, LeadInsert, LeadKeyRow, LeadRow, LeadUpdate, MessageRow, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

/// Used tokens are kept this long after expiry so a replay still reads
/// "already used" rather than "unknown" (both are refused).
const TOKEN_KEEP_MS: i64 = 3_600_000;

pub async fn token_create(pool: &SqlitePool, hash: &[u8], account: &str, expires_at: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO lead_tokens (token_hash, account_key, expires_at) VALUES (?, ?, ?)")
        .bind(hash)
        .bind(account)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn token_consume(pool: &SqlitePool, hash: &[u8], account: &str, now: i64) -> StoreResult<bool> {
    // One statement: two submits racing on one token cannot both win.
    let r = sqlx::query(
        "UPDATE lead_tokens SET used_at = ?3
         WHERE token_hash = ?1 AND account_key = ?2 AND used_at IS NULL AND expires_at > ?3",
    )
    .bind(hash)
    .bind(account)
    .bind(now)
    .execute(pool)
    .await?;
    if r.rows_affected() == 0 {
        // A token shown to another account is burnt too: whoever holds it
        // has seen it fail once.
        sqlx::query("UPDATE lead_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL")
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await?;
    }
    Ok(r.rows_affected() == 1)
}

pub async fn tokens_purge(pool: &SqlitePool, now: i64) -> StoreResult<u64> {
    let r = sqlx::query("DELETE FROM lead_tokens WHERE expires_at < ?").bind(now - TOKEN_KEEP_MS).execute(pool).await?;
    Ok(r.rows_affected())
}

fn key_row(r: SqliteRow) -> LeadKeyRow {
    LeadKeyRow {
        id: r.get(0),
        client: ClientId(r.get(1)),
        account_key: r.get(2),
        key_hash: r.get(3),
        label: r.get(4),
        created_at: r.get(5),
    }
}

pub async fn key_add(pool: &SqlitePool, k: &LeadKeyRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO lead_keys (id, client_id, account_key, key_hash, label, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&k.id)
    .bind(&k.client.0)
    .bind(&k.account_key)
    .bind(&k.key_hash)
    .bind(&k.label)
    .bind(k.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

const KEY_COLS: &str = "SELECT id, client_id, account_key, key_hash, label, created_at FROM lead_keys";

pub async fn keys(pool: &SqlitePool, client: &ClientId) -> StoreResult<Vec<LeadKeyRow>> {
    let rows = sqlx::query(&format!("{KEY_COLS} WHERE client_id = ? ORDER BY created_at, id"))
        .bind(&client.0)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(key_row).collect())
}

pub async fn key_delete(pool: &SqlitePool, client: &ClientId, id: &str) -> StoreResult<bool> {
    let r = sqlx::query("DELETE FROM lead_keys WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(&client.0)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn key_find(pool: &SqlitePool, hash: &[u8]) -> StoreResult<Option<LeadKeyRow>> {
    let row = sqlx::query(&format!("{KEY_COLS} WHERE key_hash = ?")).bind(hash).fetch_optional(pool).await?;
    Ok(row.map(key_row))
}

const LEAD_COLS: &str = "SELECT id, client_id, account_key, service_id, interaction_id, phone, fields, state, reason,
    campaign_id, record_id, attempts, message_rounds, out_of_hours, created_at, updated_at FROM leads";

fn lead_row(r: SqliteRow) -> LeadRow {
    LeadRow {
        id: LeadId(r.get(0)),
        client: ClientId(r.get(1)),
        account_key: r.get(2),
        service_id: r.get(3),
        interaction_id: r.get(4),
        phone: r.get(5),
        fields: r.get(6),
        state: r.get(7),
        reason: r.get(8),
        campaign: r.get::<Option<i64>, _>(9).map(CampaignId),
        record: r.get::<Option<i64>, _>(10).map(RecordId),
        attempts: r.get(11),
        message_rounds: r.get(12),
        out_of_hours: r.get::<i64, _>(13) != 0,
        created_at: r.get(14),
        updated_at: r.get(15),
    }
}

pub async fn insert(pool: &SqlitePool, l: &LeadInsert) -> StoreResult<(LeadId, bool)> {
    // The write comes first: a transaction that reads before it writes
    // fails with SQLITE_BUSY_SNAPSHOT when another writer commits in
    // between (WAL), whatever the busy timeout.
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO leads (client_id, account_key, service_id, interaction_id, phone, fields, state, campaign_id,
            out_of_hours, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?10)
         ON CONFLICT (account_key, interaction_id) DO NOTHING RETURNING id",
    )
    .bind(&l.client.0)
    .bind(&l.account_key)
    .bind(l.service_id)
    .bind(&l.interaction_id)
    .bind(&l.phone)
    .bind(&l.fields)
    .bind(&l.state)
    .bind(l.campaign.0)
    .bind(l.out_of_hours as i64)
    .bind(l.created_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        drop(tx);
        let existing: i64 = sqlx::query_scalar("SELECT id FROM leads WHERE account_key = ? AND interaction_id = ?")
            .bind(&l.account_key)
            .bind(&l.interaction_id)
            .fetch_one(pool)
            .await?;
        return Ok((LeadId(existing), false));
    };
    sqlx::query("INSERT INTO lead_history (lead_id, at, kind, detail) VALUES (?, ?, 'submitted', ?)")
        .bind(id)
        .bind(l.created_at)
        .bind(if l.out_of_hours { "out of working hours" } else { "" })
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((LeadId(id), true))
}

pub async fn lead(pool: &SqlitePool, id: LeadId) -> StoreResult<Option<LeadRow>> {
    let row = sqlx::query(&format!("{LEAD_COLS} WHERE id = ?")).bind(id.0).fetch_optional(pool).await?;
    Ok(row.map(lead_row))
}

pub async fn by_record(pool: &SqlitePool, record: RecordId) -> StoreResult<Option<LeadRow>> {
    let row = sqlx::query(&format!("{LEAD_COLS} WHERE record_id = ?")).bind(record.0).fetch_optional(pool).await?;
    Ok(row.map(lead_row))
}

pub async fn update(pool: &SqlitePool, id: LeadId, u: &LeadUpdate) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE leads SET state = ?, reason = ?, record_id = COALESCE(?, record_id), attempts = ?,
            message_rounds = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&u.state)
    .bind(&u.reason)
    .bind(u.record.map(|r| r.0))
    .bind(u.attempts)
    .bind(u.message_rounds)
    .bind(u.at)
    .bind(id.0)
    .execute(&mut *tx)
    .await?;
    for (kind, detail) in &u.history {
        sqlx::query("INSERT INTO lead_history (lead_id, at, kind, detail) VALUES (?, ?, ?, ?)")
            .bind(id.0)
            .bind(u.at)
            .bind(kind)
            .bind(detail)
            .execute(&mut *tx)
            .await?;
    }
    for m in &u.messages {
        sqlx::query(
            "INSERT INTO lead_messages (lead_id, channel, recipient, body, state, next_at, created_at)
             VALUES (?, ?, ?, ?, 'pending', ?6, ?6)",
        )
        .bind(id.0)
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(&m.body)
        .bind(u.at)
        .bind(u.at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn history(pool: &SqlitePool, id: LeadId) -> StoreResult<Vec<(i64, String, String)>> {
    let rows = sqlx::query("SELECT at, kind, detail FROM lead_history WHERE lead_id = ? ORDER BY id")
        .bind(id.0)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

const MSG_COLS: &str =
    "SELECT id, lead_id, channel, recipient, body, state, attempts, last_error, created_at, sent_at FROM lead_messages";

fn msg_row(r: SqliteRow) -> MessageRow {
    MessageRow {
        id: r.get(0),
        lead: LeadId(r.get(1)),
        channel: r.get(2),
        recipient: r.get(3),
        body: r.get(4),
        state: r.get(5),
        attempts: r.get(6),
        last_error: r.get(7),
        created_at: r.get(8),
        sent_at: r.get(9),
    }
}

pub async fn messages(pool: &SqlitePool, id: LeadId) -> StoreResult<Vec<MessageRow>> {
    let rows = sqlx::query(&format!("{MSG_COLS} WHERE lead_id = ? ORDER BY id")).bind(id.0).fetch_all(pool).await?;
    Ok(rows.into_iter().map(msg_row).collect())
}

pub async fn stale(pool: &SqlitePool) -> StoreResult<Vec<LeadRow>> {
    // One statement over the pending leads, so a night of out-of-hours
    // leads costs one index walk per reconcile, not a query per lead.
    let rows = sqlx::query(
        "SELECT l.id, l.client_id, l.account_key, l.service_id, l.interaction_id, l.phone, l.fields, l.state,
            l.reason, l.campaign_id, l.record_id, l.attempts, l.message_rounds, l.out_of_hours, l.created_at,
            l.updated_at FROM leads l LEFT JOIN records r ON r.id = l.record_id
         WHERE l.state = 'pending'
           AND (l.record_id IS NULL OR r.state = 'done' OR (r.attempts > l.attempts AND r.state != 'dialing'))
         ORDER BY l.id",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(lead_row).collect())
}

pub async fn list(pool: &SqlitePool, f: &LeadFilter) -> StoreResult<Vec<LeadRow>> {
    let rows = sqlx::query(&format!(
        "{LEAD_COLS} WHERE (?1 IS NULL OR client_id = ?1) AND (?2 IS NULL OR state = ?2)
         AND (?3 IS NULL OR service_id = ?3) AND (?4 IS NULL OR id < ?4) ORDER BY id DESC LIMIT ?5"
    ))
    .bind(f.client.as_ref().map(|c| c.0.as_str()))
    .bind(f.state.as_deref())
    .bind(f.service_id)
    .bind(f.before)
    .bind(f.limit as i64)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(lead_row).collect())
}

pub async fn due(pool: &SqlitePool, now: i64, limit: u32) -> StoreResult<Vec<MessageRow>> {
    let rows =
        sqlx::query(&format!("{MSG_COLS} WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?"))
            .bind(now)
            .bind(limit as i64)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(msg_row).collect())
}

pub async fn next_due(pool: &SqlitePool) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT MIN(next_at) FROM lead_messages WHERE state = 'pending'").fetch_one(pool).await?)
}

pub async fn mark(
    pool: &SqlitePool,
    id: i64,
    state: &str,
    next_at: Option<i64>,
    error: Option<&str>,
    now: Option<i64>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE lead_messages SET state = ?, attempts = attempts + 1, next_at = COALESCE(?, next_at),
            last_error = COALESCE(?, last_error), sent_at = COALESCE(?, sent_at) WHERE id = ?",
    )
    .bind(state)
    .bind(next_at)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}
