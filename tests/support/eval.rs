//! `sloburn eval` (the real binary), run once against a Prometheus.

use std::ffi::OsStr;
use std::fmt::Display;
use std::process::{Command, ExitStatus, Output};

use serde_json::Value;

/// What one `sloburn eval ... -o json` did.
pub struct EvalRun {
    /// 0, or 1 when some SLO is not fresh.
    pub status: ExitStatus,
    /// The JSON snapshot it printed.
    pub snapshot: Value,
    pub stderr: String,
}

impl EvalRun {
    /// The snapshot; panics with stderr unless sloburn exited 0.
    pub fn ok(self) -> Value {
        assert!(
            self.status.success(),
            "sloburn eval failed ({}): {}\n{:#}",
            self.status,
            self.stderr,
            self.snapshot
        );
        self.snapshot
    }
}

/// Runs `sloburn eval --prometheus-url URL --at AT -o json SPECS`; panics with the output when
/// it prints no JSON.
pub fn sloburn_eval(prometheus_url: &str, at: impl Display, specs: impl AsRef<OsStr>) -> EvalRun {
    let at = at.to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args([
            "eval",
            "--prometheus-url",
            prometheus_url,
            "--at",
            &at,
            "-o",
            "json",
        ])
        .arg(specs)
        .output()
        .expect("run sloburn eval");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let snapshot = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "sloburn eval --at {at} printed no JSON ({e}; {}):\n{stderr}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout)
        )
    });
    EvalRun {
        status: out.status,
        snapshot,
        stderr,
    }
}

/// Runs the real `sloburn` binary with `args` from the crate's folder (relative fixture paths
/// work) and waits for it.
pub fn sloburn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run sloburn")
}

/// A run's stdout then stderr, as text.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The series of SLO `slo` (and group value `group`, for a one-label `group_by`) in a JSON
/// snapshot; panics with the snapshot when it is missing.
pub fn series<'a>(snapshot: &'a Value, slo: &str, group: Option<&str>) -> &'a Value {
    snapshot["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["slo"] == slo && group.is_none_or(|g| s["group"][0][1].as_str() == Some(g)))
        .unwrap_or_else(|| panic!("no series {slo} {group:?} in {snapshot:#}"))
}
