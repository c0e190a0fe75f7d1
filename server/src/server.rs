//! The listener: accepts connections (HTTP/1.1 and h2c) up to a cap, closes connections that stay idle or whose
//! first request or request head is too slow ([`crate::connections`]), re-signs the timestamp in the background, watches a remote store for publishes made by other
//! replicas ([`store_poller`]), and shuts down gracefully on SIGTERM/SIGINT (stops accepting, lets in-flight
//! requests finish within the grace period).
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::connections::{AcceptBackoff, ConnLimit, ConnWatch};
use crate::publish::{self, Published};
use crate::state::AppState;
use crate::storage::ObjectKey;
use x0x_dist_manifests::codes::Coded as _;

/// [`publish::refresh_if_due`] on this server's store, keys and settings, now (the caller holds `repo_lock`).
async fn refresh_if_due(
    st: &AppState,
) -> Result<Option<time::OffsetDateTime>, crate::error::ApiError> {
    publish::refresh_if_due(
        &*st.store,
        &*st.coordinator,
        &st.keys_dir,
        &st.config.timestamp,
        time::OffsetDateTime::now_utc(),
        &st.metrics,
    )
    .await
}

/// The expiry of the timestamp this replica serves.
async fn served_expiry(st: &AppState) -> Result<time::OffsetDateTime, crate::error::ApiError> {
    if st.coordinator.authoritative() {
        let h = st.seen_timestamp().await?;
        return Ok(time::OffsetDateTime::from_unix_timestamp(h.expires)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH));
    }
    publish::timestamp_expiry(&*st.store).await
}

/// After this process re-signed: serve it, and with a database update the store's copy.
async fn after_refresh(st: &AppState) {
    st.timestamp_written().await;
    if st.coordinator.authoritative() {
        if let Err(e) = st.write_timestamp_copy().await {
            tracing::warn!(code = e.code().as_str(), error = %e, "writing the store's copy of timestamp.json");
        }
    }
}

/// Starts the coordinator (database migrations and seeding, or the object store's writer claim), checks the
/// repository (metadata parses, online keys authorized) and re-signs an expiring timestamp.
pub async fn startup_check(st: &AppState) -> anyhow::Result<()> {
    let check = async {
        st.coordinator.start(&st.store).await?;
        let head = st.coordinator.head(&*st.store).await?;
        let cur = Published::load_at(&*st.store, &head.bytes).await?;
        publish::load_online_keys(&st.keys_dir, cur.root.signed()).await?;
        let _lock = st.repo_lock.lock().await;
        let refreshed = refresh_if_due(st).await;
        after_refresh(st).await;
        refreshed?;
        served_expiry(st).await
    };
    let exp = check
        .await
        .map_err(anyhow::Error::new)
        .with_context(|| format!("repository {} is not servable", st.store.describe()))?;
    st.metrics
        .set_timestamp_expires(u64::try_from(exp.unix_timestamp()).unwrap_or(0));
    st.ready.store(true, Ordering::Release);
    Ok(())
}

/// Re-signs the timestamp whenever it is due, until the process ends; raises the expiring-timestamp alarm (log
/// and metric) when less than half the re-sign margin is left (the re-sign kept failing).
pub async fn refresher(st: Arc<AppState>) {
    let every = Duration::from_secs(st.config.timestamp.check_interval_secs.max(1));
    loop {
        tokio::time::sleep(every).await;
        let lock = st.repo_lock.lock().await;
        let refreshed = refresh_if_due(&st).await;
        drop(lock);
        if !matches!(refreshed, Ok(None)) {
            after_refresh(&st).await;
        }
        match refreshed {
            Ok(Some(exp)) => {
                AppState::refresh_views_in_background(&st);
                st.metrics
                    .set_timestamp_expires(u64::try_from(exp.unix_timestamp()).unwrap_or(0));
                tracing::info!(expires = %publish::fmt_time(exp), "timestamp re-signed");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(code = e.code().as_str(), error = %e, "timestamp refresh failed");
            }
        }
        if let Ok(exp) = served_expiry(&st).await {
            let margin = time::Duration::seconds(
                i64::try_from(st.config.timestamp.refresh_before_secs / 2).unwrap_or(0),
            );
            let expiring = exp - time::OffsetDateTime::now_utc() < margin;
            st.metrics.set_timestamp_expiring(expiring);
            if expiring {
                tracing::error!(expires = %publish::fmt_time(exp), "ALARM: the served timestamp expires soon and was not re-signed (check the online keys and the coordinator)");
            }
        }
    }
}

