//! The few places where PostgreSQL and SQLite need different SQL.

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};

use super::DbConn;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many user tables exist (the migrations test checks up and down with it).
pub fn table_count(conn: &mut DbConn) -> Result<i64, diesel::result::Error> {
    let sql = match conn {
        DbConn::Postgresql(_) => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'"
        }
        DbConn::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'"
        }
    };
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

/// SQL written with PostgreSQL's `$n` parameters, as the connection's backend reads it
/// (SQLite numbers its parameters `?n`).
pub fn numbered(conn: &DbConn, sql: &str) -> String {
    match conn {
        DbConn::Postgresql(_) => sql.to_owned(),
        DbConn::Sqlite(_) => sql.replace('$', "?"),
    }
}
