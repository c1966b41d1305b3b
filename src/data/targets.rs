//! Each task's targets, derived from a label column (through `map` if given)
//! and checked against the task: class labels must fit the head.

use super::RawData;
use crate::config::{ExperimentConfig, TaskConfig, Transform};
use crate::error::{Error, Result};
use mtl_plugin::{TargetType, Targets};
use std::path::Path;

/// `original = value * std + mean`; identity for classification tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetScale {
    pub mean: f64,
    pub std: f64,
}

impl TargetScale {
    pub const IDENTITY: TargetScale = TargetScale {
        mean: 0.0,
        std: 1.0,
    };
    pub fn restore(&self, v: f32) -> f64 {
        f64::from(v) * self.std + self.mean
    }
}

fn column<'a>(raw: &'a RawData, task: &TaskConfig) -> &'a [f64] {
    // `load_raw` checked every label column exists.
    &raw.columns
        .iter()
        .find(|(n, _)| *n == task.label)
        .unwrap()
        .1
}

/// The task's target for each row, before any scaling.
fn raw_targets(
    task_index: usize,
    task: &TaskConfig,
    raw: &RawData,
    rows: &[usize],
    source: &Path,
    exact_map: bool,
) -> Result<Vec<f64>> {
    let at = format!("tasks[{task_index}] ({})", task.name);
    let col = column(raw, task);
    let width = col.len() / raw.len.max(1);
    let expected = match task.task_kind().target_type() {
        TargetType::Values { width, .. } => Some(width),
        TargetType::Classes { .. } => None,
    };
    if width != 1 || expected.is_some_and(|w| w != 1) {
        // A column of several values per row feeds a real-valued head of that many outputs.
        if expected != Some(width) || task.map.is_some() {
            return Err(Error::data(
                source,
                format!(
                    "key `{at}.label`: column `{}` holds {width} value(s) per row, but the task expects {}{}",
                    task.label,
                    expected.unwrap_or(1),
                    if expected.is_some() { " (set `outputs` to match)" } else { "" }
                ),
            ));
        }
        return Ok(rows
            .iter()
            .flat_map(|&r| &col[r * width..(r + 1) * width])
            .copied()
            .collect());
    }
    let mut out = Vec::with_capacity(rows.len());
    if let Some(map) = &task.map {
        // The map must cover exactly the label values present: 0..=max.
        let max = col.iter().cloned().fold(f64::MIN, f64::max);
        for &v in col {
            if v < 0.0 || v.fract() != 0.0 || v >= map.len().max(1 << 20) as f64 {
                return Err(Error::data(
                    source,
                    format!(
                        "key `{at}.map`: column `{}` holds {v}, but a map needs labels 0, 1, 2, …",
                        task.label
                    ),
                ));
            }
        }
        let needed = max as usize + 1;
        // The main file must match the map exactly; a test file may lack the top labels.
        if map.len() < needed || (exact_map && map.len() != needed) {
            return Err(Error::data(
                source,
                format!(
                    "key `{at}.map`: {} entries, but column `{}` holds values 0..={}: expected {needed} entries, one per value",
                    map.len(),
                    task.label,
                    max as usize
                ),
            ));
        }
        out.extend(rows.iter().map(|&r| map[col[r] as usize]));
    } else {
        out.extend(rows.iter().map(|&r| col[r]));
    }
    Ok(out)
}

