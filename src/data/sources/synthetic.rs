//! Generated regression data with known noise levels, for checking what a
//! weighting strategy learns (e.g. uncertainty weighting's σ² against the
//! noise variance). Deterministic from its own seed.

use mtl_plugin::{
    DataSource, InputScale, Loaded, OptionError, Options, RawData, SourceError, SplitMix64,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `format = "synthetic"`: columns `y0`, `y1`, … with
/// `y_k = 3·tanh(x·u_k) + noise_std[k]·ε`, `x` uniform in [−1, 1]^features,
/// `u_k` and `ε` standard normal (u_k scaled by 1/√features).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Synthetic {
    pub samples: usize,
    pub features: usize,
    pub noise_std: Vec<f64>,
    /// Seeds the data (fixed across experiment seeds, like a shipped file).
    #[serde(default)]
    pub seed: u64,
}

impl Options for Synthetic {
    const NAME: &'static str = "synthetic";
    const ABOUT: &'static str = "generated regressions y_k = 3·tanh(x·u_k) + noise_std[k]·ε";

    fn check(&self) -> Result<(), OptionError> {
        if !(10..=1 << 22).contains(&self.samples) {
            return Err(OptionError::new(
                "samples",
                format!("{}, expected 10 to {}", self.samples, 1 << 22),
            ));
        }
        if self.features == 0 || self.features > 1 << 16 {
            return Err(OptionError::new(
                "features",
                format!("{}, expected 1 to {}", self.features, 1 << 16),
            ));
        }
        if self.noise_std.is_empty() {
            return Err(OptionError::new(
                "noise_std",
                "empty, expected one noise level per target column",
            ));
        }
        if let Some(bad) = self
            .noise_std
            .iter()
            .find(|s| !(s.is_finite() && **s >= 0.0 && **s < 1e6))
        {
            return Err(OptionError::new(
                "noise_std",
                format!("{bad}, expected standard deviations in [0, 1e6)"),
            ));
        }
        Ok(())
    }
}

impl DataSource for Synthetic {
    fn load(&self, _labels: &[String]) -> Result<Loaded, SourceError> {
        Ok(Loaded {
            main: generate(self.samples, self.features, &self.noise_std, self.seed),
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
            "synthetic regressions, {} samples × {} features, noise std {:?}, seed {}",
            self.samples, self.features, self.noise_std, self.seed
        )
    }
}

/// A standard normal draw (Box–Muller).
pub(crate) fn normal(rng: &mut SplitMix64) -> f64 {
    let u1 = (f64::from(rng.next_f32()) + 0.5 / f64::from(1u32 << 24)).min(1.0);
    let u2 = f64::from(rng.next_f32());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `samples` rows of `features` inputs uniform in [−1, 1] and one target column
/// `y_k = 3·tanh(x·u_k) + noise_std[k]·ε` per noise level.
pub fn generate(samples: usize, features: usize, noise_std: &[f64], seed: u64) -> RawData {
    let mut rng = SplitMix64::derived(seed, "synthetic");
    let scale = 1.0 / (features as f64).sqrt();
    let directions: Vec<Vec<f64>> = noise_std
        .iter()
        .map(|_| (0..features).map(|_| normal(&mut rng) * scale).collect())
        .collect();
    let mut inputs = Vec::with_capacity(samples * features);
    let mut columns: Vec<Vec<f64>> = vec![Vec::with_capacity(samples); noise_std.len()];
    for _ in 0..samples {
        let x: Vec<f64> = (0..features)
            .map(|_| f64::from(rng.next_f32()) * 2.0 - 1.0)
            .collect();
        for (k, (u, sd)) in directions.iter().zip(noise_std).enumerate() {
            let clean = 3.0 * x.iter().zip(u).map(|(a, b)| a * b).sum::<f64>().tanh();
            columns[k].push(clean + sd * normal(&mut rng));
        }
        inputs.extend(x.iter().map(|&v| v as f32));
    }
    RawData {
        sample_shape: vec![features],
        inputs,
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(k, c)| (format!("y{k}"), c))
            .collect(),
        len: samples,
        feature_names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_has_the_declared_spread() {
        // Same seed, same draws: the difference of the two columns is exactly the noise.
        let clean = generate(20_000, 4, &[0.0], 1);
        let noisy = generate(20_000, 4, &[2.0], 1);
        assert_eq!(clean.inputs, noisy.inputs);
        let noise: Vec<f64> = noisy.columns[0]
            .1
            .iter()
            .zip(&clean.columns[0].1)
            .map(|(a, b)| a - b)
            .collect();
        let mean = noise.iter().sum::<f64>() / noise.len() as f64;
        let var = noise.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / noise.len() as f64;
        assert!(
            mean.abs() < 0.05 && (var - 4.0).abs() < 0.15,
            "mean {mean} var {var}"
        );
        assert!(clean.columns[0].1.iter().all(|v| v.abs() <= 3.0));
    }
}
