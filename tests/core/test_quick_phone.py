"""The quick national reading of a local number (core.urns._quick_national) answers as phonenumbers'
full parse does, for every region and any digits; the quick path is taken for ordinary local numbers."""

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from ccconsole.core import urns

_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


def _prefix(region: str) -> str:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (meta.national_prefix or "") if meta is not None else ""


@st.composite
def local_numbers(draw):
    region = draw(st.sampled_from(_REGIONS + ["RW", "KE", "GB", "US", "BR", "AR", "MX", "IT", "DE", "RU"]))
    head = draw(st.sampled_from([_prefix(region), _prefix(region) * 2, "", "0", "00", "1", "8"]))
    return region, head + draw(st.from_regex(r"\A[0-9]{0,14}\Z"))


@settings(max_examples=4000, deadline=None)
@given(case=local_numbers())
def test_quick_national_agrees_with_the_full_parse(case):
    region, digits = case
    assert urns._e164(digits, region, False) == urns._e164_parsed(digits, region, False)


def test_ordinary_local_numbers_take_the_quick_path():
    assert urns._quick_national("0788383383", "RW") == "+250788383383"
    assert urns._quick_national("0712345678", "KE") == "+254712345678"
    assert urns._quick_national("07911123456", "GB") == "+447911123456"
    assert urns.normalize_phone("0788 383 383", "rw") == "+250788383383"
    # shapes left to the full parse: no prefix, an international prefix, the country code itself
    assert urns._quick_national("788383383", "RW") is None
    assert urns._quick_national("00250788383383", "RW") is None
    assert urns._quick_national("250788383383", "RW") is None
