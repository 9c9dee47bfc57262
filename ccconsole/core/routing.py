"""THE shared resolver: which connection and channel a message to a contact uses (domain.md section 4).

``route(contact, channels)`` returns a :class:`Route`: the chosen connection and channel, or no route
with its reason, and a structured explanation (one :class:`Attempt` per connection tried, each with
:class:`Note` findings) that the routing preview, the command line and the broadcast breakdown show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ccconsole.core.model import Channel, Connection, Contact, Status
from ccconsole.core.urns import phone_country

NOT_ACTIVE = "Contact is no longer active"
NO_CHANNEL = "No suitable channel found"
NO_CONNECTIONS = "Contact has no connections"


class Rule(StrEnum):
    """Which rule of channel_for decided."""

    AFFINITY = "affinity"  # rule 1: lock-in to the connection's affinity channel
    ONLY_CANDIDATE = "only-candidate"  # rule 2: one tel channel left after the country filter
    PREFIX = "prefix"  # rule 2: longest prefix among several tel channels
    SCHEME = "scheme"  # rule 3: the oldest channel serving the scheme


class NoteKind(StrEnum):
    AFFINITY_USED = "affinity-used"
    AFFINITY_IGNORED = "affinity-ignored"
    COUNTRY_FILTERED = "country-filtered"
    NO_TEL_CHANNEL = "no-tel-channel"
    ONLY_CANDIDATE = "only-candidate"
    PREFIX_SCORE = "prefix-score"
    PREFIX_TIE = "prefix-tie"
    PREFIX_WINNER = "prefix-winner"
    WOULD_HAVE = "would-have"
    SCHEME_CHANNEL = "scheme-channel"
    NO_CHANNEL_FOR_SCHEME = "no-channel-for-scheme"


@dataclass(frozen=True, slots=True)
class Note:
    """One finding of the resolver, with the channel it concerns and, for prefixes, the score."""

    kind: NoteKind
    text: str
    channel: str | None = None
    score: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What channel_for found for one connection: the channel (or None), the deciding rule, the notes."""

    connection: Connection
    channel: Channel | None
    rule: Rule | None
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """The resolver's decision for one contact."""

    connection: Connection | None
    channel: Channel | None
    reason: str | None = None  # why there is no route
    attempts: tuple[Attempt, ...] = ()

    @property
    def ok(self) -> bool:
        return self.channel is not None

    @property
    def rule(self) -> Rule | None:
        return self.attempts[-1].rule if self.ok and self.attempts else None

    def explain(self) -> list[str]:
        """The explanation as lines a person can read."""
        lines: list[str] = []
        if self.ok:
            assert self.connection is not None and self.channel is not None and self.rule is not None  # see route()
            lines.append(f"→ {self.connection.identity} via {self.channel.name} ({RULE_TEXT[self.rule]})")
        else:
            lines.append(f"✗ no route: {self.reason}")
        for attempt in self.attempts:
            verdict = f"via {attempt.channel.name}" if attempt.channel else "skipped"
            lines.append(f"{attempt.connection.identity}: {verdict}")
            lines.extend(f"  · {note.text}" for note in attempt.notes)
        return lines

    def as_dict(self) -> dict:
        return {
            "connection": self.connection.identity if self.connection else None,
            "channel": self.channel.name if self.channel else None,
            "channel_uuid": self.channel.uuid if self.channel else None,
            "rule": self.rule.value if self.rule else None,
            "reason": self.reason,
            "attempts": [
                {
                    "connection": a.connection.identity,
                    "channel": a.channel.name if a.channel else None,
                    "rule": a.rule.value if a.rule else None,
                    "notes": [
                        {"kind": n.kind.value, "text": n.text, "channel": n.channel, "score": n.score}
                        for n in a.notes
                    ],
                }
                for a in self.attempts
            ],
            "explanation": self.explain(),
        }


RULE_TEXT = {
    Rule.AFFINITY: "locked in: affinity",
    Rule.ONLY_CANDIDATE: "the only phone channel for this number",
    Rule.PREFIX: "longest prefix match",
    Rule.SCHEME: "oldest channel for this type",
}


