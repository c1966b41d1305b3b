//! Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).
//!
//! One learned log-variance `s_i = log σ_i²` per task. The objective is
//! `Σ_i c_i·exp(−s_i)·L_i + ½·s_i` with the paper's two likelihoods:
//! `c_i = ½` for regression (Gaussian) and `c_i = 1` for classification and
//! binary tasks (softmax with temperature). So the model's gradient weights
//! task `i` by `c_i·exp(−s_i)`, and `s_i` follows
//! `∂/∂s_i = −c_i·exp(−s_i)·L_i + ½`, whose zero is `exp(s_i) = 2·c_i·L_i`:
//! for a regression task σ_i² settles at the task's MSE. The total can be
//! negative; that is expected.

use mtl_plugin::scalar_optimizer::ScalarOptimizer;
use mtl_plugin::{
    Likelihood, OptimizerConfig, OptionError, Options, StrategyBuilder, TaskInfo, WeightingStrategy,
};
use serde::{Deserialize, Serialize};

/// `strategy = "uncertainty"`: a learned log-variance per task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintyOptions {
    /// Initial `s_i = log σ_i²`.
    #[serde(default)]
    pub initial_log_variance: f64,
    /// Learning rate of the log-variances; default: the model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Use the regression form `½·exp(−s)·L + ½·s` for every task.
    #[serde(default)]
    pub regression_form_for_all_tasks: bool,
}

impl Options for UncertaintyOptions {
    const NAME: &'static str = "uncertainty";
    const ABOUT: &'static str = "Kendall, Gal & Cipolla (2018): a learned log-variance per task";

    fn check(&self) -> Result<(), OptionError> {
        let s = self.initial_log_variance;
        if !s.is_finite() || s.abs() > 50.0 {
            return Err(OptionError::new(
                "initial_log_variance",
                format!("{s}, expected a number between -50 and 50"),
            ));
        }
        if let Some(lr) = self.lr {
            super::check_positive("lr", lr)?;
        }
        Ok(())
    }
}

impl StrategyBuilder for UncertaintyOptions {
    fn build(&self, tasks: &[TaskInfo], optimizer: &OptimizerConfig) -> Box<dyn WeightingStrategy> {
        Box::new(Uncertainty::new(
            &tasks.iter().map(|t| t.likelihood).collect::<Vec<_>>(),
            self.initial_log_variance,
            self.regression_form_for_all_tasks,
            *optimizer,
            self.lr,
        ))
    }
}

pub struct Uncertainty {
    /// `s_i = log σ_i²`.
    log_variance: Vec<f64>,
    /// `c_i`: ½ (regression form) or 1.
    factor: Vec<f64>,
    optimizer: ScalarOptimizer,
}

impl Uncertainty {
    pub fn new(
        kinds: &[Likelihood],
        initial_log_variance: f64,
        regression_form_for_all_tasks: bool,
        model_optimizer: OptimizerConfig,
        lr: Option<f64>,
    ) -> Self {
        Uncertainty {
            log_variance: vec![initial_log_variance; kinds.len()],
            factor: kinds
                .iter()
                .map(|k| {
                    if regression_form_for_all_tasks || *k == Likelihood::Gaussian {
                        0.5
                    } else {
                        1.0
                    }
                })
                .collect(),
            optimizer: ScalarOptimizer::new(model_optimizer, lr, kinds.len()),
        }
    }

    /// The weighted objective `Σ c_i·exp(−s_i)·L_i + ½·s_i` (for tests and logs).
    pub fn objective(&self, losses: &[f32]) -> f64 {
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                self.factor[i] * (-self.log_variance[i]).exp() * f64::from(l)
                    + 0.5 * self.log_variance[i]
            })
            .sum()
    }

    /// `∂ objective / ∂ s_i`.
    pub fn gradient(&self, losses: &[f32]) -> Vec<f64> {
        losses
            .iter()
            .enumerate()
            .map(|(i, &l)| -self.factor[i] * (-self.log_variance[i]).exp() * f64::from(l) + 0.5)
            .collect()
    }
}

impl WeightingStrategy for Uncertainty {
    fn name(&self) -> &'static str {
        "uncertainty"
    }

    fn weights(&mut self, _losses: &[f32]) -> Vec<f32> {
        self.factor
            .iter()
            .zip(&self.log_variance)
            .map(|(c, s)| (c * (-s).exp()) as f32)
            .collect()
    }

    fn update(
        &mut self,
        losses: &[f32],
        _norms: Option<&[f64]>,
        lr_scale: f64,
    ) -> Result<(), usize> {
        let grad = self.gradient(losses);
        self.optimizer.step(&mut self.log_variance, &grad, lr_scale);
        match self.log_variance.iter().position(|s| !s.is_finite()) {
            Some(task) => Err(task),
            None => Ok(()),
        }
    }

    fn extras(&self) -> Vec<(&'static str, Vec<f64>)> {
        vec![(
            "sigma2",
            self.log_variance.iter().map(|s| s.exp()).collect(),
        )]
    }
}

#[cfg(test)]
mod tests {
    //! Values by hand; `tests/reference/weighting.py` recomputes them.
    use super::*;

    fn sgd(lr: f64) -> OptimizerConfig {
        OptimizerConfig::Sgd {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    #[test]
    fn objective_weights_and_gradient_for_two_tasks() {
        // A classification task (c = 1) with L = 2 and a regression task (c = ½) with L = 3, s = (0.5, −1).
        let mut u = Uncertainty::new(
            &[Likelihood::Categorical, Likelihood::Gaussian],
            0.0,
            false,
            sgd(0.1),
            None,
        );
        u.log_variance = vec![0.5, -1.0];
        let losses = [2.0f32, 3.0];
        // e^−0.5·2 + ½·0.5 + ½·e·3 − ½ = 1.2130613 + 0.25 + 4.0774227 − 0.5
        assert!(
            (u.objective(&losses) - 5.040_484_0).abs() < 1e-6,
            "{}",
            u.objective(&losses)
        );
        let w = u.weights(&losses);
        assert!(
            (w[0] - 0.606_530_66).abs() < 1e-6 && (w[1] - 1.359_140_9).abs() < 1e-6,
            "{w:?}"
        );
        let g = u.gradient(&losses);
        // −e^−0.5·2 + ½ = −0.7130613;  −½·e·3 + ½ = −3.5774227
        assert!(
            (g[0] + 0.713_061_3).abs() < 1e-6 && (g[1] + 3.577_422_7).abs() < 1e-6,
            "{g:?}"
        );
        // One SGD step with lr 0.1: s ← s − 0.1·g.
        u.update(&losses, None, 1.0).unwrap();
        assert!(
            (u.log_variance[0] - 0.571_306_13).abs() < 1e-6
                && (u.log_variance[1] + 0.642_257_73).abs() < 1e-6
        );
    }

    #[test]
    fn regression_form_for_all_tasks_halves_the_classification_weight() {
        let mut u = Uncertainty::new(&[Likelihood::Categorical], 0.0, true, sgd(0.1), None);
        assert_eq!(u.weights(&[1.0]), vec![0.5]);
    }

    #[test]
    fn sigma_squared_settles_at_the_regression_loss() {
        // With a constant loss L the stationary point is exp(s) = 2·c·L = L for regression.
        let mut u = Uncertainty::new(&[Likelihood::Gaussian], 0.0, false, sgd(0.5), None);
        for _ in 0..2000 {
            u.update(&[0.25], None, 1.0).unwrap();
        }
        assert!((u.extras()[0].1[0] - 0.25).abs() < 1e-9);
    }
}
