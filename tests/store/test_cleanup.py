"""Cleanup on both backends (domain.md section 8): problems kept by every writer, the ``problem``
query term, re-normalizing local numbers, merging duplicates, and undoing both."""

from __future__ import annotations

import json
import threading

import pytest

from ccconsole.app import open_workspace
from ccconsole.errors import Conflict, NotFound, ReadOnly, StoreError
from tests.store_helpers import rw_store


def problems_of(ws, contact) -> dict[str, str]:
    """``{problem: reason}`` of a contact, as stored."""
    return {p.problem: p.reason for p in ws.cleanup.reasons([contact.id]).get(contact.id, [])}


def names(ws, contact) -> set[str]:
    return set(problems_of(ws, contact))


def import_rows(ws, tmp_path, rows: list[str], name: str = "in.csv"):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return ws.transfer.import_file(path)


def local_workspace(url, tmp_path):
    """A workspace whose numbers were imported before it had a country: stored local, then RW set."""
    ws = rw_store(url)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:tel", "Jane Local,0788383383", "Paul Local,0788111222",
                               "Owner,+250788111222"])
    ws.update(country="RW")
    return ws


# --- each problem, found when data is written ------------------------------------------------------


def test_a_clean_contact_has_no_problem(backend_url):
    ws = rw_store(backend_url)
    c = ws.contacts.create("Jane", ["tel:+250788383383"])
    assert names(ws, c) == set()
    assert ws.cleanup.counts() == {p: 0 for p in ws.cleanup.counts()}
    assert list(ws.cleanup.counts()) == ["local_number", "invalid_connection", "bad_number", "duplicate",
                                         "unreachable", "no_connection", "stale_affinity"]


def test_no_connection_and_unreachable_follow_updates(backend_url):
    ws = rw_store(backend_url)
    c = ws.contacts.create("Nobody")
    assert names(ws, c) == {"no_connection"}
    c = ws.contacts.update(c.uuid, urns=["facebook:12345"])
    assert names(ws, c) == {"unreachable"}
    assert "facebook" in problems_of(ws, c)["unreachable"]
    c = ws.contacts.update(c.uuid, urns=["facebook:12345", "tel:+250788383383"])
    assert names(ws, c) == set()
    ws.contacts.delete(c.uuid)
    assert sum(ws.cleanup.counts().values()) == 0


@pytest.mark.parametrize("common", [0, 10**9], ids=["walk", "list"])
def test_a_page_of_a_problem_is_the_same_whichever_way_it_is_read(backend_url, monkeypatch, common):
    """A page filtered to a problem walks the contacts in order when the problem is common and reads
    the problem's list when it is rare (store.query_sql.compile_query, SQLite): the same rows, in the
    same order, as the query's answer read without paging, every problem and both operators."""
    from ccconsole.core import problems as rules
    from ccconsole.store import contacts as contact_rows
    from tests.store_helpers import demo_store

    ws = demo_store(backend_url, 600)
    monkeypatch.setattr(contact_rows, "COMMON_PROBLEM", max(common, 1))
    scope = ws.scope
    for name in [p.value for p in rules.Problem] + ['""']:
        for op in ("=", "!="):
            text = f"problem {op} {name}"
            with ws.scope.engine.connect() as conn:  # the answer, without a page: every match, sorted here
                everyone = [tuple(r) for r in conn.execute(contact_rows.base(scope, text).with_only_columns(
                    contact_rows.Contact.name, contact_rows.Contact.id))]
            expected = [cid for _, cid in sorted(everyone)]
            assert len(expected) == ws.browse.count(text)
            first = [r.id for r in ws.browse.page(text=text, limit=40)]
            last = [r.id for r in ws.browse.page(text=text, limit=40, last=True)]
            assert (first, last) == (expected[:40], expected[-40:] if expected else []), text
            if len(expected) > 40:
                after = ws.browse.page(text=text, limit=10, after=(ws.contacts.get(expected[39]).name, expected[39]))
                assert [r.id for r in after] == expected[40:50], text
    assert 0 < ws.browse.count("problem = unreachable") < ws.browse.count('problem != ""') < 600


def test_a_page_walks_the_contacts_only_for_a_common_problem(sqlite_url, monkeypatch):
    """Which way a page reads (above): by how many contacts have the problem, counted no further."""
    from ccconsole.store import contacts as contact_rows
    from ccconsole.store import problems as problem_rows
    from ccconsole.store.unit import reading
    from tests.store_helpers import demo_store

    ws = demo_store(sqlite_url, 600)
    unreachable = ws.cleanup.counts()["unreachable"]
    assert unreachable > 2
    with reading(ws.scope) as s:
        assert problem_rows.at_least(s, ws.scope.workspace.id, "unreachable", unreachable)
        assert not problem_rows.at_least(s, ws.scope.workspace.id, "unreachable", unreachable + 1)
        assert problem_rows.at_least(s, ws.scope.workspace.id, "", unreachable + 1)  # any problem
        for threshold, way in ((unreachable, "EXISTS"), (unreachable + 1, " IN ")):
            monkeypatch.setattr(contact_rows, "COMMON_PROBLEM", threshold)
            sql = str(contact_rows.base(ws.scope, "problem = unreachable", paged=s))
            assert way in sql, (threshold, sql)
        assert "EXISTS" in str(contact_rows.base(ws.scope, "problem != unreachable", paged=s))
        assert "EXISTS" not in str(contact_rows.base(ws.scope, "problem = unreachable"))  # not a page: the list


