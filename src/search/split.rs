//! One pass over a search's matches that does what several searches did: counts every
//! match, those in force and those expired, and keeps the best matches in force and the
//! best of the rest apart, so that a page by relevance lists the policies in force first.
//! The status and dates come from fast fields, read per matching document.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// Fast-field names the collector reads.
pub const PUBLISHED: &str = "published_flag";
pub const EFF_FROM: &str = "eff_from";
pub const EFF_TO: &str = "eff_to";

/// What one pass finds.
#[derive(Debug, Default)]
pub struct Split {
    pub total: usize,
    pub live: usize,
    pub expired: usize,
    /// The best matches in force, best first (as many as asked).
    pub live_top: Vec<DocAddress>,
    /// The best other matches, best first.
    pub rest_top: Vec<DocAddress>,
}

/// Counts, and keeps the best `keep` matches of each group (0 to only count).
pub struct SplitCollector {
    /// Days since the common era, as the date fields hold them.
    pub today: i64,
    pub keep: usize,
}

/// A match ranked by score, the earlier document first among equals (as `TopDocs`).
#[derive(Debug, Clone, Copy)]
struct Ranked(Score, DocAddress);

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    /// "Greater" is worse, so that a max-heap's top is the worst kept match.
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then_with(|| self.1.cmp(&other.1))
    }
}

/// The best `keep` matches seen, in a heap whose top is the worst of them.
#[derive(Default)]
struct Best {
    keep: usize,
    heap: BinaryHeap<Ranked>,
}

impl Best {
    fn offer(&mut self, r: Ranked) {
        if self.keep == 0 {
            return;
        }
        if self.heap.len() < self.keep {
            self.heap.push(r);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if r < *worst {
                *worst = r;
            }
        }
    }
}

fn best_first(heaps: impl Iterator<Item = BinaryHeap<Ranked>>, keep: usize) -> Vec<DocAddress> {
    let mut all: Vec<Ranked> = heaps.flat_map(BinaryHeap::into_vec).collect();
    all.sort();
    all.into_iter().take(keep).map(|r| r.1).collect()
}

pub struct SplitSegment {
    segment: SegmentOrdinal,
    today: i64,
    published: Arc<dyn ColumnValues<i64>>,
    from: Arc<dyn ColumnValues<i64>>,
    to: Arc<dyn ColumnValues<i64>>,
    total: usize,
    live: usize,
    expired: usize,
    live_top: Best,
    rest_top: Best,
}

pub struct SegmentSplit {
    total: usize,
    live: usize,
    expired: usize,
    live_top: BinaryHeap<Ranked>,
    rest_top: BinaryHeap<Ranked>,
}

impl SegmentCollector for SplitSegment {
    type Fruit = SegmentSplit;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let published = self.published.get_val(doc) == 1;
        let to = self.to.get_val(doc);
        let address = DocAddress::new(self.segment, doc);
        if published && self.from.get_val(doc) <= self.today && to >= self.today {
            self.live += 1;
            self.live_top.offer(Ranked(score, address));
        } else {
            if published && to < self.today {
                self.expired += 1;
            }
            self.rest_top.offer(Ranked(score, address));
        }
    }

    fn harvest(self) -> SegmentSplit {
        SegmentSplit {
            total: self.total,
            live: self.live,
            expired: self.expired,
            live_top: self.live_top.heap,
            rest_top: self.rest_top.heap,
        }
    }
}

impl Collector for SplitCollector {
    type Fruit = Split;
    type Child = SplitSegment;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SplitSegment> {
        let column = |name: &str| -> tantivy::Result<Arc<dyn ColumnValues<i64>>> {
            Ok(reader.fast_fields().i64(name)?.first_or_default_col(0))
        };
        Ok(SplitSegment {
            segment,
            today: self.today,
            published: column(PUBLISHED)?,
            from: column(EFF_FROM)?,
            to: column(EFF_TO)?,
            total: 0,
            live: 0,
            expired: 0,
            live_top: Best {
                keep: self.keep,
                heap: BinaryHeap::new(),
            },
            rest_top: Best {
                keep: self.keep,
                heap: BinaryHeap::new(),
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        self.keep > 0
    }

    fn merge_fruits(&self, fruits: Vec<SegmentSplit>) -> tantivy::Result<Split> {
        let mut split = Split {
            total: fruits.iter().map(|f| f.total).sum(),
            live: fruits.iter().map(|f| f.live).sum(),
            expired: fruits.iter().map(|f| f.expired).sum(),
            ..Default::default()
        };
        let (live, rest): (Vec<_>, Vec<_>) = fruits.into_iter().map(|f| (f.live_top, f.rest_top)).unzip();
        split.live_top = best_first(live.into_iter(), self.keep);
        split.rest_top = best_first(rest.into_iter(), self.keep);
        Ok(split)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_are_kept_best_first_and_equal_scores_by_document_order() {
        let mut best = Best {
            keep: 2,
            heap: BinaryHeap::new(),
        };
        for (score, doc) in [(1.0, 0), (3.0, 1), (2.0, 2), (3.0, 3), (0.5, 4)] {
            best.offer(Ranked(score, DocAddress::new(0, doc)));
        }
        let kept = best_first(std::iter::once(best.heap), 2);
        assert_eq!(kept, vec![DocAddress::new(0, 1), DocAddress::new(0, 3)]);
    }
}
