//! Backward passes through the parameter-free layers after the last shared
//! layer, computed directly from one recorded forward pass: GradNorm needs
//! one such pass per task, and replaying them on a tape would redo the
//! forward and allocate gradient buffers each time.

use super::maxpool2d::{pool_backward, pool_forward};
use crate::plan::{PoolGeometry, ResolvedLayer};

/// What the backward pass of one layer needs from its forward pass.
enum Saved {
    /// ReLU: the input was positive.
    Mask(Vec<bool>),
    /// tanh and sigmoid: their outputs.
    Tanh(Vec<f32>),
    Sigmoid(Vec<f32>),
    /// Max-pooling: where each output came from, the input length and the geometry.
    Argmax(Vec<u32>, usize, PoolGeometry),
    /// Flatten (and dropout with p = 0): nothing.
    Identity,
}

/// The recorded forward pass through a run of parameter-free layers.
pub struct TailPass {
    saved: Vec<Saved>,
}

impl TailPass {
    /// Runs `layers` on `input` (whole batch, row-major): their output, and
    /// what the backward passes need. `None` if a layer is random (dropout
    /// with p > 0) or has parameters.
    pub fn record(
        layers: &[ResolvedLayer],
        input: Vec<f32>,
        batch: usize,
    ) -> Option<(Vec<f32>, TailPass)> {
        let mut x = input;
        let mut saved = Vec::with_capacity(layers.len());
        for layer in layers {
            match layer {
                ResolvedLayer::Relu => {
                    saved.push(Saved::Mask(x.iter().map(|&v| v > 0.0).collect()));
                    x.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                ResolvedLayer::Tanh => {
                    x.iter_mut().for_each(|v| *v = v.tanh());
                    saved.push(Saved::Tanh(x.clone()));
                }
                ResolvedLayer::Sigmoid => {
                    x.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
                    saved.push(Saved::Sigmoid(x.clone()));
                }
                ResolvedLayer::Flatten | ResolvedLayer::Dropout { p: 0.0 } => {
                    saved.push(Saved::Identity)
                }
                ResolvedLayer::Maxpool2d { geometry: g } => {
                    let (out, argmax) = pool_forward(&x, batch * g.c, g);
                    saved.push(Saved::Argmax(argmax, x.len(), *g));
                    x = out;
                }
                _ => return None,
            }
        }
        Some((x, TailPass { saved }))
    }

    /// The gradient at the tail's input, given the gradient at its output.
    pub fn backward(&self, grad: &[f32]) -> Vec<f32> {
        self.backward_layers(grad, 0)
    }

    /// When the tail starts with max-pooling, directly or after a ReLU, the
    /// gradient at its input is zero except at each pooling window's
    /// maximum: where those maxima are, and whether the ReLU let them pass.
    pub fn pooled_support(&self) -> Option<PooledSupport<'_>> {
        match self.saved.as_slice() {
            [Saved::Argmax(argmax, _, geometry), ..] => Some(PooledSupport {
                argmax,
                geometry,
                mask: None,
            }),
            [Saved::Mask(mask), Saved::Argmax(argmax, _, geometry), ..] => Some(PooledSupport {
                argmax,
                geometry,
                mask: Some(mask),
            }),
            _ => None,
        }
    }

    /// With a [`Self::pooled_support`]: the gradient at the pooling's output,
    /// given the gradient at the tail's output. The gradient at the tail's
    /// input is this value at each window's maximum (where the ReLU passed
    /// it), and zero elsewhere.
    pub fn backward_to_pooling(&self, grad: &[f32]) -> Vec<f32> {
        let pool = self
            .saved
            .iter()
            .position(|s| matches!(s, Saved::Argmax(..)))
            .expect("a tail with a pooled support");
        self.backward_layers(grad, pool + 1)
    }

    /// The gradient at the input of layer `first` of the tail.
    fn backward_layers(&self, grad: &[f32], first: usize) -> Vec<f32> {
        let mut g = grad.to_vec();
        for s in self.saved[first..].iter().rev() {
            match s {
                Saved::Mask(m) => g.iter_mut().zip(m).for_each(|(v, &on)| {
                    if !on {
                        *v = 0.0
                    }
                }),
                Saved::Tanh(y) => g.iter_mut().zip(y).for_each(|(v, y)| *v *= 1.0 - y * y),
                Saved::Sigmoid(y) => g.iter_mut().zip(y).for_each(|(v, y)| *v *= y * (1.0 - y)),
                Saved::Identity => {}
                Saved::Argmax(argmax, len, geometry) => {
                    let mut gx = vec![0f32; *len];
                    pool_backward(&g, argmax, &mut gx, geometry);
                    g = gx;
                }
            }
        }
        g
    }
}

/// Where the gradient at a tail's input can be nonzero (see
/// [`TailPass::pooled_support`]).
pub struct PooledSupport<'a> {
    /// Per pooling output `[batch·c, h_out·w_out]`: the index of its window's
    /// maximum inside its input plane.
    pub argmax: &'a [u32],
    pub geometry: &'a PoolGeometry,
    /// Per pooling input `[batch·c, h·w]`: whether a ReLU before the pooling passed it.
    pub mask: Option<&'a [bool]>,
}
