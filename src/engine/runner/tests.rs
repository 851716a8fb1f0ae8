use super::*;
use crate::spec::load::load_bytes;

fn slo(extra: &str) -> Slo {
    let text = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n{extra}    sli:\n      ratio:\n        errors: x{{code=\"500\"}}\n        total: x\n"
    );
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos[0].clone()
}

fn series(labels: &[(&str, &str)], points: &[(i64, f64)]) -> Series {
    Series {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        points: points.to_vec(),
    }
}

#[test]
fn fingerprint_follows_the_sli_not_the_objective() {
    let a = slo("");
    let mut b = a.clone();
    b.objective = crate::core::Objective::from_percent(99.9).unwrap();
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let c = slo("    group_by: [route]\n");
    assert_ne!(fingerprint(&a), fingerprint(&c));
}

/// An SLO with this SLI (YAML under `sli:`) and optional extra SLO fields.
fn slo_with(sli: &str, extra: &str) -> Slo {
    let text = format!(
        "version: sloburn/v1\nservice: api\nslos:\n  - name: a\n    objective: 99\n{extra}    sli:\n{sli}"
    );
    let r = load_bytes("t.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.slos[0].clone()
}

/// The same series written differently (spacing, matcher order, quotes) are the same history.
#[test]
fn fingerprint_follows_what_is_counted_not_how_it_is_spelled() {
    let a = slo_with(
        "      ratio:\n        errors: x{code=\"500\",job=\"api\"}\n        total: x{job=\"api\"}\n",
        "",
    );
    let b = slo_with(
        "      ratio:\n        errors: 'x{ job = \"api\", code=\"500\" }'\n        total: x{job='api'}\n",
        "",
    );
    assert_eq!(fingerprint(&a), fingerprint(&b));
    let c = slo_with(
        "      ratio:\n        errors: x{code=\"503\",job=\"api\"}\n        total: x{job=\"api\"}\n",
        "",
    );
    assert_ne!(fingerprint(&a), fingerprint(&c));
}

/// The stored identity is a file format: these values must never change, or every stored
/// history would be dropped on upgrade. A new encoding gets a new version prefix and reads the
/// old one as [`legacy_fingerprint`] does.
#[test]
fn fingerprints_are_pinned() {
    let cases = [
        (
            "      ratio:\n        errors: x{code=\"500\"}\n        total: x\n",
            "",
        ),
        (
            "      ratio:\n        errors: x{code=\"500\"}\n        total: x\n",
            "    group_by: [route, pod]\n",
        ),
        (
            "      latency:\n        histogram: h_seconds{job=\"api\"}\n        threshold: 0.3\n",
            "",
        ),
        (
            "      events:\n        error_query: sum(rate(e[{{.window}}]))\n        total_query: sum(rate(t[{{.window}}]))\n",
            "",
        ),
        (
            "      raw:\n        error_ratio_query: 1 - avg_over_time(up[{{.window}}])\n",
            "",
        ),
        (
            "      threshold:\n        query: max(q)\n        op: \"<\"\n        value: 0.5\n        slice: 1m\n",
            "",
        ),
    ];
    let got: Vec<String> = cases
        .iter()
        .map(|(sli, extra)| fingerprint(&slo_with(sli, extra)))
        .collect();
    insta::assert_snapshot!(got.join("\n"));
}

#[test]
fn target_is_the_newest_complete_minute_behind_the_lag() {
    assert_eq!(
        target_at(1_700_000_095.0, Duration::from_secs(30)),
        1_700_000_040
    );
    assert_eq!(target_at(1_700_000_100.0, Duration::ZERO), 1_700_000_100);
}

#[test]
fn pairing_sums_by_group_and_caps_groups() {
    let mut state = SloState::new(slo("    group_by: [route]\n    max_groups: 2\n"), None);
    let bad = vec![series(&[("route", "/a")], &[(60_000, 1.0)])];
    let total = vec![
        series(&[("route", "/a")], &[(60_000, 10.0), (120_000, f64::NAN)]),
        series(&[("route", "/b")], &[(60_000, 5.0)]),
        series(&[("route", "/c")], &[(60_000, 5.0)]),
    ];
    let read = pair(&state.slo.group_by.clone(), bad, total).unwrap();
    let a = &read["route=/a"];
    assert_eq!(
        a.points[&60],
        Counts {
            bad: 1.0,
            total: 10.0
        }
    );
    assert!(!a.points.contains_key(&120));
    // A NaN point still shows the series exists.
    assert_eq!(a.seen, Some(120));
    let admitted = admit(&mut state, read);
    assert_eq!(admitted.len(), 2);
    assert_eq!(state.groups.len(), 2);
    assert_eq!(state.groups_dropped, 1);
}

/// Grouped by a label sloburn sets itself: each group is keyed and labelled by
/// `exported_service`, so its series never carry a second `service` (#15.6).
#[test]
fn a_group_by_service_is_carried_as_exported_service() {
    let mut state = SloState::new(slo("    group_by: [service]\n"), None);
    let bad = vec![series(&[("service", "cart")], &[(60_000, 1.0)])];
    let total = vec![
        series(&[("service", "cart")], &[(60_000, 10.0)]),
        series(&[("service", "pay")], &[(60_000, 5.0)]),
    ];
    let read = pair(&state.slo.group_by.clone(), bad, total).unwrap();
    let keys: Vec<&str> = read.keys().map(String::as_str).collect();
    assert_eq!(keys, ["exported_service=cart", "exported_service=pay"]);
    assert_eq!(
        read["exported_service=cart"].labels,
        [("exported_service".to_string(), "cart".to_string())]
    );
    admit(&mut state, read);
    assert_eq!(state.groups.len(), 2);
}

#[test]
fn several_series_for_an_ungrouped_slo_is_an_error() {
    let two = vec![
        series(&[("a", "1")], &[(60_000, 1.0)]),
        series(&[("a", "2")], &[(60_000, 1.0)]),
    ];
    assert!(matches!(
        pair(&[], vec![], two),
        Err(TickError::TooManySeries(2))
    ));
    let inf = vec![series(&[], &[(60_000, f64::INFINITY)])];
    assert!(matches!(
        pair(&[], vec![], inf),
        Err(TickError::InvalidSample(_))
    ));
}

#[test]
fn a_reload_renames_the_series_and_keeps_the_history() {
    let mut engine = Engine::new(vec![SloState::new(slo(""), None)]);
    engine.slos[0].group_mut("", Vec::new()).push_minute(
        60,
        Counts {
            bad: 1.0,
            total: 10.0,
        },
    );
    let before = engine.snapshot(60.0, Duration::ZERO);
    assert!(before.slos[0].labels.is_empty());
    assert_eq!(&*before.slos[0].period, "30d");

    // Same SLI: the history stays; the texts shared by every snapshot must follow the spec.
    engine.replace_slos(vec![slo(
        "    labels:\n      tier: \"1\"\n    period: 7d\n",
    )]);
    let after = engine.snapshot(60.0, Duration::ZERO);
    let s = &after.slos[0];
    assert_eq!(&*s.labels, &[("tier".to_string(), "1".to_string())]);
    assert_eq!(&*s.period, "7d");
    assert_eq!(s.period_total_events, 10.0);
}

#[test]
fn a_grouped_slos_stand_in_is_no_group_under_the_cap() {
    let mut state = SloState::new(slo("    group_by: [route]\n    max_groups: 1\n"), None);
    assert!(state.groups.contains_key(""), "a stand-in before any group");
    let total = vec![
        series(&[("route", "/a")], &[(60_000, 10.0)]),
        series(&[("route", "/b")], &[(60_000, 5.0)]),
    ];
    let read = pair(&state.slo.group_by.clone(), vec![], total).unwrap();
    let admitted = admit(&mut state, read);
    assert_eq!(admitted.len(), 1);
    assert_eq!(
        state.groups.keys().collect::<Vec<_>>(),
        ["route=/a"],
        "the stand-in gave way to the one group the cap allows"
    );
    assert_eq!(state.groups_dropped, 1);
}

#[test]
fn no_data_is_said_for_the_slo_not_for_a_quiet_group() {
    let mut state = SloState::new(slo("    group_by: [route]\n"), None);
    assert_eq!(
        state.no_data(&state.groups[""]).as_deref(),
        Some("no answer from the source yet")
    );
    state.last_error = Some("the query returned 2 series".into());
    assert!(
        state
            .no_data(&state.groups[""])
            .is_some_and(|r| r.contains("no usable answer") && r.contains("2 series"))
    );
    state.last_error = None;
    state.answered = true;
    state.fine_fed_until = Some(10 * 3600);
    assert_eq!(
        state.no_data(&state.groups[""]).as_deref(),
        Some("no series matches x"),
        "nothing matched"
    );
    // Two groups: one live, one silent for more than the series memory (a retired route).
    state.group_mut("route=/a", vec![("route".into(), "/a".into())]);
    state.group_mut("route=/b", vec![("route".into(), "/b".into())]);
    state.groups.get_mut("route=/a").unwrap().seen = Some(10 * 3600 - 60);
    state.groups.get_mut("route=/b").unwrap().seen = Some(3600);
    state.update_recent();
    assert_eq!(state.no_data(&state.groups["route=/a"]), None);
    assert_eq!(
        state.no_data(&state.groups["route=/b"]),
        None,
        "a quiet group keeps its numbers while the SLO has data"
    );
    // Every group silent: the SLO has no data, and says since when.
    state.groups.get_mut("route=/a").unwrap().seen = Some(3600);
    state.update_recent();
    assert!(
        state
            .no_data(&state.groups["route=/a"])
            .is_some_and(|r| r.starts_with("no series of x since 1970-01-01T01:00:00"))
    );
}

/// A history stored under the identity written before `v1` is kept on upgrade; one stored
/// under any other identity (a different SLI) is not.
#[test]
fn a_history_stored_under_the_legacy_identity_is_kept() {
    use crate::core::bucket::{Bucket, Tier};
    use crate::store::{SloMeta, StoredSlo};
    let slo = slo("");
    let stored = |fingerprint: String| StoredSlo {
        meta: SloMeta {
            fingerprint,
            fine_fed_until: Some(1_700_000_040),
            coarse_fed_until: Some(1_700_000_040),
            groups: BTreeMap::from([(String::new(), Vec::new())]),
            ..Default::default()
        },
        buckets: BTreeMap::from([(
            String::new(),
            vec![Bucket {
                tier: Tier::Fine,
                start: 1_699_999_980,
                counts: Counts {
                    bad: 2.0,
                    total: 50.0,
                },
            }],
        )]),
        records: BTreeMap::new(),
    };
    let five = PromDuration::from_secs(300);
    let kept = SloState::new(slo.clone(), Some(stored(legacy_fingerprint(&slo))));
    assert_eq!(kept.groups[""].history.window(five).total, 50.0);
    assert_eq!(kept.fingerprint, fingerprint(&slo), "saved in the v1 form");
    let other = SloState::new(slo.clone(), Some(stored("0123456789abcdef".into())));
    assert!(
        other
            .groups
            .values()
            .all(|g| g.history.window(five).total == 0.0)
    );
    assert_eq!(other.fine_fed_until, None);
}

/// A save that fails keeps its chunks marked: the next good save writes them, so a restart
/// finds every minute the engine had.
#[tokio::test]
async fn a_failed_save_is_written_by_the_next_good_one() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    let slo = slo("");
    let mut state = SloState::new(slo.clone(), None);
    let minute = |k: i64| 1_700_000_040 + k * 60;
    let h = state.group_mut("", Vec::new());
    for k in 1..=3 {
        h.push_minute(
            minute(k),
            Counts {
                bad: 1.0,
                total: 10.0,
            },
        );
    }
    state.fine_fed_until = Some(minute(3));
    state.coarse_fed_until = Some(minute(3));
    let mut engine = Engine::new(vec![state]);
    engine.store = Some(store.clone());
    store.fail_writes.store(true, Ordering::Relaxed);
    engine.persist().await;
    store.fail_writes.store(false, Ordering::Relaxed);
    // One more minute in a later hour's chunk, then a good save.
    let later = minute(3) + 3600;
    engine.slos[0].group_mut("", Vec::new()).push_minute(
        later,
        Counts {
            bad: 0.0,
            total: 10.0,
        },
    );
    engine.slos[0].fine_fed_until = Some(later);
    engine.slos[0].coarse_fed_until = Some(later);
    engine.persist().await;
    let restored = SloState::new(slo, store.load(&engine.slos[0].slo.id()).unwrap());
    let day = PromDuration::from_secs(86_400);
    assert_eq!(
        restored.groups[""].history.window(day),
        engine.slos[0].groups[""].history.window(day),
        "the minutes of the failed save are stored"
    );
    assert_eq!(restored.groups[""].history.window(day).total, 40.0);
}

/// A history stored for a different SLI is deleted at start, not left for the next start to
/// load under the new history's marks.
#[test]
fn a_changed_sli_deletes_the_stored_history_at_start() {
    use crate::core::bucket::{Chunk, Tier};
    let dir = tempfile::tempdir().unwrap();
    let store = crate::store::Store::open(dir.path()).unwrap();
    let slo = slo("");
    let old_meta = crate::store::SloMeta {
        fingerprint: "v1:0000000000000000".into(),
        fine_fed_until: Some(1_700_000_040),
        coarse_fed_until: Some(1_700_000_040),
        groups: BTreeMap::from([(String::new(), Vec::new())]),
        ..Default::default()
    };
    let old_rows = vec![crate::store::change(&Chunk {
        tier: Tier::Coarse,
        start: 1_699_992_000,
        counts: vec![Counts {
            bad: 100.0,
            total: 100.0,
        }],
    })];
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: &slo.id(),
            meta: &old_meta,
            chunks: vec![("", &old_rows)],
            prune: Vec::new(),
            replace: false,
        }])
        .unwrap();
    let states = load_states(vec![slo.clone()], Some(&store)).unwrap();
    assert_eq!(states[0].fine_fed_until, None, "a fresh history");
    assert!(
        store.load(&slo.id()).unwrap().is_none(),
        "the old rows are gone"
    );
}

