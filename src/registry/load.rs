//! Loading the local registries from CSV or XLSX files: the first row names the columns
//! (`key`, then the registry's attributes in any order); every other row is one record.
//! Each bad cell is reported with its row and column, and a file with any bad row writes
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::auth::{PiiKind, Vault};
use diesel::Connection;

use crate::db::{DbConn, DbError};
use crate::policy::table::{records, Format};
use crate::rules::{Registry, Value, ValueType};
use crate::store::registries::{self as store, NewRecord};

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// The row of the file, from 1 (the header is row 1).
    pub row: usize,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "第 {} 行：{}", self.row, self.message)
        } else {
            write!(f, "第 {} 行“{}”列：{}", self.row, self.column, self.message)
        }
    }
}

/// A checked record: its key (normalised) and its attributes as text.
pub type Record = (String, BTreeMap<String, String>);

/// Checks every row of a file for `registry`. Returns the records, or every problem found.
pub fn parse(registry: Registry, format: Format, bytes: &[u8]) -> Result<Vec<Record>, Vec<RowProblem>> {
    // A registry's ID numbers are the issuing authority's: one born after this server's
    // date means a clock behind, not a bad row, so only the format and check digit count.
    let today = NaiveDate::MAX;
    let rows = records(format, bytes).map_err(|e| {
        vec![RowProblem {
            row: e.row,
            column: String::new(),
            message: e.message,
        }]
    })?;
    let mut problems = Vec::new();
    let Some((header, body)) = rows.split_first() else {
        return Err(vec![RowProblem {
            row: 1,
            column: String::new(),
            message: "文件为空：第一行应为列名（key 及各项属性）".into(),
        }]);
    };
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if header.first().map(String::as_str) != Some("key") {
        problems.push(RowProblem {
            row: 1,
            column: header.first().cloned().unwrap_or_default(),
            message: format!("第一列应为 key（{}）", registry.key_label()),
        });
    }
    let mut columns: Vec<Option<ValueType>> = Vec::new();
    for name in header.iter().skip(1) {
        match registry.attribute(name) {
            Some(a) => columns.push(Some(a.kind)),
            None => {
                problems.push(RowProblem {
                    row: 1,
                    column: name.clone(),
                    message: format!("{}没有名为 {name} 的属性", registry.label()),
                });
                columns.push(None);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut seen = BTreeMap::new();
    for (i, cells) in body.iter().enumerate() {
        let row = i + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let raw_key = cells.first().map(|k| k.trim()).unwrap_or_default();
        let key = if registry.keyed_by_person() {
            crate::identity::IdNumber::parse(raw_key, today).map(|k| k.as_str().to_owned())
        } else {
            crate::identity::Uscc::parse(raw_key).map(|k| k.as_str().to_owned())
        };
        let key = match key {
            Ok(k) => k,
            Err(e) => {
                problems.push(RowProblem {
                    row,
                    column: "key".into(),
                    message: e.message,
                });
                continue;
            }
        };
        if let Some(first) = seen.insert(key.clone(), row) {
            problems.push(RowProblem {
                row,
                column: "key".into(),
                message: format!("与第 {first} 行的 key 重复"),
            });
            continue;
        }
        let mut attributes = BTreeMap::new();
        for (j, kind) in columns.iter().enumerate() {
            let (Some(kind), Some(name)) = (kind, header.get(j + 1)) else {
                continue;
            };
            let cell = cells.get(j + 1).map(|c| c.trim()).unwrap_or_default();
            if cell.is_empty() {
                continue;
            }
            if Value::read(*kind, cell) == Value::Missing {
                problems.push(RowProblem {
                    row,
                    column: name.clone(),
                    message: format!("“{cell}”不是有效的{}", kind_name(*kind)),
                });
                continue;
            }
            attributes.insert(name.clone(), cell.to_owned());
        }
        out.push((key, attributes));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn kind_name(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Text => "文本",
        ValueType::Number => "数值",
        ValueType::Bool => "是否值（true / false）",
        ValueType::Date => "日期（YYYY-MM-DD）",
    }
}

/// Seals checked records and writes them in batches of one transaction each, calling
/// `progress` with the number written so far after each batch.
pub fn write(
    conn: &mut DbConn,
    vault: &Vault,
    registry: Registry,
    records: &[Record],
    at: chrono::NaiveDateTime,
    progress: &dyn Fn(usize),
) -> Result<usize, DbError> {
    let mut written = 0;
    for chunk in records.chunks(500) {
        let rows: Vec<NewRecord> = chunk
            .iter()
            .map(|(key, attributes)| NewRecord {
                registry: registry.code().to_owned(),
                key_hash: super::key_hash(vault, registry, key),
                record_enc: vault.encrypt(
                    PiiKind::Registry,
                    &serde_json::to_string(attributes).unwrap_or_else(|_| "{}".into()),
                ),
                loaded_at: at,
            })
            .collect();
        written += conn.transaction(|c| store::upsert_records(c, &rows))?;
        progress(written);
    }
    Ok(written)
}

/// The registry a file is for, from its name (`household.csv`, `enterprise.xlsx`).
pub fn registry_of(path: &Path) -> Option<(Registry, Format)> {
    let name = path.file_name()?.to_str()?;
    let format = Format::from_filename(name)?;
    let stem = name.rsplit_once('.')?.0;
    Some((Registry::parse(stem)?, format))
}

/// Loads every registry file in `dir` whose registry is still empty (the shipped
/// demonstration set on a new database); returns (registry, records written).
pub fn load_empty(
    conn: &mut DbConn,
    vault: &Vault,
    dir: &Path,
    at: chrono::NaiveDateTime,
) -> anyhow::Result<Vec<(Registry, usize)>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let counts: BTreeMap<String, i64> = store::counts(conn)?.into_iter().collect();
    let mut loaded = Vec::new();
    for path in files {
        let Some((registry, format)) = registry_of(&path) else {
            continue;
        };
        if counts.get(registry.code()).copied().unwrap_or(0) > 0 {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let records = parse(registry, format, &bytes).map_err(|problems| {
            anyhow::anyhow!(
                "{}: {}",
                path.display(),
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        let n = write(conn, vault, registry, &records, at, &|_| {})?;
        loaded.push((registry, n));
    }
    Ok(loaded)
}
