//! Bringing one SLO up to a tick's reach: carrying out its [`read_plan`], the `le` lookup of
//! latency SLIs, and the warning about templated buckets too short for the scrape interval.

use super::*;

/// Brings one SLO up to `reach`: counter SLIs read sample by sample up to its instant, other
/// SLIs (and backfills) in whole minutes up to its minute ([`read_plan::plan`]). A backfill of
/// a counter SLI ends at the whole minute; the samples since follow at once, as the next tick
/// would read them, so a cold start (`sloburn eval` too) shows the same numbers as the ticks.
pub async fn catch_up(state: &mut SloState, q: &Querier, reach: Reach) -> Result<bool, TickError> {
    catch_up_from(state, q, reach, None).await
}

/// What a backfill shared with other SLOs read for one SLO ([`super::backfill`]): its counts
/// for the plan's coarse and fine spans, and the raw samples that seed its series.
#[derive(Debug, Clone)]
pub struct Backfilled {
    /// The plan these reads carry out; another plan reads on its own.
    pub plan: ReadPlan,
    /// The samples of the plan's lead, if it has one.
    pub lead: Option<Prefetched>,
    pub coarse: Option<Result<counters::RoleCounts, TickError>>,
    pub fine: Result<counters::RoleCounts, TickError>,
    /// Each series' samples up to the fine span's end, from far enough back to find its last.
    pub seed: Prefetched,
}

/// [`catch_up`], with what a shared backfill read for this SLO (used when its plan is the one
/// carried out).
pub(super) async fn catch_up_from(
    state: &mut SloState,
    q: &Querier,
    reach: Reach,
    shared: Option<Backfilled>,
) -> Result<bool, TickError> {
    let Some(how) = catch_up_once(state, q, reach, shared).await? else {
        return Ok(false);
    };
    if how == FineRead::Boundaries {
        catch_up_once(state, q, reach, None).await?;
    }
    Ok(true)
}

