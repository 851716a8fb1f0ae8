// STAND-IN: replaced by the core branch merge.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Objective(f64);
impl Objective {
    pub fn from_percent(p: f64) -> Option<Objective> {
        (p.is_finite() && p > 0.0 && p < 100.0).then(|| Objective(p / 100.0))
    }
    pub fn ratio(&self) -> f64 {
        self.0
    }
    pub fn percent(&self) -> f64 {
        self.0 * 100.0
    }
}
