//! Static shapes: every layer's output shape and parameter count, resolved
//! from the input shape before anything trains. A mismatch is a config error
//! that names the layer and the numbers.

use crate::config::layer_padding;
use crate::config::{LayerConfig, TaskConfig};
use std::fmt;

/// A layer with every size known; what `model` builds from.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedLayer {
    Linear { input: usize, out: usize },
    Conv2d { geometry: ConvGeometry },
    Maxpool2d { geometry: PoolGeometry },
    Relu,
    Tanh,
    Sigmoid,
    Flatten,
    Dropout { p: f32 },
}

/// Sizes of one convolution: input `[c_in, h, w]` to output `[c_out, h_out, w_out]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub c_in: usize,
    pub c_out: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub h_out: usize,
    pub w_out: usize,
}

impl ConvGeometry {
    /// Rows of the unfolded input (`c_in · k · k`).
    pub fn patch_len(&self) -> usize {
        self.c_in * self.kernel * self.kernel
    }
}

/// Sizes of one max-pooling: `[c, h, w]` to `[c, h_out, w_out]`, no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub size: usize,
    pub stride: usize,
    pub h_out: usize,
    pub w_out: usize,
}

/// One row of the table `--dry-run` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeRow {
    pub name: String,
    pub output: Vec<usize>,
    pub params: usize,
}

/// One task's head: its hidden layers, then the linear output layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadShape {
    pub rows: Vec<ShapeRow>,
    pub layers: Vec<ResolvedLayer>,
}

impl HeadShape {
    pub fn params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }
}

/// The trunk's layers, then one head per task, with shapes per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeTable {
    pub input: Vec<usize>,
    pub trunk: Vec<ShapeRow>,
    pub trunk_layers: Vec<ResolvedLayer>,
    /// Size of the shared representation the heads read.
    pub representation: usize,
    /// One per task, in config order.
    pub heads: Vec<HeadShape>,
}

impl ShapeTable {
    pub fn trunk_params(&self) -> usize {
        self.trunk.iter().map(|r| r.params).sum()
    }
}

/// Resolves the trunk from `input`, and each task's head from the representation.
pub fn resolve(
    input: &[usize],
    layers: &[LayerConfig],
    tasks: &[TaskConfig],
) -> Result<ShapeTable, String> {
    if input.is_empty() || input.contains(&0) || !matches!(input.len(), 1 | 3) {
        return Err(format!(
            "key `trunk.input`: {input:?}, expected [features] or [channels, height, width] with no zero"
        ));
    }
    let mut shape = input.to_vec();
    let mut rows = Vec::new();
    let mut resolved = Vec::new();
    check_size("trunk.input", input, 0)?;
    for (i, layer) in layers.iter().enumerate() {
        let at = format!("trunk.layers[{i}] ({layer})");
        let (out, params, r) = resolve_layer(&shape, layer).map_err(|m| format!("{at}: {m}"))?;
        check_size(&at, &out, params)?;
        rows.push(ShapeRow {
            name: format!("trunk.{i} {layer}"),
            output: out.clone(),
            // check_size bounded it by 2³¹.
            params: params as usize,
        });
        resolved.push(r);
        shape = out;
    }
    if shape.len() != 1 {
        return Err(format!(
            "the trunk ends with shape {shape:?}, but heads need a flat vector: end `trunk.layers` with `{{ type = \"flatten\" }}`"
        ));
    }
    let representation = shape[0];
    let heads = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| resolve_head(representation, i, t))
        .collect::<Result<_, _>>()?;
    Ok(ShapeTable {
        input: input.to_vec(),
        trunk: rows,
        trunk_layers: resolved,
        representation,
        heads,
    })
}

/// A head works on the flat representation, so only layers of vectors fit in it.
fn resolve_head(
    representation: usize,
    index: usize,
    task: &TaskConfig,
) -> Result<HeadShape, String> {
    let mut width = representation;
    let mut rows = Vec::new();
    let mut layers = Vec::new();
    for (i, layer) in task.head.iter().enumerate() {
        let at = format!("tasks[{index}] ({}).head[{i}] ({layer})", task.name);
        if matches!(
            layer,
            LayerConfig::Conv2d { .. } | LayerConfig::Maxpool2d { .. } | LayerConfig::Flatten {}
        ) {
            return Err(format!(
                "{at}: a head reads the flat shared representation, so its layers are linear, relu, tanh, sigmoid or dropout (put image layers in `trunk.layers`)"
            ));
        }
        let (out, params, r) = resolve_layer(&[width], layer).map_err(|m| format!("{at}: {m}"))?;
        check_size(&at, &out, params)?;
        rows.push(ShapeRow {
            name: format!("head {}.{i} {layer}", task.name),
            output: out.clone(),
            params: params as usize,
        });
        layers.push(r);
        width = out[0];
    }
    let size = task.head_size();
    let at = format!("head {} linear {size}", task.name);
    let params = width as u128 * size as u128 + size as u128;
    check_size(&at, &[size], params)?;
    rows.push(ShapeRow {
        name: at,
        output: vec![size],
        params: params as usize,
    });
    layers.push(ResolvedLayer::Linear {
        input: width,
        out: size,
    });
    Ok(HeadShape { rows, layers })
}

