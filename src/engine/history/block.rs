//! Sealed hour blocks: 60 minutes of (bad, total) f32 pairs, encoded once an hour is complete so
//! the 3 days of minutes cost a few KiB instead of 34 KiB.
//!
//! Each of the two streams (bad, total) is coded on its own: counter minutes are almost always
//! integers near the previous minute's, so an integer is stored as the zigzag of its difference
//! to the stream's previous integer, Rice-coded with a per-block parameter `k` (a unary quotient,
//! then `k` low bits). Anything else (a fraction, or an integer too large for the difference) is
//! escaped: [`ESCAPE`] ones, a tag bit, then the raw bits. A stream of fractions (rates times
//! seconds) is coded the same way on the f32 bit patterns instead (for non-negative floats they
//! order as the values do, so close values have close patterns), or kept as raw f32 bits if that
//! is smaller: never more than a plain ring. A stream whose every value is its base costs no
//! bits at all, and an hour of zeros no bytes. Decoding gives back the exact f32 bits.
//!
//! Layout: `[mode bad][mode total][varint base bad][varint base total]`, then the bits, LSB first,
//! minute by minute (bad, then total). A mode is `k` for integers (0..=63), [`BITS`] + `k` for
//! bit patterns, [`ALL_BASE`] or [`RAW`].

use crate::core::Counts;

/// Minutes in a block.
pub(super) const MINUTES: usize = 60;
/// A unary quotient this long starts an escape.
const ESCAPE: u32 = 16;
/// Mode of a stream whose every value is the base integer: no bits.
const ALL_BASE: u8 = 0xff;
/// Mode of a stream kept as raw f32 bits.
const RAW: u8 = 0xfe;
/// Modes from here on code the differences of f32 bit patterns, with `k = mode - BITS`.
const BITS: u8 = 64;
const RAW_BITS: u64 = 32 * MINUTES as u64;
const MAX_K: u8 = 63;
/// Integers at or above this are escaped as f32 bits (their differences would overflow).
const INT_LIMIT: f32 = (1u64 << 62) as f32;

/// One minute as the fine tier stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Minute {
    pub bad: f32,
    pub total: f32,
}

impl Minute {
    /// The counts rounded to f32, as the fine tier keeps them.
    pub(super) fn rounded(c: Counts) -> Self {
        Self {
            bad: c.bad as f32,
            total: c.total as f32,
        }
    }

    pub(super) fn counts(self) -> Counts {
        Counts {
            bad: f64::from(self.bad),
            total: f64::from(self.total),
        }
    }

    fn value(self, stream: usize) -> f32 {
        if stream == 0 { self.bad } else { self.total }
    }

    fn is_zero(self) -> bool {
        self.bad.to_bits() == 0 && self.total.to_bits() == 0
    }
}

