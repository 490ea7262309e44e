//! Signed e-certificates: written in the transaction of the decision that issues them,
//! read by number, revoked by recording who, when and why.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::certificates;
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = certificates)]
pub struct CertificateRow {
    pub certificate_no: String,
    pub case_id: i64,
    pub sub_case_id: i64,
    pub department_code: String,
    /// The payload's canonical JSON, exactly the bytes that were signed.
    pub payload: String,
    pub signature: String,
    pub key_id: String,
    pub issued_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
    pub revoked_by: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &CertificateRow) -> Result<(), DbError> {
    diesel::insert_into(certificates::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, no: &str) -> Result<Option<CertificateRow>, DbError> {
    Ok(certificates::table
        .find(no)
        .select(CertificateRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a certificate number is taken (numbers are unique across departments).
pub fn exists(conn: &mut DbConn, no: &str) -> Result<bool, DbError> {
    Ok(diesel::select(diesel::dsl::exists(certificates::table.find(no))).get_result(conn)?)
}

/// The certificates issued in a case, by part.
pub fn of_case(conn: &mut DbConn, case_id: i64) -> Result<Vec<CertificateRow>, DbError> {
    Ok(certificates::table
        .filter(certificates::case_id.eq(case_id))
        .order(certificates::sub_case_id)
        .select(CertificateRow::as_select())
        .load(conn)?)
}

/// Records the revocation; false when the certificate was already revoked (the first
/// revocation stands).
pub fn revoke(
    conn: &mut DbConn,
    no: &str,
    at: NaiveDateTime,
    reason: &str,
    by: &str,
) -> Result<bool, DbError> {
    let n = diesel::update(certificates::table.find(no))
        .filter(certificates::revoked_at.is_null())
        .set((
            certificates::revoked_at.eq(Some(at)),
            certificates::revoked_reason.eq(Some(reason)),
            certificates::revoked_by.eq(Some(by)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}
