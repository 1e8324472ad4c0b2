//! `report.html`: one file with the plots inline and the styles in the page — it opens from
//! disk with no network.

use std::fmt::Write as _;

use super::svg::escape;
use crate::{reconcile::LatencySummary, run::Summary, stats::SeriesSummary};

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}.pass{color:#007a3d}.fail{color:#b00020}\
h2{margin-top:1.6em;border-bottom:2px solid #eee}code,pre{background:#f6f6f6}pre{padding:.5em;white-space:pre-wrap}";

fn series_table(out: &mut String, title: &str, rows: &[SeriesSummary]) {
    let _ = write!(
        out,
        "<table><tr><th>{title}</th><th>count</th><th>errors</th><th>by status</th><th>per s</th>\
         <th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th></tr>"
    );
    for row in rows {
        let statuses: Vec<String> = row.errors_by_status.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td>\
             <td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            escape(&row.name),
            row.count,
            row.errors,
            escape(&statuses.join(" ")),
            row.throughput_per_s,
            row.p50_ms,
            row.p90_ms,
            row.p99_ms,
            row.p999_ms,
            row.max_ms
        );
    }
    out.push_str("</table>");
}

fn latency(summary: &Option<LatencySummary>) -> String {
    summary.as_ref().map_or_else(
        || "—".into(),
        |l| {
            format!(
                "p50 {:.1} · p90 {:.1} · p99 {:.1} · max {:.1} ms ({} samples)",
                l.p50, l.p90, l.p99, l.max, l.count
            )
        },
    )
}

fn key_values(out: &mut String, rows: &[(&str, String)]) {
    out.push_str("<table>");
    for (key, value) in rows {
        let _ = write!(out, "<tr><th>{key}</th><td>{}</td></tr>", escape(value));
    }
    out.push_str("</table>");
}

pub fn render(summary: &Summary, charts: &[(&'static str, String)]) -> String {
    let chart = |name: &str| {
        charts
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, svg)| svg.as_str())
            .unwrap_or("")
    };
    let m = &summary.measurements;
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Load test: {:?}</title>\
         <style>{STYLE}</style></head><body><h1>Load test — {:?} profile</h1>",
        summary.profile.name, summary.profile.name
    );
    let (class, verdict) = if summary.verdict.passed {
        ("pass", "PASSED")
    } else {
        ("fail", "FAILED")
    };
    let _ = write!(out, "<p class=\"{class}\"><strong>{verdict}</strong></p>");
    if !summary.verdict.reasons.is_empty() {
        out.push_str("<ul>");
        for reason in &summary.verdict.reasons {
            let _ = write!(out, "<li class=\"fail\">{}</li>", escape(reason));
        }
        out.push_str("</ul>");
    }

    out.push_str("<h2>Overview</h2>");
    key_values(
        &mut out,
        &[
            ("shop", summary.base_url.clone()),
            ("started", summary.started_at.to_rfc3339()),
            ("seed", summary.seed.to_string()),
            ("journey mix", summary.profile.mix.to_string()),
            (
                "session reuse",
                format!(
                    "{:.0} % of signed-in journeys stay signed in",
                    summary.profile.session_reuse * 100.0
                ),
            ),
            ("arrivals", format!("{:?} (open loop)", summary.profile.arrivals)),
            ("load", format!("{:.1} s", summary.load_seconds)),
            (
                "rate, journeys/s",
                format!(
                    "target {:.2} · achieved {:.2}",
                    summary.target_rate, summary.achieved_rate
                ),
            ),
            (
                "journeys started",
                format!(
                    "{} ({} more than 5 ms late, latest {:.1} ms; {} dropped)",
                    m.started, m.late, m.max_lateness_ms, summary.dropped
                ),
            ),
            (
                "requests",
                format!(
                    "{} ({:.1}/s), {} failed",
                    m.requests.count, m.requests.throughput_per_s, m.requests.errors
                ),
            ),
            (
                "request latency",
                format!(
                    "p50 {:.1} · p90 {:.1} · p99 {:.1} · p99.9 {:.1} · max {:.1} ms",
                    m.requests.p50_ms, m.requests.p90_ms, m.requests.p99_ms, m.requests.p999_ms, m.requests.max_ms
                ),
            ),
            (
                "shoppers",
                format!(
                    "{} prepared, {} signed up during the run",
                    summary.users_prepared, summary.users_signed_up
                ),
            ),
        ],
    );
    out.push_str(
        "<p>Latency is measured from each journey's <em>intended</em> start (its first request) or \
         from the moment the previous step answered, so a stalled shop shows as latency instead \
         of as fewer requests.</p>",
    );
    for name in ["rate.svg", "latency.svg", "throughput.svg"] {
        let _ = write!(out, "<div>{}</div>", chart(name));
    }

    if let Some(stress) = &summary.stress {
        out.push_str("<h2>Stress steps</h2>");
        let _ = write!(
            out,
            "<p>Highest target rate that held: <strong>{}</strong></p>",
            stress
                .highest_rate_held
                .map_or_else(|| "none".into(), |rate| format!("{rate} journeys/s"))
        );
        out.push_str(
            "<table><tr><th>target /s</th><th>achieved /s</th><th>requests</th><th>errors</th>\
             <th>error rate</th><th>p99 ms</th><th>unfinished</th><th>held</th></tr>",
        );
        for step in &stress.steps {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{:.2} %</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
                step.target_rate,
                step.achieved_rate,
                step.requests,
                step.errors,
                step.error_rate * 100.0,
                step.p99_ms,
                step.unfinished,
                match (step.cut_short, step.held) {
                    (true, _) => "cut short",
                    (false, true) => "yes",
                    (false, false) => "no",
                }
            );
        }
        out.push_str("</table>");
        let _ = write!(out, "<div>{}</div>", chart("stress.svg"));
    }

    out.push_str("<h2>Endpoints</h2>");
    series_table(&mut out, "endpoint", &m.endpoints);
    out.push_str("<h2>Journey steps</h2>");
    series_table(&mut out, "journey · step", &m.steps);
    out.push_str("<h2>Journeys</h2><p>From the intended start to the last answer; errors are failed journeys.</p>");
    series_table(&mut out, "journey", &m.journeys);

    let b = &summary.business;
    out.push_str("<h2>Business</h2>");
    key_values(
        &mut out,
        &[
            ("orders placed", b.orders_placed.to_string()),
            ("confirmed", b.confirmed.to_string()),
            ("cancelled by the customer", b.cancelled_by_customer.to_string()),
            ("cancelled, payment declined", b.cancelled_payment_declined.to_string()),
            ("cancelled, other", b.cancelled_other.to_string()),
            ("rejected (stock)", b.rejected.to_string()),
            ("still pending", b.still_pending.to_string()),
            ("placed → confirmed", latency(&b.placed_to_confirmed_ms)),
            ("placed → settled", latency(&b.placed_to_settled_ms)),
        ],
    );
    let f = &summary.freshness;
    out.push_str("<h2>Search freshness</h2><p>A price change by the administrator until the search shows it.</p>");
    key_values(
        &mut out,
        &[
            ("changes", f.changes.to_string()),
            ("not searchable within 30 s", f.missed.to_string()),
            ("lag", latency(&f.lag_ms)),
        ],
    );

    out.push_str("<h2>Resources</h2>");
    if summary.resources.is_empty() {
        out.push_str("<p>No process sampled (not a local shop, or not Linux).</p>");
    } else {
        out.push_str(
            "<table><tr><th>process</th><th>pid</th><th>avg CPU %</th><th>peak CPU %</th>\
             <th>avg memory MiB (PSS)</th><th>peak memory MiB</th></tr>",
        );
        for p in &summary.resources {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
                escape(&p.name),
                p.pid,
                p.avg_cpu_percent,
                p.peak_cpu_percent,
                p.avg_memory_mib,
                p.peak_memory_mib
            );
        }
        out.push_str("</table><p>CPU in % of one core (this machine's cores add up).</p>");
        for name in ["cpu.svg", "memory.svg"] {
            let _ = write!(out, "<div>{}</div>", chart(name));
        }
    }

    let r = &summary.reconciliation;
    let _ = write!(
        out,
        "<h2>Reconciliation</h2><p class=\"{}\"><strong>{}</strong>: {} orders and {} products checked; \
         settled {:.1} s after the load stopped.</p>",
        if r.passed { "pass" } else { "fail" },
        if r.passed { "consistent" } else { "VIOLATIONS" },
        r.orders_checked,
        r.products_checked,
        r.settle_seconds
    );
    for violation in &r.violations {
        let _ = write!(out, "<p class=\"fail\">{}</p>", escape(violation));
    }
    out.push_str(
        "<table><tr><th>product</th><th>available + reserved + sold before</th><th>after</th>\
         <th>reserved after</th><th>sold during the run</th><th>in confirmed orders</th></tr>",
    );
    for p in &r.products {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.product_id,
            p.before.total(),
            p.after.total(),
            p.after.reserved,
            i64::from(p.after.sold) - i64::from(p.before.sold),
            p.sold_by_run
        );
    }
    out.push_str("</table>");

    if !m.error_samples.is_empty() {
        out.push_str("<h2>First errors</h2><pre>");
        for sample in &m.error_samples {
            let _ = writeln!(out, "{}", escape(sample));
        }
        out.push_str("</pre>");
    }
    out.push_str("</body></html>\n");
    out
}
