//! Click-to-call requests in SQLite (`migrations/0006_click_requests.sql`,
//! `0007_click_scheduled.sql`).

use crate::ids::ClientId;
use crate::store::{ClickRow, ClickUpdate, StoreResult};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

const COLUMNS: &str = "id, site, client_id, phone, agent_group, call_order, visitor, status, cause, sip_status, \
                       agent, agent_call, customer_call, token_hash, created_at, updated_at, due_at";

pub async fn insert(pool: &SqlitePool, c: &ClickRow) -> StoreResult<()> {
    sqlx::query(&format!("INSERT INTO click_requests ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"))
        .bind(&c.id)
        .bind(&c.site)
        .bind(&c.client.0)
        .bind(&c.phone)
        .bind(&c.agent_group)
        .bind(&c.order)
        .bind(&c.visitor)
        .bind(&c.status)
        .bind(&c.cause)
        .bind(c.sip_status)
        .bind(&c.agent)
        .bind(&c.agent_call)
        .bind(&c.customer_call)
        .bind(&c.token_hash)
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.due_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// Fields left `None` keep their stored value.
pub async fn update(pool: &SqlitePool, id: &str, u: &ClickUpdate, now: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE click_requests SET status = ?, cause = COALESCE(?, cause), sip_status = COALESCE(?, sip_status), \
         agent = COALESCE(?, agent), agent_call = COALESCE(?, agent_call), \
         customer_call = COALESCE(?, customer_call), due_at = COALESCE(?, due_at), updated_at = ? WHERE id = ?",
    )
    .bind(&u.status)
    .bind(&u.cause)
    .bind(u.sip_status)
    .bind(&u.agent)
    .bind(&u.agent_call)
    .bind(&u.customer_call)
    .bind(u.due_at)
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn get(pool: &SqlitePool, id: &str) -> StoreResult<Option<ClickRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM click_requests WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.as_ref().map(from_row))
}

fn from_row(r: &SqliteRow) -> ClickRow {
    ClickRow {
        id: r.get(0),
        site: r.get(1),
        client: ClientId(r.get(2)),
        phone: r.get(3),
        agent_group: r.get(4),
        order: r.get(5),
        visitor: r.get(6),
        status: r.get(7),
        cause: r.get(8),
        sip_status: r.get(9),
        agent: r.get(10),
        agent_call: r.get(11),
        customer_call: r.get(12),
        token_hash: r.get(13),
        created_at: r.get(14),
        updated_at: r.get(15),
        due_at: r.get(16),
    }
}

pub async fn scheduled(pool: &SqlitePool) -> StoreResult<Vec<ClickRow>> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM click_requests WHERE status = 'scheduled' ORDER BY due_at, id"))
            .fetch_all(pool)
            .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// The compare-and-set makes a request start once, whatever else looked
/// at it in between.
pub async fn claim(pool: &SqlitePool, id: &str, now: i64) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE click_requests SET status = 'requested', updated_at = ? WHERE id = ? AND status = 'scheduled'",
    )
    .bind(now)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn count(pool: &SqlitePool, site: &str, phone: Option<&str>, since: i64) -> StoreResult<u64> {
    let n: i64 = match phone {
        Some(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM click_requests WHERE site = ? AND phone = ? AND created_at >= ?")
                .bind(site)
                .bind(p)
                .bind(since)
                .fetch_one(pool)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT COUNT(*) FROM click_requests WHERE site = ? AND created_at >= ?")
                .bind(site)
                .bind(since)
                .fetch_one(pool)
                .await?
        }
    };
    Ok(n as u64)
}

/// Past retention the number and visitor info are personal data we no
/// longer need; the row stays so its id answers 410. A scheduled request
/// keeps them until it has run: retention counts from its due time.
pub async fn forget(pool: &SqlitePool, before: i64) -> StoreResult<u64> {
    let r = sqlx::query(
        "UPDATE click_requests SET phone = '', visitor = '{}' WHERE MAX(created_at, COALESCE(due_at, 0)) < ? \
         AND status != 'scheduled' AND (phone != '' OR visitor != '{}')",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// At start: requests a crash or restart cut short are failed, so nobody
/// waits on them. Scheduled ones have not started: the scheduler rearms
/// them.
pub async fn interrupted(pool: &SqlitePool, now: i64) -> StoreResult<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE click_requests SET status = 'failed', cause = 'interrupted', updated_at = ? \
         WHERE status NOT IN ('completed', 'failed', 'scheduled') RETURNING id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(ids)
}
