//! One experiment file, end to end: config → plan → data → train → results.
//!
//! A file declares points (its sweep, or one point) and seeds. Every point
//! is validated and planned first; then each run (a multi-task model at one
//! point and seed, or a single-task baseline at one seed) trains unless its
//! folder already holds finished results; then the summaries and the report
//! are rebuilt from the files on disk.

pub mod holder;
mod identity;
mod jobs;
mod manifest;

pub use identity::{baseline_config, baseline_dir, baseline_id, experiment_dir, point_id, run_dir};
pub use jobs::{Job, JobKind};

use crate::config::{self, ExperimentConfig};
use crate::data::{self, PreparedData};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::train::ProgressMode;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How to run an experiment file (the command line's flags).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `dotted.key=value` overrides, applied after the file and `MTL_*`.
    pub overrides: Vec<String>,
    /// Print the plan and the shape table; train nothing.
    pub dry_run: bool,
    /// Train again and replace finished runs.
    pub force: bool,
    pub progress: ProgressMode,
    /// Runs trained at once.
    pub jobs: usize,
    /// Train only this run (1-based, in the order `--dry-run` lists them) and
    /// leave the summaries to `mtl-run report`: what one Slurm array task does.
    pub run: Option<usize>,
}

/// What a finished invocation reports back.
#[derive(Debug)]
pub struct RunOutcome {
    /// `<output_dir>/<experiment>` (`None` for a dry run).
    pub experiment_dir: Option<PathBuf>,
    /// Runs trained now, and runs skipped because they had finished before.
    pub trained: usize,
    pub skipped: usize,
}

/// Loads, validates and plans an experiment without a sweep (or its first
/// point): everything up to training.
pub fn prepare(
    path: &Path,
    overrides: &[String],
) -> Result<(ExperimentConfig, Plan, PreparedData)> {
    let config = config::load(path, overrides)?;
    DataCache::default().prepare(&config, &path.display().to_string())
}

type Raw = data::Loaded;

/// Raw data by data config, so the runs of a sweep read each file once.
#[derive(Default, Clone)]
pub(crate) struct DataCache {
    raw: Arc<Mutex<HashMap<String, Arc<Raw>>>>,
}

impl DataCache {
    /// Plans `config` and prepares its data (split from its seed).
    pub(crate) fn prepare(
        &self,
        config: &ExperimentConfig,
        file: &str,
    ) -> Result<(ExperimentConfig, Plan, PreparedData)> {
        self.prepare_with(config, file, data::Inputs::Scaled)
    }

    /// Plans `config` and checks its data (labels, split sizes) without
    /// building the scaled inputs: what planning every point needs.
    pub(crate) fn check(
        &self,
        config: &ExperimentConfig,
        file: &str,
    ) -> Result<(ExperimentConfig, Plan, PreparedData)> {
        self.prepare_with(config, file, data::Inputs::Skipped)
    }

    fn prepare_with(
        &self,
        config: &ExperimentConfig,
        file: &str,
        inputs: data::Inputs,
    ) -> Result<(ExperimentConfig, Plan, PreparedData)> {
        let mut config = config.clone();
        // Which files are read, and which columns, depends on the data config and the tasks.
        // What is read depends on the data config and, for CSV, on which
        // columns are labels (the rest are inputs by default).
        #[derive(serde::Serialize)]
        struct Key<'a> {
            data: &'a config::DataConfig,
            labels: Vec<&'a str>,
        }
        let key = toml::to_string(&Key {
            data: &config.data,
            labels: config.tasks.iter().map(|t| t.label.as_str()).collect(),
        })
        .expect("a validated config serialises");
        let cached = self
            .raw
            .lock()
            .expect("no panics hold the lock")
            .get(&key)
            .cloned();
        let raw = match cached {
            Some(raw) => raw,
            None => {
                let raw = Arc::new(data::load_raw(&config)?);
                self.raw
                    .lock()
                    .expect("no panics hold the lock")
                    .insert(key, raw.clone());
                raw
            }
        };
        // Borrowed, not cloned: a full-MNIST source holds hundreds of MB.
        let data::Loaded {
            main,
            test,
            files,
            settled,
        } = &*raw;
        let input = match &config.trunk.input {
            Some(shape) => {
                let (have, want) = (
                    main.sample_shape.iter().product::<usize>(),
                    shape.iter().product::<usize>(),
                );
                if have != want {
                    return Err(Error::config(
                        file,
                        format!(
                            "key `trunk.input`: {shape:?} holds {want} values per sample, but the data has {have} ({:?})",
                            main.sample_shape
                        ),
                    ));
                }
                shape.clone()
            }
            None => main.sample_shape.clone(),
        };
        let plan = Plan::new(&config, &input).map_err(|m| Error::config(file, m))?;
        // What the source settled from the data (a CSV source's input columns).
        config
            .data
            .options
            .extend(settled.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut prepared = data::prepare(&config, main, test.as_ref(), files.clone(), inputs)?;
        prepared.sample_shape = input.clone();
        // resolved.toml carries every default, including those derived here.
        config.trunk.input = Some(input);
        for t in &mut config.tasks {
            t.metric = Some(t.metric());
        }
        Ok((config, plan, prepared))
    }
}

