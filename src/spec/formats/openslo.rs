//! OpenSLO: `openslo/v1alpha` (the subset Sloth reads) and `openslo/v1`.
//!
//! OpenSLO metric queries are instant expressions; sloburn applies each window itself. A query
//! is windowed only where that is sound: over counters (`counter: true`), a plain selector
//! `S` or `sum [by (l)] (S)` becomes `sum [by (l)] (rate(S[{{.window}}]))`, and a `bad`/`total`
//! pair of plain selectors becomes sloburn's `ratio` selector SLI. Anything else is refused.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value, json};

use super::{
    Out, Registry, Translated, ignored_fields, join, number, object, ratio_to_percent, string,
    unknown_fields,
};
use crate::spec::diag::Sink;
use crate::spec::labels::kind_of;
use crate::spec::promql::parse_selector;

static SUM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*sum\s*(?:by\s*\(([^)]*)\))?\s*\((.*)\)\s*(?:by\s*\(([^)]*)\))?\s*$").unwrap()
});

const QUERY_SHAPE: &str = "OpenSLO queries are instant expressions and sloburn must apply each window itself, which is sound only for a counter selector (e.g. http_requests_total{code=~\"5..\"}) or sum [by (labels)] of one; write the query in one of these shapes, or write the SLO as sloburn/v1 with an events SLI using {{.window}}";

// ---------------------------------------------------------------- openslo/v1alpha

const V1ALPHA_THRESHOLD: &str = "thresholdMetric (a threshold indicator: one metric whose values each objective's op and value judge good or bad) is not read from openslo/v1alpha: sloburn reads the v1alpha that Sloth reads, with ratioMetrics in each objective, and Sloth refuses thresholdMetric; write the SLO as openslo/v1 with indicator.spec.thresholdMetric: {metricSource: {type: Prometheus, spec: {query: ...}}}, read as a threshold SLI, or as sloburn/v1 with sli.threshold";

const SLOTH_DEFAULT_PERIOD: &str = "no time window: read as a rolling 30d period, Sloth's default (sloth --default-slo-period); write timeWindows: [{count: 30, unit: Day}] to make it explicit";

/// Who ignores the fields sloburn does not know in openslo/v1alpha files.
const SLOTH_OPENSLO: &str = "Sloth's reader of openslo/v1alpha files";

