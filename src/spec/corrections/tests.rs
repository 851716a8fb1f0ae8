use super::*;

#[test]
fn a_file_names_services_and_slos_and_apply_warns_of_unknown_ones() {
    let text = "corrections:\n  - service: shop\n    slo: checkout\n    reason: db migration\n    from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T12:00:00+01:00\n  - service: nowhere\n    reason: gone\n    schedule: {days: [sun], start: \"02:00\", end: \"04:00\", timezone: Europe/Berlin}\n";
    let read = load_bytes("c.yaml", text.as_bytes());
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.corrections.len(), 2);
    assert_eq!(read.corrections[0].slo.as_deref(), Some("checkout"));
    // 12:00+01:00 is 11:00Z: one hour.
    assert_eq!(
        read.corrections[0].correction.when,
        When::OneOff {
            from: 1_772_359_200,
            to: 1_772_359_200 + 3600
        }
    );
    let warnings = apply(std::iter::empty(), &read.corrections);
    assert_eq!(warnings.len(), 2);
    let w = warnings[1].to_string();
    assert!(w.contains("service nowhere"), "{w}");
    assert!(w.starts_with("c.yaml:7:14: service: "), "{w}");
}

#[test]
fn a_file_entry_without_a_service_is_refused_with_its_position() {
    let read = load_bytes(
        "c.yaml",
        b"corrections:\n  - reason: x\n    from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T11:00:00Z\n",
    );
    assert_eq!(read.errors.len(), 1, "{:?}", read.errors);
    assert!(
        read.errors[0]
            .to_string()
            .starts_with("c.yaml:2:5: corrections[0]: missing field `service`"),
        "{}",
        read.errors[0]
    );
}

#[test]
fn audit_names_each_added_changed_and_removed_correction() {
    let spec = |corrections: &str| {
        let text = format!(
            "version: sloburn/v1\nservice: shop\nslos:\n  - name: checkout\n    objective: 99\n    sli:\n      ratio:\n        errors: e{{code=\"5\"}}\n        total: e\n    corrections:\n{corrections}"
        );
        let r = load::load_bytes("s.yaml", text.as_bytes());
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r.slos
    };
    let a = "      - name: mig\n        reason: migration\n        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T11:00:00Z\n      - reason: backups\n        schedule: {start: \"02:00\", end: \"03:00\"}\n";
    let b = "      - name: mig\n        reason: migration\n        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T12:00:00Z\n      - reason: deploys\n        schedule: {days: [fri], start: \"16:00\", end: \"17:00\"}\n";
    let (old, new) = (spec(a), spec(b));
    let start = audit(&[], &old);
    assert_eq!(start.len(), 2, "{start:?}");
    assert!(
        start
            .iter()
            .all(|l| l.starts_with("correction added: service=shop slo=checkout"))
    );
    let lines = audit(&old, &new);
    assert_eq!(
        lines,
        [
            "correction added: service=shop slo=checkout correction=\"deploys\" reason=\"deploys\" when=\"fri 16:00-17:00 UTC\" alerts=fire from=s.yaml:15:9",
            "correction changed: service=shop slo=checkout correction=\"mig\" reason=\"migration\" when=\"2026-03-01T10:00:00+00:00 to 2026-03-01T12:00:00+00:00\" alerts=fire from=s.yaml:11:9",
            "correction removed: service=shop slo=checkout correction=\"backups\" reason=\"backups\" when=\"daily 02:00-03:00 UTC\" alerts=fire from=s.yaml:15:9",
        ]
    );
    assert!(audit(&new, &new).is_empty());
}

/// Sloth's format has no corrections: written there, they are a warning that they have no
/// effect, and the SLO loads without them.
#[test]
fn corrections_in_sloths_format_have_no_effect_and_say_so() {
    let text = "version: prometheus/v1\nservice: shop\ncorrections:\n  - reason: x\n    from: 2026-03-01T10:00:00Z\n    to: 2026-03-01T11:00:00Z\nslos:\n  - name: up\n    objective: 99\n    sli:\n      raw:\n        error_ratio_query: sum(rate(e[{{.window}}])) / sum(rate(r[{{.window}}]))\n    corrections:\n      - reason: y\n        from: 2026-03-01T10:00:00Z\n        to: 2026-03-01T11:00:00Z\n";
    let r = load::load_bytes("s.yaml", text.as_bytes());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.slos[0].corrections.is_empty());
    let warnings: Vec<String> = r.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "s.yaml:4:3: corrections: `corrections` is a sloburn/v1 field and has no effect here"
        ),
        "{warnings:?}"
    );
    assert!(
        warnings[1]
            .starts_with("s.yaml:14:7: slos[0].corrections: `corrections` is a sloburn/v1 field"),
        "{warnings:?}"
    );
}
