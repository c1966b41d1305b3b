//! Every kind of bad input gets one clear message (file, key or line, value,
//! what was expected), a non-zero exit, no panic and no result files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn digits_toml() -> String {
    std::fs::read_to_string(crate_root().join("experiments/digits8x8.toml")).unwrap()
}

/// Writes `toml` to a temporary experiment file, runs `mtl-run` on it with
/// results going to a temporary folder, and returns the error output. Asserts
/// the run failed cleanly and wrote no results.
fn fails_with(toml: &str, extra: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("experiment.toml");
    std::fs::write(&file, toml).unwrap();
    let out_dir = tmp.path().join("runs");
    let mut args: Vec<String> = vec![
        file.display().to_string(),
        "--set".into(),
        format!("experiment.output_dir=\"{}\"", out_dir.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args(&args)
        .current_dir(crate_root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "expected a failure, got success; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !out_dir.exists(),
        "results were written for a bad input: {err}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one message: {err}");
    assert!(
        err.contains(&file.display().to_string()) || err.contains('/') || err.contains("--set"),
        "names a file or source: {err}"
    );
    err
}

fn replaced(from: &str, to: &str) -> String {
    let t = digits_toml();
    assert!(t.contains(from), "fixture has `{from}`");
    t.replacen(from, to, 1)
}

fn assert_has(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "`{p}` missing from: {err}");
    }
}

#[test]
fn missing_data_file() {
    let err = fails_with(
        &replaced("data/digits8x8/digits8x8.csv", "data/digits8x8/nope.csv"),
        &[],
    );
    assert_has(
        &err,
        &["data/digits8x8/nope.csv", "`data.path`", "No such file"],
    );
}

#[test]
fn toml_syntax_error_names_the_line() {
    let err = fails_with(&replaced("[train]", "[train"), &[]);
    assert_has(&err, &["TOML syntax error", "line"]);
}

#[test]
fn unknown_key_suggests_the_closest() {
    let err = fails_with(&replaced("epochs = 10", "epochz = 10"), &[]);
    assert_has(
        &err,
        &["unknown key `epochz`", "`train`", "did you mean `epochs`?"],
    );
}

#[test]
fn wrong_type_names_key_value_and_expectation() {
    let err = fails_with(&replaced("epochs = 10", "epochs = \"ten\""), &[]);
    assert_has(&err, &["key `train.epochs`", "\"ten\"", "expected"]);
}

#[test]
fn unknown_task_kind() {
    let err = fails_with(
        &replaced("kind = \"classification\"", "kind = \"clasification\""),
        &[],
    );
    assert_has(
        &err,
        &[
            "unknown task kind `clasification`",
            "tasks[0] (digit)",
            "did you mean `classification`?",
        ],
    );
}

#[test]
fn unknown_metric() {
    let err = fails_with(
        &replaced("classes = 10", "classes = 10\nmetric = \"acuracy\""),
        &[],
    );
    assert_has(
        &err,
        &["unknown metric `acuracy`", "did you mean `accuracy`?"],
    );
}

#[test]
fn metric_of_the_wrong_kind() {
    let err = fails_with(
        &replaced("classes = 10", "classes = 10\nmetric = \"rmse\""),
        &[],
    );
    assert_has(&err, &["tasks[0] (digit).metric", "rmse", "accuracy"]);
}

#[test]
fn unknown_layer_type() {
    let err = fails_with(&replaced("type = \"conv2d\"", "type = \"conv3d\""), &[]);
    assert_has(
        &err,
        &[
            "unknown value `conv3d`",
            "trunk.layers[0]",
            "did you mean `conv2d`?",
        ],
    );
}

#[test]
fn head_smaller_than_the_largest_label() {
    let err = fails_with(&replaced("classes = 10", "classes = 5"), &[]);
    assert_has(
        &err,
        &[
            "digits8x8.csv",
            "task `digit`",
            "labels up to 9",
            "classes = 5",
            "at least 10",
        ],
    );
}

#[test]
fn label_map_of_the_wrong_length() {
    let err = fails_with(
        &replaced(
            "map = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]",
            "map = [0, 1, 0, 1, 0, 1, 0, 1, 0]",
        ),
        &[],
    );
    assert_has(&err, &["tasks[1] (parity).map", "9 entries", "expected 10"]);
}

