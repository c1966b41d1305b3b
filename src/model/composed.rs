//! Convolution and max-pooling composed from dfdx's own ops (gather,
//! matmul, max), so they run on any device and dfdx differentiates them:
//! the CUDA path of those layers, and the reference the CPU kernels of
//! `conv2d.rs` and `maxpool2d.rs` are tested against.
//!
//! Each gathers along the last axis, with one index row shared by every
//! image (a broadcast, nothing copied), and every reshape is of a
//! contiguous tensor. On CUDA that keeps to kernels compiled into the
//! binary: dfdx compiles the kernels of concatenation and of copying
//! reshapes at run time, with include paths of the build machine.

use super::{Image, Matrix, Vector};
use crate::plan::{ConvGeometry, PoolGeometry};
use dfdx::prelude::*;

/// For each output position and each patch element (`c_in·k·k`, in the
/// weight's order), the input position it reads; `None` where it falls in
/// the padding.
fn patch_index(g: &ConvGeometry) -> Vec<Option<usize>> {
    let mut idx = Vec::with_capacity(g.h_out * g.w_out * g.patch_len());
    for oy in 0..g.h_out {
        for ox in 0..g.w_out {
            for c in 0..g.c_in {
                for ky in 0..g.kernel {
                    for kx in 0..g.kernel {
                        let iy = (oy * g.stride + ky).checked_sub(g.pad).filter(|&y| y < g.h);
                        let ix = (ox * g.stride + kx).checked_sub(g.pad).filter(|&x| x < g.w);
                        idx.push(iy.zip(ix).map(|(y, x)| c * g.h * g.w + y * g.w + x));
                    }
                }
            }
        }
    }
    idx
}

/// `y = conv(x, weight) + bias`: im2col by gather (padding by a 0/1 mask),
/// then one product with the weight. Layouts as in `conv2d.rs`;
/// `input_grad = false` leaves the gather out of the tape (the first layer,
/// whose input is data).
pub fn conv2d<D: Device<f32>, T: Tape<f32, D>>(
    x: Image<D, T>,
    weight: &Matrix<D>,
    bias: &Vector<D>,
    g: ConvGeometry,
    input_grad: bool,
) -> Image<D, T> {
    let batch = x.shape().0;
    let dev = x.device().clone();
    let (in_len, k_len, hw_out) = (g.c_in * g.h * g.w, g.patch_len(), g.h_out * g.w_out);
    let index = patch_index(&g);
    let unfolded = (batch, hw_out * k_len);
    let idx = dev
        .tensor_from_vec(
            index.iter().map(|i| i.unwrap_or(0)).collect(),
            (hw_out * k_len,),
        )
        .broadcast_like::<_, Axis<0>>(&unfolded);
    // [batch, hw_out·K]: each image's patches, one output position after another.
    let x = x.reshape_like(&(batch, in_len));
    let mut cols: Matrix<D, T> = if input_grad {
        x.gather(idx)
    } else {
        let (x, tape) = x.split_tape();
        x.gather(idx).put_tape(tape)
    };
    if index.contains(&None) {
        let mask = index
            .iter()
            .map(|i| f32::from(u8::from(i.is_some())))
            .collect();
        let mask = dev.tensor_from_vec(mask, (hw_out * k_len,));
        cols = cols * mask.broadcast_like::<_, Axis<0>>(&unfolded);
    }
    // [batch·hw_out, K] · Wᵀ[K, c_out] = [batch·hw_out, c_out]: one product each way.
    let y = cols
        .reshape_like(&(batch * hw_out, k_len))
        .matmul(weight.clone().permute::<_, Axes2<1, 0>>())
        .reshape_like(&(batch, hw_out, g.c_out));
    let shape = (batch, g.c_out, hw_out);
    // The sum is contiguous [batch, c_out, hw_out], so the last reshape copies nothing.
    let y =
        y.permute::<_, Axes3<0, 2, 1>>() + bias.clone().broadcast_like::<_, Axes2<0, 2>>(&shape);
    y.reshape_like(&(batch, g.c_out, g.h_out, g.w_out))
}

/// For each output position and each element of its window, the input
/// position inside the plane.
fn window_index(g: &PoolGeometry) -> Vec<usize> {
    let mut idx = Vec::with_capacity(g.h_out * g.w_out * g.size * g.size);
    for oy in 0..g.h_out {
        for ox in 0..g.w_out {
            for ky in 0..g.size {
                for kx in 0..g.size {
                    idx.push((oy * g.stride + ky) * g.w + ox * g.stride + kx);
                }
            }
        }
    }
    idx
}

