//! Moving a whole installation's data between databases of either backend: a logical
//! export of every table as JSON lines (read in one snapshot, so a server may keep running),
//! and its import into an empty database with every table's row count checked. Backups use
//! it for PostgreSQL when `pg_dump` is missing, restores across backends use it directly.
//!
//! The file: a first line [`Header`] (format, schema version, the count of every table), then
//! lines of [`Batch`] in [`TABLES`] order. Rows are the database's own JSON of the row
//! (`row_to_json` on PostgreSQL, `json_object` on SQLite), so no table needs code here.

use std::collections::BTreeMap;

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::db::{DbConn, DbError};

/// Every table, parents before children (the order foreign keys need on import).
pub const TABLES: &[&str] = &[
    "departments",
    "field_definitions",
    "materials",
    "items",
    "item_fields",
    "item_materials",
    "bundles",
    "bundle_items",
    "accounts",
    "revoked_tokens",
    "login_throttle",
    "audit_log",
    "uploads",
    "drafts",
    "cases",
    "sub_cases",
    "case_materials",
    "idempotency_keys",
    "receipt_counters",
    "case_events",
    "messages",
    "certificates",
    "smart_decisions",
    "registry_records",
    "registry_lookups",
    "case_facts",
    "metric_cases",
    "metric_parts",
    "metric_cases_months",
    "metric_parts_months",
    "metric_ratings",
    "ratings",
    "rating_parts",
    "follow_ups",
    "counter_sessions",
    "activation_codes",
    "policies",
    "policy_versions",
    "policy_changes",
    "benefit_grants",
    "calendar_years",
    "import_jobs",
];

/// Rows per line of the file and per insert statement.
const BATCH: i64 = 500;

pub const FORMAT: &str = "onething-export";

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// The newest migration of the database it was read from; an import needs the same.
    pub schema: String,
    /// Rows per table at the moment of the snapshot.
    pub counts: BTreeMap<String, i64>,
}

/// Up to [`BATCH`] rows of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub table: String,
    pub rows: Vec<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the target database is not empty: table {table} holds {rows} rows; import and restore only write into an empty database")]
    NotEmpty { table: String, rows: i64 },
    #[error("the export was made with database schema {found}, this release has {expected}: import it with the release that made it")]
    SchemaMismatch { found: String, expected: String },
    #[error("{0}")]
    Malformed(String),
    #[error("table {table}: {expected} rows in the export, {found} in the database after the import; nothing was kept")]
    CountMismatch {
        table: String,
        expected: i64,
        found: i64,
    },
    #[error("writing the export: {0}")]
    Sink(String),
}

impl From<diesel::result::Error> for TransferError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    j: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The newest migration applied to the database.
pub fn schema_version(conn: &mut DbConn) -> Result<String, DbError> {
    let v: Version =
        diesel::sql_query("SELECT COALESCE(MAX(version), '') AS version FROM __diesel_schema_migrations")
            .get_result(conn)?;
    Ok(v.version)
}

/// Rows per table.
pub fn counts(conn: &mut DbConn) -> Result<BTreeMap<String, i64>, DbError> {
    TABLES
        .iter()
        .map(|t| {
            let c: Count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {t}")).get_result(conn)?;
            Ok(((*t).to_owned(), c.n))
        })
        .collect()
}

/// Reads every table in one snapshot and hands the header, then each batch, to `sink`;
/// `progress(rows written so far, rows in all)`.
pub fn export(
    conn: &mut DbConn,
    sink: &mut dyn FnMut(Line) -> Result<(), TransferError>,
    progress: &dyn Fn(i64, i64),
) -> Result<Header, TransferError> {
    conn.transaction(|c| {
        if let DbConn::Postgresql(_) = c {
            // One snapshot for every table: a server writing meanwhile changes nothing read.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(c)?;
        }
        let header = Header {
            format: FORMAT.to_owned(),
            schema: schema_version(c)?,
            counts: counts(c)?,
        };
        let total = header.counts.values().sum();
        sink(Line::Header(header.clone()))?;
        let mut done = 0;
        for table in TABLES {
            let select = row_json_select(c, table)?;
            let mut offset = 0;
            loop {
                let rows: Vec<JsonRow> =
                    diesel::sql_query(format!("{select} ORDER BY 1 LIMIT {BATCH} OFFSET {offset}"))
                        .load(c)?;
                if rows.is_empty() {
                    break;
                }
                let n = rows.len() as i64;
                let rows = rows
                    .into_iter()
                    .map(|r| serde_json::from_str(&r.j))
                    .collect::<Result<Vec<serde_json::Value>, _>>()
                    .map_err(|e| TransferError::Malformed(format!("table {table}: {e}")))?;
                sink(Line::Batch(Batch {
                    table: (*table).to_owned(),
                    rows,
                }))?;
                offset += n;
                done += n;
                progress(done, total);
            }
        }
        Ok(header)
    })
}

/// One line of an export file.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Header(Header),
    Batch(Batch),
}

/// `SELECT <the row as JSON text> AS j FROM table`.
fn row_json_select(conn: &mut DbConn, table: &str) -> Result<String, DbError> {
    Ok(match conn {
        DbConn::Postgresql(_) => format!("SELECT row_to_json(t)::text AS j FROM {table} t"),
        DbConn::Sqlite(_) => {
            let pairs: Vec<String> = columns(conn, table)?
                .iter()
                .map(|c| format!("'{0}', {0}", c.name))
                .collect();
            format!("SELECT json_object({}) AS j FROM {table}", pairs.join(", "))
        }
    })
}

