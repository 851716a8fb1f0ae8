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
