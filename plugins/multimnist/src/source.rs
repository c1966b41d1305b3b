//! The `multimnist` data source: options, and MNIST files → two-digit images.

use crate::compose::{compose, pairing, SIDE};
use mtl_plugin::idx::{read_labelled_images, LabelledImages};
use mtl_plugin::{
    DataFile, DataSource, InputScale, Loaded, OptionError, Options, RawData, SourceError,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultiMnist {
    /// MNIST images (IDX, gzipped or plain), 28 × 28.
    pub images: PathBuf,
    pub labels: PathBuf,
    /// MNIST's official test set, built into its own MultiMNIST images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_images: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_labels: Option<PathBuf>,
    /// Seed of the permutation that picks each image's partner.
    #[serde(default)]
    pub pairing_seed: u64,
}

impl Options for MultiMnist {
    const NAME: &'static str = "multimnist";
    const ABOUT: &'static str =
        "MultiMNIST (Sener & Koltun 2018) built from MNIST IDX files (label columns `left`, `right`)";

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

impl DataSource for MultiMnist {
    fn load(&self, _labels: &[String]) -> Result<Loaded, SourceError> {
        let main = self.build(&self.images, &self.labels, "data.images", "data.labels")?;
        let mut files = vec![
            DataFile::describe(&self.images)?,
            DataFile::describe(&self.labels)?,
        ];
        let test = match (&self.test_images, &self.test_labels) {
            (Some(i), Some(l)) => {
                // Built first: its errors name the key of a missing file.
                let test = self.build(i, l, "data.test_images", "data.test_labels")?;
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
            "MultiMNIST built from {} (pairing seed {}): left digit top-left, right digit shifted 6 px down-right on a 36 × 36 canvas, pixelwise max, nearest-neighbour to 28 × 28",
            self.images.display(),
            self.pairing_seed
        )
    }
}

impl MultiMnist {
    /// The MultiMNIST images of one pair of MNIST files.
    fn build(
        &self,
        images: &Path,
        labels: &Path,
        ikey: &str,
        lkey: &str,
    ) -> Result<RawData, SourceError> {
        let mnist = read_labelled_images(images, labels, ikey, lkey)?;
        if (mnist.height, mnist.width) != (SIDE, SIDE) {
            return Err(SourceError::new(
                images,
                format!(
                    "`{ikey}`: MultiMNIST needs 28 × 28 MNIST images, found {} × {}",
                    mnist.height, mnist.width
                ),
            ));
        }
        Ok(build(&mnist, self.pairing_seed))
    }
}

/// MultiMNIST from labelled 28 × 28 images: one image per left digit.
pub fn build(mnist: &LabelledImages, seed: u64) -> RawData {
    let partner = pairing(mnist.len, seed);
    // Each image on its own: in parallel, and the same whatever the thread count.
    let mut inputs = vec![0f32; mnist.len * SIDE * SIDE];
    inputs
        .par_chunks_mut(SIDE * SIDE)
        .zip(partner.par_iter())
        .enumerate()
        .for_each(|(i, (out, &j))| {
            for (o, v) in out.iter_mut().zip(compose(mnist.image(i), mnist.image(j))) {
                *o = f32::from(v);
            }
        });
    let label = |i: usize| f64::from(mnist.labels[i]);
    RawData {
        sample_shape: vec![1, SIDE, SIDE],
        inputs,
        columns: vec![
            ("left".into(), (0..mnist.len).map(label).collect()),
            ("right".into(), partner.iter().map(|&j| label(j)).collect()),
        ],
        len: mnist.len,
        feature_names: Vec::new(),
    }
}
