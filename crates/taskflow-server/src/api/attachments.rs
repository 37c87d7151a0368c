//! Attachments: uploaded as a raw body or `multipart/form-data`, streamed to the blob store
//! (never buffered), committed only once the bytes are durable; downloaded as a stream with
//! `ETag`, `Range` and headers that stop a browser from rendering them in Taskflow's origin.
//! Viewers read; editors upload; the uploader or a project owner deletes (to the trash).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, LOCATION, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskflow_blobs::BlobError;
use taskflow_core::attachment::FileName;
use taskflow_core::project::Role;

use crate::access::{deletable_attachment, visible_attachment, visible_task};
use crate::api::after_commit;
use crate::api::auth::CurrentUser;
use crate::api::json::{Path, Query};
use crate::error::{Kind, Refusal};
use crate::state::AppState;
use crate::views::{AttachmentView, List};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name; required for a raw body (a multipart part carries its own).
    name: Option<String>,
}

#[utoipa::path(
    get,
    operation_id = "attachments_list",
    path = "/tasks/{key}/attachments",
    tag = "attachments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42")),
    responses((status = 200, body = List<AttachmentView>), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<AttachmentView>, Refusal> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    let attachments = state.store.attachments(task.id).await?;
    Ok(List::all(
        AttachmentView::many(state.store.as_ref(), attachments).await?,
    ))
}

#[utoipa::path(
    post,
    operation_id = "attachments_upload",
    path = "/tasks/{key}/attachments",
    tag = "attachments",
    params(("key" = String, Path, description = "task key, e.g. OPS-42"), UploadParams, ("Idempotency-Key" = Option<String>, Header, description = "a key of the client's (1 to 255 visible ASCII characters): the same create sent again with it within a day makes nothing and answers with what the first made")),
    request_body(
        description = "the file: a raw body (its Content-Type is the file's media type, `?name=` its name) \
            or multipart/form-data with the file in a part named `file`",
        content(
            (Vec<u8> = "application/octet-stream"),
            (Vec<u8> = "multipart/form-data")
        )
    ),
    responses(
        (status = 201, body = AttachmentView, description = "stored durably; `Location` is its metadata"),
        (status = 413, body = crate::error::ErrorBody, description = "larger than TASKFLOW_MAX_UPLOAD_BYTES"),
        (status = 507, body = crate::error::ErrorBody, description = "the data volume is below its free-space minimum, or the project's quota is used up"),
        crate::error::Failures
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Result<Response, Refusal> {
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let attachment =
        crate::upload::receive(&state, &user, &task, &project, request, params.name).await?;
    let location = HeaderValue::from_str(&format!("/api/v1/attachments/{}", attachment.id))
        .expect("a path is a valid header");
    let view = after_commit(AttachmentView::one(state.store.as_ref(), attachment)).await?;
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        axum::Json(view),
    )
        .into_response())
}

