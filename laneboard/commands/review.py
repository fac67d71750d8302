"""`laneboard review`: escalate the branch's diff to the plan-mode reviewer, keep the artifact.

Thin on purpose: everything that matters (collecting, redacting, bounding, the tree check,
the artifact) is in `laneboard.lanes.review`, so the cockpit can run the same review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, run

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig


@click.command()
@click.option("--base", "base", metavar="REF", default=None,
              help="Compare against REF (default: the branch's upstream, else main).")
@click.option("--head", "head", metavar="REF", default=None, help="Review REF (default: HEAD).")
@click.option("--lane", "lane", default=None,
              help="Review lane (default: the first lane with role reviewer).")
@click.option("--timeout", type=click.FloatRange(min=1.0), default=900.0, show_default=True,
              help="Seconds to wait for the lane's lock, and again for the answer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--pr", "pr", metavar="N", default=None,
              help="Review pull request N: git fetch REMOTE pull/N/head (a plain git remote).")
@click.option("--remote", "remote", metavar="NAME", default="origin", show_default=True,
              help="The git remote --pr fetches from.")
@click.option("--max-rung", "max_rung", type=int, default=None, help="Climb no higher than rung N.")
@click.option("--rung", "only_rung", type=int, default=None, help="Run rung N of the ladder only.")
@click.option("--escalate", is_flag=True, help="Climb to the escalation rung whatever the rules say.")
@click.option("--sarif", "sarif", metavar="FILE", default=None,
              help="Also write the findings as SARIF 2.1.0 to FILE (for CI).")
@click.option("--fail-on", "fail_on", default=None, metavar="SEVERITY",
              type=click.Choice(["blocker", "critical", "major", "high", "medium", "minor", "low",
                                 "nit"], case_sensitive=False),
              help="Exit 3 when a finding is at or above SEVERITY (a CI gate).")
@config_option
def review(base: str | None, head: str | None, lane: str | None, timeout: float,
           as_json: bool, pr: str | None, remote: str, max_rung: int | None,
           only_rung: int | None, escalate: bool, sarif: str | None, fail_on: str | None,
           config_path: str | None) -> None:
    """Review the diff BASE...HEAD on the reviewer lane (plan mode, read-only).

    Secrets in the diff are redacted before anything is sent. The answer is stored as a
    review artifact whose path is printed; its findings come first, one per line.

    With `review.ladder` in the config (and no --lane) the review climbs the ladder:
    cheap rungs first, the escalation rung only when a rule says so.

    Exit 0 when the review completed, 1 when a lane failed or timed out (an artifact
    still records it) or the working tree changed during the review, 2 for usage errors,
    3 when --fail-on is given and a finding is at or above it.
    """
    from pathlib import Path

    from laneboard.lanes.review import repo_root, run_review

    loaded = load_config_for(config_path)
    if pr is not None:
        from laneboard.lanes.pull_requests import fetch_pr

        if head is not None:
            raise click.UsageError("--pr and --head name the head twice; pass one")
        head = fetch_pr(repo_root(Path.cwd()), pr, remote)
    if loaded.config.review.ladder and lane is None:
        _ladder(loaded, base, head, timeout, as_json, max_rung, only_rung, escalate, sarif,
                fail_on)
        return
    if max_rung is not None or only_rung is not None or escalate:
        raise click.UsageError("--max-rung, --rung and --escalate need review.ladder in the "
                               "config (and no --lane)")
    result = run(run_review(loaded, cwd=Path.cwd(), base=base, head=head, lane=lane,
                            timeout_s=timeout))
    if as_json:
        emit_json(result.as_json())
    if result.nothing_to_review:
        if not as_json:
            click.echo(f"nothing to review: {result.head} has no changes since {result.base}")
        return
    if not as_json:
        if result.artifact is not None:
            click.echo(str(result.artifact.path))
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.severities.items()))
        click.echo(
            f"{result.lane} ({result.model or '?'}): {result.state}, {result.findings} "
            f"finding(s){' — ' + summary if summary else ''}, {result.elapsed_s:.1f}s",
            err=True,
        )
        for cut in result.cuts:
            click.echo(f"  cut from the prompt: {cut}", err=True)
    if result.error:
        click.echo(f"laneboard: review lane {result.lane}: {result.error}", err=True)
    if result.tree_unchanged is False:
        shown = "\n".join(f"    {c}" for c in result.tree_changes[:20])
        more = len(result.tree_changes) - 20
        click.echo(
            "laneboard: WARNING: THE WORKING TREE CHANGED DURING THE REVIEW.\n"
            f"  The review lane {result.lane!r} should be read-only, yet these paths changed:\n"
            f"{shown}{f'{chr(10)}    … and {more} more' if more > 0 else ''}\n"
            "  Inspect them (`git status`, `git diff`) before trusting the tree; the artifact "
            "records tree_unchanged: false.",
            err=True,
        )
    if result.exit_code:
        raise SystemExit(result.exit_code)


def _ladder(loaded: LoadedConfig, base: str | None, head: str | None, timeout: float,
            as_json: bool, max_rung: int | None, only_rung: int | None, escalate: bool,
            sarif: str | None, fail_on: str | None) -> None:
    """Run the ladder, print what each rung did, write SARIF, exit by --fail-on."""
    from pathlib import Path

    from laneboard.lanes.review_ladder import run_ladder
    from laneboard.lanes.sarif import to_sarif, write_sarif

    result = run(run_ladder(loaded, cwd=Path.cwd(), base=base, head=head, max_rung=max_rung,
                            only_rung=only_rung, escalate=escalate, timeout_s=timeout))
    if sarif is not None:
        from laneboard import __version__

        write_sarif(Path(sarif), to_sarif(result.findings, version=__version__))
    if as_json:
        emit_json(result.as_json())
    elif result.nothing_to_review:
        click.echo(f"nothing to review: {result.head} has no changes since {result.base}")
    else:
        if result.artifact is not None:
            click.echo(str(result.artifact.path))
        for r in result.rungs:
            if r.ran:
                click.echo(f"rung {r.index} {r.lane} ({r.does}, {r.model or '?'}): {r.state}, "
                           f"{len(r.findings)} finding(s), {r.tokens} tokens — {r.why}", err=True)
        for f in result.findings:
            where = f"{f.file}:{f.line}" if f.file and f.line else f.file or "-"
            flag = " (not in the diff)" if f.in_diff is False else ""
            click.echo(f"  [{f.severity}] {where}{flag} {f.title}", err=True)
    for r in result.rungs:
        if r.error:
            click.echo(f"laneboard: review rung {r.index} ({r.lane}): {r.error}", err=True)
    if result.tree_unchanged is False:
        click.echo("laneboard: WARNING: THE WORKING TREE CHANGED DURING THE REVIEW: "
                   + ", ".join(result.tree_changes[:20]), err=True)
    code = result.exit_code(fail_on)
    if code:
        raise SystemExit(code)