def test_local_number_appears_when_the_country_is_set(backend_url, tmp_path):
    ws = local_workspace(backend_url, tmp_path)
    jane = ws.contacts.get("tel:0788383383")
    assert names(ws, jane) == {"local_number"}
    assert "+250788383383" in problems_of(ws, jane)["local_number"]
    # the local number and the stored E.164 one are the same address: both contacts are duplicates
    paul, owner = ws.contacts.get("tel:0788111222"), ws.contacts.get("tel:+250788111222")
    assert "duplicate" in names(ws, paul) and "duplicate" in names(ws, owner)
    assert ws.cleanup.counts()["local_number"] == 2
    assert ws.browse.count("problem = local_number") == 2
    assert ws.browse.count("problem = duplicate AND name ~ paul") == 1
    assert ws.browse.count('problem = ""') == 0
    assert ws.browse.count('problem != ""') == 3


def test_invalid_and_bad_numbers_from_an_import(backend_url, tmp_path):
    ws = rw_store(backend_url)
    import_rows(ws, tmp_path, ["Name,URN:tel", "Bad,+250712345678", "Short,0788"])
    bad = ws.contacts.get("tel:+250712345678")
    assert names(ws, bad) >= {"bad_number"}
    assert ws.cleanup.counts()["bad_number"] >= 1
    listed = ws.cleanup.listed("bad_number")
    assert bad.id in {r.contact.id for r in listed}
    assert all(r.reason for r in listed)


def test_duplicates_by_tel_and_whatsapp_and_by_name_and_digits(backend_url):
    ws = rw_store(backend_url)
    a = ws.contacts.create("Jake", ["tel:+250788999111"])
    b = ws.contacts.create("Jacob", ["whatsapp:250788999111"])
    assert "duplicate" in names(ws, a) and "duplicate" in names(ws, b)
    assert ws.cleanup.reasons([a.id], "duplicate")[a.id][0].other_id == b.id
    c = ws.contacts.create("Marie  Claire", ["tel:+250788555444"])
    d = ws.contacts.create("marie claire", ["tel:+254788555444"])
    assert "same name" in problems_of(ws, c)["duplicate"]
    assert ws.cleanup.reasons([d.id], "duplicate")[d.id][0].other_id == c.id
    # once one of them changes name, neither is a duplicate any more (the partner is re-evaluated too)
    ws.contacts.update(d.uuid, name="Marie Uwase")
    assert "duplicate" not in names(ws, ws.contacts.get(c.uuid))
    assert "duplicate" not in names(ws, ws.contacts.get(d.uuid))


def test_stale_affinity_follows_a_channel_being_disabled_and_enabled(backend_url):
    ws = rw_store(backend_url)
    c = ws.contacts.create("Jane", ["tel:+250788383383"])
    ws.messages.receive("MTN", "tel:+250788383383", "hello")
    assert names(ws, c) == set()
    ws.channels.set_active("MTN", False)
    assert names(ws, c) == {"stale_affinity"}
    ws.channels.set_active("MTN", True)
    assert names(ws, c) == set()


def test_unreachable_follows_channels_being_added(backend_url):
    ws = rw_store(backend_url)
    c = ws.contacts.create("Fb", ["facebook:12345"])
    assert names(ws, c) == {"unreachable"}
    ws.channels.add("Facebook", "Facebook", ["facebook"], address="page")
    assert names(ws, c) == set()


def test_an_inbound_message_creates_a_contact_with_its_problems(backend_url):
    ws = rw_store(backend_url)
    ws.messages.receive("Twitter", "twitter:jane", "hi")
    ws.contacts.create("Jane", ["twitterid:1234#jane"])
    assert ws.cleanup.counts()["duplicate"] == 2


def test_a_problem_name_is_checked():
    from ccconsole.core.query import QueryError, parse

    with pytest.raises(QueryError, match="Unknown problem 'dupe'"):
        parse("problem = dupe")


def test_problems_are_computed_when_an_older_database_is_opened(backend_url, tmp_path):
    ws = rw_store(backend_url)
    ws.contacts.create("Nobody")
    # forget every problem, as a database upgraded from before problems existed
    from sqlalchemy import text

    with ws.scope.engine.begin() as conn:
        conn.execute(text("DELETE FROM contact_problem"))
        conn.execute(text("UPDATE workspace SET problems_version = 0"))
    ws.close()
    again = open_workspace(backend_url)
    assert again.cleanup.counts()["no_connection"] == 1
    again.close()