fn columns(conn: &mut DbConn, table: &str) -> Result<Vec<Column>, DbError> {
    Ok(diesel::sql_query(format!(
        "SELECT name, type AS kind FROM pragma_table_info('{table}') ORDER BY cid"
    ))
    .load(conn)?)
}

/// Writes an export into an empty database of the same schema, in one transaction: the
/// header first, then the batches; every table's count is compared with the header before
/// the commit. `progress(rows written so far, rows in all)`.
pub fn import(
    conn: &mut DbConn,
    lines: &mut dyn Iterator<Item = Result<Line, TransferError>>,
    progress: &dyn Fn(i64, i64),
) -> Result<Header, TransferError> {
    conn.transaction(|c| {
        let header = match lines.next() {
            Some(Ok(Line::Header(h))) if h.format == FORMAT => h,
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(TransferError::Malformed(format!(
                    "not an export of this platform: the first line must be its {FORMAT} header"
                )))
            }
        };
        let expected = schema_version(c)?;
        if header.schema != expected {
            return Err(TransferError::SchemaMismatch {
                found: header.schema,
                expected,
            });
        }
        if let Some((table, rows)) = counts(c)?.into_iter().find(|(_, n)| *n > 0) {
            return Err(TransferError::NotEmpty { table, rows });
        }
        let total: i64 = header.counts.values().sum();
        let mut statements: BTreeMap<String, String> = BTreeMap::new();
        let mut done = 0;
        for line in lines {
            let Line::Batch(batch) = line? else {
                return Err(TransferError::Malformed("a second header line".into()));
            };
            if !TABLES.contains(&batch.table.as_str()) {
                return Err(TransferError::Malformed(format!(
                    "unknown table {:?}",
                    batch.table
                )));
            }
            let sql = match statements.get(&batch.table) {
                Some(sql) => sql.clone(),
                None => {
                    let sql = insert_from_json(c, &batch.table)?;
                    statements.insert(batch.table.clone(), sql.clone());
                    sql
                }
            };
            let rows = batch.rows.len() as i64;
            let json = serde_json::Value::Array(batch.rows).to_string();
            diesel::sql_query(sql).bind::<Text, _>(json).execute(c)?;
            done += rows;
            progress(done, total);
        }
        let found = counts(c)?;
        for (table, expected) in &header.counts {
            let found = found.get(table).copied().unwrap_or(0);
            if found != *expected {
                return Err(TransferError::CountMismatch {
                    table: table.clone(),
                    expected: *expected,
                    found,
                });
            }
        }
        if let DbConn::Postgresql(_) = c {
            // Rows came with their ids: the identity sequences continue after the largest.
            let sequences: Vec<Column> = diesel::sql_query(
                "SELECT table_name::text AS name, pg_get_serial_sequence(table_name::text, 'id') AS kind \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND column_name = 'id' AND (is_identity = 'YES' OR column_default LIKE 'nextval%')",
            )
            .load(c)?;
            for Column {
                name: table,
                kind: sequence,
            } in sequences
            {
                diesel::sql_query(format!(
                    "SELECT setval('{sequence}', MAX(id)) FROM {table} HAVING MAX(id) IS NOT NULL"
                ))
                .execute(c)?;
            }
        }
        Ok(header)
    })
}

/// `INSERT` of a JSON array of rows bound as the one parameter.
fn insert_from_json(conn: &mut DbConn, table: &str) -> Result<String, DbError> {
    Ok(match conn {
        DbConn::Postgresql(_) => {
            format!("INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json)")
        }
        DbConn::Sqlite(_) => {
            let cols = columns(conn, table)?;
            let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
            let values: Vec<String> = cols
                .iter()
                .map(|c| {
                    let v = format!("json_extract(value, '$.{}')", c.name);
                    // PostgreSQL writes timestamps as 2026-12-07T12:00:00; SQLite rows hold
                    // them as diesel writes them, with a space.
                    if c.kind.eq_ignore_ascii_case("TIMESTAMP") {
                        format!("replace({v}, 'T', ' ')")
                    } else {
                        v
                    }
                })
                .collect();
            format!(
                "INSERT INTO {table} ({}) SELECT {} FROM json_each(?)",
                names.join(", "),
                values.join(", ")
            )
        }
    })
}

/// Writes an export as JSON lines.
pub fn write_line(out: &mut dyn std::io::Write, line: &Line) -> Result<(), TransferError> {
    let text = match line {
        Line::Header(h) => serde_json::to_string(h),
        Line::Batch(b) => serde_json::to_string(b),
    }
    .map_err(|e| TransferError::Sink(e.to_string()))?;
    writeln!(out, "{text}").map_err(|e| TransferError::Sink(e.to_string()))
}

/// Reads an export written by [`write_line`].
pub fn read_lines(input: impl std::io::BufRead) -> impl Iterator<Item = Result<Line, TransferError>> {
    input.lines().enumerate().map(|(n, line)| {
        let line = line.map_err(|e| TransferError::Malformed(format!("line {}: {e}", n + 1)))?;
        let parsed = if n == 0 {
            serde_json::from_str(&line).map(Line::Header)
        } else {
            serde_json::from_str(&line).map(Line::Batch)
        };
        parsed.map_err(|e| TransferError::Malformed(format!("line {}: {e}", n + 1)))
    })
}
