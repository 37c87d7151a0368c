//! Naming an item of the trash.

use serde::Deserialize;
use taskflow_core::trash::TrashRef;
use taskflow_core::{AttachmentId, CommentId, ProjectId, TaskId};

/// Names an item of the trash.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "snake_case",
    tag = "type",
    content = "id"
)]
pub enum ItemIn {
    Project(i64),
    Task(i64),
    Comment(i64),
    Attachment(i64),
}

impl From<ItemIn> for TrashRef {
    fn from(item: ItemIn) -> Self {
        match item {
            ItemIn::Project(id) => TrashRef::Project(ProjectId(id)),
            ItemIn::Task(id) => TrashRef::Task(TaskId(id)),
            ItemIn::Comment(id) => TrashRef::Comment(CommentId(id)),
            ItemIn::Attachment(id) => TrashRef::Attachment(AttachmentId(id)),
        }
    }
}
