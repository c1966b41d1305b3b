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
pub use submit::Submitted;

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
    let planned = plan_file(file, &options.overrides, &DataCache::default())?;
    let resources = merged(&planned.resolved[0].slurm, &options.resources);
    validate_slurm(&resources)
        .map_err(|m| Error::config(&source, format!("{m} (after the command line's options)")))?;

    // Each task's threads: `train.threads`, else the CPUs Slurm gives it.
    let per_task = match planned.resolved[0].train.threads {
        0 => resources.cpus_per_task.unwrap_or(1) as usize,
        t => t,
    };
    planned.write_manifest(&options.overrides, per_task, 1)?;

    let slurm_dir = planned.dir.join("slurm");
    let logs = slurm_dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| Error::io(&logs, "cannot create the Slurm log folder", e))?;
    let absolute =
        |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, "cannot resolve the path", e));
    let context = script::Context {
        name: planned.resolved[0].experiment.name.clone(),
        exe: std::env::current_exe()
            .map_err(|e| Error::io("mtl-run", "cannot find this program's path", e))?,
        file: absolute(file)?,
        workdir: absolute(Path::new("."))?,
        slurm_dir: absolute(&slurm_dir)?,
        experiment_dir: absolute(&planned.dir)?,
        overrides: options.overrides.clone(),
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

/// Submits the missing runs of `scripts` as an array, then the report job.
pub fn submit(scripts: &Scripts) -> Result<Option<Submitted>> {
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
