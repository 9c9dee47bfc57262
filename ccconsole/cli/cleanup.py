"""Cleanup from the command line (domain.md section 8): ``problems``, ``fix local-numbers``, ``merge``
and ``undo``. Each is scriptable: ``--json`` prints data, ``--yes`` skips the question, ``--dry-run``
shows what would happen and writes nothing."""

from __future__ import annotations

from typing import Any

import click

from ccconsole.app.cleanup import MergeResult, check_problem
from ccconsole.cli.base import Fail, db_option, echo, emit, handles_errors, json_option, main, opened
from ccconsole.core import problems as rules
from ccconsole.core.combine import KEEP, OTHER
from ccconsole.core.text import visible

EXAMPLES = 5


@main.command("problems")
@click.argument("name", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="How many contacts to list.")
@db_option
@json_option
@click.pass_context
@handles_errors
def problems(ctx: click.Context, name: str | None, limit: int, db_url: str | None, as_json: bool) -> None:
    """Count the contacts with each problem, or list those with problem NAME (with the reason)."""
    with opened(ctx, db_url, read_only=True) as ws:
        if name is None:
            counts = ws.cleanup.counts()
            emit(counts, as_json, [f"{p:<20} {n:>9,}" for p, n in counts.items()])
            return
        check_problem(name.strip().lower())
        listed = ws.cleanup.listed(name.strip().lower(), limit=limit)
    emit([r.as_dict() for r in listed], as_json,
         [f"{r.contact.uuid}\t{r.contact.name or '(no name)'}\t{r.contact.priority_identity or '—'}\t{r.reason}"
          for r in listed])


@main.group()
def fix() -> None:
    """Fix a problem in bulk."""


@fix.command("local-numbers")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@json_option
@click.pass_context
@handles_errors
def fix_local_numbers(ctx: click.Context, dry_run: bool, yes: bool, db_url: str | None, as_json: bool) -> None:
    """Re-normalize every local number with the workspace's country (undo with `ccconsole undo`)."""
    with opened(ctx, db_url, read_only=dry_run) as ws:
        plan = ws.cleanup.renormalize_plan()
        summary: dict[str, Any] = {"dry_run": dry_run, "planned": plan.counts, "examples": {
            o.value: [{"contact": f.contact_name, "old": f.old, "new": f.new} for f in plan.examples(o, EXAMPLES)]
            for o in rules.Outcome}}
        if not as_json or dry_run:
            lines = [f"{n:>7,}  {rules.OUTCOME_TEXT[rules.Outcome(o)]}" for o, n in plan.counts.items()]
            for o in rules.Outcome:
                lines += [f"         e.g. {f.old} → {f.new}  ({f.contact_name or 'no name'})"
                          for f in plan.examples(o, EXAMPLES)]
            if not as_json:
                for line in lines:
                    echo(line)
        if dry_run or not plan.fixes:
            if as_json:
                emit(summary, True, [])
            elif not plan.fixes:
                echo("No local numbers to re-normalize.")
            return
        if not yes and not click.confirm("Re-normalize these numbers?", default=False, err=True):
            raise Fail("Nothing was changed.")
        with click.progressbar(length=len(plan.contacts), label="Re-normalizing", file=click.get_text_stream("stderr"),
                               show_eta=False) as bar:
            done = [0]

            def progress(n: int, total: int) -> None:
                bar.update(n - done[0])
                done[0] = n

            result = ws.cleanup.renormalize(progress=progress)
    summary.update(done=result.counts, contacts=result.contacts, event_id=result.event_id)
    emit(summary, as_json, [f"Re-normalized the numbers of {result.contacts:,} contacts."
                            + (f" Undo: ccconsole undo {result.event_id}" if result.event_id else "")])


def _picks(pairs: tuple[str, ...]) -> dict[str, str]:
    picks = {}
    for pair in pairs:
        attr, sep, side = pair.partition("=")
        if not sep or side.strip().lower() not in (KEEP, OTHER):
            raise Fail(f"--pick takes ATTRIBUTE=keep or ATTRIBUTE=other (e.g. name=other), not {pair!r}.")
        picks[attr.strip().lower()] = side.strip().lower()
    return picks


