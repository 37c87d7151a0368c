//! Tasks: keys, status and board position, priority, subtasks, listing queries and cursors,
//! and the field-by-field diff the activity log records.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::project::ProjectKey;
use crate::text::{Markdown, TaskTitle};
use crate::workflow::TaskStatus;
use crate::{LabelId, ProjectId, StatusId, TaskId, Timestamp, UserId, ValidationError};

/// Stored as its rank (0–4) so sorting by priority is sorting by a number.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    None,
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::None,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn rank(self) -> i16 {
        self as i16
    }

    pub fn from_rank(rank: i64) -> Result<Self, ValidationError> {
        usize::try_from(rank)
            .ok()
            .and_then(|r| Priority::ALL.get(r).copied())
            .ok_or_else(|| ValidationError::new("priority", format!("unknown rank {rank}")))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| {
                ValidationError::new(
                    "priority",
                    format!(
                        "unknown priority {value:?}; expected none, low, medium, high or urgent"
                    ),
                )
            })
    }
}

/// The human key of a task, `OPS-42`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskKey {
    pub project: ProjectKey,
    pub number: i64,
}

impl TaskKey {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let err =
            || ValidationError::new("key", format!("{value:?} is not a task key like OPS-42"));
        let (project, number) = value.rsplit_once('-').ok_or_else(err)?;
        let project = ProjectKey::parse(project).map_err(|_| err())?;
        let number: i64 = number.parse().map_err(|_| err())?;
        if number < 1 || number.to_string().len() != value.len() - project.as_str().len() - 1 {
            return Err(err());
        }
        Ok(Self { project, number })
    }
}

impl TaskKey {
    /// `OPS-42`, as `to_string` writes it, built without the formatting machinery: every task
    /// in an answer carries its key.
    pub fn text(project: &ProjectKey, number: i64) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(number);
        let mut key = String::with_capacity(project.as_str().len() + 1 + digits.len());
        key.push_str(project.as_str());
        key.push('-');
        key.push_str(digits);
        key
    }
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.project, self.number)
    }
}

// Dates travel as `2026-12-31`, as they are written in requests.
/// A task's estimated effort, in whole minutes, from one minute to 10 000 hours. Read and
/// written as people type it: `90m`, `2h`, `1h30m`, `1.5h`, `1d` (a day is 8 working hours,
/// not 24) or a bare number of minutes; stored and sent by the API as minutes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Estimate(u32);

impl Estimate {
    /// 10 000 hours.
    pub const MAX_MINUTES: u32 = 600_000;
    /// A working day: what `1d` means.
    pub const DAY_MINUTES: u32 = 8 * 60;

    pub fn from_minutes(minutes: i64) -> Result<Self, ValidationError> {
        u32::try_from(minutes)
            .ok()
            .filter(|m| (1..=Self::MAX_MINUTES).contains(m))
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "estimate",
                    format!(
                        "an estimate is 1 to {} minutes (10 000 hours), not {minutes}",
                        Self::MAX_MINUTES
                    ),
                )
            })
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    /// `90m`, `2h`, `1h30m`, `1.5h`, `1d`, `1d4h` or `90` (minutes); case and spaces between
    /// the parts do not matter.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let wrong = || {
            ValidationError::new(
                "estimate",
                format!(
                    "{text:?} is not an estimate; write minutes, hours or days such as 90m, 2h, \
                     1h30m or 1d (a day is 8 hours)"
                ),
            )
        };
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if compact.is_empty() || compact.len() > 32 {
            return Err(wrong());
        }
        if compact.bytes().all(|b| b.is_ascii_digit()) {
            return compact
                .parse::<i64>()
                .map_err(|_| wrong())
                .and_then(Self::from_minutes);
        }
        let mut minutes = 0f64;
        let mut rest = compact.as_str();
        let mut last_unit = u32::MAX;
        while !rest.is_empty() {
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(wrong)?;
            let number: f64 = rest[..end].parse().map_err(|_| wrong())?;
            let unit = match rest[end..].chars().next() {
                Some('d') => Self::DAY_MINUTES,
                Some('h') => 60,
                Some('m') => 1,
                _ => return Err(wrong()),
            };
            // Largest unit first, each once: `1h30m`, not `30m1h` or `1h1h`.
            if unit >= last_unit {
                return Err(wrong());
            }
            last_unit = unit;
            minutes += number * f64::from(unit);
            rest = &rest[end + 1..];
        }
        let rounded = minutes.round();
        if !rounded.is_finite() || rounded > f64::from(Self::MAX_MINUTES) {
            return Err(Self::from_minutes(i64::MAX).unwrap_err());
        }
        Self::from_minutes(rounded as i64)
    }
}

