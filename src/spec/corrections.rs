//! `corrections:` entries, in a spec (a document's, for every SLO of its service, or an SLO's)
//! or in a separate corrections file (`--corrections`), into validated [`Correction`]s with every
//! problem placed by file, line, column and field path.

use std::path::Path;

use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::core::correction::{AlertMode, Correction, DAY_NAMES, Schedule, When};
use crate::spec::diag::{Diagnostic, Sink};
use crate::spec::model::Slo;
use crate::spec::yaml;
use crate::spec::{lenient, load};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrection {
    #[serde(default)]
    name: Option<String>,
    reason: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    schedule: Option<RawSchedule>,
    #[serde(default)]
    alerts: Option<String>,
    /// Corrections file only: the service (and SLO) it applies to.
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    slo: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    #[serde(default)]
    days: Option<Vec<String>>,
    start: String,
    end: String,
    #[serde(default)]
    timezone: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    corrections: Vec<Value>,
}

/// Where a corrections entry stands: its scope decides whether it may name a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// A spec document's `corrections:`: every SLO of its service.
    Service,
    /// An SLO's own `corrections:`.
    Slo,
    /// The corrections file: each entry names its service (and maybe SLO).
    File,
}

/// A correction of the corrections file and what it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Targeted {
    /// Where the entry is written, for warnings about it.
    pub file: String,
    pub pos: crate::spec::yaml::Pos,
    pub service: String,
    /// `None`: every SLO of the service.
    pub slo: Option<String>,
    pub correction: Correction,
}

const TIME: &str = "accepted: a local time HH:MM from 00:00 to 23:59, e.g. \"02:00\"";
const INSTANT: &str = "accepted: an RFC 3339 instant with its offset, e.g. 2026-03-01T10:00:00Z or 2026-03-01T11:00:00+01:00";

