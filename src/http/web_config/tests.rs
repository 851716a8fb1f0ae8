use super::*;

fn parse(text: &str) -> Result<WebSecurity, WebConfigError> {
    WebSecurity::parse("web.yml", text.as_bytes(), Path::new("."))
}

#[test]
fn an_empty_file_is_plain_http() {
    for text in ["", "{}\n", "# nothing\n", "tls_server_config: {}\n"] {
        let web = parse(text).unwrap();
        assert!(
            web.tls.is_none() && web.users.is_none() && web.headers.is_empty(),
            "{text:?}"
        );
    }
}

/// A TLS section without a certificate is an error, never plain HTTP in silence.
#[test]
fn a_tls_section_without_a_certificate_is_refused() {
    for text in [
        "tls_server_config:\n  min_version: TLS13\n",
        "tls_server_config:\n  client_auth_type: NoClientCert\n",
        "tls_server_config:\n  key_file: k.pem\n  cert_file: \"\"\n",
    ] {
        let e = parse(text).map(|_| ()).unwrap_err();
        assert!(
            e.location.starts_with("web.yml:2:") || e.location.starts_with("web.yml:3:"),
            "{text:?}: {e}"
        );
        assert!(e.message.contains("cert"), "{text:?}: {e}");
    }
}

#[test]
fn tls_versions_between_min_and_max() {
    let cx = Context {
        file: "web.yml",
        index: &LocIndex::default(),
        base: Path::new("."),
        warnings: Vec::new(),
        files: Vec::new(),
    };
    let names = |min, max| -> Result<Vec<String>, WebConfigError> {
        Ok(cx
            .versions(min, max)?
            .iter()
            .map(|v| format!("{:?}", v.version))
            .collect())
    };
    assert_eq!(names(None, None).unwrap(), ["TLSv1_2", "TLSv1_3"]);
    assert_eq!(names(Some("TLS13"), None).unwrap(), ["TLSv1_3"]);
    assert_eq!(names(None, Some("TLS12")).unwrap(), ["TLSv1_2"]);
    assert_eq!(names(Some(""), Some("")).unwrap(), ["TLSv1_2", "TLSv1_3"]);
    assert!(names(Some("TLS13"), Some("TLS12")).is_err());
    assert!(names(Some("TLS11"), None).is_err());
    assert!(names(Some("tls12"), None).is_err());
}

#[test]
fn headers_follow_the_toolkit() {
    let ok = parse(
        "http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    X-Frame-Options: sameorigin\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: \"\"\n",
    )
    .unwrap();
    let got: Vec<(String, String)> = ok
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "strict-transport-security".into(),
                "max-age=31536000".into()
            ),
            ("x-content-type-options".into(), "nosniff".into()),
            ("x-frame-options".into(), "sameorigin".into()),
        ]
    );
    // The toolkit matches names exactly; so does sloburn.
    let e = parse("http_server_config:\n  headers:\n    x-frame-options: deny\n").unwrap_err();
    assert!(e.to_string().starts_with("web.yml:3:22: "), "{e}");
    let e =
        parse("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n").unwrap_err();
    assert!(e.message.contains("accepted: nosniff"), "{e}");
}

#[test]
fn user_names_and_hashes() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let e = parse(&format!("basic_auth_users:\n  \"a:b\": {hash}\n")).unwrap_err();
    assert!(e.message.contains("cannot hold ':'"), "{e}");
    // An empty list means no auth, as in the toolkit.
    assert!(parse("basic_auth_users: {}\n").unwrap().users.is_none());
    let web = parse(&format!("basic_auth_users:\n  alice: {hash}\n")).unwrap();
    assert!(web.users.is_some());
    assert!(web.warnings[0].contains("clear text"), "{:?}", web.warnings);
}

/// A changed file is read on the next connection; a change that does not load keeps the last
/// good config.
#[test]
fn a_source_follows_changes_and_keeps_the_last_good_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    )
    .unwrap();
    let source = WebConfigSource::open(&path).unwrap();
    let frame = |w: &WebSecurity| w.headers[0].1.to_str().unwrap().to_string();
    assert_eq!(frame(&source.current()), "deny");
    let first = source.current();
    assert!(
        Arc::ptr_eq(&first, &source.current()),
        "re-read without a change"
    );
    std::fs::write(
        &path,
        "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    )
    .unwrap();
    assert_eq!(frame(&source.current()), "sameorigin");
    std::fs::write(
        &path,
        "http_server_config:\n  headers:\n    X-Frame-Options: [\n",
    )
    .unwrap();
    assert_eq!(frame(&source.current()), "sameorigin");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(frame(&source.current()), "sameorigin");
}

