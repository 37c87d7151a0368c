//! Quick add: one line such as `Fix login #bug @dev due:2026-12-24 !high` describing a new
//! task. This is the only place the syntax is parsed; the board, the list and the task page's
//! subtask field all send their line here.
//!
//! - `#name` adds the label `name`, `@username` assigns that member;
//! - `due:YYYY-MM-DD` (or `due:today`, `due:tomorrow`) sets the due date;
//! - `!low`, `!medium`, `!high`, `!urgent` (or `!none`) set the priority;
//! - every other word is the title, in order; a word starting with `\` is taken as written
//!   without its backslash, so `\#42` puts `#42` in the title.

use std::fmt;

use time::{Date, Duration};

use crate::task::Priority;

/// What a quick-add line asks for; names are resolved against the project afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuickAdd {
    pub title: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub due_date: Option<Date>,
    pub priority: Option<Priority>,
}

/// Why a line could not be read, naming the word that was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickAddError {
    /// The word as typed, or empty when the problem is the whole line.
    pub word: String,
    pub problem: String,
}

impl fmt::Display for QuickAddError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.word.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "“{}” {}", self.word, self.problem)
        }
    }
}

impl std::error::Error for QuickAddError {}

fn wrong(word: &str, problem: impl Into<String>) -> QuickAddError {
    QuickAddError {
        word: word.to_owned(),
        problem: problem.into(),
    }
}

/// Reads `line`; `today` is the date `due:today` means. Every problem in the line is reported,
/// not only the first.
pub fn parse(line: &str, today: Date) -> Result<QuickAdd, Vec<QuickAddError>> {
    let mut quick = QuickAdd::default();
    let mut title = Vec::new();
    let mut problems = Vec::new();
    for word in line.split_whitespace() {
        if let Some(literal) = word.strip_prefix('\\') {
            if !literal.is_empty() {
                title.push(literal);
            }
        } else if let Some(name) = word.strip_prefix('#').filter(|n| !n.is_empty()) {
            if !quick.labels.iter().any(|l| l == name) {
                quick.labels.push(name.to_owned());
            }
        } else if let Some(name) = word.strip_prefix('@').filter(|n| !n.is_empty()) {
            if !quick.assignees.iter().any(|a| a == name) {
                quick.assignees.push(name.to_owned());
            }
        } else if let Some(when) = strip_prefix_ignore_case(word, "due:") {
            match due(when, today) {
                Some(_) if quick.due_date.is_some() => {
                    problems.push(wrong(word, "is a second due date; give one"));
                }
                Some(date) => quick.due_date = Some(date),
                None => problems.push(wrong(
                    word,
                    "is not a date; write due:YYYY-MM-DD, due:today or due:tomorrow",
                )),
            }
        } else if let Some(level) = word.strip_prefix('!').filter(|l| !l.is_empty()) {
            match Priority::parse(&level.to_ascii_lowercase()) {
                Ok(_) if quick.priority.is_some() => {
                    problems.push(wrong(word, "is a second priority; give one"));
                }
                Ok(priority) => quick.priority = Some(priority),
                Err(_) => problems.push(wrong(
                    word,
                    "is not a priority; write !low, !medium, !high or !urgent",
                )),
            }
        } else {
            title.push(word);
        }
    }
    quick.title = title.join(" ");
    if quick.title.is_empty() {
        problems.push(wrong(
            "",
            "the task needs a title: some words that are not #labels, @people, due: or !priority",
        ));
    }
    if problems.is_empty() {
        Ok(quick)
    } else {
        Err(problems)
    }
}

fn strip_prefix_ignore_case<'a>(word: &'a str, prefix: &str) -> Option<&'a str> {
    let head = word.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &word[prefix.len()..])
}