/// One read plan carried out; which kind of fine read it was, or `None` when up to date.
async fn catch_up_once(
    state: &mut SloState,
    q: &Querier,
    reach: Reach,
    shared: Option<Backfilled>,
) -> Result<Option<FineRead>, TickError> {
    let Some(plan) = state.read_plan(reach) else {
        return Ok(None);
    };
    let mut shared = shared.filter(|s| s.plan == plan);
    let target = reach.minute;
    resolve_le(state, q, target).await?;
    let reads = state.plan.counter_reads();
    let good_reads = reads
        .as_ref()
        .is_some_and(|r| r.iter().any(|r| r.role == Role::Good));
    let group_by = state.slo.group_by.clone();
    if let Some((Span { from, to }, res)) = plan.coarse {
        let read = match &reads {
            // Boundaries an hour apart at most (the series memory covers every pair then),
            // gathered into the ring's wider buckets for long periods.
            Some(reads) => {
                let width = res.min(3600);
                let counts = match shared.as_mut().and_then(|s| s.coarse.take()) {
                    Some(counts) => counts?,
                    None => {
                        counters::read_boundaries_of(q, reads, &group_by, from, to, width).await?
                    }
                };
                rebucket(counts, res, good_reads)
            }
            None => source_buckets(state, q, from, to, res).await?,
        };
        for (key, g) in admit(state, read) {
            let group = group_of(state, &key);
            group.seen = group.seen.max(g.seen);
            for (t, c) in g.points {
                group.history.push_coarse(t, c);
            }
        }
        // The first backfill, or a longer period's older part, sets where the buckets begin
        // (a gap's read, from the last bucket on, does not).
        if state.coarse_fed_until.is_none() || state.coarse_from.is_some_and(|c| from < c) {
            state.coarse_from = Some(from);
        }
        state.coarse_fed_until = Some(state.coarse_fed_until.map_or(to, |c| c.max(to)));
    }
    let Span { from, to: upto } = plan.fine;
    let read = match (&reads, plan.how) {
        (Some(reads), FineRead::Boundaries) => {
            // The rest of the minute the last read ended in, sample by sample, on a copy of the
            // series (the seeds below replace them; nothing changes unless every read succeeds).
            let lead = match plan.lead {
                Some(Span { from, to }) => {
                    let mut series = state.series.clone();
                    let prefetched = shared
                        .as_mut()
                        .and_then(|s| s.lead.take())
                        .filter(|_| series.seeded);
                    let read = counters::read_raw(
                        q,
                        reads,
                        &group_by,
                        &mut series,
                        from,
                        to,
                        FINE_SECS,
                        prefetched,
                    );
                    Some(read.await?)
                }
                None => None,
            };
            let (mut counts, seed) = match shared {
                Some(s) => (s.fine?, Some(s.seed)),
                None => (
                    counters::read_boundaries_of(q, reads, &group_by, from, upto, FINE_SECS)
                        .await?,
                    None,
                ),
            };
            // Each series' last sample, for the steady reads that follow.
            let mut series = SeriesState::default();
            let seeds = counters::read_raw(
                q,
                reads,
                &group_by,
                &mut series,
                upto,
                upto,
                FINE_SECS,
                seed,
            )
            .await?;
            counters::merge(&mut counts, seeds);
            if let Some(lead) = lead {
                counters::merge(&mut counts, lead);
            }
            state.series = series;
            rebucket(counts, FINE_SECS, good_reads)
        }
        (Some(reads), _) => {
            let counts = counters::read_raw(
                q,
                reads,
                &group_by,
                &mut state.series,
                from,
                upto,
                FINE_SECS,
                state.prefetched.take(),
            )
            .await?;
            rebucket(counts, FINE_SECS, good_reads)
        }
        (None, _) => source_buckets(state, q, from, upto, FINE_SECS).await?,
    };
    for (key, g) in admit(state, read) {
        state.matched.extend(g.matched.iter().copied());
        let group = group_of(state, &key);
        group.seen = group.seen.max(g.seen);
        for (t, c) in g.points {
            if t <= upto {
                group.history.push_minute(t, c);
            } else {
                // The minute `upto` falls in: open until later reads close it.
                group.history.push_partial(upto, c);
            }
        }
    }
    for g in state.groups.values_mut() {
        g.history.mark_empty_until(upto);
    }
    state.fine_fed_until = Some(upto);
    state.coarse_fed_until = Some(state.coarse_fed_until.map_or(upto, |c| c.max(upto)));
    state.answered = true;
    if reads.is_none() && !state.checked_scrapes {
        state.checked_scrapes = warn_if_buckets_hold_one_sample(state, q, target).await;
    }
    Ok(Some(plan.how))
}

/// Templated PromQL is evaluated per 1-minute bucket by the source, so `rate(x[1m])` needs two
/// samples a minute: at a longer scrape interval its buckets read nothing. Said once per SLO,
/// with the way out; the inspection's own failures only go to the debug log. False to look again
/// at a later tick (nothing to judge yet, or the inspection failed).
pub(super) async fn warn_if_buckets_hold_one_sample(
    state: &SloState,
    q: &Querier,
    at: i64,
) -> bool {
    let templates: Vec<&str> = match &state.slo.sli {
        crate::spec::Sli::Events {
            error_query,
            total_query,
        } => vec![error_query, total_query],
        crate::spec::Sli::Raw { error_ratio_query } => vec![error_ratio_query],
        _ => return true,
    };
    let mut selectors: Vec<String> = templates
        .into_iter()
        .flat_map(crate::source::inspect::template_selectors)
        .collect();
    selectors.sort();
    selectors.dedup();
    // Decided once some selector could be judged (an errors selector often has no series
    // before the first error); while none can (no data yet), looked at again next tick.
    let mut judged = false;
    let mut failed = false;
    for selector in selectors {
        let started = Instant::now();
        let interval = {
            let _permit = q.limit.acquire().await;
            crate::source::inspect::scrape_interval(&q.client, &selector, at).await
        };
        q.record(
            &interval.as_ref().map(|_| ()).map_err(Clone::clone),
            started.elapsed(),
        );
        match interval {
            Ok(Some(i)) if i > Duration::from_secs(FINE_SECS as u64 / 2) => {
                tracing::warn!(
                    slo = %state.slo.id(),
                    selector = %selector,
                    scrape_interval = ?i,
                    "a 1-minute bucket of this templated query holds fewer than two samples at the observed scrape interval, so rate() over it reads nothing and the SLO undercounts; write the SLI as `ratio`/`latency` selectors or as sum(rate(SELECTOR[{{{{.window}}}}])), which sloburn counts exactly at any interval"
                );
                return true;
            }
            Ok(Some(_)) => judged = true,
            Ok(None) => {}
            Err(e) => {
                failed = true;
                tracing::debug!(slo = %state.slo.id(), selector = %selector, error = %e, "cannot estimate the scrape interval")
            }
        }
    }
    judged && !failed
}

