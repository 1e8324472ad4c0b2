//! `report.html`: one file with the plots inline and the styles in the page — it opens from
//! disk with no network. The page is the template `loadtest/templates/report.html`.

use askama::Template;

use crate::{
    reconcile::{LatencySummary, ProductCheck},
    run::Summary,
    stats::SeriesSummary,
};

#[derive(Template)]
#[template(path = "report.html")]
struct Report<'a> {
    summary: &'a Summary,
    /// The plots, by file name.
    charts: &'a [(&'static str, String)],
}

impl Report<'_> {
    /// The plot `name` as inline SVG; nothing when the run has none.
    fn chart(&self, name: &str) -> &str {
        self.charts
            .iter()
            .find(|(file, _)| *file == name)
            .map_or("", |(_, svg)| svg.as_str())
    }

    /// `503×2 504×1`.
    fn by_status(&self, row: &SeriesSummary) -> String {
        let statuses: Vec<String> = row.errors_by_status.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        statuses.join(" ")
    }

    fn latency(&self, summary: &Option<LatencySummary>) -> String {
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

    fn sold_during_run(&self, product: &ProductCheck) -> i64 {
        i64::from(product.after.sold) - i64::from(product.before.sold)
    }
}

pub fn render(summary: &Summary, charts: &[(&'static str, String)]) -> String {
    Report { summary, charts }
        .render()
        .expect("the report renders: its template only formats values")
}
