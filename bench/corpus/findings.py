"""The findings of a corpus run, most important first, as Markdown.

1. locked ≠ plain: every cell whose outputs differ between the locked run
   and the plain run while the two plain runs agree, with every difference;
   locked builds that fail where the plain run succeeds;
2. false replay verdicts: notebooks whose plain runs agree but whose replay
   does not say ``reproduced`` (the first diverged node, its detail);
3. ``notelock:`` lines in the locked runs' output;
4. plain-unstable notebooks the replay did not flag;
5. the top opaque types, with where they occur;
6. the slowest lock-all overheads, and locked builds that wait longer after
   their last cell than plain runs do.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from .report import SHUTDOWN_SLACK_S


def _q(text: Any, n: int = 300) -> str:
    s = " ".join(str(text if text is not None else "").split())
    return (s if len(s) <= n else s[: n - 1] + "…").replace("`", "'")


def findings_markdown(results: list[dict[str, Any]], totals: dict[str, Any] | None = None) -> str:
    ran = [r for r in results if r.get("status") == "ok"]
    out: list[str] = ["# Corpus findings", ""]

    out += ["## 1. Locked run ≠ plain run", ""]
    n = 0
    for r in ran:
        lk = r.get("locked") or {}
        if not lk.get("ok"):
            e = lk.get("error") or {}
            n += 1
            out.append(f"- **{r['name']}** (`{r.get('path')}`): the locked build fails where plain succeeds:"
                       f" `{_q(e.get('message') or e.get('evalue'))}`")
        for d in r.get("differences", []):
            if d.get("unstable_in_plain"):
                continue
            n += 1
            out.append(f"- **{r['name']}**, cell {d['cell']} (In [{d.get('execution_count')}], `{_q(d['source'], 100)}`):")
            for x in d["diffs"][:6]:
                out.append(f"  - {x['what']}" + (f" line {x['line']}" if x.get("line") else "")
                           + f": plain `{_q(x.get('a'), 240)}` — locked `{_q(x.get('b'), 240)}`")
    plain_fails = [r for r in results if r.get("status") == "plain-fails"]
    for r in plain_fails:
        if not r.get("same_exception"):
            n += 1
            p = (r.get("plain") or [{}])[0].get("error")
            lk = (r.get("locked") or {}).get("error")
            out.append(f"- **{r['name']}** fails plain (`{_q(p)}`) but the locked run differs: `{_q(lk)}`")
    if not n:
        out.append("None.")
    out.append("")

    out += ["## 2. False replay verdicts (plain runs agree, replay does not say `reproduced`)", ""]
    n = 0
    for r in ran:
        if not (r.get("baseline") or {}).get("stable"):
            continue
        v = r.get("replay_verdict")
        if v == "reproduced" or not (r.get("locked") or {}).get("ok"):
            continue
        rep = r.get("replay") or {}
        n += 1
        out.append(f"- **{r['name']}**: {v}; counts {rep.get('counts')}, exit {rep.get('exit_code')}")
        if rep.get("error"):
            out.append(f"  - error: `{_q(rep['error'])}`")
        for d in rep.get("diverged", [])[:4]:
            out.append(f"  - DIVERGED {d.get('id')} ({_q(d.get('label'), 80)}): `{_q(d.get('detail'), 300)}`")
        for d in rep.get("not_verified", [])[:3]:
            out.append(f"  - not verified {d.get('id')} ({_q(d.get('label'), 80)}): `{_q(d.get('detail'), 200)}`")
        for m in rep.get("messages", [])[:3]:
            out.append(f"  - message: `{_q(m, 200)}`")
    if not n:
        out.append("None.")
    out.append("")

    out += ["## 3. `notelock:` lines in the locked runs", ""]
    lines = [(r["name"], w) for r in results for w in r.get("notelock_lines", [])]
    for name, w in lines:
        out.append(f"- **{name}**, cell {w['cell']}: `{_q(w['line'], 300)}`")
    for r in results:
        for w in (r.get("locked") or {}).get("build_warnings", []):
            if not any(w == x["line"] for x in r.get("notelock_lines", [])):
                out.append(f"- **{r['name']}** (build warning): `{_q(w, 300)}`")
    if not lines:
        out.append("None.")
    out.append("")

    out += ["## 4. Plain runs differ: did the replay flag it?", ""]
    for r in ran:
        b = r.get("baseline") or {}
        if b.get("stable", True):
            continue
        rep = r.get("replay") or {}
        first = rep.get("first_diverged") or {}
        cells = ", ".join(f"cell {c['cell']} ({c['diffs'][0]['what']}: `{_q(c['diffs'][0].get('a'), 90)}`"
                          f" vs `{_q(c['diffs'][0].get('b'), 90)}`)" for c in b.get("cells", [])[:3])
        flagged = r.get("replay_verdict")
        out.append(f"- **{r['name']}**: {cells}; replay: {flagged}"
                   + (f", first diverged {first.get('id')}: `{_q(first.get('detail'), 200)}`" if first else ""))
    out.append("")

    out += ["## 5. Opaque values", ""]
    if totals and totals.get("values"):
        out.append(f"{totals['opaque']} of {totals['values']} recorded values opaque"
                   f" ({100 * totals['opaque'] / totals['values']:.2f} %).")
        out.append("")
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for r in ran:
        for item in (r.get("opaque") or {}).get("items", []):
            by_type[item.get("type") or "(type unknown)"].append((r["name"], item))
    for t, items in sorted(by_type.items(), key=lambda kv: -len(kv[1]))[:15]:
        nbs = Counter(name for name, _ in items)
        reasons = Counter(i.get("reason") for _, i in items if i.get("reason"))
        names = Counter(i["name"] for _, i in items)
        out.append(f"- `{t}` ×{len(items)} in {len(nbs)} notebooks ({', '.join(list(nbs)[:4])}); names:"
                   f" {', '.join(f'`{k}`' for k, _ in names.most_common(5))}"
                   + (f"; reason: `{_q(reasons.most_common(1)[0][0], 200)}`" if reasons else ""))
    out.append("")

    out += ["## 6. Overhead", ""]
    timed = sorted((r for r in ran if (r.get("overhead") or {}).get("ratio") is not None),
                   key=lambda r: -r["overhead"]["ratio"])
    for r in timed[:8]:
        o = r["overhead"]
        out.append(f"- **{r['name']}**: {o['ratio']:.2f}× ({o['nbconvert_lockfile_s']:.1f} s lockfile vs"
                   f" {o['nbconvert_execute_s']:.1f} s execute; in-process build {o['build_s']:.1f} s vs plain"
                   f" {o['plain_s']:.1f} s)")
    slow = [r for r in ran if (r.get("overhead") or {}).get("tail_locked_s") is not None
            and r["overhead"].get("tail_plain_s") is not None
            and r["overhead"]["tail_locked_s"] > r["overhead"]["tail_plain_s"] + SHUTDOWN_SLACK_S]
    for r in slow:
        o = r["overhead"]
        out.append(f"- **{r['name']}** waits {o['tail_locked_s']:.1f} s after its last cell locked, "
                   f"{o['tail_plain_s']:.1f} s plain")
    out.append("")
    return "\n".join(out)
