//! `kind = "regression"`: mean squared error on `outputs` real values.

use dfdx::prelude::*;
use mtl_plugin::task::value_rows;
use mtl_plugin::{
    Dev, Matrix, OptionError, Options, TapedMatrix, TapedScalar, TargetType, Targets, TaskKind,
    TaskLoss,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// Outputs of the head; the label column must hold that many values per row.
    #[serde(default = "one")]
    pub outputs: usize,
    /// Train on targets standardised with training statistics (metrics are
    /// always reported in the original units).
    #[serde(default = "yes")]
    pub standardize: bool,
}

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}

impl Options for Regression {
    const NAME: &'static str = "regression";
    const ABOUT: &'static str = "mean squared error on `outputs` values, targets standardised";

    fn check(&self) -> Result<(), OptionError> {
        super::check_size("outputs", self.outputs, 1)
    }
}

impl TaskKind for Regression {
    fn head_size(&self) -> usize {
        self.outputs
    }
    fn target_type(&self) -> TargetType {
        TargetType::Values {
            width: self.outputs,
            standardize: self.standardize,
        }
    }
    fn metrics(&self) -> Vec<&'static str> {
        vec!["rmse", "mae", "r2"]
    }
    fn target_values(&self, targets: &Targets, rows: &[usize]) -> Vec<f32> {
        value_rows(targets, rows)
    }
}

impl<D: Dev> TaskLoss<D> for Regression {
    fn loss(&self, outputs: TapedMatrix<D>, targets: Matrix<D>) -> TapedScalar<D> {
        mse_loss(outputs, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::batch_loss;

    #[test]
    fn mean_squared_error() {
        // ((1 − 0)² + (−2 − 1)²) / 2 = 5.
        let kind = Regression {
            outputs: 1,
            standardize: true,
        };
        let l = batch_loss(
            &kind,
            vec![1.0, -2.0],
            &Targets::Values {
                values: vec![0.0, 1.0],
                width: 1,
            },
        );
        assert!((l - 5.0).abs() < 1e-6, "{l}");
    }
}
