//! The catalogue in memory. Items, guides, bundles with their merged materials and the
//! part of the catalogue each bundle's form needs are read once into an immutable
//! snapshot keyed by the catalogue's version; every server polls the version every second
//! and swaps in a new snapshot when the database holds a newer catalogue. Public
//! catalogue responses carry an `ETag` derived from the version, so a client that has a
//! page gets `304 Not Modified` without the server doing the work again.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

use crate::catalogue::{BundleDef, Catalogue};
use crate::db::{Db, DbConn, DbError};
use crate::form::MergedForm;
use crate::store::catalogue::{
    self as cat, BundleDetail, BundleSummary, CatalogueStats, DepartmentView, ItemDetail,
};
use crate::store::Paging;

/// One bundle as its pages, its API and its forms use it.
pub struct BundleEntry {
    /// The bundle's own version (stored with each application).
    pub version: i32,
    pub def: BundleDef,
    /// The part of the catalogue the bundle refers to.
    pub catalogue: Catalogue,
    pub detail: BundleDetail,
    /// `detail` as the API sends it.
    pub json: actix_web::web::Bytes,
    /// The merged form per answer set, computed on first use.
    merged: Mutex<HashMap<AnswerSet, Arc<MergedForm>>>,
}

/// A bundle's answers, sorted by question.
type AnswerSet = Vec<(String, String)>;

/// Answer sets whose merged form one bundle keeps. The real sets are few (the product of a
/// bundle's question options); the cap only stops requests with invented answers from
/// growing the map.
const MERGED_KEPT: usize = 256;

impl BundleEntry {
    /// The merged form for `answers` (merge is a pure function of the bundle, its catalogue
    /// and the answers, so it is computed once per answer set).
    pub fn merged(&self, answers: &std::collections::HashMap<String, String>) -> Arc<MergedForm> {
        let mut key: AnswerSet = answers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        key.sort_unstable();
        let mut kept = self.merged.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = kept.get(&key) {
            return m.clone();
        }
        let m = Arc::new(crate::form::merge(&self.catalogue, &self.def, answers));
        if kept.len() < MERGED_KEPT {
            kept.insert(key, m.clone());
        }
        m
    }
}

/// One item with its service guide.
pub struct ItemEntry {
    pub detail: ItemDetail,
    pub json: actix_web::web::Bytes,
}

/// The whole public catalogue at one version.
pub struct Snapshot {
    /// The catalogue version ([`cat::fingerprint`]).
    pub version: String,
    bundles: HashMap<String, Arc<BundleEntry>>,
    items: HashMap<String, ItemEntry>,
    /// Every active bundle, in catalogue order.
    pub bundle_list: Vec<BundleSummary>,
    pub departments: Vec<DepartmentView>,
    pub stats: CatalogueStats,
    /// Rendered pages by entity tag: a page is a function of its tag's parts, so a page
    /// rendered once serves every reader until the catalogue, the day or the templates
    /// change (and a new snapshot starts empty).
    pages: Mutex<HashMap<String, actix_web::web::Bytes>>,
}

/// Rendered pages one snapshot keeps (the catalogue's own pages are a few hundred; the cap
/// stops search pages for invented words from growing the map).
const PAGES_KEPT: usize = 2048;

impl Snapshot {
    /// Reads the catalogue as of `version`.
    pub fn load(conn: &mut DbConn, version: String) -> Result<Self, DbError> {
        let (bundle_codes, item_codes) = cat::active_codes(conn)?;
        let mut bundles = HashMap::with_capacity(bundle_codes.len());
        for code in bundle_codes {
            if let Some((row, def, catalogue)) = cat::load_bundle(conn, &code)? {
                let detail = cat::bundle_detail(&row, def.clone(), &catalogue);
                let json = serde_json::to_vec(&detail)
                    .map_err(|e| DbError::Corrupt(format!("bundle {code}: {e}")))?;
                bundles.insert(
                    code,
                    Arc::new(BundleEntry {
                        version: row.version,
                        def,
                        catalogue,
                        detail,
                        json: json.into(),
                        merged: Mutex::new(HashMap::new()),
                    }),
                );
            }
        }
        let mut items = HashMap::with_capacity(item_codes.len());
        for code in item_codes {
            if let Some(detail) = cat::get_item(conn, &code)? {
                let json =
                    serde_json::to_vec(&detail).map_err(|e| DbError::Corrupt(format!("item {code}: {e}")))?;
                items.insert(
                    code,
                    ItemEntry {
                        detail,
                        json: json.into(),
                    },
                );
            }
        }
        let all = Paging {
            page: 1,
            per_page: Paging::MAX_PER_PAGE,
        };
        Ok(Self {
            version,
            bundles,
            items,
            bundle_list: cat::list_bundles(conn, &Default::default(), all)?.items,
            departments: cat::list_departments(conn)?,
            stats: cat::stats(conn)?,
            pages: Mutex::new(HashMap::new()),
        })
    }

