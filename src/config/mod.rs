//! The experiment file, as typed configuration.
//!
//! Every section rejects unknown keys. Defaults are the ones an ML
//! researcher would expect (PyTorch's optimizer defaults, baselines on).
//! `docs/config.md` documents each key; keep the two in step.

mod layer;
mod load;
pub mod sweep;
mod validate;

pub use layer::{layer_padding, LayerConfig, Padding, PaddingName};
pub(crate) use load::closest as closest_name;
pub use load::{load, load_experiment, Experiment, Point};
pub use sweep::{Assignment, Sweep};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A whole experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    pub experiment: ExperimentSection,
    pub data: DataConfig,
    pub trunk: TrunkConfig,
    pub tasks: Vec<TaskConfig>,
    #[serde(default)]
    pub weighting: WeightingConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub baselines: BaselinesConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Names the folder under `output_dir`.
    pub name: String,
    /// Seeds the split, the initialisation, the batch order and dropout.
    #[serde(default)]
    pub seed: u64,
    /// Repeat every model once per seed (instead of `seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seeds: Option<Vec<u64>>,
    #[serde(default = "default_output_dir")]
    pub output_dir: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn default_output_dir() -> PathBuf {
    PathBuf::from("runs")
}

/// Where the samples come from. Paths are relative to the working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "lowercase", deny_unknown_fields)]
pub enum DataConfig {
    /// MNIST-style IDX files, gzipped or plain. The label column is `label`.
    Idx {
        images: PathBuf,
        labels: PathBuf,
        /// A separate test set (e.g. MNIST's official one); then `split.test` is not used.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test_images: Option<PathBuf>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test_labels: Option<PathBuf>,
        #[serde(default = "InputScale::unit")]
        scale: InputScale,
        #[serde(default)]
        split: SplitConfig,
    },
    /// A CSV file with a header row; every value numeric.
    Csv {
        path: PathBuf,
        /// Input columns. Default: every column that no task reads and `drop` does not name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        features: Option<Vec<String>>,
        #[serde(default)]
        drop: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test_path: Option<PathBuf>,
        #[serde(default = "InputScale::standardize")]
        scale: InputScale,
        #[serde(default)]
        split: SplitConfig,
    },
    /// Generated regression data with known noise: columns `y0`, `y1`, … with
    /// `y_k = 3·tanh(x·u_k) + noise_std[k]·ε`, `x` uniform in [−1, 1]^features,
    /// `u_k` and `ε` standard normal (u_k scaled by 1/√features).
    Synthetic {
        samples: usize,
        features: usize,
        noise_std: Vec<f64>,
        /// Seeds the data (fixed across experiment seeds, like a shipped file).
        #[serde(default)]
        seed: u64,
        #[serde(default = "InputScale::none")]
        scale: InputScale,
        #[serde(default)]
        split: SplitConfig,
    },
    /// The GradNorm paper's synthetic regression: columns `y0`, `y1`, … with
    /// `outputs` values per row, `f_i(x) = σ_i·tanh((B + ε_i)·x)`.
    #[serde(rename = "gradnorm_toy")]
    GradnormToy {
        samples: usize,
        /// One task column per scale σ_i.
        sigmas: Vec<f64>,
        #[serde(default = "toy_inputs")]
        inputs: usize,
        #[serde(default = "toy_outputs")]
        outputs: usize,
        #[serde(default)]
        seed: u64,
        #[serde(default = "InputScale::none")]
        scale: InputScale,
        #[serde(default)]
        split: SplitConfig,
    },
}

fn toy_inputs() -> usize {
    250
}
fn toy_outputs() -> usize {
    100
}

impl DataConfig {
    pub fn split(&self) -> &SplitConfig {
        match self {
            DataConfig::Idx { split, .. }
            | DataConfig::Csv { split, .. }
            | DataConfig::Synthetic { split, .. }
            | DataConfig::GradnormToy { split, .. } => split,
        }
    }
    pub fn scale(&self) -> InputScale {
        match self {
            DataConfig::Idx { scale, .. }
            | DataConfig::Csv { scale, .. }
            | DataConfig::Synthetic { scale, .. }
            | DataConfig::GradnormToy { scale, .. } => *scale,
        }
    }
}

