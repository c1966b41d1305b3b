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
    mtl_example_balanced_accuracy::register,
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

/// What `mtl-run plugins` prints: one line per registered name, by kind.
pub fn listing_table() -> String {
    let listed = registry().listing();
    let width = |f: fn(&mtl_plugin::registry::Listed) -> &str| {
        listed.iter().map(|l| f(l).len()).max().unwrap_or(0)
    };
    let (w_what, w_name, w_from) = (width(|l| l.what), width(|l| l.name), width(|l| l.provider));
    let mut out = String::new();
    for l in &listed {
        out.push_str(&format!(
            "{:<w_what$}  {:<w_name$}  {:<w_from$}  {}\n",
            l.what, l.name, l.provider, l.about
        ));
    }
    out
}
