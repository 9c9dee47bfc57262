"""How a contact's list of connections changes (domain.md section 3)."""

from __future__ import annotations

import pytest

from ccconsole.core.lists import (
    MAX_CONNECTIONS,
    ListError,
    Replaced,
    append,
    inbound,
    receive,
    receive_problem,
    replace,
    unstopped,
)
from ccconsole.core.model import RECEIVE, SEND, Channel, Connection, Contact, Status

A = Connection("tel:+250788383383", affinity=1)
B = Connection("mailto:jane@example.org")
C = Connection("twitter:jane", affinity=2)


def ids(connections):
    return [c.identity for c in connections]


# --- replace -------------------------------------------------------------------------------------


def test_replace_gives_exactly_the_list_in_order():
    result = replace((A, B, C), ["twitter:jane", "tel:+250788383383", "mailto:jane@example.org"])
    assert isinstance(result, Replaced)
    assert ids(result.connections) == ["twitter:jane", "tel:+250788383383", "mailto:jane@example.org"]
    assert result.added == ()
    assert result.detached == ()


def test_replace_keeps_affinities_of_connections_that_stay():
    result = replace((A, B, C), ["twitter:jane", "tel:+250788383383"])
    assert result.connections == (C, A)
    assert result.connections[0].affinity == 2
    assert result.connections[1].affinity == 1


def test_replace_new_connections_have_no_affinity():
    result = replace((A, B), ["mailto:new@example.org", "tel:+250788383383"])
    assert result.connections == (Connection("mailto:new@example.org"), A)
    assert result.connections[0].affinity is None
    assert result.added == ("mailto:new@example.org",)


def test_replace_reports_detached():
    result = replace((A, B, C), ["mailto:jane@example.org"])
    assert result.connections == (B,)
    assert set(result.detached) == {"tel:+250788383383", "twitter:jane"}
    assert result.detached == ("tel:+250788383383", "twitter:jane")
    assert result.added == ()


def test_replace_s6_remove_and_add_first():
    jane = (Connection("tel:+13233754866", 7), Connection("tel:+4915112345678", 8), B)
    result = replace(jane, ["mailto:jane@work.org", "tel:+13233754866", "mailto:jane@example.org"])
    assert result.connections == (Connection("mailto:jane@work.org"), Connection("tel:+13233754866", 7), B)
    assert result.added == ("mailto:jane@work.org",)
    assert result.detached == ("tel:+4915112345678",)


def test_replace_with_nothing_detaches_all():
    result = replace((A, B), [])
    assert result.connections == ()
    assert result.detached == ("tel:+250788383383", "mailto:jane@example.org")


def test_replace_empty_current():
    result = replace((), ["tel:+1", "tel:+2"])
    assert result.connections == (Connection("tel:+1"), Connection("tel:+2"))
    assert result.added == ("tel:+1", "tel:+2")
    assert result.detached == ()


@pytest.mark.parametrize("wanted", [
    ["tel:+1", "tel:+1"],
    ["tel:+250788383383", "mailto:x@y.org", "tel:+250788383383"],
])
def test_replace_refuses_duplicates(wanted):
    with pytest.raises(ListError):
        replace((A,), wanted)


def test_replace_does_not_cap_at_50():
    # the 50 cap is for appending only
    wanted = [f"tel:+2507880000{i:02d}" for i in range(60)]
    assert len(replace((), wanted).connections) == 60


# --- append --------------------------------------------------------------------------------------


def test_append_adds_after_existing_and_never_reorders():
    result = append((A, B, C), ["ext:new", "tel:+250788383383", "mailto:other@example.org"])
    assert result == (A, B, C, Connection("ext:new"), Connection("mailto:other@example.org"))


def test_append_keeps_existing_affinities():
    result = append((A, C), ["twitter:jane", "tel:+250788383383"])
    assert result == (A, C)


def test_append_skips_duplicates_in_the_input():
    assert append((), ["tel:+1", "tel:+1", "tel:+2"]) == (Connection("tel:+1"), Connection("tel:+2"))


def test_append_nothing():
    assert append((A, B), []) == (A, B)


def test_append_up_to_50():
    assert MAX_CONNECTIONS == 50
    current = tuple(Connection(f"ext:{i}") for i in range(49))
    result = append(current, ["ext:49"])
    assert len(result) == 50
    assert ids(result)[-1] == "ext:49"


def test_append_refuses_the_51st():
    current = tuple(Connection(f"ext:{i}") for i in range(50))
    with pytest.raises(ListError, match="50"):
        append(current, ["ext:new"])


