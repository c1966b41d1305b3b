//! Training one model: mini-batches from the seed, one step split at the
//! shared representation, evaluation after every epoch, and the epoch whose
//! test numbers are reported chosen on validation data.

mod evaluate;
mod optimizer;
mod progress;

pub use evaluate::evaluate;
pub use optimizer::Optimizer;
pub use progress::ProgressMode;

use crate::config::{ExperimentConfig, MetricName, Selection, TaskConfig, TaskKind};
use crate::data::{Part, PreparedData, SplitMix64};
use crate::error::Error;
use crate::model::device::on_device;
use crate::model::{host_copy, Activation, Backend, Cut, Matrix, Network};
use crate::plan::{ModelPlan, ResolvedLayer, ShapeTable};
use crate::tasks::evaluate_outputs;
use crate::weighting::{self, GradientNorms, WeightingStrategy};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Which part of the data a history row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub fn as_str(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// One task's numbers on one split after one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    pub epoch: usize,
    pub task: String,
    pub split: Split,
    /// Mean loss (for `train`: the running mean over the epoch's steps, dropout on).
    pub loss: f64,
    pub metrics: Vec<(MetricName, f64)>,
    /// The task's loss weight, averaged over the epoch's steps.
    pub weight: f64,
    /// The strategy's per-task state (e.g. `sigma2`), averaged over the epoch's steps.
    pub extras: Vec<(&'static str, f64)>,
}

/// One task's state at one logged step (a row of `weights.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightRow {
    pub epoch: usize,
    /// Steps since the start of training, from 1.
    pub step: usize,
    pub task: String,
    pub loss: f32,
    pub weight: f32,
    pub extras: Vec<(&'static str, f64)>,
}

/// Everything one model's training produced, finished or not.
#[derive(Debug)]
pub struct ModelRun {
    pub model: String,
    pub history: Vec<EpochRecord>,
    /// The epoch whose validation and test numbers are reported.
    pub selected_epoch: Option<usize>,
    /// Why training stopped early, if it did (e.g. a NaN loss).
    pub failure: Option<Error>,
    /// The strategy's trajectory, every `train.log_every` steps.
    pub trajectory: Vec<WeightRow>,
}

impl ModelRun {
    /// The records of the selected epoch on `split`.
    pub fn selected(&self, split: Split) -> impl Iterator<Item = &EpochRecord> {
        let epoch = self.selected_epoch;
        self.history
            .iter()
            .filter(move |r| Some(r.epoch) == epoch && r.split == split)
    }
}

/// Assembles the inputs of `rows` as a batch tensor.
pub(crate) fn input_batch<B: Backend>(
    dev: &B,
    part: &Part,
    sample_shape: &[usize],
    rows: &[usize],
) -> Activation<B> {
    let f: usize = sample_shape.iter().product();
    let mut values = Vec::with_capacity(rows.len() * f);
    for &r in rows {
        values.extend_from_slice(&part.inputs[r * f..(r + 1) * f]);
    }
    match *sample_shape {
        [c, h, w] => Activation::Image(dev.tensor_from_vec(values, (rows.len(), c, h, w))),
        _ => Activation::Flat(dev.tensor_from_vec(values, (rows.len(), f))),
    }
}

fn traced<B: Backend>(a: Activation<B>) -> Activation<B, OwnedTape<f32, B>> {
    match a {
        Activation::Image(x) => Activation::Image(x.leaky_traced()),
        Activation::Flat(x) => Activation::Flat(x.leaky_traced()),
    }
}

/// A model `plan` describes, freshly initialised from the seed, with its
/// optimizer and weighting strategy.
struct Model<'c, B: Backend> {
    tasks: Vec<&'c TaskConfig>,
    network: Network<B>,
    optimizer: Optimizer<B>,
    strategy: Box<dyn WeightingStrategy>,
}

