//! One YAML document of `prometheus/v1` (Sloth) or `sloburn/v1` into validated [`Slo`]s.
//!
//! Each SLO is read and checked on its own, so one bad SLO is reported and skipped while the
//! others of the same file load.

use serde::Deserialize;
use serde_json::Value;

use crate::core::correction::Correction;
use crate::core::{
    BurnWindow, CalendarUnit, Objective, Period, PromDuration, Severity, ThresholdSpec,
    WindowTable, number, threshold_for,
};
use crate::spec::corrections::{self, Scope};
use crate::spec::diag::Sink;
use crate::spec::labels::{
    LabelValue, RESERVED_ALERT_LABELS, RESERVED_SERIES_LABELS, RawLabels, TIER_LABEL,
    exported_name, kind_of, label_name_problem,
};
use crate::spec::model::{
    AlertSpec, Alerting, CompareOp, DEFAULT_MAX_GROUPS, ExhaustionSpec, Labels, MAX_MAX_GROUPS,
    Origin, Policy, Sli, Slo, SpecVersion,
};
use crate::spec::yaml::Document;
use crate::spec::yaml::remove_at;
use crate::spec::{lenient, promql};

/// The default rolling period.
pub const DEFAULT_PERIOD: PromDuration = PromDuration::from_secs(30 * 86400);
/// Periods outside [1d, 1y] are refused: shorter ones leave no room for the alert windows,
/// longer ones outlive any retention worth budgeting.
pub const MIN_PERIOD: PromDuration = PromDuration::from_secs(86400);
pub const MAX_PERIOD: PromDuration = PromDuration::from_secs(365 * 86400);
/// A threshold SLI's default time slice.
pub const DEFAULT_SLICE: PromDuration = PromDuration::from_secs(60);

const VERSIONS: &str =
    "accepted versions: prometheus/v1 (Sloth's format, read unchanged) and sloburn/v1";

