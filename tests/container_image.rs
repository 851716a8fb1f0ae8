//! The Dockerfile for real: buildah (Debian's daemonless OCI builder) builds it, podman runs the
//! image against a real backfilled Prometheus until its own HEALTHCHECK passes and `/metrics`
//! shows the SLO's budget from Prometheus's data; it runs as the non-root user, keeps its
//! history on a named volume, and is healthy again after a kill -9 and a start.
//!
//! What is not real: the two base images. This machine cannot pull from docker.io or gcr.io,
//! so the test makes local stand-ins under the same names and builds with `--pull-never`:
//! - `rust:1.95-slim-bookworm`: Debian bookworm from `debootstrap` (minbase, gcc, libc6-dev,
//!   ca-certificates, as the official image has), with this machine's Rust toolchain mounted
//!   where the official image keeps it (RUSTUP_HOME, CARGO_HOME/bin) and this machine's CA
//!   bundle (its egress proxy re-signs crates.io);
//! - `distroless/cc-debian12:nonroot`: the files of the Debian packages distroless is made of
//!   (base-files, tzdata, ca-certificates, libc6, libgcc-s1, libgomp1, libstdc++6, libssl3),
//!   no shell, and the `nonroot` user 65532 with its home.
//!
//! The build stage's `cargo build --release --locked` runs in full (crates from crates.io into
//! the Dockerfile's cache mount): this test takes minutes, see scripts/test.
//!
//! Needs `buildah`, `podman`, `runc` and `debootstrap` (scripts/test installs them), root, and
//! Debian's mirror; a missing one fails the test. Every container, volume and image lives in a
//! temporary storage root that the test removes, also when it fails.

#[path = "support/engine.rs"]
mod engine;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use engine::Metrics;
use serde_json::Value;
use support::backfill::{Backfill, HOUR, MINUTE, now_minute, scenario};
use support::eval::text;
use support::process::{find_binary, free_port};
use support::prometheus::Prometheus;

const BUILDER: &str = "docker.io/library/rust:1.95-slim-bookworm";
const RUNTIME: &str = "gcr.io/distroless/cc-debian12:nonroot";
const IMAGE: &str = "localhost/sloburn:test";
/// The packages distroless's cc-debian12 image is made of.
const DISTROLESS_PACKAGES: &[&str] = &[
    "base-files",
    "tzdata",
    "ca-certificates",
    "libc6",
    "libgcc-s1",
    "libgomp1",
    "libstdc++6",
    "libssl3",
];
const SPECS: &str = r#"
version: sloburn/v1
service: imaged
slos:
  - name: avail
    objective: 99
    sli:
      ratio:
        errors: http_requests_total{job="image",code="500"}
        total: http_requests_total{job="image"}
"#;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn require(name: &str) -> PathBuf {
    find_binary(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed (looked in /usr/bin and on PATH): run scripts/test, which \
             installs the Debian packages buildah, podman, runc and debootstrap"
        )
    })
}

fn run(mut cmd: Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({cmd:?}): {e}"));
    assert!(out.status.success(), "{what} failed:\n{}", text(&out));
    out
}

/// buildah and podman on one private storage root (vfs: no overlay mounts to leak), with the
/// runtime settings this machine's kernel allows (cgroup v1 through cgroupfs, runc; no
/// CAP_SYS_RESOURCE, so no raised rlimits).
struct Containers {
    dir: tempfile::TempDir,
    buildah: PathBuf,
    podman: PathBuf,
}

