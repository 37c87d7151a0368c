//! Projects, their members and roles, and their labels.

use serde::{Deserialize, Serialize};

use crate::text::{LabelName, Markdown, ProjectName};
use crate::user::Username;
use crate::{LabelId, ProjectId, Timestamp, UserId, ValidationError};

/// A project's short key, the prefix of its task keys (`OPS` in `OPS-42`): 2–10 upper-case ASCII
/// letters or digits, starting with a letter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct ProjectKey(String);
serialize_as_str!(ProjectKey);

impl ProjectKey {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref().trim();
        Self::check(value)?;
        Ok(Self(value.to_owned()))
    }

    fn check(value: &str) -> Result<(), ValidationError> {
        let err = |m: &str| Err(ValidationError::new("key", m));
        if !(2..=10).contains(&value.len()) {
            return err("must be 2 to 10 characters");
        }
        if !value.starts_with(|c: char| c.is_ascii_uppercase()) {
            return err("must start with an upper-case letter");
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return err("may contain only upper-case letters A-Z and digits");
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectKey {
    type Error = ValidationError;
    /// As `parse`, keeping the string when there is nothing to trim (as a key read back from
    /// the database).
    fn try_from(value: String) -> Result<Self, ValidationError> {
        if value.trim().len() != value.len() {
            return Self::parse(value);
        }
        Self::check(&value)?;
        Ok(Self(value))
    }
}

impl From<ProjectKey> for String {
    fn from(value: ProjectKey) -> String {
        value.0
    }
}

impl std::fmt::Display for ProjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a member may do in a project. Ordered: a higher role can do everything a lower one can.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        match value {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "owner" => Ok(Role::Owner),
            other => Err(ValidationError::new(
                "role",
                format!("unknown role {other:?}; expected owner, editor or viewer"),
            )),
        }
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: ProjectId,
    pub key: ProjectKey,
    pub name: ProjectName,
    pub description: Markdown,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub key: ProjectKey,
    pub name: ProjectName,
    pub description: Markdown,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectPatch {
    pub name: Option<ProjectName>,
    pub description: Option<Markdown>,
    pub archived: Option<bool>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub project_id: ProjectId,
    pub user_id: UserId,
    pub username: Username,
    pub role: Role,
    pub added_at: Timestamp,
}

/// A label colour, `#rrggbb`, stored lower-case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Colour(String);
serialize_as_str!(Colour);

impl Colour {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref().trim();
        let hex = value.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ValidationError::new(
                "colour",
                "must be a hex colour like #1f6feb",
            ));
        }
        Ok(Self(format!("#{}", hex.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Colour {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::parse(value)
    }
}

impl From<Colour> for String {
    fn from(value: Colour) -> String {
        value.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub id: LabelId,
    pub project_id: ProjectId,
    pub name: LabelName,
    pub colour: Colour,
}

#[derive(Debug, Clone)]
pub struct NewLabel {
    pub name: LabelName,
    pub colour: Colour,
}

#[derive(Debug, Clone, Default)]
pub struct LabelPatch {
    pub name: Option<LabelName>,
    pub colour: Option<Colour>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn project_keys() {
        for good in ["OPS", "AB", "WEB2", "ABCDEFGHIJ"] {
            assert!(ProjectKey::parse(good).is_ok(), "{good}");
        }
        for bad in ["O", "ops", "ABCDEFGHIJK", "2FA", "OP-S", "ÖPS", ""] {
            let err = ProjectKey::parse(bad).unwrap_err();
            assert_eq!(err.field, "key", "{bad}");
        }
    }

    #[test]
    fn colours_are_normalised() {
        assert_eq!(Colour::parse("#1F6FEB").unwrap().as_str(), "#1f6feb");
        assert!(Colour::parse("1f6feb").is_err());
        assert!(Colour::parse("#12345g").is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner > Role::Editor && Role::Editor > Role::Viewer);
        assert_eq!(Role::parse("editor").unwrap(), Role::Editor);
        assert!(Role::parse("admin").is_err());
    }

    proptest! {
        #[test]
        fn keys_round_trip(s in "[A-Z][A-Z0-9]{1,9}") {
            let key = ProjectKey::parse(&s).unwrap();
            prop_assert_eq!(key.as_str(), s.as_str());
        }
    }
}
