//! Keeping search in step with the database. Every engine follows the shared
//! `policy_changes` log: a background task polls it every second, and a request that
//! changed a policy catches up before it answers. The embedded index keeps its position in
//! its commits, Meilisearch in a small index beside the policies.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::meili::MeiliIndex;
use super::tantivy_index::{index_dir, TantivyIndex};
use super::{SearchError, SearchQuery, SearchResult, SharedIndex};
use crate::config::Settings;
use crate::db::Db;

/// The engine behind the shared trait, for what differs: how it follows the log.
#[derive(Clone)]
enum Engine {
    Embedded(TantivyIndex),
    Meili(Arc<MeiliIndex>),
}

/// The search engine of a server and how it is kept consistent.
#[derive(Clone)]
pub struct Search {
    pub index: SharedIndex,
    engine: Engine,
}

impl Search {
    /// The engine chosen by the settings: Meilisearch when `MEILI_URL` is set, else the
    /// embedded index under the data directory, rebuilt when missing or unreadable.
    /// Meilisearch is filled or brought up to date by [`Search::spawn_follower`].
    pub fn open(settings: &Settings, db: &Db) -> anyhow::Result<Self> {
        if let Some(url) = &settings.meili_url {
            let meili = Arc::new(MeiliIndex::new(
                url,
                settings.meili_key.as_ref().map(|k| k.expose()),
                &settings.meili_index,
            )?);
            return Ok(Self {
                index: meili.clone(),
                engine: Engine::Meili(meili),
            });
        }
        Self::embedded(&settings.data_dir, db)
    }

    pub fn embedded(data_dir: &Path, db: &Db) -> anyhow::Result<Self> {
        let (index, reused) = TantivyIndex::open_or_create(&index_dir(data_dir))?;
        let mut conn = db.get()?;
        if reused {
            let n = index.catch_up(&mut conn)?;
            tracing::info!(applied = n, last = index.last_applied(), "policy index opened");
        } else {
            let n = index.rebuild(&mut conn, &|_, _| {})?;
            tracing::info!(indexed = n, "policy index built");
        }
        Ok(Self {
            index: Arc::new(index.clone()),
            engine: Engine::Embedded(index),
        })
    }

    pub fn engine(&self) -> &'static str {
        self.index.name()
    }

    /// Searches with every word; when nothing matches them all, with fewer words (one left
    /// out at a time, keeping the subset that finds most), saying which were left out.
    pub async fn search(&self, q: SearchQuery) -> Result<SearchResult, SearchError> {
        let words = super::query_words(&q.q);
        let all = self.index.search(q.clone()).await?;
        if all.total > 0 || words.len() < 2 {
            return Ok(all);
        }
        let mut current = words.clone();
        while current.len() > 1 {
            let mut best: Option<(Vec<String>, SearchResult)> = None;
            for skip in 0..current.len() {
                let kept: Vec<String> = current
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != skip)
                    .map(|(_, w)| w.clone())
                    .collect();
                let found = self
                    .index
                    .search(SearchQuery {
                        q: kept.join(" "),
                        ..q.clone()
                    })
                    .await?;
                if best.as_ref().is_none_or(|(_, b)| found.total > b.total) {
                    best = Some((kept, found));
                }
            }
            let Some((kept, mut found)) = best else { break };
            if found.total > 0 {
                found.relaxed = Some(super::Relaxed {
                    dropped: words.iter().filter(|w| !kept.contains(w)).cloned().collect(),
                    kept,
                });
                return Ok(found);
            }
            current = kept;
        }
        Ok(all)
    }

    /// Brings the engine up to date after this server changed a policy (or many, by an
    /// import): it applies the change log up to now.
    pub async fn caught_up(&self, db: &Db) -> Result<usize, SearchError> {
        match &self.engine {
            Engine::Embedded(index) => {
                let index = index.clone();
                db.run(move |c| index.catch_up(c)).await
            }
            Engine::Meili(meili) => meili.catch_up(db).await,
        }
    }

    /// Readies an engine that is filled from outside the process: Meilisearch is filled
    /// when empty and brought up to date when behind (the embedded index was readied when
    /// opened). Returns the policies written.
    pub async fn prepare(
        &self,
        db: &Db,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<u64, SearchError> {
        match &self.engine {
            Engine::Embedded(_) => Ok(0),
            Engine::Meili(meili) => meili.prepare(db, progress).await,
        }
    }

    /// Readies the engine, then follows the change log every second until the runtime
    /// ends.
    pub fn spawn_follower(&self, db: Db) {
        let search = self.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match search
                .prepare(&db, &|done, total| {
                    tracing::info!(done, total, "filling the policy search engine")
                })
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    policies = n,
                    seconds = started.elapsed().as_secs_f64(),
                    engine = search.engine(),
                    "policy search engine filled or brought up to date"
                ),
                Err(e) => tracing::error!(error = %e, "policy search engine could not be readied"),
            }
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match search.caught_up(&db).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(policies = n, "policy search followed the change log"),
                    Err(e) => tracing::warn!(error = %e, "policy search could not follow the change log"),
                }
            }
        });
    }

    /// Rebuilds the engine from the database, reporting (done, total).
    pub async fn rebuild(
        &self,
        db: &Db,
        progress: Arc<dyn Fn(u64, u64) + Send + Sync>,
    ) -> Result<u64, SearchError> {
        match &self.engine {
            Engine::Embedded(index) => {
                let index = index.clone();
                db.run(move |c| index.rebuild(c, &*progress)).await
            }
            Engine::Meili(meili) => meili.rebuild(db, &*progress).await,
        }
    }
}
