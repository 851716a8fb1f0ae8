//! The shared cell the evaluation loop publishes into and scrapes read from.

use std::sync::{Arc, RwLock};

use crate::engine::snapshot::Snapshot;

/// Holds the newest [`Snapshot`]; publishing replaces it whole.
///
/// The lock guards only an `Arc` swap or clone, so a scrape never holds up an evaluation for
/// longer than that, and readers never see half an evaluation.
///
/// ```
/// use sloburn::engine::snapshot::Snapshot;
/// use sloburn::exporter::SnapshotCell;
///
/// let cell = SnapshotCell::new();
/// assert!(cell.load().evaluated_at.is_none());
/// cell.publish(Snapshot { evaluated_at: Some(1.0), ..Snapshot::default() });
/// assert_eq!(cell.load().evaluated_at, Some(1.0));
/// ```
#[derive(Debug, Default)]
pub struct SnapshotCell {
    current: RwLock<Arc<Snapshot>>,
}

impl SnapshotCell {
    /// A cell holding an empty snapshot (nothing evaluated yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the current snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        let next = Arc::new(snapshot);
        // A poisoned lock still holds a whole `Arc` (a swap cannot be torn), so recovering the
        // guard is safe and keeps `/metrics` alive after an unrelated panic.
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let previous = std::mem::replace(&mut *guard, next);
        drop(guard);
        // The old snapshot may be large: free it outside the lock.
        drop(previous);
    }

    /// The current snapshot; cheap (an `Arc` clone).
    pub fn load(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }
}
