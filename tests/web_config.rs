//! Bad `--web.config.file` files: each refusal names the file, line, column and field and says
//! what is accepted (snapshots), never echoes a password, and `sloburn run` stops with it
//! (exit 2) instead of serving open.

mod support;

use std::path::Path;
use std::process::Command;

use sloburn::http::WebSecurity;
use support::tls::{Ca, hash, write_server_files};

/// Loads `text` as `web.yml` in a folder holding a CA, a server pair (`server.pem`,
/// `server-key.pem`) and a second, unrelated key (`other-key.pem`); the message has the folder
/// replaced by `<dir>`.
fn refusal(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    write_server_files(dir.path(), &ca);
    std::fs::write(dir.path().join("other-key.pem"), ca.server().key).unwrap();
    std::fs::write(dir.path().join("garbage.pem"), "not a certificate\n").unwrap();
    let path = dir.path().join("web.yml");
    std::fs::write(&path, text).unwrap();
    let error = WebSecurity::load(&path).expect_err("the config must be refused");
    error
        .to_string()
        .replace(&dir.path().display().to_string(), "<dir>")
}

const TLS: &str = "tls_server_config:\n  cert_file: server.pem\n  key_file: server-key.pem\n";

#[test]
fn a_missing_cert_file() {
    insta::assert_snapshot!(
        "missing_cert_file",
        refusal("tls_server_config:\n  cert_file: nowhere.pem\n  key_file: server-key.pem\n")
    );
}

#[test]
fn bad_yaml() {
    insta::assert_snapshot!(
        "bad_yaml",
        refusal("tls_server_config:\n  cert_file: [server.pem\n")
    );
}

#[test]
fn an_unknown_field() {
    insta::assert_snapshot!(
        "unknown_field",
        refusal("tls_server_config:\n  cert_fil: server.pem\n  key_file: server-key.pem\n")
    );
}

#[test]
fn a_plain_text_password_is_refused_and_not_echoed() {
    let message = refusal("basic_auth_users:\n  alice: hunter2\n");
    assert!(!message.contains("hunter2"), "{message}");
    insta::assert_snapshot!("plain_text_password", message);
}

#[test]
fn headers_the_toolkit_refuses() {
    insta::assert_snapshot!(
        "header_not_allowed",
        refusal("http_server_config:\n  headers:\n    Server: sloburn\n")
    );
    insta::assert_snapshot!(
        "header_value_not_accepted",
        refusal("http_server_config:\n  headers:\n    X-Frame-Options: allow-from-anywhere\n")
    );
}

#[test]
fn client_auth_that_maps_onto_nothing_safe() {
    insta::assert_snapshot!(
        "require_any_client_cert",
        refusal(&format!(
            "{TLS}  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.pem\n"
        ))
    );
    insta::assert_snapshot!(
        "client_ca_without_client_auth",
        refusal(&format!("{TLS}  client_ca_file: ca.pem\n"))
    );
    insta::assert_snapshot!(
        "client_auth_without_ca",
        refusal(&format!(
            "{TLS}  client_auth_type: RequireAndVerifyClientCert\n"
        ))
    );
}

#[test]
fn unsupported_tls_settings() {
    insta::assert_snapshot!(
        "cipher_suites",
        refusal(&format!(
            "{TLS}  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
        ))
    );
    insta::assert_snapshot!("tls10", refusal(&format!("{TLS}  min_version: TLS10\n")));
    insta::assert_snapshot!(
        "rate_limit",
        refusal("rate_limit:\n  interval: 1s\n  burst: 5\n")
    );
}

#[test]
fn broken_pairs() {
    insta::assert_snapshot!(
        "missing_key_file",
        refusal("tls_server_config:\n  cert_file: server.pem\n")
    );
    insta::assert_snapshot!(
        "key_of_another_certificate",
        refusal("tls_server_config:\n  cert_file: server.pem\n  key_file: other-key.pem\n")
    );
    insta::assert_snapshot!(
        "not_a_certificate",
        refusal("tls_server_config:\n  cert_file: garbage.pem\n  key_file: server-key.pem\n")
    );
    insta::assert_snapshot!(
        "inline_and_file",
        refusal(&format!("{TLS}  cert: \"-----BEGIN CERTIFICATE-----\"\n"))
    );
}

