//! The repository layer: everything dialerd must not lose lives behind the
//! [`Store`] trait. SQLite (`sqlite.rs`, WAL, one file under the data dir)
//! is the embedded default; a PostgreSQL backend implements the same trait.
//!
//! Rows here are plain data (strings, integers, JSON text): the meaning of a
//! campaign's settings or a record's fields belongs to `campaign/`, so a new
//! backend only moves bytes.

mod sqlite;

use crate::ids::{CallId, CampaignId, ClientId, LeadId, RecordId};
use async_trait::async_trait;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0} not found")]
    NotFound(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub client: ClientId,
    pub username: String,
    pub password_hash: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub client: ClientId,
    pub username: String,
    pub role: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub client: ClientId,
    pub id: String,
    pub name: String,
    pub sort: String,
    pub time_zone: String,
    pub schedule: Option<String>,
    pub report_at_end_of_day: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaignRow {
    pub client: ClientId,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub state: String,
    pub allow_append: bool,
    pub settings: String,
    pub created_at: i64,
    pub day: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub client: ClientId,
    pub service: String,
    pub name: String,
    pub kind: String,
    pub state: String,
    pub allow_append: bool,
    pub settings: String,
    pub created_at: i64,
    pub day: String,
    pub state_changed_at: i64,
    pub uploaded: i64,
    pub loaded: i64,
    pub appended: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignFilter {
    pub service: Option<String>,
    pub states: Vec<String>,
    pub kinds: Vec<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// A record to insert. The store appends the campaign's next sequence
/// number (8 bytes big-endian) to `key_prefix`, so keys are unique and
/// ties keep insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInsert {
    pub key_prefix: Vec<u8>,
    pub phone1: String,
    pub data: String,
}

/// Class 0 is dialled before class 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordClass {
    Appended = 0,
    Loaded = 1,
}

/// A record as the queue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRecord {
    pub id: RecordId,
    pub class: i64,
    pub order_key: Vec<u8>,
    pub phone_idx: i64,
    pub attempts_on_phone: i64,
    pub attempts: i64,
    pub data: String,
}

/// A record as reports see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub id: RecordId,
    pub class: i64,
    pub state: String,
    pub due_at: i64,
    pub phone_idx: i64,
    pub attempts_on_phone: i64,
    pub attempts: i64,
    pub last_disposition: Option<String>,
    pub final_state: Option<String>,
    pub data: String,
}

/// Where a record goes after an attempt (or a decision not to dial it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordNext {
    /// Dial again when due (`phone_idx` may name the next number).
    Wait { due_at: i64, phone_idx: i64, attempts_on_phone: i64 },
    /// No more attempts: `final` says why (a disposition, `dnc`, ...).
    Done { final_state: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptStart {
    pub call: CallId,
    pub client: ClientId,
    pub campaign: CampaignId,
    pub record: RecordId,
    pub phone_idx: i64,
    pub phone: String,
    pub trunk: String,
    pub started_at: i64,
    /// The From user the call shows (a caller-ID pool's pick).
    pub caller_id: Option<String>,
}

/// A finished call's facts (campaign attempt or API call).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallEnd {
    pub ended_at: i64,
    pub disposition: String,
    pub sip_status: Option<i64>,
    pub cause: Option<String>,
    pub outcome: Option<String>,
    pub digits: String,
    pub duration_ms: Option<i64>,
    /// The Q.850 cause and text of the hang-up (`migrations/0008`).
    pub q850_cause: Option<i64>,
    pub q850_text: Option<String>,
}

/// An attempt without an end: the process died while it was in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAttempt {
    pub call: CallId,
    pub campaign: CampaignId,
    pub record: RecordId,
    pub phone_idx: i64,
    pub started_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    pub id: String,
    pub client: ClientId,
    pub campaign: Option<CampaignId>,
    pub record: Option<RecordId>,
    pub phone: String,
    pub trunk: String,
    pub started_at: i64,
    pub end: Option<CallEnd>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallFilter {
    pub client: Option<ClientId>,
    pub campaign: Option<CampaignId>,
    pub disposition: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Calls started strictly before this (id, started_at) pair, newest first.
    pub before: Option<(i64, String)>,
    pub limit: u32,
}

