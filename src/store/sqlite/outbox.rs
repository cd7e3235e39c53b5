//! Webhook subscriptions and the durable outbox in SQLite.

use crate::store::{OutboxInsert, OutboxRow, StoreResult, WebhookRow};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool};

pub async fn webhook_create(pool: &SqlitePool, w: &WebhookRow) -> StoreResult<()> {
    sqlx::query("INSERT INTO webhooks (id, client_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(&w.id)
        .bind(&w.client)
        .bind(&w.url)
        .bind(&w.events)
        .bind(&w.secret)
        .bind(w.created_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn webhooks(pool: &SqlitePool, client: Option<&str>) -> StoreResult<Vec<WebhookRow>> {
    let rows = sqlx::query(
        "SELECT id, client_id, url, events, secret, created_at FROM webhooks
         WHERE ?1 IS NULL OR client_id = ?1 ORDER BY created_at, id",
    )
    .bind(client)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| WebhookRow {
            id: r.get(0),
            client: r.get(1),
            url: r.get(2),
            events: r.get(3),
            secret: r.get(4),
            created_at: r.get(5),
        })
        .collect())
}

pub async fn webhook_delete(pool: &SqlitePool, client: &str, id: &str) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let r = sqlx::query("DELETE FROM webhooks WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(client)
        .execute(&mut *tx)
        .await?;
    if r.rows_affected() > 0 {
        sqlx::query("DELETE FROM outbox WHERE webhook_id = ?").bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(r.rows_affected() > 0)
}

pub async fn add(pool: &SqlitePool, rows: &[OutboxInsert], now: i64) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    for chunk in rows.chunks(500) {
        let mut q = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO outbox (webhook_id, event_id, grp, body, state, created_at, next_at) ",
        );
        q.push_values(chunk, |mut b, r| {
            b.push_bind(&r.webhook)
                .push_bind(&r.event_id)
                .push_bind(&r.group)
                .push_bind(&r.body)
                .push_bind("pending")
                .push_bind(now)
                .push_bind(now);
        });
        q.build().persistent(false).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn row(r: SqliteRow) -> OutboxRow {
    OutboxRow {
        id: r.get(0),
        webhook: r.get(1),
        event_id: r.get(2),
        body: r.get(3),
        attempts: r.get(4),
        created_at: r.get(5),
        last_error: r.get(6),
    }
}

pub async fn heads(pool: &SqlitePool, webhook: &str, now: i64, limit: u32) -> StoreResult<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "SELECT o.id, o.webhook_id, o.event_id, o.body, o.attempts, o.created_at, o.last_error FROM outbox o
         WHERE o.webhook_id = ?1 AND o.state = 'pending' AND o.next_at <= ?2
           AND o.id = (SELECT MIN(p.id) FROM outbox p
                       WHERE p.webhook_id = ?1 AND p.state = 'pending' AND p.grp = o.grp)
         ORDER BY o.id LIMIT ?3",
    )
    .bind(webhook)
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(row).collect())
}

pub async fn dead_list(pool: &SqlitePool, webhook: &str, limit: u32) -> StoreResult<Vec<OutboxRow>> {
    let rows = sqlx::query(
        "SELECT id, webhook_id, event_id, body, attempts, created_at, last_error FROM outbox
         WHERE webhook_id = ? AND state = 'dead' ORDER BY id LIMIT ?",
    )
    .bind(webhook)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(row).collect())
}
