//! Layering: the TOML file, then `MTL_` environment variables, then `--set`
//! arguments, each overriding the one before (figment), then each point of
//! the `[sweep]`, then validation.

use super::sweep::{self, Assignment, Sweep};
use super::ExperimentConfig;
use crate::error::{Error, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::Path;

/// An experiment file, layered and validated: one config per sweep point.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The file as given (for the report).
    pub text: String,
    pub sweep: Option<Sweep>,
    /// `experiment.seeds`, or the one `experiment.seed`.
    pub seeds: Vec<u64>,
    /// Without a sweep, one point with no values.
    pub points: Vec<Point>,
}

/// One combination of the swept values and the config it gives, with
/// `experiment.seed` set to the first seed and `experiment.seeds` cleared.
#[derive(Debug, Clone)]
pub struct Point {
    pub values: Assignment,
    pub config: ExperimentConfig,
}

impl Experiment {
    /// The config of `point` for `seed`.
    pub fn config(&self, point: usize, seed: u64) -> ExperimentConfig {
        let mut c = self.points[point].config.clone();
        c.experiment.seed = seed;
        c
    }
}

/// Reads, layers and validates an experiment file without a sweep, or the
/// first point of one.
pub fn load(path: &Path, overrides: &[String]) -> Result<ExperimentConfig> {
    let experiment = load_experiment(path, overrides)?;
    Ok(experiment.config(0, experiment.seeds[0]))
}

