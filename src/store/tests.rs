use super::*;
use crate::core::{Counts, Period, PromDuration};
use crate::engine::history::History;

#[test]
fn saves_loads_prunes_and_removes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let period = Period::Rolling("30d".parse().unwrap());
    let windows = [PromDuration::from_secs(300), PromDuration::from_secs(3600)];
    let mut h = History::new(&period, &windows);
    for k in 1..=150 {
        h.push_minute(
            1_700_000_040 + k * 60,
            Counts {
                bad: 1.0,
                total: 10.0,
            },
        );
    }
    let mut meta = SloMeta {
        fingerprint: "abc".into(),
        fine_fed_until: h.fed_until(),
        coarse_fed_until: h.coarse_fed_until(),
        groups: BTreeMap::from([(String::new(), Vec::new())]),
        seen: BTreeMap::from([(String::new(), 1_700_009_040)]),
        series: vec![StoredSeries {
            role: 1,
            series: r#"x_total{code="200"}"#.into(),
            t_ms: 1_700_009_033_250,
            // A fractional counter (seconds, bytes/s): read back to the bit, or the next equal
            // sample would look like a reset and count the whole value.
            value: 0.1 + 0.2 + 12_345.678_901_234_5,
        }],
        series_seeded: true,
        absent_since: None,
        coarse_from: None,
        coarse_res: None,
        objective: Some(0.999),
        corrections: Vec::new(),
        record_tails: BTreeMap::new(),
    };
    let dirty: Vec<ChunkChange> = h.take_dirty().iter().map(change).collect();
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: "api/avail",
            meta: &meta,
            chunks: vec![("", &dirty)],
            prune: vec![("", h.retention_floor())],
            replace: false,
        }])
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.slo_ids().unwrap(), ["api/avail"]);
    let loaded = store.load("api/avail").unwrap().unwrap();
    assert_eq!(loaded.meta, meta);
    let back = History::restore(
        &period,
        &windows,
        &loaded.buckets[""],
        loaded.meta.fine_fed_until,
        loaded.meta.coarse_fed_until,
    );
    assert_eq!(back.window(windows[1]), h.window(windows[1]));
    assert_eq!(back.period(&period), h.period(&period));

    meta.fingerprint = "def".into();
    store.remove("api/avail").unwrap();
    assert!(store.load("api/avail").unwrap().is_none());
    assert!(store.slo_ids().unwrap().is_empty());
}

/// A history whose spec is missing is kept for the grace, counted from when it first went
/// missing (not reset by later starts), then deleted; present SLOs are never touched.
#[test]
fn absent_histories_are_kept_for_the_grace_then_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let meta = SloMeta {
        fingerprint: "v1:1".into(),
        fine_fed_until: Some(1_700_000_040),
        ..Default::default()
    };
    for id in ["api/kept", "api/gone"] {
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
    let present = std::collections::BTreeSet::from(["api/kept".to_string()]);
    let day = 86_400;
    let grace = std::time::Duration::from_secs(30 * day as u64);
    let t0 = 1_800_000_000;
    assert_eq!(
        store.retire_absent(&present, t0, grace).unwrap(),
        [Absent::Kept {
            id: "api/gone".into(),
            since: t0,
            until: t0 + 30 * day
        }]
    );
    // A restart ten days later: still kept, still counted from t0.
    assert_eq!(
        store.retire_absent(&present, t0 + 10 * day, grace).unwrap(),
        [Absent::Kept {
            id: "api/gone".into(),
            since: t0,
            until: t0 + 30 * day
        }]
    );
    assert!(store.load("api/gone").unwrap().is_some());
    assert_eq!(
        store
            .retire_absent(&present, t0 + 30 * day + 1, grace)
            .unwrap(),
        [Absent::Dropped {
            id: "api/gone".into(),
            since: t0
        }]
    );
    assert!(store.load("api/gone").unwrap().is_none());
    assert_eq!(
        store.load("api/kept").unwrap().unwrap().meta.absent_since,
        None
    );
}

