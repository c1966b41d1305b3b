//! Where each run lives: point ids, baseline ids and folders.
//!
//! ```text
//! <output_dir>/<experiment>/<point-id>/seed-<k>/            the multi-task model
//! <output_dir>/<experiment>/baselines/<task>-<id>/seed-<k>/ a single-task baseline
//! ```
//!
//! A baseline's id hashes only what its training depends on, so the points
//! of a sweep over weighting strategies or loss weights share one baseline
//! per task and seed.

use crate::config::{BaselinesConfig, ExperimentConfig, SlurmConfig, TrainConfig, WeightingConfig};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The point id: a short hash of the resolved config with the seed, the
/// output folder, the description, the thread count and the `[slurm]`
/// resources left out, so the same config finds its runs again.
pub fn point_id(config: &ExperimentConfig) -> String {
    short_hash(&toml::to_string(&identity(config)).expect("a validated config serialises"))
}

/// The config the single-task baseline of `task` is trained from: the
/// point's (resolved: CSV input columns written out) with that task alone,
/// and what a lone task ignores reset (the weighting strategy, its loss
/// weight and headline metric, the baselines switch, the weights.csv
/// interval), so equal baselines are equal configs.
pub fn baseline_config(config: &ExperimentConfig, task: &str) -> ExperimentConfig {
    let mut c = config.clone();
    c.tasks.retain(|t| t.name == task);
    for t in &mut c.tasks {
        t.weight = 1.0;
        t.metric = None;
    }
    c.weighting = WeightingConfig::default();
    c.baselines = BaselinesConfig::default();
    c.train.log_every = TrainConfig::default().log_every;
    c
}

/// The id of the baseline of `task` for `config` (a point's resolved config).
pub fn baseline_id(config: &ExperimentConfig, task: &str) -> String {
    let c = identity(&baseline_config(config, task));
    let text = toml::to_string(&c).expect("a validated config serialises");
    let safe: String = task
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || "_-".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{safe}-{}",
        short_hash(&format!("{text}\n# baseline of {task:?}"))
    )
}

/// The config with what does not change the computed numbers left out
/// (whether baselines are trained does not change the multi-task model).
fn identity(config: &ExperimentConfig) -> ExperimentConfig {
    let mut c = config.clone();
    c.baselines = BaselinesConfig::default();
    c.experiment.seed = 0;
    c.experiment.seeds = None;
    c.experiment.output_dir = PathBuf::new();
    c.experiment.description = None;
    c.train.threads = 0;
    c.slurm = SlurmConfig::default();
    c
}

fn short_hash(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))[..12].to_string()
}

/// `<output_dir>/<experiment>`.
pub fn experiment_dir(config: &ExperimentConfig) -> PathBuf {
    config.experiment.output_dir.join(&config.experiment.name)
}

/// The run folder of the multi-task model of `config` (at its seed).
pub fn run_dir(config: &ExperimentConfig) -> PathBuf {
    experiment_dir(config)
        .join(point_id(config))
        .join(format!("seed-{}", config.experiment.seed))
}

/// The run folder of the baseline of `task` for `config` (at its seed).
pub fn baseline_dir(config: &ExperimentConfig, task: &str) -> PathBuf {
    experiment_dir(config)
        .join("baselines")
        .join(baseline_id(config, task))
        .join(format!("seed-{}", config.experiment.seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ExperimentConfig {
        toml::from_str(
            "[experiment]\nname = \"x\"\n[data]\nformat = \"csv\"\npath = \"p.csv\"\n[trunk]\nlayers = [{ type = \"linear\", out = 8 }]\n[[tasks]]\nname = \"a\"\nkind = \"binary\"\nlabel = \"y\"\n[[tasks]]\nname = \"b/c\"\nkind = \"regression\"\nlabel = \"z\"\n",
        )
        .unwrap()
    }

    #[test]
    fn the_same_config_has_the_same_id_and_only_the_seed_is_left_out() {
        let base = config();
        assert_eq!(point_id(&base), point_id(&config()));
        let mut seeded = base.clone();
        seeded.experiment.seed = 7;
        seeded.train.threads = 2;
        seeded.experiment.description = Some("note".into());
        seeded.baselines.single_task = false;
        assert_eq!(point_id(&seeded), point_id(&base));
        let changes: Vec<fn(&mut ExperimentConfig)> = vec![
            |c| c.train.epochs += 1,
            |c| c.train.batch_size = 64,
            |c| c.tasks[0].weight = 2.0,
            |c| c.weighting = toml::from_str("strategy = \"gradnorm\"").unwrap(),
            |c| c.experiment.name = "y".into(),
            |c| {
                c.trunk
                    .layers
                    .push(toml::from_str("type = \"relu\"").unwrap())
            },
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut c = base.clone();
            change(&mut c);
            assert_ne!(point_id(&c), point_id(&base), "change {i}");
        }
    }

    /// CPU configs keep the ids they had before `train.device` existed: the
    /// key is left out of the written config when it is `cpu`, and the
    /// literal pins the id (the shipped experiments' ids were checked equal
    /// to those of the build before the key). CUDA runs get ids of their
    /// own, baselines too.
    #[test]
    fn only_cuda_changes_the_id() {
        let base = config();
        assert!(!toml::to_string(&base).unwrap().contains("device"));
        assert_eq!(point_id(&base), "69956647007d");
        let mut cuda = base.clone();
        cuda.train.device = crate::config::DeviceName::Cuda;
        assert!(toml::to_string(&cuda)
            .unwrap()
            .contains("device = \"cuda\""));
        assert_ne!(point_id(&cuda), point_id(&base));
        assert_ne!(baseline_id(&cuda, "a"), baseline_id(&base, "a"));
    }

    #[test]
    fn baselines_ignore_the_strategy_and_the_loss_weights_but_not_the_budget() {
        let base = config();
        let mut other = base.clone();
        other.weighting = toml::from_str("strategy = \"uncertainty\"").unwrap();
        other.tasks[0].weight = 0.5;
        other.tasks[1]
            .options
            .insert("standardize".into(), false.into());
        other.experiment.seed = 3;
        other.train.log_every = 1;
        assert_eq!(baseline_id(&other, "a"), baseline_id(&base, "a"));
        // The other tasks do not matter, but the task itself does.
        other.tasks.pop();
        assert_eq!(baseline_id(&other, "a"), baseline_id(&base, "a"));
        other.tasks[0].kind = "regression".into();
        other.tasks[0].options.clear();
        assert_ne!(baseline_id(&other, "a"), baseline_id(&base, "a"));
        assert_ne!(baseline_id(&base, "a"), baseline_id(&base, "b/c"));
        assert!(baseline_id(&base, "b/c").starts_with("b_c-"));
        let mut other = base.clone();
        other.train.epochs = 99;
        assert_ne!(baseline_id(&other, "a"), baseline_id(&base, "a"));
        assert!(baseline_dir(&base, "a").ends_with("seed-0"));
    }
}
