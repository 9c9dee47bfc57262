"""Connections (URNs): parse, identity, generic checks, per-scheme rules, phones, display.

Written from shared/docs/domain.md section 1; every expected value below comes from that text.
"""

from __future__ import annotations

import pytest

from ccconsole.core.urns import (
    INVALID_NEW_PHONE,
    SCHEMES,
    URN,
    URNError,
    check_generic,
    clean,
    clean_text,
    display,
    display_identity,
    is_e164,
    normalize,
    normalize_phone,
    parse,
    phone_country,
    validation_error,
)

# --- the scheme table ----------------------------------------------------------------------------

REQUIRED = {
    "tel": "Phone Number",
    "mailto": "Email Address",
    "twitter": "Twitter Handle",
    "telegram": "Telegram Identifier",
    "ext": "External Identifier",
}
ALSO_ACCEPTED = ("twitterid", "whatsapp", "facebook", "instagram", "viber", "line")


def test_every_scheme_of_the_domain_is_supported():
    assert set(SCHEMES) == set(REQUIRED) | set(ALSO_ACCEPTED)


@pytest.mark.parametrize("key,label", sorted(REQUIRED.items()))
def test_required_scheme_labels(key, label):
    assert SCHEMES[key].key == key
    assert SCHEMES[key].label == label


@pytest.mark.parametrize("key", sorted(SCHEMES))
def test_every_scheme_has_its_urns_expression(key):
    assert SCHEMES[key].expression == f"@urns.{key}"


@pytest.mark.parametrize(
    "key,types",
    [
        ("tel", {"Twilio", "Plivo", "Vonage", "Clickatell", "Africa's Talking", "Android"}),
        ("mailto", {"Surveyor", "Email"}),
        ("twitter", {"Twitter"}),
        ("telegram", {"Telegram"}),
        ("ext", {"External API"}),
    ],
)
def test_channel_types_per_scheme(key, types):
    assert types <= set(SCHEMES[key].channel_types)


# --- parse and identity --------------------------------------------------------------------------


def test_parse_scheme_path_display():
    urn = parse("tel:+250788383383#Mom")
    assert urn == URN("tel", "+250788383383", "Mom")
    assert urn.identity == "tel:+250788383383"
    assert str(urn) == "tel:+250788383383#Mom"


def test_parse_without_display():
    urn = parse("mailto:bob@example.org")
    assert urn == URN("mailto", "bob@example.org", None)
    assert urn.display is None
    assert urn.identity == "mailto:bob@example.org"
    assert str(urn) == "mailto:bob@example.org"


def test_parse_trims():
    assert parse("  twitter:joe  ") == URN("twitter", "joe", None)


def test_parse_does_not_normalize():
    assert parse("twitter:@JoeBloggs") == URN("twitter", "@JoeBloggs", None)
    assert parse("tel:0788383383") == URN("tel", "0788383383", None)


def test_parse_path_may_contain_colons():
    urn = parse("facebook:ref:abc")
    assert urn.scheme == "facebook"
    assert urn.path == "ref:abc"
    assert urn.identity == "facebook:ref:abc"


def test_identity_ignores_display():
    a = URN("twitterid", "12345", "joe")
    b = URN("twitterid", "12345", "other")
    c = URN("twitterid", "12345")
    assert a.identity == b.identity == c.identity == "twitterid:12345"
    assert str(a) == "twitterid:12345#joe"
    assert str(c) == "twitterid:12345"


def test_parse_without_colon_is_refused():
    with pytest.raises(URNError):
        parse("+250788383383")


# --- generic checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [":abc", " :abc"])
def test_empty_scheme_is_refused(text):
    with pytest.raises(URNError):
        parse(text)


@pytest.mark.parametrize("text", ["tel:", "tel:   ", "mailto:#display"])
def test_empty_path_is_refused(text):
    with pytest.raises(URNError):
        parse(text)


@pytest.mark.parametrize("text", ["foo:bar", "sms:+250788383383", "xmpp:joe@example.org"])
def test_unknown_scheme_is_refused(text):
    with pytest.raises(URNError, match="Unknown"):
        parse(text)


def test_path_of_200_characters_is_accepted_201_refused():
    assert parse("ext:" + "a" * 200).path == "a" * 200
    with pytest.raises(URNError, match="200"):
        parse("ext:" + "a" * 201)


def test_display_of_255_characters_is_accepted_256_refused():
    assert parse("twitterid:123#" + "d" * 255).display == "d" * 255
    with pytest.raises(URNError, match="255"):
        parse("twitterid:123#" + "d" * 256)