/// Reads, layers and validates an experiment file and every point of its sweep.
///
/// `overrides` are `dotted.key=value` strings; the value is read as TOML
/// (`3`, `1e-3`, `"adam"`, `[1, 2]`) and falls back to a plain string.
/// A key may pass through a list by index (`trunk.layers.0.out_channels`)
/// or, for `tasks`, by the task's name (`tasks.digit.weight`). Sweep values
/// are applied the same way, after the overrides.
pub fn load_experiment(path: &Path, overrides: &[String]) -> Result<Experiment> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(&file, format!("cannot read the experiment file: {e}")))?;
    // Parse once on our own for syntax errors: toml's messages carry line and column.
    text.parse::<toml::Table>().map_err(|e| {
        let at = e.span().map_or(String::new(), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!(" at line {line}, column {column}")
        });
        Error::config(
            &file,
            format!(
                "TOML syntax error{at}: {}",
                e.message().trim_end().replace('\n', "; ")
            ),
        )
    })?;

    let mut figment = Figment::from(Toml::string(&text)).merge(Env::prefixed("MTL_").split("__"));
    for raw in overrides {
        let (key, value) = parse_override(raw)?;
        figment = apply(figment, &key, value).map_err(|m| override_error(raw, m))?;
    }
    let layered = !overrides.is_empty() || std::env::vars().any(|(k, _)| k.starts_with("MTL_"));
    let source = if layered {
        format!("{file} (with --set / MTL_* overrides)")
    } else {
        file.clone()
    };

    // The sweep is not part of any one config: take it out of the layered value.
    let mut layered_value = figment
        .extract::<toml::Value>()
        .unwrap_or(toml::Value::Table(Default::default()));
    let sweep_table = layered_value.as_table_mut().and_then(|t| t.remove("sweep"));
    let explicit_seed = layered_value
        .get("experiment")
        .and_then(|e| e.get("seed"))
        .is_some();
    let sweep = match sweep_table {
        Some(t) => Some(Sweep::parse(&t).map_err(|m| Error::config(&source, m))?),
        None => None,
    };
    if let Some(sweep) = &sweep {
        // An override of a swept key would be overwritten at every point:
        // refuse it, however it names the key (task by name or index, a
        // parent table, an `MTL_*` variable).
        let env: Vec<(String, String)> = std::env::vars()
            .filter_map(|(k, _)| {
                let key = k.strip_prefix("MTL_")?.to_lowercase().replace("__", ".");
                Some((format!("environment variable `{k}`"), key))
            })
            .collect();
        let set = overrides.iter().map(|raw| {
            let key = raw.split_once('=').map_or(raw.as_str(), |(k, _)| k).trim();
            (format!("--set `{raw}`"), key.to_string())
        });
        for (what, key) in set.chain(env) {
            let key = canonical(&key, &layered_value);
            if let Some(k) = sweep
                .keys()
                .into_iter()
                .find(|k| overlaps(&canonical(k, &layered_value), &key))
            {
                return Err(Error::config(
                    what,
                    format!("`{k}` is swept in [sweep], so this value would be replaced at every point; change the list there, or --set the list itself (`--set 'sweep.{k}=[…]'`)"),
                ));
            }
        }
    }
    let base = match &sweep {
        None => figment,
        Some(_) => Figment::from(Serialized::defaults(layered_value)),
    };
    let extract = |fig: &Figment| -> Result<ExperimentConfig> {
        let mut config = extract_config(fig, &file, &text, overrides)?;
        super::resolve::resolve(&mut config).map_err(|f| match f {
            super::resolve::Failure::Invalid(err, what) => {
                match describe_figment_error(&file, *err, &text, overrides) {
                    Error::Config {
                        source_name,
                        message,
                    } => Error::config(source_name, format!("{message} [{what}]")),
                    other => other,
                }
            }
            super::resolve::Failure::Message(m) => Error::config(&source, m),
        })?;
        super::validate::validate(&config).map_err(|m| Error::config(&source, m))?;
        // resolved.toml and the point id need the config as TOML, whose
        // integers are 64-bit signed: catch any larger value here.
        if toml::to_string(&config).is_err() {
            let key = fig
                .extract::<figment::value::Value>()
                .ok()
                .and_then(|v| too_large(&v, String::new()))
                .unwrap_or_else(|| "a key".into());
            return Err(Error::config(
                &source,
                format!("{key}: expected an integer of at most {}", i64::MAX),
            ));
        }
        Ok(config)
    };
    let points = match &sweep {
        None => vec![Point {
            values: Vec::new(),
            config: extract(&base)?,
        }],
        Some(sweep) => {
            let assignments = sweep.points();
            if assignments.is_empty() {
                return Err(Error::config(
                    &source,
                    "key `sweep.exclude`: every point of the sweep is excluded",
                ));
            }
            let n = assignments.len();
            let with = |values: &[(String, toml::Value)]| -> Result<ExperimentConfig> {
                let mut fig = base.clone();
                for (key, value) in values {
                    fig = apply(fig, key, value.clone())
                        .map_err(|m| Error::config(&source, format!("key `{key}`: {m}")))?;
                }
                extract(&fig)
            };
            let results: Vec<Result<ExperimentConfig>> =
                assignments.iter().map(|values| with(values)).collect();
            if results.iter().all(Result::is_err) {
                // Wrong before any swept value is applied: not the sweep's fault.
                with(&[])?;
            }
            if let Some(i) = results.iter().position(Result::is_err) {
                let values = &assignments[i];
                let works_elsewhere = |kv: &(String, toml::Value)| {
                    assignments
                        .iter()
                        .zip(&results)
                        .any(|(other, r)| r.is_ok() && other.contains(kv))
                };
                // Blame one swept value if it fails on its own and at every point.
                let culprit = values
                    .iter()
                    .find(|kv| !works_elsewhere(kv) && with(std::slice::from_ref(*kv)).is_err());
                let at = match culprit {
                    Some((k, v)) => format!("sweep value `{k}` = {}", sweep::show(v)),
                    None => format!(
                        "sweep point {} of {n} ({}); if these values do not go together, drop the combination with `exclude = [{{ … }}]` in [sweep], or sweep the whole table (e.g. `weighting = [{{ strategy = \"fixed\" }}, {{ strategy = \"gradnorm\", alpha = 0.5 }}]`)",
                        i + 1,
                        sweep::describe(values)
                    ),
                };
                let err = results.into_iter().nth(i).and_then(Result::err);
                return Err(match err {
                    Some(Error::Config {
                        source_name,
                        message,
                    }) => Error::config(format!("{source_name}, {at}"), message),
                    Some(other) => other,
                    None => unreachable!("position found an error"),
                });
            }
            assignments
                .into_iter()
                .zip(results)
                .map(|(values, r)| Point {
                    values,
                    config: r.expect("no point failed"),
                })
                .collect()
        }
    };
    let seeds = match &points[0].config.experiment.seeds {
        None => vec![points[0].config.experiment.seed],
        Some(seeds) => {
            if explicit_seed {
                // `--set experiment.seeds=[…]` on a file with a `seed` is the usual case.
                tracing::warn!(
                    "{source}: `experiment.seeds` is given, so `experiment.seed = {}` is not used",
                    points[0].config.experiment.seed
                );
            }
            if seeds.is_empty() {
                return Err(Error::config(
                    &source,
                    "key `experiment.seeds`: the list is empty; give at least one seed",
                ));
            }
            for (i, s) in seeds.iter().enumerate() {
                if seeds[..i].contains(s) {
                    return Err(Error::config(
                        &source,
                        format!(
                            "key `experiment.seeds`: seed {s} is listed twice; each seed runs once"
                        ),
                    ));
                }
                if *s > i64::MAX as u64 {
                    return Err(Error::config(
                        &source,
                        format!("key `experiment.seeds`: {s}, expected at most {}", i64::MAX),
                    ));
                }
            }
            seeds.clone()
        }
    };
    let mut points = points;
    for p in &mut points {
        p.config.experiment.seeds = None;
        p.config.experiment.seed = seeds[0];
    }
    Ok(Experiment {
        text,
        sweep,
        seeds,
        points,
    })
}

