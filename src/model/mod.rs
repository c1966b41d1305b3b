//! Models on dfdx: a shared trunk built from the resolved layer list and one
//! head per task (a linear layer, or a small stack ending in one), on any
//! [`Backend`] device. Parameters are runtime-shaped dfdx tensors; layers
//! that dfdx 0.13 lacks on stable (conv2d, maxpool2d) run kernels of their
//! own on the CPU (`conv2d.rs`, `maxpool2d.rs`) and are composed from dfdx
//! ops elsewhere (`composed.rs`).

pub mod composed;
pub mod conv2d;
pub mod device;
pub mod maxpool2d;
pub mod tail;

pub use device::Backend;

use crate::data::SplitMix64;
use crate::plan::{ResolvedLayer, ShapeTable};
use dfdx::prelude::*;
use rayon::prelude::*;

pub use mtl_plugin::Matrix;
pub type Vector<B, T = NoneTape> = Tensor<(usize,), f32, B, T>;
/// A batch of images `[batch, c, h, w]`.
pub type Image<B, T = NoneTape> = Tensor<(usize, usize, usize, usize), f32, B, T>;

/// The values of a contiguous tensor on the host, row-major, in one copy
/// (`as_vec` walks the strides element by element).
pub fn host_copy<B: Backend, S: Shape, T>(t: &Tensor<S, f32, B, T>) -> Vec<f32> {
    let mut v = vec![0f32; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// The gradient buffer of a CPU tensor as a slice, allocated (zeroed) if absent.
pub(crate) fn grad_slice<'a, S: Shape>(
    grads: &'a mut Gradients<f32, Cpu>,
    t: &Tensor<S, f32, Cpu>,
) -> Result<&'a mut [f32], CpuError> {
    Ok(&mut grads.get_or_alloc_mut(t)?[..])
}

/// A batch moving through the trunk: images until a flatten, then vectors.
pub enum Activation<B: Backend, T = NoneTape> {
    Image(Image<B, T>),
    Flat(Matrix<B, T>),
}

impl<B: Backend, T: Tape<f32, B>> Activation<B, T> {
    /// The values, without the tape, and the tape.
    pub fn split_tape(self) -> (Activation<B>, T) {
        match self {
            Activation::Image(x) => {
                let (v, t) = x.split_tape();
                (Activation::Image(v), t)
            }
            Activation::Flat(x) => {
                let (v, t) = x.split_tape();
                (Activation::Flat(v), t)
            }
        }
    }

    /// Backpropagates `grad` (row-major, this activation's shape): `Σ self ⊙ grad`.
    pub fn backward_with(self, grad: Vec<f32>) -> Gradients<f32, B>
    where
        T: Into<OwnedTape<f32, B>>,
    {
        match self {
            Activation::Image(x) => {
                let g = x.device().tensor_from_vec(grad, *x.shape());
                let (x, t) = x.split_tape();
                (x.put_tape(t.into()) * g).sum().backward()
            }
            Activation::Flat(x) => {
                let g = x.device().tensor_from_vec(grad, *x.shape());
                let (x, t) = x.split_tape();
                (x.put_tape(t.into()) * g).sum().backward()
            }
        }
    }
}

impl<B: Backend> Activation<B> {
    pub fn put_tape<T: Tape<f32, B>>(self, tape: T) -> Activation<B, T> {
        match self {
            Activation::Image(x) => Activation::Image(x.put_tape(tape)),
            Activation::Flat(x) => Activation::Flat(x.put_tape(tape)),
        }
    }

    /// A copy that records a fresh tape of its own (same tensor id).
    pub fn leaky_trace(&self) -> Activation<B, OwnedTape<f32, B>> {
        match self {
            Activation::Image(x) => Activation::Image(x.leaky_trace()),
            Activation::Flat(x) => Activation::Flat(x.leaky_trace()),
        }
    }

    /// The values, row-major.
    pub fn values(&self) -> Vec<f32> {
        match self {
            Activation::Image(x) => host_copy(x),
            Activation::Flat(x) => host_copy(x),
        }
    }

    /// The gradient `grads` holds for this activation, row-major.
    pub fn grad_in(&self, grads: &Gradients<f32, B>) -> Vec<f32> {
        match self {
            Activation::Image(x) => host_copy(&grads.get(x)),
            Activation::Flat(x) => host_copy(&grads.get(x)),
        }
    }
}

