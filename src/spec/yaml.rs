//! YAML text to a tree that remembers where each node was written, under limits that keep
//! hostile input (alias bombs, deep nesting, huge files, binary garbage) cheap to refuse.
//!
//! The tree is then handed to typed deserialization as JSON (so serde_path_to_error can name the
//! field path of a type error), while the location index maps each field path back to its line
//! and column for every later, semantic error.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Limits on one spec file. A real SLO file is a few KiB; these are orders of magnitude above
/// any plausible spec and far below what could hurt the process.
pub mod limits {
    /// Largest spec file read, in bytes (checked before reading).
    pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
    /// Deepest nesting of mappings and sequences.
    pub const MAX_DEPTH: usize = 32;
    /// YAML documents (`---`) in one file.
    pub const MAX_DOCUMENTS: usize = 1_000;
    /// Alias (`*name`) uses in one file; SLO specs rarely need any.
    pub const MAX_ALIASES: usize = 1_000;
    /// Parser events in one file (roughly: scalars plus collection starts and ends).
    pub const MAX_EVENTS: usize = 500_000;
    /// Nodes after alias expansion, so an alias bomb is stopped before it grows.
    pub const MAX_NODES: usize = 200_000;
}

/// A line and column, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A YAML node with the positions of its children.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests;

/// Why a file could not be read as YAML at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub pos: Option<Pos>,
    pub message: String,
}

/// One YAML document: its value as JSON for typed reading, and where each field path was written.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: serde_json::Value,
    pub index: LocIndex,
    pub pos: Pos,
}

/// Whether field path `path` is `root` or lies below it (`root.x`, `root[0]`).
///
/// ```
/// use sloburn::spec::yaml::within;
/// assert!(within("slos[0].sli", "slos[0]") && within("slos[0]", "slos[0]"));
/// assert!(!within("slos[10]", "slos[1]") && !within("slos", "slos[0]"));
/// ```
pub fn within(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Removes and returns the field at `path` (`slos[0].alerting.pageAlert`), if it is there.
///
/// ```
/// use sloburn::spec::yaml::remove_at;
/// let mut v = serde_json::json!({"slos": [{"a": {"b": 1, "c": 2}}]});
/// assert_eq!(remove_at(&mut v, "slos[0].a.b"), Some(serde_json::json!(1)));
/// assert_eq!(v, serde_json::json!({"slos": [{"a": {"c": 2}}]}));
/// assert_eq!(remove_at(&mut v, "slos[1].a"), None);
/// ```
pub fn remove_at(value: &mut serde_json::Value, path: &str) -> Option<serde_json::Value> {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (pointer(parent), key),
        None => (String::new(), path),
    };
    value.pointer_mut(&parent)?.as_object_mut()?.remove(key)
}

/// `a.b[0]` as the JSON pointer `/a/b/0` (keys hold neither `.` nor `[` where this is used).
fn pointer(path: &str) -> String {
    path.split(['.', '['])
        .filter(|s| !s.is_empty())
        .map(|s| format!("/{}", s.trim_end_matches(']')))
        .collect()
}

/// Field path (as serde_path_to_error writes it: `slos[0].sli.events`) to position.
#[derive(Debug, Clone, Default)]
pub struct LocIndex {
    map: HashMap<String, Pos>,
}

impl LocIndex {
    /// The positions below `root` (e.g. `items[2]`), with paths relative to it.
    fn rebased(&self, root: &str) -> LocIndex {
        let map = self
            .map
            .iter()
            .filter_map(|(path, pos)| {
                let rest = path.strip_prefix(root)?;
                let rest = match rest.chars().next() {
                    None => "",
                    Some('.') => &rest[1..],
                    Some('[') => rest,
                    Some(_) => return None,
                };
                Some((rest.to_string(), *pos))
            })
            .collect();
        LocIndex { map }
    }

    /// The position of `path`, or of its nearest ancestor that was written.
    pub fn find(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.map.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

/// Parses every document of a YAML text under the limits of [`limits`].
///
/// ```
/// use sloburn::spec::yaml::parse_documents;
/// let docs = parse_documents(b"a: 1\n---\nb: [x]\n").unwrap();
/// assert_eq!(docs.len(), 2);
/// assert_eq!(docs[1].index.find("b[0]").unwrap().line, 3);
/// ```
pub fn parse_documents(bytes: &[u8]) -> Result<Vec<Document>, YamlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| YamlError {
        pos: Some(pos_at(bytes, e.valid_up_to())),
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); a spec must be a UTF-8 YAML file",
            e.valid_up_to()
        ),
    })?;
    if let Some(offset) = text.find('\0') {
        return Err(YamlError {
            pos: Some(pos_at(bytes, offset)),
            message: format!(
                "binary data (NUL byte at offset {offset}); a spec must be a YAML text file"
            ),
        });
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: limits::MAX_DEPTH,
            max_documents: limits::MAX_DOCUMENTS,
            max_aliases: limits::MAX_ALIASES,
            max_events: limits::MAX_EVENTS,
            max_nodes: limits::MAX_NODES,
        },
        with_snippet: false,
    };
    let docs: Vec<Spanned<Node>> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| YamlError {
            pos: e.location().map(|l| Pos {
                line: l.line(),
                column: l.column(),
            }),
            message: yaml_message(&e),
        })?;
    let docs: Vec<Document> = docs
        .into_iter()
        .map(|doc| {
            let mut index = LocIndex::default();
            let pos = pos_of(&doc);
            let mut path = String::new();
            let value = to_json(&doc, &mut path, &mut index)?;
            Ok(Document { value, index, pos })
        })
        .collect::<Result<_, YamlError>>()?;
    Ok(docs.into_iter().flat_map(split_list).collect())
}

