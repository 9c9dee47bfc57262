"""Cleanup from the command line, through the entry point, on both backends: ``problems``,
``fix local-numbers``, ``merge``, ``undo`` (JSON and text), and their refusals as one line."""

from __future__ import annotations

import pytest

from ccconsole.app import open_workspace
from tests.store_helpers import rw_store
from tests.test_cli import as_json, ok, run, run_many, user_error


@pytest.fixture
def dirty(backend_url, tmp_path):
    """Local numbers (one colliding with another contact's E.164 number) and a tel/whatsapp twin."""
    ws = rw_store(backend_url)
    ws.update(country="")
    path = tmp_path / "in.csv"
    path.write_text("Name,URN:tel,URN:whatsapp\nJane Local,0788383383,\nPaul Local,0788111222,\n"
                    "Owner,+250788111222,\nTwin,,250788111222\n", encoding="utf-8")
    ws.transfer.import_file(path)
    ws.update(country="RW")
    ws.close()
    return backend_url


def test_problems_counts_and_lists_with_reasons(dirty):
    counts, listed, text = run_many(("problems", "--db", dirty, "--json"),
                                    ("problems", "local_number", "--db", dirty, "--json"),
                                    ("problems", "duplicate", "--db", dirty))
    counts = as_json(counts)
    assert counts["local_number"] == 2 and counts["duplicate"] == 3
    rows = as_json(listed)
    assert {r["name"] for r in rows} == {"Jane Local", "Paul Local"}
    assert all("+250" in r["reason"] for r in rows)
    lines = ok(text).splitlines()
    assert len(lines) == 3 and all(len(line.split("\t")) == 4 for line in lines)
    assert any("same address" in line for line in lines)


def test_fix_local_numbers_dry_run_then_apply_then_undo(dirty):
    dry = as_json(run("fix", "local-numbers", "--dry-run", "--json", "--db", dirty))
    assert dry["planned"] == {"in_place": 1, "into_own": 0, "duplicate": 1}
    assert dry["examples"]["in_place"] == [{"contact": "Jane Local", "old": "tel:0788383383",
                                            "new": "tel:+250788383383"}]
    refused = run("fix", "local-numbers", "--db", dirty, input="n\n")
    assert refused.returncode != 0 and "Nothing was changed" in refused.stderr
    done = as_json(run("fix", "local-numbers", "--yes", "--json", "--db", dirty))
    assert done["done"]["in_place"] == 1 and done["contacts"] == 1
    shown = as_json(run("contacts", "show", "tel:+250788383383", "--json", "--db", dirty))
    assert shown["name"] == "Jane Local"
    undone = ok(run("undo", str(done["event_id"]), "--yes", "--db", dirty))
    assert "Jane Local" in undone
    assert as_json(run("problems", "--json", "--db", dirty))["local_number"] == 2


def test_merge_dry_run_merge_lookup_and_undo(dirty):
    preview = as_json(run("merge", "tel:+250788111222", "whatsapp:250788111222", "--dry-run", "--json",
                          "--db", dirty))
    assert preview["dry_run"] is True
    assert [c["identity"] for c in preview["survivor"]["connections"]] == ["tel:+250788111222"]
    assert preview["merged"][0]["dropped"] == [["whatsapp:250788111222", "tel:+250788111222"]]
    assert {c["attr"] for c in preview["clashes"]} == {"name"}
    twin = preview["merged"][0]["uuid"]
    merged = as_json(run("merge", "tel:+250788111222", twin, "--pick", "name=other", "--yes", "--json",
                         "--db", dirty))
    assert merged["survivor"]["name"] == "Twin"
    shown = run("contacts", "show", twin, "--json", "--db", dirty)
    assert as_json(shown)["uuid"] == merged["survivor"]["uuid"]
    assert f"was merged into {merged['survivor']['uuid']}" in shown.stderr
    again = user_error(run("merge", "tel:+250788111222", twin, "--yes", "--db", dirty))
    assert "merged into" in again
    assert merged["event_ids"] == [merged["event_id"]]
    ok(run("undo", str(merged["event_id"]), "--yes", "--db", dirty))
    assert as_json(run("contacts", "show", twin, "--json", "--db", dirty))["uuid"] == twin


def test_merge_and_undo_refusals_are_one_line(dirty):
    ws = open_workspace(dirty)
    jane = ws.contacts.get("tel:0788383383")
    seq = ws.change_seq()
    ws.close()
    results = run_many(("merge", jane.uuid, jane.uuid, "--yes", "--db", dirty),
                       ("merge", jane.uuid, "tel:+250799999999", "--yes", "--db", dirty),
                       ("merge", jane.uuid, "tel:+250788111222", "--pick", "name", "--db", dirty),
                       ("undo", "999999", "--yes", "--db", dirty),
                       ("problems", "dupes", "--db", dirty),
                       ("--read-only", "merge", jane.uuid, "tel:+250788111222", "--yes", "--db", dirty))
    messages = [user_error(r) for r in results]
    assert "itself" in messages[0]
    assert "No contact" in messages[1]
    assert "--pick" in messages[2]
    assert "No audit event 999999" in messages[3]
    assert "Unknown problem 'dupes'" in messages[4]
    assert "read-only" in messages[5]
    again = open_workspace(dirty)
    assert again.change_seq() == seq
    again.close()
