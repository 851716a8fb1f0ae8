use super::*;

fn series(job: &str, points: &[(i64, f64)]) -> Series {
    Series {
        labels: BTreeMap::from([("job".to_string(), job.to_string())]),
        points: points.to_vec(),
    }
}

#[test]
fn ranges_join_into_one_series_per_label_set_in_time_order() {
    let joined = join_ranges(vec![
        vec![series("a", &[(1, 1.0), (2, 2.0)]), series("b", &[(2, 5.0)])],
        vec![],
        vec![series("b", &[(3, 6.0)]), series("c", &[(3, 7.0)])],
        vec![series("a", &[(4, 4.0)])],
    ]);
    assert_eq!(
        joined,
        vec![
            series("a", &[(1, 1.0), (2, 2.0), (4, 4.0)]),
            series("b", &[(2, 5.0), (3, 6.0)]),
            series("c", &[(3, 7.0)]),
        ]
    );
}
