//! What will be trained: the multi-task model, one single-task baseline per
//! task, and the shapes of all of them, resolved before any training.

pub mod shapes;

pub use shapes::{ConvGeometry, HeadShape, PoolGeometry, ResolvedLayer, ShapeRow, ShapeTable};

use crate::config::ExperimentConfig;
use crate::weighting::GradientNorms;
use std::fmt;

/// One model to train: which tasks its heads serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPlan {
    /// `mtl` or `stl:<task>`; the `model` column of the result files.
    pub id: String,
    /// Indices into `config.tasks`.
    pub tasks: Vec<usize>,
}

impl ModelPlan {
    pub fn is_multi_task(&self) -> bool {
        self.id == "mtl"
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub models: Vec<ModelPlan>,
    pub shapes: ShapeTable,
}

impl Plan {
    /// Resolves shapes for a sample of shape `input` and lists the models.
    pub fn new(config: &ExperimentConfig, input: &[usize]) -> Result<Plan, String> {
        let shapes = shapes::resolve(input, &config.trunk.layers, &config.tasks)?;
        let tasks: Vec<_> = config.tasks.iter().collect();
        let strategy = crate::weighting::build(&config.weighting, &tasks, config.train.optimizer);
        if strategy.gradient_norms() == GradientNorms::LastSharedLayer {
            check_gradnorm_layer(&shapes.trunk_layers)?;
        }
        let mut models = vec![ModelPlan {
            id: "mtl".into(),
            tasks: (0..config.tasks.len()).collect(),
        }];
        if config.baselines.single_task {
            models.extend(config.tasks.iter().enumerate().map(|(i, t)| ModelPlan {
                id: format!("stl:{}", t.name),
                tasks: vec![i],
            }));
        }
        Ok(Plan { models, shapes })
    }
}

/// GradNorm's norms at the last shared layer replay the layers after it once
/// per task, so those layers must be deterministic (no dropout).
fn check_gradnorm_layer(layers: &[ResolvedLayer]) -> Result<(), String> {
    let last = layers
        .iter()
        .rposition(|l| matches!(l, ResolvedLayer::Linear { .. } | ResolvedLayer::Conv2d { .. }))
        .ok_or("weighting `gradnorm` with `on = \"last_shared_layer\"`: the trunk has no layer with weights; use `on = \"representation\"`")?;
    if let Some(i) =
        (last + 1..layers.len()).find(|&i| matches!(layers[i], ResolvedLayer::Dropout { .. }))
    {
        return Err(format!(
            "weighting `gradnorm` with `on = \"last_shared_layer\"` (trunk.layers[{last}]): trunk.layers[{i}] is a dropout after it, which the per-task gradient norms cannot replay; move the dropout before trunk.layers[{last}] or use `on = \"representation\"`"
        ));
    }
    Ok(())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "models to train:")?;
        for m in &self.models {
            let what = if m.is_multi_task() {
                "multi-task model, shared trunk + one head per task"
            } else {
                "single-task baseline, same trunk + one head"
            };
            writeln!(f, "  {:<16} {what}", m.id)?;
        }
        writeln!(f)?;
        write!(f, "{}", self.shapes)
    }
}