impl Containers {
    fn new() -> Containers {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["store", "run", "tmp", "volumes"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Containers {
            dir,
            buildah: require("buildah"),
            podman: require("podman"),
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn storage_args(&self) -> Vec<String> {
        vec![
            format!("--root={}", self.path("store").display()),
            format!("--runroot={}", self.path("run").display()),
            "--storage-driver=vfs".into(),
        ]
    }

    fn buildah(&self) -> Command {
        let mut c = Command::new(&self.buildah);
        c.args(self.storage_args()).env("TMPDIR", self.path("tmp"));
        c
    }

    fn podman(&self) -> Command {
        let mut c = Command::new(&self.podman);
        c.args(self.storage_args())
            .args([
                "--cgroup-manager=cgroupfs",
                "--runtime=runc",
                "--events-backend=file",
            ])
            .arg(format!("--tmpdir={}", self.path("tmp").display()))
            .arg(format!("--volumepath={}", self.path("volumes").display()))
            .env("TMPDIR", self.path("tmp"));
        c
    }

    /// `podman args...`, asserting success; its stdout.
    fn podman_ok(&self, args: &[&str]) -> String {
        let mut c = self.podman();
        c.args(args);
        String::from_utf8_lossy(&run(c, &format!("podman {}", args.join(" "))).stdout)
            .trim()
            .to_string()
    }

    /// A new image `name` from the contents of `rootfs`, configured by `config` (buildah config
    /// arguments).
    fn image_from_dir(&self, rootfs: &Path, name: &str, config: &[&str]) {
        let mut from = self.buildah();
        from.args(["from", "scratch"]);
        let container = text(&run(from, "buildah from scratch")).trim().to_string();
        let mut mount = self.buildah();
        mount.args(["mount", &container]);
        let root = text(&run(mount, "buildah mount")).trim().to_string();
        let mut copy = Command::new("cp");
        copy.arg("-a")
            .arg(format!("{}/.", rootfs.display()))
            .arg(&root);
        run(copy, "copying the stand-in's files");
        let mut configure = self.buildah();
        configure.arg("config").args(config).arg(&container);
        run(configure, "buildah config");
        let mut commit = self.buildah();
        commit.args(["commit", "-q", &container, name]);
        run(commit, "buildah commit");
        let mut rm = self.buildah();
        rm.args(["rm", &container]);
        run(rm, "buildah rm");
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        // Containers run under conmon, not as our children: remove them by name, then every
        // volume and build container, so nothing outlives the test.
        let _ = self
            .podman()
            .args(["rm", "-f", "-t", "0", "--all"])
            .output();
        let _ = self.podman().args(["volume", "rm", "-f", "--all"]).output();
        let _ = self.buildah().args(["rm", "--all"]).output();
    }
}

/// Debian bookworm with what the two stand-ins need, from Debian's mirror.
fn debootstrap(target: &Path) {
    let mut include = vec!["gcc", "libc6-dev"];
    include.extend(DISTROLESS_PACKAGES);
    let mut c = Command::new(require("debootstrap"));
    c.args(["--variant=minbase"])
        .arg(format!("--include={}", include.join(",")))
        .args(["bookworm"])
        .arg(target)
        .arg("http://deb.debian.org/debian");
    run(c, "debootstrap bookworm");
}

/// The distroless stand-in's files: every file and link of [`DISTROLESS_PACKAGES`] copied from
/// `debian` (bookworm's merged /usr: /lib is a link to usr/lib), the CA bundle the
/// ca-certificates package generates, and the users of distroless's `nonroot` variant.
fn distroless_rootfs(debian: &Path, target: &Path) {
    for d in ["bin", "sbin", "lib", "lib64"] {
        std::fs::create_dir_all(target.join("usr").join(d)).unwrap();
        std::os::unix::fs::symlink(format!("usr/{d}"), target.join(d)).unwrap();
    }
    let mut listed = Command::new("chroot");
    listed
        .arg(debian)
        .args(["dpkg", "-L"])
        .args(DISTROLESS_PACKAGES);
    let listed = text(&run(listed, "dpkg -L in the Debian root"));
    let mut files: Vec<String> = listed
        .lines()
        .filter(|f| f.starts_with('/'))
        .filter(|f| {
            let p = debian.join(&f[1..]);
            p.is_symlink() || p.is_file()
        })
        .map(|f| format!(".{f}"))
        .collect();
    files.push("./etc/ssl/certs/ca-certificates.crt".into());
    files.sort();
    files.dedup();
    let list = target.join("files");
    std::fs::write(&list, files.join("\n")).unwrap();
    let mut tar = Command::new("sh");
    tar.arg("-c")
        .arg(
            r#"tar -C "$1" --no-recursion -cf - -T "$2" | tar -C "$3" -xf - --keep-directory-symlink"#,
        )
        .arg("sh")
        .arg(debian)
        .arg(&list)
        .arg(target);
    run(tar, "copying the packages' files");
    std::fs::remove_file(&list).unwrap();
    assert!(
        !target.join("usr/bin/sh").exists(),
        "the distroless stand-in has no shell"
    );
    std::fs::write(
        target.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\n\
         nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n\
         nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        target.join("etc/group"),
        "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
    )
    .unwrap();
    for (dir, mode) in [("home/nonroot", 0o700), ("tmp", 0o1777)] {
        let p = target.join(dir);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }
    std::os::unix::fs::chown(target.join("home/nonroot"), Some(65532), Some(65532)).unwrap();
}

/// Where this machine's rustup keeps its toolchains and its proxies (cargo, rustc).
fn rust_homes() -> (PathBuf, PathBuf) {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let rustup = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".rustup"));
    let cargo = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cargo"));
    assert!(
        rustup.join("toolchains").is_dir() && cargo.join("bin/cargo").is_file(),
        "the builder stand-in mounts this machine's rustup toolchain: none at {} and {}",
        rustup.display(),
        cargo.display()
    );
    (rustup, cargo.join("bin"))
}

/// The Rust version of the stand-in must be the one the Dockerfile names.
fn assert_toolchain_matches_the_dockerfile() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(
        dockerfile.contains(&format!("FROM {BUILDER} AS build")),
        "the Dockerfile's builder is no longer {BUILDER}: change the stand-in with it"
    );
    let rustc = text(&run(
        {
            let mut c = Command::new("rustc");
            c.arg("--version");
            c
        },
        "rustc --version",
    ));
    assert!(
        rustc.starts_with("rustc 1.95."),
        "the builder stand-in uses this machine's Rust ({}) for the Dockerfile's rust:1.95",
        rustc.trim()
    );
}