/// Under `max_groups`, a new group takes the place of one that has shown no series for an
/// hour (its stored rows deleted at the next save); while every group is live it waits. A
/// group silent for a whole period leaves anyway.
#[test]
fn groups_without_series_make_room_and_leave_after_a_period() {
    let mut state = SloState::new(slo("    group_by: [route]\n    max_groups: 2\n"), None);
    let now = 1_800_000_000;
    let read = |routes: &[&str]| {
        let total = routes
            .iter()
            .map(|r| series(&[("route", r)], &[(now * 1000, 10.0)]))
            .collect();
        pair(&["route".to_string()], vec![], total).unwrap()
    };
    state.fine_fed_until = Some(now);
    admit(&mut state, read(&["/a", "/b"]));
    state.groups.get_mut("route=/a").unwrap().seen = Some(now - 3600);
    state.groups.get_mut("route=/b").unwrap().seen = Some(now - 60);
    // /a has been silent for an hour: /c takes its place.
    let admitted = admit(&mut state, read(&["/b", "/c"]));
    assert_eq!(admitted.len(), 2);
    assert_eq!(
        state.groups.keys().collect::<Vec<_>>(),
        ["route=/b", "route=/c"]
    );
    assert_eq!(state.evicted, ["route=/a"]);
    // A group in the current read is live, whatever its mark says: it is not the one to go.
    state.groups.get_mut("route=/b").unwrap().seen = Some(now - 7200);
    state.groups.get_mut("route=/c").unwrap().seen = Some(now - 59 * 60);
    let admitted = admit(&mut state, read(&["/b", "/x"]));
    assert_eq!(
        admitted.len(),
        1,
        "/x waits: /b is in the read, /c spoke within the hour"
    );
    assert!(state.groups.contains_key("route=/b"));
    state.groups.get_mut("route=/b").unwrap().seen = Some(now - 60);
    // Both live: /d waits and is counted as dropped.
    state.groups.get_mut("route=/c").unwrap().seen = Some(now - 59 * 60);
    let admitted = admit(&mut state, read(&["/d"]));
    assert!(admitted.is_empty());
    assert_eq!(state.groups_dropped, 1);
    // A whole period (30d) without series: /b leaves even with room to spare.
    state.slo.max_groups = 10;
    state.groups.get_mut("route=/b").unwrap().seen = Some(now - 31 * 86_400);
    admit(&mut state, BTreeMap::new());
    assert_eq!(state.groups.keys().collect::<Vec<_>>(), ["route=/c"]);
    assert_eq!(state.evicted, ["route=/a", "route=/b"]);
}

