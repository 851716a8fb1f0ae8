//! The Debian package for real: `cargo deb` packs the binary this test suite built (the dev
//! profile: what is tested is the packaging, not the optimiser), `dpkg -i` installs it on this
//! machine, the installed unit passes `systemd-analyze verify`, the unit's own `ExecStart`
//! command runs against a real backfilled Prometheus until `/readyz` answers and `/metrics`
//! shows the SLO's budget, and `dpkg --purge` removes every file again (also when the test
//! fails). The package's file list and control fields are snapshots.
//!
//! Needs `cargo-deb`, `dpkg` and `systemd-analyze`, and root (or sudo) for `dpkg -i`: missing
//! ones fail the test (scripts/test installs cargo-deb). A sloburn package installed on this
//! machine by someone else fails the test rather than being replaced.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use engine::Metrics;
use support::backfill::{Backfill, HOUR, MINUTE, now_minute, scenario};
use support::eval::text;
use support::process::{ChildGuard, find_binary, free_port, wait_for_http_ok};
use support::prometheus::Prometheus;

const SPECS: &str = r#"
version: sloburn/v1
service: packaged
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: http_requests_total{job="deb",code="500"}
        total: http_requests_total{job="deb"}
"#;

fn require(name: &str, how: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!("`{name}` is not installed (looked in /usr/bin and on PATH); {how}")
    })
}

/// `program args` as root: directly when this process is root, else through sudo.
fn as_root(program: &str) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| text(&o).trim() == "0")
        .unwrap_or(false);
    if root {
        Command::new(program)
    } else {
        require(
            "sudo",
            "installing a package needs root: run the tests as root or with sudo",
        );
        let mut c = Command::new("sudo");
        c.args(["-n", program]);
        c
    }
}

/// `program args...`.
fn cmd<S: AsRef<std::ffi::OsStr>>(program: &str, args: impl IntoIterator<Item = S>) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

fn run(mut c: Command, what: &str) -> Output {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what} failed: {}", text(&out));
    out
}

/// Purges the package on drop, so a failing test leaves no sloburn installed.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let mut c = as_root("dpkg");
        c.args(["--purge", "sloburn"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
    }
}

fn installed_version() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f=${Status} ${Version}", "sloburn"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    s.contains("install ok installed").then_some(s)
}