/// A fix made in a file the last good config does not name (a new key file) applies once the
/// failed reload is tried again, with no further change to the web config itself.
#[test]
fn a_failed_reload_is_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    let users = |hash: &str| format!("basic_auth_users:\n  alice: {hash}\n");
    std::fs::write(&path, users(&bcrypt::hash("one", 4).unwrap())).unwrap();
    let source = WebConfigSource::open_retrying(&path, Duration::ZERO).unwrap();
    assert!(source.current().tls.is_none());
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    // Names files that are not there yet (and keeps the users: dropping them is refused).
    std::fs::write(
        &path,
        format!(
            "tls_server_config:\n  cert_file: new.pem\n  key_file: new-key.pem\n{}",
            users(&bcrypt::hash("one", 4).unwrap())
        ),
    )
    .unwrap();
    assert!(source.current().tls.is_none());
    std::fs::write(dir.path().join("new.pem"), cert.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("new-key.pem"),
        cert.signing_key.serialize_pem(),
    )
    .unwrap();
    assert!(source.current().tls.is_some(), "the fix was not picked up");
}

/// A directory with a self-signed certificate (`cert.pem`, `key.pem`; it serves as the client
/// CA too) and `web.yml`.
fn tls_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let path = dir.path().join("web.yml");
    (dir, path)
}

const TLS: &str = "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n";

fn with_client_auth(kind: &str) -> String {
    format!("{TLS}  client_auth_type: {kind}\n  client_ca_file: cert.pem\n")
}

fn users_of(name: &str) -> String {
    format!(
        "basic_auth_users:\n  {name}: {}\n",
        bcrypt::hash("pw", 4).unwrap()
    )
}

/// A reload that would drop TLS or basic auth, or verify client certificates less, is refused
/// and the config in force kept (an empty or truncated file included): weakening needs a
/// restart. Retried at once here, so every look reloads.
#[test]
fn a_reload_never_weakens_the_config_in_force() {
    let (_dir, path) = tls_dir();
    let strong = format!(
        "{}{}",
        with_client_auth("RequireAndVerifyClientCert"),
        users_of("alice")
    );
    std::fs::write(&path, &strong).unwrap();
    let source = WebConfigSource::open_retrying(&path, Duration::ZERO).unwrap();
    let first = source.current();
    for weaker in [
        String::new(),
        "# nothing\n".into(),
        "---\n".into(),
        "null\n".into(),
        "{}\n".into(),
        // Truncated after the TLS section: no users.
        with_client_auth("RequireAndVerifyClientCert"),
        format!(
            "{}basic_auth_users: {{}}\n",
            with_client_auth("RequireAndVerifyClientCert")
        ),
        // No TLS.
        users_of("alice"),
        // Client certificates optional, or not asked for.
        format!(
            "{}{}",
            with_client_auth("VerifyClientCertIfGiven"),
            users_of("alice")
        ),
        format!("{TLS}{}", users_of("alice")),
    ] {
        std::fs::write(&path, &weaker).unwrap();
        assert!(
            Arc::ptr_eq(&first, &source.current()),
            "{weaker:?} replaced the config in force"
        );
    }
    // As strong (other users) applies.
    std::fs::write(
        &path,
        format!(
            "{}{}",
            with_client_auth("RequireAndVerifyClientCert"),
            users_of("bob")
        ),
    )
    .unwrap();
    assert!(!Arc::ptr_eq(&first, &source.current()), "not reloaded");
}

/// Adding TLS, users or client certificates applies.
#[test]
fn a_reload_may_strengthen_the_config() {
    let (_dir, path) = tls_dir();
    std::fs::write(&path, "# open\n").unwrap();
    let source = WebConfigSource::open_retrying(&path, Duration::ZERO).unwrap();
    assert!(source.current().tls.is_none());
    std::fs::write(&path, TLS).unwrap();
    assert!(source.current().tls.is_some());
    std::fs::write(&path, format!("{TLS}{}", users_of("alice"))).unwrap();
    assert!(source.current().users.is_some());
    for kind in ["VerifyClientCertIfGiven", "RequireAndVerifyClientCert"] {
        let before = source.current();
        std::fs::write(
            &path,
            format!("{}{}", with_client_auth(kind), users_of("alice")),
        )
        .unwrap();
        assert!(
            !Arc::ptr_eq(&before, &source.current()),
            "{kind} not applied"
        );
    }
}

/// A change that lands after a file was read, before the source notes what it read, is
/// loaded on the next look: the stamp is taken before reading, never after.
#[test]
fn a_change_right_after_a_read_is_not_missed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    let header =
        |name: &str, value: &str| format!("http_server_config:\n  headers:\n    {name}: {value}\n");
    std::fs::write(&path, header("X-Frame-Options", "deny")).unwrap();
    let source = WebConfigSource::open(&path).unwrap();
    std::fs::write(&path, header("X-Frame-Options", "sameorigin")).unwrap();
    let late = header("X-Content-Type-Options", "nosniff");
    let target = path.clone();
    let mut fired = false;
    AFTER_READ.with(|hook| {
        *hook.borrow_mut() = Some(Box::new(move |read: &Path| {
            if read == target && !fired {
                fired = true;
                std::fs::write(read, &late).unwrap();
            }
        }));
    });
    let name = |w: &WebSecurity| w.headers[0].0.to_string();
    assert_eq!(name(&source.current()), "x-frame-options");
    AFTER_READ.with(|hook| *hook.borrow_mut() = None);
    assert_eq!(
        name(&source.current()),
        "x-content-type-options",
        "the change made right after the read was never loaded"
    );
}
