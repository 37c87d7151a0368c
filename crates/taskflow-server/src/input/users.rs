//! User and API token requests.

use serde::Deserialize;
use taskflow_core::text::{DisplayName, TokenName};
use taskflow_core::user::{NewToken, NewUser, Password, TokenHash, UserPatch, Username};
use taskflow_core::{Timestamp, UserId, ValidationError};

use super::all_valid;
use crate::error::Refusal;
use crate::passwords::Passwords;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

impl CreateUser {
    /// The user this asks for; the password is hashed here and a missing display name is the
    /// username.
    pub async fn resolve(self, passwords: &Passwords) -> Result<NewUser, Refusal> {
        let username = Username::parse(&self.username);
        let display_name =
            DisplayName::parse(self.display_name.unwrap_or_else(|| self.username.clone()));
        let password = Password::parse(self.password);
        all_valid([
            username.as_ref().err(),
            display_name.as_ref().err(),
            password.as_ref().err(),
        ])?;
        Ok(NewUser {
            username: username?,
            display_name: display_name?,
            password_hash: passwords.hash(password?).await?,
            is_admin: self.is_admin,
        })
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    /// A new password. Every other session of the user ends.
    pub password: Option<String>,
    /// Required to change your own password (administrators included).
    pub current_password: Option<String>,
    pub is_admin: Option<bool>,
    /// Disabling ends every session of the user.
    pub is_disabled: Option<bool>,
    /// An IANA time zone (`Europe/Berlin`): what "today" means to them and the times pages
    /// show. `null` goes back to the browser's own.
    #[serde(default, deserialize_with = "super::present")]
    pub time_zone: Option<Option<String>>,
}

/// A time zone this server knows, by its IANA name (`Europe/Berlin`, `UTC`).
pub fn time_zone(name: &str) -> Result<taskflow_core::text::TimeZoneName, ValidationError> {
    let name = name.trim();
    match jiff::tz::TimeZone::get(name) {
        Ok(_) => taskflow_core::text::TimeZoneName::parse(name),
        Err(_) => Err(ValidationError::new(
            "time_zone",
            format!("{name:?} is not a time zone this server knows; use a name like Europe/Berlin"),
        )),
    }
}

impl UpdateUser {
    /// Whether this changes what only administrators may change.
    pub fn changes_roles(&self) -> bool {
        self.is_admin.is_some() || self.is_disabled.is_some()
    }

    /// The change this asks for, the new password hashed. `keep_session` stays signed in
    /// when the password changes.
    pub async fn resolve(
        self,
        passwords: &Passwords,
        keep_session: Option<TokenHash>,
    ) -> Result<UserPatch, Refusal> {
        let display_name = self.display_name.map(DisplayName::parse).transpose();
        let password = self.password.map(Password::parse).transpose();
        let zone = self
            .time_zone
            .map(|z| z.as_deref().map(time_zone).transpose())
            .transpose();
        all_valid([
            display_name.as_ref().err(),
            password.as_ref().err(),
            zone.as_ref().err(),
        ])?;
        let password_hash = match password? {
            Some(password) => Some(passwords.hash(password).await?),
            None => None,
        };
        Ok(UserPatch {
            display_name: display_name?,
            password_hash,
            is_admin: self.is_admin,
            is_disabled: self.is_disabled,
            keep_session,
            time_zone: zone?,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Lifetime in days; without it the token does not expire.
    pub expires_in_days: Option<u32>,
}

impl CreateToken {
    /// The token this asks for, for `owner`, stored as `hash` of its secret.
    pub fn into_new_token(self, owner: UserId, hash: TokenHash) -> Result<NewToken, Refusal> {
        let name = TokenName::parse(self.name)?;
        let expires_at = self.expires_in_days.map(|d| {
            Timestamp::now().saturating_add(std::time::Duration::from_secs(u64::from(d) * 86_400))
        });
        Ok(NewToken {
            user_id: owner,
            name,
            hash,
            expires_at,
        })
    }
}
