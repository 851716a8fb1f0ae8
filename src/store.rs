//! The durable SLI history in redb under the state directory.
//!
//! One write transaction per tick holds every SLO's new chunks and markers, and redb commits it
//! durably (fsync) before the tick ends: a crash (kill -9) at any instant loses at most the tick in
//! flight, whose minutes are queried again on restart because the markers did not move.
//!
//! Tables: `slos` maps an SLO id (`service/slo`) to its metadata (JSON: the fingerprint of its
//! SLI definition, the fed-until markers, its groups, its objective); `chunks` maps (SLO id,
//! group key, tier, chunk start) to the chunk's bytes ([`chunk`]); `alerts` maps (SLO id, group
//! key) to the spans its alerts and freeze were active ([`Record`], JSON; files without the
//! table read as recording nothing). A changed fingerprint means the SLI's query
//! changed: the old history is dropped and a fresh one built.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use redb::{
    Database, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
};
use serde::{Deserialize, Serialize};

use crate::core::bucket::{Bucket, Chunk, Tier};
use crate::core::record::{Active, Record};

pub mod chunk;

const SLOS: TableDefinition<&str, &[u8]> = TableDefinition::new("slos");
const CHUNKS: TableDefinition<(&str, &str, u8, i64), &[u8]> = TableDefinition::new("chunks");
/// (SLO id, group key) to the group's alert record (JSON, [`Record`]).
const ALERTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("alerts");

/// redb's page cache (its default is far larger than sloburn needs).
const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// The database file inside the state directory.
pub const FILE_NAME: &str = "sloburn.redb";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory {dir}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error("history database {file}: {message}")]
    Db { file: String, message: String },
    /// Another process (a running `sloburn run`) holds the file's lock.
    #[error("history database {file} is locked by another process (a running `sloburn run`?)")]
    Locked { file: String },
    /// [`Store::open_existing`] found no history.
    #[error("no history in {dir}: {file} does not exist")]
    Missing { dir: String, file: String },
}

/// What is stored about one SLO.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloMeta {
    /// Hash of the SLI definition; a different one starts a fresh history.
    pub fingerprint: String,
    pub fine_fed_until: Option<i64>,
    pub coarse_fed_until: Option<i64>,
    /// Group key to its labels, for grouped SLOs (the key `""` for an ungrouped one).
    pub groups: BTreeMap<String, Vec<(String, String)>>,
    /// Group key to the newest instant (unix seconds) the source showed it a series.
    #[serde(default)]
    pub seen: BTreeMap<String, i64>,
    /// The last sample of each counter series read, so a restart continues every series
    /// where it stopped (nothing between the last save and the next read is lost).
    #[serde(default)]
    pub series: Vec<StoredSeries>,
    /// Whether `series` is complete as of `fine_fed_until`.
    #[serde(default)]
    pub series_seeded: bool,
    /// Since when (unix seconds) the SLO has been missing from the loaded specs; its history
    /// is kept for a grace ([`Store::retire_absent`]) in case the spec comes back.
    #[serde(default)]
    pub absent_since: Option<i64>,
    /// The oldest instant the coarse buckets were read from (`None` in files written before
    /// it was kept: taken as the whole period). A longer period reads what lies before it.
    #[serde(default)]
    pub coarse_from: Option<i64>,
    /// The resolution of the stored coarse buckets, in seconds (`None`: as the period's).
    #[serde(default)]
    pub coarse_res: Option<i64>,
    /// The objective the SLO was last evaluated with, as a ratio (`None` in files written
    /// before it was kept), for `sloburn report` without the specs.
    #[serde(default)]
    pub objective: Option<f64>,
    /// The budget corrections in effect when last saved (definition, reason, where declared),
    /// for `sloburn report` without the specs; empty for SLOs without any and in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub corrections: Vec<crate::core::correction::Correction>,
    /// Group key to its alert record's newest judgement (`Record::last`), saved every tick:
    /// the record itself is saved only when it changes, and is continued to this on load.
    #[serde(default)]
    pub record_tails: BTreeMap<String, (i64, Active)>,
}

