//! deploy/kubernetes, checked offline: every object validates against the Kubernetes schemas
//! (`kubernetes-validate --strict`, which refuses unknown fields) and the prometheus-operator
//! CRD schemas (@kubernetes-models/prometheus-operator, run with node from tests/deploy); the
//! PrometheusRule is exactly what `sloburn generate` writes for the ConfigMap's specs and
//! promtool accepts its groups; the ConfigMap's settings start a real `sloburn run` against a
//! real Prometheus until `/readyz` answers on the probes' paths. No cluster is involved: what a
//! real cluster would add (scheduling, the volume, the reload sidecar's image) is untested.
//!
//! Needs `kubernetes-validate` (PyPI), node with `npm ci` done in tests/deploy, and Prometheus:
//! scripts/test installs them; a missing one fails the test.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::backfill::{Backfill, HOUR, MINUTE, now_minute, scenario};
use support::eval::text;
use support::process::{ChildGuard, find_binary, free_port, require_binary, wait_for_http_ok};
use support::prometheus::Prometheus;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(repo("deploy/kubernetes/sloburn.yaml")).unwrap();
    serde_saphyr::from_multiple::<Value>(&text).unwrap()
}

/// The object of `kind` named `name` in sloburn.yaml.
fn object(kind: &str, name: &str) -> Value {
    manifests()
        .into_iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} in deploy/kubernetes/sloburn.yaml"))
}

fn kubernetes_validate(files: &[PathBuf]) -> (bool, String) {
    let binary = find_binary("kubernetes-validate").unwrap_or_else(|| {
        panic!(
            "`kubernetes-validate` is not installed (looked in /usr/bin and on PATH): run \
             scripts/test, which installs it (`pip install kubernetes-validate`)"
        )
    });
    let out = Command::new(binary)
        .args(["--strict"])
        .args(files)
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

fn validate_crds(files: &[PathBuf]) -> (bool, String) {
    let dir = repo("tests/deploy");
    assert!(
        dir.join("node_modules/@kubernetes-models/prometheus-operator")
            .is_dir(),
        "the CRD schemas are not installed: run scripts/test, which runs `npm ci` in tests/deploy"
    );
    let node = find_binary("node").unwrap_or_else(|| {
        panic!("`node` is not installed: install Node.js (the Debian package `nodejs`)")
    });
    let out = Command::new(node)
        .current_dir(&dir)
        .arg("validate-crds.mjs")
        .args(files)
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

#[test]
fn the_manifests_validate_against_the_kubernetes_schemas() {
    let core = repo("deploy/kubernetes/sloburn.yaml");
    let (ok, out) = kubernetes_validate(std::slice::from_ref(&core));
    assert!(ok, "{out}");
    for kind in [
        "serviceaccount",
        "configmap/sloburn",
        "configmap/sloburn-specs",
        "service",
        "statefulset",
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains("passed") && l.contains(kind)),
            "{kind} was not validated:\n{out}"
        );
    }
    assert!(!out.contains("Couldn't find schema"), "{out}");

    // The validator refuses what a cluster would: an unknown field, a wrong type.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&core).unwrap();
    for (from, to, says) in [
        (
            "serviceName: sloburn",
            "serviceName: sloburn\n  replica: 2",
            "'replica' was unexpected",
        ),
        (
            "containerPort: 9099",
            "containerPort: \"9099\"",
            "is not of type 'integer'",
        ),
    ] {
        assert!(text.contains(from));
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let (ok, out) = kubernetes_validate(&[bad]);
        assert!(!ok && out.contains(says), "{to:?} passed:\n{out}");
    }

    let crds = [
        repo("deploy/kubernetes/servicemonitor.yaml"),
        repo("deploy/kubernetes/prometheusrule.yaml"),
    ];
    let (ok, out) = validate_crds(&crds);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok") && out.contains("ServiceMonitor/sloburn"),
        "{out}"
    );
    assert!(out.contains("PrometheusRule/sloburn-slos"), "{out}");
    let sm = std::fs::read_to_string(&crds[0]).unwrap();
    let bad = dir.path().join("sm.yaml");
    std::fs::write(&bad, sm.replacen("interval: 15s", "interval: 15", 1)).unwrap();
    let (ok, out) = validate_crds(&[bad]);
    assert!(!ok && out.contains("interval must be string"), "{out}");
}