def test_check_generic_directly():
    assert check_generic(URN("ext", "x")) == URN("ext", "x")
    for bad in (URN("", "x"), URN("ext", ""), URN("nope", "x"), URN("ext", "x" * 201),
                URN("ext", "x", "d" * 256)):
        with pytest.raises(URNError):
            check_generic(bad)


def test_generic_checks_come_before_the_scheme_rules():
    # a 201-character phone path fails on length, not on the phone rules
    with pytest.raises(URNError, match="200"):
        clean("tel", "1" * 201, "RW")
    assert validation_error(URN("tel", "1" * 201)) is not None
    assert "200" in validation_error(URN("tel", "1" * 201))
    assert "Unknown" in validation_error(URN("nope", "x"))


def test_clean_refuses_unknown_and_empty():
    with pytest.raises(URNError):
        clean("nope", "x")
    with pytest.raises(URNError):
        clean("", "x")
    with pytest.raises(URNError):
        clean("tel", "")
    with pytest.raises(URNError):
        clean("mailto", "   ")


# --- per scheme: normalize -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme,path,expected",
    [
        ("mailto", "Bob@Example.ORG", "bob@example.org"),
        ("mailto", "  Bob@Example.org  ", "bob@example.org"),
        ("twitter", "@JoeBloggs", "joebloggs"),
        ("twitter", "JoeBloggs", "joebloggs"),
        ("twitter", "@@joe", "@joe"),  # drops ONE leading @
        ("telegram", " 12345 ", "12345"),
        ("instagram", "12345", "12345"),
        ("whatsapp", "250788383383", "250788383383"),
        ("facebook", "ref:AbC", "ref:AbC"),
        ("facebook", "1234567", "1234567"),
        ("viber", "AbC=/+_9", "AbC=/+_9"),
        ("line", "Uabc_DEF", "Uabc_DEF"),
        ("ext", "AbC-123", "AbC-123"),
        ("twitterid", "12345", "12345"),
    ],
)
def test_normalize_path(scheme, path, expected):
    assert normalize(URN(scheme, path)) == URN(scheme, expected)


def test_twitterid_normalizes_its_display():
    assert normalize(URN("twitterid", "12345", "  @JoeBloggs ")) == URN("twitterid", "12345", "joebloggs")
    assert normalize(URN("twitterid", "12345", "joe")) == URN("twitterid", "12345", "joe")
    assert normalize(URN("twitterid", "12345")) == URN("twitterid", "12345", None)


def test_ext_is_case_sensitive():
    upper = clean("ext", "ABC")
    lower = clean("ext", "abc")
    assert upper.path == "ABC"
    assert lower.path == "abc"
    assert upper.identity == "ext:ABC"
    assert upper.identity != lower.identity


def test_only_mailto_and_twitter_paths_are_lowercased():
    for scheme in ("ext", "viber", "line", "facebook"):
        assert normalize(URN(scheme, "AbC")).path == "AbC"


# --- per scheme: validate ------------------------------------------------------------------------

VALID = [
    ("tel", "+250788383383"),
    ("tel", "+1234567"),  # 7 digits
    ("tel", "+123456789012345"),  # 15 digits
    ("tel", "mtn"),  # sender id
    ("tel", "1234"),  # short code
    ("tel", "a" * 64),
    ("mailto", "bob@example.org"),
    ("mailto", "a@b"),
    ("twitter", "joe_bloggs"),
    ("twitter", "a"),
    ("twitter", "abcdefghijklmno"),  # 15
    ("twitter", "JoeBloggs"),
    ("twitterid", "12345"),
    ("telegram", "12345"),
    ("instagram", "9876543210"),
    ("whatsapp", "250788383383"),
    ("facebook", "1234567"),
    ("facebook", "ref:abc"),
    ("viber", "AbC=/+_9"),
    ("viber", "x" * 24),
    ("line", "Uabc_123"),
    ("line", "x" * 36),
    ("ext", "anything at all, even spaces"),
    ("ext", "AbC"),
]