def stored_problems(ws) -> dict[int, list[tuple]]:
    """Every live contact's stored problems, with reasons, connections and partners."""
    with ws.scope.engine.connect() as conn:
        ids = [cid for (cid,) in conn.exec_driver_sql("SELECT id FROM contact WHERE deleted_on IS NULL")]
    return {cid: sorted((p.problem, p.reason, p.identity, p.other_id) for p in found)
            for cid, found in ws.cleanup.reasons(ids).items() if found}


def test_problems_kept_at_write_time_equal_a_full_recompute_after_random_writes(backend_url):
    """Each write updates only what changed (store.problems.refresh); after any sequence of creates,
    updates, deletes and merges (refused ones too) the stored problems are what computing every
    contact's problems again gives."""
    import random

    from ccconsole.errors import StoreError

    ws = rw_store(backend_url)
    rnd = random.Random(8)
    pool = ["tel:+250788111222", "tel:+250788333444", "whatsapp:250788111222", "whatsapp:250788555666",
            "tel:+254788111222", "tel:+250712345678", "twitter:jane", "twitterid:42#jane", "tel:+250788555666",
            "facebook:777", "mailto:jane@example.com", "tel:+250788999000"]
    names = ["Jane Doe", "jane  doe", "Paul", "", "Paul", "Ann"]
    # first a partner renamed with its keys unchanged (no phone number): the other's reason names it
    jane = ws.contacts.create("Jane", ["twitter:jane"])
    ws.contacts.create("Paul", ["twitterid:42#jane"])
    ws.contacts.update(jane.uuid, name="Jane Doe")
    before_recompute = stored_problems(ws)
    ws.cleanup.recompute()
    assert stored_problems(ws) == before_recompute
    assert any("Jane Doe" in reason for found in before_recompute.values() for _, reason, *_ in found)
    live: list[str] = [c.uuid for c in ws.browse.page(limit=10)]
    seen: set[str] = set()
    for step in range(60):
        op = rnd.choice(["create", "create", "update", "rename", "reorder", "delete", "merge"])
        urns = rnd.sample(pool, rnd.randint(0, 3))
        try:
            if op == "create" or not live:
                live.append(ws.contacts.create(rnd.choice(names), urns).uuid)
            elif op == "update":
                ws.contacts.update(rnd.choice(live), name=rnd.choice(names), urns=urns)
            elif op == "rename":  # the keys may stay: a partner's reason names this contact
                ws.contacts.update(rnd.choice(live), name=rnd.choice(names))
            elif op == "reorder":  # same keys, another first connection: the reason may change
                c = ws.contacts.get(rnd.choice(live))
                ws.contacts.update(c.uuid, urns=[u.identity for u in reversed(c.connections)])
            elif op == "delete":
                ws.contacts.delete(live.pop(rnd.randrange(len(live))))
            elif len(live) > 1:
                keep, other = rnd.sample(live, 2)
                ws.cleanup.merge(ws.contacts.get(keep).id, [ws.contacts.get(other).id])
                live.remove(other)
        except StoreError:
            pass  # refused (an address another contact has, too many...): nothing written
        kept = stored_problems(ws)
        ws.cleanup.recompute()
        assert stored_problems(ws) == kept, f"step {step}: {op}"
        seen.update(p for found in kept.values() for p, *_ in found)
    assert {"duplicate", "bad_number", "unreachable", "no_connection"} <= seen  # the pool makes them


# --- re-normalizing local numbers ------------------------------------------------------------------


def test_renormalize_dry_run_counts_outcomes_and_writes_nothing(backend_url, tmp_path):
    ws = local_workspace(backend_url, tmp_path)
    seq = ws.change_seq()
    plan = ws.cleanup.renormalize_plan()
    assert plan.counts == {"in_place": 1, "into_own": 0, "duplicate": 1}
    assert [(f.old, f.new) for f in plan.examples(plan.fixes[0].outcome)] == [(plan.fixes[0].old, plan.fixes[0].new)]
    assert ws.change_seq() == seq
    assert ws.contacts.get("tel:0788383383").connections[0].identity == "tel:0788383383"


