"""Cleanup: the problems of a contact, the keys that find duplicates, re-normalization (domain.md section 8).

Problems are facts about stored data: the store computes them with :func:`contact_problems` when a
contact (or the workspace's country, or its channels) is written, and keeps them indexed. Each
:class:`Found` is one problem with the one-line reason shown beside the contact.

``duplicate`` is the one problem a contact cannot know alone: :func:`duplicate_keys` gives a contact's
keys (the union of :func:`address_keys` over its connections and :func:`name_phone_key`), and two live
contacts are duplicates when their key sets intersect; :func:`duplicate_of` says why, for a pair.

Every rule here is decided by the rule that already exists for it: ``urns`` parses, normalizes and
validates connections, the resolver (``routing.route``) decides reachability, ``lockin`` decides
whether an affinity is stale. Only phonenumbers' *valid* test (``bad_number``) is asked here directly.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from ccconsole.core.lockin import LockInKind, lock_in
from ccconsole.core.model import Channel, Connection, Contact
from ccconsole.core.routing import Channels, as_channels, route, unreachable_reason
from ccconsole.core.urns import URN, URNError, clean_text, is_e164, normalize, parse, phone_country, validation_error


class Problem(StrEnum):
    """The problems of domain.md section 8, in the order they are listed (and reported) there."""

    LOCAL_NUMBER = "local_number"
    INVALID_CONNECTION = "invalid_connection"
    BAD_NUMBER = "bad_number"
    DUPLICATE = "duplicate"
    UNREACHABLE = "unreachable"
    NO_CONNECTION = "no_connection"
    STALE_AFFINITY = "stale_affinity"


@dataclass(frozen=True)
class Found:
    """One problem of one contact: ``reason`` is the line shown beside the contact; ``identity`` the
    connection it concerns (None for a problem of the whole contact: unreachable, no connection)."""

    problem: Problem
    reason: str
    identity: str | None = None


NO_CONNECTION_REASON = "the contact has no connections"


# --- problems a contact has on its own -----------------------------------------------------------


def contact_problems(contact: Contact, channels: Channels | Sequence[Channel], country: str | None) -> list[Found]:
    """Every problem of ``contact`` that can be known from the contact alone (all but ``duplicate``).

    ``channels`` are the workspace's channels, ``country`` its default country. The order is fixed:
    by problem (the order of :class:`Problem`), then by connection in priority order; a problem of
    connections appears once per connection that has it. Each tel connection has at most one of
    ``invalid_connection`` (failing section 1's validation comes first), ``local_number`` and
    ``bad_number``. A contact without connections is ``no_connection`` and not also ``unreachable``.
    Never raises, whatever the stored identities are.
    """
    per_connection = [p for conn in contact.connections if (p := _connection_problem(conn, country)) is not None]
    found = sorted(per_connection, key=lambda f: _ORDER[f.problem])  # stable: priority order within a problem
    chans = as_channels(channels)
    if contact.is_active and contact.connections and not route(contact, chans, explain=False).ok:
        found.append(Found(Problem.UNREACHABLE, unreachable_reason(route(contact, chans, explain=True))))
    if not contact.connections:
        found.append(Found(Problem.NO_CONNECTION, NO_CONNECTION_REASON))
    state = lock_in(contact, chans)
    if state.kind == LockInKind.STALE and state.connection is not None:
        found.append(Found(Problem.STALE_AFFINITY, f"affinity of {state.connection.identity} is stale: "
                                                   f"{state.stale_reason}", state.connection.identity))
    return found


_ORDER = {problem: index for index, problem in enumerate(Problem)}


def _connection_problem(conn: Connection, country: str | None) -> Found | None:
    """The problem of one connection: invalid, a local number, or a bad number (at most one)."""
    identity = conn.identity
    error = validation_error(URN(conn.scheme, conn.path, conn.display))
    if error is not None:
        return Found(Problem.INVALID_CONNECTION, f"{identity}: {error}", identity)
    if conn.scheme != "tel":
        return None
    path = conn.path
    if is_e164(path):
        if is_valid_number(path):
            return None
        region = phone_country(path)
        return Found(Problem.BAD_NUMBER, f"{identity} is not a valid {region or 'phone'} number", identity)
    new = renormalize(identity, country)
    if new is not None:
        new_path = new.partition(":")[2]
        if new_path[1:] == path or not country:
            return Found(Problem.LOCAL_NUMBER, f"{identity} lacks its + ({new_path})", identity)
        return Found(Problem.LOCAL_NUMBER, f"{identity} has no country code ({new_path} with {country.upper()})",
                     identity)
    if not _is_digits(path):
        return Found(Problem.BAD_NUMBER, f"{identity} is a sender id, not a phone number", identity)
    e164 = _normalized(identity, country)
    if e164 is not None and is_e164(e164.path) and e164.path != path:
        return Found(Problem.BAD_NUMBER, f"{identity} has no country code, and {e164.path} (with "
                                         f"{country.upper() if country else 'no country'}) is not a valid number",
                     identity)
    return Found(Problem.BAD_NUMBER, f"{identity} is a short code or lacks its country code", identity)


@functools.lru_cache(maxsize=1 << 16)
def is_valid_number(e164: str) -> bool:
    """Whether phonenumbers calls an E.164 number *valid* (not just possible): ``+250712345678`` is not.

    Stores ask this of every phone number they write, so the common case skips phonenumbers' parse:
    a calling code that belongs to one region and a national number its national prefix rule leaves
    alone are checked against that region's patterns the way phonenumbers checks them (the general
    description, then any number type). Everything else is asked of phonenumbers itself; a property
    test holds the two to the same answer. Answers are remembered (a write asks of a number more than
    once: re-normalizing it, then computing its contact's problems)."""
    quick = _quick_valid(e164)
    if quick is not None:
        return quick
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


_NUMBER_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
                 "fixed_line", "mobile")


