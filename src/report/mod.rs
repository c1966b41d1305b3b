//! `report.md` and its SVG plots, rebuilt from an experiment folder's files
//! alone: `mtl-run report runs/<experiment>` regenerates the same report
//! without training. Nothing in it depends on when it was written.

mod svg;

pub use crate::results::summary::{mean, sample_std};

use crate::error::{Error, Result};
use crate::results::summary::{self, mean_std, PointSummary, Summary};
use crate::results::write_atomic;
use crate::tasks::Direction;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use svg::{Group, Series};

/// Rebuilds the summaries and the report of the experiment folder `dir`.
pub fn rebuild(dir: &Path) -> Result<Summary> {
    let summary = summary::rebuild(dir)?;
    write(&summary)?;
    Ok(summary)
}

/// A CSV file as rows of named cells; empty if the file does not exist.
fn read_table(path: &Path) -> Result<Vec<BTreeMap<String, String>>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let (header, rows) = summary::read_records(path)?;
    Ok(rows
        .into_iter()
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect())
}

fn cell(row: &BTreeMap<String, String>, key: &str) -> Option<f64> {
    row.get(key)?.parse().ok()
}

/// A name that is safe as a file name.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn point_label(s: &Summary, p: &PointSummary) -> String {
    if s.keys.is_empty() {
        return "multi-task".into();
    }
    // `strategy=gradnorm, weight=0.5`: the last part of each key names it well enough.
    s.keys
        .iter()
        .zip(&p.values)
        .map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Mean over seeds of `value` per x, for the rows of the given folders that `keep` accepts.