fn build_model<'c, B: Backend>(
    plan: &ModelPlan,
    config: &'c ExperimentConfig,
    shapes: &ShapeTable,
) -> Result<Model<'c, B>, Error> {
    let seed = config.experiment.seed;
    let tasks: Vec<&TaskConfig> = plan.tasks.iter().map(|&i| &config.tasks[i]).collect();
    // Dropout draws from the device's generator: seed it too.
    let dev = B::create(SplitMix64::derived(seed, "dropout").next_u64())
        .map_err(|message| Error::device(B::DEVICE.as_str(), message))?;
    let heads: Vec<(&str, &[ResolvedLayer])> = plan
        .tasks
        .iter()
        .map(|&i| {
            (
                config.tasks[i].name.as_str(),
                shapes.heads[i].layers.as_slice(),
            )
        })
        .collect();
    let network = Network::new(&dev, shapes, &heads, seed);
    // A single-task baseline optimises its one loss as is.
    let strategy: Box<dyn WeightingStrategy> = if plan.is_multi_task() {
        weighting::build(&config.weighting, &tasks, config.train.optimizer)
    } else {
        Box::new(weighting::Fixed::new(&[1.0]))
    };
    Ok(Model {
        tasks,
        network,
        optimizer: Optimizer::<B>::new(config.train.optimizer),
        strategy,
    })
}

/// Trains the model `plan` describes on `train.device` and evaluates it
/// after every epoch. `Err` only when the device cannot be had: the run
/// did not start (a model that stops early is an `Ok` with its failure).
pub fn train_model(
    plan: &ModelPlan,
    config: &ExperimentConfig,
    shapes: &ShapeTable,
    data: &PreparedData,
    progress: ProgressMode,
) -> Result<ModelRun, Error> {
    on_device!(config.train.device, B => train_on::<B>(plan, config, shapes, data, progress))
}

fn train_on<B: Backend>(
    plan: &ModelPlan,
    config: &ExperimentConfig,
    shapes: &ShapeTable,
    data: &PreparedData,
    progress: ProgressMode,
) -> Result<ModelRun, Error> {
    let seed = config.experiment.seed;
    let Model {
        tasks,
        mut network,
        mut optimizer,
        mut strategy,
    } = build_model::<B>(plan, config, shapes)?;
    let mut run = ModelRun {
        model: plan.id.clone(),
        history: Vec::new(),
        selected_epoch: None,
        failure: None,
        trajectory: Vec::new(),
    };
    let mut order_rng = SplitMix64::derived(seed, "batches");
    let batch = config.train.batch_size;
    let steps_per_epoch = data.train.len.div_ceil(batch);
    let bar = progress.bar(&plan.id, config.train.epochs, steps_per_epoch);
    let mut best_val = f64::INFINITY;
    for epoch in 1..=config.train.epochs {
        let order = order_rng.permutation(data.train.len);
        let mut sums = EpochSums::new(&tasks);
        for (step, rows) in order.chunks(batch).enumerate() {
            let global_step = (epoch - 1) * steps_per_epoch + step;
            optimizer.lr_scale = config
                .train
                .lr_schedule
                .factor(global_step, config.train.epochs * steps_per_epoch);
            match train_step(
                &mut network,
                &mut optimizer,
                strategy.as_mut(),
                &tasks,
                plan,
                data,
                rows,
            ) {
                Ok(step_out) => {
                    let norms = step_out.norms.as_deref();
                    if let Err(k) = strategy.update(&step_out.losses, norms, optimizer.lr_scale) {
                        bar.abandon();
                        // A model stopped early is not compared with fully trained ones.
                        run.selected_epoch = None;
                        run.failure = Some(Error::StrategyNonFinite {
                            model: plan.id.clone(),
                            strategy: strategy.name(),
                            task: tasks[k].name.clone(),
                            epoch,
                            step: step + 1,
                        });
                        return Ok(run);
                    }
                    let extras = strategy.extras();
                    if (global_step + 1).is_multiple_of(config.train.log_every) {
                        run.trajectory
                            .extend(tasks.iter().enumerate().map(|(k, t)| WeightRow {
                                epoch,
                                step: global_step + 1,
                                task: t.name.clone(),
                                loss: step_out.losses[k],
                                weight: step_out.weights[k],
                                extras: extras.iter().map(|(name, v)| (*name, v[k])).collect(),
                            }));
                    }
                    sums.add(rows.len(), step_out, &extras);
                }
                Err((task, value)) => {
                    bar.abandon();
                    run.selected_epoch = None;
                    run.failure = Some(Error::NonFinite {
                        model: plan.id.clone(),
                        task,
                        value,
                        epoch,
                        step: step + 1,
                    });
                    return Ok(run);
                }
            }
            bar.set_message(format!(
                "epoch {epoch}/{} loss {:.4}",
                config.train.epochs,
                sums.running_loss()
            ));
            bar.inc(1);
        }
        run.history.extend(sums.records(epoch, &tasks, data, plan));
        let weights = sums.mean_weights();
        let extras = sums.mean_extras();
        let mut val_loss = 0.0;
        for (split, part) in [
            (Split::Validation, &data.validation),
            (Split::Test, &data.test),
        ] {
            for (k, (loss, metrics)) in evaluate(&network, &tasks, plan, data, part)
                .into_iter()
                .enumerate()
            {
                if split == Split::Validation {
                    val_loss += loss;
                }
                run.history.push(EpochRecord {
                    epoch,
                    task: tasks[k].name.clone(),
                    split,
                    loss,
                    metrics,
                    weight: weights[k],
                    extras: extras[k].clone(),
                });
            }
        }
        let better = match config.train.select {
            // A non-finite validation loss is never the best.
            Selection::ValLoss => val_loss < best_val,
            Selection::Last => true,
        };
        if better {
            best_val = val_loss;
            run.selected_epoch = Some(epoch);
        }
        tracing::debug!(model = %plan.id, epoch, val_loss, "epoch done");
    }
    bar.finish_and_clear();
    Ok(run)
}

