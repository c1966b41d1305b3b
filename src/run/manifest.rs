//! What an invocation records next to its runs, for the summaries and the
//! report (which are rebuilt from these files and the run folders alone):
//!
//! - `experiment.toml`: the experiment file as given, with the overrides;
//! - `points.csv`: each point's id, its swept values and its split sizes;
//! - `runs.csv`: for every point and seed, the folder of each model it needs;
//! - `data.csv`: each data file's size and SHA-256;
//! - `environment.csv`: crate version, git commit, dfdx version, device, threads.

use super::identity::{baseline_dir, experiment_dir, run_dir};
use crate::config::{sweep, Experiment, ExperimentConfig};
use crate::data::{DataFile, PreparedData};
use crate::error::{Error, Result};
use crate::results::{write_atomic, write_csv};
use std::path::Path;

/// The split sizes and files of one point's data.
#[derive(Debug, Clone)]
pub struct DataFacts {
    pub samples: [usize; 3],
    pub files: Vec<DataFile>,
}

impl DataFacts {
    pub fn of(data: &PreparedData) -> DataFacts {
        DataFacts {
            samples: [data.train.len, data.validation.len, data.test.len],
            files: data.files.clone(),
        }
    }
}

pub struct Manifest<'a> {
    pub experiment: &'a Experiment,
    pub overrides: &'a [String],
    /// Each point's resolved config (at the first seed).
    pub resolved: &'a [ExperimentConfig],
    pub ids: &'a [String],
    pub data: &'a [DataFacts],
    /// rayon threads per run, and runs at once.
    pub threads: usize,
    pub jobs: usize,
}

pub fn write(dir: &Path, m: &Manifest) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, "cannot create the output folder", e))?;
    crate::results::remove_stale_temporaries(dir);
    let mut text = String::new();
    for o in m.overrides {
        text.push_str(&format!("# --set {o}\n"));
    }
    for (k, v) in std::env::vars().filter(|(k, _)| k.starts_with("MTL_")) {
        text.push_str(&format!("# environment {k}={v}\n"));
    }
    text.push_str(&m.experiment.text);
    write_atomic(&dir.join("experiment.toml"), text.as_bytes())?;

    // runs.csv before points.csv: a kill between the two leaves points.csv
    // naming the points of the runs before, which the summaries still read.
    let mut runs = Vec::new();
    for &seed in &m.experiment.seeds {
        for (config, id) in m.resolved.iter().zip(m.ids) {
            let mut c = config.clone();
            c.experiment.seed = seed;
            let relative = |p: &Path| {
                p.strip_prefix(experiment_dir(&c))
                    .unwrap_or(p)
                    .display()
                    .to_string()
            };
            runs.push(vec![
                id.clone(),
                seed.to_string(),
                "mtl".into(),
                relative(&run_dir(&c)),
            ]);
            if c.baselines.single_task {
                for t in &c.tasks {
                    runs.push(vec![
                        id.clone(),
                        seed.to_string(),
                        format!("stl:{}", t.name),
                        relative(&baseline_dir(&c, &t.name)),
                    ]);
                }
            }
        }
    }
    write_csv(
        &dir.join("runs.csv"),
        &["point", "seed", "model", "folder"],
        &runs,
    )?;

    let keys: Vec<&str> = m.experiment.sweep.as_ref().map_or(Vec::new(), |s| s.keys());
    let mut header = vec!["point"];
    header.extend(&keys);
    header.extend(["train_samples", "validation_samples", "test_samples"]);
    let rows: Vec<Vec<String>> = m
        .experiment
        .points
        .iter()
        .zip(m.ids)
        .zip(m.data)
        .map(|((p, id), facts)| {
            let mut row = vec![id.clone()];
            row.extend(p.values.iter().map(|(_, v)| sweep::label(v)));
            row.extend(facts.samples.iter().map(ToString::to_string));
            row
        })
        .collect();
    write_csv(&dir.join("points.csv"), &header, &rows)?;

    let mut files: Vec<&DataFile> = Vec::new();
    for f in m.data.iter().flat_map(|d| &d.files) {
        if !files.iter().any(|g| g.path == f.path) {
            files.push(f);
        }
    }
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            vec![
                f.path.display().to_string(),
                f.bytes.to_string(),
                f.sha256.clone(),
            ]
        })
        .collect();
    write_csv(&dir.join("data.csv"), &["path", "bytes", "sha256"], &rows)?;

    let mut devices: Vec<&str> = m.resolved.iter().map(|c| c.train.device.as_str()).collect();
    devices.sort();
    devices.dedup();
    let env = environment(&devices.join(" "), m.threads, m.jobs);
    let rows: Vec<Vec<String>> = env
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    write_csv(&dir.join("environment.csv"), &["key", "value"], &rows)
}

fn environment(devices: &str, threads: usize, jobs: usize) -> Vec<(&'static str, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    vec![
        ("mtl_version", env!("CARGO_PKG_VERSION").to_string()),
        ("git_commit", env!("BUILT_GIT_COMMIT").to_string()),
        ("dfdx_version", env!("BUILT_DFDX_VERSION").to_string()),
        ("rustc", env!("BUILT_RUSTC_VERSION").to_string()),
        ("device", devices.to_string()),
        ("cpu", cpu),
        ("cuda_build", cfg!(feature = "cuda").to_string()),
        ("cores", cores.to_string()),
        ("threads_per_run", threads.to_string()),
        ("jobs", jobs.to_string()),
        (
            "os",
            format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        ),
    ]
}
