//! What the engine keeps about one SLO: its groups' histories, marks, series state and what
//! the log has said; and the fingerprint that decides whether a stored history continues.

use super::*;
use crate::core::record::Record;
use crate::store::StoreError;

/// One group of an SLO (the only one for an ungrouped SLO, with key `""`).
#[derive(Debug, Clone)]
pub struct Group {
    pub labels: Pairs,
    pub history: History,
    /// Unix seconds of the newest instant the source showed this group any series (for
    /// counter SLIs, of its `total` selector); `None` until it has.
    pub seen: Option<i64>,
    /// When its alerts and freeze were active ([`Record`]), and whether that changed since the
    /// last save.
    pub record: Record,
    pub record_unsaved: bool,
}

/// Everything the engine keeps about one SLO.
#[derive(Debug, Clone)]
pub struct SloState {
    pub slo: Slo,
    /// The texts naming this SLO's series, built with `slo` (rebuilt whenever `slo` changes).
    pub names: SloNames,
    pub plan: QueryPlan,
    pub fingerprint: String,
    /// Boxed: a map node holds room for 11 entries, and a `Group` inline (its history's ring
    /// headers) would cost ~3 KiB per SLO for the one group most SLOs have.
    pub groups: BTreeMap<String, Box<Group>>,
    pub fine_fed_until: Option<i64>,
    pub coarse_fed_until: Option<i64>,
    /// The oldest instant the coarse buckets were read from; a longer period (a changed spec)
    /// reads what lies before it. `None`: the whole period (histories stored before it was kept).
    pub coarse_from: Option<i64>,
    /// Whether the next save replaces every stored row (the buckets were rebuilt at another
    /// resolution).
    pub rewrite: bool,
    pub fresh: bool,
    pub last_evaluation: f64,
    /// Why the last tick failed, if it did (logged once per change, not per tick).
    pub last_error: Option<String>,
    /// Groups seen beyond `max_groups` in the last tick.
    pub groups_dropped: usize,
    /// Groups dropped since the last save, whose stored rows the next save deletes.
    pub evicted: Vec<String>,
    /// The last sample of each counter series read (counter SLIs only).
    pub series: SeriesState,
    /// Whether the source has answered for this SLO since the process started (or its history
    /// was restored): before that, it has no data of its own.
    pub answered: bool,
    /// The reads that matched a series since the process started (for the log).
    pub matched: BTreeSet<Role>,
    /// What the log last said about this SLO's data being absent (said once, not every tick).
    pub said_no_data: Option<String>,
    /// Whether the log has said that the errors selector matches no series.
    pub said_no_errors: bool,
    /// Whether the scrape interval behind a templated query was looked at (once per process).
    pub checked_scrapes: bool,
    /// Whether any group has had a series within the series memory (updated each tick).
    pub any_recent: bool,
    /// This tick's samples, read by a query shared with other SLOs (taken by the tick).
    pub prefetched: Option<Prefetched>,
}

impl SloState {
    /// What this SLO reads to be brought up to `reach` ([`read_plan::plan`] of its marks).
    pub fn read_plan(&self, reach: Reach) -> Option<ReadPlan> {
        read_plan::plan(
            read_plan::Marks {
                fed: self.fine_fed_until,
                coarse_fed: self.coarse_fed_until,
                coarse_from: self.coarse_covered_from(),
            },
            reach,
            self.plan.counts_samples(),
            &self.slo.period,
        )
    }

