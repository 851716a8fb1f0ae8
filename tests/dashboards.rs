//! The Grafana dashboards of `grafana/dashboards/`: valid JSON; every PromQL expression parses
//! once its template variables are replaced with plausible values; every metric they read is on a
//! live `sloburn demo`'s `/metrics` (and every label a variable lists is on it too); every
//! template variable they use is defined; no data source uid is hard-coded; every metric family
//! sloburn exports is on some dashboard (or on an explicit allow-list); and their panel lists
//! are snapshotted, so a change to a dashboard shows up in review. Two expressions are evaluated
//! by promtool over series of known values.

#[allow(dead_code)]
#[path = "support/process.rs"]
mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promql_parser::parser::Expr;
use promql_parser::util::{ExprVisitor, walk_expr};
use regex::Regex;
use serde_json::Value;

use process::{ChildGuard, free_port};

const DASHBOARDS: [&str; 2] = ["sloburn-overview.json", "sloburn-slo.json"];

/// The only data source reference the dashboards may use: their `datasource` variable.
const DATASOURCE_REFS: [&str; 2] = ["${datasource}", "$datasource"];

/// Grafana's built-in variables (anything starting with `__`), with plausible values for parsing.
const BUILTINS: [(&str, &str); 8] = [
    ("__rate_interval", "2m"),
    ("__interval", "30s"),
    ("__interval_ms", "30000"),
    ("__range", "6h"),
    ("__range_s", "21600"),
    ("__range_ms", "21600000"),
    ("__from", "1700000000000"),
    ("__to", "1700021600000"),
];

fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/dashboards")
}

fn load(name: &str) -> Value {
    let path = dashboards_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn all() -> Vec<(&'static str, Value)> {
    DASHBOARDS.iter().map(|name| (*name, load(name))).collect()
}

/// Every panel in layout order, the panels of collapsed rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// One PromQL expression of a dashboard and where it is.
struct Query {
    place: String,
    expr: String,
}

/// Every panel target's `expr`.
fn panel_queries(dashboard: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target.get("expr").and_then(Value::as_str) {
                out.push(Query {
                    place: format!(
                        "panel {:?} query {}",
                        text(panel, "title"),
                        text(target, "refId")
                    ),
                    expr: expr.to_string(),
                });
            }
        }
    }
    out
}

fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard["templating"]["list"]
        .as_array()
        .map(|list| list.iter().collect())
        .unwrap_or_default()
}

/// A query variable's query text (an object `{query}` in current Grafana, a string before).
fn variable_query(var: &Value) -> &str {
    match &var["query"] {
        Value::String(s) => s,
        Value::Object(o) => o.get("query").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    }
}

fn is_multi(var: &Value) -> bool {
    var["multi"].as_bool() == Some(true) || var["includeAll"].as_bool() == Some(true)
}

/// What Grafana would put in place of each variable: the built-ins, the default of text boxes,
/// constants and custom lists, and made-up values for query variables, in the regex form Grafana
/// writes for multi-value variables (`(a|b)`).
fn sample_values(dashboard: &Value) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = BUILTINS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for var in variables(dashboard) {
        let name = text(var, "name").to_string();
        let value = match text(var, "type") {
            "datasource" => "prometheus".to_string(),
            "textbox" | "constant" => variable_query(var).to_string(),
            "custom" | "interval" => variable_query(var)
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            _ if is_multi(var) => format!("(sample-{name}-1|sample-{name}-2)"),
            _ => format!("sample-{name}"),
        };
        values.insert(name, value);
    }
    values
}

/// `$x`, `${x}`, `${x:format}`, `[[x]]`, `[[x:format]]`; group 1, 2 or 3 is the name (with
/// `${__data.fields.x}`-style paths kept whole so built-ins are recognised).
fn variable_regex() -> Regex {
    Regex::new(r"\$\{([A-Za-z_][\w.]*)(?::[^}]*)?\}|\[\[([A-Za-z_][\w.]*)(?::[^\]]*)?\]\]|\$([A-Za-z_]\w*)")
        .unwrap()
}

/// Every variable reference in `s`: (byte offset, name).
fn references(re: &Regex, s: &str) -> Vec<(usize, String)> {
    re.captures_iter(s)
        .map(|c| {
            let whole = c.get(0).unwrap();
            let name = (1..=3).find_map(|i| c.get(i)).unwrap().as_str();
            (whole.start(), name.to_string())
        })
        .collect()
}

