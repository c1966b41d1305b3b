//! Fixed weights: the objective is Σ_i w_i·L_i with each task's `weight`.

use mtl_plugin::{OptimizerConfig, Options, StrategyBuilder, TaskInfo, WeightingStrategy};
use serde::{Deserialize, Serialize};

/// `strategy = "fixed"`: no options of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedOptions {}

impl Options for FixedOptions {
    const NAME: &'static str = "fixed";
    const ABOUT: &'static str = "Σ w_i·L_i with each task's `weight`";
}

impl StrategyBuilder for FixedOptions {
    fn build(&self, tasks: &[TaskInfo], _: &OptimizerConfig) -> Box<dyn WeightingStrategy> {
        Box::new(Fixed::new(
            &tasks.iter().map(|t| t.weight).collect::<Vec<_>>(),
        ))
    }
}

pub struct Fixed {
    weights: Vec<f32>,
}

impl Fixed {
    pub fn new(weights: &[f64]) -> Self {
        Fixed {
            weights: weights.iter().map(|&w| w as f32).collect(),
        }
    }
}

impl WeightingStrategy for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }

    fn weights(&mut self, losses: &[f32]) -> Vec<f32> {
        debug_assert_eq!(losses.len(), self.weights.len());
        self.weights.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_configured_weights_whatever_the_losses() {
        let mut f = Fixed::new(&[1.0, 0.5]);
        assert_eq!(f.weights(&[3.0, 100.0]), vec![1.0, 0.5]);
        assert_eq!(f.weights(&[0.1, 0.2]), vec![1.0, 0.5]);
    }
}