    /// A fresh state, or one rebuilt from the store when the SLI definition is unchanged.
    pub fn new(slo: Slo, stored: Option<StoredSlo>) -> Self {
        let fingerprint = fingerprint(&slo);
        let windows = slo.alerting.windows.windows();
        let mut state = Self {
            plan: QueryPlan::new(&slo),
            names: SloNames::new(&slo),
            fingerprint: fingerprint.clone(),
            groups: BTreeMap::new(),
            fine_fed_until: None,
            coarse_fed_until: None,
            coarse_from: None,
            rewrite: false,
            fresh: false,
            last_evaluation: 0.0,
            last_error: None,
            groups_dropped: 0,
            evicted: Vec::new(),
            series: SeriesState::default(),
            answered: false,
            matched: BTreeSet::new(),
            said_no_data: None,
            said_no_errors: false,
            checked_scrapes: false,
            any_recent: false,
            prefetched: None,
            slo,
        };
        if let Some(stored) = stored.filter(|s| continues(&state.slo, s)) {
            let res = crate::engine::history::coarse_resolution(&state.slo.period);
            // Stored at another resolution (the period changed while stopped): rebuilt, and
            // saved whole at the next save.
            // Files written before the resolution and the start were kept: read from the
            // stored buckets ([`StoredSlo::coarse_res`]).
            let stored_res = stored.coarse_res();
            state.rewrite = stored_res.is_some_and(|r| r != res);
            state.coarse_from = stored.coarse_from();
            for (key, labels) in &stored.meta.groups {
                let buckets = stored.buckets.get(key).map(Vec::as_slice).unwrap_or(&[]);
                let history = History::restore_from(
                    &state.slo.period,
                    &windows,
                    buckets,
                    stored.meta.fine_fed_until,
                    stored.meta.coarse_fed_until,
                    stored_res,
                );
                let mut history = history;
                if state.rewrite {
                    history.mark_all_unsaved();
                }
                // The ring of this period may hold less than was stored.
                if let (Some(from), Some(oldest)) = (state.coarse_from, history.coarse_oldest()) {
                    state.coarse_from = Some(from.max(oldest));
                }
                state.groups.insert(
                    key.clone(),
                    Box::new(Group {
                        labels: labels.as_slice().into(),
                        history,
                        seen: stored.meta.seen.get(key).copied(),
                        record: stored.records.get(key).cloned().unwrap_or_default(),
                        record_unsaved: false,
                    }),
                );
            }
            state.fine_fed_until = stored.meta.fine_fed_until;
            state.coarse_fed_until = stored.meta.coarse_fed_until;
            // The stored numbers are the source's earlier answers (shown stale until it answers).
            state.answered = stored.meta.fine_fed_until.is_some();
            state.series = SeriesState {
                last: stored
                    .meta
                    .series
                    .iter()
                    .filter_map(|s| {
                        let role = Role::from_code(s.role)?;
                        let last = crate::core::counter::LastSample {
                            t_ms: s.t_ms,
                            value: s.value,
                        };
                        Some(((role, s.series.clone()), last))
                    })
                    .collect(),
                seeded: stored.meta.series_seeded,
            };
        }
        // Every SLO has a series from the start, so it is exported (without data) before the
        // source ever answered: an ungrouped SLO its one, a grouped one a stand-in without
        // group labels until its first group appears (else an SLO whose selector matches
        // nothing would not show at all, and the gate would not know it).
        if state.groups.is_empty() {
            group_of(&mut state, "");
        }
        state.update_recent();
        state
    }

    /// Where the coarse buckets begin now: where they were first read from, or the oldest
    /// bucket the rings still hold when that is later (old buckets leave as time goes on).
    pub fn coarse_covered_from(&self) -> Option<i64> {
        let from = self.coarse_from?;
        let oldest = self
            .groups
            .values()
            .filter_map(|g| g.history.coarse_oldest())
            .max();
        Some(oldest.map_or(from, |o| from.max(o)))
    }

    /// The history of one group, created with these labels if new (key `""` when ungrouped).
    pub fn group_mut(&mut self, key: &str, labels: Vec<(String, String)>) -> &mut History {
        let g = group_of(self, key);
        if g.labels.is_empty() {
            g.labels = labels.into();
        }
        &mut g.history
    }

    /// Why a group of this SLO has no data to show, or `None` when it has: before the source
    /// first answered usably, while nothing matches, or when the SLO's series have all been
    /// silent for longer than the series memory. A group gone quiet while others have data keeps
    /// its numbers: its history is real and only its traffic stopped (a retired route, a pod
    /// replaced). Zero traffic on series that exist is data (0 events).
    pub fn no_data(&self, g: &Group) -> Option<Arc<str>> {
        if !self.answered {
            return Some(match &self.last_error {
                Some(e) => format!("no usable answer from the source yet: {e}").into(),
                None => "no answer from the source yet".into(),
            });
        }
        if self.recent(g) || (g.seen.is_some() && self.any_recent) {
            return None;
        }
        match g.seen {
            None => Some(format!("no series matches {}", self.data_query()).into()),
            Some(t) => {
                let when = crate::core::rfc3339(t);
                Some(format!("no series of {} since {when}", self.data_query()).into())
            }
        }
    }

