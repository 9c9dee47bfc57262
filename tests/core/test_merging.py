"""Reload after a refused save: the three-way merge of the Update Contact form (tui/merge.py)."""

from __future__ import annotations

from ccconsole.core.merging import FormConn, merge, merge_connections, merge_groups, merge_name


def edit(identity: str) -> str:
    return identity.partition(":")[2]


def kept(identity: str, affinity=None) -> FormConn:
    return FormConn(identity.partition(":")[0], edit(identity), identity, affinity, identity)


def ids(conns) -> list[str | None]:
    return [c.identity for c in conns]


def test_name_untouched_takes_theirs_changed_keeps_mine_and_clashes_only_when_both_differ():
    assert merge_name("Jane", "Jane", "Jane Doe") == ("Jane Doe", False)
    assert merge_name("Jane", "Jane M", "Jane") == ("Jane M", False)
    assert merge_name("Jane", "Jane M", "Jane Doe") == ("Jane M", True)
    assert merge_name("Jane", "Jane Doe", "Jane Doe") == ("Jane Doe", False)


def test_groups_merge_as_sets():
    assert merge_groups(["A"], ["A"], ["A", "B"]) == (["A", "B"], False)
    # I removed A and added C; they added B
    assert merge_groups(["A"], ["C"], ["A", "B"]) == (["B", "C"], True)
    assert merge_groups(["A"], ["A", "C"], ["A"]) == (["A", "C"], False)


BASE = [("tel:+250788111001", None), ("twitter:alice", None), ("telegram:111111", None)]


def test_connections_untouched_take_theirs_with_affinities():
    mine = [kept(i) for i, _ in BASE]
    theirs = [("twitter:alice", None), ("tel:+250788111001", 7), ("telegram:111111", None)]
    result, clash = merge_connections(BASE, mine, theirs, edit)
    assert [(c.identity, c.affinity) for c in result] == theirs and not clash


def test_my_removal_on_top_of_their_promotion():
    mine = [kept("tel:+250788111001"), kept("twitter:alice")]  # I removed telegram
    theirs = [("twitter:alice", None), ("tel:+250788111001", 7), ("telegram:111111", None)]  # they promoted twitter
    result, clash = merge_connections(BASE, mine, theirs, edit)
    assert ids(result) == ["twitter:alice", "tel:+250788111001"]
    assert result[1].affinity == 7
    assert clash  # the list differs from theirs: shown beside


def test_my_addition_and_their_addition_both_survive():
    new = FormConn("mailto", "a@b.org", None, None, "mailto:a@b.org")
    mine = [kept(i) for i, _ in BASE] + [new]
    theirs = [("tel:+250788111001", None), ("twitter:alice", None), ("telegram:111111", None), ("ext:42", None)]
    result, _ = merge_connections(BASE, mine, theirs, edit)
    # mine right after the row it followed in my form; theirs where they put it
    assert ids(result) == ["tel:+250788111001", "twitter:alice", "telegram:111111", "mailto:a@b.org", "ext:42"]
    assert result[3].original is None and result[4].original == "ext:42"


def test_their_removal_stands_unless_i_edited_that_connection():
    theirs = [("tel:+250788111001", None), ("twitter:alice", None)]  # they removed telegram
    mine = [kept("twitter:alice"), kept("tel:+250788111001"), kept("telegram:111111")]  # I reordered only
    result, _ = merge_connections(BASE, mine, theirs, edit)
    assert ids(result) == ["twitter:alice", "tel:+250788111001"]
    edited = FormConn("telegram", "999999", "telegram:111111", None, "telegram:999999")
    mine = [kept("tel:+250788111001"), kept("twitter:alice"), edited]
    result, _ = merge_connections(BASE, mine, theirs, edit)
    assert ids(result) == ["tel:+250788111001", "twitter:alice", "telegram:999999"]


def test_invalid_text_i_typed_is_kept_as_typed():
    typo = FormConn("tel", "0788", "tel:+250788111001", None, None)
    mine = [typo, kept("twitter:alice"), kept("telegram:111111")]
    result, _ = merge_connections(BASE, mine, BASE, edit)
    assert result[0] == typo


def test_merge_reports_clashes_with_their_values():
    merged = merge("Jane", [], BASE, "Jane M", ["Nurses"], [kept(i) for i, _ in BASE],
                   "Jane Doe", ["Kigali"], BASE, edit)
    assert merged.name == "Jane M" and merged.groups == ["Kigali", "Nurses"]
    assert merged.clashes == {"name": "Jane Doe", "groups": "Kigali"}
