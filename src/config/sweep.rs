//! The `[sweep]` table: dotted config paths, each with a list of values,
//! expanded into points (the Cartesian product, or element-wise with
//! `mode = "zip"`), less the combinations `exclude` names.

use std::fmt::Write as _;

/// One swept key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// A dotted config path, e.g. `weighting.strategy` or `tasks.digit.weight`.
    pub key: String,
    pub values: Vec<toml::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// Every combination; the first key varies slowest.
    Grid,
    /// The i-th value of every key together.
    Zip,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub mode: SweepMode,
    pub axes: Vec<Axis>,
    /// Partial assignments: a point that matches every key of one is dropped.
    pub exclude: Vec<Vec<(String, toml::Value)>>,
}

/// The values of the swept keys at one point, in axis order.
pub type Assignment = Vec<(String, toml::Value)>;

impl Sweep {
    /// Reads the `[sweep]` table. Nested tables are dotted paths, so
    /// `weighting.strategy = [...]` and `"weighting.strategy" = [...]` agree.
    pub fn parse(table: &toml::Value) -> Result<Sweep, String> {
        let toml::Value::Table(t) = table else {
            return Err(format!(
                "key `sweep`: found {}, expected a table of `dotted.key = [values]`",
                kind(table)
            ));
        };
        let mut mode = SweepMode::Grid;
        let mut exclude = Vec::new();
        let mut axes = Vec::new();
        for (key, value) in t {
            match key.as_str() {
                "mode" => {
                    mode = match value.as_str() {
                        Some("grid") => SweepMode::Grid,
                        Some("zip") => SweepMode::Zip,
                        _ => {
                            return Err(format!(
                                "key `sweep.mode`: found {}, expected \"grid\" (every combination) or \"zip\" (lists paired element-wise)",
                                show(value)
                            ))
                        }
                    }
                }
                "exclude" => {
                    let Some(items) = value.as_array() else {
                        return Err(format!(
                            "key `sweep.exclude`: found {}, expected a list of tables such as [{{ \"weighting.strategy\" = \"fixed\" }}]",
                            kind(value)
                        ));
                    };
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_table() {
                            return Err(format!(
                                "key `sweep.exclude[{i}]`: found {}, expected a table of `dotted.key = value`",
                                kind(item)
                            ));
                        }
                        let mut pairs = Vec::new();
                        flatten(item, String::new(), &mut pairs);
                        exclude.push(pairs);
                    }
                }
                _ => {
                    let mut pairs = Vec::new();
                    flatten(value, key.clone(), &mut pairs);
                    for (key, list) in pairs {
                        axes.push(axis(key, list)?);
                    }
                }
            }
        }
        for (i, a) in axes.iter().enumerate() {
            if axes[..i].iter().any(|b| b.key == a.key) {
                return Err(format!(
                    "key `sweep`: `{}` is swept twice (once as a quoted dotted key, once as nested tables); keep one",
                    a.key
                ));
            }
        }
        if axes.is_empty() {
            return Err("key `sweep`: no key to sweep; add e.g. `\"weighting.strategy\" = [\"fixed\", \"gradnorm\"]`".into());
        }
        for a in &axes {
            if a.key == "experiment" || a.key.starts_with("experiment.") {
                return Err(format!(
                    "key `sweep.{}`: `experiment` keys cannot be swept (seeds: `experiment.seeds = [0, 1, 2]`; the name and output folder name the sweep itself)",
                    a.key
                ));
            }
        }
        if mode == SweepMode::Zip {
            let first = &axes[0];
            if let Some(a) = axes.iter().find(|a| a.values.len() != first.values.len()) {
                return Err(format!(
                    "key `sweep`: with mode = \"zip\" every list needs the same length, but `{}` has {} values and `{}` has {}",
                    first.key,
                    first.values.len(),
                    a.key,
                    a.values.len()
                ));
            }
        }
        for (i, ex) in exclude.iter().enumerate() {
            if ex.is_empty() {
                return Err(format!(
                    "key `sweep.exclude[{i}]`: empty, so it would drop every point"
                ));
            }
            for (key, value) in ex {
                let Some(a) = axes.iter().find(|a| &a.key == key) else {
                    let keys: Vec<&str> = axes.iter().map(|a| a.key.as_str()).collect();
                    return Err(format!(
                        "key `sweep.exclude[{i}]`: `{key}` is not a swept key (swept: {})",
                        keys.join(", ")
                    ));
                };
                if !a.values.iter().any(|v| same(v, value)) {
                    return Err(format!(
                        "key `sweep.exclude[{i}]`: `{key}` = {} is not one of its swept values ({})",
                        show(value),
                        a.values.iter().map(show).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let sweep = Sweep {
            mode,
            axes,
            exclude,
        };
        let all = sweep.combinations();
        for (i, ex) in sweep.exclude.iter().enumerate() {
            if !all.iter().any(|point| matches(point, ex)) {
                return Err(format!(
                    "key `sweep.exclude[{i}]`: {} matches no point of the sweep{}, so it excludes nothing",
                    describe(ex),
                    if sweep.mode == SweepMode::Zip {
                        " (with mode = \"zip\" only the i-th values go together)"
                    } else {
                        ""
                    }
                ));
            }
        }
        Ok(sweep)
    }

    /// The points, in order, with excluded combinations removed.
    pub fn points(&self) -> Vec<Assignment> {
        self.combinations()
            .into_iter()
            .filter(|point| !self.exclude.iter().any(|ex| matches(point, ex)))
            .collect()
    }

    /// Every combination the mode gives, before `exclude`.
    fn combinations(&self) -> Vec<Assignment> {
        let all: Vec<Vec<usize>> = match self.mode {
            SweepMode::Zip => (0..self.axes[0].values.len())
                .map(|i| vec![i; self.axes.len()])
                .collect(),
            SweepMode::Grid => {
                let mut combos = vec![Vec::new()];
                for a in &self.axes {
                    combos = combos
                        .into_iter()
                        .flat_map(|c| {
                            (0..a.values.len()).map(move |i| {
                                let mut c = c.clone();
                                c.push(i);
                                c
                            })
                        })
                        .collect();
                }
                combos
            }
        };
        all.into_iter()
            .map(|idx| {
                self.axes
                    .iter()
                    .zip(idx)
                    .map(|(a, i)| (a.key.clone(), a.values[i].clone()))
                    .collect::<Assignment>()
            })
            .collect()
    }

    pub fn keys(&self) -> Vec<&str> {
        self.axes.iter().map(|a| a.key.as_str()).collect()
    }
}

fn axis(key: String, list: toml::Value) -> Result<Axis, String> {
    match list {
        toml::Value::Array(values) if values.is_empty() => Err(format!(
            "key `sweep.{key}`: the list is empty; give at least one value"
        )),
        toml::Value::Array(values) => Ok(Axis { key, values }),
        other => Err(format!(
            "key `sweep.{key}`: found {}, expected a list of the values to try, e.g. [{}]",
            show(&other),
            show(&other)
        )),
    }
}

/// `{a = {b = [1]}}` → `("a.b", [1])`; lists and scalars are leaves.
fn flatten(value: &toml::Value, prefix: String, out: &mut Vec<(String, toml::Value)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, key, out);
            }
        }
        other => out.push((prefix, other.clone())),
    }
}

