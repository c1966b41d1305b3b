//! 2-D convolution on the CPU as a dfdx operation with its own kernel.
//!
//! dfdx 0.13's `conv2d` needs its `nightly` feature, so this layer runs its
//! own kernel and records its own backward on dfdx's tape
//! (`Tape::add_backward_op`): forward unfolds each image into columns
//! (im2col) and multiplies by the weight matrix with the `gemm` crate dfdx
//! itself uses; backward computes the weight, bias and input gradients from
//! the saved columns. Images are processed in parallel in a fixed partition,
//! so results do not depend on the number of threads.
//!
//! Layout: input `[batch, c_in, h, w]`, weight `[c_out, c_in·k·k]`
//! (row-major, the same order as PyTorch's `[c_out, c_in, k, k]`), bias `[c_out]`.

use crate::model::tail::PooledSupport;
use crate::model::{grad_slice, host_copy, Image};
use crate::plan::ConvGeometry;
use dfdx::prelude::*;
use rayon::prelude::*;

/// Images per partial weight-gradient sum: fixed, so the summation order is too.
const CHUNK: usize = 4;

/// `y = conv(x, weight) + bias`. `input_grad = false` skips the input
/// gradient (the first layer, whose input is data).
pub fn conv2d<T: Tape<f32, Cpu>>(
    x: Image<Cpu, T>,
    weight: &Tensor<(usize, usize), f32, Cpu>,
    bias: &Tensor<(usize,), f32, Cpu>,
    g: ConvGeometry,
    input_grad: bool,
) -> Image<Cpu, T> {
    let (x, mut tape) = x.split_tape();
    let batch = x.shape().0;
    let (k_len, hw_out) = (g.patch_len(), g.h_out * g.w_out);
    let dev = x.device().clone();
    let (out, cols) = forward_values(
        &host_copy(&x),
        &host_copy(weight),
        &host_copy(bias),
        batch,
        &g,
        Unfold::Columns,
    );
    let y = dev.tensor_from_vec(out, (batch, g.c_out, g.h_out, g.w_out));
    if T::OWNS_TAPE {
        let (y_id, w_id, b_id) = (y.clone(), weight.clone(), bias.clone());
        tape.add_backward_op(move |grads| {
            let gy = grad_slice(grads, &y_id)?.to_vec();
            // Weight and bias: partial sums over fixed chunks of images, added in order.
            let partials: Vec<(Vec<f32>, Vec<f32>)> = gy
                .par_chunks(CHUNK * g.c_out * hw_out)
                .zip(cols.par_chunks(CHUNK * k_len * hw_out))
                .map(|(gyc, cc)| {
                    let mut gw = vec![0f32; g.c_out * k_len];
                    let mut gb = vec![0f32; g.c_out];
                    for (gyb, cb) in gyc.chunks(g.c_out * hw_out).zip(cc.chunks(k_len * hw_out)) {
                        // gW[c_out, K] += gy[c_out, hw] · cols[K, hw]ᵀ
                        gemm_rowmajor(g.c_out, k_len, hw_out, &mut gw, true, gyb, false, cb, true);
                        for (acc, row) in gb.iter_mut().zip(gyb.chunks(hw_out)) {
                            *acc += row.iter().sum::<f32>();
                        }
                    }
                    (gw, gb)
                })
                .collect();
            let gw = grad_slice(grads, &w_id)?;
            for (pw, _) in &partials {
                gw.iter_mut().zip(pw).for_each(|(a, b)| *a += b);
            }
            let gb = grad_slice(grads, &b_id)?;
            for (_, pb) in &partials {
                gb.iter_mut().zip(pb).for_each(|(a, b)| *a += b);
            }
            if input_grad {
                let ws = host_copy(&w_id);
                input_gradient_add(&ws, &gy, grad_slice(grads, &x)?, &g);
            }
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// How [`forward_values`] keeps each image's unfolded input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfold {
    /// `[K, h_out·w_out]`: one column per output position (the layer's own backward pass).
    Columns,
    /// `[h_out·w_out, K]`: a position's patch contiguous, which the weight
    /// gradients of [`pooled_weight_gradients`] read one position at a time.
    Rows,
}

/// The output `[batch, c_out, h_out·w_out]` of the convolution of `xs`
/// (whole batch) and each image's unfolded input, laid out as `unfold` says.
pub(crate) fn forward_values(
    xs: &[f32],
    ws: &[f32],
    bs: &[f32],
    batch: usize,
    g: &ConvGeometry,
    unfold: Unfold,
) -> (Vec<f32>, Vec<f32>) {
    let (k_len, hw_out, in_len) = (g.patch_len(), g.h_out * g.w_out, g.c_in * g.h * g.w);
    let mut unfolded = vec![0f32; batch * k_len * hw_out];
    let mut out = vec![0f32; batch * g.c_out * hw_out];
    out.par_chunks_mut(g.c_out * hw_out)
        .zip(unfolded.par_chunks_mut(k_len * hw_out))
        .enumerate()
        .for_each(|(b, (o, u))| {
            let x = &xs[b * in_len..(b + 1) * in_len];
            match unfold {
                Unfold::Columns => im2col(x, u, g),
                Unfold::Rows => im2col_rows(x, u, g),
            }
            for (row, &bias) in o.chunks_mut(hw_out).zip(bs) {
                row.fill(bias);
            }
            // o[c_out, hw] += W[c_out, K] · cols[K, hw]  (rows: · rows[hw, K]ᵀ)
            let rows = unfold == Unfold::Rows;
            gemm_rowmajor(g.c_out, hw_out, k_len, o, true, ws, false, u, rows);
        });
    (out, unfolded)
}

/// Adds the input gradient for the output gradient `gy` (whole batch) onto `gx`.
pub(crate) fn input_gradient_add(ws: &[f32], gy: &[f32], gx: &mut [f32], g: &ConvGeometry) {
    let (k_len, hw_out, in_len) = (g.patch_len(), g.h_out * g.w_out, g.c_in * g.h * g.w);
    gx.par_chunks_mut(in_len)
        .zip(gy.par_chunks(g.c_out * hw_out))
        .for_each_init(
            // One buffer per worker, reused image after image (gemm overwrites it).
            || vec![0f32; k_len * hw_out],
            |dcols, (gxb, gyb)| {
                // dcols[K, hw] = Wᵀ[K, c_out] · gy[c_out, hw]
                gemm_rowmajor(k_len, hw_out, g.c_out, dcols, false, ws, true, gyb, false);
                col2im_add(dcols, gxb, g);
            },
        );
}

/// The bias gradient for the output gradient `gy` (whole batch): its sum per channel.
pub(crate) fn bias_gradient(gy: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let hw_out = g.h_out * g.w_out;
    let mut gb = vec![0f32; g.c_out];
    for image in gy.chunks(g.c_out * hw_out) {
        for (acc, row) in gb.iter_mut().zip(image.chunks(hw_out)) {
            *acc += row.iter().sum::<f32>();
        }
    }
    gb
}

/// `∂/∂W` of `Σ y ⊙ gy` for each of the output gradients `gys` at once, from
/// the unfolded rows of [`forward_values`] with [`Unfold::Rows`]: per image, the output gradients
/// are stacked into one `[T·c_out, hw]` block and multiplied by the image's
/// rows in one product.
pub fn weight_gradients(rows: &[f32], gys: &[Vec<f32>], g: &ConvGeometry) -> Vec<Vec<f32>> {
    let (k_len, hw_out) = (g.patch_len(), g.h_out * g.w_out);
    let (w_len, block) = (g.c_out * k_len, g.c_out * hw_out);
    let tasks = gys.len();
    let partials: Vec<Vec<f32>> = rows
        .par_chunks(CHUNK * hw_out * k_len)
        .enumerate()
        .map(|(chunk, rc)| {
            let mut gw = vec![0f32; tasks * w_len];
            let mut stacked = vec![0f32; tasks * block];
            for (i, rb) in rc.chunks(hw_out * k_len).enumerate() {
                let b = chunk * CHUNK + i;
                for (gy, s) in gys.iter().zip(stacked.chunks_mut(block)) {
                    s.copy_from_slice(&gy[b * block..(b + 1) * block]);
                }
                // gW[T·c_out, K] += gy[T·c_out, hw] · rows[hw, K]
                gemm_rowmajor(
                    tasks * g.c_out,
                    k_len,
                    hw_out,
                    &mut gw,
                    true,
                    &stacked,
                    false,
                    rb,
                    false,
                );
            }
            gw
        })
        .collect();
    sum_partials(partials, tasks, w_len)
}

/// The partial sums of the image chunks, added in order, split per task.
fn sum_partials(partials: Vec<Vec<f32>>, tasks: usize, w_len: usize) -> Vec<Vec<f32>> {
    let mut partials = partials.into_iter();
    let mut gw = partials.next().unwrap_or_else(|| vec![0f32; tasks * w_len]);
    for p in partials {
        gw.iter_mut().zip(&p).for_each(|(a, b)| *a += b);
    }
    gw.chunks(w_len).map(<[f32]>::to_vec).collect()
}

/// Like [`weight_gradients`], for output gradients that are zero except at
/// the maximum of each window of a max-pooling after the convolution (and
/// where a ReLU between them passed it): `pooled[t]` is task `t`'s gradient
/// at the pooling's output `[batch, c_out, q]`, and the output gradient is
/// that value at its window's maximum. Only those positions are read: with
/// 2×2 windows, a quarter of the products of the dense version.
pub fn pooled_weight_gradients(
    rows: &[f32],
    pooled: &[Vec<f32>],
    support: &PooledSupport,
    g: &ConvGeometry,
) -> Vec<Vec<f32>> {
    let (k_len, hw_out) = (g.patch_len(), g.h_out * g.w_out);
    let p = support.geometry;
    assert_eq!((p.c, p.h, p.w), (g.c_out, g.h_out, g.w_out));
    let q_len = p.h_out * p.w_out;
    let w_len = g.c_out * k_len;
    let tasks = pooled.len();
    let partials: Vec<Vec<f32>> = rows
        .par_chunks(CHUNK * hw_out * k_len)
        .enumerate()
        .map(|(chunk, rc)| {
            let mut gw = vec![0f32; tasks * w_len];
            let mut positions = Vec::with_capacity(q_len);
            let mut coefs = Vec::with_capacity(q_len * tasks);
            for (i, rb) in rc.chunks(hw_out * k_len).enumerate() {
                let b = chunk * CHUNK + i;
                for c in 0..g.c_out {
                    let plane = b * g.c_out + c;
                    positions.clear();
                    coefs.clear();
                    for q in plane * q_len..(plane + 1) * q_len {
                        let at = support.argmax[q] as usize;
                        if support.mask.is_some_and(|m| !m[plane * hw_out + at]) {
                            continue;
                        }
                        positions.push(at);
                        coefs.extend(pooled.iter().map(|v| v[q]));
                    }
                    // gW_t[c, :] += Σ_j coefs[j, t] · rows[positions[j], :]
                    accumulate_rows(&mut gw, c * k_len, w_len, rb, k_len, &positions, &coefs);
                }
            }
            gw
        })
        .collect();
    sum_partials(partials, tasks, w_len)
}

/// Tasks per pass of [`accumulate_rows`], and columns per block: the
/// accumulators of one block (4 × 16 floats) stay in registers.
const TASK_BLOCK: usize = 4;
const LANES: usize = 16;

/// For every task `t` (`coefs` holds `T` per position):
/// `out[t·w_len + offset ..][..k_len] += Σ_j coefs[j·T + t] · rows[positions[j]·k_len ..][..k_len]`.
fn accumulate_rows(
    out: &mut [f32],
    offset: usize,
    w_len: usize,
    rows: &[f32],
    k_len: usize,
    positions: &[usize],
    coefs: &[f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features this function is compiled for.
        unsafe { accumulate_rows_fma(out, offset, w_len, rows, k_len, positions, coefs) };
        return;
    }
    accumulate_rows_with(
        out,
        offset,
        w_len,
        rows,
        k_len,
        positions,
        coefs,
        |c, r, a| a + c * r,
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_rows_fma(
    out: &mut [f32],
    offset: usize,
    w_len: usize,
    rows: &[f32],
    k_len: usize,
    positions: &[usize],
    coefs: &[f32],
) {
    accumulate_rows_with(
        out,
        offset,
        w_len,
        rows,
        k_len,
        positions,
        coefs,
        f32::mul_add,
    );
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn accumulate_rows_with(
    out: &mut [f32],
    offset: usize,
    w_len: usize,
    rows: &[f32],
    k_len: usize,
    positions: &[usize],
    coefs: &[f32],
    fma: impl Fn(f32, f32, f32) -> f32 + Copy,
) {
    if positions.is_empty() {
        return;
    }
    let tasks = coefs.len() / positions.len();
    // Column blocks outside, tasks inside: the block's rows stay in L1 for every task.
    for k0 in (0..k_len).step_by(LANES) {
        let block = Block {
            rows,
            k_len,
            k0,
            positions,
            coefs,
            tasks,
        };
        let mut t0 = 0;
        while t0 < tasks {
            let o = |tt: usize| (t0 + tt) * w_len + offset + k0;
            if k_len - k0 < LANES {
                for tt in 0..TASK_BLOCK.min(tasks - t0) {
                    block.narrow(t0 + tt, &mut out[o(tt)..o(tt) + k_len - k0], fma);
                }
            } else {
                match tasks - t0 {
                    1 => block.full::<1>(t0, out, o(0), w_len, fma),
                    2 => block.full::<2>(t0, out, o(0), w_len, fma),
                    3 => block.full::<3>(t0, out, o(0), w_len, fma),
                    _ => block.full::<TASK_BLOCK>(t0, out, o(0), w_len, fma),
                }
            }
            t0 += TASK_BLOCK;
        }
    }
}

/// One block of columns `k0..k0 + LANES` of [`accumulate_rows`].
struct Block<'a> {
    rows: &'a [f32],
    k_len: usize,
    k0: usize,
    positions: &'a [usize],
    coefs: &'a [f32],
    tasks: usize,
}

impl Block<'_> {
    /// Tasks `t0..t0 + TB`, a full block of `LANES` columns, the
    /// accumulators in registers; task `t0 + tt` adds onto `out[at + tt·w_len ..]`.
    #[inline(always)]
    fn full<const TB: usize>(
        &self,
        t0: usize,
        out: &mut [f32],
        at: usize,
        w_len: usize,
        fma: impl Fn(f32, f32, f32) -> f32 + Copy,
    ) {
        let mut acc = [[0f32; LANES]; TB];
        for (j, &p) in self.positions.iter().enumerate() {
            let r: &[f32; LANES] = self.rows[p * self.k_len + self.k0..][..LANES]
                .try_into()
                .unwrap();
            let cf: &[f32; TB] = self.coefs[j * self.tasks + t0..][..TB].try_into().unwrap();
            for (a, &c) in acc.iter_mut().zip(cf) {
                for (a, &r) in a.iter_mut().zip(r) {
                    *a = fma(c, r, *a);
                }
            }
        }
        for (tt, a) in acc.iter().enumerate() {
            let o = &mut out[at + tt * w_len..][..LANES];
            o.iter_mut().zip(a).for_each(|(o, a)| *o += a);
        }
    }

    /// Task `t`, the last columns (fewer than `LANES`).
    #[inline(always)]
    fn narrow(&self, t: usize, out: &mut [f32], fma: impl Fn(f32, f32, f32) -> f32 + Copy) {
        let mut acc = [0f32; LANES];
        for (j, &p) in self.positions.iter().enumerate() {
            let r = &self.rows[p * self.k_len + self.k0..][..out.len()];
            let c = self.coefs[j * self.tasks + t];
            for (a, &r) in acc.iter_mut().zip(r) {
                *a = fma(c, r, *a);
            }
        }
        out.iter_mut().zip(&acc).for_each(|(o, a)| *o += a);
    }
}

/// Unfolds one image `[c_in, h, w]` into one row per output position:
/// `rows[oy·w_out + ox][(ci·k + ky)·k + kx]`.
fn im2col_rows(x: &[f32], rows: &mut [f32], g: &ConvGeometry) {
    let (k, k_len) = (g.kernel, g.patch_len());
    for oy in 0..g.h_out {
        let y0 = (oy * g.stride) as isize - g.pad as isize;
        for ox in 0..g.w_out {
            let x0 = (ox * g.stride) as isize - g.pad as isize;
            // The kernel columns kx whose input column x0 + kx lies inside the image.
            let lo = (-x0).clamp(0, k as isize) as usize;
            let hi = (g.w as isize - x0).clamp(lo as isize, k as isize) as usize;
            let dst = &mut rows[(oy * g.w_out + ox) * k_len..][..k_len];
            for (ci, patch) in dst.chunks_mut(k * k).enumerate() {
                for (ky, line) in patch.chunks_mut(k).enumerate() {
                    let iy = y0 + ky as isize;
                    if iy < 0 || iy >= g.h as isize || lo >= hi {
                        line.fill(0.0);
                        continue;
                    }
                    let src = (ci * g.h + iy as usize) * g.w;
                    let first = (x0 + lo as isize) as usize;
                    line[..lo].fill(0.0);
                    line[hi..].fill(0.0);
                    line[lo..hi].copy_from_slice(&x[src + first..src + first + hi - lo]);
                }
            }
        }
    }
}

/// Unfolds one image `[c_in, h, w]` into `cols[(ci·k + ky)·k + kx][oy·w_out + ox]`.
fn im2col(x: &[f32], cols: &mut [f32], g: &ConvGeometry) {
    let hw_out = g.h_out * g.w_out;
    let mut row = 0;
    for ci in 0..g.c_in {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ky in 0..g.kernel {
            for kx in 0..g.kernel {
                let dst = &mut cols[row * hw_out..(row + 1) * hw_out];
                let (lo, hi) = valid_columns(g, kx);
                for oy in 0..g.h_out {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    let line = &mut dst[oy * g.w_out..(oy + 1) * g.w_out];
                    if iy < 0 || iy >= g.h as isize || lo >= hi {
                        line.fill(0.0);
                        continue;
                    }
                    let src = &plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    line[..lo].fill(0.0);
                    line[hi..].fill(0.0);
                    let first = lo * g.stride + kx - g.pad;
                    if g.stride == 1 {
                        line[lo..hi].copy_from_slice(&src[first..first + hi - lo]);
                    } else {
                        for (j, v) in line[lo..hi].iter_mut().enumerate() {
                            *v = src[first + j * g.stride];
                        }
                    }
                }
                row += 1;
            }
        }
    }
}

/// The output columns `lo..hi` whose input column `ox·stride + kx − pad` lies inside the image.
fn valid_columns(g: &ConvGeometry, kx: usize) -> (usize, usize) {
    // ox·s + kx ≥ pad  and  ox·s + kx − pad ≤ w − 1
    let lo = g.pad.saturating_sub(kx).div_ceil(g.stride);
    let hi = if g.w + g.pad > kx {
        ((g.w + g.pad - kx - 1) / g.stride + 1).min(g.w_out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// The adjoint of `im2col`: adds each column entry back onto its input pixel.
fn col2im_add(cols: &[f32], x: &mut [f32], g: &ConvGeometry) {
    let hw_out = g.h_out * g.w_out;
    let mut row = 0;
    for ci in 0..g.c_in {
        let plane = &mut x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ky in 0..g.kernel {
            for kx in 0..g.kernel {
                let src = &cols[row * hw_out..(row + 1) * hw_out];
                let (lo, hi) = valid_columns(g, kx);
                for oy in 0..g.h_out {
                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                    if iy < 0 || iy >= g.h as isize || lo >= hi {
                        continue;
                    }
                    let dst = &mut plane[iy as usize * g.w..(iy as usize + 1) * g.w];
                    let first = lo * g.stride + kx - g.pad;
                    let line = &src[oy * g.w_out + lo..oy * g.w_out + hi];
                    for (j, v) in line.iter().enumerate() {
                        dst[first + j * g.stride] += v;
                    }
                }
                row += 1;
            }
        }
    }
}

/// `dst[m, n] (+)= op(a)[m, k] · op(b)[k, n]`, all row-major; `*_t` reads the
/// stored matrix transposed (`a` stored `[k, m]`, `b` stored `[n, k]`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_rowmajor(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    a: &[f32],
    a_t: bool,
    b: &[f32],
    b_t: bool,
) {
    assert!(dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n);
    let (a_rs, a_cs) = if a_t {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if b_t {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the assert above bounds every index gemm computes from these strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(
        c_in: usize,
        c_out: usize,
        h: usize,
        w: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> ConvGeometry {
        ConvGeometry {
            c_in,
            c_out,
            h,
            w,
            kernel,
            stride,
            pad,
            h_out: (h + 2 * pad - kernel) / stride + 1,
            w_out: (w + 2 * pad - kernel) / stride + 1,
        }
    }

    /// Direct 7-loop convolution: the independent reference.
    fn direct(x: &[f32], w: &[f32], b: &[f32], batch: usize, g: &ConvGeometry) -> Vec<f32> {
        let mut out = vec![0f32; batch * g.c_out * g.h_out * g.w_out];
        for n in 0..batch {
            for co in 0..g.c_out {
                for oy in 0..g.h_out {
                    for ox in 0..g.w_out {
                        let mut s = b[co];
                        for ci in 0..g.c_in {
                            for ky in 0..g.kernel {
                                for kx in 0..g.kernel {
                                    let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                                    let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                                    if iy >= 0
                                        && ix >= 0
                                        && (iy as usize) < g.h
                                        && (ix as usize) < g.w
                                    {
                                        s += x[((n * g.c_in + ci) * g.h + iy as usize) * g.w
                                            + ix as usize]
                                            * w[(co * g.c_in + ci) * g.kernel * g.kernel
                                                + ky * g.kernel
                                                + kx];
                                    }
                                }
                            }
                        }
                        out[((n * g.c_out + co) * g.h_out + oy) * g.w_out + ox] = s;
                    }
                }
            }
        }
        out
    }

    fn pseudo(n: usize, seed: u64) -> Vec<f32> {
        let mut r = crate::data::SplitMix64::new(seed);
        (0..n).map(|_| r.next_f32() * 2.0 - 1.0).collect()
    }

    #[test]
    fn forward_matches_direct_convolution() {
        let dev = Cpu::default();
        for g in [
            geometry(2, 3, 5, 6, 3, 1, 1),
            geometry(3, 2, 7, 7, 3, 2, 0),
            geometry(1, 4, 4, 4, 1, 1, 0),
            geometry(2, 2, 6, 5, 3, 2, 2),
            geometry(1, 3, 6, 6, 5, 1, 2),
            geometry(1, 2, 3, 3, 3, 1, 3),
        ] {
            let batch = 5;
            let xs = pseudo(batch * g.c_in * g.h * g.w, 1);
            let ws = pseudo(g.c_out * g.patch_len(), 2);
            let bs = pseudo(g.c_out, 3);
            let x = dev.tensor_from_vec(xs.clone(), (batch, g.c_in, g.h, g.w));
            let w = dev.tensor_from_vec(ws.clone(), (g.c_out, g.patch_len()));
            let b = dev.tensor_from_vec(bs.clone(), (g.c_out,));
            let y = conv2d(x, &w, &b, g, true).as_vec();
            let want = direct(&xs, &ws, &bs, batch, &g);
            for (a, e) in y.iter().zip(&want) {
                assert!((a - e).abs() < 1e-5, "{a} vs {e}");
            }
        }
    }

    /// Gradients of Σ y·r against central finite differences of the direct convolution.
    #[test]
    fn backward_matches_finite_differences() {
        let dev = Cpu::default();
        let g = geometry(2, 3, 5, 4, 3, 2, 1);
        let batch = 6; // more than one CHUNK
        let xs = pseudo(batch * g.c_in * g.h * g.w, 4);
        let ws = pseudo(g.c_out * g.patch_len(), 5);
        let bs = pseudo(g.c_out, 6);
        let r = pseudo(batch * g.c_out * g.h_out * g.w_out, 7);
        let x = dev.tensor_from_vec(xs.clone(), (batch, g.c_in, g.h, g.w));
        let w = dev.tensor_from_vec(ws.clone(), (g.c_out, g.patch_len()));
        let b = dev.tensor_from_vec(bs.clone(), (g.c_out,));
        let rt = dev.tensor_from_vec(r.clone(), (batch, g.c_out, g.h_out, g.w_out));
        let y = conv2d(x.leaky_trace(), &w, &b, g, true);
        let grads = (y * rt).sum().backward();
        let objective = |xs: &[f32], ws: &[f32], bs: &[f32]| -> f64 {
            direct(xs, ws, bs, batch, &g)
                .iter()
                .zip(&r)
                .map(|(a, b)| f64::from(a * b))
                .sum()
        };
        let eps = 1e-2f32;
        let check = |analytic: Vec<f32>, which: usize| {
            for (i, a) in analytic.iter().enumerate().step_by(7) {
                let (mut xp, mut wp, mut bp) = (xs.clone(), ws.clone(), bs.clone());
                let (mut xm, mut wm, mut bm) = (xs.clone(), ws.clone(), bs.clone());
                match which {
                    0 => {
                        xp[i] += eps;
                        xm[i] -= eps;
                    }
                    1 => {
                        wp[i] += eps;
                        wm[i] -= eps;
                    }
                    _ => {
                        bp[i] += eps;
                        bm[i] -= eps;
                    }
                }
                let numeric =
                    (objective(&xp, &wp, &bp) - objective(&xm, &wm, &bm)) / (2.0 * f64::from(eps));
                assert!(
                    (f64::from(*a) - numeric).abs() < 1e-2,
                    "param set {which}, index {i}: {a} vs {numeric}"
                );
            }
        };
        check(grads.get(&x).as_vec(), 0);
        check(grads.get(&w).as_vec(), 1);
        check(grads.get(&b).as_vec(), 2);
    }
}