def test_renormalize_in_place_keeps_the_position_and_the_row(backend_url, tmp_path):
    ws = rw_store(backend_url)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:mailto,URN:tel", "Jane Local,jane@example.org,0788383383",
                               "Paul Local,,0788111222", "Owner,,+250788111222"])
    ws.update(country="RW")
    jane = ws.contacts.get("tel:0788383383")
    assert [c.identity for c in jane.connections] == ["mailto:jane@example.org", "tel:0788383383"]
    result = ws.cleanup.renormalize()
    assert result.counts == {"in_place": 1, "into_own": 0, "duplicate": 1}
    assert result.contacts == 1
    after = ws.contacts.get(jane.uuid)
    assert [c.identity for c in after.connections] == ["mailto:jane@example.org", "tel:+250788383383"]
    assert after.connections[1].id == jane.connections[1].id  # the same row, in place
    assert ws.cleanup.counts()["local_number"] == 1  # Paul's: another contact has his number
    events = ws.audit.page(contact_id=jane.id, limit=5)
    assert events[0].action == "contact.renormalize" and events[0].actor == "tester"


def test_renormalize_into_the_contacts_own_number_moves_messages(backend_url, tmp_path):
    ws = rw_store(backend_url)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:tel,URN:tel", "Twin,+250788383383,0788383383"])
    ws.update(country="RW")
    twin = ws.contacts.get("tel:+250788383383")
    assert [c.identity for c in twin.connections] == ["tel:+250788383383", "tel:0788383383"]
    plan = ws.cleanup.renormalize_plan()
    assert plan.counts["into_own"] == 1
    ws.cleanup.renormalize()
    after = ws.contacts.get(twin.uuid)
    assert [c.identity for c in after.connections] == ["tel:+250788383383"]
    assert ws.cleanup.counts()["local_number"] == 0


def test_renormalize_dry_run_counts_what_the_run_does_when_two_numbers_become_one(backend_url, tmp_path):
    """Two local numbers that become the same E.164 one: the first is fixed in place, the second goes
    into it (same contact) or stays, a duplicate (another contact); the dry run says so too."""
    ws = rw_store(backend_url)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:tel,URN:tel", "Ann,0788383383,", "Bob,788383383,",
                               "Cy,0788111222,788111222"])
    bob = ws.contacts.get("tel:788383383")
    ws.update(country="RW")
    plan = ws.cleanup.renormalize_plan()
    expected = {"in_place": 2, "into_own": 1, "duplicate": 1}
    assert plan.counts == expected
    assert ws.cleanup.renormalize().counts == expected
    cy = ws.contacts.get("tel:+250788111222")
    assert [c.identity for c in cy.connections] == ["tel:+250788111222"]
    assert [c.identity for c in ws.contacts.get(bob.uuid).connections] == ["tel:788383383"]


def test_renormalize_in_chunks_leaves_the_problems_a_full_recompute_gives(backend_url, monkeypatch):
    """The demo's dirt re-normalized in chunks sized by time (forced small here): every outcome
    happens, the problems kept from the contacts as written (not read back) equal a recompute, and
    each bulk transaction gives its connection back with garbage collection and the page cache as
    they were."""
    import gc

    from ccconsole.app import cleanup
    from tests.store_helpers import demo_store

    monkeypatch.setattr(cleanup, "FIRST_CHUNK", 7)
    monkeypatch.setattr(cleanup, "MIN_CHUNK", 5)
    monkeypatch.setattr(cleanup, "MAX_CHUNK", 9)
    ws = demo_store(backend_url, 900)
    tel = next(ch for ch in ws.channels.list() if "tel" in ch.schemes and ch.active)
    locked = [conn.id for row in ws.cleanup.listed("local_number", limit=3)
              for conn in ws.contacts.get(row.contact.uuid).connections if conn.identity == row.identity]
    ws.lockins.move(locked, tel.name)  # renormalized contacts with affinities too, stale ones:
    ws.channels.set_active(tel.name, False)
    local = ws.cleanup.counts()["local_number"]
    plan = ws.cleanup.renormalize_plan()
    seen: list[tuple[int, int]] = []
    result = ws.cleanup.renormalize(progress=lambda done, total: seen.append((done, total)))
    assert result.counts == plan.counts and result.counts["in_place"] > 0 and result.counts["duplicate"] > 0
    assert len(seen) >= local / 9 and seen[-1] == (local, local)
    assert all(5 <= b - a <= 9 for (a, _), (b, _) in zip(seen, seen[1:-1], strict=False))
    events = [e for e in ws.audit.page(limit=1000) if e.action == "contact.renormalize"]
    assert len(events) == result.contacts
    assert any(affinity is not None for e in events for _, affinity in e.after["connections"])
    kept = stored_problems(ws)
    assert sum("local_number" in {p for p, *_ in found} for found in kept.values()) == result.counts["duplicate"]
    ws.cleanup.recompute()
    assert stored_problems(ws) == kept
    assert gc.isenabled()


