//! Checks that need no data: value ranges and combinations of keys.
//! Shape checks live in `plan::shapes`, data checks in `data`.

use super::{ExperimentConfig, LayerConfig, OptimizerConfig, SplitAmount};

/// Largest size any one key may set (units, channels, kernel, classes, …):
/// far beyond any model this tool trains, and small enough that no shape
/// arithmetic can overflow.
pub(crate) const MAX_SIZE: usize = 1 << 20;

/// Largest value of `train.threads`.
const MAX_THREADS: usize = 1024;

/// `[slurm]` values become `#SBATCH` lines: one line each, nothing empty.
/// How to get a build that can train on CUDA.
pub const CUDA_BUILD: &str = "build one with `scripts/build-cuda.sh` (no GPU or CUDA toolkit needed), or with `cargo build --release --features cuda` where CUDA 13 is installed (docs/gpu.md)";

pub fn slurm(s: &super::SlurmConfig) -> Result<(), String> {
    let words = [
        ("partition", &s.partition),
        ("time", &s.time),
        ("mem", &s.mem),
    ];
    for (key, value) in words {
        if let Some(v) = value {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || "#\"'\\".contains(c)) {
                return Err(format!(
                    "key `slurm.{key}`: {v:?}, expected one word as sbatch's `--{key}` takes it, without quotes, `\\` or `#`"
                ));
            }
        }
    }
    for (key, value) in [
        ("cpus_per_task", s.cpus_per_task),
        ("max_parallel", s.max_parallel),
    ] {
        if value == Some(0) {
            return Err(format!("key `slurm.{key}`: 0, expected at least 1"));
        }
    }
    if s.cpus_per_task.is_some_and(|c| c as usize > MAX_THREADS) {
        return Err(format!(
            "key `slurm.cpus_per_task`: {}, expected at most {MAX_THREADS}",
            s.cpus_per_task.unwrap_or_default()
        ));
    }
    for (i, line) in s.extra.iter().enumerate() {
        let option = line.trim_start_matches("#SBATCH").trim();
        if !option.starts_with('-') || option.contains(['\n', '\r', '#']) {
            return Err(format!(
                "key `slurm.extra[{i}]`: {line:?}, expected one sbatch option such as \"--account=abc\""
            ));
        }
    }
    Ok(())
}

fn size(key: &str, v: usize) -> Result<(), String> {
    if v > MAX_SIZE {
        Err(format!("key `{key}`: {v}, expected at most {MAX_SIZE}"))
    } else {
        Ok(())
    }
}