/// After the engine has run for a while, its oldest buckets have left the ring: a longer
/// period on reload reads from where the ring now begins, not from where the first backfill
/// began (which would leave the days between unread).
#[test]
fn a_longer_period_after_days_of_running_reads_from_where_the_ring_begins() {
    let t0 = 1_800_000_000; // a multiple of 2 hours
    let mut state = SloState::new(slo("    period: 30d\n"), None);
    state.coarse_from = Some(t0 - 30 * 86_400);
    // Ten days of minutes after the first backfill.
    let h = state.group_mut("", Vec::new());
    let mut end = t0;
    while end < t0 + 10 * 86_400 {
        end += 60;
        h.push_minute(
            end,
            Counts {
                bad: 0.0,
                total: 1.0,
            },
        );
    }
    let oldest = h.coarse_oldest().unwrap();
    assert!(oldest > t0 - 21 * 86_400, "the ring moved on: {oldest}");
    state.fine_fed_until = Some(end);
    state.coarse_fed_until = Some(end);
    assert_eq!(state.coarse_covered_from(), Some(oldest));
    let mut engine = Engine::new(vec![state]);
    engine.replace_slos(vec![slo("    period: 45d\n")]);
    let s = &engine.slos[0];
    let covered = s.coarse_covered_from().unwrap();
    assert!(
        (oldest..oldest + 2 * 3600).contains(&covered),
        "{covered} vs the old ring's oldest {oldest}"
    );
    // The plan reads the 15 days before it.
    let marks = read_plan::Marks {
        fed: s.fine_fed_until,
        coarse_fed: s.coarse_fed_until,
        coarse_from: s.coarse_covered_from(),
    };
    let p = read_plan::plan(marks, Reach::minute(end + 60), true, &s.slo.period).unwrap();
    let (span, _) = p.coarse.unwrap();
    assert!(
        span.from <= end - 45 * 86_400 && span.to >= covered,
        "{span:?}"
    );
}

