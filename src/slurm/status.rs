//! `mtl-run slurm --status DIR`: which runs of an experiment folder are
//! finished, running, queued or missing, from the folders, their
//! `running.txt` and (where it answers) Slurm's queue.

use crate::error::{Error, Result};
use crate::run::holder::{is_live_state, Holder, Liveness};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

/// One run of the experiment folder, in the order of `--dry-run` (and of the array).
struct Run {
    model: String,
    seed: String,
    point: String,
    folder: String,
}

/// Where one run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    Finished,
    Running,
    Queued,
    Missing,
    /// Held by a Slurm job that squeue could not be asked about.
    Unknown,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Finished => "finished",
            State::Running => "running",
            State::Queued => "queued",
            State::Missing => "missing",
            State::Unknown => "unknown",
        }
    }
}

/// Each run with its state and a note on it, in the order of runs.csv.
struct Table {
    runs: Vec<Run>,
    states: Vec<(State, String)>,
    /// Set if the queue could not be asked.
    queue_note: Option<String>,
}

fn states(dir: &Path) -> Result<Table> {
    let runs = read_runs(dir)?;
    let (queue, queue_note) = queue_states(dir);
    let states = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let folder = dir.join(&run.folder);
            let holder = Holder::read(&folder);
            let queued = queue.get(&(i + 1)).map(String::as_str);
            if folder.join("metrics.csv").exists() {
                let stopped = folder.join("failure.txt").exists();
                let note = if stopped {
                    "stopped early (failure.txt)"
                } else {
                    ""
                };
                (State::Finished, note.to_string())
            } else if matches!(queued, Some("PENDING")) {
                (State::Queued, String::new())
            } else if queued.is_some_and(is_live_state) {
                let note = holder.map_or(String::new(), |h| h.describe());
                (State::Running, note)
            } else if let Some((h, live)) = holder
                .as_ref()
                .map(|h| (h, h.liveness()))
                .filter(|(_, l)| *l != Liveness::Gone)
            {
                match live {
                    Liveness::Alive => (State::Running, h.describe()),
                    _ => (
                        State::Unknown,
                        format!(
                            "held by {}, which squeue did not answer about",
                            h.describe()
                        ),
                    ),
                }
            } else {
                let note = holder.map_or(String::new(), |h| {
                    format!(
                        "left unfinished by {}; resubmit to train it again",
                        h.describe()
                    )
                });
                (State::Missing, note)
            }
        })
        .collect();
    Ok(Table {
        runs,
        states,
        queue_note,
    })
}

/// The runs (1-based) queued or running now, or held by a job squeue did
/// not answer about: not to be submitted again.
pub(crate) fn busy(dir: &Path) -> Result<Vec<usize>> {
    let table = states(dir)?;
    if let Some(note) = table.queue_note {
        return Err(Error::Output {
            path: dir.to_path_buf(),
            message: format!("{note}; which runs are still queued is unknown, so nothing was submitted (try again when squeue answers)"),
        });
    }
    Ok(table
        .states
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| matches!(s, State::Running | State::Queued | State::Unknown))
        .map(|(i, _)| i + 1)
        .collect())
}

/// The status table of the experiment folder `dir`.
pub fn status(dir: &Path) -> Result<String> {
    if !dir.is_dir() {
        return Err(Error::Output {
            path: dir.to_path_buf(),
            message: "no such folder (expected an experiment folder, runs/<experiment>)".into(),
        });
    }
    let Table {
        runs,
        states,
        queue_note,
    } = states(dir)?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut table = String::new();
    let width = runs.iter().map(|r| r.model.len()).max().unwrap_or(5).max(5);
    writeln!(
        table,
        "  run  {:<9} {:<width$} {:>5}  {:<12} folder",
        "state", "model", "seed", "point"
    )
    .expect("a String takes writes");
    for (i, (run, (state, note))) in runs.iter().zip(&states).enumerate() {
        let state = state.name();
        *counts.entry(state).or_default() += 1;
        writeln!(
            table,
            "  {:>3}  {state:<9} {:<width$} {:>5}  {:<12} {}{}",
            i + 1,
            run.model,
            run.seed,
            run.point,
            run.folder,
            if note.is_empty() {
                String::new()
            } else {
                format!("  ({note})")
            }
        )
        .expect("a String takes writes");
    }
    let mut out = format!("{}: {} run(s)\n", dir.display(), runs.len());
    out.push_str(&table);
    let mut summary: Vec<String> = ["finished", "running", "queued", "missing"]
        .iter()
        .map(|s| format!("{} {s}", counts.get(s).copied().unwrap_or(0)))
        .collect();
    if let Some(n) = counts.get("unknown") {
        summary.push(format!("{n} unknown"));
    }
    writeln!(out, "{}", summary.join(", ")).expect("a String takes writes");
    if let Some(note) = queue_note {
        writeln!(out, "{note}").expect("a String takes writes");
    }
    Ok(out)
}

