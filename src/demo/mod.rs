//! `sloburn demo`: a synthetic shop, the engine scraping it, and past history that looks real.

pub mod shop;

use crate::core::{Counts, PromDuration};
use crate::engine::history::{FINE_SECS, FINE_SPAN_SECS};
use crate::engine::runner::Engine;
use crate::spec::Sli;

/// The demo's specs (also in `slo-specs/demo/shop.yaml`).
pub const SPECS: &str = include_str!("../../slo-specs/demo/shop.yaml");

/// The shop's events over [from, to) for one SLO and group, by integrating its script in
/// 10-second steps.
fn events(sli: &Sli, group: Option<&str>, from: i64, to: i64, start: f64) -> Counts {
    let mut c = Counts::default();
    let mut t = from as f64;
    let step = 10.0;
    while t < to as f64 {
        let k = shop::conditions(t, start);
        match sli {
            Sli::Ratio { .. } => {
                for (i, (route, rps)) in shop::ROUTES.iter().enumerate() {
                    if group.is_some_and(|g| g != *route) {
                        continue;
                    }
                    c.total += rps * step;
                    c.bad += rps * step * k.error_share[i];
                }
            }
            Sli::Latency { .. } => {
                let n: f64 = shop::ROUTES.iter().map(|(_, r)| r * step).sum();
                c.total += n;
                c.bad += n * k.slow_share;
            }
            Sli::Threshold { value, .. } => {
                // One slice a minute, judged at its start.
                if (t as i64).rem_euclid(60) < step as i64 {
                    c.total += 1.0;
                    if k.pool >= *value {
                        c.bad += 1.0;
                    }
                }
            }
            Sli::Events { .. } | Sli::Raw { .. } => {}
        }
        t += step;
    }
    c
}

/// Fills `history` of the past (hours beyond the last 3 days, minutes within them) for every
/// demo SLO that has no history yet, up to the minute before `start`.
pub fn prefill(engine: &mut Engine, history: PromDuration, start: f64) {
    let end = (start as i64).div_euclid(FINE_SECS) * FINE_SECS;
    let from = end - history.as_secs() as i64;
    for state in &mut engine.slos {
        if state.fine_fed_until.is_some() {
            continue; // a restart keeps its real history
        }
        let groups: Vec<Option<&str>> = if state.slo.group_by.is_empty() {
            vec![None]
        } else {
            shop::ROUTES.iter().map(|(r, _)| Some(*r)).collect()
        };
        let sli = state.slo.sli.clone();
        for g in groups {
            let (key, labels) = match g {
                None => (String::new(), Vec::new()),
                Some(route) => (
                    format!("route={route}"),
                    vec![("route".to_string(), route.to_string())],
                ),
            };
            let h = state.group_mut(&key, labels);
            let res = h.coarse_res();
            let fine_from = (end - FINE_SPAN_SECS).max(from);
            let mut t = from.div_euclid(res) * res + res;
            while t <= fine_from.div_euclid(res) * res {
                h.push_coarse(t, events(&sli, g, t - res, t, start));
                t += res;
            }
            let mut m = fine_from.div_euclid(FINE_SECS) * FINE_SECS + FINE_SECS;
            while m <= end {
                h.push_minute(m, events(&sli, g, m - FINE_SECS, m, start));
                m += FINE_SECS;
            }
            h.mark_empty_until(end);
        }
        state.fine_fed_until = Some(end);
        state.coarse_fed_until = Some(end);
    }
}

#[cfg(test)]
mod tests;
