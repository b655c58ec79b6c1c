//! The HTTP API end to end through the router, against SQLite (always) and a
//! real PostgreSQL (TEST_DATABASE_URL, from .ci/services.sh).

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use notes_api::{Config, db::SCHEMA_VERSION};
use notes_model::{ApiError, Note};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Api {
    router: axum::Router,
    state: Arc<notes_api::AppState>,
}

impl Api {
    async fn new(database_url: &str) -> Api {
        let vars = env_config_vars(&[("DATABASE_URL", database_url)]);
        let config = Config::from_vars(&vars).unwrap();
        let state = notes_api::state(&config).await.unwrap();
        Api {
            router: notes_api::app(state.clone(), None),
            state,
        }
    }

    async fn call(&self, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(uri);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_owned())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }
}

fn env_config_vars(pairs: &[(&str, &str)]) -> env_config::Vars {
    env_config::Vars::from_pairs(pairs.iter().copied())
}

/// The same scenario for every database.
async fn crud_scenario(api: &Api) {
    let (status, body) = api.call("GET", "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["schema_version"], SCHEMA_VERSION);
    assert_eq!(api.call("GET", "/healthz", None).await.0, StatusCode::OK);

    let (status, body) = api.call("GET", "/api/notes", None).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "[]"));

    let (status, body) = api
        .call(
            "POST",
            "/api/notes",
            Some(r#"{"title":"  Crème brûlée ","body":"eggs, sugar"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first: Note = serde_json::from_str(&body).unwrap();
    assert_eq!(first.title, "Crème brûlée");
    assert_eq!(first.slug, "creme-brulee");
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (_, body) = api
        .call("POST", "/api/notes", Some(r#"{"title":"Second"}"#))
        .await;
    let second: Note = serde_json::from_str(&body).unwrap();

    let (_, body) = api.call("GET", "/api/notes", None).await;
    let listed: Vec<Note> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed, [second.clone(), first.clone()], "newest first");
    let (_, body) = api.call("GET", "/api/notes?limit=1", None).await;
    assert_eq!(serde_json::from_str::<Vec<Note>>(&body).unwrap().len(), 1);

    let (status, body) = api
        .call("GET", &format!("/api/notes/{}", first.id), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Note>(&body).unwrap(), first);

    let uri = format!("/api/notes/{}", first.id);
    assert_eq!(
        api.call("DELETE", &uri, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call("DELETE", &uri, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = api.call("GET", &uri, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_str::<ApiError>(&body).unwrap().error,
        "note not found"
    );
}

async fn validation_scenario(api: &Api) {
    let (status, body) = api
        .call("POST", "/api/notes", Some(r#"{"title":"  "}"#))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error: ApiError = serde_json::from_str(&body).unwrap();
    assert_eq!(error.error, "invalid note");
    assert_eq!(error.fields[0].field, "title");

    let (status, body) = api.call("POST", "/api/notes", Some("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(serde_json::from_str::<ApiError>(&body).is_ok(), "{body}");

    let (status, _) = api
        .call(
            "POST",
            "/api/notes",
            Some(r#"{"title":"a","colour":"red"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = api.call("GET", "/api/notes?limit=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("limit must be"), "{body}");
    assert_eq!(
        api.call("GET", "/api/nothing", None).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn metrics_scenario(api: &Api) {
    let (status, text) = api.call("GET", "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains(r#"http_requests_total{method="POST",route="/api/notes",status="201"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/notes/{id}",status="404""#),
        "{text}"
    );
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn sqlite_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    // The data directory does not exist yet: the first run creates it.
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("new/dir/notes.db").display()
    );
    let api = Api::new(&url).await;
    crud_scenario(&api).await;
    validation_scenario(&api).await;
    metrics_scenario(&api).await;
    assert!(dir.path().join("new/dir/notes.db").is_file());
    api.state.db.close().await;

    // Restarting on the same file keeps the data and re-migrating is a no-op.
    let again = Api::new(&url).await;
    let (_, body) = again.call("GET", "/api/notes", None).await;
    assert_eq!(serde_json::from_str::<Vec<Note>>(&body).unwrap().len(), 1);
}

#[tokio::test]
async fn readyz_fails_until_the_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("n.db").display());
    let vars = env_config_vars(&[("DATABASE_URL", &url), ("MIGRATE_ON_START", "false")]);
    let config = Config::from_vars(&vars).unwrap();
    let state = notes_api::state(&config).await.unwrap();
    let api = Api {
        router: notes_api::app(state.clone(), None),
        state,
    };
    let (status, body) = api.call("GET", "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("schema version none but this build needs at least 2"),
        "{body}"
    );
    api.state.db.migrate().await.unwrap();
    assert_eq!(api.call("GET", "/readyz", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn postgres_end_to_end() {
    let Some(admin_url) = support::require_env("TEST_DATABASE_URL", "PostgreSQL 15") else {
        return;
    };
    // A fresh database per run, so reruns and parallel tests never collide.
    sqlx::any::install_default_drivers();
    let name = format!("notes_test_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').expect("URL with a database");
    let url = format!("{base}/{name}");

    let api = Api::new(&url).await;
    crud_scenario(&api).await;
    validation_scenario(&api).await;
    metrics_scenario(&api).await;
    let (_, body) = api.call("GET", "/readyz", None).await;
    assert!(body.contains(r#""status":"ready""#), "{body}");
    api.state.db.close().await;

    // FORCE: a pooled connection the server has not seen close yet must not
    // fail the cleanup (PostgreSQL 13+).
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&admin)
        .await
        .unwrap();
    assert!(json!(SCHEMA_VERSION).is_number());
}