fn check_classes(
    task_index: usize,
    task: &TaskConfig,
    limit: usize,
    values: &[f64],
    source: &Path,
) -> Result<()> {
    let at = format!("tasks[{task_index}] ({})", task.name);
    let origin = if task.map.is_some() {
        format!("`map` over column `{}` gives", task.label)
    } else {
        format!("column `{}` holds", task.label)
    };
    if let Some(bad) = values.iter().find(|v| **v < 0.0 || v.fract() != 0.0) {
        return Err(Error::data(
            source,
            format!(
                "task `{}`: {origin} the label {bad}, but class labels must be integers 0, 1, 2, …",
                task.name
            ),
        ));
    }
    let largest = values.iter().cloned().fold(0.0, f64::max);
    if largest >= limit as f64 {
        let expected = if task.options.contains_key("classes") {
            format!(
                "the task has `classes = {limit}` (labels 0..={}); set `{at}.classes` to at least {}",
                limit - 1,
                largest + 1.0
            )
        } else {
            format!(
                "{} task takes labels 0..={}",
                crate::config::article(&task.kind),
                limit - 1
            )
        };
        return Err(Error::data(
            source,
            format!(
                "task `{}`: {origin} labels up to {largest}, but {expected}",
                task.name
            ),
        ));
    }
    Ok(())
}

/// Every task's target for every row of `raw`, checked against the task
/// (the whole file at once, so a bad label is found whichever split it is in).
pub(super) fn task_values(
    config: &ExperimentConfig,
    raw: &RawData,
    source: &Path,
    exact_map: bool,
) -> Result<Vec<Vec<f64>>> {
    let all: Vec<usize> = (0..raw.len).collect();
    config
        .tasks
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let mut values = raw_targets(i, task, raw, &all, source, exact_map)?;
            if let Some(Transform::Log) = task.transform {
                if let Some((row, bad)) = values.iter().enumerate().find(|(_, v)| **v <= 0.0 || v.is_nan()) {
                    return Err(Error::data(
                        source,
                        format!(
                            "key `tasks[{i}] ({}).transform`: `log` needs positive values, but column `{}` holds {bad} (row {})",
                            task.name,
                            task.label,
                            row / (values.len() / raw.len.max(1)).max(1) + 1
                        ),
                    ));
                }
                values.iter_mut().for_each(|v| *v = v.ln());
            }
            match task.task_kind().target_type() {
                TargetType::Classes { classes } => check_classes(i, task, classes, &values, source)?,
                TargetType::Values { .. } => {
                    if let Some(bad) = values.iter().find(|v| !(**v as f32).is_finite()) {
                        return Err(Error::data(
                            source,
                            format!("task `{}`: target {bad} in column `{}` is not a finite 32-bit number", task.name, task.label),
                        ));
                    }
                }
            }
            Ok(values)
        })
        .collect()
}

/// How each regression target is standardised: mean and standard deviation of the training rows.
pub(super) fn fit_scales(
    config: &ExperimentConfig,
    values: &[Vec<f64>],
    train: &[usize],
) -> Vec<TargetScale> {
    config
        .tasks
        .iter()
        .zip(values)
        .map(|(task, v)| {
            let TargetType::Values {
                width,
                standardize: true,
            } = task.task_kind().target_type()
            else {
                return TargetScale::IDENTITY;
            };
            // One scale per task, pooled over its outputs.
            let train_values = || train.iter().flat_map(|&r| &v[r * width..(r + 1) * width]);
            let n = (train.len() * width).max(1) as f64;
            let mean = train_values().sum::<f64>() / n;
            let var = train_values().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            TargetScale {
                mean,
                std: if var > 1e-24 { var.sqrt() } else { 1.0 },
            }
        })
        .collect()
}

/// The targets of `rows`, regression targets scaled with `scales`.
pub(super) fn select(
    config: &ExperimentConfig,
    values: &[Vec<f64>],
    rows: &[usize],
    scales: &[TargetScale],
) -> Vec<Targets> {
    config
        .tasks
        .iter()
        .zip(values.iter().zip(scales))
        .map(|(task, (v, s))| match task.task_kind().target_type() {
            TargetType::Classes { .. } => {
                Targets::Classes(rows.iter().map(|&r| v[r] as usize).collect())
            }
            TargetType::Values { width, .. } => Targets::Values {
                values: rows
                    .iter()
                    .flat_map(|&r| &v[r * width..(r + 1) * width])
                    .map(|&x| ((x - s.mean) / s.std) as f32)
                    .collect(),
                width,
            },
        })
        .collect()
}
