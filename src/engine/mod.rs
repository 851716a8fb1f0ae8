//! The live engine: query plan, history, evaluation loop and the snapshot it publishes.

pub mod snapshot;
