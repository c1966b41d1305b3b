//! One entry of a layer stack (`[[trunk.layers]]`).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerConfig {
    /// Fully connected: `out` units (input must be flat).
    Linear {
        out: usize,
    },
    /// 2-D convolution over `[channels, height, width]`.
    Conv2d {
        out_channels: usize,
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: Padding,
    },
    /// Max over `size`×`size` windows, `stride` defaults to `size`.
    Maxpool2d {
        size: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stride: Option<usize>,
    },
    Relu {},
    Tanh {},
    Sigmoid {},
    /// `[c, h, w]` to `[c·h·w]`.
    Flatten {},
    /// Zeroes each input with probability `p` while training (inverted dropout).
    Dropout {
        p: f64,
    },
}

fn one() -> usize {
    1
}

/// Zero padding of a convolution: `"valid"` (none), `"same"` (keeps the size; odd kernels, stride 1) or pixels per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Padding {
    Named(PaddingName),
    Pixels(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaddingName {
    Valid,
    Same,
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Named(PaddingName::Valid)
    }
}

impl LayerConfig {
    /// The name used in TOML (`type = "…"`).
    pub fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Linear { .. } => "linear",
            LayerConfig::Conv2d { .. } => "conv2d",
            LayerConfig::Maxpool2d { .. } => "maxpool2d",
            LayerConfig::Relu {} => "relu",
            LayerConfig::Tanh {} => "tanh",
            LayerConfig::Sigmoid {} => "sigmoid",
            LayerConfig::Flatten {} => "flatten",
            LayerConfig::Dropout { .. } => "dropout",
        }
    }
}

impl fmt::Display for LayerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerConfig::Linear { out } => write!(f, "linear {out}"),
            LayerConfig::Conv2d {
                out_channels,
                kernel,
                stride,
                padding,
            } => {
                write!(f, "conv2d {out_channels} {kernel}x{kernel}")?;
                if *stride != 1 {
                    write!(f, " stride {stride}")?;
                }
                match padding {
                    Padding::Named(PaddingName::Same) => write!(f, " same"),
                    Padding::Named(PaddingName::Valid) => Ok(()),
                    Padding::Pixels(p) => write!(f, " pad {p}"),
                }
            }
            LayerConfig::Maxpool2d { size, stride } => match stride {
                Some(s) if s != size => write!(f, "maxpool2d {size} stride {s}"),
                _ => write!(f, "maxpool2d {size}"),
            },
            LayerConfig::Dropout { p } => write!(f, "dropout {p}"),
            other => f.write_str(other.kind()),
        }
    }
}

/// Pixels of zero padding per side that `padding` asks for.
pub fn layer_padding(padding: Padding, kernel: usize, stride: usize) -> Result<usize, String> {
    match padding {
        Padding::Named(PaddingName::Valid) => Ok(0),
        Padding::Pixels(p) => Ok(p),
        Padding::Named(PaddingName::Same) if kernel % 2 == 1 && stride == 1 => Ok(kernel / 2),
        Padding::Named(PaddingName::Same) => Err(format!(
            "padding \"same\" needs an odd kernel and stride 1 (kernel {kernel}, stride {stride}); give the padding in pixels instead"
        )),
    }
}
