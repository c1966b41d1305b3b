//! Training losses, on dfdx tensors so they carry the tape:
//! softmax cross-entropy (classification), binary cross-entropy with logits
//! (binary), mean squared error (regression). Each is a mean over the batch.

use crate::config::TaskKind;
use crate::data::Targets;
use crate::model::{Backend, Matrix};
use dfdx::prelude::*;

/// The targets of `rows` as a tensor shaped like the head's output:
/// one-hot `[batch, classes]`, or `[batch, 1]`.
pub fn batch_targets(
    dev: &Backend,
    kind: TaskKind,
    head_size: usize,
    targets: &Targets,
    rows: &[usize],
) -> Matrix {
    let b = rows.len();
    let values = match (kind, targets) {
        (TaskKind::Classification, Targets::Classes(c)) => {
            let mut v = vec![0f32; b * head_size];
            for (i, &r) in rows.iter().enumerate() {
                v[i * head_size + c[r]] = 1.0;
            }
            v
        }
        (TaskKind::Binary, Targets::Classes(c)) => rows.iter().map(|&r| c[r] as f32).collect(),
        (TaskKind::Regression, Targets::Values { values, width }) => rows
            .iter()
            .flat_map(|&r| &values[r * width..(r + 1) * width])
            .copied()
            .collect(),
        _ => unreachable!("data::targets derives targets of the task's kind"),
    };
    dev.tensor_from_vec(values, (b, head_size))
}

/// The mean loss of a batch.
pub fn task_loss<T: Tape<f32, Backend>>(
    kind: TaskKind,
    outputs: Matrix<T>,
    targets: Matrix,
) -> Tensor<Rank0, f32, Backend, T> {
    match kind {
        TaskKind::Classification => cross_entropy_with_logits_loss(outputs, targets),
        TaskKind::Binary => binary_cross_entropy_with_logits_loss(outputs, targets),
        TaskKind::Regression => mse_loss(outputs, targets),
    }
}

#[cfg(test)]
mod tests {
    //! Reference values computed by hand (and checked with
    //! `tests/reference/losses_metrics.py`, which needs only Python).
    use super::*;

    fn loss(kind: TaskKind, outputs: Vec<f32>, targets: Targets, size: usize) -> f32 {
        let dev = Backend::default();
        let rows: Vec<usize> = (0..outputs.len() / size).collect();
        let t = batch_targets(&dev, kind, size, &targets, &rows);
        let o = dev.tensor_from_vec(outputs, (rows.len(), size));
        task_loss(kind, o, t).array()
    }

    #[test]
    fn cross_entropy() {
        // Row 1: logits [2, 1, 0], class 0 → ln(e²+e+1) − 2 = 0.40760596.
        // Row 2: logits [0, 0, 0], class 2 → ln 3 = 1.09861229. Mean 0.75310912.
        let l = loss(
            TaskKind::Classification,
            vec![2.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            Targets::Classes(vec![0, 2]),
            3,
        );
        assert!((l - 0.753_109_1).abs() < 1e-6, "{l}");
    }

    #[test]
    fn binary_cross_entropy_with_logits() {
        // −ln σ(1.5) = 0.20141328; −ln(1 − σ(−0.5)) = 0.47407698; mean 0.33774513.
        let l = loss(
            TaskKind::Binary,
            vec![1.5, -0.5],
            Targets::Classes(vec![1, 0]),
            1,
        );
        assert!((l - 0.337_745_1).abs() < 1e-6, "{l}");
    }

    #[test]
    fn mean_squared_error() {
        // ((1 − 0)² + (−2 − 1)²) / 2 = 5.
        let l = loss(
            TaskKind::Regression,
            vec![1.0, -2.0],
            Targets::Values {
                values: vec![0.0, 1.0],
                width: 1,
            },
            1,
        );
        assert!((l - 5.0).abs() < 1e-6, "{l}");
    }
}
