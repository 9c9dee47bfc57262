"""Hostile and malformed requests (400/413, one clear message, nothing written, never a 500) and the
throttle, whose counters live in the database: two servers on one database throttle as one."""

from __future__ import annotations

import json

import requests

from tests.api.conftest import serve


def messages(body) -> str:
    """Every message of an error body, joined."""
    if isinstance(body, dict):
        return " ".join(messages(v) for v in body.values())
    if isinstance(body, list):
        return " ".join(messages(v) for v in body)
    return str(body)


def send(api, body: bytes, *, name: str = "contacts", params=None, headers=None):
    return requests.post(api.endpoint(name), data=body, params=params or {},
                         headers={**api.headers, "Content-Type": "application/json", **(headers or {})}, timeout=10)


def test_bad_bodies_get_400_and_write_nothing(api):
    uuid = api.ws.contacts.create("Target", ["tel:+250788111222"]).uuid
    seq, count = api.ws.change_seq(), api.ws.browse.count()
    cases = [
        (b'{"name": "Ann"', "JSON parse error"),
        (b"[1, 2]", "Request body should be a single JSON object"),
        (b'"just a string"', "Request body should be a single JSON object"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"name": NaN}', "JSON parse error"),
        (b'{"name": "A\\u0000B"}', "NUL"),
        (b'{"name": "\\ud800"}', "lone surrogates"),
        (b'{"name": 12}', "Not a valid string."),
        (b'{"urns": "tel:+250788111333"}', 'Expected a list of items but got type "str".'),
        (b'{"urns": [12]}', "Not a valid string."),
        (b'{"fields": ["age"]}', "Expected a dictionary"),
        (b'{"fields": {"age": {"x": 1}}}', "not a string"),
        (b'{"name": "Ann", "is_admin": true}', "Unknown field(s)"),
        (b'{"groups": "Nurses"}', 'Expected a list of items but got type "str".'),
        (b"[" * 100000 + b"]" * 100000, "JSON parse error"),
        (b'{"name": ' + b"[" * 900 + b"]" * 900 + b"}", "Not a valid string."),
    ]
    for params in ({}, {"uuid": uuid}):
        for body, expected in cases:
            r = send(api, body, params=params)
            assert r.status_code == 400, (body[:40], r.status_code, r.text)
            assert expected in messages(r.json()), (body[:40], r.json())
    for body in (b'{"contacts": "x", "action": "block"}', b'{"contacts": ["a"], "action": 3}', b"[]",
                 b'{"contacts": [1], "action": "block"}'):
        assert send(api, body, name="contact_actions").status_code == 400, body
    huge = json.dumps({"name": "x", "padding": "y" * (2 * 1024 * 1024)}).encode()
    r = send(api, huge)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert api.ws.change_seq() == seq and api.ws.browse.count() == count
    assert api.ws.contacts.get(uuid).name == "Target"


def test_hostile_text_is_stored_as_given_and_returned_as_json(api):
    name = "\x1b]0;pwned\x07\u202eevil\u200b"
    r = send(api, json.dumps({"name": name}).encode())
    assert r.status_code == 201 and r.json()["name"] == name
    assert api.ws.contacts.get(r.json()["uuid"]).name == name


def test_unknown_endpoints_and_paths_are_404(api):
    r = requests.get(f"{api.url}/api/v2/flows.json", headers=api.headers, timeout=10)
    assert (r.status_code, r.json()) == (404, {"detail": "Not found."})
    assert requests.get(f"{api.url}/admin", timeout=10).status_code == 404


def test_the_throttle_is_shared_by_servers_on_one_database(backend_url):
    from tests.store_helpers import rw_store

    ws = rw_store(backend_url)
    _, token = ws.tokens.add("carol")
    headers = {"Authorization": f"Token {token}"}
    # a day's window: no window boundary falls inside the test (except at midnight UTC)
    one, two = serve(backend_url, throttle_rate="3/day"), serve(backend_url, throttle_rate="3/day")
    try:
        codes = [requests.get(f"{s.url}/api/v2/contacts.json", headers=headers, timeout=10).status_code
                 for s in (one, two, one)]
        assert codes == [200, 200, 200]
        r = requests.get(f"{two.url}/api/v2/contacts.json", headers=headers, timeout=10)
        assert r.status_code == 429
        wait = int(r.headers["Retry-After"])
        assert 0 < wait <= 86400
        assert r.json() == {"detail": f"Request was throttled. Expected available in {wait} seconds."}
        # other endpoints count in their own scope
        assert requests.get(f"{two.url}/api/v2/org.json", headers=headers, timeout=10).status_code == 200
    finally:
        one.stop()
        two.stop()
        ws.close()
