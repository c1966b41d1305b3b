//! Data: load once, derive each task's targets, split with the seed, scale
//! with training statistics only, and hand out mini-batches.
//! Knows nothing of models.

mod csv_table;
pub mod sources;
mod targets;

pub use csv_table::{read_csv, CsvTable};
pub use mtl_plugin::idx::{parse_idx, read_idx, IdxArray};
pub use mtl_plugin::{rng, DataFile, DataSource, Loaded, RawData, SplitMix64, Targets};
pub use sources::register;
pub use targets::TargetScale;

use crate::config::{ExperimentConfig, InputScale};
use crate::error::{Error, Result};

/// One split: inputs (scaled) and each task's targets, in task order.
#[derive(Debug, Clone)]
pub struct Part {
    pub inputs: Vec<f32>,
    pub targets: Vec<Targets>,
    pub len: usize,
}

/// Everything training needs, ready.
#[derive(Debug, Clone)]
pub struct PreparedData {
    pub sample_shape: Vec<usize>,
    pub train: Part,
    pub validation: Part,
    pub test: Part,
    /// Per task: how regression targets were standardised (identity otherwise).
    pub target_scales: Vec<TargetScale>,
    pub files: Vec<DataFile>,
}

/// The data source `config.data` names (checked when the config was loaded).
pub fn source(config: &ExperimentConfig) -> Box<dyn DataSource> {
    crate::plugins::registry()
        .find_data_source(&config.data.format, &config.data.options)
        .expect("the data source was checked when the config was loaded")
        .item
}