/// Reads the list at `path` (`corrections` or `slos[0].corrections`); entries with problems are
/// reported and left out. Each comes with the service and SLO it names (file scope only).
pub(crate) fn read_list(
    sink: &mut Sink,
    path: &str,
    value: &Value,
    scope: Scope,
) -> Vec<(String, Option<String>, Option<String>, Correction)> {
    let Some(items) = value.as_array() else {
        sink.error(
            path,
            format!(
                "got {}; accepted: a list of corrections, each with reason and either from/to or schedule",
                crate::spec::labels::kind_of(value)
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mut read = lenient::read_all::<RawCorrection>(item);
        for problem in &read.problems {
            let at = match problem.path.as_str() {
                "." => p.clone(),
                inner => format!("{p}.{inner}"),
            };
            let mut message = problem
                .message
                .replace("invalid type: map", "invalid type: mapping");
            if message.starts_with("missing field") {
                message.push_str("; a correction has reason (one line, required), either from and to (RFC 3339 instants) or schedule, and optionally name and alerts");
            }
            sink.error(&at, message);
        }
        let Some(raw) = read.value.take() else {
            continue;
        };
        if !read.problems.is_empty() {
            continue;
        }
        let before = sink.errors.len();
        let correction = read_one(sink, &p, raw, scope);
        if sink.errors.len() == before
            && let Some((service, slo, c)) = correction
        {
            out.push((p, service, slo, c));
        }
    }
    out
}

fn read_one(
    sink: &mut Sink,
    p: &str,
    raw: RawCorrection,
    scope: Scope,
) -> Option<(Option<String>, Option<String>, Correction)> {
    if raw.reason.trim().is_empty() || raw.reason.contains('\n') {
        sink.error(
            &format!("{p}.reason"),
            "accepted: one line saying why these events do not count, e.g. \"planned database migration\"",
        );
    }
    match scope {
        Scope::File => {
            if raw.service.is_none() {
                sink.error(
                    p,
                    "missing field `service`; a correction in a corrections file names the service it applies to (and `slo` for one SLO of it)",
                );
            }
        }
        Scope::Service | Scope::Slo => {
            for (field, set) in [
                ("service", raw.service.is_some()),
                ("slo", raw.slo.is_some()),
            ] {
                if set {
                    sink.error(
                        &format!("{p}.{field}"),
                        format!("`{field}` belongs in a corrections file (--corrections); in a spec a correction applies where it is written: under the document to every SLO of the service, under an SLO to that SLO"),
                    );
                }
            }
        }
    }
    let alerts = match raw.alerts.as_deref() {
        None | Some("fire") => Some(AlertMode::Fire),
        Some("silence") => Some(AlertMode::Silence),
        Some(other) => {
            sink.error(
                &format!("{p}.alerts"),
                format!("unknown value {other:?}; accepted: fire (default: alerts are unaffected) or silence (the SLO's burn-rate and exhaustion alerts are held while it is in effect)"),
            );
            None
        }
    };
    let when = match (&raw.from, &raw.to, raw.schedule) {
        (None, None, Some(s)) => read_schedule(sink, &format!("{p}.schedule"), s),
        (None, None, None) => {
            sink.error(
                p,
                "give either from and to (a one-off correction) or schedule (a recurring one)",
            );
            None
        }
        (from, _, Some(_)) => {
            let field = if from.is_some() { "from" } else { "to" };
            sink.error(
                &format!("{p}.{field}"),
                "give either from and to (a one-off correction) or schedule (a recurring one), not both",
            );
            None
        }
        (from, to, None) => {
            let instant = |sink: &mut Sink, field: &str, v: &Option<String>| match v {
                None => {
                    sink.error(
                        p,
                        format!(
                            "missing field `{field}`; a one-off correction needs both from and to"
                        ),
                    );
                    None
                }
                Some(s) => match DateTime::parse_from_rfc3339(s.trim()) {
                    Ok(t) => Some(t.timestamp()),
                    Err(e) => {
                        sink.error(
                            &format!("{p}.{field}"),
                            format!("{s:?} is not an instant ({e}); {INSTANT}"),
                        );
                        None
                    }
                },
            };
            let a = instant(sink, "from", from);
            let b = instant(sink, "to", to);
            match (a, b) {
                (Some(a), Some(b)) if a >= b => {
                    sink.error(
                        &format!("{p}.to"),
                        format!(
                            "ends at or before it starts ({}); accepted: an instant after `from`",
                            crate::core::rfc3339(a)
                        ),
                    );
                    None
                }
                (Some(from), Some(to)) => Some(When::OneOff { from, to }),
                _ => None,
            }
        }
    };
    let origin = format!("{}:{}", sink.file, sink.pos(p));
    Some((
        raw.service,
        raw.slo,
        Correction {
            name: raw.name,
            reason: raw.reason.trim().to_string(),
            when: when?,
            alerts: alerts?,
            origin,
        },
    ))
}

fn read_schedule(sink: &mut Sink, p: &str, raw: RawSchedule) -> Option<When> {
    let mut ok = true;
    let mut days = [raw.days.is_none(); 7];
    for (i, d) in raw.days.iter().flatten().enumerate() {
        let lower = d.trim().to_ascii_lowercase();
        match DAY_NAMES
            .iter()
            .position(|n| lower == *n || lower.starts_with(n) && is_day_name(&lower))
        {
            Some(k) => days[k] = true,
            None => {
                sink.error(
                    &format!("{p}.days[{i}]"),
                    format!("unknown day {d:?}; accepted: mon, tue, wed, thu, fri, sat, sun (or the full names); leave days out for every day"),
                );
                ok = false;
            }
        }
    }
    if raw.days.as_ref().is_some_and(Vec::is_empty) {
        sink.error(
            &format!("{p}.days"),
            "an empty list selects no day; accepted: one or more of mon..sun, or leave days out for every day",
        );
        ok = false;
    }
    let start = read_time(sink, &format!("{p}.start"), &raw.start);
    let end = read_time(sink, &format!("{p}.end"), &raw.end);
    let timezone = match raw.timezone.as_deref() {
        None => Some(chrono_tz::UTC),
        Some(name) => match name.parse::<chrono_tz::Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                sink.error(
                    &format!("{p}.timezone"),
                    format!("unknown time zone {name:?}; accepted: an IANA name such as UTC, Europe/Berlin or America/New_York"),
                );
                None
            }
        },
    };
    let (start, end, timezone) = (start?, end?, timezone?);
    ok.then_some(When::Recurring(Schedule {
        days,
        start,
        end,
        timezone,
    }))
}

fn is_day_name(s: &str) -> bool {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .contains(&s)
}

/// `HH:MM` as minutes after midnight.
fn read_time(sink: &mut Sink, p: &str, s: &str) -> Option<u32> {
    let parsed = s.trim().split_once(':').and_then(|(h, m)| {
        let ok = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
        if !ok(h) || !ok(m) {
            return None;
        }
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    });
    if parsed.is_none() {
        sink.error(p, format!("{s:?} is not a time of day; {TIME}"));
    }
    parsed
}

/// What a corrections file gave.
#[derive(Debug, Clone, Default)]
pub struct FileCorrections {
    pub corrections: Vec<Targeted>,
    pub errors: Vec<Diagnostic>,
}

/// Reads a corrections file: a mapping with `corrections:`, a list of entries that each name
/// `service` and optionally `slo`.
pub fn load_file(path: &Path) -> FileCorrections {
    let name = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => load_bytes(&name, &bytes),
        Err(e) => FileCorrections {
            corrections: Vec::new(),
            errors: vec![Diagnostic::new(
                &name,
                None,
                "",
                format!("cannot read: {e}"),
            )],
        },
    }
}

