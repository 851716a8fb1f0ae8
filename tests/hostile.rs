//! Hostile input gets a clear error, never a hang, a panic or unbounded memory. The limits are
//! in `sloburn::spec::yaml::limits`; the time each case takes is measured by the CLI run in the
//! README's notes, not here (no timed tests).

use std::io::Write;

use sloburn::spec::load::{load_bytes, load_file};
use sloburn::spec::yaml::limits;

fn only_error(report: &sloburn::spec::load::FileReport) -> String {
    assert!(report.slos.is_empty());
    assert_eq!(report.errors.len(), 1, "{:#?}", report.errors);
    report.errors[0].to_string()
}

#[test]
fn alias_bomb() {
    // A "billion laughs": 10 levels of 10 aliases each would expand to 10^10 nodes.
    let mut text = String::from("a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(",");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let msg = only_error(&load_bytes("bomb.yaml", text.as_bytes()));
    assert!(msg.contains("YAML refused"), "{msg}");
    assert!(msg.contains("alias"), "{msg}");
}

#[test]
fn fifty_megabyte_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    let mut file = std::fs::File::create(&path).unwrap();
    let line = format!("# {}\n", "x".repeat(1021));
    for _ in 0..(50 * 1024) {
        file.write_all(line.as_bytes()).unwrap();
    }
    drop(file);
    let msg = only_error(&load_file(&path));
    assert!(
        msg.contains(&format!("at most {} bytes", limits::MAX_FILE_BYTES)),
        "{msg}"
    );
    assert!(msg.contains("52428800 bytes"), "{msg}");
}

#[test]
fn deep_nesting_block_and_flow() {
    let flow = format!("version: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let msg = only_error(&load_bytes("flow.yaml", flow.as_bytes()));
    assert!(
        msg.contains("YAML refused") || msg.contains("invalid YAML"),
        "{msg}"
    );

    let mut block = String::new();
    for depth in 0..2_000 {
        block.push_str(&" ".repeat(depth));
        block.push_str("a:\n");
    }
    let msg = only_error(&load_bytes("block.yaml", block.as_bytes()));
    assert!(
        msg.contains(&format!("nesting deeper than {}", limits::MAX_DEPTH)),
        "{msg}"
    );
}

#[test]
fn binary_garbage() {
    // Deterministic pseudo-random bytes (xorshift), as a fuzzer would send.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let msg = only_error(&load_bytes("garbage.yaml", &bytes));
    assert!(
        msg.contains("not UTF-8") || msg.contains("binary data"),
        "{msg}"
    );
}

#[test]
fn many_documents_and_many_slos() {
    let docs = "---\na: 1\n".repeat(limits::MAX_DOCUMENTS + 1);
    let msg = only_error(&load_bytes("docs.yaml", docs.as_bytes()));
    assert!(msg.contains("documents"), "{msg}");
}

#[test]
fn long_lines_and_huge_scalars_within_the_size_limit() {
    let text = format!(
        "version: sloburn/v1\nservice: {}\nslos: []\n",
        "a".repeat(3 * 1024 * 1024)
    );
    let report = load_bytes("long.yaml", text.as_bytes());
    assert!(
        report.errors.iter().any(|e| e.path == "service"),
        "{:#?}",
        report
            .errors
            .iter()
            .map(|e| e.path.clone())
            .collect::<Vec<_>>()
    );
}