INVALID = [
    ("tel", "+123456"),  # 6 digits
    ("tel", "+1234567890123456"),  # 16 digits
    ("tel", "a" * 65),
    ("tel", "+25078838338a"),
    ("tel", "MTN"),  # not lowercase: not normalized
    ("tel", "078 838"),
    ("mailto", "bob"),
    ("mailto", "a@b@c"),
    ("mailto", "@example.org"),
    ("mailto", "bob@"),
    ("mailto", "bo b@example.org"),
    ("mailto", " @ "),
    ("twitter", "abcdefghijklmnop"),  # 16
    ("twitter", "joe-bloggs"),
    ("twitter", "@joe"),
    ("twitterid", "12a"),
    ("twitterid", "@joe"),
    ("telegram", "abc"),
    ("telegram", "+12345"),
    ("instagram", "joe"),
    ("whatsapp", "+250788383383"),
    ("facebook", "abc"),
    ("facebook", "12-34"),
    ("viber", "x" * 25),
    ("viber", "a-b"),
    ("viber", "a b"),
    ("line", "x" * 37),
    ("line", "a.b"),
    ("line", "a+b"),
]


@pytest.mark.parametrize("scheme,path", VALID)
def test_valid(scheme, path):
    assert validation_error(URN(scheme, path)) is None


@pytest.mark.parametrize("scheme,path", INVALID)
def test_invalid(scheme, path):
    message = validation_error(URN(scheme, path))
    assert isinstance(message, str) and message


def test_twitterid_display_must_be_a_valid_handle():
    assert validation_error(URN("twitterid", "12345", "joe_b")) is None
    assert validation_error(URN("twitterid", "12345", "not a handle")) is not None
    assert validation_error(URN("twitterid", "12345", "a" * 16)) is not None


@pytest.mark.parametrize(
    "scheme,path,expected",
    [
        ("mailto", "Bob@Example.ORG", "mailto:bob@example.org"),
        ("twitter", "@JoeBloggs", "twitter:joebloggs"),
        ("telegram", "12345", "telegram:12345"),
        ("instagram", "12345", "instagram:12345"),
        ("whatsapp", "250788383383", "whatsapp:250788383383"),
        ("facebook", "ref:abc", "facebook:ref:abc"),
        ("viber", "AbC=", "viber:AbC="),
        ("line", "Uabc", "line:Uabc"),
        ("ext", "Abc", "ext:Abc"),
        ("twitterid", "12345", "twitterid:12345"),
        ("tel", "0788383383", "tel:+250788383383"),
    ],
)
def test_clean_normalizes_then_validates(scheme, path, expected):
    assert clean(scheme, path, "RW").identity == expected


@pytest.mark.parametrize(
    "scheme,path",
    [("mailto", "bob"), ("twitter", "@@joe"), ("twitter", "a" * 16), ("telegram", "abc"),
     ("facebook", "abc"), ("viber", "a-b"), ("line", "a.b"), ("twitterid", "abc")],
)
def test_clean_refuses_invalid(scheme, path):
    with pytest.raises(URNError):
        clean(scheme, path, "RW")


def test_clean_twitterid_with_display():
    urn = clean("twitterid", "12345#@JoeBloggs")
    assert urn == URN("twitterid", "12345", "joebloggs")
    assert urn.identity == "twitterid:12345"


def test_clean_text():
    assert clean_text("mailto:Bob@Example.org").identity == "mailto:bob@example.org"
    assert clean_text("TWITTER:@Joe").identity == "twitter:joe"
    assert clean_text("tel:0788383383", "RW").identity == "tel:+250788383383"
    with pytest.raises(URNError):
        clean_text("nope:x")


def test_clean_text_tel_with_display_keeps_identity():
    # section 1: a connection is scheme:path, optionally with #display; its identity is scheme:path
    urn = clean_text("tel:+250788383383#Mom", "RW")
    assert urn.identity == "tel:+250788383383"
    assert urn.display == "Mom"


