//! `kind = "binary"`: binary cross-entropy with one logit; labels 0 or 1.

use dfdx::prelude::*;
use mtl_plugin::{
    Dev, Matrix, Options, TapedMatrix, TapedScalar, TargetType, Targets, TaskKind, TaskLoss,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binary {}

impl Options for Binary {
    const NAME: &'static str = "binary";
    const ABOUT: &'static str = "binary cross-entropy with one logit; labels 0 or 1";
}

impl TaskKind for Binary {
    fn head_size(&self) -> usize {
        1
    }
    fn target_type(&self) -> TargetType {
        TargetType::Classes { classes: 2 }
    }
    fn metrics(&self) -> Vec<&'static str> {
        vec!["accuracy", "macro_f1"]
    }
    fn target_values(&self, targets: &Targets, rows: &[usize]) -> Vec<f32> {
        let Targets::Classes(c) = targets else {
            panic!("binary tasks have class targets")
        };
        rows.iter().map(|&r| c[r] as f32).collect()
    }
    /// Class 1 where the logit is positive.
    fn predict(&self, outputs: &[f32]) -> Vec<usize> {
        outputs.iter().map(|&o| usize::from(o > 0.0)).collect()
    }
}

impl<D: Dev> TaskLoss<D> for Binary {
    fn loss(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D> {
        binary_cross_entropy_with_logits_loss(outputs, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::batch_loss;

    #[test]
    fn binary_cross_entropy_with_logits() {
        // −ln σ(1.5) = 0.20141328; −ln(1 − σ(−0.5)) = 0.47407698; mean 0.33774513.
        let l = batch_loss(&Binary {}, vec![1.5, -0.5], &Targets::Classes(vec![1, 0]));
        assert!((l - 0.337_745_1).abs() < 1e-6, "{l}");
    }

    #[test]
    fn threshold_at_zero() {
        assert_eq!(Binary {}.predict(&[0.3, -0.1, 0.0]), vec![1, 0, 0]);
    }
}