#[test]
fn the_prometheus_rule_is_what_generate_writes_for_the_configmap_specs() {
    let specs = object("ConfigMap", "sloburn-specs");
    let dir = tempfile::tempdir().unwrap();
    let files = specs["data"].as_object().unwrap();
    assert_eq!(files.len(), 1, "one spec file in the ConfigMap");
    let (name, body) = files.iter().next().unwrap();
    std::fs::write(dir.path().join(name), body.as_str().unwrap()).unwrap();

    let check = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .current_dir(dir.path())
        .args(["check", name])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    let generated = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .current_dir(dir.path())
        .args([
            "generate",
            "--mode",
            "engine",
            "--format",
            "prometheus-operator",
            name,
        ])
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", text(&generated));
    let shipped = std::fs::read_to_string(repo("deploy/kubernetes/prometheusrule.yaml")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&generated.stdout),
        shipped,
        "deploy/kubernetes/prometheusrule.yaml is stale: regenerate it with `sloburn generate \
         --mode engine --format prometheus-operator {name}` from the specs ConfigMap"
    );

    // promtool accepts the groups inside the PrometheusRule.
    let rule: Value = serde_saphyr::from_str(&shipped).unwrap();
    let groups = serde_json::json!({ "groups": rule["spec"]["groups"] });
    let rules = dir.path().join("rules.json");
    std::fs::write(&rules, groups.to_string()).unwrap();
    let promtool = require_binary("promtool");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configmap_settings_start_sloburn_and_the_probes_answer() {
    let config = object("ConfigMap", "sloburn");
    let settings = config["data"]["sloburn.yaml"].as_str().unwrap();
    let set = object("StatefulSet", "sloburn");
    let container = &set["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["run", "--config", "/etc/sloburn/sloburn.yaml"]);

    let end = now_minute() + MINUTE;
    let mut b = Backfill::new(end - 2 * HOUR, end);
    scenario::steady(&mut b, "checkout");
    let prometheus = Prometheus::backfilled(&b);

    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("sloburn.yaml");
    std::fs::write(&config_path, settings).unwrap();
    let specs = object("ConfigMap", "sloburn-specs");
    let spec_dir = dir.path().join("slo-specs");
    std::fs::create_dir(&spec_dir).unwrap();
    for (name, body) in specs["data"].as_object().unwrap() {
        std::fs::write(spec_dir.join(name), body.as_str().unwrap()).unwrap();
    }
    // The container's command, with what the cluster provides (paths, the Prometheus service,
    // the port) replaced through SLOBURN_* variables.
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args(["run", "--config"])
        .arg(&config_path)
        .env("SLOBURN_LISTEN", format!("127.0.0.1:{port}"))
        .env("SLOBURN_PROMETHEUS_URL", &prometheus.url)
        .env("SLOBURN_STATE_DIR", dir.path().join("state"))
        .env("SLOBURN_SPECS", &spec_dir)
        .env("SLOBURN_QUERY_LAG", "0s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _sloburn = ChildGuard::spawn(cmd, "sloburn run");
    let probe = |name: &str| {
        let path = container[name]["httpGet"]["path"]
            .as_str()
            .unwrap()
            .to_string();
        format!("http://127.0.0.1:{port}{path}")
    };
    for name in ["startupProbe", "livenessProbe", "readinessProbe"] {
        wait_for_http_ok(&probe(name), Duration::from_secs(60)).unwrap();
    }
    // The reload sidecar's webhook is enabled by the ConfigMap's settings.
    let reloader = &set["spec"]["template"]["spec"]["containers"][1];
    let webhook = reloader["args"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|a| a.as_str()?.strip_prefix("--webhook-url="))
        .unwrap();
    assert_eq!(webhook, "http://127.0.0.1:9099/-/reload");
    let reload = support::prometheus::http_client(Duration::from_secs(10))
        .post(format!("http://127.0.0.1:{port}/-/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200, "{:?}", reload.text().await);
}

/// The Dockerfile, read (tests/container_image.rs builds and runs it): what it copies from the
/// build context exists and holds every file the build embeds, the image runs as a non-root
/// user with a health check through `sloburn probe`, and the image's settings file is the
/// Debian package's, which tests/package_deb.rs starts sloburn with.
#[test]
fn the_dockerfile_copies_what_the_build_needs_and_runs_as_non_root() {
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let lines: Vec<String> = dockerfile
        .replace("\\\n", " ")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let copied: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().skip(1).collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    assert!(copied.contains(&"Cargo.lock") && copied.contains(&"src"));
    for source in &copied {
        assert!(
            repo(source).exists(),
            "the Dockerfile copies {source}, which is missing"
        );
    }
    // Every file the build embeds is inside something copied.
    let mut embedded = Vec::new();
    let mut stack = vec![repo("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let code = std::fs::read_to_string(&path).unwrap();
                for part in code
                    .split("include_str!(\"")
                    .skip(1)
                    .chain(code.split("include_bytes!(\"").skip(1))
                {
                    let rel = &part[..part.find('"').unwrap()];
                    let file = path.parent().unwrap().join(rel);
                    embedded.push(file.canonicalize().unwrap());
                }
            }
        }
    }
    assert!(!embedded.is_empty(), "the demo's spec is embedded");
    let root = repo("").canonicalize().unwrap();
    for file in &embedded {
        let rel = file.strip_prefix(&root).unwrap();
        assert!(
            copied.iter().any(|c| rel.starts_with(c)),
            "the build embeds {}, which the Dockerfile does not copy",
            rel.display()
        );
    }
    let stage_user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER in the final stage");
    assert!(!stage_user.starts_with("0") && !stage_user.starts_with("root"));
    let final_from = lines.iter().rev().find(|l| l.starts_with("FROM ")).unwrap();
    assert!(final_from.contains("distroless"), "{final_from}");
    let health = lines
        .iter()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("a HEALTHCHECK");
    // The probe asks /readyz where `run` listens (SLOBURN_CONFIG's `listen`, SLOBURN_LISTEN).
    assert!(
        health.ends_with(r#"CMD ["/usr/bin/sloburn", "probe"]"#),
        "{health}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "COPY packaging/sloburn.yaml /etc/sloburn/sloburn.yaml")
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "ENV SLOBURN_CONFIG=/etc/sloburn/sloburn.yaml")
    );
    assert!(lines.iter().any(|l| l == r#"CMD ["run"]"#));
}

/// `sloburn probe`, the image's health check: 0 on a 2xx answer, 1 on anything else, including
/// nothing listening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_is_healthy_only_on_a_2xx_answer() {
    let end = now_minute() + MINUTE;
    let mut b = Backfill::new(end - HOUR, end);
    scenario::steady(&mut b, "checkout");
    let prometheus = Prometheus::backfilled(&b);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let probe = |path: &str| {
        Command::new(env!("CARGO_BIN_EXE_sloburn"))
            .args(["probe", &format!("http://127.0.0.1:{port}{path}")])
            .output()
            .unwrap()
    };
    let refused = probe("/readyz");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
    cmd.args(["run", "--spec", "slo-specs/availability.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--prometheus-url", &prometheus.url])
        .arg("--state-dir")
        .arg(dir.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _sloburn = ChildGuard::spawn(cmd, "sloburn run");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();
    let ready = probe("/readyz");
    assert_eq!(ready.status.code(), Some(0), "{}", text(&ready));
    let missing = probe("/no-such-page");
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));

    // Without a URL the probe asks /readyz where `run` listens, as the image's HEALTHCHECK does:
    // SLOBURN_LISTEN first, else the settings file's `listen` (an unspecified address is asked
    // on loopback), so a changed port keeps the container healthy.
    let bare = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
        cmd.arg("probe").args(args);
        cmd.env_remove("SLOBURN_LISTEN")
            .env_remove("SLOBURN_CONFIG");
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    };
    let listen = format!("127.0.0.1:{port}");
    let by_env = bare(&[("SLOBURN_LISTEN", &listen)], &[]);
    assert_eq!(by_env.status.code(), Some(0), "{}", text(&by_env));
    assert!(
        text(&by_env).contains(&format!("http://{listen}/readyz")),
        "{}",
        text(&by_env)
    );
    let settings = dir.path().join("sloburn.yaml");
    std::fs::write(&settings, format!("listen: 0.0.0.0:{port}\n")).unwrap();
    let by_file = bare(&[("SLOBURN_CONFIG", settings.to_str().unwrap())], &[]);
    assert_eq!(by_file.status.code(), Some(0), "{}", text(&by_file));
    let closed = format!("127.0.0.1:{}", free_port());
    let env_wins = bare(
        &[
            ("SLOBURN_CONFIG", settings.to_str().unwrap()),
            ("SLOBURN_LISTEN", &closed),
        ],
        &[],
    );
    assert_eq!(env_wins.status.code(), Some(1), "{}", text(&env_wins));
    assert!(text(&env_wins).contains(&closed), "{}", text(&env_wins));
    let no_file = bare(&[], &["--config", "/nonexistent/sloburn.yaml"]);
    assert_eq!(no_file.status.code(), Some(1), "{}", text(&no_file));
    assert!(
        text(&no_file).contains("/nonexistent/sloburn.yaml"),
        "{}",
        text(&no_file)
    );
}