/// Seconds per training step of the model `plan` describes, for benchmarks:
/// `warmup` steps untimed, then `steps` timed one by one (batches drawn in
/// order from a seeded permutation, strategy updates included).
pub fn time_steps(
    plan: &ModelPlan,
    config: &ExperimentConfig,
    shapes: &ShapeTable,
    data: &PreparedData,
    warmup: usize,
    steps: usize,
) -> Result<Vec<f64>, Error> {
    on_device!(config.train.device, B => time_steps_on::<B>(plan, config, shapes, data, warmup, steps))
}

fn time_steps_on<B: Backend>(
    plan: &ModelPlan,
    config: &ExperimentConfig,
    shapes: &ShapeTable,
    data: &PreparedData,
    warmup: usize,
    steps: usize,
) -> Result<Vec<f64>, Error> {
    let seed = config.experiment.seed;
    let Model {
        tasks,
        mut network,
        mut optimizer,
        mut strategy,
    } = build_model::<B>(plan, config, shapes)?;
    let order = SplitMix64::derived(seed, "batches").permutation(data.train.len);
    let mut batches = order.chunks_exact(config.train.batch_size).cycle();
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let rows = batches.next().expect("at least one full batch");
        let start = std::time::Instant::now();
        let out = train_step(
            &mut network,
            &mut optimizer,
            strategy.as_mut(),
            &tasks,
            plan,
            data,
            rows,
        )
        .expect("benchmark losses stay finite");
        let _ = strategy.update(&out.losses, out.norms.as_deref(), 1.0);
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    Ok(times)
}

/// What one step reports: per task the loss, the weight and the outputs,
/// and the gradient norms the strategy asked for.
struct StepOut {
    losses: Vec<f32>,
    weights: Vec<f32>,
    outputs: Vec<Vec<f32>>,
    rows: Vec<usize>,
    norms: Option<Vec<f64>>,
}

/// The Euclidean norm, summed in f64 over eight interleaved partial sums (a
/// fixed order, and no chain of dependent additions).
fn norm(v: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f64::from(x) * f64::from(x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a += f64::from(x) * f64::from(x);
    }
    acc.iter().sum::<f64>().sqrt()
}

/// One optimisation step: the gradients of [`step_gradients`], then one
/// update of every parameter.
///
/// The trunk runs forward and backward once; each head's weighted loss is
/// taken back to the representation `z`, and the sum of those gradients is
/// sent back through the trunk. A strategy that wants the norms
/// `‖∇_W w_i L_i‖` at the last shared layer's weights `W` (GradNorm's
/// default) gets them exactly, from a step cut before that layer: the layer
/// and the parameter-free layers after it run once without a tape, each task
/// adds a direct backward pass through those layers and its share of the
/// weight-gradient products, and `W`'s gradient is the sum of the tasks', so
/// nothing is computed twice (see [`step_gradients`]).
fn train_step<B: Backend>(
    network: &mut Network<B>,
    optimizer: &mut Optimizer<B>,
    strategy: &mut dyn WeightingStrategy,
    tasks: &[&TaskConfig],
    plan: &ModelPlan,
    data: &PreparedData,
    rows: &[usize],
) -> Result<StepOut, (String, f32)> {
    let dev = network.device().clone();
    let x = input_batch(&dev, &data.train, &data.sample_shape, rows);
    let kinds: Vec<Box<dyn TaskKind>> = tasks.iter().map(|t| t.task_kind()).collect();
    let targets = kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            let t = kind.target_matrix(&dev, &data.train.targets[plan.tasks[k]], rows);
            (kind.as_ref(), t)
        })
        .collect();
    let mut step = step_gradients(network, strategy, x, targets)
        .map_err(|(k, value)| (tasks[k].name.clone(), value))?;
    optimizer
        .step(network, &mut step.trunk, &mut step.heads)
        .unwrap_or_else(|e| panic!("{} update failed: {e:?}", B::DEVICE.as_str()));
    Ok(StepOut {
        losses: step.losses,
        weights: step.weights,
        outputs: step.outputs,
        rows: rows.to_vec(),
        norms: step.norms,
    })
}

