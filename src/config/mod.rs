//! The experiment file, as typed configuration.
//!
//! Every section rejects unknown keys. Defaults are the ones an ML
//! researcher would expect (PyTorch's optimizer defaults, baselines on).
//! `docs/config.md` documents each key; keep the two in step.

mod layer;
mod load;
mod resolve;
pub mod sweep;
mod validate;

pub use layer::{layer_padding, LayerConfig, Padding, PaddingName};
pub(crate) use load::closest as closest_name;
pub use load::{load, load_experiment, Experiment, Point};
pub(crate) use resolve::article;
pub use sweep::{Assignment, Sweep};
pub use validate::slurm as validate_slurm;
pub(crate) use validate::MAX_SIZE;

pub use mtl_plugin::{InputScale, OptimizerConfig, TaskKind};
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
    /// How `mtl-run slurm` asks for resources; nothing else reads it.
    #[serde(default, skip_serializing_if = "SlurmConfig::is_default")]
    pub slurm: SlurmConfig,
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

/// Where the samples come from (`[data]`): the data source named by
/// `format` (a built-in or a plugin) with its own options, and the split
/// and scaling, which the framework applies to every source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// The data source: `idx`, `csv`, `synthetic`, `gradnorm_toy` or a plugin's.
    pub format: String,
    /// Default: the source's own (pixels to [0, 1], CSV columns standardised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<InputScale>,
    #[serde(default)]
    pub split: SplitConfig,
    /// The source's own options, typed and checked by the source.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl DataConfig {
    pub fn split(&self) -> &SplitConfig {
        &self.split
    }
    /// The scaling (filled in from the source's default when the config is loaded).
    pub fn scale(&self) -> InputScale {
        self.scale.unwrap_or(InputScale::None)
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

/// A metric's name, as in TOML and in every CSV file (`accuracy`, `rmse`, a plugin's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricName(pub String);

impl From<&str> for MetricName {
    fn from(s: &str) -> Self {
        MetricName(s.to_string())
    }
}

/// A transform of a real-valued label column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    /// The natural logarithm; every value must be positive.
    Log,
}

/// One `[[tasks]]` entry: the framework's keys, and the task kind's own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskConfig {
    pub name: String,
    /// The task kind: `classification`, `binary`, `regression` or a plugin's.
    pub kind: String,
    /// The data column the targets come from (`label` for IDX files).
    pub label: String,
    /// Target = `map[value]` for an integer-valued column (e.g. parity from the digit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map: Option<Vec<f64>>,
    /// Applied to a real-valued label column before anything else (e.g. `"log"` for a price);
    /// metrics are then in the transformed units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
    /// Loss weight under `weighting.strategy = "fixed"`.
    #[serde(default = "one")]
    pub weight: f64,
    /// The headline metric: used in Δm and the summary. Default: the kind's first metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricName>,
    /// Metrics reported besides the kind's own (e.g. a plugin's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricName>,
    /// The head's hidden layers (linear, relu, tanh, sigmoid, dropout) between
    /// the shared representation and the output layer, which is always a
    /// linear layer of the kind's head size. Default: none (one linear layer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub head: Vec<LayerConfig>,
    /// The task kind's own options (`classes`, `outputs`, …), typed and checked by the kind.
    #[serde(flatten)]
    pub options: toml::Table,
}

impl TaskConfig {
    /// The task's kind, built from its options (checked when the config was loaded).
    pub fn task_kind(&self) -> Box<dyn TaskKind> {
        crate::plugins::registry()
            .find_task_kind(&self.kind, &self.options)
            .unwrap_or_else(|_| {
                panic!(
                    "task `{}`: its kind was checked when the config was loaded",
                    self.name
                )
            })
            .item
    }
    /// A task reading column `label`, with `classes` when given (for tests).
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str, kind: &str, classes: Option<usize>) -> TaskConfig {
        let mut options = toml::Table::new();
        if let Some(k) = classes {
            options.insert("classes".into(), (k as i64).into());
        }
        TaskConfig {
            name: name.into(),
            kind: kind.into(),
            label: "label".into(),
            map: None,
            transform: None,
            weight: 1.0,
            metric: None,
            metrics: Vec::new(),
            head: Vec::new(),
            options,
        }
    }
    /// Number of outputs of this task's head.
    pub fn head_size(&self) -> usize {
        self.task_kind().head_size()
    }
    /// Every metric the task reports: the kind's, then the extra ones.
    pub fn metric_names(&self) -> Vec<MetricName> {
        let mut names: Vec<MetricName> = self
            .task_kind()
            .metrics()
            .into_iter()
            .map(MetricName::from)
            .collect();
        for m in &self.metrics {
            if !names.contains(m) {
                names.push(m.clone());
            }
        }
        names
    }
    /// The headline metric.
    pub fn metric(&self) -> MetricName {
        self.metric
            .clone()
            .unwrap_or_else(|| MetricName::from(self.task_kind().metrics()[0]))
    }
}

