//! A project's workflow: the statuses its tasks move through, in board order. Each status has
//! a name (a board column's heading), a colour, a category and an optional limit on the tasks
//! in progress in it. The category is what the rest of Taskflow reasons about: a task in a
//! completed or cancelled status is closed (My tasks leaves it out), any other is open.

use serde::{Deserialize, Serialize};

use crate::project::Colour;
use crate::text::StatusName;
use crate::{ProjectId, StatusId, ValidationError};

/// What kind of step a status is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Not yet planned.
    Backlog,
    /// Planned, not started.
    Unstarted,
    Started,
    Completed,
    Cancelled,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Self::Backlog,
        Self::Unstarted,
        Self::Started,
        Self::Completed,
        Self::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Backlog => "backlog",
            Self::Unstarted => "unstarted",
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                ValidationError::new(
                    "category",
                    format!(
                        "unknown category {value:?}; expected backlog, unstarted, started, \
                         completed or cancelled"
                    ),
                )
            })
    }

    /// Whether a task in a status of this category still needs doing.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Backlog | Self::Unstarted | Self::Started)
    }

    /// As a person reads it, in a sentence or a menu.
    pub const fn words(self) -> &'static str {
        match self {
            Self::Backlog => "backlog",
            Self::Unstarted => "not started",
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// How a status name is compared: without case, spaces, hyphens or underscores, so `to do`,
/// `To-Do` and `todo` name the same status (and an API client that sends `in_progress` finds
/// "In progress").
pub fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A limit on the tasks in a status at once: 1 to 999.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct WipLimit(u32);

impl WipLimit {
    pub const MAX: u32 = 999;

    pub fn new(limit: i64) -> Result<Self, ValidationError> {
        u32::try_from(limit)
            .ok()
            .filter(|l| (1..=Self::MAX).contains(l))
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "wip_limit",
                    format!(
                        "a limit on the tasks in a status is 1 to {}, not {limit}",
                        Self::MAX
                    ),
                )
            })
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// One step of a project's workflow.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub id: StatusId,
    pub project_id: ProjectId,
    pub name: StatusName,
    pub colour: Colour,
    pub category: Category,
    /// Its place on the board, from 0 at the left.
    pub position: i64,
    /// At most this many live tasks are meant to be in it; the board says when there are more.
    pub wip_limit: Option<WipLimit>,
    /// How many live tasks it holds now.
    pub tasks: u64,
}

impl Status {
    /// It holds more tasks than its limit.
    pub fn over_limit(&self) -> bool {
        self.wip_limit
            .is_some_and(|l| self.tasks > u64::from(l.get()))
    }
}

/// A task's status as the task carries it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub id: StatusId,
    pub name: StatusName,
    pub category: Category,
}

