//! Files and folders of specs into SLOs: discovery, size limits, duplicate detection.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::spec::diag::Diagnostic;
use crate::spec::formats::{self, Registry};
use crate::spec::model::Slo;
use crate::spec::yaml::{self, Document, limits};

/// Folders deeper than this below a given path are not searched (symlink loops end here).
const MAX_FOLDER_DEPTH: usize = 16;

/// What one file gave: its SLOs and its problems.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: String,
    pub slos: Vec<Slo>,
    pub errors: Vec<Diagnostic>,
    /// What was read approximately (foreign formats mapped onto sloburn's model).
    pub warnings: Vec<Diagnostic>,
    /// Documents accepted that define no SLO (Sloth AlertWindows, OpenSLO Service, ...).
    pub notes: Vec<String>,
}

impl FileReport {
    fn empty(file: &str) -> Self {
        Self {
            file: file.to_string(),
            slos: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A file written as the equivalent `sloburn/v1` YAML by [`convert_paths`].
#[derive(Debug, Clone)]
pub struct Converted {
    /// The file read.
    pub file: String,
    /// The sloburn/v1 text; empty when nothing in the file converts.
    pub yaml: String,
}

/// Everything one load found, file by file in a stable order.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub files: Vec<FileReport>,
}

impl LoadReport {
    /// Every valid SLO of every file.
    pub fn slos(&self) -> impl Iterator<Item = &Slo> {
        self.files.iter().flat_map(|f| f.slos.iter())
    }

    /// Every problem of every file.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.errors.iter())
    }

    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }
}

/// Loads files and folders (recursively, `*.yml` and `*.yaml`).
///
/// A bad file or SLO is reported and skipped; the others load. The same service and SLO defined
/// twice is an error at the second place that names the first.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> LoadReport {
    load_all(paths, false).0
}

/// Loads like [`load_paths`] and also writes each file as the equivalent `sloburn/v1` YAML
/// (`sloburn convert`): loading that text gives the same SLOs as loading the original.
pub fn convert_paths<P: AsRef<Path>>(paths: &[P]) -> (LoadReport, Vec<Converted>) {
    load_all(paths, true)
}

fn load_all<P: AsRef<Path>>(paths: &[P], convert: bool) -> (LoadReport, Vec<Converted>) {
    let mut report = LoadReport::default();
    // Read and parse every file first: OpenSLO documents refer to each other across files.
    let mut parsed: Vec<(String, Result<Vec<Document>, FileReport>)> = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let mut found = Vec::new();
        if let Err(problem) = discover(path, 0, &mut found) {
            let name = path.display().to_string();
            let mut r = FileReport::empty(&name);
            r.errors.push(Diagnostic::new(&name, None, "", problem));
            parsed.push((name, Err(r)));
            continue;
        }
        for file in found {
            let name = file.display().to_string();
            let docs = match read_limited(&file) {
                Ok(bytes) => parse(&name, &bytes),
                Err(problem) => {
                    let mut r = FileReport::empty(&name);
                    r.errors.push(Diagnostic::new(&name, None, "", problem));
                    Err(r)
                }
            };
            parsed.push((name, docs));
        }
    }
    let mut registry = Registry::default();
    for (name, docs) in &parsed {
        if let Ok(docs) = docs {
            registry.add(name, docs);
        }
    }
    let mut converted = Vec::new();
    for (name, docs) in parsed {
        match docs {
            Ok(docs) => {
                let (r, yaml) = read_docs(&name, &docs, &registry, convert);
                report.files.push(r);
                if convert {
                    converted.push(Converted { file: name, yaml });
                }
            }
            Err(r) => report.files.push(r),
        }
    }
    mark_duplicates(&mut report.files);
    (report, converted)
}

/// Loads one file (whatever its name).
pub fn load_file(path: &Path) -> FileReport {
    let name = path.display().to_string();
    match read_limited(path) {
        Ok(bytes) => load_bytes(&name, &bytes),
        Err(problem) => {
            let mut r = FileReport::empty(&name);
            r.errors.push(Diagnostic::new(&name, None, "", problem));
            r
        }
    }
}

