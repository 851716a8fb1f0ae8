//! A real headless Chromium for the tests of sloburn's HTML (the status pages, the HTML
//! report): run it on a URL and get its output, e.g. the DOM it rendered. Chromium is
//! required: a missing one fails the test (scripts/test installs it).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::process::{ChildGuard, find_binary, tail};

/// `/usr/bin/chromium`, or a failure saying how to get it.
pub fn chromium_binary() -> PathBuf {
    find_binary("chromium").unwrap_or_else(|| {
        panic!(
            "`chromium` is not installed (looked in /usr/bin and on PATH). This test renders the \
             status page in a real headless browser: run scripts/test, which installs it (Debian \
             package `chromium`), or `apt-get install -y --no-install-recommends chromium`."
        )
    })
}

/// A headless Chromium run in its own process group: dropping it kills the whole group (the
/// browser's helper processes too), also when the test panics.
struct Browser {
    child: ChildGuard,
    pgid: u32,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.child.id().is_some() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.pgid)])
                .stderr(Stdio::null())
                .status();
        }
        self.child.stop();
    }
}

/// Runs Chromium headless with a fresh profile on `args` (ending with the URL) and returns its
/// stdout; panics with its stderr when it fails or takes over 90 seconds.
pub fn chromium(args: &[String]) -> String {
    let binary = chromium_binary();
    let profile = tempfile::tempdir().expect("a temp dir for the Chromium profile");
    let out_path = profile.path().join("stdout");
    let err_path = profile.path().join("stderr");
    let mut command = Command::new(&binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--disable-dev-shm-usage",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("chromium stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("chromium stderr file"))
        .process_group(0);
    let child = ChildGuard::spawn(command, "chromium");
    let pgid = child.id().expect("chromium started");
    let mut browser = Browser { child, pgid };
    let deadline = Instant::now() + Duration::from_secs(90);
    let status: ExitStatus = loop {
        if let Some(status) = browser.child.exited() {
            break status;
        }
        if Instant::now() > deadline {
            panic!(
                "chromium did not finish within 90s: {args:?}\n--- stderr ---\n{}",
                tail(&err_path, 30)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Helpers may outlive the browser for a moment: the group goes with it.
    drop(browser);
    assert!(
        status.success(),
        "chromium failed ({status}): {args:?}\n--- stderr ---\n{}",
        tail(&err_path, 30)
    );
    std::fs::read_to_string(&out_path).expect("chromium's output")
}

/// The DOM Chromium rendered for `url`.
pub fn dump_dom(url: &str) -> String {
    let dom = chromium(&["--dump-dom".to_string(), url.to_string()]);
    assert!(
        dom.contains("</html>"),
        "chromium dumped no document for {url}:\n{dom:.2000}"
    );
    dom
}