#[test]
fn csv_column_that_does_not_exist() {
    let err = fails_with(&replaced("label = \"digit\"", "label = \"digits\""), &[]);
    assert_has(
        &err,
        &[
            "digits8x8.csv",
            "tasks[0] (digit).label",
            "column `digits` does not exist",
            "did you mean `digit`?",
        ],
    );
}

#[test]
fn csv_cell_that_is_not_a_number() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("bad.csv");
    std::fs::write(&csv, "a,b,y\n1,2,0\n3,x7,1\n").unwrap();
    let toml = format!(
        "[experiment]\nname = \"bad\"\n[data]\nformat = \"csv\"\npath = \"{}\"\n[[trunk.layers]]\ntype = \"linear\"\nout = 2\n[[tasks]]\nname = \"y\"\nkind = \"binary\"\nlabel = \"y\"\n",
        csv.display()
    );
    let err = fails_with(&toml, &[]);
    assert_has(
        &err,
        &["bad.csv", "line 3", "column `b`", "`x7` is not a number"],
    );
}

#[test]
fn shape_mismatch_in_the_trunk() {
    // Drop the flatten: the linear layer then sees a [16, 4, 4] image.
    let err = fails_with(&replaced("[[trunk.layers]]\ntype = \"flatten\"\n", ""), &[]);
    assert_has(
        &err,
        &["trunk.layers[3] (linear 64)", "[16, 4, 4]", "flatten"],
    );
}

#[test]
fn trunk_input_that_does_not_match_the_data() {
    let err = fails_with(&replaced("input = [1, 8, 8]", "input = [1, 9, 9]"), &[]);
    assert_has(&err, &["trunk.input", "81", "64"]);
}

#[test]
fn output_folder_that_cannot_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = tmp.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let target = blocker.join("runs");
    let err = fails_with(
        &digits_toml(),
        &[
            "--set",
            &format!("experiment.output_dir=\"{}\"", target.display()),
        ],
    );
    assert_has(
        &err,
        &[
            "cannot create the output folder",
            &blocker.display().to_string(),
        ],
    );
    let _: &Path = &target;
}

#[test]
fn override_of_an_unknown_task() {
    let err = fails_with(&digits_toml(), &["--set", "tasks.digits.weight=2"]);
    assert_has(
        &err,
        &["--set", "tasks.digits.weight=2", "no list element `digits`"],
    );
}

#[test]
fn sizes_too_large_to_build() {
    let err = fails_with(&replaced("out = 64", "out = 4611686018427387904"), &[]);
    assert_has(
        &err,
        &[
            "trunk.layers[4] (linear).out",
            "4611686018427387904",
            "at most",
        ],
    );
}

#[test]
fn experiment_name_that_leaves_the_output_folder() {
    let err = fails_with(&replaced("name = \"digits8x8\"", "name = \"..\""), &[]);
    assert_has(
        &err,
        &["experiment.name", "`..`", "must not start with `.`"],
    );
}

#[test]
fn csv_cell_that_is_not_finite() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("nan.csv");
    std::fs::write(&csv, "a,y\n1,0\nNaN,1\n2,1\n").unwrap();
    let toml = format!(
        "[experiment]\nname = \"nan\"\n[data]\nformat = \"csv\"\npath = \"{}\"\n[[trunk.layers]]\ntype = \"linear\"\nout = 2\n[[tasks]]\nname = \"y\"\nkind = \"binary\"\nlabel = \"y\"\n",
        csv.display()
    );
    let err = fails_with(&toml, &[]);
    assert_has(&err, &["nan.csv", "line 3", "column `a`", "not a finite"]);
}

#[test]
fn no_test_split() {
    let err = fails_with(&replaced("test = 0.2", "test = 0"), &[]);
    assert_has(&err, &["data.split.test", "0 samples"]);
}

#[test]
fn a_bad_override_is_blamed_on_the_override() {
    let err = fails_with(&digits_toml(), &["--set", "train.epochs=abc"]);
    assert_has(
        &err,
        &["--set `train.epochs=abc`", "key `train.epochs`", "\"abc\""],
    );
}

