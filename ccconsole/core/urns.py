"""Connections (RapidPro: URNs): parse, normalize, validate and display (domain.md section 1).

A connection is ``scheme:path`` with an optional ``#display``; its identity is ``scheme:path``.
Phone numbers are normalized with the workspace's default country.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers

MAX_PATH_LENGTH = 200
MAX_DISPLAY_LENGTH = 255

INVALID_NEW_PHONE = "Invalid phone number. Ensure number includes country code."


@dataclass(frozen=True)
class Scheme:
    """A connection type: its URN scheme, the label staff see and the channel types that serve it."""

    key: str
    label: str
    expression: str
    channel_types: tuple[str, ...]


SCHEMES: dict[str, Scheme] = {
    s.key: s
    for s in (
        Scheme("tel", "Phone Number", "@urns.tel",
               ("Twilio", "Plivo", "Vonage", "Clickatell", "Africa's Talking", "Android")),
        Scheme("mailto", "Email Address", "@urns.mailto", ("Surveyor", "Email")),
        Scheme("twitter", "Twitter Handle", "@urns.twitter", ("Twitter",)),
        Scheme("telegram", "Telegram Identifier", "@urns.telegram", ("Telegram",)),
        Scheme("ext", "External Identifier", "@urns.ext", ("External API",)),
        Scheme("twitterid", "Twitter ID", "@urns.twitterid", ("Twitter",)),
        Scheme("whatsapp", "WhatsApp Number", "@urns.whatsapp", ("WhatsApp",)),
        Scheme("facebook", "Facebook Identifier", "@urns.facebook", ("Facebook",)),
        Scheme("instagram", "Instagram Identifier", "@urns.instagram", ("Instagram",)),
        Scheme("viber", "Viber Identifier", "@urns.viber", ("Viber",)),
        Scheme("line", "LINE Identifier", "@urns.line", ("LINE",)),
    )
}


class URNError(ValueError):
    """A connection that cannot be accepted; ``str(err)`` is the message staff see."""


@dataclass(frozen=True, slots=True)
class URN:
    """A parsed connection. ``identity`` (``scheme:path``) is what must be unique per workspace."""

    scheme: str
    path: str
    display: str | None = None

    def __reduce__(self):  # pickled positionally: quicker than a frozen dataclass's state
        return URN, (self.scheme, self.path, self.display)

    @property
    def identity(self) -> str:
        return f"{self.scheme}:{self.path}"

    def __str__(self) -> str:
        return self.identity if self.display is None else f"{self.identity}#{self.display}"


def parse(text: str) -> URN:
    """Split ``scheme:path#display`` without normalizing; raises URNError on the generic checks."""
    if text is None:
        raise URNError("Connection is empty.")
    raw = str(text).strip()
    scheme, sep, rest = raw.partition(":")
    if not sep:
        raise URNError(f"'{raw}' is not a connection: expected scheme:path, e.g. tel:+250788383383.")
    path, hashmark, display = rest.partition("#")
    return check_generic(URN(scheme.strip().lower(), path.strip(), display.strip() if hashmark else None))


def check_generic(urn: URN) -> URN:
    """The checks every scheme shares: non-empty scheme and path, known scheme, length limits."""
    if not urn.scheme:
        raise URNError("Connection type is missing.")
    if urn.scheme not in SCHEMES:
        raise URNError(f"Unknown connection type '{urn.scheme}'.")
    if not urn.path:
        raise URNError("Connection is empty.")
    if len(urn.path) > MAX_PATH_LENGTH:
        raise URNError(f"Connection is longer than {MAX_PATH_LENGTH} characters.")
    if urn.display is not None and len(urn.display) > MAX_DISPLAY_LENGTH:
        raise URNError(f"Display name is longer than {MAX_DISPLAY_LENGTH} characters.")
    return urn


# --- phone numbers -------------------------------------------------------------------------------

