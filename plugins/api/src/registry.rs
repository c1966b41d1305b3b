//! The registry: TOML names → data sources, task kinds, metrics and strategies.
//!
//! A plugin crate exposes `pub fn register(registry: &mut Registry)`, and the
//! framework calls it once at start-up, after registering its built-ins the
//! same way.

use crate::metric::Metric;
use crate::{DataSource, StrategyBuilder, TaskKind};
use figment::providers::Serialized;
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A plugin item's TOML options: the serde type itself.
///
/// Use `#[serde(deny_unknown_fields)]` so that a misspelt key is an error,
/// and serde defaults for optional keys; the registry writes the options
/// back with the defaults filled in.
pub trait Options: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The name used in TOML (`format`, `kind` or `strategy`).
    const NAME: &'static str;
    /// One line for `mtl-run plugins`.
    const ABOUT: &'static str;

    /// Checks that serde cannot express: ranges, combinations of keys.
    fn check(&self) -> Result<(), OptionError> {
        Ok(())
    }
}

/// A bad option value: the key (within the plugin's table) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionError {
    pub key: String,
    pub message: String,
}

impl OptionError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        OptionError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A found item with its options as they will be recorded (defaults filled in).
pub struct Lookup<T: ?Sized> {
    pub item: Box<T>,
    pub options: toml::Table,
}

/// Why a lookup failed.
#[derive(Debug)]
pub enum LookupError {
    /// No item of this kind has the name.
    Unknown {
        /// "data source", "task kind", "weighting strategy" or "metric".
        what: &'static str,
        name: String,
        available: Vec<&'static str>,
    },
    /// The options do not deserialise; the error's path is relative to the item's table.
    Invalid(Box<figment::Error>),
    /// The options deserialise, but a value is out of range.
    Check(OptionError),
}

type Parse<T> = Box<dyn Fn(&toml::Table) -> Result<Lookup<T>, LookupError> + Send + Sync>;

struct Entry<T: ?Sized> {
    name: &'static str,
    about: &'static str,
    provider: &'static str,
    parse: Parse<T>,
}

/// One line of [`Registry::listing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub what: &'static str,
    pub name: &'static str,
    pub about: &'static str,
    /// The crate that registered it.
    pub provider: &'static str,
}

/// Every name the TOML may use, and what it stands for.
#[derive(Default)]
pub struct Registry {
    sources: Vec<Entry<dyn DataSource>>,
    kinds: Vec<Entry<dyn TaskKind>>,
    strategies: Vec<Entry<dyn StrategyBuilder>>,
    metrics: Vec<(&'static str, Box<dyn Metric>)>,
}

/// Deserialises `options` as `T` through figment (whose errors carry the
/// key's path), checks it, and writes it back with its defaults.
fn parse<T: Options>(options: &toml::Table) -> Result<(T, toml::Table), LookupError> {
    let value: T = Figment::from(Serialized::defaults(options))
        .extract()
        .map_err(|e| LookupError::Invalid(Box::new(e)))?;
    value.check().map_err(LookupError::Check)?;
    let written = toml::Table::try_from(&value).unwrap_or_else(|_| options.clone());
    Ok((value, written))
}

/// The crate that defines `T` (the first segment of its path).
fn provider<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.split("::").next().unwrap_or(full)
}

fn find<'a, T: ?Sized>(
    entries: &'a [Entry<T>],
    what: &'static str,
    name: &str,
) -> Result<&'a Entry<T>, LookupError> {
    entries
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| LookupError::Unknown {
            what,
            name: name.to_string(),
            available: entries.iter().map(|e| e.name).collect(),
        })
}

