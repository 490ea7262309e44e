//! Meilisearch as the search engine, for deployments that already run one (`MEILI_URL`,
//! `MEILI_KEY`). It gets the same searchable, filterable and sortable attributes and the
//! same synonym table as the embedded engine, requires every query word, lists policies in
//! force first, and snippets the text the same way. Like the embedded engine it follows
//! the change log; its position in the log is kept in a second index beside it
//! (`{uid}_position`), so every server sharing it knows how far it has got.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use meilisearch_sdk::client::Client;
use meilisearch_sdk::errors::{Error as MeiliError, ErrorCode};
use meilisearch_sdk::search::{MatchingStrategies, SearchResults, Selectors};
use meilisearch_sdk::settings::{PaginationSetting, Settings, TypoToleranceSettings};
use serde::{Deserialize, Serialize};

use super::changes::Position;
use super::tantivy_index::escape;
use super::words::{engine_synonyms, query_terms, snippet, tokens};
use super::{label_facets, Hit, IndexDoc, PolicyIndex, SearchError, SearchQuery, SearchResult, Sort, ALL};
use crate::db::Db;
use crate::store::policies as store;
use chrono::{Datelike, NaiveDate};

/// Stand-in for "no date" in numeric date keys (Meilisearch numbers are doubles).
const NO_DATE: i64 = 99_999_999;
const PRE: &str = "\u{1}";
const POST: &str = "\u{2}";
const FACETS: [&str; 5] = ["industry_sections", "scales", "regions", "issuers", "status"];
/// What a hit brings back: the stored policy without its long text fields.
const RETRIEVED: [&str; 17] = [
    "id",
    "title",
    "doc_number",
    "issuer",
    "issuers",
    "published_on",
    "effective_from",
    "effective_to",
    "apply_deadline",
    "status",
    "summary",
    "text",
    "industry_codes",
    "industry_sections",
    "scales",
    "excluded_industries",
    "regions",
];
/// Exact totals: Meilisearch counts at most this many hits (its default is 1,000).
const MAX_TOTAL_HITS: usize = 10_000_000;
/// Documents sent to the server at a time.
const UPLOAD: usize = 5_000;

#[derive(Debug, Serialize, Deserialize)]
struct MeiliDoc {
    #[serde(flatten)]
    doc: IndexDoc,
    /// The jieba search-mode words of title and text, space-separated, so that Meilisearch's
    /// own segmentation also finds words inside compounds (工程 in 在建工程).
    #[serde(default)]
    terms: String,
    #[serde(default)]
    published_key: i64,
    #[serde(default)]
    eff_from_key: i64,
    #[serde(default)]
    eff_to_key: i64,
    #[serde(default)]
    deadline_key: i64,
}

/// The change-log position document.
#[derive(Debug, Serialize, Deserialize)]
struct StoredPosition {
    id: u32,
    last: i64,
}

fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

impl From<IndexDoc> for MeiliDoc {
    fn from(doc: IndexDoc) -> Self {
        Self {
            terms: tokens(&format!("{}\n{}", doc.title, doc.text)).join(" "),
            published_key: day(doc.published_on),
            eff_from_key: day(doc.effective_from),
            eff_to_key: doc.effective_to.map(day).unwrap_or(NO_DATE),
            deadline_key: doc.apply_deadline.map(day).unwrap_or(NO_DATE),
            doc,
        }
    }
}

fn err(e: impl std::fmt::Display) -> SearchError {
    SearchError::Index(format!("meilisearch: {e}"))
}

/// Whether a Meilisearch error says the index or document does not exist (yet).
fn not_found(e: &MeiliError) -> bool {
    matches!(
        e,
        MeiliError::Meilisearch(m)
            if matches!(m.error_code, ErrorCode::IndexNotFound | ErrorCode::DocumentNotFound)
    )
}

pub struct MeiliIndex {
    client: Client,
    uid: String,
    configured: AtomicBool,
    /// Where this server has got in the change log; `None` until read from the server.
    follow: tokio::sync::Mutex<Option<Position>>,
}

fn quoted(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

fn any_of(attr: &str, values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| quoted(v)).collect();
    format!("{attr} IN [{}]", list.join(", "))
}

fn in_force_filter(today: NaiveDate) -> String {
    let t = day(today);
    format!("(status = \"published\" AND eff_from_key <= {t} AND eff_to_key >= {t})")
}

