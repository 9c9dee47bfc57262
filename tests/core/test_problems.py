"""Cleanup problems, duplicate keys and re-normalization (domain.md section 8), from the domain's examples."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccconsole.core.model import RECEIVE, SEND, Channel, Connection, Contact, Status
from ccconsole.core.problems import (
    OUTCOME_TEXT,
    Found,
    Outcome,
    Problem,
    address_keys,
    connection_text,
    contact_problems,
    duplicate_keys,
    duplicate_of,
    name_phone_key,
    renormalize,
    renormalize_outcome,
)
from ccconsole.core.routing import Channels
from ccconsole.core.urns import SCHEMES, clean_text, is_e164

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COUNTRIES = [None, "RW", "US", "DE", "GB", "FR", "KE", "NG", "IN", "BR"]


def ch(id, name, schemes=("tel",), address="", *, active=True, country=None, roles=(SEND, RECEIVE)):
    return Channel(id=id, name=name, type="Twilio", address=address, schemes=tuple(schemes),
                   roles=frozenset(roles), active=active, country=country)


def who(*connections, status=Status.ACTIVE, name="", id=None):
    return Contact(status=status, name=name, id=id,
                   connections=tuple(c if isinstance(c, Connection) else Connection(c) for c in connections))


MTN = ch(1, "MTN Rwanda", ("tel",), "+250788000000", country="RW")
AIRTEL_OFF = ch(2, "Airtel Rwanda", ("tel",), "+250730000000", country="RW", active=False)
EMAIL = ch(3, "Email", ("mailto",))
TWITTER = ch(4, "Twitter", ("twitter", "twitterid"))
CHANNELS = [MTN, AIRTEL_OFF, EMAIL, TWITTER]


def problems(contact, country="RW", channels=CHANNELS):
    return contact_problems(contact, channels, country)


def test_the_problems_are_those_of_section_8_in_order():
    assert [p.value for p in Problem] == [
        "local_number", "invalid_connection", "bad_number", "duplicate", "unreachable", "no_connection",
        "stale_affinity"]


def test_a_clean_contact_has_no_problem():
    assert problems(who("tel:+250788383383", "mailto:jane@example.org", name="Jane")) == []


# --- local_number --------------------------------------------------------------------------------


def test_local_number_with_the_workspace_country():
    assert problems(who("tel:+250788383383", "tel:0788383383")) == [
        Found(Problem.LOCAL_NUMBER, "tel:0788383383 has no country code (+250788383383 with RW)", "tel:0788383383")]


def test_a_number_that_lost_only_its_plus_is_a_local_number_even_without_a_country():
    expected = [Found(Problem.LOCAL_NUMBER, "tel:250788383383 lacks its + (+250788383383)", "tel:250788383383")]
    assert problems(who("tel:250788383383"), country=None) == expected
    assert problems(who("tel:250788383383"), country="RW") == expected


def test_without_a_country_a_local_number_cannot_be_completed():
    # stored as the workspace had no country: nothing turns it into E.164, so it reads as a short code
    assert problems(who("tel:0788383383"), country=None) == [
        Found(Problem.BAD_NUMBER, "tel:0788383383 is a short code or lacks its country code", "tel:0788383383")]


def test_a_local_number_whose_e164_form_is_not_valid_is_a_bad_number():
    # +250712345678 is domain.md's example of a number phonenumbers does not call valid
    assert problems(who("tel:0712345678")) == [
        Found(Problem.BAD_NUMBER,
              "tel:0712345678 has no country code, and +250712345678 (with RW) is not a valid number",
              "tel:0712345678")]


def test_a_local_number_of_another_country():
    # the same digits read with the US as the workspace country: not a US number
    assert [f.problem for f in problems(who("tel:0788383383"), country="US")] == [Problem.BAD_NUMBER]
    assert problems(who("tel:3233754866"), country="US") == [
        Found(Problem.LOCAL_NUMBER, "tel:3233754866 has no country code (+13233754866 with US)", "tel:3233754866")]


def test_international_numbers_and_other_schemes_are_not_local_numbers():
    for identity in ("tel:+250788383383", "whatsapp:250788383383", "telegram:0788383383", "ext:0788383383"):
        assert Problem.LOCAL_NUMBER not in {f.problem for f in problems(who(identity))}, identity


# --- invalid_connection --------------------------------------------------------------------------


@pytest.mark.parametrize("identity, reason", [
    ("mailto:jane", "mailto:jane: Invalid email address."),
    ("tel:+123456", "tel:+123456: Invalid phone number."),
    ("twitter:a_handle_far_too_long", "twitter:a_handle_far_too_long: "
                                      "Invalid Twitter handle: 1 to 15 letters, digits or underscores."),
    ("whatsapp:+250788383383", "whatsapp:+250788383383: Invalid WhatsApp Number: digits only."),
    ("fax:123", "fax:123: Unknown connection type 'fax'."),
])
def test_invalid_connection(identity, reason):
    assert problems(who("tel:+250788383383", identity)) == [Found(Problem.INVALID_CONNECTION, reason, identity)]


def test_a_twitterid_with_an_invalid_handle_is_invalid():
    conn = Connection("twitterid:12345", display="not a handle")
    assert problems(who("tel:+250788383383", conn)) == [
        Found(Problem.INVALID_CONNECTION,
              "twitterid:12345: Invalid Twitter handle: 1 to 15 letters, digits or underscores.", "twitterid:12345")]
    assert problems(who("tel:+250788383383", Connection("twitterid:12345", display="joe"))) == []


def test_valid_connections_of_every_scheme_are_not_invalid():
    valid = ["tel:+250788383383", "mailto:a@b.org", "twitter:joe", "twitterid:123", "telegram:123",
             "whatsapp:250788383383", "facebook:ref:abc", "instagram:42", "viber:ab+/=", "line:abc_1",
             "ext:Anything Goes"]
    found = problems(who(*valid))
    assert Problem.INVALID_CONNECTION not in {f.problem for f in found}


# --- bad_number ----------------------------------------------------------------------------------


def test_an_e164_number_phonenumbers_does_not_call_valid_is_a_bad_number():
    assert problems(who("tel:+250712345678")) == [
        Found(Problem.BAD_NUMBER, "tel:+250712345678 is not a valid RW number", "tel:+250712345678")]


def test_short_codes_and_sender_ids_are_bad_numbers():
    assert problems(who("tel:+250788383383", "tel:mtn", "tel:8080")) == [
        Found(Problem.BAD_NUMBER, "tel:mtn is a sender id, not a phone number", "tel:mtn"),
        Found(Problem.BAD_NUMBER, "tel:8080 is a short code or lacks its country code", "tel:8080"),
    ]


def test_valid_numbers_are_not_bad_numbers():
    for region in ("RW", "US", "DE", "GB", "KE"):
        e164 = phonenumbers.format_number(phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.E164)
        assert Problem.BAD_NUMBER not in {f.problem for f in problems(who("tel:" + e164))}, e164


# --- unreachable ---------------------------------------------------------------------------------


def test_active_without_a_route_is_unreachable_with_the_resolvers_reason():
    assert problems(who("mailto:a@b.org"), channels=[MTN]) == [
        Found(Problem.UNREACHABLE, "no channel sends mailto")]
    # the country filter, explained by the resolver
    assert problems(who("tel:+593987654321"), channels=[MTN]) == [
        Found(Problem.UNREACHABLE, "no phone channel may send to EC numbers")]


def test_an_inactive_channel_does_not_reach():
    assert problems(who("tel:+250788383383"), channels=[AIRTEL_OFF]) == [
        Found(Problem.UNREACHABLE, "no channel sends tel")]


@pytest.mark.parametrize("status", [Status.BLOCKED, Status.STOPPED, Status.ARCHIVED])
def test_a_contact_that_is_not_active_is_not_unreachable(status):
    assert problems(who("mailto:a@b.org", status=status), channels=[MTN]) == []


def test_a_contact_reachable_through_a_later_connection_is_not_unreachable():
    assert problems(who("mailto:a@b.org", "tel:+250788383383"), channels=[MTN]) == []


# --- no_connection -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(Status))
def test_no_connection_and_not_also_unreachable(status):
    assert problems(who(status=status)) == [Found(Problem.NO_CONNECTION, "the contact has no connections")]


# --- stale_affinity ------------------------------------------------------------------------------


def test_priority_affinity_to_an_inactive_channel_is_stale():
    contact = who(Connection("tel:+250788383383", affinity=AIRTEL_OFF.id))
    assert problems(contact) == [
        Found(Problem.STALE_AFFINITY, "affinity of tel:+250788383383 is stale: Airtel Rwanda is inactive",
              "tel:+250788383383")]


def test_affinity_to_a_deleted_channel_is_stale_as_lockin_says():
    contact = who(Connection("tel:+250788383383", affinity=99))
    assert problems(contact) == [
        Found(Problem.STALE_AFFINITY, "affinity of tel:+250788383383 is stale: the channel no longer exists",
              "tel:+250788383383")]


def test_usable_affinities_and_other_connections_affinities_are_not_stale():
    assert problems(who(Connection("tel:+250788383383", affinity=MTN.id))) == []
    # a stale affinity on a connection that is not the priority one: not this problem (section 8)
    assert problems(who("tel:+250788383383", Connection("tel:+250722123456", affinity=AIRTEL_OFF.id))) == []


def test_a_blocked_contact_keeps_its_stale_affinity():
    contact = who(Connection("tel:+250788383383", affinity=AIRTEL_OFF.id), status=Status.BLOCKED)
    assert [f.problem for f in problems(contact)] == [Problem.STALE_AFFINITY]


# --- several at once -----------------------------------------------------------------------------


def test_several_problems_in_a_fixed_order():
    contact = who(Connection("tel:0788383383", affinity=AIRTEL_OFF.id), "mailto:x", "tel:+250712345678",
                  "tel:0722123456")
    found = contact_problems(contact, Channels([AIRTEL_OFF, TWITTER]), "RW")
    assert found == [
        Found(Problem.LOCAL_NUMBER, "tel:0788383383 has no country code (+250788383383 with RW)", "tel:0788383383"),
        Found(Problem.LOCAL_NUMBER, "tel:0722123456 has no country code (+250722123456 with RW)", "tel:0722123456"),
        Found(Problem.INVALID_CONNECTION, "mailto:x: Invalid email address.", "mailto:x"),
        Found(Problem.BAD_NUMBER, "tel:+250712345678 is not a valid RW number", "tel:+250712345678"),
        Found(Problem.UNREACHABLE, "no channel sends tel; no channel sends mailto"),
        Found(Problem.STALE_AFFINITY, "affinity of tel:0788383383 is stale: Airtel Rwanda is inactive",
              "tel:0788383383"),
    ]
    assert contact_problems(contact, [AIRTEL_OFF, TWITTER], "RW") == found


# --- duplicate keys ------------------------------------------------------------------------------


def test_the_same_number_stored_local_and_international():
    local, international = address_keys("tel:0788383383", "RW"), address_keys("tel:+250788383383", "RW")
    assert local == international == frozenset({"phone:+250788383383"})
    # without the workspace country nothing says which number the local one is
    assert not address_keys("tel:0788383383", None) & address_keys("tel:+250788383383", None)
    assert not address_keys("tel:0788383384", "RW") & international


def test_the_same_digits_under_tel_and_whatsapp():
    assert address_keys("whatsapp:250788383383", "RW") & address_keys("tel:+250788383383", "RW")
    assert address_keys("whatsapp:250788383383", None) & address_keys("tel:0788383383", "RW")
    assert not address_keys("whatsapp:250788383384", "RW") & address_keys("tel:+250788383383", "RW")


def test_the_same_handle_under_twitter_and_twitterid():
    handle = address_keys("twitter:Jane_Doe", None)
    assert handle == frozenset({"twitter:jane_doe"})
    assert handle & address_keys("twitterid:12345#jane_doe", None)
    assert handle & address_keys("twitterid:12345#@Jane_Doe", None)  # normalized as urns does
    assert not handle & address_keys("twitterid:12345", None)
    assert not handle & address_keys("twitterid:12345#jane", None)
    assert address_keys(connection_text(Connection("twitterid:12345", display="jane_doe")), None) == frozenset(
        {"twitterid:12345", "twitter:jane_doe"})


def test_other_addresses_are_keyed_by_their_normalized_identity():
    assert address_keys("mailto:Jane@Example.org", None) == frozenset({"mailto:jane@example.org"})
    assert address_keys("tel:mtn", "RW") == frozenset({"tel:mtn"})
    assert not address_keys("ext:ABC", None) & address_keys("ext:abc", None)  # ext is case-sensitive
    assert address_keys("fax:123", None) == frozenset()
    assert address_keys("no colon", None) == frozenset()


def test_name_and_last_8_digits():
    a = name_phone_key("Jane Doe", ["mailto:jane@example.org", "tel:+250788383383"])
    assert a == frozenset({"name:jane doe|88383383"})
    # casefolded, runs of spaces collapsed; local or international, any country code
    assert a & name_phone_key("  JANE   doe ", ["tel:0788383383"])
    assert a & name_phone_key("jane\tdoe", ["tel:+256788383383"])
    assert a & name_phone_key("Jane Doe", ["whatsapp:250788383383"])
    assert not a & name_phone_key("Jane Doe", ["tel:+250788383384"])
    assert not a & name_phone_key("Jane Dough", ["tel:+250788383383"])


def test_name_phone_key_needs_a_name_and_a_phone_number():
    assert name_phone_key("", ["tel:+250788383383"]) == frozenset()
    assert name_phone_key("   ", ["tel:+250788383383"]) == frozenset()
    assert name_phone_key("Jane Doe", ["mailto:jane@example.org", "telegram:12345678"]) == frozenset()
    assert name_phone_key("Jane Doe", ["tel:8080", "tel:mtn"]) == frozenset()  # short code, sender id


def test_two_janes_are_one():
    """Scenario S8: the imported local Jane and the original Jane, once the country is RW."""
    original = who(Connection("tel:+250788383383", affinity=MTN.id), "mailto:jane@example.org",
                   name="Jane Doe", id=1)
    imported = who("tel:0788383383", name="Jane Doe", id=2)
    assert duplicate_keys(original, "RW") & duplicate_keys(imported, "RW")
    assert duplicate_of(imported, original, "RW") == Found(
        Problem.DUPLICATE, "tel:0788383383 is the same address as tel:+250788383383 of Jane Doe (#1)",
        "tel:0788383383")
    assert duplicate_of(original, imported, "RW") == Found(
        Problem.DUPLICATE, "tel:+250788383383 is the same address as tel:0788383383 of Jane Doe (#2)",
        "tel:+250788383383")
    assert [f.problem for f in problems(imported)] == [Problem.LOCAL_NUMBER]


def test_duplicate_by_name_and_number_and_not_duplicates():
    a = who("tel:+250788383383", name="Jane Doe", id=1)
    b = who("mailto:j@example.org", "tel:+256788383383", name="JANE  DOE", id=2)
    assert duplicate_of(b, a, "RW") == Found(
        Problem.DUPLICATE, "same name as Jane Doe (#1) and a phone number ending in 88383383 (tel:+256788383383)",
        "tel:+256788383383")
    stranger = who("tel:+256788383383", name="John Doe", id=3)
    assert duplicate_of(stranger, a, "RW") is None
    assert not duplicate_keys(stranger, "RW") & duplicate_keys(a, "RW")
    assert duplicate_of(a, a, "RW") is None
    assert duplicate_of(a, who("tel:+250788383383", id=1), "RW") is None  # the same contact
    assert duplicate_of(who("twitter:joe", id=5), who(Connection("twitterid:9", display="joe")), None) == Found(
        Problem.DUPLICATE, "twitter:joe is the same address as twitterid:9 of another contact", "twitter:joe")


# --- re-normalize --------------------------------------------------------------------------------


def test_renormalize():
    assert renormalize("tel:0788383383", "RW") == "tel:+250788383383"
    assert renormalize("tel:0788383383", "rw") == "tel:+250788383383"
    assert renormalize("tel:250788383383", None) == "tel:+250788383383"
    assert renormalize("tel:0788383383", None) is None  # no country: nothing to add
    assert renormalize("tel:+250788383383", "RW") is None  # already E.164
    assert renormalize("tel:0712345678", "RW") is None  # +250712345678 is not a valid number
    assert renormalize("tel:mtn", "RW") is None
    assert renormalize("tel:8080", "RW") is None
    assert renormalize("whatsapp:0788383383", "RW") is None
    assert renormalize("telegram:0788383383", "RW") is None


def test_renormalize_outcomes():
    local, e164 = "tel:0788383383", "tel:+250788383383"
    assert renormalize_outcome(local, e164, None, 7) == Outcome.IN_PLACE
    assert renormalize_outcome(local, e164, 7, 7) == Outcome.INTO_OWN
    assert renormalize_outcome(local, e164, 8, 7) == Outcome.DUPLICATE
    assert set(OUTCOME_TEXT) == set(Outcome)
    with pytest.raises(ValueError):
        renormalize_outcome(e164, e164, None, 7)


# --- properties ----------------------------------------------------------------------------------

ANY_PHONE = ch(9, "Any phone", ("tel",))  # no country: sends to every number
local_digits = st.one_of(
    st.from_regex(r"\A0[0-9]{6,11}\Z"),
    st.from_regex(r"\A[1-9][0-9]{6,14}\Z"),
    st.text(alphabet="0123456789", min_size=1, max_size=16),
)


@FAST
@given(local_digits, st.sampled_from(COUNTRIES))
@example("0788383383", "RW")
@example("250788383383", None)
@example("0712345678", "RW")
def test_renormalize_gives_a_clean_e164_identity(digits, country):
    identity = "tel:" + digits
    new = renormalize(identity, country)
    found = {f.problem for f in problems(who(identity), country=country, channels=[ANY_PHONE])}
    assert (Problem.LOCAL_NUMBER in found) == (new is not None)
    if new is None:
        return
    assert new.startswith("tel:") and is_e164(new[4:])
    assert new != identity
    assert clean_text(new, country).identity == new  # a fixed point of urns' cleaning
    assert renormalize(new, country) is None
    assert address_keys(identity, country) == address_keys(new, country)  # and the same address
    assert problems(who(new), country=country, channels=[ANY_PHONE]) == []


def example_e164(region):
    return phonenumbers.format_number(phonenumbers.example_number(region), phonenumbers.PhoneNumberFormat.E164)


twin_digits = st.one_of(
    st.from_regex(r"\A[1-9][0-9]{6,14}\Z"),
    st.from_regex(r"\A[0-9]{7,15}\Z"),
    st.sampled_from(["RW", "US", "DE", "GB", "KE", "IN", "BR"]).map(lambda r: example_e164(r)[1:]),
)


@FAST
@given(twin_digits, st.sampled_from(COUNTRIES))
def test_tel_and_whatsapp_twins_share_their_keys(digits, country):
    tel, whatsapp = address_keys("tel:+" + digits, country), address_keys("whatsapp:" + digits, country)
    assert tel == whatsapp
    assert len(tel) == 1 and next(iter(tel)).startswith("phone:+")
    assert duplicate_keys(who("tel:+" + digits), country) & duplicate_keys(who("whatsapp:" + digits), country)


@FAST
@given(st.sampled_from(["RW", "US", "DE", "GB", "KE", "NG", "IN", "BR", "FR"]))
def test_a_national_number_and_its_e164_form_share_their_keys(region):
    number = phonenumbers.example_number(region)
    national = "".join(c for c in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
                       if c.isdigit())
    assert address_keys("tel:" + national, region) == address_keys("tel:" + example_e164(region), region)


identity_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda s, p: f"{s}:{p}", st.sampled_from(sorted(SCHEMES) + ["", "TEL", "fax"]),
              st.text(alphabet=st.sampled_from("0123456789+abcXYZ_@.#: é"), max_size=24)),
    st.builds(lambda d: "tel:" + d, local_digits),
)


@st.composite
def worlds(draw):
    channels = [
        ch(i + 1, f"ch{i + 1}", tuple(draw(st.lists(st.sampled_from(["tel", "mailto", "twitter", "whatsapp"]),
                                                    min_size=1, max_size=3, unique=True))),
           draw(st.sampled_from(["+250788000000", "+13235550100", ""])),
           active=draw(st.booleans()), country=draw(st.sampled_from([None, "RW", "US"])),
           roles=draw(st.sets(st.sampled_from([SEND, RECEIVE]))))
        for i in range(draw(st.integers(0, 4)))
    ]
    identities = draw(st.lists(identity_text, max_size=5, unique=True))
    affinity = st.none() | st.integers(1, 6)
    connections = tuple(Connection(i, draw(affinity), draw(st.none() | st.text(max_size=10))) for i in identities)
    contact = Contact(draw(st.sampled_from(list(Status))), connections, draw(st.text(max_size=12)))
    return channels, contact, draw(st.sampled_from(COUNTRIES))


ORDER = list(Problem)


@FAST
@given(worlds())
def test_contact_problems_never_raises_and_keeps_its_shape(world):
    channels, contact, country = world
    found = contact_problems(contact, channels, country)
    assert found == contact_problems(contact, Channels(channels), country)  # deterministic
    kinds = [f.problem for f in found]
    assert Problem.DUPLICATE not in kinds
    assert kinds == sorted(kinds, key=ORDER.index)
    assert all(f.reason for f in found)
    identities = [c.identity for c in contact.connections]
    assert all(f.identity is None or f.identity in identities for f in found)
    assert (Problem.NO_CONNECTION in kinds) == (not contact.connections)
    if Problem.UNREACHABLE in kinds:
        assert contact.is_active and contact.connections
    assert kinds.count(Problem.STALE_AFFINITY) <= 1
    per_connection = [f.identity for f in found
                      if f.problem in (Problem.LOCAL_NUMBER, Problem.INVALID_CONNECTION, Problem.BAD_NUMBER)]
    assert len(per_connection) == len(set(per_connection))  # at most one of them per connection
    for conn in contact.connections:  # nor do the keys raise
        address_keys(connection_text(conn), country)
    duplicate_keys(contact, country)
    name_phone_key(contact.name, identities)


# --- the quick validity check answers as phonenumbers does -----------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE  # noqa: E402

_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=3000, deadline=None)
@given(code=st.sampled_from(_CODES + [250, 254, 1, 44, 7]), national=st.from_regex(r"\A[0-9]{2,13}\Z"))
def test_is_valid_number_agrees_with_phonenumbers(code, national):
    import phonenumbers

    from ccconsole.core.problems import is_valid_number

    e164 = f"+{code}{national}"
    try:
        expected = phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        expected = False
    assert is_valid_number(e164) == expected


def test_is_valid_number_examples():
    from ccconsole.core.problems import is_valid_number

    assert is_valid_number("+250788383383")
    assert not is_valid_number("+250712345678")
    assert is_valid_number("+254712345678")
    assert is_valid_number("+14155552671")
    assert not is_valid_number("+2507883833831234")
