//! Spec formats other teams already have, read into the one model by translation.
//!
//! Each foreign document (Sloth's Kubernetes CRD, OpenSLO `openslo/v1alpha` and `openslo/v1`,
//! Pyrra's `ServiceLevelObjective`) is first translated into the `sloburn/v1` (or, for Sloth's
//! CRD, `prometheus/v1`) document it stands for, remembering which original field each
//! translated field came from. That document then goes through the very same reading and
//! validation as a native file, and every error is placed back on the original field path, line
//! and column. `sloburn convert` writes the translated documents out, so converting and loading
//! gives the same SLOs as loading the original.

mod openslo;
mod pyrra;
mod sloth;

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::spec::diag::{Diagnostic, Sink};
use crate::spec::document::{no_effect, read_document};
use crate::spec::labels::kind_of;
use crate::spec::model::Slo;
use crate::spec::yaml::{Document, LocIndex, remove_at, within};

/// A document translated into a native one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Out {
    /// A `prometheus/v1` or `sloburn/v1` document.
    pub value: Value,
    /// Translated field path to original field path, for placing errors.
    pub map: Vec<(String, String)>,
    /// What was mapped approximately: (original field path, note).
    pub notes: Vec<(String, String)>,
    /// SLOs (indexes in `slos`) the translation found errors in: read only to report the rest
    /// of their errors in the same run, never loaded nor converted.
    pub partial: Vec<usize>,
}

impl Out {
    fn new(version: &str, service: &str) -> Self {
        Self {
            value: json!({"version": version, "service": service, "slos": []}),
            map: Vec::new(),
            notes: Vec::new(),
            partial: Vec::new(),
        }
    }

    fn map(&mut self, new: impl Into<String>, orig: impl Into<String>) {
        self.map.push((new.into(), orig.into()));
    }

    fn note(&mut self, orig: impl Into<String>, note: impl Into<String>) {
        self.notes.push((orig.into(), note.into()));
    }

    fn slos(&mut self) -> &mut Vec<Value> {
        match self.value.get_mut("slos") {
            Some(Value::Array(a)) => a,
            _ => unreachable!("an Out always has a slos list"),
        }
    }

    /// The original path a translated path came from.
    fn original(&self, path: &str) -> String {
        let mut best: Option<&(String, String)> = None;
        for pair in &self.map {
            let (new, _) = pair;
            let prefix = within(path, new) || new.is_empty();
            if prefix && best.is_none_or(|b| b.0.len() <= new.len()) {
                best = Some(pair);
            }
        }
        match best {
            Some((new, orig)) if new.is_empty() => join(orig, path),
            Some((new, orig)) => {
                let rest = &path[new.len()..];
                let rest = rest.strip_prefix('.').unwrap_or(rest);
                if rest.starts_with('[') {
                    format!("{orig}{rest}")
                } else {
                    join(orig, rest)
                }
            }
            None => path.to_string(),
        }
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ if b.starts_with('[') => format!("{a}{b}"),
        _ => format!("{a}.{b}"),
    }
}

/// What one document is.
#[derive(Debug, Clone)]
pub(crate) enum Translated {
    /// A native document: read as is.
    Native,
    /// A foreign document with SLOs, translated.
    Slos(Out),
    /// A Sloth AlertWindows file: the equivalent `alerting.windows` rows (sloburn/v1 shape).
    Windows { period: String, rows: Value },
    /// An object that is accepted but holds no SLO (OpenSLO Service, DataSource, SLI, ...).
    Other(String),
    /// Refused; the errors are in the sink.
    Refused,
}

/// An OpenSLO v1 object another document may refer to by name.
#[derive(Debug, Clone)]
pub(crate) struct Referenced {
    pub file: String,
    pub value: Value,
}

/// Objects documents refer to across the loaded files (OpenSLO `indicatorRef`, `alertPolicyRef`,
/// `conditionRef`, `metricSourceRef`), by kind and name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    objects: HashMap<(String, String), Referenced>,
}

impl Registry {
    /// Remembers the OpenSLO v1 objects of one file's documents.
    pub fn add(&mut self, file: &str, docs: &[Document]) {
        for doc in docs {
            let v = &doc.value;
            if v.get("apiVersion").and_then(Value::as_str) != Some("openslo/v1") {
                continue;
            }
            let kind = v.get("kind").and_then(Value::as_str).unwrap_or_default();
            let name = v
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if kind.is_empty() || name.is_empty() || kind == "SLO" {
                continue;
            }
            self.objects
                .entry((kind.to_string(), name.to_string()))
                .or_insert_with(|| Referenced {
                    file: file.to_string(),
                    value: v.clone(),
                });
        }
    }