/// A document that is a list of objects, each with an `apiVersion` (as the OpenSLO SDK, `oslo`
/// and Nobl9's exports write them), or a Kubernetes `kind: List`, is read as one document per
/// object, each placed where it is written.
fn split_list(doc: Document) -> Vec<Document> {
    let (items, prefix) = match &doc.value {
        serde_json::Value::Array(items)
            if !items.is_empty() && items.iter().all(|i| i.get("apiVersion").is_some()) =>
        {
            (items.clone(), "")
        }
        serde_json::Value::Object(map)
            if map.get("kind").and_then(serde_json::Value::as_str) == Some("List") =>
        {
            match map.get("items") {
                Some(serde_json::Value::Array(items)) => (items.clone(), "items"),
                _ => return vec![doc],
            }
        }
        _ => return vec![doc],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let root = format!("{prefix}[{i}]");
            Document {
                value,
                index: doc.index.rebased(&root),
                pos: doc.index.find(&root).unwrap_or(doc.pos),
            }
        })
        .collect()
}

/// serde-saphyr's message without its own location prefix (the caller prints one) and with
/// budget breaches said in words.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let raw = e.to_string();
    let first = raw.lines().next().unwrap_or_default();
    // "error: line 2 column 2: illegal placement ..." -> "illegal placement ..."
    let msg = first.strip_prefix("error: ").unwrap_or(first);
    let msg = match msg.find(": ") {
        Some(i) if msg.starts_with("line ") => &msg[i + 2..],
        _ => msg,
    };
    if msg.contains("budget breached") {
        let what = if msg.contains("Depth") {
            format!("nesting deeper than {} levels", limits::MAX_DEPTH)
        } else if msg.contains("Alias") {
            format!("more than {} aliases", limits::MAX_ALIASES)
        } else if msg.contains("Nodes") || msg.contains("Anchor") || msg.contains("Replay") {
            format!(
                "more than {} nodes once aliases are expanded (an alias bomb?)",
                limits::MAX_NODES
            )
        } else if msg.contains("Documents") {
            format!("more than {} documents", limits::MAX_DOCUMENTS)
        } else if msg.contains("Events") {
            format!("more than {} YAML events", limits::MAX_EVENTS)
        } else {
            msg.to_string()
        };
        return format!(
            "YAML refused: {what}; specs are limited so hostile input stays cheap ({msg})"
        );
    }
    // The caller prints the position; drop the parser's own copy of it.
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains("column") => &msg[..i],
        _ => msg,
    };
    format!("invalid YAML: {msg}")
}

/// The line and column (in characters) of a byte offset.
fn pos_at(bytes: &[u8], offset: usize) -> Pos {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    Pos {
        line: before.iter().filter(|b| **b == b'\n').count() as u64 + 1,
        column: String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count() as u64
            + 1,
    }
}

fn pos_of(node: &Spanned<Node>) -> Pos {
    Pos {
        line: node.referenced.line(),
        column: node.referenced.column(),
    }
}

fn to_json(
    node: &Spanned<Node>,
    path: &mut String,
    index: &mut LocIndex,
) -> Result<serde_json::Value, YamlError> {
    use serde_json::Value;
    index.map.insert(path.clone(), pos_of(node));
    Ok(match &node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => Value::from(*i),
        Node::UInt(u) => Value::from(*u),
        // JSON has no NaN or Inf: keep the YAML spelling so a typed field refuses it by name.
        Node::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                out.push(to_json(item, path, index)?);
                path.truncate(len);
            }
            Value::Array(out)
        }
        Node::Map(entries) => {
            let mut out = serde_json::Map::new();
            for (key, value) in entries {
                let name = match &key.value {
                    Node::Str(s) => s.clone(),
                    Node::Bool(b) => b.to_string(),
                    Node::Int(i) => i.to_string(),
                    Node::UInt(u) => u.to_string(),
                    Node::Float(f) => f.to_string(),
                    Node::Null => "null".to_string(),
                    Node::Seq(_) | Node::Map(_) => {
                        return Err(YamlError {
                            pos: Some(pos_of(key)),
                            message: "a mapping key must be a plain value, not a list or mapping"
                                .to_string(),
                        });
                    }
                };
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name);
                let v = to_json(value, path, index)?;
                path.truncate(len);
                out.insert(name, v);
            }
            Value::Object(out)
        }
    })
}
