"""From results.json to ratios, targets (met or missed), a Markdown report and a plot."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

SEND_RATE_TARGET = 1000
CPU_PARTS = ("client", "api", "bare", "neo4j", "redis")


def _rows(results: dict[str, Any], endpoint: str, variant: str) -> dict[int, dict[str, Any]]:
    return {
        r["concurrency"]: r
        for r in results.get("rows", [])
        if r["endpoint"] == endpoint and r["variant"] == variant
    }


def _div(a: float, b: float) -> float:
    return round(a / b, 3) if b and not math.isnan(a) and not math.isnan(b) else math.nan


def ratios(results: dict[str, Any]) -> dict[str, Any]:
    api = _rows(results, "suggestions", "cold")
    raw = _rows(results, "suggestions", "neo4j-driver")
    warm = _rows(results, "suggestions", "warm")
    bare = _rows(results, "bare-fastapi", "fixed JSON")

    def overhead(a: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
        # Latency ratios over the same users (requests both sides completed), when recorded.
        pa, pr = a.get("paired", a), r.get("paired", r)
        return {
            "p50": _div(pa["p50_ms"], pr["p50_ms"]),
            "p99": _div(pa["p99_ms"], pr["p99_ms"]),
            "mean": _div(pa["mean_ms"], pr["mean_ms"]),
            "paired_requests": pa["requests"],
            "throughput": _div(r["throughput_rps"], a["throughput_rps"]),
        }

    out: dict[str, Any] = {
        "api_overhead": {c: overhead(api[c], raw[c]) for c in sorted(api) if c in raw},
        "warm_vs_bare_throughput": {
            c: _div(warm[c]["throughput_rps"], bare[c]["throughput_rps"])
            for c in sorted(warm)
            if c in bare
        },
    }
    nx = results.get("networkx")
    if nx and 1 in api and 1 in raw:
        p50 = nx["stats"]["p50_ms"]
        out["networkx"] = {
            "nx_p50_over_api_cold_p50": _div(p50, api[1]["p50_ms"]),
            "nx_p50_over_driver_p50": _div(p50, raw[1]["p50_ms"]),
            "nx_p99_over_api_cold_p99": _div(nx["stats"]["p99_ms"], api[1]["p99_ms"]),
        }
    return out


def _target(name: str, condition: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"target": name, "condition": condition, "measured": measured, "met": met}


def sustained(step: dict[str, Any]) -> bool:
    return bool(
        step["achieved_rps"] >= 0.95 * step["offered_rps"]
        and step["errors"] == 0
        and step["dropped"] == 0
    )


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    cold = _rows(results, "suggestions", "cold")
    for c, r in sorted(cold.items()):
        out.append(
            _target(
                "cold suggestions p50",
                "<= 20 ms",
                f"{r['p50_ms']:.1f} ms at c={c}",
                r["p50_ms"] <= 20,
            )
        )
        out.append(
            _target(
                "cold suggestions p99",
                "<= 100 ms",
                f"{r['p99_ms']:.1f} ms at c={c}",
                r["p99_ms"] <= 100,
            )
        )
    rat = results.get("ratios") or ratios(results)
    for c, v in rat["warm_vs_bare_throughput"].items():
        out.append(
            _target(
                "warm suggestions throughput / bare endpoint",
                ">= 0.60",
                f"{v:.2f} at c={c}",
                v >= 0.60,
            )
        )
    for c, v in rat["api_overhead"].items():
        out.append(
            _target(
                "API overhead (cold API p50 / driver p50, same users)",
                "<= 1.3",
                f"{v['p50']:.2f} at c={c}",
                v["p50"] <= 1.3,
            )
        )
    steps = (results.get("messages") or {}).get("steps", [])
    if steps:
        ok = [s for s in steps if sustained(s)]
        best = max(ok, key=lambda s: s["offered_rps"]) if ok else None
        at_target = next((s for s in steps if s["offered_rps"] == SEND_RATE_TARGET), None)
        if at_target is not None and sustained(at_target):
            p99 = at_target["from_schedule"]["p99_ms"]
            out.append(
                _target(
                    "message send p99 at 1,000/s",
                    "<= 20 ms",
                    f"{p99:.1f} ms at {at_target['achieved_rps']:.0f}/s",
                    p99 <= 20,
                )
            )
            ref = at_target
        else:
            shown = (
                f"1,000/s not sustained; highest sustained {best['offered_rps']:.0f}/s "
                f"(p99 {best['from_schedule']['p99_ms']:.1f} ms)"
                if best
                else "no rate sustained"
            )
            out.append(_target("message send p99 at 1,000/s", "<= 20 ms", shown, False))
            ref = best
        if ref is not None:
            d99 = ref["delivery"]["p99_ms"]
            out.append(
                _target(
                    "delivery p99 (send -> WebSocket)",
                    "<= 50 ms",
                    f"{d99:.1f} ms at {ref['offered_rps']:.0f}/s offered",
                    d99 <= 50 and ref["undelivered"] == 0,
                )
            )
    return out


def _fmt(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def _cpu(parts: dict[str, float]) -> str:
    return " / ".join(_fmt(parts.get(k), 2) for k in ("client", "api", "neo4j", "redis"))


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    g = results.get("graph", {})
    plan = meta["plan"]
    lines = [
        "# Benchmark results",
        "",
        f"Generated {meta['generated_at']} by `{meta['command']}` at commit "
        f"{meta['git_commit'] or '?'}; wall time {_fmt(results.get('wall_seconds'))} s.",
        "",
        f"Data: {_fmt(g.get('users'))} users, {_fmt(g.get('friendships'))} friendships, "
        f"{_fmt(g.get('posts'))} posts, {_fmt(g.get('likes'))} likes, "
        f"{_fmt(g.get('comments'))} comments (`socialgraph seed synthetic --users "
        f"{plan['users']} --avg-degree {plan['avg_degree']:g} --seed {plan['seed']}`).",
        f"Server: uvicorn, {meta['server']['workers']} workers, `{meta['server']['uvicorn']}`; "
        f"Neo4j heap {meta['stack']['neo4j_heap']}, page cache {meta['stack']['neo4j_pagecache']}. "
        f"Client: {meta['client']}. Machine: {meta['machine']['cores']} cores, shared; "
        f"load average at the end {meta['machine']['load_average_at_end']}.",
        "",
        "## Targets",
        "",
        "| target | condition | measured | |",
        "|---|---|---|---|",
    ]
    for t in results.get("targets", []):
        mark = "met" if t["met"] else ("**missed**" if t["met"] is False else "-")
        lines.append(f"| {t['target']} | {t['condition']} | {t['measured']} | {mark} |")
    lines += [
        "",
        "## Latency and throughput (closed loop)",
        "",
        "c = concurrent clients. CPU ms per request: load generator / API workers / Neo4j / "
        "Redis. 'others' = CPU cores used meanwhile by processes outside the benchmark.",
        "",
        "| endpoint | variant | c | requests | errors | req/s | p50 ms | p95 ms | p99 ms "
        "| CPU ms/req | others |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for r in results.get("rows", []):
        cpu = dict(r["cpu_ms_per_request"])
        if r["endpoint"] == "bare-fastapi":
            cpu["api"] = cpu.get("bare", 0.0)
        lines.append(
            f"| {r['endpoint']} | {r['variant']} | {r['concurrency']} | {_fmt(r['requests'])} | "
            f"{_fmt(r['errors'])} | {_fmt(r['throughput_rps'])} | {_fmt(r['p50_ms'], 2)} | "
            f"{_fmt(r['p95_ms'], 2)} | {_fmt(r['p99_ms'], 2)} | {_cpu(cpu)} | "
            f"{_fmt(r['others_cpu_cores'], 2)} |"
        )
    rat = results.get("ratios", {})
    lines += [
        "",
        "## Side-by-side ratios (same run)",
        "",
        "| comparison | c | ratio |",
        "|---|--:|--:|",
    ]
    for c, v in rat.get("api_overhead", {}).items():
        same = f" (same {v['paired_requests']} users)"
        lines.append(f"| API cold / neo4j driver, p50 latency{same} | {c} | {_fmt(v['p50'], 2)} |")
        lines.append(f"| API cold / neo4j driver, p99 latency{same} | {c} | {_fmt(v['p99'], 2)} |")
        lines.append(
            f"| API cold / neo4j driver, mean latency{same} | {c} | {_fmt(v['mean'], 2)} |"
        )
        lines.append(f"| neo4j driver / API cold, throughput | {c} | {_fmt(v['throughput'], 2)} |")
    for c, v in rat.get("warm_vs_bare_throughput", {}).items():
        lines.append(f"| warm suggestions / bare FastAPI, throughput | {c} | {_fmt(v, 2)} |")
    for k, v in rat.get("networkx", {}).items():
        lines.append(f"| networkx: {k.replace('_', ' ')} | 1 | {_fmt(v, 2)} |")
    nx = results.get("networkx")
    if nx:
        s, a = nx["stats"], nx["agreement"]
        lines += [
            "",
            f"networkx (in memory, one process, `nx.adamic_adar_index` over the same candidates): "
            f"p50 {_fmt(s['p50_ms'], 2)} ms, p95 {_fmt(s['p95_ms'], 2)} ms, p99 "
            f"{_fmt(s['p99_ms'], 2)} ms per user over {nx['users']} users; loading the graph took "
            f"{_fmt(nx['load_seconds'])} s. Same top-20 as Cypher for {a['same_set']}/{a['users']} "
            f"users ({a['identical']} identical in order and score), max score difference "
            f"{a['max_score_diff']:.1e}.",
        ]
    steps = (results.get("messages") or {}).get("steps", [])
    if steps:
        m = results["messages"]
        lines += [
            "",
            "## Message send (open loop) and WebSocket delivery",
            "",
            f"{m['senders']} senders, {m['recipients']} recipients connected on WebSockets. Send "
            "latency from the scheduled start (includes any client lag); delivery from the send's "
            "start to the event's arrival on the recipient's socket.",
            "",
            "| offered/s | achieved/s | errors | dropped | send p50 | p95 | p99 | p99 from send "
            "| delivery p50 | p95 | p99 | undelivered | CPU ms/send |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for s in steps:
            f, d = s["from_schedule"], s["delivery"]
            lines.append(
                f"| {_fmt(s['offered_rps'], 0)} | {_fmt(s['achieved_rps'])} | {s['errors']} | "
                f"{s['dropped']} | {_fmt(f['p50_ms'], 2)} | {_fmt(f['p95_ms'], 2)} | "
                f"{_fmt(f['p99_ms'], 2)} | {_fmt(s['from_send']['p99_ms'], 2)} | "
                f"{_fmt(d['p50_ms'], 2)} | {_fmt(d['p95_ms'], 2)} | {_fmt(d['p99_ms'], 2)} | "
                f"{s['undelivered']} | {_cpu(s['cpu_ms_per_send'])} |"
            )
    bd = results.get("breakdown")
    if bd:
        lines += [
            "",
            "## Cold suggestion breakdown (in process, one call at a time)",
            "",
            "| step | p50 ms | p95 ms | p99 ms |",
            "|---|--:|--:|--:|",
        ]
        for k, v in bd.items():
            lines.append(
                f"| {k} | {_fmt(v['p50_ms'], 2)} | {_fmt(v['p95_ms'], 2)} | "
                f"{_fmt(v['p99_ms'], 2)} |"
            )
    prof = results.get("profile")
    if prof:
        t = prof["typical"]
        w = t["work"]
        lines += [
            "",
            "## PROFILE of recommend.adamic_adar",
            "",
            f"{prof['users']} sampled users: db hits p50 {_fmt(prof['db_hits_p50'])}, max "
            f"{_fmt(prof['db_hits_max'])}; server time p50 {_fmt(prof['server_ms_p50'])} ms, max "
            f"{_fmt(prof['server_ms_max'])} ms. Median user {t['user_id']}: degree "
            f"{_fmt(w['degree'])}, friends' degrees sum {_fmt(w['friend_degree_sum'])} "
            f"(largest {_fmt(w['max_friend_degree'])}), {_fmt(t['db_hits'])} db hits, "
            f"{t['runtime']} runtime. Operators by db hits:",
            "",
            "| operator | details | rows | db hits |",
            "|---|---|--:|--:|",
        ]
        for op in t["top_operators"]:
            details = op["details"].replace("|", "\\|")[:90]
            lines.append(
                f"| {op['operator']} | `{details}` | {_fmt(op['rows'])} | {_fmt(op['db_hits'])} |"
            )
    cc = results.get("client_check")
    if cc:
        lines += [
            "",
            f"Client check (bare endpoint, c=8): bench client "
            f"{_fmt(cc['bench_client']['throughput_rps'], 0)} req/s, httpx "
            f"{_fmt(cc['httpx']['throughput_rps'], 0)} req/s.",
        ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax_lat, ax_tp, ax_msg, ax_cpu = axes[0][0], axes[0][1], axes[1][0], axes[1][1]
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results.get("rows", []):
        if r["endpoint"] != "login":
            series.setdefault((r["endpoint"], r["variant"]), []).append(r)
    for (endpoint, variant), rows in series.items():
        rows.sort(key=lambda r: r["concurrency"])
        cs = [r["concurrency"] for r in rows]
        label = f"{endpoint} {variant}"
        (line,) = ax_lat.plot(cs, [r["p50_ms"] for r in rows], marker="o", label=label)
        ax_lat.plot(
            cs, [r["p99_ms"] for r in rows], marker="x", linestyle="--", color=line.get_color()
        )
        ax_tp.plot(
            cs, [r["throughput_rps"] for r in rows], marker="o", label=label, color=line.get_color()
        )
    ax_lat.axhline(20, color="grey", linewidth=0.8, linestyle=":")
    ax_lat.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    for ax, title, ylabel in (
        (ax_lat, "Latency: p50 (solid) and p99 (dashed)", "ms"),
        (ax_tp, "Throughput", "requests/s"),
    ):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    ax_tp.legend(fontsize=7, loc="best")

    steps = (results.get("messages") or {}).get("steps", [])
    if steps:
        rates = [s["offered_rps"] for s in steps]
        ax_msg.plot(
            rates, [s["from_schedule"]["p50_ms"] for s in steps], marker="o", label="send p50"
        )
        ax_msg.plot(
            rates, [s["from_schedule"]["p99_ms"] for s in steps], marker="o", label="send p99"
        )
        ax_msg.plot(
            rates, [s["delivery"]["p99_ms"] for s in steps], marker="s", label="delivery p99"
        )
        ax_msg.plot(rates, [s["achieved_rps"] for s in steps], alpha=0)  # keep the x range
        ax_msg.axhline(20, color="grey", linewidth=0.8, linestyle=":")
        ax_msg.axhline(50, color="grey", linewidth=0.8, linestyle=":")
        ax_msg.set_yscale("log")
        ax_msg.set_xlabel("offered sends/s (open loop)")
        ax_msg.set_ylabel("ms")
        ax_msg.set_title("Message send and WebSocket delivery latency")
        ax_msg.grid(True, which="both", alpha=0.3)
        ax_msg.legend(fontsize=8)

    picked = [r for r in results.get("rows", []) if r["concurrency"] == 8] or results.get(
        "rows", []
    )
    names = [f"{r['endpoint']}\n{r['variant']}" for r in picked]
    bottom = [0.0] * len(picked)
    for part in CPU_PARTS:
        vals = [r["cpu_ms_per_request"].get(part, 0.0) for r in picked]
        if any(vals):
            ax_cpu.bar(names, vals, bottom=bottom, label=part)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax_cpu.set_ylabel("CPU ms per request")
    ax_cpu.set_title("CPU per request by process (c=8)")
    ax_cpu.tick_params(axis="x", labelsize=6, rotation=45)
    ax_cpu.legend(fontsize=8)
    g = results.get("graph", {})
    fig.suptitle(
        f"socialgraph API, {g.get('users', 0):,} users / {g.get('friendships', 0):,} "
        f"friendships, {results['meta']['server']['workers']} uvicorn workers, "
        f"{results['meta']['machine']['cores']} shared cores"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