/// The gradients of one step, before the update.
struct StepGradients<B: Backend> {
    trunk: Gradients<f32, B>,
    /// Per head, its own parameters' gradients.
    heads: Vec<Gradients<f32, B>>,
    losses: Vec<f32>,
    weights: Vec<f32>,
    outputs: Vec<Vec<f32>>,
    norms: Option<Vec<f64>>,
}

/// The gradients of `Σ w_i L_i` for the batch `x` with, per task, its kind
/// and targets; `Err((task, loss))` for the first non-finite loss. Each
/// head's weighted loss is taken back to the representation `z`, and the
/// sum of those gradients is sent back through the trunk once.
///
/// When the strategy wants `G_i = ‖∇_W w_i L_i‖` at the weights `W` of the
/// last shared layer, the trunk is cut at that layer's input `a`: the layers
/// before it run on the tape, and the layer itself with the parameter-free
/// layers after it run once on plain values ([`Network::forward_cut`]). Per
/// task, a direct backward pass through those layers gives `∂(w_i L_i)/∂h`
/// at the layer's output `h`, and the weight gradients of all tasks come
/// from products with the layer's saved input. For a convolution followed
/// by max-pooling (with or without a ReLU between) only each window's
/// maximum has a gradient, and only those positions are read; for other
/// convolutions the tasks' gradients are stacked into one product per
/// image. The strategy gets `G_i / w_i`. The sum of the `G_i` is `W`'s
/// gradient; one more tail pass and one input-gradient product carry the
/// combined gradient to `a`, and from there the tape takes it through the
/// layers before. No gradient is computed twice, and every parameter gets
/// the gradient the plain path gives it.
fn step_gradients<B: Backend>(
    network: &Network<B>,
    strategy: &mut dyn WeightingStrategy,
    x: Activation<B>,
    targets: Vec<(&dyn TaskKind, Matrix<B>)>,
) -> Result<StepGradients<B>, (usize, f32)> {
    let dev = network.device().clone();
    let batch = match &x {
        Activation::Image(x) => x.shape().0,
        Activation::Flat(x) => x.shape().0,
    };
    let x = traced(x);
    let wants = strategy.gradient_norms();
    let depth = network.depth();
    // Cut before the last shared layer only when its weight gradients are needed.
    let cut = match wants {
        GradientNorms::LastSharedLayer => network.last_shared_layer(),
        _ => None,
    };
    enum Trunk<B: Backend> {
        Taped(OwnedTape<f32, B>),
        Cut(Activation<B>, OwnedTape<f32, B>, Cut),
    }
    let (z, trunk) = match cut {
        Some(last) => {
            let (a, body_tape) = network.forward_layers(x, 0..last, true).split_tape();
            let (z, cut) = network.forward_cut(last, a.values(), batch).expect(
                "plan::check_gradnorm_layer rejects random layers after the last shared layer",
            );
            let features = z.len() / batch;
            let z = dev.tensor_from_vec(z, (batch, features));
            (z, Trunk::Cut(a, body_tape, cut))
        }
        None => match network.forward_layers(x, 0..depth, true) {
            Activation::Flat(z) => {
                let (z, tape) = z.split_tape();
                (z, Trunk::Taped(tape))
            }
            Activation::Image(_) => unreachable!("plan::shapes checked the trunk ends flat"),
        },
    };
    let mut losses = Vec::with_capacity(targets.len());
    let mut outputs = Vec::with_capacity(targets.len());
    for (k, (kind, target)) in targets.into_iter().enumerate() {
        let out = network.heads[k].forward(z.clone().leaky_traced(), true);
        outputs.push(out.as_vec());
        losses.push(kind.loss_on(out, target));
    }
    let values: Vec<f32> = losses.iter().map(|l| l.as_vec()[0]).collect();
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err((k, values[k]));
    }
    let weights = strategy.weights(&values);
    let mut head_grads = Vec::with_capacity(losses.len());
    let mut rep_grads: Vec<Vec<f32>> = Vec::with_capacity(losses.len());
    for (loss, &w) in losses.into_iter().zip(&weights) {
        let grads = (loss * w).backward();
        rep_grads.push(host_copy(&grads.get(&z)));
        head_grads.push(grads);
    }
    let mut combined = vec![0f32; rep_grads[0].len()];
    for g in &rep_grads {
        combined.iter_mut().zip(g).for_each(|(c, v)| *c += v);
    }
    // Unweighted norms: the gradients carry each task's weight w_i > 0.
    let unweighted = |grads: &[Vec<f32>]| -> Vec<f64> {
        grads
            .par_iter()
            .zip(&weights)
            .map(|(g, &w)| norm(g) / f64::from(w))
            .collect()
    };
    let (trunk, norms) = match trunk {
        Trunk::Taped(tape) => {
            let norms = (wants == GradientNorms::Representation).then(|| unweighted(&rep_grads));
            (
                Activation::Flat(z).put_tape(tape).backward_with(combined),
                norms,
            )
        }
        Trunk::Cut(a, body_tape, cut) => {
            let layer_grads = last_layer_weight_gradients(network, &cut, &rep_grads);
            let norms = unweighted(&layer_grads);
            // W's gradient is the sum of the tasks' (already weighted) ones.
            let mut weight_grad = layer_grads[0].clone();
            for g in &layer_grads[1..] {
                weight_grad.iter_mut().zip(g).for_each(|(c, v)| *c += v);
            }
            // The tail's backward pass is linear: one more pass gives the sum of the tasks'.
            let dh = cut.tail_backward(&combined);
            let (bias_grad, da) = network.cut_backward(&cut, &dh);
            let mut grads = match da {
                Some(da) => a.put_tape(body_tape).backward_with(da),
                None => Gradients::leaky(),
            };
            network
                .add_cut_gradients(&cut, &mut grads, &weight_grad, &bias_grad)
                .unwrap_or_else(|e| panic!("{} gradient copy failed: {e:?}", B::DEVICE.as_str()));
            (grads, Some(norms))
        }
    };
    Ok(StepGradients {
        trunk,
        heads: head_grads,
        losses: values,
        weights,
        outputs,
        norms,
    })
}