/// The run folders of `runs.csv` in `dir`, in order (none if there is none).
pub(crate) fn run_folders(dir: &Path) -> Vec<String> {
    read_runs(dir).map_or(Vec::new(), |runs| {
        runs.into_iter().map(|r| r.folder).collect()
    })
}

/// The distinct run folders of `runs.csv`, in its order (which is the array's).
fn read_runs(dir: &Path) -> Result<Vec<Run>> {
    let path = dir.join("runs.csv");
    if !path.exists() {
        return Err(Error::Output {
            path: dir.to_path_buf(),
            message: format!(
                "no runs.csv here, so this is not an experiment folder (`mtl-run slurm FILE` or `mtl-run FILE` writes one under runs/<experiment>){}",
                experiment_folders_hint(dir)
            ),
        });
    }
    let mut reader = csv::Reader::from_path(&path)
        .map_err(|e| Error::io(&path, "cannot read", std::io::Error::other(e)))?;
    let mut runs: Vec<Run> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| Error::io(&path, "cannot read", std::io::Error::other(e)))?;
        let [point, seed, model, folder] = [0, 1, 2, 3].map(|i| r.get(i).unwrap_or("").to_string());
        if folder.is_empty() {
            return Err(Error::Data {
                path: path.clone(),
                message: format!(
                    "row {} has no folder, expected point,seed,model,folder",
                    runs.len() + 1
                ),
            });
        }
        if runs.iter().any(|o| o.folder == folder) {
            continue; // a baseline shared by several points
        }
        let point = if model == "mtl" { point } else { "-".into() };
        runs.push(Run {
            model,
            seed,
            point,
            folder,
        });
    }
    Ok(runs)
}

/// `; experiment folders in it: a, b` when `dir` is an output folder.
fn experiment_folders_hint(dir: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().join("runs.csv").exists())
        .map(|e| e.path().display().to_string())
        .collect();
    names.sort();
    if names.is_empty() {
        String::new()
    } else {
        format!("; experiment folders in it: {}", names.join(", "))
    }
}

/// Slurm's state of each array task of the jobs in `slurm/jobs.txt`, by
/// run number; and a note if the queue could not be asked.
fn queue_states(dir: &Path) -> (BTreeMap<usize, String>, Option<String>) {
    let mut states = BTreeMap::new();
    let Ok(jobs) = std::fs::read_to_string(dir.join("slurm/jobs.txt")) else {
        return (states, None);
    };
    let arrays: Vec<&str> = jobs
        .lines()
        .filter_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("array=")))
        .collect();
    if arrays.is_empty() {
        return (states, None);
    }
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T", "-j", &arrays.join(",")])
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        // squeue refuses a list whose jobs have all left the queue.
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("Invalid job id") => {
            return (states, None)
        }
        _ => {
            return (
                states,
                Some("(squeue did not answer about the jobs in slurm/jobs.txt: runs still queued show as missing)".into()),
            )
        }
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut words = line.split_whitespace();
        let (Some(id), Some(state)) = (words.next(), words.next()) else {
            continue;
        };
        if let Some(k) = id
            .split_once('_')
            .and_then(|(_, k)| k.parse::<usize>().ok())
        {
            states.insert(k, state.to_string());
        }
    }
    (states, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::holder::FILE as HOLDER_FILE;

    #[test]
    fn finished_missing_and_stopped_runs_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("runs.csv"),
            "point,seed,model,folder\n\
             p1,0,mtl,p1/seed-0\np1,0,stl:a,baselines/a-x/seed-0\n\
             p2,0,mtl,p2/seed-0\np2,0,stl:a,baselines/a-x/seed-0\n",
        )
        .unwrap();
        for f in ["p1/seed-0", "baselines/a-x/seed-0", "p2/seed-0"] {
            std::fs::create_dir_all(d.join(f)).unwrap();
        }
        std::fs::write(d.join("p1/seed-0/metrics.csv"), "x\n").unwrap();
        std::fs::write(d.join("p1/seed-0/failure.txt"), "diverged\n").unwrap();
        // p2 was started by a process on another host that is gone.
        std::fs::write(
            d.join("p2/seed-0").join(HOLDER_FILE),
            "host=elsewhere.invalid\npid=1\n",
        )
        .unwrap();
        let text = status(d).unwrap();
        assert!(text.contains("3 run(s)"), "{text}"); // the shared baseline once
        let line = |k: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(k))
                .unwrap()
                .to_string()
        };
        assert!(
            line("1 ").contains("finished") && line("1 ").contains("stopped early (failure.txt)"),
            "{text}"
        );
        assert!(line("2 ").contains("missing"), "{text}");
        assert!(
            line("3 ").contains("missing")
                && line("3 ").contains("left unfinished by pid 1 on elsewhere.invalid"),
            "{text}"
        );
        assert!(
            text.contains("1 finished, 0 running, 0 queued, 2 missing"),
            "{text}"
        );
    }

    #[test]
    fn a_folder_without_runs_csv_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let err = status(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no runs.csv"), "{err}");
    }
}