/// A group dropped and created again under the same key before the save keeps the new rows:
/// the drop is applied first.
#[test]
fn a_dropped_group_recreated_before_the_save_keeps_its_new_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let meta = SloMeta {
        fingerprint: "v1:1".into(),
        groups: BTreeMap::from([("route=/a".to_string(), Vec::new())]),
        ..Default::default()
    };
    let rows = vec![change(&Chunk {
        tier: Tier::Coarse,
        start: 7200,
        counts: vec![Counts {
            bad: 1.0,
            total: 5.0,
        }],
    })];
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: "api/x",
            meta: &meta,
            chunks: vec![("route=/a", &rows)],
            prune: vec![("route=/a", (i64::MAX, i64::MAX))],
            replace: false,
        }])
        .unwrap();
    let loaded = store.load("api/x").unwrap().unwrap();
    assert_eq!(loaded.buckets["route=/a"].len(), 1);
}

/// A record that cannot be read is listed as such and left alone by the absent-history grace
/// (written back as a default, it would lose its identity).
#[test]
fn an_unreadable_record_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            slos.insert("api/garbled", b"{not json".as_slice())?;
            Ok(())
        })
        .unwrap();
    assert_eq!(store.metas().unwrap(), [("api/garbled".to_string(), None)]);
    let kept = store
        .retire_absent(
            &Default::default(),
            1_800_000_000,
            std::time::Duration::ZERO,
        )
        .unwrap();
    assert!(kept.is_empty());
    assert_eq!(store.slo_ids().unwrap(), ["api/garbled"]);
}

/// `sloburn report` reads a history only: a missing one is not created, a locked one says so,
/// and metadata written before the objective was kept reads with none.
#[test]
fn open_existing_neither_creates_nor_hides_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Store::open_existing(dir.path()).err().unwrap();
    assert!(matches!(missing, StoreError::Missing { .. }), "{missing}");
    assert!(!dir.path().join(FILE_NAME).exists());

    let store = Store::open(dir.path()).unwrap();
    let locked = Store::open_existing(dir.path()).err().unwrap();
    assert!(matches!(locked, StoreError::Locked { .. }), "{locked}");
    assert!(locked.to_string().contains("is locked by another process"));

    store
        .write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            slos.insert("api/old", br#"{"fingerprint":"v1:1","fine_fed_until":60,"coarse_fed_until":60,"groups":{"":[]}}"#.as_slice())?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let store = Store::open_existing(dir.path()).unwrap();
    let old = store.load("api/old").unwrap().unwrap();
    assert_eq!(old.meta.objective, None);
    assert_eq!(old.meta.fine_fed_until, Some(60));
}

/// `sloburn report` never writes: a history on read-only files reads, its bytes and mtime stay
/// as they were, and a file without the tables reads as empty.
#[test]
fn open_existing_reads_read_only_files_without_writing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            slos.insert(
                "api/x",
                br#"{"fingerprint":"v1:1","groups":{"":[]}}"#.as_slice(),
            )?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let path = dir.path().join(FILE_NAME);
    let before = (
        std::fs::read(&path).unwrap(),
        std::fs::metadata(&path).unwrap().modified().unwrap(),
    );
    let chmod = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    chmod(&path, 0o444).unwrap();
    chmod(dir.path(), 0o555).unwrap();
    let read = (|| {
        let store = Store::open_existing(dir.path())?;
        let ids = store.slo_ids()?;
        let loaded = store.load("api/x")?.map(|s| s.meta.fingerprint);
        let metas = store.metas()?.len();
        Ok::<_, StoreError>((ids, loaded, metas))
    })();
    chmod(dir.path(), 0o755).unwrap();
    chmod(&path, 0o644).unwrap();
    assert_eq!(
        read.unwrap(),
        (vec!["api/x".to_string()], Some("v1:1".to_string()), 1)
    );
    // As root the modes do not stop a write: the bytes and mtime tell.
    let after = (
        std::fs::read(&path).unwrap(),
        std::fs::metadata(&path).unwrap().modified().unwrap(),
    );
    assert!(before == after, "the report changed the history file");

    // A file with no tables yet (created, never written): empty, not an error.
    let dir = tempfile::tempdir().unwrap();
    drop(redb::Database::create(dir.path().join(FILE_NAME)).unwrap());
    let store = Store::open_existing(dir.path()).unwrap();
    assert_eq!(store.slo_ids().unwrap(), Vec::<String>::new());
    assert!(store.load("api/x").unwrap().is_none());
    assert!(store.metas().unwrap().is_empty());
}

