//! A board card's parts, worked out before the template draws them: who it is assigned to as
//! initials, its priority as a mark, its due date as a chip that says overdue, today or
//! tomorrow in the viewer's time zone, and what it holds (subtasks done of all, comments,
//! attachments).

use askama::Template;
use taskflow_core::project::{Project, Role};
use taskflow_core::task::{Priority, Task, TaskCounts};
use taskflow_core::workflow::{Category, Workflow};
use time::Date;

use super::kit::{PageFrame, Viewer};
use crate::error::Refusal;
use crate::state::AppState;
use crate::views::{Person, TaskView};

/// Someone a card is assigned to: initials in a colour of their own, their name on hover and to
/// screen readers.
pub struct Avatar {
    pub initials: String,
    pub name: String,
    /// `av-0` … `av-7`, the same for the same username everywhere.
    pub class: &'static str,
}

const AVATAR_CLASSES: [&str; 8] = [
    "av-0", "av-1", "av-2", "av-3", "av-4", "av-5", "av-6", "av-7",
];

impl Avatar {
    pub fn of(person: &Person) -> Self {
        Self {
            initials: initials(&person.display_name),
            name: person.display_name.to_string(),
            class: AVATAR_CLASSES[fnv(&person.username) % AVATAR_CLASSES.len()],
        }
    }
}

/// The first letters of a name's first and last words (`Ada Lovelace` → `AL`), or its first
/// two letters when it is one word.
pub fn initials(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let first = |w: &str| w.chars().find(|c| c.is_alphanumeric());
    let letters: String = match words.as_slice() {
        [] => String::new(),
        [one] => one
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(2)
            .collect(),
        [head, .., tail] => first(head).into_iter().chain(first(tail)).collect(),
    };
    if letters.is_empty() {
        "?".to_owned()
    } else {
        letters.to_uppercase()
    }
}

/// A small stable hash (FNV-1a), so a person keeps their colour across pages and restarts.
pub fn fnv(text: &str) -> usize {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash as usize
}

/// A due date as a card says it.
pub struct DueChip {
    /// `Overdue · Dec 5`, `Today`, `Tomorrow`, `Dec 24`, `Jan 3, 2028`.
    pub text: String,
    /// `due-overdue`, `due-today`, `due-soon` or `due-later`.
    pub class: &'static str,
    /// `2026-12-24`, for `<time datetime>`.
    pub date: String,
    /// For screen readers and the tooltip: `due 24 December 2026, overdue`.
    pub words: String,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl DueChip {
    /// `due` as seen on `today` (the viewer's date); a closed task is never overdue.
    pub fn new(due: Date, today: Date, closed: bool) -> Self {
        let month = usize::from(u8::from(due.month())) - 1;
        let short = if due.year() == today.year() {
            format!("{} {}", MONTHS[month], due.day())
        } else {
            format!("{} {}, {}", MONTHS[month], due.day(), due.year())
        };
        let full = format!("{} {} {}", due.day(), MONTH_NAMES[month], due.year());
        let days = (due - today).whole_days();
        let (text, class, said) = match days {
            _ if closed => (short, "due-later", String::new()),
            ..0 => (
                format!("Overdue · {short}"),
                "due-overdue",
                ", overdue".to_owned(),
            ),
            0 => ("Today".to_owned(), "due-today", ", today".to_owned()),
            1 => ("Tomorrow".to_owned(), "due-soon", ", tomorrow".to_owned()),
            _ => (short, "due-later", String::new()),
        };
        Self {
            text,
            class,
            date: taskflow_core::task::date_text(due),
            words: format!("due {full}{said}"),
        }
    }
}

/// The rest of a column: the list view of it without JavaScript, the next cards with it.
pub struct More {
    pub href: String,
    pub fragment: String,
}

/// Cards without their page: a column's next ones, or one card as it is now.
#[derive(Template)]
#[template(path = "cards.html")]
pub struct CardsFragment {
    pub page: PageFrame,
    pub project_key: String,
    pub status: String,
    pub cards: Vec<Card>,
    pub more: Option<More>,
    pub can_move: bool,
    /// The project's statuses' names, for the "Move…" form.
    pub choices: Vec<String>,
}

impl CardsFragment {
    fn same(&self, a: &str, b: &str) -> bool {
        a == b
    }

