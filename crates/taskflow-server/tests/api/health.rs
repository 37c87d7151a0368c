use axum::http::StatusCode;
use serde_json::Value;
use taskflow_testkit::{TestStore, all_storage, both_backends};

use crate::{get, send, state};

async fn healthz_answers(store: TestStore) {
    let (status, body) = send(state(&store), get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
}

async fn readyz_is_ready_with_every_check_passing(store: TestStore) {
    let (status, body) = send(state(&store), get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ready");
    let names: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let blobs = if store.s3.is_some() {
        "object_store"
    } else {
        "free_space"
    };
    assert_eq!(
        names,
        [
            "database",
            "database_writes",
            "migrations",
            "data_dir",
            blobs
        ]
    );
    assert!(
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["ok"] == true)
    );
}

async fn concurrent_readiness_probes_do_not_fail_each_other(store: TestStore) {
    use tower::ServiceExt;
    // One router, as the server has: building one per request would starve the probes of CPU.
    let app = taskflow_server::app(state(&store));
    let probes: Vec<_> = (0..160)
        .map(|_| tokio::spawn(app.clone().oneshot(get("/readyz"))))
        .collect();
    for probe in probes {
        let response = probe.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&store.data_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("probe"))
        .collect();
    assert!(leftovers.is_empty(), "probe files left: {leftovers:?}");
}

async fn readyz_names_an_unwritable_data_dir(store: TestStore) {
    let mut st = state(&store);
    st.data_dir = store.data_dir.join("missing").join("deeper").into();
    let (status, body) = send(st, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "not_ready");
    let failed: Vec<&Value> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    // The free space of a missing directory cannot be read either.
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0]["name"], "data_dir");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("not writable")
    );
}

async fn readyz_fails_below_the_free_space_minimum(store: TestStore) {
    let mut st = state(&store);
    let available = taskflow_blobs::available_bytes(&store.data_dir).unwrap();
    st.storage.min_free_bytes = available + (1 << 30);
    let (status, body) = send(st, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let failed: Vec<&Value> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{body}");
    assert_eq!(failed[0]["name"], "free_space");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("TASKFLOW_MIN_FREE_BYTES"), "{error}");
}

async fn readyz_names_a_closed_database(store: TestStore) {
    store.close().await;
    let (status, body) = send(state(&store), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["ok"], false);
}

async fn unknown_routes_answer_json_404(store: TestStore) {
    let (status, body) = send(state(&store), get("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

async fn a_wrong_method_answers_json_405_with_allow(store: TestStore) {
    for (method, path) in [("POST", "/healthz"), ("DELETE", "/api/v1/projects")] {
        let response = crate::app_response(
            state(&store),
            axum::http::Request::builder()
                .method(method)
                .uri(path)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(
            response.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert!(
            response.1.get("allow").is_some(),
            "{method} {path}: no Allow header"
        );
        let body: Value = serde_json::from_str(&response.2).unwrap();
        assert_eq!(
            body["error"]["code"], "method_not_allowed",
            "{method} {path}"
        );
    }
}

async fn every_answer_says_nosniff(store: TestStore) {
    for path in [
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/me",
        "/no/such/page",
    ] {
        let (status, headers, _) = crate::app_response(state(&store), get(path)).await;
        assert_eq!(
            headers.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{path} ({status})"
        );
    }
}

/// `/metrics` is off without `TASKFLOW_METRICS_TOKEN`, and asks for the token when it is set.
async fn metrics_need_their_token(store: TestStore) {
    let (status, body) = send(state(&store), get("/metrics")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("metrics_off") && body.contains("TASKFLOW_METRICS_TOKEN"),
        "{body}"
    );
    let mut st = state(&store);
    st.metrics_access.token = Some("the right metrics token".into());
    for sent in [None, Some("Bearer wrong"), Some("the right metrics token")] {
        let mut request = axum::http::Request::get("/metrics");
        if let Some(sent) = sent {
            request = request.header("authorization", sent);
        }
        let request = request.body(axum::body::Body::empty()).unwrap();
        let (status, body) = send(st.clone(), request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{sent:?}: {body}");
    }
    let request = axum::http::Request::get("/metrics")
        .header("authorization", "Bearer the right metrics token")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = send(st, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn metrics_count_requests_by_matched_route(store: TestStore) {
    let mut st = state(&store);
    st.metrics_access.token = Some("a metrics token for tests".into());
    send(st.clone(), get("/healthz")).await;
    send(st.clone(), get("/this/raw/path/must/not/appear")).await;
    let request = axum::http::Request::get("/metrics")
        .header("authorization", "Bearer a metrics token for tests")
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, body) = send(st, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"http_requests_total{method="GET",route="/healthz",status="200"}"#),
        "{body}"
    );
    assert!(body.contains(r#"route="unmatched",status="404""#));
    assert!(body.contains("http_request_duration_seconds_bucket"));
    assert!(
        !body.contains("/this/raw/path"),
        "raw paths must not become labels"
    );
}

all_storage!(readyz_is_ready_with_every_check_passing);

both_backends!(
    healthz_answers,
    concurrent_readiness_probes_do_not_fail_each_other,
    readyz_names_an_unwritable_data_dir,
    readyz_fails_below_the_free_space_minimum,
    readyz_names_a_closed_database,
    unknown_routes_answer_json_404,
    a_wrong_method_answers_json_405_with_allow,
    every_answer_says_nosniff,
    metrics_need_their_token,
    metrics_count_requests_by_matched_route,
);
