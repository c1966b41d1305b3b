//! Sweeps as Slurm job arrays, with no change to their TOML.
//!
//! `mtl-run slurm FILE` plans the experiment as a local run would, writes
//! its manifest and, under `<experiment>/slurm/`, two sbatch scripts: an
//! array with one task per run (task K runs `mtl-run FILE --run K`, the
//! K-th run `--dry-run` lists, shared single-task baselines once each) and
//! a report job that rebuilds the summaries once the array has ended,
//! however it ended. Runs write into the same folders, with the same atomic
//! writes, as local runs; a finished run is skipped, so resubmitting trains
//! only what is missing. See docs/slurm.md.

mod script;
mod status;
mod submit;

pub use status::status;
pub use submit::{Submission, Submitted};

use crate::config::{validate_slurm, SlurmConfig};
use crate::error::{Error, Result};
use crate::run::{plan_file, DataCache};
use std::path::{Path, PathBuf};

/// What `mtl-run slurm` was asked.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--set` overrides, for the plan and for every array task.
    pub overrides: Vec<String>,
    /// Resources from the command line; each set one wins over `[slurm]`.
    pub resources: SlurmConfig,
    pub submit: bool,
}

/// The scripts written for one experiment.
#[derive(Debug)]
pub struct Scripts {
    pub experiment_dir: PathBuf,
    pub array: PathBuf,
    pub report: PathBuf,
    pub submit: PathBuf,
    /// Runs in the array, and those of them not finished yet (1-based).
    pub runs: usize,
    pub missing: Vec<usize>,
    /// `[slurm]` with the command line's resources applied.
    pub resources: SlurmConfig,
}

/// Plans `file` and writes its manifest and scripts; submits nothing.
pub fn write_scripts(file: &Path, options: &SlurmOptions) -> Result<Scripts> {
    let source = file.display().to_string();
    check_options(&options.resources)?;
    let planned = plan_file(file, &options.overrides, &DataCache::default())?;
    let mut resources = merged(&planned.resolved[0].slurm, &options.resources);
    validate_slurm(&resources).map_err(|m| Error::config(&source, m))?;
    // Always asked for, so that Slurm sets SLURM_CPUS_PER_TASK (the run's
    // threads) instead of leaving each run to use the whole node.
    let cpus = *resources.cpus_per_task.get_or_insert(1) as usize;
    let threads = planned.resolved[0].train.threads;
    if threads > cpus {
        tracing::warn!(
            "{source}: `train.threads = {threads}` is more than the {cpus} CPU(s) per run asked of Slurm (`slurm.cpus_per_task`, --cpus-per-task): the runs' threads will compete"
        );
    }
    refuse_replanning_while_queued(&planned)?;
    // Checked before anything is written: the scripts name these paths.
    let cwd =
        std::env::current_dir().map_err(|e| Error::io(".", "cannot read the working folder", e))?;
    let absolute = |p: &Path| -> Result<PathBuf> {
        let p = cwd.join(p);
        // #SBATCH values are double-quoted; sbatch reads `\\` and `"` in them, and `%` in a log path.
        if p.to_string_lossy().contains(['"', '\\', '%', '\n', '\r']) {
            return Err(Error::Output {
                path: p,
                message: "this path holds a `\"`, `\\`, `%` or line break, which an #SBATCH line cannot carry; run from, and write results to, folders without them".into(),
            });
        }
        Ok(p)
    };
    let slurm_dir = planned.dir.join("slurm");
    let (workdir, abs_slurm_dir, experiment_dir) = (
        absolute(&cwd)?,
        absolute(&slurm_dir)?,
        absolute(&planned.dir)?,
    );
    planned.write_manifest(
        &options.overrides,
        if threads > 0 { threads } else { cpus },
        1,
    )?;

    let logs = slurm_dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| Error::io(&logs, "cannot create the Slurm log folder", e))?;
    // The tasks read this copy, so editing the file after submitting does
    // not change what the queued runs train.
    let text =
        std::fs::read(file).map_err(|e| Error::io(file, "cannot read the experiment file", e))?;
    let snapshot = slurm_dir.join("experiment.toml");
    crate::results::write_atomic(&snapshot, &text)?;
    // MTL_* overrides, as the shell can export them again (valid names, text values).
    let mut environment: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            k.starts_with("MTL_") && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    environment.sort();
    let context = script::Context {
        name: planned.resolved[0].experiment.name.clone(),
        exe: std::env::current_exe()
            .map_err(|e| Error::io("mtl-run", "cannot find this program's path", e))?,
        file: abs_slurm_dir.join("experiment.toml"),
        workdir,
        slurm_dir: abs_slurm_dir,
        experiment_dir,
        overrides: options.overrides.clone(),
        environment,
        runs: planned.jobs.len(),
        resources: resources.clone(),
    };
    let array = slurm_dir.join("array.sbatch");
    let report = slurm_dir.join("report.sbatch");
    let submit = slurm_dir.join("submit.sh");
    write_script(&array, &script::array(&context))?;
    write_script(&report, &script::report(&context))?;
    write_script(&submit, &script::submit())?;

    let missing = planned
        .jobs
        .iter()
        .enumerate()
        .filter(|(_, j)| !j.is_finished())
        .map(|(i, _)| i + 1)
        .collect();
    Ok(Scripts {
        experiment_dir: planned.dir.clone(),
        array,
        report,
        submit,
        runs: planned.jobs.len(),
        missing,
        resources,
    })
}

