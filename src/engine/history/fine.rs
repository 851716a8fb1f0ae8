//! The fine tier: 1-minute buckets for the last 3 days. The current and the previous hour are a
//! plain f32 ring (the newest minute is written there, and the short windows' edges read it);
//! older hours are sealed into compact [`block`]s, read minute by minute by a [`Cursor`] as a
//! long window's edge walks through them. Every minute reads back as the exact f32 that was
//! written, so sums over them are what a plain ring of 3 days would give.

use std::collections::VecDeque;

use super::block::{MINUTES, Minute, Plan, Reader};
use super::{FINE_LEN, FINE_SECS};

const HOUR: i64 = MINUTES as i64 * FINE_SECS;
/// The ring holds the current hour and the one before it.
const RING_HOURS: i64 = 2;
const RING_LEN: usize = RING_HOURS as usize * MINUTES;
/// Sealed hours are 3 days but the two in the ring, and the one the 3 days' old end cuts.
const SEALED_HOURS: usize = (FINE_LEN - 1) / MINUTES - RING_HOURS as usize + 1;

fn hour_of(t: i64) -> i64 {
    t.div_euclid(HOUR) * HOUR
}

/// Where a sequential reader of sealed minutes stands (one per window edge). It keeps where its
/// block lies in the buffer, so a tick's read touches only the block's bytes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor {
    hour: i64,
    /// [`Sealed::moves`] when `bytes` was looked up: a different count means it moved.
    moves: u32,
    bytes: (u32, u32),
    reader: Reader,
}

impl Default for Cursor {
    fn default() -> Self {
        Self {
            hour: i64::MIN,
            moves: 0,
            bytes: (0, 0),
            reader: Reader::default(),
        }
    }
}

/// Sealed hour blocks, oldest first, back to back in one buffer (one allocation, no per-block
/// header).
#[derive(Debug, Clone, Default)]
struct Sealed {
    buf: Vec<u8>,
    /// Where each block starts in `buf`; it ends where the next starts. Bytes before the first
    /// are dropped blocks, removed when room is needed.
    starts: VecDeque<u32>,
    /// Hour start of the newest block.
    newest: i64,
    /// Counts the times blocks moved in `buf` (or went), so cursors know their offsets are stale.
    moves: u32,
}

impl Sealed {
    fn oldest(&self) -> i64 {
        self.newest - (self.starts.len() as i64 - 1) * HOUR
    }

    /// Where the block of `hour` lies in `buf`.
    fn block(&self, hour: i64) -> Option<(u32, u32)> {
        if self.starts.is_empty() || hour > self.newest || hour < self.oldest() {
            return None;
        }
        let i = ((hour - self.oldest()) / HOUR) as usize;
        let from = *self.starts.get(i)?;
        let to = self.starts.get(i + 1).map_or(self.buf.len() as u32, |s| *s);
        Some((from, to))
    }

    fn bytes(&self, (from, to): (u32, u32)) -> &[u8] {
        self.buf.get(from as usize..to as usize).unwrap_or_default()
    }

    /// Drops the blocks of hours before `hour`.
    fn drop_before(&mut self, hour: i64) {
        while !self.starts.is_empty() && self.oldest() < hour {
            self.starts.pop_front();
        }
        if self.starts.is_empty() {
            self.buf.clear();
            self.moves = self.moves.wrapping_add(1);
        }
    }

    /// Seals `hour`, which must follow the newest block (else the older blocks are dropped).
    fn push(&mut self, hour: i64, minutes: &[Minute; MINUTES]) {
        if !self.starts.is_empty() && hour != self.newest + HOUR {
            self.starts.clear();
            self.buf.clear();
            self.moves = self.moves.wrapping_add(1);
        }
        let plan = Plan::new(minutes);
        self.make_room(plan.len());
        if self.starts.capacity() == 0 {
            self.starts.reserve_exact(SEALED_HOURS);
        }
        // Blocks are at most a few KiB and the buffer holds 3 days of them: far below 4 GiB.
        self.starts.push_back(self.buf.len() as u32);
        plan.write(minutes, &mut self.buf);
        self.newest = hour;
    }