fn inspect(containers: &Containers, what: &[&str]) -> Value {
    let out = containers.podman_ok(what);
    let v: Value = serde_json::from_str(&out).unwrap();
    v[0].clone()
}

/// Runs the image's own HEALTHCHECK (`podman healthcheck run`) until it passes; panics with the
/// container's log when it exits or the time is up.
fn wait_healthy(containers: &Containers, name: &str, timeout: Duration) {
    let start = Instant::now();
    loop {
        let mut check = containers.podman();
        check.args(["healthcheck", "run", name]);
        let out = check.output().unwrap();
        if out.status.success() {
            return;
        }
        let state = inspect(containers, &["container", "inspect", name]);
        let logs = {
            let mut l = containers.podman();
            l.args(["logs", "--tail", "40", name]);
            l.output().map(|o| text(&o)).unwrap_or_default()
        };
        assert_eq!(
            state["State"]["Running"], true,
            "the container stopped before it was healthy: {}\n{logs}",
            state["State"]
        );
        assert!(
            start.elapsed() < timeout,
            "the container's HEALTHCHECK did not pass within {timeout:?}: {}\n{logs}",
            text(&out)
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dockerfile_builds_an_image_that_runs_non_root_healthy_and_keeps_its_history() {
    assert_toolchain_matches_the_dockerfile();
    let (rustup, cargo_bin) = rust_homes();
    let containers = Containers::new();
    let work = tempfile::tempdir().unwrap();

    // The stand-ins for the two base images.
    let debian = work.path().join("debian");
    debootstrap(&debian);
    let distroless = work.path().join("distroless");
    distroless_rootfs(&debian, &distroless);
    containers.image_from_dir(
        &debian,
        BUILDER,
        &[
            "--env=RUSTUP_HOME=/usr/local/rustup",
            "--env=CARGO_HOME=/usr/local/cargo",
            "--env=PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ],
    );
    containers.image_from_dir(
        &distroless,
        RUNTIME,
        &[
            "--user=65532",
            "--workingdir=/home/nonroot",
            "--env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        ],
    );
    drop(work);

    // The build, as `docker build .` would run it (docker's format keeps the HEALTHCHECK).
    let started = Instant::now();
    let mut build = containers.buildah();
    build
        .args([
            "bud",
            "--format=docker",
            "--pull-never",
            "--isolation=chroot",
        ])
        .args(["--tag", IMAGE])
        .arg(format!(
            "--volume={}:/usr/local/rustup:ro",
            rustup.display()
        ))
        .arg(format!(
            "--volume={}:/usr/local/cargo/bin:ro",
            cargo_bin.display()
        ))
        .arg("--volume=/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro")
        .arg(repo());
    run(build, "buildah bud (the Dockerfile)");
    let built_in = started.elapsed();

    let image = inspect(&containers, &["image", "inspect", IMAGE]);
    let config = &image["Config"];
    assert_eq!(config["User"], "65532:65532", "{config}");
    // Docker's format keeps the HEALTHCHECK beside the OCI config (OCI has no field for it).
    assert_eq!(
        image["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "/usr/bin/sloburn", "probe"]),
        "{}",
        image["Healthcheck"]
    );
    assert!(
        config["Volumes"]["/var/lib/sloburn"].is_object(),
        "{config}"
    );
    assert!(config["ExposedPorts"]["9099/tcp"].is_object(), "{config}");
    eprintln!(
        "built {IMAGE} in {:.0} s: {} MB",
        built_in.as_secs_f64(),
        image["Size"].as_f64().unwrap_or(0.0) / 1e6
    );

    // A real Prometheus with two hours of steady traffic.
    let end = now_minute() + MINUTE;
    let mut b = Backfill::new(end - 2 * HOUR, end);
    scenario::steady(&mut b, "image");
    let prometheus = Prometheus::backfilled(&b);
    let errors = b.events(
        "http_requests_total",
        &[("job", "image"), ("code", "500")],
        b.start(),
        end,
    );
    let total = b.events("http_requests_total", &[("job", "image")], b.start(), end);
    let truth = 1.0 - (errors / total) / 0.01;

    // The specs, readable by the image's user.
    let specs = tempfile::tempdir().unwrap();
    std::fs::write(specs.path().join("imaged.yaml"), SPECS).unwrap();
    for (p, mode) in [
        (specs.path().to_path_buf(), 0o755),
        (specs.path().join("imaged.yaml"), 0o644),
    ] {
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }

    // Host networking: the Prometheus is on this host's loopback. The port is moved with
    // SLOBURN_LISTEN, which the HEALTHCHECK's probe follows.
    let port = free_port();
    containers.podman_ok(&["volume", "create", "sloburn-state"]);
    containers.podman_ok(&[
        "run",
        "--detach",
        "--name=sloburn",
        "--network=host",
        "--ulimit=nofile=4096:4096",
        "--ulimit=nproc=4096:4096",
        &format!("--env=SLOBURN_PROMETHEUS_URL={}", prometheus.url),
        &format!("--env=SLOBURN_LISTEN=127.0.0.1:{port}"),
        "--env=SLOBURN_QUERY_LAG=0s",
        "--volume=sloburn-state:/var/lib/sloburn",
        &format!(
            "--volume={}:/etc/sloburn/slo-specs:ro",
            specs.path().display()
        ),
        IMAGE,
    ]);
    wait_healthy(&containers, "sloburn", Duration::from_secs(120));

    let state = inspect(&containers, &["container", "inspect", "sloburn"]);
    let pid = state["State"]["Pid"].as_i64().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["65532"; 4],
        "sloburn in the container runs as {uid}"
    );

    let metrics = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metrics = Metrics::parse(&metrics);
    let budget = metrics
        .find("slo_error_budget_remaining_ratio", &[("service", "imaged")])
        .next()
        .unwrap_or_else(|| panic!("no budget of the SLO in /metrics:\n{}", metrics.text));
    let (value, budget) = (budget.value, &budget.line);
    // Steady traffic: the error ratio of any whole stretch is the generator's, up to the
    // rounding of one step's errors.
    assert!(
        (value - truth).abs() < 0.01,
        "{budget}: the truth from the generator's counts is {truth}"
    );

    // The history is on the named volume, owned by the image's user, and survives a kill -9.
    let volume = inspect(&containers, &["volume", "inspect", "sloburn-state"]);
    let mountpoint = PathBuf::from(volume["Mountpoint"].as_str().unwrap());
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&mountpoint).unwrap());
    assert_eq!(owner, 65532, "the new volume takes the image's owner");
    let held = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    assert!(held(&mountpoint) > 0, "no history in the volume");
    containers.podman_ok(&["kill", "--signal=KILL", "sloburn"]);
    containers.podman_ok(&["wait", "sloburn"]);
    containers.podman_ok(&["start", "sloburn"]);
    wait_healthy(&containers, "sloburn", Duration::from_secs(120));
    let after = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        after.contains("service=\"imaged\""),
        "after the restart:\n{after}"
    );
}
