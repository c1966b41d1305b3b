//! Evaluation of a model on a whole split, without a tape and without dropout.

use super::input_batch;
use crate::config::{MetricName, TaskConfig};
use crate::data::{Part, PreparedData};
use crate::model::Network;
use crate::plan::ModelPlan;
use crate::tasks::{batch_targets, metrics::evaluate_outputs, task_loss};
use dfdx::prelude::*;

/// Rows per forward pass: enough to keep the kernels busy, small enough that
/// a convolution's unfolded input stays in the tens of megabytes.
const EVAL_BATCH: usize = 128;

/// Per task of the model: the mean loss over `part` and every metric.
pub fn evaluate(
    network: &Network,
    tasks: &[&TaskConfig],
    plan: &ModelPlan,
    data: &PreparedData,
    part: &Part,
) -> Vec<(f64, Vec<(MetricName, f64)>)> {
    let dev = network.device().clone();
    let mut loss_sums = vec![0f64; tasks.len()];
    let mut outputs: Vec<Vec<f32>> = vec![Vec::with_capacity(part.len); tasks.len()];
    let all: Vec<usize> = (0..part.len).collect();
    for rows in all.chunks(EVAL_BATCH) {
        let z = network.trunk(input_batch(&dev, part, &data.sample_shape, rows), false);
        for (k, task) in tasks.iter().enumerate() {
            let out = network.heads[k].forward(z.clone());
            outputs[k].extend(out.as_vec());
            let target = batch_targets(
                &dev,
                task.kind,
                task.head_size(),
                &part.targets[plan.tasks[k]],
                rows,
            );
            loss_sums[k] +=
                f64::from(task_loss(task.kind, out, target).array()) * rows.len() as f64;
        }
    }
    tasks
        .iter()
        .enumerate()
        .map(|(k, task)| {
            let t = plan.tasks[k];
            let metrics = evaluate_outputs(
                task.kind,
                &outputs[k],
                task.head_size(),
                &part.targets[t],
                data.target_scales[t],
            );
            (loss_sums[k] / part.len.max(1) as f64, metrics)
        })
        .collect()
}
