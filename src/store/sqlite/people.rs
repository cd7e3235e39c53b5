//! Clients, users, sessions, services and the do-not-call lists in SQLite.

use crate::ids::ClientId;
use crate::store::{DncRow, ServiceRow, SessionRow, StoreError, StoreResult, UserRow};
use sqlx::{Row, SqlitePool};

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub async fn ensure_client(pool: &SqlitePool, client: &ClientId, now: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO clients (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
        .bind(&client.0)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn add_user(pool: &SqlitePool, u: &UserRow, now: i64) -> StoreResult<()> {
    ensure_client(pool, &u.client, now).await?;
    sqlx::query("INSERT INTO users (client_id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind(&u.client.0)
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(&u.role)
        .bind(now)
        .execute(pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Exists(format!("user {:?} of client {:?}", u.username, u.client.0))
            } else {
                e.into()
            }
        })?;
    Ok(())
}

pub async fn user(pool: &SqlitePool, client: &ClientId, username: &str) -> StoreResult<Option<UserRow>> {
    let row = sqlx::query("SELECT password_hash, role FROM users WHERE client_id = ? AND username = ?")
        .bind(&client.0)
        .bind(username)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| UserRow {
        client: client.clone(),
        username: username.to_string(),
        password_hash: r.get(0),
        role: r.get(1),
    }))
}

pub async fn create_session(pool: &SqlitePool, token_hash: &[u8], s: &SessionRow) -> StoreResult<()> {
    sqlx::query("INSERT INTO sessions (token_hash, client_id, username, role, expires_at) VALUES (?, ?, ?, ?, ?)")
        .bind(token_hash)
        .bind(&s.client.0)
        .bind(&s.username)
        .bind(&s.role)
        .bind(s.expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn session(pool: &SqlitePool, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT client_id, username, role, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| SessionRow { client: ClientId(r.get(0)), username: r.get(1), role: r.get(2), expires_at: r.get(3) }))
}

pub async fn create_service(pool: &SqlitePool, s: &ServiceRow) -> StoreResult<()> {
    write_service(pool, s, false).await.map_err(|e| match e {
        StoreError::Db(e) if is_unique_violation(&e) => StoreError::Exists(format!("service {:?}", s.id)),
        e => e,
    })
}

/// Creates or replaces a service (lead services come from the config).
pub async fn put_service(pool: &SqlitePool, s: &ServiceRow) -> StoreResult<()> {
    write_service(pool, s, true).await
}

async fn write_service(pool: &SqlitePool, s: &ServiceRow, replace: bool) -> StoreResult<()> {
    ensure_client(pool, &s.client, s.created_at).await?;
    let upsert = if replace {
        " ON CONFLICT (client_id, id) DO UPDATE SET name = excluded.name, sort = excluded.sort,
            time_zone = excluded.time_zone, schedule = excluded.schedule,
            report_at_end_of_day = excluded.report_at_end_of_day"
    } else {
        ""
    };
    sqlx::query(&format!(
        "INSERT INTO services (client_id, id, name, sort, time_zone, schedule, report_at_end_of_day, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?){upsert}"
    ))
    .bind(&s.client.0)
    .bind(&s.id)
    .bind(&s.name)
    .bind(&s.sort)
    .bind(&s.time_zone)
    .bind(&s.schedule)
    .bind(s.report_at_end_of_day)
    .bind(s.created_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn services(pool: &SqlitePool, client: &ClientId, id: Option<&str>) -> StoreResult<Vec<ServiceRow>> {
    let rows = sqlx::query(
        "SELECT id, name, sort, time_zone, schedule, report_at_end_of_day, created_at FROM services
         WHERE client_id = ?1 AND (?2 IS NULL OR id = ?2) ORDER BY id",
    )
    .bind(&client.0)
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ServiceRow {
            client: client.clone(),
            id: r.get(0),
            name: r.get(1),
            sort: r.get(2),
            time_zone: r.get(3),
            schedule: r.get(4),
            report_at_end_of_day: r.get(5),
            created_at: r.get(6),
        })
        .collect())
}

pub async fn dnc_add(pool: &SqlitePool, client: &str, phones: &[String], source: &str, now: i64) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    let mut added = 0;
    for chunk in phones.chunks(200) {
        let mut q = sqlx::QueryBuilder::new("INSERT INTO dnc (client_id, phone, source, added_at) ");
        q.push_values(chunk, |mut b, p| {
            b.push_bind(client).push_bind(p).push_bind(source).push_bind(now);
        });
        q.push(" ON CONFLICT (client_id, phone) DO NOTHING");
        added += q.build().persistent(false).execute(&mut *tx).await?.rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}

fn dnc_row(r: sqlx::sqlite::SqliteRow) -> DncRow {
    DncRow { client: r.get(0), phone: r.get(1), source: r.get(2), added_at: r.get(3) }
}

pub async fn dnc_find(pool: &SqlitePool, client: &ClientId, phone: &str) -> StoreResult<Option<DncRow>> {
    let row = sqlx::query(
        "SELECT client_id, phone, source, added_at FROM dnc
         WHERE phone = ?2 AND client_id IN (?1, '*') ORDER BY client_id = '*' LIMIT 1",
    )
    .bind(&client.0)
    .bind(phone)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(dnc_row))
}

pub async fn dnc_list(pool: &SqlitePool, client: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<DncRow>> {
    let rows = sqlx::query(
        "SELECT client_id, phone, source, added_at FROM dnc
         WHERE client_id = ?1 AND (?2 IS NULL OR phone > ?2) ORDER BY phone LIMIT ?3",
    )
    .bind(client)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(dnc_row).collect())
}
