//! Task kinds and metrics: how a head's outputs become a loss, predictions
//! and numbers. One file per kind, one line in [`register`] for each.

mod binary;
mod classification;
pub mod metrics;
mod regression;

pub use binary::Binary;
pub use classification::Classification;
pub use regression::Regression;

use crate::config::MetricName;
use crate::data::TargetScale;
use mtl_plugin::{OptionError, Outcome, Registry, Targets, TaskKind};

pub fn register(r: &mut Registry) {
    r.task_kind::<Classification>()
        .task_kind::<Binary>()
        .task_kind::<Regression>()
        .metric(metrics::Accuracy)
        .metric(metrics::MacroF1)
        .metric(metrics::Rmse)
        .metric(metrics::Mae)
        .metric(metrics::R2);
}

/// `key` must be at least `min` and at most the largest size any key may set.
pub(crate) fn check_size(key: &str, value: usize, min: usize) -> Result<(), OptionError> {
    let max = crate::config::MAX_SIZE;
    if value < min || value > max {
        return Err(OptionError::new(
            key,
            format!("{value}, expected {min} to {max}"),
        ));
    }
    Ok(())
}

/// A class count of at least `min`.
pub(crate) fn check_classes(classes: usize, min: usize) -> Result<(), OptionError> {
    check_size("classes", classes, min)
}

pub use mtl_plugin::Direction;

impl MetricName {
    /// The name used in TOML and in every CSV file.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the metric is linked into this build.
    pub fn is_known(&self) -> bool {
        crate::plugins::registry().find_metric(&self.0).is_some()
    }

    /// Whether a larger value is better (for a metric checked to be known).
    pub fn direction(&self) -> Direction {
        crate::plugins::registry()
            .find_metric(&self.0)
            .map_or(Direction::Higher, |m| m.direction())
    }
}

/// The named metrics of outputs `[rows, head_size]` against `targets`;
/// real values are compared in their original units.
pub fn evaluate_outputs(
    kind: &dyn TaskKind,
    metrics: &[MetricName],
    outputs: &[f32],
    targets: &Targets,
    scale: TargetScale,
) -> Vec<(MetricName, f64)> {
    let registry = crate::plugins::registry();
    let (pred_classes, pred_values, truth_values);
    let outcome = match targets {
        Targets::Classes(truth) => {
            pred_classes = kind.predict(outputs);
            let classes = match kind.target_type() {
                mtl_plugin::TargetType::Classes { classes } => classes,
                mtl_plugin::TargetType::Values { .. } => 0,
            };
            Outcome::Classes {
                predicted: &pred_classes,
                truth,
                classes,
            }
        }
        Targets::Values { values, width } => {
            pred_values = outputs
                .iter()
                .map(|&o| scale.restore(o))
                .collect::<Vec<f64>>();
            truth_values = values
                .iter()
                .map(|&t| scale.restore(t))
                .collect::<Vec<f64>>();
            Outcome::Values {
                predicted: &pred_values,
                truth: &truth_values,
                width: *width,
            }
        }
    };
    metrics
        .iter()
        .map(|name| {
            let metric = registry
                .find_metric(name.as_str())
                .expect("metric names were checked when the config was loaded");
            (name.clone(), metric.compute(&outcome))
        })
        .collect()
}

/// The loss of one batch whose rows are all of `targets` (for tests).
#[cfg(test)]
pub(crate) fn batch_loss(kind: &dyn TaskKind, outputs: Vec<f32>, targets: &Targets) -> f32 {
    use dfdx::prelude::*;
    let dev = Cpu::default();
    let size = kind.head_size();
    let rows: Vec<usize> = (0..outputs.len() / size).collect();
    let t = kind.target_matrix(&dev, targets, &rows);
    let o = dev.tensor_from_vec(outputs, (rows.len(), size));
    kind.loss_on(o.leaky_traced(), t).array()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_metrics_in_original_units() {
        // Standardised outputs with mean 10, std 2: predictions 10, 12, 8 against 11, 12, 6.
        let kind = Regression {
            outputs: 1,
            standardize: true,
        };
        let names: Vec<MetricName> = ["rmse", "mae", "r2"].map(MetricName::from).to_vec();
        let out = evaluate_outputs(
            &kind,
            &names,
            &[0.0, 1.0, -1.0],
            &Targets::Values {
                values: vec![0.5, 1.0, -2.0],
                width: 1,
            },
            TargetScale {
                mean: 10.0,
                std: 2.0,
            },
        );
        assert!((out[0].1 - (5.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!((out[1].1 - 1.0).abs() < 1e-9);
        assert!((out[2].1 - (1.0 - 15.0 / 62.0)).abs() < 1e-9);
    }
}
