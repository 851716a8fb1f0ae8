//! The stored form of a history chunk. A fine chunk is its minutes' (bad, total) as f32
//! little-endian pairs, 480 bytes for an hour; a coarse chunk is one bucket as two f64. The
//! history holds f32 minutes, so f32 loses nothing; coarse buckets keep f64 so files written
//! before the history's coarse ring became f32 read the same.

use crate::core::Counts;
use crate::core::bucket::{Chunk, Tier};

/// The bytes of a chunk, or `None` for a chunk with no events (its row is deleted).
///
/// ```
/// use sloburn::core::Counts;
/// use sloburn::core::bucket::{Chunk, Tier};
/// use sloburn::store::chunk::{decode, encode};
/// let chunk = Chunk { tier: Tier::Fine, start: 3600, counts: vec![Counts { bad: 1.0, total: 9.0 }; 60] };
/// let bytes = encode(&chunk).unwrap();
/// assert_eq!(bytes.len(), 480);
/// assert_eq!(decode(Tier::Fine, 3600, &bytes), chunk);
/// ```
pub fn encode(chunk: &Chunk) -> Option<Vec<u8>> {
    if chunk.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(chunk.counts.len() * 16);
    for c in &chunk.counts {
        match chunk.tier {
            Tier::Fine => {
                out.extend_from_slice(&(c.bad as f32).to_le_bytes());
                out.extend_from_slice(&(c.total as f32).to_le_bytes());
            }
            Tier::Coarse => {
                out.extend_from_slice(&c.bad.to_le_bytes());
                out.extend_from_slice(&c.total.to_le_bytes());
            }
        }
    }
    Some(out)
}

/// The chunk stored in `bytes`. Malformed bytes (a coarse row of the wrong length, a fine row
/// cut inside a pair) give the whole pairs they hold, or no buckets, never a panic.
pub fn decode(tier: Tier, start: i64, bytes: &[u8]) -> Chunk {
    let counts = match tier {
        Tier::Fine => bytes
            .chunks_exact(8)
            .map(|pair| {
                let (bad, total) = pair.split_at(4);
                Counts {
                    bad: f64::from(f32_of(bad)),
                    total: f64::from(f32_of(total)),
                }
            })
            .collect(),
        Tier::Coarse if bytes.len() == 16 => {
            let (bad, total) = bytes.split_at(8);
            vec![Counts {
                bad: f64_of(bad),
                total: f64_of(total),
            }]
        }
        Tier::Coarse => Vec::new(),
    };
    Chunk {
        tier,
        start,
        counts,
    }
}

fn f32_of(b: &[u8]) -> f32 {
    f32::from_le_bytes(b.try_into().unwrap_or_default())
}

fn f64_of(b: &[u8]) -> f64 {
    f64::from_le_bytes(b.try_into().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored layout is a file format: pinned byte for byte.
    #[test]
    fn the_layout_is_pinned() {
        let mut counts = vec![Counts::default(); 60];
        counts[1] = Counts {
            bad: 1.0,
            total: 2.0,
        };
        let fine = encode(&Chunk {
            tier: Tier::Fine,
            start: 0,
            counts,
        })
        .unwrap();
        assert_eq!(fine.len(), 480);
        assert_eq!(
            &fine[..16],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64]
        );
        let coarse = encode(&Chunk {
            tier: Tier::Coarse,
            start: 7200,
            counts: vec![Counts {
                bad: 0.5,
                total: 3.0,
            }],
        })
        .unwrap();
        assert_eq!(
            coarse,
            [0.5f64.to_le_bytes(), 3.0f64.to_le_bytes()].concat()
        );
    }

    #[test]
    fn empty_chunks_are_deleted_and_bad_bytes_give_nothing() {
        let empty = Chunk {
            tier: Tier::Fine,
            start: 0,
            counts: vec![Counts::default(); 60],
        };
        assert_eq!(encode(&empty), None);
        assert!(decode(Tier::Coarse, 0, &[1, 2, 3]).counts.is_empty());
        assert_eq!(decode(Tier::Fine, 0, &[0; 12]).counts.len(), 1);
    }
}
