"""Lock-in (domain.md section 5) and @contact.urn / @urns.<scheme> (section 2)."""

from __future__ import annotations

import pytest

from ccconsole.core.lockin import (
    LockIn,
    LockInKind,
    affinity_kind,
    assess,
    contact_urn,
    lock_in,
    urns_by_scheme,
    what_if,
)
from ccconsole.core.model import RECEIVE, SEND, Channel, Connection, Contact, Status
from ccconsole.core.routing import Channels


def ch(id, name, schemes=("tel",), address="", *, roles=(SEND, RECEIVE), active=True, country=None):
    return Channel(id=id, name=name, type="Twilio", address=address, schemes=tuple(schemes),
                   roles=frozenset(roles), active=active, country=country)


def who(*connections, status=Status.ACTIVE):
    return Contact(status=status,
                   connections=tuple(c if isinstance(c, Connection) else Connection(c) for c in connections))


US = ch(1, "US number", ("tel",), "+13235550100")
DE = ch(2, "German number", ("tel",), "+4930555010")
TWITTER = ch(3, "Twitter", ("twitter",))
NUMBER = "tel:+4915112345678"


# --- lock_in kinds ------------------------------------------------------------------------------


def test_locked_in_when_all_three_conditions_hold():
    contact = who(Connection(NUMBER, affinity=DE.id), "mailto:a@b.org")
    state = lock_in(contact, [US, DE, TWITTER])
    assert state.kind == LockInKind.LOCKED_IN
    assert state.locked is True
    assert state.channel == DE
    assert state.connection == Connection(NUMBER, DE.id)
    assert len(state.conditions) == 3
    assert [c.met for c in state.conditions] == [True, True, True]
    assert state.stale_reason is None
    # the texts say what each condition is about
    assert "2" in state.conditions[0].text
    assert "tel" in state.conditions[1].text
    assert "German number" in state.conditions[2].text


def test_locked_in_accepts_a_channels_index():
    state = lock_in(who(Connection(NUMBER, affinity=US.id)), Channels([US, DE]))
    assert state.kind == LockInKind.LOCKED_IN
    assert state.channel == US


def test_single_channel_affinity_is_not_a_lock_in():
    # condition 1 fails: only one active channel serves tel
    contact = who(Connection(NUMBER, affinity=DE.id))
    state = lock_in(contact, [DE, TWITTER])
    assert state.kind == LockInKind.SINGLE_CHANNEL
    assert state.locked is False
    assert state.channel == DE
    assert [c.met for c in state.conditions] == [False, True, True]


def test_second_channel_inactive_means_single_channel():
    # "several ACTIVE channels serving the same scheme"
    us_off = ch(1, "US number", ("tel",), "+13235550100", active=False)
    state = lock_in(who(Connection(NUMBER, affinity=DE.id)), [us_off, DE])
    assert state.kind == LockInKind.SINGLE_CHANNEL
    assert state.conditions[0].met is False


def test_second_channel_receive_only_means_single_channel():
    us_rx = ch(1, "US number", ("tel",), "+13235550100", roles=(RECEIVE,))
    state = lock_in(who(Connection(NUMBER, affinity=DE.id)), [us_rx, DE])
    assert state.kind == LockInKind.SINGLE_CHANNEL


def test_stale_when_the_affinity_channel_is_disabled():
    de_off = ch(2, "German number", ("tel",), "+4930555010", active=False)
    state = lock_in(who(Connection(NUMBER, affinity=DE.id)), [US, de_off])
    assert state.kind == LockInKind.STALE
    assert state.locked is False
    assert state.channel == de_off
    assert state.connection.identity == NUMBER
    assert state.stale_reason == "German number is inactive"
    assert state.conditions[2].met is False


def test_stale_when_the_affinity_channel_cannot_send():
    de_rx = ch(2, "German number", ("tel",), "+4930555010", roles=(RECEIVE,))
    state = lock_in(who(Connection(NUMBER, affinity=DE.id)), [US, de_rx])
    assert state.kind == LockInKind.STALE
    assert state.stale_reason == "German number cannot send"


def test_stale_when_the_affinity_channel_is_gone():
    state = lock_in(who(Connection(NUMBER, affinity=99)), [US, DE])
    assert state.kind == LockInKind.STALE
    assert state.channel is None
    assert state.stale_reason == "the channel no longer exists"


def test_stale_when_the_affinity_channel_does_not_serve_the_scheme():
    state = lock_in(who(Connection(NUMBER, affinity=TWITTER.id)), [US, DE, TWITTER])
    assert state.kind == LockInKind.STALE
    assert state.stale_reason == "Twitter does not serve tel"
    assert state.conditions[1].met is False


def test_none_without_affinity():
    state = lock_in(who(NUMBER, "twitter:joe"), [US, DE])
    assert state == LockIn(LockInKind.NONE, None, Connection(NUMBER))
    assert state.locked is False


def test_none_without_connections():
    state = lock_in(who(), [US, DE])
    assert state.kind == LockInKind.NONE
    assert state.connection is None


def test_only_the_priority_connection_counts():
    # condition 2: the priority connection must be of that scheme; an affinity on a lower one is not a lock-in
    contact = who("twitter:bob", Connection(NUMBER, affinity=US.id))
    state = lock_in(contact, [US, DE, TWITTER])
    assert state.kind == LockInKind.NONE
    assert state.connection == Connection("twitter:bob")


def test_lock_in_kind_values():
    assert {k.value for k in LockInKind} == {"locked-in", "single-channel", "stale", "not-priority", "none"}


# --- assess: any connection's affinity, as the lock-ins screen lists it ---------------------------