/// With a database: follows the current timestamp. Commit notices (`LISTEN`) make this replica serve a commit
/// made through another one at once (median well under 100 ms on one network); a poll of the database every
/// `[storage] poll_secs` is the fallback (a notice lost while the listener reconnected). Whatever the order of
/// arrival, the served timestamp only moves forward ([`AppState::observe`]). The store's convenience copy of
/// `timestamp.json` is repaired when it lags. Returns the tasks (the listener and the poller).
pub fn spawn_db_watch(st: &Arc<AppState>) -> Vec<tokio::task::JoinHandle<()>> {
    let Some(db) = st.coordinator.database() else {
        return Vec::new();
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let metrics_st = Arc::downgrade(st);
    let listener = db.listen(move |notice| {
        if let (Some(n), Some(st)) = (&notice, metrics_st.upgrade()) {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
            st.metrics.notified(Duration::from_millis(
                u64::try_from(now_ms - n.at_ms).unwrap_or(0),
            ));
            // Already serving it (our own commit): nothing to fetch.
            if st
                .served_timestamp_version()
                .is_some_and(|v| v >= n.version)
            {
                return;
            }
        }
        let _ = tx.send(());
    });
    let follow = {
        let st = st.clone();
        let every = Duration::from_secs(st.config.storage.poll_secs.max(1));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let polled = tokio::select! {
                    n = rx.recv() => {
                        if n.is_none() { return; }
                        false
                    }
                    _ = tick.tick() => true,
                };
                if !polled {
                    // A notice: the new timestamp with its age (served once surely ripe).
                    if let Err(e) = st.check_timeline().await {
                        tracing::debug!(code = e.code().as_str(), error = %e, "checking the timestamps");
                    }
                }
                match st.coordinator.head(&*st.store).await {
                    Ok(h) => {
                        if st.observe(&h) {
                            tracing::debug!(polled, "new timestamp from the database");
                            AppState::refresh_views_in_background(&st);
                        }
                        if polled {
                            // Repairs a copy a crashed or slow committer left behind.
                            if let Err(e) = st.write_timestamp_copy().await {
                                tracing::debug!(code = e.code().as_str(), error = %e, "timestamp copy");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code().as_str(), error = %e, "reading the current timestamp from the database failed");
                    }
                }
            }
        })
    };
    // While `timestamp.json` is being asked for, a check every `POLL` keeps one fresh, so requests are answered
    // from memory (`coordinator::timeline`).
    let fresh = {
        let st = Arc::downgrade(st);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::coordinator::timeline::POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(st) = st.upgrade() else { return };
                if st.timestamp_asked_within(Duration::from_secs(1)) {
                    if let Err(e) = st.check_timeline().await {
                        tracing::debug!(code = e.code().as_str(), error = %e, "checking the timestamps");
                    }
                }
            }
        })
    };
    vec![listener, follow, fresh]
}

/// Watches the store for changes made by other processes when its tags are not cheap enough to check per
/// request ([`crate::storage::Store::etag_is_cheap`]; see [`crate::state`]): every `[storage] poll_secs` it reads
/// the tag of `timestamp.json`; on a change it records the new tag (which makes the cached `timestamp.json`,
/// `root.json` and package views stale), rebuilds the package views in the background and updates the
/// timestamp-expiry metric. A publish made through another replica is thus served here within `poll_secs` (plus
/// the request that reloads it). Runs until the process ends.
pub async fn store_poller(st: Arc<AppState>) {
    let every = Duration::from_secs(st.config.storage.poll_secs.max(1));
    loop {
        tokio::time::sleep(every).await;
        match st.store.object_etag(&ObjectKey::timestamp()).await {
            Ok(etag) => {
                if st.record_timestamp(etag) {
                    tracing::debug!("timestamp.json changed in the store");
                    AppState::refresh_views_in_background(&st);
                    if let Ok(exp) = publish::timestamp_expiry(&*st.store).await {
                        st.metrics.set_timestamp_expires(
                            u64::try_from(exp.unix_timestamp()).unwrap_or(0),
                        );
                    }
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code().as_str(), error = %e, store = %st.store.describe(), "polling the store failed");
            }
        }
    }
}

/// Starts [`store_poller`] if the store needs one (its tags are not cheap); `None` otherwise.
pub fn spawn_store_poller(st: &Arc<AppState>) -> Option<tokio::task::JoinHandle<()>> {
    (!st.store.etag_is_cheap() && !st.coordinator.authoritative())
        .then(|| tokio::spawn(store_poller(st.clone())))
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// The shared state.
    pub state: Arc<AppState>,
}

/// Binds, checks the repository, and serves until `shutdown` resolves.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.bind.listen)
        .await
        .with_context(|| format!("binding {}", config.bind.listen))?;
    let (running, task) = serve_on(listener, config, shutdown).await?;
    tracing::info!(addr = %running.addr, repo = %running.state.repo_dir.display(), store = %running.state.store.describe(), "serving");
    task.await.context("server task")?
}

/// Serves on an already bound listener; returns once the server is ready, with its task.
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(Running, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    // Keep the code (config.invalid, io.error for an unreachable object store...) for the CLI's exit and hint.
    let state = Arc::new(
        AppState::new(config)
            .map_err(|e| x0x_dist_repository::Error::new(e.code(), e.to_string()))?,
    );
    serve_state_on(listener, state, shutdown).await
}