def test_a_bulk_transaction_gives_its_connection_back_as_it_was(sqlite_url):
    """SQLite: a bulk transaction runs with a large page cache and no checkpoint at its commit (a
    thread checkpoints beside the run); afterwards every pooled connection has its own settings."""
    from contextlib import ExitStack

    ws = rw_store(sqlite_url)
    with ws.transaction(bulk=True) as uow:
        pragma = uow.connection.exec_driver_sql
        assert (pragma("PRAGMA cache_size").scalar_one(), pragma("PRAGMA wal_autocheckpoint").scalar_one()) == \
            (-262_144, 0)
    with pytest.raises(RuntimeError), ws.transaction(bulk=True):
        raise RuntimeError("a failed chunk")
    with ExitStack() as stack:  # every connection of the pool at once
        conns = [stack.enter_context(ws.scope.engine.connect()) for _ in range(5)]
        assert {(c.exec_driver_sql("PRAGMA cache_size").scalar_one(),
                 c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()) for c in conns} == {(-2000, 1000)}


def test_undo_a_renormalization_run(backend_url, tmp_path):
    ws = local_workspace(backend_url, tmp_path)
    result = ws.cleanup.renormalize()
    assert result.event_id is not None
    undone = ws.cleanup.undo(result.event_id)
    assert {c.name for c in undone.contacts} == {"Jane Local"}
    assert ws.contacts.get("tel:0788383383").name == "Jane Local"
    assert ws.cleanup.counts()["local_number"] == 2
    with pytest.raises(StoreError, match="undone already"):
        ws.cleanup.undo(result.event_id)


def test_undo_of_a_renormalization_is_refused_when_the_contact_changed(backend_url, tmp_path):
    ws = local_workspace(backend_url, tmp_path)
    result = ws.cleanup.renormalize()
    jane = ws.contacts.get("tel:+250788383383")
    ws.contacts.update(jane.uuid, name="Jane Changed")
    seq = ws.change_seq()
    with pytest.raises(StoreError, match="Name: Jane Local → Jane Changed"):
        ws.cleanup.undo(result.event_id)
    assert ws.change_seq() == seq


# --- merging ---------------------------------------------------------------------------------------


def merge_pair(ws):
    a = ws.contacts.create("Jane", ["tel:+250788383383", "mailto:jane@example.org"], language="eng",
                           groups=["Nurses"], fields={"District": "Gasabo"})
    b = ws.contacts.create("Jane Doe", ["whatsapp:250788383383", "twitter:janed", "tel:+250730000111"],
                           language="fra", groups=["Kigali"], fields={"District": "Kicukiro", "Age": "30"})
    ws.messages.receive("Twitter", "twitter:janed", "hi from twitter")
    ws.messages.receive("Airtel", "tel:+250730000111", "hi from airtel")
    return ws.contacts.get(a.uuid), ws.contacts.get(b.uuid)


def test_merge_preview_says_what_will_happen_and_writes_nothing(backend_url):
    ws = rw_store(backend_url)
    a, b = merge_pair(ws)
    seq = ws.change_seq()
    preview = ws.cleanup.merge(a.uuid, [b.uuid], dry_run=True)
    assert ws.change_seq() == seq
    assert preview.survivor.uuid == a.uuid
    # b's connections follow a's in b's order (after its inbound messages reordered them)
    assert [c.identity for c in preview.survivor.connections] == [
        "tel:+250788383383", "mailto:jane@example.org", "tel:+250730000111", "twitter:janed"]
    assert preview.steps[0].plan.dropped == (("whatsapp:250788383383", "tel:+250788383383"),)
    assert {(c.attr, c.keep, c.other) for c in preview.clashes} == {
        ("name", "Jane", "Jane Doe"), ("language", "eng", "fra"), ("fields.district", "Gasabo", "Kicukiro")}
    assert preview.steps[0].messages == 2
    assert preview.steps[0].event_id is None  # rolled back: no event to undo
    assert ws.contacts.get(b.uuid).uuid == b.uuid  # still there


def test_merge_moves_everything_and_the_merged_uuid_finds_the_survivor(backend_url):
    ws = rw_store(backend_url)
    a, b = merge_pair(ws)
    assert "duplicate" in names(ws, a)
    result = ws.cleanup.merge(a.uuid, [b.uuid], picks={"name": "other", "fields.district": "other"},
                              expected={a.id: a.version, b.id: b.version})
    s = result.survivor
    assert s.name == "Jane Doe" and s.language == "eng"
    assert dict(s.fields) == {"district": "Kicukiro", "age": "30"}
    assert s.groups == ("Kigali", "Nurses")
    assert result.keep_messages == 2
    assert ws.contacts.get(b.uuid).uuid == a.uuid
    assert ws.contacts.get("twitter:janed").uuid == a.uuid
    assert ws.cleanup.counts()["duplicate"] == 0
    actions = {(e.action, e.contact_id, e.actor) for e in ws.audit.page(limit=10)}
    assert ("contact.merge", a.id, "tester") in actions and ("contact.merged", b.id, "tester") in actions
    # the twitter connection kept its affinity to the channel b was locked in to
    route = ws.contacts.route(a.uuid)
    assert route.contact.uuid == a.uuid


