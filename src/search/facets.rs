//! Facet counts of a search from the facet column's ordinals. A match adds one to each of
//! its facets' ordinals; only at the end are the counted ordinals turned into names, through
//! a table built once per segment (a segment never changes). tantivy's `FacetCollector`
//! walks the facet dictionary of every segment on every search and then looks each counted
//! ordinal up in it again: a fifth of a first-time search's time at 100,000 policies.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fastfield::FacetReader;
use tantivy::index::SegmentId;
use tantivy::schema::Facet;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The facet kinds a search counts; the index holds others (`industry_code`,
/// `excluded_industry`) that only filter.
pub const KINDS: [&str; 5] = ["industry", "scale", "region", "issuer", "status"];

/// Counts per kind, by value.
pub type Counts = BTreeMap<&'static str, BTreeMap<String, u64>>;

/// For each facet ordinal of a segment, the counted kind (index in [`KINDS`]) and value it
/// names.
type Names = Arc<Vec<Option<(usize, Box<str>)>>>;

/// The name tables of the segments searched so far.
#[derive(Default)]
pub struct NameCache {
    segments: Mutex<HashMap<SegmentId, Names>>,
}

impl NameCache {
    fn lock(&self) -> MutexGuard<'_, HashMap<SegmentId, Names>> {
        // The map only ever holds complete tables, so one left by a panic is sound.
        self.segments.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn names(&self, reader: &SegmentReader, facets: &FacetReader) -> tantivy::Result<Names> {
        let id = reader.segment_id();
        if let Some(names) = self.lock().get(&id) {
            return Ok(names.clone());
        }
        let mut names = vec![None; facets.num_facets()];
        let mut stream = facets.facet_dict().stream()?;
        while stream.advance() {
            let Ok(facet) = Facet::from_encoded(stream.key().to_vec()) else {
                continue;
            };
            let named = match facet.to_path().as_slice() {
                [kind, value] => KINDS
                    .iter()
                    .position(|k| k == kind)
                    .map(|i| (i, Box::<str>::from(*value))),
                _ => None,
            };
            if let Some(slot) = usize::try_from(stream.term_ord())
                .ok()
                .and_then(|o| names.get_mut(o))
            {
                *slot = named;
            }
        }
        let names = Arc::new(names);
        self.lock().insert(id, names.clone());
        Ok(names)
    }

    /// Forgets the segments not in `live` (merged away since).
    pub fn retain(&self, live: &[SegmentId]) {
        let mut segments = self.lock();
        if segments.len() > live.len() {
            segments.retain(|id, _| live.contains(id));
        }
    }
}

/// Counts the facets of every match (field `facets`), by kind and value.
pub struct FacetCounter<'a> {
    pub cache: &'a NameCache,
}

pub struct FacetSegment {
    facets: FacetReader,
    names: Names,
    counts: Vec<u32>,
}

pub struct SegmentCounts {
    names: Names,
    counts: Vec<u32>,
}

impl Collector for FacetCounter<'_> {
    type Fruit = Counts;
    type Child = FacetSegment;

    fn for_segment(&self, _: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<FacetSegment> {
        let facets = reader.facet_reader("facets")?;
        let names = self.cache.names(reader, &facets)?;
        Ok(FacetSegment {
            counts: vec![0; names.len()],
            names,
            facets,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<SegmentCounts>) -> tantivy::Result<Counts> {
        let mut out: Counts = KINDS.iter().map(|k| (*k, BTreeMap::new())).collect();
        for s in segments {
            for (ord, n) in s.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
                if let Some(Some((kind, value))) = s.names.get(ord) {
                    *out.entry(KINDS[*kind])
                        .or_default()
                        .entry(value.to_string())
                        .or_default() += u64::from(*n);
                }
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for FacetSegment {
    type Fruit = SegmentCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        // A document's ordinals come sorted; one listed twice counts once.
        let mut last = None;
        for ord in self.facets.facet_ords(doc) {
            if last != Some(ord) {
                if let Some(n) = usize::try_from(ord).ok().and_then(|o| self.counts.get_mut(o)) {
                    *n += 1;
                }
                last = Some(ord);
            }
        }
    }

    fn harvest(self) -> SegmentCounts {
        SegmentCounts {
            names: self.names,
            counts: self.counts,
        }
    }
}
