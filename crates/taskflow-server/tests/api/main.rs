//! The HTTP surfaces, in-process (`Router` + `oneshot`), on both backends.

mod api;
mod attachments;
mod endpoints;
mod forms;
mod health;
mod matrix;
mod openapi;
mod pages;
mod rules;
mod sessions;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use taskflow_server::{AppState, app};
use taskflow_testkit::TestStore;
use tower::ServiceExt;

/// The server's state for `store`, with its blob store (the volume or the object store).
pub fn state(store: &TestStore) -> AppState {
    let mut state = AppState::new(store.store.clone(), store.data_dir.clone());
    state.blobs = store.blobs();
    state
}

/// Sends one request and returns the status and the body as text.
pub async fn send(state: AppState, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = app_response(state, request).await;
    (status, body)
}

/// Sends one request and returns the status, the headers and the body as text.
pub async fn app_response(
    state: AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, bytes) = exchange(state, request).await;
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// Sends one request to the app; the answer must be what the OpenAPI document says it is
/// (its status documented for the operation, a JSON body of the documented shape).
pub async fn exchange(
    state: AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    static SPEC: std::sync::OnceLock<taskflow_testkit::openapi::Spec> = std::sync::OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        taskflow_testkit::openapi::Spec::new(
            serde_json::to_value(taskflow_server::openapi()).unwrap(),
        )
    });
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let response = app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    spec.assert(&method, &path, status.as_u16(), content_type, &bytes);
    (status, headers, bytes.to_vec())
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

/// A user with an API token; `admin` makes them an administrator.
pub struct Caller {
    pub user: taskflow_core::user::User,
    pub token: String,
}

pub async fn caller(store: &TestStore, name: &str, admin: bool) -> Caller {
    let (user, secret) = store.user_with_token(name, admin).await;
    Caller {
        user,
        token: secret.expose().to_owned(),
    }
}

/// A request with a bearer token and an optional JSON body.
pub fn request(method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Sends a request; returns status, headers and the body parsed as JSON (Null when empty).
pub async fn call(
    state: AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let (status, headers, bytes) = exchange(state, request).await;
    // Non-JSON bodies (the Prometheus text) come back as a string.
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
        })
    };
    (status, headers, json)
}

/// A project `key` owned by `owner`; returns its id.
pub async fn project_with(
    store: &TestStore,
    owner: taskflow_core::UserId,
    key: &str,
) -> taskflow_core::ProjectId {
    use taskflow_core::project::{NewProject, ProjectKey};
    use taskflow_core::text::{Markdown, ProjectName};
    store
        .create_project(
            owner,
            NewProject {
                key: ProjectKey::parse(key).unwrap(),
                name: ProjectName::parse(key).unwrap(),
                description: Markdown::default(),
            },
        )
        .await
        .unwrap()
        .id
}