def _quick_valid(e164: str) -> bool | None:
    """phonenumbers' answer for a single-region calling code without parsing, or None (ask it)."""
    digits = e164[1:]
    if not e164.startswith("+") or not _is_digits(digits) or digits.startswith("0"):
        return None
    for n in (1, 2, 3):
        checks = _region_checks(int(digits[:n]))
        if checks is not False:
            break
    else:
        return None
    national = digits[n:]
    if checks is None or len(national) < 2 or national.startswith("0"):
        return None
    prefix, general, types = checks
    if prefix is not None and prefix.match(national):
        return None  # phonenumbers might strip a national prefix first: let it decide
    return _matches(national, general) and any(_matches(national, t) for t in types)


def _matches(national: str, check: tuple[frozenset[int], re.Pattern[str]]) -> bool:
    lengths, pattern = check
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@functools.cache
def _region_checks(code: int):
    """False: not a calling code; None: not one region's alone (or no metadata); else the region's
    national prefix rule, its general description and its number types, compiled."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return False
    if len(regions) != 1:
        return None
    meta = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return None

    def compiled(desc):
        if desc is None or not desc.national_number_pattern:
            return None
        return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)

    types = [c for c in (compiled(getattr(meta, t, None)) for t in _NUMBER_TYPES) if c is not None]
    prefix = re.compile(meta.national_prefix_for_parsing) if meta.national_prefix_for_parsing else None
    return prefix, compiled(meta.general_desc), types


def _is_digits(path: str) -> bool:
    return path.isascii() and path.isdigit()


def _normalized(text: str, country: str | None) -> URN | None:
    """``text`` (``scheme:path`` or ``scheme:path#display``) parsed and normalized by urns; None when
    it fails the generic checks (no scheme, unknown scheme, empty, too long)."""
    try:
        return normalize(parse(text), country)
    except URNError:
        return None


def facts(contact: Contact, channels: Channels | Sequence[Channel], country: str | None
          ) -> tuple[tuple[tuple[str, str, str | None], ...], frozenset[str]]:
    """What a store keeps of a contact: one ``(problem, reason, identity)`` per problem it has on its
    own (the first connection that has it, in priority order) and its duplicate keys."""
    seen: set[Problem] = set()
    kept = []
    for f in contact_problems(contact, channels, country):
        if f.problem not in seen:
            seen.add(f.problem)
            kept.append((f.problem.value, f.reason, f.identity))
    return tuple(kept), duplicate_keys(contact, country)


# --- re-normalize local numbers ------------------------------------------------------------------


def renormalize(identity: str, country: str | None) -> str | None:
    """The E.164 identity a ``local_number`` connection becomes with the workspace's ``country``; None
    when ``identity`` is not one (not tel, not digits only, or the result would be no different or
    not a *valid* E.164 number).

    The new identity is what cleaning the stored one with ``country`` gives today (``urns.clean_text``),
    so it is a fixed point of that cleaning. Without a country only a number that already carries its
    country code but lost its ``+`` (``tel:250788383383``) becomes E.164.
    """
    scheme, _, path = identity.partition(":")
    if scheme != "tel" or not _is_digits(path):
        return None
    try:
        new = clean_text(identity, country).identity
    except URNError:
        return None
    new_path = new.partition(":")[2]
    if new == identity or not is_e164(new_path) or not is_valid_number(new_path):
        return None
    return new


class Outcome(StrEnum):
    """What re-normalizing one ``local_number`` connection does (domain.md section 8)."""

    IN_PLACE = "in_place"  # nobody owns the E.164 identity: the connection becomes it in place
    INTO_OWN = "into_own"  # the contact has it already: the local one is dropped into it
    DUPLICATE = "duplicate"  # another contact owns it: nothing changes, the pair is a duplicate


OUTCOME_TEXT = {
    Outcome.IN_PLACE: "becomes E.164 in place",
    Outcome.INTO_OWN: "dropped into the contact's own E.164 connection (messages and affinity move)",
    Outcome.DUPLICATE: "left as it is: another contact has the E.164 number (a duplicate to merge)",
}


def renormalize_outcome(identity: str, new_identity: str, owner_of_new: int | None, contact_id: int) -> Outcome:
    """The outcome of re-normalizing ``identity`` (a connection of contact ``contact_id``) into
    ``new_identity`` (see :func:`renormalize`), given which contact owns ``new_identity`` now (None:
    nobody; a detached connection is owned by nobody). When the contact already has it, its messages
    move to it, and its affinity too unless the E.164 connection has one of its own."""
    if new_identity == identity:
        raise ValueError(f"{identity} does not change: nothing to re-normalize.")
    if owner_of_new is None:
        return Outcome.IN_PLACE
    if owner_of_new == contact_id:
        return Outcome.INTO_OWN
    return Outcome.DUPLICATE


# --- duplicates ----------------------------------------------------------------------------------


def address_keys(identity: str, country: str | None) -> frozenset[str]:
    """The keys of the address a connection denotes: two connections are the *same address* (and
    their contacts duplicates) when their key sets intersect.

    ``identity`` is ``scheme:path``, or ``scheme:path#display`` as ``str(URN)`` writes it (a twitterid's
    handle is its display, see :func:`connection_text`). It is normalized by urns with the workspace's
    ``country`` first, so:

    - a phone number has the key ``phone:<E.164>``: a tel stored local (``tel:0788383383`` with RW) and
      stored international (``tel:+250788383383``) share it, and so does ``whatsapp:250788383383``
      (a WhatsApp id is an international number without its ``+``);
    - a Twitter handle has the key ``twitter:<handle>``: ``twitter:joe`` and ``twitterid:123#joe`` share it;
    - anything else is keyed by its normalized identity (a tel short code, a sender id, a local number
      no country can complete, an email...). An identity that fails urns' generic checks has no key.

    The keys depend on ``country``: when it changes they are computed again. A tel path that is
    already E.164 is its own normalized form (normalizing is a fixed point, ``urns.normalize_phone``),
    so it is keyed at once, without parsing it again: stores compute keys for every connection.
    """
    scheme, _, path = identity.partition(":")
    if scheme == "tel" and is_e164(path):
        return frozenset({"phone:" + path})
    if scheme == "whatsapp" and _is_digits(path) and is_e164("+" + path):  # its tel twin's key, as above
        return frozenset({"phone:+" + path})
    urn = _normalized(identity, country)
    if urn is None:
        return frozenset()
    if urn.scheme == "tel":
        return frozenset({_phone_key(urn.path) or urn.identity})
    if urn.scheme == "whatsapp" and _is_digits(urn.path):
        twin = _normalized("tel:+" + urn.path, country)  # the tel it is the same address as
        return frozenset({(twin and _phone_key(twin.path)) or urn.identity})
    if urn.scheme == "twitterid" and urn.display:
        return frozenset({urn.identity, f"twitter:{urn.display}"})
    return frozenset({urn.identity})


def _phone_key(path: str) -> str | None:
    if path.startswith("+") and _is_digits(path[1:]):
        return "phone:" + path
    return None


def connection_text(conn: Connection) -> str:
    """A stored connection as :func:`address_keys` reads it: its identity, with ``#display`` if any."""
    return conn.identity if conn.display is None else f"{conn.identity}#{conn.display}"


