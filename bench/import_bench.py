"""Import benchmark: a generated 100k-row RapidPro file into a fresh SQLite database.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--format csv|xlsx] [--no-naive] [--repeat 3]

Prints JSON: rows/s and peak RSS (ru_maxrss) of

- ``fast``: the real import (``ccconsole.store.importer.import_file``: streamed; read and parsed by
  two reader processes one chunk ahead; planned per chunk; bulk executemany statements built from
  the tables' Core metadata and run through SQLAlchemy's connection; one transaction), run
  ``--repeat`` times (each into a fresh database), median reported;
- ``naive``: FOR COMPARISON ONLY, the same file through a naive path written here (and only here):
  one owner query and one ORM object per row, ``session.add`` each, one commit at the end.

Each run is a separate subprocess, so its peak RSS is its own. Target: fast ≥ 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADERS = ["Name", "Language", "URN:Tel", "URN:Tel", "URN:Mailto", "URN:Twitter", "URN:Telegram",
           "Field:Age", "Field:District", "Group:Nurses"]
FIRST = ["Jane", "Amina", "Bob", "Claudine", "Eric", "Aline", "Jean", "Divine", "Patrick", "Grace"]
LAST = ["Doe", "Uwase", "Smith", "Mukamana", "Habimana", "Niyonzima", "Kariuki", "Garcia", "Chen"]
DISTRICTS = ["Gasabo", "Kicukiro", "Nyarugenge", "Musanze", "Huye", "Rubavu"]


def generate(path: Path, rows: int, fmt: str, seed: int = 11) -> None:
    """Mixed national (07…) and international (+2547…, +1…, 2.5078…e+11) numbers, several types, fields."""
    rng = random.Random(seed)

    def row(n: int) -> list:
        kind = n % 10
        digits = f"{n:07d}"
        if kind < 4:
            tel = "078" + digits  # national, Rwanda (the workspace country)
        elif kind < 6:
            tel = "+250 73" + digits[:1] + " " + digits[1:]  # international with spaces
        elif kind < 7:
            tel = "+2547" + f"{n:08d}"  # Kenya
        elif kind < 8:
            tel = 250720000000 + n if fmt == "xlsx" else f"{250720000000 + n:.11e}"  # spreadsheet-mangled
        elif kind < 9:
            tel = f"+1 (323) {n % 1000:03d}-{n // 1000 % 10000:04d}" if n < 10_000_000 else ""
        else:
            tel = ""
        second = "+4917" + f"{n:08d}" if n % 7 == 0 else ""
        mail = f"user{n}@example.org" if n % 3 == 0 else ""
        twitter = f"@handle_{n}" if n % 5 == 0 else ""
        telegram = str(100000000 + n) if (kind == 9 or n % 11 == 0) else ""
        return [f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(["eng", "kin", "fra", ""]), tel, second,
                mail, twitter, telegram, rng.randint(16, 80), rng.choice(DISTRICTS), rng.random() < 0.3]

    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADERS)
            for n in range(rows):
                w.writerow(row(n))
    else:
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Contacts")
        ws.append(HEADERS)
        for n in range(rows):
            ws.append(row(n))
        wb.save(path)


def fresh_store(db: Path):
    from ccconsole.app import open_workspace

    return open_workspace(f"sqlite:///{db}", actor="bench", workspace_name="Bench", country="RW")


def run_fast(file: Path, db: Path) -> dict:

    store = fresh_store(db)
    started = time.perf_counter()
    report = store.transfer.import_file(file)
    seconds = time.perf_counter() - started
    return {"created": report.created, "errored": report.errored, "rows": report.rows, "seconds": seconds}


def run_naive(file: Path, db: Path) -> dict:
    """NAIVE COMPARISON PATH (benchmark only, not used by ccconsole): one query and ORM objects per row."""
    import uuid as uuidlib

    from sqlalchemy import select
    from sqlmodel import Session

    from ccconsole.core import importing as imp
    from ccconsole.store.importer import open_sheet
    from ccconsole.store.models import Connection, Contact, FieldDef, FieldValue

    store = fresh_store(db)
    ws = store.info
    sheet = open_sheet(file)
    started = time.perf_counter()
    created = errored = rows = 0
    with Session(store.scope.engine) as s:
        fields: dict[str, int] = {}
        it = sheet.rows()
        headers = imp.parse_headers(next(it))
        for number, cells in enumerate(it, start=2):
            parsed = imp.parse_row(headers, number, cells, country=ws.country, tz=ws.timezone,
                                   csv=sheet.kind == "csv", xlsx=sheet.kind == "xlsx")
            if parsed is None:
                continue
            rows += 1
            owned = s.execute(select(Connection.contact_id).where(
                Connection.workspace_id == ws.id, Connection.identity.in_(parsed.identities))).first()
            if parsed.error or owned or parsed.invalid:
                errored += 1
                continue
            contact = Contact(uuid=str(uuidlib.uuid4()), workspace_id=ws.id,
                              name=parsed.attrs.get("name", "") or "", language=parsed.attrs.get("language"))
            s.add(contact)
            s.flush()
            for index, urn in enumerate(parsed.urns):
                s.add(Connection(workspace_id=ws.id, contact_id=contact.id, scheme=urn.scheme, path=urn.path,
                                 identity=urn.identity, priority=1000 - index))
            for key, (label, value) in parsed.fields.items():
                if key not in fields:
                    fdef = FieldDef(workspace_id=ws.id, key=key, name=label)
                    s.add(fdef)
                    s.flush()
                    fields[key] = fdef.id
                s.add(FieldValue(contact_id=contact.id, field_id=fields[key], value=value))
            created += 1
        s.commit()
    return {"created": created, "errored": errored, "rows": rows, "seconds": time.perf_counter() - started}


def child(mode: str, file: Path, db: Path) -> None:
    result = (run_fast if mode == "fast" else run_naive)(file, db)
    result["rows_per_s"] = round(result["rows"] / result["seconds"]) if result["seconds"] else None
    result["seconds"] = round(result["seconds"], 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    # the largest of the reader processes (ru_maxrss of waited-for children is their maximum)
    result["reader_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--no-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the fast path (the median is reported)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / f"contacts.{args.format}"
        started = time.perf_counter()
        generate(file, args.rows, args.format)
        out = {"rows": args.rows, "format": args.format, "file_mb": round(file.stat().st_size / 2**20, 1),
               "generate_seconds": round(time.perf_counter() - started, 1)}
        def run(mode: str, n: int) -> dict:
            proc = subprocess.run([sys.executable, __file__, "--child", mode, str(file),
                                   str(Path(tmp) / f"{mode}{n}.db")],
                                  capture_output=True, text=True, check=True)
            return json.loads(proc.stdout.strip().splitlines()[-1])

        runs = sorted((run("fast", n) for n in range(max(1, args.repeat))), key=lambda r: r["rows_per_s"])
        out["fast"] = {**runs[len(runs) // 2], "runs_rows_per_s": [r["rows_per_s"] for r in runs]}
        if not args.no_naive:
            out["naive"] = run("naive", 0)
        out["target_rows_per_s"] = 20_000
        out["fast_meets_target"] = (out["fast"]["rows_per_s"] or 0) >= 20_000
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
