//! Attachments in S3-compatible object storage (AWS S3, Garage, MinIO, Ceph RGW, R2…), through
//! `object_store` (SigV4-signed requests, retries with backoff).
//!
//! ```text
//! <prefix>blobs/<aa>/<sha256>   finished content, named by its SHA-256, never changed
//! <prefix>tmp/<name>            an upload too large for one request: its marker, holding the
//!                               multipart upload's id, rewritten while the upload runs
//! <prefix>tmp/<name>.data       that upload once its parts are joined, until it is copied
//! <prefix>probe/<name>          written and deleted by readiness checks
//! ```
//!
//! An upload is hashed as it arrives and kept in memory up to one part (5 MiB). One that fits
//! is put straight at its content address once complete. A larger one goes up part by part to
//! `tmp/<name>.data`; when complete, the parts are joined and the object is copied to its content
//! address. Either way, the object under `blobs/` appears whole or not at all, and only after
//! the store has acknowledged it; the caller commits the row after that. `gc` removes markers,
//! their multipart uploads and joined objects that nobody has touched for its grace period (at
//! least `TMP_FLOOR`).

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as Key;
use object_store::{
    ClientOptions, GetOptions, GetRange, MultipartId, ObjectStore, ObjectStoreExt, PutPayload,
    RetryConfig,
};
use sha2::{Digest, Sha256};
use taskflow_core::attachment::Sha256Hex;

use crate::{BlobEntry, BlobError, ByteStream, Limits, Locker, Stored, TmpSweep};

/// Parts of a multipart upload: S3's minimum, and what one upload holds in memory.
pub const PART_BYTES: usize = 5 << 20;

/// Leftovers in `tmp/` younger than this may belong to an upload still running on another
/// server: a running upload rewrites its marker every `MARKER_REFRESH`, so `gc` never sweeps
/// younger ones.
pub const TMP_FLOOR: Duration = Duration::from_secs(3 * 60);
const MARKER_REFRESH: Duration = Duration::from_secs(60);

/// Where the object store is and how to sign for it.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Config {
    /// `https://host[:port]`; `None` for AWS S3 in `region`.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Prepended to every key, `team/taskflow/` style; empty for the bucket's root.
    pub prefix: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`.
    pub path_style: bool,
    /// Static credentials; without them the AWS environment's (web identity, instance
    /// profile) are used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub timeouts: S3Timeouts,
}

/// How long the client waits for the object store before calling it unreachable: a store that
/// hangs is a 503 within about `response`, not minutes later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Timeouts {
    /// To open a connection (`TASKFLOW_S3_CONNECT_TIMEOUT`).
    pub connect: Duration,
    /// The longest the store may go without sending anything while it is waited for: its
    /// first byte, or the next one (`TASKFLOW_S3_TIMEOUT`). Retries end after this too.
    pub response: Duration,
}

impl Default for S3Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            response: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("path_style", &self.path_style)
            .field("timeouts", &self.timeouts)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl S3Config {
    /// `bucket[/prefix]` checked and split: the prefix gets one trailing `/`.
    pub fn location(location: &str) -> Result<(String, String), String> {
        let location = location.trim_matches('/');
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Err(format!(
                "{bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '-' and '.')"
            ));
        }
        let prefix = normalise_prefix(prefix)?;
        Ok((bucket.to_owned(), prefix))
    }

    /// `s3://bucket/prefix`, for people.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// The URL and where the store is: `s3://bucket/prefix at http://host:3900`.
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{} at {endpoint}", self.url()),
            None => format!("{} in {}", self.url(), self.region),
        }
    }
}

/// `a/b` → `a/b/`; empty stays empty. Keys keep to characters every S3 server takes as they are.
pub fn normalise_prefix(prefix: &str) -> Result<String, String> {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        return Ok(String::new());
    }
    let ok = prefix
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..")
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !ok {
        return Err(format!(
            "{prefix:?} is not a key prefix (letters, digits, '-', '_', '.', separated by '/')"
        ));
    }
    Ok(format!("{prefix}/"))
}

/// What went wrong with the object store, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Problem {
    pub kind: ProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// No answer: down, unreachable, or too slow.
    Unreachable,
    /// The credentials were refused.
    Credentials,
    /// The object is not there.
    NotFound,
    /// The bucket is not there (deleted, or misnamed in `TASKFLOW_S3_BUCKET`).
    NoBucket,
    /// Anything else the store answered.
    Failed,
}

