//! User and API token requests.

use serde::Deserialize;
use taskflow_core::text::{DisplayName, TokenName};
use taskflow_core::user::{NewToken, NewUser, Password, TokenHash, UserPatch, Username};
use taskflow_core::{Timestamp, UserId};

use super::all_valid;
use crate::error::ApiError;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

impl TryFrom<CreateUser> for NewUser {
    type Error = ApiError;

    /// The password is hashed here; a missing display name is the username.
    fn try_from(body: CreateUser) -> Result<Self, ApiError> {
        let username = Username::parse(&body.username);
        let display_name =
            DisplayName::parse(body.display_name.unwrap_or_else(|| body.username.clone()));
        let password = Password::parse(body.password);
        all_valid([
            username.as_ref().err(),
            display_name.as_ref().err(),
            password.as_ref().err(),
        ])?;
        Ok(NewUser {
            username: username?,
            display_name: display_name?,
            password_hash: password?.hash(),
            is_admin: body.is_admin,
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub password: Option<String>,
    pub is_admin: Option<bool>,
    pub is_disabled: Option<bool>,
}

impl UpdateUser {
    /// Whether this changes what only administrators may change.
    pub fn changes_roles(&self) -> bool {
        self.is_admin.is_some() || self.is_disabled.is_some()
    }
}

impl TryFrom<UpdateUser> for UserPatch {
    type Error = ApiError;

    fn try_from(body: UpdateUser) -> Result<Self, ApiError> {
        let display_name = body.display_name.map(DisplayName::parse).transpose();
        let password = body.password.map(Password::parse).transpose();
        all_valid([display_name.as_ref().err(), password.as_ref().err()])?;
        Ok(UserPatch {
            display_name: display_name?,
            password_hash: password?.map(|p| p.hash()),
            is_admin: body.is_admin,
            is_disabled: body.is_disabled,
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
    pub fn into_new_token(self, owner: UserId, hash: TokenHash) -> Result<NewToken, ApiError> {
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
