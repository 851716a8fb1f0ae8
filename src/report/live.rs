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
use crate::http::ReportError;
use crate::report::{Range, Row, rows};
use crate::store::Store;

/// The SLOs the engine runs, in its order, with their objectives: published by the engine
/// after each evaluation's save and before its snapshot, so a report lists what it runs (not
/// the histories of SLOs missing from the specs that the store keeps for a grace), and whoever
/// saw an evaluation also sees its roster.
pub type Roster = Arc<[(String, Objective)]>;

/// Reports from the store of a running engine.
pub struct LiveReports {
    store: Arc<Store>,
    /// `None` until the engine's first evaluation is saved.
    roster: watch::Receiver<Option<Roster>>,
}

impl LiveReports {
    pub fn new(store: Arc<Store>, roster: watch::Receiver<Option<Roster>>) -> Self {
        Self { store, roster }
    }

    /// The rows over `range` of every SLO of the roster, from one consistent read of the
    /// store: the same rows the engine's memory gave as of its last save. Before the first
    /// saved evaluation: [`ReportError::NotYet`]. Once `stop` is set (the asker is gone and the
    /// answer would be thrown away) it stops at the next SLO with [`ReportError::Stopped`],
    /// never a part that would look complete.
    pub fn rows(&self, range: Range, stop: &AtomicBool) -> Result<Vec<Row>, ReportError> {
        let Some(roster) = self.roster.borrow().clone() else {
            return Err(ReportError::NotYet);
        };
        let read = self.store.read()?;
        let mut out = Vec::new();
        for (id, objective) in roster.iter() {
            if stop.load(Ordering::Relaxed) {
                return Err(ReportError::Stopped);
            }
            // Not saved yet (only before its first save): nothing is held, as in memory.
            let stored = read.load(id)?.unwrap_or_default();
            out.extend(rows(id, &stored, Some(*objective), range));
        }
        Ok(out)
    }
}

impl crate::http::Reports for LiveReports {
    fn rows(&self, range: Range, stop: &AtomicBool) -> Result<Vec<Row>, ReportError> {
        LiveReports::rows(self, range, stop)
    }
}