def test_merge_refusals_write_nothing(backend_url, tmp_path):
    ws = rw_store(backend_url)
    a, b = merge_pair(ws)
    many = ws.contacts.create("Many", [f"tel:+25078800{i:04d}" for i in range(49)])
    seq = ws.change_seq()
    with pytest.raises(StoreError, match="itself"):
        ws.cleanup.merge(a.uuid, [a.uuid])
    with pytest.raises(StoreError, match="itself"):
        ws.cleanup.merge(a.uuid, ["tel:0788383383"])  # a's own number
    with pytest.raises(NotFound):
        ws.cleanup.merge(a.uuid, ["00000000-0000-0000-0000-000000000000"])
    with pytest.raises(Conflict, match="changed by someone else"):
        ws.cleanup.merge(a.uuid, [b.uuid], expected={a.id: a.version - 1})
    with pytest.raises(StoreError, match="at most 50"):
        ws.cleanup.merge(a.uuid, [many.uuid])
    assert ws.change_seq() == seq
    deleted = ws.contacts.create("Gone", ["tel:+250788777666"])
    ws.contacts.delete(deleted.uuid)
    with pytest.raises(NotFound):
        ws.cleanup.merge(a.uuid, [deleted.uuid])
    ws.cleanup.merge(a.uuid, [b.uuid])
    with pytest.raises(StoreError, match="merged into"):
        ws.cleanup.merge(a.uuid, [b.uuid])
    ws.close()
    ro = open_workspace(backend_url, read_only=True)
    with pytest.raises(ReadOnly):
        ro.cleanup.merge(a.uuid, [many.uuid])
    ro.close()


def test_undo_a_merge_brings_the_other_contact_back(backend_url):
    ws = rw_store(backend_url)
    a, b = merge_pair(ws)
    before_a, before_b = ws.contacts.get(a.uuid), ws.contacts.get(b.uuid)
    ws.cleanup.merge(a.uuid, [b.uuid], picks={"name": "other"})
    merge_event = next(e for e in ws.audit.page(limit=5) if e.action == "contact.merge")
    ws.cleanup.undo(merge_event.id)
    again_a, again_b = ws.contacts.get(a.uuid), ws.contacts.get(b.uuid)
    assert again_b.uuid == b.uuid
    for before, again in ((before_a, again_a), (before_b, again_b)):
        assert [(c.identity, c.affinity_channel_id) for c in again.connections] == \
            [(c.identity, c.affinity_channel_id) for c in before.connections]
        assert (again.name, again.language, again.groups, again.fields) == \
            (before.name, before.language, before.groups, before.fields)
    assert ws.cleanup.merge(a.uuid, [b.uuid], dry_run=True).steps[0].messages == 2  # b's messages are b's again
    assert "duplicate" in names(ws, again_a)


def test_undo_of_a_merge_is_refused_when_the_survivor_changed(backend_url):
    ws = rw_store(backend_url)
    a, b = merge_pair(ws)
    ws.cleanup.merge(a.uuid, [b.uuid])
    merged = next(e for e in ws.audit.page(limit=5) if e.action == "contact.merged")
    ws.contacts.update(a.uuid, name="Someone Else")
    with pytest.raises(StoreError, match="changed since"):
        ws.cleanup.undo(merged.id)
    assert ws.contacts.get(b.uuid).uuid == a.uuid  # still merged


def test_merging_several_contacts_into_one(backend_url):
    ws = rw_store(backend_url)
    keep = ws.contacts.create("Keep", ["tel:+250788000001"])
    others = [ws.contacts.create(f"Other {i}", [f"tel:+25078800000{i + 2}"]) for i in range(3)]
    result = ws.cleanup.merge(keep.uuid, [o.uuid for o in others])
    assert [c.identity for c in result.survivor.connections] == [f"tel:+25078800000{i}" for i in range(1, 5)]
    assert len(result.steps) == 3
    for o in others:
        assert ws.contacts.get(o.uuid).uuid == keep.uuid
    # each pair has its own merge event, named by the result: the last one undone brings back its
    # contact only; an earlier one is refused (the survivor changed since: the later merges)
    events = [step.event_id for step in result.steps]
    assert len(set(events)) == 3 and all(e is not None for e in events)
    with pytest.raises(StoreError, match="changed since"):
        ws.cleanup.undo(events[0])
    ws.cleanup.undo(events[2])
    assert ws.contacts.get(others[2].uuid).uuid == others[2].uuid
    assert ws.contacts.get(others[1].uuid).uuid == keep.uuid


