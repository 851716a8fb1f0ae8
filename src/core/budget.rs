//! Occurrence (event) budget math: error ratio, burn rate and remaining budget. Time-slice SLIs
//! use the same math with good/bad slices counted as events.
//!
//! Every function here returns a finite number for any input, so a noisy or broken source can
//! skew a figure but never poison a snapshot with NaN.

use std::ops::{Add, AddAssign, Sub, SubAssign};

/// An SLO objective as a ratio strictly between 0 and 1, e.g. 0.999 for 99.9%.
///
/// ```
/// use sloburn::core::Objective;
/// let o = Objective::from_percent(99.9).unwrap();
/// assert!((o.budget() - 0.001).abs() < 1e-12);
/// assert!(Objective::from_percent(100.0).is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Objective(f64);

impl Objective {
    /// An objective from a percentage; `None` unless `0 < percent < 100`.
    ///
    /// ```
    /// use sloburn::core::Objective;
    /// assert_eq!(Objective::from_percent(99.9).unwrap().ratio(), 0.999);
    /// assert!(Objective::from_percent(f64::NAN).is_none());
    /// ```
    pub fn from_percent(percent: f64) -> Option<Objective> {
        let ratio = percent / 100.0;
        // 99.9 / 100 is 0.9990000000000001 in f64; snap to the nearest 1e-15 so the ratio is the
        // decimal the user wrote (0.999), but only when that moves it by at most 1e-15.
        let snapped = (percent * 1e13).round() / 1e15;
        if (snapped - ratio).abs() <= 1e-15 {
            Self::from_ratio(snapped).or_else(|| Self::from_ratio(ratio))
        } else {
            Self::from_ratio(ratio)
        }
    }

    /// An objective from a ratio; `None` unless `0 < ratio < 1`.
    ///
    /// ```
    /// use sloburn::core::Objective;
    /// assert_eq!(Objective::from_ratio(0.999).unwrap().percent(), 99.9);
    /// assert!(Objective::from_ratio(1.0).is_none());
    /// ```
    pub fn from_ratio(ratio: f64) -> Option<Objective> {
        // Checked after any division: a percent just under 100 can round to a ratio of 1.
        (ratio > 0.0 && ratio < 1.0).then_some(Objective(ratio))
    }

    /// The objective as a ratio in (0, 1).
    ///
    /// ```
    /// use sloburn::core::Objective;
    /// assert_eq!(Objective::from_percent(99.5).unwrap().ratio(), 0.995);
    /// ```
    pub fn ratio(self) -> f64 {
        self.0
    }

    /// The objective as a percentage in (0, 100).
    ///
    /// ```
    /// use sloburn::core::Objective;
    /// assert_eq!(Objective::from_percent(99.9).unwrap().percent(), 99.9);
    /// ```
    pub fn percent(self) -> f64 {
        self.0 * 100.0
    }

    /// The error budget as a ratio: `1 - ratio`, always > 0.
    ///
    /// ```
    /// use sloburn::core::Objective;
    /// assert_eq!(Objective::from_ratio(0.75).unwrap().budget(), 0.25);
    /// ```
    pub fn budget(self) -> f64 {
        1.0 - self.0
    }
}

/// Bad and total events (or time slices) in a window.
///
/// Subtraction saturates each field at 0, since counters that reset or arrive out of order
/// can make a later window look smaller than an earlier one.
///
/// ```
/// use sloburn::core::Counts;
/// let day = Counts { bad: 3.0, total: 1000.0 };
/// let hour = Counts { bad: 5.0, total: 40.0 };
/// assert_eq!(day + hour, Counts { bad: 8.0, total: 1040.0 });
/// assert_eq!(day - hour, Counts { bad: 0.0, total: 960.0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    pub bad: f64,
    pub total: f64,
}

impl Add for Counts {
    type Output = Counts;
    fn add(self, rhs: Counts) -> Counts {
        Counts {
            bad: self.bad + rhs.bad,
            total: self.total + rhs.total,
        }
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, rhs: Counts) {
        *self = *self + rhs;
    }
}

impl Sub for Counts {
    type Output = Counts;
    fn sub(self, rhs: Counts) -> Counts {
        // f64::max returns the non-NaN side, so a NaN difference also saturates to 0.
        Counts {
            bad: (self.bad - rhs.bad).max(0.0),
            total: (self.total - rhs.total).max(0.0),
        }
    }
}

impl SubAssign for Counts {
    fn sub_assign(&mut self, rhs: Counts) {
        *self = *self - rhs;
    }
}

/// The share of events that were bad: `bad / total`, clamped to `[0, 1]` (noisy data can
/// report more bad than total). 0 when there were no events or either count is not finite.
///
/// ```
/// use sloburn::core::{error_ratio, Counts};
/// assert_eq!(error_ratio(Counts { bad: 1.0, total: 4.0 }), 0.25);
/// assert_eq!(error_ratio(Counts { bad: 9.0, total: 4.0 }), 1.0);
/// assert_eq!(error_ratio(Counts::default()), 0.0);
/// ```
pub fn error_ratio(c: Counts) -> f64 {
    if !c.bad.is_finite() || !c.total.is_finite() || c.total <= 0.0 {
        return 0.0;
    }
    // Compared rather than divided so a tiny total cannot overflow the ratio to infinity.
    if c.bad >= c.total {
        return 1.0;
    }
    (c.bad / c.total).max(0.0)
}

/// How fast the budget is being spent: `error_ratio / budget`. 1 spends exactly the whole
/// budget over the period. The error ratio is clamped to `[0, 1]` first (NaN or infinite
/// counts as 0), so the result is finite and at most `1 / budget`.
///
/// ```
/// use sloburn::core::{burn_rate, Objective};
/// let o = Objective::from_percent(99.0).unwrap();
/// assert!((burn_rate(0.02, o) - 2.0).abs() < 1e-12);
/// ```
pub fn burn_rate(error_ratio: f64, o: Objective) -> f64 {
    clamp_ratio(error_ratio) / o.budget()
}

/// The share of the period's budget left: `1 - error_ratio(period) / budget`. 1 is untouched,
/// 0 exactly spent, negative overspent (down to `1 - 1/budget`). Weighted by events: a busy
/// hour counts for more than a quiet one.
///
/// ```
/// use sloburn::core::{remaining_budget, Counts, Objective};
/// let o = Objective::from_percent(99.0).unwrap();
/// let period = Counts { bad: 5.0, total: 1000.0 };
/// assert!((remaining_budget(period, o) - 0.5).abs() < 1e-12);
/// ```
pub fn remaining_budget(period: Counts, o: Objective) -> f64 {
    1.0 - error_ratio(period) / o.budget()
}

/// Clamps to `[0, 1]`, mapping NaN and infinities to 0 (no usable evidence of errors).
fn clamp_ratio(r: f64) -> f64 {
    if r.is_finite() {
        r.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
