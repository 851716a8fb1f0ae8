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