#[test]
fn a_bad_label_in_a_separate_test_file_names_that_file() {
    let tmp = tempfile::tempdir().unwrap();
    let test_csv = tmp.path().join("test-split.csv");
    let digits =
        std::fs::read_to_string(crate_root().join("data/digits8x8/digits8x8.csv")).unwrap();
    let mut lines: Vec<String> = digits.lines().take(20).map(String::from).collect();
    let last = lines.last_mut().unwrap();
    *last = format!("{},12", last.rsplit_once(',').unwrap().0);
    std::fs::write(&test_csv, lines.join("\n")).unwrap();
    let toml = replaced(
        "path = \"data/digits8x8/digits8x8.csv\"",
        &format!(
            "path = \"data/digits8x8/digits8x8.csv\"\ntest_path = \"{}\"",
            test_csv.display()
        ),
    );
    let err = fails_with(&toml, &[]);
    assert_has(&err, &["test-split.csv", "labels up to 12"]);
}

#[test]
fn a_failed_run_leaves_earlier_results_as_they_were() {
    let tmp = tempfile::tempdir().unwrap();
    let out = format!("experiment.output_dir=\"{}\"", tmp.path().display());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "experiments/penguins.toml",
            "--set",
            &out,
            "--set",
            "train.epochs=3",
        ];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_mtl-run"))
            .args(&args)
            .current_dir(crate_root())
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let finished: Vec<PathBuf> = walk(tmp.path())
        .into_iter()
        .filter(|p| p.ends_with("metrics.csv") || p.ends_with("comparison.csv"))
        .collect();
    let before: Vec<Vec<u8>> = finished.iter().map(|p| std::fs::read(p).unwrap()).collect();
    // A learning rate this large sends every loss to NaN or infinity.
    let o = run(&["--set", "train.optimizer.lr=1e30"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stopped early"), "{err}");
    // The summary now describes the diverged point and says so ...
    let summary = std::fs::read_to_string(tmp.path().join("penguins/report.md")).unwrap();
    assert!(summary.contains("Stopped early"), "{summary}");
    // ... and every file of the earlier runs is as it was.
    for (p, b) in finished.iter().zip(&before) {
        if !p.parent().unwrap().ends_with("penguins") {
            assert_eq!(&std::fs::read(p).unwrap(), b, "{}", p.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_key_of_another_strategy_names_the_strategy() {
    let err = fails_with(
        &replaced(
            "[train]",
            "[weighting]\nstrategy = \"fixed\"\nalpha = 1.5\n\n[train]",
        ),
        &[],
    );
    assert_has(
        &err,
        &[
            "unknown key `alpha`",
            "weighting",
            "[weighting strategy `fixed`]",
        ],
    );
}

#[test]
fn gradnorm_settings_out_of_range() {
    let err = fails_with(
        &digits_toml(),
        &[
            "--set",
            "weighting.strategy=gradnorm",
            "--set",
            "weighting.alpha=-1",
        ],
    );
    assert_has(&err, &["weighting.alpha", "-1", "≥ 0"]);
    let err = fails_with(
        &digits_toml(),
        &[
            "--set",
            "weighting.strategy=gradnorm",
            "--set",
            "weighting.lr=0",
        ],
    );
    assert_has(&err, &["weighting.lr", "> 0"]);
}

#[test]
fn gradnorm_at_the_last_shared_layer_rejects_dropout_after_it() {
    let toml = replaced(
        "[[tasks]]",
        "[[trunk.layers]]\ntype = \"dropout\"\np = 0.5\n\n[[tasks]]",
    );
    let err = fails_with(&toml, &["--set", "weighting.strategy=gradnorm"]);
    assert_has(
        &err,
        &[
            "gradnorm",
            "trunk.layers[6] is a dropout",
            "on = \"representation\"",
        ],
    );
}

#[test]
fn a_task_weight_that_is_not_positive() {
    let err = fails_with(&digits_toml(), &["--set", "tasks.parity.weight=0"]);
    assert_has(&err, &["tasks[1] (parity).weight", "0", "> 0"]);
}

/// `digits8x8` with a `[sweep]` table (and whatever else `extra` adds to `[experiment]`).
fn with_sweep(sweep: &str) -> String {
    replaced("[data]", &format!("[sweep]\n{sweep}\n\n[data]"))
}

#[test]
fn a_sweep_key_that_is_not_a_config_path() {
    let err = fails_with(&with_sweep("\"train.epochz\" = [1, 2]"), &[]);
    assert_has(
        &err,
        &[
            "sweep value `train.epochz` = 1",
            "unknown key `epochz`",
            "did you mean `epochs`?",
        ],
    );
    let err = fails_with(&with_sweep("\"tasks.digits.weight\" = [1.0, 2.0]"), &[]);
    assert_has(&err, &["`tasks.digits.weight`", "no list element `digits`"]);
}

#[test]
fn a_sweep_value_of_the_wrong_type_names_its_point() {
    let err = fails_with(&with_sweep("\"train.epochs\" = [1, \"two\"]"), &[]);
    assert_has(
        &err,
        &[
            "sweep value `train.epochs` = \"two\"",
            "key `train.epochs`",
            "expected",
        ],
    );
}

#[test]
fn a_bad_sweep_table() {
    for (sweep, want) in [
        ("\"train.epochs\" = []", "`sweep.train.epochs`: the list is empty"),
        (
            "mode = \"zip\"\n\"train.epochs\" = [1, 2]\n\"train.batch_size\" = [8]",
            "every list needs the same length",
        ),
        ("\"train.epochs\" = 3", "expected a list of the values to try"),
        (
            "\"train.epochs\" = [1, 2]\nexclude = [{ \"train.epochs\" = 1 }, { \"train.epochs\" = 2 }]",
            "every point of the sweep is excluded",
        ),
        ("\"train.epochs\" = [1, 1]", "give the same config"),
        ("\"experiment.seed\" = [1, 2]", "`experiment.seeds = [0, 1, 2]`"),
    ] {
        let err = fails_with(&with_sweep(sweep), &[]);
        assert_has(&err, &[want]);
    }
}

#[test]
fn a_swept_key_cannot_also_be_set() {
    let err = fails_with(
        &with_sweep("\"train.epochs\" = [1, 2]"),
        &["--set", "train.epochs=3"],
    );
    assert_has(&err, &["--set", "`train.epochs` is swept"]);
}

#[test]
fn seeds_listed_twice_or_none() {
    let err = fails_with(&replaced("seed = 0", "seeds = [0, 1, 0]"), &[]);
    assert_has(&err, &["key `experiment.seeds`", "seed 0 is listed twice"]);
    let err = fails_with(&replaced("seed = 0", "seeds = []"), &[]);
    assert_has(&err, &["key `experiment.seeds`", "empty"]);
}

#[test]
fn report_of_a_folder_that_is_not_an_experiment() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args(["report", &tmp.path().display().to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_has(
        &err,
        &[&tmp.path().display().to_string(), "no points.csv here"],
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn an_integer_too_large_for_toml() {
    // --set reads TOML, whose integers stop at 2^63 − 1: the value is a string there.
    let err = fails_with(
        &digits_toml(),
        &["--set", "train.log_every=9223372036854775808"],
    );
    assert_has(&err, &["key `train.log_every`", "expected an integer ≥ 0"]);
    // The environment reads it as a number, which resolved.toml could not hold.
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args(["experiments/digits8x8.toml", "--set"])
        .arg(format!(
            "experiment.output_dir=\"{}\"",
            tmp.path().display()
        ))
        .env("MTL_TRAIN__LOG_EVERY", "9223372036854775808")
        .current_dir(crate_root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && !err.contains("panicked"), "{err}");
    assert_has(
        &err,
        &[
            "key `train.log_every`: 9223372036854775808",
            "at most 9223372036854775807",
        ],
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_swept_key_cannot_be_set_under_another_spelling() {
    let sweep = with_sweep("\"tasks.parity.weight\" = [0.5, 1.0]");
    for set in ["tasks.1.weight=2.0", "tasks.parity={name=\"parity\"}"] {
        let err = fails_with(&sweep, &["--set", set]);
        assert_has(&err, &[set, "`tasks.parity.weight` is swept"]);
    }
}

#[test]
fn an_exclude_that_matches_no_point() {
    let err = fails_with(
        &with_sweep("\"train.epochs\" = [1, 2]\nexclude = [{ \"train.epochs\" = 2.5 }]"),
        &[],
    );
    assert_has(&err, &["sweep.exclude[0]", "not one of its swept values"]);
    let err = fails_with(
        &with_sweep(
            "mode = \"zip\"\n\"train.epochs\" = [1, 2]\n\"train.batch_size\" = [8, 16]\nexclude = [{ \"train.epochs\" = 1, \"train.batch_size\" = 16 }]",
        ),
        &[],
    );
    assert_has(&err, &["sweep.exclude[0]", "matches no point of the sweep"]);
}

/// `file` (a shipped experiment) with `from` replaced by `to` once.
fn shipped_with(file: &str, from: &str, to: &str) -> String {
    let t = std::fs::read_to_string(crate_root().join(file)).unwrap();
    assert!(t.contains(from), "{file} has `{from}`");
    t.replacen(from, to, 1)
}

const MULTIMNIST: &str = "experiments/multimnist-small.toml";

#[test]
fn a_plugin_that_is_not_linked_lists_the_names_there_are() {
    let toml = shipped_with(
        MULTIMNIST,
        "format = \"multimnist\"",
        "format = \"multimnst\"",
    );
    let err = fails_with(&toml, &[]);
    assert_has(
        &err,
        &[
            "key `data.format`",
            "unknown data source `multimnst`",
            "`idx`, `csv`, `synthetic`, `gradnorm_toy`, `multimnist`, `colored-mnist`",
            "did you mean `multimnist`?",
            "src/plugins.rs",
        ],
    );
    let toml = shipped_with(
        "experiments/diamonds.toml",
        "kind = \"ordinal\"",
        "kind = \"ordinl\"",
    );
    let err = fails_with(&toml, &[]);
    assert_has(
        &err,
        &["unknown task kind `ordinl`", "`ordinal`", "tasks[1] (cut)"],
    );
}

#[test]
fn a_plugin_option_is_named_with_its_plugin() {
    let err = fails_with(
        &shipped_with(MULTIMNIST, "pairing_seed = 0", "pairing_sed = 0"),
        &[],
    );
    assert_has(
        &err,
        &[
            "unknown key `pairing_sed` in `data`",
            "did you mean `pairing_seed`?",
            "[data source `multimnist`]",
        ],
    );
    let err = fails_with(
        &shipped_with(MULTIMNIST, "pairing_seed = 0", "pairing_seed = \"zero\""),
        &[],
    );
    assert_has(
        &err,
        &[
            "key `data.pairing_seed`",
            "\"zero\"",
            "expected an integer",
            "[data source `multimnist`]",
        ],
    );
    let err = fails_with(
        &shipped_with(
            "experiments/colored-mnist.toml",
            "colors = 4 ",
            "colors = 20 ",
        ),
        &[],
    );
    assert_has(
        &err,
        &[
            "key `data.colors` (data source `colored-mnist`)",
            "20",
            "expected 2 to 12",
        ],
    );
    let err = fails_with(
        &shipped_with("experiments/diamonds.toml", "classes = 5", "classes = 2"),
        &[],
    );
    assert_has(
        &err,
        &[
            "key `tasks[1] (cut).classes` (task kind `ordinal`)",
            "2, expected at least 3",
        ],
    );
}

#[test]
fn plugin_labels_outside_the_head_are_caught_before_training() {
    // MultiMNIST's `left` column holds digits 0..=9.
    let err = fails_with(
        &shipped_with(MULTIMNIST, "classes = 10", "classes = 5"),
        &[],
    );
    assert_has(
        &err,
        &[
            "data/mnist10k/labels-idx1-ubyte.gz",
            "task `left`",
            "labels up to 9",
            "set `tasks[0] (left).classes` to at least 10",
        ],
    );
    // Diamonds' cut has 5 grades; an ordinal head for 4 cannot hold them.
    let err = fails_with(
        &shipped_with("experiments/diamonds.toml", "classes = 5", "classes = 4"),
        &[],
    );
    assert_has(&err, &["diamonds.csv", "task `cut`", "labels up to 4"]);
}

#[test]
fn a_plugin_metric_on_the_wrong_kind_of_task() {
    let err = fails_with(
        &shipped_with(
            "experiments/diamonds.toml",
            "transform = \"log\"",
            "transform = \"log\"\nmetrics = [\"balanced_accuracy\"]",
        ),
        &[],
    );
    assert_has(
        &err,
        &[
            "key `tasks[0] (log_price).metrics`",
            "`balanced_accuracy` does not apply to a regression task",
            "`rmse`, `mae`, `r2`",
        ],
    );
}

#[test]
fn a_head_holds_only_layers_of_vectors() {
    let head = "head = [{ type = \"linear\", out = 50 }";
    let err = fails_with(
        &shipped_with(MULTIMNIST, head, "head = [{ type = \"flatten\" }"),
        &[],
    );
    assert_has(
        &err,
        &[
            "tasks[0] (left).head[0] (flatten)",
            "linear, relu, tanh, sigmoid or dropout",
        ],
    );
    let err = fails_with(
        &shipped_with(MULTIMNIST, head, "head = [{ type = \"linear\", out = 0 }"),
        &[],
    );
    assert_has(
        &err,
        &[
            "key `tasks[0] (left).head[0] (linear).out`",
            "0, expected at least 1",
        ],
    );
}

/// A plain IDX file: big-endian magic (unsigned bytes, `dims.len()`
/// dimensions), the dimensions, then `data`.
fn write_idx(path: &Path, dims: &[u32], data: &[u8]) {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_test_set_of_another_image_size_is_refused_before_training() {
    // Before this check, smaller test images panicked in batch assembly and
    // larger ones were silently read as misaligned 28 × 28 images.
    let tmp = tempfile::tempdir().unwrap();
    for (side, name) in [(8u32, "small"), (30, "wide")] {
        let images = tmp.path().join(format!("{name}-images.idx"));
        let labels = tmp.path().join(format!("{name}-labels.idx"));
        write_idx(&images, &[20, 28, side], &vec![7; 20 * 28 * side as usize]);
        write_idx(&labels, &[20], &[3; 20]);
        let toml = shipped_with(
            "experiments/colored-mnist.toml",
            "color_seed = 0",
            &format!(
                "color_seed = 0\ntest_images = \"{}\"\ntest_labels = \"{}\"",
                images.display(),
                labels.display()
            ),
        );
        let err = fails_with(&toml, &[]);
        assert_has(
            &err,
            &[
                &format!("{name}-images.idx"),
                &format!("the test samples have shape [3, 28, {side}]"),
                "training samples [3, 28, 28]",
            ],
        );
    }
}

#[test]
fn label_errors_name_the_labels_file() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = tmp.path().join("labels.idx");
    let mut values = vec![1u8; 10_000];
    values[17] = 12;
    write_idx(&labels, &[10_000], &values);
    let toml = shipped_with(
        MULTIMNIST,
        "labels = \"data/mnist10k/labels-idx1-ubyte.gz\"",
        &format!("labels = \"{}\"", labels.display()),
    );
    let err = fails_with(&toml, &[]);
    assert_has(&err, &["labels.idx", "labels up to 12", "at least 13"]);
}

#[test]
fn a_metric_listed_twice_or_transform_with_map() {
    let err = fails_with(
        &shipped_with(
            "experiments/diamonds.toml",
            "metrics = [\"macro_f1\", \"balanced_accuracy\"]",
            "metrics = [\"macro_f1\", \"macro_f1\"]",
        ),
        &[],
    );
    assert_has(
        &err,
        &["key `tasks[1] (cut).metrics`", "`macro_f1` is listed twice"],
    );
    let err = fails_with(
        &shipped_with(
            "experiments/diamonds.toml",
            "transform = \"log\"",
            "transform = \"log\"\nmap = [1, 2]",
        ),
        &[],
    );
    assert_has(
        &err,
        &["key `tasks[0] (log_price).transform`", "cannot be combined"],
    );
}

/// This test binary is built without the `cuda` feature (the suite's build):
/// asking for CUDA says how to get a build that has it.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_in_a_build_without_it_says_how_to_build_one() {
    for (toml, extra) in [
        (digits_toml(), &["--device", "cuda"][..]),
        (
            replaced("epochs = 10", "epochs = 10\ndevice = \"cuda\""),
            &[][..],
        ),
    ] {
        let err = fails_with(&toml, extra);
        assert_has(
            &err,
            &[
                "key `train.device`",
                "built without CUDA",
                "scripts/build-cuda.sh",
                "--features cuda",
            ],
        );
    }
}

#[test]
fn an_unknown_device_is_told_the_devices() {
    for (value, found) in [("\"gpu\"", "\"gpu\""), ("1", "`1`")] {
        let err = fails_with(
            &replaced("epochs = 10", &format!("epochs = 10\ndevice = {value}")),
            &[],
        );
        assert_has(
            &err,
            &["key `train.device`", found, "expected \"cpu\" or \"cuda\""],
        );
        assert!(!err.contains("did you mean"), "{err}");
    }
}
