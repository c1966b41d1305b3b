//! One experiment file, end to end: config → plan → data → train → results.

use crate::config::{self, ExperimentConfig};
use crate::data::{self, PreparedData};
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::results::{self, compare, render_table, write_atomic, write_comparison};
use crate::train::{self, ModelRun, ProgressMode};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to run an experiment file (the command line's flags).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `dotted.key=value` overrides, applied after the file and `MTL_*`.
    pub overrides: Vec<String>,
    /// Print the plan and the shape table; train nothing.
    pub dry_run: bool,
    /// Replace results of an earlier run of the same config and seed.
    pub force: bool,
    pub progress: ProgressMode,
}

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run folder (`None` for a dry run).
    pub run_dir: Option<PathBuf>,
    pub comparison: Vec<results::ComparisonRow>,
    pub runs: Vec<ModelRun>,
}

/// Loads, validates and plans an experiment: everything up to training.
pub fn prepare(
    path: &Path,
    overrides: &[String],
) -> Result<(ExperimentConfig, Plan, PreparedData)> {
    let mut config = config::load(path, overrides)?;
    let file = path.display().to_string();
    let (main, test, files) = data::load_raw(&config)?;
    let input = match &config.trunk.input {
        Some(shape) => {
            let (have, want) = (
                main.sample_shape.iter().product::<usize>(),
                shape.iter().product::<usize>(),
            );
            if have != want {
                return Err(Error::config(
                    &file,
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
    let plan = Plan::new(&config, &input).map_err(|m| Error::config(&file, m))?;
    let mut prepared = data::prepare(&config, main, test, files)?;
    prepared.sample_shape = input.clone();
    // resolved.toml carries every default, including those derived here.
    config.trunk.input = Some(input);
    for t in &mut config.tasks {
        t.metric = Some(t.metric());
    }
    Ok((config, plan, prepared))
}

/// The point id: a short hash of the resolved config with the seed, the
/// output folder, the description and the thread count left out, so the same
/// config finds its runs again.
pub fn point_id(config: &ExperimentConfig) -> String {
    let mut c = config.clone();
    c.experiment.seed = 0;
    c.experiment.output_dir = PathBuf::new();
    // Neither changes what is computed.
    c.experiment.description = None;
    c.train.threads = 0;
    let text = toml::to_string(&c).expect("the config serialises");
    format!("{:x}", Sha256::digest(text.as_bytes()))[..12].to_string()
}

pub fn run_dir(config: &ExperimentConfig) -> PathBuf {
    config
        .experiment
        .output_dir
        .join(&config.experiment.name)
        .join(point_id(config))
        .join(format!("seed-{}", config.experiment.seed))
}

/// Runs one experiment file.
pub fn run_file(path: &Path, options: &RunOptions) -> Result<RunOutcome> {
    let started = Instant::now();
    let (config, plan, data) = prepare(path, &options.overrides)?;
    if config.train.threads > 0 {
        // Only the first experiment of a process can size the global pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(config.train.threads)
            .build_global();
    }
    if options.dry_run {
        println!(
            "experiment `{}` ({})",
            config.experiment.name,
            path.display()
        );
        println!(
            "data: {} train / {} validation / {} test samples of shape {:?}",
            data.train.len, data.validation.len, data.test.len, data.sample_shape
        );
        println!("{plan}");
        let dir = run_dir(&config);
        let state = if dir.join("metrics.csv").exists() {
            "finished results exist there (rerun with --force to replace them)"
        } else {
            "no finished results there yet"
        };
        println!("\nresults would go to {}: {state}", dir.display());
        return Ok(RunOutcome {
            run_dir: None,
            comparison: Vec::new(),
            runs: Vec::new(),
        });
    }
    let dir = run_dir(&config);
    claim_run_dir(&dir, options.force)?;
    let resolved = toml::to_string(&config).expect("the config serialises");
    write_atomic(&dir.join("resolved.toml"), resolved.as_bytes())?;
    tracing::info!(
        "experiment `{}`: {} train / {} validation / {} test samples; results in {}",
        config.experiment.name,
        data.train.len,
        data.validation.len,
        data.test.len,
        dir.display()
    );

    let mut runs = Vec::new();
    let mut failures = Vec::new();
    for model in &plan.models {
        let t = Instant::now();
        let run = train::train_model(model, &config, &plan.shapes, &data, options.progress);
        match &run.failure {
            Some(e) => {
                tracing::warn!("{e}; training the other models");
                failures.push(e.to_string());
            }
            None => tracing::info!(
                "{} trained in {:.1} s (epoch {} selected on validation loss)",
                model.id,
                t.elapsed().as_secs_f64(),
                run.selected_epoch.unwrap_or(0)
            ),
        }
        runs.push(run);
    }

    results::write_history(&dir.join("history.csv"), &runs)?;
    results::write_weights(&dir.join("weights.csv"), &runs)?;
    let comparison = compare(&config, &runs);
    write_comparison(&dir.join("comparison.csv"), &comparison)?;
    if failures.is_empty() {
        // The experiment-level copy only ever holds a complete comparison.
        let experiment_dir = config.experiment.output_dir.join(&config.experiment.name);
        write_comparison(&experiment_dir.join("comparison.csv"), &comparison)?;
    }
    // metrics.csv last: its presence marks the run as finished. A run in
    // which no model finished stays unfinished, so it is simply run again.
    if failures.len() < runs.len() {
        results::write_metrics(&dir.join("metrics.csv"), &config, &runs)?;
    }

    println!(
        "\nexperiment `{}`: test split, each model at its epoch selected on validation data ({:.0} s)",
        config.experiment.name,
        started.elapsed().as_secs_f64()
    );
    print!("{}", render_table(&comparison));
    println!("results: {}", dir.display());
    if !failures.is_empty() {
        return Err(Error::Output {
            path: dir,
            message: format!(
                "{} model(s) stopped early; the others' results were written: {}",
                failures.len(),
                failures.join("; ")
            ),
        });
    }
    Ok(RunOutcome {
        run_dir: Some(dir),
        comparison,
        runs,
    })
}

/// Makes the run folder, refusing to replace finished results unless forced,
/// and checks it is writable before any training starts.
fn claim_run_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.join("metrics.csv").exists() && !force {
        return Err(Error::Output {
            path: dir.to_path_buf(),
            message: "this config and seed already have finished results here; pass --force to train again and replace them".into(),
        });
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(dir, "cannot create the output folder", e))?;
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"")
        .map_err(|e| Error::io(dir, "the output folder is not writable", e))?;
    let _ = std::fs::remove_file(probe);
    let marker = dir.join("metrics.csv");
    if force && marker.exists() {
        // Until the new run finishes, the folder counts as unfinished.
        std::fs::remove_file(&marker)
            .map_err(|e| Error::io(&marker, "cannot remove the earlier results", e))?;
    }
    Ok(())
}
