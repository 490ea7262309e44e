//! Where an engine stands in the shared `policy_changes` log, and what it has still to
//! apply. Both engines follow the log the same way; only how they write differs.

use std::collections::BTreeSet;

use super::IndexDoc;
use crate::db::{DbConn, DbError};
use crate::store::policies as store;

/// Change-log ids are handed out at insert but become visible at commit, so on PostgreSQL
/// a lower id can appear after a higher one; entries this far behind the newest applied
/// are read again (and skipped when already applied).
pub const LOOKBACK: i64 = 1000;
/// Change-log entries read at a time.
pub const BATCH: i64 = 2000;

/// An engine's position in the change log.
#[derive(Debug, Default, Clone)]
pub struct Position {
    /// Newest change-log id applied.
    pub last: i64,
    /// Applied ids in (last - LOOKBACK, last].
    seen: BTreeSet<i64>,
}

/// The next batch of changes to apply.
pub struct Pending {
    pub upserts: Vec<IndexDoc>,
    pub deletes: Vec<i64>,
    /// Policies touched.
    pub policies: usize,
    /// Change-log ids applied by this batch.
    entries: Vec<i64>,
    /// Whether more entries may follow this batch.
    pub more: bool,
}

impl Position {
    pub fn at(last: i64) -> Self {
        Self {
            last,
            seen: BTreeSet::new(),
        }
    }

    /// The position of an engine just rebuilt from the database as of change `last`: the
    /// entries of the lookback window up to it are already reflected.
    pub fn rebuilt(conn: &mut DbConn, last: i64) -> Result<Self, DbError> {
        let seen = store::changes_after(conn, (last - LOOKBACK).max(0), LOOKBACK)?
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| *id <= last)
            .collect();
        Ok(Self { last, seen })
    }

    /// Reads the next batch of changes not yet applied (`None` when up to date).
    pub fn pending(&self, conn: &mut DbConn) -> Result<Option<Pending>, DbError> {
        let changes = store::changes_after(conn, (self.last - LOOKBACK).max(0), BATCH)?;
        let fresh: Vec<(i64, i64)> = changes
            .iter()
            .copied()
            .filter(|(id, _)| !self.seen.contains(id))
            .collect();
        if fresh.is_empty() {
            return Ok(None);
        }
        let mut ids: Vec<i64> = fresh.iter().map(|(_, p)| *p).collect();
        ids.sort_unstable();
        ids.dedup();
        let docs = super::index_docs(conn, &ids)?;
        let (upserts, deletes): (Vec<_>, Vec<_>) = docs.into_iter().partition(|(_, d)| d.is_some());
        Ok(Some(Pending {
            upserts: upserts.into_iter().filter_map(|(_, d)| d).collect(),
            deletes: deletes.into_iter().map(|(id, _)| id).collect(),
            policies: ids.len(),
            entries: fresh.iter().map(|(id, _)| *id).collect(),
            more: changes.len() as i64 >= BATCH,
        }))
    }

    /// The position once `p` is applied.
    pub fn after(&self, p: &Pending) -> Self {
        let newest = p
            .entries
            .iter()
            .copied()
            .max()
            .unwrap_or(self.last)
            .max(self.last);
        let mut seen = self.seen.clone();
        seen.extend(p.entries.iter().copied());
        Self {
            last: newest,
            seen: seen.split_off(&(newest - LOOKBACK)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(entries: &[i64]) -> Pending {
        Pending {
            upserts: Vec::new(),
            deletes: Vec::new(),
            policies: entries.len(),
            entries: entries.to_vec(),
            more: false,
        }
    }

    #[test]
    fn the_position_moves_to_the_newest_entry_and_remembers_the_window() {
        let p = Position::at(10).after(&pending(&[12, 11]));
        assert_eq!(p.last, 12);
        assert!(p.seen.contains(&11) && p.seen.contains(&12));
        let later = p.after(&pending(&[5]));
        assert_eq!(later.last, 12, "a late lower id does not move the position back");
        assert!(later.seen.contains(&5));
        let far = later.after(&pending(&[12 + LOOKBACK + 1]));
        assert!(!far.seen.contains(&5), "entries behind the window are forgotten");
    }
}
