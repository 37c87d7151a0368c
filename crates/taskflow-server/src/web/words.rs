//! The words pages share: times, statuses, activity sentences, refusals as sentences, and a
//! token as the pages list it.

use taskflow_core::user::ApiToken;

use crate::error::Refusal;
use crate::views::ActivityView;

/// A message as a sentence: a capital first letter and a full stop.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// Why a request was refused, one sentence per field when the API names fields.
pub fn problems(e: &Refusal) -> Vec<String> {
    if e.fields.is_empty() {
        return vec![sentence(&e.message)];
    }
    e.fields.iter().map(|f| sentence(&f.message)).collect()
}

/// A time as a person reads it: `2026-12-02 03:31 UTC`.
pub fn when(at: taskflow_core::Timestamp) -> String {
    at.datetime()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
}

/// An activity entry as a sentence.
pub fn activity_words(entry: &ActivityView) -> String {
    use taskflow_core::activity::ActivityKind as Kind;
    use taskflow_core::task::TaskField;
    let who = entry.actor.as_ref().map_or("Someone", |p| &*p.display_name);
    let field = entry.field.as_deref().unwrap_or("");
    let estimate = TaskField::parse(field) == Some(TaskField::Estimate);
    let value = |v: &Option<String>| match v.as_deref() {
        None | Some("") => "nothing".to_owned(),
        Some(v) if estimate => format!(
            "“{}”",
            v.parse()
                .map_or_else(|_| v.to_owned(), taskflow_core::task::effort_text)
        ),
        Some(v) if v.chars().count() > 60 => {
            format!("“{}…”", v.chars().take(60).collect::<String>())
        }
        Some(v) => format!("“{v}”"),
    };
    let what = match entry.kind {
        Kind::TaskCreated => "created the task".to_owned(),
        Kind::TaskUpdated => match TaskField::parse(field) {
            Some(field) if field.quotable() => format!(
                "changed the {field} from {} to {}",
                value(&entry.old_value),
                value(&entry.new_value)
            ),
            Some(field) => format!("changed the {field}"),
            None => format!("changed the {}", field.replace('_', " ")),
        },
        Kind::TaskMoved => format!(
            "moved the task from {} to {}",
            value(&entry.old_value),
            value(&entry.new_value)
        ),
        Kind::CommentAdded => "commented".to_owned(),
        Kind::CommentEdited => "edited a comment".to_owned(),
        Kind::AttachmentAdded => format!("attached {}", value(&entry.new_value)),
        Kind::Trashed => "moved something to the trash".to_owned(),
        Kind::Restored => "restored something from the trash".to_owned(),
        Kind::Purged => "purged something from the trash".to_owned(),
        Kind::WorkflowChanged => match (field, &entry.new_value) {
            ("added", _) => format!("added the status {}", value(&entry.new_value)),
            ("renamed", _) => format!(
                "renamed the status {} to {}",
                value(&entry.old_value),
                value(&entry.new_value)
            ),
            (_, Some(to)) if !to.is_empty() => format!(
                "removed the status {} and moved its tasks to {}",
                value(&entry.old_value),
                value(&entry.new_value)
            ),
            _ => format!("removed the status {}", value(&entry.old_value)),
        },
        Kind::ProjectCreated | Kind::ProjectUpdated | Kind::MemberChanged => {
            "changed the project".to_owned()
        }
    };
    format!("{who} {what}.")
}

/// A token as the pages list it.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

impl From<ApiToken> for TokenRow {
    fn from(token: ApiToken) -> Self {
        let day = |t: taskflow_core::Timestamp| when(t);
        Self {
            id: token.id.0,
            name: token.name.to_string(),
            created: day(token.created_at),
            expires: token.expires_at.map_or_else(|| "never".to_owned(), day),
            last_used: token.last_used_at.map_or_else(|| "not yet".to_owned(), day),
        }
    }
}
