//! Quick add: one line such as `Fix login #bug @dev due:2026-12-24 !high` describing a new
//! task. This is the only place the syntax is parsed; the board, the list and the task page's
//! subtask field all send their line here.
//!
//! - `#name` adds the label `name`, `@username` assigns that member;
//! - `due:` sets the due date, written as people say it (see [`due`]): `due:2026-12-24`,
//!   `due:today`, `due:tomorrow`, `due:fri` (the coming Friday, today on a Friday),
//!   `due:next-week` (next Monday), `due:dec24` or `due:24dec` (the next 24 December),
//!   `due:+3d`, `due:+2w`, `due:+1m`;
//! - `!low`, `!medium`, `!high`, `!urgent` (or `!none`) set the priority;
//! - `~90m`, `~2h`, `~1h30m`, `~1d` set the estimate (a day is 8 hours);
//! - every other word is the title, in order; a word starting with `\` is taken as written
//!   without its backslash, so `\#42` puts `#42` in the title.

use std::fmt;

use time::{Date, Duration};

use crate::task::{Estimate, Priority};

/// What a quick-add line asks for; names are resolved against the project afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuickAdd {
    pub title: String,
    pub labels: Vec<String>,
    pub assignees: Vec<String>,
    pub due_date: Option<Date>,
    pub priority: Option<Priority>,
    pub estimate: Option<Estimate>,
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

/// The longest line read, in bytes: a title of 300 characters and a hundred labels and people
/// fit with room to spare. A longer line is refused before any of it is read.
pub const MAX_LINE_BYTES: usize = 10_000;

/// The most labels, and the most people, one line may name (as the API allows).
pub const MAX_NAMES: usize = 100;

/// The most problems reported for one line; a line with more says how many were left out.
const MAX_PROBLEMS: usize = 10;

/// Reads `line`; `today` is the date `due:today` means. Every problem in the line is reported,
/// not only the first (up to ten). The work is linear in the line's length, which is bounded.
pub fn parse(line: &str, today: Date) -> Result<QuickAdd, Vec<QuickAddError>> {
    let (quick, problems) = read(line, today);
    if problems.is_empty() {
        Ok(quick)
    } else {
        Err(problems)
    }
}