/// [`load_file`] on text that claims to come from `name`.
pub fn load_bytes(name: &str, bytes: &[u8]) -> FileCorrections {
    let mut out = FileCorrections::default();
    if bytes.len() as u64 > yaml::limits::MAX_FILE_BYTES {
        out.errors.push(Diagnostic::new(
            name,
            None,
            "",
            "file too large for a corrections file",
        ));
        return out;
    }
    let docs = match yaml::parse_documents(bytes) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(Diagnostic::new(name, e.pos, "", e.message));
            return out;
        }
    };
    for doc in &docs {
        if doc.value.is_null() {
            continue;
        }
        let mut sink = Sink::new(name, &doc.index);
        let read = lenient::read_all::<RawFile>(&doc.value);
        for problem in &read.problems {
            let at = if problem.path == "." {
                ""
            } else {
                problem.path.as_str()
            };
            sink.error(
                at,
                format!("{}; a corrections file is a mapping with `corrections:`, a list of entries each with service, reason and either from/to or schedule", problem.message.replace("invalid type: map", "invalid type: mapping")),
            );
        }
        if let Some(raw) = read.value {
            let list = Value::Array(raw.corrections);
            for (path, service, slo, correction) in
                read_list(&mut sink, "corrections", &list, Scope::File)
            {
                if let Some(service) = service {
                    out.corrections.push(Targeted {
                        file: name.to_string(),
                        // Where the name the warning is about is written.
                        pos: sink.pos(&format!(
                            "{path}.{}",
                            if slo.is_some() { "slo" } else { "service" }
                        )),
                        service,
                        slo,
                        correction,
                    });
                }
            }
        }
        out.errors.extend(sink.errors);
    }
    out
}

/// Adds the file's corrections to the SLOs they name; returns a warning for each that names
/// no loaded service or SLO (a spec may be removed before its corrections).
pub fn apply<'a>(
    slos: impl IntoIterator<Item = &'a mut Slo>,
    file: &[Targeted],
) -> Vec<Diagnostic> {
    let mut matched = vec![false; file.len()];
    for slo in slos {
        for (t, m) in file.iter().zip(matched.iter_mut()) {
            if slo.service == t.service && t.slo.as_ref().is_none_or(|n| *n == slo.name) {
                slo.corrections.push(t.correction.clone());
                *m = true;
            }
        }
    }
    file.iter()
        .zip(matched)
        .filter(|(_, m)| !m)
        .map(|(t, _)| {
            let (field, what) = match &t.slo {
                Some(slo) => ("slo", format!("SLO {}/{slo}", t.service)),
                None => ("service", format!("service {}", t.service)),
            };
            Diagnostic::new(
                &t.file,
                Some(t.pos),
                field,
                format!(
                    "the correction {:?} names {what}, which no loaded spec defines; it applies to nothing",
                    t.correction.label()
                ),
            )
        })
        .collect()
}

/// Loads specs (files or folders) and, if given, a corrections file, whose entries are added to
/// the SLOs they name. The corrections file is one more file of the report: its errors make
/// the load fail as a spec's do (a reload keeps the running set), its good entries still apply,
/// and entries naming no loaded SLO are its warnings.
pub fn load_with<P: AsRef<Path>>(specs: &[P], corrections: Option<&Path>) -> load::LoadReport {
    let mut report = load::load_paths(specs);
    if let Some(path) = corrections {
        let file = load_file(path);
        let warnings = apply(
            report.files.iter_mut().flat_map(|f| f.slos.iter_mut()),
            &file.corrections,
        );
        report.files.push(load::FileReport {
            file: path.display().to_string(),
            slos: Vec::new(),
            errors: file.errors,
            warnings,
            notes: vec![format!(
                "corrections file: {} correction(s)",
                file.corrections.len()
            )],
        });
    }
    report
}

/// One audit line per correction added, removed or changed between two SLO sets (`old` empty at
/// start), naming service, SLO, the correction and its range. A correction is known by its name,
/// else its reason.
pub fn audit<'a>(
    old: impl IntoIterator<Item = &'a Slo>,
    new: impl IntoIterator<Item = &'a Slo>,
) -> Vec<String> {
    use std::collections::BTreeMap;
    type Key = (String, String, String);
    let index = |slos: &mut dyn Iterator<Item = &'a Slo>| {
        let mut m: BTreeMap<Key, &'a Correction> = BTreeMap::new();
        for slo in slos {
            for c in &slo.corrections {
                m.insert(
                    (slo.service.clone(), slo.name.clone(), c.label().to_string()),
                    c,
                );
            }
        }
        m
    };
    let old = index(&mut old.into_iter());
    let new = index(&mut new.into_iter());
    let line = |what: &str, (service, slo, _): &Key, c: &Correction| {
        format!(
            "correction {what}: service={service} slo={slo} correction={:?} reason={:?} when={:?} alerts={} from={}",
            c.label(),
            c.reason,
            c.describe_when(),
            c.alerts.as_str(),
            c.origin
        )
    };
    let mut out = Vec::new();
    for (k, c) in &new {
        match old.get(k) {
            None => out.push(line("added", k, c)),
            Some(o) if (&o.when, o.alerts, &o.reason) != (&c.when, c.alerts, &c.reason) => {
                out.push(line("changed", k, c));
            }
            Some(_) => {}
        }
    }
    for (k, c) in &old {
        if !new.contains_key(k) {
            out.push(line("removed", k, c));
        }
    }
    out
}

#[cfg(test)]
mod tests;
