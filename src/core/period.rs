// STAND-IN: replaced by the core branch merge.
use super::PromDuration;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    Month,
    Week,
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    Rolling(PromDuration),
    Calendar {
        unit: CalendarUnit,
        tz: chrono_tz::Tz,
    },
}
impl Period {
    pub fn nominal(&self) -> PromDuration {
        match self {
            Period::Rolling(d) => *d,
            Period::Calendar {
                unit: CalendarUnit::Month,
                ..
            } => PromDuration::from_secs(30 * 86400),
            _ => PromDuration::from_secs(7 * 86400),
        }
    }
    pub fn describe(&self) -> String {
        match self {
            Period::Rolling(d) => d.to_string(),
            Period::Calendar { unit, tz } => format!(
                "calendar {} ({tz})",
                if *unit == CalendarUnit::Month {
                    "month"
                } else {
                    "week"
                }
            ),
        }
    }
}
