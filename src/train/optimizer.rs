//! A small optimizer driver over runtime-shaped parameters.
//!
//! dfdx's `Optimizer` trait needs compile-time shapes, but its update kernels
//! (`AdamConfig::try_update`, `SgdConfig::try_update`) take any shape. This
//! driver owns the moment buffers and calls them, so the arithmetic is dfdx's.

use crate::config::OptimizerConfig;
use crate::model::{Backend, Network, ParamMut};
use dfdx::optim::{AdamConfig, Momentum, SgdConfig, WeightDecay};
use dfdx::prelude::*;

pub struct Optimizer<B: Backend> {
    config: OptimizerConfig,
    /// Multiplies the configured learning rate (set by the schedule before each step).
    pub lr_scale: f64,
    /// Steps taken; Adam's bias correction needs it from 1.
    step: i32,
    /// Per parameter, in `Network::visit_params` order: Adam's two moments or SGD's velocity.
    state: Vec<(<B as Storage<f32>>::Vec, <B as Storage<f32>>::Vec)>,
}

impl<B: Backend> Optimizer<B> {
    pub fn new(config: OptimizerConfig) -> Self {
        Optimizer {
            config,
            lr_scale: 1.0,
            step: 0,
            state: Vec::new(),
        }
    }

    /// One update of every parameter: the trunk's from `trunk_grads`, head
    /// `h`'s from `head_grads[h]`.
    pub fn step(
        &mut self,
        network: &mut Network<B>,
        trunk_grads: &mut Gradients<f32, B>,
        head_grads: &mut [Gradients<f32, B>],
    ) -> Result<(), B::Err> {
        self.step += 1;
        let mut index = 0;
        let mut result = Ok(());
        let mut apply = |p: ParamMut<B>, grads: &mut Gradients<f32, B>| {
            if result.is_ok() {
                result = match p {
                    ParamMut::Matrix(t) => self.update(index, t, grads),
                    ParamMut::Vector(t) => self.update(index, t, grads),
                };
            }
            index += 1;
        };
        network.visit_trunk_params(&mut |p| apply(p, trunk_grads));
        for (h, grads) in head_grads.iter_mut().enumerate() {
            network.visit_head_params(h, &mut |p| apply(p, grads));
        }
        result
    }

    fn update<S: Shape>(
        &mut self,
        index: usize,
        param: &mut Tensor<S, f32, B>,
        grads: &mut Gradients<f32, B>,
    ) -> Result<(), B::Err> {
        if index == self.state.len() {
            let dev = param.device().clone();
            let n = param.shape().num_elements();
            let zeros = || <B as Storage<f32>>::try_alloc_len(&dev, n);
            self.state.push((zeros()?, zeros()?));
        }
        let grad = &*grads.get_or_alloc_mut(param)?;
        let (m1, m2) = &mut self.state[index];
        match self.config {
            OptimizerConfig::Adam {
                lr,
                betas,
                eps,
                weight_decay,
            } => AdamConfig {
                lr: lr * self.lr_scale,
                betas,
                eps,
                weight_decay: (weight_decay > 0.0).then_some(WeightDecay::L2(weight_decay)),
            }
            .try_update(self.step, param, m1, m2, grad),
            OptimizerConfig::Sgd {
                lr,
                momentum,
                nesterov,
                weight_decay,
            } => SgdConfig {
                lr: lr * self.lr_scale,
                momentum: (momentum > 0.0).then_some(if nesterov {
                    Momentum::Nesterov(momentum)
                } else {
                    Momentum::Classic(momentum)
                }),
                weight_decay: (weight_decay > 0.0).then_some(WeightDecay::L2(weight_decay)),
            }
            .try_update(param, m1, grad),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam on f(p) = p² from p = 1 with lr 0.1; the expected values come from
    /// `tests/reference/losses_metrics.py` (Adam written out in plain Python).
    #[test]
    fn adam_steps_match_the_hand_computed_values() {
        let dev = Cpu::default();
        let mut p = dev.tensor_from_vec(vec![1.0f32], (1usize,));
        let mut opt = Optimizer::new(OptimizerConfig::Adam {
            lr: 0.1,
            betas: [0.9, 0.999],
            eps: 1e-12,
            weight_decay: 0.0,
        });
        for want in [0.9f32, 0.800_412_2, 0.701_586_3] {
            let mut grads = p.leaky_trace().square().sum().backward();
            opt.step += 1;
            opt.update(0, &mut p, &mut grads).unwrap();
            assert!(
                (p.as_vec()[0] - want).abs() < 1e-5,
                "{:?} vs {want}",
                p.as_vec()
            );
        }
    }
}
