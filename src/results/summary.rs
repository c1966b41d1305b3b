//! Over seeds and points: rebuilt from the files of an experiment folder
//! alone (`points.csv`, `runs.csv`, and each run's `metrics.csv` and
//! `resolved.toml`), so a resumed, merged or partly failed sweep summarises
//! the same way as one uninterrupted run.
//!
//! Writes each finished run's `comparison.csv` (one seed, paired with the
//! baselines of that seed), the experiment's long `comparison.csv` (per
//! point, task and metric: mean and standard deviation over seeds) and the
//! wide `summary.csv` (one row per point). See `docs/results.md`.

use super::comparison::{compare, delta_m, TaskMetrics, Values};
use super::{num, write_comparison, write_csv};
use crate::config::{ExperimentConfig, MetricName};
use crate::error::{Error, Result};
use crate::tasks::Direction;
use std::fmt;
use std::path::{Path, PathBuf};

/// One task and metric of one point, over its seeds.
#[derive(Debug, Clone)]
pub struct Stats {
    pub task: String,
    pub metric: MetricName,
    /// Test values per seed, where the run finished.
    pub mtl: Vec<(u64, f64)>,
    pub stl: Vec<(u64, f64)>,
    /// `delta_pct` per seed where both finished (same seed, same split).
    pub delta_pct: Vec<(u64, f64)>,
    /// Seeds in which the multi-task model was strictly better.
    pub better: usize,
}

/// One point of the experiment.
#[derive(Debug, Clone)]
pub struct PointSummary {
    pub id: String,
    /// Its swept values, in the order of [`Summary::keys`].
    pub values: Vec<String>,
    /// Training, validation and test samples.
    pub samples: Vec<String>,
    pub seeds: Vec<u64>,
    pub tasks: Vec<TaskMetrics>,
    pub stats: Vec<Stats>,
    /// Δm and the per-metric average, per seed with a complete comparison.
    pub delta_m: Vec<(u64, f64)>,
    pub delta_m_metrics: Vec<(u64, f64)>,
    /// Runs whose model stopped early (their `failure.txt`).
    pub failed: Vec<String>,
    /// Runs with no finished results yet.
    pub missing: Vec<String>,
    /// Folders of the runs, by (model, seed).
    pub folders: Vec<(String, u64, PathBuf)>,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub dir: PathBuf,
    /// The swept keys (empty without a sweep).
    pub keys: Vec<String>,
    pub points: Vec<PointSummary>,
}

pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Sample standard deviation (n − 1, as pandas); `None` below two values.
pub fn sample_std(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    (v.len() > 1)
        .then(|| (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

fn values(v: &[(u64, f64)]) -> Vec<f64> {
    v.iter().map(|(_, x)| *x).collect()
}

impl Stats {
    pub fn mtl_values(&self) -> Vec<f64> {
        values(&self.mtl)
    }
    pub fn stl_values(&self) -> Vec<f64> {
        values(&self.stl)
    }
    pub fn delta_values(&self) -> Vec<f64> {
        values(&self.delta_pct)
    }
}

impl PointSummary {
    pub fn delta_m_values(&self) -> Vec<f64> {
        values(&self.delta_m)
    }
    /// The run folders of `model` (`mtl` or `stl:<task>`), one per seed.
    pub fn folders_of(&self, model: &str) -> Vec<&Path> {
        self.folders
            .iter()
            .filter(|(m, _, _)| m == model)
            .map(|(_, _, f)| f.as_path())
            .collect()
    }

    /// The stats of `task`'s headline metric.
    pub fn headline(&self, task: &str) -> Option<&Stats> {
        let t = self.tasks.iter().find(|t| t.task == task)?;
        self.stats
            .iter()
            .find(|s| s.task == task && s.metric == t.headline)
    }
}

pub(crate) fn read_records(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let bad = |m: String| Error::data(path, m);
    let mut reader = csv::Reader::from_path(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let header = reader
        .headers()
        .map_err(|e| bad(format!("cannot read the header: {e}")))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| bad(format!("malformed CSV: {e}")))?;
        rows.push(r.iter().map(String::from).collect());
    }
    Ok((header, rows))
}

fn column(header: &[String], name: &str, path: &Path) -> Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        Error::data(
            path,
            format!("no column `{name}`; was this file written by mtl-run?"),
        )
    })
}

