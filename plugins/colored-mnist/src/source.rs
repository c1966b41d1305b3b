//! The `colored-mnist` data source: options, and MNIST files → coloured digits.

use crate::palette::{background, foreground, paint};
use mtl_plugin::idx::{read_labelled_images, LabelledImages};
use mtl_plugin::{
    DataFile, DataSource, InputScale, Loaded, OptionError, Options, RawData, SourceError,
    SplitMix64,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The most colours: beyond this, neighbouring hues are hard to tell apart.
const MAX_COLORS: usize = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColoredMnist {
    /// MNIST images (IDX, gzipped or plain).
    pub images: PathBuf,
    pub labels: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_images: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_labels: Option<PathBuf>,
    /// K: the number of foreground and of background colours.
    #[serde(default = "four")]
    pub colors: usize,
    /// Seed of the colours drawn for each image.
    #[serde(default)]
    pub color_seed: u64,
}

fn four() -> usize {
    4
}

impl Options for ColoredMnist {
    const NAME: &'static str = "colored-mnist";
    const ABOUT: &'static str =
        "MNIST digits in K foreground colours on K background colours (label columns `digit`, `fg`, `bg`)";

    fn check(&self) -> Result<(), OptionError> {
        if !(2..=MAX_COLORS).contains(&self.colors) {
            return Err(OptionError::new(
                "colors",
                format!("{}, expected 2 to {MAX_COLORS}", self.colors),
            ));
        }
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

impl DataSource for ColoredMnist {
    fn load(&self, _labels: &[String]) -> Result<Loaded, SourceError> {
        let read = |i: &Path, l: &Path, ik: &str, lk: &str| read_labelled_images(i, l, ik, lk);
        let mnist = read(&self.images, &self.labels, "data.images", "data.labels")?;
        let main = self.build(&mnist, "colored-mnist");
        let mut files = vec![
            DataFile::describe(&self.images)?,
            DataFile::describe(&self.labels)?,
        ];
        let test = match (&self.test_images, &self.test_labels) {
            (Some(i), Some(l)) => {
                // Read first: its errors name the key of a missing file.
                let mnist = read(i, l, "data.test_images", "data.test_labels")?;
                files.push(DataFile::describe(i)?);
                files.push(DataFile::describe(l)?);
                Some(self.build(&mnist, "colored-mnist test"))
            }
            _ => None,
        };
        Ok(Loaded {
            main,
            test,
            files,
            settled: Default::default(),
        })
    }

    fn default_scale(&self) -> InputScale {
        InputScale::Unit
    }

    fn origin(&self) -> PathBuf {
        self.images.clone()
    }

    fn test_origin(&self) -> PathBuf {
        self.test_images.clone().unwrap_or_else(|| self.origin())
    }

    fn labels_origin(&self) -> PathBuf {
        self.labels.clone()
    }

    fn test_labels_origin(&self) -> PathBuf {
        self.test_labels
            .clone()
            .unwrap_or_else(|| self.labels_origin())
    }

    fn describe(&self) -> String {
        format!(
            "colored MNIST built from {}: {} foreground × {} background colours, drawn with seed {}",
            self.images.display(),
            self.colors,
            self.colors,
            self.color_seed
        )
    }
}

impl ColoredMnist {
    /// Coloured images of `mnist`; `purpose` keeps the train and test draws apart.
    pub fn build(&self, mnist: &LabelledImages, purpose: &str) -> RawData {
        let k = self.colors;
        let mut rng = SplitMix64::derived(self.color_seed, purpose);
        let mut inputs = Vec::with_capacity(mnist.len * 3 * mnist.height * mnist.width);
        let (mut fg, mut bg) = (Vec::with_capacity(mnist.len), Vec::with_capacity(mnist.len));
        for i in 0..mnist.len {
            let f = (rng.next_u64() % k as u64) as usize;
            let b = (rng.next_u64() % k as u64) as usize;
            inputs.extend(paint(mnist.image(i), foreground(f, k), background(b, k)));
            fg.push(f as f64);
            bg.push(b as f64);
        }
        RawData {
            sample_shape: vec![3, mnist.height, mnist.width],
            inputs,
            columns: vec![
                (
                    "digit".into(),
                    mnist.labels.iter().map(|&l| f64::from(l)).collect(),
                ),
                ("fg".into(), fg),
                ("bg".into(), bg),
            ],
            len: mnist.len,
            feature_names: Vec::new(),
        }
    }
}
