//! Backfills shared between SLOs. A first start or a long gap reads an SLO's period from
//! boundary values ([`counters`]): about twenty requests per SLO when each reads alone, so a
//! thousand SLOs cost Prometheus tens of thousands of requests. SLOs with the same read plan
//! whose reads share a metric family are read together instead, as steady ticks are
//! ([`batch`]): one set of queries per family for [`SLOS_PER_READ`] SLOs at a time, whose
//! answers are summed per SLO in sloburn. Each SLO's catch-up is then carried out at once from
//! what was read, so only one group's answers are held at a time. Other SLOs (templated SLIs,
//! reads that pin no label) catch up on their own.

use super::catch_up::{Backfilled, catch_up_from, resolve_le};
use super::*;

/// SLOs read together at most: bounds what one shared backfill holds in memory (their counts
/// for 3 days of minutes and the period's hours, about 0.3 MB per SLO series; 100 at a time
/// peaked at 110 MB of RSS for 1,000 SLOs, against 45 MB read one by one).
pub const SLOS_PER_READ: usize = 50;

/// Brings every SLO that needs a backfill of counter reads shared with others up to `reach`;
/// returns the outcome of each SLO it took on, by index. The rest are left untouched.
pub(super) async fn backfill_shared(
    slos: &mut [SloState],
    q: &Querier,
    reach: Reach,
) -> BTreeMap<usize, Result<bool, TickError>> {
    let mut by_plan: BTreeMap<ReadPlan, Vec<usize>> = BTreeMap::new();
    for (i, s) in slos.iter_mut().enumerate() {
        let Some(plan) = s.read_plan(reach).filter(|p| p.how == FineRead::Boundaries) else {
            continue;
        };
        if s.plan.counter_reads().is_none() {
            continue;
        }
        // Its reads name the threshold's bucket as the histogram spells it: looked up first
        // (a failure is left to the SLO's own catch-up, which reports it).
        if resolve_le(s, q, reach.minute).await.is_err() {
            continue;
        }
        by_plan.entry(plan).or_default().push(i);
    }
    let mut outcomes = BTreeMap::new();
    for (plan, members) in by_plan {
        for part in members.chunks(SLOS_PER_READ) {
            read_together(slos, q, reach, plan, part, &mut outcomes).await;
        }
    }
    outcomes
}

/// Reads `plan` for the SLOs `part` together and carries out each one's catch-up from it.
async fn read_together(
    slos: &mut [SloState],
    q: &Querier,
    reach: Reach,
    plan: ReadPlan,
    part: &[usize],
    outcomes: &mut BTreeMap<usize, Result<bool, TickError>>,
) {
    let reads: Vec<(usize, Vec<CounterRead>)> = part
        .iter()
        .filter_map(|&i| Some((i, slos[i].plan.counter_reads()?)))
        .collect();
    let (batches, batched) = batch::plan(&reads);
    // Even one SLO is read this way when it can be: its reads of one family (errors and
    // total) become one.
    if batched.is_empty() {
        return;
    }
    let group_bys: BTreeMap<usize, Vec<String>> = batched
        .iter()
        .map(|&i| (i, slos[i].slo.group_by.clone()))
        .collect();
    match read_shared(q, &batches, &group_bys, plan, reach.instant).await {
        Ok(mut read) => {
            for i in batched {
                let shared = read.remove(&i);
                let state = &mut slos[i];
                state.prefetched = shared.as_ref().map(|(_, after)| after.clone());
                let result = catch_up_from(state, q, reach, shared.map(|(b, _)| b)).await;
                outcomes.insert(i, result);
            }
        }
        // Refused for what it asks (too many samples, a regex the source reads otherwise):
        // each SLO reads on its own, as before shared reads, rather than fail at every tick.
        Err(e) if refused_query(&e) => {
            tracing::warn!(slos = batched.len(), error = %e, "the source refused a shared backfill; these SLOs are read one by one");
        }
        // The source is down or slow: every SLO of the group waits for the next tick.
        Err(e) => {
            tracing::debug!(slos = batched.len(), error = %e, "a shared backfill failed");
            for i in batched {
                outcomes.insert(i, Err(e.clone()));
            }
        }
    }
}

