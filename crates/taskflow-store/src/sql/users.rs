use std::sync::LazyLock;

use async_trait::async_trait;
use taskflow_core::store::{SessionStore, TokenStore, UserStore};
use taskflow_core::user::{
    ApiToken, LoginAttempt, LoginCounts, NewSession, NewToken, NewUser, Session, TokenHash, User,
    UserPatch, Username,
};
use taskflow_core::*;

use super::rows::{SessionRow, SessionUserRow, TokenRow, TokenUserRow, UserRow};
use super::{Store, d, db, is_unique_violation};

const USER_COLUMNS: &str = "id, username, display_name, password_hash, is_admin, is_disabled, \
     created_at, updated_at, time_zone";
/// `USER_COLUMNS` of the table aliased `u`.
const USER_COLUMNS_OF_U: &str = "u.id, u.username, u.display_name, u.password_hash, u.is_admin, \
     u.is_disabled, u.created_at, u.updated_at, u.time_zone";
/// A live token (hash `$1`, at time `$2`) with its enabled user; on every API request's path.
pub(crate) static TOKEN_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {USER_COLUMNS_OF_U}, tok.id AS token_id, tok.name AS token_name, \
                tok.created_at AS token_created_at, tok.expires_at AS token_expires_at, \
                tok.last_used_at AS token_last_used_at \
         FROM api_tokens tok JOIN users u ON u.id = tok.user_id \
         WHERE tok.token_hash = $1 AND (tok.expires_at IS NULL OR tok.expires_at > $2) \
           AND NOT u.is_disabled"
    )
});
/// A live session (hash `$1`, at time `$2`) with its enabled user; on every page's path.
pub(crate) static SESSION_USER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {USER_COLUMNS_OF_U}, s.id AS session_id, s.csrf_token AS session_csrf_token, \
                s.created_at AS session_created_at, s.expires_at AS session_expires_at, \
                s.last_seen_at AS session_last_seen_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.is_disabled"
    )
});
const TOKEN_COLUMNS: &str = "id, user_id, name, created_at, expires_at, last_used_at";

/// A token's last use is recorded at most this often, so authenticating stays a read.
const LAST_USED_RESOLUTION: std::time::Duration = std::time::Duration::from_secs(60);

#[async_trait]
impl UserStore for Store {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let now = d::time(Timestamp::now());
        let row: UserRow = sqlx::query_as(&format!(
            "INSERT INTO users (username, display_name, password_hash, is_admin, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING {USER_COLUMNS}"
        ))
        .bind(new.username.as_str())
        .bind(new.display_name.as_str())
        .bind(new.password_hash.as_str())
        .bind(new.is_admin)
        .bind(now)
        .fetch_one(self.writer())
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!("username '{}' is already taken", new.username))
            } else {
                db(e)
            }
        })?;
        row.try_into()
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        sqlx::query_as::<_, UserRow>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(self.reader())
            .await
            .map_err(db)?
            .ok_or(StoreError::not_found("user"))?
            .try_into()
    }

    async fn user_by_username(&self, username: &Username) -> StoreResult<User> {
        sqlx::query_as::<_, UserRow>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
        ))
        .bind(username.as_str())
        .fetch_optional(self.reader())
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("user"))?
        .try_into()
    }

    async fn users_named(&self, names: &[Username]) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username IN ({})",
            d::name_rows(1)
        ))
        .bind(d::names(names.iter().map(Username::as_str)))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        super::rows::convert(rows)
    }

    async fn users_by_id(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
            d::id_rows(1)
        ))
        .bind(d::ids(ids.iter().map(|id| id.0)))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        super::rows::convert(rows)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        ))
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        super::rows::convert(rows)
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> StoreResult<User> {
        let now = d::time(Timestamp::now());
        let mut tx = self.write().await?;
        let user: User = sqlx::query_as::<_, UserRow>(&format!(
            "UPDATE users SET \
               display_name = COALESCE($2, display_name), \
               password_hash = COALESCE($3, password_hash), \
               is_admin = COALESCE($4, is_admin), \
               is_disabled = COALESCE($5, is_disabled), \
               updated_at = $6, \
               time_zone = CASE WHEN $7 THEN $8 ELSE time_zone END \
             WHERE id = $1 RETURNING {USER_COLUMNS}"
        ))
        .bind(id.0)
        .bind(patch.display_name.as_ref().map(|d| d.as_str()))
        .bind(patch.password_hash.as_ref().map(|h| h.as_str()))
        .bind(patch.is_admin)
        .bind(patch.is_disabled)
        .bind(now)
        .bind(patch.time_zone.is_some())
        .bind(
            patch
                .time_zone
                .as_ref()
                .and_then(|z| z.as_ref().map(|z| z.as_str())),
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("user"))?
        .try_into()?;
        // A new password or a disabled account ends the sessions that used the old state.
        if patch.is_disabled == Some(true) || patch.password_hash.is_some() {
            let keep = patch
                .keep_session
                .filter(|_| patch.is_disabled != Some(true));
            sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR token_hash <> $2)",
            )
            .bind(id.0)
            .bind(keep.as_ref().map(|h| h.as_str()))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        super::commit(tx).await?;
        Ok(user)
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.reader())
            .await
            .map_err(db)?;
        Ok(n as u64)
    }
}

