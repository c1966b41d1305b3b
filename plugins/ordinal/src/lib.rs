//! The `ordinal` task kind: ordered classes `0..K` learned as K−1 binary
//! questions "is the class above k?" (Frank & Hall 2001; Niu et al. 2016,
//! "Ordinal regression with multiple output CNN"), and the `class_mae`
//! metric, the mean absolute distance between predicted and true class.
//!
//! Unlike softmax classification, a mistake by one grade costs less than a
//! mistake by three: the thresholds share the ordering of the classes.

mod class_mae;
mod ordinal;

pub use class_mae::ClassMae;
pub use ordinal::Ordinal;

use mtl_plugin::Registry;

/// Adds the `ordinal` task kind and the `class_mae` metric.
pub fn register(registry: &mut Registry) {
    registry.task_kind::<Ordinal>().metric(ClassMae);
}
