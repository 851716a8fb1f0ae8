//! Pyrra's `pyrra.dev/v1alpha1` `ServiceLevelObjective`.

use serde_json::{Map, Value, json};

use super::{Out, Translated, object, string, unknown_fields};
use crate::spec::diag::Sink;
use crate::spec::labels::kind_of;
use crate::spec::model::{MatchOp, Selector, le_matcher, le_spellings};
use crate::spec::promql::parse_selector;

/// The service of a Pyrra SLO without `metadata.namespace`: Kubernetes' own default namespace.
pub const DEFAULT_SERVICE: &str = "default";

const NATIVE: &str = "latencyNative (native histograms) is not supported: sloburn's latency SLI reads classic histogram series (`_bucket{le=...}` and `_count`), which its scraper and stores can count without PromQL, while native histograms need PromQL's histogram_fraction over a sparse bucket schema; expose a classic histogram and use `latency` with success and total selectors";

pub(super) fn slo(map: &Map<String, Value>, kind: &str, sink: &mut Sink) -> Translated {
    if kind != "ServiceLevelObjective" {
        sink.error(
            "kind",
            format!("kind {kind:?} of pyrra.dev/v1alpha1; accepted: ServiceLevelObjective"),
        );
        return Translated::Refused;
    }
    let before = sink.errors.len();
    unknown_fields(
        sink,
        "",
        map,
        &["apiVersion", "kind", "metadata", "spec", "status"],
    );
    let (Some(meta), Some(spec)) = (
        object(sink, "", map, "metadata"),
        object(sink, "", map, "spec"),
    ) else {
        return Translated::Refused;
    };
    let name = string(sink, "metadata", meta, "name");
    let service = match meta.get("namespace") {
        Some(Value::String(ns)) => ns.as_str(),
        _ => DEFAULT_SERVICE,
    };
    let mut out = Out::new("sloburn/v1", service);
    out.map(
        "service",
        if meta.contains_key("namespace") {
            "metadata.namespace"
        } else {
            "metadata"
        },
    );
    out.map("slos", "spec");
    out.map("slos[0]", "spec");
    out.map("slos[0].name", "metadata.name");
    unknown_fields(
        sink,
        "spec",
        spec,
        &[
            "description",
            "target",
            "window",
            "indicator",
            "alerting",
            "serviceLevelObjective",
        ],
    );
    let mut slo = Map::new();
    slo.insert("name".into(), json!(name.unwrap_or_default()));
    propagated_labels(meta, &mut slo, &mut out);
    if let Some(Value::String(d)) = spec.get("description") {
        slo.insert("description".into(), json!(d));
        out.map("slos[0].description", "spec.description");
    }
    let target = match spec.get("target") {
        Some(Value::String(t)) => t.trim().parse::<f64>().ok(),
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match target {
        Some(t) => {
            slo.insert("objective".into(), super::number(t));
            out.map("slos[0].objective", "spec.target");
        }
        None => sink.error(
            "spec.target",
            "missing or not a number; accepted: a percentage as text, e.g. \"99.9\"",
        ),
    }
    if let Some(window) = string(sink, "spec", spec, "window") {
        slo.insert("period".into(), json!(window));
        out.map("slos[0].period", "spec.window");
    }
    if let Some(Value::Object(alerting)) = spec.get("alerting") {
        if alerting.get("disabled") == Some(&Value::Bool(true)) {
            slo.insert(
                "alerting".into(),
                json!({"page_alert": {"disable": true}, "ticket_alert": {"disable": true}}),
            );
            out.map("slos[0].alerting", "spec.alerting");
        }
        if let Some(Value::String(n)) = alerting.get("name") {
            let a = slo
                .entry("alerting")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("alerting is a mapping");
            a.insert("name".into(), json!(n));
            out.map("slos[0].alerting.name", "spec.alerting.name");
        }
        // What matches sloburn's own behaviour is not worth a warning per SLO.
        let same = |k: &str, v: &Value| match k {
            "disabled" | "name" => true,
            "absent" => v == &Value::Bool(false),
            "burnrates" => v == &Value::Bool(true),
            "burnRateType" => v.as_str() == Some("static"),
            _ => false,
        };
        for key in alerting.iter().filter(|(k, v)| !same(k, v)).map(|(k, _)| k) {
            out.note(
                format!("spec.alerting.{key}"),
                format!("Pyrra's alerting.{key} has no sloburn equivalent and is ignored; sloburn alerts on its multi-window table for the period"),
            );
        }
    }
    if let Some(indicator) = object(sink, "spec", spec, "indicator") {
        indicator_(sink, indicator, &mut slo, &mut out);
    }
    // With errors, the SLO is still read for the rest of them (it never loads).
    if sink.errors.len() > before {
        out.partial.push(0);
    }
    out.slos().push(Value::Object(slo));
    Translated::Slos(out)
}

/// Pyrra copies the object's `pyrra.dev/*` labels, prefix removed, onto every rule and alert
/// (e.g. `team` for routing); its other Kubernetes labels stay on the object.
fn propagated_labels(meta: &Map<String, Value>, slo: &mut Map<String, Value>, out: &mut Out) {
    let Some(Value::Object(labels)) = meta.get("labels") else {
        return;
    };
    let mut copied = Map::new();
    for (key, value) in labels {
        if let Some(name) = key.strip_prefix(PROPAGATION_PREFIX) {
            copied.insert(name.to_string(), value.clone());
            out.map(
                format!("slos[0].labels.{name}"),
                format!("metadata.labels.{key}"),
            );
        }
    }
    if !copied.is_empty() {
        out.map("slos[0].labels", "metadata.labels");
        slo.insert("labels".into(), Value::Object(copied));
    }
}

/// Pyrra's prefix for object labels that become rule and alert labels.
const PROPAGATION_PREFIX: &str = "pyrra.dev/";

fn indicator_(
    sink: &mut Sink,
    ind: &Map<String, Value>,
    slo: &mut Map<String, Value>,
    out: &mut Out,
) {
    const KINDS: &[&str] = &["ratio", "latency", "latencyNative", "bool_gauge"];
    let given: Vec<&String> = ind.keys().collect();
    if given.len() != 1 || !KINDS.contains(&given[0].as_str()) {
        sink.error(
            "spec.indicator",
            format!(
                "an indicator is exactly one of {}; got {}",
                KINDS.join(", "),
                if given.is_empty() {
                    "none".to_string()
                } else {
                    given
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" and ")
                }
            ),
        );
        return;
    }
    let kind = given[0].as_str();
    let p = format!("spec.indicator.{kind}");
    let Some(body) = object(sink, "spec.indicator", ind, kind) else {
        return;
    };
    if let Some(g) = body.get("grouping") {
        match g {
            Value::Array(items) if items.iter().all(Value::is_string) => {
                slo.insert("group_by".into(), g.clone());
                out.map("slos[0].group_by", format!("{p}.grouping"));
            }
            other => sink.error(
                &format!("{p}.grouping"),
                format!("got {}; accepted: a list of label names", kind_of(other)),
            ),
        }
    }
    let metric = |sink: &mut Sink, field: &str| -> Option<String> {
        let fp = format!("{p}.{field}");
        let m = object(sink, &p, body, field)?;
        unknown_fields(sink, &fp, m, &["metric"]);
        string(sink, &fp, m, "metric").map(str::to_string)
    };
    match kind {
        "latencyNative" => sink.error(&p, NATIVE),
        "ratio" => {
            unknown_fields(sink, &p, body, &["errors", "total", "grouping"]);
            let (errors, total) = (metric(sink, "errors"), metric(sink, "total"));
            if let (Some(errors), Some(total)) = (errors, total) {
                slo.insert(
                    "sli".into(),
                    json!({"ratio": {"errors": errors, "total": total}}),
                );
                out.map("slos[0].sli", "spec.indicator");
                out.map("slos[0].sli.ratio", &p);
                out.map("slos[0].sli.ratio.errors", format!("{p}.errors.metric"));
                out.map("slos[0].sli.ratio.total", format!("{p}.total.metric"));
            }
        }
        "latency" => {
            unknown_fields(sink, &p, body, &["success", "total", "grouping"]);
            let (success, total) = (metric(sink, "success"), metric(sink, "total"));
            let Some((success, total)) = success.zip(total) else {
                return;
            };
            match latency(sink, &p, &success, &total) {
                Some(Latency::Histogram { histogram, le }) => {
                    slo.insert(
                        "sli".into(),
                        json!({"latency": {"histogram": histogram, "threshold": le}}),
                    );
                    out.map("slos[0].sli", "spec.indicator");
                    out.map("slos[0].sli.latency", &p);
                    out.map("slos[0].sli.latency.histogram", format!("{p}.total.metric"));
                    out.map(
                        "slos[0].sli.latency.threshold",
                        format!("{p}.success.metric"),
                    );
                }
                Some(Latency::Difference { success }) => {
                    let by = by_clause(slo);
                    let rate =
                        |sel: &str| format!("sum{by} (rate({}[{{{{.window}}}}]))", sel.trim());
                    slo.insert(
                        "sli".into(),
                        json!({"events": {
                            // A group without a success series counts every request bad, not none.
                            "error_query": format!("{} - ({} or {} * 0)", rate(&total), rate(&success), rate(&total)),
                            "total_query": rate(&total),
                        }}),
                    );
                    out.map("slos[0].sli", "spec.indicator");
                    out.map("slos[0].sli.events", &p);
                    out.map(
                        "slos[0].sli.events.error_query",
                        format!("{p}.success.metric"),
                    );
                    out.map(
                        "slos[0].sli.events.total_query",
                        format!("{p}.total.metric"),
                    );
                    out.note(
                        format!("{p}.success.metric"),
                        "success and total are not one histogram's bucket and count (success adds matchers, or total is another counter): read as events with bad = total - success (as Pyrra counts it), both selectors kept; sloburn evaluates it with PromQL instead of reading the histogram itself",
                    );
                }
                None => {}
            }
        }
        _ => {
            // bool_gauge
            unknown_fields(sink, &p, body, &["metric", "grouping"]);
            if let Some(m) = string(sink, &p, body, "metric") {
                let query = match by_clause(slo) {
                    by if by.is_empty() => format!("min({m})"),
                    by => format!("min{by} ({m})"),
                };
                slo.insert(
                    "sli".into(),
                    json!({"threshold": {"query": query, "op": ">=", "value": 1}}),
                );
                out.map("slos[0].sli", "spec.indicator");
                out.map("slos[0].sli.threshold", &p);
                out.map("slos[0].sli.threshold.query", format!("{p}.metric"));
                out.note(
                    p.clone(),
                    "bool_gauge is read as a threshold SLI budgeted in 1m time slices: a slice is good when the gauge is 1 (for every selected series of a group); Pyrra counts each scraped sample instead, so the numbers match only when the gauge is scraped once a minute",
                );
            }
        }
    }
}

