//! The Prometheus API as the engine's source: each tick, every SLO's [`read_plan`] is carried
//! out ([`catch_up`]), steady samples shared between SLOs ([`batch`]), SLOs worked on
//! concurrently within a limit, and one cheap probe stands in for the SLOs already up to date.

use super::*;

/// The Prometheus API, read by the engine's own plans.
pub struct PrometheusSource {
    pub querier: Querier,
    /// How long after its timestamp a sample may still appear: `query_lag`, or learned.
    lag: Duration,
    /// When `query_lag` is not set: when to ask the source for its scrape durations next
    /// (`None`: at the next tick). Always `None` for a set lag, which is never learned.
    learning: Option<Learning>,
    /// SLOs that needed a backfill in the last tick (logged when it changes).
    last_backfilling: usize,
    /// Why the last idle-tick probe failed, if it did.
    source_error: Option<String>,
}

impl PrometheusSource {
    /// A source whose lag is `lag`, as set.
    pub fn new(querier: Querier, lag: Duration) -> Self {
        Self {
            querier,
            lag,
            learning: None,
            last_backfilling: 0,
            source_error: None,
        }
    }

    /// A source whose lag follows how long the scrapes take ([`lag`](super::lag)):
    /// [`FALLBACK_LAG`](super::lag::FALLBACK_LAG) until learned, asked again while ticking.
    pub fn learning(querier: Querier) -> Self {
        Self {
            learning: Some(Learning::default()),
            ..Self::new(querier, lag::FALLBACK_LAG)
        }
    }

    /// Asks the source for its scrape durations now, for the SLOs of `plans`, and takes the
    /// lag they give (`sloburn eval` does this once before its read). Nothing for a set lag.
    pub async fn learn_lag<'a>(
        &mut self,
        plans: impl IntoIterator<Item = &'a QueryPlan>,
        now: f64,
    ) {
        if self.learning.is_some() {
            let answer =
                ask_scrape_durations(&self.querier, lag::scrape_duration_query(plans), now).await;
            self.take_answer(&answer);
        }
    }

    /// Takes a lag query's answer; logs when the lag in use changes or the query starts
    /// failing, not at every ask.
    fn take_answer(&mut self, answer: &lag::Answer) {
        let Some(learning) = self.learning.as_mut() else {
            return;
        };
        let (lag, again) = lag::after_answer(self.lag, answer);
        learning.next = Some(Instant::now() + again);
        match answer {
            Err(e) => {
                if !learning.failing {
                    tracing::warn!(error = %e, lag = ?self.lag, "cannot learn the query lag from the source's scrape durations; keeping the lag in use");
                }
                learning.failing = true;
            }
            Ok(max) => {
                learning.failing = false;
                if lag != self.lag || !learning.told {
                    match max {
                        Some(s) => {
                            tracing::info!(lag = ?lag, longest_scrape_seconds = s, "query lag learned from the scrape durations")
                        }
                        None => {
                            tracing::info!(lag = ?lag, "the source shows no scrape_duration_seconds for the SLOs' targets: query lag falls back to the default")
                        }
                    }
                    learning.told = true;
                }
            }
        }
        self.lag = lag;
    }

    /// Takes the answer of the scrape-duration ask started at an earlier tick, if it is in,
    /// and starts the next when due. The ask runs in the background: a slow or failing
    /// source never holds a tick up for it, and a new lag applies from the next tick.
    async fn learn_in_background(&mut self, slos: &[SloState], now: f64) {
        let Some(learning) = self.learning.as_mut() else {
            return;
        };
        if learning.asking.as_ref().is_some_and(|a| a.is_finished())
            && let Some(asking) = learning.asking.take()
        {
            let answer = asking.await.unwrap_or_else(|e| Err(e.to_string()));
            self.take_answer(&answer);
        }
        let Some(learning) = self.learning.as_mut() else {
            return;
        };
        if learning.asking.is_none() && learning.next.is_none_or(|n| Instant::now() >= n) {
            let query = lag::scrape_duration_query(slos.iter().map(|s| &s.plan));
            learning.asking = Some(tokio::spawn(ask_scrape_durations(
                &self.querier,
                query,
                now,
            )));
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
        Box::pin(async move {
            self.learn_in_background(slos, tick.now).await;
            self.query(slos, tick).await;
        })
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

/// Where a learning source stands.
#[derive(Debug, Default)]
struct Learning {
    /// When to ask next; `None`: at the next tick.
    next: Option<Instant>,
    /// The ask under way.
    asking: Option<tokio::task::JoinHandle<lag::Answer>>,
    /// Whether the last ask failed (logged once, when it starts).
    failing: bool,
    /// Whether the lag was logged once (the first answer is logged even when it is the
    /// fallback the source started with).
    told: bool,
}

/// Asks for the longest recent scrape (counted as any request to the source).
fn ask_scrape_durations(
    q: &Querier,
    query: String,
    now: f64,
) -> impl Future<Output = lag::Answer> + Send + 'static {
    let q = q.clone();
    async move {
        q.instant(&query, now as i64)
            .await
            .map(|series| lag::longest(&series))
            .map_err(|e| e.to_string())
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
            if let Err(e) = counters::read_batch_raw(q, b, from, to, &mut shares).await {
                for slo in b.slos() {
                    failed.insert(slo, e.clone());
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