fn mean_curve(
    folders: &[&Path],
    file: &str,
    x: &str,
    value: &str,
    keep: &dyn Fn(&BTreeMap<String, String>) -> bool,
) -> Result<Vec<(f64, f64)>> {
    let mut sums: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    // Only finished runs: an unfinished folder may hold part of a history.
    for folder in folders.iter().filter(|f| f.join("metrics.csv").exists()) {
        for row in read_table(&folder.join(file))?.iter().filter(|r| keep(r)) {
            if let (Some(x), Some(v)) = (cell(row, x), cell(row, value)) {
                let e = sums.entry(x as i64).or_insert((0.0, 0));
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|(x, (s, n))| (x as f64, s / n as f64))
        .collect())
}

/// Writes `report.md` and `plots/*.svg` for `s`.
pub fn write(s: &Summary) -> Result<()> {
    let dir = &s.dir;
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots)
        .map_err(|e| Error::io(&plots, "cannot create the plots folder", e))?;
    let mut written: Vec<String> = Vec::new();
    let mut plot = |name: String, svg: String| -> Result<String> {
        write_atomic(&plots.join(&name), svg.as_bytes())?;
        written.push(name.clone());
        Ok(format!("plots/{name}"))
    };

    // The folder's own name, however DIR was spelled (`.`, a trailing `/`).
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "experiment".into());
    let mut md = String::new();
    let _ = writeln!(md, "# Experiment `{name}`\n");
    let seeds: Vec<u64> = s.points.first().map_or(Vec::new(), |p| p.seeds.clone());
    let _ = writeln!(
        md,
        "{} point(s) × {} seed(s) ({}). Numbers are on the test split, each model at the epoch `train.select` names (by default the one with the lowest validation loss); `mean ± std` over seeds (sample standard deviation). `delta_pct` is positive when the multi-task model is better than its single-task baseline of the same seed and split; `better` counts those seeds. Δm averages `delta_pct` over each task's metrics, then over tasks; Δm (per metric) averages over all task–metric pairs (see `docs/results.md`).\n",
        s.points.len(),
        seeds.len(),
        seeds.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
    );
    let _ = writeln!(
        md,
        "Regenerate with `mtl-run report <this folder>`; the numbers are in `summary.csv` and `comparison.csv`.\n"
    );

    // The points, best Δm marked.
    let best_dm = best(
        s.points.iter().map(|p| mean(&p.delta_m_values())),
        Direction::Higher,
    );
    let _ = writeln!(md, "## Points\n");
    let mut head = vec!["point".to_string()];
    head.extend(s.keys.iter().map(|k| format!("`{k}`")));
    head.extend(
        [
            "seeds",
            "Δm",
            "Δm (per metric)",
            "stopped early",
            "unfinished",
        ]
        .map(String::from),
    );
    table_header(&mut md, &head);
    for (i, p) in s.points.iter().enumerate() {
        let mut row = point_cells(s, i, &best_dm);
        row.push(p.delta_m.len().to_string());
        row.push(mean_std(&p.delta_m_values(), true));
        row.push(mean_std(
            &p.delta_m_metrics
                .iter()
                .map(|(_, v)| *v)
                .collect::<Vec<_>>(),
            true,
        ));
        row.push(p.failed.len().to_string());
        row.push(p.missing.len().to_string());
        table_row(&mut md, &row);
    }
    if s.points.len() > 1 {
        let _ = writeln!(md, "\n★ highest mean Δm.");
    }
    // How fine the test numbers can be: differences below this are one sample.
    if let Some(n) = s
        .points
        .first()
        .and_then(|p| p.samples.get(2))
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n > 0.0)
    {
        let _ = writeln!(
            md,
            "\nThe test split has {n} samples: one sample moves an accuracy by {:.3} (`delta_pct` by about {:.2} %).",
            1.0 / n,
            100.0 / n
        );
    }
    for p in &s.points {
        for why in &p.failed {
            let _ = writeln!(md, "\n- Stopped early (point `{}`): {why}", p.id);
        }
        if !p.missing.is_empty() {
            let _ = writeln!(
                md,
                "\n- Unfinished (point `{}`): {}; rerun the experiment to finish them.",
                p.id,
                p.missing.join(", ")
            );
        }
    }

    // Per task: the headline metric, the intervals, the learning curves.
    let mut tasks: Vec<String> = Vec::new();
    for p in &s.points {
        for t in &p.tasks {
            if !tasks.contains(&t.task) {
                tasks.push(t.task.clone());
            }
        }
    }
    for task in &tasks {
        let Some(metric) = s
            .points
            .iter()
            .find_map(|p| p.headline(task))
            .map(|st| st.metric.clone())
        else {
            continue;
        };
        let direction = metric.direction();
        let _ = writeln!(
            md,
            "\n## Task `{task}`: {} ({} is better)\n",
            metric.as_str(),
            direction.as_str()
        );
        let best_task = best(
            s.points
                .iter()
                .map(|p| p.headline(task).and_then(|st| mean(&st.mtl_values()))),
            direction,
        );
        let mut head = vec!["point".to_string()];
        head.extend(s.keys.iter().map(|k| format!("`{k}`")));
        head.extend(["multi-task", "single-task", "delta_pct", "better"].map(String::from));
        table_header(&mut md, &head);
        let mut groups = Vec::new();
        for (i, p) in s.points.iter().enumerate() {
            let Some(st) = p.headline(task) else { continue };
            let mut row = point_cells(s, i, &best_task);
            row.extend([
                mean_std(&st.mtl_values(), false),
                mean_std(&st.stl_values(), false),
                mean_std(&st.delta_values(), true),
                format!("{}/{}", st.better, st.delta_pct.len()),
            ]);
            table_row(&mut md, &row);
            groups.push(Group {
                label: point_label(s, p),
                mtl: st.mtl_values(),
                stl: st.stl_values(),
            });
        }
        if s.points.len() > 1 {
            let _ = writeln!(md, "\n★ best multi-task mean.");
        }
        let path = plot(
            format!("{}-test.svg", file_safe(task)),
            svg::interval_chart(
                &format!("{task}: test {} per seed, mean ± std", metric.as_str()),
                metric.as_str(),
                &groups,
            ),
        )?;
        let _ = writeln!(md, "\n![{task}: multi-task vs single-task]({path})");

        // Validation loss per epoch, mean over seeds.
        let mut series = Vec::new();
        // Baselines after the points, so the legend lists them last.
        let mut baselines = Vec::new();
        let mut baselines_drawn: Vec<Vec<String>> = Vec::new();
        for (i, p) in s.points.iter().enumerate() {
            let mtl: Vec<&Path> = p.folders_of("mtl");
            let keep = |r: &BTreeMap<String, String>| {
                r.get("split").is_some_and(|v| v == "validation")
                    && r.get("task").is_some_and(|v| v == task)
            };
            series.push(Series {
                name: point_label(s, p),
                points: mean_curve(&mtl, "history.csv", "epoch", "loss", &keep)?,
                dashed: false,
                colour: svg::colour(i),
            });
            let stl: Vec<&Path> = p.folders_of(&format!("stl:{task}"));
            let key: Vec<String> = stl.iter().map(|f| f.display().to_string()).collect();
            if !stl.is_empty() && !baselines_drawn.contains(&key) {
                let name = if baselines_drawn.is_empty() {
                    "single-task".to_string()
                } else {
                    format!("single-task ({})", point_label(s, p))
                };
                baselines.push(Series {
                    name,
                    points: mean_curve(&stl, "history.csv", "epoch", "loss", &keep)?,
                    dashed: true,
                    colour: svg::colour(if baselines_drawn.is_empty() { 9 } else { i }),
                });
                baselines_drawn.push(key);
            }
        }
        series.extend(baselines);
        let path = plot(
            format!("{}-curves.svg", file_safe(task)),
            svg::line_chart(
                &format!("{task}: validation loss, mean over seeds"),
                "epoch",
                "loss",
                &series,
            ),
        )?;
        let _ = writeln!(md, "\n![{task}: learning curves]({path})");
    }

    // Task weights over training, per point (strategy).
    let _ = writeln!(
        md,
        "\n## Task weights over training\n\nThe weight of each task's loss at every logged step (`weights.csv`), mean over seeds.\n"
    );
    for p in &s.points {
        let mtl: Vec<&Path> = p.folders_of("mtl");
        let mut series = Vec::new();
        for (k, t) in p.tasks.iter().enumerate() {
            let keep = |r: &BTreeMap<String, String>| r.get("task").is_some_and(|v| *v == t.task);
            series.push(Series {
                name: t.task.clone(),
                points: mean_curve(&mtl, "weights.csv", "step", "weight", &keep)?,
                dashed: false,
                colour: svg::colour(k),
            });
        }
        let path = plot(
            format!("weights-{}.svg", file_safe(&p.id)),
            svg::line_chart(
                &format!("task weights: {}", point_label(s, p)),
                "step",
                "weight",
                &series,
            ),
        )?;
        let _ = writeln!(md, "![task weights, point {}]({path})\n", p.id);
    }

    // What was run.
    let _ = writeln!(md, "## What was run\n");
    let source = std::fs::read_to_string(dir.join("experiment.toml")).unwrap_or_default();
    let _ = writeln!(
        md,
        "The experiment file as given (`experiment.toml`):\n\n```toml\n{}\n```\n",
        source.trim_end()
    );
    for p in &s.points {
        let resolved = p
            .folders_of("mtl")
            .iter()
            .find_map(|f| std::fs::read_to_string(f.join("resolved.toml")).ok());
        if let Some(text) = resolved {
            let _ = writeln!(
                md,
                "<details><summary>Point <code>{}</code> resolved (every default filled in; seed of its first run)</summary>\n\n```toml\n{}\n```\n</details>\n",
                p.id,
                text.trim_end()
            );
        }
    }

    // Data and environment.
    let _ = writeln!(md, "## Data\n");
    table_header(
        &mut md,
        &["point", "train", "validation", "test"].map(String::from),
    );
    for p in &s.points {
        let mut row = vec![format!("`{}`", p.id)];
        row.extend(p.samples.iter().cloned());
        table_row(&mut md, &row);
    }
    let _ = writeln!(md);
    table_header(&mut md, &["file", "bytes", "sha256"].map(String::from));
    for r in read_table(&dir.join("data.csv"))? {
        let get = |k: &str| r.get(k).cloned().unwrap_or_default();
        table_row(
            &mut md,
            &[
                format!("`{}`", get("path")),
                get("bytes"),
                format!("`{}`", get("sha256")),
            ],
        );
    }
    let _ = writeln!(
        md,
        "\n## Environment\n\nOf the last invocation that trained or checked these runs.\n"
    );
    table_header(&mut md, &["", ""].map(String::from));
    for r in read_table(&dir.join("environment.csv"))? {
        let get = |k: &str| r.get(k).cloned().unwrap_or_default();
        table_row(&mut md, &[get("key"), get("value")]);
    }

    crate::results::remove_stale_temporaries(&plots);
    // Plots of points no longer in the experiment would mislead: remove them.
    if let Ok(entries) = std::fs::read_dir(&plots) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".svg") && !written.contains(&n) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    write_atomic(&dir.join("report.md"), md.as_bytes())
}

