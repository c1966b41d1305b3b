//! `kind = "classification"`: softmax cross-entropy over `classes` logits.

use dfdx::prelude::*;
use mtl_plugin::task::one_hot;
use mtl_plugin::{
    Dev, Matrix, OptionError, Options, TapedMatrix, TapedScalar, TargetType, Targets, TaskKind,
    TaskLoss,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classification {
    /// Number of classes = head size; labels 0..classes.
    pub classes: usize,
}

impl Options for Classification {
    const NAME: &'static str = "classification";
    const ABOUT: &'static str = "softmax cross-entropy over `classes` logits";

    fn check(&self) -> Result<(), OptionError> {
        super::check_classes(self.classes, 2)
    }
}

impl TaskKind for Classification {
    fn head_size(&self) -> usize {
        self.classes
    }
    fn target_type(&self) -> TargetType {
        TargetType::Classes {
            classes: self.classes,
        }
    }
    fn metrics(&self) -> Vec<&'static str> {
        vec!["accuracy", "macro_f1"]
    }
    fn target_values(&self, targets: &Targets, rows: &[usize]) -> Vec<f32> {
        one_hot(targets, rows, self.classes)
    }
}

impl<D: Dev> TaskLoss<D> for Classification {
    fn loss(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D> {
        cross_entropy_with_logits_loss(outputs, targets)
    }
}

#[cfg(test)]
mod tests {
    //! Reference values computed by hand (and checked with
    //! `tests/reference/losses_metrics.py`, which needs only Python).
    use super::*;
    use crate::tasks::batch_loss;

    #[test]
    fn cross_entropy() {
        // Row 1: logits [2, 1, 0], class 0 → ln(e²+e+1) − 2 = 0.40760596.
        // Row 2: logits [0, 0, 0], class 2 → ln 3 = 1.09861229. Mean 0.75310912.
        let kind = Classification { classes: 3 };
        let l = batch_loss(
            &kind,
            vec![2.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            &Targets::Classes(vec![0, 2]),
        );
        assert!((l - 0.753_109_1).abs() < 1e-6, "{l}");
    }

    #[test]
    fn predicts_the_argmax_first_on_ties() {
        let kind = Classification { classes: 3 };
        assert_eq!(kind.predict(&[0.1, 0.7, 0.2, 3.0, 3.0, 1.0]), vec![1, 0]);
    }
}