class Channels:
    """The workspace's channels, oldest first, indexed once for many routing calls."""

    def __init__(self, channels: Iterable[Channel]):
        self.all: tuple[Channel, ...] = tuple(channels)
        self.by_id: dict[int, Channel] = {c.id: c for c in self.all}
        self._senders: dict[str, tuple[Channel, ...]] = {}

    def senders(self, scheme: str) -> tuple[Channel, ...]:
        """Active channels that can send and serve ``scheme``, oldest first."""
        found = self._senders.get(scheme)
        if found is None:
            found = self._senders[scheme] = tuple(c for c in self.all if c.sends(scheme))
        return found


def as_channels(channels: Channels | Sequence[Channel]) -> Channels:
    return channels if isinstance(channels, Channels) else Channels(channels)


def affinity_problem(channel: Channel | None, scheme: str) -> str | None:
    if channel is None:
        return "the channel no longer exists"
    if not channel.active:
        return f"{channel.name} is inactive"
    if not channel.can_send:
        return f"{channel.name} cannot send"
    if not channel.serves(scheme):
        return f"{channel.name} does not serve {scheme}"
    return None


def channel_for(conn: Connection, channels: Channels | Sequence[Channel], explain: bool = True) -> Attempt:
    """Pick the channel for one connection (rules 1 to 3 of domain.md section 4)."""
    chans = as_channels(channels)
    scheme = conn.scheme
    notes: list[Note] = []
    if conn.affinity is not None:
        affinity = chans.by_id.get(conn.affinity)
        problem = affinity_problem(affinity, scheme)
        if problem is None:
            assert affinity is not None  # affinity_problem() found it usable
            if explain:
                notes.append(Note(NoteKind.AFFINITY_USED,
                                  f"affinity {affinity.name} is active, sends and serves {scheme}: used",
                                  affinity.name))
                if scheme == "tel":
                    other = _tel_channel(conn, chans, False)
                    if other.channel is not None and other.channel.id != affinity.id:
                        assert other.rule is not None  # an attempt with a channel has its rule
                        notes.append(Note(NoteKind.WOULD_HAVE,
                                          f"without it, {other.channel.name} would be chosen "
                                          f"({RULE_TEXT[other.rule]})", other.channel.name))
            return Attempt(conn, affinity, Rule.AFFINITY, tuple(notes))
        if explain:
            name = affinity.name if affinity else str(conn.affinity)
            notes.append(Note(NoteKind.AFFINITY_IGNORED, f"affinity ignored: {problem}", name))
    if scheme == "tel":
        found = _tel_channel(conn, chans, explain)
        return Attempt(conn, found.channel, found.rule, tuple(notes) + found.notes)
    senders = chans.senders(scheme)
    if senders:
        if explain:
            notes.append(Note(NoteKind.SCHEME_CHANNEL,
                              f"{senders[0].name} is the oldest active channel sending {scheme}",
                              senders[0].name))
        return Attempt(conn, senders[0], Rule.SCHEME, tuple(notes))
    if explain:
        notes.append(Note(NoteKind.NO_CHANNEL_FOR_SCHEME, f"no active channel sends {scheme}"))
    return Attempt(conn, None, None, tuple(notes))


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def _tel_channel(conn: Connection, chans: Channels, explain: bool) -> Attempt:
    """Rule 2: country filter, then the longest prefix (a tie, 0 included, goes to the newer channel)."""
    number = conn.path
    country = phone_country(number)
    notes: list[Note] = []
    candidates = []
    for channel in chans.senders("tel"):
        if (country and channel.country and channel.country.upper() != country
                and not channel.allow_international):
            if explain:
                notes.append(Note(NoteKind.COUNTRY_FILTERED,
                                  f"{channel.name} removed by the country filter: it is {channel.country}, "
                                  f"the number is {country}, and it does not allow international",
                                  channel.name))
            continue
        candidates.append(channel)
    if not candidates:
        if explain:
            notes.append(Note(NoteKind.NO_TEL_CHANNEL,
                              "no active phone channel can send to this number" if notes
                              else "no active channel sends tel"))
        return Attempt(conn, None, None, tuple(notes))
    if len(candidates) == 1:
        if explain:
            notes.append(Note(NoteKind.ONLY_CANDIDATE,
                              f"{candidates[0].name} is the only phone channel left", candidates[0].name))
        return Attempt(conn, candidates[0], Rule.ONLY_CANDIDATE, tuple(notes))
    digits = number[1:] if number.startswith("+") else number
    best: Channel | None = None
    best_score = -1
    tie = False
    for channel in candidates:
        prefixes = channel.match_prefixes or (channel.address.removeprefix("+"),)
        score = max(_common_prefix(p.removeprefix("+"), digits) for p in prefixes)
        if explain:
            notes.append(Note(NoteKind.PREFIX_SCORE, f"{channel.name}: prefix overlap {score}",
                              channel.name, score))
        if score >= best_score:
            tie = score == best_score
            best, best_score = channel, score
    assert best is not None  # there were at least two candidates
    if explain:
        if tie:
            notes.append(Note(NoteKind.PREFIX_TIE,
                              f"tie at overlap {best_score}: the newer channel {best.name} wins", best.name,
                              best_score))
        notes.append(Note(NoteKind.PREFIX_WINNER, f"{best.name} has the longest prefix overlap ({best_score})",
                          best.name, best_score))
    return Attempt(conn, best, Rule.PREFIX, tuple(notes))