/// The indices of the best values (all of them on ties).
fn best(values: impl Iterator<Item = Option<f64>>, direction: Direction) -> Vec<usize> {
    let values: Vec<Option<f64>> = values.map(|v| v.filter(|v| v.is_finite())).collect();
    let top = values
        .iter()
        .flatten()
        .copied()
        .reduce(|a, b| match direction {
            Direction::Higher => a.max(b),
            Direction::Lower => a.min(b),
        });
    // Every point that ties for the best value.
    (0..values.len())
        .filter(|&i| top.is_some() && values[i] == top)
        .collect()
}

/// The leading cells of a point's row: its id (★ if it is the best of
/// several) and its swept values.
fn point_cells(s: &Summary, i: usize, best: &[usize]) -> Vec<String> {
    let p = &s.points[i];
    let star = if s.points.len() > 1 && best.contains(&i) {
        " ★"
    } else {
        ""
    };
    let mut row = vec![format!("`{}`{star}", p.id)];
    row.extend(p.values.iter().cloned());
    row
}

fn table_header(md: &mut String, cells: &[String]) {
    table_row(md, cells);
    let _ = writeln!(md, "|{}", "---|".repeat(cells.len()));
}

fn table_row(md: &mut String, cells: &[String]) {
    let cells: Vec<String> = cells.iter().map(|c| c.replace('|', "\\|")).collect();
    let _ = writeln!(md, "| {} |", cells.join(" | "));
}