    /// Makes room for `n` more bytes: first by removing dropped blocks, then by growing by a
    /// sixteenth (steady state replaces an hour by an hour, so this rarely reallocates).
    fn make_room(&mut self, n: usize) {
        if self.buf.len() + n <= self.buf.capacity() {
            return;
        }
        let dead = self.starts.front().map_or(self.buf.len(), |s| *s as usize);
        if dead > 0 {
            self.buf.drain(..dead);
            for s in &mut self.starts {
                *s -= dead as u32;
            }
            self.moves = self.moves.wrapping_add(1);
        }
        if self.buf.len() + n > self.buf.capacity() {
            self.buf.reserve_exact(n + self.buf.len() / 16);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.starts.capacity() * std::mem::size_of::<u32>()
    }
}

/// The minutes of the last 3 days ending at `head` (the start of the newest minute).
#[derive(Debug, Clone)]
pub(super) struct Fine {
    head: Option<i64>,
    /// Minutes of the current and the previous hour, by minute number modulo the length; minutes
    /// after the head are zero.
    ring: Vec<Minute>,
    sealed: Sealed,
}

impl Fine {
    pub(super) fn new() -> Self {
        Self {
            head: None,
            ring: vec![Minute::default(); RING_LEN],
            sealed: Sealed::default(),
        }
    }

    pub(super) fn head(&self) -> Option<i64> {
        self.head
    }

    /// The start of the oldest minute held, given the head.
    fn oldest(head: i64) -> i64 {
        head - (FINE_LEN as i64 - 1) * FINE_SECS
    }

    fn contains(&self, start: i64) -> bool {
        self.head
            .is_some_and(|h| start <= h && start >= Self::oldest(h))
    }

    fn in_ring(&self, start: i64) -> bool {
        self.head
            .is_some_and(|h| start <= h && start >= hour_of(h) - (RING_HOURS - 1) * HOUR)
    }

    fn slot(start: i64) -> usize {
        start.div_euclid(FINE_SECS).rem_euclid(RING_LEN as i64) as usize
    }

    /// The minute starting at `start`; zero if not held.
    pub(super) fn get(&self, start: i64) -> Minute {
        self.read(start, &mut Cursor::default())
    }

    /// The minute starting at `start`, reading a sealed hour through `cursor`: in O(1) when the
    /// cursor stands right before it, as it does for a window's edge on the next tick.
    pub(super) fn read(&self, start: i64, cursor: &mut Cursor) -> Minute {
        if !self.contains(start) {
            return Minute::default();
        }
        if self.in_ring(start) {
            return self.ring[Self::slot(start)];
        }
        let hour = hour_of(start);
        let minute = ((start - hour) / FINE_SECS) as usize;
        let stale = cursor.hour != hour || cursor.moves != self.sealed.moves;
        if stale || cursor.reader.next_minute() > minute {
            let Some(at) = self.sealed.block(hour) else {
                return Minute::default();
            };
            *cursor = Cursor {
                hour,
                moves: self.sealed.moves,
                bytes: at,
                reader: Reader::open(self.sealed.bytes(at)),
            };
        }
        let bytes = self.sealed.bytes(cursor.bytes);
        while cursor.reader.next_minute() < minute {
            cursor.reader.read(bytes);
        }
        cursor.reader.read(bytes)
    }

    /// Sets a minute of the ring (the newest ones: older minutes are sealed and never change);
    /// returns whether it was set.
    pub(super) fn set(&mut self, start: i64, m: Minute) -> bool {
        let ok = self.contains(start) && self.in_ring(start);
        if ok {
            self.ring[Self::slot(start)] = m;
        }
        ok
    }