impl std::fmt::Display for Estimate {
    /// `1d 2h 30m`, largest unit first, zero parts left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&effort_text(u64::from(self.0)))
    }
}

/// A number of minutes of effort as people read it (`1d 2h 30m`, 8-hour days): an estimate, or
/// a column's total.
pub fn effort_text(minutes: u64) -> String {
    let day = u64::from(Estimate::DAY_MINUTES);
    let parts = [
        (minutes / day, "d"),
        (minutes % day / 60, "h"),
        (minutes % 60, "m"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0m".to_owned()
    } else {
        text.join(" ")
    }
}

/// A date as requests write it, `2026-12-31`: what `[year]-[month]-[day]` writes, without the
/// formatting machinery for the years 0–9999 every stored date is in.
pub fn date_text(date: Date) -> String {
    let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
    if !(0..=9999).contains(&year) {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        return date.format(format).unwrap_or_default();
    }
    let mut text = String::with_capacity(10);
    for (value, width) in [(year as u32, 4), (month.into(), 2), (day.into(), 2)] {
        if width == 2 {
            text.push('-');
        }
        for place in (0..width).rev() {
            text.push(char::from(b'0' + (value / 10u32.pow(place) % 10) as u8));
        }
    }
    text
}

/// `2026-12-31` back into a date: four, two and two ASCII digits. None for anything else,
/// which the caller reads the slow way (and rejects as `[year]-[month]-[day]` does).
pub fn parse_date_text(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let day = u8::try_from(number(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: TaskId,
    pub project_id: ProjectId,
    pub project_key: ProjectKey,
    pub number: i64,
    pub title: TaskTitle,
    pub description: Markdown,
    pub status: TaskStatus,
    /// Order on the board within its status column, ascending.
    pub position: i64,
    pub priority: Priority,
    pub due_date: Option<Date>,
    pub estimate: Option<Estimate>,
    /// Sorted by id.
    pub assignees: Vec<UserId>,
    /// Sorted by id.
    pub labels: Vec<LabelId>,
    pub parent_id: Option<TaskId>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented by every change; the basis of ETags and `If-Match`.
    pub version: i64,
    pub deleted_at: Option<Timestamp>,
}

impl Task {
    pub fn key(&self) -> TaskKey {
        TaskKey {
            project: self.project_key.clone(),
            number: self.number,
        }
    }
}

/// What a card counts of a task: its live subtasks (and how many of them are closed), its
/// comments and its attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskCounts {
    pub task: TaskId,
    pub subtasks: u32,
    /// Subtasks in a completed or cancelled status.
    pub subtasks_closed: u32,
    pub comments: u32,
    pub attachments: u32,
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Markdown,
    /// One of the project's statuses; its first not yet started one when none.
    pub status: Option<StatusId>,
    pub priority: Priority,
    pub due_date: Option<Date>,
    pub estimate: Option<Estimate>,
    pub assignees: Vec<UserId>,
    pub labels: Vec<LabelId>,
    pub parent_id: Option<TaskId>,
}

impl NewTask {
    pub fn titled(title: TaskTitle) -> Self {
        Self {
            title,
            description: Markdown::default(),
            status: None,
            priority: Priority::None,
            due_date: None,
            estimate: None,
            assignees: Vec::new(),
            labels: Vec::new(),
            parent_id: None,
        }
    }
}

/// A partial update; `None` leaves a field as it is. `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct TaskPatch {
    pub title: Option<TaskTitle>,
    pub description: Option<Markdown>,
    /// One of the task's project's statuses.
    pub status: Option<TaskStatus>,
    pub priority: Option<Priority>,
    pub due_date: Option<Option<Date>>,
    pub estimate: Option<Option<Estimate>>,
    pub assignees: Option<Vec<UserId>>,
    pub labels: Option<Vec<LabelId>>,
    pub parent_id: Option<Option<TaskId>>,
}

/// Where a moved task lands in its (possibly new) status column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Top,
    Bottom,
    Before(TaskId),
    After(TaskId),
}

