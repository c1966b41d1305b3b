//! Drives the `mtl-run` binary on small real configs and reads what it wrote.

mod common;
use common::{crate_root, mtl_run};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DIGITS: &str = "experiments/digits8x8.toml";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn out_dir_arg(dir: &Path) -> String {
    format!("experiment.output_dir=\"{}\"", dir.display())
}

/// The `seed-0` folder of the multi-task model of the only point under `out/<experiment>/`.
fn run_folder(out: &Path, experiment: &str) -> PathBuf {
    let points = read_csv(&out.join(experiment).join("points.csv"));
    assert_eq!(points.len(), 2, "one point");
    out.join(experiment).join(&points[1][0]).join("seed-0")
}

/// The `seed-0` folder of the baseline of `task`.
fn baseline_folder(out: &Path, experiment: &str, task: &str) -> PathBuf {
    let runs = read_csv(&out.join(experiment).join("runs.csv"));
    let row = runs
        .iter()
        .find(|r| r[1] == "0" && r[2] == format!("stl:{task}"))
        .unwrap();
    out.join(experiment).join(&row[3])
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let mut rows = vec![header];
    rows.extend(
        r.records()
            .map(|rec| rec.unwrap().iter().map(String::from).collect()),
    );
    rows
}

#[test]
fn digits_end_to_end_writes_every_result_file() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&[
        DIGITS,
        "--set",
        "train.epochs=4",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = run_folder(tmp.path(), "digits8x8");
    for f in [
        "resolved.toml",
        "history.csv",
        "weights.csv",
        "metrics.csv",
        "comparison.csv",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // No temporary files are left behind.
    let stray: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");

    let cmp = read_csv(&dir.join("comparison.csv"));
    assert_eq!(
        cmp[0],
        [
            "task",
            "metric",
            "direction",
            "mtl",
            "stl",
            "delta",
            "delta_pct"
        ]
    );
    let tasks: Vec<&str> = cmp[1..].iter().map(|r| r[0].as_str()).collect();
    for t in ["digit", "parity", "high", "all"] {
        assert!(tasks.contains(&t), "{t} missing from {tasks:?}");
    }
    let digit_acc = cmp
        .iter()
        .find(|r| r[0] == "digit" && r[1] == "accuracy")
        .unwrap();
    let (mtl, stl): (f64, f64) = (digit_acc[3].parse().unwrap(), digit_acc[4].parse().unwrap());
    // 4 epochs of a small CNN on 8x8 digits: far above chance (0.1).
    assert!(mtl > 0.8 && stl > 0.8, "digit accuracy mtl {mtl} stl {stl}");
    let delta: f64 = digit_acc[5].parse().unwrap();
    assert!((delta - (mtl - stl)).abs() < 1e-12);
    // With one seed, the experiment's comparison carries the same numbers, no spread.
    let over_seeds = read_csv(&tmp.path().join("digits8x8/comparison.csv"));
    let col = |name: &str| over_seeds[0].iter().position(|h| h == name).unwrap();
    let row = over_seeds
        .iter()
        .find(|r| r[col("task")] == "digit" && r[col("metric")] == "accuracy")
        .unwrap();
    assert_eq!(row[col("mtl_mean")].parse::<f64>().unwrap(), mtl);
    assert_eq!(row[col("stl_mean")].parse::<f64>().unwrap(), stl);
    assert_eq!(
        (row[col("seeds")].as_str(), row[col("mtl_std")].as_str()),
        ("1", "")
    );
    for f in [
        "summary.csv",
        "report.md",
        "points.csv",
        "runs.csv",
        "experiment.toml",
    ] {
        assert!(
            tmp.path().join("digits8x8").join(f).is_file(),
            "{f} missing"
        );
    }

    // history: 4 epochs x 3 tasks x 3 splits, for the multi-task model only.
    let history = read_csv(&dir.join("history.csv"));
    assert_eq!(history.len() - 1, 4 * 3 * 3);
    assert_eq!(history[0][..5], ["epoch", "model", "task", "split", "loss"]);
    assert!(history[1..].iter().all(|r| r[1] == "mtl"));
    // Each baseline has its own folder: 4 epochs x 1 task x 3 splits.
    for task in ["digit", "parity", "high"] {
        let history = read_csv(&baseline_folder(tmp.path(), "digits8x8", task).join("history.csv"));
        assert_eq!(history.len() - 1, 4 * 3);
        assert!(history[1..].iter().all(|r| r[1] == format!("stl:{task}")));
    }

    // resolved.toml fills in the defaults and loads back as a config.
    let resolved = std::fs::read_to_string(dir.join("resolved.toml")).unwrap();
    assert!(
        resolved.contains("input = [1, 8, 8]") && resolved.contains("select = \"val_loss\""),
        "{resolved}"
    );
    assert!(stdout(&o).contains("delta_pct"));
}

#[test]
fn same_seed_gives_identical_metrics_and_a_rerun_skips_finished_runs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let args = |d: &Path| {
        vec![
            DIGITS.to_string(),
            "--set".into(),
            "train.epochs=2".into(),
            "--set".into(),
            out_dir_arg(d),
        ]
    };
    for d in [a.path(), b.path()] {
        let o = mtl_run(&args(d).iter().map(String::as_str).collect::<Vec<_>>());
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let ma = std::fs::read(run_folder(a.path(), "digits8x8").join("metrics.csv")).unwrap();
    let mb = std::fs::read(run_folder(b.path(), "digits8x8").join("metrics.csv")).unwrap();
    assert_eq!(ma, mb);

    // Same config, same folder: nothing is trained again and the results stay as they were.
    let o = mtl_run(
        &args(a.path())
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("4 of 4 runs finished earlier; skipping them"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("trained in"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(run_folder(a.path(), "digits8x8").join("metrics.csv")).unwrap(),
        ma
    );

    let mut forced = args(a.path());
    forced.push("--force".into());
    let o = mtl_run(&forced.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("trained in").count(),
        4,
        "{}",
        stderr(&o)
    );
}

#[test]
fn dry_run_prints_the_plan_and_shape_table_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&[
        "experiments/mnist-multitask.toml",
        "--dry-run",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("trunk.6 flatten") && out.contains("3136"),
        "{out}"
    );
    assert!(out.contains("stl:parity"), "{out}");
    assert!(out.contains("32 x 14 x 14"), "{out}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn penguins_compares_classification_and_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&[
        "experiments/penguins.toml",
        "--set",
        "train.epochs=30",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cmp = read_csv(&run_folder(tmp.path(), "penguins").join("comparison.csv"));
    let metrics: Vec<(&str, &str)> = cmp[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert!(metrics.contains(&("species", "accuracy")));
    assert!(metrics.contains(&("sex", "macro_f1")));
    assert!(metrics.contains(&("body_mass", "rmse")) && metrics.contains(&("body_mass", "r2")));
    // RMSE is in grams: the body masses have a standard deviation of about 800 g.
    let rmse: f64 = cmp
        .iter()
        .find(|r| r[0] == "body_mass" && r[1] == "rmse")
        .unwrap()[3]
        .parse()
        .unwrap();
    assert!(rmse > 100.0 && rmse < 800.0, "rmse {rmse}");
}

#[test]
fn a_nan_loss_stops_that_model_and_keeps_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    // An absurd weight makes the multi-task gradient overflow; baselines use weight 1.
    let o = mtl_run(&[
        DIGITS,
        "--set",
        "train.epochs=1",
        "--set",
        "tasks.digit.weight=1e38",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("model mtl") && err.contains("task `") && err.contains("step"),
        "{err}"
    );
    // The diverged model's run is finished (rerunning would diverge again) but has no numbers.
    let dir = run_folder(tmp.path(), "digits8x8");
    assert_eq!(read_csv(&dir.join("metrics.csv")).len(), 1);
    let why = std::fs::read_to_string(dir.join("failure.txt")).unwrap();
    assert!(why.contains("model mtl"), "{why}");
    for task in ["digit", "parity", "high"] {
        let metrics = read_csv(&baseline_folder(tmp.path(), "digits8x8", task).join("metrics.csv"));
        assert!(metrics.len() > 1, "stl:{task} has results");
    }
}

#[test]
fn environment_overrides_the_file_and_set_overrides_the_environment() {
    let run = |env_epochs: &str, sets: &[&str]| {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_mtl-run"));
        c.arg("experiments/penguins.toml").current_dir(crate_root());
        c.args([
            "--set",
            &out_dir_arg(tmp.path()),
            "--set",
            "baselines.single_task=false",
        ]);
        for s in sets {
            c.args(["--set", s]);
        }
        let o = c.env("MTL_TRAIN__EPOCHS", env_epochs).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read_to_string(run_folder(tmp.path(), "penguins").join("resolved.toml")).unwrap()
    };
    let resolved = run("2", &[]);
    assert!(resolved.contains("epochs = 2"), "{resolved}");
    let resolved = run("2", &["train.epochs=1"]);
    assert!(resolved.contains("epochs = 1"), "{resolved}");
}

#[test]
fn uncertainty_weighting_logs_weights_and_sigma2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&[
        "experiments/penguins.toml",
        "--set",
        "weighting.strategy=uncertainty",
        "--set",
        "weighting.lr=0.05",
        "--set",
        "train.epochs=40",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let history = read_csv(&run_folder(tmp.path(), "penguins").join("history.csv"));
    let col = |name: &str| history[0].iter().position(|h| h == name).unwrap();
    let (weight, sigma2, loss) = (col("weight"), col("sigma2"), col("loss"));
    let last = history
        .iter()
        .find(|r| r[0] == "40" && r[1] == "mtl" && r[2] == "body_mass" && r[3] == "train")
        .unwrap();
    let (w, s2, mse): (f64, f64, f64) = (
        last[weight].parse().unwrap(),
        last[sigma2].parse().unwrap(),
        last[loss].parse().unwrap(),
    );
    // Regression form: weight = ½ / σ² (both epoch means, so only close).
    assert!((w * s2 - 0.5).abs() < 0.05, "w {w} sigma2 {s2}");
    // σ² (from 1) settles at the task's (standardised) training MSE, where its likelihood is minimised.
    assert!((s2 - mse).abs() < 0.2 * mse, "sigma2 {s2} mse {mse}");
    // Baselines keep weight 1 and have no sigma2.
    let stl = read_csv(&baseline_folder(tmp.path(), "penguins", "body_mass").join("history.csv"));
    assert!(!stl[0].contains(&"sigma2".to_string()));
    let stl_weight = stl[0].iter().position(|h| h == "weight").unwrap();
    assert_eq!(stl[1][stl_weight], "1");
}

#[test]
fn gradnorm_logs_weights_that_sum_to_the_task_count() {
    for on in ["last_shared_layer", "representation"] {
        let tmp = tempfile::tempdir().unwrap();
        let o = mtl_run(&[
            DIGITS,
            "--set",
            "weighting.strategy=gradnorm",
            "--set",
            &format!("weighting.on={on}"),
            "--set",
            "train.epochs=2",
            "--set",
            "baselines.single_task=false",
            "--set",
            &out_dir_arg(tmp.path()),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let history = read_csv(&run_folder(tmp.path(), "digits8x8").join("history.csv"));
        let col = |name: &str| history[0].iter().position(|h| h == name).unwrap();
        let (weight, grad_norm, ratio) = (col("weight"), col("grad_norm"), col("loss_ratio"));
        for epoch in ["1", "2"] {
            let rows: Vec<_> = history
                .iter()
                .filter(|r| r[0] == epoch && r[3] == "train")
                .collect();
            assert_eq!(rows.len(), 3);
            // Renormalised after every step, so the epoch means sum to 3 as well.
            let sum: f64 = rows.iter().map(|r| r[weight].parse::<f64>().unwrap()).sum();
            assert!((sum - 3.0).abs() < 1e-4, "{on}: weights sum to {sum}");
            let ratios: f64 = rows.iter().map(|r| r[ratio].parse::<f64>().unwrap()).sum();
            assert!((ratios - 3.0).abs() < 1e-4, "{on}: r sums to {ratios}");
            assert!(rows
                .iter()
                .all(|r| r[grad_norm].parse::<f64>().unwrap() > 0.0));
        }
        // weights.csv: every 10 steps, one row per task, with the strategy's state.
        let weights = read_csv(&run_folder(tmp.path(), "digits8x8").join("weights.csv"));
        assert_eq!(
            weights[0],
            [
                "model",
                "epoch",
                "step",
                "task",
                "loss",
                "weight",
                "grad_norm",
                "loss_ratio"
            ]
        );
        // 1,797 samples − 180 validation − 359 test = 1,258 for training: 40 steps per epoch.
        assert_eq!(weights.len() - 1, 3 * (2 * 40 / 10));
        assert_eq!(
            (weights[1][2].as_str(), weights[1][3].as_str()),
            ("10", "digit")
        );
    }
}

/// The shipped uncertainty toy at reduced size: each learned σ² ends within
/// 20 % of its task's final training MSE, and the ordering follows the noise.
#[test]
fn uncertainty_toy_learns_each_tasks_noise_level() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&[
        "experiments/uncertainty-toy.toml",
        "--set",
        "data.samples=2000",
        "--set",
        "train.epochs=25",
        "--set",
        &out_dir_arg(tmp.path()),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let history = read_csv(&run_folder(tmp.path(), "uncertainty-toy").join("history.csv"));
    let col = |name: &str| history[0].iter().position(|h| h == name).unwrap();
    let (loss, sigma2) = (col("loss"), col("sigma2"));
    let mut learned = Vec::new();
    for task in ["quiet", "medium", "loud"] {
        let row = history
            .iter()
            .find(|r| r[0] == "25" && r[2] == task && r[3] == "train")
            .unwrap();
        let (mse, s2): (f64, f64) = (row[loss].parse().unwrap(), row[sigma2].parse().unwrap());
        assert!(
            (s2 - mse).abs() < 0.2 * mse,
            "{task}: sigma2 {s2}, training MSE {mse}"
        );
        learned.push(s2);
    }
    assert!(
        learned[0] < learned[1] && learned[1] < learned[2],
        "{learned:?}"
    );
}

/// The GradNorm paper's toy at reduced size, run with GradNorm and with fixed
/// equal weights: GradNorm raises the weight of the σ = 1 task above the
/// σ = 100 task's, and the two tasks' loss ratios L_i(t)/L_i(0) end closer
/// together than under fixed weights.
#[test]
fn gradnorm_toy_balances_the_two_tasks_training_rates() {
    let run = |weighting: &str| {
        let tmp = tempfile::tempdir().unwrap();
        let o = mtl_run(&[
            "experiments/gradnorm-toy.toml",
            "--set",
            weighting,
            "--set",
            "data.samples=1500",
            "--set",
            "train.epochs=6",
            "--set",
            "train.log_every=1",
            "--set",
            &out_dir_arg(tmp.path()),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        read_csv(&run_folder(tmp.path(), "gradnorm-toy").join("weights.csv"))
    };
    // Per task: L(t)/L(0), with L(0) the first step's loss and L(t) the mean of the last 20 steps.
    let loss_ratios = |rows: &[Vec<String>]| -> Vec<f64> {
        ["small", "large"]
            .iter()
            .map(|task| {
                let losses: Vec<f64> = rows[1..]
                    .iter()
                    .filter(|r| r[3] == *task)
                    .map(|r| r[4].parse().unwrap())
                    .collect();
                let tail = &losses[losses.len() - 20..];
                tail.iter().sum::<f64>() / 20.0 / losses[0]
            })
            .collect()
    };
    let gradnorm = run("weighting.alpha=0.12");
    let fixed = run("weighting={strategy=\"fixed\"}");
    let last_weights: Vec<f64> = gradnorm[gradnorm.len() - 2..]
        .iter()
        .map(|r| r[5].parse().unwrap())
        .collect();
    assert!(
        last_weights[0] > last_weights[1],
        "GradNorm weights (small, large): {last_weights:?}"
    );
    let (g, f) = (loss_ratios(&gradnorm), loss_ratios(&fixed));
    let (gap_g, gap_f) = ((g[0] - g[1]).abs(), (f[0] - f[1]).abs());
    assert!(
        gap_g < gap_f,
        "loss-ratio gap: GradNorm {gap_g} ({g:?}), fixed {gap_f} ({f:?})"
    );
}
