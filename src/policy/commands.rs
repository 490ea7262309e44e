//! Command-line work on the policy library: `import-policies FILE` and `reindex`, with
//! progress bars. A running server picks their changes up from the change log.

use std::path::Path;
use std::sync::Arc;

use super::demo::bar;
use super::table::{self, Format};
use crate::config::Settings;
use crate::db::Db;
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
