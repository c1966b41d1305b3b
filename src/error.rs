//! Errors as values with context: every message names the file (or source),
//! the key or line, the offending value and what would be right.

use std::path::{Path, PathBuf};

/// Everything that can stop an experiment before or while it runs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file (or an override) is not a valid configuration.
    #[error("{source_name}: {message}")]
    Config {
        /// The TOML file, `MTL_*` environment or `--set`.
        source_name: String,
        message: String,
    },
    /// A data file is missing, unreadable or does not match the config.
    #[error("{}: {message}", path.display())]
    Data { path: PathBuf, message: String },
    /// Reading or writing a file failed.
    #[error("{}: {message}: {source}", path.display())]
    Io {
        path: PathBuf,
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// A model's loss stopped being a finite number.
    #[error("model {model}: loss of task `{task}` became {value} at epoch {epoch}, step {step}; this model was stopped")]
    NonFinite {
        model: String,
        task: String,
        value: f32,
        epoch: usize,
        step: usize,
    },
    /// A weighting strategy's own state stopped being a finite number.
    #[error("model {model}: the {strategy} weighting state of task `{task}` became non-finite at epoch {epoch}, step {step}; this model was stopped")]
    StrategyNonFinite {
        model: String,
        strategy: &'static str,
        task: String,
        epoch: usize,
        step: usize,
    },
    /// The device `train.device` names cannot be used.
    #[error("train.device = \"{device}\": {message}")]
    Device {
        device: &'static str,
        message: String,
    },
    /// Results of an earlier run are in the way.
    #[error("{}: {message}", path.display())]
    Output { path: PathBuf, message: String },
}

impl Error {
    pub fn config(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    pub fn device(device: &'static str, message: impl Into<String>) -> Self {
        Error::Device {
            device,
            message: message.into(),
        }
    }

    pub fn data(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::Data {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub fn io(path: impl AsRef<Path>, message: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The message a caught panic carried (`catch_unwind`'s payload).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
