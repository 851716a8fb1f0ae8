//! Durations in Prometheus's grammar (`5m`, `1h30m`, `30d`, `1y`), so that a window written in a
//! spec can be pasted back into PromQL unchanged.

use std::fmt;
use std::str::FromStr;

/// A non-negative duration with millisecond resolution, written in Prometheus's grammar.
///
/// Units, largest first: `y` (365d), `w`, `d`, `h`, `m`, `s`, `ms`. A value is one or more
/// `<integer><unit>` terms with units in decreasing order, each unit at most once.
///
/// ```
/// use sloburn::core::PromDuration;
/// let d: PromDuration = "1h30m".parse().unwrap();
/// assert_eq!(d.as_secs(), 5400);
/// assert_eq!(d.to_string(), "1h30m");
/// assert!("30D".parse::<PromDuration>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration {
    millis: u64,
}

/// Why a duration string was refused; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration; {ACCEPTED}")]
    Empty,
    #[error(
        "{0:?} has a fraction; Prometheus durations take whole numbers (write 1h30m, not 1.5h)"
    )]
    Fraction(String),
    #[error("{input:?}: unknown unit {unit:?}{hint}; {ACCEPTED}")]
    UnknownUnit {
        input: String,
        unit: String,
        hint: &'static str,
    },
    #[error("{0:?}: a number must come before each unit; {ACCEPTED}")]
    MissingNumber(String),
    #[error("{0:?}: a unit must follow each number; {ACCEPTED}")]
    MissingUnit(String),
    #[error("{0:?}: units must go from largest to smallest, each at most once (e.g. 1h30m)")]
    Order(String),
    #[error("{0:?} is too large")]
    Overflow(String),
}

const ACCEPTED: &str =
    "accepted: whole numbers with units y, w, d, h, m, s, ms (e.g. 30d, 4w, 1h30m, 500ms)";

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    /// A duration of whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self {
            millis: secs * 1000,
        }
    }

    /// A duration of whole milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Self { millis }
    }

    /// Whole milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.millis / 1000
    }

    /// Seconds as a float, for ratios.
    pub fn as_secs_f64(self) -> f64 {
        self.millis as f64 / 1000.0
    }

    /// The equivalent `std::time::Duration`.
    pub const fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }
}

impl FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        let bytes = s.as_bytes();
        let mut total: u64 = 0;
        let mut pos = 0;
        // Index into UNITS of the last unit seen, so order and repetition are checked.
        let mut last_unit: Option<usize> = None;
        while pos < bytes.len() {
            let num_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos < bytes.len() && bytes[pos] == b'.' {
                return Err(DurationError::Fraction(s.to_string()));
            }
            if pos == num_start {
                return Err(DurationError::MissingNumber(s.to_string()));
            }
            let number: u64 = s[num_start..pos]
                .parse()
                .map_err(|_| DurationError::Overflow(s.to_string()))?;
            let unit_start = pos;
            while pos < bytes.len() && bytes[pos].is_ascii_alphabetic() {
                pos += 1;
            }
            let unit = &s[unit_start..pos];
            if unit.is_empty() {
                if pos < bytes.len() {
                    return Err(DurationError::UnknownUnit {
                        input: s.to_string(),
                        unit: s[pos..].chars().take(1).collect(),
                        hint: "",
                    });
                }
                return Err(DurationError::MissingUnit(s.to_string()));
            }
            let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(DurationError::UnknownUnit {
                    input: s.to_string(),
                    unit: unit.to_string(),
                    hint: unit_hint(unit),
                });
            };
            if last_unit.is_some_and(|last| index <= last) {
                return Err(DurationError::Order(s.to_string()));
            }
            last_unit = Some(index);
            total = number
                .checked_mul(UNITS[index].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| DurationError::Overflow(s.to_string()))?;
        }
        Ok(Self { millis: total })
    }
}

fn unit_hint(unit: &str) -> &'static str {
    match unit {
        "M" => " (months have no fixed length; use a calendar period or 30d)",
        "D" | "H" | "S" | "W" | "Y" => " (units are lower case)",
        "min" | "mins" | "minute" | "minutes" => " (write m for minutes)",
        "sec" | "secs" | "second" | "seconds" => " (write s for seconds)",
        "hour" | "hours" | "hr" => " (write h for hours)",
        "day" | "days" => " (write d for days)",
        "us" | "µs" | "ns" => " (the smallest unit is ms)",
        _ => "",
    }
}

impl fmt::Display for PromDuration {
    /// Writes a canonical form in days and smaller units, as people write SLO periods
    /// (`30d`, `28d`, `7d`, `1h30m`); `w` and `y` are read but never written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (name, size) in UNITS.into_iter().skip(2) {
            if rest >= size {
                write!(f, "{}{}", rest / size, name)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