fn refuse_twice(taken: bool, what: &str, name: &str) {
    // Two linked crates claiming one name is a build mistake, found at start-up.
    assert!(!taken, "two plugins register the {what} `{name}`");
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Registers the data source `S` under `S::NAME` (`[data] format = "…"`).
    pub fn data_source<S: Options + DataSource>(&mut self) -> &mut Self {
        refuse_twice(
            self.sources.iter().any(|e| e.name == S::NAME),
            "data source",
            S::NAME,
        );
        self.sources.push(Entry {
            name: S::NAME,
            about: S::ABOUT,
            provider: provider::<S>(),
            parse: Box::new(|t| {
                let (item, options) = parse::<S>(t)?;
                Ok(Lookup {
                    item: Box::new(item),
                    options,
                })
            }),
        });
        self
    }

    /// Registers the task kind `K` under `K::NAME` (`[[tasks]] kind = "…"`).
    pub fn task_kind<K: Options + TaskKind>(&mut self) -> &mut Self {
        refuse_twice(
            self.kinds.iter().any(|e| e.name == K::NAME),
            "task kind",
            K::NAME,
        );
        self.kinds.push(Entry {
            name: K::NAME,
            about: K::ABOUT,
            provider: provider::<K>(),
            parse: Box::new(|t| {
                let (item, options) = parse::<K>(t)?;
                Ok(Lookup {
                    item: Box::new(item),
                    options,
                })
            }),
        });
        self
    }

    /// Registers the weighting strategy built by `S` under `S::NAME` (`[weighting] strategy = "…"`).
    pub fn strategy<S: Options + StrategyBuilder>(&mut self) -> &mut Self {
        refuse_twice(
            self.strategies.iter().any(|e| e.name == S::NAME),
            "weighting strategy",
            S::NAME,
        );
        self.strategies.push(Entry {
            name: S::NAME,
            about: S::ABOUT,
            provider: provider::<S>(),
            parse: Box::new(|t| {
                let (item, options) = parse::<S>(t)?;
                Ok(Lookup {
                    item: Box::new(item),
                    options,
                })
            }),
        });
        self
    }

    /// Registers a metric under its [`Metric::name`].
    pub fn metric<M: Metric + 'static>(&mut self, metric: M) -> &mut Self {
        refuse_twice(
            self.find_metric(metric.name()).is_some(),
            "metric",
            metric.name(),
        );
        self.metrics.push((provider::<M>(), Box::new(metric)));
        self
    }

    pub fn find_data_source(
        &self,
        name: &str,
        options: &toml::Table,
    ) -> Result<Lookup<dyn DataSource>, LookupError> {
        (find(&self.sources, "data source", name)?.parse)(options)
    }

    pub fn find_task_kind(
        &self,
        name: &str,
        options: &toml::Table,
    ) -> Result<Lookup<dyn TaskKind>, LookupError> {
        (find(&self.kinds, "task kind", name)?.parse)(options)
    }

    pub fn find_strategy(
        &self,
        name: &str,
        options: &toml::Table,
    ) -> Result<Lookup<dyn StrategyBuilder>, LookupError> {
        (find(&self.strategies, "weighting strategy", name)?.parse)(options)
    }

    pub fn find_metric(&self, name: &str) -> Option<&dyn Metric> {
        self.metrics
            .iter()
            .find(|(_, m)| m.name() == name)
            .map(|(_, m)| m.as_ref())
    }

    /// The names of every metric, in registration order.
    pub fn metric_names(&self) -> Vec<&'static str> {
        self.metrics.iter().map(|(_, m)| m.name()).collect()
    }

    /// Everything registered, kind by kind, in registration order.
    pub fn listing(&self) -> Vec<Listed> {
        let entries = |what, list: Vec<(&'static str, &'static str, &'static str)>| {
            list.into_iter().map(move |(name, about, provider)| Listed {
                what,
                name,
                about,
                provider,
            })
        };
        entries(
            "data source",
            self.sources
                .iter()
                .map(|e| (e.name, e.about, e.provider))
                .collect(),
        )
        .chain(entries(
            "task kind",
            self.kinds
                .iter()
                .map(|e| (e.name, e.about, e.provider))
                .collect(),
        ))
        .chain(entries(
            "metric",
            self.metrics
                .iter()
                .map(|(p, m)| (m.name(), m.direction().describe(), *p))
                .collect(),
        ))
        .chain(entries(
            "weighting strategy",
            self.strategies
                .iter()
                .map(|e| (e.name, e.about, e.provider))
                .collect(),
        ))
        .collect()
    }
}
