"""Properties of the domain core, checked with hypothesis.

- normalize is idempotent: normalizing a normalized connection gives the same connection;
- the resolver never picks a channel that is inactive, cannot send or does not serve the scheme;
- it always picks the first connection that has any channel (channel_for per connection).
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccconsole.core.model import RECEIVE, SEND, Channel, Connection, Contact, Status
from ccconsole.core.routing import NO_CHANNEL, Rule, broadcast, channel_for, route, unreachable_reason
from ccconsole.core.urns import SCHEMES, URN, normalize, phone_country, validation_error

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNTRIES = [None, "RW", "US", "DE", "GB", "FR", "KE", "NG", "IN", "BR"]

# --- normalize is idempotent ---------------------------------------------------------------------

OTHER_SCHEMES = sorted(set(SCHEMES) - {"tel"})
path_text = st.text(
    alphabet=st.sampled_from("abcXYZ019_@+=/.-: #éß"), min_size=1, max_size=30,
)


@FAST
@given(st.sampled_from(OTHER_SCHEMES), path_text, st.none() | path_text)
def test_normalize_idempotent_other_schemes(scheme, path, disp):
    once = normalize(URN(scheme, path, disp))
    twice = normalize(once)
    if scheme in ("twitter", "twitterid") and validation_error(once) is not None:
        # "drop ONE leading @": '@@joe' -> '@joe' (invalid, refused) -> 'joe'
        return
    assert twice == once


@pytest.mark.parametrize("scheme", OTHER_SCHEMES)
def test_normalize_idempotent_examples(scheme):
    for path in ("Joe", "@Joe", "12345", "a@B.org", "ref:AbC", "  x  "):
        once = normalize(URN(scheme, path))
        assert normalize(once) == once


phone_text = st.one_of(
    st.text(alphabet=st.sampled_from("0123456789 +-()."), min_size=1, max_size=20),
    st.from_regex(r"\A\+?[1-9][0-9]{6,14}\Z"),
    st.from_regex(r"\A0[0-9]{8,10}\Z"),
    st.from_regex(r"\A[0-9]\.[0-9]{10,11}[eE]\+1[12]\Z"),
    st.from_regex(r"\A[A-Za-z][A-Za-z0-9 ]{0,12}\Z"),
)


@FAST
@given(phone_text, st.sampled_from(COUNTRIES))
@example("+788383383", "RW")  # a number that lacks its country code, typed with '+'
@example("+250 788 383", "RW")  # a truncated number
@example("+01", "DE")  # too short for E.164, but "01" alone reads as a German number
def test_normalize_idempotent_tel(text, country):
    once = normalize(URN("tel", text), country)
    twice = normalize(once, country)
    assert twice == once, f"tel:{text!r} ({country}) -> {once.identity} -> {twice.identity}"


REGIONS = ["RW", "US", "DE", "GB", "FR", "KE", "NG", "IN", "BR", "CN", "IT", "AR", "MX", "ZA", "JP"]
FORMATS = [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
           phonenumbers.PhoneNumberFormat.NATIONAL]


@FAST
@given(st.sampled_from(REGIONS), st.sampled_from(FORMATS), st.sampled_from(COUNTRIES))
def test_real_numbers_normalize_to_e164_and_stay(region, fmt, workspace):
    number = phonenumbers.example_number(region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    typed = phonenumbers.format_number(number, fmt)
    once = normalize(URN("tel", typed), region if fmt == phonenumbers.PhoneNumberFormat.NATIONAL else workspace)
    assert once.path == e164
    assert normalize(once, workspace) == once
    assert validation_error(once) is None


# --- the resolver --------------------------------------------------------------------------------

SCHEME_POOL = ["tel", "twitter", "telegram", "mailto"]
ADDRESSES = ["+250788000000", "+250722000000", "+13235550100", "+4930555010", "+1", ""]
PREFIXES = ["250788", "2507", "1323", "49", "+250", "4915"]
IDENTITIES = [
    "tel:+250788383383", "tel:+250722123456", "tel:+13233754866", "tel:+4915112345678",
    "tel:mtn", "tel:0788383383", "tel:+80012345678", "twitter:joe", "telegram:123",
    "mailto:a@b.org", "ext:X", "whatsapp:250788383383",
]


@st.composite
def channel_lists(draw):
    n = draw(st.integers(0, 6))
    channels = []
    for i in range(n):
        channels.append(Channel(
            id=i + 1,
            name=f"ch{i + 1}",
            type="Twilio",
            address=draw(st.sampled_from(ADDRESSES)),
            schemes=tuple(draw(st.lists(st.sampled_from(SCHEME_POOL), min_size=1, max_size=3, unique=True))),
            roles=frozenset(draw(st.sets(st.sampled_from([SEND, RECEIVE])))),
            country=draw(st.sampled_from([None, "RW", "US", "DE"])),
            match_prefixes=tuple(draw(st.lists(st.sampled_from(PREFIXES), max_size=2))),
            allow_international=draw(st.booleans()),
            active=draw(st.booleans()),
        ))
    return channels


@st.composite
def contacts(draw, channel_ids):
    identities = draw(st.lists(st.sampled_from(IDENTITIES), max_size=5, unique=True))
    affinity = st.none() | st.sampled_from(list(channel_ids) + [999])
    connections = tuple(Connection(i, draw(affinity)) for i in identities)
    status = draw(st.sampled_from(list(Status)))
    return Contact(status=status, connections=connections)


@st.composite
def worlds(draw):
    channels = draw(channel_lists())
    contact = draw(contacts([c.id for c in channels]))
    return channels, contact


def passes_country_filter(channel, number):
    country = phone_country(number)
    return not (country and channel.country and channel.country != country and not channel.allow_international)


@FAST
@given(worlds())
def test_resolver_never_picks_an_unusable_channel(world):
    channels, contact = world
    decision = route(contact, channels)
    if not decision.ok:
        return
    assert decision.channel in channels
    assert decision.channel.active
    assert decision.channel.can_send
    assert decision.channel.serves(decision.connection.scheme)
    assert decision.connection in contact.connections


@FAST
@given(worlds())
def test_resolver_picks_the_first_connection_with_a_channel(world):
    channels, contact = world
    decision = route(contact, channels)
    if not contact.is_active:
        assert not decision.ok
        assert decision.reason.startswith("Contact is no longer active")
        return
    picks = [channel_for(conn, channels).channel for conn in contact.connections]
    first = next((i for i, c in enumerate(picks) if c is not None), None)
    if first is None:
        assert not decision.ok
        assert decision.connection is None and decision.channel is None
        if contact.connections:
            assert decision.reason == NO_CHANNEL
            assert len(decision.attempts) == len(contact.connections)
    else:
        assert decision.connection == contact.connections[first]
        assert decision.channel == picks[first]
        assert len(decision.attempts) == first + 1
        assert all(a.channel is None for a in decision.attempts[:-1])


@FAST
@given(worlds())
def test_channel_for_rules(world):
    channels, contact = world
    by_id = {c.id: c for c in channels}
    for conn in contact.connections:
        attempt = channel_for(conn, channels)
        chosen = attempt.channel
        affinity = by_id.get(conn.affinity) if conn.affinity is not None else None
        usable = affinity is not None and affinity.active and affinity.can_send and affinity.serves(conn.scheme)
        if usable:
            # rule 1
            assert chosen == affinity
            assert attempt.rule == Rule.AFFINITY
            continue
        if chosen is None:
            continue
        assert chosen.active and chosen.can_send and chosen.serves(conn.scheme)
        if conn.scheme == "tel":
            # rule 2: never a channel removed by the country filter
            assert attempt.rule in (Rule.ONLY_CANDIDATE, Rule.PREFIX)
            assert passes_country_filter(chosen, conn.path)
        else:
            # rule 3: the oldest sending channel for the scheme
            assert attempt.rule == Rule.SCHEME
            assert chosen == next(c for c in channels if c.sends(conn.scheme))


@FAST
@given(worlds())
def test_explain_does_not_change_the_decision(world):
    channels, contact = world
    a = route(contact, channels, explain=True)
    b = route(contact, channels, explain=False)
    assert (a.connection, a.channel, a.rule, a.reason) == (b.connection, b.channel, b.rule, b.reason)


@FAST
@given(channel_lists(), st.data())
def test_broadcast_accounts_for_every_contact(channels, data):
    people = data.draw(st.lists(contacts([c.id for c in channels]), max_size=8))
    result = broadcast(people, channels)
    assert result.total == len(people)
    assert (sum(result.per_channel.values()) + sum(result.unreachable.values())
            + sum(result.not_active.values())) == len(people)
    assert sum(result.not_active.values()) == sum(1 for p in people if not p.is_active)
    expected: dict[str, int] = {}
    for p in people:
        d = route(p, channels)
        if d.ok:
            expected[d.channel.name] = expected.get(d.channel.name, 0) + 1
    assert dict(result.per_channel) == expected


@FAST
@given(channel_lists(), st.data())
def test_grouped_broadcast_gives_each_contact_its_own_route_and_reason(channels, data):
    """The planner shares decisions between contacts in the same routing situation: the counts and
    the reasons are exactly those of resolving every contact on its own."""
    people = data.draw(st.lists(contacts([c.id for c in channels]), max_size=12))
    result = broadcast(people, channels)
    per_channel: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for p in people:
        d = route(p, channels)
        if d.ok:
            per_channel[d.channel.name] = per_channel.get(d.channel.name, 0) + 1
        elif p.is_active:
            reason = unreachable_reason(d)
            reasons[reason] = reasons.get(reason, 0) + 1
    assert dict(result.per_channel) == per_channel
    assert dict(result.unreachable) == reasons


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(["1", "12", "13", "11", "10", "19", "250", "254", "44", "7", "39", "593", "800", "882", "0",
                        ""]),
       st.text(alphabet="0123456789", max_size=19))
def test_phone_country_fast_paths_agree_with_phonenumbers(code, rest):
    """phone_country decides single-region calling codes and +1 numbers without parsing; it must say
    exactly what phonenumbers' parse + region_code_for_number says."""
    from ccconsole.core.urns import _parsed_country

    path = "+" + code + rest
    assert phone_country(path) == _parsed_country(path)