#[derive(Debug, Clone, Copy)]
pub struct TaskMove {
    /// One of the task's project's statuses.
    pub status: StatusId,
    pub placement: Placement,
}

/// Gap left between neighbours on the board, so most moves touch one row.
pub const POSITION_STEP: i64 = 1 << 16;

/// A position strictly between two neighbours, or `None` when they are adjacent and the column
/// must be renumbered first.
pub fn position_between(prev: Option<i64>, next: Option<i64>) -> Option<i64> {
    match (prev, next) {
        (None, None) => Some(0),
        (Some(p), None) => p.checked_add(POSITION_STEP),
        (None, Some(n)) => n.checked_sub(POSITION_STEP),
        (Some(p), Some(n)) => {
            let mid = p + (n - p) / 2;
            (mid > p && mid < n).then_some(mid)
        }
    }
}

/// A field of a task that a change can name: in a patch's changes, the activity log (by
/// [`TaskField::name`], the name the API uses) and the sentences pages make of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskField {
    Title,
    Description,
    Status,
    Priority,
    DueDate,
    Estimate,
    Assignees,
    Labels,
    Parent,
}

impl TaskField {
    pub const ALL: [TaskField; 9] = [
        Self::Title,
        Self::Description,
        Self::Status,
        Self::Priority,
        Self::DueDate,
        Self::Estimate,
        Self::Assignees,
        Self::Labels,
        Self::Parent,
    ];

    /// The field's name in the API and the activity log: `due_date`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Description => "description",
            Self::Status => "status",
            Self::Priority => "priority",
            Self::DueDate => "due_date",
            Self::Estimate => "estimate",
            Self::Assignees => "assignees",
            Self::Labels => "labels",
            Self::Parent => "parent",
        }
    }

    /// The field an activity entry names, if it names one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether its old and new values are short enough to quote in a sentence ("changed the
    /// priority from high to urgent"); the rest are only named.
    pub const fn quotable(self) -> bool {
        matches!(
            self,
            Self::Title | Self::Status | Self::Priority | Self::DueDate | Self::Estimate
        )
    }
}

impl std::fmt::Display for TaskField {
    /// As a person reads it: `due date`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name().replace('_', " "))
    }
}

/// One changed field, as the activity log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: TaskField,
    pub old: Option<String>,
    pub new: Option<String>,
}

