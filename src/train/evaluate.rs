//! Evaluation of a model on a whole split, without a tape and without dropout.

use super::input_batch;
use crate::config::{MetricName, TaskConfig, TaskKind};
use crate::data::{Part, PreparedData};
use crate::model::{Backend, Network};
use crate::plan::ModelPlan;
use crate::tasks::evaluate_outputs;
use dfdx::prelude::*;

/// Rows per forward pass: enough to keep the kernels busy, small enough that
/// a convolution's unfolded input stays in the tens of megabytes.
const EVAL_BATCH: usize = 128;

/// Per task of the model: the mean loss over `part` and every metric.
pub fn evaluate<B: Backend>(
    network: &Network<B>,
    tasks: &[&TaskConfig],
    plan: &ModelPlan,
    data: &PreparedData,
    part: &Part,
) -> Vec<(f64, Vec<(MetricName, f64)>)> {
    let dev = network.device().clone();
    let mut loss_sums = vec![0f64; tasks.len()];
    let mut outputs: Vec<Vec<f32>> = vec![Vec::with_capacity(part.len); tasks.len()];
    let kinds: Vec<Box<dyn TaskKind>> = tasks.iter().map(|t| t.task_kind()).collect();
    let all: Vec<usize> = (0..part.len).collect();
    for rows in all.chunks(EVAL_BATCH) {
        let z = network.trunk(input_batch(&dev, part, &data.sample_shape, rows), false);
        for (k, kind) in kinds.iter().enumerate() {
            let out = network.heads[k].forward(z.clone(), false);
            outputs[k].extend(out.as_vec());
            let target = kind.target_matrix(&dev, &part.targets[plan.tasks[k]], rows);
            // Task kinds define their loss on a tape; nothing is differentiated here.
            loss_sums[k] +=
                f64::from(kind.loss_on(out.leaky_traced(), target).as_vec()[0]) * rows.len() as f64;
        }
    }
    tasks
        .iter()
        .enumerate()
        .map(|(k, task)| {
            let t = plan.tasks[k];
            let metrics = evaluate_outputs(
                kinds[k].as_ref(),
                &task.metric_names(),
                &outputs[k],
                &part.targets[t],
                data.target_scales[t],
            );
            (loss_sums[k] / part.len.max(1) as f64, metrics)
        })
        .collect()
}
