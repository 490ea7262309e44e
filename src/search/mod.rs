//! Policy search: one small trait over two engines — the embedded on-disk tantivy index
//! (default) and Meilisearch (when `MEILI_URL` is set) — plus what both share: the
//! document built from a policy, query expansion by synonyms and everyday industry words,
//! and the query and result types.

pub mod changes;
pub mod facets;
pub mod follower;
pub mod meili;
pub mod split;
pub mod tantivy_index;
pub mod words;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::identity::{self, Scale};
use crate::policy::{in_force, shown_status, PolicyContent, ShownStatus, Status};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(String),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        Self::Index(e.to_string())
    }
}

/// Marks "applies to every industry / scale" in filterable lists.
pub const ALL: &str = "ALL";

/// What an engine stores about one policy (drafts are never indexed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDoc {
    pub id: i64,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub issuers: Vec<String>,
    pub published_on: NaiveDate,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub apply_deadline: Option<NaiveDate>,
    pub status: Status,
    pub summary: String,
    /// Everything else searchable, one text.
    pub text: String,
    /// Listed codes, or [`ALL`].
    pub industry_codes: Vec<String>,
    /// Sections of the listed codes, or [`ALL`].
    pub industry_sections: Vec<String>,
    /// Listed scales, or [`ALL`].
    pub scales: Vec<String>,
    /// Industries the policy excludes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_industries: Vec<String>,
    pub regions: Vec<String>,
}

impl IndexDoc {
    pub fn build(id: i64, status: Status, p: &PolicyContent) -> Self {
        let industries = identity::industries();
        let names: Vec<&str> = p
            .industries
            .iter()
            .filter_map(|c| industries.get(c))
            .map(|i| i.name.as_str())
            .collect();
        let mut sections: Vec<String> = Vec::new();
        for c in &p.industries {
            if let Some(i) = industries.get(c) {
                if !sections.contains(&i.section) {
                    sections.push(i.section.clone());
                }
            }
        }
        let all_or = |v: Vec<String>| if v.is_empty() { vec![ALL.to_owned()] } else { v };
        let guide = &p.guide;
        let text = [
            p.summary.as_str(),
            &p.keywords.join(" "),
            &p.benefits,
            &p.body,
            &p.interpretation,
            &p.doc_number,
            &p.issuer,
            &names.join(" "),
            &guide.who,
            &guide.materials.join(" "),
            &guide.how,
            &p.conditions
                .iter()
                .map(|c| c.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ]
        .join("\n");
        Self {
            id,
            title: p.title.clone(),
            doc_number: p.doc_number.clone(),
            issuer: p.issuer.clone(),
            issuers: p.issuers(),
            published_on: p.published_on,
            effective_from: p.effective_from,
            effective_to: p.effective_to,
            apply_deadline: p.apply_deadline,
            status,
            summary: p.summary.clone(),
            text,
            industry_codes: all_or(p.industries.clone()),
            industry_sections: all_or(sections),
            scales: all_or(p.scales.iter().map(|s| s.as_str().to_owned()).collect()),
            excluded_industries: p.excluded_industries.clone(),
            regions: p.regions.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    Relevance,
    Newest,
    Deadline,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relevance" => Some(Self::Relevance),
            "newest" => Some(Self::Newest),
            "deadline" => Some(Self::Deadline),
            _ => None,
        }
    }
}

/// A checked search request.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub q: String,
    /// A section letter or a two-digit division.
    pub industry: Option<String>,
    pub scale: Option<Scale>,
    pub region: Option<String>,
    pub issuer: Option<String>,
    pub in_force: Option<bool>,
    pub sort: Sort,
    pub page: usize,
    pub per_page: usize,
    pub today: NaiveDate,
}

impl SearchQuery {
    pub fn new(q: &str, today: NaiveDate) -> Self {
        Self {
            q: q.to_owned(),
            industry: None,
            scale: None,
            region: None,
            issuer: None,
            in_force: None,
            sort: Sort::Relevance,
            page: 1,
            per_page: 20,
            today,
        }
    }

    /// Industry codes a filter value matches in `industry_codes` (besides "all industries"):
    /// the code itself and, for a division, its section.
    pub fn industry_codes(&self) -> Vec<String> {
        match &self.industry {
            None => Vec::new(),
            Some(code) => crate::policy::matching::industry_chain(code),
        }
    }

