//! Answers into groups: the group key of a series, pairing bad and total answers, and which
//! new groups an SLO may track under `max_groups`.

use super::*;
use crate::spec::labels::exported_name;

/// What one read gave for one group: its labels, counts per bucket end, and the newest instant
/// at which the source showed it any series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupRead {
    pub labels: Vec<(String, String)>,
    pub points: BTreeMap<i64, Counts>,
    pub seen: Option<i64>,
    /// Which of the SLO's reads (or bad/total queries) matched a series of this group.
    pub matched: BTreeSet<Role>,
}

/// The key of a series' group (its `group_by` label values, joined) and its labels, with
/// `value` giving a label's value. The store keys histories by it, so every source uses this.
///
/// ```
/// let by = ["route".to_string()];
/// let (key, labels) = sloburn::engine::runner::group_key(&by, |_| "/pay".to_string());
/// assert_eq!(key, "route=/pay");
/// assert_eq!(labels, [("route".to_string(), "/pay".to_string())]);
/// // A label sloburn sets itself is carried under Prometheus's name for a clashing label.
/// let by = ["service".to_string()];
/// let (key, labels) = sloburn::engine::runner::group_key(&by, |_| "cart".to_string());
/// assert_eq!(key, "exported_service=cart");
/// assert_eq!(labels, [("exported_service".to_string(), "cart".to_string())]);
/// ```
pub fn group_key(
    group_by: &[String],
    value: impl Fn(&str) -> String,
) -> (String, Vec<(String, String)>) {
    let pairs: Vec<(String, String)> = group_by
        .iter()
        .map(|l| (exported_name(l).into_owned(), value(l)))
        .collect();
    let key = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\u{1f}");
    (key, pairs)
}

pub fn group_of<'a>(state: &'a mut SloState, key: &str) -> &'a mut Group {
    // Looked up before inserting: the common case (a known group) allocates nothing.
    if !state.groups.contains_key(key) {
        // A grouped SLO's stand-in series gives way to its first real group (a real group's
        // key names its labels, so it is never `""`).
        if !key.is_empty() {
            state.groups.remove("");
        }
        let history = History::new(&state.slo.period, &state.slo.alerting.windows.windows());
        state.groups.insert(
            key.to_string(),
            Box::new(Group {
                labels: Pairs::default(),
                history,
                seen: None,
                record: Default::default(),
                record_unsaved: false,
            }),
        );
    }
    match state.groups.get_mut(key) {
        Some(g) => g,
        None => unreachable!("inserted above"),
    }
}

/// Joins the bad and total answers of bucket queries into counts per group and bucket end.
pub(super) fn pair(
    group_by: &[String],
    bad: Vec<Series>,
    total: Vec<Series>,
) -> Result<BTreeMap<String, GroupRead>, TickError> {
    if group_by.is_empty() && (bad.len() > 1 || total.len() > 1) {
        return Err(TickError::TooManySeries(bad.len().max(total.len())));
    }
    let mut out: BTreeMap<String, GroupRead> = BTreeMap::new();
    for (is_bad, series) in [(true, bad), (false, total)] {
        for s in series {
            let (key, labels) =
                group_key(group_by, |l| s.labels.get(l).cloned().unwrap_or_default());
            let g = out.entry(key).or_insert_with(|| GroupRead {
                labels,
                ..Default::default()
            });
            g.matched
                .insert(if is_bad { Role::Bad } else { Role::Total });
            for (t_ms, v) in s.points {
                let t = t_ms.div_euclid(1000);
                if v.is_infinite() {
                    return Err(TickError::InvalidSample(format!("{v} at {t}")));
                }
                if !is_bad {
                    // A point, even NaN (no traffic for a raw ratio), shows the series exists.
                    g.seen = g.seen.max(Some(t));
                }
                if v.is_nan() {
                    continue; // no data in that bucket (e.g. 0/0 with no traffic)
                }
                let c = g.points.entry(t).or_default();
                if is_bad {
                    c.bad += v.max(0.0);
                } else {
                    c.total += v.max(0.0);
                }
            }
        }
    }
    Ok(out)
}

/// The groups of a read the SLO may track: known ones, and new ones up to `max_groups`
/// (created with their labels); the rest are counted in `groups_dropped`.
pub(super) fn admit(
    state: &mut SloState,
    read: BTreeMap<String, GroupRead>,
) -> Vec<(String, GroupRead)> {
    let mut dropped = 0;
    let mut out = Vec::with_capacity(read.len());
    // A grouped SLO's stand-in series (key `""`) is no group: it leaves with the first one.
    let grouped = !state.slo.group_by.is_empty();
    // Groups in this read have series now, whatever their marks say.
    let live: BTreeSet<String> = read.keys().cloned().collect();
    evict_gone(state, &live);
    for (key, g) in read {
        if !state.groups.contains_key(&key) {
            let stand_in = usize::from(grouped && state.groups.contains_key(""));
            if state.groups.len() - stand_in >= state.slo.max_groups as usize
                && !make_room(state, &live)
            {
                dropped += 1;
                continue;
            }
            group_of(state, &key).labels = g.labels.clone().into();
        }
        out.push((key, g));
    }
    state.groups_dropped = dropped;
    out
}

/// How long a group must have shown no series before a new group may take its place under
/// `max_groups` (a pod replaced by a deploy, a route no longer served).
pub const GROUP_ROOM_AFTER_SECS: i64 = 3600;

/// Drops groups that have shown no series for a whole period: their history holds nothing
/// of the period any more, and a group that kept its full budget would read as healthy.
pub fn evict_gone(state: &mut SloState, live: &BTreeSet<String>) {
    let Some(now) = state.fine_fed_until else {
        return;
    };
    let period = state.slo.period.nominal().as_secs() as i64;
    let gone: Vec<String> = state
        .groups
        .iter()
        .filter(|(key, g)| {
            !key.is_empty() && !live.contains(*key) && g.seen.is_some_and(|t| now - t > period)
        })
        .map(|(key, _)| key.clone())
        .collect();
    for key in gone {
        evict(state, &key, "it has shown no series for a whole period");
    }
}

/// Makes room for a new group under `max_groups` by dropping the group longest without series,
/// if it has shown none for [`GROUP_ROOM_AFTER_SECS`]; false when every group is live.
fn make_room(state: &mut SloState, live: &BTreeSet<String>) -> bool {
    let Some(now) = state.fine_fed_until else {
        return false;
    };
    let oldest = state
        .groups
        .iter()
        .filter(|(key, _)| !key.is_empty() && !live.contains(*key))
        .filter_map(|(key, g)| Some((g.seen?, key)))
        .min();
    match oldest {
        Some((seen, key)) if now - seen >= GROUP_ROOM_AFTER_SECS => {
            let key = key.clone();
            evict(
                state,
                &key,
                "max_groups is reached and it has shown no series for an hour",
            );
            true
        }
        _ => false,
    }
}

fn evict(state: &mut SloState, key: &str, why: &str) {
    if let Some(g) = state.groups.remove(key) {
        tracing::info!(slo = %state.slo.id(), group = %key, last_seen = g.seen.unwrap_or_default(), "dropping the group and its history: {why}");
        state.evicted.push(key.to_string());
    }
}