/// The first key whose integer does not fit TOML's 64-bit signed integers.
fn too_large(v: &figment::value::Value, at: String) -> Option<String> {
    use figment::value::{Num, Value};
    let child = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        Value::Num(_, Num::U64(n)) if *n > i64::MAX as u64 => Some(format!("key `{at}`: {n}")),
        Value::Num(_, Num::U128(n)) => Some(format!("key `{at}`: {n}")),
        Value::Dict(_, d) => d.iter().find_map(|(k, v)| too_large(v, child(k))),
        Value::Array(_, a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| too_large(v, child(&i.to_string()))),
        _ => None,
    }
}

/// `key` with a task named by name written by its index (`tasks.parity.w` →
/// `tasks.1.w`), so two spellings of one path compare equal.
fn canonical(key: &str, layered: &toml::Value) -> String {
    let mut parts: Vec<String> = key.split('.').map(String::from).collect();
    if parts.len() > 1 && parts[0] == "tasks" && parts[1].parse::<usize>().is_err() {
        let index = layered
            .get("tasks")
            .and_then(|t| t.as_array())
            .and_then(|tasks| {
                tasks
                    .iter()
                    .position(|t| t.get("name").and_then(|n| n.as_str()) == Some(&parts[1]))
            });
        if let Some(i) = index {
            parts[1] = i.to_string();
        }
    }
    parts.join(".")
}

/// Whether two dotted keys name the same value or one holds the other.
fn overlaps(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    a.iter().zip(&b).all(|(x, y)| x == y)
}

/// Extracts the typed config, with figment's error turned into one line.
fn extract_config(
    figment: &Figment,
    file: &str,
    text: &str,
    overrides: &[String],
) -> Result<ExperimentConfig> {
    figment
        .extract()
        .map_err(|e| describe_figment_error(file, e, text, overrides))
}

fn override_error(raw: &str, m: String) -> Error {
    Error::config("--set", format!("`{raw}`: {m}"))
}

fn parse_override(raw: &str) -> Result<(String, toml::Value)> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| override_error(raw, "expected `dotted.key=value`".into()))?;
    Ok((key.trim().to_string(), parse_value(value.trim())))
}

/// Sets `key` to `value` on top of `figment`.
fn apply(figment: Figment, key: &str, value: toml::Value) -> Result<Figment, String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("the key has an empty part".into());
    }
    // Walk down while the path only crosses tables: figment merges those by key.
    // From the first list on, rebuild that whole list and merge it as one value.
    let mut current: toml::Value = figment
        .extract::<toml::Value>()
        .unwrap_or(toml::Value::Table(Default::default()));
    if let (["sweep", _, ..], Some(root)) = (&parts[..], current.as_table_mut()) {
        // A sweep key is one dotted name, written quoted or as nested tables:
        // replace either form, so `--set 'sweep.train.epochs=[1, 2]'` changes the list.
        let swept = key["sweep.".len()..].to_string();
        let table = root
            .entry("sweep")
            .or_insert_with(|| toml::Value::Table(Default::default()))
            .as_table_mut()
            .ok_or("`sweep` is not a table")?;
        remove_nested(table, &parts[1..]);
        table.insert(swept, value);
        return Ok(Figment::from(Serialized::defaults(current)));
    }
    if value.is_table() {
        // A table replaces the table there whole (figment would merge the two),
        // so `--set 'weighting={strategy="fixed"}'` drops the other strategy's keys.
        set_in(&mut current, &parts, value)?;
        return Ok(Figment::from(Serialized::defaults(current)));
    }
    let mut node = &current;
    for (depth, part) in parts.iter().enumerate() {
        match node {
            toml::Value::Table(t) => match t.get(*part) {
                Some(child @ toml::Value::Array(_)) if depth + 1 < parts.len() => {
                    let mut list = child.clone();
                    set_in(&mut list, &parts[depth + 1..], value)?;
                    let prefix = parts[..=depth].join(".");
                    return Ok(figment.merge(Serialized::default(&prefix, list)));
                }
                Some(child) => node = child,
                None => break,
            },
            _ => break,
        }
    }
    Ok(figment.merge(Serialized::default(key, value)))
}

