//! The HTTP surfaces, in-process (`Router` + `oneshot`), on both backends.

mod health;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use taskflow_server::{AppState, app, metrics::Metrics};
use taskflow_testkit::TestStore;
use tower::ServiceExt;

pub fn state(store: &TestStore) -> AppState {
    AppState {
        store: store.store.clone(),
        data_dir: store.data_dir.clone(),
        metrics: Metrics::install(),
    }
}

/// Sends one request and returns the status and the body as text.
pub async fn send(state: AppState, request: Request<Body>) -> (StatusCode, String) {
    let response = app(state).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}
