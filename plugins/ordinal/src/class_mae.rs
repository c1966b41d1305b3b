//! `class_mae`: the mean absolute distance between predicted and true class
//! codes, for ordered classes (predicting "Good" for "Ideal" costs 3 grades).

use mtl_plugin::metric::OutcomeKind;
use mtl_plugin::{Direction, Metric, Outcome};

pub struct ClassMae;

impl Metric for ClassMae {
    fn name(&self) -> &'static str {
        "class_mae"
    }

    fn direction(&self) -> Direction {
        Direction::Lower
    }

    fn reads(&self) -> OutcomeKind {
        OutcomeKind::Classes
    }

    fn compute(&self, outcome: &Outcome) -> f64 {
        let Outcome::Classes {
            predicted, truth, ..
        } = outcome
        else {
            unreachable!("class_mae reads class outcomes")
        };
        let total: usize = predicted
            .iter()
            .zip(truth.iter())
            .map(|(&p, &t)| p.abs_diff(t))
            .sum();
        total as f64 / truth.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_absolute_class_distance() {
        // |0−0| + |3−1| + |4−1| + |2−2| = 5 over 4 rows.
        let outcome = Outcome::Classes {
            predicted: &[0, 3, 4, 2],
            truth: &[0, 1, 1, 2],
            classes: 5,
        };
        assert_eq!(ClassMae.compute(&outcome), 1.25);
    }
}
