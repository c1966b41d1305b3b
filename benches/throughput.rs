//! Training throughput of the reference models, not a test: run it with
//!
//!     cargo bench --bench throughput              # the table
//!     cargo bench --bench throughput -- --tsv     # also machine-readable lines
//!
//! For the reference CNN and the MLP 784→256→128 on `data/mnist10k` at
//! batch 32 (see `benches/common`): samples/s and achieved GFLOP/s of one
//! training step (batch assembly, forward, backward, optimizer, strategy)
//! of the multi-task model under fixed, uncertainty and GradNorm weighting
//! and of one single-task model (digit), and each strategy's step time as a
//! ratio to fixed weights. Each figure is the median of BLOCKS blocks of
//! STEPS steps after a warm-up, with the slowest and fastest block; the
//! configurations are interleaved block by block, so drift in the machine's
//! speed affects them alike. Then: the time to load and prepare
//! data/mnist10k, the wall time of `mtl-run --dry-run` for every shipped
//! experiment, and the peak resident memory of one epoch of
//! `experiments/mnist60k-multitask.toml` (skip with BENCH_SKIP_RSS=1).
//!
//! Threads: BENCH_THREADS (default: all cores; not an `MTL_` variable,
//! which would be read as a config override), as the PyTorch
//! reference's `torch.set_num_threads`. BENCH_STEPS_ONLY=1 stops after
//! the training steps (what scripts/bench-vs-pytorch.sh repeats).
//! BENCH_ONLY=mlp/uncertainty (model/config, either may be `*`) and
//! BENCH_BLOCKS=N time one configuration alone, e.g. under
//! `valgrind --tool=callgrind` to count its instructions (docs/performance.md).
//!
//! FLOPs are counted as PyTorch's FLOP counters and `shared/bench-reference/flops.py`
//! count them: a multiply-add is 2 FLOPs, and a training step is 3 × the
//! forward pass of the layers with weights (forward, input gradient, weight
//! gradient): 745 MFLOP per step for the CNN at batch 32.

mod common;

use common::{experiment, median, min_max, CNN, MLP};
use mtl::plan::{ResolvedLayer, ShapeTable};
use mtl::run::prepare;
use mtl::train::time_steps;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WARMUP: usize = 10;
const BLOCKS: usize = 7;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether BENCH_ONLY (`model/config`, `*` for any) lets `model`/`config` run.
fn selected(model: &str, config: &str) -> bool {
    let Ok(only) = std::env::var("BENCH_ONLY") else {
        return true;
    };
    let (m, c) = only.split_once('/').unwrap_or((only.as_str(), "*"));
    (m == "*" || m == model) && (c == "*" || c == config)
}
const STEPS: usize = 20;
const BATCH: usize = 32;

/// Forward FLOPs per sample of the layers with weights.
fn forward_flops(layers: &[ResolvedLayer]) -> f64 {
    layers
        .iter()
        .map(|l| match l {
            ResolvedLayer::Linear { input, out } => 2.0 * (*input * *out) as f64,
            ResolvedLayer::Conv2d { geometry: g } => {
                2.0 * (g.c_out * g.h_out * g.w_out * g.patch_len()) as f64
            }
            _ => 0.0,
        })
        .sum()
}

/// FLOPs of one training step of the model with heads `heads`.
fn step_flops(shapes: &ShapeTable, heads: &[usize]) -> f64 {
    let per_sample = forward_flops(&shapes.trunk_layers)
        + heads
            .iter()
            .map(|&h| forward_flops(&shapes.heads[h].layers))
            .sum::<f64>();
    3.0 * per_sample * BATCH as f64
}

/// Peak resident memory (VmHWM) of `pid` in KiB, while it runs.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mtl_run() -> PathBuf {
    // The bench binary is target/release/deps/throughput-…; mtl-run sits in target/release.
    let exe = std::env::current_exe().expect("the bench binary");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("mtl-run"))
        .filter(|p| p.exists())
        .expect("target/release/mtl-run: `cargo bench` builds it")
}