    /// Regions whose policies apply in the filtered region: it and its parents.
    pub fn region_chain(&self) -> Vec<String> {
        self.region
            .as_deref()
            .map(crate::policy::regions::ancestry)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Hit {
    pub id: i64,
    pub title: String,
    pub doc_number: String,
    pub issuer: String,
    pub published_on: NaiveDate,
    pub effective_from: NaiveDate,
    pub effective_to: Option<NaiveDate>,
    pub apply_deadline: Option<NaiveDate>,
    pub status: ShownStatus,
    pub in_force: bool,
    pub summary: String,
    /// HTML-escaped fragment of the matching text with `<mark>` around the matches.
    pub highlight: String,
    /// The title, HTML-escaped, with `<mark>` around the matches.
    pub title_highlight: String,
}

impl Hit {
    pub fn from_doc(d: &IndexDoc, today: NaiveDate, highlight: String, title_highlight: String) -> Self {
        Self {
            id: d.id,
            title: d.title.clone(),
            doc_number: d.doc_number.clone(),
            issuer: d.issuer.clone(),
            published_on: d.published_on,
            effective_from: d.effective_from,
            effective_to: d.effective_to,
            apply_deadline: d.apply_deadline,
            status: shown_status(d.status, d.effective_to, today),
            in_force: in_force(d.status, d.effective_from, d.effective_to, today),
            summary: d.summary.clone(),
            highlight,
            title_highlight,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FacetCount {
    pub value: String,
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub items: Vec<Hit>,
    pub total: u64,
    pub facets: BTreeMap<&'static str, Vec<FacetCount>>,
    /// Set when no policy matched every word and these results match fewer words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relaxed: Option<Relaxed>,
}

/// The words a relaxed search kept and the ones it left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Relaxed {
    pub kept: Vec<String>,
    pub dropped: Vec<String>,
}

/// Turns raw facet counts into labelled, sorted lists (largest first).
pub fn label_facets(
    raw: BTreeMap<&'static str, BTreeMap<String, u64>>,
) -> BTreeMap<&'static str, Vec<FacetCount>> {
    raw.into_iter()
        .map(|(name, counts)| {
            let mut list: Vec<FacetCount> = counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(value, count)| FacetCount {
                    label: facet_label(name, &value),
                    value,
                    count,
                })
                .collect();
            list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            (name, list)
        })
        .collect()
}

fn facet_label(name: &str, value: &str) -> String {
    match (name, value) {
        ("industry", ALL) => "不限行业".into(),
        ("scale", ALL) => "不限规模".into(),
        ("industry", v) => identity::industries()
            .get(v)
            .map(|i| i.name.clone())
            .unwrap_or_else(|| v.to_owned()),
        ("scale", v) => Scale::parse(v)
            .map(|s| format!("{}企业", s.label()))
            .unwrap_or_else(|_| v.into()),
        ("region", v) => crate::policy::regions::name(v).unwrap_or(v).to_owned(),
        ("status", v) => ShownStatus::parse(v)
            .map(|s| s.label().to_owned())
            .unwrap_or_else(|| v.into()),
        ("in_force", "true") => "现行有效".into(),
        ("in_force", _) => "非现行有效".into(),
        (_, v) => v.to_owned(),
    }
}

/// What every search engine does. Writes are applied before they return, so a request
/// that changed a policy finds it in its response's next search.
pub trait PolicyIndex: Send + Sync {
    fn name(&self) -> &'static str;
    fn upsert(&self, docs: Vec<IndexDoc>) -> BoxFuture<'_, Result<(), SearchError>>;
    fn delete(&self, ids: Vec<i64>) -> BoxFuture<'_, Result<(), SearchError>>;
    fn search(&self, q: SearchQuery) -> BoxFuture<'_, Result<SearchResult, SearchError>>;
    /// Empties the index (before a rebuild).
    fn clear(&self) -> BoxFuture<'_, Result<(), SearchError>>;
}

pub type SharedIndex = Arc<dyn PolicyIndex>;

/// Splits a search box into words: whitespace separates, and both ASCII and full-width
/// punctuation are dropped.
pub fn query_words(q: &str) -> Vec<String> {
    q.split(|c: char| {
        c.is_whitespace()
            || (c.is_ascii_punctuation() && c != '-')
            || "，。、；：！？（）【】《》“”".contains(c)
    })
    .filter(|w| !w.is_empty())
    .map(str::to_owned)
    .collect()
}

/// The search document of a stored policy, or `None` for a draft (drafts are not
/// searchable).
pub fn doc_of(r: &crate::store::policies::PolicyRecord) -> Option<IndexDoc> {
    (r.status != Status::Draft).then(|| IndexDoc::build(r.id, r.status, &r.content))
}

/// The current search documents of some policies: `(id, None)` for drafts and unknown ids.
pub fn index_docs(
    conn: &mut crate::db::DbConn,
    ids: &[i64],
) -> Result<Vec<(i64, Option<IndexDoc>)>, crate::db::DbError> {
    let rows = crate::store::policies::records(conn, ids)?;
    Ok(ids
        .iter()
        .map(|id| (*id, rows.iter().find(|r| r.id == *id).and_then(doc_of)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_split_on_spaces_and_punctuation() {
        assert_eq!(query_words(" 稳岗，补贴  AI "), vec!["稳岗", "补贴", "AI"]);
        assert!(query_words("  ").is_empty());
    }
}
