//! The run's reports: `summary.json` (every number), `report.html` (self-contained, plots
//! inline), each plot as its own `.svg`, and the summary table printed on the terminal.

mod html;
pub mod svg;
pub mod terminal;

use std::path::Path;

use anyhow::Context;

use crate::run::Summary;
use svg::{Line, PALETTE, chart};

/// The plots of a run, by file name.
pub fn charts(summary: &Summary) -> Vec<(&'static str, String)> {
    let timeline = &summary.measurements.timeline;
    let series = |value: fn(&crate::stats::SecondPoint) -> f64| -> Vec<(f64, f64)> {
        timeline
            .iter()
            .map(|point| (f64::from(point.t), value(point)))
            .collect()
    };
    let mut charts = vec![
        (
            "rate.svg",
            chart(
                "Arrival rate: target and achieved",
                "seconds",
                "journeys / s",
                &[
                    Line::new("target", PALETTE[6], series(|p| p.target_rate)).dashed(),
                    Line::new("started", PALETTE[0], series(|p| p.started as f64)),
                    Line::new("started late (> 5 ms)", PALETTE[1], series(|p| p.late as f64)),
                ],
            ),
        ),
        (
            "latency.svg",
            chart(
                "Request latency per second (from the intended start)",
                "seconds",
                "ms",
                &[
                    Line::new("p50", PALETTE[2], series(|p| p.p50_ms)),
                    Line::new("p90", PALETTE[0], series(|p| p.p90_ms)),
                    Line::new("p99", PALETTE[1], series(|p| p.p99_ms)),
                ],
            ),
        ),
        (
            "throughput.svg",
            chart(
                "Requests completed per second",
                "seconds",
                "requests / s",
                &[
                    Line::new("requests", PALETTE[0], series(|p| p.requests as f64)),
                    Line::new("errors", PALETTE[1], series(|p| p.errors as f64)),
                    Line::new("journeys in flight", PALETTE[3], series(|p| p.in_flight as f64)).dashed(),
                ],
            ),
        ),
    ];
    let per_process = |value: fn(&(u32, f64, f64)) -> f64| -> Vec<Line> {
        summary
            .resources
            .iter()
            .zip(PALETTE.iter().cycle())
            .map(|(process, color)| {
                Line::new(
                    process.name.clone(),
                    color,
                    process.samples.iter().map(|s| (f64::from(s.0), value(s))).collect(),
                )
            })
            .collect()
    };
    if !summary.resources.is_empty() {
        charts.push((
            "cpu.svg",
            chart("CPU per process", "seconds", "% of one core", &per_process(|s| s.1)),
        ));
        charts.push((
            "memory.svg",
            chart("Memory per process (PSS)", "seconds", "MiB", &per_process(|s| s.2)),
        ));
    }
    if let (Some(stress), Some(limits)) = (&summary.stress, summary.profile.stress) {
        let steps = |value: fn(&crate::monitor::StepResult) -> f64| -> Vec<(f64, f64)> {
            stress
                .steps
                .iter()
                .map(|step| (step.target_rate, value(step)))
                .collect()
        };
        let limit: Vec<(f64, f64)> = stress
            .steps
            .iter()
            .map(|s| (s.target_rate, limits.max_p99_ms))
            .collect();
        charts.push((
            "stress.svg",
            chart(
                "Stress steps: request p99 by target rate",
                "target journeys / s",
                "ms",
                &[
                    Line::new("p99", PALETTE[1], steps(|s| s.p99_ms)),
                    Line::new("p99 limit", PALETTE[6], limit).dashed(),
                ],
            ),
        ));
    }
    charts
}

pub fn write(summary: &Summary, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let charts = charts(summary);
    std::fs::write(dir.join("summary.json"), serde_json::to_vec_pretty(summary)?)?;
    std::fs::write(dir.join("report.html"), html::render(summary, &charts))?;
    for (name, svg) in &charts {
        std::fs::write(dir.join(name), svg)?;
    }
    Ok(())
}
