//! Attachment metadata. The bytes live in the blob store under their SHA-256; the client's file
//! name is only ever shown, never used as a path.

use serde::{Deserialize, Serialize};

use crate::project::ProjectKey;
use crate::{AttachmentId, ProjectId, TaskId, Timestamp, UserId, ValidationError};

/// A file name as the uploader gave it: 1–255 characters, no path separators, no control
/// characters, not `.` or `..`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct FileName(String);
serialize_as_str!(FileName);

impl FileName {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref().trim();
        let err = |m: &str| Err(ValidationError::new("file_name", m));
        let n = value.chars().count();
        if n == 0 || n > 255 {
            return err("must be 1 to 255 characters");
        }
        if value
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
        {
            return err("must not contain path separators or control characters");
        }
        if value.chars().any(is_invisible) {
            // `evil\u{202e}txt.exe` shows as `evilexe.txt`.
            return err("must not contain invisible or text-direction characters");
        }
        if value == "." || value == ".." {
            return err("must be a file name");
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that change how a name reads without showing themselves: text-direction
/// overrides, embeddings and isolates, zero-width characters, and other format characters.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

impl TryFrom<String> for FileName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::parse(value)
    }
}

impl From<FileName> for String {
    fn from(value: FileName) -> String {
        value.0
    }
}

/// A media type such as `image/png`, lower-cased, parameters dropped.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct MediaType(String);
serialize_as_str!(MediaType);

impl MediaType {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let essence = value
            .as_ref()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 127
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
        };
        match essence.split_once('/') {
            Some((t, s)) if token(t) && token(s) => Ok(Self(essence)),
            _ => Err(ValidationError::new(
                "media_type",
                "must be a media type like text/plain",
            )),
        }
    }

    pub fn octet_stream() -> Self {
        Self("application/octet-stream".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MediaType {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::parse(value)
    }
}

impl From<MediaType> for String {
    fn from(value: MediaType) -> String {
        value.0
    }
}

/// A lower-case hex SHA-256 digest: the only name a blob ever has.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct Sha256Hex(String);
serialize_as_str!(Sha256Hex);

impl Sha256Hex {
    pub fn parse(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref();
        if value.len() == 64 && value.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
            Ok(Self(value.to_owned()))
        } else {
            Err(ValidationError::new(
                "sha256",
                "must be 64 lower-case hex digits",
            ))
        }
    }

    pub fn from_digest(bytes: &[u8]) -> Self {
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, ValidationError> {
        Self::parse(value)
    }
}

impl From<Sha256Hex> for String {
    fn from(value: Sha256Hex) -> String {
        value.0
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub task_id: TaskId,
    pub file_name: FileName,
    pub media_type: MediaType,
    pub size_bytes: i64,
    pub sha256: Sha256Hex,
    pub uploaded_by: Option<UserId>,
    pub created_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub task_id: TaskId,
    pub file_name: FileName,
    pub media_type: MediaType,
    pub size_bytes: i64,
    pub sha256: Sha256Hex,
}

/// How much attachment data a project holds. Trashed attachments count: their bytes stay on
/// the volume until the trash is purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectUsage {
    pub project_id: ProjectId,
    pub key: ProjectKey,
    pub attachments: u64,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_refuse_invisible_and_direction_characters() {
        for bad in [
            "evil\u{202e}txt.exe",
            "a\u{2066}b.txt",
            "zero\u{200b}width.pdf",
            "\u{feff}bom.txt",
            "rtl\u{200f}.txt",
        ] {
            let err = FileName::parse(bad).unwrap_err();
            assert_eq!(err.field, "file_name", "{bad:?}");
        }
        for good in ["Résumé.pdf", "報告.docx", "تقرير.txt", "emoji 🎉.png"] {
            assert!(FileName::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn file_names_never_become_paths() {
        assert!(FileName::parse("report final.pdf").is_ok());
        for bad in ["", "..", ".", "a/b", "..\\x", "a\0b", &"x".repeat(256)] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(
            MediaType::parse("Text/Plain; charset=utf-8")
                .unwrap()
                .as_str(),
            "text/plain"
        );
        assert!(MediaType::parse("nonsense").is_err());
        assert!(MediaType::parse("a/b c").is_err());
    }

    #[test]
    fn digests() {
        assert!(Sha256Hex::parse("a".repeat(64)).is_ok());
        assert!(Sha256Hex::parse("A".repeat(64)).is_err());
        assert!(Sha256Hex::parse("../etc/passwd").is_err());
    }
}
