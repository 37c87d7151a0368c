//! Comment requests.

use serde::Deserialize;
use taskflow_core::text::CommentBody;

use crate::error::Refusal;

/// A comment's text, for a new comment or an edit.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// Markdown, 1 to 50 000 characters.
    pub body: String,
}

impl TryFrom<CommentInput> for CommentBody {
    type Error = Refusal;

    fn try_from(input: CommentInput) -> Result<Self, Refusal> {
        Ok(CommentBody::parse(input.body)?)
    }
}