/// The filter expression of a query's filters (None when unfiltered).
fn filter_of(q: &SearchQuery) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(industry) = &q.industry {
        let mut codes = q.industry_codes();
        codes.push(ALL.to_owned());
        let mut part = any_of("industry_codes", &codes);
        if industry.len() == 1 {
            part = format!("({part} OR industry_sections = {})", quoted(industry));
        }
        parts.push(part);
        // A policy that excludes the industry (or its section) is not for it.
        parts.push(format!(
            "NOT {}",
            any_of(
                "excluded_industries",
                &crate::policy::matching::industry_chain(industry)
            )
        ));
    }
    if let Some(scale) = q.scale {
        parts.push(any_of("scales", &[scale.as_str().to_owned(), ALL.to_owned()]));
    }
    if q.region.is_some() {
        parts.push(any_of("regions", &q.region_chain()));
    }
    if let Some(issuer) = &q.issuer {
        parts.push(format!("issuers = {}", quoted(issuer)));
    }
    match q.in_force {
        Some(true) => parts.push(in_force_filter(q.today)),
        Some(false) => parts.push(format!("NOT {}", in_force_filter(q.today))),
        None => {}
    }
    // Sorting by the application deadline lists what can still be applied for.
    if q.sort == Sort::Deadline {
        parts.push(format!("deadline_key >= {}", day(q.today)));
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

/// `filter` narrowed by `extra`.
fn and(filter: &Option<String>, extra: &str) -> String {
    match filter {
        Some(f) => format!("({f}) AND {extra}"),
        None => extra.to_owned(),
    }
}

fn highlighted(
    formatted: Option<&serde_json::Map<String, serde_json::Value>>,
    key: &str,
    fallback: &str,
) -> String {
    let raw = formatted
        .and_then(|m| m.get(key))
        .and_then(|v| v.as_str())
        .filter(|s| s.contains(PRE))
        .unwrap_or(fallback);
    escape(raw).replace(PRE, "<mark>").replace(POST, "</mark>")
}

/// The exact count of a page-mode result (Meilisearch counts exhaustively in that mode).
fn exact_total<T>(r: &SearchResults<T>) -> u64 {
    r.total_hits.or(r.estimated_total_hits).unwrap_or(0) as u64
}

impl MeiliIndex {
    pub fn new(url: &str, key: Option<&str>, uid: &str) -> Result<Self, SearchError> {
        Ok(Self {
            client: Client::new(url, key).map_err(err)?,
            uid: uid.to_owned(),
            configured: AtomicBool::new(false),
            follow: tokio::sync::Mutex::new(None),
        })
    }

    fn position_uid(&self) -> String {
        format!("{}_position", self.uid)
    }

    async fn wait(&self, task: meilisearch_sdk::task_info::TaskInfo) -> Result<(), SearchError> {
        let task = task
            .wait_for_completion(
                &self.client,
                Some(Duration::from_millis(20)),
                Some(Duration::from_secs(600)),
            )
            .await
            .map_err(err)?;
        if task.is_failure() {
            return Err(err(format!("task failed: {task:?}")));
        }
        Ok(())
    }

    /// Applies the index settings once per process (idempotent on the server).
    async fn configure(&self) -> Result<(), SearchError> {
        if self.configured.load(Ordering::Acquire) {
            return Ok(());
        }
        let synonyms: HashMap<String, Vec<String>> = engine_synonyms().into_iter().collect();
        let settings = Settings::new()
            .with_searchable_attributes(["title", "summary", "text", "terms", "doc_number", "issuer"])
            .with_filterable_attributes([
                "industry_codes",
                "industry_sections",
                "excluded_industries",
                "scales",
                "regions",
                "issuers",
                "status",
                "eff_from_key",
                "eff_to_key",
                "deadline_key",
            ])
            .with_sortable_attributes(["published_key", "deadline_key"])
            // A sort asked for decides the order; relevance only breaks its ties.
            .with_ranking_rules(["sort", "words", "typo", "proximity", "attribute", "exactness"])
            // Words are matched as written, as in the embedded engine.
            .with_typo_tolerance(TypoToleranceSettings {
                enabled: Some(false),
                ..Default::default()
            })
            .with_pagination(PaginationSetting {
                max_total_hits: MAX_TOTAL_HITS,
            })
            .with_max_values_per_facet(1000)
            .with_synonyms(synonyms);
        let task = self
            .client
            .index(&self.uid)
            .set_settings(&settings)
            .await
            .map_err(err)?;
        self.wait(task).await?;
        self.configured.store(true, Ordering::Release);
        Ok(())
    }

    /// The change-log position stored beside the index (`None` when never stored).
    async fn stored_position(&self) -> Result<Option<i64>, SearchError> {
        match self
            .client
            .index(self.position_uid())
            .get_document::<StoredPosition>("1")
            .await
        {
            Ok(p) => Ok(Some(p.last)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn store_position(&self, last: i64) -> Result<(), SearchError> {
        let task = self
            .client
            .index(self.position_uid())
            .add_or_replace(&[StoredPosition { id: 1, last }], Some("id"))
            .await
            .map_err(err)?;
        self.wait(task).await
    }

    /// How many policies the index holds (0 when it does not exist yet).
    async fn documents(&self) -> Result<usize, SearchError> {
        match self.client.index(&self.uid).get_stats().await {
            Ok(s) => Ok(s.number_of_documents),
            Err(e) if not_found(&e) => Ok(0),
            Err(e) => Err(err(e)),
        }
    }

    /// Readies the index at start: fills it when it is empty (or has never followed the
    /// log) while the library is not, else applies what it is behind. Returns the
    /// number of policies written.
    pub async fn prepare(
        &self,
        db: &Db,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<u64, SearchError> {
        self.configure().await?;
        let stored = self.stored_position().await?;
        let held = self.documents().await?;
        let library = db.run(|c| store::count(c).map_err(SearchError::from)).await?;
        match stored {
            Some(last) if held > 0 || library == 0 => {
                *self.follow.lock().await = Some(Position::at(last));
                Ok(self.catch_up(db).await? as u64)
            }
            _ => self.rebuild(db, progress).await,
        }
    }

    /// Applies every change-log entry not yet applied; returns how many policies it touched.
    pub async fn catch_up(&self, db: &Db) -> Result<usize, SearchError> {
        let mut follow = self.follow.lock().await;
        let mut position = match follow.take() {
            Some(p) => p,
            None => Position::at(self.stored_position().await?.unwrap_or(0)),
        };
        let mut touched = 0;
        let outcome = loop {
            let from = position.clone();
            let pending = match db.run(move |c| from.pending(c).map_err(SearchError::from)).await {
                Ok(Some(p)) => p,
                Ok(None) => break Ok(touched),
                Err(e) => break Err(e),
            };
            let next = position.after(&pending);
            let written = async {
                self.write(pending.upserts, pending.deletes).await?;
                self.store_position(next.last).await
            }
            .await;
            if let Err(e) = written {
                break Err(e);
            }
            touched += pending.policies;
            position = next;
            if !pending.more {
                break Ok(touched);
            }
        };
        *follow = Some(position);
        outcome
    }

    /// Rebuilds the index from the database, reporting (done, total).
    pub async fn rebuild(
        &self,
        db: &Db,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<u64, SearchError> {
        let mut follow = self.follow.lock().await;
        self.configure().await?;
        let (last, total) = db
            .run(|c| Ok::<_, SearchError>((store::last_change(c)?, store::count(c)? as u64)))
            .await?;
        self.clear_documents().await?;
        let (mut after, mut done, mut indexed) = (0i64, 0u64, 0u64);
        loop {
            let batch = db
                .run(move |c| store::batch_after(c, after, UPLOAD as i64).map_err(SearchError::from))
                .await?;
            let Some(tail) = batch.last() else {
                break;
            };
            after = tail.id;
            done += batch.len() as u64;
            let docs: Vec<IndexDoc> = batch.iter().filter_map(super::doc_of).collect();
            indexed += docs.len() as u64;
            self.write(docs, Vec::new()).await?;
            progress(done, total);
        }
        let position = db
            .run(move |c| Position::rebuilt(c, last).map_err(SearchError::from))
            .await?;
        self.store_position(last).await?;
        *follow = Some(position);
        Ok(indexed)
    }

    async fn write(&self, upserts: Vec<IndexDoc>, deletes: Vec<i64>) -> Result<(), SearchError> {
        if !deletes.is_empty() {
            let task = self
                .client
                .index(&self.uid)
                .delete_documents(&deletes)
                .await
                .map_err(err)?;
            self.wait(task).await?;
        }
        if upserts.is_empty() {
            return Ok(());
        }
        self.configure().await?;
        let docs: Vec<MeiliDoc> = upserts.into_iter().map(MeiliDoc::from).collect();
        for chunk in docs.chunks(UPLOAD) {
            let task = self
                .client
                .index(&self.uid)
                .add_or_replace(chunk, Some("id"))
                .await
                .map_err(err)?;
            self.wait(task).await?;
        }
        Ok(())
    }

    async fn clear_documents(&self) -> Result<(), SearchError> {
        let task = self
            .client
            .index(&self.uid)
            .delete_all_documents()
            .await
            .map_err(err)?;
        self.wait(task).await
    }

    /// One search request as Meilisearch takes it.
    fn request<'a>(
        &'a self,
        index: &'a meilisearch_sdk::indexes::Index,
        q: &'a str,
        filter: Option<&'a str>,
    ) -> meilisearch_sdk::search::SearchQuery<'a, meilisearch_sdk::DefaultHttpClient> {
        let mut search = index.search();
        search
            .with_query(q)
            .with_matching_strategy(MatchingStrategies::ALL)
            .with_attributes_to_retrieve(Selectors::Some(&RETRIEVED));
        if let Some(f) = filter {
            search.with_filter(f);
        }
        search
    }

    /// A count of matches (and the facets when asked), exact.
    fn counting<'a>(
        &'a self,
        index: &'a meilisearch_sdk::indexes::Index,
        q: &'a str,
        filter: Option<&'a str>,
        facets: bool,
    ) -> meilisearch_sdk::search::SearchQuery<'a, meilisearch_sdk::DefaultHttpClient> {
        let mut search = self.request(index, q, filter);
        search.with_page(1).with_hits_per_page(0);
        if facets {
            search.with_facets(Selectors::Some(&FACETS));
        }
        search
    }

    async fn run_search(&self, q: SearchQuery) -> Result<SearchResult, SearchError> {
        self.configure().await?;
        let index = self.client.index(&self.uid);
        let filter = filter_of(&q);
        let t = day(q.today);
        let live_filter = and(&filter, &in_force_filter(q.today));
        let rest_filter = and(&filter, &format!("NOT {}", in_force_filter(q.today)));
        let expired_filter = and(&filter, &format!("status = \"published\" AND eff_to_key < {t}"));
        let has_text = !q.q.trim().is_empty();
        let sort_by: Vec<&str> = match q.sort {
            Sort::Relevance if has_text => vec![],
            Sort::Deadline => vec!["deadline_key:asc"],
            _ => vec!["published_key:desc"],
        };
        let offset = q.page.saturating_sub(1) * q.per_page;
        // The page: by relevance, the matches in force first (as in the embedded engine);
        // by a sort, in its order. One request carries the page and every count.
        let page_filter = if sort_by.is_empty() {
            Some(live_filter.as_str())
        } else {
            filter.as_deref()
        };
        let mut page = self.request(&index, &q.q, page_filter);
        page.with_page(q.page.max(1))
            .with_hits_per_page(q.per_page)
            .with_attributes_to_highlight(Selectors::Some(&["title"]))
            .with_highlight_pre_tag(PRE)
            .with_highlight_post_tag(POST);
        // A page asked in pages carries its exact total: by relevance that is the count in
        // force; by a sort, the count of all matches, and the page brings the facets too. So
        // three searches give the page, the total, the counts in force and expired, and the
        // facets.
        let by_relevance = sort_by.is_empty();
        if !by_relevance {
            page.with_sort(&sort_by).with_facets(Selectors::Some(&FACETS));
        }
        let mut multi = self.client.multi_search();
        multi.with_search_query(page);
        if by_relevance {
            multi.with_search_query(self.counting(&index, &q.q, filter.as_deref(), true));
        } else {
            multi.with_search_query(self.counting(&index, &q.q, Some(&live_filter), false));
        }
        multi.with_search_query(self.counting(&index, &q.q, Some(&expired_filter), false));
        let mut results = multi
            .execute::<MeiliDoc>()
            .await
            .map_err(err)?
            .results
            .into_iter();
        let mut next = || {
            results
                .next()
                .ok_or_else(|| err("multi-search answered too few queries"))
        };
        let mut page_res = next()?;
        let second = next()?;
        let expired = exact_total(&next()?);
        let (total, live_n, facet_distribution) = if by_relevance {
            (
                exact_total(&second),
                exact_total(&page_res),
                second.facet_distribution,
            )
        } else {
            (
                exact_total(&page_res),
                exact_total(&second),
                page_res.facet_distribution.take(),
            )
        };
        let mut hits = page_res.hits;
        if sort_by.is_empty() && hits.len() < q.per_page && (offset + hits.len()) < total as usize {
            // The page runs on past the policies in force.
            let mut rest = self.request(&index, &q.q, Some(&rest_filter));
            rest.with_offset(offset.saturating_sub(live_n as usize))
                .with_limit(q.per_page - hits.len())
                .with_attributes_to_highlight(Selectors::Some(&["title"]))
                .with_highlight_pre_tag(PRE)
                .with_highlight_post_tag(POST);
            hits.extend(rest.execute::<MeiliDoc>().await.map_err(err)?.hits);
        }
        let terms = query_terms(&q.q);
        let items = hits
            .iter()
            .map(|h| {
                let d = &h.result.doc;
                let body = if has_text {
                    snippet(&d.text, &terms, 110).unwrap_or_else(|| escape(&d.summary))
                } else {
                    escape(&d.summary)
                };
                Hit::from_doc(
                    d,
                    q.today,
                    body,
                    highlighted(h.formatted_result.as_ref(), "title", &d.title),
                )
            })
            .collect();
        let mut raw: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
        let dist = facet_distribution.unwrap_or_default();
        for (name, attr) in [
            ("industry", "industry_sections"),
            ("scale", "scales"),
            ("region", "regions"),
            ("issuer", "issuers"),
        ] {
            let entry = raw.entry(name).or_default();
            for (value, n) in dist.get(attr).cloned().unwrap_or_default() {
                entry.insert(value, n as u64);
            }
        }
        let stored = dist.get("status").cloned().unwrap_or_default();
        let published = stored.get("published").copied().unwrap_or(0) as u64;
        let status = raw.entry("status").or_default();
        status.insert("published".into(), published.saturating_sub(expired));
        status.insert("expired".into(), expired);
        status.insert(
            "revoked".into(),
            stored.get("revoked").copied().unwrap_or(0) as u64,
        );
        let force = raw.entry("in_force").or_default();
        force.insert("true".into(), live_n);
        force.insert("false".into(), total.saturating_sub(live_n));
        Ok(SearchResult {
            items,
            total,
            facets: label_facets(raw),
            relaxed: None,
        })
    }
}

impl PolicyIndex for MeiliIndex {
    fn name(&self) -> &'static str {
        "meilisearch"
    }

    fn upsert(&self, docs: Vec<IndexDoc>) -> BoxFuture<'_, Result<(), SearchError>> {
        self.write(docs, Vec::new()).boxed()
    }

    fn delete(&self, ids: Vec<i64>) -> BoxFuture<'_, Result<(), SearchError>> {
        self.write(Vec::new(), ids).boxed()
    }

    fn search(&self, q: SearchQuery) -> BoxFuture<'_, Result<SearchResult, SearchError>> {
        self.run_search(q).boxed()
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SearchError>> {
        async move {
            self.configure().await?;
            self.clear_documents().await?;
            self.store_position(0).await?;
            *self.follow.lock().await = Some(Position::default());
            Ok(())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_combine_industry_scale_region_and_in_force() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
        let mut q = SearchQuery::new("", today);
        q.industry = Some("62".into());
        q.scale = Some(crate::identity::Scale::Micro);
        q.region = Some("350112".into());
        q.in_force = Some(true);
        let f = filter_of(&q).expect("a filter");
        assert!(f.contains("industry_codes IN [\"62\", \"H\", \"ALL\"]"), "{f}");
        assert!(f.contains("scales IN [\"micro\", \"ALL\"]"), "{f}");
        assert!(
            f.contains("\"350112\", \"350100\", \"350000\", \"100000\""),
            "{f}"
        );
        assert!(f.contains("status = \"published\""), "{f}");
        assert_eq!(filter_of(&SearchQuery::new("", today)), None);
    }

    #[test]
    fn highlights_are_escaped_around_the_marks() {
        let mut m = serde_json::Map::new();
        m.insert(
            "title".into(),
            serde_json::json!(format!("<b>{PRE}稳岗{POST}</b>")),
        );
        assert_eq!(
            highlighted(Some(&m), "title", "x"),
            "&lt;b&gt;<mark>稳岗</mark>&lt;/b&gt;"
        );
        assert_eq!(highlighted(None, "title", "a<b"), "a&lt;b");
    }
}