/// A bcrypt cost outside 4..=31 would load and then refuse everyone: refused at load.
#[test]
fn a_hash_of_a_cost_bcrypt_cannot_run() {
    for (name, cost) in [("hash_cost_too_high", "99"), ("hash_cost_too_low", "03")] {
        let bad = hash("secret").replacen("$04$", &format!("${cost}$"), 1);
        insta::assert_snapshot!(
            name,
            refusal(&format!("basic_auth_users:\n  alice: {bad}\n"))
        );
    }
}

/// Users whose hashes differ in cost: a refusal of an unknown user takes as long as one of the
/// dearest, so timing can tell users of cheaper hashes apart; warned at load.
#[test]
fn hashes_of_different_costs_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    let dear = bcrypt::hash("secret", 5).unwrap();
    std::fs::write(
        &path,
        format!(
            "basic_auth_users:\n  alice: {}\n  bob: {dear}\n",
            hash("secret")
        ),
    )
    .unwrap();
    let web = WebSecurity::load(&path).expect("loads");
    let warnings = web
        .warnings
        .iter()
        .map(|w| w.replace(&dir.path().display().to_string(), "<dir>"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("hash_costs_differ", warnings);
}

/// What the toolkit accepts and sloburn can honour loads; what has no effect is a warning.
#[test]
fn a_full_config_loads_with_warnings_for_what_has_no_effect() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    write_server_files(dir.path(), &ca);
    let path = dir.path().join("web.yml");
    std::fs::write(
        &path,
        format!(
            "{TLS}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\n  min_version: TLS13\n  prefer_server_cipher_suites: true\nhttp_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n    Content-Security-Policy: \"\"\nbasic_auth_users:\n  alice: {}\n",
            hash("secret")
        ),
    )
    .unwrap();
    let web = WebSecurity::load(&path).expect("loads");
    assert!(web.tls.is_some());
    assert!(web.users.is_some());
    // A blank header is unset, as in the toolkit.
    let headers: Vec<String> = web
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap()))
        .collect();
    assert_eq!(headers, ["x-frame-options: deny"]);
    let warnings: Vec<String> = web
        .warnings
        .iter()
        .map(|w| w.replace(&dir.path().display().to_string(), "<dir>"))
        .collect();
    insta::assert_snapshot!("warnings", warnings.join("\n"));
}

/// `sloburn run` refuses to start on a bad web config (before reading specs or Prometheus),
/// whether it is named by the flag, the variable or `web_config_file` in the config file.
#[test]
fn run_stops_on_a_bad_web_config() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, "basic_auth_users:\n  alice: hunter2\n").unwrap();
    let config = dir.path().join("sloburn.yaml");
    std::fs::write(&config, format!("web_config_file: {}\n", web.display())).unwrap();
    let run = |how: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
        cmd.args([
            "run",
            "--spec",
            "slo-specs",
            "--prometheus-url",
            "http://127.0.0.1:1",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env_remove("SLOBURN_WEB_CONFIG_FILE")
        .env_remove("SLOBURN_CONFIG")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")));
        match how {
            "flag" => cmd.arg("--web.config.file").arg(&web),
            "variable" => cmd.env("SLOBURN_WEB_CONFIG_FILE", &web),
            _ => cmd.arg("--config").arg(&config),
        };
        cmd.output().unwrap()
    };
    for how in ["flag", "variable", "config file"] {
        let out = run(how);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{how}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}:2:10: basic_auth_users.alice: not a bcrypt hash",
                web.display()
            )),
            "{how}: {stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

/// `examples/web-config.yml` loads (beside the certificates it names) and guards as it says.
#[test]
fn the_example_loads() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    write_server_files(dir.path(), &ca);
    std::fs::write(dir.path().join("clients-ca.pem"), Ca::new("clients").pem()).unwrap();
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/web-config.yml"
    ))
    .unwrap();
    let path = dir.path().join("web-config.yml");
    std::fs::write(&path, example).unwrap();
    let web = WebSecurity::load(&path).expect("the example loads");
    assert!(web.tls.is_some() && web.users.is_some());
    assert_eq!(web.headers.len(), 3);
    assert!(web.warnings.is_empty(), "{:?}", web.warnings);
}
