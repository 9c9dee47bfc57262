"""Every stored connection is a fixed point of cleaning (issue 16, item 4).

What ``clean_text`` accepts is what the workspace stores; an export writes the identity back out and
an import (or ``contacts show``, or the query language) cleans it again, possibly after the workspace's
country changed. So for any text T and countries c1, c2:

    if clean_text(T, c1) succeeds with identity I, then I validates and clean_text(I, c2) gives I again.

The one exception is domain.md section 1's own: a phone path of digits only that is read as a
*national* number (at most 10 digits, or a leading 0) depends on the country it is read with
(``0788383383`` with no country stays ``0788383383``; with RW it is ``+250788383383``). Such a path
(a short code or a number typed without its country code) is still a fixed point with its own
country and with none, always validates, and with another country becomes either itself or an E.164
number that is a fixed point everywhere. Everything else (E.164 numbers, sender ids with letters,
numbers read internationally, and every other scheme) is a fixed point with every country.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ccconsole.core.urns import SCHEMES, URN, URNError, clean_text, is_e164, normalize, validation_error

COUNTRIES = [None, "RW", "KE", "US", "GB", "BR", "IN", "DE", "FR", "NG", "CN", "AT", "IT", "AR", "MX", "RU",
             "JP", "NU", "SH", "TK"]  # the last three have 4-digit numbers: short codes read as numbers there
ALL_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def national(path: str) -> bool:
    """A tel path whose reading depends on the country: digits only, read as a national number."""
    return path.isascii() and path.isdigit() and (len(path) < 11 or path.startswith("0"))


def check_fixed_point(text: str, c1: str | None, others=COUNTRIES) -> None:
    try:
        urn = clean_text(text, c1)
    except URNError as err:
        assert str(err), f"{text!r} ({c1}): refused without a message"
        return
    identity = urn.identity
    assert validation_error(URN(urn.scheme, urn.path)) is None, f"{text!r} ({c1}) -> {identity}: invalid"
    assert normalize(URN(urn.scheme, urn.path), c1).identity == identity
    for c2 in dict.fromkeys([c1, None, *others]):
        try:
            again = clean_text(identity, c2).identity
        except URNError as err:
            raise AssertionError(f"{text!r} ({c1}) -> {identity}, refused with {c2}: {err}") from None
        if again == identity:
            continue
        path = urn.path
        assert urn.scheme == "tel" and national(path) and c2 not in (None, c1), \
            f"{text!r} ({c1}) -> {identity} -> ({c2}) {again}"
        # a national number read with another country: it gains that country's code, and stays
        new_path = again.partition(":")[2]
        assert is_e164(new_path), f"{identity} ({c2}) -> {again}"
        for c3 in dict.fromkeys([None, c1, c2, *others]):
            assert clean_text(again, c3).identity == again, f"{identity} ({c2}) -> {again} -> ({c3}) ..."


# --- strategies ----------------------------------------------------------------------------------

PHONE_PIECES = st.sampled_from([
    *"0123456789", "0", "00", "+", "+", " ", "-", "(", ")", ".", "/", "*", ",", "#",
    "ext", "ext ", " ext. ", "x", "X", "e+11", "E+12", "abc", "ABC", "mtn", "a", "z", "O", "l",
    "٠", "٣", "٧", "０", "５", "߃", "१", "é", "ß", "İ", "K",  # unicode digits and letters (K is Kelvin)
    "250", "254", "1", "44", "788", "383383", "0788", "0043", "011", "800", "12345",
])
phone_text = st.one_of(
    st.lists(PHONE_PIECES, min_size=1, max_size=14).map("".join),
    st.text(alphabet=st.sampled_from("0123456789+ -().#extabcXYZ٣०"), min_size=1, max_size=24),
    st.from_regex(r"\A\+?[0-9]{1,17}\Z"),
    st.from_regex(r"\A\+?[0-9]{3,14}(ext|x| ext )[0-9]{1,4}\Z"),
    st.from_regex(r"\A\+?[0-9]{1,12}[A-Za-z]{1,5}[0-9]{0,4}\Z"),
    st.from_regex(r"\A[A-Za-z]{1,8}[0-9]{1,8}\Z"),
)


@st.composite
def typed_numbers(draw):
    """A real number of some region, as staff type it (E.164, international or national), perhaps
    spoiled: a letter or an extension appended, the '+' added or lost, a digit dropped."""
    region = draw(st.sampled_from(ALL_REGIONS))
    kind = draw(st.sampled_from(["MOBILE", "FIXED_LINE", "TOLL_FREE"]))
    number = phonenumbers.example_number_for_type(region, getattr(phonenumbers.PhoneNumberType, kind))
    if number is None:
        number = phonenumbers.example_number(region)
    if number is None:
        return "0788383383"
    fmt = draw(st.sampled_from([phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                                phonenumbers.PhoneNumberFormat.NATIONAL]))
    text = phonenumbers.format_number(number, fmt)
    spoil = draw(st.sampled_from(["", "", "letters", "ext", "plus", "no plus", "drop", "prefix"]))
    if spoil == "letters":
        text += draw(st.sampled_from(["ABC", "a", "xyz", "MTN"]))
    elif spoil == "ext":
        text += draw(st.sampled_from([" ext 5", "x12", " ext. 123", "#7"]))
    elif spoil == "plus":
        text = "+" + text.lstrip("+")
    elif spoil == "no plus":
        text = text.lstrip("+")
    elif spoil == "drop" and len(text) > 4:
        i = draw(st.integers(1, len(text) - 1))
        text = text[:i] + text[i + 1:]
    elif spoil == "prefix":
        text = draw(st.sampled_from(["0", "00", "+0", "+00", "1"])) + text.lstrip("+")
    return text


other_text = st.text(alphabet=st.sampled_from("abcXYZ019_@+=/.-: #éßİK\t"), min_size=1, max_size=30)
countries = st.sampled_from(COUNTRIES)


# --- the properties ------------------------------------------------------------------------------

ISSUE_16 = [  # the values of issue 16, item 4
    ("+0788383383 ext 5", "RW"),
    ("+250788ABC", "RW"),
    ("+0043AAA", "RW"),
    ("+0043AAA", None),
    ("0043aaa", "RW"),
    ("0788383383ext5", None),
    ("250788abc", "RW"),
]


@SETTINGS
@given(st.one_of(phone_text, typed_numbers()), countries)
@example("+0788383383 ext 5", "RW")  # was tel:0788383383ext5, which RW reads as tel:+250788383383
@example("+250788ABC", "RW")  # was tel:250788abc, which RW reads as tel:+250250788222 (keypad letters)
@example("+0043AAA", "RW")  # was tel:0043aaa, which RW reads as tel:+43222 and refuses
@example("+0043AAA", None)
@example("1234", "RW")  # a short code: GB read it as tel:+441234 and refused it
@example("07883", "RW")  # DE read it as tel:+497883 and refused it
@example("+01", "DE")
@example("+1 800 FLOWERS", None)  # a vanity number: letters on the keypad, a possible number
@example("0788 383 383 ext 5", "RW")  # an extension on a possible number: dropped, as before
@example("MTN", "RW")
@example("Vodacom4U", "KE")
@example("safaricom2020", "KE")
@example("2.50788383383e+11", None)
@example("+٢٥٠ 788 383 383", "RW")  # unicode digits are not kept (step 2)
def test_tel_identities_are_fixed_points(text, c1):
    check_fixed_point("tel:" + text, c1)


@SETTINGS
@given(st.sampled_from(sorted(SCHEMES)), st.one_of(other_text, phone_text), countries)
@example("twitter", "@@joe", None)
@example("mailto", "İ@X.org", None)
@example("ext", " a b ", None)
@example("facebook", "ref:AbC", None)
def test_every_scheme_is_a_fixed_point(scheme, text, c1):
    check_fixed_point(f"{scheme}:{text}", c1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(phone_text, typed_numbers()), countries)
def test_tel_identities_are_fixed_points_in_every_region(text, c1):
    """The same, re-read with each of the ~245 regions phonenumbers knows (slow: fewer examples)."""
    check_fixed_point("tel:" + text, c1, ALL_REGIONS)


@pytest.mark.parametrize("text,country", ISSUE_16)
def test_issue_16_values_in_every_region(text, country):
    check_fixed_point("tel:" + text, country, ALL_REGIONS)
