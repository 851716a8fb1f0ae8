//! sloburn: SLO error budgets from specs declared as YAML.
//!
//! Data flows one way: spec -> query plan -> source -> history -> evaluation -> snapshot ->
//! exporter, API and web page. [`core`] is the pure part (no I/O); [`spec`] reads and validates
//! the YAML specs into one model.

pub mod allocator;
pub mod config;
pub mod core;
pub mod demo;
pub mod engine;
pub mod exporter;
pub mod html;
pub mod http;
pub mod report;
pub mod rules;
pub mod scrape;
pub mod source;
pub mod spec;
pub mod store;
