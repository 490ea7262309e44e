//! Queries and writes, written once against [`crate::db::DbConn`] so that they run on both
//! backends. Functions take `&mut DbConn` so that callers can compose them in a transaction.

/// Inserts `$per` rows per statement (the backends limit bound parameters per statement).
/// Multi-row inserts need the backend's own connection type.
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, $per:expr) => {
        for chunk in $rows.chunks($per) {
            each_backend!($conn, |c| diesel::insert_into($table).values(chunk).execute(c))?;
        }
    };
}

/// Runs a statement on the connection's own backend: for what diesel's multi-backend
/// connection cannot express (multi-row inserts, upserts, `RETURNING`), written once.
macro_rules! each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut *$conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgresql($c) => $body,
        }
    };
}

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod benefits;
pub mod calendar;
pub mod cases;
pub mod catalogue;
pub mod certificates;
pub mod counter;
pub mod demo;
pub mod imports;
pub mod metrics;
pub mod policies;
pub mod ratings;
pub mod registries;
pub mod rows;
pub mod throttle;
pub mod transfer;

/// A page of a list, as every list endpoint returns it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// Validated paging parameters.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub const MAX_PER_PAGE: i64 = 200;

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }
}
