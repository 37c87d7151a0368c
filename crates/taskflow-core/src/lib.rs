//! Taskflow's domain: validated types, the store traits (split by aggregate) and the error type.
//!
//! Raw strings from the edge are parsed into the types here (`ProjectKey::parse`, `TaskTitle::parse`…);
//! nothing past the edge handles an unvalidated value.

/// `Serialize` for validated string newtypes: each is written as the string it holds, without
/// the copy `#[serde(into = "String")]` would make on every write.
macro_rules! serialize_as_str {
    ($($name:ty),+) => {$(
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    )+};
}

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
pub mod workflow;

pub use error::{StoreError, StoreResult, ValidationError};
pub use ids::*;
pub use store::Store;
pub use timestamp::Timestamp;