/// Counter reads gathered into buckets of `width` seconds, as bad and total events.
pub(super) fn rebucket(
    counts: counters::RoleCounts,
    width: i64,
    good_reads: bool,
) -> BTreeMap<String, GroupRead> {
    counts
        .into_iter()
        .map(|(key, g)| {
            let mut points: BTreeMap<i64, Counts> = BTreeMap::new();
            let mut events: BTreeMap<i64, counters::RoleEvents> = BTreeMap::new();
            for (end, e) in g.buckets {
                events
                    .entry(crate::core::counter::bucket_end(end * 1000, width))
                    .or_default()
                    .add_all(e);
            }
            for (end, e) in events {
                points.insert(end, e.counts(good_reads));
            }
            (
                key,
                GroupRead {
                    labels: g.labels,
                    points,
                    seen: g.seen,
                    matched: g.matched,
                },
            )
        })
        .collect()
}

/// For latency SLIs, finds how the histogram writes the threshold's `le` (e.g. `0.3` or `0.30`).
pub(super) async fn resolve_le(
    state: &mut SloState,
    q: &Querier,
    at: i64,
) -> Result<(), TickError> {
    let (Some(lookup), Some(threshold)) = (state.plan.le_lookup(), state.plan.latency_threshold())
    else {
        return Ok(());
    };
    if state.plan.le_value.is_some() {
        return Ok(());
    }
    let series = q.instant(&lookup, at).await?;
    if series.is_empty() {
        return Ok(()); // no data yet: the default spelling is tried, and looked up again later
    }
    let boundaries = le_values_of(&series);
    match find_le(threshold, &boundaries) {
        Some(le) => {
            state.plan.le_value = Some(le.to_string());
            Ok(())
        }
        None => Err(TickError::NoSuchBucket {
            threshold,
            boundaries: boundaries.join(", "),
        }),
    }
}

/// Buckets of `step` seconds over `(from, to]` that the source evaluates (templated SLIs), paired
/// into groups.
async fn source_buckets(
    state: &SloState,
    q: &Querier,
    from: i64,
    to: i64,
    step: i64,
) -> Result<BTreeMap<String, GroupRead>, TickError> {
    let width = PromDuration::from_secs(step as u64);
    let queries = state.plan.bucket_queries(width);
    let pieces = match state.plan.bucket_subquery(width) {
        Some((range, slice)) => {
            crate::engine::counters::subquery_pieces(from + step, to, step, range, slice)
        }
        None => vec![(from + step, to)],
    };
    let (mut bad, mut total) = (Vec::new(), Vec::new());
    for (start, end) in pieces {
        let (b, t) = tokio::try_join!(
            q.range(&queries.bad, start, end, step),
            q.range(&queries.total, start, end, step),
        )?;
        bad.push(b);
        total.push(t);
    }
    let join = crate::source::join_ranges;
    pair(&state.slo.group_by, join(bad), join(total))
}
