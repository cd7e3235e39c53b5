//! SQLite backend of [`Store`]: one file under the data dir, WAL journal
//! (readers never block the writer), `synchronous = NORMAL` (a committed
//! transaction survives `kill -9`; only a power cut can lose the last
//! ones), migrations from `migrations/` at open.

mod agents;
mod clicks;
mod leads;
mod outbox;
mod people;
mod queue;

use super::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::time::Duration;

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // A bounded page cache per connection keeps a million-record
            // campaign's memory small (negative = KiB).
            .pragma("cache_size", "-8192");
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_client(&self, client: &ClientId, now: i64) -> StoreResult<()> {
        people::ensure_client(&self.pool, client, now).await
    }
    async fn add_user(&self, user: &UserRow, now: i64) -> StoreResult<()> {
        people::add_user(&self.pool, user, now).await
    }
    async fn user(&self, client: &ClientId, username: &str) -> StoreResult<Option<UserRow>> {
        people::user(&self.pool, client, username).await
    }
    async fn create_session(&self, token_hash: &[u8], s: &SessionRow) -> StoreResult<()> {
        people::create_session(&self.pool, token_hash, s).await
    }
    async fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>> {
        people::session(&self.pool, token_hash, now).await
    }
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(r.rows_affected() > 0)
    }
    async fn purge_sessions(&self, now: i64) -> StoreResult<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(now).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    async fn put_schedule(&self, client: &ClientId, name: &str, spec: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO schedules (client_id, name, spec) VALUES (?, ?, ?)
             ON CONFLICT (client_id, name) DO UPDATE SET spec = excluded.spec",
        )
        .bind(&client.0)
        .bind(name)
        .bind(spec)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
    async fn schedule(&self, client: &ClientId, name: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT spec FROM schedules WHERE client_id = ? AND name = ?")
            .bind(&client.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }
    async fn schedules(&self, client: &ClientId) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT name, spec FROM schedules WHERE client_id = ? ORDER BY name")
            .bind(&client.0)
            .fetch_all(&self.pool)
            .await?)
    }
    async fn create_service(&self, s: &ServiceRow) -> StoreResult<()> {
        people::create_service(&self.pool, s).await
    }
    async fn service(&self, client: &ClientId, id: &str) -> StoreResult<Option<ServiceRow>> {
        Ok(people::services(&self.pool, client, Some(id)).await?.pop())
    }
    async fn services(&self, client: &ClientId) -> StoreResult<Vec<ServiceRow>> {
        people::services(&self.pool, client, None).await
    }

    async fn create_campaign(&self, c: &NewCampaignRow) -> StoreResult<CampaignId> {
        queue::create_campaign(&self.pool, c).await
    }
    async fn campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRow>> {
        queue::campaign(&self.pool, id).await
    }
    async fn find_campaigns(&self, client: &ClientId, f: &CampaignFilter) -> StoreResult<Vec<CampaignRow>> {
        queue::find_campaigns(&self.pool, client, f).await
    }
    async fn live_campaigns(&self) -> StoreResult<Vec<CampaignRow>> {
        queue::live_campaigns(&self.pool).await
    }
    async fn set_campaign_state(&self, id: CampaignId, state: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE campaigns SET state = ?, state_changed_at = ? WHERE id = ?")
            .bind(state)
            .bind(at)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn insert_records(
        &self,
        id: CampaignId,
        class: RecordClass,
        rows: &[RecordInsert],
        uploaded: i64,
        now: i64,
    ) -> StoreResult<()> {
        queue::insert_records(&self.pool, id, class, rows, uploaded, now).await
    }
    async fn add_uploaded(&self, id: CampaignId, n: i64) -> StoreResult<()> {
        sqlx::query("UPDATE campaigns SET uploaded = uploaded + ? WHERE id = ?")
            .bind(n)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn loaded_phones(&self, id: CampaignId) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT phone1 FROM records WHERE campaign_id = ? AND class = 1")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn promote_due(&self, id: CampaignId, now: i64) -> StoreResult<u64> {
        let r = sqlx::query(
            "UPDATE records SET state = 'ready', updated_at = ?1
             WHERE campaign_id = ?2 AND state = 'waiting' AND due_at <= ?1",
        )
        .bind(now)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }
    async fn fetch_ready(&self, id: CampaignId, limit: u32) -> StoreResult<Vec<QueuedRecord>> {
        queue::fetch_ready(&self.pool, id, limit).await
    }
    async fn counts(&self, id: CampaignId) -> StoreResult<RecordCounts> {
        queue::counts(&self.pool, id).await
    }
    async fn state_counts(&self, id: CampaignId) -> StoreResult<Vec<(&'static str, i64)>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM records WHERE campaign_id = ? GROUP BY state")
                .bind(id.0)
                .fetch_all(&self.pool)
                .await?;
        Ok(["ready", "waiting", "dialing", "done"]
            .into_iter()
            .map(|s| (s, rows.iter().find(|(r, _)| r == s).map_or(0, |(_, n)| *n)))
            .collect())
    }
    async fn begin_attempt(&self, a: &AttemptStart) -> StoreResult<()> {
        queue::begin_attempt(&self.pool, a).await
    }
    async fn finish_attempt(
        &self,
        call: CallId,
        end: &CallEnd,
        record: RecordId,
        next: &RecordNext,
    ) -> StoreResult<()> {
        queue::finish_attempt(&self.pool, call, end, record, next).await
    }
    async fn move_record(&self, record: RecordId, next: &RecordNext, now: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        queue::move_record(&mut tx, record, next, now, None).await?;
        tx.commit().await?;
        Ok(())
    }
    async fn open_attempts(&self) -> StoreResult<Vec<OpenAttempt>> {
        queue::open_attempts(&self.pool).await
    }
    async fn record(&self, id: RecordId) -> StoreResult<Option<RecordRow>> {
        queue::record(&self.pool, id).await
    }
    async fn records_page(
        &self,
        id: CampaignId,
        state: Option<&str>,
        after: RecordId,
        limit: u32,
    ) -> StoreResult<Vec<RecordRow>> {
        queue::records_page(&self.pool, id, state, after, limit).await
    }

    async fn record_calls(&self, rows: &[CallRow]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for c in rows {
            queue::record_call(&mut tx, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }
    async fn calls(&self, f: &CallFilter) -> StoreResult<Vec<CallRow>> {
        queue::calls(&self.pool, f).await
    }
    async fn caller_id_use(&self, client: &ClientId, numbers: &[String], since: i64) -> StoreResult<Vec<u64>> {
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            let c: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM calls WHERE client_id = ? AND caller_id = ? AND started_at >= ?",
            )
            .bind(&client.0)
            .bind(n)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
            out.push(c.max(0) as u64);
        }
        Ok(out)
    }

    async fn attempts_since(&self, client: &ClientId, phone: &str, since: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT started_at FROM calls WHERE client_id = ? AND phone = ? AND started_at >= ?
             AND campaign_id IS NOT NULL ORDER BY started_at",
        )
        .bind(&client.0)
        .bind(phone)
        .bind(since)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn dnc_add(&self, client: &str, phones: &[String], source: &str, now: i64) -> StoreResult<u64> {
        people::dnc_add(&self.pool, client, phones, source, now).await
    }
    async fn dnc_remove(&self, client: &str, phone: &str) -> StoreResult<bool> {
        let r = sqlx::query("DELETE FROM dnc WHERE client_id = ? AND phone = ?")
            .bind(client)
            .bind(phone)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
    async fn dnc_find(&self, client: &ClientId, phone: &str) -> StoreResult<Option<DncRow>> {
        people::dnc_find(&self.pool, client, phone).await
    }
    async fn dnc_list(&self, client: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<DncRow>> {
        people::dnc_list(&self.pool, client, after, limit).await
    }

    async fn webhook_create(&self, w: &WebhookRow) -> StoreResult<()> {
        outbox::webhook_create(&self.pool, w).await
    }
    async fn webhooks(&self, client: Option<&str>) -> StoreResult<Vec<WebhookRow>> {
        outbox::webhooks(&self.pool, client).await
    }
    async fn webhook_delete(&self, client: &str, id: &str) -> StoreResult<bool> {
        outbox::webhook_delete(&self.pool, client, id).await
    }
    async fn outbox_add(&self, rows: &[OutboxInsert], now: i64) -> StoreResult<()> {
        outbox::add(&self.pool, rows, now).await
    }
    async fn outbox_heads(&self, webhook: &str, now: i64, limit: u32) -> StoreResult<Vec<OutboxRow>> {
        outbox::heads(&self.pool, webhook, now, limit).await
    }
    async fn outbox_next_due(&self, webhook: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT MIN(next_at) FROM outbox WHERE webhook_id = ? AND state = 'pending'")
            .bind(webhook)
            .fetch_one(&self.pool)
            .await?)
    }
    async fn outbox_delivered(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }
    async fn outbox_retry(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?")
            .bind(next_at)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn outbox_dead(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?")
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn outbox_dead_list(&self, webhook: &str, limit: u32) -> StoreResult<Vec<OutboxRow>> {
        outbox::dead_list(&self.pool, webhook, limit).await
    }
    async fn outbox_replay(&self, webhook: &str, id: i64, now: i64) -> StoreResult<bool> {
        let r = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_at = ?, created_at = ?
             WHERE id = ? AND webhook_id = ? AND state = 'dead'",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .bind(webhook)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }
    async fn outbox_depth(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetch_one(&self.pool).await?)
    }

    async fn agent_create(&self, a: &AgentRow) -> StoreResult<()> {
        agents::agent_create(&self.pool, a).await
    }
    async fn agents(&self) -> StoreResult<Vec<AgentRow>> {
        agents::agents(&self.pool).await
    }
    async fn agent_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool> {
        agents::delete(&self.pool, "agents", client, id).await
    }
    async fn group_create(&self, g: &AgentGroupRow) -> StoreResult<()> {
        agents::group_create(&self.pool, g).await
    }
    async fn groups(&self) -> StoreResult<Vec<AgentGroupRow>> {
        agents::groups(&self.pool).await
    }
    async fn group_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool> {
        agents::delete(&self.pool, "agent_groups", client, id).await
    }
    async fn nonce_use(&self, site: &str, nonce: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        sqlx::query("DELETE FROM click_nonces WHERE expires_at < ?").bind(now).execute(&self.pool).await?;
        let r = sqlx::query(
            "INSERT INTO click_nonces (site, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT (site, nonce) DO NOTHING",
        )
        .bind(site)
        .bind(nonce)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
    async fn click_insert(&self, c: &ClickRow) -> StoreResult<()> {
        clicks::insert(&self.pool, c).await
    }
    async fn click_update(&self, id: &str, u: &ClickUpdate, now: i64) -> StoreResult<()> {
        clicks::update(&self.pool, id, u, now).await
    }
    async fn click(&self, id: &str) -> StoreResult<Option<ClickRow>> {
        clicks::get(&self.pool, id).await
    }
    async fn click_count(&self, site: &str, phone: Option<&str>, since: i64) -> StoreResult<u64> {
        clicks::count(&self.pool, site, phone, since).await
    }
    async fn click_forget(&self, before: i64) -> StoreResult<u64> {
        clicks::forget(&self.pool, before).await
    }
    async fn click_interrupted(&self, now: i64) -> StoreResult<Vec<String>> {
        clicks::interrupted(&self.pool, now).await
    }
    async fn click_scheduled(&self) -> StoreResult<Vec<ClickRow>> {
        clicks::scheduled(&self.pool).await
    }
    async fn click_claim(&self, id: &str, now: i64) -> StoreResult<bool> {
        clicks::claim(&self.pool, id, now).await
    }
    async fn put_service(&self, s: &ServiceRow) -> StoreResult<()> {
        people::put_service(&self.pool, s).await
    }
    async fn set_campaign_settings(&self, id: CampaignId, settings: &str) -> StoreResult<()> {
        sqlx::query("UPDATE campaigns SET settings = ? WHERE id = ?")
            .bind(settings)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
    async fn lead_token_create(&self, hash: &[u8], account_key: &str, expires_at: i64) -> StoreResult<()> {
        leads::token_create(&self.pool, hash, account_key, expires_at).await
    }
    async fn lead_token_consume(&self, hash: &[u8], account_key: &str, now: i64) -> StoreResult<bool> {
        leads::token_consume(&self.pool, hash, account_key, now).await
    }
    async fn lead_tokens_purge(&self, now: i64) -> StoreResult<u64> {
        leads::tokens_purge(&self.pool, now).await
    }
    async fn lead_key_add(&self, k: &LeadKeyRow) -> StoreResult<()> {
        leads::key_add(&self.pool, k).await
    }
    async fn lead_keys(&self, client: &ClientId) -> StoreResult<Vec<LeadKeyRow>> {
        leads::keys(&self.pool, client).await
    }
    async fn lead_key_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool> {
        leads::key_delete(&self.pool, client, id).await
    }
    async fn lead_key_find(&self, hash: &[u8]) -> StoreResult<Option<LeadKeyRow>> {
        leads::key_find(&self.pool, hash).await
    }
    async fn lead_insert(&self, l: &LeadInsert) -> StoreResult<(LeadId, bool)> {
        leads::insert(&self.pool, l).await
    }
    async fn lead(&self, id: LeadId) -> StoreResult<Option<LeadRow>> {
        leads::lead(&self.pool, id).await
    }
    async fn lead_by_record(&self, record: RecordId) -> StoreResult<Option<LeadRow>> {
        leads::by_record(&self.pool, record).await
    }
    async fn lead_record(&self, campaign: CampaignId, lead: LeadId) -> StoreResult<Option<RecordId>> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM records WHERE campaign_id = ? AND json_extract(data, '$.fields.lead_id') = ?
             ORDER BY id DESC LIMIT 1",
        )
        .bind(campaign.0)
        .bind(lead.0.to_string())
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(RecordId))
    }
    async fn lead_update(&self, id: LeadId, u: &LeadUpdate) -> StoreResult<()> {
        leads::update(&self.pool, id, u).await
    }
    async fn lead_history(&self, id: LeadId) -> StoreResult<Vec<(i64, String, String)>> {
        leads::history(&self.pool, id).await
    }
    async fn lead_messages(&self, id: LeadId) -> StoreResult<Vec<MessageRow>> {
        leads::messages(&self.pool, id).await
    }
    async fn leads_stale(&self) -> StoreResult<Vec<LeadRow>> {
        leads::stale(&self.pool).await
    }
    async fn leads(&self, f: &LeadFilter) -> StoreResult<Vec<LeadRow>> {
        leads::list(&self.pool, f).await
    }
    async fn messages_due(&self, now: i64, limit: u32) -> StoreResult<Vec<MessageRow>> {
        leads::due(&self.pool, now, limit).await
    }
    async fn message_next_due(&self) -> StoreResult<Option<i64>> {
        leads::next_due(&self.pool).await
    }
    async fn message_sent(&self, id: i64, now: i64) -> StoreResult<()> {
        leads::mark(&self.pool, id, "sent", None, None, Some(now)).await
    }
    async fn message_retry(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()> {
        leads::mark(&self.pool, id, "pending", Some(next_at), Some(error), None).await
    }
    async fn message_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        leads::mark(&self.pool, id, "failed", None, Some(error), None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_nonce_is_accepted_once_even_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let s = SqliteStore::open(&path).await.unwrap();
        assert!(s.nonce_use("shop", "n0nce-0123456789abcdef", 2_000, 1_000).await.unwrap());
        assert!(!s.nonce_use("shop", "n0nce-0123456789abcdef", 2_000, 1_500).await.unwrap(), "a replay");
        assert!(s.nonce_use("other-site", "n0nce-0123456789abcdef", 2_000, 1_500).await.unwrap(), "per site");
        s.close().await;
        let s = SqliteStore::open(&path).await.unwrap();
        assert!(!s.nonce_use("shop", "n0nce-0123456789abcdef", 2_000, 1_900).await.unwrap(), "remembered");
        // Past its window the row is purged: the signature's time check
        // refuses such a request before the nonce is looked at.
        assert!(s.nonce_use("shop", "n0nce-0123456789abcdef", 5_000, 2_001).await.unwrap());
    }

    fn click(id: &str, status: &str, created_at: i64, due_at: Option<i64>) -> ClickRow {
        ClickRow {
            id: id.into(),
            site: "shop".into(),
            client: ClientId("default".into()),
            phone: "+15551234567".into(),
            agent_group: "sales".into(),
            order: "agent_first".into(),
            visitor: r#"{"name":"Ada"}"#.into(),
            status: status.into(),
            cause: None,
            sip_status: None,
            agent: None,
            agent_call: None,
            customer_call: None,
            token_hash: vec![1; 32],
            created_at,
            updated_at: created_at,
            due_at,
        }
    }

    #[tokio::test]
    async fn scheduled_requests_outlive_a_restart_and_start_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        s.click_insert(&click("running", "agent_ringing", 1_000, None)).await.unwrap();
        s.click_insert(&click("later", "scheduled", 1_000, Some(90_000))).await.unwrap();
        s.click_insert(&click("sooner", "scheduled", 1_000, Some(50_000))).await.unwrap();
        // A restart fails what was running and keeps what waits.
        assert_eq!(s.click_interrupted(2_000).await.unwrap(), vec!["running".to_string()]);
        let waiting: Vec<_> = s.click_scheduled().await.unwrap().into_iter().map(|r| (r.id, r.due_at)).collect();
        assert_eq!(waiting, [("sooner".into(), Some(50_000)), ("later".into(), Some(90_000))]);
        // Retention counts from the due time, and never while scheduled.
        assert_eq!(s.click_forget(60_000).await.unwrap(), 1, "only the failed one");
        assert_eq!(s.click("sooner").await.unwrap().unwrap().phone, "+15551234567");
        assert!(s.click_claim("sooner", 50_001).await.unwrap());
        assert!(!s.click_claim("sooner", 50_002).await.unwrap(), "a request starts once");
        assert_eq!(s.click("sooner").await.unwrap().unwrap().status, "requested");
        assert_eq!(s.click_forget(40_000).await.unwrap(), 0, "made at 1 000 but due at 50 000: kept");
        assert_eq!(s.click_forget(60_000).await.unwrap(), 1);
        let moved = ClickUpdate { status: "scheduled".into(), due_at: Some(120_000), ..Default::default() };
        s.click_update("later", &moved, 3_000).await.unwrap();
        assert_eq!(s.click("later").await.unwrap().unwrap().due_at, Some(120_000));
    }
}
