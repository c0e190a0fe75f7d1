//! The coordinator with PostgreSQL (`--database URL`, `[database] url`): the current timestamp, the version
//! reservations, the upload tokens and an audit log live in the database; immutable bytes stay in the store.
//!
//! Client: `tokio-postgres` (plain async client; no compile-time query checking, so builds never need a
//! database) with a `deadpool-postgres` pool; one extra connection per replica `LISTEN`s for commits. The
//! schema (`migrations/*.sql`) is embedded and applied at startup under an advisory lock (replicas starting
//! together apply it once).
//!
//! Every database failure is `database.unavailable` (503, retryable): a commit either happened completely (one
//! transaction: the compare-and-swap, the reservations marked committed, the audit row and the `NOTIFY`) or not
//! at all.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;
use x0x_dist_repository::tokens::TokenRecord;

use super::{Commit, Coordinator, Head, Outcome, WriterGuard};
use crate::config::DatabaseConfig;
use crate::error::ApiError;
use crate::storage::{ObjectKey, Store};

/// The channel commits are announced on; the payload is a [`Notice`] as JSON.
pub const CHANNEL: &str = "x0x_dist_commit";

/// The embedded migrations, in order: (version, SQL).
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("migrations/0001_init.sql")),
    (2, include_str!("migrations/0002_oidc_jti.sql")),
    (3, include_str!("migrations/0003_ts_history.sql")),
];

/// A reservation older than this whose holder never committed may be taken by another submission (the fallback:
/// a holder whose liveness lock is gone loses it at once, see [`LIVENESS_LOCK`]).
const RESERVATION_LEASE_SECS: f64 = 120.0;

/// The first key of every process's liveness lock: a session-level advisory lock
/// `(LIVENESS_LOCK, hashtext(replica id) & 0x7fffffff)` held on a connection of its own for the life of the
/// process ([`Postgres::hold_liveness`]). PostgreSQL frees it the moment that session ends (the process died,
/// `kill -9` included), so a reservation whose holder holds no liveness lock is abandoned and is taken at once.
pub const LIVENESS_LOCK: i32 = 0x5830_4431;

/// What a commit announces.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Notice {
    /// The new timestamp version.
    pub version: u64,
    /// Its SHA-256.
    pub sha256: String,
    /// The committing replica's clock, unix milliseconds (for the notify-lag metric).
    pub at_ms: i64,
    /// The committing replica.
    pub replica: String,
}

/// Counters of database calls (rendered by [`crate::metrics`]).
#[derive(Debug, Default)]
pub struct DbStats {
    /// Calls made.
    pub calls: AtomicU64,
    /// Calls that failed.
    pub errors: AtomicU64,
    /// Total call time, microseconds.
    pub micros: AtomicU64,
}

/// A token as the database keeps it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DbToken {
    /// The record (as in `tokens.json`).
    #[serde(flatten)]
    pub record: TokenRecord,
    /// Who created it.
    pub created_by: String,
    /// When it was revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
    /// When it was last used to authorize a request (RFC 3339).
    pub last_used_at: Option<String>,
}

/// See the module docs.
pub struct Postgres {
    pool: deadpool_postgres::Pool,
    config: tokio_postgres::Config,
    replica: String,
    describe: String,
    /// Database call counters.
    pub stats: Arc<DbStats>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("db", &self.describe)
            .finish_non_exhaustive()
    }
}

