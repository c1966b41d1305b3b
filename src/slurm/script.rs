//! The text of the sbatch scripts `mtl-run slurm` writes.

use crate::config::SlurmConfig;
use std::path::PathBuf;

/// What the scripts name: absolute paths, so they run from anywhere.
pub(super) struct Context {
    pub name: String,
    pub exe: PathBuf,
    /// The tasks' copy of the experiment file (`slurm/experiment.toml`).
    pub file: PathBuf,
    /// The folder `mtl-run slurm` ran in: relative paths in the TOML
    /// (data, `output_dir`) resolve from it, as in a local run.
    pub workdir: PathBuf,
    pub slurm_dir: PathBuf,
    pub experiment_dir: PathBuf,
    pub overrides: Vec<String>,
    /// `MTL_*` overrides in the environment of `mtl-run slurm`, set again in each task.
    pub environment: Vec<(String, String)>,
    pub runs: usize,
    pub resources: SlurmConfig,
}

/// One array task per run: task K trains run K.
pub(super) fn array(c: &Context) -> String {
    let throttle = c
        .resources
        .max_parallel
        .map_or(String::new(), |n| format!("%{n}"));
    let mut text = format!(
        "#!/bin/bash\n\
         # Written by `mtl-run slurm` for the experiment `{name}` ({file}).\n\
         # One array task per run: task K trains run K of `mtl-run FILE --dry-run`.\n\
         # A finished run is skipped and an unfinished one trained again from its\n\
         # start, so submitting this script again trains only what is missing.\n",
        name = c.name,
        file = c.file.display(),
    );
    text.push_str(&format!("#SBATCH --job-name=mtl-{}\n", c.name));
    text.push_str(&format!("#SBATCH --array=1-{}{throttle}\n", c.runs));
    text.push_str(&format!(
        "#SBATCH --output={}\n",
        value(&c.slurm_dir.join("logs/%A_%a.out"))
    ));
    text.push_str(&resource_lines(c, c.resources.cpus_per_task));
    text.push_str("\nset -eu\n");
    for (k, v) in &c.environment {
        text.push_str(&format!("export {k}={}\n", quote(v)));
    }
    let mut command = vec![
        quote(&c.exe.display().to_string()),
        quote(&c.file.display().to_string()),
        "--run".into(),
        "\"$SLURM_ARRAY_TASK_ID\"".into(),
    ];
    for o in &c.overrides {
        command.push("--set".into());
        command.push(quote(o));
    }
    text.push_str(&format!("exec {}\n", command.join(" ")));
    text
}

/// Rebuilds the summaries and the report once the array has ended.
pub(super) fn report(c: &Context) -> String {
    let mut text = format!(
        "#!/bin/bash\n\
         # Written by `mtl-run slurm` for the experiment `{name}`: rebuilds\n\
         # summary.csv, comparison.csv and report.md once the runs' array has ended.\n",
        name = c.name
    );
    text.push_str(&format!("#SBATCH --job-name=mtl-{}-report\n", c.name));
    text.push_str(&format!(
        "#SBATCH --output={}\n",
        value(&c.slurm_dir.join("logs/report-%j.out"))
    ));
    text.push_str(&resource_lines(c, Some(1)));
    text.push_str(&format!(
        "\nset -eu\nexec {} report {}\n",
        quote(&c.exe.display().to_string()),
        quote(&c.experiment_dir.display().to_string())
    ));
    text
}

/// Submits the array, then the report job once the array has ended; for
/// submitting by hand (`mtl-run slurm --submit` does the same, asking only
/// for the missing runs).
pub(super) fn submit() -> String {
    "#!/bin/sh\n\
     # Written by `mtl-run slurm`: submits every run (finished ones are skipped\n\
     # in a second), then the report once they have ended, however they ended.\n\
     set -eu\n\
     cd \"$(dirname \"$0\")\"\n\
     array=$(sbatch --parsable array.sbatch)\n\
     array=${array%%;*}\n\
     report=$(sbatch --parsable --dependency=afterany:\"$array\" report.sbatch)\n\
     report=${report%%;*}\n\
     echo \"array=$array report=$report runs=all\" >>jobs.txt\n\
     echo \"submitted array job $array and report job $report\"\n"
        .to_string()
}