/// What happened to the stored history of an SLO missing from the specs.
#[derive(Debug, Clone, PartialEq)]
pub enum Absent {
    /// Kept: missing since `since`, deleted after `until` unless its spec returns.
    Kept { id: String, since: i64, until: i64 },
    /// Deleted: missing for longer than the grace.
    Dropped { id: String, since: i64 },
}

/// The last sample of one counter series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSeries {
    /// What the series counts: 0 bad, 1 total, 2 good.
    pub role: u8,
    /// `name{label="value",...}`.
    pub series: String,
    pub t_ms: i64,
    pub value: f64,
}

/// A loaded SLO: its metadata and the buckets of each group.
#[derive(Debug, Clone, Default)]
pub struct StoredSlo {
    pub meta: SloMeta,
    pub buckets: BTreeMap<String, Vec<Bucket>>,
    /// Per group key, its alert record (none for groups never recorded; an unreadable one is
    /// left out: it records nothing).
    pub records: BTreeMap<String, Record>,
}

impl StoredSlo {
    /// The starts of the stored coarse buckets, every group's, in order.
    fn coarse_starts(&self) -> BTreeSet<i64> {
        self.buckets
            .values()
            .flatten()
            .filter(|b| b.tier == Tier::Coarse)
            .map(|b| b.start)
            .collect()
    }

    /// The coarse buckets' width: as stored, or for files written before it was kept, the
    /// narrowest spacing of the stored coarse buckets (`None`: fewer than two).
    pub fn coarse_res(&self) -> Option<i64> {
        self.meta.coarse_res.or_else(|| {
            let starts = self.coarse_starts();
            starts
                .iter()
                .zip(starts.iter().skip(1))
                .map(|(a, b)| b - a)
                .min()
        })
    }

    /// Where the coarse buckets begin: as stored, or for older files the oldest stored bucket.
    pub fn coarse_from(&self) -> Option<i64> {
        self.meta
            .coarse_from
            .or_else(|| self.coarse_starts().first().copied())
    }
}

/// A stored chunk change: `(tier, chunk start, bytes or None to delete)`.
pub type ChunkChange = (Tier, i64, Option<Vec<u8>>);

/// A changed chunk in its stored form.
pub fn change(c: &Chunk) -> ChunkChange {
    (c.tier, c.start, chunk::encode(c))
}

/// The changes of one SLO in one tick.
pub struct SloChanges<'a> {
    pub id: &'a str,
    pub meta: &'a SloMeta,
    /// Per group key: `(tier, chunk start, bytes or None to delete)`.
    pub chunks: Vec<(&'a str, &'a [ChunkChange])>,
    /// Per group key: rows older than these chunk starts (fine, coarse) are deleted.
    pub prune: Vec<(&'a str, (i64, i64))>,
    /// Every stored row of the SLO is deleted first (its buckets were rebuilt at another
    /// resolution and `chunks` holds all of them).
    pub replace: bool,
    /// Per group key, its changed alert record (a dropped group's goes with its rows).
    pub records: Vec<(&'a str, &'a Record)>,
}

/// The open file: for writing ([`Store::open`]) or only for reading ([`Store::open_existing`]).
enum Db {
    Write(Database),
    Read(ReadOnlyDatabase),
    /// A repaired temporary copy of a file not shut down cleanly, already unlinked: read only.
    Copy(Database),
}

/// A consistent view of the store ([`Store::read`]).
pub struct StoreRead<'a> {
    store: &'a Store,
    txn: ReadTransaction,
}

impl StoreRead<'_> {
    /// Loads one SLO as of this view, if stored.
    pub fn load(&self, id: &str) -> Result<Option<StoredSlo>, StoreError> {
        self.store.load_in(&self.txn, id)
    }
}