def route(contact: Contact, channels: Channels | Sequence[Channel], explain: bool = True) -> Route:
    """The connection and channel a message to ``contact`` uses: the first connection with a channel."""
    if not contact.is_active:
        return Route(None, None, f"{NOT_ACTIVE} ({contact.status})")
    if not contact.connections:
        return Route(None, None, NO_CONNECTIONS)
    chans = as_channels(channels)
    attempts = []
    for conn in contact.connections:
        attempt = channel_for(conn, chans, explain)
        attempts.append(attempt)
        if attempt.channel is not None:
            return Route(conn, attempt.channel, None, tuple(attempts))
    return Route(None, None, NO_CHANNEL, tuple(attempts))


@dataclass
class Breakdown:
    """How a send request to many contacts splits across channels (counts only, nothing is sent)."""

    total: int = 0
    per_channel: Counter = field(default_factory=Counter)  # channel name -> contacts
    locked_in: Counter = field(default_factory=Counter)  # channel name -> of which via affinity
    unreachable: Counter = field(default_factory=Counter)  # reason -> contacts
    not_active: Counter = field(default_factory=Counter)  # status -> contacts

    def add(self, contact: Contact, decision: Route, reason: str | None = None, times: int = 1) -> None:
        """Count one contact (or ``times`` contacts in the same situation); ``reason`` (see
        :func:`unreachable_reason`) when it has no route."""
        self.total += times
        if not contact.is_active:
            self.not_active[str(contact.status)] += times
        elif decision.ok:
            assert decision.channel is not None
            self.per_channel[decision.channel.name] += times
            if decision.rule == Rule.AFFINITY:
                self.locked_in[decision.channel.name] += times
        else:
            self.unreachable[reason or decision.reason or NO_CHANNEL] += times

    @property
    def headline(self) -> str:
        n = len(self.per_channel)
        return (f"Send to {self.total:,} contact{'s' if self.total != 1 else ''} → "
                f"{n} channel{'s' if n != 1 else ''} process{'es' if n == 1 else ''} 1 send request")

    def lines(self) -> list[str]:
        """The breakdown as lines a person reads (the console and ``ccconsole route --query``)."""
        out = [self.headline]
        for name, n in self.per_channel.most_common():
            locked = self.locked_in.get(name, 0)
            out.append(f"  {name}: {n:,}" + (f" (of which {locked:,} locked in)" if locked else ""))
        unreachable = sum(self.unreachable.values())
        if unreachable:
            out.append(f"  No route: {unreachable:,}")
            out.extend(f"    {reason}: {n:,}" for reason, n in self.unreachable.most_common())
        inactive = sum(self.not_active.values())
        if inactive:
            out.append(f"  Not active: {inactive:,} (" + ", ".join(
                f"{status} {n:,}" for status, n in self.not_active.most_common()) + ")")
        return out

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "headline": self.headline,
            "channels": dict(self.per_channel.most_common()),
            "locked_in": dict(self.locked_in),
            "unreachable": dict(self.unreachable.most_common()),
            "unreachable_total": sum(self.unreachable.values()),
            "not_active": dict(self.not_active),
            "not_active_total": sum(self.not_active.values()),
        }


