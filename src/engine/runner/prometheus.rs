//! The Prometheus API as the engine's source: each tick, every SLO's [`read_plan`] is carried
//! out ([`catch_up`]), steady samples shared between SLOs ([`batch`]), SLOs worked on
//! concurrently within a limit, and one cheap probe stands in for the SLOs already up to date.

use super::*;

/// The Prometheus API, read by the engine's own plans.
pub struct PrometheusSource {
    pub querier: Querier,
    /// How long after its timestamp a sample may still appear (`query_lag`).
    pub lag: Duration,
    /// SLOs that needed a backfill in the last tick (logged when it changes).
    last_backfilling: usize,
    /// Why the last idle-tick probe failed, if it did.
    source_error: Option<String>,
}

impl PrometheusSource {
    pub fn new(querier: Querier, lag: Duration) -> Self {
        Self {
            querier,
            lag,
            last_backfilling: 0,
            source_error: None,
        }
    }

    /// Brings every SLO's history up to `target` from Prometheus, concurrently.
    async fn query(&mut self, slos: &mut Vec<SloState>, tick: Tick<'_>) {
        let Tick {
            reach,
            now,
            progress,
            tasks,
        } = tick;
        let querier = self.querier.clone();
        let querier = &querier;
        let target = reach.minute;
        let mut set = JoinSet::new();
        let total = slos.len();
        // SLOs already up to date send no query this tick: one probe of the source stands in.
        let idle: Vec<bool> = slos
            .iter()
            .map(|s| s.fine_fed_until.is_some_and(|f| f >= s.reach(reach)))
            .collect();
        let backfilling = slos
            .iter()
            .filter(|s| {
                s.fine_fed_until
                    .is_none_or(|f| target - f > CATCHUP_MINUTES * FINE_SECS)
            })
            .count();
        if backfilling > 0 && backfilling != self.last_backfilling {
            tracing::info!(slos = backfilling, "backfilling history from the source");
        }
        self.last_backfilling = backfilling;
        // SLOs that share a metric family backfill together, before the rest.
        let mut caught_up = backfill::backfill_shared(slos, querier, reach).await;
        prefetch(slos, querier, reach).await;
        let slots = Arc::new(Semaphore::new(tasks.max(1)));
        for (index, mut state) in std::mem::take(slos).into_iter().enumerate() {
            let q = querier.clone();
            let slots = slots.clone();
            let done_already = caught_up.remove(&index);
            set.spawn(async move {
                let result = match done_already {
                    Some(result) => result,
                    None => {
                        let _slot = slots.acquire_owned().await;
                        catch_up(&mut state, &q, reach).await
                    }
                };
                match &result {
                    // Nothing new to read yet: freshness stays what the last read made it (a
                    // restart is stale until the source has answered once).
                    Ok(false) => {}
                    Ok(true) => {
                        state.fresh = true;
                        state.last_evaluation = now;
                        if state.last_error.take().is_some() {
                            tracing::info!(slo = %state.slo.id(), "SLO data is readable again");
                        }
                    }
                    Err(e) => {
                        if let Some(outcome) = e.outcome() {
                            q.record_outcome(outcome, None);
                        }
                        state.fresh = false;
                        let msg = e.to_string();
                        // Log a failure when it starts or changes, not on every tick.
                        if state.last_error.as_deref() != Some(msg.as_str()) {
                            tracing::warn!(slo = %state.slo.id(), error = %msg, "cannot update SLO; keeping its last values, marked stale");
                            state.last_error = Some(msg);
                        }
                    }
                }
                state.report_presence();
                if state.groups_dropped > 0 {
                    tracing::warn!(slo = %state.slo.id(), cap = state.slo.max_groups, dropped = state.groups_dropped, "group_by cap reached: series of further groups are ignored (raise max_groups to track them)");
                }
                (index, state)
            });
        }
        let probe_failed = if idle.iter().any(|i| *i) {
            self.probe(target).await
        } else {
            false
        };
        let mut done: Vec<Option<SloState>> = vec![None; total];
        let mut finished = 0usize;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok((index, state)) => {
                    done[index] = Some(state);
                    finished += 1;
                    progress.store(finished, std::sync::atomic::Ordering::Relaxed);
                    if backfilling > 0 && total >= 10 && finished.is_multiple_of(total / 10) {
                        tracing::info!(done = finished, of = total, "evaluation progress");
                    }
                }
                Err(e) => tracing::error!(error = %e, "an SLO task failed"),
            }
        }
        *slos = done.into_iter().flatten().collect();
        for (s, idle) in slos.iter_mut().zip(idle) {
            if idle {
                // Up to date and the source answers: fresh; the source fails: stale.
                s.fresh = !probe_failed && s.last_error.is_none();
            }
        }
    }

    /// One cheap query; true when the source failed it (counted like any request). Logged
    /// when the failure starts, changes or ends, not at every tick.
    async fn probe(&mut self, at: i64) -> bool {
        match self.querier.instant("vector(1)", at).await {
            Ok(_) => {
                if self.source_error.take().is_some() {
                    tracing::info!("the source answers again");
                }
                false
            }
            Err(e) => {
                let msg = e.to_string();
                if self.source_error.as_deref() != Some(msg.as_str()) {
                    tracing::warn!(error = %msg, "the source is failing; every SLO is marked stale");
                    self.source_error = Some(msg);
                }
                true
            }
        }
    }
}