/// Counts for stats and "why not dialling".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub ready: i64,
    pub waiting: i64,
    pub dialing: i64,
    pub done: i64,
    /// Final states (`answered`, `busy`, `dnc`...) with their counts.
    pub finals: Vec<(String, i64)>,
    /// Calls by disposition.
    pub attempts: Vec<(String, i64)>,
    pub next_due: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DncRow {
    /// `*` for the global list.
    pub client: String,
    pub phone: String,
    pub source: String,
    pub added_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: String,
    /// `*` for operator webhooks from the configuration (every client).
    pub client: String,
    pub url: String,
    /// Event type patterns, JSON array text.
    pub events: String,
    pub secret: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxInsert {
    pub webhook: String,
    pub event_id: String,
    pub group: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub webhook: String,
    pub event_id: String,
    pub body: String,
    pub attempts: i64,
    pub created_at: i64,
    pub last_error: Option<String>,
}

/// A click-to-call request (`visitor` is JSON; `token_hash` the SHA-256
/// of the browser's status token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickRow {
    pub id: String,
    pub site: String,
    pub client: ClientId,
    pub phone: String,
    pub agent_group: String,
    pub order: String,
    pub visitor: String,
    pub status: String,
    pub cause: Option<String>,
    pub sip_status: Option<i64>,
    pub agent: Option<String>,
    pub agent_call: Option<String>,
    pub customer_call: Option<String>,
    pub token_hash: Vec<u8>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When a scheduled request runs (epoch ms); `None` for one that ran
    /// at once.
    pub due_at: Option<i64>,
}

/// A status change; `None` fields keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClickUpdate {
    pub status: String,
    pub cause: Option<String>,
    pub sip_status: Option<i64>,
    pub agent: Option<String>,
    pub agent_call: Option<String>,
    pub customer_call: Option<String>,
    /// A scheduled request's (new) run time.
    pub due_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    pub client: ClientId,
    pub id: String,
    pub extension: String,
    pub uri: Option<String>,
    pub created_at: i64,
}

/// An agent group; `body` is JSON (`agents`, `steps`, `fallback_dialplan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentGroupRow {
    pub client: ClientId,
    pub id: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadKeyRow {
    pub id: String,
    pub client: ClientId,
    pub account_key: String,
    pub key_hash: Vec<u8>,
    pub label: Option<String>,
    pub created_at: i64,
}