/// How raw input values are scaled before training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputScale {
    /// As stored.
    None,
    /// Divided by 255 (8-bit pixels to [0, 1]).
    Unit,
    /// Each feature to mean 0, std 1 with statistics of the training split only.
    Standardize,
}

impl InputScale {
    fn unit() -> Self {
        InputScale::Unit
    }
    fn standardize() -> Self {
        InputScale::Standardize
    }
    fn none() -> Self {
        InputScale::None
    }
}

/// Sizes of the validation and test splits: an integer is a count, a float a fraction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    #[serde(default = "SplitAmount::tenth")]
    pub validation: SplitAmount,
    #[serde(default = "SplitAmount::tenth")]
    pub test: SplitAmount,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            validation: SplitAmount::tenth(),
            test: SplitAmount::tenth(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SplitAmount {
    Count(usize),
    Fraction(f64),
}

impl SplitAmount {
    fn tenth() -> Self {
        SplitAmount::Fraction(0.1)
    }
    /// The number of samples this amount takes out of `n`.
    pub fn of(&self, n: usize) -> usize {
        match *self {
            SplitAmount::Count(c) => c,
            SplitAmount::Fraction(f) => (f * n as f64).round() as usize,
        }
    }
}

/// The shared layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Shape of one sample, e.g. `[1, 28, 28]` or `[3]`. Default: the data's own shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Vec<usize>>,
    pub layers: Vec<LayerConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Softmax cross-entropy over `classes` logits.
    Classification,
    /// Binary cross-entropy with one logit; labels 0 or 1.
    Binary,
    /// Mean squared error on one output.
    Regression,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    Accuracy,
    MacroF1,
    Rmse,
    Mae,
    R2,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    pub name: String,
    pub kind: TaskKind,
    /// The data column the targets come from (`label` for IDX files).
    pub label: String,
    /// Number of classes = head size (classification only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// Outputs of a regression head (default 1); the label column must hold that many values per row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<usize>,
    /// Target = `map[value]` for an integer-valued column (e.g. parity from the digit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<Vec<f64>>,
    /// Loss weight under `weighting.strategy = "fixed"`.
    #[serde(default = "one")]
    pub weight: f64,
    /// The headline metric: used in Δm and the summary. Default: accuracy or rmse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricName>,
    /// Regression only: train on targets standardised with training statistics
    /// (metrics are always reported in the original units).
    #[serde(default = "yes")]
    pub standardize: bool,
}