/// The test values of `model` in a run's `metrics.csv`; `None` if the run has not finished.
fn test_values(folder: &Path, model: &str) -> Result<Option<Values>> {
    let path = folder.join("metrics.csv");
    if !path.exists() {
        return Ok(None);
    }
    let (header, rows) = read_records(&path)?;
    let [m, t, s, k, v] =
        ["model", "task", "split", "metric", "value"].map(|name| column(&header, name, &path));
    let (m, t, s, k, v) = (m?, t?, s?, k?, v?);
    let mut out = Values::new();
    for row in rows {
        if row[m] != model || row[s] != "test" || row[k] == "loss" {
            continue;
        }
        let metric = MetricName::from(row[k].as_str());
        if !metric.is_known() {
            return Err(Error::data(
                &path,
                format!(
                    "unknown metric `{}`: no metric of that name is linked into this build",
                    row[k]
                ),
            ));
        }
        let value: f64 = row[v]
            .parse()
            .map_err(|_| Error::data(&path, format!("value `{}` is not a number", row[v])))?;
        out.insert((row[t].clone(), metric), value);
    }
    Ok(Some(out))
}

fn task_metrics(folder: &Path) -> Result<Option<Vec<TaskMetrics>>> {
    let path = folder.join("resolved.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let config: ExperimentConfig = toml::from_str(&text)
        .map_err(|e| Error::data(&path, format!("not a resolved config: {e}")))?;
    Ok(Some(
        config
            .tasks
            .iter()
            .map(|t| TaskMetrics {
                task: t.name.clone(),
                metrics: t.metric_names(),
                headline: t.metric(),
            })
            .collect(),
    ))
}

/// Reads the experiment folder `dir` and writes its comparisons and `summary.csv`.
pub fn rebuild(dir: &Path) -> Result<Summary> {
    let points_csv = dir.join("points.csv");
    if !points_csv.exists() {
        return Err(Error::data(
            dir,
            "no points.csv here: expected an experiment folder written by mtl-run (runs/<experiment>)",
        ));
    }
    let (header, point_rows) = read_records(&points_csv)?;
    let first_fact = column(&header, "train_samples", &points_csv)?;
    if header.first().map(String::as_str) != Some("point") || first_fact == 0 {
        return Err(Error::data(
            &points_csv,
            "expected the columns `point`, the swept keys, then `train_samples`; was this file written by mtl-run?",
        ));
    }
    let keys: Vec<String> = header[1..first_fact].to_vec();
    let runs_csv = dir.join("runs.csv");
    let (runs_header, run_rows) = read_records(&runs_csv)?;
    let [p, s, m, f] =
        ["point", "seed", "model", "folder"].map(|name| column(&runs_header, name, &runs_csv));
    let (p, s, m, f) = (p?, s?, m?, f?);

    let mut points = Vec::new();
    for row in &point_rows {
        let id = row[0].clone();
        let mut runs: Vec<(String, u64, PathBuf)> = Vec::new();
        for r in run_rows.iter().filter(|r| r[p] == id) {
            let seed: u64 = r[s]
                .parse()
                .map_err(|_| Error::data(&runs_csv, format!("seed `{}` is not a number", r[s])))?;
            // Folders stay inside the experiment folder, whatever the file says.
            let folder = Path::new(&r[f]);
            if folder.is_absolute()
                || folder
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(Error::data(
                    &runs_csv,
                    format!(
                        "folder `{}` is not a path inside the experiment folder",
                        r[f]
                    ),
                ));
            }
            runs.push((r[m].clone(), seed, dir.join(folder)));
        }
        points.push(summarise_point(
            id,
            row[1..first_fact].to_vec(),
            row[first_fact..].to_vec(),
            runs,
        )?);
    }
    let summary = Summary {
        dir: dir.to_path_buf(),
        keys,
        points,
    };
    write_long(&dir.join("comparison.csv"), &summary)?;
    write_wide(&dir.join("summary.csv"), &summary)?;
    Ok(summary)
}

