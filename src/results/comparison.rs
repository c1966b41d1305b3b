//! The multi-task model against the single-task baselines, per task and
//! metric, on the test split at each model's selected epoch.
//!
//! `delta = mtl − stl`; `delta_pct = ±100·delta/|stl|` with the sign chosen so
//! that a positive value always means the multi-task model is better
//! (+ for metrics where higher is better, − where lower is). The last row is
//! Δm: the mean over tasks of `delta_pct` of each task's headline `metric`
//! (Maninis et al. 2019; Vandenhende et al. 2021).

use super::{num, write_csv};
use crate::config::ExperimentConfig;
use crate::error::Result;
use crate::tasks::{metrics_of, Direction};
use crate::train::{ModelRun, Split};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    pub task: String,
    pub metric: String,
    pub direction: Direction,
    pub mtl: Option<f64>,
    pub stl: Option<f64>,
    pub delta: Option<f64>,
    pub delta_pct: Option<f64>,
}

/// Signed relative improvement in percent (positive = `mtl` is better).
pub fn delta_pct(mtl: f64, stl: f64, direction: Direction) -> Option<f64> {
    if stl == 0.0 || !stl.is_finite() || !mtl.is_finite() {
        return None;
    }
    let sign = match direction {
        Direction::Higher => 1.0,
        Direction::Lower => -1.0,
    };
    Some(sign * 100.0 * (mtl - stl) / stl.abs())
}

fn test_value(
    runs: &[ModelRun],
    model: &str,
    task: &str,
    metric: crate::config::MetricName,
) -> Option<f64> {
    runs.iter()
        .find(|r| r.model == model)?
        .selected(Split::Test)
        .find(|r| r.task == task)?
        .metrics
        .iter()
        .find(|(m, _)| *m == metric)
        .map(|(_, v)| *v)
}

/// One row per task and metric, then the Δm row (`task = "all"`, `metric = "delta_m"`).
pub fn compare(config: &ExperimentConfig, runs: &[ModelRun]) -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    let mut headline = Vec::new();
    for task in &config.tasks {
        for &metric in metrics_of(task.kind) {
            let mtl = test_value(runs, "mtl", &task.name, metric);
            let stl = test_value(runs, &format!("stl:{}", task.name), &task.name, metric);
            let direction = metric.direction();
            let (delta, pct) = match (mtl, stl) {
                (Some(a), Some(b)) => (Some(a - b), delta_pct(a, b, direction)),
                _ => (None, None),
            };
            if metric == task.metric() {
                headline.push(pct);
            }
            rows.push(ComparisonRow {
                task: task.name.clone(),
                metric: metric.as_str().into(),
                direction,
                mtl,
                stl,
                delta,
                delta_pct: pct,
            });
        }
    }
    let delta_m = if headline.iter().all(Option::is_some) && !headline.is_empty() {
        Some(headline.iter().flatten().sum::<f64>() / headline.len() as f64)
    } else {
        None
    };
    rows.push(ComparisonRow {
        task: "all".into(),
        metric: "delta_m".into(),
        direction: Direction::Higher,
        mtl: None,
        stl: None,
        delta: None,
        delta_pct: delta_m,
    });
    rows
}

pub fn write_comparison(path: &Path, rows: &[ComparisonRow]) -> Result<()> {
    let header = [
        "task",
        "metric",
        "direction",
        "mtl",
        "stl",
        "delta",
        "delta_pct",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.task.clone(),
                r.metric.clone(),
                r.direction.as_str().into(),
                num(r.mtl),
                num(r.stl),
                num(r.delta),
                num(r.delta_pct),
            ]
        })
        .collect();
    write_csv(path, &header, &body)
}

/// The comparison as an aligned table for the terminal.
pub fn render_table(rows: &[ComparisonRow]) -> String {
    let f = |v: Option<f64>, pct: bool| match v {
        Some(v) if pct => format!("{v:+.2}%"),
        Some(v) => format!("{v:.4}"),
        None => "-".into(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:<9} {:>10} {:>10} {:>10} {:>9}",
        "task", "metric", "mtl", "stl", "delta", "delta_pct"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<14} {:<9} {:>10} {:>10} {:>10} {:>9}",
            r.task,
            r.metric,
            f(r.mtl, false),
            f(r.stl, false),
            r.delta.map_or("-".into(), |d| format!("{d:+.4}")),
            f(r.delta_pct, true)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_delta_pct_means_the_multi_task_model_is_better() {
        // Accuracy 0.99 vs 0.98: +1.0204 %; RMSE 90 vs 100: 10 % better.
        assert!((delta_pct(0.99, 0.98, Direction::Higher).unwrap() - 1.020_408_163).abs() < 1e-6);
        assert!((delta_pct(90.0, 100.0, Direction::Lower).unwrap() - 10.0).abs() < 1e-9);
        assert!((delta_pct(110.0, 100.0, Direction::Lower).unwrap() + 10.0).abs() < 1e-9);
        assert_eq!(delta_pct(1.0, 0.0, Direction::Higher), None);
    }
}
