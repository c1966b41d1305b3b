//! Loss-weighting strategies: how per-task losses become the objective.
//!
//! A strategy sees each step's task losses and returns the weight of each
//! task for that step; it knows nothing of layers. One file per strategy,
//! one line in [`build`] to register it (LibMTL's `weighting/` layout).

mod fixed;

pub use fixed::Fixed;

use crate::config::WeightingConfig;

pub trait WeightingStrategy: Send {
    /// The name used in TOML (`weighting.strategy`).
    fn name(&self) -> &'static str;
    /// Weights for this step, given its task losses (one per task, model order).
    fn weights(&mut self, losses: &[f32]) -> Vec<f32>;
}

/// The strategy of a multi-task model over tasks with these configured weights.
pub fn build(config: &WeightingConfig, task_weights: &[f64]) -> Box<dyn WeightingStrategy> {
    match config {
        WeightingConfig::Fixed {} => Box::new(Fixed::new(task_weights)),
    }
}
