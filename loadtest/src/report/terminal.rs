//! The summary printed when a run ends.

use std::fmt::Write as _;

use crate::{run::Summary, stats::SeriesSummary};

fn row(out: &mut String, s: &SeriesSummary) {
    let _ = writeln!(
        out,
        "  {:<38} {:>7} {:>6} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.1} {:>9.1}",
        s.name, s.count, s.errors, s.throughput_per_s, s.p50_ms, s.p90_ms, s.p99_ms, s.p999_ms, s.max_ms
    );
}

fn header(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        "\n  {title:<38} {:>7} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "count", "errors", "per s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
    );
}

pub fn render(summary: &Summary) -> String {
    let m = &summary.measurements;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  {:?} profile against {}: {:.1} s, target {:.2} journeys/s, achieved {:.2}/s; {} journeys, {} started late, {} dropped",
        summary.profile.name,
        summary.base_url,
        summary.load_seconds,
        summary.target_rate,
        summary.achieved_rate,
        m.started,
        m.late,
        summary.dropped
    );
    header(&mut out, "endpoint");
    for s in &m.endpoints {
        row(&mut out, s);
    }
    row(&mut out, &m.requests);
    header(&mut out, "journey");
    for s in &m.journeys {
        row(&mut out, s);
    }
    let b = &summary.business;
    let _ = writeln!(
        out,
        "\n  orders: {} placed, {} confirmed, {} cancelled by customers, {} payment declined, {} rejected, {} other, {} pending",
        b.orders_placed,
        b.confirmed,
        b.cancelled_by_customer,
        b.cancelled_payment_declined,
        b.rejected,
        b.cancelled_other,
        b.still_pending
    );
    if let Some(l) = &b.placed_to_confirmed_ms {
        let _ = writeln!(
            out,
            "  placed → confirmed: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            l.p50, l.p90, l.p99, l.max
        );
    }
    let f = &summary.freshness;
    if f.changes > 0 {
        let lag = f.lag_ms.as_ref().map_or_else(String::new, |l| {
            format!("p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; ", l.p50, l.p99, l.max)
        });
        let _ = writeln!(
            out,
            "  search freshness: {lag}{} price changes, {} not searchable within 30 s, {} probes failed",
            f.changes, f.missed, f.failed
        );
    }
    if let Some(stress) = &summary.stress {
        let _ = writeln!(out, "\n  stress steps (target/s → p99 ms, error rate):");
        for step in &stress.steps {
            let _ = writeln!(
                out,
                "    {:>7.1} → {:>8.1} ms  {:>6.2} %  {}",
                step.target_rate,
                step.p99_ms,
                step.error_rate * 100.0,
                match (step.cut_short, step.held) {
                    (true, _) => "cut short",
                    (false, true) => "held",
                    (false, false) => "did not hold",
                }
            );
        }
        let _ = writeln!(
            out,
            "  highest rate that held: {}",
            stress
                .highest_rate_held
                .map_or_else(|| "none".into(), |rate| format!("{rate} journeys/s"))
        );
    }
    if !summary.resources.is_empty() {
        let _ = writeln!(
            out,
            "\n  {:<24} {:>8} {:>9} {:>9} {:>10}",
            "process", "pid", "avg CPU%", "peak CPU%", "peak PSS MiB"
        );
        for p in &summary.resources {
            let _ = writeln!(
                out,
                "  {:<24} {:>8} {:>9.1} {:>9.1} {:>10.1}",
                p.name, p.pid, p.avg_cpu_percent, p.peak_cpu_percent, p.peak_memory_mib
            );
        }
        let footprint = crate::resources::Footprint::of(&summary.resources);
        let _ = writeln!(
            out,
            "  memory at the end (PSS): application {:.1} MiB, infrastructure (PostgreSQL, NATS, Redis) {:.1} MiB",
            footprint.application_mib, footprint.infrastructure_mib
        );
    }
    let r = &summary.reconciliation;
    let _ = writeln!(
        out,
        "\n  reconciliation: {} ({} orders, {} products, settled in {:.1} s)",
        if r.passed { "consistent" } else { "VIOLATIONS" },
        r.orders_checked,
        r.products_checked,
        r.settle_seconds
    );
    for violation in &r.violations {
        let _ = writeln!(out, "    - {violation}");
    }
    let _ = writeln!(out, "\n  {}", if summary.verdict.passed { "PASSED" } else { "FAILED" });
    for reason in &summary.verdict.reasons {
        let _ = writeln!(out, "    - {reason}");
    }
    out
}
