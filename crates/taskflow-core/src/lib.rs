//! Taskflow's domain: validated types, the store traits (split by aggregate) and the error type.
//!
//! Raw strings from the edge are parsed into the types here (`ProjectKey::parse`, `TaskTitle::parse`…);
//! nothing past the edge handles an unvalidated value.

pub mod activity;
pub mod attachment;
pub mod backup;
pub mod comment;
pub mod error;
pub mod failpoint;
pub mod ids;
pub mod project;
pub mod quick;
pub mod store;
pub mod task;
pub mod text;
pub mod timestamp;
pub mod trash;
pub mod user;

pub use error::{StoreError, StoreResult, ValidationError};
pub use ids::*;
pub use store::Store;
pub use timestamp::Timestamp;