    /// Moves the head forward to `start`: the hours leaving the ring are sealed, the ones
    /// entering it start empty, and hours older than 3 days are dropped.
    pub(super) fn advance(&mut self, start: i64) {
        let Some(head) = self.head else {
            self.head = Some(start);
            return;
        };
        if start <= head {
            return;
        }
        let (old, new) = (hour_of(head), hour_of(start));
        if new > old {
            let keep = hour_of(Self::oldest(start));
            self.sealed.drop_before(keep);
            let ring_first = old - (RING_HOURS - 1) * HOUR;
            let mut hour = ring_first.max(keep);
            while hour < new - (RING_HOURS - 1) * HOUR {
                let minutes = if hour <= old {
                    self.ring_hour(hour)
                } else {
                    [Minute::default(); MINUTES]
                };
                self.sealed.push(hour, &minutes);
                hour += HOUR;
            }
            let entering = (old + HOUR).max(new - (RING_HOURS - 1) * HOUR);
            let mut hour = entering;
            while hour <= new {
                let from = Self::slot(hour);
                self.ring[from..from + MINUTES].fill(Minute::default());
                hour += HOUR;
            }
        }
        self.head = Some(start);
    }

    fn ring_hour(&self, hour: i64) -> [Minute; MINUTES] {
        let from = Self::slot(hour);
        std::array::from_fn(|m| self.ring[from + m])
    }

    /// Every minute held, oldest first (`FINE_LEN` of them, ending at the head).
    pub(super) fn minutes(&self) -> Vec<Minute> {
        let Some(head) = self.head else {
            return Vec::new();
        };
        let oldest = Self::oldest(head);
        if head.rem_euclid(FINE_SECS) != 0 {
            // Minutes off the hour's grid (never fed by the engine): one by one.
            let mut cursor = Cursor::default();
            return (0..FINE_LEN as i64)
                .map(|k| self.read(oldest + k * FINE_SECS, &mut cursor))
                .collect();
        }
        // Hour by hour, a sealed one decoded in one go.
        let mut out = Vec::with_capacity(FINE_LEN);
        let mut hour = hour_of(oldest);
        while hour <= head {
            let minutes = self.hour(hour);
            let first = ((oldest - hour).max(0) / FINE_SECS) as usize;
            let last = (((head - hour) / FINE_SECS) as usize).min(MINUTES - 1);
            out.extend_from_slice(minutes.get(first..=last).unwrap_or_default());
            hour += HOUR;
        }
        out
    }

    /// The 60 minutes of `hour` as stored (minutes out of reach are not masked).
    fn hour(&self, hour: i64) -> [Minute; MINUTES] {
        if self.in_ring(hour) {
            return self.ring_hour(hour);
        }
        let Some(at) = self.sealed.block(hour) else {
            return [Minute::default(); MINUTES];
        };
        let bytes = self.sealed.bytes(at);
        let mut reader = Reader::open(bytes);
        std::array::from_fn(|_| reader.read(bytes))
    }

    /// The fine tier holding `minutes` (oldest first, the last one starting at `head`), as
    /// [`Self::minutes`] gives them. Cursors of another tier must not be used with it.
    pub(super) fn from_minutes(head: i64, minutes: &[Minute]) -> Self {
        let mut fine = Self::new();
        fine.head = Some(head);
        let oldest = Self::oldest(head);
        let at = |start: i64| -> Minute {
            usize::try_from((start - oldest) / FINE_SECS)
                .ok()
                .filter(|_| start >= oldest && start <= head)
                .and_then(|i| minutes.get(i).copied())
                .unwrap_or_default()
        };
        let current = hour_of(head);
        let ring_first = current - (RING_HOURS - 1) * HOUR;
        let mut hour = hour_of(oldest);
        while hour < ring_first {
            let block: [Minute; MINUTES] = std::array::from_fn(|m| at(hour + m as i64 * FINE_SECS));
            fine.sealed.push(hour, &block);
            hour += HOUR;
        }
        let mut start = ring_first;
        while start <= head {
            fine.ring[Self::slot(start)] = at(start);
            start += FINE_SECS;
        }
        fine
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.ring.capacity() * std::mem::size_of::<Minute>() + self.sealed.heap_bytes()
    }
}
