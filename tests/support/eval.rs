//! `sloburn eval` (the real binary), run once against a Prometheus.

use std::ffi::OsStr;
use std::fmt::Display;
use std::process::{Command, ExitStatus};

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