/// Most values per sample, or parameters, that one layer may have (2³¹).
const MAX_ELEMENTS: u128 = 1 << 31;

/// Rejects a layer whose output or parameters would not fit in memory (and so
/// keeps every later multiplication of sizes far from overflowing).
fn check_size(at: &str, shape: &[usize], params: u128) -> Result<(), String> {
    let values: u128 = shape.iter().map(|&d| d as u128).product();
    if values > MAX_ELEMENTS || params > MAX_ELEMENTS {
        return Err(format!(
            "{at}: output {shape:?} ({values} values per sample) with {params} parameters is too large (at most {MAX_ELEMENTS} each)"
        ));
    }
    Ok(())
}

fn resolve_layer(
    shape: &[usize],
    layer: &LayerConfig,
) -> Result<(Vec<usize>, u128, ResolvedLayer), String> {
    let wide = |v: usize| v as u128;
    let image = |what: &str| -> Result<(usize, usize, usize), String> {
        match *shape {
            [c, h, w] => Ok((c, h, w)),
            _ => Err(format!(
                "{what} needs an input of shape [channels, height, width], but gets {shape:?}"
            )),
        }
    };
    Ok(match *layer {
        LayerConfig::Linear { out } => {
            let [input] = *shape else {
                return Err(format!(
                    "linear needs a flat input but gets {shape:?}: add `{{ type = \"flatten\" }}` before it"
                ));
            };
            (
                vec![out],
                wide(input) * wide(out) + wide(out),
                ResolvedLayer::Linear { input, out },
            )
        }
        LayerConfig::Conv2d {
            out_channels,
            kernel,
            stride,
            padding,
        } => {
            let (c, h, w) = image("conv2d")?;
            let pad = layer_padding(padding, kernel, stride)?;
            let out_size = |n: usize, axis: &str| -> Result<usize, String> {
                if n + 2 * pad < kernel {
                    Err(format!(
                        "kernel {kernel} is larger than the padded input {axis} {n} + 2·{pad}: the output would be empty"
                    ))
                } else {
                    Ok((n + 2 * pad - kernel) / stride + 1)
                }
            };
            let geometry = ConvGeometry {
                c_in: c,
                c_out: out_channels,
                h,
                w,
                kernel,
                stride,
                pad,
                h_out: out_size(h, "height")?,
                w_out: out_size(w, "width")?,
            };
            (
                vec![out_channels, geometry.h_out, geometry.w_out],
                wide(out_channels) * wide(c) * wide(kernel) * wide(kernel) + wide(out_channels),
                ResolvedLayer::Conv2d { geometry },
            )
        }
        LayerConfig::Maxpool2d { size, stride } => {
            let (c, h, w) = image("maxpool2d")?;
            let stride = stride.unwrap_or(size);
            if h < size || w < size {
                return Err(format!(
                    "window {size}x{size} is larger than the input {h}x{w}: the output would be empty"
                ));
            }
            let geometry = PoolGeometry {
                c,
                h,
                w,
                size,
                stride,
                h_out: (h - size) / stride + 1,
                w_out: (w - size) / stride + 1,
            };
            (
                vec![c, geometry.h_out, geometry.w_out],
                0,
                ResolvedLayer::Maxpool2d { geometry },
            )
        }
        LayerConfig::Flatten {} => {
            if shape.len() == 1 {
                return Err(format!(
                    "flatten gets an input that is already flat ({shape:?})"
                ));
            }
            (vec![shape.iter().product()], 0, ResolvedLayer::Flatten)
        }
        LayerConfig::Relu {} => (shape.to_vec(), 0, ResolvedLayer::Relu),
        LayerConfig::Tanh {} => (shape.to_vec(), 0, ResolvedLayer::Tanh),
        LayerConfig::Sigmoid {} => (shape.to_vec(), 0, ResolvedLayer::Sigmoid),
        LayerConfig::Dropout { p } => (shape.to_vec(), 0, ResolvedLayer::Dropout { p: p as f32 }),
    })
}

