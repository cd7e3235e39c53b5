//! Agents and agent groups created through the API, in SQLite.

use crate::ids::ClientId;
use crate::store::{AgentGroupRow, AgentRow, StoreError, StoreResult};
use sqlx::{Row, SqlitePool};

fn exists(what: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Exists(what),
        _ => e.into(),
    }
}

pub async fn agent_create(pool: &SqlitePool, a: &AgentRow) -> StoreResult<()> {
    sqlx::query("INSERT INTO agents (client_id, id, extension, uri, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&a.client.0)
        .bind(&a.id)
        .bind(&a.extension)
        .bind(&a.uri)
        .bind(a.created_at)
        .execute(pool)
        .await
        .map_err(exists(format!("agent {:?}", a.id)))?;
    Ok(())
}

pub async fn agents(pool: &SqlitePool) -> StoreResult<Vec<AgentRow>> {
    let rows = sqlx::query("SELECT client_id, id, extension, uri, created_at FROM agents ORDER BY client_id, id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AgentRow {
            client: ClientId(r.get(0)),
            id: r.get(1),
            extension: r.get(2),
            uri: r.get(3),
            created_at: r.get(4),
        })
        .collect())
}

pub async fn group_create(pool: &SqlitePool, g: &AgentGroupRow) -> StoreResult<()> {
    sqlx::query("INSERT INTO agent_groups (client_id, id, body, created_at) VALUES (?, ?, ?, ?)")
        .bind(&g.client.0)
        .bind(&g.id)
        .bind(&g.body)
        .bind(g.created_at)
        .execute(pool)
        .await
        .map_err(exists(format!("agent group {:?}", g.id)))?;
    Ok(())
}

pub async fn groups(pool: &SqlitePool) -> StoreResult<Vec<AgentGroupRow>> {
    let rows = sqlx::query("SELECT client_id, id, body, created_at FROM agent_groups ORDER BY client_id, id")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| AgentGroupRow { client: ClientId(r.get(0)), id: r.get(1), body: r.get(2), created_at: r.get(3) })
        .collect())
}

/// `table` is one of our two table names, never user input.
pub async fn delete(pool: &SqlitePool, table: &'static str, client: &ClientId, id: &str) -> StoreResult<bool> {
    let r = sqlx::query(&format!("DELETE FROM {table} WHERE client_id = ? AND id = ?"))
        .bind(&client.0)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() > 0)
}