/// Max-pooling: the windows by gather, then each window's first maximum.
/// The gradient goes to that element alone, as in the CPU kernel and
/// PyTorch (dfdx's own `max` would send it to every tied element, and
/// after a ReLU ties are everywhere: a zero background makes whole windows
/// equal).
pub fn maxpool2d<D: Device<f32>, T: Tape<f32, D>>(x: Image<D, T>, g: PoolGeometry) -> Image<D, T> {
    let batch = x.shape().0;
    let dev = x.device().clone();
    let (planes, hw_out, window) = (batch * g.c, g.h_out * g.w_out, g.size * g.size);
    let idx = dev
        .tensor_from_vec(window_index(&g), (hw_out * window,))
        .broadcast_like::<_, Axis<0>>(&(planes, hw_out * window));
    let windows: Matrix<D, T> = x.reshape_like(&(planes, g.h * g.w)).gather(idx);
    let (windows, tape) = windows.split_tape();
    let first = first_maximum(&windows, window);
    // Each window's first maximum, and 0 elsewhere, chosen (not multiplied
    // by the 0/1 mask: ±inf · 0 would be NaN); a NaN is kept where it was,
    // as the CPU kernel lets it win, so it reaches the loss.
    let rest = windows.ne(&windows).choose(windows.clone(), first.clone());
    first
        .gt(0.5)
        .choose(windows.put_tape(tape), rest)
        .reshape_like(&(planes, hw_out, window))
        .sum::<(usize, usize), Axis<2>>()
        .reshape_like(&(batch, g.c, g.h_out, g.w_out))
}

/// For `rows` of `window` values each (`[rows, window·k]` read as windows
/// of `window`): 1 at the first maximum of each window, 0 elsewhere.
fn first_maximum<D: Device<f32>>(rows: &Matrix<D>, window: usize) -> Matrix<D> {
    let (r, c) = *rows.shape();
    let shape = (r * c / window, window);
    let dev = rows.device().clone();
    let w = rows.clone().reshape_like(&shape);
    let max = w
        .clone()
        .max::<(usize,), Axis<1>>()
        .broadcast_like::<_, Axis<1>>(&shape);
    let (one, zero): (Tensor<(), f32, D>, Tensor<(), f32, D>) = (dev.ones(), dev.zeros());
    let ties = w.eq(&max).choose(
        one.broadcast_like::<_, Axes2<0, 1>>(&shape),
        zero.broadcast_like::<_, Axes2<0, 1>>(&shape),
    );
    // Ties before each position: ties · U with U[j, i] = 1 for j < i.
    let upper = (0..window * window)
        .map(|k| f32::from(u8::from(k / window < k % window)))
        .collect();
    let earlier = ties
        .clone()
        .matmul(dev.tensor_from_vec(upper, (window, window)));
    (ties * (earlier.negate() + 1.0).relu()).reshape_like(&(r, c))
}

#[cfg(test)]
mod tests {
    //! The CPU kernels against these compositions, on random inputs:
    //! forward values and every gradient.
    use super::*;
    use crate::data::SplitMix64;
    use crate::model::{conv2d, maxpool2d};