/// The `#SBATCH` lines both scripts share.
fn resource_lines(c: &Context, cpus: Option<u32>) -> String {
    let r = &c.resources;
    let mut lines = vec![format!("--chdir={}", value(&c.workdir))];
    if let Some(cpus) = cpus {
        lines.push(format!("--cpus-per-task={cpus}"));
    }
    for (key, value) in [
        ("partition", &r.partition),
        ("time", &r.time),
        ("mem", &r.mem),
    ] {
        if let Some(v) = value {
            lines.push(format!("--{key}={v}"));
        }
    }
    for extra in &r.extra {
        lines.push(extra.trim_start_matches("#SBATCH").trim().to_string());
    }
    lines.iter().map(|l| format!("#SBATCH {l}\n")).collect()
}

/// A path as an #SBATCH value: double-quoted, since sbatch splits its lines
/// at whitespace and ends them at `#` outside double quotes (paths holding
/// `"`, `\\` or `%` are refused before this).
fn value(p: &std::path::Path) -> String {
    format!("\"{}\"", p.display())
}

/// `s` as one single-quoted shell word.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            name: "sweep".into(),
            exe: "/opt/mtl/mtl-run".into(),
            file: "/home/me/exp's.toml".into(),
            workdir: "/home/me".into(),
            slurm_dir: "/home/me/runs/sweep/slurm".into(),
            experiment_dir: "/home/me/runs/sweep".into(),
            overrides: vec!["train.epochs=1".into()],
            environment: vec![("MTL_TRAIN__LR".into(), "0.1".into())],
            runs: 6,
            resources: SlurmConfig {
                partition: Some("cpu".into()),
                cpus_per_task: Some(2),
                max_parallel: Some(3),
                extra: vec!["#SBATCH --account=lab".into(), "--qos=low".into()],
                ..SlurmConfig::default()
            },
        }
    }

    #[test]
    fn the_array_script_runs_task_k_as_run_k_with_the_overrides() {
        let text = array(&context());
        for line in [
            "#SBATCH --job-name=mtl-sweep\n",
            "#SBATCH --array=1-6%3\n",
            "#SBATCH --output=\"/home/me/runs/sweep/slurm/logs/%A_%a.out\"\n",
            "#SBATCH --chdir=\"/home/me\"\n",
            "#SBATCH --cpus-per-task=2\n",
            "#SBATCH --partition=cpu\n",
            "#SBATCH --account=lab\n",
            "#SBATCH --qos=low\n",
            "export MTL_TRAIN__LR='0.1'\n",
            "exec '/opt/mtl/mtl-run' '/home/me/exp'\\''s.toml' --run \"$SLURM_ARRAY_TASK_ID\" --set 'train.epochs=1'\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from:\n{text}");
        }
        assert!(
            !text.contains("--time"),
            "unset keys are left to the cluster"
        );
        // sbatch stops reading #SBATCH lines at the first command.
        let first_command = text.find("\nset -eu").unwrap();
        assert!(text.rfind("#SBATCH").unwrap() < first_command);
    }

    #[test]
    fn the_report_script_rebuilds_the_experiment_folder_on_one_cpu() {
        let text = report(&context());
        assert!(text.contains("#SBATCH --cpus-per-task=1\n"), "{text}");
        assert!(text.contains("exec '/opt/mtl/mtl-run' report '/home/me/runs/sweep'\n"));
        assert!(!text.contains("--array"));
    }

    #[test]
    fn paths_with_spaces_quotes_or_hashes_are_double_quoted_in_sbatch_lines() {
        let mut c = context();
        c.workdir = "/home/my files #2".into();
        c.slurm_dir = "/home/it's/slurm".into();
        let text = array(&c);
        assert!(
            text.contains("#SBATCH --chdir=\"/home/my files #2\"\n"),
            "{text}"
        );
        assert!(
            text.contains("#SBATCH --output=\"/home/it's/slurm/logs/%A_%a.out\"\n"),
            "{text}"
        );
    }
}