/// Removes the value at `path` inside nested tables, if there is one.
fn remove_nested(table: &mut toml::Table, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            table.remove(*last);
        }
        [head, rest @ ..] => {
            if let Some(toml::Value::Table(t)) = table.get_mut(*head) {
                remove_nested(t, rest);
            }
        }
    }
}

/// Sets `path` inside `node`; list elements are found by index or by `name`.
fn set_in(node: &mut toml::Value, path: &[&str], value: toml::Value) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    let child = match node {
        toml::Value::Array(items) => {
            let len = items.len();
            let found = match head.parse::<usize>() {
                Ok(i) => items.get_mut(i),
                Err(_) => items
                    .iter_mut()
                    .find(|it| it.get("name").and_then(|n| n.as_str()) == Some(*head)),
            };
            found.ok_or_else(|| {
                format!(
                    "no list element `{head}` (use an index 0..{len}, or for `tasks` a task name)"
                )
            })?
        }
        toml::Value::Table(t) => {
            if rest.is_empty() {
                t.insert(head.to_string(), value);
                return Ok(());
            }
            t.entry(head.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()))
        }
        _ => {
            return Err(format!(
                "`{head}` is inside a value that is not a table or list"
            ))
        }
    };
    set_in(child, rest, value)
}

fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Turns figment's error into one line: file, key, what was found, what was expected.
fn describe_figment_error(
    file: &str,
    err: figment::Error,
    text: &str,
    overrides: &[String],
) -> Error {
    use figment::error::Kind;
    let source = blame(file, &err.path, overrides);
    let mut path = err.path.clone();
    // figment's path ends with the unknown or missing key itself; name its table.
    let named = match &err.kind {
        Kind::UnknownField(field, _) => Some(field.to_string()),
        Kind::MissingField(field) => Some(field.to_string()),
        _ => None,
    };
    if named.is_some() && path.last() == named.as_ref() {
        path.pop();
    }
    let key = describe_path(&path, text);
    let message = match &err.kind {
        Kind::UnknownField(field, []) => {
            format!("unknown key `{field}`{}, which takes no keys", in_key(&key))
        }
        Kind::UnknownField(field, expected) => format!(
            "unknown key `{field}`{} (expected one of {}){}",
            in_key(&key),
            list(expected),
            did_you_mean(field, expected)
        ),
        Kind::UnknownVariant(found, expected) => format!(
            "unknown value `{found}`{}: expected one of {}{}",
            in_key(&key),
            list(expected),
            did_you_mean(found, expected)
        ),
        Kind::MissingField(field) => {
            format!("missing key `{field}`{}", in_key(&key))
        }
        Kind::InvalidType(found, expected) => {
            format!("key `{key}`: found {found}, expected {}", plain(expected))
        }
        Kind::InvalidValue(found, expected) => {
            format!(
                "key `{key}`: invalid value {found}, expected {}",
                plain(expected)
            )
        }
        Kind::InvalidLength(len, expected) => {
            format!("key `{key}`: {len} elements, expected {expected}")
        }
        Kind::Message(m) => {
            // serde's messages for untagged enums name neither the key nor the choices.
            let (key, m) = if m.contains("untagged enum Padding") {
                (
                    format!("{key}.padding"),
                    "expected \"valid\", \"same\" or a number of pixels ≥ 0".to_string(),
                )
            } else if m.contains("untagged enum SplitAmount") {
                (
                    key.clone(),
                    "`validation` and `test` take a count (integer ≥ 0) or a fraction (float in [0, 1))".to_string(),
                )
            } else {
                (key.clone(), m.clone())
            };
            if key.is_empty() {
                m
            } else {
                format!("key `{key}`: {m}")
            }
        }
        other => format!("key `{key}`: {other}"),
    };
    Error::config(source, message)
}

