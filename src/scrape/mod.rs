//! The built-in scrape source: sloburn reads services' `/metrics` itself, for teams without a
//! Prometheus.

pub mod exposition;
mod feed;
pub mod source;

pub use feed::ScrapeFeed;

pub use source::{ScrapeConfig, Scraper, TargetConfig, Unscrapeable};
