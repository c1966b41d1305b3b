//! `format = "colored-mnist"`: the "digits and colours" multi-task setting.
//! Each MNIST digit is drawn in one of K foreground colours on one of K
//! background colours (3 channels); which ones is drawn per image from
//! `color_seed`. Label columns: `digit` (10), `fg` (K) and `bg` (K).
//!
//! The three tasks share the input but not their cues: shape for the digit,
//! stroke colour for `fg`, the rest of the image for `bg`.

mod palette;
mod source;

pub use palette::{background, foreground, paint};
pub use source::ColoredMnist;

use mtl_plugin::Registry;

/// Adds the `colored-mnist` data source.
pub fn register(registry: &mut Registry) {
    registry.data_source::<ColoredMnist>();
}