PHONE_SCHEMES = ("tel", "whatsapp")
LAST_DIGITS = 8


def name_phone_key(name: str, identities: Iterable[str]) -> frozenset[str]:
    """The keys of the second duplicate rule: the same name (casefolded, runs of white space made one
    space) *and* the same last 8 digits of a phone number (a tel or whatsapp connection of at least 8
    digits, local or international alike). One key per such number, ``name:<name>|<last 8 digits>``;
    empty when there is no name or no phone number. Two contacts are duplicates when their key sets
    intersect."""
    folded = " ".join((name or "").casefold().split())
    if not folded:
        return frozenset()
    keys = set()
    for identity in identities:
        digits = _phone_digits(identity)
        if digits is not None:
            keys.add(f"name:{folded}|{digits[-LAST_DIGITS:]}")
    return frozenset(keys)


def _phone_digits(identity: str) -> str | None:
    """The digits of a phone number connection (at least 8 of them), else None."""
    scheme, _, path = identity.partition(":")
    path = path.partition("#")[0].strip().removeprefix("+")
    if scheme.strip().lower() in PHONE_SCHEMES and _is_digits(path) and len(path) >= LAST_DIGITS:
        return path
    return None


def duplicate_keys(contact: Contact, country: str | None) -> frozenset[str]:
    """All the keys of a contact for the ``duplicate`` problem: its connections' :func:`address_keys`
    and its :func:`name_phone_key`. Two live contacts are duplicates when these sets intersect."""
    keys: set[str] = set()
    for conn in contact.connections:
        keys |= address_keys(connection_text(conn), country)
    keys |= name_phone_key(contact.name, (c.identity for c in contact.connections))
    return frozenset(keys)