fn one() -> f64 {
    1.0
}
fn yes() -> bool {
    true
}

/// How the task losses are combined (`[weighting]`): the strategy named by
/// `strategy` (a built-in or a plugin) with its own options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightingConfig {
    /// `fixed`, `uncertainty`, `gradnorm` or a plugin's.
    #[serde(default = "fixed")]
    pub strategy: String,
    /// The strategy's own options, typed and checked by the strategy.
    #[serde(flatten)]
    pub options: toml::Table,
}

fn fixed() -> String {
    "fixed".into()
}

impl Default for WeightingConfig {
    fn default() -> Self {
        WeightingConfig {
            strategy: fixed(),
            options: toml::Table::new(),
        }
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
    /// Where the models train. Left out of the written config when `cpu`,
    /// so CPU runs keep the ids they had before this key existed.
    #[serde(default, skip_serializing_if = "DeviceName::is_cpu")]
    pub device: DeviceName,
}

/// The device models train on (`train.device`, `--device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceName {
    #[default]
    Cpu,
    /// GPU 0, in a build with the `cuda` feature (`scripts/build-cuda.sh`).
    Cuda,
}

/// By hand, so that a wrong value is told what the devices are (and `gpu`
/// is not offered `cpu` as the closest name).
impl<'de> Deserialize<'de> for DeviceName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = DeviceName;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(DeviceName::EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DeviceName, E> {
                DeviceName::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(Name)
    }
}

impl DeviceName {
    /// What a device name may be, for messages.
    pub const EXPECTED: &'static str = "\"cpu\" or \"cuda\" (an NVIDIA GPU, in a build with CUDA)";

    pub fn parse(name: &str) -> Option<DeviceName> {
        match name {
            "cpu" => Some(DeviceName::Cpu),
            "cuda" => Some(DeviceName::Cuda),
            _ => None,
        }
    }

    pub fn is_cpu(&self) -> bool {
        *self == DeviceName::Cpu
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceName::Cpu => "cpu",
            DeviceName::Cuda => "cuda",
        }
    }
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
            device: DeviceName::Cpu,
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

/// `[slurm]`: the resources each array task of `mtl-run slurm` asks for.
/// Unset keys are left to the cluster's defaults; the command line's
/// `--partition`, `--time`, `--cpus-per-task`, `--mem` and `--sbatch` win.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Wall-time limit of one run, in any form sbatch takes (`"30"`, `"01:30:00"`, `"1-00:00:00"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// CPUs per run; also its compute threads (unless `train.threads` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    /// Memory per run, as sbatch's `--mem` (`"4G"`, `"2000M"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// At most this many runs at once (sbatch's `--array=…%N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_parallel: Option<u32>,
    /// More sbatch options, one per `#SBATCH` line (`"--account=abc"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
}

impl SlurmConfig {
    pub fn is_default(&self) -> bool {
        *self == SlurmConfig::default()
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

    /// (Keys of a data source, task kind or strategy are checked by the
    /// plugin's own type: see `config::resolve` and tests/bad_input.rs.)
    #[test]
    fn unknown_keys_are_rejected_in_every_section() {
        let base = "[experiment]\nname = \"x\"\n[data]\nformat = \"csv\"\npath = \"p.csv\"\n[trunk]\nlayers = []\n[[tasks]]\nname = \"t\"\nkind = \"binary\"\nlabel = \"y\"\n";
        assert!(toml::from_str::<ExperimentConfig>(base).is_ok());
        for extra in ["[train]\nepochz = 1\n", "[baselines]\nsingle = true\n"] {
            let err = toml::from_str::<ExperimentConfig>(&format!("{base}{extra}")).unwrap_err();
            assert!(err.to_string().contains("unknown field"), "{extra}: {err}");
        }
        let layer = base.replace("layers = []", "layers = [{ type = \"relu\", size = 2 }]");
        assert!(toml::from_str::<ExperimentConfig>(&layer).is_err());
    }
}
