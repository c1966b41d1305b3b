//! `kind = "binary"`: binary cross-entropy with one logit; labels 0 or 1.

use dfdx::prelude::*;
use mtl_plugin::{
    Backend, Matrix, Options, TapedMatrix, TapedScalar, TargetType, Targets, TaskKind,
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
    fn target_matrix(&self, dev: &Backend, targets: &Targets, rows: &[usize]) -> Matrix {
        let Targets::Classes(c) = targets else {
            panic!("binary tasks have class targets")
        };
        dev.tensor_from_vec(rows.iter().map(|&r| c[r] as f32).collect(), (rows.len(), 1))
    }
    fn loss(&self, outputs: TapedMatrix, targets: Matrix) -> TapedScalar {
        binary_cross_entropy_with_logits_loss(outputs, targets)
    }
    /// Class 1 where the logit is positive.
    fn predict(&self, outputs: &[f32]) -> Vec<usize> {
        outputs.iter().map(|&o| usize::from(o > 0.0)).collect()
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