impl fmt::Display for S3Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl S3Problem {
    pub(crate) fn of(at: &str, doing: &str, e: object_store::Error) -> Self {
        let detail = e.to_string();
        let (kind, message) = match &e {
            _ if detail.contains("NoSuchBucket") => (
                ProblemKind::NoBucket,
                format!(
                    "the bucket of {at} does not exist (create it, or check TASKFLOW_S3_BUCKET) \
                     while {doing}"
                ),
            ),
            object_store::Error::NotFound { .. } => {
                (ProblemKind::NotFound, format!("{doing} in {at}: not found"))
            }
            object_store::Error::Unauthenticated { .. }
            | object_store::Error::PermissionDenied { .. } => (
                ProblemKind::Credentials,
                format!(
                    "the object store {at} refused the credentials while {doing} \
                     (check TASKFLOW_S3_ACCESS_KEY_ID, TASKFLOW_S3_SECRET_ACCESS_KEY and the key's \
                     permissions on the bucket): {detail}"
                ),
            ),
            _ if looks_unreachable(&detail) => (
                ProblemKind::Unreachable,
                format!("the object store {at} cannot be reached while {doing}: {detail}"),
            ),
            _ if detail.contains("InvalidAccessKeyId")
                || detail.contains("SignatureDoesNotMatch")
                || detail.contains("AccessDenied")
                || detail.contains("403 Forbidden") =>
            {
                (
                    ProblemKind::Credentials,
                    format!(
                        "the object store {at} refused the credentials while {doing} \
                         (check TASKFLOW_S3_ACCESS_KEY_ID, TASKFLOW_S3_SECRET_ACCESS_KEY and the \
                         key's permissions on the bucket): {detail}"
                    ),
                )
            }
            _ => (
                ProblemKind::Failed,
                format!("the object store {at} failed while {doing}: {detail}"),
            ),
        };
        Self { kind, message }
    }
}

fn looks_unreachable(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    [
        "connect",
        "timed out",
        "timeout",
        "dns",
        "broken pipe",
        "connection reset",
        "error sending request",
    ]
    .iter()
    .any(|sign| detail.contains(sign))
}

/// A signed client for `config`'s bucket, with timeouts and retries an operator can wait for.
pub(crate) fn client(config: &S3Config) -> Result<AmazonS3, String> {
    let allow_http = config
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_virtual_hosted_style_request(!config.path_style)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(allow_http)
                .with_connect_timeout(config.timeouts.connect)
                .with_read_timeout(config.timeouts.response)
                .with_timeout(Duration::from_secs(120)),
        )
        // A store that is down or hung is said so within seconds, not minutes: a request that
        // timed out is not tried again, one refused is until the same time has passed.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: config.timeouts.response,
            ..RetryConfig::default()
        });
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
    }
    builder
        .build()
        .map_err(|e| format!("cannot use the object store {}: {e}", config.url()))
}

/// The blob store in a bucket.
#[derive(Clone)]
pub struct ObjectBlobs {
    s3: Arc<AmazonS3>,
    config: Arc<S3Config>,
    locker: Arc<dyn Locker>,
}

