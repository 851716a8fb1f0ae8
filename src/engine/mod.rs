//! The live engine: query plan, history, evaluation loop and the snapshot it publishes.

pub mod history;
pub mod snapshot;
