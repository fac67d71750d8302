"""`laneboard review`: escalate the branch's diff to the plan-mode reviewer, keep the artifact.

Thin on purpose: everything that matters (collecting, redacting, bounding, the tree check,
the artifact) is in `laneboard.lanes.review`, so the cockpit can run the same review.
"""

from __future__ import annotations

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, run


@click.command()
@click.option("--base", "base", metavar="REF", default=None,
              help="Compare against REF (default: the branch's upstream, else main).")
@click.option("--head", "head", metavar="REF", default=None, help="Review REF (default: HEAD).")
@click.option("--lane", "lane", default=None,
              help="Review lane (default: the first lane with role reviewer).")
@click.option("--timeout", type=click.FloatRange(min=1.0), default=900.0, show_default=True,
              help="Seconds to wait for the lane's lock, and again for the answer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def review(base: str | None, head: str | None, lane: str | None, timeout: float,
           as_json: bool, config_path: str | None) -> None:
    """Review the diff BASE...HEAD on the reviewer lane (plan mode, read-only).

    Secrets in the diff are redacted before anything is sent. The answer is stored as a
    review artifact whose path is printed; its findings come first, one per line.

    Exit 0 when the review completed, 1 when the lane failed or timed out (an artifact
    still records it) or the working tree changed during the review, 2 for usage errors.
    """
    from pathlib import Path

    from laneboard.lanes.review import run_review

    loaded = load_config_for(config_path)
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
