//! Receiving an attachment, for both front ends: the upload's limits (per file, the project's
//! quota, the volume's free space), streaming the bytes to the blob store without buffering
//! them, and committing the row only once they are durable. Blob errors become refusals in
//! words here.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http_body_util::BodyExt;
use taskflow_blobs::{BlobError, Limits, Upload};
use taskflow_core::attachment::{Attachment, FileName, MediaType, NewAttachment};
use taskflow_core::project::Project;
use taskflow_core::task::Task;
use taskflow_core::user::User;
use taskflow_core::{AttachmentId, StoreError, ValidationError};

use crate::error::{Kind, Refusal};
use crate::state::AppState;

/// Receives the file a request carries for `task`: a raw body (its `Content-Type` is the
/// file's media type, `name` its name) or `multipart/form-data` with the file in a part named
/// `file`.
pub(crate) async fn receive(
    state: &AppState,
    user: &User,
    task: &Task,
    project: &Project,
    request: Request,
    name: Option<String>,
) -> Result<Attachment, Refusal> {
    let is_multipart = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if is_multipart {
        let mut form = Multipart::from_request(request, state)
            .await
            .map_err(|e| interrupted(e.body_text()))?;
        return from_form(state, user, task, project, &mut form, name).await;
    }
    let (limits, by_quota) = limits(state, project).await?;
    let fail = |e| blob_error(e, project, state.storage.project_quota_bytes, by_quota);
    let name = FileName::parse(name.unwrap_or_default()).map_err(|_| {
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
    finish(state, user, task, upload, name, media_type, fail).await
}

/// The upload's limit, and whether the project's quota (rather than the per-file limit) set it.
async fn limits(state: &AppState, project: &Project) -> Result<(Limits, bool), Refusal> {
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

fn blob_error(err: BlobError, project: &Project, quota: Option<u64>, by_quota: bool) -> Refusal {
    match err {
        BlobError::TooLarge { .. } if by_quota => Refusal::new(
            Kind::QuotaExceeded,
            format!(
                "project {} would exceed its attachment quota of {} bytes; purge its trash or \
                 delete attachments",
                project.key.as_str(),
                quota.unwrap_or(0)
            ),
        ),
        BlobError::TooLarge { limit } => Refusal::new(
            Kind::TooLarge,
            format!("attachments may be at most {limit} bytes"),
        ),
        BlobError::VolumeFull { .. } => Refusal::new(
            Kind::Full,
            "the data volume is too full to accept this upload; an operator has been told",
        ),
        BlobError::ObjectStore(problem) => object_store_unavailable(&problem),
        BlobError::LockUnavailable(problem) => {
            tracing::error!(%problem, "cannot take the blob lock");
            Refusal::unavailable("the database is unavailable; try again shortly")
        }
        BlobError::Io(e) => {
            tracing::error!(error = %e, "attachment upload failed");
            Refusal::internal()
        }
    }
}

/// The object store could not be used: 503 (try again), logged with what is wrong for the
/// operator; the client learns that file storage is unavailable, not the store's details.
pub(crate) fn object_store_unavailable(problem: &taskflow_blobs::S3Problem) -> Refusal {
    tracing::error!(problem = %problem, "the object store failed");
    Refusal::unavailable("file storage is unavailable right now; try again shortly")
}

fn interrupted(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(
        Kind::BadRequest,
        format!("the upload could not be read: {e}"),
    )
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
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
) -> Result<Attachment, Refusal> {
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
    fail: impl Fn(BlobError) -> Refusal,
) -> Result<Attachment, Refusal> {
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
    Api(Refusal),
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
