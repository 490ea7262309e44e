//! `backup`, `restore`, `export` and `import`: a consistent copy of an installation (the
//! database, the keys, the uploads) taken while it serves, restored only into an empty
//! place; and the logical export that moves an installation between SQLite and PostgreSQL.
//!
//! Consistency: the database is copied first, in one snapshot (SQLite `VACUUM INTO`,
//! `pg_dump` on an exported snapshot, or the logical export in a repeatable-read
//! transaction), and the uploads after it. An upload is written and synced before its row is
//! committed, so every upload a copied row names is already on disk when the files are
//! copied; files newer than the snapshot are copied too and are harmless.

use std::collections::BTreeMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context};
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde::{Deserialize, Serialize};

use super::policies::bar;
use crate::config::Settings;
use crate::db::{run_migrations, DatabaseTarget, DbConn};
use crate::store::transfer;

const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "onething.db";
const PG_DUMP_FILE: &str = "database.pgdump";
const EXPORT_FILE: &str = "database.jsonl";

/// What a backup holds, written last: a folder without it is not a finished backup.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    created_at: String,
    /// `sqlite` or `postgres`: where the copy was taken.
    backend: String,
    /// The database copy in the folder: a SQLite file, a `pg_dump` archive or an export.
    database: String,
    schema: String,
    /// Rows per table in the copy.
    counts: BTreeMap<String, i64>,
    uploads: u64,
    /// Whether `keys/` holds the keys (else they came from the environment).
    keys_included: bool,
}

pub fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    ensure_empty_dir(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let target = DatabaseTarget::from_settings(settings)?;
    let mut conn = target.connect()?;
    let (database, schema, counts) = match (&target, &mut conn) {
        (DatabaseTarget::Sqlite(_), conn) => {
            let file = dir.join(SQLITE_FILE);
            // VACUUM INTO writes a consistent copy while other connections keep writing.
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(path_text(&file)?)
                .execute(conn)?;
            let mut copy = DatabaseTarget::Sqlite(file).connect()?;
            (
                SQLITE_FILE,
                transfer::schema_version(&mut copy)?,
                transfer::counts(&mut copy)?,
            )
        }
        (DatabaseTarget::Postgres(url), conn) if pg_tool_available("pg_dump") => {
            let file = dir.join(PG_DUMP_FILE);
            let (schema, counts) = pg_dump(conn, url.expose(), &file)?;
            (PG_DUMP_FILE, schema, counts)
        }
        (DatabaseTarget::Postgres(_), conn) => {
            eprintln!("pg_dump not found: writing a logical export instead");
            let header = export_to(conn, &dir.join(EXPORT_FILE))?;
            (EXPORT_FILE, header.schema, header.counts)
        }
    };
    let keys_included = copy_tree(&settings.data_dir.join("keys"), &dir.join("keys"))? > 0;
    if settings.jwt_secret.is_some() || settings.data_key.is_some() || settings.certificate_key.is_some() {
        eprintln!(
            "note: keys set through ONETHING_JWT_SECRET / ONETHING_DATA_KEY / \
             ONETHING_CERTIFICATE_KEY are not in the data directory: keep them with this backup, \
             the data cannot be read without the data key"
        );
    }
    let uploads = copy_tree(&settings.data_dir.join("uploads"), &dir.join("uploads"))?;
    let manifest = Manifest {
        format: "onething-backup".into(),
        created_at: crate::clock::rfc3339::format(crate::clock::Clock::now_utc(&crate::clock::SystemClock)),
        backend: target.backend().name().into(),
        database: database.into(),
        schema,
        counts,
        uploads,
        keys_included,
    };
    let text = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(dir.join(MANIFEST), text)?;
    println!(
        "backup written to {}: {} rows in {} tables, {} uploads{}",
        dir.display(),
        manifest.counts.values().sum::<i64>(),
        manifest.counts.len(),
        uploads,
        if keys_included { ", keys" } else { "" }
    );
    Ok(())
}

pub fn restore(settings: &Settings, dir: &Path) -> anyhow::Result<()> {
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(dir.join(MANIFEST))
            .with_context(|| format!("{} is not a finished backup: no {MANIFEST}", dir.display()))?,
    )
    .context("the backup's manifest is unreadable")?;
    ensure!(
        manifest.format == "onething-backup",
        "not a backup of this platform"
    );
    for sub in ["keys", "uploads"] {
        ensure_empty_dir(&settings.data_dir.join(sub))?;
    }
    let target = DatabaseTarget::from_settings(settings)?;
    let source = dir.join(&manifest.database);
    match (&target, manifest.database.as_str()) {
        (DatabaseTarget::Sqlite(path), SQLITE_FILE) => {
            refuse_non_empty(&target)?;
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(PathBuf::from(p)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
            if let Some(parent) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&source, path).with_context(|| format!("copying to {}", path.display()))?;
        }
        (DatabaseTarget::Postgres(url), PG_DUMP_FILE) => {
            refuse_non_empty(&target)?;
            ensure!(
                pg_tool_available("pg_restore"),
                "this backup is a pg_dump archive: pg_restore is needed to restore it"
            );
            let status = Command::new("pg_restore")
                .args([
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--exit-on-error",
                    "--dbname",
                ])
                .arg(url.expose())
                .arg(&source)
                .status()
                .context("running pg_restore")?;
            ensure!(status.success(), "pg_restore failed ({status})");
        }
        (DatabaseTarget::Sqlite(_), PG_DUMP_FILE) => bail!(
            "a pg_dump backup restores into PostgreSQL; to move to SQLite, restore it into \
             PostgreSQL, then use `onething export` and `onething import`"
        ),
        (_, SQLITE_FILE) => {
            let mut from = DatabaseTarget::Sqlite(source).connect()?;
            let mut to = migrated(&target)?;
            transfer_between(&mut from, &mut to)?;
        }
        (_, EXPORT_FILE) => {
            let mut to = migrated(&target)?;
            import_from(&mut to, &source)?;
        }
        (_, other) => bail!("unknown database copy {other:?} in the backup"),
    }
    let mut restored = migrated(&target)?;
    let counts = transfer::counts(&mut restored)?;
    for (table, expected) in &manifest.counts {
        let found = counts.get(table).copied().unwrap_or(0);
        ensure!(
            found == *expected,
            "table {table}: {expected} rows in the backup, {found} restored"
        );
    }
    copy_tree(&dir.join("keys"), &settings.data_dir.join("keys"))?;
    let uploads = copy_tree(&dir.join("uploads"), &settings.data_dir.join("uploads"))?;
    println!(
        "restored {} rows in {} tables and {} uploads into the {} database; the counts match the backup",
        counts.values().sum::<i64>(),
        counts.len(),
        uploads,
        target.backend().name()
    );
    Ok(())
}