/// An experiment file with every point validated and planned, and its runs.
pub(crate) struct Planned {
    pub experiment: config::Experiment,
    /// Each point's resolved config (at the first seed), its plan, id and data facts.
    pub resolved: Vec<ExperimentConfig>,
    pub plans: Vec<Plan>,
    pub ids: Vec<String>,
    pub data_facts: Vec<manifest::DataFacts>,
    /// Every run, in the order `--dry-run` numbers them.
    pub jobs: Vec<Job>,
    /// `<output_dir>/<experiment>`.
    pub dir: PathBuf,
}

/// Loads an experiment file and plans every point before anything trains:
/// a bad point fails now.
pub(crate) fn plan_file(path: &Path, overrides: &[String], cache: &DataCache) -> Result<Planned> {
    let file = path.display().to_string();
    let experiment = config::load_experiment(path, overrides)?;
    let mut resolved = Vec::with_capacity(experiment.points.len());
    let mut plans = Vec::with_capacity(experiment.points.len());
    let mut data_facts = Vec::with_capacity(experiment.points.len());
    for (i, point) in experiment.points.iter().enumerate() {
        let at = if experiment.sweep.is_some() {
            format!(
                "{file}, sweep point {} of {} ({})",
                i + 1,
                experiment.points.len(),
                config::sweep::describe(&point.values)
            )
        } else {
            file.clone()
        };
        let (config, plan, data) = cache.check(&point.config, &at)?;
        data_facts.push(manifest::DataFacts::of(&data));
        resolved.push(config);
        plans.push(plan);
    }
    let ids: Vec<String> = resolved.iter().map(point_id).collect();
    for (i, id) in ids.iter().enumerate() {
        if let Some(j) = ids[..i].iter().position(|o| o == id) {
            return Err(Error::config(
                &file,
                format!(
                    "sweep points {} ({}) and {} ({}) give the same config; drop one of the values",
                    j + 1,
                    config::sweep::describe(&experiment.points[j].values),
                    i + 1,
                    config::sweep::describe(&experiment.points[i].values)
                ),
            ));
        }
    }
    let jobs = jobs::list(&experiment, &resolved);
    let dir = experiment_dir(&resolved[0]);
    Ok(Planned {
        experiment,
        resolved,
        plans,
        ids,
        data_facts,
        jobs,
        dir,
    })
}

impl Planned {
    /// Writes the files the summaries are rebuilt from (experiment.toml,
    /// points.csv, runs.csv, data.csv, environment.csv).
    pub(crate) fn write_manifest(
        &self,
        overrides: &[String],
        threads: usize,
        jobs: usize,
    ) -> Result<()> {
        manifest::write(
            &self.dir,
            &manifest::Manifest {
                experiment: &self.experiment,
                overrides,
                resolved: &self.resolved,
                ids: &self.ids,
                data: &self.data_facts,
                threads,
                jobs,
            },
        )
    }
}

