//! Sweeps as Slurm job arrays, against a real Slurm: a sweep submitted with
//! `mtl-run slurm --submit` gives the same summary.csv as the same sweep run
//! locally, and a killed array task is trained again, alone, on resubmission.
//!
//! These need a Slurm to submit to: `.ci/run` starts a single-node one on
//! loopback (`scripts/slurm-local.sh`), exports its `SLURM_CONF` and sets
//! `REQUIRE_SLURM=1`, so there they fail rather than skip. Elsewhere, with no
//! `SLURM_CONF`, they say they were skipped. The bad-input tests at the end
//! need no Slurm.

mod common;
use common::{crate_root, mtl_run};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// One node with few CPUs: the Slurm tests take turns.
static SLURM: Mutex<()> = Mutex::new(());

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Whether a Slurm answers here; panics if one is required and does not.
fn slurm_available(test: &str) -> bool {
    let answers = std::env::var_os("SLURM_CONF").is_some()
        && Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success());
    if !answers {
        assert!(
            std::env::var_os("REQUIRE_SLURM").is_none(),
            "{test}: REQUIRE_SLURM is set but no Slurm answers (SLURM_CONF={:?}); start one with scripts/slurm-local.sh",
            std::env::var("SLURM_CONF")
        );
        eprintln!("{test}: skipped, no Slurm here (SLURM_CONF unset or sinfo fails)");
    }
    answers
}

/// `digits8x8` swept over two strategies, one compute thread per run.
fn sweep_args(out: &Path, seeds: &str, epochs: usize) -> Vec<String> {
    [
        "experiments/digits8x8.toml",
        "--set",
        &format!("experiment.output_dir=\"{}\"", out.display()),
        "--set",
        &format!("experiment.seeds={seeds}"),
        "--set",
        "sweep={ \"weighting.strategy\" = [\"fixed\", \"uncertainty\"] }",
        "--set",
        &format!("train.epochs={epochs}"),
        "--set",
        "train.threads=1",
    ]
    .map(String::from)
    .to_vec()
}

/// `mtl-run slurm ARGS --submit`; the array and report job ids it printed.
fn submit(args: &[String], extra: &[&str]) -> (String, String) {
    let mut all = vec!["slurm".to_string()];
    all.extend(args.iter().cloned());
    all.extend(extra.iter().map(|s| s.to_string()));
    all.push("--submit".into());
    let o = mtl_run(&all);
    let out = text(&o);
    assert!(o.status.success(), "mtl-run slurm --submit failed:\n{out}");
    submitted_ids(&out)
}

/// The ids in "submitted array job A … and report job R".
fn submitted_ids(out: &str) -> (String, String) {
    let after = |text: &str, key: &str| {
        let at = text
            .find(key)
            .unwrap_or_else(|| panic!("no {key:?} in:\n{out}"));
        let rest = &text[at + key.len()..];
        (
            rest.split_whitespace().next().unwrap().to_string(),
            at + key.len(),
        )
    };
    let (array, at) = after(out, "submitted array job ");
    let (report, _) = after(&out[at..], "report job ");
    (array, report)
}