const SLO_PLUGINS: &str = "Sloth SLO plugins are not supported: they are Go code run inside Sloth's rule generator, which sloburn does not execute; remove them (sloburn's own rules and alerts take their place)";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDoc {
    #[allow(dead_code)] // read before typed parsing
    version: String,
    service: String,
    #[serde(default)]
    labels: RawLabels,
    slos: Vec<Value>,
    /// sloburn/v1: corrections for every SLO of the service.
    #[serde(default)]
    corrections: Option<Value>,
    /// Sloth's SLO plugins: refused by name rather than as an unknown field.
    #[serde(default)]
    slo_plugins: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: String,
    objective: f64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: RawLabels,
    sli: RawSli,
    #[serde(default)]
    alerting: Option<RawAlerting>,
    #[serde(default)]
    plugins: Option<Value>,
    // sloburn/v1 only, from here on.
    #[serde(default)]
    period: Option<Value>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    max_groups: Option<u32>,
    #[serde(default)]
    policy: Option<RawPolicy>,
    #[serde(default)]
    corrections: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    events: Option<RawEvents>,
    raw: Option<RawRatioQuery>,
    plugin: Option<Value>,
    ratio: Option<RawRatio>,
    latency: Option<RawLatency>,
    threshold: Option<RawThreshold>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvents {
    error_query: String,
    total_query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatioQuery {
    error_ratio_query: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatio {
    errors: String,
    total: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLatency {
    histogram: String,
    threshold: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    query: String,
    op: String,
    value: f64,
    #[serde(default)]
    slice: Option<PromDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlerting {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: RawLabels,
    #[serde(default)]
    annotations: RawLabels,
    #[serde(default)]
    page_alert: Option<RawAlert>,
    #[serde(default)]
    ticket_alert: Option<RawAlert>,
    #[serde(default)]
    windows: Option<Vec<RawWindow>>,
    #[serde(default)]
    min_events: Option<u64>,
    #[serde(default)]
    exhaustion: Option<RawExhaustion>,
}

/// `alerting.exhaustion`: a tier's fields (no `min_events`), its `within` and its tier.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExhaustion {
    within: PromDuration,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: RawLabels,
    #[serde(default)]
    annotations: RawLabels,
    #[serde(default, rename = "for")]
    for_: Option<PromDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: RawLabels,
    #[serde(default)]
    annotations: RawLabels,
    #[serde(default, rename = "for")]
    for_: Option<PromDuration>,
    #[serde(default)]
    min_events: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    severity: String,
    long: PromDuration,
    short: PromDuration,
    #[serde(default)]
    budget_percent: Option<f64>,
    #[serde(default)]
    burn_rate: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    freeze_below: f64,
}

/// Reads one document into SLOs, pushing every problem into `sink`.
pub(crate) fn read_document(doc: &Document, sink: &mut Sink) -> Vec<Slo> {
    let Some(map) = doc.value.as_object() else {
        if !doc.value.is_null() {
            sink.error(
                "",
                format!(
                    "a spec document must be a mapping with version, service and slos, got {}",
                    kind_of(&doc.value)
                ),
            );
        }
        return Vec::new();
    };
    let Some(version) = read_version(map, sink) else {
        return Vec::new();
    };
    let mut read = lenient::read_all::<RawDoc>(&doc.value);
    let before = sink.errors.len();
    report_problems(sink, "", version, &read.problems);
    let Some(raw) = read.value.take() else {
        return Vec::new();
    };
    if raw.slo_plugins.is_some() {
        sink.error("slo_plugins", SLO_PLUGINS);
    }
    if !read.covers("service") {
        check_name(sink, "service", &raw.service);
    }
    let (service_raw, service_severity) = take_severity(&raw.labels);
    let service_labels = labels(sink, "labels", &service_raw, &reserved_slo_labels());
    let service_corrections = match (&raw.corrections, version) {
        (None, _) => Vec::new(),
        (Some(_), SpecVersion::SlothV1) => {
            sink.warn(
                "corrections",
                "`corrections` is a sloburn/v1 field and has no effect here: prometheus/v1 is Sloth's format, read as Sloth reads it (ignoring fields it does not know); set `version: sloburn/v1` to use it",
            );
            sink.ignored.push("corrections".into());
            Vec::new()
        }
        (Some(list), SpecVersion::SloburnV1) => {
            corrections::read_list(sink, "corrections", list, Scope::Service)
                .into_iter()
                .map(|(_, _, _, c)| c)
                .collect()
        }
    };
    // A document-level mistake (`lables:`) concerns every SLO: none loads until it is fixed,
    // but each is still checked, so one run shows every error.
    let document_failed = sink.errors.len() > before;
    if raw.slos.is_empty() && !read.covers("slos") {
        sink.error("slos", "no SLOs; accepted: a list of one or more SLOs");
    }
    let mut out = Vec::new();
    for (i, value) in raw.slos.iter().enumerate() {
        let path = format!("slos[{i}]");
        let before = sink.errors.len();
        let value = match version {
            SpecVersion::SlothV1 => &without_sloburn_fields(sink, &path, value),
            SpecVersion::SloburnV1 => value,
        };
        let mut read = lenient::read_all::<RawSlo>(value);
        report_problems(sink, &path, version, &read.problems);
        let checked = (sink.errors.len(), sink.warnings.len());
        let slo = read.value.take().and_then(|raw_slo| {
            read_slo(
                sink,
                &path,
                version,
                (&raw.service, &service_labels, service_severity.as_deref()),
                &service_corrections,
                raw_slo,
            )
        });
        // What stands in for a reported field is not judged again by the checks after reading.
        let judged = |e: &crate::spec::Diagnostic| {
            let rel = e.path.strip_prefix(path.as_str()).unwrap_or(&e.path);
            let rel = rel.strip_prefix('.').unwrap_or(rel);
            !read.covers(rel) && !read.covers_item(rel)
        };
        let mut k = 0;
        sink.errors.retain(|e| {
            k += 1;
            k <= checked.0 || judged(e)
        });
        // Warnings from checks across fields may judge a stand-in; the SLO is refused anyway.
        let stood_in = read.stood_in();
        let mut k = 0;
        sink.warnings.retain(|e| {
            k += 1;
            k <= checked.1 || (!stood_in && judged(e))
        });
        if let Some(slo) = slo.filter(|_| sink.errors.len() == before && !document_failed) {
            out.push(slo);
        }
    }
    out
}

fn read_version(map: &serde_json::Map<String, Value>, sink: &mut Sink) -> Option<SpecVersion> {
    if let Some(api) = map.get("apiVersion").and_then(Value::as_str) {
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
        let what = match api {
            "sloth.slok.dev/v1" if kind == "AlertWindows" => {
                "a Sloth AlertWindows file; write the table under alerting.windows of a sloburn/v1 SLO"
            }
            "sloth.slok.dev/v1" => {
                "Sloth's Kubernetes CRD (PrometheusServiceLevel) is not read yet; its `spec:` is a prometheus/v1 document: copy it into a file with `version: prometheus/v1`"
            }
            a if a.starts_with("openslo/") => "OpenSLO is not read yet",
            a if a.starts_with("pyrra.dev/") => "Pyrra's ServiceLevelObjective is not read yet",
            _ => "an unknown format",
        };
        sink.error(
            "apiVersion",
            format!("apiVersion {api:?}: {what}; {VERSIONS}"),
        );
        return None;
    }
    match map.get("version") {
        None => {
            sink.error("", format!("missing field `version`; {VERSIONS}"));
            None
        }
        Some(Value::String(v)) if v == "prometheus/v1" => Some(SpecVersion::SlothV1),
        Some(Value::String(v)) if v == "sloburn/v1" => Some(SpecVersion::SloburnV1),
        Some(v) => {
            sink.error("version", format!("unknown version {v}; {VERSIONS}"));
            None
        }
    }
}

fn read_slo(
    sink: &mut Sink,
    path: &str,
    version: SpecVersion,
    (service, service_labels, service_severity): (&str, &Labels, Option<&str>),
    service_corrections: &[Correction],
    raw: RawSlo,
) -> Option<Slo> {
    let mut all_corrections = service_corrections.to_vec();
    if let Some(list) = &raw.corrections {
        all_corrections.extend(
            corrections::read_list(sink, &format!("{path}.corrections"), list, Scope::Slo)
                .into_iter()
                .map(|(_, _, _, c)| c),
        );
    }
    if raw.plugins.is_some() {
        sink.error(&format!("{path}.plugins"), SLO_PLUGINS);
    }
    check_name(sink, &format!("{path}.name"), &raw.name);
    let objective = Objective::from_percent(raw.objective);
    if objective.is_none() {
        sink.error(
            &format!("{path}.objective"),
            format!(
                "{} is out of range; accepted: a percentage strictly between 0 and 100, e.g. 99.9{}",
                raw.objective,
                if raw.objective == 100.0 { " (100% leaves no error budget)" } else { "" }
            ),
        );
    }
    let (slo_raw, slo_severity) = take_severity(&raw.labels);
    let severity = slo_severity.or(service_severity.map(str::to_string));
    let mut all_labels = service_labels.clone();
    all_labels.extend(labels(
        sink,
        &format!("{path}.labels"),
        &slo_raw,
        &reserved_slo_labels(),
    ));
    let period = read_period(sink, &format!("{path}.period"), raw.period.as_ref());
    let sli = read_sli(sink, &format!("{path}.sli"), raw.sli);
    let group_by = read_group_by(
        sink,
        path,
        raw.group_by.unwrap_or_default(),
        &all_labels,
        sli.as_ref(),
    );
    let max_groups = match raw.max_groups {
        None => DEFAULT_MAX_GROUPS,
        Some(_) if group_by.is_empty() => {
            sink.error(
                &format!("{path}.max_groups"),
                "max_groups caps the series of group_by; it needs group_by",
            );
            DEFAULT_MAX_GROUPS
        }
        Some(n) if (1..=MAX_MAX_GROUPS).contains(&n) => n,
        Some(n) => {
            sink.error(
                &format!("{path}.max_groups"),
                format!("{n} is out of range; accepted: 1 to {MAX_MAX_GROUPS}"),
            );
            DEFAULT_MAX_GROUPS
        }
    };
    let policy = match raw.policy {
        None => Policy {
            freeze_below_percent: 0.0,
        },
        Some(p) => {
            if !(p.freeze_below.is_finite() && (0.0..100.0).contains(&p.freeze_below)) {
                sink.error(
                    &format!("{path}.policy.freeze_below"),
                    format!("{} is out of range; accepted: a percentage of the budget from 0 (freeze when spent) up to but not including 100", p.freeze_below),
                );
            }
            Policy {
                freeze_below_percent: p.freeze_below,
            }
        }
    };
    let period = period?;
    let alerting = read_alerting(
        sink,
        &format!("{path}.alerting"),
        raw.alerting.unwrap_or_default(),
        &period,
        severity,
    );
    if let (Some(objective), Some(alerting)) = (objective, &alerting) {
        warn_unreachable_rows(sink, path, objective, alerting);
    }
    if let (Some(Sli::Threshold { slice, .. }), Some(alerting)) = (&sli, &alerting) {
        let shortest = alerting.windows.windows().into_iter().min();
        if let Some(shortest) = shortest.filter(|w| *slice > *w) {
            sink.error(
                &format!("{path}.sli.threshold.slice"),
                format!("a slice of {slice} is longer than the shortest alert window ({shortest}); accepted: a slice no longer than every window"),
            );
        }
        warn_guard_above_slices(sink, path, *slice, alerting);
    }
    if let (Some(Sli::Raw { .. }), Some(alerting)) = (&sli, &alerting) {
        refuse_guard_on_raw(sink, path, alerting);
    }
    Some(Slo {
        service: service.to_string(),
        name: raw.name,
        description: raw.description,
        objective: objective?,
        labels: all_labels,
        period,
        sli: sli?,
        group_by,
        max_groups,
        alerting: alerting?,
        policy,
        corrections: all_corrections,
        version,
        origin: Origin {
            file: sink.file.to_string(),
            pos: sink.pos(path),
            sli: sink.pos(&format!("{path}.sli")),
        },
    })
}

/// Service and SLO names end up in URLs (`/api/v1/slos/{service}/{slo}`) and label values.
fn check_name(sink: &mut Sink, path: &str, name: &str) {
    let ok = name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        sink.error(
            path,
            format!("{name:?} is not a valid name; accepted: 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit (e.g. requests-availability)"),
        );
    }
}

fn labels(sink: &mut Sink, path: &str, raw: &RawLabels, reserved: &[&str]) -> Labels {
    let mut out = Labels::new();
    for (name, LabelValue(value)) in raw {
        let p = format!("{path}.{name}");
        if let Some(problem) = label_name_problem(name) {
            sink.error(&p, problem);
        } else if name == TIER_LABEL && reserved.contains(&TIER_LABEL) {
            sink.error(
                &p,
                format!("label {name:?} is set by sloburn itself on every alert it generates: the tier, page or ticket, that Alertmanager routes on; label alerts your way with `severity` or a label of your own"),
            );
        } else if reserved.contains(&name.as_str()) {
            let exported = exported_name(name).into_owned();
            if raw.contains_key(&exported) {
                sink.error(
                    &p,
                    format!("label {name:?} is set by sloburn itself and {exported:?} is written too; keep one of them (sloburn carries {name:?} as {exported:?})"),
                );
            } else {
                sink.warn(
                    &p,
                    format!("label {name:?} is set by sloburn itself; this value is carried as {exported:?}, as Prometheus renames a clashing label (reserved here: {})", reserved.join(", ")),
                );
                out.insert(exported, value.clone());
            }
        } else {
            out.insert(name.clone(), value.clone());
        }
    }
    out
}

fn read_period(sink: &mut Sink, path: &str, raw: Option<&Value>) -> Option<Period> {
    const ACCEPTED: &str = "accepted: a rolling duration such as 30d, 28d, 4w or 7d, or a calendar period such as {calendar: month, timezone: Europe/Berlin}";
    match raw {
        None => Some(Period::Rolling(DEFAULT_PERIOD)),
        Some(Value::String(s)) => match s.parse::<PromDuration>() {
            Ok(d) if d < MIN_PERIOD || d > MAX_PERIOD => {
                sink.error(path, format!("{d} is out of range; accepted: a rolling period from {MIN_PERIOD} to {MAX_PERIOD}"));
                None
            }
            Ok(d) => Some(Period::Rolling(d)),
            Err(e) => {
                sink.error(path, format!("{e}; a calendar period is written {{calendar: month, timezone: Europe/Berlin}}"));
                None
            }
        },
        Some(Value::Object(map)) => {
            let mut ok = true;
            for key in map.keys().filter(|k| *k != "calendar" && *k != "timezone") {
                sink.error(
                    &format!("{path}.{key}"),
                    format!("unknown field `{key}`, expected `calendar` or `timezone`"),
                );
                ok = false;
            }
            let unit = match map.get("calendar").and_then(Value::as_str) {
                Some("month") => Some(CalendarUnit::Month),
                Some("week") => Some(CalendarUnit::Week),
                other => {
                    let got = other
                        .map(|s| format!("{s:?}"))
                        .unwrap_or_else(|| "nothing".into());
                    sink.error(
                        &format!("{path}.calendar"),
                        format!("got {got}; accepted: month or week (weeks start on Monday)"),
                    );
                    None
                }
            };
            let tz = match map.get("timezone") {
                None => Some(chrono_tz::UTC),
                Some(Value::String(name)) => match name.parse::<chrono_tz::Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        sink.error(&format!("{path}.timezone"), format!("unknown time zone {name:?}; accepted: an IANA name such as UTC, Europe/Berlin or America/New_York"));
                        None
                    }
                },
                Some(v) => {
                    sink.error(
                        &format!("{path}.timezone"),
                        format!(
                            "got {}; accepted: an IANA name such as Europe/Berlin",
                            kind_of(v)
                        ),
                    );
                    None
                }
            };
            match (unit, tz, ok) {
                (Some(unit), Some(tz), true) => Some(Period::Calendar { unit, tz }),
                _ => None,
            }
        }
        Some(v) => {
            sink.error(path, format!("got {}; {ACCEPTED}", kind_of(v)));
            None
        }
    }
}

fn read_sli(sink: &mut Sink, path: &str, raw: RawSli) -> Option<Sli> {
    if raw.plugin.is_some() {
        sink.error(
            &format!("{path}.plugin"),
            "Sloth SLI plugins are not supported: they are Go code run inside Sloth, which sloburn does not execute; write the SLI as `events` (error_query and total_query) or `raw` (error_ratio_query) with the PromQL the plugin would generate",
        );
        return None;
    }
    let given: Vec<&str> = [
        ("events", raw.events.is_some()),
        ("raw", raw.raw.is_some()),
        ("ratio", raw.ratio.is_some()),
        ("latency", raw.latency.is_some()),
        ("threshold", raw.threshold.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    if given.len() != 1 {
        let got = if given.is_empty() {
            "none".to_string()
        } else {
            given.join(" and ")
        };
        sink.error(
            path,
            format!("an SLI is exactly one of events, raw, ratio, latency, threshold; got {got}"),
        );
        return None;
    }
    if let Some(e) = raw.events {
        let a = template(sink, &format!("{path}.events.error_query"), &e.error_query);
        let b = template(sink, &format!("{path}.events.total_query"), &e.total_query);
        return (a && b).then_some(Sli::Events {
            error_query: promql::strip_comments(&e.error_query),
            total_query: promql::strip_comments(&e.total_query),
        });
    }
    if let Some(r) = raw.raw {
        return template(
            sink,
            &format!("{path}.raw.error_ratio_query"),
            &r.error_ratio_query,
        )
        .then_some(Sli::Raw {
            error_ratio_query: promql::strip_comments(&r.error_ratio_query),
        });
    }
    if let Some(r) = raw.ratio {
        let errors = selector(sink, &format!("{path}.ratio.errors"), &r.errors);
        let total = selector(sink, &format!("{path}.ratio.total"), &r.total);
        return Some(Sli::Ratio {
            errors: errors?,
            total: total?,
        });
    }
    if let Some(l) = raw.latency {
        let p = format!("{path}.latency.histogram");
        let histogram = selector(sink, &p, &l.histogram).and_then(|s| {
            if let Some(suffix) = ["_bucket", "_count", "_sum"].into_iter().find(|x| s.metric.ends_with(x)) {
                let base = s.metric.trim_end_matches(suffix);
                sink.error(&p, format!("give the histogram's base name ({base:?}), not its {suffix} series; sloburn reads {base}_bucket and {base}_count itself"));
                return None;
            }
            if s.matchers.iter().any(|m| m.label == "le") {
                sink.error(&p, "the selector may not match `le`; the bucket is chosen by latency.threshold");
                return None;
            }
            Some(s)
        });
        if !(l.threshold.is_finite() && l.threshold > 0.0) {
            sink.error(&format!("{path}.latency.threshold"), format!("{} is not a latency; accepted: a bucket boundary in the histogram's unit, greater than 0 (e.g. 0.3 for 300ms in seconds)", l.threshold));
            return None;
        }
        return Some(Sli::Latency {
            histogram: histogram?,
            threshold: l.threshold,
        });
    }
    let t = raw.threshold?;
    let mut ok = true;
    if let Err(e) = promql::check_expression(&t.query) {
        sink.error(&format!("{path}.threshold.query"), e);
        ok = false;
    }
    let op = CompareOp::parse(&t.op);
    if op.is_none() {
        sink.error(
            &format!("{path}.threshold.op"),
            format!(
                "unknown comparison {:?}; accepted: {}",
                t.op,
                CompareOp::ACCEPTED
            ),
        );
    }
    if !t.value.is_finite() {
        sink.error(
            &format!("{path}.threshold.value"),
            "accepted: a finite number",
        );
        ok = false;
    }
    let slice = t.slice.unwrap_or(DEFAULT_SLICE);
    if slice < PromDuration::from_secs(1) || slice > PromDuration::from_secs(3600) {
        sink.error(
            &format!("{path}.threshold.slice"),
            format!("{slice} is out of range; accepted: 1s to 1h (default {DEFAULT_SLICE})"),
        );
        ok = false;
    }
    let op = op?;
    ok.then_some(Sli::Threshold {
        query: promql::strip_comments(&t.query),
        op,
        value: t.value,
        slice,
    })
}

fn template(sink: &mut Sink, path: &str, query: &str) -> bool {
    match promql::check_template(query) {
        Ok(()) => true,
        Err(e) => {
            sink.error(path, e);
            false
        }
    }
}

fn selector(sink: &mut Sink, path: &str, text: &str) -> Option<crate::spec::model::Selector> {
    promql::parse_selector(text)
        .map_err(|e| sink.error(path, e))
        .ok()
        .and_then(|s| {
            for m in &s.matchers {
                if let Some(problem) =
                    label_name_problem(&m.label).filter(|_| !m.label.starts_with("__"))
                {
                    sink.error(path, problem);
                    return None;
                }
            }
            Some(s)
        })
}

fn read_group_by(
    sink: &mut Sink,
    path: &str,
    group_by: Vec<String>,
    labels: &Labels,
    sli: Option<&Sli>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in group_by.into_iter().enumerate() {
        let p = format!("{path}.group_by[{i}]");
        if let Some(problem) = label_name_problem(&name) {
            sink.error(&p, problem);
        } else if labels.contains_key(exported_name(&name).as_ref()) {
            sink.error(&p, format!("{name:?} is also a fixed label of this SLO; a label is either fixed or grouped by"));
        } else if let Some(first) = out
            .iter()
            .find(|o| exported_name(o) == exported_name(&name))
        {
            if *first == name {
                sink.error(&p, format!("{name:?} is listed twice"));
            } else {
                sink.error(&p, format!("{name:?} and {first:?} would both be carried as {:?}; group by one of them", exported_name(&name)));
            }
        } else {
            if exported_name(&name) != name.as_str() {
                sink.warn(
                    &p,
                    format!("label {name:?} is set by sloburn itself; each group's value is carried as {:?}, as Prometheus renames a clashing label", exported_name(&name)),
                );
            }
            // Templated queries must aggregate by the group label, or there is nothing to group.
            let queries: Vec<&str> = match sli {
                Some(Sli::Events {
                    error_query,
                    total_query,
                }) => vec![error_query, total_query],
                Some(Sli::Raw { error_ratio_query }) => vec![error_ratio_query],
                _ => Vec::new(),
            };
            if queries.iter().any(|q| !q.contains(name.as_str())) {
                sink.error(&p, format!("every query must keep the label {name:?} (e.g. sum by ({name}) (rate(...[{{{{.window}}}}]))) to be grouped by it"));
            }
            out.push(name);
        }
    }
    out
}

/// What service and SLO `labels` may not set: the series' own labels but `severity`, which
/// [`take_severity`] moves to the alerts first.
fn reserved_slo_labels() -> Vec<&'static str> {
    RESERVED_SERIES_LABELS
        .iter()
        .copied()
        .filter(|l| *l != "severity")
        .collect()
}

/// `labels` without `severity`, and its value. Sloth puts service and SLO labels on the SLO's
/// alerts too, where `severity` routes; sloburn's series have a `severity` of their own (the
/// tier of `slo_burn_alert_active`), so the spec's goes on the alerts only.
fn take_severity(labels: &RawLabels) -> (RawLabels, Option<String>) {
    let mut rest = labels.clone();
    let severity = rest.remove("severity").map(|LabelValue(v)| v);
    (rest, severity)
}

/// `severity`: the service's or SLO's `severity` label, below `alerting.labels` and the tiers'
/// labels as in Sloth.
fn read_alerting(
    sink: &mut Sink,
    path: &str,
    raw: RawAlerting,
    period: &Period,
    severity: Option<String>,
) -> Option<Alerting> {
    let before = sink.errors.len();
    if let Some(name) = &raw.name {
        // Prometheus takes any text as an alert name (Sloth's examples use dashes); refuse only
        // what would break a rule file or a page.
        if name.trim().is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
            sink.error(&format!("{path}.name"), format!("{name:?} is not a usable alert name; accepted: 1 to 200 characters of text on one line (e.g. CheckoutHighErrorRate)"));
        }
    }
    let mut labels_ = labels(
        sink,
        &format!("{path}.labels"),
        &raw.labels,
        RESERVED_ALERT_LABELS,
    );
    if let Some(severity) = severity {
        labels_.entry("severity".into()).or_insert(severity);
    }
    let annotations = labels(sink, &format!("{path}.annotations"), &raw.annotations, &[]);
    let page = read_tier(
        sink,
        &format!("{path}.page_alert"),
        raw.page_alert.unwrap_or_default(),
        raw.min_events,
    );
    let ticket = read_tier(
        sink,
        &format!("{path}.ticket_alert"),
        raw.ticket_alert.unwrap_or_default(),
        raw.min_events,
    );
    let exhaustion = raw
        .exhaustion
        .and_then(|e| read_exhaustion(sink, &format!("{path}.exhaustion"), e, period));
    let (mut windows, custom_windows) = match raw.windows {
        None => (WindowTable::default_for(period), false),
        Some(rows) => (
            read_windows(sink, &format!("{path}.windows"), rows, period),
            true,
        ),
    };
    // Each row carries its tier's guard, so every decision (engine, rules) reads the row alone.
    for row in &mut windows.rows {
        row.min_events = match row.severity {
            Severity::Page => page.min_events,
            Severity::Ticket => ticket.min_events,
        };
    }
    (sink.errors.len() == before).then_some(Alerting {
        name: raw.name,
        labels: labels_,
        annotations,
        page,
        ticket,
        windows,
        custom_windows,
        exhaustion,
    })
}

/// One tier's fields; `slo_min_events` is `alerting.min_events`, the guard of a tier without
/// its own.
fn read_tier(sink: &mut Sink, path: &str, raw: RawAlert, slo_min_events: Option<u64>) -> AlertSpec {
    AlertSpec {
        disable: raw.disable,
        labels: labels(
            sink,
            &format!("{path}.labels"),
            &raw.labels,
            RESERVED_ALERT_LABELS,
        ),
        annotations: labels(sink, &format!("{path}.annotations"), &raw.annotations, &[]),
        for_: raw.for_,
        // The tier's own guard, else the SLO's (`alerting.min_events`), else none.
        min_events: raw.min_events.or(slo_min_events).unwrap_or(0),
    }
}

fn read_exhaustion(
    sink: &mut Sink,
    path: &str,
    raw: RawExhaustion,
    period: &Period,
) -> Option<ExhaustionSpec> {
    let before = sink.errors.len();
    let nominal = period.nominal();
    // Above 0 (a forecast of 0 is a spent budget: SLOErrorBudgetExhausted says that), and no
    // longer than the period, beyond which a rolling forecast is a guess about a budget that
    // will have refilled.
    if raw.within.as_millis() == 0 || raw.within > nominal {
        sink.error(
            &format!("{path}.within"),
            format!(
                "{} is out of range; accepted: a duration above 0 and no longer than the period ({}), e.g. 2h",
                raw.within,
                period.describe()
            ),
        );
    }
    let severity = match raw.severity.as_deref() {
        None | Some("ticket") => Some(Severity::Ticket),
        Some("page") => Some(Severity::Page),
        Some(other) => {
            sink.error(
                &format!("{path}.severity"),
                format!("unknown severity {other:?}; accepted: page or ticket (default ticket)"),
            );
            None
        }
    };
    // A tier's fields, read as a tier's; no low-traffic guard (`min_events` is no field of it).
    let tier = RawAlert {
        disable: raw.disable,
        labels: raw.labels,
        annotations: raw.annotations,
        for_: raw.for_,
        min_events: None,
    };
    let alert = read_tier(sink, path, tier, None);
    let severity = severity?;
    (sink.errors.len() == before).then_some(ExhaustionSpec {
        within: raw.within,
        severity,
        alert,
    })
}

/// Warns of alert rows whose threshold no burn rate can reach: with every event bad the burn is
/// `1 / (1 - objective)`, so e.g. a 14.4x page needs an objective above 93.06%.
fn warn_unreachable_rows(sink: &mut Sink, path: &str, objective: Objective, alerting: &Alerting) {
    let ceiling = 1.0 / (1.0 - objective.ratio());
    for (i, row) in alerting.windows.rows.iter().enumerate() {
        let disabled = match row.severity {
            Severity::Page => alerting.page.disable,
            Severity::Ticket => alerting.ticket.disable,
        };
        // Alerts need the burn strictly above the threshold: a row at the ceiling never fires.
        if disabled || row.threshold < ceiling * (1.0 - 1e-9) {
            continue;
        }
        let at = if alerting.custom_windows {
            format!("{path}.alerting.windows[{i}]")
        } else {
            format!("{path}.objective")
        };
        let origin = if alerting.custom_windows {
            ""
        } else {
            " of the default table"
        };
        sink.warn(
            &at,
            format!(
                "the {} row{origin} ({}/{}, burn rate above {}) can never fire: at {}% the burn rate is at most {} (every event bad); raise the objective above {}% or lower the row's threshold",
                match row.severity {
                    Severity::Page => "page",
                    Severity::Ticket => "ticket",
                },
                row.long,
                row.short,
                number(row.threshold),
                number(objective.ratio() * 100.0),
                number(ceiling),
                number((1.0 - 1.0 / row.threshold) * 100.0),
            ),
        );
    }
}

/// Where a tier's low-traffic guard is written: the tier's own `min_events`, else the SLO's
/// `alerting.min_events`.
fn guard_path(sink: &Sink, path: &str, severity: Severity) -> String {
    let written = |parent: String| {
        let at = format!("{parent}.min_events");
        (sink.index.find(&at) != sink.index.find(&parent)).then_some(at)
    };
    written(format!("{path}.alerting.{}_alert", severity.as_str()))
        .or_else(|| written(format!("{path}.alerting")))
        .unwrap_or_else(|| format!("{path}.alerting"))
}

/// A raw SLI (an error ratio) counts minutes with data, not events: a low-traffic guard on it
/// would guard nothing it says. A disabled tier is skipped, as in [`warn_guard_above_slices`]:
/// its guard has no effect.
fn refuse_guard_on_raw(sink: &mut Sink, path: &str, alerting: &Alerting) {
    let mut reported = std::collections::BTreeSet::new();
    for (severity, tier) in [
        (Severity::Page, &alerting.page),
        (Severity::Ticket, &alerting.ticket),
    ] {
        let at = guard_path(sink, path, severity);
        if !tier.disable && tier.min_events > 0 && reported.insert(at.clone()) {
            sink.error(
                &at,
                "a raw SLI (error_ratio_query) has no event counts to guard with: min_events needs an events, ratio, latency or threshold SLI; accepted here: 0 or no min_events",
            );
        }
    }
}

/// A time-slice SLI counts slices as events, so a window holds at most `window / slice` of
/// them, rounded up (a 5m window holds 3 slices of 2m, taken at even minutes, when it starts
/// just after one): a low-traffic guard above that keeps the row from ever firing. A disabled
/// tier is skipped: its guard has no effect.
fn warn_guard_above_slices(sink: &mut Sink, path: &str, slice: PromDuration, alerting: &Alerting) {
    if slice.as_millis() == 0 {
        return;
    }
    for row in &alerting.windows.rows {
        let tier = match row.severity {
            Severity::Page => &alerting.page,
            Severity::Ticket => &alerting.ticket,
        };
        let most = row.short.as_millis().div_ceil(slice.as_millis());
        if tier.disable || row.min_events <= most {
            continue;
        }
        let severity = row.severity.as_str();
        let at = guard_path(sink, path, row.severity);
        sink.warn(
            &at,
            format!(
                "the {severity} row {}/{} can never fire: a time-slice SLI counts {slice} slices as its events, so its {} window holds at most {most}, below min_events {}; lower the {severity} tier's min_events to {most} or less, or use shorter slices",
                row.long, row.short, row.short, row.min_events
            ),
        );
    }
}

fn read_windows(sink: &mut Sink, path: &str, rows: Vec<RawWindow>, period: &Period) -> WindowTable {
    if rows.is_empty() {
        sink.error(path, "an empty window table would never alert; give at least one row, or leave `windows` out for the default table");
    }
    let nominal = period.nominal();
    let mut out = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        let p = format!("{path}[{i}]");
        let severity = match row.severity.as_str() {
            "page" => Some(Severity::Page),
            "ticket" => Some(Severity::Ticket),
            other => {
                sink.error(
                    &format!("{p}.severity"),
                    format!("unknown severity {other:?}; accepted: page or ticket"),
                );
                None
            }
        };
        if row.short.as_millis() == 0 || row.short >= row.long {
            sink.error(
                &format!("{p}.short"),
                format!(
                    "the short window ({}) must be shorter than the long window ({}) and above 0",
                    row.short, row.long
                ),
            );
        }
        if row.long >= nominal {
            sink.error(
                &format!("{p}.long"),
                format!(
                    "the long window ({}) must be shorter than the period ({})",
                    row.long,
                    period.describe()
                ),
            );
        }
        let spec = match (row.budget_percent, row.burn_rate) {
            (Some(b), None) if b.is_finite() && b > 0.0 && b <= 100.0 => {
                Some(ThresholdSpec::BudgetPercent(b))
            }
            (None, Some(r)) if r.is_finite() && r > 0.0 => Some(ThresholdSpec::BurnRate(r)),
            (Some(b), None) => {
                sink.error(&format!("{p}.budget_percent"), format!("{b} is out of range; accepted: a share of the period's budget above 0 and at most 100"));
                None
            }
            (None, Some(r)) => {
                sink.error(
                    &format!("{p}.burn_rate"),
                    format!("{r} is out of range; accepted: a burn rate above 0"),
                );
                None
            }
            _ => {
                sink.error(&p, "give exactly one of budget_percent (share of the period's budget spent in the long window) or burn_rate");
                None
            }
        };
        if let (Some(severity), Some(spec)) = (severity, spec)
            && row.long.as_millis() > 0
        {
            out.push(BurnWindow {
                severity,
                long: row.long,
                short: row.short,
                threshold: threshold_for(spec, nominal, row.long),
                min_events: 0,
            });
        }
    }
    WindowTable { rows: out }
}

