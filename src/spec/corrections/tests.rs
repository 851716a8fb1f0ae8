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
    assert!(warnings[1].contains("service nowhere"), "{}", warnings[1]);
    assert!(warnings[1].starts_with("c.yaml:7:5"), "{}", warnings[1]);
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
