#!/usr/bin/env python3
"""The stage ladder's numbers in one table and one plot, from the load-test summaries that
loadtest/stages.sh wrote: `<results>/<stage>/<profile>/summary.json`.

    python3 loadtest/stages_table.py docs/stages/results docs/stages

writes `<docs>/results.md` (a Markdown table, included by docs/stages/README.md) and
`<docs>/ladder.svg` (highest sustained rate and standard p99 per stage)."""

import json
import sys
from pathlib import Path

ORDER = ["monolith", "separate-database", "cache", "cluster", "read-replica", "search-engine", "monolith-unpinned",
         "database-per-business", "sharding", "services"]
NUMBERS = {"monolith": "1", "separate-database": "2", "cache": "3", "cluster": "4", "read-replica": "5", "search-engine": "6",
           "monolith-unpinned": "6*", "database-per-business": "7", "sharding": "8", "services": "9"}


def kind(name):
    """Which part of the system a sampled process is."""
    # A PostgreSQL backend's name is its process title ("15/main: postgres st_user …").
    if name.startswith("postgres") or ": postgres " in name:
        return "database"
    if name.split(" ")[0] in ("nats-server", "redis-server"):
        return "broker+redis"
    if name.startswith("loadtest"):
        return "generator"
    return "app"


def footprint(summary):
    """Average CPU (% of one core) and peak RSS (MiB) per kind of process."""
    totals = {}
    for process in summary.get("resources") or []:
        part = totals.setdefault(kind(process["name"]), {"cpu": 0.0, "memory": 0.0})
        part["cpu"] += process["avg_cpu_percent"]
        # Reports before the switch to PSS carry resident sizes.
        part["memory"] += process.get("peak_memory_mib", process.get("peak_rss_mib", 0.0))
    return totals


def row(stage, results):
    standard = load(results / stage / "standard" / "summary.json")
    stress = load(results / stage / "stress" / "summary.json")
    cells = {"stage": f"{NUMBERS.get(stage, '?')} {stage}"}
    if standard:
        requests = standard["measurements"]["requests"]
        parts = footprint(standard)
        app_cpu = parts.get("app", {}).get("cpu", 0.0)
        db_cpu = parts.get("database", {}).get("cpu", 0.0)
        infra_cpu = db_cpu + parts.get("broker+redis", {}).get("cpu", 0.0)
        throughput = requests["throughput_per_s"] or 1.0
        cells.update({
            "std_rate": f"{standard['achieved_rate']:.1f}",
            "std_p50": f"{requests['p50_ms']:.1f}",
            "std_p99": f"{requests['p99_ms']:.1f}",
            "std_err": f"{100.0 * requests['errors'] / max(requests['count'], 1):.2f}",
            # CPU-milliseconds per request: % of a core × 10 ms per second, per request per second.
            "cpu_per_req": f"{(app_cpu + infra_cpu) * 10.0 / throughput:.2f}",
            "app_cpu": f"{app_cpu:.0f}",
            "db_cpu": f"{db_cpu:.0f}",
            "app_memory": f"{parts.get('app', {}).get('memory', 0.0):.0f}",
            "infra_memory": f"{parts.get('database', {}).get('memory', 0.0) + parts.get('broker+redis', {}).get('memory', 0.0):.0f}",
            "db_tx": database_transactions(results / stage / "standard"),
            "reconciled": "yes" if standard["reconciliation"] and standard["reconciliation"].get("passed", True)
                          and standard["verdict"]["passed"] else "NO",
        })
    if stress and stress.get("stress"):
        held = [step for step in stress["stress"]["steps"] if step["held"]]
        if held:
            best = max(held, key=lambda step: step["achieved_rate"])
            seconds = stress["load_seconds"] / max(len(stress["stress"]["steps"]), 1)
            cells["max_rate"] = f"{best['achieved_rate']:.0f}"
            cells["max_rps"] = f"{best['requests'] / seconds:.0f}"
            cells["max_p99"] = f"{best['p99_ms']:.0f}"
        else:
            cells["max_rate"] = "none held"
        cells["stress_ok"] = "yes" if stress["verdict"]["passed"] else "NO"
    return cells


def database_transactions(run):
    """Transactions per second of the stage's database servers over the run (`database.json`)."""
    database = load(run / "database.json")
    return f"{database['transactions_per_s']:.0f}" if database else "–"


def load(path):
    return json.loads(path.read_text()) if path.exists() else None


