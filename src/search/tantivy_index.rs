//! The embedded engine: a tantivy index on disk under the data directory. Each commit
//! carries, as its payload, the id of the last change-log entry it reflects, so a server
//! that restarts (or shares the database with others) knows where to resume.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{Datelike, NaiveDate};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
    Value, STORED,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use super::changes::{Position, BATCH};
use super::facets::{FacetCounter, NameCache};
use super::split::{SplitCollector, PUBLISHED};
use super::words::{analyzer, expand, query_tokens, term_tokens, FinestTokenizer};
use super::{label_facets, Hit, IndexDoc, PolicyIndex, SearchError, SearchQuery, SearchResult, Sort, ALL};
use crate::db::DbConn;
use crate::policy::Status;
use crate::store::policies as store;

const TOKENIZER: &str = "jieba";
const WRITER_HEAP: usize = 50_000_000;

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    text: Field,
    doc: Field,
    facets: Field,
    published: Field,
    eff_from: Field,
    eff_to: Field,
    deadline: Field,
    published_flag: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let num = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: b.add_i64_field(
            "id",
            NumericOptions::default().set_indexed().set_stored().set_fast(),
        ),
        title: b.add_text_field("title", text_opts.clone()),
        text: b.add_text_field("text", text_opts),
        doc: b.add_text_field("doc", STORED),
        facets: b.add_facet_field("facets", FacetOptions::default()),
        published: b.add_i64_field("published", num.clone()),
        eff_from: b.add_i64_field("eff_from", num.clone()),
        eff_to: b.add_i64_field("eff_to", num.clone()),
        deadline: b.add_i64_field("deadline", num),
        published_flag: b.add_i64_field(PUBLISHED, NumericOptions::default().set_fast()),
    };
    (b.build(), fields)
}

fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce())
}

fn facet(kind: &str, value: &str) -> Facet {
    Facet::from_path([kind, value])
}

struct Inner {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
    follow: Mutex<Position>,
    results: Mutex<Results>,
    /// Facet names per segment, for the facet counts.
    facet_names: NameCache,
}

/// Answers to searches asked again before the index changed: people search the same
/// words (稳岗返还, 研发费用) over and over, and an answer holds until the next commit.
#[derive(Default)]
struct Results {
    /// The searcher generation the answers were found in.
    generation: u64,
    answers: std::collections::HashMap<String, SearchResult>,
}

/// Answers kept per generation; past it the oldest are not tracked, the map is simply
/// emptied (a bound, not a policy: real query mixes repeat far fewer).
const RESULTS_KEPT: usize = 4096;

/// The embedded index; cheap to clone.
#[derive(Clone)]
pub struct TantivyIndex {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where the index of a data directory lives.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("policy-index")
}

/// The on-disk format, written before the position in each commit's payload. An index of
/// another format is rebuilt: format 2 stores its columns' dictionaries uncompressed
/// (tantivy without `columnar-zstd-compression`, whose per-block decompressor set-up cost a
/// third of each search), and cannot read format 1's compressed ones.
const FORMAT: &str = "2";

/// The change-log position a committed index of this format records; `None` for a new
/// index or one of another format.
fn position(index: &Index) -> Result<Option<i64>, SearchError> {
    Ok(index.load_metas()?.payload.and_then(|p| {
        p.trim()
            .split_once(':')
            .filter(|(format, _)| *format == FORMAT)
            .and_then(|(_, last)| last.parse().ok())
    }))
}

impl TantivyIndex {
    fn from_index(index: Index, f: Fields) -> Result<Self, SearchError> {
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let writer = index.writer_with_num_threads(1, WRITER_HEAP)?;
        let last = position(&index)?.unwrap_or(0);
        Ok(Self {
            inner: Arc::new(Inner {
                reader,
                writer: Mutex::new(writer),
                f,
                follow: Mutex::new(Position::at(last)),
                results: Mutex::new(Results::default()),
                facet_names: NameCache::default(),
            }),
        })
    }