pub(super) fn validate(c: &ExperimentConfig) -> Result<(), String> {
    let name = &c.experiment.name;
    if name.trim().is_empty() {
        return Err("key `experiment.name`: must not be empty".into());
    }
    // The name becomes a folder under `output_dir`: keep it one plain folder name.
    if name.starts_with('.')
        || !name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
    {
        return Err(format!(
            "key `experiment.name`: `{name}` names a folder, so it may hold only letters, digits, `.`, `_` and `-`, and must not start with `.`"
        ));
    }
    if c.experiment.output_dir.as_os_str().is_empty() {
        return Err(
            "key `experiment.output_dir`: empty, expected a folder (default \"runs\")".into(),
        );
    }
    // The seed is written to resolved.toml, whose integers are 64-bit signed.
    if c.experiment.seed > i64::MAX as u64 {
        return Err(format!(
            "key `experiment.seed`: {}, expected at most {}",
            c.experiment.seed,
            i64::MAX
        ));
    }
    if c.train.threads > MAX_THREADS {
        return Err(format!(
            "key `train.threads`: {}, expected 0 (all cores) to {MAX_THREADS}",
            c.train.threads
        ));
    }
    if c.train.device == super::DeviceName::Cuda && !cfg!(feature = "cuda") {
        return Err(format!(
            "key `train.device`: \"cuda\", but this mtl-run was built without CUDA; {CUDA_BUILD}"
        ));
    }
    slurm(&c.slurm)?;
    size("train.batch_size", c.train.batch_size)?;
    if c.train.log_every == 0 {
        return Err(
            "key `train.log_every`: 0, expected at least 1 (steps between rows of weights.csv)"
                .into(),
        );
    }
    size("train.epochs", c.train.epochs)?;
    if let Some(input) = &c.trunk.input {
        for (i, &d) in input.iter().enumerate() {
            size(&format!("trunk.input[{i}]"), d)?;
        }
    }
    if c.tasks.is_empty() {
        return Err("no `[[tasks]]`: an experiment needs at least one task".into());
    }
    for (i, t) in c.tasks.iter().enumerate() {
        let at = format!("tasks[{i}] ({})", t.name);
        if t.name.trim().is_empty() {
            return Err(format!("key `tasks[{i}].name`: must not be empty"));
        }
        if c.tasks[..i].iter().any(|o| o.name == t.name) {
            return Err(format!(
                "key `{at}.name`: task `{}` is declared twice",
                t.name
            ));
        }
        // Every task must count: a weight of 0 would train a head on nothing.
        if !(t.weight.is_finite() && (t.weight as f32) > 0.0) {
            return Err(format!(
                "key `{at}.weight`: {}, expected a number > 0 (to leave a task out, remove it)",
                t.weight
            ));
        }
        if let Some(map) = &t.map {
            if map.is_empty() {
                return Err(format!(
                    "key `{at}.map`: empty, expected one target per label value"
                ));
            }
        }
    }
    if c.train.epochs == 0 {
        return Err("key `train.epochs`: 0, expected at least 1".into());
    }
    if c.train.batch_size == 0 {
        return Err("key `train.batch_size`: 0, expected at least 1".into());
    }
    match c.train.optimizer {
        OptimizerConfig::Adam {
            lr,
            betas,
            eps,
            weight_decay,
        } => {
            positive("train.optimizer.lr", lr)?;
            positive("train.optimizer.eps", eps)?;
            for (i, b) in betas.iter().enumerate() {
                // Rounded to f32, a beta this close to 1 would be exactly 1.
                if !(0.0..1.0).contains(b) || (*b as f32) >= 1.0 {
                    return Err(format!(
                        "key `train.optimizer.betas[{i}]`: {b}, expected 0 ≤ beta < 1"
                    ));
                }
            }
            non_negative("train.optimizer.weight_decay", weight_decay)?;
        }
        OptimizerConfig::Sgd {
            lr,
            momentum,
            weight_decay,
            nesterov,
        } => {
            positive("train.optimizer.lr", lr)?;
            non_negative("train.optimizer.momentum", momentum)?;
            non_negative("train.optimizer.weight_decay", weight_decay)?;
            if nesterov && momentum <= 0.0 {
                return Err("key `train.optimizer.nesterov`: true needs `momentum` > 0".into());
            }
        }
    }
    let head_layers = c.tasks.iter().enumerate().flat_map(|(t, task)| {
        task.head.iter().enumerate().map(move |(i, layer)| {
            (
                format!("tasks[{t}] ({}).head[{i}] ({})", task.name, layer.kind()),
                layer,
            )
        })
    });
    let trunk_layers = c
        .trunk
        .layers
        .iter()
        .enumerate()
        .map(|(i, layer)| (format!("trunk.layers[{i}] ({})", layer.kind()), layer));
    for (at, layer) in trunk_layers.chain(head_layers) {
        match *layer {
            LayerConfig::Dropout { p } if !(0.0..1.0).contains(&p) || (p as f32) >= 1.0 => {
                return Err(format!("key `{at}.p`: {p}, expected 0 ≤ p < 1"))
            }
            LayerConfig::Linear { out: 0 } => {
                return Err(format!("key `{at}.out`: 0, expected at least 1"))
            }
            LayerConfig::Linear { out } => size(&format!("{at}.out"), out)?,
            LayerConfig::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
            } => {
                if let super::Padding::Pixels(p) = padding {
                    size(&format!("{at}.padding"), p)?;
                }
                for (k, v) in [
                    ("out_channels", out_channels),
                    ("kernel", kernel),
                    ("stride", stride),
                ] {
                    if v == 0 {
                        return Err(format!("key `{at}.{k}`: 0, expected at least 1"));
                    }
                    size(&format!("{at}.{k}"), v)?;
                }
            }
            LayerConfig::Maxpool2d { size: s, stride } => {
                if s == 0 || stride == Some(0) {
                    return Err(format!("key `{at}`: size and stride must be at least 1"));
                }
                size(&format!("{at}.size"), s.max(stride.unwrap_or(0)))?;
            }
            _ => {}
        }
    }
    let split = c.data.split();
    for (k, v) in [("validation", split.validation), ("test", split.test)] {
        if let SplitAmount::Fraction(f) = v {
            if !(0.0..1.0).contains(&f) {
                return Err(format!(
                    "key `data.split.{k}`: {f}, expected a fraction in [0, 1) or a count"
                ));
            }
        }
    }
    Ok(())
}

/// Training runs in f32: a value must stay positive once rounded to f32.
fn positive(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && (v as f32) > 0.0 && (v as f32).is_finite() {
        Ok(())
    } else {
        Err(format!("key `{key}`: {v}, expected a number > 0 that is representable in 32-bit floats (about 1e-38 to 3e38)"))
    }
}

fn non_negative(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!("key `{key}`: {v}, expected a number ≥ 0"))
    }
}
