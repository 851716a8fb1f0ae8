//! Typed reading that reports every field problem of a value, not only the first.
//!
//! serde stops at the first error. A person fixing a file wants them all at once, so each failed
//! field is reported, set aside (an unknown field is removed, a wrong one replaced by a stand-in
//! of the right shape) and the value read again. Checks that run after reading must not judge
//! the stand-ins: [`Read::covers`] says which paths hold one.

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use crate::spec::yaml::within;

/// At most this many problems are collected from one value before reading gives up.
const MAX_ROUNDS: usize = 64;

/// Values tried in place of a wrong or missing field until one has a shape the type accepts:
/// nothing (optional fields), text, a duration, numbers, a mapping, a list, a boolean.
fn stand_ins() -> [Value; 8] {
    [
        Value::Null,
        Value::String(String::new()),
        Value::String("1h".into()),
        Value::from(1),
        Value::from(0),
        Value::Object(Default::default()),
        Value::Array(Vec::new()),
        Value::Bool(false),
    ]
}

/// One problem found while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Field path below the value read, as serde_path_to_error writes it (`.` for the value).
    pub path: String,
    /// serde's message.
    pub message: String,
    /// A field the type does not know (as opposed to a wrong or missing one).
    pub unknown: bool,
}

/// What reading gave: the value (with stand-ins where fields were wrong), and every problem.
pub(crate) struct Read<T> {
    pub value: Option<T>,
    pub problems: Vec<Problem>,
    stood_in: Vec<String>,
}

impl<T> Read<T> {
    /// Whether `path` (relative, like the problems' paths) lies at or below a stand-in, so that
    /// a later check must not report it: the real problem there is already reported.
    pub fn covers(&self, path: &str) -> bool {
        self.stood_in.iter().any(|s| within(path, s))
    }

    /// Whether `path` lies in a list item (`alerting.windows[0].short`) holding a stand-in: a
    /// check across that item's fields (short against long) may be judging the stand-in.
    pub fn covers_item(&self, path: &str) -> bool {
        match path.rfind(']') {
            Some(end) => {
                let item = &path[..=end];
                self.stood_in.iter().any(|s| within(s, item))
            }
            None => false,
        }
    }

    /// Whether some field was stood in for: checks across fields may then judge a stand-in.
    pub fn stood_in(&self) -> bool {
        !self.stood_in.is_empty()
    }
}

/// Reads `value` as `T`, collecting every problem (tested below: crate-private).
pub(crate) fn read_all<T: DeserializeOwned>(value: &Value) -> Read<T> {
    let mut v = value.clone();
    let mut out = Read {
        value: None,
        problems: Vec::new(),
        stood_in: Vec::new(),
    };
    // Path to the index of the next stand-in to try there.
    let mut tried: Vec<(String, usize)> = Vec::new();
    // Stand-ins only make sense for the fields of a mapping; anything else is one problem.
    let rounds = if value.is_object() { MAX_ROUNDS } else { 1 };
    for _ in 0..rounds {
        let e = match serde_path_to_error::deserialize::<_, T>(&v) {
            Ok(t) => {
                out.value = Some(t);
                return out;
            }
            Err(e) => e,
        };
        let segments: Vec<Segment> = e.path().iter().cloned().collect();
        let path = e.path().to_string();
        let message = e.inner().to_string();
        if segments.is_empty() && missing_key(&message).is_none() {
            // The value itself has the wrong shape: nothing below it to read.
            out.problems.push(Problem {
                path,
                message,
                unknown: false,
            });
            return out;
        }
        if message.starts_with("unknown field") {
            out.problems.push(Problem {
                path,
                message,
                unknown: true,
            });
            if !remove(&mut v, &segments) {
                return give_up(out);
            }
            continue;
        }
        // A missing field is reported where its mapping is; its stand-in goes below it.
        let (segments, path) = match missing_key(&message) {
            Some(key) => {
                let mut s = segments;
                s.push(Segment::Map { key: key.clone() });
                let p = if path == "." {
                    key
                } else {
                    format!("{path}.{key}")
                };
                (s, p)
            }
            None => (segments, path.clone()),
        };
        let next = match tried.iter_mut().find(|(p, _)| *p == path) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                let at = if missing_key(&message).is_some() {
                    e.path().to_string()
                } else {
                    path.clone()
                };
                // A problem inside a stand-in (a `{}` missing its fields) is the stand-in's,
                // not the file's: the real one is already reported.
                if !out.covers(&at) {
                    out.problems.push(Problem {
                        path: at,
                        message,
                        unknown: false,
                    });
                }
                out.stood_in.push(path.clone());
                tried.push((path.clone(), 0));
                0
            }
        };
        let Some(stand_in) = stand_ins().into_iter().nth(next) else {
            return give_up(out);
        };
        if !put(&mut v, &segments, stand_in) {
            return give_up(out);
        }
    }
    give_up(out)
}

