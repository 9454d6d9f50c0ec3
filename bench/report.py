"""The results table (Markdown, printed and pasted into ``bench/README.md``) and targets."""

from typing import Any

KIB = 1024


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def throughput_table(scenarios: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| scenario | max sustained /s | fixed rate /s | p50 ms | p90 ms | p99 ms "
        "| p99 ms at max | dropped | errors | server CPU | server CPU ms per request "
        "| loadgen CPU |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for entry in scenarios.values():
        best, fixed = entry.get("max"), entry.get("fixed") or {}
        latency = fixed.get("latency_ms") or {}
        lines.append(
            "| {title} | {max} | {rate} | {p50} | {p90} | {p99} | {pmax} | {dropped} | {errors} "
            "| {scpu} | {per} | {gcpu} |".format(
                title=entry["title"],
                max=_rate(best["achieved_rps"]) if best else "< first rung",
                rate=_rate(fixed.get("offered_rps")),
                p50=_ms(latency.get("p50")),
                p90=_ms(latency.get("p90")),
                p99=_ms(latency.get("p99")),
                pmax=_ms(best["latency_ms"]["p99"]) if best else "–",
                dropped=fixed.get("dropped", "–"),
                errors=fixed.get("errors", "–"),
                scpu=_share(fixed.get("server_cpu")),
                per=_ms(cpu_ms_per_request(fixed)),
                gcpu=_share(fixed.get("loadgen_cpu")),
            )
        )
    return lines


def cpu_ms_per_request(fixed: dict[str, Any]) -> float | None:
    """Server CPU per request in the fixed-rate run; None when that run was overloaded
    (drops or errors: the CPU then says how busy the server was, not what a request costs)."""
    cpu, rate = fixed.get("server_cpu"), fixed.get("achieved_rps")
    if cpu is None or not rate or fixed.get("dropped") or fixed.get("errors"):
        return None
    return float(cpu) * 1000 / float(rate)


def _share(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def fanout_table(fanout: dict[str, Any]) -> list[str]:
    lines = [
        "| subscribers | connected | frames expected | lost | p50 ms | p90 ms | p99 ms | max ms "
        "| CPU ms per webhook: server / client | server RSS before → after "
        "| per idle subscription |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for step in fanout.get("steps", []):
        latency = step["latency_ms"]
        lines.append(
            f"| {step['subscribers']:,} | {step['connected']:,} | {step['frames_expected']:,} "
            f"| {step['frames_lost']:,} | {_ms(latency['p50'])} | {_ms(latency['p90'])} "
            f"| {_ms(latency['p99'])} | {_ms(latency['max'])} "
            f"| {step.get('server_cpu_ms_per_webhook', '–')} / "
            f"{step.get('client_cpu_ms_per_webhook', '–')} "
            f"| {step['server_rss_before_mib']} → {step['server_rss_after_mib']} MiB "
            f"| {_per_subscription(step)} |"
        )
    return lines


def _per_subscription(step: dict[str, Any]) -> str:
    per = step["bytes_per_idle_subscription"]
    # After a larger step the server reuses the heap it kept: RSS says nothing then.
    return f"{per / KIB:.1f} KiB" if per >= KIB else "– (heap kept from the step before)"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 8 with what was measured and whether it is met."""
    found: list[dict[str, Any]] = []
    scenarios = results.get("scenarios", {})
    floor, order = scenarios.get("floor_tortoise", {}), scenarios.get("order", {})
    if floor.get("max") and order.get("max"):
        ratio = order["max"]["achieved_rps"] / floor["max"]["achieved_rps"]
        found.append(
            {
                "target": "(b) order(id) ≥ 50% of the Tortoise floor's throughput",
                "measured": f"{ratio:.0%} ({order['max']['achieved_rps']:,.0f} vs "
                f"{floor['max']['achieved_rps']:,.0f} req/s)" + _cpu_note(floor, order),
                "met": ratio >= 0.5,
            }
        )
    queries = results.get("queries_per_orders_page")
    if queries:
        found.append(
            {
                "target": "(c) ≤ 5 SQL queries per orders page, whatever its size",
                "measured": ", ".join(f"first {size}: {n}" for size, n in queries.items()),
                "met": max(queries.values()) <= 5,
            }
        )
    write = (scenarios.get("write") or {}).get("fixed")
    if write:
        p99 = write["latency_ms"]["p99"]
        found.append(
            {
                "target": "(d) write path p99 ≤ 50 ms at 100 orders/s"
                + ("" if results["stack"] == "postgres" else " (target is for PostgreSQL)"),
                "measured": f"p99 {_ms(p99)} ms at {write['offered_rps']:.0f}/s, "
                f"{write['dropped']} dropped, {write['errors']} errors",
                "met": p99 is not None
                and p99 <= 50
                and write["dropped"] == 0
                and write["errors"] == 0,
            }
        )
    steps = {s["subscribers"]: s for s in (results.get("fanout") or {}).get("steps", [])}
    if 5000 in steps:
        step = steps[5000]
        p99 = step["latency_ms"]["p99"]
        found.append(
            {
                "target": "(f) fan-out to 5,000 subscribers: p99 ≤ 250 ms, 0 lost",
                "measured": f"p99 {_ms(p99)} ms, {step['frames_lost']} lost",
                "met": p99 is not None and p99 <= 250 and step["frames_lost"] == 0,
            }
        )
    if steps:
        largest = steps[max(steps)]  # measured first, on a fresh server
        per = largest["bytes_per_idle_subscription"] / KIB
        found.append(
            {
                "target": "(g) ≤ 40 KiB per idle websocket subscription",
                "measured": f"{per:.1f} KiB ({largest['subscribers']:,} subscriptions)",
                "met": per <= 40,
            }
        )
    return found


def _cpu_note(floor: dict[str, Any], order: dict[str, Any]) -> str:
    payql = cpu_ms_per_request(order.get("fixed") or {})
    bare = cpu_ms_per_request(floor.get("fixed") or {})
    if payql is None or bare is None:
        return ""
    return f"; server CPU per request {payql:.1f} vs {bare:.1f} ms ({bare / payql:.0%})"


def render(results: dict[str, Any]) -> str:
    lines = [
        f"payql bench — {results['date']} — {results['stack']}"
        f"{' + redis' if results.get('redis') else ''}"
        f"{f' — {workers} workers' if (workers := results.get('workers', 1)) > 1 else ''}"
        f" — {results['machine']}",
        "",
        *throughput_table(results.get("scenarios", {})),
        "",
    ]
    queries = results.get("queries_per_orders_page")
    if queries:
        lines += [
            "SQL statements per orders page (in-process count): "
            + ", ".join(f"first {size}: {n}" for size, n in queries.items()),
            "",
        ]
    if results.get("fanout"):
        lines += [*fanout_table(results["fanout"]), ""]
    lines += ["| target | measured | met |", "|---|---|---|"]
    lines += [
        f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |"
        for t in results.get("targets", [])
    ]
    return "\n".join(lines)