impl Source for PrometheusSource {
    fn advance<'a>(&'a mut self, slos: &'a mut Vec<SloState>, tick: Tick<'a>) -> Advance<'a> {
        Box::pin(self.query(slos, tick))
    }

    fn health(&self) -> Health {
        match self.querier.stats.lock() {
            Ok(s) => Health {
                requests_by_outcome: s.by_outcome.clone(),
                request_duration: s.duration.clone(),
                scrape_targets: Vec::new(),
            },
            Err(_) => Health::default(),
        }
    }

    fn lag(&self) -> Duration {
        self.lag
    }
}

/// Reads this tick's samples for every counter SLO that reads samples this tick (a steady
/// tick, or a gap up to [`CATCHUP_MINUTES`]) with queries shared between SLOs ([`batch`]),
/// in slices of [`read_plan::RAW_SLICE_SECS`] oldest first, leaving each SLO its share for its
/// catch-up. SLOs read up to different instants (one failed last tick) are batched apart.
async fn prefetch(slos: &mut [SloState], q: &Querier, reach: Reach) {
    let mut by_from: BTreeMap<i64, Vec<(usize, Vec<CounterRead>)>> = BTreeMap::new();
    for (i, s) in slos.iter_mut().enumerate() {
        s.prefetched = None;
        let samples = s
            .read_plan(reach)
            .filter(|p| p.how == read_plan::FineRead::Samples);
        let ready = s.series.seeded && (s.plan.le_lookup().is_none() || s.plan.le_value.is_some());
        if let (Some(p), true) = (samples, ready)
            && let Some(reads) = s.plan.counter_reads()
        {
            by_from.entry(p.fine.from).or_default().push((i, reads));
        }
    }
    let to = reach.instant;
    for (from, reads) in by_from {
        let (batches, batched) = batch::plan(&reads);
        let mut shares = batch::Shares::new();
        let mut failed: BTreeMap<usize, SourceError> = BTreeMap::new();
        for b in &batches {
            for (end, secs) in read_plan::raw_slices(from, to) {
                let expr = format!("{}[{secs}s]", b.selector);
                match q.instant(&expr, end).await {
                    Ok(answer) => b.dispatch(answer, &mut shares),
                    Err(e) => {
                        for slo in b.slos() {
                            failed.insert(slo, e.clone());
                        }
                        break;
                    }
                }
            }
        }
        for slo in batched {
            let answer = match failed.remove(&slo) {
                Some(e) => Err(e),
                None => Ok(shares.remove(&slo).unwrap_or_default()),
            };
            slos[slo].prefetched = Some(Prefetched { from, to, answer });
        }
    }
}
