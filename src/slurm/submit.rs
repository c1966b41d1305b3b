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
}

/// Submits the missing runs as one array and the report job after it;
/// `None` if every run has finished. Records the job ids in `slurm/jobs.txt`.
pub(super) fn submit(s: &Scripts) -> Result<Option<Submitted>> {
    if s.missing.is_empty() {
        return Ok(None);
    }
    let runs = index_ranges(&s.missing);
    let throttle = s
        .resources
        .max_parallel
        .map_or(String::new(), |n| format!("%{n}"));
    let array = sbatch(
        &s.array,
        &["--parsable".into(), format!("--array={runs}{throttle}")],
        s,
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
    let jobs = s.array.with_file_name("jobs.txt");
    let line = format!("array={array} report={report} runs={runs}\n");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jobs)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| Error::io(&jobs, "cannot record the submitted job ids", e))?;
    Ok(Some(Submitted {
        array,
        report,
        runs,
    }))
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