def test_append_over_the_cap_in_one_call():
    current = tuple(Connection(f"ext:{i}") for i in range(48))
    with pytest.raises(ListError):
        append(current, ["ext:a", "ext:b", "ext:c"])


def test_append_present_ones_at_the_cap_are_fine():
    current = tuple(Connection(f"ext:{i}") for i in range(50))
    assert append(current, ["ext:0", "ext:49"]) == current


# --- inbound -------------------------------------------------------------------------------------


def test_inbound_moves_to_top_and_sets_affinity():
    result = inbound((A, B, C), "twitter:jane", 9, True)
    assert result == (Connection("twitter:jane", 9), A, B)


def test_inbound_others_keep_order_and_affinities():
    result = inbound((A, B, C), "mailto:jane@example.org", 5, True)
    assert result == (Connection("mailto:jane@example.org", 5), A, C)
    assert result[1].affinity == 1
    assert result[2].affinity == 2


def test_inbound_affinity_only_when_channel_can_send():
    result = inbound((A, B, C), "mailto:jane@example.org", 5, False)
    assert result == (B, A, C)
    assert result[0].affinity is None


def test_inbound_keeps_old_affinity_when_channel_cannot_send():
    result = inbound((B, C), "twitter:jane", 5, False)
    assert result == (C, B)
    assert result[0].affinity == 2


def test_inbound_without_channel_id():
    result = inbound((B, C), "twitter:jane", None, True)
    assert result == (C, B)


def test_inbound_replaces_existing_affinity():
    result = inbound((B, A), "tel:+250788383383", 3, True)
    assert result == (Connection("tel:+250788383383", 3), B)


def test_inbound_keeps_display():
    d = Connection("twitterid:123", 1, "jane")
    result = inbound((A, d), "twitterid:123", 4, True)
    assert result[0] == Connection("twitterid:123", 4, "jane")


def test_inbound_identical_second_message_changes_nothing():
    first = inbound((A, B, C), "twitter:jane", 9, True)
    second = inbound(first, "twitter:jane", 9, True)
    assert second == first


def test_inbound_on_priority_connection_with_same_affinity_changes_nothing():
    assert inbound((A, B, C), "tel:+250788383383", 1, True) == (A, B, C)


def test_inbound_unknown_connection_added_at_top():
    result = inbound((A, B), "telegram:777", 6, True)
    assert result == (Connection("telegram:777", 6), A, B)
    result = inbound((A, B), "telegram:777", 6, False)
    assert result == (Connection("telegram:777"), A, B)


def test_inbound_new_contact():
    assert inbound((), "tel:+250788383383", 1, True) == (Connection("tel:+250788383383", 1),)


# --- receive: the contact after an incoming message ------------------------------------------------

PHONE = Channel(id=1, name="Phone", type="Twilio", address="+250788000000", schemes=("tel",))
SEND_ONLY = Channel(id=2, name="Blaster", type="Twilio", address="", schemes=("tel",), roles=frozenset({SEND}))
INBOX = Channel(id=3, name="Inbox", type="Twilio", address="", schemes=("tel",), roles=frozenset({RECEIVE}))
OFF = Channel(id=4, name="Old", type="Android", address="", schemes=("tel",), active=False)


@pytest.mark.parametrize("channel, scheme, problem", [
    (PHONE, "tel", None),
    (INBOX, "tel", None),
    (PHONE, "mailto", "Channel Phone does not serve mailto connections."),
    (OFF, "tel", "Channel Old is disabled: it receives nothing."),
    (SEND_ONLY, "tel", "Channel Blaster does not receive messages."),
])
def test_receive_problem(channel, scheme, problem):
    assert receive_problem(channel, scheme) == problem


@pytest.mark.parametrize("status, after", [(Status.STOPPED, Status.ACTIVE), (Status.ACTIVE, Status.ACTIVE),
                                           (Status.BLOCKED, Status.BLOCKED), (Status.ARCHIVED, Status.ARCHIVED)])
def test_unstopped(status, after):
    assert unstopped(status) == after


def test_receive_moves_up_sets_affinity_and_unstops():
    contact = Contact(Status.STOPPED, (Connection("mailto:a@b.org"), Connection("tel:+250788111222")), "Ann", 5)
    after = receive(contact, "tel:+250788111222", PHONE)
    assert after == Contact(Status.ACTIVE, (Connection("tel:+250788111222", PHONE.id), Connection("mailto:a@b.org")),
                            "Ann", 5)
    # through a receive-only channel: moved up, no affinity
    assert receive(contact, "tel:+250788111222", INBOX).connections[0] == Connection("tel:+250788111222")
