"""Wire details of RapidPro's API v2: datetimes, cursors, request bodies and their validation errors."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

MAX_BODY = 1024 * 1024  # bytes
PAGE_SIZE = 250


class ApiError(Exception):
    """An answer other than success: its status and JSON body (None: no body)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, text: str) -> ApiError:
    return ApiError(status, {"detail": text})


def bad(errors: dict[str, Any]) -> ApiError:
    return ApiError(400, errors)


def iso(value: datetime | None) -> str | None:
    """UTC with microseconds and Z, as RapidPro writes them."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 datetime (naive = UTC), or None when it does not parse."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_uuid(text: str) -> bool:
    try:
        uuidlib.UUID(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"[0-9a-fA-F-]{32,36}", text))


def flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# --- cursors: where a page starts, opaque to clients -------------------------------------------------


def encode_cursor(direction: str, modified: datetime, contact_id: int) -> str:
    raw = f"{direction}|{iso(modified)}|{contact_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, datetime, int]:
    """(``n`` for the next page or ``p`` for the previous one, key); 404 ``Invalid cursor`` when bad."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        direction, when, ident = raw.split("|")
        modified = parse_datetime(when)
        if direction not in ("n", "p") or modified is None or not ident.isdigit():
            raise ValueError(raw)
        return direction, modified, int(ident)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise detail(404, "Invalid cursor") from err


# --- bodies ------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_text(value: Any, path: str) -> None:
    """NUL characters and lone surrogates are refused wherever they are, keys too (iteratively: a
    deeply nested body cannot exhaust the stack)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise bad({path or "non_field_errors": ["Text must not contain NUL characters."]})
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as err:
                raise bad({path or "non_field_errors": ["Text must be valid Unicode (no lone surrogates)."]}) from err
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body (no body: ``{}``); 400 for anything else."""
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise bad({"detail": "JSON parse error - the body is not valid UTF-8."}) from err
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as err:
        raise bad({"detail": "JSON parse error - nested too deeply."}) from err
    except ValueError as err:
        raise bad({"detail": f"JSON parse error - {str(err).splitlines()[0][:200]}"}) from err
    if not isinstance(data, dict):
        raise bad({"non_field_errors": ["Request body should be a single JSON object"]})
    for key, value in data.items():
        _check_text(key, "non_field_errors")
        _check_text(value, key)
    return data


def only_keys(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        shown = ", ".join(json.dumps(k, ensure_ascii=True)[:60] for k in unknown[:5])
        raise bad({"non_field_errors": [f"Unknown field(s): {shown}. Allowed: {', '.join(allowed)}."]})


def text_value(data: dict[str, Any], key: str, *, max_length: int | None = None,
               required: bool = False) -> str | None:
    """A string key of the body (None: absent or null)."""
    if key not in data or data[key] is None:
        if required:
            raise bad({key: ["This field is required."]})
        return None
    value = data[key]
    if not isinstance(value, str):
        raise bad({key: ["Not a valid string."]})
    if max_length is not None and len(value) > max_length:
        raise bad({key: [f"Ensure this field has no more than {max_length} characters."]})
    return value


def list_value(data: dict[str, Any], key: str, *, max_items: int) -> list[str] | None:
    """A list of strings (None: absent or null)."""
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if not isinstance(value, list):
        raise bad({key: [f'Expected a list of items but got type "{type(value).__name__}".']})
    if len(value) > max_items:
        raise bad({key: [f"Ensure this field has no more than {max_items} elements."]})
    wrong = {str(i): ["Not a valid string."] for i, item in enumerate(value) if not isinstance(item, str)}
    if wrong:
        raise bad({key: wrong})
    return value