    pub(crate) fn get(&self, kind: &str, name: &str) -> Option<&Referenced> {
        self.objects.get(&(kind.to_string(), name.to_string()))
    }
}

/// What reading one document gave.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub slos: Vec<Slo>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// Accepted documents that hold no SLO, said in words.
    pub notes: Vec<String>,
    /// The native document equivalent to this one, for `convert`, with its notes.
    pub native: Option<(Value, Vec<String>)>,
}

/// Reads one document of any format.
pub(crate) fn read_any(file: &str, doc: &Document, registry: &Registry) -> Read {
    let mut read = Read::default();
    let mut sink = Sink::new(file, &doc.index);
    match translate(doc, registry, &mut sink) {
        Translated::Native => {
            read.slos = read_document(doc, &mut sink);
            let mut value = doc.value.clone();
            for path in &sink.ignored {
                remove_at(&mut value, path);
            }
            if let Some(map) = value.as_object_mut()
                && map.contains_key("version")
            {
                map.insert("version".into(), json!("sloburn/v1"));
            }
            read.native = Some((value, Vec::new()));
        }
        Translated::Slos(mut out) => {
            // With every SLO refused by the translation, its errors say why; otherwise the
            // native reader checks the document (including a missing or empty `slos`).
            let has_slos = sink.errors.is_empty()
                || out.value["slos"].as_array().is_some_and(|a| !a.is_empty());
            if has_slos {
                let translated = Document {
                    value: out.value.clone(),
                    index: LocIndex::default(),
                    pos: doc.pos,
                };
                let empty = LocIndex::default();
                let mut inner = Sink::new(file, &empty);
                read.slos = read_document(&translated, &mut inner);
                for path in &inner.ignored {
                    remove_at(&mut out.value, path);
                }
                let found = sink.errors.len();
                for e in inner.errors {
                    let path = out.original(&e.path);
                    // What the translation already refused is not reported twice.
                    let refused = sink.errors[..found]
                        .iter()
                        .any(|t| within(&t.path, &path) || within(&path, &t.path));
                    if !refused || out.partial.is_empty() {
                        sink.error(&path, e.message);
                    }
                }
                let in_partial = |path: &str| {
                    out.partial
                        .iter()
                        .any(|n| within(path, &format!("slos[{n}]")))
                };
                for w in inner.warnings.into_iter().filter(|w| !in_partial(&w.path)) {
                    let path = out.original(&w.path);
                    sink.warn(&path, w.message);
                }
                // The translated document has no positions: place each SLO by its name's entry.
                let names: Vec<&str> = out.value["slos"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| s["name"].as_str().unwrap_or_default())
                    .collect();
                read.slos.retain(|slo| {
                    let i = names.iter().position(|n| *n == slo.name);
                    !i.is_some_and(|i| out.partial.contains(&i))
                });
                for slo in &mut read.slos {
                    let i = names.iter().position(|n| *n == slo.name).unwrap_or(0);
                    let path = out.original(&format!("slos[{i}]"));
                    slo.origin.pos = sink.pos(&path);
                    slo.origin.sli = sink.pos(&out.original(&format!("slos[{i}].sli")));
                }
            }
            for (path, note) in &out.notes {
                let pos = doc.index.find(path);
                read.warnings
                    .push(Diagnostic::new(file, pos, path.clone(), note.clone()));
            }
            let mut value = out.value.clone();
            value["version"] = json!("sloburn/v1");
            if let Some(Value::Array(slos)) = value.get_mut("slos") {
                let mut i = 0;
                slos.retain(|_| {
                    i += 1;
                    !out.partial.contains(&(i - 1))
                });
            }
            let converts = value["slos"].as_array().is_some_and(|a| !a.is_empty());
            if has_slos && (out.partial.is_empty() || converts) {
                let notes = out.notes.iter().map(|(p, n)| format!("{p}: {n}")).collect();
                read.native = Some((value, notes));
            }
        }
        Translated::Windows { period, rows } => {
            read.notes.push(format!(
                "alert windows, not SLOs: a Sloth AlertWindows table for {period} periods ({} rows); `sloburn convert` writes it as alerting.windows",
                rows.as_array().map_or(0, Vec::len)
            ));
            let value = json!({"alerting": {"windows": rows}});
            read.native = Some((
                value,
                vec![format!(
                    "Sloth AlertWindows for a {period} period: put `windows` under `alerting:` of a sloburn/v1 SLO with `period: {period}` (budget_percent is a share of that period's budget)"
                )],
            ));
        }
        Translated::Other(what) => read.notes.push(what),
        Translated::Refused => {}
    }
    // A person reads a file top to bottom; the translation and the native reader each found
    // theirs in their own order.
    sink.errors.sort_by_key(|e| (e.line, e.column));
    read.errors = sink.errors;
    read.warnings.extend(sink.warnings);
    read.warnings.sort_by_key(|e| (e.line, e.column));
    read
}