/// The integer an f32 holds exactly, if it is a non-negative integer small enough to difference.
/// Read from the bits (`fract` is a libm call, the hot spot of sealing).
fn as_int(v: f32) -> Option<u64> {
    let bits = v.to_bits();
    if bits == 0 {
        return Some(0);
    }
    let exp = (bits >> 23) as i32 - 127;
    // Sign set, below 1, or a fraction below 2^23: not an integer. At 2^23 and above every f32
    // is one.
    let fraction_bits = 23 - exp;
    let integral = bits >> 31 == 0
        && exp >= 0
        && (fraction_bits <= 0 || bits & ((1u32 << fraction_bits) - 1) == 0);
    (integral && v < INT_LIMIT).then_some(v as u64)
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn bit_len(u: u64) -> u32 {
    64 - u.leading_zeros()
}

/// How one stream of a block is coded.
#[derive(Debug, Clone, Copy)]
struct StreamPlan {
    mode: u8,
    base: u64,
    bits: u64,
}

impl StreamPlan {
    fn new(minutes: &[Minute; MINUTES], stream: usize) -> Self {
        let values = minutes.map(|m| m.value(stream));
        let ints = values.map(as_int);
        let base = ints.iter().find_map(|i| *i).unwrap_or(0);
        if ints.iter().all(|i| *i == Some(base)) {
            return Self {
                mode: ALL_BASE,
                base,
                bits: 0,
            };
        }
        let fractions = ints.iter().filter(|i| i.is_none()).count();
        let (bits, mode, base) = if fractions * 4 < MINUTES {
            let diffs: Vec<Option<u64>> = diffs(&ints, base).collect();
            let (bits, k) = best_k(&diffs, int_cost);
            (bits, k, base)
        } else {
            let base = u64::from(values[0].to_bits());
            let diffs: Vec<Option<u64>> = bit_diffs(&values, base).map(Some).collect();
            let (bits, k) = best_k(&diffs, bits_cost);
            (bits, BITS + k, base)
        };
        if bits >= RAW_BITS {
            return Self {
                mode: RAW,
                base: 0,
                bits: RAW_BITS,
            };
        }
        Self { mode, base, bits }
    }
}

/// The cheapest Rice parameter and its cost in bits. The best `k` is near log2 of the mean
/// zigzag difference: its neighbours are tried.
fn best_k(diffs: &[Option<u64>], cost: fn(Option<u64>, u8) -> u64) -> (u64, u8) {
    let (sum, n) = diffs
        .iter()
        .flatten()
        .fold((0u128, 0u128), |(s, n), u| (s + u128::from(*u), n + 1));
    let mean = sum.checked_div(n).unwrap_or(0) as u64;
    let guess = bit_len(mean).saturating_sub(1) as u8;
    (guess.saturating_sub(1)..=(guess + 1).min(MAX_K))
        .map(|k| (diffs.iter().map(|d| cost(*d, k)).sum::<u64>(), k))
        .min()
        .unwrap_or((RAW_BITS, 0))
}

/// The zigzag difference of each value's bit pattern to the previous one's.
fn bit_diffs(values: &[f32; MINUTES], base: u64) -> impl Iterator<Item = u64> + '_ {
    values.iter().scan(base, |prev, v| {
        let b = u64::from(v.to_bits());
        let d = zigzag(b as i64 - *prev as i64);
        *prev = b;
        Some(d)
    })
}

fn bits_cost(d: Option<u64>, k: u8) -> u64 {
    match d {
        Some(u) if (u >> k) < u64::from(ESCAPE) => (u >> k) + 1 + u64::from(k),
        _ => u64::from(ESCAPE) + 32,
    }
}

/// The zigzag difference of each integer to the previous one, `None` for a value escaped as f32
/// bits.
fn diffs(ints: &[Option<u64>; MINUTES], base: u64) -> impl Iterator<Item = Option<u64>> + '_ {
    ints.iter().scan(base, |prev, i| {
        Some(i.map(|i| {
            let d = zigzag(i as i64 - *prev as i64);
            *prev = i;
            d
        }))
    })
}

fn int_cost(d: Option<u64>, k: u8) -> u64 {
    let escape = u64::from(ESCAPE) + 1;
    match d {
        Some(u) if (u >> k) < u64::from(ESCAPE) => (u >> k) + 1 + u64::from(k),
        Some(u) => escape + 7 + u64::from(bit_len(u)),
        None => escape + 32,
    }
}

/// An hour of minutes ready to encode: its size is known before writing, so the caller can make
/// room for exactly that.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    streams: Option<[StreamPlan; 2]>,
}

impl Plan {
    pub(super) fn new(minutes: &[Minute; MINUTES]) -> Self {
        let streams = (!minutes.iter().all(|m| m.is_zero()))
            .then(|| [StreamPlan::new(minutes, 0), StreamPlan::new(minutes, 1)]);
        Self { streams }
    }

    fn header_len(streams: &[StreamPlan; 2]) -> usize {
        2 + streams.iter().map(|s| varint_len(s.base)).sum::<usize>()
    }

    /// Bytes [`Self::write`] appends.
    pub(super) fn len(&self) -> usize {
        match &self.streams {
            None => 0,
            Some(s) => Self::header_len(s) + (s[0].bits + s[1].bits).div_ceil(8) as usize,
        }
    }

    /// Appends the encoded block (the minutes given to [`Self::new`]).
    pub(super) fn write(&self, minutes: &[Minute; MINUTES], out: &mut Vec<u8>) {
        let Some(streams) = &self.streams else {
            return;
        };
        out.extend_from_slice(&[streams[0].mode, streams[1].mode]);
        for s in streams {
            put_varint(out, s.base);
        }
        let mut w = BitWriter::new(out);
        let mut prev = [streams[0].base, streams[1].base];
        for m in minutes {
            for (i, s) in streams.iter().enumerate() {
                match s.mode {
                    ALL_BASE => {}
                    RAW => w.put(u64::from(m.value(i).to_bits()), 32),
                    k if k >= BITS => write_bits(&mut w, m.value(i), k - BITS, &mut prev[i]),
                    k => write_value(&mut w, m.value(i), k, &mut prev[i]),
                }
            }
        }
        w.finish();
    }
}

