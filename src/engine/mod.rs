//! The live engine: query plan, history, evaluation loop and the snapshot it publishes.

pub mod batch;
pub mod counters;
pub mod evaluate;
pub mod history;
pub mod plan;
pub mod read_plan;
pub mod runner;
pub mod snapshot;