/// A spec that returns on reload with a changed SLI starts afresh and its old rows are
/// deleted (else the next start would load them under the new history's marks).
#[test]
fn a_returning_spec_with_another_sli_drops_its_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    let slo = slo("");
    let meta = crate::store::SloMeta {
        fingerprint: "v1:0000000000000000".into(),
        fine_fed_until: Some(1_700_000_040),
        groups: BTreeMap::from([(String::new(), Vec::new())]),
        ..Default::default()
    };
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: &slo.id(),
            meta: &meta,
            chunks: Vec::new(),
            prune: Vec::new(),
            replace: false,
        }])
        .unwrap();
    let mut engine = Engine::new(Vec::new());
    engine.store = Some(store.clone());
    engine.replace_slos(vec![slo.clone()]);
    assert_eq!(engine.slos[0].fine_fed_until, None);
    assert!(store.load(&slo.id()).unwrap().is_none());
}

/// A history stored before the resolution was kept (no `coarse_res`), started with a period
/// of wider buckets: the stored spacing tells the old width, every event is kept, and the rows
/// are saved anew.
#[test]
fn a_legacy_history_started_with_a_longer_period_keeps_its_events() {
    use crate::core::bucket::{Bucket, Tier};
    let thirty = slo("    period: 30d\n");
    let start = 1_800_000_000; // a multiple of 2 hours
    let buckets: Vec<Bucket> = (0..48)
        .map(|k| Bucket {
            tier: Tier::Coarse,
            start: start + k * 3600,
            counts: Counts {
                bad: 1.0,
                total: 100.0,
            },
        })
        .collect();
    let end = start + 48 * 3600;
    let stored = crate::store::StoredSlo {
        meta: crate::store::SloMeta {
            fingerprint: fingerprint(&thirty),
            fine_fed_until: Some(end),
            coarse_fed_until: Some(end),
            groups: BTreeMap::from([(String::new(), Vec::new())]),
            ..Default::default()
        },
        buckets: BTreeMap::from([(String::new(), buckets)]),
        records: BTreeMap::new(),
    };
    let state = SloState::new(slo("    period: 45d\n"), Some(stored));
    assert!(state.rewrite, "2-hour buckets now: saved anew");
    let got = state.groups[""].history.period(&state.slo.period);
    assert_eq!((got.bad, got.total), (48.0, 4800.0));
    assert_eq!(
        state.coarse_from,
        Some(start),
        "the buckets begin at the oldest stored"
    );
}

