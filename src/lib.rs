//! mtl: declarative multi-task-learning experiments.
//!
//! The pipeline runs one way, one module per stage:
//! `config` (TOML → typed, layered, validated) → `plan` (models to train,
//! static shapes) → `data` (load, split, scale, batch) → `model` (trunk and
//! heads on dfdx) → `train` (optimizer, weighting strategy, evaluation) →
//! `results` (CSV files, comparison with the single-task baselines).
//! `src/bin/mtl-run.rs` is a thin shell over [`run`].

pub mod config;
pub mod data;
pub mod error;
pub mod model;
pub mod plan;
pub mod plugins;
pub mod report;

pub use error::{Error, Result};
/// The plugin interface (the `mtl-plugin` crate).
pub use mtl_plugin as plugin;
pub mod results;
pub mod run;
pub mod slurm;
pub mod tasks;
pub mod train;
pub mod weighting;

pub use report::rebuild as rebuild_report;
pub use run::{run_file, RunOptions};
