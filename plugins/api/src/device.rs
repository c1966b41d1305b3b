//! The devices tensors live on: dfdx's `Cpu`, and with the `cuda` feature
//! its `Cuda`. A task kind's loss is written once, generic over [`Dev`].

use crate::task::{TaskKind, TaskLoss};
use crate::{Matrix, TapedMatrix, TapedScalar};
use dfdx::prelude::*;

/// A device the framework trains on: every dfdx tensor op, and the way to
/// reach a task kind's loss for this device through `dyn TaskKind`.
pub trait Dev: Device<f32> {
    /// `kind`'s loss on this device (what [`TaskKind::loss_on`] calls).
    #[doc(hidden)]
    fn task_loss(
        kind: &dyn TaskKind,
        outputs: TapedMatrix<Self>,
        targets: Matrix<Self>,
    ) -> TapedScalar<Self>;
}

impl Dev for Cpu {
    fn task_loss(
        kind: &dyn TaskKind,
        outputs: TapedMatrix<Cpu>,
        targets: Matrix<Cpu>,
    ) -> TapedScalar<Cpu> {
        TaskLoss::<Cpu>::loss(kind, outputs, targets)
    }
}

#[cfg(feature = "cuda")]
impl Dev for Cuda {
    fn task_loss(
        kind: &dyn TaskKind,
        outputs: TapedMatrix<Cuda>,
        targets: Matrix<Cuda>,
    ) -> TapedScalar<Cuda> {
        TaskLoss::<Cuda>::loss(kind, outputs, targets)
    }
}

/// A loss for every device of this build: what `impl<D: Dev> TaskLoss<D>`
/// gives. A kind whose loss exists only for the CPU does not build with
/// the `cuda` feature.
#[cfg(not(feature = "cuda"))]
pub trait LossOnEveryDevice: TaskLoss<Cpu> {}
#[cfg(not(feature = "cuda"))]
impl<K: TaskLoss<Cpu>> LossOnEveryDevice for K {}

/// A loss for every device of this build: what `impl<D: Dev> TaskLoss<D>`
/// gives. A kind whose loss exists only for the CPU does not build with
/// the `cuda` feature.
#[cfg(feature = "cuda")]
pub trait LossOnEveryDevice: TaskLoss<Cpu> + TaskLoss<Cuda> {}
#[cfg(feature = "cuda")]
impl<K: TaskLoss<Cpu> + TaskLoss<Cuda>> LossOnEveryDevice for K {}
