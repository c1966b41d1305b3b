//! Data: load once, derive each task's targets, split with the seed, scale
//! with training statistics only, and hand out mini-batches.
//! Knows nothing of models.

mod csv_table;
mod gradnorm_toy;
mod idx;
pub mod rng;
mod synthetic;
mod targets;

pub use csv_table::{read_csv, CsvTable};
pub use idx::{parse_idx, read_idx, IdxArray};
pub use rng::SplitMix64;
pub use targets::{TargetScale, Targets};

use crate::config::{DataConfig, ExperimentConfig, InputScale};
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Samples as loaded: inputs row-major, label columns by name.
#[derive(Debug, Clone)]
pub struct RawData {
    pub sample_shape: Vec<usize>,
    pub inputs: Vec<f32>,
    pub columns: Vec<(String, Vec<f64>)>,
    pub len: usize,
    /// The CSV columns the inputs come from, in order (empty for other formats).
    pub feature_names: Vec<String>,
}

impl RawData {
    fn features(&self) -> usize {
        self.sample_shape.iter().product()
    }
}

/// One split: inputs (scaled) and each task's targets, in task order.
#[derive(Debug, Clone)]
pub struct Part {
    pub inputs: Vec<f32>,
    pub targets: Vec<Targets>,
    pub len: usize,
}

/// What the report says about the data.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
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

/// Reads the data files named in `config.data` (only their headers are needed for `--dry-run`).
pub fn load_raw(config: &ExperimentConfig) -> Result<(RawData, Option<RawData>, Vec<DataFile>)> {
    match &config.data {
        DataConfig::Idx {
            images,
            labels,
            test_images,
            test_labels,
            ..
        } => {
            // An IDX label file has one column, `label`.
            if let Some((i, t)) = config
                .tasks
                .iter()
                .enumerate()
                .find(|(_, t)| t.label != "label")
            {
                return Err(Error::data(
                    labels,
                    format!(
                        "key `tasks[{i}] ({}).label`: column `{}` does not exist; IDX data has one label column, `label`",
                        t.name, t.label
                    ),
                ));
            }
            let main = load_idx_pair(images, labels, "data.images", "data.labels")?;
            let test = match (test_images, test_labels) {
                (Some(i), Some(l)) => {
                    Some(load_idx_pair(i, l, "data.test_images", "data.test_labels")?)
                }
                _ => None,
            };
            let mut files = vec![describe(images)?, describe(labels)?];
            if let (Some(i), Some(l)) = (test_images, test_labels) {
                files.push(describe(i)?);
                files.push(describe(l)?);
            }
            Ok((main, test, files))
        }
        DataConfig::Csv {
            path,
            features,
            drop,
            test_path,
            ..
        } => {
            let main = load_csv(config, path, "data.path", features.as_deref(), drop)?;
            let test = match test_path {
                Some(p) => {
                    let t = load_csv(config, p, "data.test_path", features.as_deref(), drop)?;
                    if t.sample_shape != main.sample_shape {
                        return Err(Error::data(
                            p,
                            format!(
                                "the test file has {} feature columns, the training file {}",
                                t.features(),
                                main.features()
                            ),
                        ));
                    }
                    Some(t)
                }
                None => None,
            };
            let mut files = vec![describe(path)?];
            if let Some(p) = test_path {
                files.push(describe(p)?);
            }
            Ok((main, test, files))
        }
        DataConfig::Synthetic {
            samples,
            features,
            noise_std,
            seed,
            ..
        } => {
            check_generated_labels(config, noise_std.len())?;
            Ok((
                synthetic::generate(*samples, *features, noise_std, *seed),
                None,
                Vec::new(),
            ))
        }
        DataConfig::GradnormToy {
            samples,
            sigmas,
            inputs,
            outputs,
            seed,
            ..
        } => {
            check_generated_labels(config, sigmas.len())?;
            let data = gradnorm_toy::generate(*samples, *inputs, *outputs, sigmas, *seed);
            Ok((data, None, Vec::new()))
        }
    }
}

fn describe(path: &Path) -> Result<DataFile> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "cannot read", e))?;
    Ok(DataFile {
        path: path.to_path_buf(),
        bytes: bytes.len() as u64,
        sha256: format!("{:x}", Sha256::digest(&bytes)),
    })
}

