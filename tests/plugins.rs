//! The plugin crates through the `mtl-run` binary: each shipped plugin
//! experiment (reduced) trains and compares every task, and `mtl-run
//! plugins` lists what the build links.

mod common;
use common::mtl_run;

use std::path::Path;

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect()
}

/// Runs `file` with results in a temporary folder and returns, from the
/// experiment's `comparison.csv`, (task, metric) → (mtl mean, stl mean).
fn comparison(file: &str, experiment: &str, sets: &[&str]) -> Vec<(String, String, f64, f64)> {
    let tmp = tempfile::tempdir().unwrap();
    let out = format!("experiment.output_dir=\"{}\"", tmp.path().display());
    let mut args = vec![file, "-q", "--set", &out];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = mtl_run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    read_csv(&tmp.path().join(experiment).join("comparison.csv"))
        .into_iter()
        .filter(|r| r[1] != "all")
        .map(|r| {
            (
                r[1].clone(),
                r[2].clone(),
                r[5].parse().unwrap(),
                r[7].parse().unwrap(),
            )
        })
        .collect()
}

fn value(rows: &[(String, String, f64, f64)], task: &str, metric: &str) -> (f64, f64) {
    rows.iter()
        .find(|r| r.0 == task && r.1 == metric)
        .map(|r| (r.2, r.3))
        .unwrap_or_else(|| panic!("no {task} {metric} in {rows:?}"))
}

#[test]
fn multimnist_learns_both_digits() {
    let rows = comparison("experiments/multimnist-small.toml", "multimnist-small", &[]);
    let tasks: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(tasks, ["left", "left", "right", "right"]);
    // Chance is 0.1; two epochs on 8,000 composed images get far above it
    // for both the multi-task model and each baseline.
    for task in ["left", "right"] {
        let (mtl, stl) = value(&rows, task, "accuracy");
        assert!(mtl > 0.6 && stl > 0.6, "{task}: mtl {mtl}, stl {stl}");
    }
}

#[test]
fn colored_mnist_separates_digit_and_colours() {
    let rows = comparison(
        "experiments/colored-mnist.toml",
        "colored-mnist",
        &["train.epochs=1"],
    );
    for task in ["digit", "fg", "bg"] {
        for metric in ["accuracy", "macro_f1"] {
            value(&rows, task, metric);
        }
    }
    // A colour is in every pixel of its kind: near-perfect after one epoch.
    for task in ["fg", "bg"] {
        let (mtl, stl) = value(&rows, task, "accuracy");
        assert!(mtl > 0.95 && stl > 0.95, "{task}: mtl {mtl}, stl {stl}");
    }
    let (mtl, _) = value(&rows, "digit", "accuracy");
    assert!(mtl > 0.7, "digit: {mtl}");
}

#[test]
fn diamonds_trains_an_ordinal_cut_next_to_the_log_price() {
    let rows = comparison("experiments/diamonds.toml", "diamonds", &["train.epochs=2"]);
    let metrics: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        metrics,
        [
            ("log_price", "rmse"),
            ("log_price", "mae"),
            ("log_price", "r2"),
            ("cut", "accuracy"),
            ("cut", "class_mae"),
            ("cut", "macro_f1"),
            ("cut", "balanced_accuracy"),
        ]
    );
    // log(price) has std ≈ 1.0; ridge regression reaches RMSE 0.19.
    let (mtl, stl) = value(&rows, "log_price", "rmse");
    assert!(mtl < 0.3 && stl < 0.3, "rmse: mtl {mtl}, stl {stl}");
    // Always "Ideal" would be 0.40 accurate, 0.2 balanced, and off by 0.9 grades.
    let (acc, _) = value(&rows, "cut", "accuracy");
    let (bal, _) = value(&rows, "cut", "balanced_accuracy");
    let (mae, _) = value(&rows, "cut", "class_mae");
    assert!(acc > 0.6 && bal > 0.4 && mae < 0.6, "{acc} {bal} {mae}");
}

#[test]
fn plugins_lists_every_linked_name_with_its_crate() {
    let o = mtl_run(&["plugins"]);
    assert!(o.status.success());
    let listing = String::from_utf8_lossy(&o.stdout);
    for (what, name, provider) in [
        ("data source", "multimnist", "mtl_multimnist"),
        ("data source", "colored-mnist", "mtl_colored_mnist"),
        ("task kind", "ordinal", "mtl_ordinal"),
        ("metric", "class_mae", "mtl_ordinal"),
        (
            "metric",
            "balanced_accuracy",
            "mtl_example_balanced_accuracy",
        ),
        ("task kind", "classification", "mtl"),
        ("weighting strategy", "gradnorm", "mtl"),
    ] {
        assert!(
            listing.lines().any(|l| {
                let cols: Vec<&str> = l.split("  ").filter(|c| !c.is_empty()).collect();
                cols.len() >= 3
                    && cols[0].trim() == what
                    && cols[1].trim() == name
                    && cols[2].trim() == provider
            }),
            "{what} {name} from {provider} missing:\n{listing}"
        );
    }
}
