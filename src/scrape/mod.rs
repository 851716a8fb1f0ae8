//! The built-in scrape source: sloburn reads services' `/metrics` itself, for teams without a
//! Prometheus.

pub mod exposition;
pub mod source;

pub use source::{ScrapeConfig, Scraper, TargetConfig, Unscrapeable};
