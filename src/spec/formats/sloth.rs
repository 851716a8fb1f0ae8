//! Sloth's Kubernetes CRD (`PrometheusServiceLevel`, whose `spec` is a `prometheus/v1` document
//! with camelCase field names) and Sloth's `AlertWindows` files.

use serde_json::{Map, Value, json};

use super::{Out, Translated, object, unknown_fields};
use crate::core::PromDuration;
use crate::spec::diag::Sink;
use crate::spec::document::snake_case;

/// `spec` is read as a `prometheus/v1` document; `metadata.name` is the Kubernetes object's
/// name, not the service (Sloth takes the service from `spec.service` too).
pub(super) fn crd(map: &Map<String, Value>, sink: &mut Sink) -> Translated {
    if !unknown_fields(
        sink,
        "",
        map,
        &["apiVersion", "kind", "metadata", "spec", "status"],
    ) {
        return Translated::Refused;
    }
    let Some(spec) = object(sink, "", map, "spec") else {
        return Translated::Refused;
    };
    let mut out = Out::default();
    let mut doc = Map::new();
    doc.insert("version".into(), json!("prometheus/v1"));
    out.map("", "spec");
    out.map("version", "apiVersion");
    let mut path = String::new();
    for (k, v) in spec {
        let key = snake_case(k);
        path.clear();
        path.push_str(&key);
        let value = rename(v, &key, &mut path, &format!("spec.{k}"), &mut out);
        doc.insert(key, value);
    }
    out.value = Value::Object(doc);
    Translated::Slos(out)
}

/// Copies `v` with camelCase keys in snake_case, except under `labels` and `annotations` (user
/// data), recording each field's original path.
fn rename(v: &Value, key: &str, new: &mut String, orig: &str, out: &mut Out) -> Value {
    out.map(new.clone(), orig);
    match v {
        Value::Object(m) if key != "labels" && key != "annotations" => {
            let mut copy = Map::new();
            for (k, child) in m {
                let nk = snake_case(k);
                let len = new.len();
                new.push('.');
                new.push_str(&nk);
                let value = rename(child, &nk, new, &format!("{orig}.{k}"), out);
                new.truncate(len);
                copy.insert(nk, value);
            }
            Value::Object(copy)
        }
        Value::Array(items) => {
            let mut copy = Vec::new();
            for (i, child) in items.iter().enumerate() {
                let len = new.len();
                new.push_str(&format!("[{i}]"));
                copy.push(rename(child, "", new, &format!("{orig}[{i}]"), out));
                new.truncate(len);
            }
            Value::Array(copy)
        }
        other => other.clone(),
    }
}

/// A Sloth `AlertWindows` table: `spec: {sloPeriod, page: {quick, slow}, ticket: {quick, slow}}`,
/// each with `errorBudgetPercent`, `shortWindow`, `longWindow`, into sloburn's
/// `alerting.windows` rows (`budget_percent` is the same share of the period's budget).
pub(super) fn alert_windows(map: &Map<String, Value>, sink: &mut Sink) -> Translated {
    if !unknown_fields(sink, "", map, &["apiVersion", "kind", "metadata", "spec"]) {
        return Translated::Refused;
    }
    let Some(spec) = object(sink, "", map, "spec") else {
        return Translated::Refused;
    };
    let before = sink.errors.len();
    unknown_fields(sink, "spec", spec, &["sloPeriod", "page", "ticket"]);
    let period = duration(sink, "spec.sloPeriod", spec.get("sloPeriod"));
    let mut rows = Vec::new();
    for severity in ["page", "ticket"] {
        let p = format!("spec.{severity}");
        let Some(tier) = object(sink, "spec", spec, severity) else {
            continue;
        };
        unknown_fields(sink, &p, tier, &["quick", "slow"]);
        for speed in ["quick", "slow"] {
            let Some(w) = object(sink, &p, tier, speed) else {
                continue;
            };
            let p = format!("{p}.{speed}");
            unknown_fields(
                sink,
                &p,
                w,
                &["errorBudgetPercent", "shortWindow", "longWindow"],
            );
            let short = duration(sink, &format!("{p}.shortWindow"), w.get("shortWindow"));
            let long = duration(sink, &format!("{p}.longWindow"), w.get("longWindow"));
            let budget = match w.get("errorBudgetPercent").and_then(Value::as_f64) {
                Some(b) if b > 0.0 && b <= 100.0 => Some(b),
                other => {
                    sink.error(
                        &format!("{p}.errorBudgetPercent"),
                        format!(
                            "{} is out of range; accepted: a percentage of the period's budget above 0 and at most 100",
                            other.map_or("nothing".to_string(), |b| b.to_string())
                        ),
                    );
                    None
                }
            };
            let (Some(short), Some(long), Some(budget)) = (short, long, budget) else {
                continue;
            };
            if short.as_millis() == 0 || short >= long {
                sink.error(
                    &format!("{p}.shortWindow"),
                    format!("the short window ({short}) must be shorter than the long window ({long}) and above 0"),
                );
                continue;
            }
            if period.is_some_and(|period| long >= period) {
                sink.error(
                    &format!("{p}.longWindow"),
                    format!("the long window ({long}) must be shorter than sloPeriod"),
                );
                continue;
            }
            rows.push(json!({
                "severity": severity,
                "long": long.to_string(),
                "short": short.to_string(),
                "budget_percent": budget,
            }));
        }
    }
    match period {
        Some(period) if sink.errors.len() == before => Translated::Windows {
            period: period.to_string(),
            rows: Value::Array(rows),
        },
        _ => Translated::Refused,
    }
}

fn duration(sink: &mut Sink, path: &str, v: Option<&Value>) -> Option<PromDuration> {
    match v {
        Some(Value::String(s)) => match s.parse::<PromDuration>() {
            Ok(d) => Some(d),
            Err(e) => {
                sink.error(path, e.to_string());
                None
            }
        },
        _ => {
            sink.error(
                path,
                "missing or not text; accepted: a duration such as 5m, 1h or 30d",
            );
            None
        }
    }
}