/// Alert records survive a reopen (and a read-only open), go with a dropped group and with
/// the SLO; a file without the table reads as recording nothing.
#[test]
fn alert_records_survive_reopen_and_go_with_their_group_and_slo() {
    use crate::core::record::{Active, Record};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let meta = SloMeta {
        fingerprint: "v1:1".into(),
        groups: BTreeMap::from([("a".into(), Vec::new()), ("b".into(), Vec::new())]),
        ..Default::default()
    };
    let mut a = Record::default();
    let paging = Active {
        page: true,
        ..Default::default()
    };
    a.observe(0, Some(paging), 90);
    a.observe(60, Some(Active::default()), 90);
    let mut b = Record::default();
    b.observe(0, Some(Active::default()), 90);
    let save = |records: Vec<(&str, &Record)>, prune: Vec<(&str, (i64, i64))>| {
        store
            .save(&[SloChanges {
                records,
                id: "api/avail",
                meta: &meta,
                chunks: Vec::new(),
                prune,
                replace: false,
            }])
            .unwrap()
    };
    save(vec![("a", &a), ("b", &b)], Vec::new());
    // No change to `b`: saved only `a` again, `b` stays.
    a.observe(120, Some(paging), 90);
    save(vec![("a", &a)], Vec::new());
    drop(store);
    let reader = Store::open_existing(dir.path()).unwrap();
    let loaded = reader.load("api/avail").unwrap().unwrap();
    assert_eq!(loaded.records["a"], a);
    assert_eq!(loaded.records["a"].page, vec![(0, 60)]);
    assert_eq!(loaded.records["b"], b);
    drop(reader);
    let store = Store::open(dir.path()).unwrap();
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: "api/avail",
            meta: &meta,
            chunks: Vec::new(),
            prune: vec![("b", (i64::MAX, i64::MAX))],
            replace: false,
        }])
        .unwrap();
    let loaded = store.load("api/avail").unwrap().unwrap();
    assert_eq!(loaded.records.keys().collect::<Vec<_>>(), ["a"]);
    store.remove("api/avail").unwrap();
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: "api/avail",
            meta: &meta,
            chunks: Vec::new(),
            prune: Vec::new(),
            replace: false,
        }])
        .unwrap();
    assert!(store.load("api/avail").unwrap().unwrap().records.is_empty());
}

