//! Data sources: where the samples come from (`[data] format = "…"`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Samples as loaded: inputs row-major, label columns by name.
#[derive(Debug, Clone, PartialEq)]
pub struct RawData {
    /// Shape of one sample: `[features]` or `[channels, height, width]`.
    pub sample_shape: Vec<usize>,
    /// `len × product(sample_shape)` values, sample after sample.
    pub inputs: Vec<f32>,
    /// Label columns: one value per sample (or several, for a regression head with `outputs > 1`).
    pub columns: Vec<(String, Vec<f64>)>,
    pub len: usize,
    /// The CSV columns the inputs come from, in order (empty for other formats).
    pub feature_names: Vec<String>,
}

impl RawData {
    /// Values per sample.
    pub fn features(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The values of a label column.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The names of the label columns.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// What a source loaded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The samples the framework splits into train, validation and test.
    pub main: RawData,
    /// A separate test set (then only validation is split off `main`).
    pub test: Option<RawData>,
    /// The files read, for the report's provenance table.
    pub files: Vec<DataFile>,
    /// Options the source settled from the data, recorded in `resolved.toml`
    /// (a CSV source records the feature columns it chose).
    pub settled: toml::Table,
}

/// One file a source read: path, size and SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
}

impl DataFile {
    /// Size and SHA-256 of the file at `path`.
    pub fn describe(path: &Path) -> Result<DataFile, SourceError> {
        let bytes =
            std::fs::read(path).map_err(|e| SourceError::new(path, format!("cannot read: {e}")))?;
        Ok(DataFile {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            sha256: format!("{:x}", Sha256::digest(&bytes)),
        })
    }
}

/// A problem with the data: the file (or source) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceError {
    pub path: PathBuf,
    pub message: String,
}

impl SourceError {
    pub fn new(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        SourceError {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }
}

/// How raw input values are scaled before training (`data.scale`).
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

/// A source of samples and label columns, named by `[data] format`.
///
/// The framework splits (with the run's seed), scales, and derives each
/// task's targets from the label columns; a source only loads or builds.
/// It must be deterministic: the same options give the same samples.
pub trait DataSource: Send + Sync {
    /// Reads or builds the samples. `labels` are the columns the tasks read,
    /// for a source that must tell inputs from targets (a CSV file).
    fn load(&self, labels: &[String]) -> Result<Loaded, SourceError>;

    /// `data.scale` when the TOML does not set it.
    fn default_scale(&self) -> InputScale;

    /// What errors about the data point at: the main file, or a description.
    fn origin(&self) -> PathBuf;

    /// What errors about the separate test set point at.
    fn test_origin(&self) -> PathBuf {
        self.origin()
    }

    /// What errors about label values point at (a labels file, where the
    /// labels have one of their own). Default: [`DataSource::origin`].
    fn labels_origin(&self) -> PathBuf {
        self.origin()
    }

    /// The same for the separate test set. Default: [`DataSource::test_origin`].
    fn test_labels_origin(&self) -> PathBuf {
        self.test_origin()
    }

    /// One line for the report, e.g. "MultiMNIST built from …, pairing seed 0".
    fn describe(&self) -> String;
}

/// SHA-256 of the loaded samples (inputs and label columns, in order), so a
/// report can tell two generated datasets apart as it tells files apart.
pub fn content_sha256(data: &RawData) -> String {
    let mut h = Sha256::new();
    for d in &data.sample_shape {
        h.update((*d as u64).to_le_bytes());
    }
    for v in &data.inputs {
        h.update(v.to_le_bytes());
    }
    for (name, values) in &data.columns {
        h.update(name.as_bytes());
        h.update([0]);
        for v in values {
            h.update(v.to_le_bytes());
        }
    }
    format!("{:x}", h.finalize())
}
