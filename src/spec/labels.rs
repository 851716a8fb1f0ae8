//! Label names and values in specs.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The label of every alert sloburn generates that holds its tier, `page` or `ticket`. Routing
/// matches it: `severity` defaults to the tier but is the spec's to set (Sloth files set it per
/// SLO or per tier, e.g. `critical` on tickets too), as Sloth keeps its tier in `sloth_severity`.
pub const TIER_LABEL: &str = "sloburn_severity";

/// Labels sloburn sets itself on SLO series (or, for [`TIER_LABEL`], on their alerts, which
/// in ruler mode carry the series' labels); a spec may not set them.
pub const RESERVED_SERIES_LABELS: &[&str] = &[
    "service",
    "slo",
    "window",
    "severity",
    "long_window",
    "short_window",
    "sli_kind",
    "period",
    "objective",
    "le",
    TIER_LABEL,
];

/// Labels sloburn sets on the alerts it generates. `severity` is not among them: Sloth users
/// set it to route alerts, and their files are read unchanged.
pub const RESERVED_ALERT_LABELS: &[&str] = &[
    "service",
    "slo",
    "freeze",
    "long_window",
    "short_window",
    "burn_rate_threshold",
    "exhaustion_at_threshold",
    "exhaustion_within",
    TIER_LABEL,
];

/// The name a label sloburn sets itself is carried under when a spec writes it or groups by it:
/// `exported_<name>`, as Prometheus renames a scraped label that clashes with a target label.
///
/// ```
/// use sloburn::spec::labels::exported_name;
/// assert_eq!(exported_name("service"), "exported_service");
/// assert_eq!(exported_name("route"), "route");
/// ```
pub fn exported_name(name: &str) -> std::borrow::Cow<'_, str> {
    if RESERVED_SERIES_LABELS.contains(&name) || RESERVED_ALERT_LABELS.contains(&name) {
        format!("exported_{name}").into()
    } else {
        name.into()
    }
}

/// Whether `name` is a valid Prometheus label name that a user may define.
///
/// ```
/// use sloburn::spec::labels::label_name_problem;
/// assert_eq!(label_name_problem("team"), None);
/// assert!(label_name_problem("__name__").is_some());
/// assert!(label_name_problem("9lives").is_some());
/// ```
pub fn label_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    };
    if !valid {
        return Some(format!(
            "{name:?} is not a valid label name; accepted: a letter or _ followed by letters, digits or _ (e.g. team, tier_2)"
        ));
    }
    if name.starts_with("__") {
        return Some(format!(
            "{name:?}: names starting with __ are reserved for Prometheus internals"
        ));
    }
    None
}

/// A label value as written: Sloth's Go reader takes unquoted numbers and booleans as text, so
/// sloburn does too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelValue(pub String);

impl<'de> Deserialize<'de> for LabelValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(LabelValue(s)),
            serde_json::Value::Number(n) => Ok(LabelValue(n.to_string())),
            serde_json::Value::Bool(b) => Ok(LabelValue(b.to_string())),
            other => Err(serde::de::Error::custom(format!(
                "a label value must be text, got {}",
                kind_of(&other)
            ))),
        }
    }
}

/// A map of label names to values as written in a spec.
pub type RawLabels = BTreeMap<String, LabelValue>;

pub(crate) fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "nothing (null)",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "text",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}