fn due(when: &str, today: Date) -> Option<Date> {
    match when.to_ascii_lowercase().as_str() {
        "today" => Some(today),
        "tomorrow" => today.checked_add(Duration::DAY),
        _ => Date::parse(
            when,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 02);

    #[test]
    fn the_example_line_gives_every_part() {
        let quick = parse("Fix login #bug @dev due:2026-12-24 !high", TODAY).unwrap();
        assert_eq!(
            quick,
            QuickAdd {
                title: "Fix login".into(),
                labels: vec!["bug".into()],
                assignees: vec!["dev".into()],
                due_date: Some(date!(2026 - 12 - 24)),
                priority: Some(Priority::High),
            }
        );
    }

    #[test]
    fn words_keep_their_order_wherever_the_markers_are() {
        let quick = parse("  !urgent Ship  #release the @ana   build @bo #ci ", TODAY).unwrap();
        assert_eq!(quick.title, "Ship the build");
        assert_eq!(quick.labels, ["release", "ci"]);
        assert_eq!(quick.assignees, ["ana", "bo"]);
        assert_eq!(quick.priority, Some(Priority::Urgent));
    }

    #[test]
    fn a_plain_line_is_only_a_title() {
        let quick = parse("Write the release notes", TODAY).unwrap();
        assert_eq!(quick.title, "Write the release notes");
        assert!(quick.labels.is_empty() && quick.assignees.is_empty());
        assert_eq!((quick.due_date, quick.priority), (None, None));
    }

    #[test]
    fn relative_due_dates_and_any_case() {
        assert_eq!(parse("a due:today", TODAY).unwrap().due_date, Some(TODAY));
        assert_eq!(
            parse("a DUE:Tomorrow", TODAY).unwrap().due_date,
            Some(date!(2026 - 12 - 03))
        );
        assert_eq!(
            parse("a !HIGH", TODAY).unwrap().priority,
            Some(Priority::High)
        );
        assert_eq!(
            parse("a due:tomorrow", date!(2026 - 12 - 31))
                .unwrap()
                .due_date,
            Some(date!(2027 - 01 - 01))
        );
    }

    #[test]
    fn a_backslash_keeps_a_marker_in_the_title() {
        let quick = parse(r"Reply to \#42 from \@support \!", TODAY).unwrap();
        assert_eq!(quick.title, "Reply to #42 from @support !");
        assert!(quick.labels.is_empty() && quick.assignees.is_empty());
    }

    #[test]
    fn lone_markers_are_words() {
        let quick = parse("C # and @ home !", TODAY).unwrap();
        assert_eq!(quick.title, "C # and @ home !");
    }

    #[test]
    fn repeated_names_count_once() {
        let quick = parse("a #x #x @y @y", TODAY).unwrap();
        assert_eq!((quick.labels.len(), quick.assignees.len()), (1, 1));
    }

    #[test]
    fn every_problem_is_reported_with_its_word() {
        let problems = parse("Fix due:2026-13-01 !soon due:someday", TODAY).unwrap_err();
        let words: Vec<&str> = problems.iter().map(|p| p.word.as_str()).collect();
        assert_eq!(words, ["due:2026-13-01", "!soon", "due:someday"]);
        assert!(problems[0].to_string().contains("due:YYYY-MM-DD"));
        assert!(problems[1].to_string().contains("!high"));
    }

    #[test]
    fn two_dates_or_two_priorities_are_refused() {
        let problems = parse("a due:today due:tomorrow !low !high", TODAY).unwrap_err();
        assert_eq!(problems.len(), 2);
        assert!(problems.iter().all(|p| p.problem.contains("give one")));
        assert_eq!(
            problems[0].to_string(),
            "“due:tomorrow” is a second due date; give one"
        );
    }

    #[test]
    fn a_line_without_a_title_is_refused() {
        for line in ["", "   ", "#bug @dev", "due:today !high", r"\"] {
            let problems = parse(line, TODAY).unwrap_err();
            assert!(
                problems
                    .iter()
                    .any(|p| p.word.is_empty() && p.problem.contains("title")),
                "{line:?}: {problems:?}"
            );
        }
    }
}
