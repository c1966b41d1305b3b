//! Layering: the TOML file, then `MTL_` environment variables, then `--set`
//! arguments, each overriding the one before (figment), then validation.

use super::ExperimentConfig;
use crate::error::{Error, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::Path;

/// Reads, layers and validates an experiment file.
///
/// `overrides` are `dotted.key=value` strings; the value is read as TOML
/// (`3`, `1e-3`, `"adam"`, `[1, 2]`) and falls back to a plain string.
/// A key may pass through a list by index (`trunk.layers.0.out_channels`)
/// or, for `tasks`, by the task's name (`tasks.digit.weight`).
pub fn load(path: &Path, overrides: &[String]) -> Result<ExperimentConfig> {
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
        figment = apply_override(figment, raw)?;
    }
    let config: ExperimentConfig = figment.extract().map_err(|e| {
        let err = describe_figment_error(&file, e, &text, overrides);
        // Keys under `[weighting]` depend on the strategy: name it.
        match (err, figment.extract_inner::<String>("weighting.strategy")) {
            (
                Error::Config {
                    source_name,
                    message,
                },
                Ok(strategy),
            ) if message.contains("in `weighting`") => Error::Config {
                source_name,
                message: format!("{message} [weighting.strategy = \"{strategy}\"]"),
            },
            (err, _) => err,
        }
    })?;
    let layered = !overrides.is_empty() || std::env::vars().any(|(k, _)| k.starts_with("MTL_"));
    let source = if layered {
        format!("{file} (with --set / MTL_* overrides)")
    } else {
        file.clone()
    };
    super::validate::validate(&config).map_err(|m| Error::config(&source, m))?;
    Ok(config)
}

fn apply_override(figment: Figment, raw: &str) -> Result<Figment> {
    let bad = |m: String| Error::config("--set", format!("`{raw}`: {m}"));
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| bad("expected `dotted.key=value`".into()))?;
    let key = key.trim();
    let value = parse_value(value.trim());
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("the key has an empty part".into()));
    }
    // Walk down while the path only crosses tables: figment merges those by key.
    // From the first list on, rebuild that whole list and merge it as one value.
    let mut current: toml::Value = figment
        .extract::<toml::Value>()
        .unwrap_or(toml::Value::Table(Default::default()));
    if value.is_table() {
        // A table replaces the table there whole (figment would merge the two),
        // so `--set 'weighting={strategy="fixed"}'` drops the other strategy's keys.
        set_in(&mut current, &parts, value).map_err(bad)?;
        return Ok(Figment::from(Serialized::defaults(current)));
    }
    let mut node = &current;
    for (depth, part) in parts.iter().enumerate() {
        match node {
            toml::Value::Table(t) => match t.get(*part) {
                Some(child @ toml::Value::Array(_)) if depth + 1 < parts.len() => {
                    let mut list = child.clone();
                    set_in(&mut list, &parts[depth + 1..], value).map_err(bad)?;
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
                format!("no list element `{head}` (use an index 0..{len} or a task name)")
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
            format!("key `{key}`: found {found}, expected {expected}")
        }
        Kind::InvalidValue(found, expected) => {
            format!("key `{key}`: invalid value {found}, expected {expected}")
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
