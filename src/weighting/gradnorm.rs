//! GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).
//!
//! Task weights `w_i` (start at 1) are learned so that the gradient norms
//! `G_i = ‖∇_W w_i·L_i‖₂ = w_i·‖∇_W L_i‖₂` at the shared weights `W` (the
//! last shared layer, the paper's choice) move toward a common scale set by
//! each task's relative training rate:
//! `r_i = (L_i/L_i(0)) / mean_j(L_j/L_j(0))`, with `L_i(0)` the loss at the
//! first step, and `L_grad = Σ_i |G_i − mean(G)·r_i^α|` with the target held
//! constant. So `∂L_grad/∂w_i = sign(G_i − target_i)·‖∇_W L_i‖`. After each
//! step on `w` (its own learning rate) the weights are kept positive and
//! renormalised to sum to the number of tasks.

use mtl_plugin::scalar_optimizer::ScalarOptimizer;
use mtl_plugin::{
    GradientNorms, OptimizerConfig, OptionError, Options, StrategyBuilder, TaskInfo,
    WeightingStrategy,
};
use serde::{Deserialize, Serialize};

/// `strategy = "gradnorm"`: weights learned to balance gradient norms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradNormOptions {
    /// Strength of the restoring force toward equal training rates.
    #[serde(default = "gradnorm_alpha")]
    pub alpha: f64,
    /// Learning rate of the task weights.
    #[serde(default = "gradnorm_lr")]
    pub lr: f64,
    /// Where the gradient norms are taken.
    #[serde(default)]
    pub on: GradNormOn,
}

fn gradnorm_alpha() -> f64 {
    1.5
}
fn gradnorm_lr() -> f64 {
    0.025
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradNormOn {
    /// The weights of the last shared layer (the paper's choice).
    #[default]
    LastSharedLayer,
    /// The shared representation the heads read.
    Representation,
}

impl Options for GradNormOptions {
    const NAME: &'static str = "gradnorm";
    const ABOUT: &'static str = "Chen et al. (2018): weights learned to balance gradient norms";

    fn check(&self) -> Result<(), OptionError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(OptionError::new(
                "alpha",
                format!("{}, expected a number ≥ 0", self.alpha),
            ));
        }
        super::check_positive("lr", self.lr)
    }
}

impl StrategyBuilder for GradNormOptions {
    fn build(&self, tasks: &[TaskInfo], optimizer: &OptimizerConfig) -> Box<dyn WeightingStrategy> {
        Box::new(GradNorm::new(
            tasks.len(),
            self.alpha,
            self.lr,
            match self.on {
                GradNormOn::LastSharedLayer => GradientNorms::LastSharedLayer,
                GradNormOn::Representation => GradientNorms::Representation,
            },
            *optimizer,
        ))
    }
}

pub struct GradNorm {
    weights: Vec<f64>,
    alpha: f64,
    on: GradientNorms,
    optimizer: ScalarOptimizer,
    initial_losses: Option<Vec<f64>>,
    /// The last step's `G_i` and `r_i`, for the logs.
    last_norms: Vec<f64>,
    last_ratios: Vec<f64>,
}

/// Smallest weight kept after a step: weights stay positive.
const MIN_WEIGHT: f64 = 1e-6;

impl GradNorm {
    pub fn new(
        tasks: usize,
        alpha: f64,
        lr: f64,
        on: GradientNorms,
        model_optimizer: OptimizerConfig,
    ) -> Self {
        GradNorm {
            weights: vec![1.0; tasks],
            alpha,
            on,
            optimizer: ScalarOptimizer::new(model_optimizer, Some(lr), tasks),
            initial_losses: None,
            last_norms: vec![0.0; tasks],
            last_ratios: vec![1.0; tasks],
        }
    }

