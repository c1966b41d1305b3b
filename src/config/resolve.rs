//! Names → plugins: every data source, task kind, metric and strategy the
//! config names is looked up in the registry, its options are checked by
//! the plugin that owns them, and they are written back with the plugin's
//! defaults filled in (so `resolved.toml` and the point id see them).

use super::{ExperimentConfig, TaskConfig};
use crate::plugins::registry;
use mtl_plugin::metric::OutcomeKind;
use mtl_plugin::{LookupError, TargetType};

/// A failure, with the path of the offending key for the caller to describe.
pub(super) enum Failure {
    /// Figment's error, its path made absolute (e.g. `["data", "images"]`).
    Invalid(Box<figment::Error>, String),
    /// A complete message naming the key.
    Message(String),
}

pub(super) fn resolve(config: &mut ExperimentConfig) -> Result<(), Failure> {
    let r = registry();

    let data = &mut config.data;
    let what = format!("data source `{}`", data.format);
    let found = r
        .find_data_source(&data.format, &data.options)
        .map_err(|e| failure(e, &["data"], "data.format", &what))?;
    data.options = found.options;
    data.scale.get_or_insert(found.item.default_scale());

    for (i, task) in config.tasks.iter_mut().enumerate() {
        let at = format!("tasks[{i}] ({})", task.name);
        let what = format!("task kind `{}`", task.kind);
        let found = r
            .find_task_kind(&task.kind, &task.options)
            .map_err(|e| failure(e, &["tasks", &i.to_string()], &format!("{at}.kind"), &what))?;
        task.options = found.options;
        if task.transform.is_some() && task.map.is_some() {
            return Err(Failure::Message(format!(
                "key `{at}.transform`: `transform` and `map` cannot be combined (`map` is for integer-valued columns, `transform` for real-valued ones; expected one of them)"
            )));
        }
        if task.transform.is_some()
            && matches!(found.item.target_type(), TargetType::Classes { .. })
        {
            return Err(Failure::Message(format!(
                "key `{at}.transform`: {} task has class labels, which cannot be transformed (expected no `transform`, or a real-valued kind such as `regression`)",
                article(&task.kind)
            )));
        }
        check_metrics(task, &at, found.item.target_type()).map_err(Failure::Message)?;
    }

    let w = &mut config.weighting;
    let what = format!("weighting strategy `{}`", w.strategy);
    let found = r
        .find_strategy(&w.strategy, &w.options)
        .map_err(|e| failure(e, &["weighting"], "weighting.strategy", &what))?;
    w.options = found.options;
    Ok(())
}

/// Every metric the task reports exists and reads the task's kind of targets.
fn check_metrics(task: &mut TaskConfig, at: &str, targets: TargetType) -> Result<(), String> {
    let r = registry();
    let reads = match targets {
        TargetType::Classes { .. } => OutcomeKind::Classes,
        TargetType::Values { .. } => OutcomeKind::Values,
    };
    let applicable: Vec<&str> = r
        .metric_names()
        .into_iter()
        .filter(|m| r.find_metric(m).is_some_and(|m| m.reads() == reads))
        .collect();
    let named = task
        .metrics
        .iter()
        .map(|m| (format!("{at}.metrics"), m.0.clone()))
        .chain(
            task.metric
                .iter()
                .map(|m| (format!("{at}.metric"), m.0.clone())),
        );
    for (i, m) in task.metrics.iter().enumerate() {
        if task.metrics[..i].contains(m) {
            return Err(format!(
                "key `{at}.metrics`: `{}` is listed twice (expected each metric once)",
                m.0
            ));
        }
    }
    for (key, name) in named {
        let Some(metric) = r.find_metric(&name) else {
            return Err(format!(
                "key `{key}`: unknown metric `{name}`; the metrics linked into this build are {}{}",
                names(&r.metric_names()),
                hint(&name, &r.metric_names())
            ));
        };
        if metric.reads() != reads {
            return Err(format!(
                "key `{key}`: `{name}` does not apply to {} task (expected one of {})",
                article(&task.kind),
                names(&applicable)
            ));
        }
    }
    // The headline metric is always among those reported.
    if let Some(m) = &task.metric {
        if !task.metric_names().contains(m) {
            task.metrics.push(m.clone());
        }
    }
    Ok(())
}

/// "a regression" or "an ordinal".
pub(crate) fn article(kind: &str) -> String {
    let an = kind.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {kind}", if an { "an" } else { "a" })
}

fn plural(what: &str) -> String {
    match what.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{what}s"),
    }
}

fn names(list: &[&str]) -> String {
    list.iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hint(name: &str, list: &[&str]) -> String {
    super::closest_name(name, list)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn failure(e: LookupError, table: &[&str], name_key: &str, what: &str) -> Failure {
    match e {
        LookupError::Unknown {
            what,
            name,
            available,
        } => Failure::Message(format!(
            "key `{name_key}`: unknown {what} `{name}`; the {} linked into this build are {}{} (a plugin must be a dependency in Cargo.toml and registered in src/plugins.rs)",
            plural(what),
            names(&available),
            hint(&name, &available)
        )),
        LookupError::Invalid(mut err) => {
            let mut path: Vec<String> = table.iter().map(|s| s.to_string()).collect();
            path.append(&mut err.path);
            err.path = path;
            Failure::Invalid(err, what.to_string())
        }
        LookupError::Check(o) => Failure::Message(format!(
            "key `{}.{}` ({what}): {}",
            prefix(table, name_key),
            o.key,
            o.message
        )),
    }
}

/// `data`, `tasks[0] (digit)` or `weighting`: the table the item's keys are in.
fn prefix(table: &[&str], name_key: &str) -> String {
    if table.len() == 1 {
        table[0].to_string()
    } else {
        name_key.trim_end_matches(".kind").to_string()
    }
}