/// A database failure as the API reports it.
fn db_err(what: &str, e: &dyn std::fmt::Display) -> ApiError {
    ApiError::Database(format!("{what}: {e}"))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn fmt_ts(t: std::time::SystemTime) -> String {
    crate::published::fmt_time(time::OffsetDateTime::from(t))
}

impl Postgres {
    /// A pool for `url` (no connection is made until [`Coordinator::start`]).
    pub fn new(url: &str, cfg: &DatabaseConfig, replica: String) -> Result<Self, ApiError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            ApiError::Config(format!(
                "[database] url / --database / X0X_DIST_DATABASE_URL is not a PostgreSQL URL \
                 (postgres://USER[:PASSWORD]@HOST[:PORT]/DB): {e}"
            ))
        })?;
        let mut config = config;
        config.connect_timeout(Duration::from_secs(5));
        let describe = format!(
            "postgres {}/{}",
            config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(s) => s.clone(),
                    #[cfg(unix)]
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or("")
        );
        let mgr = deadpool_postgres::Manager::from_config(
            config.clone(),
            NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = deadpool_postgres::Pool::builder(mgr)
            .max_size(cfg.max_connections.unwrap_or(8).max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| ApiError::Config(format!("database pool: {e}")))?;
        Ok(Self {
            pool,
            config,
            replica,
            describe,
            stats: Arc::new(DbStats::default()),
        })
    }

    /// This replica's id (the audit log's `replica`).
    pub fn replica(&self) -> &str {
        &self.replica
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ApiError> {
        self.pool
            .get()
            .await
            .map_err(|e| db_err(&format!("connecting to {}", self.describe), &e))
    }

    /// Runs `f` with a pooled client, counting the call and its time.
    async fn timed<T>(
        &self,
        f: impl std::future::Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        let t = Instant::now();
        let r = f.await;
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.stats.micros.fetch_add(
            u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        if r.is_err() {
            self.stats.errors.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Applies the embedded migrations (for offline commands: `token --database`).
    pub async fn migrate_only(&self) -> Result<(), ApiError> {
        self.timed(self.migrate()).await
    }

    async fn migrate(&self) -> Result<(), ApiError> {
        let mut c = self.client().await?;
        let tx = c
            .transaction()
            .await
            .map_err(|e| db_err("migrations", &e))?;
        // Replicas starting together: one applies, the others wait and find it done.
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7368246617); \
             CREATE TABLE IF NOT EXISTS x0x_dist_schema (version integer PRIMARY KEY, \
             applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|e| db_err("migrations", &e))?;
        let have: i32 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM x0x_dist_schema", &[])
            .await
            .map_err(|e| db_err("migrations", &e))?
            .get(0);
        for (v, sql) in MIGRATIONS {
            if *v <= have {
                continue;
            }
            tx.batch_execute(sql)
                .await
                .map_err(|e| db_err(&format!("migration {v}"), &e))?;
            tx.execute("INSERT INTO x0x_dist_schema (version) VALUES ($1)", &[v])
                .await
                .map_err(|e| db_err("migrations", &e))?;
            tracing::info!(version = v, "database schema migrated");
        }
        tx.commit().await.map_err(|e| db_err("migrations", &e))
    }

    /// The first replica on an empty database seeds it from the store: the current `timestamp.json` and the
    /// tokens of `tokens.json`.
    async fn seed(&self, store: &dyn Store) -> Result<(), ApiError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT count(*) FROM x0x_dist_repo", &[])
            .await
            .map_err(|e| db_err("reading the repository row", &e))?
            .get(0);
        if n > 0 {
            return Ok(());
        }
        let head = Head::read(store).await?;
        let tokens: Vec<TokenRecord> = match store.get_object(&ObjectKey::Tokens).await? {
            Some(o) => {
                serde_json::from_slice::<x0x_dist_repository::tokens::TokenFile>(&o.bytes)
                    .map_err(|e| ApiError::Internal(format!("token file is invalid: {e}")))?
                    .tokens
            }
            None => Vec::new(),
        };
        let mut c = c;
        let tx = c.transaction().await.map_err(|e| db_err("seeding", &e))?;
        let inserted = tx
            .execute(
                "INSERT INTO x0x_dist_repo (id, ts_version, ts_sha256, ts_bytes, snapshot_version, updated_by) \
                 VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[
                    &to_i64(head.version),
                    &head.sha256,
                    &head.bytes.as_ref(),
                    &to_i64(head.snapshot_version),
                    &self.replica,
                ],
            )
            .await
            .map_err(|e| db_err("seeding", &e))?;
        if inserted == 1 {
            // The first timestamp: nobody served anything newer, so it is ripe at once.
            tx.execute(
                "INSERT INTO x0x_dist_ts_history (ts_version, ts_bytes, committed_at) \
                 VALUES ($1, $2, clock_timestamp() - interval '1 hour') ON CONFLICT (ts_version) DO NOTHING",
                &[&to_i64(head.version), &head.bytes.as_ref()],
            )
            .await
            .map_err(|e| db_err("seeding", &e))?;
            for t in &tokens {
                tx.execute(
                    "INSERT INTO x0x_dist_token (id, sha256, packages, created, created_by) \
                     VALUES ($1, $2, $3, $4, 'tokens.json') ON CONFLICT DO NOTHING",
                    &[&t.id, &t.sha256, &t.packages, &t.created],
                )
                .await
                .map_err(|e| db_err("seeding tokens", &e))?;
            }
            tx.execute(
                "INSERT INTO x0x_dist_audit (replica, actor, action, detail) VALUES ($1, 'replica', 'seed', $2)",
                &[
                    &self.replica,
                    &serde_json::json!({"timestamp_version": head.version, "tokens": tokens.len(), "store": store.describe()}),
                ],
            )
            .await
            .map_err(|e| db_err("seeding", &e))?;
            tracing::info!(
                timestamp_version = head.version,
                tokens = tokens.len(),
                "database seeded from the store"
            );
        }
        tx.commit().await.map_err(|e| db_err("seeding", &e))
    }

    async fn head_inner(&self) -> Result<Head, ApiError> {
        let c = self.client().await?;
        let stmt = c
            .prepare_cached("SELECT ts_bytes FROM x0x_dist_repo WHERE id = 1")
            .await
            .map_err(|e| db_err("reading the current timestamp", &e))?;
        let row = c
            .query_opt(&stmt, &[])
            .await
            .map_err(|e| db_err("reading the current timestamp", &e))?
            .ok_or_else(|| ApiError::Internal("the database holds no repository yet".into()))?;
        let bytes: Vec<u8> = row.get(0);
        Head::parse(Bytes::from(bytes))
    }

    async fn reserve_role_inner(
        &self,
        role: &str,
        version: u64,
        sha256: &str,
    ) -> Result<(), ApiError> {
        let c = self.client().await?;
        let v = to_i64(version);
        let n = c
            .execute(
                "INSERT INTO x0x_dist_reservation (role, version, holder, sha256) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (role, version) DO NOTHING",
                &[&role, &v, &self.replica, &sha256],
            )
            .await
            .map_err(|e| db_err("reserving a version", &e))?;
        if n == 1 {
            return Ok(());
        }
        // Held: by the same bytes (a retry: writing them again changes nothing), by a finished commit, or by
        // another submission — still racing, or abandoned long enough ago to take over.
        let taken = c
            .execute(
                "UPDATE x0x_dist_reservation r SET holder = $3, sha256 = $4, created_at = now() \
                 WHERE role = $1 AND version = $2 AND NOT committed AND (sha256 = $4 OR \
                 created_at < now() - make_interval(secs => $5) OR NOT EXISTS (SELECT 1 FROM pg_locks l \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ($6::int4)::int8::oid \
                 AND l.objid = (hashtext(r.holder) & 2147483647)::int8::oid))",
                &[&role, &v, &self.replica, &sha256, &RESERVATION_LEASE_SECS, &LIVENESS_LOCK],
            )
            .await
            .map_err(|e| db_err("reserving a version", &e))?;
        if taken == 1 {
            return Ok(());
        }
        let row = c
            .query_opt(
                "SELECT holder, committed, sha256 = $3 FROM x0x_dist_reservation WHERE role = $1 AND version = $2",
                &[&role, &v, &sha256],
            )
            .await
            .map_err(|e| db_err("reserving a version", &e))?;
        match row {
            Some(r) if r.get::<_, bool>(1) && r.get::<_, Option<bool>>(2) == Some(true) => Ok(()),
            Some(r) => Err(ApiError::Conflict(format!(
                "{role} (version {version} is held by another publish through replica {}; fetch the current \
                 role and retry)",
                r.get::<_, String>(0)
            ))),
            None => Err(ApiError::Conflict(role.to_owned())),
        }
    }

    async fn reserve_snapshot_inner(&self, above: u64) -> Result<u64, ApiError> {
        let c = self.client().await?;
        for _ in 0..20 {
            let r = c
                .query_one(
                    "INSERT INTO x0x_dist_reservation (role, version, holder) \
                     SELECT 'snapshot', GREATEST($1, COALESCE(MAX(version), 0)) + 1, $2 \
                     FROM x0x_dist_reservation WHERE role = 'snapshot' RETURNING version",
                    &[&to_i64(above), &self.replica],
                )
                .await;
            match r {
                Ok(row) => return Ok(to_u64(row.get(0))),
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {}
                Err(e) => return Err(db_err("reserving a snapshot version", &e)),
            }
        }
        Err(ApiError::Database(
            "reserving a snapshot version: too much contention".into(),
        ))
    }

    async fn commit_inner(&self, c: Commit<'_>) -> Result<Outcome, ApiError> {
        let client = self.client().await?;
        let (mut roles, mut versions): (Vec<String>, Vec<i64>) =
            c.roles.iter().map(|(r, v)| (r.clone(), to_i64(*v))).unzip();
        roles.push("snapshot".to_owned());
        versions.push(to_i64(c.new.snapshot_version));
        let mut detail = c.audit.detail.clone();
        if let Some(o) = detail.as_object_mut() {
            o.insert("timestamp_version".into(), c.new.version.into());
            o.insert("snapshot_version".into(), c.new.snapshot_version.into());
        }
        let notice = Notice {
            version: c.new.version,
            sha256: c.new.sha256.clone(),
            at_ms: i64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis(),
            )
            .unwrap_or(0),
            replica: self.replica.clone(),
        };
        let payload = serde_json::to_string(&notice).unwrap_or_default();
        // One statement, so one round trip and all or nothing: the compare-and-swap, and only if it matched, the
        // reservations marked committed, the audit row, the history row (`clock_timestamp()`: the last step
        // before the commit, `coordinator::timeline`), history older than an hour dropped, and the notice.
        let stmt = client
            .prepare_cached(
                "WITH won AS ( \
                   UPDATE x0x_dist_repo SET ts_version = $1, ts_sha256 = $2, ts_bytes = $3, snapshot_version = $4, \
                   updated_at = now(), updated_by = $5 WHERE id = 1 AND ts_version = $6 AND ts_sha256 = $7 \
                   RETURNING 1), \
                 res AS ( \
                   UPDATE x0x_dist_reservation r SET committed = true \
                   FROM unnest($8::text[], $9::bigint[]) AS u(role, version) \
                   WHERE r.role = u.role AND r.version = u.version AND EXISTS (SELECT 1 FROM won) RETURNING 1), \
                 aud AS ( \
                   INSERT INTO x0x_dist_audit (replica, actor, action, detail) \
                   SELECT $5, $10, $11, $12 FROM won RETURNING 1), \
                 old AS ( \
                   DELETE FROM x0x_dist_ts_history WHERE EXISTS (SELECT 1 FROM won) AND ts_version < $1 \
                   AND committed_at < clock_timestamp() - interval '1 hour' RETURNING 1), \
                 hist AS ( \
                   INSERT INTO x0x_dist_ts_history (ts_version, ts_bytes) SELECT $1, $3 FROM won \
                   ON CONFLICT (ts_version) DO UPDATE SET ts_bytes = EXCLUDED.ts_bytes, \
                   committed_at = clock_timestamp() RETURNING 1) \
                 SELECT (SELECT count(*) FROM won), (SELECT count(*) FROM res), (SELECT count(*) FROM aud), \
                   (SELECT count(*) FROM old), (SELECT count(*) FROM hist), \
                   (SELECT count(pg_notify($13, $14)) FROM won)",
            )
            .await
            .map_err(|e| db_err("commit", &e))?;
        let row = client
            .query_one(
                &stmt,
                &[
                    &to_i64(c.new.version),
                    &c.new.sha256,
                    &c.new.bytes.as_ref(),
                    &to_i64(c.new.snapshot_version),
                    &self.replica,
                    &to_i64(c.expected.version),
                    &c.expected.sha256,
                    &roles,
                    &versions,
                    &c.audit.actor,
                    &c.audit.action,
                    &detail,
                    &CHANNEL,
                    &payload,
                ],
            )
            .await
            .map_err(|e| db_err("commit", &e))?;
        Ok(if row.get::<_, i64>(0) == 1 {
            Outcome::Won
        } else {
            Outcome::Lost
        })
    }

    /// Timestamps newer than version `known`: the newest one committed at least `ripe` ago (by the database's
    /// clock) and every younger one, oldest first, each with its age in milliseconds at the query
    /// (`coordinator::timeline`). One prepared query; no rows when nothing changed.
    pub async fn timeline(&self, known: u64, ripe: Duration) -> Result<Vec<(Head, i64)>, ApiError> {
        self.timed(async {
            let c = self.client().await?;
            let stmt = c
                .prepare_cached(
                    "WITH t AS (SELECT clock_timestamp() AS now) \
                     SELECT h.ts_bytes, (EXTRACT(EPOCH FROM (t.now - h.committed_at)) * 1000)::bigint \
                     FROM x0x_dist_ts_history h, t WHERE h.ts_version > $1 AND h.ts_version >= COALESCE(( \
                       SELECT MAX(r.ts_version) FROM x0x_dist_ts_history r, t \
                       WHERE r.committed_at <= t.now - make_interval(secs => $2)), 0) \
                     ORDER BY h.ts_version",
                )
                .await
                .map_err(|e| db_err("reading the timestamps", &e))?;
            let rows = c
                .query(&stmt, &[&to_i64(known), &ripe.as_secs_f64()])
                .await
                .map_err(|e| db_err("reading the timestamps", &e))?;
            rows.iter()
                .map(|r| {
                    Ok((
                        Head::parse(Bytes::from(r.get::<_, Vec<u8>>(0)))?,
                        r.get::<_, i64>(1),
                    ))
                })
                .collect()
        })
        .await
    }

    /// Checks a presented token's hash: the token's id and packages if it exists and is not revoked (and records
    /// its use).
    pub async fn authorize(&self, sha256: &str) -> Result<Option<(String, Vec<String>)>, ApiError> {
        self.timed(async {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "UPDATE x0x_dist_token SET last_used_at = now() WHERE sha256 = $1 AND revoked_at IS NULL \
                     RETURNING id, packages",
                    &[&sha256],
                )
                .await
                .map_err(|e| db_err("checking a token", &e))?;
            Ok(row.map(|r| (r.get(0), r.get(1))))
        })
        .await
    }

    /// Creates a token for `packages` (stored as its hash); returns the token, shown once.
    pub async fn create_token(
        &self,
        packages: &[String],
        actor: &str,
    ) -> Result<(String, TokenRecord), ApiError> {
        let (token, rec) = x0x_dist_repository::tokens::new_token(packages)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        self.timed(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(|e| db_err("creating a token", &e))?;
            tx.execute(
                "INSERT INTO x0x_dist_token (id, sha256, packages, created, created_by) VALUES ($1, $2, $3, $4, $5)",
                &[&rec.id, &rec.sha256, &rec.packages, &rec.created, &actor],
            )
            .await
            .map_err(|e| db_err("creating a token", &e))?;
            tx.execute(
                "INSERT INTO x0x_dist_audit (replica, actor, action, detail) VALUES ($1, $2, 'token.create', $3)",
                &[&self.replica, &actor, &serde_json::json!({"id": rec.id, "packages": rec.packages})],
            )
            .await
            .map_err(|e| db_err("creating a token", &e))?;
            tx.commit().await.map_err(|e| db_err("creating a token", &e))
        })
        .await?;
        Ok((token, rec))
    }

    /// Revokes token `id` on every replica at once; `false` if no live token has that id.
    pub async fn revoke_token(&self, id: &str, actor: &str) -> Result<bool, ApiError> {
        self.timed(async {
            let mut c = self.client().await?;
            let tx = c
                .transaction()
                .await
                .map_err(|e| db_err("revoking a token", &e))?;
            let n = tx
                .execute(
                    "UPDATE x0x_dist_token SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL",
                    &[&id, &actor],
                )
                .await
                .map_err(|e| db_err("revoking a token", &e))?;
            if n == 1 {
                tx.execute(
                    "INSERT INTO x0x_dist_audit (replica, actor, action, detail) VALUES ($1, $2, 'token.revoke', $3)",
                    &[&self.replica, &actor, &serde_json::json!({"id": id})],
                )
                .await
                .map_err(|e| db_err("revoking a token", &e))?;
            }
            tx.commit().await.map_err(|e| db_err("revoking a token", &e))?;
            Ok(n == 1)
        })
        .await
    }

    /// Records the OIDC token `key` (SHA-256 of `iss NUL jti`) as exchanged until `exp`; `false` if it already
    /// is (a replay, on any replica). Rows that expired before `forget_before` are deleted on the way.
    pub async fn remember_jti(
        &self,
        key: &[u8],
        exp: i64,
        forget_before: i64,
    ) -> Result<bool, ApiError> {
        self.timed(async {
            let c = self.client().await?;
            c.execute(
                "DELETE FROM x0x_dist_oidc_jti WHERE exp < $1",
                &[&forget_before],
            )
            .await
            .map_err(|e| db_err("forgetting expired OIDC jtis", &e))?;
            let n = c
                .execute(
                    "INSERT INTO x0x_dist_oidc_jti (key, exp) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    &[&key, &exp],
                )
                .await
                .map_err(|e| db_err("recording an OIDC jti", &e))?;
            Ok(n == 1)
        })
        .await
    }

    /// Every token, revoked ones included.
    pub async fn list_tokens(&self) -> Result<Vec<DbToken>, ApiError> {
        self.timed(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT id, sha256, packages, created, created_by, revoked_at, last_used_at \
                     FROM x0x_dist_token ORDER BY created, id",
                    &[],
                )
                .await
                .map_err(|e| db_err("listing tokens", &e))?;
            Ok(rows
                .into_iter()
                .map(|r| DbToken {
                    record: TokenRecord {
                        id: r.get(0),
                        sha256: r.get(1),
                        packages: r.get(2),
                        created: r.get(3),
                    },
                    created_by: r.get(4),
                    revoked_at: r.get::<_, Option<std::time::SystemTime>>(5).map(fmt_ts),
                    last_used_at: r.get::<_, Option<std::time::SystemTime>>(6).map(fmt_ts),
                })
                .collect())
        })
        .await
    }

    /// The audit log, newest first: (at, replica, actor, action, detail).
    pub async fn audit(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, String, String, String, serde_json::Value)>, ApiError> {
        self.timed(async {
            let c = self.client().await?;
            let rows = c
                .query(
                    "SELECT at, replica, actor, action, detail FROM x0x_dist_audit ORDER BY id DESC LIMIT $1",
                    &[&limit],
                )
                .await
                .map_err(|e| db_err("reading the audit log", &e))?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    (
                        fmt_ts(r.get(0)),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                    )
                })
                .collect())
        })
        .await
    }

    /// Holds this process's liveness lock ([`LIVENESS_LOCK`]) on a connection of its own until the process ends,
    /// taking it again after the connection is lost. Returns once it is first held (or after a few seconds
    /// without: the database is down, or another live process has the same replica id — its reservations then
    /// fall back on the lease).
    async fn hold_liveness(&self) {
        let config = self.config.clone();
        let id = self.replica.clone();
        let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let mut held_tx = Some(held_tx);
            loop {
                if let Ok((client, conn)) = config.connect(NoTls).await {
                    let driver = tokio::spawn(conn);
                    let got = client
                        .query_one(
                            "SELECT pg_try_advisory_lock($1, hashtext($2) & 2147483647)",
                            &[&LIVENESS_LOCK, &id],
                        )
                        .await
                        .map(|r| r.get::<_, bool>(0));
                    match got {
                        Ok(true) => {
                            if let Some(tx) = held_tx.take() {
                                let _ = tx.send(());
                            }
                            // Held while the session lives; the client stays here so the session does.
                            let _ = driver.await;
                            drop(client);
                            tracing::warn!("database liveness session lost; taking the lock again");
                        }
                        Ok(false) => {
                            tracing::warn!(
                                replica = %id,
                                "another live process holds this replica id's liveness lock (same --replica-id?)"
                            );
                            drop(client);
                            driver.abort();
                        }
                        Err(e) => {
                            tracing::debug!(error = %e, "taking the liveness lock");
                            driver.abort();
                        }
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(3), held_rx).await;
    }

    /// Listens for commits until the process ends, calling `on` with each [`Notice`] (and with `None` after
    /// every (re)connection: commits may have been missed meanwhile). Reconnects after a failure.
    pub fn listen(
        &self,
        on: impl Fn(Option<Notice>) + Send + Sync + 'static,
    ) -> tokio::task::JoinHandle<()> {
        use futures_util::StreamExt as _;
        let config = self.config.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                match config.connect(NoTls).await {
                    Ok((client, mut conn)) => {
                        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
                        let driver = tokio::spawn(async move {
                            let mut messages =
                                futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
                            while let Some(m) = messages.next().await {
                                match m {
                                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                                        if tx.send(n.payload().to_owned()).is_err() {
                                            return;
                                        }
                                    }
                                    Ok(_) => {}
                                    Err(e) => {
                                        tracing::warn!(error = %e, "database listener connection failed");
                                        return;
                                    }
                                }
                            }
                        });
                        match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                            Ok(()) => {
                                backoff = Duration::from_millis(200);
                                on(None);
                                while let Some(p) = rx.recv().await {
                                    match serde_json::from_str::<Notice>(&p) {
                                        Ok(n) => on(Some(n)),
                                        Err(_) => on(None),
                                    }
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "LISTEN failed"),
                        }
                        driver.abort();
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "database listener cannot connect");
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        })
    }
}