    /// One GradNorm step from this step's losses and the per-task norms
    /// `‖∇_W L_i‖`. Returns `(G, r, L_grad, ∂L_grad/∂w)` before the update.
    pub fn step(
        &mut self,
        losses: &[f32],
        norms: &[f64],
        lr_scale: f64,
    ) -> (Vec<f64>, Vec<f64>, f64, Vec<f64>) {
        let losses: Vec<f64> = losses.iter().map(|&l| f64::from(l)).collect();
        let initial = self.initial_losses.get_or_insert_with(|| losses.clone());
        let t = losses.len() as f64;
        let ratio: Vec<f64> = losses
            .iter()
            .zip(initial.iter())
            .map(|(l, l0)| l / l0)
            .collect();
        let mean_ratio = ratio.iter().sum::<f64>() / t;
        let r: Vec<f64> = ratio.iter().map(|x| x / mean_ratio).collect();
        let g: Vec<f64> = self.weights.iter().zip(norms).map(|(w, n)| w * n).collect();
        let mean_g = g.iter().sum::<f64>() / t;
        let target: Vec<f64> = r.iter().map(|ri| mean_g * ri.powf(self.alpha)).collect();
        let l_grad: f64 = g.iter().zip(&target).map(|(gi, ti)| (gi - ti).abs()).sum();
        let grad: Vec<f64> = g
            .iter()
            .zip(&target)
            .zip(norms)
            .map(|((gi, ti), n)| {
                if gi > ti {
                    *n
                } else if gi < ti {
                    -n
                } else {
                    0.0
                }
            })
            .collect();
        self.optimizer.step(&mut self.weights, &grad, lr_scale);
        for w in &mut self.weights {
            *w = w.max(MIN_WEIGHT);
        }
        let sum: f64 = self.weights.iter().sum();
        for w in &mut self.weights {
            *w *= t / sum;
        }
        self.last_norms = g.clone();
        self.last_ratios = r.clone();
        (g, r, l_grad, grad)
    }
}

impl WeightingStrategy for GradNorm {
    fn name(&self) -> &'static str {
        "gradnorm"
    }

    fn weights(&mut self, _losses: &[f32]) -> Vec<f32> {
        self.weights.iter().map(|&w| w as f32).collect()
    }

    fn gradient_norms(&self) -> GradientNorms {
        self.on
    }

    fn update(
        &mut self,
        losses: &[f32],
        norms: Option<&[f64]>,
        lr_scale: f64,
    ) -> Result<(), usize> {
        let norms = norms.expect("the trainer computes the norms GradNorm asks for");
        self.step(losses, norms, lr_scale);
        match self.weights.iter().position(|w| !w.is_finite()) {
            Some(task) => Err(task),
            None => Ok(()),
        }
    }

    fn extras(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![
            ("grad_norm", self.last_norms.clone()),
            ("loss_ratio", self.last_ratios.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    //! `tests/reference/weighting.py` recomputes these numbers.
    use super::*;

    #[test]
    fn one_update_of_two_tasks_by_hand() {
        let sgd = OptimizerConfig::Sgd {
            lr: 1.0,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let mut gn = GradNorm::new(2, 1.5, 0.1, GradientNorms::LastSharedLayer, sgd);
        // First step sets L(0) = (1, 1); with w = (1, 1) and equal ratios nothing is learned
        // beyond pulling both G toward their mean.
        gn.step(&[1.0, 1.0], &[2.0, 1.0], 1.0);
        // Back to w = (1, 1) to check the second step by hand.
        gn.weights = vec![1.0, 1.0];
        let (g, r, l_grad, grad) = gn.step(&[0.5, 1.0], &[2.0, 1.0], 1.0);
        assert_eq!(g, vec![2.0, 1.0]);
        assert!((r[0] - 2.0 / 3.0).abs() < 1e-12 && (r[1] - 4.0 / 3.0).abs() < 1e-12);
        // targets 1.5·(2/3)^1.5 = 0.8164966, 1.5·(4/3)^1.5 = 2.3094011
        assert!((l_grad - 2.492_904_5).abs() < 1e-6, "{l_grad}");
        assert_eq!(grad, vec![2.0, -1.0]);
        // w = (1, 1) − 0.1·(2, −1) = (0.8, 1.1), renormalised to sum 2.
        assert!(
            (gn.weights[0] - 0.842_105_263).abs() < 1e-8
                && (gn.weights[1] - 1.157_894_737).abs() < 1e-8
        );
    }

    #[test]
    fn weights_stay_positive_and_sum_to_the_task_count() {
        let sgd = OptimizerConfig::Sgd {
            lr: 1.0,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let mut gn = GradNorm::new(3, 1.5, 10.0, GradientNorms::Representation, sgd);
        gn.step(&[1.0, 1.0, 1.0], &[100.0, 1.0, 1.0], 1.0);
        assert!(gn.weights.iter().all(|&w| w > 0.0));
        assert!((gn.weights.iter().sum::<f64>() - 3.0).abs() < 1e-9);
    }
}
