//! Evaluation metrics, in plain f64 arithmetic on the model's outputs:
//! accuracy and macro-F1 for class tasks, RMSE, MAE and R² (in the target's
//! original units) for regression.

use crate::config::{MetricName, TaskKind};
use crate::data::{TargetScale, Targets};

/// Whether a larger value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Higher,
    Lower,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        }
    }
}

/// Predicted class per row: argmax of the logits (first on ties), or logit > 0 for binary.
pub fn predicted_classes(kind: TaskKind, outputs: &[f32], size: usize) -> Vec<usize> {
    match kind {
        TaskKind::Binary => outputs.iter().map(|&o| usize::from(o > 0.0)).collect(),
        _ => outputs
            .chunks(size)
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
            .collect(),
    }
}

pub fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    let hits = pred.iter().zip(truth).filter(|(p, t)| p == t).count();
    hits as f64 / truth.len().max(1) as f64
}

/// Mean of per-class F1 over the classes that occur in the truth or the
/// predictions (scikit-learn's `f1_score(average="macro")`).
pub fn macro_f1(pred: &[usize], truth: &[usize]) -> f64 {
    let classes = pred.iter().chain(truth).max().map_or(0, |m| m + 1);
    let (mut tp, mut fp, mut fun) = (
        vec![0usize; classes],
        vec![0usize; classes],
        vec![0usize; classes],
    );
    for (&p, &t) in pred.iter().zip(truth) {
        if p == t {
            tp[p] += 1;
        } else {
            fp[p] += 1;
            fun[t] += 1;
        }
    }
    let present: Vec<usize> = (0..classes)
        .filter(|&c| tp[c] + fp[c] + fun[c] > 0)
        .collect();
    let f1 = |c: usize| 2.0 * tp[c] as f64 / (2 * tp[c] + fp[c] + fun[c]) as f64;
    present.iter().map(|&c| f1(c)).sum::<f64>() / present.len().max(1) as f64
}

pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    (pred
        .iter()
        .zip(truth)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / n)
        .sqrt()
}

pub fn mae(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    pred.iter()
        .zip(truth)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / n
}

/// Coefficient of determination, 1 − SS_res / SS_tot (NaN if the truth is constant).
pub fn r2(pred: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    let mean = truth.iter().sum::<f64>() / n;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    if ss_tot == 0.0 {
        f64::NAN
    } else {
        1.0 - ss_res / ss_tot
    }
}

/// Every metric of the task's kind for outputs `[rows, size]`.
pub fn evaluate_outputs(
    kind: TaskKind,
    outputs: &[f32],
    size: usize,
    targets: &Targets,
    scale: TargetScale,
) -> Vec<(MetricName, f64)> {
    match targets {
        Targets::Classes(truth) => {
            let pred = predicted_classes(kind, outputs, size);
            vec![
                (MetricName::Accuracy, accuracy(&pred, truth)),
                (MetricName::MacroF1, macro_f1(&pred, truth)),
            ]
        }
        Targets::Values { values, width } => {
            let pred: Vec<f64> = outputs.iter().map(|&o| scale.restore(o)).collect();
            let truth: Vec<f64> = values.iter().map(|&t| scale.restore(t)).collect();
            // RMSE and MAE pool every output; R² is the mean of each output's
            // R² (scikit-learn's "uniform_average").
            let column = |v: &[f64], j: usize| {
                v.iter()
                    .skip(j)
                    .step_by(*width)
                    .copied()
                    .collect::<Vec<_>>()
            };
            let r2_mean = (0..*width)
                .map(|j| r2(&column(&pred, j), &column(&truth, j)))
                .sum::<f64>()
                / *width as f64;
            vec![
                (MetricName::Rmse, rmse(&pred, &truth)),
                (MetricName::Mae, mae(&pred, &truth)),
                (MetricName::R2, r2_mean),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    //! Values computed by hand; `tests/reference/losses_metrics.py` recomputes them.
    use super::*;

    #[test]
    fn argmax_and_threshold() {
        assert_eq!(
            predicted_classes(TaskKind::Classification, &[0.1, 0.7, 0.2, 3.0, 3.0, 1.0], 3),
            vec![1, 0]
        );
        assert_eq!(
            predicted_classes(TaskKind::Binary, &[0.3, -0.1, 0.0], 1),
            vec![1, 0, 0]
        );
    }

    #[test]
    fn accuracy_and_macro_f1() {
        let truth = [0, 0, 1, 1, 2, 2];
        let pred = [0, 1, 1, 1, 2, 0];
        assert!((accuracy(&pred, &truth) - 4.0 / 6.0).abs() < 1e-12);
        // class 0: tp1 fp1 fn1 → 0.5; class 1: tp2 fp1 fn0 → 0.8; class 2: tp1 fp0 fn1 → 2/3.
        let want = (0.5 + 0.8 + 2.0 / 3.0) / 3.0;
        assert!((macro_f1(&pred, &truth) - want).abs() < 1e-12);
    }

    #[test]
    fn regression_metrics_in_original_units() {
        // Standardised outputs with mean 10, std 2: predictions 10, 12, 8 against 11, 12, 6.
        let out = evaluate_outputs(
            TaskKind::Regression,
            &[0.0, 1.0, -1.0],
            1,
            &Targets::Values {
                values: vec![0.5, 1.0, -2.0],
                width: 1,
            },
            TargetScale {
                mean: 10.0,
                std: 2.0,
            },
        );
        // errors −1, 0, 2: RMSE √(5/3), MAE 1; truth mean 29/3, SS_tot 62/3, SS_res 5 → R² = 1 − 15/62.
        assert!((out[0].1 - (5.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!((out[1].1 - 1.0).abs() < 1e-9);
        assert!((out[2].1 - (1.0 - 15.0 / 62.0)).abs() < 1e-9);
    }
}
