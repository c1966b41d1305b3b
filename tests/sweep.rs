//! Sweeps and seeds end to end: shared baselines, summaries over seeds,
//! `--jobs`, `mtl-run report`, and resuming after an interrupted run.

mod common;
use common::{crate_root, mtl_run};

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `digits8x8` swept over the three strategies, with seeds 0 and 1.
fn sweep_args(out: &Path, epochs: usize) -> Vec<String> {
    [
        "experiments/digits8x8.toml",
        "--set",
        &format!("experiment.output_dir=\"{}\"", out.display()),
        "--set",
        "experiment.seeds=[0, 1]",
        "--set",
        "sweep={ \"weighting.strategy\" = [\"fixed\", \"uncertainty\", \"gradnorm\"] }",
        "--set",
        &format!("train.epochs={epochs}"),
    ]
    .map(String::from)
    .to_vec()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
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

fn col(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", rows[0]))
}

/// The test value of `metric` for `task` in a run's metrics.csv.
fn test_value(folder: &Path, task: &str, metric: &str) -> f64 {
    let rows = read_csv(&folder.join("metrics.csv"));
    let row = rows
        .iter()
        .find(|r| r[1] == task && r[2] == "test" && r[3] == metric)
        .unwrap();
    row[4].parse().unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn a_sweep_over_strategies_shares_the_baselines_and_summarises_over_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mtl_run(&sweep_args(tmp.path(), 2));
    assert!(o.status.success(), "{}", stderr(&o));
    let log = stderr(&o);
    let exp = tmp.path().join("digits8x8");

    // 3 strategies × 2 seeds multi-task models, 3 tasks × 2 seeds baselines: 12 runs.
    assert_eq!(log.matches("trained in").count(), 12, "{log}");
    for task in ["digit", "parity", "high"] {
        for seed in [0, 1] {
            let line = format!("stl:{task} seed {seed} trained");
            assert_eq!(log.matches(&line).count(), 1, "{line}: {log}");
        }
    }
    let baselines: Vec<_> = std::fs::read_dir(exp.join("baselines")).unwrap().collect();
    assert_eq!(baselines.len(), 3);

    // summary.csv: one row per strategy; the means and spreads are those of the runs' own files.
    let summary = read_csv(&exp.join("summary.csv"));
    assert_eq!(summary.len(), 4);
    let strategies: Vec<&str> = summary[1..]
        .iter()
        .map(|r| r[col(&summary, "weighting.strategy")].as_str())
        .collect();
    assert_eq!(strategies, ["fixed", "uncertainty", "gradnorm"]);
    let runs = read_csv(&exp.join("runs.csv"));
    for row in &summary[1..] {
        assert_eq!(row[col(&summary, "seeds")], "2");
        let folder = |model: &str, seed: &str| {
            let r = runs
                .iter()
                .find(|r| r[0] == row[0] && r[1] == seed && r[2] == model)
                .unwrap();
            exp.join(&r[3])
        };
        let mtl: Vec<f64> = ["0", "1"]
            .iter()
            .map(|s| test_value(&folder("mtl", s), "digit", "accuracy"))
            .collect();
        let stl: Vec<f64> = ["0", "1"]
            .iter()
            .map(|s| test_value(&folder("stl:digit", s), "digit", "accuracy"))
            .collect();
        let cell = |name: &str| row[col(&summary, name)].parse::<f64>().unwrap();
        let mean = (mtl[0] + mtl[1]) / 2.0;
        // Sample standard deviation of two values: |a − b| / √2.
        let spread = (mtl[0] - mtl[1]).abs() / 2f64.sqrt();
        assert!((cell("digit.accuracy.mtl_mean") - mean).abs() < 1e-12);
        assert!((cell("digit.accuracy.mtl_std") - spread).abs() < 1e-12);
        assert!((cell("digit.accuracy.stl_mean") - (stl[0] + stl[1]) / 2.0).abs() < 1e-12);
        let deltas: Vec<f64> = mtl
            .iter()
            .zip(&stl)
            .map(|(m, s)| 100.0 * (m - s) / s)
            .collect();
        assert!((cell("digit.accuracy.delta_pct") - (deltas[0] + deltas[1]) / 2.0).abs() < 1e-9);
        let better = mtl.iter().zip(&stl).filter(|(m, s)| m > s).count();
        assert_eq!(cell("digit.accuracy.seeds_better") as usize, better);
        assert!(cell("delta_m").is_finite());
    }

    // The report and its plots; `mtl-run report` rebuilds the same files from them.
    let report = std::fs::read_to_string(exp.join("report.md")).unwrap();
    for part in [
        "## Points",
        "## Task `digit`",
        "plots/digit-test.svg",
        "plots/digit-curves.svg",
        "## Task weights over training",
        "## What was run",
        "## Data",
        "sha256",
        "dfdx_version",
    ] {
        assert!(report.contains(part), "{part} missing from the report");
    }
    for p in files_under(&exp.join("plots")) {
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("</svg>"),
            "{}",
            p.display()
        );
    }
    let before: Vec<(PathBuf, Vec<u8>)> = ["report.md", "summary.csv", "comparison.csv"]
        .iter()
        .map(|f| (exp.join(f), std::fs::read(exp.join(f)).unwrap()))
        .collect();
    for (p, _) in &before {
        std::fs::remove_file(p).unwrap();
    }
    let o = mtl_run(&["report".into(), exp.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("trained in"));
    for (p, bytes) in &before {
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{}", p.display());
    }

    // --jobs 2 trains the same numbers.
    let other = tempfile::tempdir().unwrap();
    let mut args = sweep_args(other.path(), 2);
    args.extend(["--jobs".into(), "2".into()]);
    let o = mtl_run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(other.path().join("digits8x8/summary.csv")).unwrap(),
        std::fs::read(exp.join("summary.csv")).unwrap()
    );
}

