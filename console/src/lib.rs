//! `icd-console`: what `icd`, `icd-data`, `icd-train` and `icd-quantize` share at the
//! terminal, so their progress bars look alike and their logs go to the same place.
//!
//! - [`bar`] / [`counter`]: progress on stderr (hidden when stderr is not a terminal, so logs
//!   redirected to a file stay clean).
//! - [`init_logging`]: `tracing` to stderr, filtered by `RUST_LOG`.
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The one template: what is running, the bar, the count, a live message (loss, speed), and
/// elapsed / remaining time.
pub const BAR_TEMPLATE: &str = "{prefix} [{bar:30}] {pos}/{len} {msg} [{elapsed_precise}<{eta_precise}]";
/// For a count of unknown length (notes read from stdin).
pub const COUNTER_TEMPLATE: &str = "{prefix} {pos} {msg} [{elapsed_precise}, {per_sec}]";

/// A progress bar of `len` steps named `prefix`.
pub fn bar(len: u64, prefix: &str) -> ProgressBar {
    styled(ProgressBar::new(len), BAR_TEMPLATE, prefix)
}

/// A running count named `prefix`, for work of unknown length.
pub fn counter(prefix: &str) -> ProgressBar {
    styled(ProgressBar::no_length(), COUNTER_TEMPLATE, prefix)
}

fn styled(bar: ProgressBar, template: &str, prefix: &str) -> ProgressBar {
    let bar = bar.with_style(ProgressStyle::with_template(template).expect("the templates above are valid").progress_chars("=> "));
    bar.set_prefix(prefix.to_string());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Logs to stderr; `RUST_LOG` filters, else `default` (e.g. "info").
pub fn init_logging(default: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_bars_count() {
        for t in [BAR_TEMPLATE, COUNTER_TEMPLATE] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
        let b = bar(10, "epoch 1/5");
        b.inc(3);
        assert_eq!((b.position(), b.length(), b.prefix()), (3, Some(10), "epoch 1/5".to_string()));
        let c = counter("coding");
        c.inc(2);
        assert_eq!((c.position(), c.length()), (2, None));
    }
}
