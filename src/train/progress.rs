//! A progress bar per model: epoch, step, running loss and ETA on stderr.
//! indicatif draws nothing when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Bars,
    Hidden,
}

impl ProgressMode {
    pub fn bar(&self, model: &str, epochs: usize, steps_per_epoch: usize) -> ProgressBar {
        if *self == ProgressMode::Hidden {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new((epochs * steps_per_epoch) as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>14} [{bar:30}] step {pos}/{len} {msg} ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(model.to_string());
        bar
    }
}
