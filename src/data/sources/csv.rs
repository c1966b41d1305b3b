//! `format = "csv"`: a CSV file with a header row; every value numeric.

use crate::data::read_csv;
use mtl_plugin::{DataFile, DataSource, InputScale, Loaded, Options, RawData, SourceError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Csv {
    pub path: PathBuf,
    /// Input columns. Default: every column that no task reads and `drop` does not name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub drop: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_path: Option<PathBuf>,
}

impl Options for Csv {
    const NAME: &'static str = "csv";
    const ABOUT: &'static str =
        "a numeric CSV file with a header row; inputs are the columns no task reads";
}

impl DataSource for Csv {
    fn load(&self, labels: &[String]) -> Result<Loaded, SourceError> {
        let features = self.features.as_deref();
        let main = load_csv(labels, &self.path, "data.path", features, &self.drop)?;
        let mut files = vec![DataFile::describe(&self.path)?];
        let test = match &self.test_path {
            Some(p) => {
                let t = load_csv(labels, p, "data.test_path", features, &self.drop)?;
                if t.sample_shape != main.sample_shape {
                    return Err(SourceError::new(
                        p,
                        format!(
                            "the test file has {} feature columns, the training file {}",
                            t.features(),
                            main.features()
                        ),
                    ));
                }
                files.push(DataFile::describe(p)?);
                Some(t)
            }
            None => None,
        };
        // The input columns, written out: a baseline, which has one label
        // column, must read the same inputs as the multi-task model.
        let mut settled = toml::Table::new();
        settled.insert(
            "features".into(),
            toml::Value::try_from(&main.feature_names).expect("strings serialise"),
        );
        Ok(Loaded {
            main,
            test,
            files,
            settled,
        })
    }

    fn default_scale(&self) -> InputScale {
        InputScale::Standardize
    }

    fn origin(&self) -> PathBuf {
        self.path.clone()
    }

    fn test_origin(&self) -> PathBuf {
        self.test_path.clone().unwrap_or_else(|| self.origin())
    }

    fn describe(&self) -> String {
        format!("CSV file {}", self.path.display())
    }
}

fn load_csv(
    labels: &[String],
    path: &Path,
    key: &str,
    features: Option<&[String]>,
    drop: &[String],
) -> Result<RawData, SourceError> {
    let table = read_csv(path, key)?;
    let missing = |name: &str, what: &str| {
        let names: Vec<&str> = table.header.iter().map(String::as_str).collect();
        let hint = crate::config::closest_name(name, &names)
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        SourceError::new(
            path,
            format!(
                "{what}: column `{name}` does not exist (columns: {}){hint}",
                names.join(", ")
            ),
        )
    };
    let mut label_columns: Vec<String> = Vec::new();
    // A label that names no column is reported by the framework, with the task's key.
    for label in labels {
        if table.column_index(label).is_some() && !label_columns.contains(label) {
            label_columns.push(label.clone());
        }
    }
    for d in drop {
        if table.column_index(d).is_none() {
            return Err(missing(d, "key `data.drop`"));
        }
    }
    let feature_names: Vec<String> = match features {
        Some(f) => {
            for name in f {
                if table.column_index(name).is_none() {
                    return Err(missing(name, "key `data.features`"));
                }
                if label_columns.contains(name) {
                    return Err(SourceError::new(
                        path,
                        format!("key `data.features`: `{name}` is also a task's label; a target cannot be an input"),
                    ));
                }
            }
            f.to_vec()
        }
        None => table
            .header
            .iter()
            .filter(|h| !label_columns.contains(h) && !drop.contains(h))
            .cloned()
            .collect(),
    };
    if feature_names.is_empty() {
        return Err(SourceError::new(
            path,
            "no feature columns are left once the task labels and `data.drop` are taken out",
        ));
    }
    let idx: Vec<usize> = feature_names
        .iter()
        .map(|n| table.column_index(n).unwrap())
        .collect();
    let w = table.header.len();
    let mut inputs = Vec::with_capacity(table.rows * idx.len());
    for r in 0..table.rows {
        inputs.extend(idx.iter().map(|&c| table.values[r * w + c] as f32));
    }
    Ok(RawData {
        sample_shape: vec![feature_names.len()],
        inputs,
        columns: label_columns
            .iter()
            .map(|n| (n.clone(), table.column(table.column_index(n).unwrap())))
            .collect(),
        len: table.rows,
        feature_names,
    })
}