    fn pseudo(n: usize, seed: u64) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        (0..n).map(|_| r.next_f32() * 2.0 - 1.0).collect()
    }

    fn close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    fn conv(
        c_in: usize,
        c_out: usize,
        hw: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> ConvGeometry {
        let out = (hw + 2 * pad - kernel) / stride + 1;
        ConvGeometry {
            c_in,
            c_out,
            h: hw,
            w: hw,
            kernel,
            stride,
            pad,
            h_out: out,
            w_out: out,
        }
    }

    #[test]
    fn conv2d_kernel_matches_the_composed_convolution() {
        let dev = Cpu::default();
        for (i, g) in [
            conv(1, 4, 7, 3, 1, 1),
            conv(3, 5, 8, 3, 2, 1),
            conv(2, 3, 6, 5, 1, 0),
            conv(2, 2, 5, 2, 2, 2),
        ]
        .into_iter()
        .enumerate()
        {
            let batch = 3;
            let seed = 10 * i as u64;
            let x = dev.tensor_from_vec(
                pseudo(batch * g.c_in * g.h * g.w, seed),
                (batch, g.c_in, g.h, g.w),
            );
            let w = dev.tensor_from_vec(
                pseudo(g.c_out * g.patch_len(), seed + 1),
                (g.c_out, g.patch_len()),
            );
            let b = dev.tensor_from_vec(pseudo(g.c_out, seed + 2), (g.c_out,));
            let r = dev.tensor_from_vec(
                pseudo(batch * g.c_out * g.h_out * g.w_out, seed + 3),
                (batch, g.c_out, g.h_out, g.w_out),
            );
            let kernel = conv2d::conv2d(x.leaky_trace(), &w, &b, g, true);
            let composed = conv2d(x.leaky_trace(), &w, &b, g, true);
            close(
                &kernel.as_vec(),
                &composed.as_vec(),
                &format!("geometry {i}: y"),
            );
            let gk = (kernel * r.clone()).sum().backward();
            let gc = (composed * r.clone()).sum().backward();
            close(
                &gk.get(&x).as_vec(),
                &gc.get(&x).as_vec(),
                &format!("geometry {i}: dx"),
            );
            close(
                &gk.get(&w).as_vec(),
                &gc.get(&w).as_vec(),
                &format!("geometry {i}: dW"),
            );
            close(
                &gk.get(&b).as_vec(),
                &gc.get(&b).as_vec(),
                &format!("geometry {i}: db"),
            );
            // Without the input gradient: the same parameter gradients.
            let first = conv2d(x.leaky_trace(), &w, &b, g, false);
            let gf = (first * r).sum().backward();
            assert_eq!(gf.get(&w).as_vec(), gc.get(&w).as_vec(), "geometry {i}: dW");
            assert_eq!(gf.get(&b).as_vec(), gc.get(&b).as_vec(), "geometry {i}: db");
        }
    }

    #[test]
    fn maxpool2d_kernel_matches_the_composed_pooling() {
        let dev = Cpu::default();
        let pools = [(2, 2, 8, 8), (3, 1, 6, 6), (2, 2, 7, 7), (3, 2, 9, 9)];
        for (i, (size, stride, h, w)) in pools.into_iter().enumerate() {
            let g = PoolGeometry {
                c: 3,
                h,
                w,
                size,
                stride,
                h_out: (h - size) / stride + 1,
                w_out: (w - size) / stride + 1,
            };
            let batch = 2;
            let n = batch * g.c * h * w;
            // Random values; then values of three levels (ties in most
            // windows), as after a ReLU; then one constant (every window tied).
            let random = pseudo(n, i as u64);
            let levels = random.iter().map(|v| (v * 1.5).round().max(0.0)).collect();
            for (values, what) in [
                (random, "random"),
                (levels, "levels"),
                (vec![0.25; n], "constant"),
            ] {
                let x = dev.tensor_from_vec(values, (batch, g.c, h, w));
                let r = dev.tensor_from_vec(
                    pseudo(batch * g.c * g.h_out * g.w_out, 99 + i as u64),
                    (batch, g.c, g.h_out, g.w_out),
                );
                let kernel = maxpool2d::maxpool2d(x.leaky_trace(), g);
                let composed = maxpool2d(x.leaky_trace(), g);
                close(
                    &kernel.as_vec(),
                    &composed.as_vec(),
                    &format!("pool {i}, {what}: y"),
                );
                let gk = (kernel * r.clone()).sum().backward();
                let gc = (composed * r.clone()).sum().backward();
                close(
                    &gk.get(&x).as_vec(),
                    &gc.get(&x).as_vec(),
                    &format!("pool {i}, {what}: dx"),
                );
            }
        }
    }

    /// ±inf are values like any other (a window of −inf pools to −inf, not
    /// NaN), and a NaN in a window is not hidden: as in the CPU kernel.
    #[test]
    fn pooling_keeps_infinities_and_nan() {
        let dev = Cpu::default();
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        let g = PoolGeometry {
            c: 1,
            h: 4,
            w: 4,
            size: 2,
            stride: 2,
            h_out: 2,
            w_out: 2,
        };
        #[rustfmt::skip]
        let plane = |last: f32| vec![
            1.0, -inf, inf, inf,
            0.5, 0.2, 0.0, 1.0,
            -inf, -inf, last, 0.0,
            -inf, -inf, 1.0, 2.0,
        ];
        let same = |a: f32, b: f32| a == b || (a.is_nan() && b.is_nan());
        for last in [nan, 0.3] {
            let x = dev.tensor_from_vec(plane(last), (1, 1, 4, 4));
            let kernel = maxpool2d::maxpool2d(x.leaky_trace(), g);
            let composed = maxpool2d(x.leaky_trace(), g);
            let (k, c) = (kernel.as_vec(), composed.as_vec());
            assert!(
                k.iter().zip(&c).all(|(&a, &b)| same(a, b)),
                "{k:?} vs {c:?}"
            );
            assert_eq!(k[..3], [1.0, inf, -inf]);
            assert!(same(k[3], if last.is_nan() { nan } else { 2.0 }));
            if !last.is_nan() {
                let r = dev.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], (1, 1, 2, 2));
                let gk = (kernel * r.clone()).sum().backward();
                let gc = (composed * r).sum().backward();
                assert_eq!(gk.get(&x).as_vec(), gc.get(&x).as_vec());
            }
        }
    }
}
