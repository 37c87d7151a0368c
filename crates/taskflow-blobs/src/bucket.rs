//! Whole files kept in a bucket under a prefix — backup archives at `s3://bucket/prefix/name` —
//! written by one multipart upload that the store makes visible only when it is completed, so
//! an object with its final name is always whole. Reads stream.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::SystemTime;

use object_store::aws::AmazonS3;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};

use crate::object_blobs::{S3Config, S3Problem, client};

/// Parts of an archive being written: up to 10 000 of them make an archive of 160 GB. Two are
/// in flight at a time, so a writer holds at most three parts in memory.
const ARCHIVE_PART_BYTES: usize = 16 << 20;
const PARTS_IN_FLIGHT: usize = 2;

/// A bucket and prefix holding whole files.
#[derive(Clone)]
pub struct Bucket {
    s3: Arc<AmazonS3>,
    config: Arc<S3Config>,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A file in a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketFile {
    pub name: String,
    pub bytes: u64,
    pub modified: SystemTime,
}

/// `s3://bucket[/prefix]` split into bucket and prefix (with one trailing `/`); `None` when the
/// text is not an `s3://` URL at all.
pub fn parse_s3_url(url: &str) -> Option<Result<(String, String), String>> {
    let rest = url.strip_prefix("s3://")?;
    Some(S3Config::location(rest).map_err(|e| format!("{url}: {e}")))
}

impl S3Config {
    /// The store described by the AWS environment, as any S3 tool reads it: `AWS_ENDPOINT_URL`
    /// (or `AWS_ENDPOINT`), `AWS_REGION` (or `AWS_DEFAULT_REGION`, else us-east-1) and the
    /// credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, web identity, instance
    /// profile), which the client reads itself. A custom endpoint is addressed path-style.
    pub fn from_aws_environment(bucket: String, prefix: String) -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let endpoint = var(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"])
            .map(|e| e.trim().trim_end_matches('/').to_owned());
        let region =
            var(&["AWS_REGION", "AWS_DEFAULT_REGION"]).unwrap_or_else(|| "us-east-1".to_owned());
        Self {
            path_style: endpoint.is_some(),
            endpoint,
            region,
            bucket,
            prefix,
            access_key_id: None,
            secret_access_key: None,
            timeouts: crate::S3Timeouts::default(),
        }
    }
}

impl Bucket {
    /// A client for the bucket (nothing is sent yet).
    pub fn connect(config: S3Config) -> Result<Self, String> {
        Ok(Self {
            s3: Arc::new(client(&config)?),
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// `s3://bucket/prefix/name`.
    pub fn url(&self, name: &str) -> String {
        format!("{}{name}", self.config.url())
    }

    fn key(&self, name: &str) -> Key {
        Key::from(format!("{}{name}", self.config.prefix))
    }

    fn problem<'a>(&'a self, doing: &'a str) -> impl Fn(object_store::Error) -> S3Problem + 'a {
        move |e| S3Problem::of(&self.config.describe(), doing, e)
    }

    /// The files directly under the prefix (not those in "directories" below it).
    pub async fn list(&self) -> Result<Vec<BucketFile>, S3Problem> {
        let prefix = self.config.prefix.trim_end_matches('/');
        let prefix = (!prefix.is_empty()).then(|| Key::from(prefix));
        let listed = self
            .s3
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(self.problem("listing the bucket"))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|meta| {
                Some(BucketFile {
                    name: meta.location.filename()?.to_owned(),
                    bytes: meta.size,
                    modified: SystemTime::from(meta.last_modified),
                })
            })
            .collect())
    }

    pub async fn exists(&self, name: &str) -> Result<bool, S3Problem> {
        match self.s3.head(&self.key(name)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.problem("looking for a file")(e)),
        }
    }

    pub async fn delete(&self, name: &str) -> Result<(), S3Problem> {
        self.s3
            .delete(&self.key(name))
            .await
            .map_err(self.problem("deleting a file"))
    }

    /// The file's bytes as they stream in, for blocking code. Call from `spawn_blocking`.
    pub fn open_blocking(&self, name: &str) -> Result<Box<dyn Read + Send>, S3Problem> {
        use futures_util::TryStreamExt;
        let handle = tokio::runtime::Handle::current();
        let got = handle
            .block_on(self.s3.get(&self.key(name)))
            .map_err(self.problem("reading a file"))?;
        let stream = got.into_stream().map_err(io::Error::other);
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            tokio_util::io::StreamReader::new(stream),
            handle,
        )))
    }

    /// Starts writing `name`: nothing is visible under it until `finish`. Call from
    /// `spawn_blocking`.
    pub fn create_blocking(&self, name: &str) -> Result<BucketWriter, S3Problem> {
        let handle = tokio::runtime::Handle::current();
        let upload = handle
            .block_on(self.s3.put_multipart(&self.key(name)))
            .map_err(self.problem("starting an upload"))?;
        Ok(BucketWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(
                upload,
                ARCHIVE_PART_BYTES,
            )),
            handle,
            describe: self.config.describe(),
        })
    }
}

/// A file being written to a bucket: `Write`, for blocking code. Dropped without `finish`, the
/// upload is aborted and nothing appears.
pub struct BucketWriter {
    upload: Option<WriteMultipart>,
    handle: tokio::runtime::Handle,
    describe: String,
}

impl BucketWriter {
    fn failed(&self, doing: &str) -> impl Fn(object_store::Error) -> io::Error + '_ {
        let doing = doing.to_owned();
        move |e| io::Error::other(S3Problem::of(&self.describe, &doing, e).message)
    }

    /// Sends what is left and completes the upload: the file appears whole.
    pub fn finish(mut self) -> io::Result<()> {
        let upload = self.upload.take().expect("finished once");
        self.handle
            .block_on(upload.finish())
            .map(|_| ())
            .map_err(self.failed("completing an upload"))
    }
}

impl Write for BucketWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let upload = self.upload.as_mut().expect("not finished");
        // Back pressure: at most `PARTS_IN_FLIGHT` parts on their way at once.
        let waited = self
            .handle
            .block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT));
        waited.map_err(|e| {
            io::Error::other(S3Problem::of(&self.describe, "uploading a part", e).message)
        })?;
        upload.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BucketWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            // Parts already sent are discarded; a store that cannot be told keeps them out of
            // sight until its lifecycle rule for incomplete uploads removes them.
            let _ = self.handle.block_on(upload.abort());
        }
    }
}
