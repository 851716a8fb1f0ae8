//! The scrape source as the engine's [`Source`]: the scraper gathers minutes in the background;
//! each tick moves the minutes up to the tick's reach into the histories.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::runner::{Advance, Health, SloState, Source, Tick, evict_gone, group_of};
use crate::scrape::Scraper;

/// The engine's view of a [`Scraper`].
pub struct ScrapeFeed(pub Arc<Scraper>);

impl Source for ScrapeFeed {
    fn advance<'a>(&'a mut self, slos: &'a mut Vec<SloState>, tick: Tick<'a>) -> Advance<'a> {
        take_scraped(&self.0, slos, tick.reach.minute, tick.now);
        Box::pin(std::future::ready(()))
    }

    /// Minutes are taken once a scrape that could still be attributed to them is over.
    fn lag(&self) -> Duration {
        self.0.timeout() + Duration::from_secs(1)
    }

    fn health(&self) -> Health {
        let (scrape_targets, requests_by_outcome, request_duration) = self.0.stats();
        Health {
            requests_by_outcome,
            request_duration,
            scrape_targets,
        }
    }
}

/// Moves the scraped minutes up to `target` into the histories.
fn take_scraped(scraper: &Scraper, slos: &mut [SloState], target: i64, now: f64) {
    for state in slos {
        let id = state.slo.id();
        evict_gone(state, &BTreeSet::new());
        for (key, labels, minute_end, counts) in scraper.drain(&id, target) {
            let group = group_of(state, &key);
            if group.labels.is_empty() {
                group.labels = labels.into();
            }
            // The scraper keeps a group's minute only when its series were scraped.
            group.seen = group.seen.max(Some(minute_end));
            group.history.push_minute(minute_end, counts);
        }
        for g in state.groups.values_mut() {
            g.history.mark_empty_until(target);
        }
        state.fine_fed_until = Some(state.fine_fed_until.map_or(target, |f| f.max(target)));
        state.coarse_fed_until = Some(state.coarse_fed_until.map_or(target, |f| f.max(target)));
        state.fresh = scraper.fresh(&id);
        if state.fresh {
            state.last_evaluation = now;
            state.answered = true;
        }
        state.report_presence();
    }
}
