//! `sloburn --version`, `sloburn completions SHELL` and `sloburn man`: what packagers install.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sloburn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sloburn"))
        .args(args)
        .output()
        .expect("run sloburn")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every subcommand, from the top-level help (the binary's own word, not a list kept here).
fn subcommands() -> Vec<String> {
    let help = stdout(&sloburn(&["--help"]));
    let commands = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .split("\n\n")
        .next()
        .unwrap_or_default();
    let names: Vec<String> = commands
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    names
}

#[test]
fn version_names_the_crate_version() {
    let out = sloburn(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let want = format!("sloburn {}", env!("CARGO_PKG_VERSION"));
    assert!(
        text == format!("{want}\n") || text.starts_with(&format!("{want} (")),
        "{text:?}"
    );
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let names = subcommands();
    assert!(names.iter().any(|n| n == "completions") && names.iter().any(|n| n == "man"));
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sloburn(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {name}"
            );
        }
        // Flags of subcommands too, the dotted one included.
        assert!(script.contains("web.config.file"), "{shell}");
    }
    let bash = stdout(&sloburn(&["completions", "bash"]));
    assert!(bash.contains("complete -F _sloburn"), "{bash}");
    let out = sloburn(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The page is roff that groff renders without a warning, and the rendering names every
/// subcommand's page. Needs groff (`scripts/test` installs it); fails without it.
#[test]
fn the_man_page_is_valid_roff() {
    let out = sloburn(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.starts_with(".TH"),
        "{page}"
    );
    assert!(page.contains(".TH sloburn 1"), "{page}");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "SUBCOMMANDS",
        "VERSION",
    ] {
        assert!(page.contains(&format!(".SH {section}")), "no {section}");
    }
    let groff = ["/usr/bin/groff", "/usr/local/bin/groff"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect(
            "groff is not installed: run scripts/test, which installs it (Debian package groff-base)",
        );
    let mut child = Command::new(groff)
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("write to groff");
    let checked = child.wait_with_output().expect("groff");
    assert!(checked.status.success());
    let warnings = String::from_utf8_lossy(&checked.stderr);
    assert!(warnings.trim().is_empty(), "groff warnings:\n{warnings}");

    let rendered = Command::new(groff)
        .args(["-man", "-Tascii", "-P", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(page.as_bytes())?;
            child.wait_with_output()
        })
        .expect("groff renders");
    let text = String::from_utf8_lossy(&rendered.stdout);
    for name in subcommands() {
        assert!(
            text.contains(&format!("sloburn-{name}(1)")),
            "{name} missing:\n{text}"
        );
    }
}

/// `sloburn man --dir DIR` writes one page per command, for packagers.
#[test]
fn man_pages_for_every_subcommand_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = sloburn(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("sloburn.1").is_file());
    for name in subcommands() {
        let page = std::fs::read_to_string(dir.path().join(format!("sloburn-{name}.1")))
            .unwrap_or_else(|e| panic!("sloburn-{name}.1: {e}"));
        assert!(page.contains(".SH NAME"), "{name}");
    }
    let run = std::fs::read_to_string(dir.path().join("sloburn-run.1")).unwrap();
    assert!(run.contains("web.config.file"), "{run}");
}
