//! Task kinds: how a head's outputs become a loss and metrics.

pub mod loss;
pub mod metrics;

pub use loss::{batch_targets, task_loss};
pub use metrics::{evaluate_outputs, Direction};

use crate::config::{MetricName, TaskKind};

/// The metrics every task of a kind reports, headline metric choices included.
pub fn metrics_of(kind: TaskKind) -> &'static [MetricName] {
    match kind {
        TaskKind::Classification | TaskKind::Binary => &[MetricName::Accuracy, MetricName::MacroF1],
        TaskKind::Regression => &[MetricName::Rmse, MetricName::Mae, MetricName::R2],
    }
}

impl MetricName {
    /// The name used in TOML and in every CSV file.
    pub fn as_str(&self) -> &'static str {
        match self {
            MetricName::Accuracy => "accuracy",
            MetricName::MacroF1 => "macro_f1",
            MetricName::Rmse => "rmse",
            MetricName::Mae => "mae",
            MetricName::R2 => "r2",
        }
    }

    pub fn direction(&self) -> Direction {
        match self {
            MetricName::Accuracy | MetricName::MacroF1 | MetricName::R2 => Direction::Higher,
            MetricName::Rmse | MetricName::Mae => Direction::Lower,
        }
    }
}
