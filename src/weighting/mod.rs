//! Loss-weighting strategies: how per-task losses become the objective.
//!
//! A strategy sees each step's task losses and returns the weight of each
//! task for that step; it knows nothing of layers. One file per strategy,
//! one line in [`build`] to register it (LibMTL's `weighting/` layout).

mod fixed;
mod gradnorm;
mod uncertainty;

pub use fixed::{Fixed, FixedOptions};
pub use gradnorm::{GradNorm, GradNormOn, GradNormOptions};
pub use mtl_plugin::{GradientNorms, StrategyBuilder, TaskInfo, WeightingStrategy};
pub use uncertainty::{Uncertainty, UncertaintyOptions};

use crate::config::{TaskConfig, WeightingConfig};
use mtl_plugin::{OptimizerConfig, OptionError, Registry};

pub fn register(r: &mut Registry) {
    r.strategy::<FixedOptions>()
        .strategy::<UncertaintyOptions>()
        .strategy::<GradNormOptions>();
}

/// A learning rate: finite and > 0.
pub(crate) fn check_positive(key: &str, value: f64) -> Result<(), OptionError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(OptionError::new(
            key,
            format!("{value}, expected a number > 0"),
        ))
    }
}

/// The strategy of a multi-task model, from the registry.
pub fn build(
    config: &WeightingConfig,
    tasks: &[&TaskConfig],
    optimizer: OptimizerConfig,
) -> Box<dyn WeightingStrategy> {
    let infos: Vec<TaskInfo> = tasks
        .iter()
        .map(|t| TaskInfo {
            name: t.name.clone(),
            weight: t.weight,
            likelihood: t.task_kind().likelihood(),
        })
        .collect();
    crate::plugins::registry()
        .find_strategy(&config.strategy, &config.options)
        .expect("the strategy was checked when the config was loaded")
        .item
        .build(&infos, &optimizer)
}
