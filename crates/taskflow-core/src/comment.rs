use serde::Serialize;

use crate::text::CommentBody;
use crate::{CommentId, TaskId, Timestamp, UserId};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub id: CommentId,
    pub task_id: TaskId,
    pub author_id: Option<UserId>,
    pub body: CommentBody,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}
