#!/usr/bin/env python3
"""The fault suite's verdict (loadtest/faults.sh runs it): per fault, from the load test's
per-second timeline and the orders' status history, the client errors, the time to recovery
and the worst settle time, against the goals; then direct SQL checks of the suite's
databases. Writes OUT/report.md, prints it, exits 1 if a check failed or (except with
--mode ci) a goal was missed.

Reads OUT/faults.tsv (component, killed, back: Unix times), OUT/loadtest/summary.json,
OUT/stock-before.tsv, and the databases the *_DATABASE_URL variables name (through psql).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from datetime import datetime

# The goals of issue 14.
MAX_ERROR_SECONDS = 5
MAX_SETTLE_SECONDS = 10
# Issue 20's, on a NATS cluster (--cluster): a lost node costs at most this share of requests.
MAX_ERROR_PERCENT = 1.0
# How long the outboxes and inboxes get to catch up before a leftover counts.
DRAIN_SECONDS = 30

# Who must apply which events: consumer → (its database, the publisher's database, event types).
CONSUMERS = {
    "product-inventory": ("PRODUCT", "ORDER", ["order.placed", "order.confirmed", "order.cancelled"]),
    "order-saga": ("ORDER", "PRODUCT", ["inventory.reserved", "inventory.rejected"]),
    "order-catalog": ("ORDER", "PRODUCT", ["product.created", "product.updated", "product.deactivated"]),
    "search-products": ("SEARCH", "PRODUCT", ["product.created", "product.updated", "product.deactivated"]),
    "search-stock": ("SEARCH", "PRODUCT", ["inventory.adjusted"]),
}
# A cancelled order's reservation was released (or never held: a tombstone, also released).
RESERVATION_OF = {"confirmed": "committed", "rejected": "rejected", "cancelled": "released"}


def sql(database, query):
    """Rows of `query` on the service database `database` (USER, PRODUCT, ORDER, SEARCH)."""
    url = os.environ[f"{database}_DATABASE_URL"]
    out = subprocess.run(
        ["psql", url, "-Atq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def epoch(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def orders():
    """Every order: id, status, created (Unix time), settled (first terminal status, or None)."""
    rows = sql("ORDER", """
        select o.id, o.status, extract(epoch from o.created_at),
               extract(epoch from (select min(h.occurred_at) from order_status_history h
                                   where h.order_id = o.id and h.status <> 'pending'))
        from orders o""")
    return [(i, s, float(c), float(t) if t else None) for i, s, c, t in rows]


def per_fault(faults, timeline, load_start, load_end, all_orders, max_error_percent):
    results = []
    for n, fault in enumerate(faults):
        start = fault["killed"] - load_start
        end = (faults[n + 1]["killed"] if n + 1 < len(faults) else load_start + load_end) - load_start
        # Point t covers the second (t - 1, t] of the load; the one under way at the next
        # fault is that fault's.
        window = [p for p in timeline if start < p["t"] <= end]
        errors = sum(p["errors"] for p in window)
        requests = sum(p["requests"] for p in window)
        error_percent = 100 * errors / requests if requests else 0.0
        error_seconds = [p["t"] for p in window if p["errors"] > 0]
        recovery = 0.0
        recovered_at = fault["back"]
        if error_seconds:
            # From the first second with errors to the first clean one after the last: a clean
            # second in between (anonymous search answers from its index without the
            # database, say) is not a recovery.
            first, last = error_seconds[0], error_seconds[-1]
            clean = next((p["t"] for p in window if p["t"] > last and p["errors"] == 0 and p["requests"] > 0), None)
            recovery = None if clean is None else float(clean - first)
            if clean is not None:
                recovered_at = max(recovered_at, load_start + clean - 1)
        # Every order pending at some time in the window: how long it stayed pending past
        # recovery, up to the next fault (which counts it from then on).
        settle = 0.0
        unsettled = 0
        for _, _, created, settled in all_orders:
            if created >= load_start + end or (settled is not None and settled <= load_start + start):
                continue
            if settled is None:
                unsettled += 1
                continue
            settle = max(settle, min(settled, load_start + end) - max(created, recovered_at))
        passed = (len(error_seconds) <= MAX_ERROR_SECONDS and recovery is not None
                  and settle <= MAX_SETTLE_SECONDS and unsettled == 0
                  and (max_error_percent is None or error_percent <= max_error_percent))
        results.append({
            "component": fault["component"], "outage": fault["back"] - fault["killed"], "errors": errors,
            "error_percent": error_percent,
            "error_seconds": len(error_seconds), "recovery": recovery, "settle": settle,
            "unsettled": unsettled, "passed": passed,
        })
    return results


def wait_until(check):
    """`check()` (a list of problems) until it is empty or DRAIN_SECONDS have passed."""
    give_up = time.monotonic() + DRAIN_SECONDS
    while True:
        problems = check()
        if not problems or time.monotonic() > give_up:
            return problems
        time.sleep(1)


def outboxes_drained():
    problems = []
    for database in ["USER", "PRODUCT", "ORDER"]:
        (count,), = sql(database, "select count(*) from outbox where published_at is null")
        if int(count):
            problems.append(f"{database.lower()} outbox: {count} events not published")
    return problems


def inboxes_complete():
    problems = []
    for consumer, (database, publisher, types) in CONSUMERS.items():
        kinds = ",".join(f"'{t}'" for t in types)
        published = {row[0] for row in sql(publisher, f"select event_id from outbox where subject in ({kinds})")}
        applied = {row[0] for row in sql(database, f"select event_id from inbox where consumer = '{consumer}'")}
        missing = published - applied
        if missing:
            problems.append(f"{consumer}: {len(missing)} of {len(published)} events not in its inbox "
                            f"(e.g. {sorted(missing)[0]})")
    return problems


def sql_checks(stock_before):
    checks = []

    def check(name, problems):
        checks.append((name, problems))

    all_orders = orders()
    pending = [o[0] for o in all_orders if o[1] == "pending"]
    check("every order terminal", [f"{len(pending)} orders still pending (e.g. {pending[0]})"] if pending else [])

    duplicates = sql("ORDER", """select user_id, idempotency_key, count(*) from orders
                                 group by 1, 2 having count(*) > 1""")
    twice = sql("ORDER", """select order_id, count(*) from order_status_history where status = 'confirmed'
                            group by 1 having count(*) > 1""")
    placed = sql("ORDER", """select envelope->>'aggregate_id', count(*) from outbox where subject = 'order.placed'
                             group by 1 having count(*) > 1""")
    check("no duplicate per idempotency key",
          [f"{len(duplicates)} idempotency keys with more than one order"] * bool(duplicates)
          + [f"{len(twice)} orders confirmed more than once"] * bool(twice)
          + [f"{len(placed)} orders placed (order.placed) more than once"] * bool(placed))

    # Stock: conserved (on hand + sold), nothing held, sold exactly what the confirmed orders hold,
    # every reservation where its order's status says.
    confirmed_units = {p: int(q) for p, q in sql("ORDER", """
        select i.product_id, sum(i.quantity) from orders o join order_items i on i.order_id = o.id
        where o.status = 'confirmed' group by 1""")}
    held = {p: int(q) for p, q in sql("PRODUCT", """
        select l.product_id, sum(l.quantity) from reservations r join reservation_lines l using (order_id)
        where r.status = 'held' group by 1""")}
    problems = []
    for product, on_hand, reserved, sold in sql("PRODUCT", "select product_id, on_hand, reserved, sold from inventory"):
        on_hand, reserved, sold = int(on_hand), int(reserved), int(sold)
        before = stock_before.get(product)
        if before is None:
            continue
        if on_hand + sold != before["on_hand"] + before["sold"]:
            problems.append(f"{product}: on hand + sold was {before['on_hand'] + before['sold']}, is {on_hand + sold}")
        if reserved != held.get(product, 0) or reserved:
            problems.append(f"{product}: {reserved} reserved, held reservations hold {held.get(product, 0)}")
        if sold - before["sold"] != confirmed_units.get(product, 0):
            problems.append(f"{product}: {sold - before['sold']} sold during the run, "
                            f"confirmed orders hold {confirmed_units.get(product, 0)}")
    reservations = dict(sql("PRODUCT", "select order_id, status from reservations"))
    wrong = [(i, s, reservations.get(i)) for i, s, *_ in all_orders
             if s in RESERVATION_OF and reservations.get(i, "released" if s == "cancelled" else None) != RESERVATION_OF[s]]
    if wrong:
        problems.append(f"{len(wrong)} orders whose reservation does not match, e.g. order {wrong[0][0]} is "
                        f"{wrong[0][1]}, its reservation {wrong[0][2]}")
    check("stock exact", problems)

    check("outboxes drained", wait_until(outboxes_drained))
    check("inboxes complete", wait_until(inboxes_complete))
    return checks, all_orders


def seconds(value):
    return "never" if value is None else f"{value:.1f} s"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--mode", default="full")
    parser.add_argument("--cluster", action="store_true", help="NATS was a 3-node cluster (adds the 1 %% goal)")
    args = parser.parse_args()

    with open(os.path.join(args.out, "faults.tsv")) as f:
        faults = [{"component": r["component"], "killed": float(r["killed"]), "back": float(r["back"])}
                  for r in csv.DictReader(f, delimiter="\t")]
    with open(os.path.join(args.out, "loadtest", "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(args.out, "stock-before.tsv")) as f:
        stock_before = {p: {"on_hand": int(h), "sold": int(s)} for p, h, _, s in csv.reader(f, delimiter="\t")}

    checks, all_orders = sql_checks(stock_before)
    timeline = summary["measurements"]["timeline"]
    max_error_percent = MAX_ERROR_PERCENT if args.cluster else None
    results = per_fault(faults, timeline, epoch(summary["load_started_at"]), summary["load_seconds"], all_orders,
                        max_error_percent)
    reconciliation = summary["reconciliation"]
    requests = summary["measurements"]["requests"]
    business = summary["business"]

    lines = [
        f"# Fault suite ({args.mode}{', NATS as a 3-node cluster, 3 copies of every stream' if args.cluster else ''})",
        "",
        f"{summary['load_seconds']:.0f} s of load at {summary['target_rate']:.1f} journeys/s "
        f"(mix {','.join(f'{j}={w}' for j, w in summary['profile']['mix'])}), {requests['count']} requests, {requests['errors']} failed; "
        f"{business['orders_placed']} orders placed ({business['confirmed']} confirmed, "
        f"{business['cancelled_by_customer']} cancelled by the shopper, "
        f"{business['cancelled_payment_declined']} declined, {business['rejected']} rejected, "
        f"{business['cancelled_other']} cancelled otherwise); {len(all_orders)} orders in the database.",
        "",
        f"Goals per fault: at most {MAX_ERROR_SECONDS} s with client errors, every order terminal at most "
        f"{MAX_SETTLE_SECONDS} s after recovery"
        + (f", client errors at most {MAX_ERROR_PERCENT:g} % of the requests until the next fault." if args.cluster else "."),
        "",
        "| fault (SIGKILL) | down for | client errors | seconds with errors | time to recovery | worst settle after recovery | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        settle = seconds(r["settle"]) + (f", {r['unsettled']} never settled" if r["unsettled"] else "")
        lines.append(f"| {r['component']} | {r['outage']:.1f} s | {r['errors']} ({r['error_percent']:.2f} %) | {r['error_seconds']} | "
                     f"{seconds(r['recovery'])} | {settle} | {'pass' if r['passed'] else 'FAIL'} |")
    lines += ["", "| check | result |", "|---|---|"]
    lines.append(f"| load test's reconciliation ({reconciliation['orders_checked']} orders, "
                 f"{reconciliation['products_checked']} products) | "
                 f"{'pass' if reconciliation['passed'] else 'FAIL: ' + '; '.join(reconciliation['violations'][:5])} |")
    for name, problems in checks:
        lines.append(f"| {name} | {'pass' if not problems else 'FAIL: ' + '; '.join(problems[:5])} |")
    goals_met = all(r["passed"] for r in results)
    consistent = reconciliation["passed"] and all(not problems for _, problems in checks)
    # CI's machine is shared and small: its timings are reported, only consistency gates.
    passed = consistent and (goals_met or args.mode == "ci")
    verdict = "PASSED" if passed else "FAILED"
    if not goals_met:
        verdict += " (goals missed" + (": reported, not gating in CI)" if args.mode == "ci" else ")")
    lines += ["", f"**{verdict}**", ""]
    if summary["measurements"]["error_samples"]:
        lines += ["First failed requests:", ""] + [f"- `{s}`" for s in summary["measurements"]["error_samples"][:10]] + [""]

    report = "\n".join(lines)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(report)
    print(report)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
