"""Channel affinities as the lock-ins screen shows them, and the audited actions on them.

domain.md section 5: a contact is locked in to a channel when its priority connection has affinity to
it and several channels serve that connection's type. What each affinity amounts to (locked in,
single channel, stale, not the priority connection) is decided by ``core.lockin.assess`` /
``affinity_kind``; the queries here only select rows, grouped by the three inputs of that rule
(channel, connection type, priority or not), so the rule has one implementation.

Bulk actions (clear, move) work in chunks, each its own transaction with one audit event per contact,
so a long run shows progress, can be cancelled between chunks, and a re-run simply finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.orm import aliased

from ccconsole.core.lockin import LockIn, LockInKind, affinity_kind, assess
from ccconsole.core.model import Connection as CoreConnection
from ccconsole.core.routing import Channels
from ccconsole.store.channels import all_channels, aware
from ccconsole.store.contacts import filter_clause
from ccconsole.store.models import Connection, Contact, Message
from ccconsole.store.unit import Scope, reading, transaction, utcnow

CHUNK = 500


@dataclass(frozen=True, slots=True)
class AffinityRow:
    """One connection with a channel affinity, and what that affinity amounts to."""

    connection_id: int
    contact_id: int
    contact_name: str
    identity: str
    channel_id: int
    since: datetime | None
    message_id: int | None
    message_text: str | None
    message_on: datetime | None
    priority_identity: str
    state: LockIn

    @property
    def kind(self) -> LockInKind:
        return self.state.kind

    def as_dict(self, channel_names: dict[int, str]) -> dict:
        return {
            "contact_id": self.contact_id, "contact": self.contact_name, "connection": self.identity,
            "channel": channel_names.get(self.channel_id), "state": self.kind.value,
            "since": self.since.isoformat() if self.since else None,
            "message": self.message_text, "priority_connection": self.priority_identity,
            "conditions": [{"text": c.text, "met": c.met} for c in self.state.conditions],
            "stale_reason": self.state.stale_reason,
        }


@dataclass(frozen=True, slots=True)
class Group:
    """How many affinities share the inputs of the lock-in rule, and what they amount to."""

    channel_id: int
    scheme: str
    is_priority: bool
    kind: LockInKind
    count: int


@dataclass(frozen=True, slots=True)
class BulkResult:
    done: int  # affinities changed
    skipped: int  # asked for but already as wanted, gone, or not allowed
    cancelled: bool = False


def _top_priority():
    """Correlated: the highest priority among the connections of the row's contact (indexed)."""
    other = aliased(Connection)
    return (select(func.max(other.priority)).where(other.contact_id == Connection.contact_id)
            .correlate(Connection).scalar_subquery())


def _priority_identity():
    other = aliased(Connection)
    return (select(other.identity).where(other.contact_id == Connection.contact_id)
            .order_by(other.priority.desc(), other.id).limit(1).correlate(Connection).scalar_subquery())


def _affinities(scope: Scope):
    """Connections with an affinity whose contact exists (detached ones are history, not lock-ins)."""
    return (Connection.workspace_id == scope.workspace.id, Connection.affinity_channel_id.is_not(None),
            Connection.contact_id.is_not(None), Contact.deleted_on.is_(None))


def groups(scope: Scope) -> list[Group]:
    """Every affinity of the workspace counted by (channel, connection type, priority or not), each
    group with its kind: the per-channel summary of the lock-ins screen."""
    is_priority = (Connection.priority == _top_priority()).label("is_priority")
    q = (select(Connection.affinity_channel_id, Connection.scheme, is_priority, func.count())
         .join(Contact, Contact.id == Connection.contact_id).where(*_affinities(scope))
         .group_by(Connection.affinity_channel_id, Connection.scheme, is_priority))
    chans = Channels(all_channels(scope))
    with reading(scope) as c:
        rows = c.execute(q).all()
    return sorted((Group(cid, scheme, bool(prio), affinity_kind(cid, scheme, chans, is_priority=bool(prio)), n)
                   for cid, scheme, prio, n in rows),
                  key=lambda g: (g.channel_id, g.scheme, not g.is_priority))


def _where(scope: Scope, *, channel_id: int | None, kinds: Iterable[LockInKind] | None,
           text: str | None, known: Sequence[Group] | None, contact_id: int | None = None):
    """The filter of a listing: channel, text (the contacts filter) and kinds. A kind is a function of
    (channel, scheme, priority or not), so kinds become the groups that have them."""
    where = list(_affinities(scope))
    if channel_id is not None:
        where.append(Connection.affinity_channel_id == channel_id)
    if contact_id is not None:
        where.append(Connection.contact_id == contact_id)
    clause = filter_clause(scope, text)
    if clause is not None:
        where.append(clause)
    if kinds is not None:
        wanted = set(kinds)
        top = _top_priority()
        picked = [and_(Connection.affinity_channel_id == g.channel_id, Connection.scheme == g.scheme,
                       (Connection.priority == top) if g.is_priority else (Connection.priority < top))
                  for g in (known if known is not None else groups(scope)) if g.kind in wanted]
        where.append(or_(*picked) if picked else false())
    return where


