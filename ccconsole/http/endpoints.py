"""The endpoints: each takes the parsed request and answers (status, JSON body). Synchronous: the app
runs them in a thread pool. Every write is one use case of ``ccconsole.app`` in one unit of work,
done as the token's user (the audit log's actor)."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

from ccconsole.app import Workspace
from ccconsole.core import urns as urnlib
from ccconsole.core.lists import MAX_CONNECTIONS
from ccconsole.core.routing import Channels
from ccconsole.core.views import ApiContact
from ccconsole.errors import Conflict, NotFound, ReadOnly, StoreError, Unreachable, ValidationFailed
from ccconsole.http import serialize
from ccconsole.http.wire import (
    PAGE_SIZE,
    ApiError,
    bad,
    decode_cursor,
    detail,
    encode_cursor,
    flag,
    is_uuid,
    list_value,
    only_keys,
    parse_body,
    parse_datetime,
    text_value,
)

ACTIONS = ("add", "remove", "block", "unblock", "interrupt", "archive_messages", "delete")
INVALID_URN = "Invalid URN: {}. Ensure phone numbers contain country codes."
IN_USE = "URN is in use by another contact."
SETTINGS_SECONDS = 5.0


@dataclass(frozen=True)
class Request:
    method: str
    endpoint: str  # "contacts", "groups", ...
    params: Mapping[str, str]
    body: bytes
    authorization: str
    url: str  # the endpoint's absolute URL, no query


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


class LocalCounter:
    """The throttle of a read-only server (it may not write its counters to the database): counted in
    this process only."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str, int], int] = {}

    def hit(self, scope: str, rate: tuple[int, int]) -> int:
        limit, period = rate
        now = time.time()
        window = int(now // period) * period
        with self.lock:
            n = self.counts.get((scope, window), 0) + 1
            self.counts = {(scope, window): n}
        return 0 if n <= limit else max(1, int(window + period - now + 0.999))


class Api:
    """The API over one open workspace."""

    def __init__(self, ws: Workspace, rate: tuple[int, int]):
        self.ws = ws
        self.rate = rate
        self.local = LocalCounter()
        self.as_user: dict[str, Workspace] = {}
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps in growing steps
        # (up to 100 ms): this process's writers queue here instead (other processes still wait on the file)
        self.write_lock = threading.Lock() if ws.backend == "sqlite" else None
        self.settings_read = time.monotonic()
        self.routes: dict[str, dict[str, Callable[[Workspace, Request], Answer]]] = {
            "contacts": {"GET": self.contacts_list, "POST": self.contacts_write, "DELETE": self.contacts_delete},
            "contact_actions": {"POST": self.contact_actions},
            "channels": {"GET": self.channels_list},
            "groups": {"GET": self.groups_list, "POST": self.groups_create, "DELETE": self.groups_delete},
            "fields": {"GET": self.fields_list, "POST": self.fields_create},
            "org": {"GET": self.org},
            "workspace": {"GET": self.org},
        }

    # --- the frame: authentication, throttle, verbs, errors --------------------------------------

    def handle(self, req: Request) -> Answer:
        try:
            handlers = self.routes.get(req.endpoint)
            if handlers is None:
                raise detail(404, "Not found.")
            user = self.authenticate(req.authorization)
            wait = self.throttle("contacts" if req.endpoint.startswith("contact") else "v2")
            if wait:
                raise ApiError(429, {"detail": f"Request was throttled. Expected available in {wait} seconds."},
                               {"Retry-After": str(wait)})
            handler = handlers.get(req.method)
            if handler is None:
                raise detail(405, f'Method "{req.method}" not allowed.')
            if req.method != "GET" and self.ws.read_only:
                raise detail(403, "This server is read-only: only GET requests are allowed.")
            self.fresh_settings()
            return handler(self.workspace_of(user), req)
        except ApiError as err:
            return Answer(err.status, err.body, err.headers)
        except ValidationFailed as err:
            return Answer(400, validation_errors(err))
        except ReadOnly as err:
            return Answer(403, {"detail": str(err)})
        except NotFound:
            return Answer(404, {"detail": "Not found."})
        except Conflict as err:
            return Answer(409, {"detail": str(err)})
        except Unreachable as err:
            return Answer(503, {"detail": str(err)})
        except StoreError as err:
            return Answer(500, {"detail": str(err)})

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self.write_lock if self.write_lock is not None else nullcontext():
            yield

    def authenticate(self, header: str) -> str:
        kind, _, value = (header or "").strip().partition(" ")
        key = ""
        if kind.lower() == "token":
            key = value.strip()
        elif kind.lower() == "basic":
            try:
                key = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
            except (binascii.Error, UnicodeDecodeError, ValueError):
                key = ""
        user = self.ws.tokens.user(key) if key and key.isprintable() else None
        if user is None:
            raise detail(403, "Invalid token")
        return user

    def throttle(self, scope: str) -> int:
        if self.ws.read_only:
            return self.local.hit(scope, self.rate)
        with self.writing():
            return self.ws.tokens.throttle(scope, self.rate)

    def fresh_settings(self) -> None:
        """The workspace's settings (its country normalizes numbers) read again every few seconds: a
        console may change them while the server runs."""
        if time.monotonic() - self.settings_read < SETTINGS_SECONDS:
            return
        self.settings_read = time.monotonic()
        for ws in [self.ws, *list(self.as_user.values())]:
            ws.reload()

    def workspace_of(self, user: str) -> Workspace:
        found = self.as_user.get(user)
        if found is None:
            found = self.as_user.setdefault(user, self.ws.as_actor(user))
        return found

    # --- contacts: list ------------------------------------------------------------------------

    def contacts_list(self, ws: Workspace, req: Request) -> Answer:
        p = req.params
        filters: dict[str, Any] = {"deleted": flag(p.get("deleted"))}
        empty = False
        if p.get("uuid"):
            if not is_uuid(p["uuid"]):
                raise detail(400, f"Param 'uuid': {p['uuid']} is not a valid UUID.")
            filters["uuid"] = p["uuid"]
        if p.get("urn"):
            try:
                filters["identity"] = urnlib.clean_text(p["urn"], ws.info.country).identity
            except urnlib.URNError:
                empty = True
        if p.get("group"):
            found = ws.groups.find(p["group"])
            if found is None:
                empty = True
            else:
                filters["group_id"] = found.id
        for name, bound in (("after", "since"), ("before", "until")):
            if p.get(name):
                when = parse_datetime(p[name])
                if when is None:
                    empty = True
                filters[bound] = when
        ascending = flag(p.get("reverse"))
        direction, key = "n", cast(tuple[datetime, int] | None, None)
        if p.get("cursor"):
            direction, modified, ident = decode_cursor(p["cursor"])
            key = (modified, ident)
        expand, with_route = flag(p.get("expand_urns")), flag(p.get("route"))
        nxt = prev = None
        rows: list[ApiContact] = []
        if not empty:
            if direction == "n":
                rows = ws.browse.by_modified(limit=PAGE_SIZE + 1, key=key, ascending=ascending, **filters)
                more = len(rows) > PAGE_SIZE
                rows = rows[:PAGE_SIZE]
                if more:
                    nxt = encode_cursor("n", rows[-1].modified_on, rows[-1].id)
                if key is not None and rows:
                    prev = encode_cursor("p", rows[0].modified_on, rows[0].id)
            else:
                back = ws.browse.by_modified(limit=PAGE_SIZE + 1, key=key, ascending=not ascending, **filters)
                more = len(back) > PAGE_SIZE
                rows = list(reversed(back[:PAGE_SIZE]))
                if more:
                    prev = encode_cursor("p", rows[0].modified_on, rows[0].id)
                if rows:
                    nxt = encode_cursor("n", rows[-1].modified_on, rows[-1].id)
        keys = ws.fields.keys()
        chans = Channels(ws.channels.list()) if expand or with_route else None
        return Answer(200, {
            "next": page_url(req, nxt), "previous": page_url(req, prev),
            "results": [serialize.contact(c, keys, chans, expand_urns=expand, with_route=with_route) for c in rows],
        })

    def one(self, ws: Workspace, contact_id: int, req: Request, keys: list[str] | None = None,
            record: ApiContact | None = None) -> dict[str, Any]:
        record = record or ws.browse.api_records([contact_id])[0]
        expand, with_route = flag(req.params.get("expand_urns")), flag(req.params.get("route"))
        return serialize.contact(record, ws.fields.keys() if keys is None else keys,
                                 Channels(ws.channels.list()) if expand or with_route else None,
                                 expand_urns=expand, with_route=with_route)

    # --- contacts: create, update, delete ------------------------------------------------------

    def lookup(self, ws: Workspace, req: Request, *, required: bool) -> tuple[str, str] | None:
        """``("uuid", value)`` or ``("urn", identity)`` from the URL."""
        p = req.params
        given = [k for k in ("urn", "uuid") if p.get(k)]
        if len(given) > 1:
            raise detail(400, "URL can only contain one of the following parameters: urn, uuid")
        if not given:
            if required:
                raise detail(400, "URL must contain one of the following parameters: urn, uuid")
            return None
        if given[0] == "uuid":
            return "uuid", p["uuid"].strip()
        try:
            return "urn", urnlib.clean_text(p["urn"], ws.info.country).identity
        except urnlib.URNError as err:
            raise bad({"urn": [INVALID_URN.format(p["urn"])]}) from err

    def contacts_write(self, ws: Workspace, req: Request) -> Answer:
        lookup = self.lookup(ws, req, required=False)
        data = parse_body(req.body)
        only_keys(data, ("name", "language", "urns", "groups", "fields"))
        name = text_value(data, "name", max_length=64)
        language = text_value(data, "language")
        if language and not (len(language) == 3 and language.isascii() and language.isalpha()
                             and language.islower()):
            raise bad({"language": ["Not a valid ISO639-3 language code."]})
        urns = list_value(data, "urns", max_items=100)
        group_refs = list_value(data, "groups", max_items=100)
        keys = ws.fields.keys()
        fields = self.field_values(data, keys)
        groups = None
        if group_refs is not None:
            groups = []
            for ref in group_refs:
                found = ws.groups.find(ref)
                if found is None:
                    raise bad({"groups": [f"No such object: {ref}"]})
                groups.append(found.name)
        if lookup is not None and lookup[0] == "urn" and urns is not None:
            raise bad({"urns": ["Field not allowed when using URN in URL"]})
        if urns is not None and len(urns) > MAX_CONNECTIONS:
            raise bad({"urns": [f"A contact has at most {MAX_CONNECTIONS} connections."]})
        target: str | None = None
        if lookup is not None:
            kind, value = lookup
            if kind == "uuid":
                if not is_uuid(value):
                    raise detail(404, "Not found.")
                # a merged contact's UUID finds its survivor (the contacts use case follows merges)
                target = value
            else:
                try:
                    target = ws.contacts.get(value).uuid
                except NotFound:
                    urns, target = [value], None
        try:
            with self.writing(), ws.transaction() as uow:
                if target is None:
                    view = ws.contacts.create_in(uow, name or "", urns or [], language=language or None,
                                                 groups=groups or [],
                                                 fields={k: v for k, v in (fields or {}).items() if v is not None})
                    status = 201
                else:
                    view = ws.contacts.update_in(uow, target, name=name, urns=urns, groups=groups, fields=fields,
                                                 language=language)
                    status = 200
                record = ws.browse.api_records_in(uow, [view.id])[0]  # the answer, read before the commit
        except ValidationFailed as err:
            raise ApiError(400, validation_errors(err, urns)) from err
        except NotFound:
            if target is not None and ws.browse.by_modified(limit=1, uuid=target, deleted=True):
                raise bad({"non_field_errors": ["Deleted contacts can't be modified."]}) from None
            raise
        return Answer(status, self.one(ws, view.id, req, keys, record))

    def field_values(self, data: dict[str, Any], keys: list[str]) -> dict[str, str | None] | None:
        if "fields" not in data or data["fields"] is None:
            return None
        raw = data["fields"]
        if not isinstance(raw, dict):
            raise bad({"fields": [f'Expected a dictionary of items but got type "{type(raw).__name__}".']})
        known = set(keys)
        values: dict[str, str | None] = {}
        for key, value in raw.items():
            if key not in known:
                raise bad({"fields": [f"Invalid contact field key: {key}"]})
            if value is None or value == "":
                values[key] = None
            elif isinstance(value, str):
                if len(value) > 640:
                    raise bad({"fields": [f"Value for {key} is longer than 640 characters."]})
                values[key] = value
            elif isinstance(value, int | float) and not isinstance(value, bool):
                values[key] = str(value)
            else:
                raise bad({"fields": [f"Value for {key} is not a string."]})
        return values

    def contacts_delete(self, ws: Workspace, req: Request) -> Answer:
        lookup = self.lookup(ws, req, required=True)
        assert lookup is not None
        with self.writing():
            ws.contacts.delete(lookup[1])
        return Answer(204)

    # --- bulk actions --------------------------------------------------------------------------

    def contact_actions(self, ws: Workspace, req: Request) -> Answer:
        data = parse_body(req.body)
        only_keys(data, ("contacts", "action", "group"))
        refs = list_value(data, "contacts", max_items=100)
        action = text_value(data, "action", required=True)
        group_ref = text_value(data, "group")
        if not refs:
            raise bad({"contacts": ["Contacts can't be empty."] if refs is not None else ["This field is required."]})
        if action not in ACTIONS:
            raise bad({"action": [f'"{action}" is not a valid choice.']})
        if action in ("add", "remove") and group_ref is None:
            raise bad({"non_field_errors": [f'For action "{action}" you should also specify a group']})
        if action not in ("add", "remove") and group_ref is not None:
            raise bad({"non_field_errors": [f'For action "{action}" you should not specify a group']})
        contact_ids = []
        for ref in refs:
            try:
                contact_ids.append(ws.contacts.get(ref).id)
            except NotFound as err:
                raise bad({"contacts": [f"No such object: {ref}"]}) from err
        group_name = None
        if group_ref is not None:
            found = ws.groups.find(group_ref)
            if found is None:
                raise bad({"group": [f"No such object: {group_ref}"]})
            group_name = found.name
        with self.writing(), ws.transaction() as uow:
            for cid in dict.fromkeys(contact_ids):
                if action == "add":
                    ws.contacts.change_groups_in(uow, cid, add=[group_name or ""])
                elif action == "remove":
                    ws.contacts.change_groups_in(uow, cid, remove=[group_name or ""])
                elif action == "block":
                    ws.contacts.update_in(uow, cid, status="blocked")
                elif action == "unblock":
                    ws.contacts.update_in(uow, cid, status="active")
                elif action == "delete":
                    ws.contacts.delete_in(uow, cid)
                # interrupt, archive_messages: no flow runs and no message archive here; nothing changes
        return Answer(204)

    # --- the other endpoints -------------------------------------------------------------------

    def channels_list(self, ws: Workspace, req: Request) -> Answer:
        p = req.params
        chans = [c for c in ws.channels.list()
                 if (not p.get("uuid") or c.uuid == p["uuid"]) and (not p.get("address") or c.address == p["address"])]
        return Answer(200, single_page([serialize.channel(c) for c in chans]))

    def groups_list(self, ws: Workspace, req: Request) -> Answer:
        p = req.params
        found = ws.groups.list(uuid=p.get("uuid") or None, name=p.get("name") or None)
        return Answer(200, single_page([serialize.group(g) for g in found]))

    def groups_create(self, ws: Workspace, req: Request) -> Answer:
        data = parse_body(req.body)
        only_keys(data, ("name",))
        name = text_value(data, "name", max_length=64, required=True)
        with self.writing():
            return Answer(201, serialize.group(ws.groups.create(name or "")))

    def groups_delete(self, ws: Workspace, req: Request) -> Answer:
        uuid = req.params.get("uuid")
        if not uuid:
            raise detail(400, "URL must contain one of the following parameters: uuid")
        with self.writing():
            ws.groups.delete(uuid)
        return Answer(204)

    def fields_list(self, ws: Workspace, req: Request) -> Answer:
        found = ws.fields.list(req.params.get("key") or None)
        return Answer(200, single_page([serialize.field(f) for f in found]))

    def fields_create(self, ws: Workspace, req: Request) -> Answer:
        data = parse_body(req.body)
        only_keys(data, ("name", "type", "label", "value_type"))
        name = text_value(data, "name", max_length=36) or text_value(data, "label", max_length=36)
        kind = text_value(data, "type") or text_value(data, "value_type")
        if name is None:
            raise bad({"name": ["This field is required."]})
        if kind is None:
            raise bad({"type": ["This field is required."]})
        with self.writing():
            return Answer(201, serialize.field(ws.fields.create(name, kind)))

    def org(self, ws: Workspace, req: Request) -> Answer:
        return Answer(200, serialize.workspace(ws.info))


def single_page(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"next": None, "previous": None, "results": results}


def page_url(req: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = {k: v for k, v in req.params.items() if k != "cursor"}
    params["cursor"] = cursor
    return f"{req.url}?{urlencode(params)}"


def validation_errors(err: ValidationFailed, urns: list[str] | None = None) -> dict[str, Any]:
    """The app's per-field errors in RapidPro's shape (``urns.2`` → ``{"urns": {"2": [...]}}``)."""
    out: dict[str, Any] = {}
    for key, message in err.errors.items():
        field, _, index = key.partition(".")
        if field == "urns" and index.isdigit():
            if message.startswith("In use by another contact"):
                message = IN_USE
            elif not message.startswith("Listed twice") and urns is not None and int(index) < len(urns):
                message = INVALID_URN.format(urns[int(index)])
            out.setdefault("urns", {})[index] = [message]
        else:
            out.setdefault(field or "non_field_errors", []).append(message)
    return out