impl fmt::Debug for ObjectBlobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBlobs")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A name no other upload or probe, in this process or another server, uses.
fn unique(kind: &str) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!(
        "{kind}-{nanos}-{}-{}-{random:016x}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

impl ObjectBlobs {
    /// A client for the bucket (nothing is sent yet: `probe` tells whether it answers).
    pub fn connect(config: S3Config, locker: Arc<dyn Locker>) -> Result<Self, String> {
        let s3 = client(&config)?;
        Ok(Self {
            s3: Arc::new(s3),
            config: Arc::new(config),
            locker,
        })
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    pub fn locker(&self) -> &Arc<dyn Locker> {
        &self.locker
    }

    pub fn with_locker(mut self, locker: Arc<dyn Locker>) -> Self {
        self.locker = locker;
        self
    }

    pub fn describe(&self) -> String {
        self.config.describe()
    }

    fn key(&self, rest: &str) -> Key {
        Key::from(format!("{}{rest}", self.config.prefix))
    }

    /// Where the blob with this digest lives.
    pub fn blob_key(&self, sha256: &Sha256Hex) -> String {
        let hex = sha256.as_str();
        format!("{}blobs/{}/{hex}", self.config.prefix, &hex[..2])
    }

    fn problem<'a>(&'a self, doing: &'a str) -> impl Fn(object_store::Error) -> S3Problem + 'a {
        move |e| S3Problem::of(&self.describe(), doing, e)
    }

    fn error<'a>(&'a self, doing: &'a str) -> impl Fn(object_store::Error) -> BlobError + 'a {
        move |e| match e {
            object_store::Error::NotFound { path, source }
                if !source.to_string().contains("NoSuchBucket") =>
            {
                BlobError::Io(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{path} is not in {}", self.describe()),
                ))
            }
            e => BlobError::ObjectStore(S3Problem::of(&self.describe(), doing, e)),
        }
    }

    /// Puts a small object under `probe/` and deletes it: the store answers, the credentials
    /// are accepted and the bucket takes writes.
    pub async fn probe(&self) -> Result<(), S3Problem> {
        let key = self.key(&format!("probe/{}", unique("probe")));
        self.s3
            .put(&key, PutPayload::from_static(b"taskflow"))
            .await
            .map_err(self.problem("writing a probe object"))?;
        self.s3
            .delete(&key)
            .await
            .map_err(self.problem("deleting a probe object"))
    }

    pub fn begin(&self, limits: Limits, expected: Option<u64>) -> Result<ObjectUpload, BlobError> {
        if let Some(expected) = expected
            && expected > limits.max_bytes
        {
            return Err(BlobError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        Ok(ObjectUpload {
            store: self.clone(),
            hasher: Sha256::new(),
            buffer: Vec::new(),
            written: 0,
            limits,
            multipart: None,
        })
    }

    pub async fn read(
        &self,
        sha256: &Sha256Hex,
        range: Option<Range<u64>>,
    ) -> Result<ByteStream, BlobError> {
        if let Some(range) = &range
            && range.is_empty()
        {
            return Ok(Box::pin(futures_util::stream::empty()));
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self
            .s3
            .get_opts(&Key::from(self.blob_key(sha256)), options)
            .await
            .map_err(self.error("reading an attachment"))?;
        Ok(Box::pin(got.into_stream().map_err(io::Error::other)))
    }

    pub async fn list(&self) -> Result<Vec<BlobEntry>, BlobError> {
        let prefix = self.key("blobs");
        let mut listing = self.s3.list(Some(&prefix));
        let mut blobs = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(self.error("listing the blobs"))?;
            let mut parts = meta.location.parts().collect::<Vec<_>>().into_iter().rev();
            let (Some(name), Some(dir)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(sha256) = Sha256Hex::parse(name.as_ref()) else {
                continue;
            };
            if sha256.as_str()[..2] != *dir.as_ref() {
                continue;
            }
            blobs.push(BlobEntry {
                sha256,
                bytes: meta.size,
                modified: SystemTime::from(meta.last_modified),
            });
        }
        blobs.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(blobs)
    }

    pub async fn modified(&self, sha256: &Sha256Hex) -> Result<Option<SystemTime>, BlobError> {
        match self.s3.head(&Key::from(self.blob_key(sha256))).await {
            Ok(meta) => Ok(Some(SystemTime::from(meta.last_modified))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("looking at a blob")(e)),
        }
    }

    pub async fn remove(&self, sha256: &Sha256Hex) -> Result<(), BlobError> {
        self.s3
            .delete(&Key::from(self.blob_key(sha256)))
            .await
            .map_err(self.error("deleting a blob"))
    }

    /// Markers, their multipart uploads and joined objects older than `min_age`: aborted and
    /// deleted unless `dry_run`. Parts of an unfinished multipart upload are not listed, so their
    /// bytes are not counted. (`gc` passes at least `TMP_FLOOR`.)
    pub async fn sweep_tmp(&self, min_age: Duration, dry_run: bool) -> Result<TmpSweep, BlobError> {
        let now = SystemTime::now();
        let old = |meta: &object_store::ObjectMeta| {
            now.duration_since(SystemTime::from(meta.last_modified))
                .is_ok_and(|age| age >= min_age)
        };
        let listed: Vec<object_store::ObjectMeta> = self
            .s3
            .list(Some(&self.key("tmp")))
            .try_collect()
            .await
            .map_err(self.error("listing tmp/"))?;
        let mut sweep = TmpSweep::default();
        let data_of = |marker: &Key| Key::from(format!("{marker}.data"));
        for marker in listed
            .iter()
            .filter(|m| !m.location.as_ref().ends_with(".data"))
        {
            if !old(marker) {
                continue;
            }
            let data = data_of(&marker.location);
            let joined = listed.iter().find(|m| m.location == data);
            sweep.files += 1;
            sweep.bytes += joined.map_or(0, |m| m.size);
            if dry_run {
                continue;
            }
            if let Ok(got) = self.s3.get(&marker.location).await
                && let Ok(id) = got.bytes().await
            {
                let id: MultipartId = String::from_utf8_lossy(&id).into_owned();
                // Already complete (or aborted) is as good as aborted.
                let _ = self.s3.abort_multipart(&data, &id).await;
            }
            if joined.is_some() {
                self.delete_tmp(&data).await?;
            }
            self.delete_tmp(&marker.location).await?;
        }
        for joined in listed
            .iter()
            .filter(|m| m.location.as_ref().ends_with(".data"))
        {
            let marker = joined.location.as_ref().trim_end_matches(".data");
            if !old(joined) || listed.iter().any(|m| m.location.as_ref() == marker) {
                continue;
            }
            sweep.files += 1;
            sweep.bytes += joined.size;
            if !dry_run {
                self.delete_tmp(&joined.location).await?;
            }
        }
        Ok(sweep)
    }

    async fn delete_tmp(&self, key: &Key) -> Result<(), BlobError> {
        match self.s3.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error("removing an abandoned upload")(e)),
        }
    }
}

/// An upload in progress to an object store.
pub struct ObjectUpload {
    store: ObjectBlobs,
    hasher: Sha256,
    /// What has not been sent yet: at most one part.
    buffer: Vec<u8>,
    written: u64,
    limits: Limits,
    multipart: Option<Multipart>,
}

impl fmt::Debug for ObjectUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectUpload")
            .field("written", &self.written)
            .field("parts", &self.multipart.as_ref().map(|m| m.parts.len()))
            .finish_non_exhaustive()
    }
}