/// [`serve_on`] with a state built by the caller (any store: [`AppState::with_store`]).
pub async fn serve_state_on(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(Running, tokio::task::JoinHandle<anyhow::Result<()>>)> {
    let addr = listener.local_addr()?;
    let mode = crate::mirror::pull::startup(
        &state,
        state.config.mirror.upstream.as_deref(),
        Duration::from_secs(state.config.mirror.refresh_secs.max(1)),
    )
    .await?;
    // Build the package views now rather than on the first API request (hundreds of ms for big roles).
    AppState::refresh_views_in_background(&state);
    let mut app = crate::router::router(state.clone());
    let refresh = match mode {
        // A follower replica (`--publish-via`): the leader signs; no online keys, no refresher here.
        crate::mirror::pull::Mode::Origin if state.config.replica.publish_via.is_some() => {
            let leader = state.config.replica.publish_via.clone().unwrap_or_default();
            crate::forward::startup_check(&state, &leader).await?;
            Some(tokio::spawn(crate::forward::watch(state.clone())))
        }
        crate::mirror::pull::Mode::Origin => {
            startup_check(&state).await?;
            Some(tokio::spawn(refresher(state.clone())))
        }
        // A mirror never signs: no online keys, no timestamp refresher.
        crate::mirror::pull::Mode::Mirror(pull) => {
            if let Some(p) = pull {
                // The npm view takes release records from the upstream's /npm/ and targets through the pull.
                state.npm.set_upstream(crate::npm::registry::Upstream {
                    url: p.upstream().to_owned(),
                    pull: p.clone(),
                });
                app = app.layer(axum::middleware::from_fn_with_state(
                    (p, state.clone()),
                    crate::mirror::pull::middleware,
                ));
            }
            None
        }
    };
    let poller = spawn_store_poller(&state);
    let db_watch = spawn_db_watch(&state);
    let limits = &state.config.limits;
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    let idle_timeout = Duration::from_secs(limits.idle_timeout_secs.max(1));
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    let conns = ConnLimit::new(limits.max_connections().max(1));
    tracing::info!(
        max_connections = conns.max(),
        nofile = ?crate::connections::nofile_soft_limit(),
        "connection limits"
    );
    let task = tokio::spawn(async move {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .keep_alive(true);
        builder.http2().timer(TokioTimer::new());
        // Shutdown: `stop` asks every connection to finish its requests and close; `kill` drops the ones still
        // open when the grace period is over.
        let stop = CancellationToken::new();
        let kill = CancellationToken::new();
        let mut backoff = AcceptBackoff::default();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _peer)) => {
                            backoff.succeeded();
                            stream
                        }
                        Err(e) => {
                            tokio::time::sleep(backoff.failed(&e)).await;
                            continue;
                        }
                    };
                    let Some(permit) = conns.try_admit() else {
                        conns.reject(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let watch = ConnWatch::new(header_timeout, idle_timeout);
                    let svc = tracked(app.clone(), watch.clone());
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
                    let (stop, kill) = (stop.clone(), kill.clone());
                    tokio::spawn(async move {
                        // Until it ends; closed gracefully when its deadline passes (ConnWatch) or the server
                        // shuts down, dropped when the grace period is over.
                        tokio::pin!(conn);
                        let mut closing = false;
                        let hard_stop = tokio::time::sleep(Duration::from_secs(86_400 * 365));
                        tokio::pin!(hard_stop);
                        loop {
                            tokio::select! {
                                r = conn.as_mut() => {
                                    if let Err(e) = r {
                                        tracing::debug!(error = %e, "connection ended with an error");
                                    }
                                    break;
                                }
                                () = watch.expired(), if !closing => {
                                    tracing::debug!("closing an idle connection");
                                    conn.as_mut().graceful_shutdown();
                                    closing = true;
                                    // A peer that ignores the close is dropped soon after.
                                    hard_stop.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(1));
                                }
                                () = stop.cancelled(), if !closing => {
                                    conn.as_mut().graceful_shutdown();
                                    closing = true;
                                }
                                () = &mut hard_stop => break,
                                () = kill.cancelled() => break,
                            }
                        }
                        drop(permit);
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(listener);
        for task in [refresh, poller].into_iter().flatten().chain(db_watch) {
            task.abort();
        }
        tracing::info!("shutting down: waiting for in-flight requests");
        stop.cancel();
        if tokio::time::timeout(grace, conns.all_closed())
            .await
            .is_err()
        {
            tracing::warn!("grace period over; closing remaining connections");
            kill.cancel();
        }
        Ok(())
    });
    Ok((Running { addr, state }, task))
}

/// The router as a hyper service that marks each request in flight on `watch` until its response body is sent
/// or dropped.
fn tracked(
    app: axum::Router,
    watch: Arc<ConnWatch>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = hyper::Response<axum::body::Body>,
    Error = std::convert::Infallible,
    Future = impl Future<
        Output = Result<hyper::Response<axum::body::Body>, std::convert::Infallible>,
    > + Send,
> + Clone {
    use http_body_util::BodyExt as _;
    use hyper::service::Service as _;
    let svc = hyper_util::service::TowerToHyperService::new(app);
    hyper::service::service_fn(move |req| {
        let in_flight = watch.begin();
        let fut = svc.call(req);
        async move {
            let resp = fut.await?;
            Ok(resp.map(|body| {
                axum::body::Body::new(body.map_frame(move |frame| {
                    let _in_flight = &in_flight;
                    frame
                }))
            }))
        }
    })
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