/// Starts the sweep, stops it with `signal` once the first run has
/// finished, and returns the experiment folder.
fn interrupted(out: &Path, signal: &str, epochs: usize) -> PathBuf {
    let exp = out.join("digits8x8");
    let mut command = Command::new(env!("CARGO_BIN_EXE_mtl-run"));
    command
        .args(sweep_args(out, epochs))
        .current_dir(crate_root())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // A shell without job control starts background commands with SIGINT
    // ignored, and children inherit that: give the run the default action,
    // as it has when started from a terminal.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let started = Instant::now();
    loop {
        let finished = exp.exists() && files_under(&exp).iter().any(|p| p.ends_with("metrics.csv"));
        if finished {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no run finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "{signal}: the sweep finished before the signal"
    );
    exp
}

#[test]
fn an_interrupted_sweep_resumes_and_ends_as_an_uninterrupted_one() {
    let epochs = 20;
    let reference = tempfile::tempdir().unwrap();
    let o = mtl_run(&sweep_args(reference.path(), epochs));
    assert!(o.status.success(), "{}", stderr(&o));
    let want = std::fs::read(reference.path().join("digits8x8/summary.csv")).unwrap();

    for signal in ["INT", "KILL"] {
        let tmp = tempfile::tempdir().unwrap();
        let exp = interrupted(tmp.path(), signal, epochs);
        let done: Vec<PathBuf> = files_under(&exp)
            .into_iter()
            .filter(|p| p.ends_with("metrics.csv"))
            .collect();
        let kept: Vec<Vec<u8>> = done.iter().map(|p| std::fs::read(p).unwrap()).collect();
        assert!(!done.is_empty() && done.len() < 12, "{signal}: {done:?}");

        let o = mtl_run(&sweep_args(tmp.path(), epochs));
        assert!(o.status.success(), "{signal}: {}", stderr(&o));
        let log = stderr(&o);
        // Only the missing runs are trained; the finished ones are untouched.
        assert!(
            log.contains(&format!("{} of 12 runs finished earlier", done.len())),
            "{signal}: {log}"
        );
        assert_eq!(log.matches("trained in").count(), 12 - done.len(), "{log}");
        for (p, bytes) in done.iter().zip(&kept) {
            assert_eq!(&std::fs::read(p).unwrap(), bytes, "{}", p.display());
        }
        // No temporary file is left, and the summary is that of the uninterrupted sweep.
        let stray: Vec<PathBuf> = files_under(&exp)
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
        assert_eq!(
            std::fs::read(exp.join("summary.csv")).unwrap(),
            want,
            "{signal}"
        );
    }
}

#[test]
fn set_replaces_a_sweep_list_and_dry_run_lists_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = sweep_args(tmp.path(), 1);
    args.extend([
        "--set".into(),
        "sweep.weighting.strategy=[\"fixed\", \"gradnorm\"]".into(),
        "--dry-run".into(),
    ]);
    let o = mtl_run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("sweep: 2 point(s)"), "{out}");
    assert!(out.contains("weighting.strategy = \"gradnorm\""), "{out}");
    // 2 points × 2 seeds, and 3 baselines × 2 seeds shared by both points.
    assert!(out.contains("runs: 10 (0 finished, 10 to train)"), "{out}");
    assert!(!tmp.path().join("digits8x8").exists());
}