fn load_idx_pair(images: &Path, labels: &Path, ikey: &str, lkey: &str) -> Result<RawData> {
    let img = read_idx(images, ikey)?;
    let lab = read_idx(labels, lkey)?;
    if img.dims.len() != 3 {
        return Err(Error::data(
            images,
            format!(
                "`{ikey}`: expected images (3 dimensions), found dimensions {:?}",
                img.dims
            ),
        ));
    }
    if lab.dims.len() != 1 {
        return Err(Error::data(
            labels,
            format!(
                "`{lkey}`: expected labels (1 dimension), found dimensions {:?}",
                lab.dims
            ),
        ));
    }
    if img.dims[0] != lab.dims[0] {
        return Err(Error::data(
            labels,
            format!(
                "{} labels for {} images in {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        ));
    }
    Ok(RawData {
        sample_shape: vec![1, img.dims[1], img.dims[2]],
        inputs: img.data.iter().map(|&b| f32::from(b)).collect(),
        columns: vec![(
            "label".into(),
            lab.data.iter().map(|&b| f64::from(b)).collect(),
        )],
        len: img.dims[0],
        feature_names: Vec::new(),
    })
}

fn load_csv(
    config: &ExperimentConfig,
    path: &Path,
    key: &str,
    features: Option<&[String]>,
    drop: &[String],
) -> Result<RawData> {
    let table = read_csv(path, key)?;
    let missing = |name: &str, what: &str| {
        let names: Vec<&str> = table.header.iter().map(String::as_str).collect();
        let hint = crate::config::closest_name(name, &names)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        Error::data(
            path,
            format!(
                "{what}: column `{name}` does not exist (columns: {}){hint}",
                names.join(", ")
            ),
        )
    };
    let mut label_columns: Vec<String> = Vec::new();
    for (i, t) in config.tasks.iter().enumerate() {
        if table.column_index(&t.label).is_none() {
            return Err(missing(
                &t.label,
                &format!("key `tasks[{i}] ({}).label`", t.name),
            ));
        }
        if !label_columns.contains(&t.label) {
            label_columns.push(t.label.clone());
        }
    }
    for d in drop {
        if table.column_index(d).is_none() {
            return Err(missing(d, "key `data.drop`"));
        }
    }
    let feature_names: Vec<String> = match features {
        Some(f) => {
            for name in f {
                if table.column_index(name).is_none() {
                    return Err(missing(name, "key `data.features`"));
                }
                if label_columns.contains(name) {
                    return Err(Error::data(
                        path,
                        format!("key `data.features`: `{name}` is also a task's label; a target cannot be an input"),
                    ));
                }
            }
            f.to_vec()
        }
        None => table
            .header
            .iter()
            .filter(|h| !label_columns.contains(h) && !drop.contains(h))
            .cloned()
            .collect(),
    };
    if feature_names.is_empty() {
        return Err(Error::data(
            path,
            "no feature columns are left once the task labels and `data.drop` are taken out",
        ));
    }
    let idx: Vec<usize> = feature_names
        .iter()
        .map(|n| table.column_index(n).unwrap())
        .collect();
    let w = table.header.len();
    let mut inputs = Vec::with_capacity(table.rows * idx.len());
    for r in 0..table.rows {
        inputs.extend(idx.iter().map(|&c| table.values[r * w + c] as f32));
    }
    Ok(RawData {
        sample_shape: vec![feature_names.len()],
        inputs,
        columns: label_columns
            .iter()
            .map(|n| (n.clone(), table.column(table.column_index(n).unwrap())))
            .collect(),
        len: table.rows,
        feature_names,
    })
}

/// Splits, derives targets and scales: the full data stage.
pub fn prepare(
    config: &ExperimentConfig,
    main: RawData,
    test_file: Option<RawData>,
    files: Vec<DataFile>,
) -> Result<PreparedData> {
    let source = data_source_name(config);
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

    let values = targets::task_values(config, &main, &source, true)?;
    let target_scales = targets::fit_scales(config, &values, &train_idx);
    let train_targets = targets::select(config, &values, &train_idx, &target_scales);
    let val_targets = targets::select(config, &values, &val_idx, &target_scales);
    let (test_raw, test_rows, test_targets) = match &test_file {
        Some(t) => {
            let test_values = targets::task_values(config, t, &test_source_name(config), false)?;
            let rows: Vec<usize> = (0..t.len).collect();
            let tt = targets::select(config, &test_values, &rows, &target_scales);
            (t, rows, tt)
        }
        None => {
            let tt = targets::select(config, &values, &test_idx, &target_scales);
            (&main, test_idx, tt)
        }
    };

    let scaler = InputScaler::fit(config.data.scale(), &main, &train_idx);
    let part = |raw: &RawData, rows: &[usize], targets: Vec<Targets>| Part {
        inputs: scaler.apply(raw, rows),
        targets,
        len: rows.len(),
    };
    Ok(PreparedData {
        sample_shape: main.sample_shape.clone(),
        train: part(&main, &train_idx, train_targets),
        validation: part(&main, &val_idx, val_targets),
        test: part(test_raw, &test_rows, test_targets),
        target_scales,
        files,
    })
}

/// Generated data has columns `y0` … `y{columns − 1}`.
fn check_generated_labels(config: &ExperimentConfig, columns: usize) -> Result<()> {
    for (i, t) in config.tasks.iter().enumerate() {
        if !(t.label.starts_with('y') && t.label[1..].parse::<usize>().is_ok_and(|k| k < columns)) {
            return Err(Error::data(
                data_source_name(config),
                format!(
                    "key `tasks[{i}] ({}).label`: column `{}` does not exist; the generated data has columns y0..y{}",
                    t.name,
                    t.label,
                    columns - 1
                ),
            ));
        }
    }
    Ok(())
}

/// The file that holds the test labels, when there is a separate one.
fn test_source_name(config: &ExperimentConfig) -> PathBuf {
    match &config.data {
        DataConfig::Idx {
            test_labels: Some(p),
            ..
        }
        | DataConfig::Csv {
            test_path: Some(p), ..
        } => p.clone(),
        _ => data_source_name(config),
    }
}

fn data_source_name(config: &ExperimentConfig) -> PathBuf {
    match &config.data {
        DataConfig::Idx { labels, .. } => labels.clone(),
        DataConfig::Csv { path, .. } => path.clone(),
        DataConfig::Synthetic { .. } | DataConfig::GradnormToy { .. } => {
            PathBuf::from("[data] (synthetic)")
        }
    }
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