fn interpolate(re: &Regex, s: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut missing = None;
    let out = re.replace_all(s, |c: &regex::Captures| {
        let name = (1..=3).find_map(|i| c.get(i)).unwrap().as_str();
        match values.get(name) {
            Some(v) => v.clone(),
            None => {
                missing = Some(name.to_string());
                String::new()
            }
        }
    });
    match missing {
        Some(name) => Err(format!("no value for variable {name:?}")),
        None => Ok(out.into_owned()),
    }
}

/// Metric names read by an expression, and whether some selector names no metric.
#[derive(Default)]
struct Metrics {
    names: BTreeSet<String>,
    anonymous: bool,
}

impl ExprVisitor for Metrics {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
        let selector = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        let mut named = false;
        if let Some(name) = &selector.name {
            self.names.insert(name.clone());
            named = true;
        }
        for m in &selector.matchers.matchers {
            if m.name == "__name__" {
                self.names.insert(m.value.clone());
                named = true;
            }
        }
        self.anonymous |= !named;
        Ok(true)
    }
}

fn parse(place: &str, expr: &str) -> Metrics {
    let ast = promql_parser::parser::parse(expr)
        .unwrap_or_else(|e| panic!("{place}: does not parse: {e}\n  {expr}"));
    let mut metrics = Metrics::default();
    walk_expr(&mut metrics, &ast).unwrap();
    assert!(
        !metrics.anonymous,
        "{place}: a selector names no metric\n  {expr}"
    );
    metrics
}

/// `label_values(SELECTOR, LABEL)` split, after interpolation.
fn label_values(query: &str) -> Option<(String, String)> {
    let re = Regex::new(r"^\s*label_values\((.+),\s*([A-Za-z_]\w*)\s*\)\s*$").unwrap();
    let c = re.captures(query)?;
    Some((c[1].to_string(), c[2].to_string()))
}

/// What a dashboard reads: metric names (with where) and (metric, label) pairs its variables list.
struct Reads {
    metrics: BTreeMap<String, String>,
    labels: BTreeSet<(String, String)>,
}

fn reads(file: &str, dashboard: &Value) -> Reads {
    let re = variable_regex();
    let values = sample_values(dashboard);
    let mut out = Reads {
        metrics: BTreeMap::new(),
        labels: BTreeSet::new(),
    };
    let queries = panel_queries(dashboard);
    assert!(!queries.is_empty(), "{file}: no panel queries");
    for q in queries {
        let place = format!("{file}: {}", q.place);
        let expr = interpolate(&re, &q.expr, &values).unwrap_or_else(|e| panic!("{place}: {e}"));
        for name in parse(&place, &expr).names {
            out.metrics.entry(name).or_insert(place.clone());
        }
    }
    for var in variables(dashboard) {
        if text(var, "type") != "query" {
            continue;
        }
        let place = format!("{file}: variable {:?}", text(var, "name"));
        let query = interpolate(&re, variable_query(var), &values)
            .unwrap_or_else(|e| panic!("{place}: {e}"));
        let (selector, label) = label_values(&query).unwrap_or_else(|| {
            panic!("{place}: expected label_values(metric{{...}}, label), got {query:?}")
        });
        let metrics = parse(&place, &selector).names;
        for name in metrics {
            out.labels.insert((name.clone(), label.clone()));
            out.metrics.entry(name).or_insert(place.clone());
        }
    }
    out
}

#[test]
fn dashboards_are_valid_json_for_current_grafana() {
    for (file, d) in all() {
        let schema = d["schemaVersion"].as_u64().unwrap_or(0);
        assert!(schema >= 39, "{file}: schemaVersion {schema} < 39");
        assert!(!text(&d, "uid").is_empty(), "{file}: no dashboard uid");
        assert!(!text(&d, "title").is_empty(), "{file}: no title");
        let mut ids = BTreeSet::new();
        for panel in panels(&d) {
            let title = text(panel, "title");
            let id = panel["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}: {title:?} has no id"));
            assert!(ids.insert(id), "{file}: panel id {id} used twice");
            let g = &panel["gridPos"];
            let (x, w) = (g["x"].as_u64().unwrap_or(99), g["w"].as_u64().unwrap_or(99));
            assert!(x + w <= 24, "{file}: {title:?} is wider than the grid: {g}");
            if text(panel, "type") != "row" {
                assert!(
                    !panel["targets"]
                        .as_array()
                        .unwrap_or(&Vec::new())
                        .is_empty(),
                    "{file}: {title:?} has no queries"
                );
            }
        }
    }
}