fn main() {
    let tsv = std::env::args().any(|a| a == "--tsv");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(&root).expect("the crate root");
    let threads: usize = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the thread pool is built once");
    let dir = std::env::temp_dir().join(format!("mtl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!("training step, batch {BATCH}, {threads} threads: median of {BLOCKS} blocks of {STEPS} steps [fastest, slowest block]");
    println!(
        "{:<5} {:<12} {:>22} {:>10} {:>9} {:>14}",
        "model", "config", "samples/s", "GFLOP/s", "ms/step", "ratio to fixed"
    );
    for (model, trunk) in [("cnn", CNN), ("mlp", MLP)] {
        let file = dir.join(format!("{model}.toml"));
        std::fs::write(&file, experiment(trunk, 3, true)).unwrap();
        // (name, strategy override, model index in the plan: 0 = mtl, 1 = stl:digit)
        let configs: Vec<(&str, &str, usize)> = [
            ("fixed", "fixed", 0),
            ("uncertainty", "uncertainty", 0),
            ("gradnorm", "gradnorm", 0),
            ("stl", "fixed", 1),
        ]
        .into_iter()
        .filter(|(name, _, _)| selected(model, name))
        .collect();
        if configs.is_empty() {
            continue;
        }
        let prepared: Vec<_> = configs
            .iter()
            .map(|(_, s, _)| {
                prepare(&file, &[format!("weighting.strategy={s}")])
                    .expect("the benchmark config is valid")
            })
            .collect();
        let mut blocks: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
        for round in 0..env_usize("BENCH_BLOCKS", BLOCKS) {
            for (i, (config, plan, data)) in prepared.iter().enumerate() {
                let warmup = if round == 0 { WARMUP } else { 2 };
                let times = time_steps(
                    &plan.models[configs[i].2],
                    config,
                    &plan.shapes,
                    data,
                    warmup,
                    STEPS,
                )
                .expect("the benchmark's device is usable");
                blocks[i].push(times.iter().sum::<f64>() / STEPS as f64);
            }
        }
        let fixed = configs
            .iter()
            .position(|c| c.0 == "fixed")
            .map_or(f64::NAN, |i| median(blocks[i].clone()));
        for (i, (name, _, m)) in configs.iter().enumerate() {
            let (_, plan, _) = &prepared[i];
            let step = median(blocks[i].clone());
            let (fast, slow) = min_max(&blocks[i]);
            let flops = step_flops(&plan.shapes, &plan.models[*m].tasks);
            let rate = |s: f64| BATCH as f64 / s;
            println!(
                "{model:<5} {name:<12} {:>8.0} [{:>5.0}, {:>5.0}] {:>10.2} {:>9.3} {:>14.3}",
                rate(step),
                rate(slow),
                rate(fast),
                flops / step / 1e9,
                step * 1e3,
                step / fixed
            );
            if tsv {
                println!(
                    "TSV\tmtl\t{model}\t{name}\t{:.1}\t{:.4}\t{:.4}\t{:.4}",
                    rate(step),
                    step * 1e3,
                    fast * 1e3,
                    slow * 1e3
                );
            }
        }
    }

    if std::env::var_os("BENCH_STEPS_ONLY").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    // Loading and preparing data/mnist10k: read, decode, split, scale.
    let file = dir.join("cnn.toml");
    let load: Vec<f64> = (0..5)
        .map(|_| {
            let start = Instant::now();
            prepare(&file, &[]).expect("valid");
            start.elapsed().as_secs_f64()
        })
        .collect();
    let (lo, hi) = min_max(&load);
    println!(
        "\ndata: load and prepare data/mnist10k: {:.3} s median of 5 [{lo:.3}, {hi:.3}]",
        median(load)
    );

    let exe = mtl_run();
    println!("--dry-run wall time, median of 3:");
    let mut shipped: Vec<PathBuf> = std::fs::read_dir("experiments")
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    shipped.sort();
    for path in &shipped {
        let times: Vec<f64> = (0..3)
            .map(|_| {
                let start = Instant::now();
                let ok = Command::new(&exe)
                    .arg(path)
                    .arg("--dry-run")
                    .output()
                    .expect("mtl-run starts")
                    .status
                    .success();
                assert!(ok, "{} --dry-run failed", path.display());
                start.elapsed().as_secs_f64()
            })
            .collect();
        println!("  {:<42} {:.3} s", path.display(), median(times));
    }

    if std::env::var_os("BENCH_SKIP_RSS").is_none() {
        // One epoch of the full-MNIST experiment, multi-task model only, in its own process.
        let out = dir.join("rss");
        let mut child = Command::new(&exe)
            .args([
                "experiments/mnist60k-multitask.toml",
                "-q",
                "--set",
                "train.epochs=1",
                "--set",
                "baselines.single_task=false",
                "--set",
                &format!("experiment.output_dir=\"{}\"", out.display()),
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("mtl-run starts");
        let start = Instant::now();
        let mut peak = 0;
        while child.try_wait().expect("waits").is_none() {
            peak = peak.max(peak_rss_kib(child.id()).unwrap_or(0));
            std::thread::sleep(Duration::from_millis(20));
        }
        println!(
            "peak RSS, one epoch of experiments/mnist60k-multitask.toml (multi-task model): {:.0} MiB ({:.0} s)",
            peak as f64 / 1024.0,
            start.elapsed().as_secs_f64()
        );
        if tsv {
            println!("TSV\trss\tmnist60k\tpeak_mib\t{:.1}", peak as f64 / 1024.0);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
