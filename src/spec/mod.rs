//! Spec loading: YAML files into the one validated model, with every problem placed by file,
//! line, column and field path.

pub mod corrections;
pub mod diag;
mod document;
pub mod formats;
pub mod labels;
mod lenient;
pub mod load;
pub mod matcher;
pub mod model;
pub mod promql;
pub mod yaml;

pub use diag::Diagnostic;
pub use load::{LoadReport, load_paths};
pub use model::*;