    /// `task`'s card as it is now.
    pub async fn one(
        state: &AppState,
        viewer: &Viewer,
        project: &Project,
        role: Role,
        task: Task,
    ) -> Result<Self, Refusal> {
        let id = task.id;
        let (view, workflow, counts) = tokio::try_join!(
            TaskView::one(state.store.as_ref(), task),
            async { Ok(state.store.workflow(project.id).await?) },
            async { Ok(state.store.task_counts(&[id]).await?) }
        )?;
        let card = Card::new(view, counts.first().copied(), viewer.today());
        Ok(Self {
            page: viewer.frame("projects"),
            project_key: project.key.as_str().to_owned(),
            status: card.view.status.to_string(),
            cards: vec![card],
            more: None,
            can_move: crate::access::can_edit(project, role),
            choices: status_names(&workflow),
        })
    }
}

/// A list row as it is now.
#[derive(Template)]
#[template(path = "row.html")]
pub struct RowFragment {
    pub project_key: String,
    pub task: TaskView,
    pub can_edit: bool,
    /// The viewer's date, for the due chip.
    pub today: Date,
}

/// The project's statuses' names, in board order.
pub fn status_names(workflow: &Workflow) -> Vec<String> {
    workflow
        .statuses()
        .iter()
        .map(|s| s.name.to_string())
        .collect()
}

/// A task's due date as a chip, seen on `today` (the viewer's date), when it has one.
pub fn due_chip(view: &TaskView, today: Date) -> Option<DueChip> {
    let closed = !view.status_category.is_open();
    view.due_date
        .as_deref()
        .and_then(taskflow_core::task::parse_date_text)
        .map(|due| DueChip::new(due, today, closed))
}

/// A card: the task and what its face shows.
pub struct Card {
    pub view: TaskView,
    pub avatars: Vec<Avatar>,
    pub due: Option<DueChip>,
    pub counts: Option<TaskCounts>,
    /// The estimate as people read it (`1d 2h`).
    pub estimate: Option<String>,
}

impl Card {
    pub fn new(view: TaskView, counts: Option<TaskCounts>, today: Date) -> Self {
        let due = due_chip(&view, today);
        Self {
            avatars: view.assignees.iter().map(Avatar::of).collect(),
            due,
            counts,
            estimate: view
                .estimate
                .map(|m| taskflow_core::task::effort_text(m.into())),
            view,
        }
    }

    /// The priority's mark (an icon's id) and words, when it has one.
    pub fn priority(&self) -> Option<(&'static str, &'static str, &'static str)> {
        match self.view.priority {
            Priority::None => None,
            Priority::Low => Some(("i-signal-low", "prio-low", "Low priority")),
            Priority::Medium => Some(("i-signal-medium", "prio-medium", "Medium priority")),
            Priority::High => Some(("i-signal-high", "prio-high", "High priority")),
            Priority::Urgent => Some(("i-circle-alert", "prio-urgent", "Urgent priority")),
        }
    }

    pub fn closed(&self) -> bool {
        matches!(
            self.view.status_category,
            Category::Completed | Category::Cancelled
        )
    }
}

/// `n thing` or `n things`.
pub fn counted(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn initials_take_the_first_and_last_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("Grace Brewster Murray Hopper"), "GH");
        assert_eq!(initials("edith"), "ED");
        assert_eq!(initials("Ølaf ßtrauss"), "ØSS");
        assert_eq!(initials("  "), "?");
        assert_eq!(initials("— —"), "?");
    }

    #[test]
    fn due_chips_say_overdue_today_tomorrow_or_the_date() {
        let today = date!(2026 - 12 - 07);
        let chip = |due, closed| {
            let c = DueChip::new(due, today, closed);
            (c.text, c.class)
        };
        assert_eq!(
            chip(date!(2026 - 12 - 05), false),
            ("Overdue · Dec 5".to_owned(), "due-overdue")
        );
        assert_eq!(chip(today, false), ("Today".to_owned(), "due-today"));
        assert_eq!(
            chip(date!(2026 - 12 - 08), false),
            ("Tomorrow".to_owned(), "due-soon")
        );
        assert_eq!(
            chip(date!(2026 - 12 - 24), false),
            ("Dec 24".to_owned(), "due-later")
        );
        assert_eq!(
            chip(date!(2027 - 01 - 03), false),
            ("Jan 3, 2027".to_owned(), "due-later")
        );
        assert_eq!(
            chip(date!(2026 - 12 - 05), true),
            ("Dec 5".to_owned(), "due-later"),
            "a closed task is not overdue"
        );
        let words = DueChip::new(date!(2026 - 12 - 05), today, false).words;
        assert_eq!(words, "due 5 December 2026, overdue");
        // Across a year's end, today is the viewer's.
        assert_eq!(
            DueChip::new(date!(2027 - 01 - 01), date!(2026 - 12 - 31), false).text,
            "Tomorrow"
        );
    }

    #[test]
    fn a_person_keeps_their_colour() {
        let p = |u: &str| Person {
            username: u.into(),
            display_name: "X Y".into(),
        };
        assert_eq!(Avatar::of(&p("ada")).class, Avatar::of(&p("ada")).class);
        let classes: std::collections::HashSet<&str> = ["ada", "bob", "cy", "dee", "eve", "fay"]
            .iter()
            .map(|u| Avatar::of(&p(u)).class)
            .collect();
        assert!(classes.len() > 2, "{classes:?}");
    }
}