/// A lead as submitted (seed 001's fields as JSON text in `fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadInsert {
    pub client: ClientId,
    pub account_key: String,
    pub service_id: i64,
    pub interaction_id: String,
    pub phone: String,
    pub fields: String,
    pub state: String,
    pub campaign: CampaignId,
    pub out_of_hours: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRow {
    pub id: LeadId,
    pub client: ClientId,
    pub account_key: String,
    pub service_id: i64,
    pub interaction_id: String,
    pub phone: String,
    pub fields: String,
    pub state: String,
    pub reason: Option<String>,
    pub campaign: Option<CampaignId>,
    pub record: Option<RecordId>,
    pub attempts: i64,
    pub message_rounds: i64,
    pub out_of_hours: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A lead's new state, written with its history and queued messages in one
/// transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeadUpdate {
    pub state: String,
    pub reason: Option<String>,
    pub record: Option<RecordId>,
    pub attempts: i64,
    pub message_rounds: i64,
    pub history: Vec<(String, String)>,
    pub messages: Vec<MessageInsert>,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInsert {
    pub channel: String,
    pub recipient: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: i64,
    pub lead: LeadId,
    pub channel: String,
    pub recipient: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFilter {
    pub client: Option<ClientId>,
    pub state: Option<String>,
    pub service_id: Option<i64>,
    /// Leads with a smaller id (newest first).
    pub before: Option<i64>,
    pub limit: u32,
}

#[async_trait]
pub trait Store: Send + Sync {
    // Tenancy and people.
    async fn ensure_client(&self, client: &ClientId, now: i64) -> StoreResult<()>;
    async fn add_user(&self, user: &UserRow, now: i64) -> StoreResult<()>;
    async fn user(&self, client: &ClientId, username: &str) -> StoreResult<Option<UserRow>>;
    async fn create_session(&self, token_hash: &[u8], s: &SessionRow) -> StoreResult<()>;
    async fn session(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<SessionRow>>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<bool>;
    async fn purge_sessions(&self, now: i64) -> StoreResult<u64>;

    // Schedules and services.
    async fn put_schedule(&self, client: &ClientId, name: &str, spec: &str) -> StoreResult<()>;
    async fn schedule(&self, client: &ClientId, name: &str) -> StoreResult<Option<String>>;
    async fn schedules(&self, client: &ClientId) -> StoreResult<Vec<(String, String)>>;
    async fn create_service(&self, s: &ServiceRow) -> StoreResult<()>;
    async fn service(&self, client: &ClientId, id: &str) -> StoreResult<Option<ServiceRow>>;
    async fn services(&self, client: &ClientId) -> StoreResult<Vec<ServiceRow>>;

    // Campaigns.
    async fn create_campaign(&self, c: &NewCampaignRow) -> StoreResult<CampaignId>;
    async fn campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRow>>;
    async fn find_campaigns(&self, client: &ClientId, f: &CampaignFilter) -> StoreResult<Vec<CampaignRow>>;
    /// Campaigns an actor must run for (not yet reported).
    async fn live_campaigns(&self) -> StoreResult<Vec<CampaignRow>>;
    async fn set_campaign_state(&self, id: CampaignId, state: &str, at: i64) -> StoreResult<()>;
    /// Inserts ready records in one transaction and adds to the counters.
    async fn insert_records(
        &self,
        id: CampaignId,
        class: RecordClass,
        rows: &[RecordInsert],
        uploaded: i64,
        now: i64,
    ) -> StoreResult<()>;
    /// Counts rows a build refused (they are uploaded, not loaded).
    async fn add_uploaded(&self, id: CampaignId, n: i64) -> StoreResult<()>;
    /// Every number already loaded (for de-duplication across uploads).
    async fn loaded_phones(&self, id: CampaignId) -> StoreResult<Vec<String>>;

    // The queue.
    /// Waiting records whose time has come become ready.
    async fn promote_due(&self, id: CampaignId, now: i64) -> StoreResult<u64>;
    /// The head of the queue: ready records in dialling order.
    async fn fetch_ready(&self, id: CampaignId, limit: u32) -> StoreResult<Vec<QueuedRecord>>;
    async fn counts(&self, id: CampaignId) -> StoreResult<RecordCounts>;
    /// Records by state only (`ready`, `waiting`, `dialing`, `done`): cheap.
    async fn state_counts(&self, id: CampaignId) -> StoreResult<Vec<(&'static str, i64)>>;
    /// Writes the attempt and marks the record dialing, atomically.
    async fn begin_attempt(&self, a: &AttemptStart) -> StoreResult<()>;
    /// Calls of `client` since `since` (epoch ms) that showed each of
    /// `numbers`, in that order.
    async fn caller_id_use(&self, client: &ClientId, numbers: &[String], since: i64) -> StoreResult<Vec<u64>>;
    /// Completes the attempt and moves its record, atomically.
    async fn finish_attempt(&self, call: CallId, end: &CallEnd, record: RecordId, next: &RecordNext)
    -> StoreResult<()>;
    /// Moves a record without an attempt (window closed, DNC, caps).
    async fn move_record(&self, record: RecordId, next: &RecordNext, now: i64) -> StoreResult<()>;
    async fn open_attempts(&self) -> StoreResult<Vec<OpenAttempt>>;
    async fn record(&self, id: RecordId) -> StoreResult<Option<RecordRow>>;
    async fn records_page(
        &self,
        id: CampaignId,
        state: Option<&str>,
        after: RecordId,
        limit: u32,
    ) -> StoreResult<Vec<RecordRow>>;

    // Calls.
    async fn record_calls(&self, rows: &[CallRow]) -> StoreResult<()>;
    async fn calls(&self, f: &CallFilter) -> StoreResult<Vec<CallRow>>;
    /// Attempts to `phone` (any campaign of the client) started at or after `since`, oldest first.
    async fn attempts_since(&self, client: &ClientId, phone: &str, since: i64) -> StoreResult<Vec<i64>>;

    // Do-not-call.
    async fn dnc_add(&self, client: &str, phones: &[String], source: &str, now: i64) -> StoreResult<u64>;
    async fn dnc_remove(&self, client: &str, phone: &str) -> StoreResult<bool>;
    /// The entry that blocks `phone` for `client` (its own list or the global one).
    async fn dnc_find(&self, client: &ClientId, phone: &str) -> StoreResult<Option<DncRow>>;
    async fn dnc_list(&self, client: &str, after: Option<&str>, limit: u32) -> StoreResult<Vec<DncRow>>;

    // Webhooks and their outbox.
    async fn webhook_create(&self, w: &WebhookRow) -> StoreResult<()>;
    /// `client` None: every webhook.
    async fn webhooks(&self, client: Option<&str>) -> StoreResult<Vec<WebhookRow>>;
    async fn webhook_delete(&self, client: &str, id: &str) -> StoreResult<bool>;
    async fn outbox_add(&self, rows: &[OutboxInsert], now: i64) -> StoreResult<()>;
    /// Due rows that head their group (the oldest pending of it), oldest first.
    async fn outbox_heads(&self, webhook: &str, now: i64, limit: u32) -> StoreResult<Vec<OutboxRow>>;
    /// When the webhook's earliest pending row is due.
    async fn outbox_next_due(&self, webhook: &str) -> StoreResult<Option<i64>>;
    async fn outbox_delivered(&self, id: i64) -> StoreResult<()>;
    async fn outbox_retry(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()>;
    async fn outbox_dead(&self, id: i64, error: &str) -> StoreResult<()>;
    async fn outbox_dead_list(&self, webhook: &str, limit: u32) -> StoreResult<Vec<OutboxRow>>;
    /// A dead row becomes pending again (due now, attempts reset).
    async fn outbox_replay(&self, webhook: &str, id: i64, now: i64) -> StoreResult<bool>;
    /// Pending rows, all webhooks.
    async fn outbox_depth(&self) -> StoreResult<i64>;

    // Agents and groups created through the API.
    async fn agent_create(&self, a: &AgentRow) -> StoreResult<()>;
    async fn agents(&self) -> StoreResult<Vec<AgentRow>>;
    async fn agent_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool>;
    async fn group_create(&self, g: &AgentGroupRow) -> StoreResult<()>;
    async fn groups(&self) -> StoreResult<Vec<AgentGroupRow>>;
    async fn group_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool>;

    /// Records a click-to-call nonce of `site`; false when it was already
    /// used (a replay). Expired nonces are purged on the way.
    async fn nonce_use(&self, site: &str, nonce: &str, expires_at: i64, now: i64) -> StoreResult<bool>;
    async fn click_insert(&self, c: &ClickRow) -> StoreResult<()>;
    async fn click_update(&self, id: &str, u: &ClickUpdate, now: i64) -> StoreResult<()>;
    async fn click(&self, id: &str) -> StoreResult<Option<ClickRow>>;
    /// Requests of `site` (to `phone` when given) created at or after `since`.
    async fn click_count(&self, site: &str, phone: Option<&str>, since: i64) -> StoreResult<u64>;
    /// Drops the phone number and visitor info of requests made (or, when
    /// scheduled, due) before `before`; never of one still scheduled.
    async fn click_forget(&self, before: i64) -> StoreResult<u64>;
    /// Fails the requests the last run left running (not the scheduled
    /// ones: they wait for their time); their ids.
    async fn click_interrupted(&self, now: i64) -> StoreResult<Vec<String>>;
    /// Requests waiting for their time, earliest first.
    async fn click_scheduled(&self) -> StoreResult<Vec<ClickRow>>;
    /// A scheduled request starts: `scheduled` becomes `requested`; false
    /// when it was no longer scheduled.
    async fn click_claim(&self, id: &str, now: i64) -> StoreResult<bool>;

    // Lead qualification.
    /// Creates or replaces a service (lead services come from the config).
    async fn put_service(&self, s: &ServiceRow) -> StoreResult<()>;
    async fn set_campaign_settings(&self, id: CampaignId, settings: &str) -> StoreResult<()>;
    async fn lead_token_create(&self, hash: &[u8], account_key: &str, expires_at: i64) -> StoreResult<()>;
    /// Marks the token used; true when it existed for this account, was
    /// unused and unexpired. Used tokens older than `purge_before` go.
    async fn lead_token_consume(&self, hash: &[u8], account_key: &str, now: i64) -> StoreResult<bool>;
    async fn lead_tokens_purge(&self, now: i64) -> StoreResult<u64>;
    async fn lead_key_add(&self, k: &LeadKeyRow) -> StoreResult<()>;
    async fn lead_keys(&self, client: &ClientId) -> StoreResult<Vec<LeadKeyRow>>;
    async fn lead_key_delete(&self, client: &ClientId, id: &str) -> StoreResult<bool>;
    async fn lead_key_find(&self, hash: &[u8]) -> StoreResult<Option<LeadKeyRow>>;
    /// Inserts a lead; an existing (account, interaction) pair returns the
    /// existing lead and `false`.
    async fn lead_insert(&self, l: &LeadInsert) -> StoreResult<(LeadId, bool)>;
    async fn lead(&self, id: LeadId) -> StoreResult<Option<LeadRow>>;
    async fn lead_by_record(&self, record: RecordId) -> StoreResult<Option<LeadRow>>;
    /// The record a lead's data names in its qualification campaign.
    async fn lead_record(&self, campaign: CampaignId, lead: LeadId) -> StoreResult<Option<RecordId>>;
    async fn lead_update(&self, id: LeadId, u: &LeadUpdate) -> StoreResult<()>;
    async fn lead_history(&self, id: LeadId) -> StoreResult<Vec<(i64, String, String)>>;
    async fn lead_messages(&self, id: LeadId) -> StoreResult<Vec<MessageRow>>;
    /// Pending leads the leads actor may have missed news of: no record
    /// yet, or a record that ended or has more finished attempts than
    /// the lead counted.
    async fn leads_stale(&self) -> StoreResult<Vec<LeadRow>>;
    async fn leads(&self, f: &LeadFilter) -> StoreResult<Vec<LeadRow>>;
    async fn messages_due(&self, now: i64, limit: u32) -> StoreResult<Vec<MessageRow>>;
    async fn message_next_due(&self) -> StoreResult<Option<i64>>;
    async fn message_sent(&self, id: i64, now: i64) -> StoreResult<()>;
    async fn message_retry(&self, id: i64, next_at: i64, error: &str) -> StoreResult<()>;
    async fn message_failed(&self, id: i64, error: &str) -> StoreResult<()>;
}