    /// The page rendered for `etag`, if this snapshot has rendered it.
    pub fn page(&self, etag: &str) -> Option<actix_web::web::Bytes> {
        self.pages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(etag)
            .cloned()
    }

    /// Keeps a rendered page for the next reader.
    pub fn keep_page(&self, etag: &str, body: actix_web::web::Bytes) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        if pages.len() < PAGES_KEPT {
            pages.insert(etag.to_owned(), body);
        }
    }

    pub fn bundle(&self, code: &str) -> Option<Arc<BundleEntry>> {
        self.bundles.get(code).cloned()
    }

    pub fn item(&self, code: &str) -> Option<&ItemEntry> {
        self.items.get(code)
    }

    /// The entity tag of a response that depends only on this catalogue version and
    /// `parts` (the request's path and query, and for pages what else they show).
    pub fn etag(&self, parts: &[&str]) -> String {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.version.hash(&mut h);
        parts.hash(&mut h);
        // Weak: the bytes differ by content coding (brotli, gzip), the content does not.
        format!("W/\"{:016x}\"", h.finish())
    }
}

/// The current snapshot, swapped whole when the catalogue changes.
pub struct CatalogueCache {
    current: RwLock<Arc<Snapshot>>,
}

impl CatalogueCache {
    pub fn load(conn: &mut DbConn) -> Result<Self, DbError> {
        let version = cat::fingerprint(conn)?;
        Ok(Self {
            current: RwLock::new(Arc::new(Snapshot::load(conn, version)?)),
        })
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Loads a new snapshot when the database holds another catalogue version; says
    /// whether it did.
    pub fn refresh(&self, conn: &mut DbConn) -> Result<bool, DbError> {
        let version = cat::fingerprint(conn)?;
        if version == self.current().version {
            return Ok(false);
        }
        let fresh = Arc::new(Snapshot::load(conn, version)?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(true)
    }

    /// Polls the catalogue version every second until the runtime ends.
    pub fn spawn_follower(self: Arc<Self>, db: Db) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let cache = self.clone();
                match db.run(move |c| cache.refresh(c)).await {
                    Ok(false) => {}
                    Ok(true) => tracing::info!(
                        version = %self.current().version,
                        "catalogue changed; new snapshot in use"
                    ),
                    Err(e) => tracing::warn!(error = %e, "catalogue version could not be read"),
                }
            }
        });
    }
}

/// Whether the client already holds the response tagged `etag`.
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == ours)
}

/// The `304 Not Modified` answer for `etag`.
pub fn unchanged(etag: &str) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .finish()
}

/// Clients may keep catalogue responses but ask again each time (cheaply, by their tag):
/// a catalogue change shows at once.
pub const CACHE_CONTROL: &str = "public, no-cache";

/// Tags a catalogue response.
pub fn tagged(mut resp: HttpResponse, etag: &str) -> HttpResponse {
    if let Ok(v) = header::HeaderValue::from_str(etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(CACHE_CONTROL),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn if_none_match_matches_weakly_and_in_lists() {
        let tag = "W/\"00000000000000ab\"";
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"x\", \"00000000000000ab\""))
            .to_http_request();
        assert!(not_modified(&req, tag));
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "W/\"00000000000000ac\""))
            .to_http_request();
        assert!(!not_modified(&req, tag));
        assert!(!not_modified(&TestRequest::default().to_http_request(), tag));
    }
}