_MANGLED_EXPONENT = re.compile(r"e\+1[12]$")
_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def normalize_phone(text: str, country: str | None = None) -> str:
    """Normalize a phone number with the workspace's default country (domain.md section 1).

    What it returns is a *fixed point*: normalizing it again gives it again, with this country and
    with any other, and validation accepts it, except for domain.md's own country-relative case (a
    path of digits only that is read as a national number, e.g. ``0788383383`` with no country) which
    another country may complete with its country code. An export must re-import unchanged. So:

    - an E.164 result has 7 to 15 digits (a possible number outside that range, e.g. ``1234`` read
      as ``+441234`` in GB, counts as not possible) and is one that parsing again does not change;
    - a number typed with a ``+`` that is not a possible number keeps its ``+`` when it is
      E.164-shaped (7 to 15 digits) or when its digits alone would read as another (national) number;
    - a value with letters is kept only when no country can read a number out of it: phonenumbers
      reads letters as keypad digits or as an extension (``0788383383ext5``, ``250788abc``). Otherwise
      the result keeps its letters (and its ``+``) and :func:`validation_error` refuses it with a
      message that says why, rather than storing a value that reads as a different number later.
    """
    raw = text.strip().lower()
    if _MANGLED_EXPONENT.search(raw):
        raw = raw[:-4].replace(".", "", 1)
    cleaned = _NOT_ALNUM.sub("", raw)
    if not cleaned or not _HAS_DIGIT.search(cleaned):
        return cleaned  # empty, or a sender id of letters only: phonenumbers reads no number without digits
    plus = raw.startswith("+")
    international = plus or _read_internationally(cleaned)
    result = _e164(cleaned, None if international else country, international)
    if result is not None:
        for _ in range(16):  # phonenumbers may drop leading zeros it reads as a national prefix
            if result == "+" + cleaned or not _may_strip_prefix(result):
                break
            again = _e164(result[1:], None, True)
            if again is None or again == result:
                break
            cleaned, result = result[1:], again
        return result
    # not a possible number: keep the cleaned value, as long as reading it again gives it again
    if cleaned.isdigit():
        if not plus:
            return cleaned
        # without its '+' the digits must not read as another number next time (``+12345`` in DE)
        reread = not _read_internationally(cleaned) and _e164(cleaned, country, False) is not None
        return "+" + cleaned if 7 <= len(cleaned) <= 15 or reread else cleaned
    if _reads_as_number(cleaned):  # refused by validation_error, which says why
        return "+" + cleaned if plus else cleaned
    return cleaned


_HAS_DIGIT = re.compile(r"[0-9]")
_HAS_LETTER = re.compile(r"[A-Za-z]")


def _read_internationally(cleaned: str) -> bool:
    """domain.md step 3: a value of 11+ characters that does not start with 0 is read as +digits."""
    return len(cleaned) >= 11 and not cleaned.startswith("0")


def _reads_as_number(cleaned: str) -> bool:
    """Whether a cleaned value that mixes letters and digits could be read as a phone number of 7+
    digits with some country (it is then no stable identity: refused).

    A value read internationally (:func:`_read_internationally`) is read the same way with every
    country, so it is stable. Otherwise phonenumbers reads from the first digit on (its
    ``_extract_possible_number``), and only a viable number: exactly two digits (and an extension), or
    three digits, each perhaps after an ``x`` (a separator to it), followed by anything (letters become
    keypad digits, or an extension, or are dropped). What it reads has at most as many digits as there
    are characters from the first digit on; three give a national number of at most 3 digits, so at
    most 6 with any calling code: never an E.164 path (7 to 15 digits). Anything longer might be.
    """
    if cleaned.isdigit() or _read_internationally(cleaned):
        return False
    first = _HAS_DIGIT.search(cleaned)
    if first is None:
        return False
    rest = cleaned[first.start():]
    return len(rest) >= 4 and _VIABLE_START.match(rest) is not None


_VIABLE_START = re.compile(r"[0-9](?:x*[0-9]){2}")


def _e164(digits: str, country: str | None, international: bool) -> str | None:
    """``digits`` as a possible number in E.164, or None; only 7 to 15 digits count (a stored path is
    valid as E.164 or as a short code: ``+441234``, a possible number in GB, is neither)."""
    if international:
        quick = _quick_international(digits)
        if quick is not None:
            return quick if _E164.match(quick) else None
    elif country:
        quick = _quick_national(digits, country.upper())
        if quick is not None:
            return quick if _E164.match(quick) else None
    return _e164_parsed(digits, country, international)


def _e164_parsed(digits: str, country: str | None, international: bool) -> str | None:
    """:func:`_e164` by phonenumbers' full parse (the reference the quick paths are held to)."""
    try:
        if international:
            number = phonenumbers.parse("+" + digits, None)
        else:
            number = phonenumbers.parse(digits, country.upper() if country else None)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return e164 if _E164.match(e164) else None
    return None


def _quick_international(digits: str) -> str | None:
    """``+digits`` in E.164 ("" when not a possible number) without phonenumbers' full parse, for
    the common shape where that parse provably changes nothing: plain ASCII digits, a calling code,
    then 2 to 17 national digits that start with no zero and no national prefix. Such a parse
    reads exactly (code, national number); what remains is its possible-length check. None: other
    shapes, left to the full parse. (Imports are mostly such numbers; the parse is their main cost.)
    """
    if not (7 <= len(digits) <= 20 and digits.isascii() and digits.isdigit()) or digits[0] == "0":
        return None
    for n in (1, 2, 3):
        code = int(digits[:n])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[n:]
            if not 2 <= len(national) <= 17 or national[0] == "0" or _may_strip_prefix("+" + digits):
                return None
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            return "+" + digits if phonenumbers.is_possible_number(number) else ""
    return None


