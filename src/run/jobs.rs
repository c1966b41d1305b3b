//! The runs of an experiment and how they are trained: one job per
//! multi-task model (point × seed) and per distinct single-task baseline
//! (task × seed, shared by every point whose baseline config is the same),
//! each writing its own folder; `--jobs N` trains N at once.

use super::holder;
use super::identity::{baseline_config, baseline_dir, run_dir};
use super::{DataCache, RunOptions};
use crate::config::{Experiment, ExperimentConfig};
use crate::error::{Error, Result};
use crate::results::{self, write_atomic};
use crate::train::{self, ProgressMode};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    /// The multi-task model of a point.
    Multi { point: String },
    /// The single-task baseline of a task.
    Baseline { task: String },
}

/// One model to train into one folder.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    /// What is trained (for a baseline: [`baseline_config`] of a point).
    pub config: ExperimentConfig,
    pub dir: PathBuf,
}

impl Job {
    /// `metrics.csv` is written last: its presence marks a finished run.
    pub fn is_finished(&self) -> bool {
        self.dir.join("metrics.csv").exists()
    }

    /// The model id inside the run's files (`mtl` or `stl:<task>`).
    pub fn model(&self) -> String {
        match &self.kind {
            JobKind::Multi { .. } => "mtl".into(),
            JobKind::Baseline { task } => format!("stl:{task}"),
        }
    }

    pub fn label(&self) -> String {
        let seed = self.config.experiment.seed;
        match &self.kind {
            JobKind::Multi { point } => format!("mtl {point} seed {seed}"),
            JobKind::Baseline { task } => format!("stl:{task} seed {seed}"),
        }
    }
}

/// Every run of the experiment, seed by seed: each point's multi-task model,
/// then the baselines no earlier point needed.
pub fn list(experiment: &Experiment, resolved: &[ExperimentConfig]) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    for &seed in &experiment.seeds {
        for point in resolved {
            let mut config = point.clone();
            config.experiment.seed = seed;
            jobs.push(Job {
                kind: JobKind::Multi {
                    point: super::point_id(&config),
                },
                config: config.clone(),
                dir: run_dir(&config),
            });
            if !config.baselines.single_task {
                continue;
            }
            for task in &config.tasks {
                let dir = baseline_dir(&config, &task.name);
                if jobs.iter().any(|j| j.dir == dir) {
                    continue;
                }
                jobs.push(Job {
                    kind: JobKind::Baseline {
                        task: task.name.clone(),
                    },
                    config: baseline_config(&config, &task.name),
                    dir,
                });
            }
        }
    }
    jobs
}

/// Runs trained at once: `--jobs`, but no more than there are runs.
pub fn workers(jobs: usize, pending: usize) -> usize {
    jobs.clamp(1, pending.max(1))
}

/// rayon threads for each run: `train.threads` if set, else the cores shared
/// evenly among the runs trained at once. Under Slurm the cores are those
/// the job was given (`SLURM_CPUS_PER_TASK`), not the node's.
pub fn threads_per_run(threads: usize, jobs: usize) -> usize {
    if threads > 0 {
        return threads;
    }
    let cores = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|&c| c > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    (cores / jobs.max(1)).max(1)
}

/// Trains `pending`, `options.jobs` at a time; returns what went wrong, one
/// line per run that stopped early or could not be written.
pub fn execute(
    pending: &[&Job],
    cache: &DataCache,
    file: &str,
    options: &RunOptions,
    threads: usize,
) -> Vec<String> {
    let total = pending.len();
    let done = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = workers(options.jobs, total);
    let per_run = threads_per_run(threads, workers);
    // One bar per model when runs go one at a time; one bar over runs otherwise.
    let (model_bars, overall) = if workers == 1 || options.progress == ProgressMode::Hidden {
        (options.progress, ProgressBar::hidden())
    } else {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} runs ETA {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix("runs");
        (ProgressMode::Hidden, bar)
    };
    let next = AtomicUsize::new(0);
    let work = || {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(per_run)
            .build()
            .expect("a thread pool starts");
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(job) = pending.get(i) else { break };
            let started = Instant::now();
            let outcome = pool.install(|| train_job(job, cache, file, model_bars));
            let k = done.fetch_add(1, Ordering::SeqCst) + 1;
            overall.inc(1);
            let line = match outcome {
                Ok(None) => {
                    overall.suspend(|| {
                        tracing::info!(
                            "[{k}/{total}] {} trained in {:.1} s",
                            job.label(),
                            started.elapsed().as_secs_f64()
                        )
                    });
                    continue;
                }
                Ok(Some(stopped)) => stopped,
                Err(e) => e.to_string(),
            };
            overall.suspend(|| tracing::warn!("[{k}/{total}] {}: {line}", job.label()));
            failures.lock().expect("no panics hold the lock").push(line);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(work);
        }
    });
    overall.finish_and_clear();
    failures.into_inner().expect("no panics hold the lock")
}

