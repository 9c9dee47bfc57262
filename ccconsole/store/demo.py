"""A realistic demo workspace, written with bulk Core inserts so that large ones are fast.

Every channel type of domain.md, two phone channels in Rwanda with distinct prefixes and one each in
Kenya and the US, a disabled phone channel (stale affinities), contacts with mixed connection types
(several of one type too), locked-in contacts with the inbound message that set their affinity,
unreachable and inactive contacts, and a few hostile names that a naive console would mangle.
Deterministic for a given seed and clock.
"""

from __future__ import annotations

import random
import uuid as uuidlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter

from sqlalchemy import DateTime, insert, update
from sqlmodel import Session

from ccconsole.store import db, problems
from ccconsole.store.models import (
    Channel,
    Connection,
    Contact,
    ContactGroup,
    FieldDef,
    FieldValue,
    GroupMembership,
    Message,
    Workspace,
)
from ccconsole.store.unit import Event, Scope, epilogue

DEMO_NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

HOSTILE_NAMES = [
    "[/]",
    "[@click=app.quit]x",
    "Evil \x1b[31mRed\x1b[0m Escape",
    "\u202eRight-to-left override\u202c",
    "مريم الحسن",
    "[bold]Not bold[/bold]",
]

FIRST = ["Jane", "Amina", "Bob", "Claudine", "Eric", "Aline", "Jean", "Divine", "Patrick", "Grace", "Olivier",
         "Esperance", "Innocent", "Solange", "Emmanuel", "Yvonne", "Samuel", "Chantal", "David", "Beatrice",
         "Joseph", "Wanjiru", "Otieno", "Akinyi", "Kamau", "Maria", "José", "Li", "Fatima", "Noah"]
LAST = ["Doe", "Uwase", "Smith", "Mukamana", "Habimana", "Niyonzima", "Uwimana", "Mugisha", "Ingabire",
        "Nshuti", "Kariuki", "Ochieng", "Mwangi", "Garcia", "Chen", "Ndayisaba", "Iradukunda", "Keza"]
GROUPS = ["Nurses", "Kigali", "Community Health Workers", "Pilot 2026", "Opted out of SMS"]

# name, type, schemes, address, country, prefixes, roles, allow international, active
CHANNELS = [
    ("MTN Rwanda", "Twilio", "tel", "+250788000100", "RW", "25078,25079", "send,receive", False, True),
    ("Airtel Rwanda", "Africa's Talking", "tel", "+250730000200", "RW", "25072,25073", "send,receive", False, True),
    ("Safaricom Kenya", "Plivo", "tel", "+254700000300", "KE", "2547", "send,receive", False, True),
    ("US Shortcode", "Vonage", "tel", "+13235550100", "US", "1", "send,receive", False, True),
    ("Clickatell ZA", "Clickatell", "tel", "+27820000400", "ZA", "27", "send,receive", False, True),
    ("Old Android", "Android", "tel", "+250722000500", "RW", "", "send,receive", False, False),
    ("Twitter @kigalihealth", "Twitter", "twitter,twitterid", "kigalihealth", None, "", "send,receive", False, True),
    ("Telegram bot", "Telegram", "telegram", "KigaliHealthBot", None, "", "send,receive", False, True),
    ("Email", "Email", "mailto", "hello@kigalihealth.org", None, "", "send,receive", False, True),
    ("Surveyor", "Surveyor", "mailto", "surveyor", None, "", "receive", False, True),
    ("External API", "External API", "ext", "https://api.example.org/hook", None, "", "send,receive", False, True),
]


@dataclass
class DemoSummary:
    contacts: int
    channels: int
    locked_in: int
    stale: int
    seconds: float = 0.0


def _digits(rng: random.Random, n: int) -> str:
    """``n`` random digits; the same draws as ``rng.choice("0123456789")`` n times, without the
    per-call overhead (a million-contact demo draws tens of millions of digits)."""
    below = rng._randbelow
    return "".join([DIGITS[below(10)] for _ in range(n)])