impl fmt::Display for ShapeTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims = |s: &[usize]| {
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(" x ")
        };
        let width = self
            .trunk
            .iter()
            .chain(self.heads.iter().flat_map(|h| &h.rows))
            .map(|r| r.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(f, "{:<width$}  {:>16}  {:>10}", "layer", "output", "params")?;
        writeln!(
            f,
            "{:<width$}  {:>16}  {:>10}",
            "input",
            dims(&self.input),
            ""
        )?;
        for r in self
            .trunk
            .iter()
            .chain(self.heads.iter().flat_map(|h| &h.rows))
        {
            writeln!(
                f,
                "{:<width$}  {:>16}  {:>10}",
                r.name,
                dims(&r.output),
                r.params
            )?;
        }
        let total = self.trunk_params() + self.heads.iter().map(HeadShape::params).sum::<usize>();
        write!(
            f,
            "{:<width$}  {:>16}  {:>10}",
            "total (multi-task model)", "", total
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Padding, PaddingName};

    fn conv(out_channels: usize, same: bool) -> LayerConfig {
        LayerConfig::Conv2d {
            out_channels,
            kernel: 3,
            stride: 1,
            padding: if same {
                Padding::Named(PaddingName::Same)
            } else {
                Padding::Named(PaddingName::Valid)
            },
        }
    }

    fn task(name: &str, classes: usize) -> TaskConfig {
        TaskConfig::for_tests(name, "classification", Some(classes))
    }

    #[test]
    fn reference_cnn_flattens_to_3136() {
        let layers = vec![
            conv(32, true),
            LayerConfig::Relu {},
            LayerConfig::Maxpool2d {
                size: 2,
                stride: None,
            },
            conv(64, true),
            LayerConfig::Relu {},
            LayerConfig::Maxpool2d {
                size: 2,
                stride: None,
            },
            LayerConfig::Flatten {},
        ];
        let t = resolve(
            &[1, 28, 28],
            &layers,
            &[task("digit", 10), task("parity", 2)],
        )
        .unwrap();
        assert_eq!(t.trunk[2].output, vec![32, 14, 14]);
        assert_eq!(t.representation, 3136);
        // 32·9 + 32 and 64·288 + 64, as PyTorch counts them.
        assert_eq!(t.trunk[0].params, 320);
        assert_eq!(t.trunk[3].params, 18_496);
        assert_eq!(t.heads[0].params(), 3136 * 10 + 10);
    }

    #[test]
    fn valid_conv_shrinks_and_empty_output_is_an_error() {
        let t = resolve(
            &[1, 8, 8],
            &[conv(4, false), LayerConfig::Flatten {}],
            &[task("d", 10)],
        )
        .unwrap();
        assert_eq!(t.trunk[0].output, vec![4, 6, 6]);
        let err = resolve(&[1, 2, 2], &[conv(4, false)], &[task("d", 10)]).unwrap_err();
        assert!(
            err.contains("trunk.layers[0]") && err.contains("empty"),
            "{err}"
        );
    }

    #[test]
    fn linear_on_an_image_names_the_layer_and_the_shape() {
        let err = resolve(
            &[1, 8, 8],
            &[LayerConfig::Linear { out: 4 }],
            &[task("d", 10)],
        )
        .unwrap_err();
        assert!(
            err.contains("trunk.layers[0] (linear 4)") && err.contains("[1, 8, 8]"),
            "{err}"
        );
    }

    #[test]
    fn a_head_stack_resolves_from_the_representation() {
        let mut t = task("left", 10);
        t.head = vec![LayerConfig::Linear { out: 50 }, LayerConfig::Relu {}];
        let table = resolve(&[320], &[], &[t.clone()]).unwrap();
        let names: Vec<&str> = table.heads[0]
            .rows
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "head left.0 linear 50",
                "head left.1 relu",
                "head left linear 10"
            ]
        );
        assert_eq!(table.heads[0].params(), 320 * 50 + 50 + 50 * 10 + 10);
        assert_eq!(
            table.heads[0].layers.last(),
            Some(&ResolvedLayer::Linear { input: 50, out: 10 })
        );

        t.head = vec![LayerConfig::Flatten {}];
        let err = resolve(&[320], &[], &[t]).unwrap_err();
        assert!(
            err.contains("tasks[0] (left).head[0] (flatten)") && err.contains("trunk.layers"),
            "{err}"
        );
    }

    #[test]
    fn trunk_must_end_flat() {
        let err = resolve(&[1, 8, 8], &[conv(4, true)], &[task("d", 10)]).unwrap_err();
        assert!(
            err.contains("[4, 8, 8]") && err.contains("flatten"),
            "{err}"
        );
    }
}