/// Fields of an SLO that only sloburn/v1 reads (paths below the SLO).
const SLOBURN_ONLY: &[&str] = &[
    "period",
    "group_by",
    "max_groups",
    "policy",
    "corrections",
    "sli.ratio",
    "sli.latency",
    "sli.threshold",
    "alerting.windows",
    "alerting.min_events",
    "alerting.exhaustion",
    "alerting.page_alert.for",
    "alerting.ticket_alert.for",
    "alerting.page_alert.min_events",
    "alerting.ticket_alert.min_events",
];

/// An SLO of Sloth's format without the sloburn/v1 fields written in it, each warned about:
/// Sloth ignores them whatever is written in them, so they are never read (nor converted).
fn without_sloburn_fields(sink: &mut Sink, path: &str, slo: &Value) -> Value {
    let mut slo = slo.clone();
    for field in SLOBURN_ONLY {
        if remove_at(&mut slo, field).is_some() {
            let at = format!("{path}.{field}");
            sink.warn(
                &at,
                format!("`{field}` is a sloburn/v1 field and has no effect here: prometheus/v1 is Sloth's format, read as Sloth reads it (ignoring fields it does not know); set `version: sloburn/v1` to use it"),
            );
            sink.ignored.push(at);
        }
    }
    slo
}