fn translate(doc: &Document, registry: &Registry, sink: &mut Sink) -> Translated {
    let Some(map) = doc.value.as_object() else {
        return Translated::Native;
    };
    let Some(api) = map.get("apiVersion") else {
        return Translated::Native;
    };
    let Some(api) = api.as_str() else {
        sink.error(
            "apiVersion",
            format!("got {}; accepted: {ACCEPTED_API}", kind_of(api)),
        );
        return Translated::Refused;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    match (api, kind) {
        ("sloth.slok.dev/v1", "PrometheusServiceLevel") => sloth::crd(map, sink),
        ("sloth.slok.dev/v1", "AlertWindows") => sloth::alert_windows(map, sink),
        ("openslo/v1alpha", _) => openslo::v1alpha(map, kind, sink),
        ("openslo/v1", _) => openslo::v1(map, kind, registry, sink),
        ("pyrra.dev/v1alpha1", _) => pyrra::slo(map, kind, sink),
        ("sloth.slok.dev/v1", _) => {
            sink.error(
                "kind",
                format!("kind {kind:?} of sloth.slok.dev/v1; accepted: PrometheusServiceLevel or AlertWindows"),
            );
            Translated::Refused
        }
        _ if let Some(what) = other_slo_format(api, kind) => {
            sink.error("apiVersion", format!("{what}; accepted: {ACCEPTED_API}"));
            Translated::Refused
        }
        _ if !kind.is_empty() && !SLO_GROUPS.contains(&api.split('/').next().unwrap_or(api)) => {
            // A gitops file keeps an SLO's Routes, ConfigMaps and rules beside it: not ours to judge.
            let name = doc
                .value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(|n| format!(" {n:?}"))
                .unwrap_or_default();
            Translated::Other(format!(
                "skipped: {kind}{name} ({api}) is not an SLO object"
            ))
        }
        _ => {
            sink.error(
                "apiVersion",
                format!("apiVersion {api:?} is an unknown format; accepted: {ACCEPTED_API}"),
            );
            Translated::Refused
        }
    }
}

/// Says what an SLO object of a format sloburn does not read is, so it is refused by name
/// rather than skipped as another kind of Kubernetes object.
fn other_slo_format(api: &str, kind: &str) -> Option<String> {
    let group = api.split('/').next().unwrap_or(api);
    Some(match group {
        "n9" => format!(
            "{api} is Nobl9's own format (sloctl), not OpenSLO; export the SLO as OpenSLO (openslo/v1), whose metricSource.spec.promql sloburn reads"
        ),
        "openslo.com" => format!(
            "{api} is osko's Kubernetes CRD of OpenSLO; write its SLO as openslo/v1 (apiVersion: openslo/v1, each metricSource.spec as {{query: ...}})"
        ),
        _ if SLO_KINDS.contains(&kind) && !SLO_GROUPS.contains(&group) => {
            format!(
                "apiVersion {api:?} with kind {kind} looks like an SLO object of a format sloburn does not read"
            )
        }
        _ => return None,
    })
}

/// Kinds that are SLO objects in some format: never skipped as "another kind".
const SLO_KINDS: &[&str] = &[
    "SLO",
    "SLI",
    "ServiceLevelObjective",
    "PrometheusServiceLevel",
    "AlertPolicy",
    "AlertCondition",
];

/// API groups of SLO formats: an object of one of them with an unknown version or kind is a
/// mistake to report, not another kind of object to skip.
const SLO_GROUPS: &[&str] = &[
    "sloth.slok.dev",
    "openslo",
    "pyrra.dev",
    "sloburn",
    "prometheus",
];

const ACCEPTED_API: &str = "sloth.slok.dev/v1 (PrometheusServiceLevel, AlertWindows), openslo/v1alpha, openslo/v1, pyrra.dev/v1alpha1 (ServiceLevelObjective), or a document with `version: prometheus/v1` or `sloburn/v1`";

/// Errors for every key of `map` (at `path`) not in `known`.
fn unknown_fields(sink: &mut Sink, path: &str, map: &Map<String, Value>, known: &[&str]) -> bool {
    let mut ok = true;
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        sink.error(
            &join(path, key),
            format!("unknown field `{key}`; accepted here: {}", known.join(", ")),
        );
        ok = false;
    }
    ok
}

