//! Each task's targets, derived from a label column (through `map` if given)
//! and checked against the task: class labels must fit the head.

use super::RawData;
use crate::config::{ExperimentConfig, TaskConfig, TaskKind};
use crate::error::{Error, Result};
use std::path::Path;

/// Targets of one task for the rows of one split.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class indices (classification) or 0/1 (binary).
    Classes(Vec<usize>),
    /// Regression targets (`width` per row, row-major), standardised if the task asks for it.
    Values { values: Vec<f32>, width: usize },
}

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
    if width != 1 || task.head_size() != 1 && task.kind == TaskKind::Regression {
        // A column of several values per row feeds a regression head of that many outputs.
        if task.kind != TaskKind::Regression || width != task.head_size() || task.map.is_some() {
            return Err(Error::data(
                source,
                format!(
                    "key `{at}.label`: column `{}` holds {width} value(s) per row, but the task expects {}{}",
                    task.label,
                    task.head_size(),
                    if task.kind == TaskKind::Regression { " (set `outputs` to match)" } else { "" }
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
    values: &[f64],
    source: &Path,
) -> Result<()> {
    let at = format!("tasks[{task_index}] ({})", task.name);
    let limit = match task.kind {
        TaskKind::Binary => 2,
        _ => task.head_size(),
    };
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
        let expected = match task.kind {
            TaskKind::Binary => "binary labels must be 0 or 1".to_string(),
            _ => format!(
                "the head has `classes = {limit}` (labels 0..={}); set `{at}.classes` to at least {}",
                limit - 1,
                largest + 1.0
            ),
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
            let values = raw_targets(i, task, raw, &all, source, exact_map)?;
            match task.kind {
                TaskKind::Classification | TaskKind::Binary => check_classes(i, task, &values, source)?,
                TaskKind::Regression => {
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
            if task.kind != TaskKind::Regression || !task.standardize {
                return TargetScale::IDENTITY;
            }
            // One scale per task, pooled over its outputs.
            let width = task.head_size();
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
        .map(|(task, (v, s))| match task.kind {
            TaskKind::Classification | TaskKind::Binary => {
                Targets::Classes(rows.iter().map(|&r| v[r] as usize).collect())
            }
            TaskKind::Regression => {
                let width = task.head_size();
                Targets::Values {
                    values: rows
                        .iter()
                        .flat_map(|&r| &v[r * width..(r + 1) * width])
                        .map(|&x| ((x - s.mean) / s.std) as f32)
                        .collect(),
                    width,
                }
            }
        })
        .collect()
}

impl Targets {
    /// The targets of `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Targets {
        match self {
            Targets::Classes(c) => Targets::Classes(rows.iter().map(|&r| c[r]).collect()),
            Targets::Values { values, width } => Targets::Values {
                values: rows
                    .iter()
                    .flat_map(|&r| &values[r * width..(r + 1) * width])
                    .copied()
                    .collect(),
                width: *width,
            },
        }
    }
}