# --- phone normalization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,country,expected",
    [
        # the domain's examples
        ("0788383383", "RW", "+250788383383"),
        ("+250 788 383 383", "RW", "+250788383383"),
        ("+250 788 383 383", None, "+250788383383"),
        ("0788383383", None, "0788383383"),
        ("MTN", "RW", "mtn"),
        ("2.50788383383e+11", "RW", "+250788383383"),
        # step 1: trim, lowercase, spreadsheet mangling (e+11 and e+12)
        ("  0788383383  ", "RW", "+250788383383"),
        ("2.50788383383E+11", "RW", "+250788383383"),
        ("2.50788383383e+11", None, "+250788383383"),
        ("4.47911123456e+11", None, "+447911123456"),
        ("2.507883833831e+12", None, "2507883833831"),  # 13 digits, not a possible number
        # step 2: keep only [0-9a-z]
        ("+250-788-383-383", "RW", "+250788383383"),
        ("(0788) 383.383", "RW", "+250788383383"),
        ("+1 (323) 375-4866", "RW", "+13233754866"),
        ("(323) 375-4866", "US", "+13233754866"),
        ("Short Code!", "RW", "shortcode"),
        # step 3: 11+ characters not starting with 0 are parsed as +digits
        ("250788383383", None, "+250788383383"),
        ("250788383383", "US", "+250788383383"),
        ("13233754866", None, "+13233754866"),
        ("13812345678", "CN", "+13812345678"),  # 11 digits: +1..., not a Chinese mobile
        # step 3: otherwise with the default country
        ("788383383", "RW", "+250788383383"),
        ("3233754866", "US", "+13233754866"),
        ("030 1234567", "DE", "+49301234567"),
        # step 5: not possible -> the cleaned lowercase string
        ("07883", "RW", "07883"),
        ("0788383383", None, "0788383383"),
        ("788383383", None, "788383383"),
        ("+1234", "RW", "1234"),
        ("Vodacom", None, "vodacom"),
    ],
)
def test_normalize_phone(text, country, expected):
    assert normalize_phone(text, country) == expected


def test_normalize_phone_country_is_case_insensitive():
    assert normalize_phone("0788383383", "rw") == "+250788383383"


def test_eleven_characters_starting_with_zero_use_the_default_country():
    # 11 characters starting with 0: parsed with the default country, not as +digits
    assert normalize_phone("02079460958", "GB") == "+442079460958"
    assert normalize_phone("02079460958", None) == "02079460958"
    # the same digits without the 0 are 10 characters: also the default country
    assert normalize_phone("2079460958", "GB") == "+442079460958"


def test_tel_urn_normalizes():
    assert normalize(URN("tel", "0788383383"), "RW") == URN("tel", "+250788383383")
    assert normalize(URN("tel", "MTN"), "RW") == URN("tel", "mtn")
    assert clean_text("tel:MTN", "RW").identity == "tel:mtn"
    assert clean_text("tel:+250 788 383 383").identity == "tel:+250788383383"


def test_is_e164():
    assert is_e164("+250788383383")
    assert is_e164("+1234567")
    assert not is_e164("+123456")
    assert not is_e164("+1234567890123456")
    assert not is_e164("250788383383")
    assert not is_e164("mtn")


# --- the Update Contact rule for a new number ----------------------------------------------------


def test_invalid_new_phone_message():
    assert INVALID_NEW_PHONE == "Invalid phone number. Ensure number includes country code."


@pytest.mark.parametrize(
    "path,country",
    [("0788383383", None), ("mtn", "RW"), ("1234", "RW"), ("07883", "RW"), ("+1234", "RW")],
)
def test_new_number_must_be_e164(path, country):
    with pytest.raises(URNError) as err:
        clean("tel", path, country, require_e164=True)
    assert str(err.value) == "Invalid phone number. Ensure number includes country code."


def test_new_number_in_e164_is_accepted():
    assert clean("tel", "0788383383", "RW", require_e164=True).identity == "tel:+250788383383"
    assert clean("tel", "+1 323 375 4866", None, require_e164=True).identity == "tel:+13233754866"
    assert clean_text("tel:0788383383", "RW", require_e164=True).identity == "tel:+250788383383"
    with pytest.raises(URNError, match="^Invalid phone number. Ensure number includes country code.$"):
        clean_text("tel:0788383383", None, require_e164=True)


def test_without_the_new_number_rule_short_codes_are_accepted():
    assert clean("tel", "MTN", "RW").identity == "tel:mtn"
    assert clean("tel", "0788383383", None).identity == "tel:0788383383"


def test_require_e164_only_concerns_tel():
    assert clean("mailto", "a@b.org", require_e164=True).identity == "mailto:a@b.org"
    assert clean("telegram", "12345", require_e164=True).identity == "telegram:12345"


# --- display ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,country,expected",
    [
        ("+250788383383", "RW", "0788 383 383"),
        ("+250788383383", "rw", "0788 383 383"),
        ("+250788383383", "US", "+250 788 383 383"),
        ("+250788383383", None, "+250 788 383 383"),
        ("+13233754866", "RW", "+1 323-375-4866"),
        ("+13233754866", None, "+1 323-375-4866"),
        ("+13233754866", "US", "(323) 375-4866"),
        ("mtn", "RW", "mtn"),
        ("0788383383", "RW", "0788383383"),
        ("1234", "US", "1234"),
    ],
)
def test_display_tel(path, country, expected):
    assert display(URN("tel", path), country) == expected
    assert display_identity(f"tel:{path}", country) == expected