def _quick_national(digits: str, region: str) -> str | None:
    """``digits`` read as a national number of ``region`` in E.164 ("" when not a possible number)
    without phonenumbers' full parse, for the common shape of a local number: plain ASCII digits
    that start with the region's national prefix (``0788383383`` in RW). Such a parse finds no
    international prefix and no calling code at the start, strips the prefix (the rest is viable
    and of a possible length, so it keeps it) and reads the rest as the national number. None:
    any other shape, or a region whose prefix rule transforms the number or names a carrier, left
    to the full parse (tests/core hold the two to the same answer)."""
    rules = _national_rules(region)
    if rules is None or not (digits.isascii() and digits.isdigit()):
        return None
    code, idd, prefix, general, lengths, local_lengths = rules
    if (idd is not None and idd.match(digits)) or digits.startswith(code):
        return None
    found = prefix.match(digits)
    if found is None or found.groups() and any(g is not None for g in found.groups()):
        return None
    national = digits[found.end():]
    if not national or national[0] == "0" or len(national) not in lengths or len(national) in local_lengths \
            or general.fullmatch(national) is None:
        return None
    number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(national))
    return "+" + code + national if phonenumbers.is_possible_number(number) else ""


@functools.cache
def _national_rules(region: str):
    """What :func:`_quick_national` needs of a region, compiled; None where it does not apply."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix_transform_rule:
        return None
    general, prefix, idd = meta.general_desc, meta.national_prefix_for_parsing, meta.international_prefix
    if not prefix or general is None or not general.national_number_pattern or not general.possible_length:
        return None
    return (str(meta.country_code), re.compile(idd) if idd else None,
            re.compile(prefix), re.compile(general.national_number_pattern),
            frozenset(general.possible_length), frozenset(general.possible_length_local_only or ()))


def _may_strip_prefix(e164: str) -> bool:
    """Whether parsing ``e164`` again could read a national prefix off its national number.

    Parsing ``+<code><national>`` changes the number only by that stripping: calling codes are
    prefix-free, so the same code is read again. When the region's national prefix pattern does not
    match the start of the national number, the number is its own fixed point and the (costly)
    second parse is skipped; otherwise :func:`normalize_phone` parses again to be sure.
    """
    digits = e164[1:]
    for n in (1, 2, 3):
        code = int(digits[:n]) if digits[:n].isdigit() else 0
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            pattern = _national_prefix(code)
            return pattern is not None and pattern.match(digits[n:]) is not None
    return True


@functools.cache
def _national_prefix(code: int) -> re.Pattern | None:
    """The national prefix pattern (for parsing) of the main region of a calling code, or None."""
    region = phonenumbers.region_code_for_country_code(code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    prefix = meta.national_prefix_for_parsing if meta is not None else None
    return re.compile(prefix) if prefix else None


_E164 = re.compile(r"^\+\d{7,15}$")
_SHORT_CODE = re.compile(r"^[a-z0-9]{1,64}$")


def is_e164(path: str) -> bool:
    return bool(_E164.match(path))


def phone_country(path: str) -> str | None:
    """The ISO country phonenumbers assigns to an E.164 number; None when unknown or non-geographic.

    A calling code that belongs to one region only (+250 is RW) decides without parsing, exactly as
    phonenumbers would (its parse accepts 2 to 17 national digits); shared codes (+1, +44, +7...)
    are parsed. Broadcast previews call this for every phone number, so the fast path matters.
    """
    if not path.startswith("+"):
        return None
    digits = path[1:]
    if digits.isascii() and digits.isdigit() and digits[:1] != "0":
        code = _calling_code(digits[:3])
        if code is not None and 2 <= len(digits) - code[0] <= 17:
            return code[1]
        if digits[0] == "1" and digits[1:2] in _NANP_AREA_START and len(digits) <= 18:
            # +1 without a leading national prefix (1) parses to exactly this number: skip the parse
            region = phonenumbers.region_code_for_number(
                phonenumbers.PhoneNumber(country_code=1, national_number=int(digits[1:])))
            return None if not region or region in ("ZZ", "001") else region
    return _parsed_country(path)


_NANP_AREA_START = tuple("23456789")


@functools.lru_cache(maxsize=2048)
def _calling_code(head: str) -> tuple[int, str | None] | None:
    """For the first digits of an international number: (length of its calling code, its only
    region or None if non-geographic), or None when the code is shared by several regions or unknown."""
    for n in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(head[:n])) if len(head) >= n else None
        if regions:
            if len(regions) != 1:
                return None
            return n, (None if regions[0] in ("ZZ", "001") else regions[0])
    return None


def _parsed_country(path: str) -> str | None:
    try:
        number = phonenumbers.parse(path, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if not region or region in ("ZZ", "001"):
        return None
    return region


# --- normalize and validate ----------------------------------------------------------------------

_TWITTER = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_DIGITS = re.compile(r"^\d+$")
_VIBER = re.compile(r"^[A-Za-z0-9_=/+]{1,24}$")
_LINE = re.compile(r"^[A-Za-z0-9_]{1,36}$")


def normalize(urn: URN, country: str | None = None) -> URN:
    """The canonical form of a connection; idempotent."""
    path = urn.path.strip()
    display = urn.display
    if urn.scheme == "tel":
        path = normalize_phone(path, country)
    elif urn.scheme == "mailto":
        path = path.lower()
    elif urn.scheme == "twitter":
        path = path.lower()
        if path.startswith("@"):
            path = path[1:]
    elif urn.scheme == "twitterid" and display is not None:
        display = display.strip().lower()
        if display.startswith("@"):
            display = display[1:]
    return URN(urn.scheme, path, display)


def validation_error(urn: URN) -> str | None:
    """The message for an invalid (normalized) connection, or None when it is valid."""
    try:
        check_generic(urn)
    except URNError as err:
        return str(err)
    path = urn.path
    match urn.scheme:
        case "tel":
            if _E164.match(path):
                pass
            elif path.startswith("+") and _HAS_LETTER.search(path):
                return (f"Invalid phone number: '{path}' has letters after its +; an international number "
                        f"is + and 7 to 15 digits.")
            elif not _SHORT_CODE.match(path):
                return "Invalid phone number."
            elif _reads_as_number(path):
                return (f"Invalid phone number: '{path}' mixes a number with letters, which would read as a "
                        f"different number with another country; give the number in digits (with + and "
                        f"its country code) or a sender id.")
        case "mailto":
            local, at, domain = path.partition("@")
            if not at or "@" in domain or not local.strip() or not domain.strip() or " " in path:
                return "Invalid email address."
        case "twitter":
            if not _TWITTER.match(path):
                return "Invalid Twitter handle: 1 to 15 letters, digits or underscores."
        case "twitterid":
            if not _DIGITS.match(path):
                return "Invalid Twitter ID: digits only."
            if urn.display and not _TWITTER.match(urn.display):
                return "Invalid Twitter handle: 1 to 15 letters, digits or underscores."
        case "telegram" | "instagram" | "whatsapp":
            if not _DIGITS.match(path):
                return f"Invalid {SCHEMES[urn.scheme].label}: digits only."
        case "facebook":
            if not (_DIGITS.match(path) or path.startswith("ref:")):
                return "Invalid Facebook identifier: digits, or a ref: prefix."
        case "viber":
            if not _VIBER.match(path):
                return "Invalid Viber identifier."
        case "line":
            if not _LINE.match(path):
                return "Invalid LINE identifier."
        case "ext":
            pass
    return None


def clean(scheme: str, path: str, country: str | None = None, *, require_e164: bool = False) -> URN:
    """Build, normalize and validate a connection from a type and a typed value.

    ``require_e164`` is the Update Contact form's rule for a *new* phone number.
    Raises URNError with the message to show next to the field.
    """
    path = (path or "").strip()
    display = None
    if "#" in path:
        path, _, display = path.partition("#")
    urn = check_generic(URN((scheme or "").strip().lower(), path.strip(), display))
    urn = normalize(urn, country)
    if require_e164 and urn.scheme == "tel" and not is_e164(urn.path):
        raise URNError(INVALID_NEW_PHONE)
    error = validation_error(urn)
    if error:
        raise URNError(error)
    return urn


def clean_text(text: str, country: str | None = None, *, require_e164: bool = False) -> URN:
    """Parse ``scheme:path#display`` and clean it as :func:`clean` does."""
    urn = parse(text)
    path = urn.path if urn.display is None else f"{urn.path}#{urn.display}"
    return clean(urn.scheme, path, country, require_e164=require_e164)


def display(urn: URN, country: str | None = None) -> str:
    """How staff see a connection: national format for the workspace's own numbers, else international."""
    if urn.scheme == "tel" and urn.path.startswith("+"):
        try:
            number = phonenumbers.parse(urn.path, None)
        except phonenumbers.NumberParseException:
            return urn.path
        region = phonenumbers.region_code_for_number(number)
        if country and region == country.upper():
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if urn.scheme == "twitter":
        return "@" + urn.path
    if urn.display:
        return f"{urn.path} ({urn.display})"
    return urn.path


def display_identity(identity: str, country: str | None = None) -> str:
    """:func:`display` for a stored identity string."""
    scheme, _, path = identity.partition(":")
    return display(URN(scheme, path), country)
