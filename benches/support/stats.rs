//! Percentiles of measured durations, printed as one aligned row per measurement.
//! Shared by the bench mains with `#[path = "support/stats.rs"] mod stats;`.

use std::time::Duration;

/// Sorted samples of one measurement.
pub struct Samples {
    name: String,
    sorted: Vec<Duration>,
}

impl Samples {
    pub fn new(name: impl Into<String>, mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            name: name.into(),
            sorted: samples,
        }
    }

    /// Nearest-rank percentile: the smallest sample with at least `p` % of samples at or
    /// below it.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.sorted.last().copied().unwrap_or_default()
    }

    pub fn min(&self) -> Duration {
        self.sorted.first().copied().unwrap_or_default()
    }

    pub fn mean(&self) -> Duration {
        let n = self.sorted.len().max(1) as u32;
        self.sorted.iter().sum::<Duration>() / n
    }

    /// `name  n  min  p50  mean  p99  max` in milliseconds.
    pub fn row(&self) -> String {
        let ms = |d: Duration| format!("{:9.3}", d.as_secs_f64() * 1e3);
        format!(
            "{:<48} {:>6} {} {} {} {} {}",
            self.name,
            self.sorted.len(),
            ms(self.min()),
            ms(self.percentile(50.0)),
            ms(self.mean()),
            ms(self.percentile(99.0)),
            ms(self.max()),
        )
    }
}

pub fn header() -> String {
    format!(
        "{:<48} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "measurement (ms)", "n", "min", "p50", "mean", "p99", "max"
    )
}