impl Coordinator for Postgres {
    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn authoritative(&self) -> bool {
        true
    }

    fn start<'a>(&'a self, store: &'a Arc<dyn Store>) -> BoxFuture<'a, Result<(), ApiError>> {
        async move {
            self.timed(self.migrate()).await?;
            self.timed(self.seed(&**store)).await?;
            self.hold_liveness().await;
            Ok(())
        }
        .boxed()
    }

    fn lock(&self) -> BoxFuture<'_, Result<WriterGuard, ApiError>> {
        // Replicas race; the compare-and-swap decides.
        futures_util::future::ready(Ok(Box::new(()) as WriterGuard)).boxed()
    }

    fn head<'a>(&'a self, _store: &'a dyn Store) -> BoxFuture<'a, Result<Head, ApiError>> {
        self.timed(self.head_inner()).boxed()
    }

    fn head_newer_than<'a>(
        &'a self,
        _store: &'a dyn Store,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<Head>, ApiError>> {
        self.timed(async move {
            let c = self.client().await?;
            let row = c
                .query_opt(
                    "SELECT ts_bytes FROM x0x_dist_repo WHERE id = 1 AND ts_version > $1",
                    &[&to_i64(version)],
                )
                .await
                .map_err(|e| db_err("reading the current timestamp", &e))?;
            row.map(|r| Head::parse(Bytes::from(r.get::<_, Vec<u8>>(0))))
                .transpose()
        })
        .boxed()
    }

    fn reserve_role<'a>(
        &'a self,
        role: &'a str,
        version: u64,
        sha256: &'a str,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        self.timed(self.reserve_role_inner(role, version, sha256))
            .boxed()
    }

    fn reserve_snapshot(&self, above: u64) -> BoxFuture<'_, Result<u64, ApiError>> {
        self.timed(self.reserve_snapshot_inner(above)).boxed()
    }

    fn commit<'a>(
        &'a self,
        _store: &'a dyn Store,
        c: Commit<'a>,
    ) -> BoxFuture<'a, Result<Outcome, ApiError>> {
        self.timed(self.commit_inner(c)).boxed()
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        self.timed(async {
            let c = self.client().await?;
            c.simple_query("SELECT 1")
                .await
                .map_err(|e| db_err("ping", &e))?;
            Ok(())
        })
        .boxed()
    }

    fn database(&self) -> Option<&Postgres> {
        Some(self)
    }
}