#[async_trait]
impl TokenStore for Store {
    async fn create_token(&self, new: NewToken) -> StoreResult<ApiToken> {
        let now = d::time(Timestamp::now());
        let row: TokenRow = sqlx::query_as(&format!(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM users WHERE id = $1) \
             RETURNING {TOKEN_COLUMNS}"
        ))
        .bind(new.user_id.0)
        .bind(new.name.as_str())
        .bind(new.hash.as_str())
        .bind(now)
        .bind(new.expires_at.map(d::time))
        .fetch_optional(self.writer())
        .await
        .map_err(db)?
        .ok_or(StoreError::not_found("user"))?;
        row.try_into()
    }

    async fn tokens(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC"
        ))
        .bind(user.0)
        .fetch_all(self.reader())
        .await
        .map_err(db)?;
        super::rows::convert(rows)
    }

    async fn revoke_token(&self, user: UserId, id: TokenId) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .execute(self.writer())
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("token"));
        }
        Ok(())
    }

    async fn authenticate_token(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<(User, ApiToken)> {
        // The token and its user in one query: authentication is on every request's path.
        let row = match self.direct_token_user(hash.as_str(), d::time(now)) {
            Some(row) => row?,
            None => {
                let mut conn = self.read().await?;
                let row = sqlx::query_as(&TOKEN_USER)
                    .bind(hash.as_str())
                    .bind(d::time(now))
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(row)?
            }
        };
        let row: TokenUserRow = row.ok_or(StoreError::not_found("token"))?;
        let (user, mut token): (User, ApiToken) = row.try_into()?;
        let stale = token
            .last_used_at
            .is_none_or(|t| t < now.saturating_sub(LAST_USED_RESOLUTION));
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(token.id.0)
                .bind(d::time(now))
                .execute(self.writer())
                .await
                .map_err(db)?;
            token.last_used_at = Some(now);
        }
        Ok((user, token))
    }
}

const SESSION_COLUMNS: &str = "id, user_id, csrf_token, created_at, expires_at, last_seen_at";

#[async_trait]
impl SessionStore for Store {
    async fn create_session(&self, new: NewSession) -> StoreResult<Session> {
        let now = d::time(Timestamp::now());
        let row: SessionRow = sqlx::query_as(&format!(
            "INSERT INTO sessions (user_id, token_hash, csrf_token, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $4) RETURNING {SESSION_COLUMNS}"
        ))
        .bind(new.user_id.0)
        .bind(new.hash.as_str())
        .bind(&new.csrf_token)
        .bind(now)
        .bind(d::time(new.expires_at))
        .fetch_one(self.writer())
        .await
        .map_err(db)?;
        Ok(row.into())
    }

    async fn authenticate_session(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<(User, Session)> {
        let row = match self.direct_session_user(hash.as_str(), d::time(now)) {
            Some(row) => row?,
            None => {
                let mut conn = self.read().await?;
                let row = sqlx::query_as(&SESSION_USER)
                    .bind(hash.as_str())
                    .bind(d::time(now))
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(db);
                conn.done(row)?
            }
        };
        let row: SessionUserRow = row.ok_or(StoreError::not_found("session"))?;
        let (user, session): (User, Session) = row.try_into()?;
        if session.last_seen_at < now.saturating_sub(LAST_USED_RESOLUTION) {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                .bind(session.id.0)
                .bind(d::time(now))
                .execute(self.writer())
                .await
                .map_err(db)?;
        }
        Ok((user, session))
    }

    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash.as_str())
            .execute(self.writer())
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found("session"));
        }
        Ok(())
    }

    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.0)
            .execute(self.writer())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(d::time(now))
            .execute(self.writer())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn count_login_attempt(&self, attempt: &LoginAttempt) -> StoreResult<LoginCounts> {
        let cutoff = attempt.at.saturating_sub(attempt.window);
        let mut tx = self.write().await?;
        let mut count = async |username: &str, address: &str, limit: u32| {
            let failures: i64 = sqlx::query_scalar(
                "INSERT INTO login_failures (username, address, failures, last_failed_at) \
                 VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (username, address) DO UPDATE SET \
                   failures = CASE WHEN login_failures.last_failed_at < $4 THEN 1 \
                                   ELSE login_failures.failures + 1 END, \
                   last_failed_at = CASE WHEN login_failures.last_failed_at < $4 \
                                           OR login_failures.failures < $5 THEN $3 \
                                         ELSE login_failures.last_failed_at END \
                 RETURNING failures",
            )
            .bind(username)
            .bind(address)
            .bind(d::time(attempt.at))
            .bind(d::time(cutoff))
            .bind(i64::from(limit))
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            StoreResult::Ok(u32::try_from(failures).unwrap_or(u32::MAX))
        };
        let address = attempt.address.as_deref();
        let user = count(&attempt.username, address.unwrap_or(""), attempt.user_limit).await?;
        let address = match address {
            Some(address) => Some(count("", address, attempt.address_limit).await?),
            None => None,
        };
        super::commit(tx).await?;
        Ok(LoginCounts { user, address })
    }

    async fn login_succeeded(&self, username: &str, address: Option<&str>) -> StoreResult<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM login_failures WHERE username = $1 AND address = $2")
            .bind(username)
            .bind(address.unwrap_or(""))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(address) = address {
            sqlx::query(
                "UPDATE login_failures SET failures = failures - 1 \
                 WHERE username = '' AND address = $1 AND failures > 0",
            )
            .bind(address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        super::commit(tx).await
    }

    async fn clear_login_failures(
        &self,
        username: Option<&str>,
        address: Option<&str>,
    ) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM login_failures \
             WHERE ($1 IS NULL OR username = $1) AND ($2 IS NULL OR address = $2)",
        )
        .bind(username)
        .bind(address)
        .execute(self.writer())
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn delete_expired_login_failures(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE last_failed_at < $1")
            .bind(d::time(cutoff))
            .execute(self.writer())
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}
