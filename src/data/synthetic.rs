//! Generated regression data with known noise levels, for checking what a
//! weighting strategy learns (e.g. uncertainty weighting's σ² against the
//! noise variance). Deterministic from its own seed.

use super::{RawData, SplitMix64};

/// A standard normal draw (Box–Muller).
pub(super) fn normal(rng: &mut SplitMix64) -> f64 {
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
