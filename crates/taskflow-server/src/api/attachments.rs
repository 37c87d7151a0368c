//! Attachments: uploaded as a raw body or `multipart/form-data`, streamed to the blob store
//! (never buffered), committed only once the bytes are durable; downloaded as a stream with
//! `ETag`, `Range` and headers that stop a browser from rendering them in Taskflow's origin.
//! Viewers read; editors upload; the uploader or a project owner deletes (to the trash).

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_SECURITY_POLICY,
    CONTENT_TYPE, ETAG, IF_NONE_MATCH, IF_RANGE, LOCATION, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::Deserialize;
use taskflow_blobs::{BlobError, Limits, Upload};
use taskflow_core::attachment::{Attachment, FileName, MediaType, NewAttachment};
use taskflow_core::project::{Project, Role};
use taskflow_core::task::Task;
use taskflow_core::user::User;
use taskflow_core::{AttachmentId, StoreError, ValidationError};

use crate::access::{deletable_attachment, visible_attachment, visible_task};
use crate::api::after_commit;
use crate::api::auth::CurrentUser;
use crate::api::json::{Path, Query};
use crate::error::ApiError;
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
    responses((status = 200, body = List<AttachmentView>), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<List<AttachmentView>, ApiError> {
    let (task, _) = visible_task(&state, &user, &key, Role::Viewer).await?;
    let attachments = state.store.attachments(task.id).await?;
    Ok(List::all(
        AttachmentView::many(state.store.as_ref(), attachments).await?,
    ))
}

/// The upload's limit, and whether the project's quota (rather than the per-file limit) set it.
async fn limits(state: &AppState, project: &Project) -> Result<(Limits, bool), ApiError> {
    let max = state.storage.max_upload_bytes;
    let mut limits = Limits {
        max_bytes: max,
        min_free_bytes: state.storage.min_free_bytes,
    };
    let Some(quota) = state.storage.project_quota_bytes else {
        return Ok((limits, false));
    };
    let used = state.store.project_attachment_bytes(project.id).await?;
    let left = quota.saturating_sub(used);
    if left < max {
        limits.max_bytes = left;
        return Ok((limits, true));
    }
    Ok((limits, false))
}

fn blob_error(err: BlobError, project: &Project, quota: Option<u64>, by_quota: bool) -> ApiError {
    match err {
        BlobError::TooLarge { .. } if by_quota => ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "quota_exceeded",
            format!(
                "project {} would exceed its attachment quota of {} bytes; purge its trash or \
                 delete attachments",
                project.key.as_str(),
                quota.unwrap_or(0)
            ),
        ),
        BlobError::TooLarge { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("attachments may be at most {limit} bytes"),
        ),
        BlobError::VolumeFull { .. } => ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "insufficient_storage",
            "the data volume is too full to accept this upload; an operator has been told",
        ),
        BlobError::ObjectStore(problem) => object_store_unavailable(&problem),
        BlobError::LockUnavailable(problem) => {
            tracing::error!(%problem, "cannot take the blob lock");
            ApiError::unavailable("the database is unavailable; try again shortly")
        }
        BlobError::Io(e) => {
            tracing::error!(error = %e, "attachment upload failed");
            ApiError::internal()
        }
    }
}

/// The object store could not be used: 503 (try again), logged with what is wrong for the
/// operator; the client learns that file storage is unavailable, not the store's details.
fn object_store_unavailable(problem: &taskflow_blobs::S3Problem) -> ApiError {
    tracing::error!(problem = %problem, "the object store failed");
    ApiError::unavailable("file storage is unavailable right now; try again shortly")
}

fn interrupted(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_request",
        format!("the upload could not be read: {e}"),
    )
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
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
        (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    Query(params): Query<UploadParams>,
    request: Request,
) -> Result<Response, ApiError> {
    let (task, project) = visible_task(&state, &user, &key, Role::Editor).await?;
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let attachment = if is_multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| interrupted(e.body_text()))?;
        from_form(&state, &user, &task, &project, &mut form, params.name).await?
    } else {
        let (limits, by_quota) = limits(&state, &project).await?;
        let fail = |e| blob_error(e, &project, state.storage.project_quota_bytes, by_quota);
        let name = FileName::parse(params.name.unwrap_or_default()).map_err(|_| {
            ValidationError::new(
                "name",
                "give the file's name as ?name=… (1 to 255 characters, no slashes)",
            )
        })?;
        let media_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let expected = content_length(request.headers());
        let mut upload = state.blobs.begin(limits, expected).await.map_err(fail)?;
        let mut body = request.into_body();
        while let Some(frame) = body.frame().await {
            if let Ok(chunk) = frame.map_err(interrupted)?.into_data() {
                upload.write(&chunk).await.map_err(fail)?;
            }
        }
        finish(&state, &user, &task, upload, name, media_type, fail).await?
    };
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