pub fn export(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    ensure!(
        !file.exists(),
        "{} exists already: choose a new file",
        file.display()
    );
    let target = DatabaseTarget::from_settings(settings)?;
    let mut conn = migrated(&target)?;
    let header = export_to(&mut conn, file)?;
    println!(
        "exported {} rows in {} tables from {} to {}",
        header.counts.values().sum::<i64>(),
        header.counts.len(),
        target.backend().name(),
        file.display()
    );
    Ok(())
}

pub fn import(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let target = DatabaseTarget::from_settings(settings)?;
    let mut conn = migrated(&target)?;
    let header = import_from(&mut conn, file)?;
    println!(
        "imported {} rows in {} tables into {}; every table's count matches the export",
        header.counts.values().sum::<i64>(),
        header.counts.len(),
        target.backend().name()
    );
    Ok(())
}

fn migrated(target: &DatabaseTarget) -> anyhow::Result<DbConn> {
    if let DatabaseTarget::Sqlite(path) = target {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
    }
    let mut conn = target.connect()?;
    run_migrations(&mut conn)?;
    Ok(conn)
}

fn refuse_non_empty(target: &DatabaseTarget) -> anyhow::Result<()> {
    if let DatabaseTarget::Sqlite(path) = target {
        if !path.exists() {
            return Ok(());
        }
    }
    let mut conn = migrated(target)?;
    if let Some((table, rows)) = transfer::counts(&mut conn)?.into_iter().find(|(_, n)| *n > 0) {
        bail!("the target database is not empty (table {table} holds {rows} rows): restore only writes into an empty one");
    }
    Ok(())
}

fn export_to(conn: &mut DbConn, file: &Path) -> anyhow::Result<transfer::Header> {
    let mut out = BufWriter::new(
        std::fs::File::create_new(file).with_context(|| format!("creating {}", file.display()))?,
    );
    let progress = bar(0, "export");
    let header = transfer::export(
        conn,
        &mut |line| transfer::write_line(&mut out, &line),
        &|done, total| {
            progress.set_length(total.unsigned_abs());
            progress.set_position(done.unsigned_abs());
        },
    )?;
    progress.finish();
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(header)
}

fn import_from(conn: &mut DbConn, file: &Path) -> anyhow::Result<transfer::Header> {
    let input =
        BufReader::new(std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?);
    let progress = bar(0, "import");
    let header = transfer::import(conn, &mut transfer::read_lines(input), &|done, total| {
        progress.set_length(total.unsigned_abs());
        progress.set_position(done.unsigned_abs());
    })?;
    progress.finish();
    Ok(header)
}

/// Copies one database's export into another's import, the rows held in memory between
/// the two (both connections are open at once, so no file is needed).
fn transfer_between(from: &mut DbConn, to: &mut DbConn) -> anyhow::Result<()> {
    let mut lines = Vec::new();
    transfer::export(
        from,
        &mut |line| {
            lines.push(Ok(line));
            Ok(())
        },
        &|_, _| {},
    )?;
    let progress = bar(0, "restore");
    transfer::import(to, &mut lines.into_iter(), &|done, total| {
        progress.set_length(total.unsigned_abs());
        progress.set_position(done.unsigned_abs());
    })?;
    progress.finish();
    Ok(())
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    id: String,
}

/// `pg_dump` of the snapshot whose counts are recorded: the transaction exports its snapshot
/// and stays open while `pg_dump` reads it.
fn pg_dump(conn: &mut DbConn, url: &str, file: &Path) -> anyhow::Result<(String, BTreeMap<String, i64>)> {
    conn.transaction(|c| {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(c)?;
        let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id").get_result(c)?;
        let schema = transfer::schema_version(c)?;
        let counts = transfer::counts(c)?;
        let status = Command::new("pg_dump")
            .args([
                "--format=custom",
                "--no-owner",
                "--snapshot",
                &snapshot.id,
                "--file",
            ])
            .arg(file)
            .arg("--dbname")
            .arg(url)
            .status()
            .context("running pg_dump")?;
        ensure!(status.success(), "pg_dump failed ({status})");
        Ok((schema, counts))
    })
}

fn pg_tool_available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_empty_dir(dir: &Path) -> anyhow::Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => ensure!(
            entries.next().is_none(),
            "{} is not empty: choose a new or empty folder",
            dir.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    }
    Ok(())
}

/// Copies the files under `from` (missing: nothing) to `to`; the number of files copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading {}", from.display())),
    };
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut copied = 0;
    for entry in entries {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copied += copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}

fn path_text(path: &Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not a UTF-8 path", path.display()))
}
