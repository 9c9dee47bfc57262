"""The resolver: route(contact) and channel_for(connection), domain.md section 4, and the scenarios
S1 to S4 of shared/docs/scenarios.md at the core level.

Channels are always passed oldest first ("Channels in order" means oldest first).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ccconsole.core import lists
from ccconsole.core.lockin import LockInKind, contact_urn, lock_in, urns_by_scheme
from ccconsole.core.model import RECEIVE, SEND, Channel, Connection, Contact, Status
from ccconsole.core.routing import (
    NO_CHANNEL,
    NOT_ACTIVE,
    BroadcastPlanner,
    Channels,
    NoteKind,
    Route,
    Rule,
    broadcast,
    channel_for,
    route,
    unreachable_reason,
)
from ccconsole.core.urns import URN, display

T0 = datetime(2024, 1, 1, 12, 0, 0)


def ch(id, name, schemes=("tel",), address="", *, type="Twilio", roles=(SEND, RECEIVE), country=None,
       prefixes=(), intl=False, active=True):
    return Channel(
        id=id, name=name, type=type, address=address, schemes=tuple(schemes), roles=frozenset(roles),
        country=country, match_prefixes=tuple(prefixes), allow_international=intl, active=active,
        created_on=T0 + timedelta(days=id), uuid=f"uuid-{id}",
    )


def who(*connections, status=Status.ACTIVE, name="x"):
    conns = tuple(c if isinstance(c, Connection) else Connection(c) for c in connections)
    return Contact(status=status, connections=conns, name=name)


def kinds(attempt_or_route):
    notes = attempt_or_route.notes
    return [n.kind for n in notes]


def note(attempt, kind):
    found = [n for n in attempt.notes if n.kind == kind]
    assert found, f"no {kind} note in {attempt.notes}"
    return found[0]


TEL = ch(1, "Tel", ("tel",), "+250788000000")
TWITTER = ch(2, "Twitter", ("twitter",), "communityconnect", type="Twitter")
TELEGRAM = ch(3, "Telegram", ("telegram",), "cc_bot", type="Telegram")


# --- not active ---------------------------------------------------------------------------------


def test_not_active_message():
    assert NOT_ACTIVE == "Contact is no longer active"
    assert NO_CHANNEL == "No suitable channel found"


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.STOPPED, Status.ARCHIVED])
def test_inactive_contacts_get_no_message(status):
    contact = who("tel:+250788383383", status=status)
    decision = route(contact, [TEL])
    assert not decision.ok
    assert decision.connection is None
    assert decision.channel is None
    assert decision.reason.startswith("Contact is no longer active")
    assert decision.attempts == ()
    assert decision.rule is None


def test_active_contact_is_routed():
    decision = route(who("tel:+250788383383"), [TEL])
    assert decision.ok
    assert decision.connection == Connection("tel:+250788383383")
    assert decision.channel == TEL
    assert decision.reason is None


# --- no route -----------------------------------------------------------------------------------


def test_no_channel_for_any_connection():
    decision = route(who("telegram:123", "twitter:joe"), [TEL])
    assert not decision.ok
    assert decision.connection is None
    assert decision.channel is None
    assert decision.reason == "No suitable channel found"
    assert len(decision.attempts) == 2
    assert [a.channel for a in decision.attempts] == [None, None]
    assert [kinds(a) for a in decision.attempts] == [[NoteKind.NO_CHANNEL_FOR_SCHEME]] * 2
    assert "telegram" in decision.attempts[0].notes[0].text
    assert "twitter" in decision.attempts[1].notes[0].text


def test_no_channels_at_all():
    decision = route(who("tel:+250788383383"), [])
    assert not decision.ok
    assert decision.reason == "No suitable channel found"
    assert kinds(decision.attempts[0]) == [NoteKind.NO_TEL_CHANNEL]


def test_contact_without_connections_has_no_route():
    decision = route(who(), [TEL, TWITTER])
    assert not decision.ok
    assert decision.connection is None
    assert decision.channel is None
    assert decision.reason


# --- priority order -----------------------------------------------------------------------------


def test_first_connection_with_a_channel_wins():
    contact = who("tel:+250788383383", "twitter:joe", "telegram:123")
    decision = route(contact, [TEL, TWITTER, TELEGRAM])
    assert decision.connection.identity == "tel:+250788383383"
    assert decision.channel == TEL
    assert len(decision.attempts) == 1


def test_priority_decides_the_channel_type():
    contact = who("twitter:joe", "tel:+250788383383")
    decision = route(contact, [TEL, TWITTER])
    assert decision.connection.identity == "twitter:joe"
    assert decision.channel == TWITTER
    assert decision.rule == Rule.SCHEME


def test_next_connection_is_tried_when_nothing_serves_the_first():
    contact = who("telegram:123", "mailto:a@b.org", "twitter:joe", "tel:+250788383383")
    decision = route(contact, [TEL, TWITTER])
    assert decision.connection.identity == "twitter:joe"
    assert decision.channel == TWITTER
    assert [a.connection.identity for a in decision.attempts] == ["telegram:123", "mailto:a@b.org", "twitter:joe"]
    assert [a.channel for a in decision.attempts] == [None, None, TWITTER]


# --- rule 1: affinity ---------------------------------------------------------------------------

US = ch(10, "US number", ("tel",), "+13235550100", country="US", intl=True)
DE = ch(11, "German number", ("tel",), "+4930555010", country="DE", intl=True)


def test_affinity_is_used_over_prefix_matching():
    # prefix matching alone picks the German channel for a German number...
    plain = channel_for(Connection("tel:+4915112345678"), [US, DE])
    assert plain.channel == DE
    assert plain.rule == Rule.PREFIX
    # ...but the affinity to the US channel wins
    attempt = channel_for(Connection("tel:+4915112345678", affinity=US.id), [US, DE])
    assert attempt.channel == US
    assert attempt.rule == Rule.AFFINITY
    used = note(attempt, NoteKind.AFFINITY_USED)
    assert used.channel == "US number"
    assert "US number" in used.text
    would = note(attempt, NoteKind.WOULD_HAVE)
    assert would.channel == "German number"
    assert "German number" in would.text


def test_affinity_used_in_route():
    contact = who(Connection("tel:+4915112345678", affinity=US.id))
    decision = route(contact, [US, DE])
    assert decision.channel == US
    assert decision.rule == Rule.AFFINITY


def test_affinity_works_for_other_schemes():
    old = ch(20, "Twitter old", ("twitter",), type="Twitter")
    new = ch(21, "Twitter new", ("twitter",), type="Twitter")
    attempt = channel_for(Connection("twitter:joe", affinity=new.id), [old, new])
    assert attempt.channel == new
    assert attempt.rule == Rule.AFFINITY
    assert kinds(attempt) == [NoteKind.AFFINITY_USED]


def test_affinity_ignored_when_channel_inactive():
    de_off = ch(11, "German number", ("tel",), "+4930555010", country="DE", intl=True, active=False)
    attempt = channel_for(Connection("tel:+4915112345678", affinity=de_off.id), [US, de_off])
    assert attempt.channel == US
    assert attempt.rule == Rule.ONLY_CANDIDATE
    ignored = note(attempt, NoteKind.AFFINITY_IGNORED)
    assert ignored.channel == "German number"
    assert "German number" in ignored.text
    assert "inactive" in ignored.text
    assert kinds(attempt)[0] == NoteKind.AFFINITY_IGNORED


def test_affinity_ignored_when_channel_cannot_send():
    receiver = ch(12, "Receiver", ("tel",), "+4930555010", roles=(RECEIVE,))
    attempt = channel_for(Connection("tel:+4915112345678", affinity=receiver.id), [US, receiver])
    assert attempt.channel == US
    ignored = note(attempt, NoteKind.AFFINITY_IGNORED)
    assert ignored.channel == "Receiver"
    assert "cannot send" in ignored.text


def test_affinity_ignored_when_channel_does_not_serve_the_scheme():
    attempt = channel_for(Connection("tel:+250788383383", affinity=TWITTER.id), [TEL, TWITTER])
    assert attempt.channel == TEL
    assert attempt.rule == Rule.ONLY_CANDIDATE
    ignored = note(attempt, NoteKind.AFFINITY_IGNORED)
    assert ignored.channel == "Twitter"
    assert "does not serve tel" in ignored.text


def test_affinity_ignored_when_channel_is_missing():
    attempt = channel_for(Connection("twitter:joe", affinity=999), [TWITTER])
    assert attempt.channel == TWITTER
    assert attempt.rule == Rule.SCHEME
    ignored = note(attempt, NoteKind.AFFINITY_IGNORED)
    assert ignored.channel == "999"
    assert kinds(attempt) == [NoteKind.AFFINITY_IGNORED, NoteKind.SCHEME_CHANNEL]


def test_ignored_affinity_and_nothing_else_gives_no_channel():
    off = ch(30, "Old Twitter", ("twitter",), type="Twitter", active=False)
    decision = route(who(Connection("twitter:joe", affinity=off.id)), [off, TEL])
    assert not decision.ok
    assert decision.reason == "No suitable channel found"
    assert kinds(decision.attempts[0]) == [NoteKind.AFFINITY_IGNORED, NoteKind.NO_CHANNEL_FOR_SCHEME]


# --- rule 2: tel ---------------------------------------------------------------------------------

RW = ch(40, "Rwanda", ("tel",), "+250788000000", country="RW")
OPEN = ch(41, "No country", ("tel",), "+15555550100")


def test_country_filter_removes_foreign_channel():
    attempt = channel_for(Connection("tel:+13233754866"), [RW, OPEN])
    assert attempt.channel == OPEN
    assert attempt.rule == Rule.ONLY_CANDIDATE
    filtered = note(attempt, NoteKind.COUNTRY_FILTERED)
    assert filtered.channel == "Rwanda"
    assert "Rwanda" in filtered.text
    assert kinds(attempt) == [NoteKind.COUNTRY_FILTERED, NoteKind.ONLY_CANDIDATE]
    assert note(attempt, NoteKind.ONLY_CANDIDATE).channel == "No country"


def test_country_filter_keeps_same_country():
    attempt = channel_for(Connection("tel:+250788383383"), [RW])
    assert attempt.channel == RW
    assert attempt.rule == Rule.ONLY_CANDIDATE


@pytest.mark.parametrize("path", ["tel:mtn", "tel:1234", "tel:0788383383", "tel:+80012345678"])
def test_numbers_of_unknown_country_are_not_filtered(path):
    attempt = channel_for(Connection(path), [RW])
    assert attempt.channel == RW
    assert attempt.rule == Rule.ONLY_CANDIDATE
    assert NoteKind.COUNTRY_FILTERED not in kinds(attempt)


def test_allow_international_keeps_the_channel():
    rw_intl = ch(40, "Rwanda", ("tel",), "+250788000000", country="RW", intl=True)
    attempt = channel_for(Connection("tel:+13233754866"), [rw_intl])
    assert attempt.channel == rw_intl
    assert attempt.rule == Rule.ONLY_CANDIDATE
    assert NoteKind.COUNTRY_FILTERED not in kinds(attempt)


def test_channel_without_country_is_not_filtered():
    attempt = channel_for(Connection("tel:+4915112345678"), [OPEN])
    assert attempt.channel == OPEN


def test_all_tel_channels_filtered_no_fall_back_to_rule_3():
    attempt = channel_for(Connection("tel:+13233754866"), [RW])
    assert attempt.channel is None
    assert attempt.rule is None
    assert kinds(attempt) == [NoteKind.COUNTRY_FILTERED, NoteKind.NO_TEL_CHANNEL]
    decision = route(who("tel:+13233754866"), [RW])
    assert not decision.ok
    assert decision.reason == "No suitable channel found"


def test_all_tel_channels_filtered_next_connection_is_tried():
    decision = route(who("tel:+13233754866", "twitter:joe"), [RW, TWITTER])
    assert decision.connection.identity == "twitter:joe"
    assert decision.channel == TWITTER
    assert decision.attempts[0].channel is None


def test_one_candidate():
    attempt = channel_for(Connection("tel:+250788383383"), [TEL])
    assert attempt.channel == TEL
    assert attempt.rule == Rule.ONLY_CANDIDATE
    only = note(attempt, NoteKind.ONLY_CANDIDATE)
    assert only.channel == "Tel"
    assert "Tel" in only.text


def test_longest_prefix_wins_even_if_older():
    mtn = ch(50, "MTN", ("tel",), "+250788000000")  # 250788 -> 6
    airtel = ch(51, "Airtel", ("tel",), "+250722000000")  # 2507 -> 4
    attempt = channel_for(Connection("tel:+250788383383"), [mtn, airtel])
    assert attempt.channel == mtn
    assert attempt.rule == Rule.PREFIX
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"MTN": 6, "Airtel": 4}
    winner = note(attempt, NoteKind.PREFIX_WINNER)
    assert winner.channel == "MTN"
    assert winner.score == 6
    assert "MTN" in winner.text
    assert NoteKind.PREFIX_TIE not in kinds(attempt)


def test_longest_prefix_newer_channel():
    mtn = ch(50, "MTN", ("tel",), "+250788000000")
    airtel = ch(51, "Airtel", ("tel",), "+250722000000")
    attempt = channel_for(Connection("tel:+250722123456"), [mtn, airtel])
    assert attempt.channel == airtel
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"MTN": 4, "Airtel": 6}


def test_match_prefixes_replace_the_address():
    # the address alone would give A 7 (2507883), but its match_prefixes only give 4
    a = ch(52, "A", ("tel",), "+250788399999", prefixes=("25072",))
    b = ch(53, "B", ("tel",), "+250700000000", prefixes=("25078", "1"))
    attempt = channel_for(Connection("tel:+250788383383"), [a, b])
    assert attempt.channel == b
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"A": 4, "B": 5}


def test_best_of_several_match_prefixes_counts():
    a = ch(52, "A", ("tel",), "+1", prefixes=("1", "250788", "44"))
    b = ch(53, "B", ("tel",), "+250788383383", prefixes=("2507",))
    attempt = channel_for(Connection("tel:+250788383383"), [a, b])
    assert attempt.channel == a
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"A": 6, "B": 4}


def test_address_without_leading_plus_is_compared():
    a = ch(54, "A", ("tel",), "+250788000000")
    b = ch(55, "B", ("tel",), "+2")
    attempt = channel_for(Connection("tel:+250788383383"), [a, b])
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"A": 6, "B": 1}


def test_tie_goes_to_the_later_channel():
    a = ch(56, "Older", ("tel",), "+250788111111")
    b = ch(57, "Newer", ("tel",), "+250788222222")
    attempt = channel_for(Connection("tel:+250788383383"), [a, b])
    assert attempt.channel == b
    assert attempt.rule == Rule.PREFIX
    tie = note(attempt, NoteKind.PREFIX_TIE)
    assert tie.channel == "Newer"
    assert tie.score == 6
    assert "Newer" in tie.text
    assert note(attempt, NoteKind.PREFIX_WINNER).channel == "Newer"


def test_tie_at_zero_goes_to_the_later_channel():
    a = ch(58, "Older", ("tel",), "+15555550100")
    b = ch(59, "Middle", ("tel",), "+15555550101")
    c = ch(60, "Newest", ("tel",), "+4930555010")
    attempt = channel_for(Connection("tel:+250788383383"), [a, b, c])
    assert attempt.channel == c
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"Older": 0, "Middle": 0, "Newest": 0}
    assert note(attempt, NoteKind.PREFIX_TIE).score == 0


def test_tie_at_zero_for_a_short_code():
    a = ch(58, "Older", ("tel",), "+15555550100")
    b = ch(59, "Newer", ("tel",), "+15555550101")
    assert channel_for(Connection("tel:mtn"), [a, b]).channel == b


def test_tie_follows_the_given_order():
    a = ch(56, "A", ("tel",), "+250788111111")
    b = ch(57, "B", ("tel",), "+250788222222")
    assert channel_for(Connection("tel:+250788383383"), [a, b]).channel == b
    assert channel_for(Connection("tel:+250788383383"), [b, a]).channel == a


def test_earlier_best_score_is_kept_over_a_later_lower_one():
    a = ch(56, "A", ("tel",), "+250788111111")  # 6
    b = ch(57, "B", ("tel",), "+250788222222")  # 6, tie -> B
    c = ch(58, "C", ("tel",), "+2507")  # 4
    attempt = channel_for(Connection("tel:+250788383383"), [a, b, c])
    assert attempt.channel == b
    assert NoteKind.PREFIX_TIE in kinds(attempt)


def test_country_filter_before_prefix():
    rw = ch(61, "Rwanda", ("tel",), "+250788000000", country="RW")
    us = ch(62, "US", ("tel",), "+250788383383", country="US")  # perfect prefix, wrong country
    other = ch(63, "Other", ("tel",), "+2507", country=None)
    attempt = channel_for(Connection("tel:+250788383383"), [rw, us, other])
    assert attempt.channel == rw
    assert note(attempt, NoteKind.COUNTRY_FILTERED).channel == "US"
    scores = {n.channel: n.score for n in attempt.notes if n.kind == NoteKind.PREFIX_SCORE}
    assert scores == {"Rwanda": 6, "Other": 4}


def test_inactive_tel_channel_never_picked():
    off = ch(64, "Off", ("tel",), "+250788383383", active=False)
    on = ch(65, "On", ("tel",), "+1")
    attempt = channel_for(Connection("tel:+250788383383"), [off, on])
    assert attempt.channel == on
    assert attempt.rule == Rule.ONLY_CANDIDATE
    assert all(n.channel != "Off" for n in attempt.notes)


def test_receive_only_tel_channel_never_picked():
    rx = ch(66, "RX", ("tel",), "+250788383383", roles=(RECEIVE,))
    tx = ch(67, "TX", ("tel",), "+1")
    assert channel_for(Connection("tel:+250788383383"), [rx, tx]).channel == tx
    assert channel_for(Connection("tel:+250788383383"), [rx]).channel is None


def test_only_tel_channels_are_tel_candidates():
    both = ch(68, "Mixed", ("twitter",), "+250788383383", type="Twitter")
    assert channel_for(Connection("tel:+250788383383"), [both]).channel is None


# --- rule 3: other schemes -----------------------------------------------------------------------


def test_oldest_channel_for_the_scheme():
    old = ch(70, "Twitter old", ("twitter",), type="Twitter")
    new = ch(71, "Twitter new", ("twitter",), type="Twitter")
    attempt = channel_for(Connection("twitter:joe"), [TEL, old, new])
    assert attempt.channel == old
    assert attempt.rule == Rule.SCHEME
    scheme = note(attempt, NoteKind.SCHEME_CHANNEL)
    assert scheme.channel == "Twitter old"
    assert "Twitter old" in scheme.text


def test_rule_3_skips_inactive_and_receive_only():
    off = ch(70, "Off", ("twitter",), type="Twitter", active=False)
    rx = ch(71, "RX", ("twitter",), type="Twitter", roles=(RECEIVE,))
    on = ch(72, "On", ("twitter",), type="Twitter")
    assert channel_for(Connection("twitter:joe"), [off, rx, on]).channel == on
    assert channel_for(Connection("twitter:joe"), [off, rx]).channel is None


def test_multi_scheme_channel_serves_each_scheme():
    email = ch(73, "Email", ("mailto",), type="Email")
    surveyor = ch(74, "Surveyor", ("mailto", "ext"), type="Surveyor")
    assert channel_for(Connection("mailto:a@b.org"), [email, surveyor]).channel == email
    assert channel_for(Connection("ext:Abc"), [email, surveyor]).channel == surveyor


def test_channels_index_accepted():
    chans = Channels([TEL, TWITTER])
    assert route(who("twitter:joe"), chans).channel == TWITTER
    assert chans.senders("tel") == (TEL,)
    assert chans.senders("telegram") == ()


def test_explain_false_decides_the_same():
    contact = who(Connection("tel:+4915112345678", affinity=US.id), "twitter:joe")
    a = route(contact, [US, DE, TWITTER], explain=True)
    b = route(contact, [US, DE, TWITTER], explain=False)
    assert (a.connection, a.channel, a.rule) == (b.connection, b.channel, b.rule)
    assert all(at.notes == () for at in b.attempts)


# --- Route.as_dict and explain ------------------------------------------------------------------


def test_route_as_dict():
    mtn = ch(50, "MTN", ("tel",), "+250788000000")
    airtel = ch(51, "Airtel", ("tel",), "+250722000000")
    decision = route(who("telegram:1", "tel:+250788383383"), [mtn, airtel])
    data = decision.as_dict()
    assert data["connection"] == "tel:+250788383383"
    assert data["channel"] == "MTN"
    assert data["channel_uuid"] == "uuid-50"
    assert data["rule"] == "prefix"
    assert data["reason"] is None
    assert [a["connection"] for a in data["attempts"]] == ["telegram:1", "tel:+250788383383"]
    assert [a["channel"] for a in data["attempts"]] == [None, "MTN"]
    assert [a["rule"] for a in data["attempts"]] == [None, "prefix"]
    assert data["attempts"][0]["notes"] == [
        {"kind": "no-channel-for-scheme", "text": decision.attempts[0].notes[0].text, "channel": None,
         "score": None}
    ]
    assert [(n["kind"], n["channel"], n["score"]) for n in data["attempts"][1]["notes"]] == [
        ("prefix-score", "MTN", 6), ("prefix-score", "Airtel", 4), ("prefix-winner", "MTN", 6),
    ]
    assert data["explanation"] == decision.explain()
    assert all(isinstance(line, str) for line in data["explanation"])
    assert "MTN" in data["explanation"][0]
    assert "tel:+250788383383" in data["explanation"][0]


def test_route_as_dict_without_route():
    data = route(who("telegram:1"), [TEL]).as_dict()
    assert data["connection"] is None
    assert data["channel"] is None
    assert data["channel_uuid"] is None
    assert data["rule"] is None
    assert data["reason"] == "No suitable channel found"
    assert len(data["attempts"]) == 1
    assert "No suitable channel found" in data["explanation"][0]


def test_route_as_dict_not_active():
    data = route(who("tel:+250788383383", status=Status.BLOCKED), [TEL]).as_dict()
    assert data["channel"] is None
    assert data["attempts"] == []
    assert data["reason"].startswith("Contact is no longer active")


def test_route_rule_values():
    assert {r.value for r in Rule} == {"affinity", "only-candidate", "prefix", "scheme"}
    assert route(who("twitter:joe"), [TWITTER]).rule == Rule.SCHEME
    assert route(who("tel:+250788383383"), [TEL]).rule == Rule.ONLY_CANDIDATE
    assert isinstance(route(who("twitter:joe"), [TWITTER]), Route)


# --- broadcast -----------------------------------------------------------------------------------


def test_broadcast_counts():
    tel2 = ch(4, "Tel 2", ("tel",), "+250722000000")
    contacts = [
        who("tel:+250788111111"),  # Tel (prefix 6 vs 4)
        who("tel:+250722111111"),  # Tel 2
        who(Connection("tel:+250788222222", affinity=tel2.id)),  # Tel 2, locked in
        who("twitter:joe", "tel:+250788333333"),  # Twitter
        who("telegram:123"),  # unreachable: no telegram channel
        who("telegram:124", "mailto:a@b.org"),  # unreachable
        who("tel:+250788444444", status=Status.BLOCKED),
        who("tel:+250788555555", status=Status.STOPPED),
        who("tel:+250788666666", status=Status.ARCHIVED),
        who("twitter:ann", status=Status.BLOCKED),
    ]
    result = broadcast(contacts, [TEL, TWITTER, tel2])
    assert result.total == 10
    assert dict(result.per_channel) == {"Tel": 1, "Tel 2": 2, "Twitter": 1}
    assert dict(result.locked_in) == {"Tel 2": 1}
    assert sum(result.unreachable.values()) == 2
    assert dict(result.unreachable) == {"no channel sends telegram": 1,
                                        "no channel sends telegram; no channel sends mailto": 1}
    assert dict(result.not_active) == {"blocked": 2, "stopped": 1, "archived": 1}
    data = result.as_dict()
    assert data["total"] == 10
    assert data["channels"] == {"Tel 2": 2, "Tel": 1, "Twitter": 1}
    assert data["locked_in"] == {"Tel 2": 1}
    assert data["not_active"] == {"blocked": 2, "stopped": 1, "archived": 1}


def test_broadcast_agrees_with_route():
    chans = [TEL, TWITTER, TELEGRAM]
    contacts = [who("telegram:1", "tel:+250788383383"), who("mailto:a@b.org", "twitter:j"), who("ext:x")]
    result = broadcast(contacts, chans)
    expected = {}
    for c in contacts:
        d = route(c, chans)
        if d.ok:
            expected[d.channel.name] = expected.get(d.channel.name, 0) + 1
    assert dict(result.per_channel) == expected == {"Telegram": 1, "Twitter": 1}
    assert sum(result.unreachable.values()) == 1


def test_unreachable_reasons_say_what_the_resolver_found():
    rw = ch(5, "MTN RW", ("tel",), "+250788000000", country="RW")
    ke = ch(6, "Safaricom", ("tel",), "+254700000000", country="KE")
    contacts = [
        who("tel:+593991234567"),  # Ecuador: both phone channels refuse international numbers
        who("tel:+593991234568", "whatsapp:593991234568"),
        who("whatsapp:1", "tel:+593991234569"),
        who("mailto:a@b.org"),
        who(),
        who("tel:+250788111111"),
    ]
    result = broadcast(contacts, [rw, ke])
    assert dict(result.unreachable) == {
        "no phone channel may send to EC numbers": 1,
        "no phone channel may send to EC numbers; no channel sends whatsapp": 1,
        "no channel sends whatsapp; no phone channel may send to EC numbers": 1,
        "no channel sends mailto": 1,
        "contact has no connections": 1,
    }
    assert dict(result.per_channel) == {"MTN RW": 1}
    assert unreachable_reason(route(who("tel:+250788111111"), [])) == "no channel sends tel"
    assert unreachable_reason(route(who("tel:+250788111111", status=Status.BLOCKED), [rw])).startswith(
        "Contact is no longer active")
    lines = result.lines()
    assert lines[0] == result.headline and "  MTN RW: 1" in lines and "  No route: 5" in lines


def test_the_planner_groups_routing_situations_without_changing_decisions():
    mtn = ch(5, "MTN", ("tel",), "+250788000000", country="RW", prefixes=("25078",))
    airtel = ch(6, "Airtel", ("tel",), "+250730000000", country="RW", prefixes=("25073",))
    planner = BroadcastPlanner([mtn, airtel, TWITTER])
    assert planner.depth == 5
    people = [who(f"tel:+25078{i:07d}") for i in range(50)] + [who(f"tel:+25073{i:07d}") for i in range(50)]
    people += [who(Connection(f"tel:+25078{i:07d}", affinity=airtel.id)) for i in range(50, 60)]
    people += [who(f"twitter:u{i}", f"tel:+25078{i:07d}") for i in range(30)]
    people += [who(f"tel:+25078{i:07d}", status=Status.STOPPED) for i in range(5)]
    for p in people:
        planner.add(p)
    assert planner.situations == 5  # MTN prefix, Airtel prefix, locked to Airtel, Twitter first, stopped
    assert dict(planner.result.per_channel) == {"MTN": 50, "Airtel": 60, "Twitter": 30}
    assert dict(planner.result.locked_in) == {"Airtel": 10}
    assert dict(planner.result.not_active) == {"stopped": 5}
    expected: dict[str, int] = {}
    for p in people:
        d = route(p, [mtn, airtel, TWITTER])
        if d.ok:
            expected[d.channel.name] = expected.get(d.channel.name, 0) + 1
    assert dict(planner.result.per_channel) == expected


def test_the_planner_tells_numbers_apart_within_the_prefix_depth():
    # channels without prefixes compare their whole address: the depth is the address length
    a = ch(5, "A", ("tel",), "+250788000000")
    b = ch(6, "B", ("tel",), "+250788000999")
    planner = BroadcastPlanner([a, b])
    assert planner.depth == 12
    planner.add(who("tel:+250788000001"))  # overlap 11 with A, 9 with B
    planner.add(who("tel:+250788000990"))  # overlap 9 with A, 11 with B
    planner.add(who("tel:+250788000000"))  # overlap 12 with A
    planner.add(who("tel:+250788000000", status=Status.BLOCKED))
    assert dict(planner.result.per_channel) == {"A": 2, "B": 1}
    assert planner.situations == 4


def test_broadcast_empty():
    result = broadcast([], [TEL])
    assert result.total == 0
    assert dict(result.per_channel) == {}


# --- scenarios ----------------------------------------------------------------------------------


def s1_contacts():
    a = who("tel:+250788000001", "twitter:a_handle", "telegram:1001", name="A")
    b = who("twitter:b_handle", "tel:+250788000002", "telegram:1002", name="B")
    c = who("telegram:1003", "tel:+250788000003", "twitter:c_handle", name="C")
    return a, b, c


def test_s1_one_send_request_three_channels():
    a, b, c = s1_contacts()
    chans = [TEL, TWITTER, TELEGRAM]
    assert route(a, chans).channel == TEL
    assert route(b, chans).channel == TWITTER
    assert route(c, chans).channel == TELEGRAM
    result = broadcast([a, b, c], chans)
    assert result.total == 3
    assert dict(result.per_channel) == {"Tel": 1, "Twitter": 1, "Telegram": 1}
    assert len(result.per_channel) == 3
    assert "3 channels" in result.headline
    assert "1 send request" in result.headline


def test_s1_promoting_telegram_moves_a_to_telegram():
    a, b, c = s1_contacts()
    chans = [TEL, TWITTER, TELEGRAM]
    new = lists.replace(a.connections, ["telegram:1001", "tel:+250788000001", "twitter:a_handle"])
    a2 = Contact(status=a.status, connections=new.connections, name="A")
    decision = route(a2, chans)
    assert decision.connection.identity == "telegram:1001"
    assert decision.channel == TELEGRAM
    assert dict(broadcast([a2, b, c], chans).per_channel) == {"Twitter": 1, "Telegram": 2}


JANE_US = "tel:+13233754866"
JANE_DE = "tel:+4915112345678"
JANE_MAIL = "mailto:jane@example.org"
S_US = ch(80, "US number", ("tel",), "+13235550100", country="US")
S_DE = ch(81, "German number", ("tel",), "+4930555010", country="DE")


def jane(*connections):
    return who(*(connections or (JANE_US, JANE_DE, JANE_MAIL)), name="Jane Doe")


def test_s2_highest_priority_number_is_contact_urn():
    contact = jane()
    chans = [S_US, S_DE]
    # the contacts table shows only the priority connection
    first = URN("tel", contact.connections[0].path)
    assert display(first, "US") == "(323) 375-4866"
    assert display(first, "RW") == "+1 323-375-4866"
    assert contact_urn(contact, chans) == "tel:+13233754866"
    assert urns_by_scheme(contact)["mailto"] == "mailto:jane@example.org"
    assert urns_by_scheme(contact)["tel"] == "tel:+13233754866"
    decision = route(contact, chans)
    assert decision.connection.identity == "tel:+13233754866"
    assert decision.channel == S_US


def test_s3_writing_in_changes_the_default_and_locks_her_in():
    # prefix matching alone would send her German number through the US channel
    us = ch(80, "US number", ("tel",), "+13235550100", prefixes=("4915",))
    de = ch(81, "German number", ("tel",), "+4930555010")
    chans = [us, de]
    assert route(jane(JANE_DE), chans).channel == us
    connections = lists.inbound(jane().connections, JANE_DE, de.id, de.can_send)
    assert connections[0] == Connection(JANE_DE, de.id)
    assert [c.identity for c in connections] == [JANE_DE, JANE_US, JANE_MAIL]
    contact = jane(*connections)
    decision = route(contact, chans)
    assert decision.connection.identity == JANE_DE
    assert decision.channel == de
    assert decision.rule == Rule.AFFINITY
    assert note(decision.attempts[0], NoteKind.WOULD_HAVE).channel == "US number"
    state = lock_in(contact, chans)
    assert state.kind == LockInKind.LOCKED_IN
    assert state.channel == de
    assert [c.met for c in state.conditions] == [True, True, True]
    # the German channel is disabled: stale, and routing falls back to the normal rules
    de_off = ch(81, "German number", ("tel",), "+4930555010", active=False)
    chans_off = [us, de_off]
    state = lock_in(contact, chans_off)
    assert state.kind == LockInKind.STALE
    assert state.channel == de_off
    assert "inactive" in state.stale_reason
    decision = route(contact, chans_off)
    assert decision.connection.identity == JANE_DE
    assert decision.channel == us
    assert decision.rule == Rule.ONLY_CANDIDATE
    assert note(decision.attempts[0], NoteKind.AFFINITY_IGNORED).channel == "German number"


def test_s3_with_country_channels():
    contact = jane(*lists.inbound(jane().connections, JANE_DE, S_DE.id, True))
    decision = route(contact, [S_US, S_DE])
    assert decision.channel == S_DE
    assert decision.rule == Rule.AFFINITY
    assert lock_in(contact, [S_US, S_DE]).kind == LockInKind.LOCKED_IN


def test_s4_twitter_priority_not_affected_by_phone_lock_in():
    twitter = ch(82, "Twitter", ("twitter",), type="Twitter")
    chans = [S_US, S_DE, twitter]
    bob = who("twitter:bob", Connection("tel:+13233750000", affinity=S_US.id), name="Bob")
    decision = route(bob, chans)
    assert decision.connection.identity == "twitter:bob"
    assert decision.channel == twitter
    assert decision.rule == Rule.SCHEME
    assert lock_in(bob, chans).kind == LockInKind.NONE
    assert contact_urn(bob, chans) == "twitter:bob"
    # he writes in by SMS again: the phone number becomes first and its affinity counts
    again = who(*lists.inbound(bob.connections, "tel:+13233750000", S_US.id, True), name="Bob")
    assert [c.identity for c in again.connections] == ["tel:+13233750000", "twitter:bob"]
    decision = route(again, chans)
    assert decision.connection.identity == "tel:+13233750000"
    assert decision.channel == S_US
    assert decision.rule == Rule.AFFINITY
    assert lock_in(again, chans).kind == LockInKind.LOCKED_IN