/// The corrections in effect are stored with the SLO (for an offline report) and read back
/// whole; a file written before they were kept reads as having none.
#[test]
fn corrections_are_stored_with_the_slo_and_older_files_read_without() {
    use crate::core::correction::{AlertMode, Correction, Schedule, When};
    let corrections = vec![
        Correction {
            name: Some("mig".into()),
            reason: "migration".into(),
            when: When::OneOff {
                from: 1_700_000_000,
                to: 1_700_003_600,
            },
            alerts: AlertMode::Silence,
            origin: "a.yaml:9:9".into(),
        },
        Correction {
            name: None,
            reason: "backups".into(),
            when: When::Recurring(Schedule {
                days: [false, false, false, false, false, false, true],
                start: 120,
                end: 240,
                timezone: chrono_tz::Europe::Berlin,
            }),
            alerts: AlertMode::Fire,
            origin: "c.yaml:2:5".into(),
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let meta = SloMeta {
        fingerprint: "abc".into(),
        corrections: corrections.clone(),
        ..Default::default()
    };
    store
        .save(&[SloChanges {
            records: Vec::new(),
            id: "s/x",
            meta: &meta,
            chunks: Vec::new(),
            prune: Vec::new(),
            replace: false,
        }])
        .unwrap();
    let loaded = store.load("s/x").unwrap().unwrap();
    assert_eq!(loaded.meta.corrections, corrections);
    let old: SloMeta = serde_json::from_str(
        r#"{"fingerprint":"abc","fine_fed_until":null,"coarse_fed_until":null,"groups":{}}"#,
    )
    .unwrap();
    assert!(old.corrections.is_empty());
}

/// A record saved when it last changed is continued on load to the tail the meta holds (saved
/// every tick), so the steady time since is counted without rewriting the record each tick.
#[test]
fn a_record_is_continued_to_the_tail_saved_in_the_meta() {
    use crate::core::record::{Active, Record};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let paging = Active {
        page: true,
        ..Default::default()
    };
    let mut r = Record::default();
    r.observe(0, Some(Active::default()), 90);
    r.observe(60, Some(paging), 90);
    let mut meta = SloMeta {
        fingerprint: "v1:1".into(),
        groups: BTreeMap::from([(String::new(), Vec::new())]),
        ..Default::default()
    };
    let save = |records: Vec<(&str, &Record)>, meta: &SloMeta| {
        store
            .save(&[SloChanges {
                records,
                id: "api/avail",
                meta,
                chunks: Vec::new(),
                prune: Vec::new(),
                replace: false,
            }])
            .unwrap()
    };
    save(vec![("", &r)], &meta);
    // Two steady ticks: only the meta (with the tail) is written.
    for t in [120, 180] {
        assert!(!r.observe(t, Some(paging), 90));
        meta.record_tails = BTreeMap::from([(String::new(), r.last.unwrap())]);
        save(Vec::new(), &meta);
    }
    let loaded = store.load("api/avail").unwrap().unwrap();
    assert_eq!(loaded.records[""], r);
    assert_eq!(loaded.records[""].page, vec![(60, 180)]);
    assert_eq!(loaded.records[""].recorded, vec![(0, 180)]);
}

/// An alert record or metadata that cannot be read is ignored as before (the SLO loads, the
/// group without its alert time), but said in the log, naming the SLO and the error: a group
/// showing 0 s paging must not look healthy in silence.
#[test]
fn an_unreadable_alert_record_or_meta_is_logged() {
    use std::sync::{Arc, Mutex};
    /// Collects what is logged.
    #[derive(Clone, Default)]
    struct Logged(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Logged {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .write(|txn| {
            let mut slos = txn.open_table(SLOS)?;
            slos.insert(
                "api/x",
                br#"{"fingerprint":"v1:1","groups":{"":[]}}"#.as_slice(),
            )?;
            slos.insert("api/y", b"{not json".as_slice())?;
            let mut alerts = txn.open_table(ALERTS)?;
            alerts.insert(("api/x", "route=/a"), b"[garbled".as_slice())?;
            Ok(())
        })
        .unwrap();
    let logged = Logged::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logged = logged.clone();
            move || logged.clone()
        })
        .with_ansi(false)
        .finish();
    let (x, y) = tracing::subscriber::with_default(subscriber, || {
        (store.load("api/x").unwrap(), store.load("api/y").unwrap())
    });
    assert!(x.unwrap().records.is_empty());
    assert!(y.is_none());
    let log = String::from_utf8(logged.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("WARN")
            && l.contains("SLO api/x")
            && l.contains("route=/a")
            && l.contains("alert record")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("SLO api/y") && l.contains("metadata")),
        "{log}"
    );
}
