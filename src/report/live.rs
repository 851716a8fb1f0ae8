//! The running engine's report (`GET /api/v1/report`), read from its store on a blocking thread
//! of the asker's, so the engine loop neither computes it nor waits for it.
//!
//! The store holds what the engine's last committed save holds: each tick saves before it
//! publishes, so a report shows every tick completed before it began, and none in flight (nor,
//! after a failed save, what the next save catches up). See the README's Reports section.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use crate::core::Objective;
use crate::report::{Range, Row, rows};
use crate::store::{Store, StoreError};

/// The SLOs the engine runs, in its order, with their objectives: published by the engine
/// after each evaluation (after its save), so a report lists what it runs, not the histories
/// of SLOs missing from the specs that the store keeps for a grace.
pub type Roster = Arc<[(String, Objective)]>;

/// Reports from the store of a running engine.
pub struct LiveReports {
    store: Arc<Store>,
    roster: watch::Receiver<Roster>,
}

impl LiveReports {
    pub fn new(store: Arc<Store>, roster: watch::Receiver<Roster>) -> Self {
        Self { store, roster }
    }

    /// The rows over `range` of every SLO of the roster, from one consistent read of the
    /// store: the same rows the engine's memory gave as of its last save. Stops early (what it
    /// has) once `stop` is set: the asker is gone and the answer would be thrown away.
    pub fn rows(&self, range: Range, stop: &AtomicBool) -> Result<Vec<Row>, StoreError> {
        let roster = self.roster.borrow().clone();
        let read = self.store.read()?;
        let mut out = Vec::new();
        for (id, objective) in roster.iter() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            // Not saved yet (only before its first save): nothing is held, as in memory.
            let stored = read.load(id)?.unwrap_or_default();
            out.extend(rows(id, &stored, Some(*objective), range));
        }
        Ok(out)
    }
}

impl crate::http::Reports for LiveReports {
    fn rows(&self, range: Range, stop: &AtomicBool) -> Result<Vec<Row>, String> {
        LiveReports::rows(self, range, stop).map_err(|e| e.to_string())
    }
}