/// The engine records each series' alert states per tick at the instant its history is read
/// to, saves the record when it changes (again after a failed save; a steady tick writes only
/// the tail in the meta), and a restart restores it; a stale tick records nothing after it,
/// and a restart followed by a tick further than the gap records nothing over the gap.
#[tokio::test]
async fn alert_records_follow_the_ticks_and_survive_a_failed_save_and_a_restart() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    let slo = slo("");
    let minute = |k: i64| 1_700_000_040 + k * 60;
    let all_bad = Counts {
        bad: 10.0,
        total: 10.0,
    };
    let mut engine = Engine::new(vec![SloState::new(slo.clone(), None)]);
    engine.store = Some(store.clone());
    engine.record_gap = Duration::from_secs(120);
    // Minutes 1..=k all bad, read and fresh: every page row burns at 100x.
    let feed = |engine: &mut Engine, k: i64, fresh: bool| {
        let s = &mut engine.slos[0];
        s.group_mut("", Vec::new()).push_minute(minute(k), all_bad);
        s.fine_fed_until = Some(minute(k));
        s.coarse_fed_until = Some(minute(k));
        s.answered = true;
        s.fresh = fresh;
        s.groups.get_mut("").unwrap().seen = Some(minute(k));
    };
    let written = || store.records_written.load(Ordering::Relaxed);
    for k in 1..=10 {
        feed(&mut engine, k, true);
    }
    let t1 = engine.slos[0].groups[""].history.read_until().unwrap();
    let snap = engine.tick(Reach::minute(minute(10)), t1 as f64).await;
    assert!(
        snap.slos[0]
            .alerts
            .iter()
            .any(|a| a.severity == "page" && a.active)
    );
    assert_eq!(written(), 1, "the first judgement is saved");
    feed(&mut engine, 11, true);
    let t2 = engine.slos[0].groups[""].history.read_until().unwrap();
    assert!(t2 > t1);
    engine.tick(Reach::minute(minute(11)), t2 as f64).await;
    assert_eq!(written(), 1, "a span growing is not rewritten");
    let record = &engine.slos[0].groups[""].record;
    assert_eq!(record.page, vec![(t1, t2)]);
    assert_eq!(record.recorded, vec![(t1, t2)]);
    // A stale tick (a change) whose save fails: the span to it counts with the page, nothing
    // after it, and the record is marked for the next save.
    feed(&mut engine, 12, false);
    let t3 = engine.slos[0].groups[""].history.read_until().unwrap();
    store.fail_writes.store(true, Ordering::Relaxed);
    engine.tick(Reach::minute(minute(12)), t3 as f64).await;
    store.fail_writes.store(false, Ordering::Relaxed);
    assert!(
        engine.slos[0].groups[""].record_unsaved,
        "the failed save is marked"
    );
    feed(&mut engine, 13, true);
    let t4 = engine.slos[0].groups[""].history.read_until().unwrap();
    engine.tick(Reach::minute(minute(13)), t4 as f64).await;
    assert_eq!(written(), 2, "written by the next good save");
    let record = engine.slos[0].groups[""].record.clone();
    assert_eq!(record.recorded, vec![(t1, t3)]);
    assert_eq!(record.page, vec![(t1, t3)]);
    // All bad: the budget is spent, frozen at every judging tick.
    assert_eq!(record.freeze, vec![(t1, t3)]);
    assert!(!engine.slos[0].groups[""].record_unsaved);
    // Steady again: the tail moves, the record is not rewritten, and a restart continues it.
    feed(&mut engine, 14, true);
    let t5 = engine.slos[0].groups[""].history.read_until().unwrap();
    engine.tick(Reach::minute(minute(14)), t5 as f64).await;
    assert_eq!(written(), 2);
    let record = engine.slos[0].groups[""].record.clone();
    assert_eq!(record.recorded, vec![(t1, t3), (t4, t5)]);
    let restored = SloState::new(slo.clone(), store.load(&engine.slos[0].slo.id()).unwrap());
    assert_eq!(restored.groups[""].record, record, "saved and restored");
    // Back after a downtime longer than the gap: nothing over it is recorded.
    drop(engine);
    let mut engine = Engine::new(vec![restored]);
    engine.store = Some(store.clone());
    engine.record_gap = Duration::from_secs(120);
    for k in 15..=20 {
        feed(&mut engine, k, true);
    }
    let t6 = engine.slos[0].groups[""].history.read_until().unwrap();
    assert!(t6 - t5 > 120);
    engine.tick(Reach::minute(minute(20)), t6 as f64).await;
    feed(&mut engine, 21, true);
    let t7 = engine.slos[0].groups[""].history.read_until().unwrap();
    engine.tick(Reach::minute(minute(21)), t7 as f64).await;
    let record = &engine.slos[0].groups[""].record;
    assert_eq!(record.recorded, vec![(t1, t3), (t4, t5), (t6, t7)]);
    assert_eq!(record.page, vec![(t1, t3), (t4, t5), (t6, t7)]);
}

