//! `kind = "ordinal"`: K−1 threshold logits, each a binary cross-entropy
//! against "class > k"; the prediction is the number of positive logits.

use mtl_plugin::dfdx::prelude::*;
use mtl_plugin::{
    Dev, Matrix, OptionError, Options, TapedMatrix, TapedScalar, TargetType, Targets, TaskKind,
    TaskLoss,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ordinal {
    /// Number of ordered classes K; labels 0..K, the head has K−1 outputs.
    pub classes: usize,
}

impl Options for Ordinal {
    const NAME: &'static str = "ordinal";
    const ABOUT: &'static str =
        "ordered classes as K−1 binary thresholds \"class > k\" (mean binary cross-entropy)";

    fn check(&self) -> Result<(), OptionError> {
        if self.classes < 3 {
            return Err(OptionError::new(
                "classes",
                format!(
                    "{}, expected at least 3 (with 2 ordered classes use kind = \"binary\")",
                    self.classes
                ),
            ));
        }
        if self.classes > 1 << 16 {
            return Err(OptionError::new(
                "classes",
                format!("{}, expected at most {}", self.classes, 1 << 16),
            ));
        }
        Ok(())
    }
}

impl TaskKind for Ordinal {
    fn head_size(&self) -> usize {
        self.classes - 1
    }

    fn target_type(&self) -> TargetType {
        TargetType::Classes {
            classes: self.classes,
        }
    }

    fn metrics(&self) -> Vec<&'static str> {
        vec!["accuracy", "class_mae"]
    }

    /// Row r, column k: 1 if the class of r is above k, else 0
    /// (class 2 of 5 → [1, 1, 0, 0]).
    fn target_values(&self, targets: &Targets, rows: &[usize]) -> Vec<f32> {
        let Targets::Classes(classes) = targets else {
            panic!("ordinal tasks have class targets")
        };
        let k = self.head_size();
        let mut v = vec![0f32; rows.len() * k];
        for (i, &r) in rows.iter().enumerate() {
            v[i * k..i * k + classes[r]].fill(1.0);
        }
        v
    }

    /// The number of thresholds the row is above (positive logits). With
    /// independent logits the answers need not be monotone; counting them
    /// is the rule of Niu et al. and never leaves 0..K.
    fn predict(&self, outputs: &[f32]) -> Vec<usize> {
        outputs
            .chunks(self.head_size())
            .map(|row| row.iter().filter(|&&o| o > 0.0).count())
            .collect()
    }
}

impl<D: Dev> TaskLoss<D> for Ordinal {
    /// The mean over rows and thresholds of the binary cross-entropy.
    fn loss(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D> {
        binary_cross_entropy_with_logits_loss(outputs, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss of `logits` (`[rows, K−1]`, row-major) against `classes`.
    fn loss_of(kind: &Ordinal, logits: Vec<f32>, classes: Vec<usize>) -> f32 {
        let dev = Cpu::default();
        let rows: Vec<usize> = (0..classes.len()).collect();
        let t = kind.target_values(&Targets::Classes(classes), &rows);
        let t = dev.tensor_from_vec(t, (rows.len(), kind.head_size()));
        let out = dev.tensor_from_vec(logits, (rows.len(), kind.head_size()));
        kind.loss(out.leaky_traced(), t).array()
    }

    #[test]
    fn targets_are_cumulative() {
        let kind = Ordinal { classes: 4 };
        let t = kind.target_values(&Targets::Classes(vec![0, 2, 3]), &[2, 1, 0]);
        assert_eq!(t, vec![1., 1., 1., 1., 1., 0., 0., 0., 0.]);
    }

    #[test]
    fn loss_matches_the_numpy_reference() {
        // tests/reference/ordinal.py prints 0.31895 for this case
        // (K = 4; logits [[2, 0.5, -1], [-0.3, -2, -4]], classes [2, 1]).
        let kind = Ordinal { classes: 4 };
        let l = loss_of(&kind, vec![2.0, 0.5, -1.0, -0.3, -2.0, -4.0], vec![2, 1]);
        assert!((l - 0.318_95).abs() < 1e-6, "{l}");
    }

    #[test]
    fn prediction_counts_positive_logits() {
        let kind = Ordinal { classes: 4 };
        assert_eq!(
            kind.predict(&[2.0, 0.5, -1.0, -0.3, -2.0, -4.0, 1.0, -1.0, 1.0, 0.1, 0.2, 0.3]),
            vec![2, 0, 2, 3]
        );
    }

    #[test]
    fn fewer_than_three_classes_is_refused() {
        let err = Ordinal { classes: 2 }.check().unwrap_err();
        assert_eq!(err.key, "classes");
        assert!(err.message.contains("binary"), "{}", err.message);
    }
}