#[utoipa::path(
    get,
    operation_id = "attachments_get",
    path = "/attachments/{id}",
    tag = "attachments",
    params(("id" = i64, Path, description = "attachment id")),
    responses((status = 200, body = AttachmentView), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<AttachmentView>, Refusal> {
    let (attachment, _) = visible_attachment(&state, &user, id, Role::Viewer).await?;
    Ok(axum::Json(
        AttachmentView::one(state.store.as_ref(), attachment).await?,
    ))
}

#[utoipa::path(
    delete,
    operation_id = "attachments_delete",
    path = "/attachments/{id}",
    tag = "attachments",
    params(("id" = i64, Path, description = "attachment id")),
    responses((status = 204, description = "moved to the trash; the bytes stay until it is purged"), crate::error::Failures),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, Refusal> {
    let attachment = deletable_attachment(&state, &user, id).await?;
    state
        .store
        .delete_attachment(user.id, attachment.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The single byte range a request asks for, inclusive, within `len` bytes. `Ok(None)` means
/// the whole file (no range, an `If-Range` that no longer matches, several ranges, or a header
/// that is not a byte range); `Err` means unsatisfiable.
fn requested_range(headers: &HeaderMap, len: u64, etag: &str) -> Result<Option<(u64, u64)>, ()> {
    let Some(range) = headers.get(RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if let Some(if_range) = headers.get(IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Ok(None);
    }
    let Some(spec) = range.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (start.trim().is_empty(), end.trim().is_empty()) {
        // The last N bytes.
        (true, false) => match number(end) {
            Some(0) => Err(()),
            Some(_) if len == 0 => Err(()),
            Some(n) => Ok(Some((len.saturating_sub(n), len - 1))),
            None => Ok(None),
        },
        (false, true) => match number(start) {
            Some(a) if a < len => Ok(Some((a, len - 1))),
            Some(_) => Err(()),
            None => Ok(None),
        },
        (false, false) => match (number(start), number(end)) {
            (Some(a), Some(b)) if a <= b && a < len => Ok(Some((a, b.min(len - 1)))),
            (Some(a), Some(b)) if a <= b => Err(()),
            _ => Ok(None),
        },
        (true, true) => Ok(None),
    }
}

/// `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`: a plain-ASCII fallback
/// and the exact name percent-encoded.
fn content_disposition(name: &FileName) -> HeaderValue {
    let fallback: String = name
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.as_str().bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .expect("only visible ASCII")
}

#[utoipa::path(
    get,
    operation_id = "attachments_content",
    path = "/attachments/{id}/content",
    tag = "attachments",
    params(("id" = i64, Path, description = "attachment id")),
    responses(
        (status = 200, description = "the bytes, as uploaded; `Content-Type` is the media type they were uploaded with (`application/octet-stream` when none was given); `ETag` is their SHA-256", content_type = "*/*", body = Vec<u8>),
        (status = 206, description = "the byte range asked for with `Range`, with the file's media type", content_type = "*/*", body = Vec<u8>),
        (status = 304, description = "`If-None-Match` matched"),
        (status = 416, body = crate::error::ErrorBody, description = "the range is outside the file; `Content-Range: bytes */SIZE` gives its size"),
        crate::error::Failures
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn content(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let (attachment, _) = visible_attachment(&state, &user, id, Role::Viewer).await?;
    let etag = format!("\"{}\"", attachment.sha256.as_str());
    let etag_value = HeaderValue::from_str(&etag).expect("hex digits");
    let mut common = HeaderMap::new();
    common.insert(ETAG, etag_value);
    common.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    common.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    common.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    common.insert("accept-ranges", HeaderValue::from_static("bytes"));
    if let Some(wanted) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok())
        && wanted
            .split(',')
            .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let len = u64::try_from(attachment.size_bytes).unwrap_or(0);
    let range = match requested_range(&headers, len, &etag) {
        Ok(range) => range,
        Err(()) => {
            common.insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).expect("digits"),
            );
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                common,
                Refusal::new(
                    Kind::RangeNotSatisfiable,
                    format!("the file has {len} bytes"),
                ),
            )
                .into_response());
        }
    };
    common.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(attachment.media_type.as_str())
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    common.insert(
        CONTENT_DISPOSITION,
        content_disposition(&attachment.file_name),
    );
    let (status, start, count) = match range {
        Some((a, b)) => {
            common.insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {a}-{b}/{len}")).expect("digits"),
            );
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        None => (StatusCode::OK, 0, len),
    };
    let stream = state
        .blobs
        .read(&attachment.sha256, Some(start..start + count))
        .await
        .map_err(|e| match e {
            BlobError::ObjectStore(problem)
                if problem.kind != taskflow_blobs::ProblemKind::NotFound =>
            {
                crate::upload::object_store_unavailable(&problem)
            }
            e => {
                tracing::error!(attachment = id, sha256 = attachment.sha256.as_str(), error = %e,
                    "an attachment's content is missing or unreadable; run `taskflow doctor`");
                Refusal::internal()
            }
        })?;
    common.insert(
        CONTENT_LENGTH,
        HeaderValue::from_str(&count.to_string()).expect("digits"),
    );
    Ok((status, common, Body::from_stream(stream)).into_response())
}