/// Array tasks name their run by its number in the plan: while tasks of an
/// earlier submission are queued or running, a plan with other runs (another
/// seed, point or override) would renumber them under their feet.
fn refuse_replanning_while_queued(planned: &crate::run::Planned) -> Result<()> {
    let before = status::run_folders(&planned.dir);
    if before.is_empty() {
        return Ok(());
    }
    let now: Vec<String> = planned
        .jobs
        .iter()
        .map(|j| {
            j.dir
                .strip_prefix(&planned.dir)
                .unwrap_or(&j.dir)
                .display()
                .to_string()
        })
        .collect();
    if now == before {
        return Ok(());
    }
    let busy = status::busy(&planned.dir)?;
    if busy.is_empty() {
        return Ok(());
    }
    Err(Error::Output {
        path: planned.dir.clone(),
        message: format!(
            "{} run(s) of an earlier submission with other runs are still queued or running (mtl-run slurm --status {}); their tasks are numbered by that plan, so this one must wait until they end (or `scancel` them)",
            busy.len(),
            planned.dir.display()
        ),
    })
}

/// The command line's resources on their own, each error naming its option.
fn check_options(cli: &SlurmConfig) -> Result<()> {
    validate_slurm(cli).map_err(|m| {
        let mut m = m;
        for (key, option) in [
            ("partition", "--partition"),
            ("time", "--time"),
            ("cpus_per_task", "--cpus-per-task"),
            ("mem", "--mem"),
            ("max_parallel", "--max-parallel"),
        ] {
            m = m.replace(&format!("key `slurm.{key}`"), &format!("option `{option}`"));
        }
        if let Some(at) = m.find("key `slurm.extra[") {
            let end = m[at..].find("]`").map_or(m.len(), |e| at + e + 2);
            m.replace_range(at..end, "option `--sbatch`");
        }
        Error::config("the command line", m)
    })
}

/// Submits the missing runs of `scripts` as an array, then the report job.
pub fn submit(scripts: &Scripts) -> Result<Submission> {
    submit::submit(scripts)
}

fn write_script(path: &Path, text: &str) -> Result<()> {
    crate::results::write_atomic(path, text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(path, "cannot make the script executable", e))?;
    }
    Ok(())
}

/// `[slurm]` with every resource the command line sets replacing it;
/// the command line's extra lines come after the file's.
fn merged(file: &SlurmConfig, cli: &SlurmConfig) -> SlurmConfig {
    let mut extra = file.extra.clone();
    extra.extend(cli.extra.iter().cloned());
    SlurmConfig {
        partition: cli.partition.clone().or_else(|| file.partition.clone()),
        time: cli.time.clone().or_else(|| file.time.clone()),
        cpus_per_task: cli.cpus_per_task.or(file.cpus_per_task),
        mem: cli.mem.clone().or_else(|| file.mem.clone()),
        max_parallel: cli.max_parallel.or(file.max_parallel),
        extra,
    }
}

/// `[1, 2, 3, 5, 7, 8]` as sbatch's `--array` list: `1-3,5,7-8`.
pub(crate) fn index_ranges(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ranges_compress_consecutive_runs() {
        assert_eq!(index_ranges(&[1, 2, 3, 5, 7, 8]), "1-3,5,7-8");
        assert_eq!(index_ranges(&[4]), "4");
        assert_eq!(index_ranges(&[]), "");
    }

    #[test]
    fn the_command_line_wins_over_the_file_and_adds_lines_after_it() {
        let file = SlurmConfig {
            partition: Some("cpu".into()),
            time: Some("10".into()),
            extra: vec!["--account=a".into()],
            ..SlurmConfig::default()
        };
        let cli = SlurmConfig {
            time: Some("20".into()),
            cpus_per_task: Some(2),
            extra: vec!["--qos=low".into()],
            ..SlurmConfig::default()
        };
        let m = merged(&file, &cli);
        assert_eq!(m.partition.as_deref(), Some("cpu"));
        assert_eq!(m.time.as_deref(), Some("20"));
        assert_eq!(m.cpus_per_task, Some(2));
        assert_eq!(m.extra, ["--account=a", "--qos=low"]);
    }
}
