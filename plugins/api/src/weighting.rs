//! Loss-weighting strategies: how per-task losses become the objective
//! (`[weighting] strategy = "…"`).

use crate::task::Likelihood;
use serde::{Deserialize, Serialize};

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

/// What a strategy knows of each task of the model it weights.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub name: String,
    /// The task's `weight` (the loss weight of fixed weighting).
    pub weight: f64,
    pub likelihood: Likelihood,
}

/// The `[weighting]` options of a strategy, which build the strategy of one model.
pub trait StrategyBuilder: Send + Sync {
    /// A fresh strategy for a model with these tasks (model order) trained
    /// with `optimizer` (a strategy with learned scalars of its own may
    /// update them as the model's optimizer would: see [`crate::scalar_optimizer`]).
    fn build(&self, tasks: &[TaskInfo], optimizer: &OptimizerConfig) -> Box<dyn WeightingStrategy>;
}

/// The model's optimizer (`[train.optimizer]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Adam {
        #[serde(default = "adam_lr")]
        lr: f64,
        #[serde(default = "adam_betas")]
        betas: [f64; 2],
        #[serde(default = "adam_eps")]
        eps: f64,
        /// L2 penalty added to the gradient (PyTorch's `Adam(weight_decay=…)`).
        #[serde(default)]
        weight_decay: f64,
    },
    Sgd {
        #[serde(default = "sgd_lr")]
        lr: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f64,
    },
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam {
            lr: adam_lr(),
            betas: adam_betas(),
            eps: adam_eps(),
            weight_decay: 0.0,
        }
    }
}

fn adam_lr() -> f64 {
    1e-3
}
fn adam_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn adam_eps() -> f64 {
    1e-8
}
fn sgd_lr() -> f64 {
    0.01
}