/// Whether the source refused a query for what it asks, not for being down or slow.
fn refused_query(e: &TickError) -> bool {
    matches!(
        e,
        TickError::Source(
            SourceError::Query { .. }
                | SourceError::BadResponse(_)
                | SourceError::Http {
                    status: 400..=499,
                    ..
                }
        )
    )
}

/// The shared reads of one plan: per SLO, what its catch-up takes, and its samples after the
/// fine span up to `instant` (for the steady read that follows at once).
async fn read_shared(
    q: &Querier,
    batches: &[batch::Batch],
    group_bys: &BTreeMap<usize, Vec<String>>,
    plan: ReadPlan,
    instant: i64,
) -> Result<BTreeMap<usize, (Backfilled, Prefetched)>, TickError> {
    let fine = plan.fine;
    // How many series one request reads, to size the span it covers.
    let mut series = 1;
    for b in batches {
        let count = q
            .instant(&format!("count({})", b.selector), fine.to)
            .await?;
        let n = count
            .first()
            .and_then(|s| s.points.first())
            .map_or(0.0, |p| p.1);
        series = series.max(n as usize);
    }
    let mut coarse = match plan.coarse {
        Some((span, res)) => Some(
            counters::read_boundaries(
                q,
                batches,
                group_bys,
                span.from,
                span.to,
                res.min(3600),
                series,
            )
            .await?,
        ),
        None => None,
    };
    let mut fine_counts =
        counters::read_boundaries(q, batches, group_bys, fine.from, fine.to, FINE_SECS, series)
            .await?;
    let mut samples = batch::Shares::new();
    for b in batches {
        counters::read_seeds(q, b, fine.to, instant, &mut samples).await?;
    }
    let mut lead = batch::Shares::new();
    if let Some(span) = plan.lead {
        for b in batches {
            counters::read_batch_raw(q, b, span.from, span.to, &mut lead).await?;
        }
    }
    let mut out = BTreeMap::new();
    for &slo in group_bys.keys() {
        // Up to the fine span's end the samples seed; after it they are the next read's.
        let (mut seed, mut after) = (Vec::new(), Vec::new());
        for (role, s) in samples.remove(&slo).unwrap_or_default() {
            let (before, later): (Vec<_>, Vec<_>) =
                s.points.iter().partition(|(t, _)| *t <= fine.to * 1000);
            for (part, points) in [(&mut seed, before), (&mut after, later)] {
                if !points.is_empty() {
                    part.push((
                        role,
                        Series {
                            labels: s.labels.clone(),
                            points,
                        },
                    ));
                }
            }
        }
        let backfilled = Backfilled {
            plan,
            lead: plan.lead.map(|span| Prefetched {
                from: span.from,
                to: span.to,
                answer: Ok(lead.remove(&slo).unwrap_or_default()),
            }),
            coarse: coarse
                .as_mut()
                .map(|c| c.remove(&slo).unwrap_or_else(|| Ok(Default::default()))),
            fine: fine_counts
                .remove(&slo)
                .unwrap_or_else(|| Ok(Default::default())),
            seed: Prefetched {
                from: fine.to,
                to: fine.to,
                answer: Ok(seed),
            },
        };
        let after = Prefetched {
            from: fine.to,
            to: instant,
            answer: Ok(after),
        };
        out.insert(slo, (backfilled, after));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_query_is_read_again_slo_by_slo() {
        let refused = [
            SourceError::Query {
                kind: "execution".into(),
                message: "query processing would load too many samples into memory".into(),
            },
            SourceError::BadResponse("response too large".into()),
            SourceError::Http {
                status: 422,
                body: String::new(),
            },
        ];
        let down = [
            SourceError::Unreachable("connection refused".into()),
            SourceError::Timeout(Duration::from_secs(30)),
            SourceError::Http {
                status: 503,
                body: String::new(),
            },
        ];
        assert!(refused.into_iter().all(|e| refused_query(&e.into())));
        assert!(!down.into_iter().any(|e| refused_query(&e.into())));
        assert!(!refused_query(&TickError::InvalidSample("+Inf".into())));
    }
}