/// Loads the samples of `config.data` and checks that every task's label column is there.
pub fn load_raw(config: &ExperimentConfig) -> Result<Loaded> {
    let source = source(config);
    let labels: Vec<String> = config.tasks.iter().map(|t| t.label.clone()).collect();
    let loaded = source
        .load(&labels)
        .map_err(|e| Error::data(e.path, e.message))?;
    check_samples(&loaded, source.as_ref(), &config.data.format)?;
    for raw in std::iter::once(&loaded.main).chain(&loaded.test) {
        for (i, t) in config.tasks.iter().enumerate() {
            if raw.column(&t.label).is_none() {
                let mut names = raw.column_names();
                names.extend(raw.feature_names.iter().map(String::as_str));
                let hint = crate::config::closest_name(&t.label, &names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(Error::data(
                    source.origin(),
                    format!(
                        "key `tasks[{i}] ({}).label`: column `{}` does not exist; the {} data has label columns {}{hint}",
                        t.name,
                        t.label,
                        config.data.format,
                        raw.column_names().iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    Ok(loaded)
}

/// What every source must deliver, checked here rather than trusted: as
/// many input values as its samples need, and a separate test set (if any)
/// that is not empty and has the main set's sample shape, so that one model
/// reads both.
fn check_samples(loaded: &Loaded, source: &dyn DataSource, format: &str) -> Result<()> {
    let sets = std::iter::once((&loaded.main, source.origin(), "main")).chain(
        loaded
            .test
            .iter()
            .map(|t| (t, source.test_origin(), "test")),
    );
    for (raw, origin, which) in sets {
        if raw.inputs.len() != raw.len * raw.features() {
            return Err(Error::data(
                origin,
                format!(
                    "the {format} source delivered {} input values for {} samples of shape {:?} in its {which} set (expected {})",
                    raw.inputs.len(),
                    raw.len,
                    raw.sample_shape,
                    raw.len * raw.features()
                ),
            ));
        }
    }
    if let Some(test) = &loaded.test {
        if test.len == 0 {
            return Err(Error::data(
                source.test_origin(),
                "the separate test set has no samples",
            ));
        }
        if test.sample_shape != loaded.main.sample_shape {
            return Err(Error::data(
                source.test_origin(),
                format!(
                    "the test samples have shape {:?}, but the training samples {:?}: one model reads both, so the shapes must match",
                    test.sample_shape, loaded.main.sample_shape
                ),
            ));
        }
    }
    Ok(())
}

/// Splits, derives targets and scales: the full data stage.
/// Whether [`prepare`] builds the scaled inputs of each split, or only
/// checks the labels and sizes the split (planning, `--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    Scaled,
    /// Every [`Part::inputs`] is left empty.
    Skipped,
}

pub fn prepare(
    config: &ExperimentConfig,
    main: &RawData,
    test_file: Option<&RawData>,
    files: Vec<DataFile>,
    inputs: Inputs,
) -> Result<PreparedData> {
    let data_source = self::source(config);
    let source = data_source.origin();
    let split = config.data.split();
    let mut order = SplitMix64::derived(config.experiment.seed, "split").permutation(main.len);
    let n_test = if test_file.is_some() {
        0
    } else {
        split.test.of(main.len)
    };
    let n_val = split.validation.of(main.len);
    if n_test.saturating_add(n_val) >= main.len {
        return Err(Error::data(
            &source,
            format!(
                "key `data.split`: validation {n_val} + test {n_test} samples leave none of the {} for training",
                main.len
            ),
        ));
    }
    if n_val == 0 && config.train.select == crate::config::Selection::ValLoss {
        return Err(Error::data(
            &source,
            "key `data.split.validation`: 0 samples, but `train.select = \"val_loss\"` chooses the epoch on validation data; give a validation split or set `train.select = \"last\"`",
        ));
    }
    if test_file.is_none() && n_test == 0 {
        return Err(Error::data(
            &source,
            "key `data.split.test`: 0 samples, but the reported numbers come from the test split; give a test split or a separate test file",
        ));
    }
    let test_idx: Vec<usize> = order.drain(..n_test).collect();
    let val_idx: Vec<usize> = order.drain(..n_val).collect();
    let train_idx = order;

    let values = targets::task_values(config, main, &data_source.labels_origin(), true)?;
    let target_scales = targets::fit_scales(config, &values, &train_idx);
    let train_targets = targets::select(config, &values, &train_idx, &target_scales);
    let val_targets = targets::select(config, &values, &val_idx, &target_scales);
    let (test_raw, test_rows, test_targets) = match test_file {
        Some(t) => {
            let test_values =
                targets::task_values(config, t, &data_source.test_labels_origin(), false)?;
            let rows: Vec<usize> = (0..t.len).collect();
            let tt = targets::select(config, &test_values, &rows, &target_scales);
            (t, rows, tt)
        }
        None => {
            let tt = targets::select(config, &values, &test_idx, &target_scales);
            (main, test_idx, tt)
        }
    };

    let scale = match inputs {
        Inputs::Scaled => config.data.scale(),
        Inputs::Skipped => InputScale::None,
    };
    let scaler = InputScaler::fit(scale, main, &train_idx);
    let part = |raw: &RawData, rows: &[usize], targets: Vec<Targets>| Part {
        inputs: match inputs {
            Inputs::Scaled => scaler.apply(raw, rows),
            Inputs::Skipped => Vec::new(),
        },
        targets,
        len: rows.len(),
    };
    Ok(PreparedData {
        sample_shape: main.sample_shape.clone(),
        train: part(main, &train_idx, train_targets),
        validation: part(main, &val_idx, val_targets),
        test: part(test_raw, &test_rows, test_targets),
        target_scales,
        files,
    })
}

/// Per-feature affine scaling, fitted on training rows only.
struct InputScaler {
    shift: Vec<f32>,
    scale: Vec<f32>,
}

impl InputScaler {
    fn fit(kind: InputScale, raw: &RawData, train: &[usize]) -> Self {
        let f = raw.features();
        match kind {
            InputScale::None => InputScaler {
                shift: vec![0.0; f],
                scale: vec![1.0; f],
            },
            InputScale::Unit => InputScaler {
                shift: vec![0.0; f],
                scale: vec![1.0 / 255.0; f],
            },
            InputScale::Standardize => {
                let mut mean = vec![0f64; f];
                let mut sq = vec![0f64; f];
                for &r in train {
                    for (j, &v) in raw.inputs[r * f..(r + 1) * f].iter().enumerate() {
                        mean[j] += f64::from(v);
                        sq[j] += f64::from(v) * f64::from(v);
                    }
                }
                let n = train.len().max(1) as f64;
                let mut shift = vec![0f32; f];
                let mut scale = vec![1f32; f];
                for j in 0..f {
                    let m = mean[j] / n;
                    let var = (sq[j] / n - m * m).max(0.0);
                    shift[j] = m as f32;
                    // A constant feature stays at 0 instead of dividing by zero.
                    scale[j] = if var > 1e-12 {
                        (1.0 / var.sqrt()) as f32
                    } else {
                        1.0
                    };
                }
                InputScaler { shift, scale }
            }
        }
    }

    fn apply(&self, raw: &RawData, rows: &[usize]) -> Vec<f32> {
        let f = raw.features();
        let mut out = Vec::with_capacity(rows.len() * f);
        for &r in rows {
            let sample = &raw.inputs[r * f..(r + 1) * f];
            out.extend(
                sample
                    .iter()
                    .zip(self.shift.iter().zip(&self.scale))
                    .map(|(v, (s, k))| (v - s) * k),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardisation_uses_training_rows_only() {
        let raw = RawData {
            sample_shape: vec![1],
            inputs: vec![1.0, 3.0, 100.0],
            columns: vec![],
            len: 3,
            feature_names: Vec::new(),
        };
        let s = InputScaler::fit(InputScale::Standardize, &raw, &[0, 1]);
        // Training mean 2, population std 1: the held-out 100 maps to 98.
        assert_eq!(s.apply(&raw, &[0, 1, 2]), vec![-1.0, 1.0, 98.0]);
    }
}
