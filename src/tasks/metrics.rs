//! Evaluation metrics, in plain f64 arithmetic on the model's outputs:
//! accuracy and macro-F1 for class tasks, RMSE, MAE and R² (in the target's
//! original units) for regression.

use mtl_plugin::metric::OutcomeKind;
use mtl_plugin::{Direction, Metric, Outcome};

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

/// Defines a metric type over class or value outcomes from one of the functions above.
macro_rules! metric {
    ($ty:ident, $name:literal, $direction:ident, Classes, $f:expr) => {
        pub struct $ty;
        impl Metric for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn direction(&self) -> Direction {
                Direction::$direction
            }
            fn reads(&self) -> OutcomeKind {
                OutcomeKind::Classes
            }
            fn compute(&self, outcome: &Outcome) -> f64 {
                match outcome {
                    Outcome::Classes {
                        predicted, truth, ..
                    } => $f(predicted, truth),
                    Outcome::Values { .. } => f64::NAN,
                }
            }
        }
    };
    ($ty:ident, $name:literal, $direction:ident, Values, $f:expr) => {
        pub struct $ty;
        impl Metric for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn direction(&self) -> Direction {
                Direction::$direction
            }
            fn reads(&self) -> OutcomeKind {
                OutcomeKind::Values
            }
            fn compute(&self, outcome: &Outcome) -> f64 {
                match outcome {
                    Outcome::Values {
                        predicted,
                        truth,
                        width,
                    } => $f(predicted, truth, *width),
                    Outcome::Classes { .. } => f64::NAN,
                }
            }
        }
    };
}

metric!(Accuracy, "accuracy", Higher, Classes, accuracy);
metric!(MacroF1, "macro_f1", Higher, Classes, macro_f1);
// RMSE and MAE pool every output; R² is the mean of each output's R²
// (scikit-learn's "uniform_average").
metric!(Rmse, "rmse", Lower, Values, |p: &[f64], t: &[f64], _| rmse(
    p, t
));
metric!(Mae, "mae", Lower, Values, |p: &[f64], t: &[f64], _| mae(
    p, t
));
metric!(R2, "r2", Higher, Values, r2_mean);

/// The mean over outputs of each output's R² (`width` values per row).
fn r2_mean(pred: &[f64], truth: &[f64], width: usize) -> f64 {
    let column = |v: &[f64], j: usize| v.iter().skip(j).step_by(width).copied().collect::<Vec<_>>();
    (0..width)
        .map(|j| r2(&column(pred, j), &column(truth, j)))
        .sum::<f64>()
        / width as f64
}

#[cfg(test)]
mod tests {
    //! Values computed by hand; `tests/reference/losses_metrics.py` recomputes them.
    use super::*;

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
    fn regression_metrics() {
        // Predictions 10, 12, 8 against 11, 12, 6: errors −1, 0, 2: RMSE √(5/3),
        // MAE 1; truth mean 29/3, SS_tot 62/3, SS_res 5 → R² = 1 − 15/62.
        let (p, t) = ([10.0, 12.0, 8.0], [11.0, 12.0, 6.0]);
        let o = Outcome::Values {
            predicted: &p,
            truth: &t,
            width: 1,
        };
        assert!((Rmse.compute(&o) - (5.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!((Mae.compute(&o) - 1.0).abs() < 1e-9);
        assert!((R2.compute(&o) - (1.0 - 15.0 / 62.0)).abs() < 1e-9);
    }

    #[test]
    fn r2_averages_the_outputs() {
        // Output 0 is perfect (R² 1); output 1 predicts the mean (R² 0).
        let p = [1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
        let t = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        assert!((r2_mean(&p, &t, 2) - 0.5).abs() < 1e-12);
    }
}