/// Runs one experiment file: every point and seed of it.
pub fn run_file(path: &Path, options: &RunOptions) -> Result<RunOutcome> {
    let started = Instant::now();
    let file = path.display().to_string();
    let cache = DataCache::default();
    let planned = plan_file(path, &options.overrides, &cache)?;
    let Planned {
        experiment,
        resolved,
        plans,
        jobs,
        ..
    } = &planned;
    let exp_dir = planned.dir.clone();
    let mut jobs = jobs.clone();
    if let Some(k) = options.run {
        if k == 0 || k > jobs.len() {
            return Err(Error::config(
                &file,
                format!(
                    "--run {k}: this experiment has {} run(s), numbered 1 to {} (`--dry-run` lists them)",
                    jobs.len(),
                    jobs.len()
                ),
            ));
        }
    }
    if options.dry_run {
        print_dry_run(path, experiment, resolved, plans, &jobs, options.force);
        return Ok(RunOutcome {
            experiment_dir: None,
            trained: 0,
            skipped: 0,
        });
    }
    if let Some(k) = options.run {
        jobs = vec![jobs.swap_remove(k - 1)];
    }

    let (pending, finished): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| options.force || !j.is_finished());
    if !pending.is_empty() {
        // Before anything is written: a device that cannot be used fails every run.
        let mut devices: Vec<_> = resolved.iter().map(|c| c.train.device).collect();
        devices.sort();
        devices.dedup();
        for device in devices {
            crate::model::device::check(device).map_err(|e| Error::config(&file, e.to_string()))?;
        }
    }
    let threads = resolved[0].train.threads;
    planned.write_manifest(
        &options.overrides,
        jobs::threads_per_run(threads, jobs::workers(options.jobs, pending.len())),
        options.jobs,
    )?;

    if !finished.is_empty() {
        tracing::info!(
            "{} of {} runs finished earlier; skipping them (--force trains them again)",
            finished.len(),
            jobs.len()
        );
    }
    tracing::info!(
        "experiment `{}`: {} point(s) × {} seed(s); {} run(s) to train, results in {}",
        resolved[0].experiment.name,
        resolved.len(),
        experiment.seeds.len(),
        pending.len(),
        exp_dir.display()
    );
    let failures = jobs::execute(&pending, &cache, &file, options, threads);

    if let Some(k) = options.run {
        // Other runs may be finishing at this moment: the summaries are
        // rebuilt once they all have (`mtl-run report`, the Slurm report job).
        let job = &jobs[0];
        let state = match (failures.first(), pending.is_empty()) {
            (Some(why), _) => {
                return Err(Error::Output {
                    path: exp_dir,
                    message: format!("run {k} ({}) did not finish: {why}", job.label()),
                })
            }
            (None, true) => "had finished earlier; skipped (--force trains it again)",
            (None, false) => "trained",
        };
        println!("run {k} ({}) {state}: {}", job.label(), job.dir.display());
        return Ok(RunOutcome {
            experiment_dir: Some(exp_dir),
            trained: pending.len(),
            skipped: finished.len(),
        });
    }

    let summary = crate::report::rebuild(&exp_dir)?;
    let select = resolved[0].train.select;
    let epoch = match select {
        _ if resolved.iter().any(|c| c.train.select != select) => {
            "at the epoch its train.select names"
        }
        crate::config::Selection::ValLoss => "at its epoch selected on validation data",
        crate::config::Selection::Last => "at its last epoch",
    };
    println!(
        "\nexperiment `{}`: test split, each model {epoch} ({:.0} s)",
        resolved[0].experiment.name,
        started.elapsed().as_secs_f64()
    );
    print!("{summary}");
    println!("results: {}", exp_dir.display());
    if !failures.is_empty() {
        return Err(Error::Output {
            path: exp_dir,
            message: format!(
                "{} run(s) stopped early; the others' results were written: {}",
                failures.len(),
                failures.join("; ")
            ),
        });
    }
    Ok(RunOutcome {
        experiment_dir: Some(exp_dir),
        trained: pending.len(),
        skipped: finished.len(),
    })
}

fn print_dry_run(
    path: &Path,
    experiment: &config::Experiment,
    resolved: &[ExperimentConfig],
    plans: &[Plan],
    jobs: &[Job],
    force: bool,
) {
    println!(
        "experiment `{}` ({})",
        resolved[0].experiment.name,
        path.display()
    );
    println!("seeds: {:?}", experiment.seeds);
    if experiment.sweep.is_some() {
        println!("sweep: {} point(s)", resolved.len());
        for (i, (p, c)) in experiment.points.iter().zip(resolved).enumerate() {
            println!(
                "  {:>3}. {}  {}",
                i + 1,
                point_id(c),
                config::sweep::describe(&p.values)
            );
        }
    }
    println!("\n{}", plans[0]);
    let finished = jobs.iter().filter(|j| j.is_finished()).count();
    println!(
        "\nruns: {} ({} finished, {} to train{})",
        jobs.len(),
        finished,
        if force {
            jobs.len()
        } else {
            jobs.len() - finished
        },
        if force && finished > 0 {
            ", --force trains the finished ones again"
        } else {
            ""
        }
    );
    for (i, j) in jobs.iter().enumerate() {
        let state = if j.is_finished() {
            "finished results exist there (rerun with --force to replace them)"
        } else {
            "no finished results there yet"
        };
        println!(
            "  {:>3}. {:<40} {}: {state}",
            i + 1,
            j.label(),
            j.dir.display()
        );
    }
}
