//! Loss-weighting strategies: how per-task losses become the objective.
//!
//! A strategy sees each step's task losses and returns the weight of each
//! task for that step; it knows nothing of layers. One file per strategy,
//! one line in [`build`] to register it (LibMTL's `weighting/` layout).

mod fixed;
mod gradnorm;
mod scalar_optimizer;
mod uncertainty;

pub use fixed::Fixed;
pub use gradnorm::GradNorm;
pub use uncertainty::Uncertainty;

use crate::config::{GradNormOn, OptimizerConfig, TaskConfig, WeightingConfig};

/// Which per-task gradient norms a strategy needs each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradientNorms {
    None,
    /// `‖∂L_i/∂z‖` at the shared representation.
    Representation,
    /// `‖∇_W L_i‖` at the weights of the last shared layer.
    LastSharedLayer,
}

pub trait WeightingStrategy: Send {
    /// The name used in TOML (`weighting.strategy`).
    fn name(&self) -> &'static str;
    /// Weights for this step, given its task losses (one per task, model order).
    fn weights(&mut self, losses: &[f32]) -> Vec<f32>;
    /// The per-task gradient norms `update` wants.
    fn gradient_norms(&self) -> GradientNorms {
        GradientNorms::None
    }
    /// After the step: update the strategy's own state from the step's losses
    /// and, if asked for, the per-task gradient norms (`lr_scale` is the
    /// model's learning-rate schedule factor). `Err(task)` if that task's state
    /// stopped being a finite number.
    fn update(
        &mut self,
        _losses: &[f32],
        _norms: Option<&[f64]>,
        _lr_scale: f64,
    ) -> Result<(), usize> {
        Ok(())
    }
    /// Per-task state worth logging beside the weights, by column name.
    fn extras(&self) -> Vec<(&'static str, Vec<f64>)> {
        Vec::new()
    }
}

/// The strategy of a multi-task model: the registry from TOML names to strategies.
pub fn build(
    config: &WeightingConfig,
    tasks: &[&TaskConfig],
    optimizer: OptimizerConfig,
) -> Box<dyn WeightingStrategy> {
    match *config {
        WeightingConfig::Fixed {} => Box::new(Fixed::new(
            &tasks.iter().map(|t| t.weight).collect::<Vec<_>>(),
        )),
        WeightingConfig::Uncertainty {
            initial_log_variance,
            lr,
            regression_form_for_all_tasks,
        } => Box::new(Uncertainty::new(
            &tasks.iter().map(|t| t.kind).collect::<Vec<_>>(),
            initial_log_variance,
            regression_form_for_all_tasks,
            optimizer,
            lr,
        )),
        WeightingConfig::GradNorm { alpha, lr, on } => Box::new(GradNorm::new(
            tasks.len(),
            alpha,
            lr,
            match on {
                GradNormOn::LastSharedLayer => GradientNorms::LastSharedLayer,
                GradNormOn::Representation => GradientNorms::Representation,
            },
            optimizer,
        )),
    }
}