pub(super) fn v1alpha(map: &Map<String, Value>, kind: &str, sink: &mut Sink) -> Translated {
    if kind != "SLO" {
        sink.error(
            "kind",
            format!("got {}; accepted for openslo/v1alpha: SLO (the subset Sloth reads); use openslo/v1 for Service, SLI and alert objects", written(map.get("kind"))),
        );
        return Translated::Refused;
    }
    let before = sink.errors.len();
    ignored_fields(
        sink,
        "",
        map,
        &["apiVersion", "kind", "metadata", "spec"],
        SLOTH_OPENSLO,
    );
    let (Some(meta), Some(spec)) = (
        object(sink, "", map, "metadata"),
        object(sink, "", map, "spec"),
    ) else {
        return Translated::Refused;
    };
    let name = string(sink, "metadata", meta, "name").unwrap_or_default();
    ignored_fields(
        sink,
        "spec",
        spec,
        &[
            "service",
            "description",
            "budgetingMethod",
            "objectives",
            "timeWindows",
            "indicator",
        ],
        SLOTH_OPENSLO,
    );
    let service = string(sink, "spec", spec, "service").unwrap_or_default();
    let mut out = Out::new("sloburn/v1", service);
    out.map("service", "spec.service");
    out.map("slos", "spec.objectives");
    // v1alpha's indicator holds only thresholdMetric; refused by name rather than reported
    // as each objective's missing ratioMetrics.
    match spec.get("indicator") {
        None | Some(Value::Null) => {}
        Some(i) if i.get("thresholdMetric").is_some() => {
            sink.error("spec.indicator.thresholdMetric", V1ALPHA_THRESHOLD);
        }
        Some(_) => sink.error("spec.indicator", V1ALPHA_THRESHOLD),
    }
    if spec.get("budgetingMethod").is_none_or(Value::is_null) {
        // Sloth never reads budgetingMethod; what it computes is Occurrences.
        out.note(
            "spec",
            "no budgetingMethod: read as Occurrences, as Sloth reads every openslo/v1alpha SLO",
        );
    } else if spec.get("budgetingMethod").and_then(Value::as_str) != Some("Occurrences") {
        sink.error(
            "spec.budgetingMethod",
            format!("got {}; accepted for openslo/v1alpha: Occurrences (as Sloth reads it); openslo/v1 also reads Timeslices", written(spec.get("budgetingMethod"))),
        );
    }
    let period = match spec.get("timeWindows") {
        // Sloth gives an SLO without time windows its default period, 30 days
        // (`--default-slo-period`); files written for Sloth rely on it.
        None | Some(Value::Null) => {
            out.note("spec.timeWindows", SLOTH_DEFAULT_PERIOD);
            Some("30d".to_string())
        }
        Some(Value::Array(w)) if w.is_empty() => {
            out.note("spec.timeWindows", SLOTH_DEFAULT_PERIOD);
            Some("30d".to_string())
        }
        Some(Value::Array(w)) if w.len() == 1 => {
            let count = w[0].get("count").and_then(Value::as_u64);
            let unit = w[0].get("unit").and_then(Value::as_str);
            match (count, unit) {
                (Some(c), Some("Day" | "day")) => Some(format!("{c}d")),
                (Some(c), Some("Week" | "week")) => Some(format!("{c}w")),
                _ => {
                    sink.error(
                        "spec.timeWindows[0]",
                        "accepted: {count: <days>, unit: Day} or unit: Week (a rolling period)",
                    );
                    None
                }
            }
        }
        _ => {
            sink.error(
                "spec.timeWindows",
                "accepted: exactly one time window, e.g. [{count: 30, unit: Day}]",
            );
            None
        }
    };
    let Some(Value::Array(objectives)) = spec.get("objectives") else {
        sink.error(
            "spec.objectives",
            "missing; accepted: a list of objectives with ratioMetrics and target",
        );
        return Translated::Refused;
    };
    // As in openslo/v1: errors above do not stop the objectives from being checked.
    let failed = sink.errors.len() > before;
    let period = period.unwrap_or_else(|| "30d".to_string());
    let names = objective_names(name, objectives);
    for (i, o) in objectives.iter().enumerate() {
        let p = format!("spec.objectives[{i}]");
        let before = sink.errors.len();
        let Some(o) = o.as_object() else {
            sink.error(&p, format!("got {}; accepted: a mapping", kind_of(o)));
            continue;
        };
        ignored_fields(
            sink,
            &p,
            o,
            &["ratioMetrics", "target", "displayName", "value", "op"],
            SLOTH_OPENSLO,
        );
        let target = o.get("target").and_then(Value::as_f64);
        if target.is_none() {
            sink.error(
                &format!("{p}.target"),
                "missing or not a number; accepted: a ratio such as 0.999",
            );
        }
        // Objectives of a thresholdMetric SLO have no ratioMetrics: that is already said above.
        let threshold = spec.get("indicator").is_some() && !o.contains_key("ratioMetrics");
        let ratio = if threshold {
            None
        } else {
            object(sink, &p, o, "ratioMetrics")
        };
        let queries = ratio.map(|r| {
            let rp = format!("{p}.ratioMetrics");
            ignored_fields(sink, &rp, r, &["good", "total", "incremental"], SLOTH_OPENSLO);
            let q = |sink: &mut Sink, key: &str| -> Option<String> {
                let m = object(sink, &rp, r, key)?;
                let kp = format!("{rp}.{key}");
                ignored_fields(
                    sink,
                    &kp,
                    m,
                    &["source", "queryType", "query", "metadata"],
                    SLOTH_OPENSLO,
                );
                if let Some(src) = m.get("source").and_then(Value::as_str)
                    && !src.eq_ignore_ascii_case("prometheus")
                    && !src.eq_ignore_ascii_case("sloth")
                {
                    sink.error(
                        &format!("{kp}.source"),
                        format!("source {src:?} is not supported; accepted: prometheus (or sloth, Sloth's name for it)"),
                    );
                }
                if let Some(t) = m.get("queryType").and_then(Value::as_str)
                    && !t.eq_ignore_ascii_case("promql")
                {
                    sink.error(
                        &format!("{kp}.queryType"),
                        format!("queryType {t:?} is not supported; accepted: promql"),
                    );
                }
                string(sink, &kp, m, "query").map(str::to_string)
            };
            (q(sink, "good"), q(sink, "total"))
        });
        let n = out.slos().len();
        let s = format!("slos[{n}]");
        let (good, total) = match queries {
            Some((Some(good), Some(total))) => (good, total),
            _ => (
                "sum(rate(good[{{.window}}]))".into(),
                "sum(rate(total[{{.window}}]))".into(),
            ),
        };
        if failed || sink.errors.len() > before || target.is_none() {
            out.partial.push(n);
        }
        let target = target.unwrap_or(0.99);
        let mut slo = slo_header(&mut out, &s, &p, &names[i], objectives.len() == 1, spec);
        slo.insert("objective".into(), number(ratio_to_percent(target)));
        out.map(format!("{s}.objective"), format!("{p}.target"));
        slo.insert("period".into(), json!(period));
        out.map(format!("{s}.period"), "spec.timeWindows[0]");
        slo.insert(
            "sli".into(),
            json!({"events": {"error_query": format!("({total}) - ({good})"), "total_query": total}}),
        );
        out.map(format!("{s}.sli"), format!("{p}.ratioMetrics"));
        out.map(
            format!("{s}.sli.events.error_query"),
            format!("{p}.ratioMetrics.good.query"),
        );
        out.map(
            format!("{s}.sli.events.total_query"),
            format!("{p}.ratioMetrics.total.query"),
        );
        out.slos().push(Value::Object(slo));
    }
    Translated::Slos(out)
}

