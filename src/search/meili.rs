//! Meilisearch as the search engine, for deployments that already run one (`MEILI_URL`,
//! `MEILI_KEY`). It gets the same searchable, filterable and sortable attributes and the
//! same synonym table as the embedded engine; several servers share it, so no server
//! follows the change log for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use meilisearch_sdk::client::Client;
use meilisearch_sdk::search::{MatchingStrategies, Selectors};
use meilisearch_sdk::settings::Settings;
use serde::{Deserialize, Serialize};

use super::tantivy_index::escape;
use super::words::{engine_synonyms, tokens};
use super::{label_facets, Hit, IndexDoc, PolicyIndex, SearchError, SearchQuery, SearchResult, Sort, ALL};
use chrono::{Datelike, NaiveDate};

/// Stand-in for "no date" in numeric date keys (Meilisearch numbers are doubles).
const NO_DATE: i64 = 99_999_999;
const PRE: &str = "\u{1}";
const POST: &str = "\u{2}";
const FACETS: [&str; 5] = ["industry_sections", "scales", "regions", "issuers", "status"];

#[derive(Debug, Serialize, Deserialize)]
struct MeiliDoc {
    #[serde(flatten)]
    doc: IndexDoc,
    /// The jieba search-mode words of title and text, space-separated, so that Meilisearch's
    /// own segmentation also finds words inside compounds (工程 in 在建工程).
    #[serde(default)]
    terms: String,
    published_key: i64,
    eff_from_key: i64,
    eff_to_key: i64,
    deadline_key: i64,
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

pub struct MeiliIndex {
    client: Client,
    uid: String,
    configured: AtomicBool,
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

impl MeiliIndex {
    pub fn new(url: &str, key: Option<&str>, uid: &str) -> Result<Self, SearchError> {
        Ok(Self {
            client: Client::new(url, key).map_err(err)?,
            uid: uid.to_owned(),
            configured: AtomicBool::new(false),
        })
    }

    async fn wait(&self, task: meilisearch_sdk::task_info::TaskInfo) -> Result<(), SearchError> {
        let task = task
            .wait_for_completion(
                &self.client,
                Some(Duration::from_millis(50)),
                Some(Duration::from_secs(60)),
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
                "scales",
                "regions",
                "issuers",
                "status",
                "eff_from_key",
                "eff_to_key",
                "deadline_key",
            ])
            .with_sortable_attributes(["published_key", "deadline_key"])
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

    async fn count(&self, q: &str, filter: &str) -> Result<u64, SearchError> {
        let index = self.client.index(&self.uid);
        let res = index
            .search()
            .with_query(q)
            .with_filter(filter)
            .with_limit(0)
            .execute::<serde_json::Value>()
            .await
            .map_err(err)?;
        Ok(res.estimated_total_hits.or(res.total_hits).unwrap_or(0) as u64)
    }

    async fn run_search(&self, q: SearchQuery) -> Result<SearchResult, SearchError> {
        self.configure().await?;
        let index = self.client.index(&self.uid);
        let filter = filter_of(&q);
        let sort_by: Vec<&str> = match q.sort {
            Sort::Relevance if !q.q.trim().is_empty() => vec![],
            Sort::Deadline => vec!["deadline_key:asc"],
            _ => vec!["published_key:desc"],
        };
        let mut search = index.search();
        search
            .with_query(&q.q)
            .with_offset(q.page.saturating_sub(1) * q.per_page)
            .with_limit(q.per_page)
            .with_facets(Selectors::Some(&FACETS))
            .with_attributes_to_highlight(Selectors::Some(&["title", "text"]))
            .with_attributes_to_crop(Selectors::Some(&[("text", Some(60))]))
            .with_highlight_pre_tag(PRE)
            .with_highlight_post_tag(POST)
            .with_matching_strategy(MatchingStrategies::LAST);
        if let Some(f) = &filter {
            search.with_filter(f);
        }
        if !sort_by.is_empty() {
            search.with_sort(&sort_by);
        }
        let res = search.execute::<MeiliDoc>().await.map_err(err)?;
        let total = res.estimated_total_hits.or(res.total_hits).unwrap_or(0) as u64;
        let items = res
            .hits
            .iter()
            .map(|h| {
                let d = &h.result.doc;
                let formatted = h.formatted_result.as_ref();
                Hit::from_doc(
                    d,
                    q.today,
                    highlighted(formatted, "text", &d.summary),
                    highlighted(formatted, "title", &d.title),
                )
            })
            .collect();
        let mut raw: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
        let dist = res.facet_distribution.unwrap_or_default();
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
        let with = |extra: String| match &filter {
            Some(f) => format!("({f}) AND {extra}"),
            None => extra,
        };
        let t = day(q.today);
        let expired = self
            .count(
                &q.q,
                &with(format!("status = \"published\" AND eff_to_key < {t}")),
            )
            .await?;
        let in_force_n = self.count(&q.q, &with(in_force_filter(q.today))).await?;
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
        force.insert("true".into(), in_force_n);
        force.insert("false".into(), total.saturating_sub(in_force_n));
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
        async move {
            if docs.is_empty() {
                return Ok(());
            }
            self.configure().await?;
            let docs: Vec<MeiliDoc> = docs.into_iter().map(MeiliDoc::from).collect();
            let task = self
                .client
                .index(&self.uid)
                .add_or_replace(&docs, Some("id"))
                .await
                .map_err(err)?;
            self.wait(task).await
        }
        .boxed()
    }

    fn delete(&self, ids: Vec<i64>) -> BoxFuture<'_, Result<(), SearchError>> {
        async move {
            if ids.is_empty() {
                return Ok(());
            }
            let task = self
                .client
                .index(&self.uid)
                .delete_documents(&ids)
                .await
                .map_err(err)?;
            self.wait(task).await
        }
        .boxed()
    }

    fn search(&self, q: SearchQuery) -> BoxFuture<'_, Result<SearchResult, SearchError>> {
        self.run_search(q).boxed()
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SearchError>> {
        async move {
            self.configure().await?;
            let task = self
                .client
                .index(&self.uid)
                .delete_all_documents()
                .await
                .map_err(err)?;
            self.wait(task).await
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
