//! Saving what a tick changed: each SLO's new and changed chunks, its meta, dropped groups,
//! in batches of bounded size, with failed saves marked for the next one.

use super::*;

impl Engine {
    /// Writes every SLO's unsaved chunks to the store (nothing without one).
    pub(super) async fn persist(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        // In batches of about BATCH_BYTES of encoded chunks: a cold start writes every SLO's
        // whole history (~46 KB each) at once, and one transaction per batch (its chunks and
        // redb's dirty pages in memory until the commit) bounds the peak; a steady tick (~0.5 KB
        // per SLO) is one or a few commits. Markers travel with their chunks, so a crash between
        // batches loses nothing: the unsaved SLOs' minutes are queried again. Changed alert
        // records count too (estimated from their span counts: they are serialised in the
        // transaction).
        const BATCH_BYTES: usize = 1 << 20;
        let mut result: Option<String> = None;
        let mut next = 0;
        while next < self.slos.len() {
            let mut metas = Vec::new();
            let mut dirty = Vec::new();
            let mut records = Vec::new();
            let mut bytes = 0;
            while bytes < BATCH_BYTES
                && let Some(s) = self.slos.get_mut(next)
            {
                next += 1;
                metas.push((s.slo.id(), s.meta(), std::mem::take(&mut s.rewrite)));
                // Changed alert records (cloned: a failed save marks them unsaved again).
                records.push(
                    s.groups
                        .iter_mut()
                        .filter(|(_, g)| g.record_unsaved)
                        .map(|(k, g)| {
                            g.record_unsaved = false;
                            (k.clone(), g.record.clone())
                        })
                        .collect::<Vec<_>>(),
                );
                let mut groups: Vec<(String, _, _)> = s
                    .groups
                    .iter_mut()
                    .map(|(k, g)| {
                        (
                            k.clone(),
                            g.history
                                .take_dirty()
                                .iter()
                                .map(crate::store::change)
                                .collect::<Vec<_>>(),
                            g.history.retention_floor(),
                        )
                    })
                    .collect();
                // Dropped groups: every stored row goes.
                groups.extend(
                    s.evicted
                        .drain(..)
                        .map(|k| (k, Vec::new(), (i64::MAX, i64::MAX))),
                );
                bytes += records
                    .last()
                    .into_iter()
                    .flatten()
                    .map(|(_, r)| r.approx_bytes())
                    .sum::<usize>();
                bytes += groups
                    .iter()
                    .flat_map(|(_, rows, _)| rows)
                    .map(|(_, _, b)| b.as_ref().map_or(16, Vec::len))
                    .sum::<usize>();
                dirty.push(groups);
            }
            let first = next - dirty.len();
            let store = store.clone();
            // The batch's rows come back with the outcome: on failure exactly what it wrote is
            // marked unsaved again, with nothing set aside for the (usual) success.
            let saved = tokio::task::spawn_blocking(move || {
                let changes: Vec<SloChanges> = metas
                    .iter()
                    .zip(dirty.iter())
                    .zip(records.iter())
                    .map(|(((id, meta, replace), groups), records)| SloChanges {
                        id,
                        meta,
                        replace: *replace,
                        records: records.iter().map(|(k, r)| (k.as_str(), r)).collect(),
                        chunks: groups
                            .iter()
                            .map(|(k, rows, _)| (k.as_str(), rows.as_slice()))
                            .collect(),
                        prune: groups
                            .iter()
                            .map(|(k, _, floor)| (k.as_str(), *floor))
                            .collect(),
                    })
                    .collect();
                let outcome = store.save(&changes);
                drop(changes);
                (outcome, metas, dirty, records)
            })
            .await;
            match saved {
                Ok((Ok(()), ..)) => {}
                Ok((Err(e), metas, dirty, records)) => {
                    for (k, (((_, _, replace), groups), records)) in
                        metas.into_iter().zip(dirty).zip(records).enumerate()
                    {
                        let state = &mut self.slos[first + k];
                        state.rewrite |= replace;
                        for (key, _) in records {
                            if let Some(g) = state.groups.get_mut(&key) {
                                g.record_unsaved = true;
                            }
                        }
                        for (key, rows, _) in groups {
                            let marks = rows.iter().map(|(t, s, _)| (*t, *s));
                            match state.groups.get_mut(&key) {
                                Some(g) => g.history.mark_unsaved(marks),
                                None => state.evicted.push(key),
                            }
                        }
                    }
                    result = Some(format!(
                        "cannot save the history ({e}); it is kept in memory and saved again at the next tick"
                    ));
                    break;
                }
                Err(e) => {
                    // The rows went down with the task: save these SLOs whole next time.
                    for state in &mut self.slos[first..next] {
                        state.rewrite = true;
                        for g in state.groups.values_mut() {
                            g.history.mark_all_unsaved();
                            g.record_unsaved = true;
                        }
                    }
                    result = Some(format!(
                        "saving the history failed ({e}); it is saved again at the next tick"
                    ));
                    break;
                }
            }
        }
        if let Some(problem) = result {
            tracing::error!("{problem}");
        }
    }
}