DIGITS = "0123456789"
MESSAGES = ("Hello", "STOP", "Muraho", "Yes", "Appointment?")
LANGUAGES = (None, "eng", "kin", "fra")


def _uuid4(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, a few times faster."""
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
    bits = (bits & ~(0xF000 << 64)) | (4 << 76)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _phone(rng: random.Random, kind: str, wide: bool = False) -> str:
    if kind == "rw":
        return "+25078" + _digits(rng, 7) if rng.random() < 0.6 else "+25073" + _digits(rng, 7)
    if kind == "ke":
        return "+2547" + _digits(rng, 8)
    if kind == "us":
        if wide:  # any exchange (2-9xx) of the area code
            return "+1323" + "23456789"[rng._randbelow(8)] + _digits(rng, 6)
        return "+1323" + rng.choice(["375", "555", "641"]) + _digits(rng, 4)
    if kind == "de":
        return "+49171" + _digits(rng, 7)
    return "+59399" + _digits(rng, 7)  # Ecuador: no channel


DIRT_PERCENT = 3  # of the demo's contacts (from 100 on) are dirty, in the ways below


def _dirty(rng: random.Random, k: int, cid: int, samples: list[tuple[str, str]]) -> tuple[str, list[str]]:
    """The ``k``-th dirty contact: a name and its connections, one kind of dirt each in turn. Some are
    look-alikes of a clean contact (``samples``): its number stored local, its WhatsApp twin, or its
    name with the same number under another country code."""
    name = f"{FIRST[rng._randbelow(len(FIRST))]} {LAST[rng._randbelow(len(LAST))]}"
    like_name, like = samples[rng._randbelow(len(samples))] if samples else (name, f"tel:+25078{cid:07d}")
    national = "0" + like[len("tel:+250"):]  # the same number as staff type it locally
    kind = k % 9
    if kind in (0, 1):  # a local number (re-normalizes in place)
        return name, [f"tel:07{'8' if kind else '3'}{_digits(rng, 7)}"]
    if kind == 2:  # someone else's number, stored local: a local number *and* a duplicate
        return name, [f"tel:{national}"]
    if kind == 3:  # invalid connections
        return name, [rng.choice(["mailto:not-an-email", f"telegram:tg{cid}", "twitter:bad handle!"])
                      .replace("not-an-email", f"not-an-email-{cid}").replace("bad handle!", f"bad handle {cid}"),
                      f"mailto:dirty{cid}@example.org"]
    if kind == 4:  # bad numbers: not valid, a short code, a sender id
        return name, [rng.choice([f"tel:+25071{_digits(rng, 7)}", f"tel:{100 + cid % 900}",
                                  f"tel:INFO{cid}"])]
    if kind == 5:  # the WhatsApp twin of a clean contact's phone
        return like_name, [f"whatsapp:{like[len('tel:+'):]}"]
    if kind == 6:  # the same name and the same last 8 digits under another country code
        return like_name, [f"tel:+2547{like[-8:]}"]
    if kind == 7:  # no connection at all
        return name, []
    return name, [f"tel:{national}", f"mailto:dirty{cid}@example.org"]  # a second local look-alike


def build_demo(scope: Scope, contacts: int = 3000, seed: int = 7, now: datetime = DEMO_NOW,
               progress: Callable[[int, int], None] | None = None, chunk: int = 50000,
               dirt: bool = True) -> DemoSummary:
    """Fill an empty workspace with the demo (bulk inserts; ids assigned here, so the tables must be empty)."""
    rng = random.Random(seed)
    ws = scope.workspace.id
    engine = scope.engine
    with engine.begin() as conn:
        conn.execute(update(Workspace).where(Workspace.id == ws).values(name="Kigali Health", country="RW",
                                                                         timezone="Africa/Kigali"))
        chan_rows = []
        for i, (name, ctype, schemes, address, country, prefixes, roles, intl, active) in enumerate(CHANNELS):
            chan_rows.append(dict(id=i + 1, uuid=str(uuidlib.UUID(int=rng.getrandbits(128), version=4)),
                                  workspace_id=ws, name=name, type=ctype, address=address, schemes=schemes,
                                  roles=roles, country=country, match_prefixes=prefixes,
                                  allow_international=intl, active=active,
                                  created_on=now - timedelta(days=400 - i * 10)))
        conn.execute(insert(Channel), chan_rows)
        conn.execute(insert(ContactGroup), [dict(id=i + 1, workspace_id=ws, name=g) for i, g in enumerate(GROUPS)])
        conn.execute(insert(FieldDef), [dict(id=1, workspace_id=ws, key="age", name="Age", value_type="number"),
                                        dict(id=2, workspace_id=ws, key="district", name="District",
                                             value_type="text")])
    scope.workspace = type(scope.workspace)(ws, "Kigali Health", "RW", "Africa/Kigali")
    by_name = {r["name"]: r["id"] for r in chan_rows}
    rw_channels = [by_name["MTN Rwanda"], by_name["Airtel Rwanda"]]
    statuses = ["active"] * 90 + ["blocked"] * 4 + ["stopped"] * 4 + ["archived"] * 2
    districts = ["Gasabo", "Kicukiro", "Nyarugenge", "Musanze", "Huye", "Rubavu"]
    seen: set[str] = set()
    counts = {"locked": 0, "stale": 0}
    next_conn = 1
    next_msg = 1

    def unique(identity: str) -> str | None:
        if identity in seen:
            return None
        seen.add(identity)
        return identity

    def phone(kind: str) -> str:
        """A random number of ``kind`` nobody has yet (at a million contacts the random ones collide,
        and the demo's few US exchanges run out: then any exchange of the area code)."""
        number = "tel:" + _phone(rng, kind)
        tries = 0
        while number in seen:
            tries += 1
            number = "tel:" + (_phone(rng, kind) if tries < 3 else _phone(rng, kind, wide=True))
        return number

    below, rand = rng._randbelow, rng.random  # choice(s) is s[below(len(s))]; randint(a, b) is a + below(b - a + 1)
    n_first, n_last, n_statuses, n_groups = len(FIRST), len(LAST), len(statuses), len(GROUPS)
    deferred = _drop_indexes(engine, BULK_TABLES) if contacts >= DEFER_INDEXES_FROM else []
    # the dirt comes from its own random stream, after the clean contacts: those stay as they always were
    first_dirty = contacts - (contacts * DIRT_PERCENT // 100 if contacts >= 100 and dirt else 0)
    dirty_rng = random.Random(seed + 1)
    samples: list[tuple[str, str]] = []  # (name, E.164 Rwandan number) of clean contacts, for look-alikes
    done = 0
    while done < contacts:
        batch = min(chunk, contacts - done)
        c_rows, u_rows, m_rows, g_rows, f_rows = [], [], [], [], []
        for n in range(done, done + batch):
            cid = n + 1
            if n >= first_dirty:  # the last few percent: the cleanup workbench's work (domain.md section 8)
                name, dirty = _dirty(dirty_rng, n - first_dirty, cid, samples)
                c_rows.append(dict(id=cid, uuid=_uuid4(dirty_rng.getrandbits(128)), workspace_id=ws, name=name,
                                   language=None, status="active", created_on=now - timedelta(days=1 + n % 300),
                                   modified_on=now - timedelta(days=1 + n % 300), last_seen_on=None,
                                   deleted_on=None, version=1))
                for index, identity in enumerate(i for i in (unique(x) for x in dirty) if i):
                    scheme, _, path = identity.partition(":")
                    u_rows.append(dict(id=next_conn, workspace_id=ws, contact_id=cid, scheme=scheme, path=path,
                                       display=None, identity=identity, priority=1000 - index,
                                       affinity_channel_id=None, affinity_since=None, affinity_message_id=None))
                    next_conn += 1
                continue
            name = HOSTILE_NAMES[n] if n < len(HOSTILE_NAMES) else \
                f"{FIRST[below(n_first)]} {LAST[below(n_last)]}" if rand() < 0.998 else ""
            status = statuses[below(n_statuses)]
            created = now - timedelta(days=1 + below(700), seconds=below(86400))
            shape = rand()
            idents: list[str] = []
            if shape < 0.55:  # Rwandan phone first, sometimes a second phone, often an email
                idents.append(phone("rw"))
                if rand() < 0.3:
                    idents.append(phone(("rw", "de", "us")[below(3)]))
            elif shape < 0.65:
                idents.append(phone("ke"))
            elif shape < 0.70:
                idents.append(phone("us"))
            elif shape < 0.78:
                idents.append("twitter:" + f"{FIRST[below(n_first)].lower()}_{cid}"[:15])
                idents.append(phone("rw"))
            elif shape < 0.85:
                idents.append(f"telegram:{100000000 + cid}")
            elif shape < 0.90:
                idents.append(f"mailto:user{cid}@example.org")
            elif shape < 0.93:
                idents.append(f"ext:EXT-{cid:07d}")
            elif shape < 0.96:
                idents.append(phone("ec"))  # unreachable: no channel for Ecuador
                if rand() < 0.5:
                    idents.append(f"whatsapp:{593990000000 + cid}")
            else:
                idents.append(rng.choice([f"whatsapp:{250780000000 + cid}", f"viber:v{cid}",
                                          f"line:line_{cid}", f"facebook:{1000 + cid}"]))
            if rand() < 0.35:
                idents.append(f"mailto:{FIRST[below(n_first)].lower()}.{cid}@example.org")
            if rand() < 0.1:
                idents.append(f"telegram:{200000000 + cid}")
            idents = [i for i in (unique(x) for x in idents) if i]
            if idents and idents[0].startswith("tel:+250") and name and len(samples) < 5000 and n % 7 == 0:
                samples.append((name, idents[0]))
            last_seen = None
            for index, identity in enumerate(idents):
                scheme, _, path = identity.partition(":")
                affinity = since = msg_id = None
                if index == 0 and scheme == "tel" and path.startswith("+250"):
                    roll = rand()
                    if roll < 0.25:  # wrote in: locked in to one of the two Rwandan channels
                        affinity = rw_channels[below(2)]
                        counts["locked"] += 1
                    elif roll < 0.30:  # wrote in on a phone that has since been retired
                        affinity = by_name["Old Android"]
                        counts["stale"] += 1
                if affinity is not None:
                    since = created + timedelta(days=below(31), minutes=below(1441))
                    msg_id = next_msg
                    next_msg += 1
                    m_rows.append(dict(id=msg_id, workspace_id=ws, contact_id=cid, connection_id=next_conn,
                                       channel_id=affinity, direction="in",
                                       text=MESSAGES[below(5)],
                                       created_on=since))
                    last_seen = since
                u_rows.append(dict(id=next_conn, workspace_id=ws, contact_id=cid, scheme=scheme, path=path,
                                   display=None, identity=identity, priority=1000 - index,
                                   affinity_channel_id=affinity, affinity_since=since, affinity_message_id=msg_id))
                next_conn += 1
            c_rows.append(dict(id=cid, uuid=_uuid4(rng.getrandbits(128)), workspace_id=ws,
                               name=name, language=LANGUAGES[below(4)], status=status,
                               created_on=created, modified_on=created, last_seen_on=last_seen,
                               deleted_on=None, version=1))
            if rand() < 0.4:
                g_rows.append(dict(contact_id=cid, group_id=1 + below(n_groups)))
            if rand() < 0.5:
                f_rows.append(dict(contact_id=cid, field_id=1, value=str(16 + below(65))))
                f_rows.append(dict(contact_id=cid, field_id=2, value=districts[below(6)]))
        with bulk_connection(engine) as conn:
            for table, rows in ((Contact, c_rows), (Connection, u_rows), (Message, m_rows),
                                (GroupMembership, g_rows), (FieldValue, f_rows)):
                bulk_insert(conn, table, rows)
            epilogue(conn, scope, ())  # consoles watching see each batch arrive
            conn.commit()
        done += batch
        if progress:
            progress(done, contacts)
    _create_indexes(engine, deferred)
    _fix_sequences(scope)
    analyze(engine)
    summary = DemoSummary(contacts, len(CHANNELS), counts["locked"], counts["stale"])
    with Session(engine) as s:  # the problems of every contact (the cleanup workbench's first work)
        problems.rescan(s, scope)
        s.commit()
    with engine.begin() as conn:
        epilogue(conn, scope, [Event("workspace.demo", after={"contacts": contacts, "channels": len(CHANNELS),
                                                                "seed": seed})])
    return summary


@contextmanager
def bulk_connection(engine):
    """A connection for bulk writes. On SQLite: no fsync, no foreign-key checks (the demo writes
    consistent ids itself) and a big page cache, for this connection only; restored afterwards."""
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        # pragmas only work outside a transaction: run them on the driver's connection, which
        # autocommits (store.db turns the driver's own BEGIN off)
        raw = conn.connection.dbapi_connection if sqlite else None
        if raw is not None:
            for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-262144"):
                raw.execute(f"PRAGMA {pragma}")
        try:
            yield conn
        finally:
            if raw is not None:
                conn.rollback()
                for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "cache_size=-2000"):
                    raw.execute(f"PRAGMA {pragma}")


def _sqlite_time(value: datetime | None) -> str | None:
    """What SQLAlchemy's SQLite DateTime stores for an aware datetime: naive UTC text."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return f"{value.isoformat(' ')[:19]}.{value.microsecond:06d}"  # isoformat: C speed, strftime is not


def bulk_insert(conn, table, rows: list[dict]) -> None:
    """Insert many rows. On SQLite straight through the driver's executemany (the Core layer's
    per-value processing costs more than SQLite's own work); elsewhere a Core executemany."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    get = itemgetter(*columns)
    times = [i for i, c in enumerate(columns)
             if isinstance(getattr(table.__table__.c[c].type, "impl", table.__table__.c[c].type), DateTime)]
    if times:
        params = []
        for row in rows:
            values = list(get(row))
            for i in times:
                values[i] = _sqlite_time(values[i])
            params.append(tuple(values))
    else:
        params = [get(row) for row in rows]
    sql = (f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    conn.exec_driver_sql(sql, params)


BULK_TABLES = ("contact", "connection", "message", "group_membership", "field_value")
DEFER_INDEXES_FROM = 50_000  # contacts: below this, building the indexes as rows arrive is as quick


def _drop_indexes(engine, tables) -> list[str]:
    with engine.connect() as conn:
        statements = db.drop_plain_indexes(conn, tables)
        conn.commit()
    return statements


def _create_indexes(engine, statements: list[str]) -> None:
    if not statements:
        return
    with bulk_connection(engine) as conn:
        db.create_indexes(conn, statements)
        conn.commit()


def analyze(engine) -> None:
    """Refresh the planner's statistics after a bulk load: with them SQLite answers a search for one
    connection from the connection index instead of walking every contact in name order."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def _fix_sequences(scope: Scope) -> None:
    """PostgreSQL sequences do not see explicit ids: move them past what the demo wrote."""
    if scope.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    with scope.engine.begin() as conn:
        for table in ("channel", "contact", "connection", "message", "contact_group", "field_def"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
