//! The optimizer of a strategy's own learned scalars (one per task), with the
//! model's optimizer kind and hyperparameters (the reference implementations
//! put them in the model's optimizer) and a learning rate of their own.
//! Same update rules as dfdx's Adam and SGD kernels, in f64.

use crate::weighting::OptimizerConfig;

pub struct ScalarOptimizer {
    config: OptimizerConfig,
    lr: f64,
    step: i32,
    m1: Vec<f64>,
    m2: Vec<f64>,
}

impl ScalarOptimizer {
    /// `lr = None` keeps the model's learning rate.
    pub fn new(config: OptimizerConfig, lr: Option<f64>, len: usize) -> Self {
        let model_lr = match config {
            OptimizerConfig::Adam { lr, .. } | OptimizerConfig::Sgd { lr, .. } => lr,
        };
        ScalarOptimizer {
            config,
            lr: lr.unwrap_or(model_lr),
            step: 0,
            m1: vec![0.0; len],
            m2: vec![0.0; len],
        }
    }

    /// One update of `params` along `grads`, scaled like the model's by `lr_scale`.
    pub fn step(&mut self, params: &mut [f64], grads: &[f64], lr_scale: f64) {
        self.step += 1;
        let lr = self.lr * lr_scale;
        for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
            match self.config {
                OptimizerConfig::Adam {
                    betas,
                    eps,
                    weight_decay,
                    ..
                } => {
                    let g = g + weight_decay * *p;
                    self.m1[i] = self.m1[i] * betas[0] + g * (1.0 - betas[0]);
                    self.m2[i] = self.m2[i] * betas[1] + g * g * (1.0 - betas[1]);
                    let m_hat = self.m1[i] / (1.0 - betas[0].powi(self.step));
                    let v_hat = self.m2[i] / (1.0 - betas[1].powi(self.step));
                    *p -= lr * m_hat / (v_hat.sqrt() + eps);
                }
                OptimizerConfig::Sgd {
                    momentum,
                    nesterov,
                    weight_decay,
                    ..
                } => {
                    let g = g + weight_decay * *p;
                    let update = if momentum > 0.0 {
                        self.m1[i] = momentum * self.m1[i] + g;
                        if nesterov {
                            g + momentum * self.m1[i]
                        } else {
                            self.m1[i]
                        }
                    } else {
                        g
                    };
                    *p -= lr * update;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_matches_the_reference_script() {
        // f(p) = p², p0 = 1, lr 0.1, eps 1e-12: tests/reference/losses_metrics.py.
        let cfg = OptimizerConfig::Adam {
            lr: 0.1,
            betas: [0.9, 0.999],
            eps: 1e-12,
            weight_decay: 0.0,
        };
        let mut opt = ScalarOptimizer::new(cfg, None, 1);
        let mut p = [1.0];
        for want in [0.9, 0.800_412_227_671_349_7, 0.701_586_271_387_801_5] {
            let g = [2.0 * p[0]];
            opt.step(&mut p, &g, 1.0);
            assert!((p[0] - want).abs() < 1e-9, "{} vs {want}", p[0]);
        }
    }

    #[test]
    fn sgd_with_its_own_learning_rate() {
        let cfg = OptimizerConfig::Sgd {
            lr: 0.01,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        };
        let mut opt = ScalarOptimizer::new(cfg, Some(0.5), 2);
        let mut p = [1.0, -2.0];
        opt.step(&mut p, &[2.0, 4.0], 1.0);
        assert_eq!(p, [0.0, -4.0]);
    }
}