#[test]
fn every_expression_parses_after_interpolation() {
    for (file, d) in all() {
        let reads = reads(file, &d);
        for (metric, place) in &reads.metrics {
            assert!(
                metric.starts_with("slo_") || metric.starts_with("sloburn_"),
                "{place}: reads {metric}, which sloburn does not export"
            );
        }
    }
}

#[test]
fn every_template_variable_used_is_defined() {
    let re = variable_regex();
    for (file, d) in all() {
        let defined: BTreeSet<String> = variables(&d)
            .iter()
            .map(|v| text(v, "name").to_string())
            .collect();
        let multi: BTreeSet<String> = variables(&d)
            .iter()
            .filter(|v| is_multi(v))
            .map(|v| text(v, "name").to_string())
            .collect();
        // Every string anywhere in the dashboard: expressions, legends, titles, links, queries.
        let mut strings = Vec::new();
        collect_strings(&d, &mut strings);
        for s in &strings {
            for (_, name) in references(&re, s) {
                if name.starts_with("__") {
                    continue;
                }
                assert!(
                    defined.contains(&name),
                    "{file}: ${name} is used but not defined in templating.list (in {s:?})"
                );
            }
        }
        // A multi-value or All variable becomes a regex: only `=~` and `!~` matchers take it.
        let mut exprs: Vec<String> = panel_queries(&d).into_iter().map(|q| q.expr).collect();
        exprs.extend(variables(&d).iter().map(|v| variable_query(v).to_string()));
        for expr in &exprs {
            for (at, name) in references(&re, expr) {
                if multi.contains(&name) {
                    let before = &expr[..at];
                    assert!(
                        before.ends_with("=~\"") || before.ends_with("!~\""),
                        "{file}: multi-value ${name} outside a regex matcher in {expr:?}"
                    );
                }
            }
        }
    }
}

fn collect_strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[test]
fn no_data_source_uid_is_hard_coded() {
    fn check(file: &str, path: &str, v: &Value, refs: &mut usize) {
        match v {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{path}.{key}");
                    if key == "datasource" {
                        *refs += 1;
                        let ok = match child {
                            Value::String(s) => DATASOURCE_REFS.contains(&s.as_str()),
                            Value::Object(ds) => {
                                let uid = ds.get("uid").and_then(Value::as_str).unwrap_or("");
                                let kind = ds.get("type").and_then(Value::as_str).unwrap_or("");
                                // Grafana's built-in annotation source is no real data source.
                                DATASOURCE_REFS.contains(&uid)
                                    || (kind == "grafana" && uid == "-- Grafana --")
                                    || (kind == "datasource" && uid == "grafana")
                            }
                            _ => false,
                        };
                        assert!(
                            ok,
                            "{file}: {here} is {child}, not the ${{datasource}} variable"
                        );
                    } else {
                        check(file, &here, child, refs);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(file, &format!("{path}[{i}]"), item, refs);
                }
            }
            _ => {}
        }
    }
    for (file, d) in all() {
        let mut refs = 0;
        check(file, "", &d, &mut refs);
        assert!(refs > 0, "{file}: no data source references at all");
        // Every panel and every query names the variable (none falls back to Grafana's default).
        for panel in panels(&d).into_iter().filter(|p| text(p, "type") != "row") {
            let title = text(panel, "title");
            assert_eq!(
                text(&panel["datasource"], "uid"),
                "${datasource}",
                "{file}: {title:?}"
            );
            for target in panel["targets"].as_array().into_iter().flatten() {
                assert_eq!(
                    text(&target["datasource"], "uid"),
                    "${datasource}",
                    "{file}: {title:?} query {}",
                    text(target, "refId")
                );
            }
        }
        let ds = variables(&d)
            .into_iter()
            .find(|v| text(v, "name") == "datasource")
            .unwrap_or_else(|| panic!("{file}: no datasource variable"));
        assert_eq!(text(ds, "type"), "datasource", "{file}");
        assert_eq!(text(ds, "query"), "prometheus", "{file}");
    }
}

