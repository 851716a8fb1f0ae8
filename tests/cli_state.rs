//! `sloburn state` end to end: the real binary on a state directory written by the store.

mod support;

use sloburn::store::{SloChanges, SloMeta, Store};
use support::eval::{sloburn, text};

/// Two stored SLOs, one of them missing from the specs since a known instant.
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for (id, absent_since) in [("shop/avail", None), ("shop/old", Some(1_800_000_000))] {
        let meta = SloMeta {
            fingerprint: "v1:1".into(),
            fine_fed_until: Some(1_800_000_060),
            absent_since,
            ..Default::default()
        };
        store
            .save(&[SloChanges {
                records: Vec::new(),
                id,
                meta: &meta,
                chunks: Vec::new(),
                prune: Vec::new(),
                replace: false,
            }])
            .unwrap();
    }
    dir
}

#[test]
fn list_shows_the_stored_slos_and_prune_deletes_the_absent_ones() {
    let dir = state_dir();
    let path = dir.path().to_str().unwrap();
    let out = sloburn(&["state", "list", "--state-dir", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    insta::assert_snapshot!("state_list", text(&out));

    // Errors exit 2, as every command's do.
    let out = sloburn(&["state", "prune", "--state-dir", path, "shop/nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("not in the stored history: shop/nope"),
        "{}",
        text(&out)
    );
    let out = sloburn(&["state", "prune", "--state-dir", path]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = sloburn(&["state", "prune", "--absent", "--state-dir", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("pruned shop/old\n1 SLO(s) pruned"),
        "{}",
        text(&out)
    );
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.slo_ids().unwrap(), ["shop/avail"]);
}