fn matches(point: &Assignment, exclude: &[(String, toml::Value)]) -> bool {
    exclude
        .iter()
        .all(|(key, value)| point.iter().any(|(k, v)| k == key && same(v, value)))
}

/// Equality that reads `1` and `1.0` as the same number.
pub fn same(a: &toml::Value, b: &toml::Value) -> bool {
    match (a, b) {
        (toml::Value::Integer(i), toml::Value::Float(f))
        | (toml::Value::Float(f), toml::Value::Integer(i)) => *i as f64 == *f,
        _ => a == b,
    }
}

/// A value as it would be written in TOML (strings quoted).
pub fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Table(t) => {
            let mut out = String::from("{ ");
            for (i, (k, v)) in t.iter().enumerate() {
                let _ = write!(out, "{}{k} = {}", if i > 0 { ", " } else { "" }, show(v));
            }
            out.push_str(" }");
            out
        }
        toml::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(show).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// A value as a CSV cell or table label: strings bare, the rest as TOML.
pub fn label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => show(other),
    }
}

/// `key = value, key = value`: how a point is named in messages.
pub fn describe(point: &Assignment) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k} = {}", show(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(text: &str) -> Result<Sweep, String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        Sweep::parse(&toml::Value::Table(table))
    }

    fn labels(points: &[Assignment]) -> Vec<String> {
        points
            .iter()
            .map(|p| {
                p.iter()
                    .map(|(_, v)| label(v))
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }

    #[test]
    fn grid_is_the_cartesian_product_with_the_first_key_slowest() {
        let s = sweep("\"a.x\" = [1, 2]\nb = { y = [\"p\", \"q\", \"r\"] }\n").unwrap();
        assert_eq!(s.keys(), ["a.x", "b.y"]);
        assert_eq!(
            labels(&s.points()),
            ["1/p", "1/q", "1/r", "2/p", "2/q", "2/r"]
        );
    }

    #[test]
    fn zip_pairs_the_lists_element_wise() {
        let s = sweep("mode = \"zip\"\n\"a.x\" = [1, 2, 3]\n\"b.y\" = [0.1, 0.2, 0.3]\n").unwrap();
        assert_eq!(labels(&s.points()), ["1/0.1", "2/0.2", "3/0.3"]);
    }

    #[test]
    fn exclude_drops_the_points_that_match_all_its_keys() {
        let s = sweep(
            "\"w.s\" = [\"fixed\", \"gradnorm\"]\n\"t.lr\" = [0.1, 1]\nexclude = [{ \"w.s\" = \"fixed\", \"t.lr\" = 1.0 }]\n",
        )
        .unwrap();
        assert_eq!(
            labels(&s.points()),
            // Keys in alphabetical order: `t.lr` varies slowest.
            ["0.1/fixed", "0.1/gradnorm", "1/gradnorm"]
        );
        let s = sweep("\"w.s\" = [\"fixed\", \"gradnorm\"]\n\"t.lr\" = [0.1, 1]\nexclude = [{ w = { s = \"gradnorm\" } }]\n").unwrap();
        assert_eq!(labels(&s.points()), ["0.1/fixed", "1/fixed"]);
    }

    #[test]
    fn bad_sweeps_say_what_is_wrong() {
        let cases = [
            ("\"a.x\" = []\n", "`sweep.a.x`: the list is empty"),
            ("\"a.x\" = 3\n", "expected a list of the values to try"),
            (
                "mode = \"zip\"\n\"a.x\" = [1, 2]\n\"b.y\" = [1]\n",
                "`a.x` has 2 values and `b.y` has 1",
            ),
            ("mode = \"all\"\n\"a.x\" = [1]\n", "expected \"grid\""),
            (
                "\"a.x\" = [1]\nexclude = [{ \"b.y\" = 1 }]\n",
                "`b.y` is not a swept key",
            ),
            (
                "\"a.x\" = [1]\nexclude = [{ \"a.x\" = 2 }]\n",
                "`a.x` = 2 is not one of its swept values (1)",
            ),
            ("\"experiment.seed\" = [1, 2]\n", "experiment.seeds"),
            (
                "mode = \"zip\"\n\"a.x\" = [1, 2]\n\"b.y\" = [3, 4]\nexclude = [{ \"a.x\" = 1, \"b.y\" = 4 }]\n",
                "matches no point of the sweep (with mode = \"zip\"",
            ),
            ("mode = \"grid\"\n", "no key to sweep"),
        ];
        for (text, want) in cases {
            let err = sweep(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
