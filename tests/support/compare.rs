//! Comparing SLOs read from different files or formats.

use sloburn::spec::Slo;

/// The SLO without where and in which format it was written: what `convert` must keep.
pub fn comparable(slo: &Slo) -> Slo {
    let mut s = slo.clone();
    s.origin = sloburn::spec::Origin::default();
    s.version = sloburn::spec::SpecVersion::SloburnV1;
    s
}
