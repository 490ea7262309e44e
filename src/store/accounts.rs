//! Accounts: creation with uniqueness checked per field, login lookup by keyed hash, and
//! the security state (disabled, tokens revoked).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::Role;
use crate::db::schema::{accounts, revoked_tokens};
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountRow {
    pub id: i64,
    pub kind: String,
    pub role: String,
    pub username: Option<String>,
    pub display_name: String,
    pub id_number_enc: Option<String>,
    pub id_number_hash: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub contact_name: Option<String>,
    pub industry: Option<String>,
    pub scale: Option<String>,
    pub department_code: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AccountRow {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role)
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount {
    pub kind: String,
    pub role: String,
    pub username: Option<String>,
    pub display_name: String,
    pub id_number_enc: Option<String>,
    pub id_number_hash: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    pub contact_name: Option<String>,
    pub industry: Option<String>,
    pub scale: Option<String>,
    pub department_code: Option<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl NewAccount {
    /// An enabled account with only the fields every kind has; callers fill in the rest.
    pub fn blank(
        kind: &str,
        role: Role,
        display_name: String,
        password_hash: String,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            kind: kind.into(),
            role: role.as_str().into(),
            username: None,
            display_name,
            id_number_enc: None,
            id_number_hash: None,
            phone_enc: None,
            phone_hash: None,
            uscc: None,
            legal_representative: None,
            contact_name: None,
            industry: None,
            scale: None,
            department_code: None,
            password_hash,
            disabled: false,
            tokens_valid_after: now,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Which unique value is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Username,
    IdNumber,
    Phone,
    Uscc,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0:?} already registered")]
    Taken(Taken),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(e.into())
    }
}

/// Inserts the account after checking each unique value, inside one transaction, and
/// returns its id. A race that slips past the checks still hits the unique index.
pub fn create(conn: &mut DbConn, new: NewAccount) -> Result<i64, CreateError> {
    crate::db::retry_on_conflict(conn, |conn| create_once(conn, &new))
}

impl crate::db::MaybeLockConflict for CreateError {
    fn is_lock_conflict(&self) -> bool {
        matches!(self, CreateError::Db(e) if e.is_lock_conflict())
    }
}

fn create_once(conn: &mut DbConn, new: &NewAccount) -> Result<i64, CreateError> {
    conn.transaction::<_, CreateError, _>(|conn| {
        if let Some(u) = &new.username {
            if accounts::table
                .filter(accounts::username.eq(u))
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .is_some()
            {
                return Err(CreateError::Taken(Taken::Username));
            }
        }
        if let Some(h) = &new.id_number_hash {
            if accounts::table
                .filter(accounts::id_number_hash.eq(h))
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .is_some()
            {
                return Err(CreateError::Taken(Taken::IdNumber));
            }
        }
        if let Some(h) = &new.phone_hash {
            if accounts::table
                .filter(accounts::phone_hash.eq(h))
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .is_some()
            {
                return Err(CreateError::Taken(Taken::Phone));
            }
        }
        if let Some(u) = &new.uscc {
            if accounts::table
                .filter(accounts::uscc.eq(u))
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .is_some()
            {
                return Err(CreateError::Taken(Taken::Uscc));
            }
        }
        diesel::insert_into(accounts::table).values(new).execute(conn)?;
        // Find the row by the unique value it was inserted with (RETURNING does not map
        // through the two-backend connection).
        let q = accounts::table.select(accounts::id).into_boxed();
        let q = if let Some(u) = &new.username {
            q.filter(accounts::username.eq(u.clone()))
        } else if let Some(u) = &new.uscc {
            q.filter(accounts::uscc.eq(u.clone()))
        } else if let Some(h) = &new.id_number_hash {
            q.filter(accounts::id_number_hash.eq(h.clone()))
        } else {
            q.filter(accounts::phone_hash.eq(new.phone_hash.clone().unwrap_or_default()))
        };
        Ok(q.first::<i64>(conn)?)
    })
}

pub fn get(conn: &mut DbConn, id: i64) -> Result<Option<AccountRow>, DbError> {
    Ok(accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// The account a login name refers to: a staff username, an enterprise's USCC, or the
/// keyed hash of an ID number or phone.
pub fn find_for_login(
    conn: &mut DbConn,
    username: &str,
    id_hash: Option<&str>,
    phone_hash: Option<&str>,
    uscc: Option<&str>,
) -> Result<Option<AccountRow>, DbError> {
    let mut q = accounts::table
        .select(AccountRow::as_select())
        .filter(accounts::username.eq(username))
        .into_boxed();
    if let Some(h) = id_hash {
        q = q.or_filter(accounts::id_number_hash.eq(h.to_owned()));
    }
    if let Some(h) = phone_hash {
        q = q.or_filter(accounts::phone_hash.eq(h.to_owned()));
    }
    if let Some(u) = uscc {
        q = q.or_filter(accounts::uscc.eq(u.to_owned()));
    }
    Ok(q.first(conn).optional()?)
}

pub fn list_staff(conn: &mut DbConn) -> Result<Vec<AccountRow>, DbError> {
    Ok(accounts::table
        .filter(accounts::kind.eq("staff"))
        .order(accounts::id)
        .select(AccountRow::as_select())
        .load(conn)?)
}

pub fn set_disabled(conn: &mut DbConn, id: i64, disabled: bool, now: NaiveDateTime) -> Result<bool, DbError> {
    let n = diesel::update(accounts::table.find(id))
        .set((
            accounts::disabled.eq(disabled),
            accounts::updated_at.eq(now),
            accounts::tokens_valid_after.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Stores a new password hash and revokes every token issued before now.
pub fn set_password(
    conn: &mut DbConn,
    id: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(accounts::table.find(id))
        .set((
            accounts::password_hash.eq(password_hash),
            accounts::tokens_valid_after.eq(now),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn revoke_token(
    conn: &mut DbConn,
    jti: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let known = revoked_tokens::table
        .find(jti)
        .select(revoked_tokens::jti)
        .first::<String>(conn)
        .optional()?;
    if known.is_none() {
        diesel::insert_into(revoked_tokens::table)
            .values((
                revoked_tokens::jti.eq(jti),
                revoked_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
    }
    // Revocations of tokens that have expired anyway are no longer needed.
    diesel::delete(revoked_tokens::table.filter(revoked_tokens::expires_at.lt(now))).execute(conn)?;
    Ok(())
}

/// The account and whether the token `jti` was revoked, in one query: every authenticated
/// request asks both.
pub fn get_unless_revoked(
    conn: &mut DbConn,
    id: i64,
    jti: &str,
) -> Result<Option<(AccountRow, bool)>, DbError> {
    Ok(accounts::table
        .find(id)
        .select((
            AccountRow::as_select(),
            diesel::dsl::exists(revoked_tokens::table.find(jti)),
        ))
        .first(conn)
        .optional()?)
}

pub fn count_admins(conn: &mut DbConn) -> Result<i64, DbError> {
    Ok(accounts::table
        .filter(accounts::role.eq("admin"))
        .count()
        .get_result(conn)?)
}