/// Trains one run into its folder. `Ok(Some(why))` if the model stopped early
/// (its folder still counts as finished: the same config and seed would stop
/// the same way).
fn train_job(
    job: &Job,
    cache: &DataCache,
    file: &str,
    progress: ProgressMode,
) -> Result<Option<String>> {
    claim(&job.dir)?;
    let (config, plan, data) = cache.prepare(&job.config, file)?;
    let resolved = toml::to_string(&config).expect("the config serialises");
    write_atomic(&job.dir.join("resolved.toml"), resolved.as_bytes())?;
    let model = job.model();
    let model_plan = plan
        .models
        .iter()
        .find(|m| m.id == model)
        .expect("the plan lists the multi-task model and every baseline");
    let train = || train::train_model(model_plan, &config, &plan.shapes, &data, progress);
    let run = if config.train.device.is_cpu() {
        train()
    } else {
        // dfdx's ops unwrap device errors: after one that leaves the device
        // usable (out of memory) the run is left unfinished, to be trained
        // again, and the others go on. After a sticky one (a lost GPU) cudarc
        // panics again while cleaning up and the process aborts; the folder
        // has no metrics.csv either way, so a rerun trains the run again.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(train)).unwrap_or_else(|panic| {
            let why = crate::error::panic_message(&*panic);
            Err(Error::device(
                config.train.device.as_str(),
                format!("training failed on the device ({why})"),
            ))
        })
    };
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            holder::release(&job.dir);
            return Err(Error::Output {
                path: job.dir.clone(),
                message: format!("{e}; the run is left unfinished, and a rerun trains it again"),
            });
        }
    };
    let runs = [run];
    results::write_history(&job.dir.join("history.csv"), &runs)?;
    if matches!(job.kind, JobKind::Multi { .. }) {
        results::write_weights(&job.dir.join("weights.csv"), &runs)?;
    }
    let failure = runs[0].failure.as_ref().map(ToString::to_string);
    if let Some(why) = &failure {
        write_atomic(&job.dir.join("failure.txt"), format!("{why}\n").as_bytes())?;
    }
    // Last: its presence marks the run as finished.
    results::write_metrics(&job.dir.join("metrics.csv"), &config, &runs)?;
    holder::release(&job.dir);
    Ok(failure)
}

/// What a run writes into its folder (besides `metrics.csv`, removed first).
const RUN_FILES: [&str; 5] = [
    "failure.txt",
    "history.csv",
    "weights.csv",
    "comparison.csv",
    "resolved.toml",
];

/// Makes the run folder ready: writable, not being trained by another live
/// process, with no marker or leftovers of an earlier attempt (an
/// interrupted run is started again from scratch), and held by this process.
fn claim(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, "cannot create the output folder", e))?;
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"")
        .map_err(|e| Error::io(dir, "the output folder is not writable", e))?;
    let _ = std::fs::remove_file(probe);
    // Held first, so that no other process cleans or trains this folder meanwhile.
    holder::take(dir)?;
    // The marker first: until the new run finishes, the folder counts as unfinished.
    let marker = dir.join("metrics.csv");
    if marker.exists() {
        std::fs::remove_file(&marker)
            .map_err(|e| Error::io(&marker, "cannot remove the earlier results", e))?;
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list the run folder", e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale =
            RUN_FILES.contains(&name.as_str()) || (name.starts_with('.') && name.contains(".tmp-"));
        if stale {
            std::fs::remove_file(entry.path())
                .map_err(|e| Error::io(entry.path(), "cannot remove the earlier results", e))?;
        }
    }
    Ok(())
}
