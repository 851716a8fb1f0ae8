//! Buckets of events as the history keeps them and the store saves them: the shape both sides
//! agree on, so neither imports the other's types.

use crate::core::Counts;

/// Seconds in one fine bucket (a minute).
pub const FINE_SECS: i64 = 60;
/// Fine buckets are saved an hour to a chunk; a coarse chunk is one coarse bucket.
pub const CHUNK_SECS: i64 = 3600;

/// Which ring a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// One-minute buckets of the last days (the alert windows).
    Fine,
    /// Buckets of the period's resolution (the budget).
    Coarse,
}

/// One bucket's events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tier: Tier,
    pub start: i64,
    pub counts: Counts,
}

/// A chunk changed since the last save: its consecutive buckets from `start` (fine: the hour's
/// 60 minutes, coarse: the one bucket), or none when the chunk holds no events any more.
///
/// ```
/// use sloburn::core::bucket::{Chunk, Tier};
/// let gone = Chunk { tier: Tier::Coarse, start: 0, counts: Vec::new() };
/// assert!(gone.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub tier: Tier,
    pub start: i64,
    pub counts: Vec<Counts>,
}

impl Chunk {
    /// Whether the chunk holds no events (it is deleted from the store).
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| c.bad == 0.0 && c.total == 0.0)
    }

    /// The chunk's buckets with their starts (fine ones a minute apart).
    pub fn buckets(&self) -> impl Iterator<Item = Bucket> + '_ {
        let step = match self.tier {
            Tier::Fine => FINE_SECS,
            Tier::Coarse => 0,
        };
        self.counts
            .iter()
            .enumerate()
            .map(move |(k, counts)| Bucket {
                tier: self.tier,
                start: self.start + k as i64 * step,
                counts: *counts,
            })
    }
}