fn list<T: std::fmt::Display>(items: &[T]) -> Option<String> {
    (!items.is_empty()).then(|| {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// A set of ids in canonical order, without repeats.
fn canonical<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

/// Applies a patch to a task, returning the changed task (not yet versioned or timestamped)
/// and what changed. Fields set to their current value are not changes.
pub fn apply_patch(current: &Task, patch: &TaskPatch) -> (Task, Vec<FieldChange>) {
    let mut next = current.clone();
    let mut changes = Vec::new();
    let mut record = |field, old: Option<String>, new: Option<String>| {
        if old != new {
            changes.push(FieldChange { field, old, new });
        }
    };
    let text = |t: &dyn std::fmt::Display| Some(t.to_string());
    let date = |d: Option<Date>| d.map(|d| d.to_string());
    use TaskField as F;
    if let Some(title) = &patch.title {
        record(F::Title, text(&current.title), text(title));
        next.title = title.clone();
    }
    if let Some(description) = &patch.description {
        record(
            F::Description,
            text(&current.description),
            text(description),
        );
        next.description = description.clone();
    }
    if let Some(status) = &patch.status
        && status.id != current.status.id
    {
        record(F::Status, text(&current.status.name), text(&status.name));
        next.status = status.clone();
    }
    if let Some(priority) = patch.priority {
        record(
            F::Priority,
            text(&current.priority.as_str()),
            text(&priority.as_str()),
        );
        next.priority = priority;
    }
    if let Some(due) = patch.due_date {
        record(F::DueDate, date(current.due_date), date(due));
        next.due_date = due;
    }
    if let Some(estimate) = patch.estimate {
        let minutes = |e: Option<Estimate>| e.map(|e| e.minutes().to_string());
        record(F::Estimate, minutes(current.estimate), minutes(estimate));
        next.estimate = estimate;
    }
    if let Some(assignees) = &patch.assignees {
        let assignees = canonical(assignees);
        record(F::Assignees, list(&current.assignees), list(&assignees));
        next.assignees = assignees;
    }
    if let Some(labels) = &patch.labels {
        let labels = canonical(labels);
        record(F::Labels, list(&current.labels), list(&labels));
        next.labels = labels;
    }
    if let Some(parent) = patch.parent_id {
        let id = |p: Option<TaskId>| p.map(|p| p.to_string());
        record(F::Parent, id(current.parent_id), id(parent));
        next.parent_id = parent;
    }
    (next, changes)
}

/// Full-text search terms: runs of letters and digits, lower-cased. Every term must match a
/// word of the title or description; the last may match the start of one, so results follow
/// along as someone types. (Whole words for the others keep a search for a common word plus a
/// rare one fast: the index intersects instead of reading every word starting with the first.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(Vec<String>);

impl SearchText {
    pub const MAX_TERMS: usize = 16;

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let terms: Vec<String> = value
            .split(|c: char| !c.is_alphanumeric())
            .filter(|t| !t.is_empty())
            .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
            .collect();
        if terms.is_empty() {
            return Err(ValidationError::new(
                "q",
                "search text must contain a letter or digit",
            ));
        }
        if terms.len() > Self::MAX_TERMS {
            return Err(ValidationError::new(
                "q",
                format!("at most {} search terms", Self::MAX_TERMS),
            ));
        }
        Ok(Self(terms))
    }

    /// Each term contains only letters and digits, so it is safe to quote into a query syntax.
    pub fn terms(&self) -> &[String] {
        &self.0
    }

    /// The terms with whether each is a prefix (only the last is).
    pub fn terms_with_prefix(&self) -> impl Iterator<Item = (&str, bool)> {
        let last = self.0.len() - 1;
        self.0
            .iter()
            .enumerate()
            .map(move |(i, t)| (t.as_str(), i == last))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentFilter {
    /// Only tasks without a parent.
    TopLevel,
    /// Only direct subtasks of this task.
    Of(TaskId),
}

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Any of these statuses; empty means all.
    pub statuses: Vec<StatusId>,
    pub assignee: Option<UserId>,
    pub label: Option<LabelId>,
    /// Due strictly before this date (tasks without a due date are excluded).
    pub due_before: Option<Date>,
    /// Due strictly after this date (tasks without a due date are excluded).
    pub due_after: Option<Date>,
    pub parent: Option<ParentFilter>,
    pub text: Option<SearchText>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskSort {
    /// Board order: position ascending.
    #[default]
    Position,
    /// Earliest due first; tasks without a due date last.
    DueDate,
    /// Most urgent first; among equals, newest first.
    Priority,
    /// Most recently updated first.
    Updated,
}

impl TaskSort {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value {
            "position" => Ok(Self::Position),
            "due_date" => Ok(Self::DueDate),
            "priority" => Ok(Self::Priority),
            "updated" => Ok(Self::Updated),
            other => Err(ValidationError::new(
                "sort",
                format!("unknown sort {other:?}; expected position, due_date, priority or updated"),
            )),
        }
    }
}

/// The sort key of the last task on a page; the next page starts strictly after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKey {
    Position(i64),
    DueDate(Option<Date>),
    Priority(Priority),
    Updated(Timestamp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub key: CursorKey,
    pub id: TaskId,
}

impl Cursor {
    pub fn after(sort: TaskSort, task: &Task) -> Self {
        let key = match sort {
            TaskSort::Position => CursorKey::Position(task.position),
            TaskSort::DueDate => CursorKey::DueDate(task.due_date),
            TaskSort::Priority => CursorKey::Priority(task.priority),
            TaskSort::Updated => CursorKey::Updated(task.updated_at),
        };
        Self { key, id: task.id }
    }

    /// An opaque, URL-safe token.
    pub fn encode(&self) -> String {
        let key = match self.key {
            CursorKey::Position(p) => format!("p.{p}"),
            CursorKey::DueDate(Some(d)) => format!("d.{}", d.to_julian_day()),
            CursorKey::DueDate(None) => "d.none".to_owned(),
            CursorKey::Priority(p) => format!("r.{}", p.rank()),
            CursorKey::Updated(t) => format!("u.{}", t.unix_micros()),
        };
        format!("{key}.{}", self.id.0)
    }

    /// Decodes a cursor, which must have been made for the same sort.
    pub fn decode(value: &str, sort: TaskSort) -> Result<Self, ValidationError> {
        let err = || ValidationError::new("cursor", "is not a cursor from this listing");
        let mut parts = value.split('.');
        let (Some(kind), Some(key), Some(id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        let id = TaskId(id.parse().map_err(|_| err())?);
        let key = match (kind, sort) {
            ("p", TaskSort::Position) => CursorKey::Position(key.parse().map_err(|_| err())?),
            ("d", TaskSort::DueDate) if key == "none" => CursorKey::DueDate(None),
            ("d", TaskSort::DueDate) => {
                let day: i32 = key.parse().map_err(|_| err())?;
                CursorKey::DueDate(Some(Date::from_julian_day(day).map_err(|_| err())?))
            }
            ("r", TaskSort::Priority) => CursorKey::Priority(
                Priority::from_rank(key.parse().map_err(|_| err())?).map_err(|_| err())?,
            ),
            ("u", TaskSort::Updated) => {
                CursorKey::Updated(Timestamp::from_unix_micros(key.parse().map_err(|_| err())?))
            }
            _ => return Err(err()),
        };
        Ok(Self { key, id })
    }
}

#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub filter: TaskFilter,
    pub sort: TaskSort,
    /// Page size, 1 to `MAX_LIMIT`.
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl TaskQuery {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn new(sort: TaskSort) -> Self {
        Self {
            filter: TaskFilter::default(),
            sort,
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }

    pub fn check_limit(limit: u32) -> Result<u32, ValidationError> {
        if (1..=Self::MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(ValidationError::new(
                "limit",
                format!("must be between 1 and {}", Self::MAX_LIMIT),
            ))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when there may be more items; pass it back as `after`.
    pub next: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn estimates_read_as_typed_and_write_largest_unit_first() {
        let minutes = |text: &str| Estimate::parse(text).map(Estimate::minutes);
        assert_eq!(minutes("90"), Ok(90));
        assert_eq!(minutes("90m"), Ok(90));
        assert_eq!(minutes(" 1h 30m "), Ok(90));
        assert_eq!(minutes("2H"), Ok(120));
        assert_eq!(minutes("0.5h"), Ok(30));
        assert_eq!(minutes("1d"), Ok(Estimate::DAY_MINUTES));
        assert_eq!(minutes("10000h"), Ok(Estimate::MAX_MINUTES));
        for bad in [
            "", "h", "2x", "1m1h", "1h1h", "0", "0m", "10001h", "-5", "1e9d", "..h",
        ] {
            let err = Estimate::parse(bad).unwrap_err();
            assert_eq!(err.field, "estimate", "{bad:?}");
        }
        assert!(Estimate::from_minutes(0).is_err());
        assert!(Estimate::from_minutes(-1).is_err());
        for (m, text) in [(90, "1h 30m"), (480, "1d"), (750, "1d 4h 30m"), (5, "5m")] {
            let estimate = Estimate::from_minutes(m).unwrap();
            assert_eq!(estimate.to_string(), text);
            assert_eq!(Estimate::parse(text), Ok(estimate), "{text} reads back");
        }
        assert_eq!(effort_text(0), "0m");
        assert_eq!(
            serde_json::to_string(&Estimate::from_minutes(90).unwrap()).unwrap(),
            "90"
        );
    }

    #[test]
    fn an_estimate_change_is_recorded_in_minutes() {
        let task = Task {
            id: TaskId(1),
            project_id: ProjectId(1),
            project_key: ProjectKey::try_from("OPS".to_owned()).unwrap(),
            number: 1,
            title: TaskTitle::parse("Plan").unwrap(),
            description: Markdown::default(),
            status: TaskStatus {
                id: StatusId(1),
                name: crate::text::StatusName::parse("To do").unwrap(),
                category: crate::workflow::Category::Unstarted,
            },
            position: 0,
            priority: Priority::None,
            due_date: None,
            estimate: None,
            assignees: Vec::new(),
            labels: Vec::new(),
            parent_id: None,
            created_by: None,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            version: 1,
            deleted_at: None,
        };
        let patch = TaskPatch {
            estimate: Some(Some(Estimate::from_minutes(120).unwrap())),
            ..TaskPatch::default()
        };
        let (next, changes) = apply_patch(&task, &patch);
        assert_eq!(next.estimate.map(Estimate::minutes), Some(120));
        assert_eq!(
            changes,
            vec![FieldChange {
                field: TaskField::Estimate,
                old: None,
                new: Some("120".into())
            }]
        );
        assert_eq!(TaskField::parse("estimate"), Some(TaskField::Estimate));
        assert_eq!(TaskField::Estimate.to_string(), "estimate");
        let (_, unchanged) = apply_patch(&next, &patch);
        assert!(unchanged.is_empty(), "the same value again is no change");
    }

    #[test]
    fn dates_are_written_and_read_as_requests_write_them() {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        for (y, m, d) in [
            (2026, 12, 31),
            (2024, 2, 29),
            (1, 1, 1),
            (0, 1, 1),
            (9999, 12, 31),
        ] {
            let date = Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
            let text = date.format(format).unwrap();
            assert_eq!(date_text(date), text);
            assert_eq!(parse_date_text(&text), Some(date));
        }
        let old = Date::from_calendar_date(-44, time::Month::March, 15).unwrap();
        assert_eq!(date_text(old), old.format(format).unwrap());
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "2026/01/01",
            "+026-01-01",
            "2026-01-0x",
            "",
        ] {
            assert_eq!(parse_date_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn task_keys_parse() {
        let key = TaskKey::parse("OPS-42").unwrap();
        assert_eq!((key.project.as_str(), key.number), ("OPS", 42));
        assert_eq!(key.to_string(), "OPS-42");
        assert_eq!(TaskKey::text(&key.project, key.number), "OPS-42");
        for bad in ["OPS", "OPS-", "OPS-0", "OPS-+4", "ops-1", "OPS-01", "-1"] {
            assert!(TaskKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn positions_between_neighbours() {
        assert_eq!(position_between(None, None), Some(0));
        assert_eq!(position_between(Some(10), None), Some(10 + POSITION_STEP));
        assert_eq!(position_between(Some(10), Some(20)), Some(15));
        assert_eq!(position_between(Some(10), Some(11)), None);
    }

    #[test]
    fn search_text_keeps_only_words() {
        let q = SearchText::parse("  Deploy, the DB!  ").unwrap();
        assert_eq!(q.terms(), ["deploy", "the", "db"]);
        assert!(SearchText::parse("*\" OR 1").unwrap().terms() == ["or", "1"]);
        assert!(SearchText::parse("!!!").is_err());
    }

    fn sort_strategy() -> impl Strategy<Value = TaskSort> {
        prop_oneof![
            Just(TaskSort::Position),
            Just(TaskSort::DueDate),
            Just(TaskSort::Priority),
            Just(TaskSort::Updated)
        ]
    }

    proptest! {
        #[test]
        fn cursors_round_trip(sort in sort_strategy(), n in any::<i64>(), id in 1i64..i64::MAX, day in 2_400_000i32..2_500_000, has_due in any::<bool>()) {
            let key = match sort {
                TaskSort::Position => CursorKey::Position(n),
                TaskSort::DueDate => CursorKey::DueDate(has_due.then(|| Date::from_julian_day(day).unwrap())),
                TaskSort::Priority => CursorKey::Priority(Priority::ALL[(n.unsigned_abs() % 5) as usize]),
                TaskSort::Updated => CursorKey::Updated(Timestamp::from_unix_micros(n / 1_000_000)),
            };
            let cursor = Cursor { key, id: TaskId(id) };
            prop_assert_eq!(Cursor::decode(&cursor.encode(), sort).unwrap(), cursor);
        }

        #[test]
        fn garbage_cursors_are_refused_not_panicking(s in "\\PC{0,40}", sort in sort_strategy()) {
            let _ = Cursor::decode(&s, sort);
        }
    }

    #[test]
    fn cursor_for_another_sort_is_refused() {
        let c = Cursor {
            key: CursorKey::Position(5),
            id: TaskId(1),
        }
        .encode();
        assert_eq!(
            Cursor::decode(&c, TaskSort::Updated).unwrap_err().field,
            "cursor"
        );
    }
}