def rows(scope: Scope, *, channel_id: int | None = None, kinds: Iterable[LockInKind] | None = None,
         text: str | None = None, limit: int = 1000, known: Sequence[Group] | None = None,
         contact_id: int | None = None) -> list[AffinityRow]:
    """Affinities in (channel, contact name) order, at most ``limit``, each assessed by core."""
    prio = _priority_identity().label("priority_identity")
    q = (select(Connection.id, Connection.contact_id, Contact.name, Connection.identity,
                Connection.affinity_channel_id, Connection.affinity_since, Connection.affinity_message_id,
                Message.text, Message.created_on, prio)
         .join(Contact, Contact.id == Connection.contact_id)
         .outerjoin(Message, Message.id == Connection.affinity_message_id)
         .where(*_where(scope, channel_id=channel_id, kinds=kinds, text=text, known=known, contact_id=contact_id))
         .order_by(Connection.affinity_channel_id, Contact.name, Contact.id, Connection.id).limit(limit))
    chans = Channels(all_channels(scope))
    with reading(scope) as c:
        found = c.execute(q).all()
    result = []
    for cid, contact_id, name, identity, channel, since, msg_id, msg_text, msg_on, top in found:
        conn = CoreConnection(identity, channel)
        state = assess(conn, CoreConnection(top), chans)
        result.append(AffinityRow(cid, contact_id, name, identity, channel, aware(since), msg_id, msg_text,
                                  aware(msg_on), top, state))
    return result


def connection_ids(scope: Scope, *, channel_id: int | None = None, kinds: Iterable[LockInKind] | None = None,
                   text: str | None = None, contact_id: int | None = None) -> list[int]:
    """Every connection a listing selects (for a bulk action on the whole selection)."""
    q = (select(Connection.id).join(Contact, Contact.id == Connection.contact_id)
         .where(*_where(scope, channel_id=channel_id, kinds=kinds, text=text, known=None, contact_id=contact_id))
         .order_by(Connection.id))
    with reading(scope) as c:
        return list(c.execute(q).scalars())


def _bulk(scope: Scope, ids: Sequence[int], action: str, target: int | None,
          progress: Callable[[int, int], object] | None, cancelled: Callable[[], bool] | None,
          chunk: int) -> BulkResult:
    """Set the affinity of these connections to ``target`` (None clears it), chunk by chunk; one audit
    event per contact records the connection, the old and the new channel."""
    done = skipped = 0
    total = len(ids)
    now = utcnow()
    for start in range(0, total, chunk):
        if cancelled is not None and cancelled():
            return BulkResult(done, skipped + total - start, True)
        part = list(ids[start:start + chunk])
        with transaction(scope) as uow:
            s = uow.session
            found = s.execute(select(Connection.id, Connection.contact_id, Connection.identity,
                                     Connection.affinity_channel_id)
                              .where(Connection.workspace_id == scope.workspace.id, Connection.id.in_(part),
                                     Connection.contact_id.is_not(None))
                              .with_for_update()).all()
            change = [(cid, contact, identity, old) for cid, contact, identity, old in found if old != target]
            skipped += len(part) - len(change)
            if change:
                s.execute(update(Connection).where(Connection.id.in_([c[0] for c in change]))
                          .values(affinity_channel_id=target, affinity_since=now if target else None,
                                  affinity_message_id=None)
                          .execution_options(synchronize_session=False))
                for _, contact, identity, old in change:
                    uow.audit(action, contact_id=contact, channel_id=target or old,
                                 before={"connection": identity, "affinity_channel_id": old},
                                 after={"connection": identity, "affinity_channel_id": target})
            done += len(change)
        if progress is not None:
            progress(min(start + chunk, total), total)
    return BulkResult(done, skipped)


def schemes(scope: Scope, ids: Sequence[int], chunk: int = CHUNK) -> set[str]:
    """The connection types among these connections."""
    found: set[str] = set()
    with reading(scope) as s:
        for start in range(0, len(ids), 10 * chunk):
            found.update(s.execute(select(Connection.scheme).distinct()
                                   .where(Connection.id.in_(list(ids[start:start + 10 * chunk])))).scalars())
    return found


def set_affinities(scope: Scope, ids: Sequence[int], target: int | None, *, progress=None, cancelled=None,
                   chunk: int = CHUNK) -> BulkResult:
    """Set the affinity of these connections to ``target`` (None clears it; audited as
    ``affinity.move`` / ``affinity.clear``), in chunks that are each one transaction."""
    action = "affinity.move" if target is not None else "affinity.clear"
    return _bulk(scope, ids, action, target, progress, cancelled, chunk)
