// STAND-IN: replaced by the core branch merge.
use super::{Period, PromDuration};
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Page,
    Ticket,
}
impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        })
    }
}
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnWindow {
    pub severity: Severity,
    pub long: PromDuration,
    pub short: PromDuration,
    pub threshold: f64,
}
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowTable {
    pub rows: Vec<BurnWindow>,
}
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ThresholdSpec {
    BudgetPercent(f64),
    BurnRate(f64),
}
pub fn threshold_for(spec: ThresholdSpec, period_nominal: PromDuration, long: PromDuration) -> f64 {
    match spec {
        ThresholdSpec::BurnRate(b) => b,
        ThresholdSpec::BudgetPercent(p) => {
            p * period_nominal.as_secs_f64() / (100.0 * long.as_secs_f64())
        }
    }
}
impl WindowTable {
    pub fn default_for(period: &Period) -> WindowTable {
        let p = period.nominal();
        let h = |x: u64| PromDuration::from_secs(x * 3600);
        let m = |x: u64| PromDuration::from_secs(x * 60);
        WindowTable {
            rows: vec![
                BurnWindow {
                    severity: Severity::Page,
                    long: h(1),
                    short: m(5),
                    threshold: threshold_for(ThresholdSpec::BudgetPercent(2.0), p, h(1)),
                },
                BurnWindow {
                    severity: Severity::Page,
                    long: h(6),
                    short: m(30),
                    threshold: threshold_for(ThresholdSpec::BudgetPercent(5.0), p, h(6)),
                },
                BurnWindow {
                    severity: Severity::Ticket,
                    long: h(24),
                    short: h(2),
                    threshold: threshold_for(ThresholdSpec::BudgetPercent(10.0), p, h(24)),
                },
                BurnWindow {
                    severity: Severity::Ticket,
                    long: h(72),
                    short: h(6),
                    threshold: threshold_for(ThresholdSpec::BudgetPercent(10.0), p, h(72)),
                },
            ],
        }
    }
    pub fn windows(&self) -> Vec<PromDuration> {
        let mut v: Vec<_> = self.rows.iter().flat_map(|r| [r.long, r.short]).collect();
        v.sort();
        v.dedup();
        v
    }
}