/// Stores the next part named `file` of a multipart form as an attachment of `task` (the API's
/// multipart upload and the task page's form without JavaScript). `fallback_name` names a part
/// that carries no file name.
pub(crate) async fn from_form(
    state: &AppState,
    user: &User,
    task: &Task,
    project: &Project,
    form: &mut Multipart,
    fallback_name: Option<String>,
) -> Result<Attachment, ApiError> {
    let (limits, by_quota) = limits(state, project).await?;
    let fail = |e| blob_error(e, project, state.storage.project_quota_bytes, by_quota);
    let mut field = loop {
        match form.next_field().await.map_err(interrupted)? {
            Some(field) if field.name() == Some("file") => break field,
            Some(_) => continue,
            None => {
                return Err(ValidationError::new(
                    "file",
                    "send the file in a form part named \"file\"",
                )
                .into());
            }
        }
    };
    let name = field
        .file_name()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or(fallback_name)
        .unwrap_or_default();
    let media_type = field.content_type().map(str::to_owned);
    let name = FileName::parse(name).map_err(|_| {
        ValidationError::new(
            "file",
            "choose a file (its name: 1 to 255 characters, no slashes)",
        )
    })?;
    let mut upload = state.blobs.begin(limits, None).await.map_err(fail)?;
    while let Some(chunk) = field.chunk().await.map_err(interrupted)? {
        upload.write(&chunk).await.map_err(fail)?;
    }
    finish(state, user, task, upload, name, media_type, fail).await
}

/// Commits a received upload with its media type (octet-stream when unknown or invalid).
async fn finish(
    state: &AppState,
    user: &User,
    task: &Task,
    upload: Upload,
    name: FileName,
    media_type: Option<String>,
    fail: impl Fn(BlobError) -> ApiError,
) -> Result<Attachment, ApiError> {
    let media_type = media_type
        .and_then(|m| MediaType::parse(m).ok())
        .unwrap_or_else(MediaType::octet_stream);
    commit(state, user, task, upload, name, media_type)
        .await
        .map_err(|e| match e {
            Commit::Blob(e) => fail(e),
            Commit::Api(e) => e,
        })
}

enum Commit {
    Blob(BlobError),
    Api(ApiError),
}

/// Places the bytes durably, then records the row; the blob lock keeps `gc` from collecting the
/// blob in between.
async fn commit(
    state: &AppState,
    user: &User,
    task: &Task,
    upload: Upload,
    file_name: FileName,
    media_type: MediaType,
) -> Result<Attachment, Commit> {
    let stored = upload.finish().await.map_err(Commit::Blob)?;
    let added = state
        .store
        .add_attachment(
            user.id,
            NewAttachment {
                task_id: task.id,
                file_name,
                media_type,
                size_bytes: i64::try_from(stored.bytes).unwrap_or(i64::MAX),
                sha256: stored.sha256.clone(),
            },
        )
        .await;
    let attachment = match added {
        // Sent again with its Idempotency-Key: the attachment the first request made.
        Err(StoreError::Replayed { id }) => state.store.attachment(AttachmentId(id)).await,
        added => added,
    }
    .map_err(|e| Commit::Api(e.into()))?;
    drop(stored.lock);
    Ok(attachment)
}

#[utoipa::path(
    get,
    operation_id = "attachments_get",
    path = "/attachments/{id}",
    tag = "attachments",
    params(("id" = i64, Path, description = "attachment id")),
    responses((status = 200, body = AttachmentView), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<axum::Json<AttachmentView>, ApiError> {
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
    responses((status = 204, description = "moved to the trash; the bytes stay until it is purged"), (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")),
    security(("bearer" = []), ("session" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
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
        (status = "4XX", body = crate::error::ErrorBody, description = "an error; see the error table in docs/api.md"), (status = "5XX", body = crate::error::ErrorBody, description = "the server could not answer: 503 `unavailable` when the database is (see `Retry-After`), 507 `insufficient_storage` when its disk is full")
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn content(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
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
                ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
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
                object_store_unavailable(&problem)
            }
            e => {
                tracing::error!(attachment = id, sha256 = attachment.sha256.as_str(), error = %e,
                    "an attachment's content is missing or unreadable; run `taskflow doctor`");
                ApiError::internal()
            }
        })?;
    common.insert(
        CONTENT_LENGTH,
        HeaderValue::from_str(&count.to_string()).expect("digits"),
    );
    Ok((status, common, Body::from_stream(stream)).into_response())
}
