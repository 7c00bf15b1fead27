//! Counters and a latency histogram, written in the Prometheus text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
pub struct Metrics {
    /// (route, status) → count.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Per bucket, plus the +Inf bucket last.
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    notes_coded: AtomicU64,
    note_errors: AtomicU64,
    rejected_busy: AtomicU64,
}

impl Metrics {
    pub fn request(&self, route: &'static str, status: u16, seconds: f64) {
        *self.requests.lock().expect("metrics lock").entry((route, status)).or_default() += 1;
        let i = BUCKETS.iter().position(|&b| seconds <= b).unwrap_or(BUCKETS.len());
        self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    pub fn note_coded(&self) {
        self.notes_coded.fetch_add(1, Ordering::Relaxed);
    }

    pub fn note_error(&self) {
        self.note_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn busy(&self) {
        self.rejected_busy.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP icd_requests_total HTTP requests by route and status.\n# TYPE icd_requests_total counter\n");
        for ((route, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "icd_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP icd_request_duration_seconds Request latency.\n# TYPE icd_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "icd_request_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.latency_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "icd_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "icd_request_duration_seconds_sum {}", self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "icd_request_duration_seconds_count {cumulative}");
        for (name, help, v) in [
            ("icd_notes_coded_total", "Notes coded.", &self.notes_coded),
            ("icd_note_errors_total", "Notes refused or failed (bad input, limits, timeouts).", &self.note_errors),
            ("icd_rejected_busy_total", "Requests answered 503 because the queue was full.", &self.rejected_busy),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Ordering::Relaxed));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.request("/v1/code", 200, 0.02);
        m.request("/v1/code", 200, 3.0);
        m.request("/v1/code", 400, 0.001);
        m.note_coded();
        let text = m.render();
        assert!(text.contains("icd_requests_total{route=\"/v1/code\",status=\"200\"} 2"), "{text}");
        assert!(text.contains("icd_requests_total{route=\"/v1/code\",status=\"400\"} 1"), "{text}");
        assert!(text.contains("icd_request_duration_seconds_bucket{le=\"0.01\"} 1"), "{text}");
        assert!(text.contains("icd_request_duration_seconds_bucket{le=\"0.025\"} 2"), "{text}");
        assert!(text.contains("icd_request_duration_seconds_bucket{le=\"5\"} 3"), "{text}");
        assert!(text.contains("icd_request_duration_seconds_count 3"), "{text}");
        assert!(text.contains("icd_notes_coded_total 1"), "{text}");
    }
}