/// The package's files (path, mode, owner) and control fields without sizes, for snapshots.
fn describe(deb: &Path) -> String {
    let listing = run(
        cmd("dpkg-deb", [Path::new("--contents"), deb]),
        "dpkg-deb --contents",
    );
    let mut files: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // mode owner size date time path
            format!("{} {} {}", cols[0], cols[1], cols[cols.len() - 1])
        })
        .collect();
    files.sort();
    let mut out = files.join("\n");
    for field in ["Package", "Section", "Priority", "Depends"] {
        let v = run(
            cmd("dpkg-deb", [Path::new("--field"), deb, Path::new(field)]),
            "dpkg-deb --field",
        );
        out.push_str(&format!("\n{field}: {}", text(&v).trim()));
    }
    let conffiles = run(
        cmd(
            "dpkg-deb",
            [Path::new("--info"), deb, Path::new("conffiles")],
        ),
        "dpkg-deb --info conffiles",
    );
    out.push_str(&format!("\nconffiles: {}", text(&conffiles).trim()));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debian_package_installs_starts_and_purges() {
    let cargo_deb = require(
        "cargo-deb",
        "run scripts/test, which installs it (`cargo install cargo-deb --locked`)",
    );
    require("dpkg", "this test needs a Debian system");
    require(
        "systemd-analyze",
        "install the Debian package `systemd` (it verifies the unit)",
    );
    if let Some(v) = installed_version() {
        panic!(
            "a sloburn package is installed on this machine ({v}); this test installs and purges \
             its own: remove that one first (`dpkg --purge sloburn`)"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let deb = dir.path().join("sloburn.deb");
    // The binary the tests run (CARGO_BIN_EXE_sloburn is target/<profile>/sloburn).
    let profile_dir = Path::new(env!("CARGO_BIN_EXE_sloburn"))
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|p| p.to_str())
        .unwrap()
        .to_string();
    let profile = if profile_dir == "debug" {
        "dev"
    } else {
        &profile_dir
    };
    let mut c = Command::new(&cargo_deb);
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["deb", "--no-build", "--fast", "--profile", profile, "-o"])
        .arg(&deb);
    run(c, "cargo deb");
    insta::assert_snapshot!("debian_package", describe(&deb));
    let arch = run(
        cmd("dpkg", ["--print-architecture"]),
        "dpkg --print-architecture",
    );
    let deb_arch = run(
        cmd(
            "dpkg-deb",
            [Path::new("--field"), &deb, Path::new("Architecture")],
        ),
        "dpkg-deb --field Architecture",
    );
    assert_eq!(text(&deb_arch).trim(), text(&arch).trim());

    let mut c = as_root("dpkg");
    c.arg("-i").arg(&deb);
    let guard = Installed;
    run(c, "dpkg -i");
    assert!(installed_version().is_some(), "dpkg -i left it uninstalled");

    // The files where the unit and the docs say they are.
    let version = run(cmd("/usr/bin/sloburn", ["--version"]), "sloburn --version");
    assert!(
        text(&version).contains(env!("CARGO_PKG_VERSION")),
        "{}",
        text(&version)
    );
    assert_eq!(
        std::fs::read_to_string("/etc/sloburn/sloburn.yaml").unwrap(),
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/sloburn.yaml")
        )
        .unwrap()
    );
    let unit_path = "/usr/lib/systemd/system/sloburn.service";
    let verify = run(
        cmd("systemd-analyze", ["verify", unit_path]),
        "systemd-analyze verify",
    );
    assert!(
        !text(&verify).contains("sloburn.service:"),
        "the unit has warnings: {}",
        text(&verify)
    );
    // The installed config passes the binary's own validation of its specs folder layout.
    let check = Command::new("/usr/bin/sloburn")
        .args(["check", "/usr/share/doc/sloburn/examples/availability.yaml"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));

    // Start it as systemd would: the unit's ExecStart, with the unit's environment, pointed at
    // a real Prometheus and a temporary state dir (no systemd here to make StateDirectory).
    let unit = std::fs::read_to_string(unit_path).unwrap();
    let exec: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart in the unit")
        .split_whitespace()
        .collect();
    assert_eq!(exec[0], "/usr/bin/sloburn");

    let end = now_minute() + MINUTE;
    let mut b = Backfill::new(end - 2 * HOUR, end);
    scenario::steady(&mut b, "deb");
    let prometheus = Prometheus::backfilled(&b);
    let specs = dir.path().join("specs.yaml");
    std::fs::write(&specs, SPECS).unwrap();
    let port = free_port();
    let mut cmd = Command::new(exec[0]);
    cmd.args(&exec[1..])
        .env("SLOBURN_LISTEN", format!("127.0.0.1:{port}"))
        .env("SLOBURN_PROMETHEUS_URL", &prometheus.url)
        .env("SLOBURN_STATE_DIR", dir.path().join("state"))
        .env("SLOBURN_SPECS", &specs)
        .env("SLOBURN_QUERY_LAG", "0s")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut sloburn = ChildGuard::spawn(cmd, "the packaged sloburn");
    wait_for_http_ok(
        &format!("http://127.0.0.1:{port}/readyz"),
        Duration::from_secs(60),
    )
    .unwrap();
    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metrics = Metrics::parse(&metrics);
    let budget = metrics
        .find(
            "slo_error_budget_remaining_ratio",
            &[("service", "packaged")],
        )
        .next()
        .unwrap_or_else(|| {
            panic!(
                "no budget of the packaged SLO in /metrics:\n{}",
                metrics.text
            )
        });
    let (value, budget) = (budget.value, &budget.line);
    assert!(value.is_finite() && value <= 1.0, "{budget}");
    sloburn.stop();

    drop(guard);
    assert!(
        installed_version().is_none(),
        "dpkg --purge left it installed"
    );
    assert!(!Path::new("/usr/bin/sloburn").exists());
    assert!(!Path::new("/etc/sloburn/sloburn.yaml").exists());
    assert!(!Path::new(unit_path).exists());
}