impl TaskConfig {
    /// Number of outputs of this task's head.
    pub fn head_size(&self) -> usize {
        match self.kind {
            TaskKind::Classification => self.classes.unwrap_or(0),
            TaskKind::Binary => 1,
            TaskKind::Regression => self.outputs.unwrap_or(1),
        }
    }
    pub fn metric(&self) -> MetricName {
        self.metric.unwrap_or(match self.kind {
            TaskKind::Classification | TaskKind::Binary => MetricName::Accuracy,
            TaskKind::Regression => MetricName::Rmse,
        })
    }
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

/// How the task losses are combined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "lowercase", deny_unknown_fields)]
pub enum WeightingConfig {
    /// Σ w_i L_i with each task's `weight`.
    Fixed {},
    /// Kendall, Gal & Cipolla (2018): a learned log-variance per task.
    Uncertainty {
        /// Initial `s_i = log σ_i²`.
        #[serde(default)]
        initial_log_variance: f64,
        /// Learning rate of the log-variances; default: the model's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lr: Option<f64>,
        /// Use the regression form `½·exp(−s)·L + ½·s` for every task.
        #[serde(default)]
        regression_form_for_all_tasks: bool,
    },
    /// Chen et al. (2018): weights learned to balance gradient norms.
    #[serde(rename = "gradnorm")]
    GradNorm {
        /// Strength of the restoring force toward equal training rates.
        #[serde(default = "gradnorm_alpha")]
        alpha: f64,
        /// Learning rate of the task weights.
        #[serde(default = "gradnorm_lr")]
        lr: f64,
        /// Where the gradient norms are taken.
        #[serde(default)]
        on: GradNormOn,
    },
}

fn gradnorm_alpha() -> f64 {
    1.5
}
fn gradnorm_lr() -> f64 {
    0.025
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GradNormOn {
    /// The weights of the last shared layer (the paper's choice).
    #[default]
    LastSharedLayer,
    /// The shared representation the heads read.
    Representation,
}

impl Default for WeightingConfig {
    fn default() -> Self {
        WeightingConfig::Fixed {}
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule over the whole budget.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Which epoch's test numbers are reported.
    #[serde(default)]
    pub select: Selection,
    /// Compute threads; 0 = all cores.
    #[serde(default)]
    pub threads: usize,
    /// Write a row to `weights.csv` every this many steps.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_log_every() -> usize {
    10
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            optimizer: OptimizerConfig::default(),
            lr_schedule: LrSchedule::default(),
            select: Selection::default(),
            threads: 0,
            log_every: default_log_every(),
        }
    }
}

fn default_epochs() -> usize {
    10
}
fn default_batch_size() -> usize {
    32
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The optimizer's `lr` throughout.
    #[default]
    Constant,
    /// Cosine annealing from `lr` to 0 over all steps (Loshchilov & Hutter 2017, no restarts).
    Cosine,
}

impl LrSchedule {
    /// The factor on `lr` for step `step` (0-based) of `total`.
    pub fn factor(&self, step: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total.max(1) as f64).cos())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The epoch with the lowest validation loss (unweighted sum over the model's tasks).
    #[default]
    ValLoss,
    /// The last epoch.
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Adam {
        #[serde(default = "adam_lr")]
        lr: f64,
        #[serde(default = "adam_betas")]
        betas: [f64; 2],
        #[serde(default = "adam_eps")]
        eps: f64,
        /// L2 penalty added to the gradient (PyTorch's `Adam(weight_decay=…)`).
        #[serde(default)]
        weight_decay: f64,
    },
    Sgd {
        #[serde(default = "sgd_lr")]
        lr: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
        #[serde(default)]
        weight_decay: f64,
    },
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adam {
            lr: adam_lr(),
            betas: adam_betas(),
            eps: adam_eps(),
            weight_decay: 0.0,
        }
    }
}

fn adam_lr() -> f64 {
    1e-3
}
fn adam_betas() -> [f64; 2] {
    [0.9, 0.999]
}
fn adam_eps() -> f64 {
    1e-8
}
fn sgd_lr() -> f64 {
    0.01
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinesConfig {
    /// Train one single-task model per task (same trunk, data, budget, seed).
    #[serde(default = "yes")]
    pub single_task: bool,
}

impl Default for BaselinesConfig {
    fn default() -> Self {
        BaselinesConfig { single_task: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_starts_at_one_halves_midway_and_ends_near_zero() {
        let c = LrSchedule::Cosine;
        assert_eq!(c.factor(0, 100), 1.0);
        assert!((c.factor(50, 100) - 0.5).abs() < 1e-12);
        assert!((c.factor(75, 100) - 0.146_446_609_4).abs() < 1e-9); // (1 + cos(3π/4)) / 2
        assert!(c.factor(99, 100) < 1e-3);
        assert_eq!(LrSchedule::Constant.factor(99, 100), 1.0);
    }

    #[test]
    fn unknown_keys_are_rejected_in_every_section() {
        let base = "[experiment]\nname = \"x\"\n[data]\nformat = \"csv\"\npath = \"p.csv\"\n[trunk]\nlayers = []\n[[tasks]]\nname = \"t\"\nkind = \"binary\"\nlabel = \"y\"\n";
        assert!(toml::from_str::<ExperimentConfig>(base).is_ok());
        for extra in [
            "[train]\nepochz = 1\n",
            "[baselines]\nsingle = true\n",
            "[weighting]\nstrategy = \"fixed\"\nalpha = 1\n",
        ] {
            let err = toml::from_str::<ExperimentConfig>(&format!("{base}{extra}")).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{extra}: {err}");
        }
        let layer = base.replace("layers = []", "layers = [{ type = \"relu\", size = 2 }]");
        assert!(toml::from_str::<ExperimentConfig>(&layer).is_err());
    }
}