/// Loads spec text that claims to come from `name`.
///
/// ```
/// let report = sloburn::spec::load::load_bytes("inline.yaml", b"version: prometheus/v1\nservice: api\nslos:\n  - name: availability\n    objective: 99.9\n    sli:\n      raw:\n        error_ratio_query: sum(rate(errors[{{.window}}])) / sum(rate(requests[{{.window}}]))\n");
/// assert!(report.errors.is_empty(), "{:?}", report.errors);
/// assert_eq!(report.slos[0].id(), "api/availability");
/// ```
pub fn load_bytes(name: &str, bytes: &[u8]) -> FileReport {
    let docs = match parse(name, bytes) {
        Ok(docs) => docs,
        Err(report) => return report,
    };
    let mut registry = Registry::default();
    registry.add(name, &docs);
    let (mut report, _) = read_docs(name, &docs, &registry, false);
    mark_duplicates(std::slice::from_mut(&mut report));
    report
}

fn parse(name: &str, bytes: &[u8]) -> Result<Vec<Document>, FileReport> {
    let mut report = FileReport::empty(name);
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        report.errors.push(too_large(name, bytes.len() as u64));
        return Err(report);
    }
    yaml::parse_documents(bytes).map_err(|e| {
        report
            .errors
            .push(Diagnostic::new(name, e.pos, "", e.message));
        report
    })
}

/// Reads the documents of one file; with `convert`, also writes their sloburn/v1 equivalent.
fn read_docs(
    name: &str,
    docs: &[Document],
    registry: &Registry,
    convert: bool,
) -> (FileReport, String) {
    let mut report = FileReport::empty(name);
    let mut yaml = String::new();
    let many = docs.len() > 1;
    for (i, doc) in docs.iter().enumerate() {
        let mut read = formats::read_any(name, doc, registry);
        if many {
            // Name the document too, so a path like `slos[0]` is unambiguous in a multi-document file.
            for e in read.errors.iter_mut().chain(read.warnings.iter_mut()) {
                e.path = if e.path.is_empty() {
                    format!("(document {})", i + 1)
                } else {
                    format!("(document {}) {}", i + 1, e.path)
                };
                if e.line.is_none() {
                    e.line = Some(doc.pos.line);
                    e.column = Some(doc.pos.column);
                }
            }
            for n in &mut read.notes {
                *n = format!("(document {}) {n}", i + 1);
            }
        }
        if convert && let Some((value, notes)) = &read.native {
            if !yaml.is_empty() {
                yaml.push_str("---\n");
            }
            let mut comments = vec![format!(
                "Converted by sloburn from {name} (document {}).",
                i + 1
            )];
            if !notes.is_empty() {
                comments.push("Notes (what is mapped approximately is said here):".to_string());
                comments.extend(notes.iter().map(|n| format!("  - {n}")));
            }
            yaml.push_str(&formats::to_yaml(value, &comments));
        }
        report.slos.extend(read.slos);
        report.errors.extend(read.errors);
        report.warnings.extend(read.warnings);
        report.notes.extend(read.notes);
    }
    (report, yaml)
}

fn too_large(name: &str, len: u64) -> Diagnostic {
    Diagnostic::new(
        name,
        None,
        "",
        format!(
            "file is {len} bytes; a spec file may be at most {} bytes ({} MiB): split it into several files",
            limits::MAX_FILE_BYTES,
            limits::MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limits::MAX_FILE_BYTES {
        return Err(too_large("", len).message);
    }
    // Read at most one byte past the limit, in case the file grows or is not a regular file.
    let mut bytes = Vec::new();
    file.take(limits::MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > limits::MAX_FILE_BYTES {
        return Err(too_large("", bytes.len() as u64).message);
    }
    Ok(bytes)
}

fn discover(path: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if depth > MAX_FOLDER_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read folder: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if entry.is_dir() {
            discover(&entry, depth + 1, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml")
        {
            out.push(entry);
        }
    }
    Ok(())
}

fn mark_duplicates(files: &mut [FileReport]) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for file in files {
        let mut kept = Vec::with_capacity(file.slos.len());
        for slo in file.slos.drain(..) {
            let id = slo.id();
            match seen.get(&id) {
                Some(first) => file.errors.push(Diagnostic::new(
                    &slo.origin.file,
                    Some(slo.origin.pos),
                    "",
                    format!("SLO {id:?} is defined twice: here and at {first}; a service's SLO names must be unique"),
                )),
                None => {
                    seen.insert(id, slo.origin.to_string());
                    kept.push(slo);
                }
            }
        }
        file.slos = kept;
    }
}