impl From<&Status> for TaskStatus {
    fn from(status: &Status) -> Self {
        Self {
            id: status.id,
            name: status.name.clone(),
            category: status.category,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewStatus {
    pub name: StatusName,
    pub colour: Colour,
    pub category: Category,
    pub wip_limit: Option<WipLimit>,
    /// Where it goes on the board, from 0 at the left; at the right when none.
    pub position: Option<usize>,
}

/// A change to a status; `None` leaves a field as it is, `Some(None)` clears the limit.
#[derive(Debug, Clone, Default)]
pub struct StatusPatch {
    pub name: Option<StatusName>,
    pub colour: Option<Colour>,
    pub category: Option<Category>,
    pub wip_limit: Option<Option<WipLimit>>,
    /// Its new place on the board, from 0 at the left.
    pub position: Option<usize>,
}

/// The statuses a new project starts with: name, category, colour.
pub const DEFAULT_STATUSES: [(&str, Category, &str); 3] = [
    ("To do", Category::Unstarted, "#8b949e"),
    ("In progress", Category::Started, "#1f6feb"),
    ("Done", Category::Completed, "#2da44e"),
];

/// A project's statuses in board order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workflow(pub Vec<Status>);

impl Workflow {
    pub fn statuses(&self) -> &[Status] {
        &self.0
    }

    pub fn get(&self, id: crate::StatusId) -> Option<&Status> {
        self.0.iter().find(|s| s.id == id)
    }

    /// The status this text names (see [`name_key`]).
    pub fn find(&self, name: &str) -> Option<&Status> {
        let key = name_key(name);
        self.0.iter().find(|s| name_key(s.name.as_str()) == key)
    }

    /// The names, for a message: `To do, In progress, Done`.
    pub fn names(&self) -> String {
        self.0
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The status `name` names, or an error for `field` that lists the ones there are.
    pub fn resolve(&self, field: &str, name: &str) -> Result<&Status, ValidationError> {
        self.find(name).ok_or_else(|| {
            ValidationError::new(
                field,
                format!(
                    "there is no status {:?} in this project; its statuses are {}",
                    name.trim(),
                    self.names()
                ),
            )
        })
    }

    /// Where a new task goes when none is named: the first status not yet started, else the
    /// first open one, else the first.
    pub fn default_status(&self) -> Option<&Status> {
        self.0
            .iter()
            .find(|s| s.category == Category::Unstarted)
            .or_else(|| self.0.iter().find(|s| s.category.is_open()))
            .or_else(|| self.0.first())
    }

    /// The statuses a filter's values name: each a status's name or a category (all of its
    /// statuses). The error for `field` names the first value that is neither.
    pub fn matching<'a>(
        &self,
        field: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<crate::StatusId>, ValidationError> {
        let mut ids = Vec::new();
        for value in values {
            let named = self.find(value).map(|s| s.id);
            let category = Category::parse(value).ok();
            if named.is_none() && category.is_none() {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "{:?} is neither a status of this project ({}) nor a category \
                         (backlog, unstarted, started, completed, cancelled)",
                        value.trim(),
                        self.names()
                    ),
                ));
            }
            ids.extend(named);
            ids.extend(
                self.0
                    .iter()
                    .filter(|s| Some(s.category) == category)
                    .map(|s| s.id),
            );
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// What every workflow keeps: a status to work in (open) and one to finish in (completed),
    /// names that differ (as [`name_key`] compares them).
    pub fn check(&self) -> Result<(), ValidationError> {
        if !self.0.iter().any(|s| s.category.is_open()) {
            return Err(ValidationError::new(
                "category",
                "a project keeps at least one open status (backlog, unstarted or started)",
            ));
        }
        if !self.0.iter().any(|s| s.category == Category::Completed) {
            return Err(ValidationError::new(
                "category",
                "a project keeps at least one completed status",
            ));
        }
        let mut keys: Vec<String> = self.0.iter().map(|s| name_key(s.name.as_str())).collect();
        keys.sort();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(ValidationError::new(
                "name",
                "another status of this project already has that name",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> Workflow {
        Workflow(
            [
                ("Backlog", Category::Backlog),
                ("To do", Category::Unstarted),
                ("In progress", Category::Started),
                ("Review", Category::Started),
                ("Done", Category::Completed),
                ("Won't do", Category::Cancelled),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (name, category))| Status {
                id: StatusId(i as i64 + 1),
                project_id: ProjectId(1),
                name: StatusName::parse(name).unwrap(),
                colour: Colour::parse("#8b949e").unwrap(),
                category,
                position: i as i64,
                wip_limit: None,
                tasks: 0,
            })
            .collect(),
        )
    }

    #[test]
    fn names_match_without_case_spaces_or_separators() {
        let w = workflow();
        for name in ["to do", "TODO", "to_do", " To-Do "] {
            assert_eq!(w.find(name).unwrap().name.as_str(), "To do", "{name}");
        }
        assert_eq!(w.find("in_progress").unwrap().name.as_str(), "In progress");
        let err = w.resolve("status", "Reveiw").unwrap_err();
        assert_eq!(err.field, "status");
        assert!(err.message.contains("\"Reveiw\""), "{err}");
        assert!(err.message.contains("Backlog, To do, In progress"), "{err}");
    }

    #[test]
    fn new_tasks_start_in_the_first_unstarted_status() {
        assert_eq!(workflow().default_status().unwrap().name.as_str(), "To do");
        let mut w = workflow();
        w.0.retain(|s| s.category != Category::Unstarted);
        assert_eq!(w.default_status().unwrap().name.as_str(), "Backlog");
    }

    #[test]
    fn filters_take_names_and_categories() {
        let w = workflow();
        let ids = |values: &[&str]| w.matching("status", values.iter().copied()).unwrap();
        assert_eq!(ids(&["started"]), [StatusId(3), StatusId(4)]);
        assert_eq!(ids(&["Done", "cancelled"]), [StatusId(5), StatusId(6)]);
        assert_eq!(ids(&["review", "started"]), [StatusId(3), StatusId(4)]);
        let err = w.matching("status", ["nope"]).unwrap_err();
        assert!(err.message.contains("\"nope\" is neither"), "{err}");
    }

    #[test]
    fn a_workflow_keeps_an_open_and_a_completed_status() {
        assert!(workflow().check().is_ok());
        let mut w = workflow();
        w.0.retain(|s| s.category != Category::Completed);
        assert!(w.check().unwrap_err().message.contains("completed"));
        let mut w = workflow();
        w.0.retain(|s| !s.category.is_open());
        assert!(w.check().unwrap_err().message.contains("open"));
        let mut w = workflow();
        w.0[0].name = StatusName::parse("Review").unwrap();
        assert_eq!(w.check().unwrap_err().field, "name");
    }

    #[test]
    fn categories_and_limits_parse() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Ok(c));
        }
        assert_eq!(Category::parse(" Started "), Ok(Category::Started));
        assert_eq!(Category::parse("done").unwrap_err().field, "category");
        assert!(Category::Started.is_open() && !Category::Cancelled.is_open());
        assert_eq!(WipLimit::new(3).unwrap().get(), 3);
        for bad in [0, -1, 1000] {
            assert_eq!(WipLimit::new(bad).unwrap_err().field, "wip_limit");
        }
    }
}