/// The SLO name of each objective: the SLO's own with one objective; suffixed by the
/// objective's displayName (or its target, or its position) with several.
fn objective_names(name: &str, objectives: &[Value]) -> Vec<String> {
    if objectives.len() == 1 {
        return vec![name.to_string()];
    }
    let mut names: Vec<String> = Vec::new();
    for (i, o) in objectives.iter().enumerate() {
        let suffix = match (
            o.get("displayName").and_then(Value::as_str),
            o.get("target").and_then(Value::as_f64),
        ) {
            (Some(d), _) if !slug(d).is_empty() => slug(d),
            (_, Some(t)) => ratio_to_percent(t).to_string(),
            _ => (i + 1).to_string(),
        };
        let mut n = format!("{name}-{suffix}");
        if names.contains(&n) {
            n = format!("{n}-{}", i + 1);
        }
        names.push(n);
    }
    names
}

/// A value as the user wrote it, for messages: text quoted, anything else by its kind (never
/// Rust's `Some(..)`/`None`).
fn written(v: Option<&Value>) -> String {
    match v {
        None => "nothing".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => kind_of(other).into(),
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

// ---------------------------------------------------------------- openslo/v1

const V1_KINDS: &[&str] = &[
    "SLO",
    "SLI",
    "Service",
    "DataSource",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
];

pub(super) fn v1(
    map: &Map<String, Value>,
    kind: &str,
    registry: &Registry,
    sink: &mut Sink,
) -> Translated {
    if !V1_KINDS.contains(&kind) {
        sink.error(
            "kind",
            format!(
                "got {}; accepted for openslo/v1: {}",
                written(map.get("kind")),
                V1_KINDS.join(", ")
            ),
        );
        return Translated::Refused;
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "SLO" {
        let role = match kind {
            "SLI" => "read where an SLO refers to it by indicatorRef",
            "AlertPolicy" | "AlertCondition" => "read where an SLO refers to it, as alert windows",
            "DataSource" => "read where a metricSource refers to it (its type must be Prometheus)",
            _ => "accepted; it defines no SLO",
        };
        return Translated::Other(format!("OpenSLO {kind} {name:?}: {role}"));
    }
    let before = sink.errors.len();
    unknown_fields(sink, "", map, &["apiVersion", "kind", "metadata", "spec"]);
    let (Some(meta), Some(spec)) = (
        object(sink, "", map, "metadata"),
        object(sink, "", map, "spec"),
    ) else {
        return Translated::Refused;
    };
    let name = string(sink, "metadata", meta, "name")
        .unwrap_or_default()
        .to_string();
    unknown_fields(
        sink,
        "spec",
        spec,
        &[
            "description",
            "service",
            "indicator",
            "indicatorRef",
            "timeWindow",
            "budgetingMethod",
            "objectives",
            "alertPolicies",
        ],
    );
    let service = string(sink, "spec", spec, "service").unwrap_or_default();
    let mut out = Out::new("sloburn/v1", service);
    out.map("service", "spec.service");
    out.map("slos", "spec.objectives");
    let (labels, renamed) = v1_labels(meta, &mut out);
    let method = spec
        .get("budgetingMethod")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !["Occurrences", "Timeslices", "RatioTimeslices"].contains(&method) {
        sink.error(
            "spec.budgetingMethod",
            format!(
                "got {}; accepted: Occurrences, Timeslices or RatioTimeslices",
                written(spec.get("budgetingMethod"))
            ),
        );
    }
    let period = time_window(sink, spec, &mut out);
    let alerting = alert_policies(spec, registry, &mut out);
    let Some(Value::Array(objectives)) = spec.get("objectives") else {
        sink.error(
            "spec.objectives",
            "missing; accepted: a list of one or more objectives with target",
        );
        return Translated::Refused;
    };
    let indicator = indicator(sink, spec, registry);
    // With errors above, the objectives are still translated, with stand-ins for what failed,
    // so their own errors show in the same run; none of them loads.
    let failed = sink.errors.len() > before;
    let period = period.unwrap_or_else(|| json!("30d"));
    let names = objective_names(&name, objectives);
    for (i, o) in objectives.iter().enumerate() {
        let p = format!("spec.objectives[{i}]");
        let before = sink.errors.len();
        let Some(o) = o.as_object() else {
            sink.error(&p, format!("got {}; accepted: a mapping", kind_of(o)));
            continue;
        };
        unknown_fields(
            sink,
            &p,
            o,
            &[
                "displayName",
                "op",
                "value",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "compositeWeight",
            ],
        );
        let objective = match (
            o.get("target").and_then(Value::as_f64),
            o.get("targetPercent").and_then(Value::as_f64),
        ) {
            (Some(t), None) => Some((ratio_to_percent(t), format!("{p}.target"))),
            (None, Some(t)) => Some((t, format!("{p}.targetPercent"))),
            _ => {
                sink.error(&p, "give exactly one of target (a ratio such as 0.999) or targetPercent (such as 99.9)");
                None
            }
        };
        let n = out.slos().len();
        let s = format!("slos[{n}]");
        let sli = match &indicator {
            Some((ind, ind_path)) => sli(sink, ind, ind_path, method, o, &p, &s, &mut out),
            None => None,
        };
        if failed || sink.errors.len() > before {
            out.partial.push(n);
        }
        let (objective, op) = objective.unwrap_or((99.0, p.clone()));
        let sli = sli.unwrap_or_else(stand_in_sli);
        let mut slo = slo_header(&mut out, &s, &p, &names[i], objectives.len() == 1, spec);
        slo.insert("objective".into(), number(objective));
        out.map(format!("{s}.objective"), op);
        if !labels.is_empty() {
            slo.insert("labels".into(), Value::Object(labels.clone()));
            out.map(format!("{s}.labels"), "metadata.labels");
            for (name, key) in &renamed {
                out.map(
                    format!("{s}.labels.{name}"),
                    format!("metadata.labels.{key}"),
                );
            }
        }
        slo.insert("period".into(), period.clone());
        out.map(format!("{s}.period"), "spec.timeWindow[0]");
        out.map(
            format!("{s}.period.timezone"),
            "spec.timeWindow[0].calendar.timeZone",
        );
        slo.insert("sli".into(), sli);
        if let Some(a) = &alerting {
            slo.insert("alerting".into(), a.clone());
            out.map(format!("{s}.alerting"), "spec.alertPolicies");
        }
        out.slos().push(Value::Object(slo));
    }
    Translated::Slos(out)
}

/// A valid SLI standing in for one the translation refused, so that the rest of a refused SLO
/// is still checked (it never loads).
fn stand_in_sli() -> Value {
    json!({"ratio": {"errors": "stand_in{code=\"5\"}", "total": "stand_in"}})
}

/// OpenSLO's labels as SLO labels, and the keys renamed on the way (label name, original key).
fn v1_labels(
    meta: &Map<String, Value>,
    out: &mut Out,
) -> (Map<String, Value>, Vec<(String, String)>) {
    let mut labels = Map::new();
    let mut renamed = Vec::new();
    if let Some(Value::Object(m)) = meta.get("labels") {
        for (key, v) in m {
            // OpenSLO label keys are Kubernetes-style (`metric-type`, `team.io/tier`);
            // Prometheus's are not: invalid characters become `_`, as Prometheus's own
            // translations (OTLP, relabelling) do.
            let k = &prometheus_label_name(key);
            if k != key {
                if m.contains_key(k) || labels.contains_key(k) {
                    out.note(
                        format!("metadata.labels.{key}"),
                        format!("not a Prometheus label name, and {k:?} is taken: ignored"),
                    );
                    continue;
                }
                out.note(
                    format!("metadata.labels.{key}"),
                    format!("{key:?} is not a Prometheus label name: carried as {k:?}"),
                );
                renamed.push((k.clone(), key.clone()));
            }
            match v {
                Value::String(s) => {
                    labels.insert(k.clone(), json!(s));
                }
                Value::Array(items) if items.iter().all(Value::is_string) => {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    labels.insert(k.clone(), json!(joined.join(",")));
                    out.note(
                        format!("metadata.labels.{key}"),
                        "a list of label values is joined with commas into one label value",
                    );
                }
                _ => out.note(
                    format!("metadata.labels.{key}"),
                    "not text or a list of text: ignored",
                ),
            }
        }
    }
    (labels, renamed)
}

/// `key` with every character a Prometheus label name may not hold replaced by `_` (and `_`
/// before a leading digit).
fn prometheus_label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// `timeWindow: [{duration, isRolling, calendar: {startTime, timeZone}}]` into a sloburn period.
fn time_window(sink: &mut Sink, spec: &Map<String, Value>, out: &mut Out) -> Option<Value> {
    let w = match spec.get("timeWindow") {
        Some(Value::Array(w)) if w.len() == 1 && w[0].is_object() => w[0].as_object()?,
        _ => {
            sink.error(
                "spec.timeWindow",
                "accepted: exactly one time window, e.g. [{duration: 28d, isRolling: true}]",
            );
            return None;
        }
    };
    let p = "spec.timeWindow[0]";
    unknown_fields(sink, p, w, &["duration", "isRolling", "calendar"]);
    let duration = string(sink, p, w, "duration")?;
    let calendar = w.get("calendar").and_then(Value::as_object);
    let rolling = w
        .get("isRolling")
        .and_then(Value::as_bool)
        .unwrap_or(calendar.is_none());
    let dp = format!("{p}.duration");
    if rolling {
        if duration.ends_with(['M', 'Q', 'Y']) {
            sink.error(&dp, format!("a rolling window of {duration} is not supported; accepted: a rolling duration in days or weeks such as 28d, 30d or 4w, or a calendar window of 1M or 1w"));
            return None;
        }
        return Some(json!(duration));
    }
    let unit = match duration {
        "1M" => "month",
        "1w" | "1W" => "week",
        "1Q" | "1Y" => {
            sink.error(&dp, format!("a calendar window of {duration} has no sloburn period; accepted: 1M (calendar month) or 1w (calendar week, Monday to Monday)"));
            return None;
        }
        other => {
            sink.error(&dp, format!("a calendar window of {other} is not supported; accepted: 1M (calendar month) or 1w (calendar week){}", if other.ends_with('m') { "; note that 1m is one minute and 1M one month" } else { "" }));
            return None;
        }
    };
    let mut period = Map::new();
    period.insert("calendar".into(), json!(unit));
    if let Some(c) = calendar {
        if let Some(tz) = c.get("timeZone") {
            period.insert("timezone".into(), tz.clone());
        }
        let start = c.get("startTime").and_then(Value::as_str).unwrap_or("");
        let aligned = match unit {
            "month" => start.get(8..10) == Some("01"),
            _ => false,
        } && start
            .get(11..)
            .is_none_or(|t| t.trim_start_matches(['0', ':']).is_empty());
        if !aligned && !start.is_empty() {
            out.note(
                format!("{p}.calendar.startTime"),
                format!("sloburn's calendar {unit}s start at local midnight on the {}; startTime {start} is used only for its time zone", if unit == "month" { "1st" } else { "Monday" }),
            );
        }
    }
    Some(Value::Object(period))
}

/// OpenSLO's composite SLO: the indicators are on the objectives.
fn composite(spec: &Map<String, Value>) -> bool {
    spec.get("objectives")
        .and_then(Value::as_array)
        .is_some_and(|objectives| {
            objectives.iter().any(|o| {
                ["indicator", "indicatorRef", "compositeWeight"]
                    .iter()
                    .any(|k| o.get(k).is_some())
            })
        })
}

/// The indicator's `spec` and the path errors about it are placed at.
fn indicator(
    sink: &mut Sink,
    spec: &Map<String, Value>,
    registry: &Registry,
) -> Option<(Value, String)> {
    match (spec.get("indicator"), spec.get("indicatorRef")) {
        (Some(i), None) => match i.get("spec") {
            Some(s) if s.is_object() => Some((s.clone(), "spec.indicator.spec".into())),
            _ => {
                sink.error(
                    "spec.indicator.spec",
                    "missing; accepted: an SLI spec with ratioMetric or thresholdMetric",
                );
                None
            }
        },
        (None, Some(Value::String(r))) => match registry.get("SLI", r) {
            Some(found) => match found.value.get("spec") {
                Some(s) if s.is_object() => Some((s.clone(), "spec.indicatorRef".into())),
                _ => {
                    sink.error(
                        "spec.indicatorRef",
                        format!("SLI {r:?} ({}) has no spec", found.file),
                    );
                    None
                }
            },
            None => {
                sink.error("spec.indicatorRef", format!("no openslo/v1 SLI named {r:?} in the loaded files; load the file that defines it together with this one"));
                None
            }
        },
        (None, None) if composite(spec) => {
            sink.error("spec.objectives", "a composite SLO (an indicator per objective, weighted by compositeWeight) is not supported: sloburn budgets one SLI per SLO; write each objective's indicator as an SLO of its own");
            None
        }
        _ => {
            sink.error("spec", "give exactly one of indicator (an inline SLI) or indicatorRef (the name of an SLI)");
            None
        }
    }
}

/// One objective's SLI, as a sloburn/v1 `sli` value.
#[allow(clippy::too_many_arguments)]
fn sli(
    sink: &mut Sink,
    ind: &Value,
    ind_path: &str,
    method: &str,
    objective: &Map<String, Value>,
    op_path: &str,
    s: &str,
    out: &mut Out,
) -> Option<Value> {
    // Inline indicators have their own paths; a referenced SLI is reported at indicatorRef.
    let inline = ind_path != "spec.indicatorRef";
    let at = |p: &str| {
        if inline {
            format!("{ind_path}.{p}")
        } else {
            ind_path.to_string()
        }
    };
    let refname = |msg: String| {
        if inline {
            msg
        } else {
            format!("in the referenced SLI: {msg}")
        }
    };
    out.map(format!("{s}.sli"), ind_path);
    let m = ind.as_object()?;
    let slice = objective.get("timeSliceWindow").and_then(Value::as_str);
    if let Some(t) = m.get("thresholdMetric") {
        let (query, key) = metric_query(sink, t, &at("thresholdMetric"), &refname)?;
        let op = match objective.get("op").and_then(Value::as_str) {
            Some("lt") => "<",
            Some("lte") => "<=",
            Some("gt") => ">",
            Some("gte") => ">=",
            _ => {
                sink.error(
                    &format!("{op_path}.op"),
                    format!(
                        "got {}; a thresholdMetric objective needs op: lt, lte, gt or gte",
                        written(objective.get("op"))
                    ),
                );
                return None;
            }
        };
        let Some(value) = objective.get("value").and_then(Value::as_f64) else {
            sink.error(
                &format!("{op_path}.value"),
                "missing; a thresholdMetric objective needs a value to compare with",
            );
            return None;
        };
        let mut t = json!({"query": query, "op": op, "value": value});
        if method == "Timeslices" {
            if let Some(sl) = slice {
                t["slice"] = json!(sl);
                out.map(
                    format!("{s}.sli.threshold.slice"),
                    format!("{op_path}.timeSliceWindow"),
                );
            }
            out.note(op_path.to_string(), "Timeslices: a slice is good when the condition holds at the slice's end; OpenSLO's timeSliceTarget (share of good points within a slice) is not applied");
        } else {
            out.note(op_path.to_string(), format!("{method} over a thresholdMetric is read as time slices of 1m (each a good or bad occurrence of the condition), not per scraped point"));
        }
        out.map(
            format!("{s}.sli.threshold.query"),
            at(&format!("thresholdMetric.metricSource.spec.{key}")),
        );
        out.map(format!("{s}.sli.threshold.op"), format!("{op_path}.op"));
        out.map(
            format!("{s}.sli.threshold.value"),
            format!("{op_path}.value"),
        );
        return Some(json!({"threshold": t}));
    }
    let Some(r) = m.get("ratioMetric").and_then(Value::as_object) else {
        sink.error(
            &at(""),
            refname("accepted: an SLI with ratioMetric or thresholdMetric".into()),
        );
        return None;
    };
    let rp = at("ratioMetric");
    if let Some(raw) = r.get("raw") {
        let (query, key) = metric_query(sink, raw, &at("ratioMetric.raw"), &refname)?;
        let failure = match r.get("rawType").and_then(Value::as_str) {
            Some("failure") => true,
            Some("success") => false,
            _ => {
                sink.error(
                    &at("ratioMetric.rawType"),
                    refname(format!(
                        "got {}; accepted: success or failure",
                        written(r.get("rawType"))
                    )),
                );
                return None;
            }
        };
        let avg = format!("avg_over_time(({query})[{{{{.window}}}}:1m])");
        let q = if failure { avg } else { format!("1 - {avg}") };
        out.map(
            format!("{s}.sli.raw.error_ratio_query"),
            at(&format!("ratioMetric.raw.metricSource.spec.{key}")),
        );
        out.note(rp.clone(), "a raw ratio is windowed as its average over the window sampled each minute (avg_over_time subquery): a time average, not weighted by events");
        return Some(json!({"raw": {"error_ratio_query": q}}));
    }
    let (total, tkey) = metric_query(
        sink,
        r.get("total").unwrap_or(&Value::Null),
        &at("ratioMetric.total"),
        &refname,
    )?;
    let (kind, other) = match (r.get("good"), r.get("bad")) {
        (Some(g), None) => ("good", g),
        (None, Some(b)) => ("bad", b),
        _ => {
            sink.error(
                &rp,
                refname("give exactly one of good or bad, with total".into()),
            );
            return None;
        }
    };
    let (q, qkey) = metric_query(sink, other, &at(&format!("ratioMetric.{kind}")), &refname)?;
    match r.get("counter") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => {
            sink.error(&at("ratioMetric.counter"), refname("counter: false (gauge metrics) is not supported: sloburn counts events over each window as the increase of a counter, and an instant gauge value cannot be summed over a window soundly; use counters (counter: true) or a raw ratio".into()));
            return None;
        }
        _ => {
            sink.error(&at("ratioMetric.counter"), refname("missing; accepted: counter: true (the metrics are monotonically increasing counters)".into()));
            return None;
        }
    }
    let qp = at(&format!("ratioMetric.{kind}.metricSource.spec.{qkey}"));
    let tp = at(&format!("ratioMetric.total.metricSource.spec.{tkey}"));
    let (tshape, qshape) = (shape(&total), shape(&q));
    let (Some(tshape), Some(qshape)) = (tshape, qshape) else {
        let which = if shape(&total).is_none() { &tp } else { &qp };
        sink.error(which, refname(QUERY_SHAPE.into()));
        return None;
    };
    if method == "Timeslices" {
        let Some(window) = slice else {
            sink.error(
                &format!("{op_path}.timeSliceWindow"),
                "missing; Timeslices needs timeSliceWindow (e.g. 1m)",
            );
            return None;
        };
        let Some(target) = objective.get("timeSliceTarget").and_then(Value::as_f64) else {
            sink.error(&format!("{op_path}.timeSliceTarget"), "missing; Timeslices over a ratioMetric needs timeSliceTarget (the good ratio a slice must reach)");
            return None;
        };
        let (tq, qq) = (tshape.rate(window), qshape.rate(window));
        let ratio = if kind == "good" {
            format!("({qq}) / ({tq})")
        } else {
            format!("1 - ({qq}) / ({tq})")
        };
        out.map(format!("{s}.sli.threshold.query"), &qp);
        out.map(
            format!("{s}.sli.threshold.slice"),
            format!("{op_path}.timeSliceWindow"),
        );
        out.map(
            format!("{s}.sli.threshold.value"),
            format!("{op_path}.timeSliceTarget"),
        );
        out.note(op_path.to_string(), format!("Timeslices: a {window} slice is good when the good ratio over the slice reaches timeSliceTarget; a slice without traffic counts as bad"));
        return Some(
            json!({"threshold": {"query": ratio, "op": ">=", "value": target, "slice": window}}),
        );
    }
    if method == "RatioTimeslices" {
        out.note(op_path.to_string(), "RatioTimeslices (the average of per-slice ratios) is approximated by Occurrences: bad events over total events, weighted by traffic");
    }
    if let (Shape::Plain(b), Shape::Plain(t), "bad") = (&qshape, &tshape, kind) {
        out.map(format!("{s}.sli.ratio.errors"), &qp);
        out.map(format!("{s}.sli.ratio.total"), &tp);
        return Some(json!({"ratio": {"errors": b, "total": t}}));
    }
    let (tq, qq) = (tshape.rate("{{.window}}"), qshape.rate("{{.window}}"));
    let error = if kind == "bad" {
        qq
    } else {
        format!("({tq}) - ({qq})")
    };
    out.map(format!("{s}.sli.events.error_query"), &qp);
    out.map(format!("{s}.sli.events.total_query"), &tp);
    Some(json!({"events": {"error_query": error, "total_query": tq}}))
}

/// A counter query sloburn can window.
enum Shape {
    /// A plain selector.
    Plain(String),
    /// `sum [by (labels)] (selector)`.
    Sum(Option<String>, String),
}

impl Shape {
    fn rate(&self, window: &str) -> String {
        match self {
            Shape::Plain(s) | Shape::Sum(None, s) => format!("sum(rate({s}[{window}]))"),
            Shape::Sum(Some(by), s) => format!("sum by ({by}) (rate({s}[{window}]))"),
        }
    }
}

fn shape(q: &str) -> Option<Shape> {
    if parse_selector(q).is_ok() {
        return Some(Shape::Plain(q.trim().to_string()));
    }
    let c = SUM.captures(q)?;
    let inner = c.get(2)?.as_str().trim();
    parse_selector(inner).ok()?;
    let by = c.get(1).or(c.get(3)).map(|m| m.as_str().trim().to_string());
    Some(Shape::Sum(by.filter(|b| !b.is_empty()), inner.to_string()))
}

/// The PromQL of `{metricSource: {type|metricSourceRef, spec: {query}}}` and the key it is
/// under: `query`, or `promql`, the key Nobl9 writes for a Prometheus query (its OpenSLO
/// converter copies `metricSource.spec` into its own `prometheus: {promql}`).
fn metric_query(
    sink: &mut Sink,
    v: &Value,
    p: &str,
    refname: &dyn Fn(String) -> String,
) -> Option<(String, &'static str)> {
    let Some(src) = v.get("metricSource").and_then(Value::as_object) else {
        sink.error(p, refname("missing metricSource; accepted: {metricSource: {type: Prometheus, spec: {query: ...}}}".into()));
        return None;
    };
    let sp = format!("{p}.metricSource");
    match src.get("type") {
        Some(Value::String(t)) if t.eq_ignore_ascii_case("prometheus") => {}
        Some(Value::String(t)) => {
            sink.error(&join(&sp, "type"), refname(format!("metricSource.type {t:?} is not supported: sloburn reads Prometheus (PromQL) only; accepted: type: Prometheus")));
            return None;
        }
        other => {
            sink.error(
                &join(&sp, "type"),
                refname(format!(
                    "got {}; accepted: type: Prometheus",
                    written(other)
                )),
            );
            return None;
        }
    }
    let spec = src.get("spec");
    let (query, promql) = (
        spec.and_then(|s| s.get("query")),
        spec.and_then(|s| s.get("promql")),
    );
    let key = match (query, promql) {
        (Some(_), Some(_)) => {
            sink.error(&format!("{sp}.spec.promql"), refname("both query and promql are given; they are the same field (promql is Nobl9's name for a Prometheus query): keep one".into()));
            return None;
        }
        (Some(_), None) => "query",
        (None, Some(_)) => "promql",
        (None, None) => {
            sink.error(
                &format!("{sp}.spec.query"),
                refname(
                    "missing; accepted: query: <PromQL> (or promql: <PromQL>, as Nobl9 writes it)"
                        .into(),
                ),
            );
            return None;
        }
    };
    match query.or(promql) {
        Some(Value::String(q)) => Some((q.clone(), key)),
        other => {
            sink.error(
                &format!("{sp}.spec.{key}"),
                refname(format!(
                    "got {}; accepted: a PromQL query as text",
                    written(other)
                )),
            );
            None
        }
    }
}

/// `alertPolicies` (inline or by `alertPolicyRef`) with burn-rate conditions, as sloburn
/// `alerting` with a window table. Conditions that cannot be mapped faithfully are noted and
/// left out; with none left, the default table stays.
fn alert_policies(spec: &Map<String, Value>, registry: &Registry, out: &mut Out) -> Option<Value> {
    let Some(Value::Array(policies)) = spec.get("alertPolicies") else {
        return None;
    };
    let mut rows = Vec::new();
    let mut tiers = Map::new();
    for (i, pol) in policies.iter().enumerate() {
        let p = format!("spec.alertPolicies[{i}]");
        let body = match pol.get("alertPolicyRef").and_then(Value::as_str) {
            Some(r) => match registry.get("AlertPolicy", r) {
                Some(f) => f.value.get("spec").cloned(),
                None => {
                    out.note(
                        p,
                        format!("no AlertPolicy named {r:?} in the loaded files: ignored"),
                    );
                    continue;
                }
            },
            None => pol.get("spec").cloned(),
        };
        let conditions = body
            .as_ref()
            .and_then(|b| b.get("conditions"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for c in conditions {
            let cond = match c.get("conditionRef").and_then(Value::as_str) {
                Some(r) => registry
                    .get("AlertCondition", r)
                    .and_then(|f| f.value.get("spec").cloned()),
                None => c.get("spec").cloned(),
            };
            let Some(cond) = cond else {
                out.note(p.clone(), "an alert condition could not be found: ignored");
                continue;
            };
            let sev = cond
                .get("severity")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let severity = if ["page", "critical", "high"].contains(&sev.as_str()) {
                "page"
            } else {
                "ticket"
            };
            let c = cond.get("condition").cloned().unwrap_or(Value::Null);
            let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
            let op = c.get("op").and_then(Value::as_str).unwrap_or("gte");
            let threshold = c.get("threshold").and_then(Value::as_f64);
            let look = c
                .get("lookbackWindow")
                .and_then(Value::as_str)
                .and_then(|l| l.parse::<crate::core::PromDuration>().ok());
            let (true, true, Some(threshold), Some(look)) = (
                kind.eq_ignore_ascii_case("burnrate"),
                op == "gte" || op == "gt",
                threshold,
                look,
            ) else {
                out.note(p.clone(), "only burnrate conditions with op gte or gt, a threshold and a lookbackWindow map onto sloburn's alert windows; this one is ignored");
                continue;
            };
            let short = crate::core::PromDuration::from_millis(look.as_millis() / 12);
            rows.push(json!({"severity": severity, "long": look.to_string(), "short": short.to_string(), "burn_rate": threshold}));
            out.note(p.clone(), format!("burn-rate condition over {look} read as a {severity} window {look}/{short}: sloburn also requires the burn over the short window (lookback/12, SRE Workbook), so the alert ends soon after the burn stops"));
            if let Some(after) = c.get("alertAfter").and_then(Value::as_str) {
                let key = format!("{severity}_alert");
                if !tiers.contains_key(&key) {
                    tiers.insert(key, json!({"for": after}));
                }
            }
        }
    }
    if rows.is_empty() {
        return None;
    }
    let mut a = tiers;
    a.insert("windows".into(), Value::Array(rows));
    Some(Value::Object(a))
}

/// The start of one translated SLO, the same for v1alpha and v1: its name (from
/// `metadata.name`, or the objective when there are several) and the spec's description, each
/// mapped back to where it was written.
fn slo_header(
    out: &mut Out,
    s: &str,
    p: &str,
    name: &str,
    single: bool,
    spec: &Map<String, Value>,
) -> Map<String, Value> {
    let mut slo = Map::new();
    slo.insert("name".into(), json!(name));
    out.map(s, p);
    out.map(
        format!("{s}.name"),
        if single { "metadata.name" } else { p },
    );
    if let Some(Value::String(d)) = spec.get("description") {
        slo.insert("description".into(), json!(d));
        out.map(format!("{s}.description"), "spec.description");
    }
    slo
}