struct Multipart {
    marker: Key,
    data: Key,
    id: MultipartId,
    parts: Vec<PartId>,
    refreshed: Instant,
}

impl ObjectUpload {
    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, mut chunk: &[u8]) -> Result<(), BlobError> {
        let len = chunk.len() as u64;
        if self.written + len > self.limits.max_bytes {
            return Err(BlobError::TooLarge {
                limit: self.limits.max_bytes,
            });
        }
        self.hasher.update(chunk);
        self.written += len;
        while !chunk.is_empty() {
            let take = (PART_BYTES - self.buffer.len()).min(chunk.len());
            self.buffer.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.buffer.len() == PART_BYTES {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    /// Sends what is buffered as the next part, starting the multipart upload (and its marker)
    /// with the first.
    async fn send_part(&mut self) -> Result<(), BlobError> {
        let store = self.store.clone();
        let s3 = &store.s3;
        let multipart = match &mut self.multipart {
            Some(multipart) => multipart,
            None => {
                let marker = store.key(&format!("tmp/{}", unique("upload")));
                let data = Key::from(format!("{marker}.data"));
                let id = s3
                    .create_multipart(&data)
                    .await
                    .map_err(store.error("starting an upload"))?;
                s3.put(&marker, PutPayload::from(id.clone().into_bytes()))
                    .await
                    .map_err(store.error("recording an upload"))?;
                self.multipart.insert(Multipart {
                    marker,
                    data,
                    id,
                    parts: Vec::new(),
                    refreshed: Instant::now(),
                })
            }
        };
        let part = PutPayload::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(PART_BYTES),
        ));
        let index = multipart.parts.len();
        let id = s3
            .put_part(&multipart.data, &multipart.id, index, part)
            .await
            .map_err(store.error("sending a part of an upload"))?;
        multipart.parts.push(id);
        if multipart.refreshed.elapsed() >= MARKER_REFRESH {
            s3.put(
                &multipart.marker,
                PutPayload::from(multipart.id.clone().into_bytes()),
            )
            .await
            .map_err(store.error("recording an upload"))?;
            multipart.refreshed = Instant::now();
        }
        Ok(())
    }

    /// Makes the content durable under its digest; see `Upload::finish`.
    pub async fn finish(mut self) -> Result<Stored, BlobError> {
        let sha256 = Sha256Hex::from_digest(&self.hasher.clone().finalize());
        let target = Key::from(self.store.blob_key(&sha256));
        let store = self.store.clone();
        if self.multipart.is_some() && !self.buffer.is_empty() {
            self.send_part().await?;
        }
        let lock = match self.multipart.take() {
            None => {
                let body = PutPayload::from(std::mem::take(&mut self.buffer));
                let lock = store.locker.lock(false).await?;
                store
                    .s3
                    .put(&target, body)
                    .await
                    .map_err(store.error("storing an upload"))?;
                lock
            }
            Some(multipart) => {
                // From here on a failure leaves the marker for gc, which aborts or deletes.
                store
                    .s3
                    .complete_multipart(&multipart.data, &multipart.id, multipart.parts)
                    .await
                    .map_err(store.error("joining an upload's parts"))?;
                let lock = store.locker.lock(false).await?;
                store
                    .s3
                    .copy(&multipart.data, &target)
                    .await
                    .map_err(store.error("storing an upload"))?;
                for key in [&multipart.data, &multipart.marker] {
                    if let Err(e) = store.s3.delete(key).await {
                        tracing::warn!(key = %key, error = %e, "cannot remove a finished upload's temporary object; gc will");
                    }
                }
                lock
            }
        };
        taskflow_core::failpoint::failpoint("blob-placed").await;
        Ok(Stored {
            sha256,
            bytes: self.written,
            lock,
        })
    }
}

impl Drop for ObjectUpload {
    fn drop(&mut self) {
        let Some(multipart) = self.multipart.take() else {
            return;
        };
        // Abandoned part-way: abort its parts now if the runtime is still there (else gc will).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let s3 = self.store.s3.clone();
            runtime.spawn(async move {
                let _ = s3.abort_multipart(&multipart.data, &multipart.id).await;
                let _ = s3.delete(&multipart.marker).await;
            });
        }
    }
}