pub struct Store {
    db: Db,
    file: String,
    /// Makes every write fail, for tests of what a failed save keeps.
    #[cfg(test)]
    pub(crate) fail_writes: std::sync::atomic::AtomicBool,
    /// How many alert records were written, for tests of what a steady tick rewrites.
    #[cfg(test)]
    pub(crate) records_written: std::sync::atomic::AtomicUsize,
}

fn tier_code(t: Tier) -> u8 {
    match t {
        Tier::Fine => 0,
        Tier::Coarse => 1,
    }
}

impl Store {
    /// Opens (or creates) the history under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            dir: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let file = path.display().to_string();
        // A bounded page cache: the engine reads the history once at start and then mostly
        // writes; reports (`GET /api/v1/report`) read it beside the engine through the same
        // cache, a range at a time, so a large cache would mostly hold memory.
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::Locked { file: file.clone() }
                }
                e => StoreError::Db {
                    file: file.clone(),
                    message: e.to_string(),
                },
            })?;
        let store = Self {
            db: Db::Write(db),
            file,
            #[cfg(test)]
            fail_writes: Default::default(),
            #[cfg(test)]
            records_written: Default::default(),
        };
        // Create the tables so readers never meet a missing one.
        store.write(|txn| {
            txn.open_table(SLOS)?;
            txn.open_table(CHUNKS)?;
            txn.open_table(ALERTS)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens the history under `dir` only to read it, if it exists (never creates one, never
    /// writes to it): for readers such as `sloburn report`, which work on a read-only copy too.
    /// A table missing from the file reads as empty. A file not shut down cleanly (a crashed or
    /// killed `sloburn run`) needs a repair redb makes only as a writer: a temporary copy of it
    /// is repaired and read instead, and removed.
    pub fn open_existing(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(FILE_NAME);
        if !path.is_file() {
            return Err(StoreError::Missing {
                dir: dir.display().to_string(),
                file: FILE_NAME.to_string(),
            });
        }
        let file = path.display().to_string();
        let fail = |e: redb::DatabaseError| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked { file: file.clone() },
            e => StoreError::Db {
                file: file.clone(),
                message: e.to_string(),
            },
        };
        let builder = || {
            let mut b = redb::Builder::new();
            b.set_cache_size(CACHE_BYTES);
            b
        };
        let db = match builder().open_read_only(&path) {
            Ok(db) => Db::Read(db),
            Err(redb::DatabaseError::RepairAborted) => {
                let copy = std::env::temp_dir().join(format!(
                    "sloburn-report-{}-{}.redb",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos())
                ));
                let copied = std::fs::copy(&path, &copy)
                    .map_err(|e| StoreError::Db {
                        file: file.clone(),
                        message: format!(
                            "not shut down cleanly; copying it to {} to repair: {e}",
                            copy.display()
                        ),
                    })
                    .and_then(|_| builder().open(&copy).map_err(fail));
                // Open or not, the copy goes: an open file reads on without its name.
                let _ = std::fs::remove_file(&copy);
                Db::Copy(copied?)
            }
            Err(e) => return Err(fail(e)),
        };
        Ok(Self {
            db,
            file,
            #[cfg(test)]
            fail_writes: Default::default(),
            #[cfg(test)]
            records_written: Default::default(),
        })
    }

    fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match &self.db {
            Db::Write(db) | Db::Copy(db) => db.begin_read(),
            Db::Read(db) => db.begin_read(),
        }
        .map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Db {
            file: self.file.clone(),
            message: e.to_string(),
        }
    }

    fn write(
        &self,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), StoreError> {
        let Db::Write(db) = &self.db else {
            return Err(self.err("opened only to read"));
        };
        let txn = db.begin_write().map_err(|e| self.err(e))?;
        #[cfg(test)]
        if self.fail_writes.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::Db {
                file: self.file.clone(),
                message: "a write failed (test)".into(),
            });
        }
        f(&txn).map_err(|e| self.err(e))?;
        txn.commit().map_err(|e| self.err(e))
    }

    /// A table to read; `None` when the file has none of that name (a reader never creates it).
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        txn: &ReadTransaction,
        def: TableDefinition<K, V>,
    ) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
        match txn.open_table(def) {
            Ok(t) => Ok(Some(t)),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The ids of every stored SLO.
    pub fn slo_ids(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = self.table(&txn, SLOS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| self.err(e))? {
            let (k, _) = row.map_err(|e| self.err(e))?;
            out.push(k.value().to_string());
        }
        Ok(out)
    }

    /// Loads one SLO, if stored.
    pub fn load(&self, id: &str) -> Result<Option<StoredSlo>, StoreError> {
        self.read()?.load(id)
    }

    /// One consistent view of the file as the last committed save left it (a redb read
    /// transaction): saves committed while it is open neither change what it reads nor wait
    /// for it, so a long reader (a report) runs beside the engine's ticks. While it is open
    /// the pages it reads are not reused, so keep it no longer than the reading.
    pub fn read(&self) -> Result<StoreRead<'_>, StoreError> {
        Ok(StoreRead {
            store: self,
            txn: self.begin_read()?,
        })
    }

    fn load_in(&self, txn: &ReadTransaction, id: &str) -> Result<Option<StoredSlo>, StoreError> {
        let Some(slos) = self.table(txn, SLOS)? else {
            return Ok(None);
        };
        let Some(raw) = slos.get(id).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let meta: SloMeta = match serde_json::from_slice(raw.value()) {
            Ok(m) => m,
            // Unreadable metadata: start afresh rather than fail the SLO forever (said, since
            // its history then reads as none).
            Err(e) => {
                tracing::warn!(
                    "{}: SLO {id}: unreadable stored metadata, ignored: {e}",
                    self.file
                );
                return Ok(None);
            }
        };
        let mut buckets: BTreeMap<String, Vec<Bucket>> = BTreeMap::new();
        let mut records = BTreeMap::new();
        if let Some(alerts) = self.table(txn, ALERTS)? {
            let range = alerts
                .range((id, "")..=(id, "\u{10FFFF}"))
                .map_err(|e| self.err(e))?;
            for row in range {
                let (k, v) = row.map_err(|e| self.err(e))?;
                let key = k.value().1.to_string();
                match serde_json::from_slice::<Record>(v.value()) {
                    Ok(mut r) => {
                        r.resume(meta.record_tails.get(&key).copied());
                        records.insert(key, r);
                    }
                    // Dropped (its group then shows no alert time): said, never silent.
                    Err(e) => tracing::warn!(
                        "{}: SLO {id}, group {key:?}: unreadable stored alert record, ignored: {e}",
                        self.file
                    ),
                }
            }
        }
        let Some(chunks) = self.table(txn, CHUNKS)? else {
            return Ok(Some(StoredSlo {
                meta,
                buckets,
                records,
            }));
        };
        let range = chunks
            .range((id, "", 0u8, i64::MIN)..=(id, "\u{10FFFF}", u8::MAX, i64::MAX))
            .map_err(|e| self.err(e))?;
        for row in range {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let (_, group, tier, start) = k.value();
            let tier = if tier == 0 { Tier::Fine } else { Tier::Coarse };
            buckets
                .entry(group.to_string())
                .or_default()
                .extend(chunk::decode(tier, start, v.value()).buckets());
        }
        Ok(Some(StoredSlo {
            meta,
            buckets,
            records,
        }))
    }

    /// Writes one tick's changes in one durable transaction.
    pub fn save(&self, changes: &[SloChanges]) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            let mut chunks = txn.open_table(CHUNKS)?;
            let mut alerts = txn.open_table(ALERTS)?;
            for c in changes {
                let meta = serde_json::to_vec(c.meta).unwrap_or_default();
                slos.insert(c.id, meta.as_slice())?;
                if c.replace {
                    chunks.retain_in(
                        (c.id, "", 0u8, i64::MIN)..=(c.id, "\u{10FFFF}", u8::MAX, i64::MAX),
                        |_, _| false,
                    )?;
                }
                // Groups dropped whole go first: a group of the same key created since then
                // writes its rows after.
                for (group, floors) in &c.prune {
                    if *floors == (i64::MAX, i64::MAX) {
                        chunks.retain_in(
                            (c.id, *group, 0u8, i64::MIN)..=(c.id, *group, u8::MAX, i64::MAX),
                            |_, _| false,
                        )?;
                        alerts.remove((c.id, *group))?;
                    }
                }
                for (group, record) in &c.records {
                    let bytes = serde_json::to_vec(record).unwrap_or_default();
                    alerts.insert((c.id, *group), bytes.as_slice())?;
                    #[cfg(test)]
                    self.records_written
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                for (group, rows) in &c.chunks {
                    for (tier, start, bytes) in rows.iter() {
                        let key = (c.id, *group, tier_code(*tier), *start);
                        match bytes {
                            Some(b) => {
                                chunks.insert(key, b.as_slice())?;
                            }
                            None => {
                                chunks.remove(key)?;
                            }
                        }
                    }
                }
                for (group, (fine_floor, coarse_floor)) in &c.prune {
                    if (*fine_floor, *coarse_floor) == (i64::MAX, i64::MAX) {
                        continue;
                    }
                    for (tier, floor) in [(0u8, *fine_floor), (1u8, *coarse_floor)] {
                        chunks.retain_in(
                            (c.id, *group, tier, i64::MIN)..(c.id, *group, tier, floor),
                            |_, _| false,
                        )?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Every stored SLO's metadata (no buckets), for `sloburn state list`; `None` for a record
    /// that cannot be read.
    pub fn metas(&self) -> Result<Vec<(String, Option<SloMeta>)>, StoreError> {
        let txn = self.begin_read()?;
        let Some(table) = self.table(&txn, SLOS)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let meta = serde_json::from_slice(v.value()).ok();
            out.push((k.value().to_string(), meta));
        }
        Ok(out)
    }

    /// The histories of SLOs not in `present` are kept for `grace` after they went missing
    /// (the instant is stored the first time they are found missing), then deleted: one
    /// invalid spec file, skipped at start, must not erase budgets that may be older than the
    /// source's retention. Returns what was kept and what was dropped.
    pub fn retire_absent(
        &self,
        present: &std::collections::BTreeSet<String>,
        now: i64,
        grace: std::time::Duration,
    ) -> Result<Vec<Absent>, StoreError> {
        let mut out = Vec::new();
        for (id, meta) in self.metas()? {
            if present.contains(&id) {
                continue;
            }
            // An unreadable record is left alone: written back, it would lose its identity.
            let Some(mut meta) = meta else {
                continue;
            };
            let since = *meta.absent_since.get_or_insert(now);
            let until = since.saturating_add(grace.as_secs() as i64);
            if now > until {
                self.remove(&id)?;
                out.push(Absent::Dropped { id, since });
            } else {
                self.write(|txn| {
                    let mut slos = txn.open_table(SLOS)?;
                    let bytes = serde_json::to_vec(&meta).unwrap_or_default();
                    slos.insert(id.as_str(), bytes.as_slice())?;
                    Ok(())
                })?;
                out.push(Absent::Kept { id, since, until });
            }
        }
        Ok(out)
    }

    /// Deletes an SLO and its history (removed from the specs, or its SLI changed).
    pub fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            slos.remove(id)?;
            let mut chunks = txn.open_table(CHUNKS)?;
            chunks.retain_in(
                (id, "", 0u8, i64::MIN)..=(id, "\u{10FFFF}", u8::MAX, i64::MAX),
                |_, _| false,
            )?;
            let mut alerts = txn.open_table(ALERTS)?;
            alerts.retain_in((id, "")..=(id, "\u{10FFFF}"), |_, _| false)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;