def test_assess_the_priority_connection_is_lock_in():
    first = Connection(NUMBER, DE.id)
    contact = who(first, "twitter:bob")
    assert assess(first, first, [US, DE]) == lock_in(contact, [US, DE])


def test_assess_s4_phone_affinity_behind_a_twitter_priority_is_not_in_effect():
    # Bob: Twitter first; his phone once wrote in through the US channel
    phone = Connection("tel:+13235550199", US.id)
    state = assess(phone, Connection("twitter:bob"), [US, DE, TWITTER])
    assert state.kind == LockInKind.DORMANT
    assert state.channel == US
    assert [c.met for c in state.conditions] == [True, False, False]
    assert "twitter" in state.conditions[1].text


def test_assess_second_phone_behind_another_phone_fails_only_condition_three():
    second = Connection(NUMBER, DE.id)
    state = assess(second, Connection("tel:+13235550199"), [US, DE])
    assert state.kind == LockInKind.DORMANT
    assert [c.met for c in state.conditions] == [True, True, False]


def test_assess_stale_wins_over_not_priority():
    off = ch(9, "Old phone", active=False)
    second = Connection(NUMBER, off.id)
    state = assess(second, Connection("twitter:bob"), [US, DE, off])
    assert state.kind == LockInKind.STALE
    assert state.stale_reason == "Old phone is inactive"


def test_assess_without_affinity_is_none():
    conn = Connection(NUMBER)
    assert assess(conn, conn, [US, DE]).kind == LockInKind.NONE


@pytest.mark.parametrize("is_priority, channels, expected", [
    (True, [US, DE], LockInKind.LOCKED_IN),
    (True, [DE], LockInKind.SINGLE_CHANNEL),
    (False, [US, DE], LockInKind.DORMANT),
    (False, [ch(2, "German number", active=False), US], LockInKind.STALE),
    (True, [ch(2, "German number", active=False), US], LockInKind.STALE),
])
def test_affinity_kind(is_priority, channels, expected):
    assert affinity_kind(DE.id, "tel", Channels(channels), is_priority=is_priority) == expected


# --- what if this contact wrote in ---------------------------------------------------------------


def test_what_if_moves_the_connection_up_and_locks_in_without_touching_the_contact():
    contact = who("tel:+13235550199", NUMBER, "mailto:a@b.org")
    after, decision, state = what_if(contact, NUMBER, DE, [US, DE])
    assert [c.identity for c in after.connections] == [NUMBER, "tel:+13235550199", "mailto:a@b.org"]
    assert after.connections[0].affinity == DE.id
    assert decision.connection.identity == NUMBER and decision.channel == DE
    assert state.kind == LockInKind.LOCKED_IN
    # nothing changed on the contact itself
    assert [c.identity for c in contact.connections][0] == "tel:+13235550199"
    assert contact.connections[1].affinity is None


def test_what_if_through_a_receive_only_channel_sets_no_affinity():
    inbox = ch(5, "Inbox only", roles=(RECEIVE,))
    contact = who("tel:+13235550199", NUMBER)
    after, decision, state = what_if(contact, NUMBER, inbox, [US, DE, inbox])
    assert after.connections[0] == Connection(NUMBER)
    assert state.kind == LockInKind.NONE
    assert decision.connection.identity == NUMBER


def test_what_if_unstops_a_stopped_contact_and_a_new_connection_goes_first():
    contact = who("tel:+13235550199", status=Status.STOPPED)
    after, decision, _ = what_if(contact, NUMBER, DE, [US, DE])
    assert after.status == Status.ACTIVE
    assert [c.identity for c in after.connections] == [NUMBER, "tel:+13235550199"]
    assert decision.ok and decision.channel == DE


def test_what_if_a_blocked_contact_stays_blocked_and_gets_no_route():
    contact = who("tel:+13235550199", status=Status.BLOCKED)
    after, decision, _ = what_if(contact, "tel:+13235550199", US, [US, DE])
    assert after.status == Status.BLOCKED
    assert not decision.ok


# --- contact_urn ------------------------------------------------------------------------------


def test_contact_urn_is_the_routes_connection():
    contact = who("telegram:123", "tel:+13233754866", "mailto:a@b.org")
    assert contact_urn(contact, [US]) == "tel:+13233754866"
    assert contact_urn(contact, [US, ch(9, "Telegram", ("telegram",))]) == "telegram:123"


def test_contact_urn_s2_highest_priority_number():
    jane = who("tel:+13233754866", "tel:+4915112345678", "mailto:jane@example.org")
    assert contact_urn(jane, [US, DE]) == "tel:+13233754866"


def test_contact_urn_without_route_is_the_priority_connection():
    contact = who("telegram:123", "twitter:joe")
    assert contact_urn(contact, [US]) == "telegram:123"


def test_contact_urn_without_connections():
    assert contact_urn(who(), [US]) is None


# --- urns_by_scheme ------------------------------------------------------------------------------


def test_urns_by_scheme_highest_priority_of_each():
    contact = who("tel:+13233754866", "mailto:first@example.org", "tel:+4915112345678",
                  "mailto:second@example.org", "twitter:joe")
    assert urns_by_scheme(contact) == {
        "tel": "tel:+13233754866",
        "mailto": "mailto:first@example.org",
        "twitter": "twitter:joe",
    }


def test_urns_by_scheme_empty_when_none():
    values = urns_by_scheme(who("tel:+13233754866"))
    assert values.get("mailto") is None
    assert "mailto" not in values
    assert urns_by_scheme(who()) == {}


@pytest.mark.parametrize("order,expected", [
    (("tel:+1", "tel:+2"), "tel:+1"),
    (("tel:+2", "tel:+1"), "tel:+2"),
])
def test_urns_by_scheme_follows_the_order(order, expected):
    assert urns_by_scheme(who(*order))["tel"] == expected