/// A steady run of ticks with no state change writes the alert record once (its first
/// judgement), not once per tick.
#[tokio::test]
async fn a_steady_run_writes_the_alert_record_once() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    let mut engine = Engine::new(vec![SloState::new(slo(""), None)]);
    engine.store = Some(store.clone());
    let minute = |k: i64| 1_700_000_040 + k * 60;
    for k in 1..=30 {
        let s = &mut engine.slos[0];
        s.group_mut("", Vec::new()).push_minute(
            minute(k),
            Counts {
                bad: 0.0,
                total: 100.0,
            },
        );
        s.fine_fed_until = Some(minute(k));
        s.coarse_fed_until = Some(minute(k));
        s.answered = true;
        s.fresh = true;
        s.groups.get_mut("").unwrap().seen = Some(minute(k));
        engine
            .tick(Reach::minute(minute(k)), minute(k) as f64)
            .await;
    }
    let record = &engine.slos[0].groups[""].record;
    assert_eq!(record.recorded, vec![(minute(1), minute(30))]);
    assert_eq!(store.records_written.load(Ordering::Relaxed), 1);
}

/// `GET /api/v1/report` reads the store ([`crate::report::live::LiveReports`]) instead of the
/// engine's memory: after every tick its rows are the memory's, counts and alert time alike
/// (records changing, growing steadily, continued from their saved tails), and their events
/// are the ones fed. A tick whose save failed is not seen until the next good save.
#[tokio::test]
async fn the_store_report_is_the_memory_report_after_each_saved_tick() {
    use crate::report::live::{LiveReports, Roster};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(crate::store::Store::open(dir.path()).unwrap());
    let slo = slo("");
    let minute = |k: i64| 1_700_000_040 + k * 60;
    let mut engine = Engine::new(vec![SloState::new(slo.clone(), None)]);
    engine.store = Some(store.clone());
    engine.record_gap = Duration::from_secs(120);
    let roster: Roster = Arc::from(vec![(slo.id(), slo.objective)]);
    let (_roster_tx, roster_rx) = tokio::sync::watch::channel(Some(roster));
    let live = LiveReports::new(store.clone(), roster_rx);
    let range = crate::report::Range::new(minute(0), minute(40)).unwrap();
    let go = AtomicBool::new(false);
    let total = |rows: &[crate::report::Row]| rows.iter().map(|r| r.counts.total).sum::<f64>();
    let mut fed = 0.0;
    for k in 1..=30 {
        // Bad minutes 5..=12 (a page, a freeze), good before and after.
        let bad = if (5..=12).contains(&k) { 10.0 } else { 0.0 };
        let s = &mut engine.slos[0];
        s.group_mut("", Vec::new())
            .push_minute(minute(k), Counts { bad, total: 10.0 });
        s.fine_fed_until = Some(minute(k));
        s.coarse_fed_until = Some(minute(k));
        s.answered = true;
        s.fresh = true;
        s.groups.get_mut("").unwrap().seen = Some(minute(k));
        let failing = k == 20;
        store.fail_writes.store(failing, Ordering::Relaxed);
        engine
            .tick(Reach::minute(minute(k)), minute(k) as f64)
            .await;
        let from_store = live.rows(range, &go).unwrap();
        if failing {
            assert_eq!(
                total(&from_store),
                fed,
                "minute {k}: the failed save is not seen"
            );
            continue;
        }
        fed += 10.0 * if k == 21 { 2.0 } else { 1.0 };
        assert_eq!(from_store, engine.report(range), "minute {k}");
        assert_eq!(total(&from_store), fed, "minute {k}");
    }
    let rows = live.rows(range, &go).unwrap();
    assert!(rows[0].alerts.page_secs > 0 && rows[0].alerts.freeze_secs > 0);
    // Told to stop (the asker gone): an error, never a partial report that looks complete.
    assert!(matches!(
        live.rows(range, &AtomicBool::new(true)),
        Err(crate::http::ReportError::Stopped)
    ));
}