def merge_lines(result: MergeResult, country: str | None) -> list[str]:
    s = result.survivor
    lines = [f"Keeps {s.name or '(no name)'} ({s.uuid})"]
    for step in result.steps:
        lines.append(f"  merges {step.other.name or '(no name)'} ({step.other.uuid}): {step.messages} messages")
        lines += [f"    drops {b} (the same address as {a})" for b, a in step.plan.dropped]
    lines.append("Connections: " + ", ".join(c.identity for c in s.connections))
    for step in result.steps:
        for clash in step.plan.clashes:
            if step.plan.values.get(clash.attr) == clash.other:
                lines.append(f"  {clash.attr}: {clash.other!r} (picked; was {clash.keep!r})")
            else:
                lines.append(f"  {clash.attr}: {clash.keep!r} (kept; the other has {clash.other!r})")
    if s.groups:
        lines.append("Groups: " + ", ".join(s.groups))
    lines.append(f"Messages after the merge: {result.keep_messages}")
    return lines


def _merge_dict(result: MergeResult) -> dict[str, Any]:
    return {"dry_run": result.dry_run, "survivor": result.survivor.as_dict(),
            "merged": [{"uuid": st.other.uuid, "name": st.other.name, "messages": st.messages,
                        "dropped": [list(d) for d in st.plan.dropped]} for st in result.steps],
            "clashes": [{"attr": c.attr, "keep": c.keep, "other": c.other} for c in result.clashes],
            "messages": result.keep_messages}


@main.command("merge")
@click.argument("keep")
@click.argument("others", metavar="OTHER...", nargs=-1, required=True)
@click.option("--pick", "picks", multiple=True, metavar="ATTR=keep|other",
              help="Which value wins where both differ (name, language, status, fields.KEY); default keep.")
@click.option("--dry-run", is_flag=True, help="Show the merge; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@json_option
@click.pass_context
@handles_errors
def merge(ctx: click.Context, keep: str, others: tuple[str, ...], picks: tuple[str, ...], dry_run: bool, yes: bool,
          db_url: str | None, as_json: bool) -> None:
    """Merge OTHER contacts into KEEP (UUIDs or connections such as tel:0788383383); KEEP survives."""
    chosen = _picks(picks)
    with opened(ctx, db_url) as ws:
        preview = ws.cleanup.merge(keep, list(others), picks=chosen, dry_run=True)
        country = ws.info.country
        if dry_run:
            emit(_merge_dict(preview), as_json, merge_lines(preview, country))
            return
        if not yes:
            for line in merge_lines(preview, country):
                click.echo(visible(line), err=True)
            if not click.confirm("Merge?", default=False, err=True):
                raise Fail("Nothing was merged.")
        result = ws.cleanup.merge(keep, list(others), picks=chosen, expected=preview.versions)
    events = [step.event_id for step in result.steps]
    data = _merge_dict(result) | {"event_id": events[-1], "event_ids": events}
    undo = " ; ".join(f"ccconsole undo {e}" for e in reversed(events))
    emit(data, as_json, merge_lines(result, country) + [f"Merged. Undo: {undo}"])


@main.command("undo")
@click.argument("event_id", type=int)
@click.option("--dry-run", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_option
@json_option
@click.pass_context
@handles_errors
def undo(ctx: click.Context, event_id: int, dry_run: bool, yes: bool, db_url: str | None, as_json: bool) -> None:
    """Undo a merge or a re-normalization (EVENT_ID from `ccconsole audit`)."""
    with opened(ctx, db_url) as ws:
        preview = ws.cleanup.undo(event_id, dry_run=True)
        lines = [f"  {c.name or '(no name)'} ({c.uuid}): " + ", ".join(x.identity for x in c.connections)
                 for c in preview.contacts]
        if dry_run:
            emit({"event_id": preview.event_id, "dry_run": True, "contacts": [c.as_dict() for c in preview.contacts]},
                 as_json, [f"Undoing event {preview.event_id} would give:", *lines])
            return
        if not yes:
            click.echo(f"Undoing event {preview.event_id} gives:", err=True)
            for line in lines:
                click.echo(visible(line), err=True)
            if not click.confirm("Undo?", default=False, err=True):
                raise Fail("Nothing was undone.")
        result = ws.cleanup.undo(event_id)
    emit({"event_id": result.event_id, "dry_run": False, "contacts": [c.as_dict() for c in result.contacts]}, as_json,
         [f"Undid event {result.event_id}:", *lines])

