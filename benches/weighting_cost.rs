//! Cost of the loss-weighting strategies: time per training step of
//! uncertainty weighting and GradNorm as a ratio to fixed weights, on the same
//! model and data, for 3 and 10 tasks. Not a test: run it with
//!
//!     cargo bench --bench weighting_cost
//!
//! Models: the reference CNN of `experiments/mnist-multitask.toml` and an MLP
//! 784→256→128 on `data/mnist10k`, batch 32. With 3 tasks: digit, parity,
//! high; with 10: one-vs-rest "is it digit k" for k = 0..9. Rounds are
//! interleaved (fixed, uncertainty, gradnorm, fixed, …) so drift in machine
//! speed affects all strategies alike; each figure is the median step time
//! over all rounds.

use mtl::run::prepare;
use mtl::train::time_steps;
use std::path::PathBuf;

mod common;

use common::{experiment, median, CNN, MLP};

const ROUNDS: usize = 5;
const WARMUP: usize = 5;
const STEPS: usize = 40;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::set_current_dir(&root).expect("the crate root");
    let dir = std::env::temp_dir().join(format!("mtl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("model  tasks  strategy      ms/step (median)  ratio to fixed");
    for (model, trunk) in [("cnn", CNN), ("mlp", MLP)] {
        for tasks in [3, 10] {
            let file = dir.join(format!("{model}-{tasks}.toml"));
            std::fs::write(&file, experiment(trunk, tasks, false)).unwrap();
            let strategies = ["fixed", "uncertainty", "gradnorm"];
            let prepared: Vec<_> = strategies
                .iter()
                .map(|s| {
                    prepare(&file, &[format!("weighting.strategy={s}")])
                        .expect("the benchmark config is valid")
                })
                .collect();
            let mut times: Vec<Vec<f64>> = vec![Vec::new(); strategies.len()];
            for _ in 0..ROUNDS {
                for (i, (config, plan, data)) in prepared.iter().enumerate() {
                    times[i].extend(
                        time_steps(&plan.models[0], config, &plan.shapes, data, WARMUP, STEPS)
                            .expect("the benchmark's device is usable"),
                    );
                }
            }
            let medians: Vec<f64> = times.into_iter().map(median).collect();
            for (s, m) in strategies.iter().zip(&medians) {
                println!(
                    "{model:<6} {tasks:>5}  {s:<12} {:>17.2} {:>15.2}",
                    m * 1e3,
                    m / medians[0]
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
