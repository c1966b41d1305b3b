//! Handing the scripts to `sbatch`.

use super::{index_ranges, Scripts};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// The jobs one submission created.
#[derive(Debug)]
pub struct Submitted {
    pub array: String,
    pub report: String,
    /// The runs asked for (1-based), as sbatch's `--array` list.
    pub runs: String,
    /// Unfinished runs left out because they are queued or running already.
    pub busy: usize,
}

/// What there was to submit.
#[derive(Debug)]
pub enum Submission {
    Submitted(Submitted),
    /// Every run has finished.
    AllFinished,
    /// Every unfinished run is queued or running already (how many).
    AllBusy(usize),
}

/// Submits the missing runs (unfinished, and neither queued nor running) as
/// one array and the report job after it. Records each job id in
/// `slurm/jobs.txt` as soon as sbatch has accepted it.
pub(super) fn submit(s: &Scripts) -> Result<Submission> {
    if s.missing.is_empty() {
        return Ok(Submission::AllFinished);
    }
    let busy = super::status::busy(&s.experiment_dir)?;
    let wanted: Vec<usize> = s
        .missing
        .iter()
        .copied()
        .filter(|k| !busy.contains(k))
        .collect();
    if wanted.is_empty() {
        return Ok(Submission::AllBusy(s.missing.len()));
    }
    let runs = index_ranges(&wanted);
    let throttle = s
        .resources
        .max_parallel
        .map_or(String::new(), |n| format!("%{n}"));
    let array = sbatch(
        &s.array,
        &["--parsable".into(), format!("--array={runs}{throttle}")],
        s,
    )?;
    record(
        s,
        &format!("array={array} runs={runs}"),
        &format!("array job {array} was submitted"),
    )?;
    let report = sbatch(
        &s.report,
        &[
            "--parsable".into(),
            format!("--dependency=afterany:{array}"),
        ],
        s,
    )
    .map_err(|e| Error::Output {
        path: s.experiment_dir.clone(),
        message: format!(
            "array job {array} was submitted, but its report job was not ({e}); once the array has ended, `mtl-run report {}` rebuilds the summaries",
            s.experiment_dir.display()
        ),
    })?;
    record(
        s,
        &format!("report={report} after={array}"),
        &format!("array job {array} and report job {report} were submitted"),
    )?;
    Ok(Submission::Submitted(Submitted {
        array,
        report,
        runs,
        busy: s.missing.len() - wanted.len(),
    }))
}

/// Appends `line` to `slurm/jobs.txt`; `done` says what was submitted, for the error.
fn record(s: &Scripts, line: &str, done: &str) -> Result<()> {
    let jobs = s.array.with_file_name("jobs.txt");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jobs)
        .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()))
        .map_err(|e| {
            Error::io(
                &jobs,
                format!("{done}, but its id could not be recorded here (so --status cannot see it; `scancel` it if unwanted)"),
                e,
            )
        })
}

/// Runs `sbatch ARGS SCRIPT` and returns the job id it prints.
fn sbatch(script: &Path, args: &[String], s: &Scripts) -> Result<String> {
    let not_submitted = |why: String| Error::Output {
        path: script.to_path_buf(),
        message: format!("written, but not submitted: {why}"),
    };
    let out = Command::new("sbatch").args(args).arg(script).output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_submitted(format!(
                "`sbatch` is not on PATH, so this machine cannot submit Slurm jobs; on the cluster's login node run `sh {}` (or `mtl-run slurm FILE --submit` again)",
                s.submit.display()
            )))
        }
        Err(e) => return Err(not_submitted(format!("`sbatch` could not be started: {e}"))),
    };
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(not_submitted(format!(
            "sbatch refused it ({}):\n{}",
            out.status,
            said.trim_end()
        )));
    }
    // --parsable prints `<job id>` or `<job id>;<cluster>`.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout
        .lines()
        .next()
        .and_then(|l| l.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(not_submitted(format!(
            "sbatch printed no job id (it printed {stdout:?})"
        )));
    }
    Ok(id.to_string())
}
