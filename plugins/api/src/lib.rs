//! The plugin interface of `mtl`: what a data source, a task kind, a metric
//! and a loss-weighting strategy must provide, and the [`Registry`] that maps
//! the names used in TOML to them.
//!
//! The built-in sources, kinds, metrics and strategies of `mtl` implement
//! these same traits and register through the same [`Registry`] as the
//! crates under `plugins/`. This crate is small on purpose: a plugin depends
//! on it (not on the whole framework), so it builds fast and does not
//! rebuild when the framework changes. `docs/plugins.md` walks through
//! writing one.
//!
//! Every plugin item is a serde type that *is* its TOML options: the
//! registry deserialises the table that names it (`[data]`, one `[[tasks]]`
//! entry, `[weighting]`), so unknown keys and values of the wrong type get
//! the same messages as the framework's own keys, and writes it back with
//! every default filled in for `resolved.toml`.

pub mod data;
pub mod idx;
pub mod metric;
pub mod registry;
pub mod rng;
pub mod scalar_optimizer;
pub mod task;
pub mod weighting;

pub use data::{DataFile, DataSource, InputScale, Loaded, RawData, SourceError};
pub use metric::{Direction, Metric, Outcome};
pub use registry::{Lookup, LookupError, OptionError, Options, Registry};
pub use rng::SplitMix64;
pub use task::{Likelihood, TargetType, Targets, TaskKind, TaskLoss};
pub use weighting::{GradientNorms, OptimizerConfig, StrategyBuilder, TaskInfo, WeightingStrategy};

/// Re-exported so that a plugin uses exactly the framework's dfdx, serde and toml.
pub use dfdx;
pub use serde;
pub use toml;

mod device;
pub use device::{Dev, LossOnEveryDevice};

/// A batch of rows, `[batch, features]`, on device `D`, with a tape `T` when it is being differentiated.
pub type Matrix<D, T = NoneTape> = Tensor<(usize, usize), f32, D, T>;
/// A matrix that records its operations for the backward pass.
pub type TapedMatrix<D> = Matrix<D, OwnedTape<f32, D>>;
/// A scalar loss that records its operations for the backward pass.
pub type TapedScalar<D> = Tensor<Rank0, f32, D, OwnedTape<f32, D>>;

use dfdx::prelude::*;
