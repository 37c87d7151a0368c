use serde::Serialize;

/// A value that failed validation, naming the field it was meant for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything a store operation can fail with. `NotFound` and the client-caused variants are
/// kept apart from `Backend`, so callers map them to responses without inspecting driver errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// A uniqueness or state conflict: a taken username, removing the last owner, restoring a
    /// subtask whose parent is still in the trash…
    #[error("{0}")]
    Conflict(String),
    /// Optimistic concurrency: the caller's version is stale; nothing was written.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch { current: i64 },
    /// Making this task a subtask of the proposed parent would create a cycle.
    #[error("a task cannot be a subtask of itself or of its own subtasks")]
    Cycle,
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database cannot be reached now: down or restarting, or every connection (SQLite's one
    /// writer) busy past the wait. Nothing was written; trying again later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A create sent again with the `Idempotency-Key` of one already made (`store::once`):
    /// nothing new was made; `id` is what the first one made.
    #[error("this Idempotency-Key was used already")]
    Replayed { id: i64 },
    /// An `Idempotency-Key` already used for a different request. Nothing was written.
    #[error(
        "this Idempotency-Key was used for a different request; use a new key for each request"
    )]
    KeyReused,
    /// The disk under the database is full. Nothing was written.
    #[error("the database's disk is full")]
    Full,
    /// The database failed; opaque to clients, logged by whoever handles it.
    #[error("storage backend error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(field, message))
    }

    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
