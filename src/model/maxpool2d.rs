//! Max-pooling on the CPU as a dfdx operation with its own kernel: forward
//! remembers where each maximum came from, backward sends the gradient there
//! (the first maximum wins ties, as in PyTorch).

use crate::model::{grad_slice, host_copy, Image};
use crate::plan::PoolGeometry;
use dfdx::prelude::*;
use rayon::prelude::*;

/// Max-pooling of `planes` planes `[h, w]` (row-major): the outputs, and for
/// each the index of its maximum inside its own input plane.
pub(crate) fn pool_forward(xs: &[f32], planes: usize, g: &PoolGeometry) -> (Vec<f32>, Vec<u32>) {
    let (in_plane, out_plane) = (g.h * g.w, g.h_out * g.w_out);
    let mut out = vec![0f32; planes * out_plane];
    let mut argmax = vec![0u32; out.len()];
    out.par_chunks_mut(out_plane)
        .zip(argmax.par_chunks_mut(out_plane))
        .enumerate()
        .for_each(|(p, (o, a))| {
            let plane = &xs[p * in_plane..(p + 1) * in_plane];
            for oy in 0..g.h_out {
                for ox in 0..g.w_out {
                    let first = oy * g.stride * g.w + ox * g.stride;
                    let (mut best, mut at) = (f32::NEG_INFINITY, first);
                    for ky in 0..g.size {
                        for kx in 0..g.size {
                            let i = (oy * g.stride + ky) * g.w + ox * g.stride + kx;
                            // A NaN wins too, so it is not hidden by the pooling.
                            if plane[i] > best || plane[i].is_nan() {
                                best = plane[i];
                                at = i;
                            }
                        }
                    }
                    o[oy * g.w_out + ox] = best;
                    a[oy * g.w_out + ox] = at as u32;
                }
            }
        });
    (out, argmax)
}

/// The adjoint of `pool_forward`: adds each output gradient onto its maximum.
pub(crate) fn pool_backward(gy: &[f32], argmax: &[u32], gx: &mut [f32], g: &PoolGeometry) {
    let (in_plane, out_plane) = (g.h * g.w, g.h_out * g.w_out);
    gx.par_chunks_mut(in_plane)
        .zip(gy.par_chunks(out_plane).zip(argmax.par_chunks(out_plane)))
        .for_each(|(gxp, (gyp, ap))| {
            for (v, &i) in gyp.iter().zip(ap) {
                gxp[i as usize] += v;
            }
        });
}

pub fn maxpool2d<T: Tape<f32, Cpu>>(x: Image<Cpu, T>, g: PoolGeometry) -> Image<Cpu, T> {
    let (x, mut tape) = x.split_tape();
    let batch = x.shape().0;
    let xs = host_copy(&x);
    let (out, argmax) = pool_forward(&xs, batch * g.c, &g);
    let y = x
        .device()
        .tensor_from_vec(out, (batch, g.c, g.h_out, g.w_out));
    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let gy = grad_slice(grads, &y_id)?.to_vec();
            pool_backward(&gy, &argmax, grad_slice(grads, &x)?, &g);
            Ok(())
        });
    }
    y.put_tape(tape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_and_backward_on_a_4x4_plane() {
        let dev = Cpu::default();
        #[rustfmt::skip]
        let xs = vec![
            1.0, 2.0, 0.0, 0.0,
            3.0, 4.0, 0.0, 9.0,
            5.0, 0.0, 1.0, 1.0,
            0.0, 6.0, 1.0, 7.0,
        ];
        let g = PoolGeometry {
            c: 1,
            h: 4,
            w: 4,
            size: 2,
            stride: 2,
            h_out: 2,
            w_out: 2,
        };
        let x = dev.tensor_from_vec(xs, (1, 1, 4, 4));
        let y = maxpool2d(x.leaky_trace(), g);
        assert_eq!(y.as_vec(), vec![4.0, 9.0, 6.0, 7.0]);
        let r = dev.tensor_from_vec(vec![1.0, 2.0, 3.0, 4.0], (1, 1, 2, 2));
        let grads = (y * r).sum().backward();
        #[rustfmt::skip]
        let want = vec![
            0.0, 0.0, 0.0, 0.0,
            0.0, 1.0, 0.0, 2.0,
            0.0, 0.0, 0.0, 0.0,
            0.0, 3.0, 0.0, 4.0,
        ];
        assert_eq!(grads.get(&x).as_vec(), want);
    }
}
