//! `format = "multimnist"`: the MultiMNIST benchmark of Sener & Koltun
//! (2018, "Multi-Task Learning as Multi-Objective Optimization"), after
//! Sabour et al. (2017), built deterministically from MNIST IDX files.
//!
//! Each MNIST image i (the *left* digit) is paired with image j = perm[i]
//! of a SplitMix64 permutation drawn from `pairing_seed`; i is placed
//! top-left and j six pixels down and right on a 36 × 36 canvas, the two
//! combined by a pixelwise maximum, and the canvas sampled back to 28 × 28
//! (nearest neighbour). Label columns: `left` and `right`. A separate test
//! set is built from its own files, never paired across files.

mod compose;
mod source;

pub use compose::{compose, pairing, CANVAS, SHIFT};
pub use source::MultiMnist;

use mtl_plugin::Registry;

/// Adds the `multimnist` data source.
pub fn register(registry: &mut Registry) {
    registry.data_source::<MultiMnist>();
}
