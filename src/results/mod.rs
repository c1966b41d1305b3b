//! Results on disk: per run `resolved.toml`, `history.csv`, `weights.csv`,
//! `metrics.csv`, `comparison.csv`; per experiment the comparisons over seeds
//! and `summary.csv`; all written atomically. See `docs/results.md`.

mod atomic;
pub mod comparison;
pub mod summary;

pub(crate) use atomic::hostname;
pub use atomic::{remove_stale_temporaries, write_atomic, write_csv};
pub use comparison::{compare, write_comparison, ComparisonRow};
pub use summary::Summary;

use crate::config::{ExperimentConfig, MetricName};
use crate::error::Result;
use crate::train::{ModelRun, Split};
use std::path::Path;

/// A number as CSV text: shortest round-trip form, empty for a missing value.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        Some(v) => format!("{v}").to_lowercase(),
        None => String::new(),
    }
}

/// The metrics that occur in `runs`' histories, in the registry's order
/// (built-ins first), so `history.csv` has one column per metric reported.
fn history_metrics(runs: &[ModelRun]) -> Vec<MetricName> {
    let mut seen: Vec<&MetricName> = Vec::new();
    for (m, _) in runs
        .iter()
        .flat_map(|r| &r.history)
        .flat_map(|r| &r.metrics)
    {
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    let order = crate::plugins::registry().metric_names();
    let mut names: Vec<MetricName> = seen.into_iter().cloned().collect();
    names.sort_by_key(|m| order.iter().position(|o| *o == m.as_str()));
    names
}

/// The strategy columns (e.g. `sigma2`) that occur in `rows`, in order of
/// first appearance; models whose strategy has none leave them empty.
fn extra_columns<'a>(rows: impl Iterator<Item = &'a [(&'static str, f64)]>) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for extras in rows {
        for (name, _) in extras {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    names
}

/// The cells of the strategy columns `names` for one row's `extras`.
fn extra_cells<'a>(
    names: &'a [&'static str],
    extras: &'a [(&'static str, f64)],
) -> impl Iterator<Item = String> + 'a {
    names
        .iter()
        .map(move |n| num(extras.iter().find(|(e, _)| e == n).map(|(_, v)| *v)))
}

/// `history.csv`: one row per epoch, model, task and split; a column per metric
/// (empty where a metric does not apply to the task's kind).
pub fn write_history(path: &Path, runs: &[ModelRun]) -> Result<()> {
    let metrics = history_metrics(runs);
    let metrics = &metrics;
    let mut header = vec!["epoch", "model", "task", "split", "loss"];
    header.extend(metrics.iter().map(|m| m.as_str()));
    header.push("weight");
    // Strategy columns (e.g. `sigma2`), empty for models whose strategy has none.
    let extra_names = extra_columns(
        runs.iter()
            .flat_map(|run| &run.history)
            .map(|r| &r.extras[..]),
    );
    header.extend(&extra_names);
    let extra_names = &extra_names;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|run| {
            run.history.iter().map(move |r| {
                let mut row = vec![
                    r.epoch.to_string(),
                    run.model.clone(),
                    r.task.clone(),
                    r.split.as_str().into(),
                    num(Some(r.loss)),
                ];
                row.extend(
                    metrics
                        .iter()
                        .map(|m| num(r.metrics.iter().find(|(n, _)| n == m).map(|(_, v)| *v))),
                );
                row.push(num(Some(r.weight)));
                row.extend(extra_cells(extra_names, &r.extras));
                row
            })
        })
        .collect();
    write_csv(path, &header, &rows)
}

/// `weights.csv`: the loss, weight and strategy state of every task every
/// `train.log_every` steps, for each model.
pub fn write_weights(path: &Path, runs: &[ModelRun]) -> Result<()> {
    let extra_names = extra_columns(
        runs.iter()
            .flat_map(|run| &run.trajectory)
            .map(|r| &r.extras[..]),
    );
    let mut header = vec!["model", "epoch", "step", "task", "loss", "weight"];
    header.extend(&extra_names);
    let extra_names = &extra_names;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .flat_map(|run| {
            run.trajectory.iter().map(move |r| {
                let mut row = vec![
                    run.model.clone(),
                    r.epoch.to_string(),
                    r.step.to_string(),
                    r.task.clone(),
                    // f32 values in their own shortest form (not widened to f64 digits).
                    r.loss.to_string(),
                    r.weight.to_string(),
                ];
                row.extend(extra_cells(extra_names, &r.extras));
                row
            })
        })
        .collect();
    write_csv(path, &header, &rows)
}

/// `metrics.csv`: the reported numbers, from each model's selected epoch,
/// on the validation and test splits (long format: one value per row).
pub fn write_metrics(path: &Path, config: &ExperimentConfig, runs: &[ModelRun]) -> Result<()> {
    let header = ["model", "task", "split", "metric", "value", "epoch"];
    let mut rows = Vec::new();
    for run in runs {
        let Some(epoch) = run.selected_epoch else {
            continue;
        };
        for split in [Split::Validation, Split::Test] {
            for r in run.selected(split) {
                let reported = config
                    .tasks
                    .iter()
                    .find(|t| t.name == r.task)
                    .map(|t| t.metric_names());
                rows.push(vec![
                    run.model.clone(),
                    r.task.clone(),
                    split.as_str().into(),
                    "loss".into(),
                    num(Some(r.loss)),
                    epoch.to_string(),
                ]);
                for (m, v) in &r.metrics {
                    debug_assert!(reported.as_ref().is_none_or(|names| names.contains(m)));
                    rows.push(vec![
                        run.model.clone(),
                        r.task.clone(),
                        split.as_str().into(),
                        m.as_str().to_string(),
                        num(Some(*v)),
                        epoch.to_string(),
                    ]);
                }
            }
        }
    }
    write_csv(path, &header, &rows)
}