def unreachable_reason(decision: Route) -> str:
    """Why a contact has no route, from the resolver's explained attempts: per connection type what
    stopped it, e.g. ``no phone channel may send to EC numbers; no channel sends whatsapp``."""
    if decision.reason and decision.reason.startswith(NOT_ACTIVE):
        return decision.reason
    if not decision.attempts:
        return (decision.reason or NO_CHANNEL).lower()
    parts: list[str] = []
    for attempt in decision.attempts:
        kinds = {n.kind for n in attempt.notes}
        scheme = attempt.connection.scheme
        if NoteKind.COUNTRY_FILTERED in kinds:
            country = phone_country(attempt.connection.path)
            text = f"no phone channel may send to {country} numbers"
        else:
            text = f"no channel sends {scheme}"
        if text not in parts:
            parts.append(text)
    return "; ".join(parts)


class BroadcastPlanner:
    """Splits many contacts across channels with :func:`route`, fast: contacts in the same routing
    situation (status; per connection in order its type, affinity and, for phones, the number's
    country and the digits the channels' prefixes can overlap) share one decision."""

    def __init__(self, channels: Channels | Sequence[Channel]):
        self.channels = as_channels(channels)
        prefixes = [p.removeprefix("+") for c in self.channels.senders("tel")
                    for p in (c.match_prefixes or (c.address.removeprefix("+"),))]
        self.depth = max((len(p) for p in prefixes), default=0)
        self._decided: dict[tuple, tuple[Contact, Route, str | None]] = {}
        self._count: Counter = Counter()  # situation -> contacts in it

    def situation(self, status: str, connections: Sequence[tuple[str, int | None]]) -> tuple:
        """The routing situation of a contact: what :func:`route` depends on and nothing else."""
        if status != Status.ACTIVE:
            return (status,)
        key: list = [Status.ACTIVE]
        depth = self.depth
        for identity, affinity in connections:
            if identity.startswith("tel:"):
                path = identity[4:]
                digits = path[1:] if path.startswith("+") else path
                key.append(("tel", affinity, phone_country(path), digits[:depth]))
            else:
                key.append((identity.partition(":")[0], affinity))
        return tuple(key)

    def add(self, contact: Contact) -> None:
        self.add_raw(contact.status, [(c.identity, c.affinity) for c in contact.connections])

    def add_raw(self, status: str, connections: Sequence[tuple[str, int | None]]) -> None:
        """Count one contact given as its status and (identity, affinity) pairs in priority order."""
        key = self.situation(status, connections)
        if key not in self._decided:
            contact = Contact(Status(status), tuple(Connection(i, a) for i, a in connections))
            decision = route(contact, self.channels, explain=False)
            reason = None if decision.ok or not contact.is_active else \
                unreachable_reason(route(contact, self.channels, explain=True))
            self._decided[key] = (contact, decision, reason)
        self._count[key] += 1

    @property
    def result(self) -> Breakdown:
        """The breakdown of every contact added so far."""
        result = Breakdown()
        for key, n in self._count.items():
            result.add(*self._decided[key], times=n)
        return result

    @property
    def situations(self) -> int:
        """How many distinct routing situations were resolved (the resolver calls made)."""
        return len(self._decided)


def broadcast(contacts: Iterable[Contact], channels: Channels | Sequence[Channel]) -> Breakdown:
    """Split a send request to ``contacts`` across channels with the same resolver as :func:`route`."""
    planner = BroadcastPlanner(channels)
    for contact in contacts:
        planner.add(contact)
    return planner.result
