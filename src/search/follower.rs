//! Keeping search in step with the database. The embedded index of every server follows
//! the shared `policy_changes` log (a background task polls it every second, and a request
//! that changed a policy catches up before it answers); an external engine is written
//! directly by the server that made the change, since all servers share it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::meili::MeiliIndex;
use super::tantivy_index::{index_dir, TantivyIndex};
use super::{SearchError, SearchQuery, SearchResult, SharedIndex};
use crate::config::Settings;
use crate::db::Db;
use crate::store::policies as store;

/// The search engine of a server and how it is kept consistent.
#[derive(Clone)]
pub struct Search {
    pub index: SharedIndex,
    embedded: Option<TantivyIndex>,
}

impl Search {
    /// The engine chosen by the settings: Meilisearch when `MEILI_URL` is set, else the
    /// embedded index under the data directory, rebuilt when missing or unreadable.
    pub fn open(settings: &Settings, db: &Db) -> anyhow::Result<Self> {
        if let Some(url) = &settings.meili_url {
            let meili = MeiliIndex::new(url, settings.meili_key.as_ref().map(|k| k.expose()), "policies")?;
            return Ok(Self {
                index: Arc::new(meili),
                embedded: None,
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
            embedded: Some(index),
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

    /// Brings the engine up to date after this server changed policy `id`.
    pub async fn changed(&self, db: &Db, id: i64) -> Result<(), SearchError> {
        match &self.embedded {
            Some(index) => {
                let index = index.clone();
                db.run(move |c| index.catch_up(c).map(|_| ())).await
            }
            None => {
                let docs = db
                    .run(move |c| super::index_docs(c, &[id]).map_err(SearchError::from))
                    .await?;
                for (id, doc) in docs {
                    match doc {
                        Some(d) => self.index.upsert(vec![d]).await?,
                        None => self.index.delete(vec![id]).await?,
                    }
                }
                Ok(())
            }
        }
    }

    /// Brings the engine up to date after a bulk change (import, seed).
    pub async fn bulk_changed(&self, db: &Db, ids: Vec<i64>) -> Result<(), SearchError> {
        match &self.embedded {
            Some(index) => {
                let index = index.clone();
                db.run(move |c| index.catch_up(c).map(|_| ())).await
            }
            None => {
                for chunk in ids.chunks(1000) {
                    let chunk = chunk.to_vec();
                    let docs = db
                        .run(move |c| super::index_docs(c, &chunk).map_err(SearchError::from))
                        .await?;
                    let (up, del): (Vec<_>, Vec<_>) = docs.into_iter().partition(|(_, d)| d.is_some());
                    self.index
                        .upsert(up.into_iter().filter_map(|(_, d)| d).collect())
                        .await?;
                    self.index
                        .delete(del.into_iter().map(|(id, _)| id).collect())
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Follows the change log every second until the runtime ends (embedded engine only).
    pub fn spawn_follower(&self, db: Db) {
        let Some(index) = self.embedded.clone() else {
            return;
        };
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let index = index.clone();
                match db.run(move |c| index.catch_up(c)).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(policies = n, "policy index followed the change log"),
                    Err(e) => tracing::warn!(error = %e, "policy index could not follow the change log"),
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
        match &self.embedded {
            Some(index) => {
                let index = index.clone();
                db.run(move |c| index.rebuild(c, &*progress)).await
            }
            None => {
                self.index.clear().await?;
                let total = db.run(|c| store::count(c).map_err(SearchError::from)).await? as u64;
                let (mut after, mut done, mut indexed) = (0i64, 0u64, 0u64);
                loop {
                    let batch = db
                        .run(move |c| store::batch_after(c, after, 2000).map_err(SearchError::from))
                        .await?;
                    let Some(tail) = batch.last() else {
                        break;
                    };
                    after = tail.id;
                    done += batch.len() as u64;
                    let docs: Vec<_> = batch.iter().filter_map(super::doc_of).collect();
                    indexed += docs.len() as u64;
                    self.index.upsert(docs).await?;
                    progress(done, total);
                }
                Ok(indexed)
            }
        }
    }
}
