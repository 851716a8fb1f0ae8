//! The built-in scrape source: sloburn reads services' `/metrics` itself, for teams without a
//! Prometheus.

pub mod exposition;
