//! Progress on stderr, drawn only when it is a terminal.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

/// `bar` as a spinner drawn by `template` (an indicatif template), labelled `prefix`,
/// ticking every `tick`.
pub fn spinner(bar: ProgressBar, template: &str, prefix: &str, tick: Duration) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(prefix.to_owned());
    bar.enable_steady_tick(tick);
    bar
}

/// Progress bars of a fan-out: one line for the tenants done and rows so far, and one
/// bar per tenant being read (at most as many as the fan-out runs at once), each
/// counting its rows.
pub struct Progress {
    multi: Option<MultiProgress>,
    overall: ProgressBar,
    tenants: HashMap<String, ProgressBar>,
    rows: u64,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Self::with_target(total, std::io::stderr().is_terminal())
    }

    fn with_target(total: usize, on: bool) -> Self {
        let multi = on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let overall = match &multi {
            Some(m) if total > 1 => {
                let b = m.add(ProgressBar::new(total as u64));
                b.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} tenants, {msg} rows  {elapsed}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b.set_message("0");
                b.enable_steady_tick(Duration::from_millis(200));
                b
            }
            _ => ProgressBar::hidden(),
        };
        Self {
            multi,
            overall,
            tenants: HashMap::new(),
            rows: 0,
        }
    }

    fn tenant(&mut self, name: &str) -> &ProgressBar {
        let multi = &self.multi;
        self.tenants.entry(name.to_owned()).or_insert_with(|| {
            let Some(m) = multi else {
                return ProgressBar::hidden();
            };
            spinner(
                m.add(ProgressBar::new_spinner()),
                "{spinner} {prefix}: {pos} rows  {per_sec}",
                name,
                Duration::from_millis(120),
            )
        })
    }

    pub fn row(&mut self, name: &str) {
        self.rows += 1;
        self.tenant(name).inc(1);
        if self.rows.is_multiple_of(100) {
            self.overall.set_message(self.rows.to_string());
        }
    }

    pub fn done(&mut self, name: &str) {
        if let Some(b) = self.tenants.remove(name) {
            b.finish_and_clear();
        }
        self.overall.inc(1);
        self.overall.set_message(self.rows.to_string());
    }

    /// Runs `f` (which writes to stdout) with the bars lifted, so they never mix.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.multi {
            Some(m) => m.suspend(f),
            None => f(),
        }
    }

    pub fn clear(&mut self) {
        for (_, b) in self.tenants.drain() {
            b.finish_and_clear();
        }
        self.overall.finish_and_clear();
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_rows_per_tenant_and_drops_a_tenant_when_it_is_done() {
        // Drawn to stderr, which is not a terminal under test: nothing shows, the
        // counting is the same.
        let mut p = Progress::with_target(3, true);
        for _ in 0..250 {
            p.row("A");
        }
        p.row("B");
        assert_eq!(p.tenant("A").position(), 250);
        assert_eq!(p.rows, 251);
        p.done("A");
        assert!(!p.tenants.contains_key("A"));
        assert_eq!(p.overall.position(), 1);
        assert_eq!(p.overall.message(), "251");
        p.done("B");
        p.done("C");
        assert_eq!(p.overall.position(), 3);
        p.clear();
        assert!(p.tenants.is_empty());
    }
}