fn write_value(w: &mut BitWriter, v: f32, k: u8, prev: &mut u64) {
    match as_int(v) {
        Some(i) => {
            let u = zigzag(i as i64 - *prev as i64);
            *prev = i;
            let q = u >> k;
            if q < u64::from(ESCAPE) {
                w.ones(q as u32);
                w.put(0, 1);
                w.put_wide(u, u32::from(k));
            } else {
                w.ones(ESCAPE);
                w.put(0, 1);
                w.put(u64::from(bit_len(u)), 7);
                w.put_wide(u, bit_len(u));
            }
        }
        None => {
            w.ones(ESCAPE);
            w.put(1, 1);
            w.put(u64::from(v.to_bits()), 32);
        }
    }
}

fn write_bits(w: &mut BitWriter, v: f32, k: u8, prev: &mut u64) {
    let b = u64::from(v.to_bits());
    let u = zigzag(b as i64 - *prev as i64);
    *prev = b;
    let q = u >> k;
    if q < u64::from(ESCAPE) {
        w.ones(q as u32);
        w.put(0, 1);
        w.put_wide(u, u32::from(k));
    } else {
        w.ones(ESCAPE);
        w.put(b, 32);
    }
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The varint at `*pos`, moving past it; `None` if the bytes end or it runs over 64 bits.
fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self { out, acc: 0, n: 0 }
    }

    /// The low `bits` (at most 32) of `v`.
    fn put(&mut self, v: u64, bits: u32) {
        debug_assert!(bits <= 32);
        if bits == 0 {
            return;
        }
        self.acc |= (v & ((1u64 << bits) - 1)) << self.n;
        self.n += bits;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn put_wide(&mut self, v: u64, bits: u32) {
        if bits > 32 {
            self.put(v, 32);
            self.put(v >> 32, bits - 32);
        } else {
            self.put(v, bits);
        }
    }

    fn ones(&mut self, mut count: u32) {
        while count > 0 {
            let n = count.min(32);
            self.put(u64::MAX, n);
            count -= n;
        }
    }

    fn finish(self) {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

/// Up to 57 bits of `bytes` from bit `pos` (zeros past the end).
fn peek(bytes: &[u8], pos: u64) -> u64 {
    let byte = (pos / 8) as usize;
    let mut word = [0u8; 8];
    if let Some(rest) = bytes.get(byte..) {
        let n = rest.len().min(8);
        word[..n].copy_from_slice(&rest[..n]);
    }
    u64::from_le_bytes(word) >> (pos % 8)
}

/// Reads one block minute by minute: a cursor that can stop and go on later (a window's edge
/// moves one minute per tick). Malformed bytes read as zeros from where they go wrong.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reader {
    /// Next bit to read.
    pos: u32,
    /// Next minute to read, 0..=60.
    next: u8,
    modes: [u8; 2],
    prev: [u64; 2],
    /// The block is empty (all zeros) or went wrong: every minute reads as zero.
    zeros: bool,
}

impl Reader {
    /// A reader at the block's first minute.
    pub(super) fn open(block: &[u8]) -> Self {
        Self::header(block).unwrap_or(Self {
            zeros: true,
            ..Self::default()
        })
    }

    fn header(block: &[u8]) -> Option<Self> {
        let modes = [*block.first()?, *block.get(1)?];
        if modes
            .iter()
            .any(|m| *m > BITS + MAX_K && *m != ALL_BASE && *m != RAW)
        {
            return None;
        }
        let mut pos = 2;
        let prev = [get_varint(block, &mut pos)?, get_varint(block, &mut pos)?];
        Some(Self {
            pos: u32::try_from(pos * 8).ok()?,
            next: 0,
            modes,
            prev,
            zeros: false,
        })
    }

    /// The minute the next call of [`Self::read`] gives.
    pub(super) fn next_minute(&self) -> usize {
        usize::from(self.next)
    }

    /// The next minute, moving past it; zeros past the block's end.
    pub(super) fn read(&mut self, block: &[u8]) -> Minute {
        if self.next_minute() >= MINUTES {
            return Minute::default();
        }
        self.next += 1;
        if self.zeros {
            return Minute::default();
        }
        let read = self
            .value(block, 0)
            .and_then(|bad| Some((bad, self.value(block, 1)?)));
        match read {
            Some((bad, total)) => Minute { bad, total },
            None => {
                self.zeros = true;
                Minute::default()
            }
        }
    }

    fn value(&mut self, block: &[u8], stream: usize) -> Option<f32> {
        let k = self.modes[stream];
        match k {
            ALL_BASE => return Some(self.prev[stream] as f32),
            RAW => return Some(f32::from_bits(self.bits(block, 32)? as u32)),
            k if k >= BITS => return self.bit_pattern(block, stream, k - BITS),
            _ => {}
        }
        let u = match self.rice(block, k)? {
            Some(u) => u,
            // An escape: an integer of `n` bits, or f32 bits.
            None if self.bits(block, 1)? == 0 => {
                let n = self.bits(block, 7)? as u32;
                if n > 64 {
                    return None;
                }
                self.bits(block, n)?
            }
            None => return Some(f32::from_bits(self.bits(block, 32)? as u32)),
        };
        let i = self.prev[stream].wrapping_add(unzigzag(u) as u64);
        self.prev[stream] = i;
        Some(i as f32)
    }

    fn bit_pattern(&mut self, block: &[u8], stream: usize, k: u8) -> Option<f32> {
        let b = match self.rice(block, k)? {
            Some(u) => self.prev[stream].wrapping_add(unzigzag(u) as u64),
            None => self.bits(block, 32)?,
        };
        self.prev[stream] = b;
        Some(f32::from_bits(b as u32))
    }

    /// The next Rice code with parameter `k`; `Some(None)` for an escape (its ones consumed).
    fn rice(&mut self, block: &[u8], k: u8) -> Option<Option<u64>> {
        if let Some(u) = self.rice_fast(block, k) {
            return Some(Some(u));
        }
        let q = self.unary(block)?;
        if q < ESCAPE {
            Some(Some((u64::from(q) << k) | self.bits(block, u32::from(k))?))
        } else {
            Some(None)
        }
    }

    /// A Rice code (no escape) read from one 57-bit window, if it fits there: almost every value.
    fn rice_fast(&mut self, block: &[u8], k: u8) -> Option<u64> {
        let window = peek(block, u64::from(self.pos));
        let q = window.trailing_ones();
        let used = q + 1 + u32::from(k);
        if q >= ESCAPE || used > 57 {
            return None;
        }
        let low = (window >> (q + 1)) & ((1u64 << k) - 1);
        self.advance(block, used)?;
        Some((u64::from(q) << k) | low)
    }

    /// Ones before the next zero (consumed), or [`ESCAPE`] ones (no zero consumed).
    fn unary(&mut self, block: &[u8]) -> Option<u32> {
        let ones = peek(block, u64::from(self.pos)).trailing_ones().min(ESCAPE);
        let used = if ones < ESCAPE { ones + 1 } else { ones };
        self.advance(block, used)?;
        Some(ones)
    }

    /// The next `n` bits (at most 64).
    fn bits(&mut self, block: &[u8], n: u32) -> Option<u64> {
        let lo_n = n.min(32);
        let lo = peek(block, u64::from(self.pos)) & ((1u64 << lo_n) - 1);
        self.advance(block, lo_n)?;
        if n <= 32 {
            return Some(lo);
        }
        let hi_n = n - 32;
        let hi = peek(block, u64::from(self.pos)) & (u64::MAX >> (64 - hi_n));
        self.advance(block, hi_n)?;
        Some(lo | (hi << 32))
    }

    fn advance(&mut self, block: &[u8], n: u32) -> Option<()> {
        let pos = self.pos.checked_add(n)?;
        (pos as usize <= block.len() * 8).then(|| self.pos = pos)
    }
}

/// Decodes a whole block.
#[cfg(test)]
pub(super) fn decode(block: &[u8]) -> [Minute; MINUTES] {
    let mut r = Reader::open(block);
    std::array::from_fn(|_| r.read(block))
}

/// Encodes a whole block.
#[cfg(test)]
pub(super) fn encode(minutes: &[Minute; MINUTES]) -> Vec<u8> {
    let plan = Plan::new(minutes);
    let mut out = Vec::with_capacity(plan.len());
    plan.write(minutes, &mut out);
    debug_assert_eq!(out.len(), plan.len());
    out
}
