//! The registry of everything a TOML may name: the built-in data sources,
//! task kinds, metrics and strategies, then each linked plugin crate.
//!
//! Adding a plugin: create its crate under `plugins/`, add it to
//! `[dependencies]` in `Cargo.toml`, and add one line to [`PLUGINS`]
//! (`docs/plugins.md` walks through it).

use mtl_plugin::Registry;
use std::sync::OnceLock;

/// Each linked plugin crate's `register` function.
const PLUGINS: &[fn(&mut Registry)] = &[
    mtl_multimnist::register,
    mtl_colored_mnist::register,
    mtl_ordinal::register,
];

/// The registry, built once.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry::new();
        crate::data::register(&mut r);
        crate::tasks::register(&mut r);
        crate::weighting::register(&mut r);
        for register in PLUGINS {
            register(&mut r);
        }
        r
    })
}