    /// An index in memory (tests and benchmarks).
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, f) = schema();
        Self::from_index(Index::create_in_ram(schema), f)
    }

    /// Opens the index in `dir`; `Ok((index, false))` when it had to be created afresh
    /// because it was missing, unreadable or of another schema (the caller rebuilds it).
    pub fn open_or_create(dir: &Path) -> Result<(Self, bool), SearchError> {
        let (schema, f) = schema();
        let existing = Index::open_in_dir(dir)
            .ok()
            .filter(|i| i.schema() == schema && matches!(position(i), Ok(Some(_))))
            .and_then(|i| Self::from_index(i, f).ok());
        if let Some(index) = existing {
            return Ok((index, true));
        }
        if dir.exists() {
            tracing::warn!(dir = %dir.display(), "policy index unreadable or outdated; recreating it");
            std::fs::remove_dir_all(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        let index = Index::create_in_dir(dir, schema)?;
        Ok((Self::from_index(index, f)?, false))
    }

    /// The newest change-log id this index reflects.
    pub fn last_applied(&self) -> i64 {
        lock(&self.inner.follow).last
    }

    fn document(&self, d: &IndexDoc) -> TantivyDocument {
        let f = self.inner.f;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, d.id);
        doc.add_text(f.title, &d.title);
        doc.add_text(f.text, &d.text);
        let stored = IndexDoc {
            text: String::new(),
            ..d.clone()
        };
        doc.add_text(f.doc, serde_json::to_string(&stored).unwrap_or_default());
        for c in &d.industry_codes {
            doc.add_facet(f.facets, facet("industry_code", c));
        }
        for c in &d.industry_sections {
            doc.add_facet(f.facets, facet("industry", c));
        }
        for s in &d.scales {
            doc.add_facet(f.facets, facet("scale", s));
        }
        for r in &d.regions {
            doc.add_facet(f.facets, facet("region", r));
        }
        for i in &d.issuers {
            doc.add_facet(f.facets, facet("issuer", i));
        }
        for c in &d.excluded_industries {
            doc.add_facet(f.facets, facet("excluded_industry", c));
        }
        doc.add_facet(f.facets, facet("status", d.status.as_str()));
        doc.add_i64(f.published, day(d.published_on));
        doc.add_i64(f.eff_from, day(d.effective_from));
        doc.add_i64(f.eff_to, d.effective_to.map(day).unwrap_or(i64::MAX));
        doc.add_i64(f.deadline, d.apply_deadline.map(day).unwrap_or(i64::MAX));
        doc.add_i64(f.published_flag, i64::from(d.status == Status::Published));
        doc
    }

    fn commit(&self, writer: &mut IndexWriter, last: i64) -> Result<(), SearchError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&format!("{FORMAT}:{last}"));
        prepared.commit()?;
        self.inner.reader.reload()?;
        Ok(())
    }

    fn write(&self, upserts: &[IndexDoc], deletes: &[i64], last: Option<i64>) -> Result<(), SearchError> {
        let mut writer = lock(&self.inner.writer);
        let f = self.inner.f;
        for id in deletes {
            writer.delete_term(Term::from_field_i64(f.id, *id));
        }
        for d in upserts {
            writer.delete_term(Term::from_field_i64(f.id, d.id));
            writer.add_document(self.document(d))?;
        }
        let last = last.unwrap_or_else(|| self.last_applied());
        self.commit(&mut writer, last)
    }

    /// Applies every change-log entry not yet applied; returns how many policies it touched.
    pub fn catch_up(&self, conn: &mut DbConn) -> Result<usize, SearchError> {
        let mut follow = lock(&self.inner.follow);
        let mut touched = 0;
        while let Some(p) = follow.pending(conn)? {
            let next = follow.after(&p);
            self.write(&p.upserts, &p.deletes, Some(next.last))?;
            touched += p.policies;
            *follow = next;
            if !p.more {
                break;
            }
        }
        Ok(touched)
    }

    /// Rebuilds the whole index from the database, reporting progress as (done, total).
    pub fn rebuild(&self, conn: &mut DbConn, progress: &dyn Fn(u64, u64)) -> Result<u64, SearchError> {
        let mut follow = lock(&self.inner.follow);
        let last = store::last_change(conn)?;
        let total = store::count(conn)? as u64;
        let mut writer = lock(&self.inner.writer);
        writer.delete_all_documents()?;
        let (mut after, mut done, mut indexed) = (0i64, 0u64, 0u64);
        loop {
            let batch = store::batch_after(conn, after, BATCH)?;
            let Some(tail) = batch.last() else {
                break;
            };
            after = tail.id;
            for r in &batch {
                if let Some(d) = super::doc_of(r) {
                    writer.add_document(self.document(&d))?;
                    indexed += 1;
                }
            }
            done += batch.len() as u64;
            progress(done, total);
        }
        self.commit(&mut writer, last)?;
        *follow = Position::rebuilt(conn, last)?;
        Ok(indexed)
    }

    fn text_query(&self, q: &str) -> Option<Box<dyn Query>> {
        let f = self.inner.f;
        let mut groups: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in super::words::search_words(q) {
            let e = expand(&word.to_lowercase());
            let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            // A term (the word or one of its synonyms) matches when all its words do;
            // any one of the terms or the industries it names is enough.
            for term in &e.terms {
                let mut all: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for tok in term_tokens(term) {
                    let either: Vec<(Occur, Box<dyn Query>)> = vec![
                        (
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                Box::new(TermQuery::new(
                                    Term::from_field_text(f.title, &tok),
                                    IndexRecordOption::WithFreqs,
                                )),
                                3.0,
                            )),
                        ),
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(
                                Term::from_field_text(f.text, &tok),
                                IndexRecordOption::WithFreqs,
                            )),
                        ),
                    ];
                    all.push((Occur::Must, Box::new(BooleanQuery::new(either))));
                }
                if !all.is_empty() {
                    should.push((Occur::Should, Box::new(BooleanQuery::new(all))));
                }
            }
            for code in &e.industry_codes {
                // The industry the word names weighs most; its whole section (住宿和餐饮业
                // for 饭店) only a little, so that 民宿 policies do not lead a search for 饭店.
                let boost = if code.len() == 1 { 0.3 } else { 2.0 };
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_facet(f.facets, &facet("industry_code", code)),
                            IndexRecordOption::Basic,
                        )),
                        boost,
                    )),
                ));
            }
            if !should.is_empty() {
                groups.push((Occur::Must, Box::new(BooleanQuery::new(should))));
            }
        }
        (!groups.is_empty()).then(|| Box::new(BooleanQuery::new(groups)) as Box<dyn Query>)
    }

    fn facet_any(&self, kind: &str, values: &[String]) -> Box<dyn Query> {
        let f = self.inner.f;
        Box::new(BooleanQuery::new(
            values
                .iter()
                .map(|v| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(
                            Term::from_facet(f.facets, &facet(kind, v)),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect(),
        ))
    }

    fn range(&self, field: Field, lower: Bound<i64>, upper: Bound<i64>) -> Box<dyn Query> {
        let term = |v| Term::from_field_i64(field, v);
        Box::new(RangeQuery::new(lower.map(term), upper.map(term)))
    }

    fn in_force_query(&self, today: NaiveDate) -> Box<dyn Query> {
        let f = self.inner.f;
        let t = day(today);
        Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                self.facet_any("status", &[Status::Published.as_str().to_owned()]),
            ),
            (
                Occur::Must,
                self.range(f.eff_from, Bound::Unbounded, Bound::Included(t)),
            ),
            (
                Occur::Must,
                self.range(f.eff_to, Bound::Included(t), Bound::Unbounded),
            ),
        ]))
    }

    fn filters(&self, q: &SearchQuery) -> Vec<(Occur, Box<dyn Query>)> {
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(industry) = &q.industry {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
                (
                    Occur::Should,
                    self.facet_any("industry_code", &q.industry_codes()),
                ),
                (Occur::Should, self.facet_any("industry_code", &[ALL.to_owned()])),
            ];
            if industry.len() == 1 {
                clauses.push((
                    Occur::Should,
                    self.facet_any("industry", std::slice::from_ref(industry)),
                ));
            }
            out.push((Occur::Must, Box::new(BooleanQuery::new(clauses))));
            // A policy that excludes the industry (or its section) is not for it.
            out.push((
                Occur::MustNot,
                self.facet_any(
                    "excluded_industry",
                    &crate::policy::matching::industry_chain(industry),
                ),
            ));
        }
        if let Some(scale) = q.scale {
            out.push((
                Occur::Must,
                self.facet_any("scale", &[scale.as_str().to_owned(), ALL.to_owned()]),
            ));
        }
        if q.region.is_some() {
            out.push((Occur::Must, self.facet_any("region", &q.region_chain())));
        }
        if let Some(issuer) = &q.issuer {
            out.push((
                Occur::Must,
                self.facet_any("issuer", std::slice::from_ref(issuer)),
            ));
        }
        match q.in_force {
            Some(true) => out.push((Occur::Must, self.in_force_query(q.today))),
            Some(false) => {
                out.push((Occur::Must, Box::new(AllQuery)));
                out.push((Occur::MustNot, self.in_force_query(q.today)));
            }
            None => {}
        }
        // Sorting by the application deadline lists what can still be applied for, the
        // soonest deadline first; a policy without a deadline comes last.
        if q.sort == Sort::Deadline {
            out.push((
                Occur::Must,
                self.range(
                    self.inner.f.deadline,
                    Bound::Included(day(q.today)),
                    Bound::Unbounded,
                ),
            ));
        }
        out
    }

    /// The query of a search's words and filters.
    fn matching(&self, q: &SearchQuery) -> Box<dyn Query> {
        let mut clauses = self.filters(q);
        match self.text_query(&q.q) {
            Some(t) => clauses.push((Occur::Must, t)),
            None => clauses.push((Occur::Must, Box::new(AllQuery))),
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// A search answered from the answers kept for the current index generation when it
    /// was asked before.
    fn search_kept(&self, q: &SearchQuery) -> Result<SearchResult, SearchError> {
        let generation = self.inner.reader.searcher().generation().generation_id();
        let key = format!("{q:?}");
        {
            let mut kept = lock(&self.inner.results);
            if kept.generation != generation {
                kept.generation = generation;
                kept.answers.clear();
            }
            if let Some(found) = kept.answers.get(&key) {
                return Ok(found.clone());
            }
        }
        let (found, searched) = self.search_sync(q)?;
        let mut kept = lock(&self.inner.results);
        // An answer found in an older generation than the kept ones is not kept.
        if kept.generation == searched {
            if kept.answers.len() >= RESULTS_KEPT {
                kept.answers.clear();
            }
            kept.answers.insert(key, found.clone());
        }
        Ok(found)
    }

    /// A search, with the generation of the index it searched.
    fn search_sync(&self, q: &SearchQuery) -> Result<(SearchResult, u64), SearchError> {
        let f = self.inner.f;
        let searcher = self.inner.reader.searcher();
        let searched = searcher.generation().generation_id();
        let text = self.text_query(&q.q);
        let query = self.matching(q);
        let offset = (q.page.saturating_sub(1)) * q.per_page;
        let facets = FacetCounter {
            cache: &self.inner.facet_names,
        };
        let sort = if text.is_none() && q.sort == Sort::Relevance {
            Sort::Newest
        } else {
            q.sort
        };
        // One pass counts the matches in force (for the 是否有效 facet) and the expired
        // ones, and by relevance keeps the best in force and the best of the rest apart:
        // an expired or revoked policy never leads a list that has a live one.
        let t = day(q.today);
        let (addresses, split, counts): (Vec<DocAddress>, _, _) = match sort {
            Sort::Relevance => {
                let split = SplitCollector {
                    today: t,
                    keep: offset + q.per_page,
                };
                let (split, counts) = searcher.search(query.as_ref(), &(split, facets))?;
                let page = split
                    .live_top
                    .iter()
                    .chain(split.rest_top.iter())
                    .skip(offset)
                    .take(q.per_page)
                    .copied()
                    .collect();
                (page, split, counts)
            }
            Sort::Newest | Sort::Deadline => {
                let (field, order) = if sort == Sort::Newest {
                    ("published", Order::Desc)
                } else {
                    ("deadline", Order::Asc)
                };
                let top = TopDocs::with_limit(q.per_page)
                    .and_offset(offset)
                    .order_by_fast_field::<i64>(field, order);
                let split = SplitCollector { today: t, keep: 0 };
                let (docs, split, counts) = searcher.search(query.as_ref(), &(top, split, facets))?;
                (docs.into_iter().map(|(_, a)| a).collect(), split, counts)
            }
        };
        let total = split.total;
        let live: Vec<_> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        self.inner.facet_names.retain(&live);

        let mut raw = counts;
        let stored_status = raw.remove("status").unwrap_or_default();
        let expired = split.expired as u64;
        let in_force_n = split.live as u64;
        let published = stored_status.get("published").copied().unwrap_or(0);
        let status = raw.entry("status").or_default();
        status.insert("published".into(), published.saturating_sub(expired));
        status.insert("expired".into(), expired);
        status.insert(
            "revoked".into(),
            stored_status.get("revoked").copied().unwrap_or(0),
        );
        let force = raw.entry("in_force").or_default();
        force.insert("true".into(), in_force_n);
        force.insert("false".into(), (total as u64).saturating_sub(in_force_n));

        let snippets = match &text {
            Some(_) => Some(snippet_generator(&searcher, &query_tokens(&q.q), f.title, 400)?),
            None => None,
        };
        let snippet_terms = super::words::query_terms(&q.q);
        let mut items = Vec::with_capacity(addresses.len());
        for addr in addresses {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let stored = doc
                .get_first(f.doc)
                .and_then(|v| v.as_str())
                .ok_or_else(|| SearchError::Index("a document lacks its stored data".into()))?;
            let d: IndexDoc = serde_json::from_str(stored).map_err(|e| SearchError::Index(e.to_string()))?;
            let (highlight, title_highlight) = match &snippets {
                Some(title_gen) => {
                    let mut title = title_gen.snippet_from_doc(&doc);
                    title.set_snippet_prefix_postfix("<mark>", "</mark>");
                    let title_html = if title.is_empty() || title.fragment().len() < d.title.len() {
                        escape(&d.title)
                    } else {
                        title.to_html()
                    };
                    // The sentence around the match, or the summary when the match is only
                    // in a list or an industry.
                    // The stored document leaves the text out; the text field keeps it.
                    let text = doc.get_first(f.text).and_then(|v| v.as_str()).unwrap_or("");
                    let body_html = super::words::snippet(text, &snippet_terms, 110)
                        .unwrap_or_else(|| escape(&d.summary));
                    (body_html, title_html)
                }
                None => (escape(&d.summary), escape(&d.title)),
            };
            items.push(Hit::from_doc(&d, q.today, highlight, title_highlight));
        }
        Ok((
            SearchResult {
                items,
                total: total as u64,
                facets: label_facets(raw),
                relaxed: None,
            },
            searched,
        ))
    }
}

/// A snippet generator over the finest tokens, weighting rarer terms higher.
fn snippet_generator(
    searcher: &tantivy::Searcher,
    tokens: &[String],
    field: Field,
    max_chars: usize,
) -> Result<SnippetGenerator, SearchError> {
    let mut terms = BTreeMap::new();
    for t in tokens {
        let n = searcher.doc_freq(&Term::from_field_text(field, t))?;
        if n > 0 {
            terms.insert(t.clone(), 1.0 / (1.0 + n as f32));
        }
    }
    Ok(SnippetGenerator::new(
        terms,
        tantivy::tokenizer::TextAnalyzer::from(FinestTokenizer),
        field,
        max_chars,
    ))
}

/// HTML-escapes text shown inside a highlight.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> BoxFuture<'static, Result<T, SearchError>> {
    async move {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| SearchError::Index(e.to_string()))?
    }
    .boxed()
}

