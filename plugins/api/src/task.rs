//! Task kinds: how a head's outputs become a loss and predictions
//! (`[[tasks]] kind = "…"`).

use crate::{Dev, LossOnEveryDevice, Matrix, TapedMatrix, TapedScalar};

/// Targets of one task for the rows of one split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices `0..classes`.
    Classes(Vec<usize>),
    /// Real values (`width` per row, row-major), standardised if the task asks for it.
    Values { values: Vec<f32>, width: usize },
}

impl Targets {
    /// The targets of `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(rows.iter().map(|&r| c[r]).collect()),
            Targets::Values { values, width } => Targets::Values {
                values: rows
                    .iter()
                    .flat_map(|&r| &values[r * width..(r + 1) * width])
                    .copied()
                    .collect(),
                width: *width,
            },
        }
    }
}

/// What a task's targets are, which the framework derives and checks from
/// the label column before anything trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    /// Integer labels `0..classes`; a label outside is a data error.
    Classes { classes: usize },
    /// `width` real values per row; with `standardize`, the model trains on
    /// targets scaled with training statistics (metrics stay in original units).
    Values { width: usize, standardize: bool },
}

/// The likelihood a task's loss is the negative log of, for strategies that
/// weight by it (uncertainty weighting uses ½·exp(−s) for a Gaussian and
/// exp(−s) otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likelihood {
    Gaussian,
    Categorical,
}

/// A kind of task: the rule for its head size, its loss, and how its outputs
/// become predictions. The options of the `[[tasks]]` entry (beyond the
/// framework's `name`, `kind`, `label`, `map`, `weight`, `metric`,
/// `metrics`, `head`) are the kind's own serde fields. Its loss is a
/// [`TaskLoss`], written once for every device: `impl<D: Dev> TaskLoss<D>`.
pub trait TaskKind: Send + Sync + LossOnEveryDevice {
    /// Outputs of the task's head.
    fn head_size(&self) -> usize;

    /// What the targets are.
    fn target_type(&self) -> TargetType;

    /// The metrics every task of this kind reports; the first is the
    /// headline metric unless the task names another.
    fn metrics(&self) -> Vec<&'static str>;

    /// The targets of `rows` as the loss compares the outputs with them:
    /// `[rows.len(), head_size()]`, row-major.
    fn target_values(&self, targets: &Targets, rows: &[usize]) -> Vec<f32>;

    /// The predicted class of each row of `outputs` (`[rows, head_size]`),
    /// for kinds with class targets. Default: the argmax (first on ties).
    fn predict(&self, outputs: &[f32]) -> Vec<usize> {
        argmax_rows(outputs, self.head_size())
    }

    /// Default: Gaussian for real-valued targets, categorical for classes.
    fn likelihood(&self) -> Likelihood {
        match self.target_type() {
            TargetType::Values { .. } => Likelihood::Gaussian,
            TargetType::Classes { .. } => Likelihood::Categorical,
        }
    }
}

/// A task kind's loss on device `D`.
pub trait TaskLoss<D: Dev> {
    /// The mean loss of a batch (`outputs` and `targets` are `[rows, head
    /// size]`), on the tape so it can be differentiated.
    fn loss(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D>;
}

impl dyn TaskKind + '_ {
    /// The targets of `rows` as a tensor on `dev`.
    pub fn target_matrix<D: Dev>(&self, dev: &D, targets: &Targets, rows: &[usize]) -> Matrix<D> {
        dev.tensor_from_vec(
            self.target_values(targets, rows),
            (rows.len(), self.head_size()),
        )
    }

    /// The kind's loss on the device the tensors are on.
    pub fn loss_on<D: Dev>(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D> {
        D::task_loss(self, outputs, targets)
    }
}

/// The index of each row's largest value (the first on ties).
pub fn argmax_rows(outputs: &[f32], width: usize) -> Vec<usize> {
    outputs
        .chunks(width.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 {
                        (i, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}

/// `[rows, classes]` one-hot rows of class targets, row-major.
pub fn one_hot(targets: &Targets, rows: &[usize], classes: usize) -> Vec<f32> {
    let Targets::Classes(c) = targets else {
        panic!("one_hot needs class targets")
    };
    let mut v = vec![0f32; rows.len() * classes];
    for (i, &r) in rows.iter().enumerate() {
        v[i * classes + c[r]] = 1.0;
    }
    v
}

/// `[rows, width]` of real-valued targets, row-major.
pub fn value_rows(targets: &Targets, rows: &[usize]) -> Vec<f32> {
    let Targets::Values { values, width } = targets else {
        panic!("value_rows needs real-valued targets")
    };
    rows.iter()
        .flat_map(|&r| &values[r * width..(r + 1) * width])
        .copied()
        .collect()
}