/// What `parse` reads, with its problems: the rest of a line that has some (its names, say)
/// can still be checked, so that one try reports everything wrong with it.
pub fn read(line: &str, today: Date) -> (QuickAdd, Vec<QuickAddError>) {
    if line.len() > MAX_LINE_BYTES {
        return (
            QuickAdd::default(),
            vec![wrong(
                "",
                format!(
                    "the line is too long: at most {MAX_LINE_BYTES} bytes (about as many characters) \
                 can be added at once; put long text in the description"
                ),
            )],
        );
    }
    let mut quick = QuickAdd::default();
    let mut title = Vec::new();
    let mut problems = Vec::new();
    // The cap applies before duplicates are looked for, so that check stays small.
    let add_name = |names: &mut Vec<String>, name: &str, word: &str, what: &str| {
        if names.iter().any(|n| n == name) {
            return None;
        }
        if names.len() == MAX_NAMES {
            return Some(wrong(
                word,
                format!("is one {what} too many; at most {MAX_NAMES} can be named"),
            ));
        }
        names.push(name.to_owned());
        None
    };
    for word in line.split_whitespace() {
        if let Some(literal) = word.strip_prefix('\\') {
            if !literal.is_empty() {
                title.push(literal);
            }
        } else if let Some(name) = word.strip_prefix('#').filter(|n| !n.is_empty()) {
            problems.extend(add_name(&mut quick.labels, name, word, "label"));
        } else if let Some(name) = word.strip_prefix('@').filter(|n| !n.is_empty()) {
            problems.extend(add_name(&mut quick.assignees, name, word, "person"));
        } else if let Some(when) = strip_prefix_ignore_case(word, "due:") {
            match due(when, today) {
                Some(_) if quick.due_date.is_some() => {
                    problems.push(wrong(word, "is a second due date; give one"));
                }
                Some(date) => quick.due_date = Some(date),
                None => problems.push(wrong(
                    word,
                    "is not a date; write due:2026-12-24, due:today, due:tomorrow, due:fri, \
                     due:next-week, due:dec24 or due:+3d",
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
        } else if let Some(effort) = word.strip_prefix('~').filter(|e| !e.is_empty()) {
            match Estimate::parse(effort) {
                Ok(_) if quick.estimate.is_some() => {
                    problems.push(wrong(word, "is a second estimate; give one"));
                }
                Ok(estimate) => quick.estimate = Some(estimate),
                Err(_) => problems.push(wrong(
                    word,
                    "is not an estimate; write ~90m, ~2h, ~1h30m or ~1d (a day is 8 hours)",
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
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - (MAX_PROBLEMS - 1);
        problems.truncate(MAX_PROBLEMS - 1);
        problems.push(wrong("", format!("and {more} more problems")));
    }
    (quick, problems)
}

fn strip_prefix_ignore_case<'a>(word: &'a str, prefix: &str) -> Option<&'a str> {
    let head = word.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &word[prefix.len()..])
}

const WEEKDAYS: [(&str, time::Weekday); 7] = [
    ("monday", time::Weekday::Monday),
    ("tuesday", time::Weekday::Tuesday),
    ("wednesday", time::Weekday::Wednesday),
    ("thursday", time::Weekday::Thursday),
    ("friday", time::Weekday::Friday),
    ("saturday", time::Weekday::Saturday),
    ("sunday", time::Weekday::Sunday),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// `name` as a prefix of one of `names` at least three letters long (`fri`, `frid`, `friday`).
fn named<T: Copy>(name: &str, names: impl IntoIterator<Item = (&'static str, T)>) -> Option<T> {
    if name.len() < 3 {
        return None;
    }
    names
        .into_iter()
        .find(|(full, _)| full.starts_with(name))
        .map(|(_, value)| value)
}

/// A due date as people write it, read on `today` (the person's date, in their time zone):
///
/// - `2026-12-24`; `today`, `tomorrow`;
/// - a weekday (`fri`, `friday`): the coming one, or today when it is that day;
/// - `next-week`: next week's Monday;
/// - a month and a day (`dec24`, `24dec`, `december-24`): the next such date, today included;
/// - `+3d`, `+2w`, `+1m`: days, weeks or months from today (the 31st plus a month is the
///   last day of the next month).
pub fn due(when: &str, today: Date) -> Option<Date> {
    let when = when.to_ascii_lowercase();
    match when.as_str() {
        "today" => return Some(today),
        "tomorrow" => return today.checked_add(Duration::DAY),
        "next-week" | "nextweek" => {
            let to_monday = 7 - i64::from(today.weekday().number_days_from_monday());
            return today.checked_add(Duration::days(to_monday));
        }
        _ => {}
    }
    if let Ok(date) = Date::parse(
        &when,
        time::macros::format_description!("[year]-[month]-[day]"),
    ) {
        return Some(date);
    }
    if let Some(count) = when.strip_prefix('+') {
        let split = count.find(|c: char| !c.is_ascii_digit())?;
        let (number, unit) = count.split_at(split);
        let n: i64 = number.parse().ok().filter(|n| (1..=3660).contains(n))?;
        return match unit {
            "d" | "day" | "days" => today.checked_add(Duration::days(n)),
            "w" | "week" | "weeks" => today.checked_add(Duration::weeks(n)),
            "m" | "month" | "months" => add_months(today, n),
            _ => None,
        };
    }
    if let Some(weekday) = named(&when, WEEKDAYS) {
        let ahead = (i64::from(weekday.number_days_from_monday())
            - i64::from(today.weekday().number_days_from_monday()))
        .rem_euclid(7);
        return today.checked_add(Duration::days(ahead));
    }
    // A month and a day, either way round, a hyphen between them or not.
    let letters: String = when.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    let digits: String = when.chars().filter(|c| c.is_ascii_digit()).collect();
    let tidy = when.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && (when.starts_with(|c: char| c.is_ascii_alphabetic())
            && when
                .trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '-')
                .chars()
                .all(|c| c.is_ascii_digit())
            || when.starts_with(|c: char| c.is_ascii_digit())
                && when
                    .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
                    .chars()
                    .all(|c| c.is_ascii_alphabetic()));
    if !tidy || digits.is_empty() || digits.len() > 2 {
        return None;
    }
    let month = named(
        &letters,
        MONTHS.iter().enumerate().map(|(i, m)| (*m, i as u8 + 1)),
    )?;
    let month = time::Month::try_from(month).ok()?;
    let day: u8 = digits.parse().ok()?;
    // This year's, unless it has passed; then next year's (a 29 February waits for a leap year).
    (today.year()..=today.year() + 8)
        .filter_map(|year| Date::from_calendar_date(year, month, day).ok())
        .find(|date| *date >= today)
}

/// `n` calendar months after `date`, on the same day or the month's last.
fn add_months(date: Date, n: i64) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + n;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let last = month.length(year);
    Date::from_calendar_date(year, month, date.day().min(last)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates_read_as_people_write_them() {
        use time::macros::date;
        // Monday 7 December 2026.
        let today = date!(2026 - 12 - 07);
        for (when, expected) in [
            ("today", date!(2026 - 12 - 07)),
            ("tomorrow", date!(2026 - 12 - 08)),
            ("mon", date!(2026 - 12 - 07)),
            ("fri", date!(2026 - 12 - 11)),
            ("Friday", date!(2026 - 12 - 11)),
            ("sun", date!(2026 - 12 - 13)),
            ("next-week", date!(2026 - 12 - 14)),
            ("dec24", date!(2026 - 12 - 24)),
            ("24dec", date!(2026 - 12 - 24)),
            ("december-24", date!(2026 - 12 - 24)),
            ("dec7", date!(2026 - 12 - 07)),
            ("dec6", date!(2027 - 12 - 06)),
            ("jan3", date!(2027 - 01 - 03)),
            ("+3d", date!(2026 - 12 - 10)),
            ("+4w", date!(2027 - 01 - 04)),
            ("+1m", date!(2027 - 01 - 07)),
            ("2027-02-28", date!(2027 - 02 - 28)),
        ] {
            assert_eq!(due(when, today), Some(expected), "{when}");
        }
        // Edges: the end of a month, of a year, a leap day.
        assert_eq!(
            due("+1m", date!(2027 - 01 - 31)),
            Some(date!(2027 - 02 - 28))
        );
        assert_eq!(
            due("+1m", date!(2028 - 01 - 31)),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(
            due("+12m", date!(2026 - 12 - 31)),
            Some(date!(2027 - 12 - 31))
        );
        assert_eq!(
            due("tomorrow", date!(2026 - 12 - 31)),
            Some(date!(2027 - 01 - 01))
        );
        assert_eq!(
            due("fri", date!(2026 - 12 - 31)),
            Some(date!(2027 - 01 - 01))
        );
        assert_eq!(
            due("next-week", date!(2027 - 01 - 03)),
            Some(date!(2027 - 01 - 04))
        );
        assert_eq!(
            due("feb29", date!(2027 - 03 - 01)),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(
            due("+1d", date!(2028 - 02 - 28)),
            Some(date!(2028 - 02 - 29))
        );
        // Whose today: late on the 31st in New York is already the 1st in Tokyo.
        assert_eq!(
            due("today", date!(2027 - 01 - 01)),
            Some(date!(2027 - 01 - 01))
        );
        for bad in [
            "",
            "fr",
            "dec",
            "dec32",
            "feb30x",
            "+0d",
            "+3y",
            "+d",
            "next",
            "24",
            "de24c",
            "2026-13-01",
            "decc24",
        ] {
            assert_eq!(due(bad, today), None, "{bad}");
        }
    }
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
                estimate: None,
            }
        );
    }

    #[test]
    fn a_tilde_gives_the_estimate_in_minutes_hours_or_eight_hour_days() {
        let minutes = |line: &str| parse(line, TODAY).unwrap().estimate.map(|e| e.minutes());
        assert_eq!(minutes("Plan ~90m"), Some(90));
        assert_eq!(minutes("Plan ~2h"), Some(120));
        assert_eq!(minutes("Plan ~1h30m"), Some(90));
        assert_eq!(minutes("Plan ~1.5H"), Some(90));
        assert_eq!(minutes("Plan ~1d"), Some(480));
        assert_eq!(minutes("Plan ~1d4h"), Some(720));
        assert_eq!(minutes("Plan"), None);
        let quick = parse("Plan ~2h the \\~3h week", TODAY).unwrap();
        assert_eq!(quick.title, "Plan the ~3h week");
        for bad in [
            "Plan ~2x",
            "Plan ~30m1h",
            "Plan ~0m",
            "Plan ~20000h",
            "Plan ~2h ~3h",
        ] {
            let problems = parse(bad, TODAY).unwrap_err();
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(problems[0].word.starts_with('~'), "{bad}: {problems:?}");
        }
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
    fn a_megabyte_line_is_refused_at_once() {
        for line in [
            "#a ".repeat(350_000),
            "x".repeat(1 << 20),
            format!("Title {}", "@someone ".repeat(120_000)),
        ] {
            let started = std::time::Instant::now();
            let problems = parse(&line, TODAY).unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_millis(50));
            assert_eq!(problems.len(), 1);
            assert!(
                problems[0].problem.contains("at most 10000 bytes"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn at_most_a_hundred_names_of_each_kind() {
        let labels: String = (0..101).map(|i| format!("#l{i} ")).collect();
        let problems = parse(&format!("Title {labels} #l0 #l5"), TODAY).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].word, "#l100");
        assert!(problems[0].problem.contains("at most 100"));
        let hundred: String = (0..100).map(|i| format!("#l{i} @p{i} ")).collect();
        let quick = parse(&format!("Title {hundred} #l1"), TODAY).unwrap();
        assert_eq!((quick.labels.len(), quick.assignees.len()), (100, 100));
    }

    #[test]
    fn many_problems_are_summed_up() {
        let problems = parse(&format!("a {}", "!x ".repeat(40)), TODAY).unwrap_err();
        assert_eq!(problems.len(), 10);
        assert_eq!(problems[9].to_string(), "and 31 more problems");
    }

    #[test]
    fn every_problem_is_reported_with_its_word() {
        let problems = parse("Fix due:2026-13-01 !soon due:someday", TODAY).unwrap_err();
        let words: Vec<&str> = problems.iter().map(|p| p.word.as_str()).collect();
        assert_eq!(words, ["due:2026-13-01", "!soon", "due:someday"]);
        assert!(problems[0].to_string().contains("due:fri"));
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