/// The panel list: title, type and expressions, then the variables.
fn panel_list(d: &Value) -> String {
    let mut out = String::new();
    for panel in panels(d) {
        let _ = writeln!(out, "[{}] {}", text(panel, "type"), text(panel, "title"));
        for target in panel["targets"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "    {}: {}",
                text(target, "refId"),
                text(target, "expr")
            );
        }
    }
    out.push_str("variables:\n");
    for var in variables(d) {
        let mut flags = String::new();
        if var["multi"].as_bool() == Some(true) {
            flags.push_str(", multi");
        }
        if var["includeAll"].as_bool() == Some(true) {
            let _ = write!(flags, ", All = {}", text(var, "allValue"));
        }
        let _ = writeln!(
            out,
            "    {} ({}{flags}): {}",
            text(var, "name"),
            text(var, "type"),
            variable_query(var)
        );
    }
    out
}

#[test]
fn panel_lists() {
    insta::assert_snapshot!(
        "overview_panels",
        panel_list(&load("sloburn-overview.json"))
    );
    insta::assert_snapshot!("slo_panels", panel_list(&load("sloburn-slo.json")));
}

/// Metric families sloburn exports that no dashboard shows, on purpose. Each says why.
const NOT_ON_A_DASHBOARD: [&str; 0] = [];

/// The metric families (`# TYPE` lines) of an exposition text.
fn families(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// Every metric any dashboard reads.
fn read_anywhere() -> BTreeSet<String> {
    all()
        .iter()
        .flat_map(|(file, d)| reads(file, d).metrics.into_keys())
        .collect()
}

/// The `slo_`/`sloburn_` families of `families` that no dashboard reads and the allow-list does
/// not name. A histogram is read when any of its series (`_bucket`, `_sum`, `_count`) is.
fn unread(families: &BTreeMap<String, String>, read: &BTreeSet<String>) -> Vec<String> {
    families
        .iter()
        .filter(|(name, _)| name.starts_with("slo_") || name.starts_with("sloburn_"))
        .filter(|(name, _)| !NOT_ON_A_DASHBOARD.contains(&name.as_str()))
        .filter(|(name, kind)| {
            let series: Vec<String> = match kind.as_str() {
                "histogram" => ["_bucket", "_sum", "_count"]
                    .iter()
                    .map(|s| format!("{name}{s}"))
                    .collect(),
                _ => vec![name.to_string()],
            };
            !series.iter().any(|s| read.contains(s))
        })
        .map(|(name, kind)| format!("{name} ({kind})"))
        .collect()
}

/// Every family the exporter writes (the `# TYPE` lines of its classic-format snapshot, which
/// the exporter's own test keeps current; the encoder writes them for every family, samples or
/// not, except the scrape source's, which need targets) is on some dashboard, or deliberately
/// left off in [`NOT_ON_A_DASHBOARD`]. The live test below does the same for the families with
/// samples on a running demo, the scrape source's included.
#[test]
fn every_family_the_exporter_writes_is_on_a_dashboard() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/exporter/snapshots/sloburn__exporter__tests__classic_format_snapshot.snap");
    let body = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let families = families(&body);
    assert!(
        families.len() > 20,
        "{}: too few families, did its format change? {families:?}",
        path.display()
    );
    let missing = unread(&families, &read_anywhere());
    assert!(
        missing.is_empty(),
        "metrics sloburn exports that no dashboard shows (add a panel, or list them in \
         NOT_ON_A_DASHBOARD with the reason):\n  {}",
        missing.join("\n  ")
    );
}

/// Metric name -> label names seen on it, from a classic-text `/metrics` body.
fn exported(body: &str) -> BTreeMap<String, BTreeSet<String>> {
    let label = Regex::new(r#"([A-Za-z_]\w*)=""#).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out.entry(line[..end].to_string()).or_default();
        if line[end..].starts_with('{') {
            let close = line.rfind('}').unwrap_or(line.len());
            for c in label.captures_iter(&line[end..close]) {
                labels.insert(c[1].to_string());
            }
        }
    }
    out
}

