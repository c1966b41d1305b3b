//! The synthetic multi-task regression of the GradNorm paper (Chen et al.
//! 2018, section 4): task `i` is `f_i(x) = σ_i·tanh((B + ε_i)·x)` with
//! `x ∈ R^inputs` uniform in [−1, 1] and scaled to unit norm, `B` and `ε_i`
//! matrices `outputs × inputs` with entries drawn from N(0, 10²) and
//! N(0, 3.5²). The tasks share `B` (so they are related) and differ in
//! scale `σ_i`, which under equal weights lets the large-σ task dominate.
//! Column `y{i}` holds `outputs` values per row.

use super::synthetic::normal;
use mtl_plugin::{
    DataSource, InputScale, Loaded, OptionError, Options, RawData, SourceError, SplitMix64,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `format = "gradnorm_toy"`: columns `y0`, `y1`, … with `outputs` values
/// per row, `f_i(x) = σ_i·tanh((B + ε_i)·x)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradnormToy {
    pub samples: usize,
    /// One task column per scale σ_i.
    pub sigmas: Vec<f64>,
    #[serde(default = "toy_inputs")]
    pub inputs: usize,
    #[serde(default = "toy_outputs")]
    pub outputs: usize,
    #[serde(default)]
    pub seed: u64,
}

fn toy_inputs() -> usize {
    250
}
fn toy_outputs() -> usize {
    100
}

impl Options for GradnormToy {
    const NAME: &'static str = "gradnorm_toy";
    const ABOUT: &'static str = "the GradNorm paper's synthetic regressions σ_i·tanh((B + ε_i)·x)";

    fn check(&self) -> Result<(), OptionError> {
        if !(10..=1 << 20).contains(&self.samples) {
            return Err(OptionError::new(
                "samples",
                format!("{}, expected 10 to {}", self.samples, 1 << 20),
            ));
        }
        for (k, v) in [("inputs", self.inputs), ("outputs", self.outputs)] {
            if v == 0 || v > 4096 {
                return Err(OptionError::new(k, format!("{v}, expected 1 to 4096")));
            }
        }
        if self.sigmas.is_empty() {
            return Err(OptionError::new(
                "sigmas",
                "empty, expected one scale per task",
            ));
        }
        if let Some(bad) = self
            .sigmas
            .iter()
            .find(|s| !(s.is_finite() && **s > 0.0 && **s < 1e6))
        {
            return Err(OptionError::new(
                "sigmas",
                format!("{bad}, expected scales in (0, 1e6)"),
            ));
        }
        Ok(())
    }
}

impl DataSource for GradnormToy {
    fn load(&self, _labels: &[String]) -> Result<Loaded, SourceError> {
        Ok(Loaded {
            main: generate(
                self.samples,
                self.inputs,
                self.outputs,
                &self.sigmas,
                self.seed,
            ),
            test: None,
            files: Vec::new(),
            settled: toml::Table::new(),
        })
    }
    fn default_scale(&self) -> InputScale {
        InputScale::None
    }
    fn origin(&self) -> PathBuf {
        PathBuf::from("[data] (synthetic)")
    }
    fn describe(&self) -> String {
        format!(
            "GradNorm toy regressions, {} samples, {} inputs, {} outputs, σ = {:?}, seed {}",
            self.samples, self.inputs, self.outputs, self.sigmas, self.seed
        )
    }
}

pub fn generate(
    samples: usize,
    inputs: usize,
    outputs: usize,
    sigmas: &[f64],
    seed: u64,
) -> RawData {
    let mut rng = SplitMix64::derived(seed, "gradnorm-toy");
    let base: Vec<f64> = (0..outputs * inputs)
        .map(|_| 10.0 * normal(&mut rng))
        .collect();
    let tasks: Vec<Vec<f64>> = sigmas
        .iter()
        .map(|_| base.iter().map(|b| b + 3.5 * normal(&mut rng)).collect())
        .collect();
    let mut x_all = Vec::with_capacity(samples * inputs);
    let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(samples * outputs); sigmas.len()];
    for _ in 0..samples {
        let mut x: Vec<f64> = (0..inputs)
            .map(|_| f64::from(rng.next_f32()) * 2.0 - 1.0)
            .collect();
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        x.iter_mut().for_each(|v| *v /= norm);
        for ((matrix, sigma), column) in tasks.iter().zip(sigmas).zip(&mut columns) {
            for row in matrix.chunks(inputs) {
                let dot: f64 = row.iter().zip(&x).map(|(a, b)| a * b).sum();
                column.push(sigma * dot.tanh());
            }
        }
        x_all.extend(x.iter().map(|&v| v as f32));
    }
    RawData {
        sample_shape: vec![inputs],
        inputs: x_all,
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("y{i}"), c))
            .collect(),
        len: samples,
        feature_names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_have_unit_norm_and_targets_their_task_scale() {
        let d = generate(50, 20, 5, &[1.0, 100.0], 3);
        for x in d.inputs.chunks(20) {
            let n: f32 = x.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((n - 1.0).abs() < 1e-5);
        }
        assert_eq!(d.columns[0].1.len(), 50 * 5);
        assert!(d.columns[0].1.iter().all(|v| v.abs() <= 1.0));
        let big = d.columns[1].1.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(big > 10.0 && big <= 100.0, "{big}");
    }
}