def duplicate_of(contact: Contact, other: Contact, country: str | None) -> Found | None:
    """Why ``contact`` is a duplicate of ``other`` (None when it is not, or when they are one contact):
    the first of its connections (priority order) that is the same address as one of ``other``'s,
    else the name and the phone number's last digits they share."""
    if contact is other or (contact.id is not None and contact.id == other.id):
        return None
    whom = _who(other)
    theirs = [(c.identity, address_keys(connection_text(c), country)) for c in other.connections]
    for conn in contact.connections:
        mine = address_keys(connection_text(conn), country)
        for identity, keys in theirs:
            if mine & keys:
                return Found(Problem.DUPLICATE, f"{conn.identity} is the same address as {identity} of {whom}",
                             conn.identity)
    their_keys = name_phone_key(other.name, (c.identity for c in other.connections))
    for conn in contact.connections:
        shared = name_phone_key(contact.name, (conn.identity,)) & their_keys
        if shared:
            digits = min(shared).rpartition("|")[2]
            return Found(Problem.DUPLICATE, f"same name as {whom} and a phone number ending in {digits} "
                                            f"({conn.identity})", conn.identity)
    return None


def _who(contact: Contact) -> str:
    name = " ".join(contact.name.split())
    if contact.id is None:
        return name or "another contact"
    return f"{name} (#{contact.id})" if name else f"contact #{contact.id}"
