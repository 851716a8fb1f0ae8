use super::*;
use proptest::prelude::*;

#[test]
fn parses_the_prometheus_grammar() {
    for (text, secs) in [
        ("30d", 30 * 86400),
        ("28d", 28 * 86400),
        ("4w", 28 * 86400),
        ("1y", 365 * 86400),
        ("5m", 300),
        ("1h30m", 5400),
        ("0s", 0),
    ] {
        assert_eq!(
            text.parse::<PromDuration>().unwrap().as_secs(),
            secs,
            "{text}"
        );
    }
    assert_eq!("1s500ms".parse::<PromDuration>().unwrap().as_millis(), 1500);
}

#[test]
fn refuses_what_prometheus_refuses() {
    for bad in [
        "30D", "1.5h", "1M", "", "h", "5", "1m1h", "1h1h", "5 m", "-5m", "1hour",
    ] {
        assert!(
            bad.parse::<PromDuration>().is_err(),
            "{bad:?} should be refused"
        );
    }
    let msg = "1M".parse::<PromDuration>().unwrap_err().to_string();
    assert!(msg.contains("calendar"), "{msg}");
    let msg = "1.5h".parse::<PromDuration>().unwrap_err().to_string();
    assert!(msg.contains("1h30m"), "{msg}");
}

#[test]
fn displays_as_people_write_periods() {
    for (secs, text) in [
        (30 * 86400, "30d"),
        (28 * 86400, "28d"),
        (365 * 86400, "365d"),
        (5400, "1h30m"),
        (90 * 86400, "90d"),
    ] {
        assert_eq!(PromDuration::from_secs(secs).to_string(), text);
    }
}

#[test]
fn overflow_is_an_error_not_a_panic() {
    assert!("99999999999999999999d".parse::<PromDuration>().is_err());
    assert!("9999999999999999y".parse::<PromDuration>().is_err());
}

proptest! {
    #[test]
    fn display_round_trips(millis in 0u64..(1u64 << 50)) {
        let d = PromDuration::from_millis(millis);
        let back: PromDuration = d.to_string().parse().unwrap();
        prop_assert_eq!(d, back);
    }

    #[test]
    fn never_panics_on_arbitrary_text(s in "\\PC{0,20}") {
        let _ = s.parse::<PromDuration>();
    }
}
