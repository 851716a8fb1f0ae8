//! Loading and validating specs: 1,000 SLOs in one file, as a large organisation's spec folder.

use criterion::{Criterion, criterion_group, criterion_main};
use sloburn::spec::load::load_bytes;

fn thousand_slos() -> String {
    let mut text =
        String::from("version: sloburn/v1\nservice: checkout\nlabels:\n  team: payments\nslos:\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "  - name: route-{i}\n    objective: 99.9\n    period: 28d\n    sli:\n      ratio:\n        errors: http_requests_total{{job=\"checkout\",route=\"/r{i}\",code=~\"5..\"}}\n        total: http_requests_total{{job=\"checkout\",route=\"/r{i}\"}}\n    alerting:\n      name: Route{i}Errors\n      annotations:\n        runbook_url: https://runbooks.example.com/checkout\n"
        ));
    }
    text
}

fn bench(c: &mut Criterion) {
    let text = thousand_slos();
    let report = load_bytes("bench.yaml", text.as_bytes());
    assert!(report.errors.is_empty() && report.slos.len() == 1000);
    c.bench_function("load_and_validate_1000_slos", |b| {
        b.iter(|| load_bytes("bench.yaml", std::hint::black_box(text.as_bytes())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