/// The warning for a field that a format's own reader ignores, and so sloburn too.
pub(crate) fn no_effect(key: &str, hint: &str, reader: &str, known: &str) -> String {
    format!(
        "`{key}` has no effect{hint}: {reader} ignores fields it does not know, and so does sloburn; known here: {known}"
    )
}

/// Reports what typed reading found. Sloth's reader ignores fields it does not know, so in its
/// format such a field is a warning that it has no effect; in sloburn/v1 it is an error.
fn report_problems(
    sink: &mut Sink,
    prefix: &str,
    version: SpecVersion,
    problems: &[lenient::Problem],
) {
    for p in problems {
        let path = path_of(&p.path, prefix);
        let message = type_message(p.message.clone());
        if p.unknown && version == SpecVersion::SlothV1 {
            let key = path.rsplit(['.', ']']).next().unwrap_or_default();
            let snake = snake_case(key);
            let hint = if snake != key && message.contains(&format!("`{snake}`")) {
                format!(" (Sloth reads `{snake}`, not `{key}`)")
            } else {
                String::new()
            };
            let known = message
                .split_once("expected one of ")
                .map_or(String::new(), |(_, k)| k.to_string());
            // A document's `corrections` is sloburn/v1's, not a field Sloth knows.
            let known = if prefix.is_empty() {
                known.replace(", `corrections`", "")
            } else {
                known
            };
            let warning = no_effect(key, &hint, "Sloth's reader of prometheus/v1 files", &known);
            sink.warn(&path, warning);
            sink.ignored.push(path);
        } else {
            sink.error(&path, message);
        }
    }
}

/// A camelCase field name in snake_case (`pageAlert` as `page_alert`): Sloth's CRD spells
/// the fields of its prometheus/v1 spec so.
pub(crate) fn snake_case(key: &str) -> String {
    let mut s = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            s.push('_');
            s.push(c.to_ascii_lowercase());
        } else {
            s.push(c);
        }
    }
    s
}

fn path_of(inner: &str, prefix: &str) -> String {
    match (prefix.is_empty(), inner) {
        (_, ".") => prefix.to_string(),
        (true, _) => inner.to_string(),
        (false, p) if p.starts_with('[') => format!("{prefix}{p}"),
        (false, p) => format!("{prefix}.{p}"),
    }
}

/// serde's messages are good ("unknown field `x`, expected one of ..."); this only words the
/// few that are not.
fn type_message(msg: String) -> String {
    msg.replace("invalid type: floating point", "invalid type: number")
        .replace("expected f64", "expected a number")
        .replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number, 0 or more")
        .replace("invalid type: map", "invalid type: mapping")
        .replace("invalid type: sequence", "invalid type: list")
}
