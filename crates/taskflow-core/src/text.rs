//! Validated text newtypes. Each `parse` trims where that is what a user means, checks length in
//! characters and rejects control characters; the error names the field.

use serde::Deserialize;

use crate::ValidationError;

/// Checks shared by every free-text field, in one pass over the text: its length in
/// characters and its control characters (a multi-line field keeps `\n`, `\r` and `\t`).
fn check_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    single_line: bool,
) -> Result<(), ValidationError> {
    let bad_control = |c: char| c.is_control() && (single_line || !matches!(c, '\n' | '\r' | '\t'));
    let (len, bad) = if value.is_ascii() {
        // An ASCII character is a control character when `is_ascii_control` says so.
        let bad = value
            .bytes()
            .any(|b| b.is_ascii_control() && (single_line || !matches!(b, b'\n' | b'\r' | b'\t')));
        (value.len(), bad)
    } else {
        value
            .chars()
            .fold((0, false), |(n, bad), c| (n + 1, bad || bad_control(c)))
    };
    if len < min {
        return Err(ValidationError::new(
            field,
            if min == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters (got {len})"),
        ));
    }
    if bad {
        return Err(ValidationError::new(
            field,
            if single_line {
                "must be a single line without control characters"
            } else {
                "must not contain control characters"
            },
        ));
    }
    Ok(())
}

/// Trims `value` where it stands; text read back from the database, already trimmed, is not
/// copied.
fn trim_in_place(value: &mut String) {
    let trimmed = value.trim();
    if trimmed.len() != value.len() {
        *value = trimmed.to_owned();
    }
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, min = $min:expr, max = $max:expr, single_line = $single:expr, trim = $trim:expr) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
                let mut value: String = value.into();
                if $trim {
                    trim_in_place(&mut value);
                }
                check_text($field, &value, $min, $max, $single)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        serialize_as_str!($name);

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A person's name as shown in the UI.
    DisplayName, field = "display_name", min = 1, max = 100, single_line = true, trim = true
);
text_type!(
    /// A project's human name.
    ProjectName, field = "name", min = 1, max = 100, single_line = true, trim = true
);
text_type!(
    /// Markdown text describing a project or task; may be empty.
    Markdown, field = "description", min = 0, max = 50_000, single_line = false, trim = false
);
text_type!(
    /// A task's one-line title.
    TaskTitle, field = "title", min = 1, max = 300, single_line = true, trim = true
);
text_type!(
    /// A label's name, unique within its project.
    LabelName, field = "name", min = 1, max = 50, single_line = true, trim = true
);
text_type!(
    /// A time zone's IANA name (`Europe/Berlin`); the server checks that it knows the zone.
    TimeZoneName, field = "time_zone", min = 1, max = 64, single_line = true, trim = true
);
text_type!(
    /// The name of a status in a project's workflow: a board column's heading.
    StatusName, field = "name", min = 1, max = 40, single_line = true, trim = true
);
text_type!(
    /// A comment's Markdown body.
    CommentBody, field = "body", min = 1, max = 50_000, single_line = false, trim = false
);
text_type!(
    /// A name the owner gives an API token, to recognise it later.
    TokenName, field = "name", min = 1, max = 100, single_line = true, trim = true
);

// Derived by hand: the struct comes from `text_type!`, shared with types that have no empty value.
#[allow(clippy::derivable_impls)]
impl Default for Markdown {
    fn default() -> Self {
        Self(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn title_is_trimmed_and_bounded() {
        assert_eq!(TaskTitle::parse("  Fix it ").unwrap().as_str(), "Fix it");
        assert_eq!(TaskTitle::parse("   ").unwrap_err().field, "title");
        assert!(TaskTitle::parse("x".repeat(300)).is_ok());
        let err = TaskTitle::parse("x".repeat(301)).unwrap_err();
        assert!(err.message.contains("at most 300"), "{err}");
        assert!(TaskTitle::parse("two\nlines").is_err());
    }

    #[test]
    fn markdown_keeps_newlines_but_not_other_controls() {
        assert!(Markdown::parse("# Title\n\n- item\r\n\tcode").is_ok());
        assert!(Markdown::parse("bell\u{7}").is_err());
        assert!(Markdown::parse("").is_ok());
    }

    #[test]
    fn lengths_count_characters_and_controls_are_found_past_ascii() {
        assert!(TaskTitle::parse("é".repeat(300)).is_ok());
        assert!(TaskTitle::parse("é".repeat(301)).is_err());
        assert!(TaskTitle::parse("caf\u{85}é").is_err());
        assert!(Markdown::parse("naïve\n\tcode").is_ok());
        assert!(Markdown::parse("naïve\u{1b}").is_err());
    }

    #[test]
    fn serializes_as_its_text() {
        let title = TaskTitle::parse(" Fix \"it\" ").unwrap();
        assert_eq!(serde_json::to_string(&title).unwrap(), r#""Fix \"it\"""#);
    }

    proptest! {
        #[test]
        fn parsed_titles_are_within_bounds(s in "\\PC{0,400}") {
            if let Ok(title) = TaskTitle::parse(s.clone()) {
                let n = title.as_str().chars().count();
                prop_assert!((1..=300).contains(&n));
                prop_assert_eq!(title.as_str(), s.trim());
            }
        }
    }
}