# --- phone_country -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,expected",
    [
        ("+250788383383", "RW"),
        ("+13233754866", "US"),
        ("+4915112345678", "DE"),
        ("+442079460958", "GB"),
        ("+80012345678", None),  # non-geographic (international freephone)
        ("+882345678901", None),  # non-geographic (international networks)
        ("mtn", None),
        ("0788383383", None),
        ("1234", None),
        ("+999123456789", None),  # unknown country code
    ],
)
def test_phone_country(path, expected):
    assert phone_country(path) == expected


# --- stable identities (issue 16): what is stored reads the same when cleaned again ---------------
# domain.md section 1 parses with phonenumbers, which reads letters as keypad digits or as an
# extension. A value is stored only when cleaning it again, with any country, gives it again
# (tests/core/test_fixed_points.py); a number-like value that would not is refused, saying why.


@pytest.mark.parametrize(
    "text,country",
    [("+0788383383 ext 5", "RW"), ("+250788ABC", "RW"), ("+0043AAA", "RW"), ("+0043AAA", None)],
)
def test_letters_after_a_plus_that_is_no_possible_number_are_refused(text, country):
    # these were stored without their '+' (tel:0788383383ext5, tel:250788abc, tel:0043aaa), which
    # RW read again as tel:+250788383383, tel:+250250788222 and tel:+43222 (refused)
    with pytest.raises(URNError, match=r"^Invalid phone number: '\+[0-9a-z]+' has letters after its \+"):
        clean("tel", text, country)


@pytest.mark.parametrize(
    "text,country",
    [("0788383383 ext 5", None), ("0043aaa", None), ("0043aaa", "RW"), ("abc1234567", "RW"), ("0x788", None)],
)
def test_letters_mixed_with_a_number_that_is_not_possible_are_refused(text, country):
    with pytest.raises(URNError, match="^Invalid phone number: '[0-9a-z]+' mixes a number with letters"):
        clean("tel", text, country)


@pytest.mark.parametrize(
    "text,country,expected",
    [
        ("MTN", "KE", "mtn"),
        ("+MTN", "RW", "mtn"),  # no digits: no country reads a number in it
        ("Vodacom4U", "KE", "vodacom4u"),
        ("mtn2", "RW", "mtn2"),
        ("+mtn2", "RW", "mtn2"),
        ("agent007", "RW", "agent007"),  # 3 characters from the first digit: at most 6 digits anywhere
        ("safaricom2020", "KE", "safaricom2020"),  # 11+ characters: read as +digits with every country
        ("shortcode123", None, "shortcode123"),
    ],
)
def test_sender_ids_that_no_country_reads_as_a_number_are_kept(text, country, expected):
    assert clean("tel", text, country).path == expected


@pytest.mark.parametrize(
    "text,country,expected",
    [
        ("+1 800 FLOWERS", None, "+18003569377"),  # a possible number, with keypad letters: as before
        ("0788 383 383 ext 5", "RW", "+250788383383"),  # a possible number with an extension: as before
        ("+250 788 383 383 ext 5", None, "+250788383383"),
    ],
)
def test_possible_numbers_with_letters_are_e164_as_before(text, country, expected):
    assert clean("tel", text, country).path == expected


@pytest.mark.parametrize(
    "text,country,expected",
    [
        ("1234", "GB", "1234"),  # GB calls +441234 possible; 6 digits are no E.164 path: was refused
        ("07883", "DE", "07883"),  # was +497883, refused
        ("+01", "DE", "01"),  # was +01, refused
        ("12345678", "GB", "+4412345678"),  # 10 digits: a number, as before
    ],
)
def test_a_possible_number_outside_e164_length_is_kept_as_typed(text, country, expected):
    assert clean("tel", text, country).path == expected


def test_validation_refuses_stored_paths_that_read_as_another_number():
    assert "has letters after its +" in validation_error(URN("tel", "+250788abc"))
    assert "mixes a number with letters" in validation_error(URN("tel", "0788383383ext5"))
    assert "mixes a number with letters" in validation_error(URN("tel", "250788abc"))
    for path in ("mtn", "vodacom4u", "agent007", "safaricom2020", "0788383383", "1234"):
        assert validation_error(URN("tel", path)) is None
