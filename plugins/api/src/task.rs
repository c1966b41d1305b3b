//! Task kinds: how a head's outputs become a loss and predictions
//! (`[[tasks]] kind = "…"`).

use crate::{Backend, Matrix, TapedMatrix, TapedScalar};
use dfdx::prelude::*;

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
/// `metrics`, `head`) are the kind's own serde fields.
pub trait TaskKind: Send + Sync {
    /// Outputs of the task's head.
    fn head_size(&self) -> usize;

    /// What the targets are.
    fn target_type(&self) -> TargetType;

    /// The metrics every task of this kind reports; the first is the
    /// headline metric unless the task names another.
    fn metrics(&self) -> Vec<&'static str>;

    /// The targets of `rows` as a tensor the loss compares the outputs with.
    fn target_matrix(&self, dev: &Backend, targets: &Targets, rows: &[usize]) -> Matrix;

    /// The mean loss of a batch, on the tape so it can be differentiated.
    fn loss(&self, outputs: TapedMatrix, targets: Matrix) -> TapedScalar;

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

/// `[rows, classes]` one-hot rows of class targets.
pub fn one_hot(dev: &Backend, targets: &Targets, rows: &[usize], classes: usize) -> Matrix {
    let Targets::Classes(c) = targets else {
        panic!("one_hot needs class targets")
    };
    let mut v = vec![0f32; rows.len() * classes];
    for (i, &r) in rows.iter().enumerate() {
        v[i * classes + c[r]] = 1.0;
    }
    dev.tensor_from_vec(v, (rows.len(), classes))
}

/// `[rows, width]` of real-valued targets.
pub fn value_rows(dev: &Backend, targets: &Targets, rows: &[usize]) -> Matrix {
    let Targets::Values { values, width } = targets else {
        panic!("value_rows needs real-valued targets")
    };
    let v = rows
        .iter()
        .flat_map(|&r| &values[r * width..(r + 1) * width])
        .copied()
        .collect();
    dev.tensor_from_vec(v, (rows.len(), *width))
}