fn summarise_point(
    id: String,
    values: Vec<String>,
    samples: Vec<String>,
    runs: Vec<(String, u64, PathBuf)>,
) -> Result<PointSummary> {
    let mut seeds: Vec<u64> = Vec::new();
    for (_, seed, _) in &runs {
        if !seeds.contains(seed) {
            seeds.push(*seed);
        }
    }
    let mut tasks = None;
    for (_, _, folder) in runs.iter().filter(|(model, _, _)| model == "mtl") {
        if let Some(t) = task_metrics(folder)? {
            tasks = Some(t);
            break;
        }
    }
    let tasks = tasks.unwrap_or_default();
    let mut stats: Vec<Stats> = tasks
        .iter()
        .flat_map(|t| {
            t.metrics.iter().map(|metric| Stats {
                task: t.task.clone(),
                metric: metric.clone(),
                mtl: Vec::new(),
                stl: Vec::new(),
                delta_pct: Vec::new(),
                better: 0,
            })
        })
        .collect();
    let mut point = PointSummary {
        id,
        values,
        samples,
        seeds: seeds.clone(),
        tasks: tasks.clone(),
        stats: Vec::new(),
        delta_m: Vec::new(),
        delta_m_metrics: Vec::new(),
        failed: Vec::new(),
        missing: Vec::new(),
        folders: runs.clone(),
    };
    for &seed in &seeds {
        let mut mtl = None;
        let mut stl = Values::new();
        for (model, _, folder) in runs.iter().filter(|(_, s, _)| *s == seed) {
            match test_values(folder, model)? {
                None => point.missing.push(format!("{model} seed {seed}")),
                Some(v) => {
                    if let Ok(why) = std::fs::read_to_string(folder.join("failure.txt")) {
                        point.failed.push(why.trim().to_string());
                    }
                    if model == "mtl" {
                        mtl = Some(v);
                    } else {
                        stl.extend(v);
                    }
                }
            }
        }
        for st in &mut stats {
            let key = (st.task.clone(), st.metric.clone());
            if let Some(v) = stl.get(&key) {
                st.stl.push((seed, *v));
            }
        }
        let Some(mtl) = mtl else { continue };
        for st in &mut stats {
            if let Some(v) = mtl.get(&(st.task.clone(), st.metric.clone())) {
                st.mtl.push((seed, *v));
            }
        }
        let rows = compare(&tasks, &mtl, &stl);
        let mtl_folder = runs
            .iter()
            .find(|(model, s, _)| model == "mtl" && *s == seed)
            .map(|(_, _, f)| f)
            .expect("a finished multi-task run has a folder");
        write_comparison(&mtl_folder.join("comparison.csv"), &rows)?;
        for (st, row) in stats.iter_mut().zip(&rows) {
            if let (Some(d), Some(a), Some(b)) = (row.delta_pct, row.mtl, row.stl) {
                st.delta_pct.push((seed, d));
                let better = match st.metric.direction() {
                    Direction::Higher => a > b,
                    Direction::Lower => a < b,
                };
                st.better += usize::from(better);
            }
        }
        let per_task: Vec<Vec<Option<f64>>> = tasks
            .iter()
            .map(|t| {
                rows.iter()
                    .filter(|r| r.task == t.task)
                    .map(|r| r.delta_pct)
                    .collect()
            })
            .collect();
        if let (Some(dm), Some(dmm)) = delta_m(&per_task) {
            point.delta_m.push((seed, dm));
            point.delta_m_metrics.push((seed, dmm));
        }
    }
    point.stats = stats;
    Ok(point)
}

/// `comparison.csv` of the experiment: per point, task and metric, over seeds.
fn write_long(path: &Path, s: &Summary) -> Result<()> {
    let mut header: Vec<&str> = vec!["point"];
    header.extend(s.keys.iter().map(String::as_str));
    header.extend([
        "task",
        "metric",
        "direction",
        "seeds",
        "mtl_mean",
        "mtl_std",
        "stl_mean",
        "stl_std",
        "delta_pct_mean",
        "delta_pct_std",
        "seeds_better",
    ]);
    let mut rows = Vec::new();
    for p in &s.points {
        let lead = || {
            let mut r = vec![p.id.clone()];
            r.extend(p.values.iter().cloned());
            r
        };
        for st in &p.stats {
            let (m, b, d) = (st.mtl_values(), st.stl_values(), st.delta_values());
            let mut r = lead();
            r.extend([
                st.task.clone(),
                st.metric.as_str().into(),
                st.metric.direction().as_str().into(),
                d.len().to_string(),
                num(mean(&m)),
                num(sample_std(&m)),
                num(mean(&b)),
                num(sample_std(&b)),
                num(mean(&d)),
                num(sample_std(&d)),
                st.better.to_string(),
            ]);
            rows.push(r);
        }
        for (name, v) in [
            ("delta_m", values(&p.delta_m)),
            ("delta_m_metrics", values(&p.delta_m_metrics)),
        ] {
            let mut r = lead();
            r.extend([
                "all".into(),
                name.into(),
                "higher".into(),
                v.len().to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                num(mean(&v)),
                num(sample_std(&v)),
                v.iter().filter(|x| **x > 0.0).count().to_string(),
            ]);
            rows.push(r);
        }
    }
    write_csv(path, &header, &rows)
}

