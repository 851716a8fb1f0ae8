use super::*;

#[test]
fn the_example_parses() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sloburn.yaml")).unwrap();
    let cfg = Config::parse("sloburn.yaml", &text).unwrap();
    let prom = cfg.source.prometheus.unwrap();
    assert_eq!(prom.url, "http://127.0.0.1:9090");
    // The example leaves the lag to be learned.
    assert_eq!(prom.query_lag, None);
    assert_eq!(cfg.evaluation_interval, Duration::from_secs(5));
    assert_eq!(
        Config::default().evaluation_interval,
        cfg.evaluation_interval
    );
}

#[test]
fn errors_name_line_and_field() {
    let e = Config::parse(
        "c.yaml",
        "listen: x\nsource:\n  prometheus:\n    url: http://p\n    timeout: 5 parsecs\n",
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("c.yaml:5:"), "{msg}");
    assert!(msg.contains("source.prometheus.timeout"), "{msg}");
    let e = Config::parse("c.yaml", "lissen: x\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `lissen`"), "{e}");
}

#[test]
fn secrets_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    std::fs::write(dir.path().join("pw"), "hunter2\n").unwrap();
    let mut p = PrometheusConfig::with_url("http://x");
    p.bearer_token_file = Some(dir.path().join("token"));
    p.basic_auth = Some(BasicAuth {
        username: "u".into(),
        password_file: dir.path().join("pw"),
    });
    let c = p.client_config().unwrap();
    assert_eq!(c.bearer_token.as_deref(), Some("s3cret"));
    assert_eq!(c.basic_auth, Some(("u".into(), "hunter2".into())));
    p.bearer_token_file = Some(dir.path().join("missing"));
    assert!(
        p.client_config()
            .unwrap_err()
            .to_string()
            .contains("missing")
    );
}

#[test]
fn an_unset_query_lag_is_learned_and_a_set_one_kept() {
    let parse = |extra: &str| {
        let text = format!("source:\n  prometheus:\n    url: http://p\n{extra}");
        Config::parse("c.yaml", &text)
            .unwrap()
            .source
            .prometheus
            .unwrap()
            .query_lag
    };
    assert_eq!(parse(""), None);
    assert_eq!(PrometheusConfig::with_url("http://p").query_lag, None);
    assert_eq!(parse("    query_lag: 5s\n"), Some(Duration::from_secs(5)));
    assert_eq!(parse("    query_lag: 0s\n"), Some(Duration::ZERO));
    assert_eq!(
        parse("    query_lag: 1m30s\n"),
        Some(Duration::from_secs(90))
    );
}

#[test]
fn the_web_config_file_is_named_in_the_file() {
    let cfg = Config::parse("c.yaml", "web_config_file: /etc/sloburn/web.yml\n").unwrap();
    assert_eq!(
        cfg.web_config_file.as_deref(),
        Some(Path::new("/etc/sloburn/web.yml"))
    );
    assert_eq!(Config::default().web_config_file, None);
}
