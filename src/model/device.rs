//! The devices models train on (`train.device`): dfdx's CPU, and with the
//! `cuda` feature its CUDA device. Everything composed from dfdx ops runs on
//! either; what differs is the convolution and the max-pooling (the CPU's
//! own kernels, dfdx ops on CUDA: [`super::composed`]), and how a gradient
//! computed on the host is added to a device's gradient buffer.

use super::conv2d;
use super::maxpool2d;
use super::{Image, Matrix, Vector};
use crate::config::DeviceName;
use crate::error::Error;
use crate::plan::{ConvGeometry, PoolGeometry};
use dfdx::prelude::*;
use mtl_plugin::Dev;

/// A device the whole training pipeline runs on.
pub trait Backend: Dev + Sized {
    /// The `train.device` value that selects it.
    const DEVICE: DeviceName;

    /// The device, with its random generator (dropout) seeded from `seed`;
    /// `Err` says why there is none to use.
    fn create(seed: u64) -> Result<Self, String>;

    /// Adds `v` (row-major) to the gradient `grads` holds for `t`.
    fn add_to_grad<S: Shape>(
        grads: &mut Gradients<f32, Self>,
        t: &Tensor<S, f32, Self>,
        v: &[f32],
    ) -> Result<(), Self::Err>;

    /// `conv(x, weight) + bias` (see [`conv2d::conv2d`]).
    fn conv2d<T: Tape<f32, Self>>(
        x: Image<Self, T>,
        weight: &Matrix<Self>,
        bias: &Vector<Self>,
        g: ConvGeometry,
        input_grad: bool,
    ) -> Image<Self, T>;

    /// Max-pooling (see [`maxpool2d::maxpool2d`]).
    fn maxpool2d<T: Tape<f32, Self>>(x: Image<Self, T>, g: PoolGeometry) -> Image<Self, T>;
}

impl Backend for Cpu {
    const DEVICE: DeviceName = DeviceName::Cpu;

    fn create(seed: u64) -> Result<Self, String> {
        Ok(Cpu::seed_from_u64(seed))
    }

    fn add_to_grad<S: Shape>(
        grads: &mut Gradients<f32, Cpu>,
        t: &Tensor<S, f32, Cpu>,
        v: &[f32],
    ) -> Result<(), CpuError> {
        let g = grads.get_or_alloc_mut(t)?;
        assert_eq!(g.len(), v.len(), "a host gradient of the tensor's size");
        g.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        Ok(())
    }

    fn conv2d<T: Tape<f32, Cpu>>(
        x: Image<Cpu, T>,
        weight: &Matrix<Cpu>,
        bias: &Vector<Cpu>,
        g: ConvGeometry,
        input_grad: bool,
    ) -> Image<Cpu, T> {
        conv2d::conv2d(x, weight, bias, g, input_grad)
    }

    fn maxpool2d<T: Tape<f32, Cpu>>(x: Image<Cpu, T>, g: PoolGeometry) -> Image<Cpu, T> {
        maxpool2d::maxpool2d(x, g)
    }
}

#[cfg(feature = "cuda")]
impl Backend for Cuda {
    const DEVICE: DeviceName = DeviceName::Cuda;

    /// GPU 0, checked before use: cudarc's `CudaDevice::new` unwraps the
    /// driver's initialisation and its device lookup, so those two are asked
    /// first (a clear error, not a panic); then one tiny kernel runs, since
    /// dfdx loads its kernels only on first use and a binary built for
    /// another GPU architecture, or a driver too old for it, fails there.
    fn create(seed: u64) -> Result<Self, String> {
        use cudarc::driver::result;
        let made = || -> Result<Cuda, String> {
            let why = |e: &dyn std::fmt::Debug| format!("{e:?}");
            result::init().map_err(|e| why(&e))?;
            result::device::get(0).map_err(|e| why(&e))?;
            let dev = Cuda::try_build(0, seed).map_err(|e| why(&e))?;
            let probe = || -> Result<Vec<f32>, CudaError> {
                let sum = dev
                    .try_tensor_from_vec(vec![-1.0f32, 2.0], (2,))?
                    .try_relu()?
                    .try_sum()?;
                // A failed launch shows here, as an error; `as_vec` would panic on it.
                dev.try_synchronize()?;
                Ok(sum.as_vec())
            };
            match probe().map_err(|e| why(&e))? {
                sum if sum == [2.0] => Ok(dev),
                sum => Err(format!("a test kernel computed {sum:?}, not [2.0]")),
            }
        };
        // What cudarc still unwraps after those checks (making the context
        // current, binding cuBLAS) is caught too, so a run never dies here.
        std::panic::catch_unwind(made)
            .unwrap_or_else(|panic| Err(crate::error::panic_message(&*panic)))
            .map_err(|why| format!("no usable CUDA GPU ({why}); `--device cpu` trains on the CPU"))
    }

    /// Through the host: one copy down, the sum, one copy up. Only the
    /// GradNorm step adds host gradients, once per step and layer.
    fn add_to_grad<S: Shape>(
        grads: &mut Gradients<f32, Cuda>,
        t: &Tensor<S, f32, Cuda>,
        v: &[f32],
    ) -> Result<(), CudaError> {
        use cudarc::driver::DeviceSlice;
        let g: &mut cudarc::driver::CudaSlice<f32> = grads.get_or_alloc_mut(t)?;
        assert_eq!(g.len(), v.len(), "a host gradient of the tensor's size");
        let dev = g.device();
        let mut host = dev.dtoh_sync_copy(g)?;
        host.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        dev.htod_sync_copy_into(&host, g)?;
        Ok(())
    }

    fn conv2d<T: Tape<f32, Cuda>>(
        x: Image<Cuda, T>,
        weight: &Matrix<Cuda>,
        bias: &Vector<Cuda>,
        g: ConvGeometry,
        input_grad: bool,
    ) -> Image<Cuda, T> {
        super::composed::conv2d(x, weight, bias, g, input_grad)
    }

    fn maxpool2d<T: Tape<f32, Cuda>>(x: Image<Cuda, T>, g: PoolGeometry) -> Image<Cuda, T> {
        super::composed::maxpool2d(x, g)
    }
}

/// Runs `$body` with the type `$B` set to the [`Backend`] that `$device` (a
/// [`crate::config::DeviceName`]) names.
macro_rules! on_device {
    ($device:expr, $B:ident => $body:expr) => {
        match $device {
            $crate::config::DeviceName::Cpu => {
                type $B = ::dfdx::tensor::Cpu;
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::config::DeviceName::Cuda => {
                type $B = ::dfdx::tensor::Cuda;
                $body
            }
            #[cfg(not(feature = "cuda"))]
            $crate::config::DeviceName::Cuda => {
                unreachable!(
                    "config validation refuses train.device = \"cuda\" in a build without CUDA"
                )
            }
        }
    };
}
pub(crate) use on_device;

/// Whether `device` can be used here: `Err` says why not.
pub fn check(device: DeviceName) -> Result<(), Error> {
    on_device!(device, B => B::create(0).map(drop).map_err(|m| Error::device(B::DEVICE.as_str(), m)))
}