fn start_demo(state: &Path) -> (ChildGuard, u16) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sloburn"));
        cmd.args(["demo", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(state)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut demo = ChildGuard::spawn(cmd, "sloburn demo");
        let ready = demo.wait_ready(
            &format!("http://127.0.0.1:{port}/readyz"),
            Duration::from_secs(60),
        );
        match ready {
            Ok(()) => return (demo, port),
            // The port may have been taken between free_port and the bind: try another.
            Err(e) => last = e,
        }
    }
    panic!("sloburn demo did not become ready: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_and_label_the_dashboards_read_is_on_a_live_sloburn() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    let mut labels = BTreeSet::new();
    for (file, d) in all() {
        let r = reads(file, &d);
        for (metric, place) in r.metrics {
            wanted.entry(metric).or_insert(place);
        }
        labels.extend(r.labels);
    }

    let dir = tempfile::tempdir().unwrap();
    // Declared after `dir`, so the demo is stopped (also on a failed assertion) before its state
    // directory is removed.
    let (demo, port) = start_demo(&dir.path().join("state"));
    let url = format!("http://127.0.0.1:{port}/metrics");
    // Series such as the exhaustion forecast appear with the first evaluation: poll briefly.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (body, live, missing) = loop {
        let body = match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let live = exported(&body);
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(m, _)| !live.contains_key(*m))
            .map(|(m, place)| format!("{m} (read by {place})"))
            .collect();
        if missing.is_empty() || Instant::now() >= deadline {
            break (body, live, missing);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    drop(demo);
    assert!(
        missing.is_empty(),
        "metrics the dashboards read but a live sloburn does not export:\n  {}\nexported: {:?}",
        missing.join("\n  "),
        live.keys().collect::<Vec<_>>()
    );
    for (metric, label) in &labels {
        assert!(
            live[metric].contains(label),
            "a variable lists label {label:?} of {metric}, which the demo's series do not carry \
             (they carry {:?})",
            live[metric]
        );
    }
    // The encoder writes `# TYPE` for every family, samples or not: count those with samples.
    let mut sampled = families(&body);
    sampled.retain(|name, _| {
        ["", "_bucket", "_count"]
            .iter()
            .any(|s| live.contains_key(&format!("{name}{s}")))
    });
    let unread = unread(&sampled, &read_anywhere());
    assert!(
        unread.is_empty(),
        "metrics the demo exports that no dashboard shows (add a panel, or list them in \
         NOT_ON_A_DASHBOARD with the reason):\n  {}",
        unread.join("\n  ")
    );
}

/// The expression of query `ref_id` of the panel titled `panel`, its variables replaced with
/// [`sample_values`].
fn panel_query(d: &Value, panel: &str, ref_id: &str) -> String {
    let p = panels(d)
        .into_iter()
        .find(|p| text(p, "title") == panel)
        .unwrap_or_else(|| panic!("no panel {panel:?}"));
    let t = p["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| text(t, "refId") == ref_id)
        .unwrap_or_else(|| panic!("no query {ref_id} in {panel:?}"));
    interpolate(&variable_regex(), text(t, "expr"), &sample_values(d)).unwrap()
}

/// The overview table's "Data" and "Budget spent in" expressions, evaluated by promtool over
/// three SLOs: `ok` (fresh, data, burning), `stale` (source failing) and `typo` (no data). The
/// value mappings read 1 as fresh, 0 as STALE, 2 as NO DATA, and -1 in the forecast as no data.
#[test]
fn the_data_and_forecast_expressions_tell_no_data_apart() {
    let d = load("sloburn-overview.json");
    let query = |panel: &str, ref_id: &str| panel_query(&d, panel, ref_id);
    let data = query("SLOs, worst budget first", "E");
    assert_eq!(data, query("Data freshness", "A"), "one meaning of Data");
    let forecast = query("SLOs, worst budget first", "G");

    let labels = |slo: &str| {
        format!("{{service=\"sample-service-1\",team=\"sample-team-1\",slo=\"{slo}\"}}")
    };
    let mut input = String::new();
    for (slo, fresh, present, exhaustion) in [
        ("ok", 1, 1, Some(3600)),
        ("stale", 0, 1, None),
        ("typo", 1, 0, None),
    ] {
        for (name, value) in [
            ("slo_data_fresh", Some(fresh)),
            ("slo_data_present", Some(present)),
            ("slo_error_budget_exhaustion_seconds", exhaustion),
        ] {
            if let Some(v) = value {
                let _ = write!(
                    input,
                    "      - series: '{name}{}'\n        values: '{v}x5'\n",
                    labels(slo)
                );
            }
        }
    }
    let sample = |name: &str, slo: &str, value: i32| {
        format!(
            "          - labels: '{name}{}'\n            value: {value}\n",
            labels(slo)
        )
    };
    let file = format!(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}\
         \x20   promql_expr_test:\n      - expr: '{data}'\n        eval_time: 5m\n        exp_samples:\n{}{}{}\
         \x20     - expr: '{forecast}'\n        eval_time: 5m\n        exp_samples:\n{}{}",
        sample("", "ok", 1),
        sample("", "stale", 0),
        sample("", "typo", 2),
        sample("slo_error_budget_exhaustion_seconds", "ok", 3600),
        sample("", "typo", -1),
    );
    let dir = tempfile::tempdir().unwrap();
    let (ok, output) = process::promtool_test_rules(dir.path(), &file);
    assert!(ok, "promtool:\n{output}\n--- test file ---\n{file}");
}

/// The per-SLO "Budget remaining without corrections" expression, evaluated by promtool over
/// three series of known counts (objective 75%, numbers exact in binary, as promtool compares
/// exactly): `corrected` (1024 events and 24 bad counted, 1024 and 232 bad excluded: 256 bad of
/// 2048 is 12.5% of a 25% budget, so 50% would be left, where the corrected budget is 90.6%),
/// `plain` (no corrections: no value, the panel reads "none") and `nodata` (corrections, but
/// `slo_data_present 0`: -1, which the panel maps to "no data", never a budget).
#[test]
fn the_budget_without_corrections_adds_the_excluded_events_back() {
    let d = load("sloburn-slo.json");
    let expr = panel_query(&d, "Budget remaining without corrections", "A");
    let values = sample_values(&d);
    let labels = |slo: &str| {
        format!(
            "{{service=\"{}\",slo=\"{slo}\",{}=\"sample-group-1\"}}",
            values["service"], values["group_label"]
        )
    };
    let mut input = String::new();
    for (slo, present, total, good, excluded) in [
        ("corrected", 1, 1024, 1000, Some((1024, 232))),
        ("plain", 1, 1024, 1000, None),
        ("nodata", 0, 1024, 1000, Some((1024, 232))),
    ] {
        let mut series = vec![
            ("slo_objective_ratio", "0.75".to_string()),
            ("slo_data_present", present.to_string()),
            ("slo_period_total_events", total.to_string()),
            ("slo_period_good_events", good.to_string()),
        ];
        if let Some((events, bad)) = excluded {
            series.push(("slo_period_excluded_events", events.to_string()));
            series.push(("slo_period_excluded_bad_events", bad.to_string()));
        }
        for (name, v) in series {
            let _ = write!(
                input,
                "      - series: '{name}{}'\n        values: '{v}x5'\n",
                labels(slo)
            );
        }
    }
    // The `slo` selector names one SLO: evaluate the expression once per SLO.
    let mut cases = String::new();
    for (slo, want) in [
        ("corrected", Some(0.5)),
        ("plain", None),
        ("nodata", Some(-1.0)),
    ] {
        let e = expr.replace(
            &format!("slo=\"{}\"", values["slo"]),
            &format!("slo=\"{slo}\""),
        );
        assert_ne!(e, expr, "the expression selects slo=\"$slo\"");
        let _ = write!(
            cases,
            "      - expr: '{e}'\n        eval_time: 5m\n        exp_samples:"
        );
        match want {
            Some(v) => {
                let _ = write!(
                    cases,
                    "\n          - labels: '{}'\n            value: {v}\n",
                    labels(slo)
                );
            }
            None => cases.push_str(" []\n"),
        }
    }
    let file = format!(
        "rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n{input}\
         \x20   promql_expr_test:\n{cases}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (ok, output) = process::promtool_test_rules(dir.path(), &file);
    assert!(ok, "promtool:\n{output}\n--- test file ---\n{file}");
}