/// `summary.csv`: one row per point; per task its headline metric.
fn write_wide(path: &Path, s: &Summary) -> Result<()> {
    let mut headline: Vec<(String, MetricName)> = Vec::new();
    for p in &s.points {
        for t in &p.tasks {
            if !headline.iter().any(|(task, _)| *task == t.task) {
                headline.push((t.task.clone(), t.headline.clone()));
            }
        }
    }
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(s.keys.iter().cloned());
    header.push("seeds".into());
    for (task, metric) in &headline {
        for what in [
            "mtl_mean",
            "mtl_std",
            "stl_mean",
            "stl_std",
            "delta_pct",
            "seeds_better",
        ] {
            header.push(format!("{task}.{}.{what}", metric.as_str()));
        }
    }
    header.extend(
        [
            "delta_m",
            "delta_m_std",
            "delta_m_metrics",
            "failed_runs",
            "missing_runs",
        ]
        .map(String::from),
    );
    let rows: Vec<Vec<String>> = s
        .points
        .iter()
        .map(|p| {
            let mut r = vec![p.id.clone()];
            r.extend(p.values.iter().cloned());
            r.push(p.delta_m.len().to_string());
            for (task, metric) in &headline {
                let st = p
                    .stats
                    .iter()
                    .find(|st| st.task == *task && st.metric == *metric);
                match st {
                    Some(st) => {
                        let (m, b, d) = (st.mtl_values(), st.stl_values(), st.delta_values());
                        r.extend([
                            num(mean(&m)),
                            num(sample_std(&m)),
                            num(mean(&b)),
                            num(sample_std(&b)),
                            num(mean(&d)),
                            st.better.to_string(),
                        ]);
                    }
                    None => r.extend(std::iter::repeat_n(String::new(), 6)),
                }
            }
            let dm = p.delta_m_values();
            r.extend([
                num(mean(&dm)),
                num(sample_std(&dm)),
                num(mean(&values(&p.delta_m_metrics))),
                p.failed.len().to_string(),
                p.missing.len().to_string(),
            ]);
            r
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    write_csv(path, &header, &rows)
}

/// `mean ± std`, or the mean alone for one seed, or `-`.
pub fn mean_std(v: &[f64], pct: bool) -> String {
    let f = |x: f64| {
        if pct {
            format!("{x:+.2}%")
        } else {
            format!("{x:.4}")
        }
    };
    match (mean(v), sample_std(v)) {
        (Some(m), Some(s)) if pct => format!("{} ± {s:.2}", f(m)),
        (Some(m), Some(s)) => format!("{} ± {s:.4}", f(m)),
        (Some(m), None) => f(m),
        _ => "-".into(),
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.points {
            if !self.keys.is_empty() {
                let at: Vec<String> = self
                    .keys
                    .iter()
                    .zip(&p.values)
                    .map(|(k, v)| format!("{k} = {v}"))
                    .collect();
                writeln!(f, "\npoint {}: {}", p.id, at.join(", "))?;
            }
            // Columns as wide as the longest task and metric names (a plugin's may be long).
            let tw = p.stats.iter().map(|s| s.task.len()).fold(14, usize::max);
            let mw = p
                .stats
                .iter()
                .map(|s| s.metric.as_str().len())
                .fold(9, usize::max);
            writeln!(
                f,
                "{:<tw$} {:<mw$} {:>20} {:>20} {:>18} {:>7}",
                "task", "metric", "mtl", "stl", "delta_pct", "better"
            )?;
            for st in &p.stats {
                writeln!(
                    f,
                    "{:<tw$} {:<mw$} {:>20} {:>20} {:>18} {:>7}",
                    st.task,
                    st.metric.as_str(),
                    mean_std(&st.mtl_values(), false),
                    mean_std(&st.stl_values(), false),
                    mean_std(&st.delta_values(), true),
                    format!("{}/{}", st.better, st.delta_pct.len())
                )?;
            }
            writeln!(
                f,
                "{:<tw$} {:<mw$} {:>20} {:>20} {:>18} {:>7}",
                "all",
                "delta_m",
                "",
                "",
                mean_std(&p.delta_m_values(), true),
                format!(
                    "{}/{}",
                    p.delta_m.iter().filter(|(_, d)| *d > 0.0).count(),
                    p.delta_m.len()
                )
            )?;
            if !p.missing.is_empty() {
                writeln!(f, "unfinished: {}", p.missing.join(", "))?;
            }
            for why in &p.failed {
                writeln!(f, "stopped early: {why}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_deviation_is_the_sample_one() {
        // pandas: pd.Series([1.0, 2.0, 4.0]).std() = 1.5275252316519468
        assert!((sample_std(&[1.0, 2.0, 4.0]).unwrap() - 1.527_525_231_651_946_8).abs() < 1e-12);
        assert_eq!(sample_std(&[1.0]), None);
        assert_eq!(mean(&[]), None);
    }
}