/// Waits (at most `limit`) until none of `jobs` is queued or running.
fn wait_for(jobs: &[&str], limit: Duration) {
    let started = Instant::now();
    loop {
        let o = Command::new("squeue")
            .args(["-h", "-o", "%i %T", "-j", &jobs.join(",")])
            .output()
            .expect("squeue starts");
        let listed = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let err = String::from_utf8_lossy(&o.stderr);
        // Ended jobs stay known to the controller for MinJobAge (300 s), far
        // longer than these tests: an invalid id is a wrong id here.
        if o.status.success() && listed.is_empty() {
            return;
        }
        assert!(o.status.success(), "squeue -j {jobs:?}: {err}");
        assert!(
            started.elapsed() < limit,
            "jobs {jobs:?} still in the queue after {limit:?}:\n{listed}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn experiment_dir(out: &Path) -> PathBuf {
    out.join("digits8x8")
}

/// The distinct run folders of runs.csv, in order (the array's order).
fn run_folders(dir: &Path) -> Vec<PathBuf> {
    let mut r = csv::Reader::from_path(dir.join("runs.csv")).unwrap();
    let mut folders: Vec<PathBuf> = Vec::new();
    for rec in r.records() {
        let f = dir.join(&rec.unwrap()[3]);
        if !folders.contains(&f) {
            folders.push(f);
        }
    }
    folders
}

/// What `mtl-run slurm --status DIR` prints (it must succeed).
fn status_of(dir: &Path) -> String {
    let o = mtl_run(&["slurm".into(), "--status".into(), dir.display().to_string()]);
    let status = text(&o);
    assert!(o.status.success(), "{status}");
    status
}

fn modified(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_sweep_through_slurm_gives_the_summary_of_the_same_sweep_run_locally() {
    if !slurm_available("slurm agreement") {
        return;
    }
    let _turn = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("slurm"));

    let o = mtl_run(&sweep_args(&local, "[0, 1]", 1));
    assert!(o.status.success(), "local sweep:\n{}", text(&o));

    let args = sweep_args(&cluster, "[0, 1]", 1);
    let (array, report) = submit(&args, &["--cpus-per-task", "1"]);
    wait_for(&[&array, &report], Duration::from_secs(300));

    let dir = experiment_dir(&cluster);
    // 2 strategies × 2 seeds, and 3 baselines × 2 seeds shared by both strategies.
    let folders = run_folders(&dir);
    assert_eq!(folders.len(), 10);
    for f in &folders {
        assert!(f.join("metrics.csv").exists(), "{} unfinished", f.display());
        assert!(!f.join("running.txt").exists(), "{}", f.display());
    }
    let logs = std::fs::read_dir(dir.join("slurm/logs")).unwrap().count();
    assert_eq!(logs, 11, "one log per array task and one of the report job");
    for file in ["summary.csv", "comparison.csv"] {
        let (a, b) = (
            std::fs::read_to_string(experiment_dir(&local).join(file)).unwrap(),
            std::fs::read_to_string(dir.join(file)).unwrap(),
        );
        assert!(a.lines().count() > 1, "{file} has rows");
        assert_eq!(a, b, "{file}: local and Slurm runs differ");
    }

    let status = status_of(&dir);
    assert!(
        status.contains("10 finished, 0 running, 0 queued, 0 missing"),
        "{status}"
    );
}

#[test]
fn a_killed_array_task_is_missing_and_resubmitting_trains_only_it() {
    if !slurm_available("slurm kill and resubmit") {
        return;
    }
    let _turn = SLURM.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs");
    // Long enough runs to be caught mid-run; one at a time, in order.
    let args = sweep_args(&out, "[0]", 300);
    let (array, report) = submit(&args, &["--cpus-per-task", "1", "--max-parallel", "1"]);
    let dir = experiment_dir(&out);
    let folders = run_folders(&dir);
    assert_eq!(folders.len(), 5, "2 strategies and 3 shared baselines");

    // Kill run 1 once it has started training.
    let started = Instant::now();
    while !folders[0].join("running.txt").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "run 1 never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = Command::new("scancel")
        .arg(format!("{array}_1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "scancel: {}", text(&o));
    let gone = Instant::now();
    while !Command::new("squeue")
        .args(["-h", "-j", &format!("{array}_1")])
        .output()
        .unwrap()
        .stdout
        .is_empty()
    {
        assert!(
            gone.elapsed() < Duration::from_secs(60),
            "task 1 never left the queue"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !folders[0].join("metrics.csv").exists(),
        "run 1 was killed before it finished"
    );
    let status = status_of(&dir);
    assert!(
        status.contains(&format!("left unfinished by Slurm job {array}_1")),
        "{status}"
    );

    // Submitting again while runs 2-5 are queued or running asks for run 1 alone.
    let mut all = vec!["slurm".to_string()];
    all.extend(args.iter().cloned());
    all.extend(["--cpus-per-task", "1", "--max-parallel", "1", "--submit"].map(String::from));
    let o = mtl_run(&all);
    let said = text(&o);
    assert!(o.status.success(), "{said}");
    assert!(said.contains("(runs 1)"), "{said}");
    assert!(
        said.contains("left out 4 unfinished run(s) that are queued or running already"),
        "{said}"
    );
    let (second, second_report) = submitted_ids(&said);
    wait_for(
        &[&array, &report, &second, &second_report],
        Duration::from_secs(300),
    );
    let status = status_of(&dir);
    assert!(
        status.contains("5 finished, 0 running, 0 queued, 0 missing"),
        "{status}"
    );
    let log = std::fs::read_to_string(dir.join(format!("slurm/logs/{second}_1.out"))).unwrap();
    assert!(
        log.contains("run 1 (") && log.contains(") trained"),
        "{log}"
    );

    // Resubmit the very same scripts: every task starts, none trains again.
    let before: Vec<SystemTime> = folders
        .iter()
        .map(|f| modified(&f.join("metrics.csv")))
        .collect();
    let o = Command::new("sh")
        .arg(dir.join("slurm/submit.sh"))
        .output()
        .unwrap();
    let said = text(&o);
    assert!(o.status.success(), "submit.sh: {said}");
    let (again, again_report) = submitted_ids(&said);
    wait_for(&[&again, &again_report], Duration::from_secs(300));
    let after: Vec<SystemTime> = folders
        .iter()
        .map(|f| modified(&f.join("metrics.csv")))
        .collect();
    assert_eq!(before, after, "finished runs are not trained again");
    for k in 1..=5 {
        let log = std::fs::read_to_string(dir.join(format!("slurm/logs/{again}_{k}.out"))).unwrap();
        assert!(
            log.contains("had finished earlier; skipped"),
            "task {k}: {log}"
        );
    }
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.lines().count() > 1, "{summary}");
}

/// A copy of digits8x8 in its own folder, so its runs go there.
fn fixture(dir: &Path, extra: &str) -> PathBuf {
    let text = std::fs::read_to_string(crate_root().join("experiments/digits8x8.toml"))
        .unwrap()
        .replace(
            "data/digits8x8",
            &crate_root().join("data/digits8x8").display().to_string(),
        )
        .replace(
            "[experiment]\n",
            &format!(
                "[experiment]\noutput_dir = \"{}\"\n",
                dir.join("runs").display()
            ),
        );
    let path = dir.join("exp.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    path
}

fn slurm_cmd(file: &Path, path_env: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["slurm".to_string(), file.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args(&args)
        .current_dir(file.parent().unwrap())
        .env("PATH", path_env)
        .output()
        .unwrap()
}

#[test]
fn without_sbatch_the_scripts_are_written_and_the_message_says_why_not_submitted() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture(
        tmp.path(),
        "[slurm]\npartition = \"cpu\"\ntime = \"00:10:00\"\n",
    );
    let empty = tmp.path().join("no-bin");
    std::fs::create_dir(&empty).unwrap();
    let o = slurm_cmd(&file, &empty, &["--submit", "--mem", "2G"]);
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    let script = tmp.path().join("runs/digits8x8/slurm/array.sbatch");
    assert!(
        said.contains(&format!(
            "{}: written, but not submitted: `sbatch` is not on PATH",
            script.display()
        )),
        "{said}"
    );
    let written = std::fs::read_to_string(&script).unwrap();
    for line in [
        "#SBATCH --array=1-4\n", // one point: 1 multi-task model and 3 baselines
        "#SBATCH --partition=cpu\n",
        "#SBATCH --time=00:10:00\n",
        "#SBATCH --mem=2G\n",
        "#SBATCH --cpus-per-task=1\n", // always asked, so Slurm sets SLURM_CPUS_PER_TASK
    ] {
        assert!(written.contains(line), "{line:?} not in\n{written}");
    }
    assert!(tmp.path().join("runs/digits8x8/runs.csv").exists());
    assert!(!tmp.path().join("runs/digits8x8/slurm/jobs.txt").exists());
}

#[test]
fn an_sbatch_refusal_is_shown_verbatim_with_the_scripts_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture(tmp.path(), "");
    // A stand-in for sbatch that refuses as Slurm does for a bad partition.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("sbatch");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'sbatch: error: invalid partition specified: nosuch' >&2\necho 'sbatch: error: Batch job submission failed: Invalid partition name specified' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let o = slurm_cmd(&file, &bin, &["--submit", "--partition", "nosuch"]);
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    let script = tmp.path().join("runs/digits8x8/slurm/array.sbatch");
    assert!(said.contains(&script.display().to_string()), "{said}");
    assert!(said.contains("sbatch refused it"), "{said}");
    assert!(
        said.contains("sbatch: error: invalid partition specified: nosuch\nsbatch: error: Batch job submission failed: Invalid partition name specified"),
        "{said}"
    );
}

#[test]
fn bad_slurm_settings_name_the_key_and_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let path = Path::new("/usr/bin:/bin");
    for (extra, args, expected) in [
        (
            "[slurm]\ncpus = 2\n",
            &[][..],
            "unknown key `cpus` in `slurm`",
        ),
        (
            "[slurm]\ncpus_per_task = 0\n",
            &[][..],
            "key `slurm.cpus_per_task`: 0, expected at least 1",
        ),
        (
            "[slurm]\ntime = \"1 hour\"\n",
            &[][..],
            "key `slurm.time`: \"1 hour\", expected one word",
        ),
        (
            "",
            &["--sbatch", "account=lab"][..],
            "the command line: option `--sbatch`: \"account=lab\", expected one sbatch option",
        ),
        (
            "",
            &["--cpus-per-task", "0"][..],
            "the command line: option `--cpus-per-task`: 0, expected at least 1",
        ),
        (
            "[slurm]\nextra = [\"--qos=low\", \"qos\"]\n",
            &[][..],
            "key `slurm.extra[1]`: \"qos\"",
        ),
    ] {
        let file = fixture(tmp.path(), extra);
        let o = slurm_cmd(&file, path, args);
        let said = text(&o);
        assert!(!o.status.success(), "{extra}{args:?}: {said}");
        assert!(said.contains(expected), "{extra}{args:?}: {said}");
        if args.is_empty() {
            assert!(said.contains("exp.toml"), "names the file: {said}");
        }
    }
}

#[test]
fn a_plan_with_other_runs_is_refused_while_runs_of_the_earlier_one_are_held() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture(tmp.path(), "");
    let no_slurm = tmp.path().join("no-bin");
    std::fs::create_dir(&no_slurm).unwrap();
    let o = slurm_cmd(&file, &no_slurm, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let dir = tmp.path().join("runs/digits8x8");
    let first = run_folders(&dir)[0].clone();
    std::fs::create_dir_all(&first).unwrap();
    // Run 1 is being trained by a live process on this host.
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::write(
        first.join("running.txt"),
        format!("host={}\npid={}\n", hostname(), sleeper.id()),
    )
    .unwrap();
    let o = slurm_cmd(&file, &no_slurm, &["--set", "experiment.seeds=[0, 1]"]);
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    assert!(
        said.contains(
            "1 run(s) of an earlier submission with other runs are still queued or running"
        ),
        "{said}"
    );
    // The same plan may be written again.
    let o = slurm_cmd(&file, &no_slurm, &[]);
    assert!(o.status.success(), "{}", text(&o));
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let o = slurm_cmd(&file, &no_slurm, &["--set", "experiment.seeds=[0, 1]"]);
    assert!(o.status.success(), "once it has ended: {}", text(&o));
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn a_results_path_sbatch_cannot_carry_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture(tmp.path(), "");
    let out = tmp.path().join("50%");
    let o = slurm_cmd(
        &file,
        Path::new("/usr/bin:/bin"),
        &[
            "--set",
            &format!("experiment.output_dir=\"{}\"", out.display()),
        ],
    );
    let said = text(&o);
    assert!(!o.status.success(), "{said}");
    assert!(
        said.contains("which an #SBATCH line cannot carry"),
        "{said}"
    );
    assert!(!out.exists(), "nothing written: {said}");
}

#[test]
fn run_k_out_of_range_says_how_many_runs_there_are() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture(tmp.path(), "");
    let o = Command::new(env!("CARGO_BIN_EXE_mtl-run"))
        .args([file.display().to_string(), "--run".into(), "9".into()])
        .output()
        .unwrap();
    let said = text(&o);
    assert!(!o.status.success());
    assert!(
        said.contains("--run 9: this experiment has 4 run(s), numbered 1 to 4"),
        "{said}"
    );
    assert!(!tmp.path().join("runs").exists(), "nothing written: {said}");
}