/// ` by (a, b)` for the SLO's `group_by` (as translated so far), or nothing.
fn by_clause(slo: &Map<String, Value>) -> String {
    let by: Vec<&str> = slo
        .get("group_by")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if by.is_empty() {
        String::new()
    } else {
        format!(" by ({})", by.join(", "))
    }
}

/// How a Pyrra latency indicator is read.
enum Latency {
    /// One histogram's bucket and count: sloburn's latency SLI, `<base>{...}` with threshold `le`.
    Histogram { histogram: String, le: f64 },
    /// Success selects fewer series than total (e.g. fast *and* not 5xx), or total is another
    /// counter of the same requests: bad = total - success, with success's bucket selected in
    /// every spelling of its bound.
    Difference { success: String },
}

/// Pyrra's latency: `success` is `<base>_bucket{..., le="x"}`, `total` is `<base>_count{...}`
/// with the same other matchers, or with fewer (success narrows total).
fn latency(sink: &mut Sink, p: &str, success: &str, total: &str) -> Option<Latency> {
    let sp = format!("{p}.success.metric");
    let tp = format!("{p}.total.metric");
    let s = parse_selector(success)
        .map_err(|e| sink.error(&sp, e))
        .ok()?;
    let t = parse_selector(total).map_err(|e| sink.error(&tp, e)).ok()?;
    let Some(base) = s.metric.strip_suffix("_bucket") else {
        sink.error(&sp, format!("{:?} is not a histogram bucket series; accepted: <histogram>_bucket{{..., le=\"<threshold>\"}}", s.metric));
        return None;
    };
    let le = s
        .matchers
        .iter()
        .find(|m| m.label == "le" && m.op == MatchOp::Equal)
        .and_then(|m| m.value.parse::<f64>().ok());
    let Some(le) = le else {
        sink.error(
            &sp,
            "the success selector needs le=\"<threshold>\" (a bucket boundary, e.g. le=\"0.3\")",
        );
        return None;
    };
    let others: Vec<_> = s
        .matchers
        .iter()
        .filter(|m| m.label != "le")
        .cloned()
        .collect();
    // Success read as its own series, its bucket in every spelling of the bound.
    let difference = || Latency::Difference {
        success: Selector {
            text: String::new(),
            metric: s.metric.clone(),
            matchers: others.clone(),
        }
        .promql(None, Some(&le_matcher(&le_spellings(le)))),
    };
    if t.metric != format!("{base}_count") {
        // Another counter of the same requests (e.g. Tempo's span-metrics `calls_total` beside
        // its latency histogram): Pyrra counts bad = total - success, and so does sloburn.
        return Some(difference());
    }
    if others != t.matchers {
        if t.matchers.iter().all(|m| others.contains(m)) {
            return Some(difference());
        }
        sink.error(&tp, "total must select the series of success apart from `le`, or more of them (success may add matchers, e.g. code!~\"5..\"); here total has matchers success lacks");
        return None;
    }
    Some(Latency::Histogram {
        histogram: Selector {
            text: String::new(),
            metric: base.into(),
            matchers: others,
        }
        .promql(None, None),
        le,
    })
}