fn add_into(acc: &mut [f32], v: &[f32]) {
    acc.iter_mut().zip(v).for_each(|(a, b)| *a += b);
}

/// GradNorm's cut at the last shared layer ([`Network::forward_cut`]): that
/// layer and the parameter-free layers after it, run once on plain values.
pub struct Cut {
    index: usize,
    batch: usize,
    /// Linear: the layer's input `[batch, in]`; conv2d: each image's
    /// unfolded rows (`conv2d::forward_values` with `Unfold::Rows`).
    saved: Vec<f32>,
    tail: tail::TailPass,
}

impl Cut {
    /// The gradient at the cut layer's output, given the gradient at the representation.
    pub fn tail_backward(&self, dz: &[f32]) -> Vec<f32> {
        self.tail.backward(dz)
    }
}

/// A mutable view of one parameter, for the optimizer.
pub enum ParamMut<'a, B: Backend> {
    Matrix(&'a mut Matrix<B>),
    Vector(&'a mut Vector<B>),
}

/// One trunk layer with its parameters.
enum Layer<B: Backend> {
    Linear {
        weight: Matrix<B>,
        bias: Vector<B>,
    },
    Conv2d {
        weight: Matrix<B>,
        bias: Vector<B>,
        layer: ResolvedLayer,
        first: bool,
    },
    Other(ResolvedLayer),
}

/// A task's head: representation → task outputs through its hidden layers
/// (linear and elementwise) and a linear output layer.
pub struct Head<B: Backend> {
    layers: Vec<HeadLayer<B>>,
}

enum HeadLayer<B: Backend> {
    Linear { weight: Matrix<B>, bias: Vector<B> },
    Elementwise(ResolvedLayer),
}

impl<B: Backend> Head<B> {
    /// The outputs `[batch, head size]`; dropout is active only when `train` is set.
    pub fn forward<T: Tape<f32, B>>(&self, z: Matrix<B, T>, train: bool) -> Matrix<B, T> {
        let mut a = z;
        for layer in &self.layers {
            a = match layer {
                HeadLayer::Linear { weight, bias } => linear(a, weight, bias),
                HeadLayer::Elementwise(r) => match elementwise(r, Activation::Flat(a), train) {
                    Activation::Flat(a) => a,
                    Activation::Image(_) => unreachable!("elementwise layers keep the shape"),
                },
            };
        }
        a
    }
}

/// The trunk and the heads of one model (multi-task or single-task).
pub struct Network<B: Backend> {
    layers: Vec<Layer<B>>,
    pub heads: Vec<Head<B>>,
    dev: B,
}

fn linear<B: Backend, T: Tape<f32, B>>(
    x: Matrix<B, T>,
    weight: &Matrix<B>,
    bias: &Vector<B>,
) -> Matrix<B, T> {
    let y = x.matmul(weight.clone());
    let shape = *y.shape();
    y + bias.clone().broadcast_like::<_, Axis<0>>(&shape)
}

/// Glorot-uniform weights (fan-in and fan-out as PyTorch and Keras count
/// them) and zero biases: the Keras default the reference scripts use.
fn glorot<B: Backend>(
    dev: &B,
    rng: &mut SplitMix64,
    rows: usize,
    cols: usize,
    fan_in: usize,
    fan_out: usize,
) -> Matrix<B> {
    let limit = (6.0 / (fan_in + fan_out) as f32).sqrt();
    let values = (0..rows * cols)
        .map(|_| (rng.next_f32() * 2.0 - 1.0) * limit)
        .collect();
    dev.tensor_from_vec(values, (rows, cols))
}

impl<B: Backend> Network<B> {
    /// Builds the trunk of `shapes` and one head per entry of `heads` (the
    /// task's name and its head's layers, from [`ShapeTable::heads`]).
    ///
    /// The trunk's initial values depend only on `seed`, and each head's on
    /// `seed` and its task's name, so a single-task baseline starts from
    /// exactly the trunk and head the multi-task model starts from.
    pub fn new(
        dev: &B,
        shapes: &ShapeTable,
        heads: &[(&str, &[ResolvedLayer])],
        seed: u64,
    ) -> Network<B> {
        let mut rng = SplitMix64::derived(seed, "init:trunk");
        let layers = shapes
            .trunk_layers
            .iter()
            .enumerate()
            .map(|(i, l)| match *l {
                ResolvedLayer::Linear { input, out } => Layer::Linear {
                    weight: glorot(dev, &mut rng, input, out, input, out),
                    bias: dev.zeros_like(&(out,)),
                },
                ResolvedLayer::Conv2d { geometry: g } => {
                    let area = g.kernel * g.kernel;
                    Layer::Conv2d {
                        weight: glorot(
                            dev,
                            &mut rng,
                            g.c_out,
                            g.patch_len(),
                            g.c_in * area,
                            g.c_out * area,
                        ),
                        bias: dev.zeros_like(&(g.c_out,)),
                        layer: l.clone(),
                        // Nothing upstream of the first layer needs a gradient.
                        first: i == 0,
                    }
                }
                _ => Layer::Other(l.clone()),
            })
            .collect();
        let heads = heads
            .iter()
            .map(|&(name, layers)| {
                let mut rng = SplitMix64::derived(seed, &format!("init:head:{name}"));
                let layers = layers
                    .iter()
                    .map(|l| match *l {
                        ResolvedLayer::Linear { input, out } => HeadLayer::Linear {
                            weight: glorot(dev, &mut rng, input, out, input, out),
                            bias: dev.zeros_like(&(out,)),
                        },
                        _ => HeadLayer::Elementwise(l.clone()),
                    })
                    .collect();
                Head { layers }
            })
            .collect();
        Network {
            layers,
            heads,
            dev: dev.clone(),
        }
    }

    pub fn device(&self) -> &B {
        &self.dev
    }

    /// The shared representation `[batch, features]` of a batch `[batch, …sample shape]`.
    /// Dropout is active only when `train` is set.
    pub fn trunk<T: Tape<f32, B>>(&self, x: Activation<B, T>, train: bool) -> Matrix<B, T> {
        match self.forward_layers(x, 0..self.layers.len(), train) {
            Activation::Flat(z) => z,
            Activation::Image(_) => unreachable!("plan::shapes checked the trunk ends flat"),
        }
    }

    /// Index of the last trunk layer with parameters (GradNorm's "last shared layer").
    pub fn last_shared_layer(&self) -> Option<usize> {
        self.layers
            .iter()
            .rposition(|l| matches!(l, Layer::Linear { .. } | Layer::Conv2d { .. }))
    }

    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Whether any of `layers` draws random numbers (dropout while training).
    pub fn is_random(&self, layers: std::ops::Range<usize>) -> bool {
        self.layers[layers]
            .iter()
            .any(|l| matches!(l, Layer::Other(ResolvedLayer::Dropout { p }) if *p > 0.0))
    }

    /// Runs trunk layer `index` (linear or conv2d) and every layer after it
    /// on `input`, that layer's input (whole batch, row-major), without a
    /// tape: the representation `[batch, features]`, and what the backward
    /// passes of [`Cut`] need. `None` if a layer after `index` is random or
    /// has parameters.
    pub fn forward_cut(
        &self,
        index: usize,
        input: Vec<f32>,
        batch: usize,
    ) -> Option<(Vec<f32>, Cut)> {
        let tail: Option<Vec<ResolvedLayer>> = self.layers[index + 1..]
            .iter()
            .map(|l| match l {
                Layer::Other(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        let (output, saved) = match &self.layers[index] {
            Layer::Linear { weight, bias } => {
                let (n_in, n_out) = *weight.shape();
                // h[batch, out] = input[batch, in] · W[in, out] + b
                let mut h = host_copy(bias).repeat(batch);
                conv2d::gemm_rowmajor(
                    batch,
                    n_out,
                    n_in,
                    &mut h,
                    true,
                    &input,
                    false,
                    &host_copy(weight),
                    false,
                );
                (h, input)
            }
            Layer::Conv2d {
                weight,
                bias,
                layer: ResolvedLayer::Conv2d { geometry },
                ..
            } => conv2d::forward_values(
                &input,
                &host_copy(weight),
                &host_copy(bias),
                batch,
                geometry,
                conv2d::Unfold::Rows,
            ),
            _ => unreachable!("only linear and conv2d layers have weights"),
        };
        let (z, tail) = tail::TailPass::record(&tail?, output, batch)?;
        Some((
            z,
            Cut {
                index,
                batch,
                saved,
                tail,
            },
        ))
    }

    /// The gradients of the weight matrix of the cut layer, one per gradient
    /// at the representation in `rep_grads` (each `[batch, features]`): a
    /// direct backward pass per gradient through the layers after the cut
    /// layer, then products with the layer's saved input.
    pub fn cut_weight_gradients(&self, cut: &Cut, rep_grads: &[Vec<f32>]) -> Vec<Vec<f32>> {
        let tail_backward =
            || -> Vec<Vec<f32>> { rep_grads.par_iter().map(|g| cut.tail.backward(g)).collect() };
        match &self.layers[cut.index] {
            Layer::Linear { weight, .. } => {
                let (n_in, n_out) = *weight.shape();
                tail_backward()
                    .par_iter()
                    .map(|delta| {
                        // ∇W[in, out] = inputᵀ[in, batch] · δ[batch, out]
                        let mut g = vec![0f32; n_in * n_out];
                        conv2d::gemm_rowmajor(
                            n_in, n_out, cut.batch, &mut g, false, &cut.saved, true, delta, false,
                        );
                        g
                    })
                    .collect()
            }
            Layer::Conv2d {
                layer: ResolvedLayer::Conv2d { geometry },
                ..
            } => match cut.tail.pooled_support() {
                // Max-pooling after the convolution: only each window's maximum has a gradient.
                Some(support) => {
                    let pooled: Vec<Vec<f32>> = rep_grads
                        .par_iter()
                        .map(|g| cut.tail.backward_to_pooling(g))
                        .collect();
                    conv2d::pooled_weight_gradients(&cut.saved, &pooled, &support, geometry)
                }
                None => conv2d::weight_gradients(&cut.saved, &tail_backward(), geometry),
            },
            _ => unreachable!("only linear and conv2d layers have weights"),
        }
    }

    /// The backward pass through the cut layer for the output gradient `dh`
    /// (whole batch), its weight gradient aside: the bias gradient, and the
    /// gradient at the layer's input (`None` for the first layer, whose
    /// input is data).
    pub fn cut_backward(&self, cut: &Cut, dh: &[f32]) -> (Vec<f32>, Option<Vec<f32>>) {
        let input_grad = cut.index > 0;
        match &self.layers[cut.index] {
            Layer::Linear { weight, .. } => {
                let (n_in, n_out) = *weight.shape();
                let mut gb = vec![0f32; n_out];
                for row in dh.chunks(n_out) {
                    add_into(&mut gb, row);
                }
                let da = input_grad.then(|| {
                    // da[batch, in] = dh[batch, out] · Wᵀ[out, in]
                    let mut da = vec![0f32; cut.batch * n_in];
                    conv2d::gemm_rowmajor(
                        cut.batch,
                        n_in,
                        n_out,
                        &mut da,
                        false,
                        dh,
                        false,
                        &host_copy(weight),
                        true,
                    );
                    da
                });
                (gb, da)
            }
            Layer::Conv2d {
                weight,
                layer: ResolvedLayer::Conv2d { geometry: g },
                ..
            } => {
                let da = input_grad.then(|| {
                    let mut da = vec![0f32; cut.batch * g.c_in * g.h * g.w];
                    conv2d::input_gradient_add(&host_copy(weight), dh, &mut da, g);
                    da
                });
                (conv2d::bias_gradient(dh, g), da)
            }
            _ => unreachable!("only linear and conv2d layers have weights"),
        }
    }

    /// Adds the cut layer's weight and bias gradients to `grads`.
    pub fn add_cut_gradients(
        &self,
        cut: &Cut,
        grads: &mut Gradients<f32, B>,
        weight_grad: &[f32],
        bias_grad: &[f32],
    ) -> Result<(), B::Err> {
        match &self.layers[cut.index] {
            Layer::Linear { weight, bias } | Layer::Conv2d { weight, bias, .. } => {
                B::add_to_grad(grads, weight, weight_grad)?;
                B::add_to_grad(grads, bias, bias_grad)?;
                Ok(())
            }
            Layer::Other(_) => unreachable!("only linear and conv2d layers have weights"),
        }
    }

    /// Runs `layers` of the trunk on `x`.
    pub fn forward_layers<T: Tape<f32, B>>(
        &self,
        x: Activation<B, T>,
        layers: std::ops::Range<usize>,
        train: bool,
    ) -> Activation<B, T> {
        let mut a = x;
        for layer in &self.layers[layers] {
            a = match (layer, a) {
                (Layer::Linear { weight, bias }, Activation::Flat(x)) => {
                    Activation::Flat(linear(x, weight, bias))
                }
                (
                    Layer::Conv2d {
                        weight,
                        bias,
                        layer: ResolvedLayer::Conv2d { geometry },
                        first,
                    },
                    Activation::Image(x),
                ) => Activation::Image(B::conv2d(x, weight, bias, *geometry, !first)),
                (Layer::Other(ResolvedLayer::Maxpool2d { geometry }), Activation::Image(x)) => {
                    Activation::Image(B::maxpool2d(x, *geometry))
                }
                (Layer::Other(ResolvedLayer::Flatten), Activation::Image(x)) => {
                    let (b, c, h, w) = *x.shape();
                    Activation::Flat(x.reshape_like(&(b, c * h * w)))
                }
                (Layer::Other(r), a) => elementwise(r, a, train),
                _ => unreachable!("plan::shapes checked every layer's input rank"),
            };
        }
        a
    }

    /// The trunk's parameters in layer order; with `visit_head_params`, the
    /// stable order the optimizer keys its state by.
    pub fn visit_trunk_params(&mut self, f: &mut impl FnMut(ParamMut<B>)) {
        for layer in &mut self.layers {
            if let Layer::Linear { weight, bias } | Layer::Conv2d { weight, bias, .. } = layer {
                f(ParamMut::Matrix(weight));
                f(ParamMut::Vector(bias));
            }
        }
    }

    pub fn visit_head_params(&mut self, head: usize, f: &mut impl FnMut(ParamMut<B>)) {
        for layer in &mut self.heads[head].layers {
            if let HeadLayer::Linear { weight, bias } = layer {
                f(ParamMut::Matrix(weight));
                f(ParamMut::Vector(bias));
            }
        }
    }
}

fn elementwise<B: Backend, T: Tape<f32, B>>(
    r: &ResolvedLayer,
    a: Activation<B, T>,
    train: bool,
) -> Activation<B, T> {
    macro_rules! apply {
        ($a:expr, $($op:tt)+) => {
            match $a {
                Activation::Image(x) => Activation::Image(x.$($op)+),
                Activation::Flat(x) => Activation::Flat(x.$($op)+),
            }
        };
    }
    match *r {
        ResolvedLayer::Relu => apply!(a, relu()),
        ResolvedLayer::Tanh => apply!(a, tanh()),
        ResolvedLayer::Sigmoid => apply!(a, sigmoid()),
        ResolvedLayer::Dropout { p } if train && p > 0.0 => apply!(a, dropout(p)),
        ResolvedLayer::Dropout { .. } => a,
        _ => unreachable!("not an elementwise layer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LayerConfig, TaskConfig};
    use crate::plan::shapes::resolve;

    /// A head with a hidden layer computes `relu(z·W1 + b1)·W2 + b2`, and
    /// its parameters are visited in layer order (what the optimizer keys by).
    #[test]
    fn a_head_stack_is_its_layers_in_order() {
        let mut task = TaskConfig::for_tests("t", "classification", Some(2));
        task.head = vec![LayerConfig::Linear { out: 2 }, LayerConfig::Relu {}];
        let shapes = resolve(&[3], &[], std::slice::from_ref(&task)).unwrap();
        assert_eq!(shapes.heads[0].params(), (3 * 2 + 2) + (2 * 2 + 2));
        let dev = Cpu::default();
        let mut network = Network::new(&dev, &shapes, &[("t", &shapes.heads[0].layers)], 0);
        // W1 [3, 2], b1 [2], W2 [2, 2], b2 [2]
        let values: [&[f32]; 4] = [
            &[1.0, -1.0, 0.5, 2.0, -2.0, 0.0],
            &[0.5, -0.5],
            &[1.0, 2.0, 3.0, 4.0],
            &[0.25, -0.25],
        ];
        let mut i = 0;
        network.visit_head_params(0, &mut |p| {
            match p {
                ParamMut::Matrix(m) => *m = dev.tensor_from_vec(values[i].to_vec(), *m.shape()),
                ParamMut::Vector(v) => *v = dev.tensor_from_vec(values[i].to_vec(), *v.shape()),
            }
            i += 1;
        });
        assert_eq!(i, 4);
        let z = dev.tensor_from_vec(vec![1.0, 2.0, 3.0], (1, 3));
        // z·W1 + b1 = [1 + 1 − 6 + 0.5, −1 + 4 + 0 − 0.5] = [−3.5, 2.5]; relu → [0, 2.5]
        // [0, 2.5]·W2 + b2 = [7.5 + 0.25, 10 − 0.25]
        let out = network.heads[0].forward(z, false).as_vec();
        assert_eq!(out, vec![7.75, 9.75]);
    }
}
