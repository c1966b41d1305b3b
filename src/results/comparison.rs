//! The multi-task model against the single-task baselines of one seed, per
//! task and metric, on the test split at each model's selected epoch.
//!
//! `delta = mtl − stl`; `delta_pct = ±100·delta/|stl|` with the sign chosen so
//! that a positive value always means the multi-task model is better
//! (+ for metrics where higher is better, − where lower is). Two summary rows
//! follow (Maninis et al. 2019; Vandenhende et al. 2021):
//! - `delta_m`: `delta_pct` averaged over each task's metrics, then over tasks;
//! - `delta_m_metrics`: `delta_pct` averaged over all (task, metric) pairs,
//!   which weighs a task by its number of metrics; the two can disagree.

use super::{num, write_csv};
use crate::config::MetricName;
use crate::error::Result;
use crate::tasks::Direction;
use std::collections::HashMap;
use std::path::Path;

/// Test-split values of one model, by task and metric.
pub type Values = HashMap<(String, MetricName), f64>;

/// A task's metrics, in the order they are reported, and its headline metric.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMetrics {
    pub task: String,
    pub metrics: Vec<MetricName>,
    pub headline: MetricName,
}

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

/// Δm and the per-metric average from each task's `delta_pct` values; `None`
/// unless every task has every value.
pub fn delta_m(per_task: &[Vec<Option<f64>>]) -> (Option<f64>, Option<f64>) {
    let complete: Option<Vec<Vec<f64>>> = per_task
        .iter()
        .map(|t| t.iter().copied().collect::<Option<Vec<f64>>>())
        .collect();
    let Some(tasks) = complete.filter(|t| !t.is_empty() && t.iter().all(|m| !m.is_empty())) else {
        return (None, None);
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let by_task: Vec<f64> = tasks.iter().map(|m| mean(m)).collect();
    let all: Vec<f64> = tasks.concat();
    (Some(mean(&by_task)), Some(mean(&all)))
}

/// One row per task and metric, then the `delta_m` and `delta_m_metrics`
/// rows (`task = "all"`).
pub fn compare(tasks: &[TaskMetrics], mtl: &Values, stl: &Values) -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    let mut per_task = Vec::new();
    for t in tasks {
        let mut deltas = Vec::new();
        for metric in &t.metrics {
            let key = (t.task.clone(), metric.clone());
            let (m, s) = (mtl.get(&key).copied(), stl.get(&key).copied());
            let direction = metric.direction();
            let (delta, pct) = match (m, s) {
                (Some(a), Some(b)) => (Some(a - b), delta_pct(a, b, direction)),
                _ => (None, None),
            };
            deltas.push(pct);
            rows.push(ComparisonRow {
                task: t.task.clone(),
                metric: metric.as_str().into(),
                direction,
                mtl: m,
                stl: s,
                delta,
                delta_pct: pct,
            });
        }
        per_task.push(deltas);
    }
    let (dm, dm_metrics) = delta_m(&per_task);
    for (name, value) in [("delta_m", dm), ("delta_m_metrics", dm_metrics)] {
        rows.push(ComparisonRow {
            task: "all".into(),
            metric: name.into(),
            direction: Direction::Higher,
            mtl: None,
            stl: None,
            delta: None,
            delta_pct: value,
        });
    }
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

    #[test]
    fn delta_m_averages_within_each_task_first() {
        // Task a: +4 and +2 (mean +3); task b: −1. Δm = (3 − 1)/2 = 1;
        // per metric: (4 + 2 − 1)/3 = 5/3.
        let (dm, per_metric) = delta_m(&[vec![Some(4.0), Some(2.0)], vec![Some(-1.0)]]);
        assert_eq!(dm, Some(1.0));
        assert!((per_metric.unwrap() - 5.0 / 3.0).abs() < 1e-12);
        assert_eq!(delta_m(&[vec![Some(1.0)], vec![None]]), (None, None));
        assert_eq!(delta_m(&[]), (None, None));
    }

    #[test]
    fn compare_pairs_the_values_of_each_task_and_metric() {
        let tasks = [TaskMetrics {
            task: "y".into(),
            metrics: vec![MetricName::from("rmse"), MetricName::from("r2")],
            headline: MetricName::from("rmse"),
        }];
        let mtl: Values = [
            (("y".into(), MetricName::from("rmse")), 9.0),
            (("y".into(), MetricName::from("r2")), 0.5),
        ]
        .into();
        let stl: Values = [
            (("y".into(), MetricName::from("rmse")), 10.0),
            (("y".into(), MetricName::from("r2")), 0.4),
        ]
        .into();
        let rows = compare(&tasks, &mtl, &stl);
        assert_eq!(rows.len(), 4);
        assert!((rows[0].delta_pct.unwrap() - 10.0).abs() < 1e-9);
        assert!((rows[1].delta_pct.unwrap() - 25.0).abs() < 1e-9);
        assert!((rows[2].delta_pct.unwrap() - 17.5).abs() < 1e-9);
        assert_eq!(rows[3].metric, "delta_m_metrics");
    }
}