/// Warnings for every key of `map` (at `path`) not in `known`, for a format whose own reader
/// ignores fields it does not know (Sloth's): accepted, with no effect.
fn ignored_fields(
    sink: &mut Sink,
    path: &str,
    map: &Map<String, Value>,
    known: &[&str],
    reader: &str,
) {
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        sink.warn(
            &join(path, key),
            no_effect(key, "", reader, &known.join(", ")),
        );
    }
}

/// `map[key]` as a string, or an error at its path.
fn string<'a>(
    sink: &mut Sink,
    path: &str,
    map: &'a Map<String, Value>,
    key: &str,
) -> Option<&'a str> {
    let p = join(path, key);
    match map.get(key) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            sink.error(&p, format!("missing field `{key}`"));
            None
        }
        Some(v) => {
            sink.error(&p, format!("got {}; accepted: text", kind_of(v)));
            None
        }
    }
}

/// `map[key]` as a mapping, or an error at its path.
fn object<'a>(
    sink: &mut Sink,
    path: &str,
    map: &'a Map<String, Value>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    let p = join(path, key);
    match map.get(key) {
        Some(Value::Object(m)) => Some(m),
        None | Some(Value::Null) => {
            sink.error(&p, format!("missing field `{key}`"));
            None
        }
        Some(v) => {
            sink.error(&p, format!("got {}; accepted: a mapping", kind_of(v)));
            None
        }
    }
}

/// A ratio (0.999) as sloburn's percentage (99.9), without binary noise.
fn ratio_to_percent(ratio: f64) -> f64 {
    let p = ratio * 100.0;
    let rounded = (p * 1e9).round() / 1e9;
    if (rounded - p).abs() < 1e-9 {
        rounded
    } else {
        p
    }
}

/// A JSON number from an f64 (finite values only reach here).
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Writes a native document as YAML, with `# ` comment lines first.
///
/// Every string is written double-quoted (JSON escapes are valid YAML), so the text reads back
/// exactly.
pub(crate) fn to_yaml(value: &Value, comments: &[String]) -> String {
    let mut out = String::new();
    for c in comments {
        for line in c.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    write_value(&mut out, value, 0, false);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn write_value(out: &mut String, value: &Value, indent: usize, inline_first: bool) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<(&String, &Value)> = map.iter().collect();
            keys.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
            for (i, (k, v)) in keys.into_iter().enumerate() {
                if !(i == 0 && inline_first) {
                    out.push_str(&pad);
                }
                out.push_str(&key(k));
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(":\n");
                        write_value(out, v, indent + 2, false);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(":\n");
                        write_value(out, v, indent + 2, false);
                    }
                    _ => {
                        out.push_str(": ");
                        out.push_str(&flat(v));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&pad);
                out.push_str("- ");
                match item {
                    Value::Object(m) if !m.is_empty() => write_value(out, item, indent + 2, true),
                    Value::Array(a) if !a.is_empty() => {
                        out.push('\n');
                        write_value(out, item, indent + 2, false);
                    }
                    _ => {
                        out.push_str(&flat(item));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&flat(other));
            out.push('\n');
        }
    }
}

/// Fields first in this order, the rest alphabetically.
const ORDER: &[&str] = &[
    "version",
    "service",
    "labels",
    "name",
    "description",
    "objective",
    "period",
    "sli",
];

fn key(k: &str) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain
        && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"]
            .contains(&k.to_ascii_lowercase().as_str())
    {
        k.to_string()
    } else {
        scalar(&Value::String(k.to_string()))
    }
}

fn flat(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        other => scalar(other),
    }
}
