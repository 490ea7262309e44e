//! Command-line work on the policy library: `import-policies FILE`, `reindex` and
//! `demo-data --policies N`, with progress bars. A running server picks their changes up
//! from the change log.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::config::Settings;
use crate::db::Db;
use crate::policy::table::{self, Format};
use crate::search::tantivy_index::{index_dir, TantivyIndex};

/// `onething import-policies FILE`: all rows or none, every bad row listed.
pub fn import(settings: &Settings, file: &Path, format: Option<&str>) -> anyhow::Result<()> {
    let format = match format {
        Some(f) => Format::parse(f),
        None => file.to_str().and_then(Format::from_filename),
    }
    .ok_or_else(|| anyhow::anyhow!("say --format csv or --format xlsx (or name the file .csv / .xlsx)"))?;
    let bytes = std::fs::read(file)?;
    let parse_bar = bar(0, "checking rows");
    let rows = table::parse(format, &bytes, &|done, total| {
        parse_bar.set_length(total as u64);
        parse_bar.set_position(done as u64);
    });
    parse_bar.finish();
    let rows = match rows {
        Ok(rows) => rows,
        Err(errors) => {
            for e in &errors {
                eprintln!("{}", e.message);
            }
            anyhow::bail!(
                "{} problem(s) in {}; nothing was imported",
                errors.len(),
                file.display()
            );
        }
    };
    let db =
        crate::startup::prepare_database(settings, crate::clock::Clock::now_utc(&crate::clock::SystemClock))?;
    let mut conn = db.get()?;
    let write_bar = bar(rows.len() as u64, "writing policies");
    let by = crate::store::policies::By {
        actor: "cli",
        at: crate::clock::Clock::now_utc(&crate::clock::SystemClock),
    };
    let report = crate::store::policies::import(&mut conn, &rows, by, &|done, _| {
        write_bar.set_position(done as u64)
    })?;
    write_bar.finish();
    println!(
        "{} inserted, {} updated, {} unchanged",
        report.inserted, report.updated, report.unchanged
    );
    if settings.meili_url.is_some() {
        // Meilisearch is shared: bring it up to date now rather than when a server next
        // polls the change log (the embedded index of each server follows by itself).
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let applied = runtime.block_on(async {
            let search = crate::search::follower::Search::open(settings, &db)?;
            Ok::<_, anyhow::Error>(search.caught_up(&db).await?)
        })?;
        println!("{applied} policies brought up to date in Meilisearch");
    }
    Ok(())
}

/// `onething reindex`: rebuilds the search engine from the database.
pub fn reindex(settings: &Settings) -> anyhow::Result<()> {
    let db =
        crate::startup::prepare_database(settings, crate::clock::Clock::now_utc(&crate::clock::SystemClock))?;
    reindex_with(settings, &db)
}

pub fn reindex_with(settings: &Settings, db: &Db) -> anyhow::Result<()> {
    let bar = Arc::new(bar(0, "indexing policies"));
    let started = std::time::Instant::now();
    let progress_bar = bar.clone();
    let progress = move |done: u64, total: u64| {
        progress_bar.set_length(total);
        progress_bar.set_position(done);
    };
    let indexed = if settings.meili_url.is_some() {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        runtime.block_on(async {
            let search = crate::search::follower::Search::open(settings, db)?;
            Ok::<_, anyhow::Error>(search.rebuild(db, Arc::new(progress)).await?)
        })?
    } else {
        let dir = index_dir(&settings.data_dir);
        let (index, _) = TantivyIndex::open_or_create(&dir).map_err(|e| {
            anyhow::anyhow!("{e} (a running server holds the index; it follows the change log by itself)")
        })?;
        index.rebuild(&mut *db.get()?, &progress)?
    };
    bar.finish();
    println!(
        "{indexed} policies indexed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// `onething demo-data --policies N`: adds the synthetic policies that are missing, in
/// batched transactions, then rebuilds the search index.
pub fn demo(settings: &crate::config::Settings, n: usize) -> anyhow::Result<()> {
    use diesel::prelude::*;
    let seeds = crate::policy::seed::shipped().map_err(anyhow::Error::msg)?;
    anyhow::ensure!(!seeds.is_empty(), "the seed library is empty");
    let db =
        crate::startup::prepare_database(settings, crate::clock::Clock::now_utc(&crate::clock::SystemClock))?;
    let mut conn = db.get()?;
    let now = crate::clock::Clock::now_utc(&crate::clock::SystemClock);
    crate::store::policies::seed(&mut conn, &seeds, now)?;
    let existing: HashSet<String> = crate::db::schema::policies::table
        .filter(crate::db::schema::policies::key.like("demo-%"))
        .select(crate::db::schema::policies::key)
        .load::<String>(&mut *conn)?
        .into_iter()
        .collect();
    let started = std::time::Instant::now();
    let bar = bar(n as u64, "generating policies");
    let mut rng = StdRng::seed_from_u64(4754);
    let mut added = 0;
    let mut i = 1;
    while i <= n {
        let end = (i + 1000).min(n + 1);
        let batch: Vec<_> = (i..end)
            .map(|k| crate::policy::demo::make(k, &seeds, &mut rng))
            .collect();
        conn.transaction::<_, crate::db::DbError, _>(|c| {
            for (key, status, content) in batch.iter().filter(|(k, _, _)| !existing.contains(k)) {
                let by = crate::store::policies::By {
                    actor: "demo-data",
                    at: now,
                };
                crate::store::policies::insert(c, key, *status, content, by)?;
                added += 1;
            }
            Ok(())
        })?;
        bar.inc((end - i) as u64);
        i = end;
    }
    bar.finish();
    println!(
        "{added} synthetic policies added ({} already there) in {:.1} s",
        n - added,
        started.elapsed().as_secs_f64()
    );
    drop(conn);
    reindex_with(settings, &db)
}
