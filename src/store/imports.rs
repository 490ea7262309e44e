//! Policy import jobs: started on one server, reported by any (the progress page may reach
//! another instance behind the load balancer).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::import_jobs;
use crate::db::{DbConn, DbError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = import_jobs)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
pub struct ImportJobRow {
    pub id: String,
    pub started_by: String,
    pub started_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub done: i64,
    pub total: i64,
    pub finished: bool,
    /// JSON of the outcome, once finished.
    pub outcome: Option<String>,
}

pub fn create(conn: &mut DbConn, job: &ImportJobRow) -> Result<(), DbError> {
    diesel::insert_into(import_jobs::table)
        .values(job)
        .execute(conn)?;
    Ok(())
}

pub fn progress(
    conn: &mut DbConn,
    id: &str,
    done: i64,
    total: i64,
    at: NaiveDateTime,
) -> Result<(), DbError> {
    diesel::update(
        import_jobs::table
            .find(id)
            .filter(import_jobs::finished.eq(false)),
    )
    .set((
        import_jobs::done.eq(done),
        import_jobs::total.eq(total),
        import_jobs::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn finish(conn: &mut DbConn, id: &str, outcome: &str, at: NaiveDateTime) -> Result<(), DbError> {
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::done.eq(import_jobs::total),
            import_jobs::finished.eq(true),
            import_jobs::outcome.eq(outcome),
            import_jobs::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<ImportJobRow>, DbError> {
    Ok(import_jobs::table
        .find(id)
        .select(ImportJobRow::as_select())
        .first(conn)
        .optional()?)
}
