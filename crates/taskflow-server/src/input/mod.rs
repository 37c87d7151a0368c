//! Requests turned into domain commands, in one place for every front end: the JSON API
//! deserialises these structs from bodies and query strings, the web UI from its forms, and
//! both hand them to the conversions here. A conversion checks every field and answers one 422
//! listing each that failed; the names a client writes (usernames, label names, task keys)
//! become ids here, with one query per kind of name.

mod comments;
mod projects;
mod tasks;
mod trash;
mod users;
mod workflow;

use serde::Deserialize;
use taskflow_core::ValidationError;

use crate::error::{Kind, Refusal};

pub use comments::CommentInput;
pub use projects::{CreateLabel, CreateProject, SetMember, UpdateLabel, UpdateProject};
pub use tasks::{CreateTask, ListParams, MoveTask, TaskDraft, UpdateTask, if_match, name_problems};
pub use trash::ItemIn;
pub use users::{CreateToken, CreateUser, UpdateUser};
pub use workflow::{CreateStatus, DeleteStatus, UpdateStatus, category_colour};

/// Succeeds when no field failed; otherwise one 422 listing every failed field.
pub fn all_valid<'a>(
    results: impl IntoIterator<Item = Option<&'a ValidationError>>,
) -> Result<(), Refusal> {
    let errors: Vec<&ValidationError> = results.into_iter().flatten().collect();
    if errors.is_empty() {
        return Ok(());
    }
    let message = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    Err(Refusal {
        fields: errors.into_iter().cloned().collect(),
        ..Refusal::new(Kind::Invalid, message)
    })
}

/// A query string's problems are the request's, not its body's: 400 `bad_query`, listing
/// each parameter that is wrong as `all_valid` lists fields.
pub fn bad_query(err: Refusal) -> Refusal {
    if err.kind != Kind::Invalid {
        return err;
    }
    Refusal {
        kind: Kind::BadQuery,
        ..err
    }
}

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
