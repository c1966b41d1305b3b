//! `format = "idx"`: MNIST-style IDX files, gzipped or plain. The label column is `label`.

use mtl_plugin::idx::read_labelled_images;
use mtl_plugin::{
    DataFile, DataSource, InputScale, Loaded, OptionError, Options, RawData, SourceError,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idx {
    pub images: PathBuf,
    pub labels: PathBuf,
    /// A separate test set (e.g. MNIST's official one); then `split.test` is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_images: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_labels: Option<PathBuf>,
}

impl Options for Idx {
    const NAME: &'static str = "idx";
    const ABOUT: &'static str = "MNIST-style IDX image and label files (label column `label`)";

    fn check(&self) -> Result<(), OptionError> {
        if self.test_images.is_some() != self.test_labels.is_some() {
            let missing = if self.test_images.is_some() {
                "test_labels"
            } else {
                "test_images"
            };
            return Err(OptionError::new(
                missing,
                "missing: give both `test_images` and `test_labels` or neither",
            ));
        }
        Ok(())
    }
}

impl DataSource for Idx {
    fn load(&self, _labels: &[String]) -> Result<Loaded, SourceError> {
        let main = load_idx_pair(&self.images, &self.labels, "data.images", "data.labels")?;
        let mut files = vec![
            DataFile::describe(&self.images)?,
            DataFile::describe(&self.labels)?,
        ];
        let test = match (&self.test_images, &self.test_labels) {
            (Some(i), Some(l)) => {
                // Loaded first: its errors name the key of a missing file.
                let test = load_idx_pair(i, l, "data.test_images", "data.test_labels")?;
                files.push(DataFile::describe(i)?);
                files.push(DataFile::describe(l)?);
                Some(test)
            }
            _ => None,
        };
        Ok(Loaded {
            main,
            test,
            files,
            settled: toml::Table::new(),
        })
    }

    fn default_scale(&self) -> InputScale {
        InputScale::Unit
    }

    fn origin(&self) -> PathBuf {
        self.labels.clone()
    }

    fn test_origin(&self) -> PathBuf {
        self.test_labels.clone().unwrap_or_else(|| self.origin())
    }

    fn describe(&self) -> String {
        format!(
            "IDX images {} with labels {}",
            self.images.display(),
            self.labels.display()
        )
    }
}

fn load_idx_pair(
    images: &Path,
    labels: &Path,
    ikey: &str,
    lkey: &str,
) -> Result<RawData, SourceError> {
    let set = read_labelled_images(images, labels, ikey, lkey)?;
    Ok(RawData {
        sample_shape: vec![1, set.height, set.width],
        inputs: set.pixels.iter().map(|&b| f32::from(b)).collect(),
        columns: vec![(
            "label".into(),
            set.labels.iter().map(|&b| f64::from(b)).collect(),
        )],
        len: set.len,
        feature_names: Vec::new(),
    })
}