    /// Whether the source showed this group a series within the series memory.
    pub(super) fn recent(&self, g: &Group) -> bool {
        match (g.seen, self.fine_fed_until) {
            (Some(t), Some(fed)) => fed - t <= SERIES_MEMORY_MS / 1000,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Recomputes whether any group has recent data (once per tick, not per group).
    pub(super) fn update_recent(&mut self) {
        self.any_recent = self.groups.values().any(|g| self.recent(g));
    }

    /// The selector or query whose series show that the SLO has data.
    pub(super) fn data_query(&self) -> String {
        if let Some(total) = self.plan.total_selector() {
            return total;
        }
        match &self.slo.sli {
            crate::spec::Sli::Events { total_query, .. } => total_query.trim().to_string(),
            crate::spec::Sli::Raw { error_ratio_query } => error_ratio_query.trim().to_string(),
            crate::spec::Sli::Threshold { query, .. } => query.trim().to_string(),
            other => other.kind().to_string(),
        }
    }

    /// Logs, once per change, that the SLO has no data (and why) or has it again, and once that
    /// its errors selector matches no series (errors then count as 0: often a typo).
    pub fn report_presence(&mut self) {
        self.update_recent();
        if !self.answered {
            return;
        }
        let missing: Vec<Arc<str>> = self
            .groups
            .values()
            .filter_map(|g| self.no_data(g))
            .collect();
        let now = (!missing.is_empty() && missing.len() == self.groups.len())
            .then(|| missing[0].to_string());
        if now != self.said_no_data {
            match &now {
                Some(why) => {
                    tracing::warn!(slo = %self.slo.id(), reason = %why, "the SLO has no data: no budget, ratio or burn rate is exported for it, and its service's gate cannot tell")
                }
                None => tracing::info!(slo = %self.slo.id(), "the SLO has data again"),
            }
            self.said_no_data = now;
        }
        let errors = self
            .plan
            .counter_reads()
            .and_then(|r| r.into_iter().find(|r| r.role == Role::Bad));
        if let Some(errors) = errors
            && !self.said_no_errors
            && self.matched.contains(&Role::Total)
            && !self.matched.contains(&Role::Bad)
        {
            tracing::warn!(slo = %self.slo.id(), selector = %errors.selector, "no series matches the errors selector (yet): errors count as 0 until one appears; check it for a typo");
            self.said_no_errors = true;
        }
    }

    /// How far this SLO reads at `reach`: counter SLIs to its instant, others to its minute.
    pub fn reach(&self, reach: Reach) -> i64 {
        if self.plan.counts_samples() {
            reach.instant
        } else {
            reach.minute
        }
    }

    /// The stored form of this SLO's markers.
    pub fn meta(&self) -> SloMeta {
        SloMeta {
            fingerprint: self.fingerprint.clone(),
            fine_fed_until: self.fine_fed_until,
            coarse_fed_until: self.coarse_fed_until,
            groups: self
                .groups
                .iter()
                .map(|(k, g)| (k.clone(), g.labels.to_vec()))
                .collect(),
            seen: self
                .groups
                .iter()
                .filter_map(|(k, g)| Some((k.clone(), g.seen?)))
                .collect(),
            series: self
                .series
                .last
                .iter()
                .map(|((role, series), last)| StoredSeries {
                    role: role.code(),
                    series: series.clone(),
                    t_ms: last.t_ms,
                    value: last.value,
                })
                .collect(),
            series_seeded: self.series.seeded,
            absent_since: None,
            coarse_from: self.coarse_covered_from(),
            coarse_res: Some(crate::engine::history::coarse_resolution(&self.slo.period)),
            objective: Some(self.slo.objective.ratio()),
            corrections: self.slo.corrections.clone(),
            record_tails: self
                .groups
                .iter()
                .filter_map(|(k, g)| Some((k.clone(), g.record.last?)))
                .collect(),
        }
    }
}

/// Whether a stored history is this SLO's: stored under its identity (or the one written
/// before `v1`).
pub fn continues(slo: &Slo, stored: &StoredSlo) -> bool {
    stored.meta.fingerprint == fingerprint(slo)
        || stored.meta.fingerprint == legacy_fingerprint(slo)
}

/// The states of `slos` at start, each from its stored history when that is still its own. A
/// stored history of a changed SLI is deleted here, or its old rows would be loaded again
/// with the new history's marks at the next start.
pub fn load_states(slos: Vec<Slo>, store: Option<&Store>) -> Result<Vec<SloState>, StoreError> {
    slos.into_iter().map(|slo| load_state(slo, store)).collect()
}

/// One SLO's state from its stored history when that is still its own (see [`load_states`]).
pub fn load_state(slo: Slo, store: Option<&Store>) -> Result<SloState, StoreError> {
    let mut stored = match store {
        Some(store) => store.load(&slo.id())?,
        None => None,
    };
    if let (Some(store), Some(old)) = (store, &stored)
        && !continues(&slo, old)
    {
        tracing::info!(slo = %slo.id(), "SLI definition changed since the history was stored: starting a fresh history");
        store.remove(&slo.id())?;
        stored = None;
    }
    Ok(SloState::new(slo, stored))
}

/// What identifies an SLO's history: its SLI, grouping and how it is counted. A change to any
/// (a new query) starts a fresh history; a change to the objective or alerting keeps it, and
/// so does a selector written differently for the same series (spacing, quotes, matcher
/// order).
///
/// The encoding is versioned (`v1:`) and pinned by a test: the fields are listed by name in a
/// JSON array, so a new field in a Rust type changes nothing stored.
///
/// ```
/// # let text = "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n    sli:\n      ratio:\n        errors: x{code=\"500\"}\n        total: x\n";
/// # let slo = sloburn::spec::load::load_bytes("t.yaml", text.as_bytes()).slos.remove(0);
/// assert!(sloburn::engine::runner::fingerprint(&slo).starts_with("v1:"));
/// ```
pub fn fingerprint(slo: &Slo) -> String {
    use crate::spec::Sli;
    let selector = |s: &crate::spec::Selector| {
        let mut matchers: Vec<String> = s.matchers.iter().map(|m| m.promql()).collect();
        matchers.sort();
        format!("{}{{{}}}", s.metric, matchers.join(","))
    };
    let mut fields: Vec<String> = vec!["sli".into(), slo.sli.kind().into()];
    match &slo.sli {
        Sli::Ratio { errors, total } => {
            fields.extend([
                "errors".into(),
                selector(errors),
                "total".into(),
                selector(total),
            ]);
        }
        Sli::Latency {
            histogram,
            threshold,
        } => {
            fields.extend([
                "histogram".into(),
                selector(histogram),
                "threshold".into(),
                format!("{:016x}", threshold.to_bits()),
            ]);
        }
        Sli::Events {
            error_query,
            total_query,
        } => {
            fields.extend([
                "error_query".into(),
                error_query.trim().into(),
                "total_query".into(),
                total_query.trim().into(),
            ]);
        }
        Sli::Raw { error_ratio_query } => {
            fields.extend(["error_ratio_query".into(), error_ratio_query.trim().into()]);
        }
        Sli::Threshold {
            query,
            op,
            value,
            slice,
        } => {
            fields.extend([
                "query".into(),
                query.trim().into(),
                "op".into(),
                op.as_str().into(),
                "value".into(),
                format!("{:016x}", value.to_bits()),
                "slice_ms".into(),
                slice.as_millis().to_string(),
            ]);
        }
    }
    fields.push("group_by".into());
    fields.extend(slo.group_by.iter().cloned());
    // Counter SLIs counted from raw samples (since 0.3) do not continue a history of
    // `increase()` buckets, which read 0 at a 60 s scrape interval.
    if QueryPlan::new(slo).counter_reads().is_some() {
        fields.push("counted-from-samples".into());
    }
    let text = serde_json::to_string(&fields).unwrap_or_default();
    format!("v1:{:016x}", fnv1a(text.as_bytes()))
}

/// The identity written before `v1` (a hash of Rust `Debug` output), accepted once at start so
/// an upgrade keeps the stored history; the next save stores the `v1` form.
pub fn legacy_fingerprint(slo: &Slo) -> String {
    let counted = if QueryPlan::new(slo).counter_reads().is_some() {
        "|counted-from-samples"
    } else {
        ""
    };
    let text = format!("{:?}|{:?}{counted}", slo.sli, slo.group_by);
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// FNV-1a: stable across builds and platforms, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