/// `∇_W (w_i L_i)` for the weights `W` of the cut layer, from each task's
/// `∂(w_i L_i)/∂z` ([`Network::cut_weight_gradients`]).
fn last_layer_weight_gradients<B: Backend>(
    network: &Network<B>,
    cut: &Cut,
    rep_grads: &[Vec<f32>],
) -> Vec<Vec<f32>> {
    network.cut_weight_gradients(cut, rep_grads)
}

/// Running sums over an epoch's steps, for the `train` rows of the history.
struct EpochSums {
    samples: usize,
    loss: Vec<f64>,
    weight: Vec<f64>,
    steps: usize,
    outputs: Vec<Vec<f32>>,
    rows: Vec<usize>,
    /// Per extra column: its name and the per-task sums.
    extras: Vec<(&'static str, Vec<f64>)>,
}

impl EpochSums {
    fn new(tasks: &[&TaskConfig]) -> Self {
        EpochSums {
            samples: 0,
            loss: vec![0.0; tasks.len()],
            weight: vec![0.0; tasks.len()],
            steps: 0,
            outputs: vec![Vec::new(); tasks.len()],
            rows: Vec::new(),
            extras: Vec::new(),
        }
    }

    fn add(&mut self, n: usize, s: StepOut, extras: &[(&'static str, Vec<f64>)]) {
        if self.extras.is_empty() {
            self.extras = extras
                .iter()
                .map(|(name, v)| (*name, vec![0.0; v.len()]))
                .collect();
        }
        for ((_, sum), (_, v)) in self.extras.iter_mut().zip(extras) {
            sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        self.samples += n;
        self.steps += 1;
        for k in 0..self.loss.len() {
            self.loss[k] += f64::from(s.losses[k]) * n as f64;
            self.weight[k] += f64::from(s.weights[k]);
            self.outputs[k].extend_from_slice(&s.outputs[k]);
        }
        self.rows.extend(s.rows);
    }

    fn running_loss(&self) -> f64 {
        self.loss.iter().sum::<f64>() / self.samples.max(1) as f64
    }

    fn mean_weights(&self) -> Vec<f64> {
        self.weight
            .iter()
            .map(|w| w / self.steps.max(1) as f64)
            .collect()
    }

    /// Per task: each extra column's mean over the epoch.
    fn mean_extras(&self) -> Vec<Vec<(&'static str, f64)>> {
        (0..self.loss.len())
            .map(|k| {
                self.extras
                    .iter()
                    .map(|(name, sums)| (*name, sums[k] / self.steps.max(1) as f64))
                    .collect()
            })
            .collect()
    }

    /// Train-split records: running loss, and metrics of the outputs seen while training.
    fn records(
        &self,
        epoch: usize,
        tasks: &[&TaskConfig],
        data: &PreparedData,
        plan: &ModelPlan,
    ) -> Vec<EpochRecord> {
        let weights = self.mean_weights();
        let extras = self.mean_extras();
        tasks
            .iter()
            .enumerate()
            .map(|(k, task)| {
                let t = plan.tasks[k];
                let targets = data.train.targets[t].select(&self.rows);
                EpochRecord {
                    epoch,
                    task: task.name.clone(),
                    split: Split::Train,
                    loss: self.loss[k] / self.samples.max(1) as f64,
                    extras: extras[k].clone(),
                    metrics: evaluate_outputs(
                        task.task_kind().as_ref(),
                        &task.metric_names(),
                        &self.outputs[k],
                        &targets,
                        data.target_scales[t],
                    ),
                    weight: weights[k],
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LayerConfig, Padding, PaddingName, TaskConfig};
    use crate::model::ParamMut;
    use crate::plan::shapes::resolve;

    fn pseudo(n: usize, seed: u64) -> Vec<f32> {
        let mut r = SplitMix64::new(seed);
        (0..n).map(|_| r.next_f32() * 2.0 - 1.0).collect()
    }

    /// The cut-and-replay gradient at the last shared layer equals the one a
    /// full backward pass through the whole model gives.
    #[test]
    fn last_layer_weight_gradient_matches_a_full_backward_pass() {
        let conv = LayerConfig::Conv2d {
            out_channels: 3,
            kernel: 3,
            stride: 1,
            padding: Padding::Named(PaddingName::Same),
        };
        let pool = LayerConfig::Maxpool2d {
            size: 2,
            stride: None,
        };
        let trunks = [
            // last shared layer: the convolution, then relu, pool, flatten
            vec![
                conv.clone(),
                LayerConfig::Relu {},
                pool.clone(),
                LayerConfig::Flatten {},
            ],
            // last shared layer: a linear layer followed by tanh
            vec![
                conv,
                LayerConfig::Relu {},
                pool,
                LayerConfig::Flatten {},
                LayerConfig::Linear { out: 4 },
                LayerConfig::Tanh {},
            ],
        ];
        let task = TaskConfig::for_tests("t", "classification", Some(3));
        for layers in trunks {
            let shapes = resolve(&[1, 6, 6], &layers, std::slice::from_ref(&task)).unwrap();
            let dev = Cpu::default();
            let mut network = Network::new(&dev, &shapes, &[("t", &shapes.heads[0].layers)], 3);
            let batch = 2;
            let x = dev.tensor_from_vec(pseudo(batch * 36, 1), (batch, 1, 6, 6));
            let r = dev.tensor_from_vec(pseudo(batch * 3, 2), (batch, 3));

            // Direct: L = Σ head(trunk(x)) ⊙ r, one backward pass through everything.
            let z = network.trunk(Activation::Image(x.leaky_trace()), false);
            let grads = (network.heads[0].forward(z, false) * r.clone())
                .sum()
                .backward();
            let mut weights = Vec::new();
            network.visit_trunk_params(&mut |p| {
                if let ParamMut::Matrix(w) = p {
                    weights.push(w.clone());
                }
            });
            let direct = host_copy(&grads.get(weights.last().unwrap()));

            // Cut before the last shared layer, as the GradNorm step does.
            let last = network.last_shared_layer().unwrap();
            let a = network.forward_layers(Activation::Image(x.clone()), 0..last, false);
            let (z, cut) = network.forward_cut(last, a.values(), batch).unwrap();
            let features = z.len() / batch;
            let z = dev.tensor_from_vec(z, (batch, features));
            let g = (network.heads[0].forward(z.leaky_trace(), false) * r)
                .sum()
                .backward();
            let rep_grad = host_copy(&g.get(&z));
            let via_cut = last_layer_weight_gradients(&network, &cut, &[rep_grad]).remove(0);
            assert_eq!(direct.len(), via_cut.len());
            for (d, c) in direct.iter().zip(&via_cut) {
                assert!((d - c).abs() < 1e-5, "{d} vs {c}");
            }
        }
    }

    /// A strategy with given weights that asks for given norms.
    struct Given(Vec<f32>, GradientNorms);

    impl WeightingStrategy for Given {
        fn name(&self) -> &'static str {
            "given"
        }
        fn weights(&mut self, _losses: &[f32]) -> Vec<f32> {
            self.0.clone()
        }
        fn gradient_norms(&self) -> GradientNorms {
            self.1
        }
    }

    fn close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-5 * scale, "{what}[{i}]: {g} vs {w}");
        }
    }

    /// The GradNorm step, cut before the last shared layer, gives every
    /// parameter (the cut layer's weights and bias, the layers before it, the
    /// heads) the gradient the plain path gives it, and its norms are those of
    /// each task's own weight gradient there.
    #[test]
    fn cut_step_gradients_match_the_plain_step() {
        let conv = |out_channels| LayerConfig::Conv2d {
            out_channels,
            kernel: 3,
            stride: 1,
            padding: Padding::Named(PaddingName::Same),
        };
        let pool = LayerConfig::Maxpool2d {
            size: 2,
            stride: None,
        };
        let image = vec![2, 6, 6];
        let trunks = [
            // conv last shared layer, with a conv before it; relu, pool, flatten after
            (
                image.clone(),
                vec![
                    conv(3),
                    LayerConfig::Relu {},
                    conv(4),
                    LayerConfig::Relu {},
                    pool.clone(),
                    LayerConfig::Flatten {},
                ],
            ),
            // strided conv, tanh after: no pooling, dense weight gradients
            (
                image.clone(),
                vec![
                    conv(3),
                    LayerConfig::Relu {},
                    LayerConfig::Conv2d {
                        out_channels: 4,
                        kernel: 3,
                        stride: 2,
                        padding: Padding::Pixels(1),
                    },
                    LayerConfig::Tanh {},
                    LayerConfig::Flatten {},
                ],
            ),
            // overlapping pooling windows straight after the conv
            (
                image.clone(),
                vec![
                    conv(3),
                    LayerConfig::Relu {},
                    conv(4),
                    LayerConfig::Maxpool2d {
                        size: 3,
                        stride: Some(1),
                    },
                    LayerConfig::Relu {},
                    LayerConfig::Flatten {},
                ],
            ),
            // conv as the only (first) layer with weights
            (
                image.clone(),
                vec![
                    conv(3),
                    LayerConfig::Relu {},
                    pool.clone(),
                    LayerConfig::Flatten {},
                ],
            ),
            // linear last shared layer after a conv body; relu after
            (
                image,
                vec![
                    conv(3),
                    LayerConfig::Relu {},
                    pool,
                    LayerConfig::Flatten {},
                    LayerConfig::Linear { out: 5 },
                    LayerConfig::Relu {},
                ],
            ),
            // an MLP: linear, tanh, linear, sigmoid
            (
                vec![7],
                vec![
                    LayerConfig::Linear { out: 6 },
                    LayerConfig::Tanh {},
                    LayerConfig::Linear { out: 5 },
                    LayerConfig::Sigmoid {},
                ],
            ),
        ];
        let task = TaskConfig::for_tests;
        // Task c's head has a hidden layer: its gradient at the representation
        // comes through two linear layers.
        let mut c = task("c", "classification", Some(4));
        c.head = vec![LayerConfig::Linear { out: 3 }, LayerConfig::Tanh {}];
        let tasks = [
            task("a", "classification", Some(3)),
            task("b", "binary", None),
            c,
            task("d", "binary", None),
            task("e", "classification", Some(2)),
        ];
        let kinds: Vec<Box<dyn TaskKind>> = tasks.iter().map(|t| t.task_kind()).collect();
        // Five tasks: one block of four and a remainder in the pooled kernel.
        let weights = vec![0.7f32, 1.9, 0.4, 1.1, 0.9];
        let batch = 9; // more than two CHUNKs of images
        for (input, layers) in trunks {
            let shapes = resolve(&input, &layers, &tasks).unwrap();
            let dev = Cpu::default();
            let heads: Vec<(&str, &[ResolvedLayer])> = tasks
                .iter()
                .zip(&shapes.heads)
                .map(|(t, h)| (t.name.as_str(), h.layers.as_slice()))
                .collect();
            let mut network = Network::new(&dev, &shapes, &heads, 5);
            // Nonzero biases, so that relu masks differ from the initial ones.
            network.visit_trunk_params(&mut |p| {
                if let ParamMut::Vector(b) = p {
                    let n = b.shape().0;
                    *b = dev.tensor_from_vec(pseudo(n, n as u64), (n,));
                }
            });
            let mut ids: Vec<ParamId> = Vec::new();
            network.visit_trunk_params(&mut |p| ids.push(ParamId::of(p)));
            let mut head_ids: Vec<(usize, ParamId)> = Vec::new();
            for k in 0..tasks.len() {
                network.visit_head_params(k, &mut |p| head_ids.push((k, ParamId::of(p))));
            }
            let f: usize = input.iter().product();
            let xs = pseudo(batch * f, 11);
            let x = || match *input {
                [c, h, w] => Activation::Image(dev.tensor_from_vec(xs.clone(), (batch, c, h, w))),
                _ => Activation::Flat(dev.tensor_from_vec(xs.clone(), (batch, f))),
            };
            let targets: Vec<(&dyn TaskKind, Matrix<Cpu>)> = tasks
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let size = t.head_size();
                    let mut v = vec![0f32; batch * size];
                    for b in 0..batch {
                        match t.kind.as_str() {
                            "binary" => v[b] = ((b + k) % 2) as f32,
                            _ => v[b * size + (b * 7 + k) % size] = 1.0,
                        }
                    }
                    (kinds[k].as_ref(), dev.tensor_from_vec(v, (batch, size)))
                })
                .collect();
            let step = |w: Vec<f32>, wants| {
                step_gradients(&network, &mut Given(w, wants), x(), targets.clone())
                    .ok()
                    .unwrap()
            };
            let plain = step(weights.clone(), GradientNorms::None);
            let cut = step(weights.clone(), GradientNorms::LastSharedLayer);
            // Bit for bit the same on one thread and on three.
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let again = pool.install(|| step(weights.clone(), GradientNorms::LastSharedLayer));
                assert_eq!(again.norms, cut.norms, "{threads} threads");
                for id in &ids {
                    assert_eq!(
                        id.grad(&again.trunk),
                        id.grad(&cut.trunk),
                        "{threads} threads"
                    );
                }
            }
            assert!(plain.norms.is_none());
            for (i, id) in ids.iter().enumerate() {
                close(
                    &id.grad(&cut.trunk),
                    &id.grad(&plain.trunk),
                    &format!("trunk param {i}"),
                );
            }
            for (i, (k, id)) in head_ids.iter().enumerate() {
                let k = *k;
                close(
                    &id.grad(&cut.heads[k]),
                    &id.grad(&plain.heads[k]),
                    &format!("head param {i}"),
                );
            }
            // Each norm: that of the task's own weight gradient, over its weight.
            let norms = cut.norms.unwrap();
            let w_index = ids.len() - 2;
            for k in 0..tasks.len() {
                let mut only = vec![0f32; tasks.len()];
                only[k] = weights[k];
                let own = step(only, GradientNorms::None);
                let want = norm(&ids[w_index].grad(&own.trunk)) / f64::from(weights[k]);
                assert!(
                    (norms[k] - want).abs() <= 1e-5 * want,
                    "task {k}: {} vs {want}",
                    norms[k]
                );
            }
        }
    }

    enum ParamId {
        Matrix(Matrix<Cpu>),
        Vector(crate::model::Vector<Cpu>),
    }

    impl ParamId {
        fn of(p: ParamMut<Cpu>) -> ParamId {
            match p {
                ParamMut::Matrix(w) => ParamId::Matrix(w.clone()),
                ParamMut::Vector(b) => ParamId::Vector(b.clone()),
            }
        }

        fn grad(&self, grads: &Gradients<f32, Cpu>) -> Vec<f32> {
            match self {
                ParamId::Matrix(w) => host_copy(&grads.get(w)),
                ParamId::Vector(b) => host_copy(&grads.get(b)),
            }
        }
    }
}