impl PolicyIndex for TantivyIndex {
    fn name(&self) -> &'static str {
        "tantivy"
    }

    fn upsert(&self, docs: Vec<IndexDoc>) -> BoxFuture<'_, Result<(), SearchError>> {
        let me = self.clone();
        blocking(move || me.write(&docs, &[], None))
    }

    fn delete(&self, ids: Vec<i64>) -> BoxFuture<'_, Result<(), SearchError>> {
        let me = self.clone();
        blocking(move || me.write(&[], &ids, None))
    }

    fn search(&self, q: SearchQuery) -> BoxFuture<'_, Result<SearchResult, SearchError>> {
        let me = self.clone();
        blocking(move || me.search_kept(&q))
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), SearchError>> {
        let me = self.clone();
        blocking(move || {
            let mut writer = lock(&me.inner.writer);
            writer.delete_all_documents()?;
            me.commit(&mut writer, 0)?;
            *lock(&me.inner.follow) = Position::default();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::collector::Count;

    /// The search documents of `n` generated policies (drafts left out, as the index does).
    fn generated(n: usize) -> Vec<IndexDoc> {
        let seeds = crate::policy::seed::shipped().expect("seed library");
        crate::policy::demo::generate(n, &seeds)
            .iter()
            .enumerate()
            .filter(|(_, (_, status, _))| *status != Status::Draft)
            .map(|(i, (_, status, c))| IndexDoc::build(i as i64 + 1, *status, c))
            .collect()
    }

    #[test]
    fn the_one_pass_counts_equal_separate_counts() {
        let docs = generated(2000);
        let index = TantivyIndex::in_memory().expect("index");
        index.write(&docs, &[], None).expect("write");
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
        let searcher = index.inner.reader.searcher();
        for words in ["饭店", "稳岗返还", "研发费用", "小微企业 所得税", "贴息", ""] {
            let q = SearchQuery::new(words, today);
            let (got, _) = index.search_sync(&q).expect("search");
            let query = index.matching(&q);
            let all = searcher.search(query.as_ref(), &Count).expect("count");
            let live = BooleanQuery::new(vec![
                (Occur::Must, query.box_clone()),
                (Occur::Must, index.in_force_query(today)),
            ]);
            let live = searcher.search(&live, &Count).expect("count");
            assert_eq!(got.total as usize, all, "{words}: total");
            let shown_live = got.facets["in_force"]
                .iter()
                .find(|f| f.value == "true")
                .map_or(0, |f| f.count);
            assert_eq!(shown_live as usize, live, "{words}: in force");
            let first_rest = got.items.iter().position(|h| !h.in_force);
            assert!(
                first_rest.is_none_or(|i| got.items[i..].iter().all(|h| !h.in_force)),
                "{words}: policies in force come first"
            );
        }
    }

    #[test]
    fn facet_counts_from_ordinals_equal_tantivys_facet_collector() {
        let docs = generated(1500);
        let index = TantivyIndex::in_memory().expect("index");
        // Two commits: two segments, each with its own ordinals.
        let (first, second) = docs.split_at(docs.len() / 2);
        index.write(first, &[], None).expect("write");
        index.write(second, &[], None).expect("write");
        let searcher = index.inner.reader.searcher();
        assert!(searcher.segment_readers().len() >= 2, "several segments");
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
        for words in ["饭店", "研发费用", "小微企业 所得税", ""] {
            let query = index.matching(&SearchQuery::new(words, today));
            let mut expected = tantivy::collector::FacetCollector::for_field("facets");
            for kind in super::super::facets::KINDS {
                expected.add_facet(format!("/{kind}").as_str());
            }
            let expected = searcher.search(query.as_ref(), &expected).expect("facets");
            let got = searcher
                .search(
                    query.as_ref(),
                    &FacetCounter {
                        cache: &index.inner.facet_names,
                    },
                )
                .expect("counts");
            for kind in super::super::facets::KINDS {
                let want: BTreeMap<String, u64> = expected
                    .get(format!("/{kind}").as_str())
                    .filter_map(|(f, n)| f.to_path().last().map(|v| ((*v).to_owned(), n)))
                    .collect();
                assert_eq!(got[kind], want, "{words:?}: {kind}");
            }
            assert!(
                !words.is_empty() || got["industry"].len() > 10,
                "the whole library has many industries: {:?}",
                got["industry"]
            );
        }
    }

    #[test]
    fn a_repeated_search_is_answered_from_the_kept_answer_until_the_index_changes() {
        let index = TantivyIndex::in_memory().expect("index");
        let seeds = crate::policy::seed::shipped().expect("seed library");
        let docs: Vec<IndexDoc> = seeds
            .iter()
            .enumerate()
            .filter(|(_, e)| e.status != Status::Draft)
            .map(|(i, e)| IndexDoc::build(i as i64 + 1, e.status, &e.content))
            .collect();
        index.write(&docs, &[], None).expect("write");
        let q = SearchQuery::new("稳岗返还", NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"));
        let first = index.search_kept(&q).expect("search");
        assert_eq!(lock(&index.inner.results).answers.len(), 1, "the answer is kept");
        assert_eq!(index.search_kept(&q).expect("again").total, first.total);
        let gone = first.items[0].id;
        index.write(&[], &[gone], None).expect("delete");
        let after = index.search_kept(&q).expect("after the change");
        assert!(
            after.items.iter().all(|h| h.id != gone) && after.total == first.total - 1,
            "a change to the index is seen at once"
        );
    }
}
