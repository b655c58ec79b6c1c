//! The notes API: routes, state and the server loop. `main.rs` only reads the
//! configuration and calls [`run`]; the tests build the router with [`app`].

pub mod config;
pub mod db;
pub mod metrics;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::rejection::JsonRejection;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use notes_model::{ApiError, NewNote, Note};
use serde::Deserialize;
use tower_http::services::{ServeDir, ServeFile};

pub use config::Config;
pub use db::Db;

pub struct AppState {
    pub db: Db,
    pub metrics: metrics::Metrics,
    /// Set on SIGTERM: `/readyz` then fails so load balancers stop sending
    /// new requests while in-flight ones finish.
    pub shutting_down: AtomicBool,
}

type Shared = Arc<AppState>;

/// The whole HTTP surface. `web_dist` is the built front end, served for
/// every path the API does not own (with `index.html` as the fallback).
pub fn app(state: Shared, web_dist: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/api/notes", get(list_notes).post(create_note))
        .route("/api/notes/{id}", get(get_note).delete(delete_note))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text));
    let api = match web_dist.filter(|d| d.join("index.html").is_file()) {
        Some(dist) => api.fallback_service(
            ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html"))),
        ),
        None => api.fallback(|| async { error(StatusCode::NOT_FOUND, "not found") }),
    };
    api.layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Records every request's metrics and logs it.
async fn observe(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None if request.uri().path().starts_with("/api/") => "unmatched".to_owned(),
        None => "static".to_owned(),
    };
    let response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, elapsed);
    tracing::info!(
        method,
        route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(ApiError::new(message))).into_response()
}

fn internal(e: db::DbError) -> Response {
    tracing::error!(error = %e, "request failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<String>,
}

async fn list_notes(State(state): State<Shared>, Query(query): Query<ListQuery>) -> Response {
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (1..=500).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "limit must be an integer between 1 and 500",
            );
        }
    };
    match state.db.list(limit).await {
        Ok(notes) => Json(notes).into_response(),
        Err(e) => internal(e),
    }
}

async fn create_note(
    State(state): State<Shared>,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Response {
    let new = match body {
        Ok(Json(new)) => new,
        Err(rejection) => return error(rejection.status(), &rejection.body_text()),
    };
    let valid = match new.validate() {
        Ok(valid) => valid,
        Err(fields) => {
            let body = ApiError {
                error: "invalid note".to_owned(),
                fields,
            };
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    match state.db.insert(&id, &valid, now_millis()).await {
        Ok(note) => (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/api/notes/{id}"))],
            Json(note),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn get_note(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.db.get(&id).await {
        Ok(Some(note)) => Json::<Note>(note).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "note not found"),
        Err(e) => internal(e),
    }
}

async fn delete_note(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.db.delete(&id).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, "note not found"),
        Err(e) => internal(e),
    }
}

/// Liveness: the process answers. Never touches the database, so a database
/// outage does not make Kubernetes restart every pod.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database answers and its schema is at least the version
/// this build expects.
async fn readyz(State(state): State<Shared>) -> Response {
    if state.shutting_down.load(Ordering::Relaxed) {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    match state.db.schema_version().await {
        // At least the expected version: migrations are additive (expand
        // first, contract in a later release), so pods of the previous
        // release stay ready while the migration Job moves the schema ahead.
        Ok(Some(version)) if version >= db::SCHEMA_VERSION => Json(serde_json::json!({
            "status": "ready",
            "schema_version": version,
        }))
        .into_response(),
        Ok(found) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "schema version {} but this build needs at least {}",
                found.map_or("none".to_owned(), |v| v.to_string()),
                db::SCHEMA_VERSION
            ),
        ),
        Err(e) => internal(e),
    }
}

async fn metrics_text(State(state): State<Shared>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

fn now_millis() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Connects, migrates (unless told not to) and returns the shared state.
pub async fn state(config: &Config) -> Result<Shared, db::DbError> {
    let db = Db::connect(&config.database_url, config.database_max_connections).await?;
    if config.migrate_on_start {
        db.migrate().await?;
    }
    Ok(Arc::new(AppState {
        db,
        metrics: metrics::Metrics::default(),
        shutting_down: AtomicBool::new(false),
    }))
}

/// Serves until SIGTERM or Ctrl-C, then lets in-flight requests finish (at
/// most `config.shutdown_grace`) and closes the pool.
pub async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let state = state(&config).await?;
    let app = app(state.clone(), config.web_dist.as_deref());
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        web_dist = ?config.web_dist,
        schema_version = db::SCHEMA_VERSION,
        "listening"
    );
    let signalled = {
        let state = state.clone();
        async move {
            shutdown_signal().await;
            state.shutting_down.store(true, Ordering::Relaxed);
            tracing::info!("shutdown requested; finishing in-flight requests");
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signalled);
    let grace = config.shutdown_grace;
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result?,
        () = async {
            // Only counts once shutdown has begun.
            while !state.shutting_down.load(Ordering::Relaxed) {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "grace period over; dropping remaining connections"),
    }
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Applies pending migrations and reports the schema version.
pub async fn migrate(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let db = Db::connect(&config.database_url, 1).await?;
    db.migrate().await?;
    let version = db.schema_version().await?;
    tracing::info!(?version, "migrations applied");
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Logs to stderr: JSON lines unless stderr is a terminal (or LOG_FORMAT says).
pub fn init_logging(config: &Config) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match config.log_format {
        config::LogFormat::Json => true,
        config::LogFormat::Text => false,
        config::LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