COLUMNS = [
    ("stage", "stage"),
    ("std_rate", "standard: journeys/s"),
    ("std_p50", "p50 ms"),
    ("std_p99", "p99 ms"),
    ("std_err", "errors %"),
    ("cpu_per_req", "CPU ms / request"),
    ("app_cpu", "app CPU %"),
    ("db_cpu", "PostgreSQL CPU %"),
    ("db_tx", "database transactions/s"),
    ("app_memory", "app memory MiB"),
    ("infra_memory", "infra memory MiB"),
    ("reconciled", "reconciled"),
    ("max_rate", "stress: highest held journeys/s"),
    ("max_rps", "≈ requests/s"),
    ("max_p99", "p99 ms there"),
]


def table(rows):
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "|".join("---" if key == "stage" else "---:" for key, _ in COLUMNS) + "|"]
    for cells in rows:
        lines.append("| " + " | ".join(cells.get(key, "–") for key, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


# The parts of the system a request's CPU is spent in, for the "where the CPU goes" table.
PARTS = ["monolith", "gateway", "user", "product", "order", "search", "PostgreSQL", "NATS", "Redis"]


def part(name):
    if kind(name) == "database":
        return "PostgreSQL"
    if name.startswith("nats-server"):
        return "NATS"
    if name.startswith("redis-server"):
        return "Redis"
    return name if name in PARTS else None


def cpu_by_part(results, stages):
    """CPU milliseconds per request of each part, at the standard rate."""
    lines = ["| stage | " + " | ".join(PARTS) + " | total |",
             "|---|" + "---:|" * (len(PARTS) + 1)]
    for stage in stages:
        standard = load(results / stage / "standard" / "summary.json")
        if not standard:
            continue
        throughput = standard["measurements"]["requests"]["throughput_per_s"] or 1.0
        spent = {}
        for process in standard.get("resources") or []:
            name = part(process["name"])
            if name:
                spent[name] = spent.get(name, 0.0) + process["avg_cpu_percent"] * 10.0 / throughput
        cells = [f"{spent[p]:.2f}" if p in spent else "–" for p in PARTS]
        lines.append(f"| {NUMBERS.get(stage, '?')} {stage} | " + " | ".join(cells)
                     + f" | {sum(spent.values()):.2f} |")
    return "\n".join(lines) + "\n"


def plot(rows):
    """Two bars per stage: highest held rate (left axis) and standard p99 (right axis)."""
    width, height, left, bottom, top = 760, 340, 60, 60, 40
    plotted = [r for r in rows if r.get("max_rate", "").replace(".", "").isdigit()]
    rates = [float(r["max_rate"]) for r in plotted] or [1.0]
    p99s = [float(r.get("std_p99", "0")) for r in plotted] or [1.0]
    top_rate, top_p99 = max(rates) * 1.15, max(p99s) * 1.15 or 1.0
    slot = (width - 2 * left) / max(len(plotted), 1)
    bar = slot * 0.35
    scale = height - bottom - top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="12">',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">'
             'The ladder: highest sustained journeys/s (stress) and p99 at the standard rate</text>',
             f'<rect x="{left}" y="28" width="12" height="12" fill="#2b6cb0"/>'
             f'<text x="{left + 16}" y="38">journeys/s held (p99 &lt; 100 ms, &lt; 1 % errors)</text>',
             f'<rect x="{left + 330}" y="28" width="12" height="12" fill="#dd6b20"/>'
             f'<text x="{left + 346}" y="38">standard p99, ms (right axis)</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - left}" y2="{height - bottom}" stroke="#333"/>']
    for i, cells in enumerate(plotted):
        x = left + i * slot + slot * 0.1
        rate_h = float(cells["max_rate"]) / top_rate * scale
        p99_h = float(cells.get("std_p99", "0")) / top_p99 * scale
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - rate_h:.1f}" width="{bar:.1f}" '
                     f'height="{rate_h:.1f}" fill="#2b6cb0"/>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom - rate_h - 4:.1f}" '
                     f'text-anchor="middle">{cells["max_rate"]}</text>')
        parts.append(f'<rect x="{x + bar:.1f}" y="{height - bottom - p99_h:.1f}" width="{bar:.1f}" '
                     f'height="{p99_h:.1f}" fill="#dd6b20"/>')
        parts.append(f'<text x="{x + 1.5 * bar:.1f}" y="{height - bottom - p99_h - 4:.1f}" '
                     f'text-anchor="middle">{cells.get("std_p99", "")}</text>')
        parts.append(f'<text x="{x + bar:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                     f'{cells["stage"]}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    results, docs = Path(sys.argv[1]), Path(sys.argv[2])
    stages = [s for s in ORDER if (results / s).exists()]
    rows = [row(stage, results) for stage in stages]
    text = (table(rows) + "\nWhere the CPU goes: milliseconds of CPU per request at the standard rate, "
            "by process (the load generator left out).\n\n" + cpu_by_part(results, stages))
    (docs / "results.md").write_text(text)
    (docs / "ladder.svg").write_text(plot(rows))
    print(text)


if __name__ == "__main__":
    main()
