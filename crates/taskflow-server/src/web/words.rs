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

/// An estimate in minutes as people read it: `1d 2h 30m` (8-hour days).
pub fn effort(minutes: &u32) -> String {
    taskflow_core::task::effort_text((*minutes).into())
}

/// Why a request was refused, one sentence per field when the API names fields. A message
/// that does not say what it is about (`must not be empty`) is said of its field: "The title
/// must not be empty."
pub fn problems(e: &Refusal) -> Vec<String> {
    if e.fields.is_empty() {
        return vec![sentence(&e.message)];
    }
    e.fields
        .iter()
        .map(|f| {
            let subjectless = ["must ", "is ", "names ", "needs "]
                .iter()
                .any(|verb| f.message.starts_with(verb));
            if subjectless && !f.field.is_empty() {
                sentence(&format!("the {} {}", f.field.replace('_', " "), f.message))
            } else {
                sentence(&f.message)
            }
        })
        .collect()
}

/// A time as a person reads it in `zone`: `2026-12-02 14:31 CET`.
pub fn when_in(at: taskflow_core::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    let Ok(instant) = jiff::Timestamp::from_microsecond(at.unix_micros()) else {
        return String::new();
    };
    let local = instant.to_zoned(zone.clone());
    let abbreviation = local.offset();
    let name = zone.to_offset_info(instant).abbreviation().to_owned();
    let name = if name.is_empty() {
        abbreviation.to_string()
    } else {
        name
    };
    format!("{} {name}", local.strftime("%Y-%m-%d %H:%M"))
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
        Kind::Trashed => format!("moved {} to the trash", item_words(entry)),
        Kind::Restored => format!("restored {} from the trash", item_words(entry)),
        Kind::Purged => format!("purged {} from the trash", item_words(entry)),
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

/// What a trash entry names, as a sentence says it: `OPS-4`, `a comment`, `the attachment
/// “notes.pdf”`, `the project`. Entries name a task by its key (in `field` or the old value),
/// comments and attachments as `comment:ID` and `attachment:ID` (an attachment moved to the
/// trash also by its file name), a project as `project` or by its key.
fn item_words(entry: &ActivityView) -> String {
    let field = entry.field.as_deref().unwrap_or("");
    let old = entry.old_value.as_deref().filter(|v| !v.is_empty());
    match field {
        "task" => old
            .or(entry.task.as_deref())
            .map_or_else(|| "a task".to_owned(), str::to_owned),
        "project" => "the project".to_owned(),
        _ if field.starts_with("comment:") => match entry.task.as_deref() {
            Some(task) => format!("a comment on {task}"),
            None => "a comment".to_owned(),
        },
        _ if field.starts_with("attachment:") => match old {
            Some(name) => format!("the attachment “{name}”"),
            None => match entry.task.as_deref() {
                Some(task) => format!("an attachment of {task}"),
                None => "an attachment".to_owned(),
            },
        },
        _ if taskflow_core::task::TaskKey::parse(field).is_ok() => field.to_owned(),
        _ if taskflow_core::project::ProjectKey::parse(field).is_ok() => {
            format!("the project {field}")
        }
        _ => "an item".to_owned(),
    }
}

/// A token as the pages list it.
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
}

impl TokenRow {
    /// The token, its times in `zone`.
    pub fn new(token: ApiToken, zone: &jiff::tz::TimeZone) -> Self {
        let day = |t: taskflow_core::Timestamp| when_in(t, zone);
        Self {
            id: token.id.0,
            name: token.name.to_string(),
            created: day(token.created_at),
            expires: token.expires_at.map_or_else(|| "never".to_owned(), day),
            last_used: token.last_used_at.map_or_else(|| "not yet".to_owned(), day),
        }
    }
}

#[cfg(test)]
mod tests {
    use taskflow_core::Timestamp;
    use taskflow_core::activity::ActivityKind;

    use super::activity_words;
    use crate::views::{ActivityView, Person};

    fn entry(
        kind: ActivityKind,
        field: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> ActivityView {
        ActivityView {
            id: 1,
            task: Some("OPS-4".into()),
            actor: Some(Person {
                username: "ada".into(),
                display_name: "Ada".into(),
            }),
            at: Timestamp::from_unix_micros(0),
            kind,
            field: Some(field.into()),
            old_value: old.map(Into::into),
            new_value: new.map(Into::into),
        }
    }

    #[test]
    fn a_problem_says_what_it_is_about() {
        use taskflow_core::ValidationError;
        let refusal = crate::input::all_valid([
            Some(&ValidationError::new("name", "must not be empty")),
            Some(&ValidationError::new(
                "display_name",
                "must be at most 100 characters",
            )),
            Some(&ValidationError::new(
                "labels",
                "there is no label \"x\" in OPS",
            )),
        ])
        .unwrap_err();
        assert_eq!(
            super::problems(&refusal),
            [
                "The name must not be empty.",
                "The display name must be at most 100 characters.",
                "There is no label \"x\" in OPS.",
            ]
        );
    }

    #[test]
    fn sentences_name_the_columns_the_item_and_the_person() {
        use ActivityKind as K;
        for (e, said) in [
            (
                entry(K::TaskMoved, "status", Some("To do"), Some("Review")),
                "Ada moved the task from “To do” to “Review”.",
            ),
            (
                entry(K::Trashed, "task", Some("OPS-4"), None),
                "Ada moved OPS-4 to the trash.",
            ),
            (
                entry(K::Trashed, "comment:12", None, None),
                "Ada moved a comment on OPS-4 to the trash.",
            ),
            (
                entry(K::Trashed, "attachment:3", Some("notes.pdf"), None),
                "Ada moved the attachment “notes.pdf” to the trash.",
            ),
            (
                entry(K::Restored, "OPS-4", None, None),
                "Ada restored OPS-4 from the trash.",
            ),
            (
                entry(K::Purged, "attachment:3", None, None),
                "Ada purged an attachment of OPS-4 from the trash.",
            ),
            (
                entry(K::WorkflowChanged, "removed", Some("Review"), Some("Done")),
                "Ada removed the status “Review” and moved its tasks to “Done”.",
            ),
            (
                entry(K::WorkflowChanged, "renamed", Some("QA"), Some("Review")),
                "Ada renamed the status “QA” to “Review”.",
            ),
        ] {
            assert_eq!(activity_words(&e), said);
        }
        let mut project = entry(K::Trashed, "project", None, None);
        project.task = None;
        assert_eq!(
            activity_words(&project),
            "Ada moved the project to the trash."
        );
    }
}