/// The layer that set the value at `path`: the last `--set` or `MTL_*`
/// variable whose key overlaps it, else the file.
fn blame(file: &str, path: &[String], overrides: &[String]) -> String {
    if path.is_empty() {
        return file.to_string();
    }
    // A list element named by task name in a key matches its index in the path.
    let overlaps = |key: &[&str]| {
        key.iter()
            .zip(path)
            .all(|(k, p)| k == p || (p.parse::<usize>().is_ok() && k.parse::<usize>().is_err()))
    };
    for raw in overrides.iter().rev() {
        let key = raw.split_once('=').map_or(raw.as_str(), |(k, _)| k).trim();
        if overlaps(&key.split('.').collect::<Vec<_>>()) {
            return format!("--set `{raw}`");
        }
    }
    for (name, _) in std::env::vars() {
        if let Some(rest) = name.strip_prefix("MTL_") {
            let key = rest.to_lowercase();
            if overlaps(&key.split("__").collect::<Vec<_>>()) {
                return format!("environment variable `{name}`");
            }
        }
    }
    file.to_string()
}

/// serde's names for Rust types, in words a config author uses.
fn plain(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "an integer ≥ 0".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        other => other.into(),
    }
}

fn did_you_mean(found: &str, expected: &[&str]) -> String {
    closest(found, expected)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn in_key(key: &str) -> String {
    if key.is_empty() {
        " at the top level".into()
    } else {
        format!(" in `{key}`")
    }
}

/// `tasks.1.kind` reads better as `tasks[1] (parity).kind`.
fn describe_path(path: &[String], text: &str) -> String {
    let mut out = String::new();
    let parsed = text.parse::<toml::Table>().ok();
    let mut node: Option<toml::Value> = parsed.map(toml::Value::Table);
    for part in path {
        let next = node
            .as_ref()
            .and_then(|n| match (n, part.parse::<usize>()) {
                (toml::Value::Array(a), Ok(i)) => a.get(i).cloned(),
                (toml::Value::Table(t), _) => t.get(part).cloned(),
                _ => None,
            });
        if let Ok(i) = part.parse::<usize>() {
            out.push_str(&format!("[{i}]"));
            if let Some(name) = next
                .as_ref()
                .and_then(|n| n.get("name"))
                .and_then(|n| n.as_str())
            {
                out.push_str(&format!(" ({name})"));
            }
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
        node = next;
    }
    out
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The expected name nearest to a misspelt one, if any is near.
pub(crate) fn closest<'a>(found: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|e| (strsim::damerau_levenshtein(found, e), *e))
        .filter(|(d, e)| *d <= 2.max(e.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_key() {
        assert_eq!(closest("epochz", &["epochs", "batch_size"]), Some("epochs"));
        assert_eq!(closest("zzzzzz", &["epochs", "batch_size"]), None);
    }

    #[test]
    fn override_values_are_read_as_toml() {
        assert_eq!(parse_value("3"), toml::Value::Integer(3));
        assert_eq!(parse_value("1e-3"), toml::Value::Float(1e-3));
        assert_eq!(parse_value("adam"), toml::Value::String("adam".into()));
        assert_eq!(parse_value("\"adam\""), toml::Value::String("adam".into()));
    }

    #[test]
    fn set_reaches_into_lists_by_index_and_name() {
        let mut tasks: toml::Value = toml::from_str::<toml::Table>(
            "t = [{ name = \"digit\", weight = 1.0 }, { name = \"parity\", weight = 1.0 }]",
        )
        .unwrap()
        .remove("t")
        .unwrap();
        set_in(&mut tasks, &["parity", "weight"], toml::Value::Float(2.0)).unwrap();
        set_in(&mut tasks, &["0", "weight"], toml::Value::Float(3.0)).unwrap();
        assert_eq!(tasks[1]["weight"].as_float(), Some(2.0));
        assert_eq!(tasks[0]["weight"].as_float(), Some(3.0));
        assert!(set_in(&mut tasks, &["nope", "weight"], toml::Value::Float(1.0)).is_err());
    }
}