def test_two_staff_merging_overlapping_contacts_one_wins(backend_url):
    ws = rw_store(backend_url)
    a = ws.contacts.create("A", ["tel:+250788000001"])
    b = ws.contacts.create("B", ["tel:+250788000002"])
    c = ws.contacts.create("C", ["tel:+250788000003"])
    one, two = open_workspace(backend_url, actor="one"), open_workspace(backend_url, actor="two")
    outcomes: list = []
    barrier = threading.Barrier(2)

    def run(w, keep, other, expected):
        barrier.wait()
        try:
            w.cleanup.merge(keep, [other], expected=expected)
            outcomes.append("merged")
        except StoreError as err:
            outcomes.append(err)

    threads = [threading.Thread(target=run, args=(one, a.uuid, b.uuid, {a.id: a.version, b.id: b.version})),
               threading.Thread(target=run, args=(two, c.uuid, b.uuid, {c.id: c.version, b.id: b.version}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("merged") == 1, outcomes
    loser = next(o for o in outcomes if o != "merged")
    assert isinstance(loser, StoreError)
    survivor = ws.contacts.get(b.uuid)
    assert survivor.uuid in (a.uuid, c.uuid)
    assert len([x for x in survivor.connections if x.identity == "tel:+250788000002"]) == 1
    one.close()
    two.close()


# --- the planner process (SQLite) ------------------------------------------------------------------


def _table(ws, sql: str) -> list[tuple]:
    with ws.scope.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def _renormalized_state(ws) -> dict:
    """What a re-normalization leaves: rows, versions, problems, and the audit events (batch aside)."""
    events = []
    for action, contact_id, before, after in _table(
            ws, "SELECT action, contact_id, \"before\", \"after\" FROM audit_event WHERE action LIKE '%renormalize' "
                "ORDER BY contact_id, id"):
        after = json.loads(after)
        after.pop("batch", None)
        events.append((action, contact_id, before, after))
    return {"connections": _table(ws, "SELECT id, contact_id, identity, path, priority, affinity_channel_id, "
                                      "affinity_message_id FROM connection ORDER BY id"),
            "versions": _table(ws, "SELECT id, version FROM contact ORDER BY id"),
            "messages": _table(ws, "SELECT id, contact_id, connection_id FROM message ORDER BY id"),
            "problems": stored_problems(ws), "events": events}


def _planners_only(monkeypatch) -> None:
    """The writer takes no chunk itself (store.planner.Crew): every chunk comes from the planners."""
    from ccconsole.store import planner

    monkeypatch.setattr(planner.Claims, "take", lambda self, chunk: False)  # in this process only


def _local_numbers_of_every_kind(tmp_path) -> None:
    """a.db: the demo, with local numbers that go into the contact's own or become one number."""
    from tests.store_helpers import demo_store

    ws = demo_store(f"sqlite:///{tmp_path / 'a.db'}", 900)
    ws.update(country="")
    import_rows(ws, tmp_path, ["Name,URN:tel,URN:tel", "Twin,+250788383383,0788383383", "Ann,0788111999,",
                               "Bob,788111999,"])
    ws.update(country="RW")
    ws.close()


def test_renormalize_with_the_planner_process_writes_what_working_alone_writes(tmp_path, monkeypatch):
    """The planner (store.planner) reads and decides chunks in a second process; the result is the
    same, row for row and event for event, as deciding each chunk in the writer."""
    import shutil

    from ccconsole.app import cleanup
    from ccconsole.store import cleanup as cleanup_rows

    _local_numbers_of_every_kind(tmp_path)
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    shutil.copy(tmp_path / "a.db", tmp_path / "c.db")
    alone, planned = open_workspace(f"sqlite:///{tmp_path / 'a.db'}"), open_workspace(f"sqlite:///{tmp_path / 'b.db'}")
    decided_here = []
    inline = cleanup_rows.renormalize_contacts
    monkeypatch.setattr(cleanup_rows, "renormalize_contacts", lambda *a, **k: decided_here.append(1) or inline(*a, **k))
    first = alone.cleanup.renormalize(planner=False, chunk=4)
    assert len(decided_here) > 1
    decided_here.clear()
    _planners_only(monkeypatch)
    second = planned.cleanup.renormalize(planner=True, chunk=4)
    assert decided_here == []  # every chunk came decided from the planner
    assert (first.counts, first.contacts) == (second.counts, second.contacts)
    assert min(first.counts.values()) > 0  # every outcome
    assert _renormalized_state(alone) == _renormalized_state(planned)
    kept = stored_problems(planned)
    planned.cleanup.recompute()
    assert stored_problems(planned) == kept
    # a chunk per contact: Ann's and Bob's numbers (one number) are decided by different planners, and
    # the plan that did not see the other's commit is decided again here (Ledger.usable)
    monkeypatch.setattr(cleanup, "PLANNERS", 2)
    single = open_workspace(f"sqlite:///{tmp_path / 'c.db'}")
    third = single.cleanup.renormalize(planner=True, chunk=1)
    assert (third.counts, third.contacts) == (first.counts, first.contacts)
    assert _renormalized_state(single) == _renormalized_state(alone)


def test_the_writer_plans_later_chunks_itself_while_a_plan_is_not_there(tmp_path, monkeypatch):
    """While the plan it needs next is not there, the writer takes later chunks nobody took and plans
    them itself (store.planner.Crew); the planner skips those. Same result as deciding alone."""
    import shutil

    from ccconsole.frames import Worker
    from ccconsole.store import cleanup as cleanup_rows
    from ccconsole.store import planner

    _local_numbers_of_every_kind(tmp_path)
    shutil.copy(tmp_path / "a.db", tmp_path / "b.db")
    alone, crewed = open_workspace(f"sqlite:///{tmp_path / 'a.db'}"), open_workspace(f"sqlite:///{tmp_path / 'b.db'}")
    first = alone.cleanup.renormalize(planner=False, chunk=3)
    decided_here, planned_here, received = [], [], []
    inline, plan, receive = cleanup_rows.renormalize_contacts, planner.plan, Worker.receive
    monkeypatch.setattr(cleanup_rows, "renormalize_contacts", lambda *a, **k: decided_here.append(1) or inline(*a, **k))
    monkeypatch.setattr(planner, "plan", lambda *a, **k: planned_here.append(a[3]) or plan(*a, **k))
    monkeypatch.setattr(Worker, "receive", lambda self: received.append(1) or receive(self))
    # the writer leaves the even chunks to the planner, and the planner's plan is never there at once
    take = planner.Claims.take
    monkeypatch.setattr(planner.Claims, "take", lambda self, chunk: chunk % 2 == 1 and take(self, chunk))
    monkeypatch.setattr(Worker, "ready", lambda self: False)
    contacts = len({fix.contact_id for fix in crewed.cleanup.renormalize_plan().fixes})
    second = crewed.cleanup.renormalize(planner=True, chunk=3)
    assert decided_here == []  # no chunk came twice (the planner skipped the ones taken here)
    assert planned_here and received
    assert len(planned_here) + len(received) == len(planner.schedule(contacts, 3))
    assert (first.counts, first.contacts) == (second.counts, second.contacts)
    assert _renormalized_state(alone) == _renormalized_state(crewed)


def test_the_planners_chunks_are_decided_here_once_somebody_else_writes(tmp_path, monkeypatch):
    """Another writer between a plan's snapshot and its chunk's transaction: that chunk and the rest
    are read and decided in the writer, and a number the other writer took is not taken again."""
    from ccconsole.store import cleanup as cleanup_rows
    from tests.store_helpers import demo_store

    url = f"sqlite:///{tmp_path / 'a.db'}"
    ws = demo_store(url, 900)
    number = [f for f in ws.cleanup.renormalize_plan().fixes if f.outcome.value == "in_place"][-1]
    last = ws.contacts.get(number.old)
    assert number.contact_id == last.id
    other = open_workspace(url, actor="other")
    writes = []

    def meanwhile(done: int, total: int) -> None:
        if not writes:  # after the first chunk: the plans read ahead are stale now
            writes.append(other.contacts.create("Got there first", [number.new]))

    decided_here = []
    inline = cleanup_rows.renormalize_contacts
    monkeypatch.setattr(cleanup_rows, "renormalize_contacts", lambda *a, **k: decided_here.append(1) or inline(*a, **k))
    _planners_only(monkeypatch)
    result = ws.cleanup.renormalize(planner=True, chunk=5, progress=meanwhile)
    assert decided_here  # the plans read before the other write were not used
    assert result.counts["duplicate"] >= 1
    assert [c.identity for c in ws.contacts.get(last.uuid).connections] == [number.old]
    kept = stored_problems(ws)
    ws.cleanup.recompute()
    assert stored_problems(ws) == kept
    assert "local_number" in {p for p, *_ in kept[last.id]}


def test_a_plan_is_usable_only_when_every_change_since_its_snapshot_is_the_writers_own(tmp_path):
    """...and none of the writer's commits since took an identity the plan looked up."""
    from types import SimpleNamespace

    from ccconsole.store import planner

    ws = rw_store(f"sqlite:///{tmp_path / 'a.db'}")
    now = ws.change_seq()
    took = planner.Ledger()
    took.record(now - 1, [SimpleNamespace(items=[{"new": "tel:+250788111222"}]), SimpleNamespace(items=[])])
    took.record(now, [])

    def plan(seq: int, *looked_up: str) -> planner.Planned:
        return planner.Planned([1], seq, frozenset(looked_up), None, {})

    with ws.transaction() as uow:
        usable = lambda p: took.usable(p, uow.session, ws.scope.workspace.id)  # noqa: E731
        assert usable(plan(now - 2, "tel:+250788333444"))
        assert not usable(plan(now - 2, "tel:+250788111222", "tel:+250788333444"))  # taken since its snapshot
        assert usable(plan(now - 1, "tel:+250788111222"))  # taken before it: its snapshot saw that
        assert not usable(plan(now - 3, "tel:+250788333444"))  # a commit that was not the writer's
        uow.discard = True