/// Reading stops short of a value: say so, unless a real problem already explains it (only
/// unknown fields, which may be mere warnings, would otherwise drop the value in silence).
fn give_up<T>(mut out: Read<T>) -> Read<T> {
    if out.problems.iter().all(|p| p.unknown) {
        out.problems.push(Problem {
            path: ".".into(),
            message: format!(
                "this mapping could not be read after {} problems; fix those and check again",
                out.problems.len()
            ),
            unknown: false,
        });
    }
    out
}

fn missing_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

fn slot<'a>(v: &'a mut Value, segments: &[Segment]) -> Option<&'a mut Value> {
    let mut cur = v;
    for s in segments {
        cur = match (s, cur) {
            (Segment::Map { key }, Value::Object(m)) => m.get_mut(key)?,
            (Segment::Seq { index }, Value::Array(a)) => a.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the field at `segments` (a key of a mapping).
fn remove(v: &mut Value, segments: &[Segment]) -> bool {
    let Some((Segment::Map { key }, parent)) = segments.split_last() else {
        return false;
    };
    match slot(v, parent) {
        Some(Value::Object(m)) => m.remove(key).is_some(),
        _ => false,
    }
}

/// Sets the field at `segments`, adding a missing key.
fn put(v: &mut Value, segments: &[Segment], value: Value) -> bool {
    if let Some(target) = slot(v, segments) {
        *target = value;
        return true;
    }
    let Some((Segment::Map { key }, parent)) = segments.split_last() else {
        return false;
    };
    match slot(v, parent) {
        Some(Value::Object(m)) => {
            m.insert(key.clone(), value);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        d: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        a: u32,
        #[serde(default)]
        b: Option<String>,
        inner: Inner,
        #[serde(default)]
        list: Vec<Inner>,
    }

    fn paths(r: &Read<Outer>) -> Vec<(&str, bool)> {
        r.problems
            .iter()
            .map(|p| (p.path.as_str(), p.unknown))
            .collect()
    }

    #[test]
    fn every_problem_is_found_once() {
        let r = read_all::<Outer>(&json!({
            "a": "x", "b": 3, "c": true,
            "inner": {"e": 1},
            "list": [{"d": "ok"}, {"d": []}],
        }));
        assert!(r.value.is_some());
        assert_eq!(
            paths(&r),
            [
                ("a", false),
                ("b", false),
                ("c", true),
                ("inner.e", true),
                ("inner", false),
                ("list[1].d", false)
            ]
        );
        assert!(r.problems[4].message.contains("missing field `d`"));
        // Later checks skip what stands in, and only that.
        assert!(r.covers("a") && r.covers("inner.d") && r.covers("list[1].d"));
        assert!(!r.covers("inner") && !r.covers("list[0].d") && !r.covers("ab"));
        // A list item holding a stand-in is not judged across its fields either.
        assert!(r.covers_item("list[1].other"));
        assert!(!r.covers_item("list[0].d") && !r.covers_item("ab"));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Rows {
        #[serde(default)]
        rows: Option<Vec<Inner>>,
        #[serde(default)]
        one: Option<Inner>,
    }

    #[test]
    fn a_stand_in_s_own_problems_are_not_reported() {
        // A row written as text: one problem, not one more for each field of the `{}` tried in
        // its place.
        let r = read_all::<Rows>(&json!({"rows": ["x"], "one": 3}));
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["one", "rows[0]"], "{:?}", r.problems);
    }

    #[test]
    fn a_good_value_reads_without_problems() {
        let r = read_all::<Outer>(&json!({"a": 1, "inner": {"d": "x"}}));
        assert!(r.problems.is_empty());
        assert_eq!(r.value.map(|o| o.a), Some(1));
    }

    #[test]
    fn a_value_of_the_wrong_shape_is_one_problem() {
        let r = read_all::<Outer>(&json!([1, 2]));
        assert!(r.value.is_none());
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    }
}
