//! A problem found in a spec, said so a person can act on it: where (file, line, column, field
//! path), what is wrong, and what is accepted.

use std::fmt;

use serde::Serialize;

use crate::spec::yaml::{LocIndex, Pos};

/// One problem in one spec file.
///
/// ```
/// use sloburn::spec::{Diagnostic, yaml::Pos};
/// let d = Diagnostic::new("a.yaml", Some(Pos { line: 3, column: 16 }), "slos[0].objective", "100 is out of range");
/// assert_eq!(d.to_string(), "a.yaml:3:16: slos[0].objective: 100 is out of range");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Diagnostic {
    pub file: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// The field path, e.g. `slos[0].sli.events.error_query`; empty for the whole file.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        file: impl Into<String>,
        pos: Option<Pos>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Collects the problems of one document, placing each by its field path.
pub(crate) struct Sink<'a> {
    pub file: &'a str,
    pub index: &'a LocIndex,
    pub errors: Vec<Diagnostic>,
    /// Problems that do not stop the SLO from loading (e.g. an alert row that can never fire).
    pub warnings: Vec<Diagnostic>,
    /// Field paths read as having no effect (what Sloth ignores): `convert` leaves them out, so
    /// the converted file means what the original did.
    pub ignored: Vec<String>,
}

impl<'a> Sink<'a> {
    pub fn new(file: &'a str, index: &'a LocIndex) -> Self {
        Self {
            file,
            index,
            errors: Vec::new(),
            warnings: Vec::new(),
            ignored: Vec::new(),
        }
    }

    pub fn warn(&mut self, path: &str, message: impl Into<String>) {
        let pos = self.index.find(path);
        self.warnings
            .push(Diagnostic::new(self.file, pos, path, message));
    }

    pub fn error(&mut self, path: &str, message: impl Into<String>) {
        let pos = self.index.find(path);
        self.errors
            .push(Diagnostic::new(self.file, pos, path, message));
    }

    pub fn pos(&self, path: &str) -> Pos {
        self.index.find(path).unwrap_or_default()
    }
}
