//! Metrics: one number from a task's predictions and truth on a split.

/// Whether a larger value of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Higher,
    Lower,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
        }
    }

    /// "higher is better" or "lower is better".
    pub fn describe(&self) -> &'static str {
        match self {
            Direction::Higher => "higher is better",
            Direction::Lower => "lower is better",
        }
    }
}

/// A task's predictions next to the truth, for every row of a split.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Predicted and true class of each row; `classes` is the task's class count.
    Classes {
        predicted: &'a [usize],
        truth: &'a [usize],
        classes: usize,
    },
    /// Predicted and true values in the target's original units, `width` per row.
    Values {
        predicted: &'a [f64],
        truth: &'a [f64],
        width: usize,
    },
}

/// The kind of outcome a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    Classes,
    Values,
}

/// A metric, named in TOML by `metric` (the headline) or `metrics` (extras).
pub trait Metric: Send + Sync {
    /// The name used in TOML and in every CSV file.
    fn name(&self) -> &'static str;
    fn direction(&self) -> Direction;
    /// Which outcomes it reads; the framework refuses it for other tasks.
    fn reads(&self) -> OutcomeKind;
    /// The value; called only with outcomes of the kind [`Metric::reads`] names.
    fn compute(&self, outcome: &Outcome) -> f64;
}
