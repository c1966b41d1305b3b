//! `balanced_accuracy`: the mean over classes of the recall of each class
//! (the share of its rows predicted as it), counting only the classes that
//! occur in the truth, as scikit-learn's `balanced_accuracy_score` does.
//! On imbalanced classes it shows what plain accuracy hides: always
//! predicting the majority class scores 1/K, not the majority's share.

use mtl_plugin::metric::OutcomeKind;
use mtl_plugin::{Direction, Metric, Outcome, Registry};

/// Adds the `balanced_accuracy` metric.
pub fn register(registry: &mut Registry) {
    registry.metric(BalancedAccuracy);
}

pub struct BalancedAccuracy;

impl Metric for BalancedAccuracy {
    fn name(&self) -> &'static str {
        "balanced_accuracy"
    }

    fn direction(&self) -> Direction {
        Direction::Higher
    }

    /// Predicted and true classes: classification, binary and ordinal tasks.
    fn reads(&self) -> OutcomeKind {
        OutcomeKind::Classes
    }

    fn compute(&self, outcome: &Outcome) -> f64 {
        let Outcome::Classes {
            predicted,
            truth,
            classes,
        } = *outcome
        else {
            unreachable!("the framework passes only the outcomes `reads` names")
        };
        let mut rows = vec![0usize; classes];
        let mut hits = vec![0usize; classes];
        for (&p, &t) in predicted.iter().zip(truth) {
            rows[t] += 1;
            hits[t] += usize::from(p == t);
        }
        let recalls: Vec<f64> = rows
            .iter()
            .zip(&hits)
            .filter(|(&n, _)| n > 0)
            .map(|(&n, &h)| h as f64 / n as f64)
            .collect();
        recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_recall_over_the_classes_in_the_truth() {
        // Class 0: 3 rows, 2 right; class 1: 1 row, 1 right; class 2 never
        // occurs. (2/3 + 1/1) / 2 = 5/6, where plain accuracy is 3/4.
        let outcome = Outcome::Classes {
            predicted: &[0, 0, 1, 1],
            truth: &[0, 0, 0, 1],
            classes: 3,
        };
        let value = BalancedAccuracy.compute(&outcome);
        assert!((value - 5.0 / 6.0).abs() < 1e-12, "{value}");
    }

    #[test]
    fn always_the_majority_class_scores_one_over_k() {
        let outcome = Outcome::Classes {
            predicted: &[1; 10],
            truth: &[1, 1, 1, 1, 1, 1, 1, 1, 0, 2],
            classes: 3,
        };
        assert!((BalancedAccuracy.compute(&outcome) - 1.0 / 3.0).abs() < 1e-12);
    }
}
