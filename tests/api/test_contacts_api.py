"""The Contacts API through a real server on a real port, with RapidPro's own Python client
(``temba_client``) and with plain HTTP for the wire details, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
import requests
from temba_client.exceptions import TembaBadRequestError, TembaNoSuchObjectError, TembaTokenError
from temba_client.v2 import TembaClient

_numbers = itertools.count(1000)


def number() -> str:
    """A Rwandan MTN number nobody in this module has yet (local form, E.164 form)."""
    n = next(_numbers)
    return f"tel:078{n:07d}", f"tel:+25078{n:07d}"


@pytest.fixture
def client(api) -> TembaClient:
    return TembaClient(api.url, api.token)


def make_group(api, name: str) -> str:
    return api.ws.groups.create(name).uuid


def get(api, name: str, **params):
    return requests.get(api.endpoint(name), params=params, headers=api.headers, timeout=10)


def post(api, name: str, body=None, *, params=None, data=None):
    return requests.post(api.endpoint(name), params=params or {}, json=body, data=data, headers=api.headers,
                         timeout=10)


# --- listing ---------------------------------------------------------------------------------------


def test_pages_of_250_follow_next_and_resume_from_a_cursor(api, client):
    group = "Paged"
    make_group(api, group)
    with api.ws.transaction() as uow:
        for i in range(260):
            api.ws.contacts.create_in(uow, f"Paged {i:03d}", [number()[1]], groups=[group])
    batches = list(client.get_contacts(group=group).iterfetches())
    assert [len(b) for b in batches] == [250, 10]
    listed = [c for b in batches for c in b]
    assert len({c.uuid for c in listed}) == 260
    keys = [(c.modified_on, c.name) for c in listed]
    assert [k[0] for k in keys] == sorted((k[0] for k in keys), reverse=True)  # newest modified first

    it = client.get_contacts(group=group).iterfetches()
    first = next(it)
    cursor = it.get_cursor()
    assert cursor
    rest = list(client.get_contacts(group=group).iterfetches(resume_cursor=cursor))
    assert [c.uuid for c in first] == [c.uuid for c in batches[0]]
    assert [c.uuid for b in rest for c in b] == [c.uuid for c in batches[1]]

    oldest_first = client.get_contacts(group=group, reverse=True).all()
    assert [c.uuid for c in oldest_first] == [c.uuid for c in reversed(listed)]

    # the wire: absolute next/previous URLs carrying the filters; previous leads back to page one
    page1 = get(api, "contacts", group=group).json()
    assert page1["previous"] is None and page1["next"].startswith(api.url + "/api/v2/contacts.json?")
    assert "group=Paged" in page1["next"]
    page2 = requests.get(page1["next"], headers=api.headers, timeout=10).json()
    assert len(page2["results"]) == 10 and page2["next"] is None
    back = requests.get(page2["previous"], headers=api.headers, timeout=10).json()
    assert [c["uuid"] for c in back["results"]] == [c["uuid"] for c in page1["results"]]
    assert back["previous"] is None and back["next"]


def test_filters(api, client):
    local, e164 = number()
    group_uuid = make_group(api, "Filtered")
    ann = api.ws.contacts.create("Ann", [e164], groups=["Filtered"])
    bob = api.ws.contacts.create("Bob", [number()[1]])
    assert [c.uuid for c in client.get_contacts(uuid=ann.uuid).all()] == [ann.uuid]
    assert [c.uuid for c in client.get_contacts(urn=local).all()] == [ann.uuid]  # normalized with RW
    assert [c.uuid for c in client.get_contacts(group="Filtered").all()] == [ann.uuid]
    assert [c.uuid for c in client.get_contacts(group=group_uuid).all()] == [ann.uuid]
    assert client.get_contacts(group="No such group").all() == []
    api.ws.contacts.delete(bob.uuid)
    deleted = client.get_contacts(deleted=True).all()
    assert bob.uuid in {c.uuid for c in deleted} and ann.uuid not in {c.uuid for c in deleted}
    assert bob.uuid not in {c.uuid for c in client.get_contacts().all()}
    gone = get(api, "contacts", uuid=bob.uuid, deleted=1).json()["results"][0]
    assert gone["urns"] == [] and gone["groups"] == [] and gone["fields"] == {} and gone["name"] is None
    assert gone["created_on"].endswith("Z") and gone["modified_on"]

    stamp = client.get_contacts(uuid=ann.uuid).first().modified_on
    assert [c.uuid for c in client.get_contacts(group="Filtered", after=stamp).all()] == [ann.uuid]
    assert [c.uuid for c in client.get_contacts(group="Filtered", before=stamp).all()] == [ann.uuid]  # inclusive
    assert client.get_contacts(group="Filtered", after=stamp + timedelta(microseconds=1)).all() == []
    assert client.get_contacts(group="Filtered", before=stamp - timedelta(microseconds=1)).all() == []
    assert get(api, "contacts", after="yesterday").json()["results"] == []

    r = get(api, "contacts", uuid="not-a-uuid")
    assert r.status_code == 400 and r.json() == {"detail": "Param 'uuid': not-a-uuid is not a valid UUID."}


def test_contact_shape_and_expand_urns_with_the_route(api):
    _, e164 = number()
    api.ws.messages.receive("MTN", e164, "hello")  # the number's affinity: MTN
    view = api.ws.contacts.get(e164)
    api.ws.contacts.update(view.uuid, name="Cleo", urns=[e164, "twitter:cleo_x"], groups=["Nurses"],
                           fields={"age": "31"}, language="kin")
    plain = get(api, "contacts", uuid=view.uuid).json()["results"][0]
    assert set(plain) == {"uuid", "name", "status", "language", "urns", "groups", "fields", "flow", "created_on",
                          "modified_on", "last_seen_on", "blocked", "stopped"}
    nurses = api.ws.groups.find("Nurses")
    assert plain["urns"] == [e164, "twitter:cleo_x"]
    assert plain["groups"] == [{"uuid": nurses.uuid, "name": "Nurses"}]
    assert plain["fields"] == {"age": "31", "district": None}
    assert plain["language"] == "kin" and plain["status"] == "active" and plain["blocked"] is False
    assert plain["last_seen_on"].endswith("Z") and len(plain["last_seen_on"]) == len("2026-11-30T09:14:03.123456Z")
    mtn = api.ws.channels.find("MTN")
    full = get(api, "contacts", uuid=view.uuid, expand_urns=1).json()["results"][0]
    assert full["urns"] == [
        {"scheme": "tel", "path": e164[4:], "display": None, "channel": {"uuid": mtn.uuid, "name": "MTN"}},
        {"scheme": "twitter", "path": "cleo_x", "display": None, "channel": None}]
    assert full["route"]["channel"] == "MTN" and full["route"]["connection"] == e164
    assert get(api, "contacts", uuid=view.uuid, route=1).json()["results"][0]["route"] == full["route"]


# --- writing ---------------------------------------------------------------------------------------


def test_create_update_by_uuid_and_by_urn(api, client):
    local, e164 = number()
    created = client.create_contact(name="Dan", language="eng", urns=[local], fields={"age": "40"},
                                    groups=["Nurses"])
    assert created.urns == [e164] and created.fields == {"age": "40", "district": None}
    assert [g.name for g in created.groups] == ["Nurses"]
    updated = client.update_contact(created.uuid, name="Daniel", fields={"district": "Gasabo"})
    assert updated.name == "Daniel" and updated.language == "eng"  # only the keys given change
    assert updated.fields == {"age": "40", "district": "Gasabo"}
    assert client.update_contact(created.uuid, fields={"age": ""}).fields == {"age": None, "district": "Gasabo"}
    by_urn = client.update_contact(local, name="Dan again")
    assert by_urn.uuid == created.uuid and by_urn.name == "Dan again"
    stored = api.ws.contacts.get(created.uuid)
    assert stored.name == "Dan again" and [c.identity for c in stored.connections] == [e164]

    # ?urn= for a number nobody has: a new contact with it (201)
    fresh_local, fresh = number()
    r = post(api, "contacts", {"name": "Eve"}, params={"urn": fresh_local})
    assert r.status_code == 201 and r.json()["urns"] == [fresh]
    r = post(api, "contacts", {"urns": ["tel:+250788000111"]}, params={"urn": fresh})
    assert r.status_code == 400 and r.json() == {"urns": ["Field not allowed when using URN in URL"]}
    r = post(api, "contacts", {"name": "x"}, params={"urn": fresh, "uuid": created.uuid})
    assert r.status_code == 400
    assert r.json() == {"detail": "URL can only contain one of the following parameters: urn, uuid"}
    r = post(api, "contacts", {"name": "x"}, params={"uuid": "5f4f2bd8-8f61-4a8e-9a8c-2f0a1b2c3d4e"})
    assert r.status_code == 404


def test_urns_replace_in_order_keeping_affinity_of_kept_ones(api, client):
    _, a = number()
    _, b = number()
    api.ws.messages.receive("MTN", a, "hi")
    contact = api.ws.contacts.get(a)
    mtn = api.ws.contacts.get(a).connections[0].affinity_channel_id
    assert mtn is not None
    client.update_contact(contact.uuid, urns=[a, b])
    reordered = client.update_contact(contact.uuid, urns=["twitter:zed_1", b, a])
    assert reordered.urns == ["twitter:zed_1", b, a]
    stored = {c.identity: c.affinity_channel_id for c in api.ws.contacts.get(contact.uuid).connections}
    assert stored == {"twitter:zed_1": None, b: None, a: mtn}  # the kept number keeps its affinity
    client.update_contact(contact.uuid, urns=[b])
    assert [c.identity for c in api.ws.contacts.get(contact.uuid).connections] == [b]
    assert api.ws.contacts.owners([a])[a][0] is None  # removed: detached, free to claim


def test_validation_errors_write_nothing(api, client):
    _, taken = number()
    owner = api.ws.contacts.create("Owner", [taken])
    seq = api.ws.change_seq()
    cases = [
        ({"urns": ["1234"]}, {"urns": {"0": ["Invalid URN: 1234. Ensure phone numbers contain country codes."]}}),
        ({"urns": [number()[1], taken]}, {"urns": {"1": ["URN is in use by another contact."]}}),
        ({"language": "english"}, {"language": ["Not a valid ISO639-3 language code."]}),
        ({"groups": ["Nope"]}, {"groups": ["No such object: Nope"]}),
        ({"fields": {"shoe_size": "9"}}, {"fields": ["Invalid contact field key: shoe_size"]}),
        ({"urns": [f"twitter:u{i}" for i in range(101)]}, {"urns": ["Ensure this field has no more than 100 "
                                                                     "elements."]}),
        ({"name": "x" * 65}, {"name": ["Ensure this field has no more than 64 characters."]}),
        ({"urns": [f"twitter:c{i}" for i in range(51)]}, {"urns": ["A contact has at most 50 connections."]}),
    ]
    for body, expected in cases:
        r = post(api, "contacts", body)
        assert (r.status_code, r.json()) == (400, expected), body
    with pytest.raises(TembaBadRequestError):
        client.update_contact(owner.uuid, urns=["tel:1234"])
    api.ws.contacts.delete(owner.uuid)
    r = post(api, "contacts", {"name": "back"}, params={"uuid": owner.uuid})
    assert r.status_code == 400 and r.json() == {"non_field_errors": ["Deleted contacts can't be modified."]}
    assert api.ws.change_seq() == seq + 1  # only the delete above wrote


def test_two_requests_racing_for_one_number_leave_one_owner(api):
    _, e164 = number()
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def claim(i: int) -> None:
        barrier.wait()
        statuses.append(post(api, "contacts", {"name": f"Racer {i}", "urns": [e164]}).status_code)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == 1 and all(s in (400, 409) for s in statuses if s != 201)
    assert len(get(api, "contacts", urn=e164).json()["results"]) == 1


def test_delete(api, client):
    local, e164 = number()
    a = api.ws.contacts.create("Del A", [number()[1]])
    api.ws.contacts.create("Del B", [e164])
    assert requests.delete(api.endpoint("contacts"), params={"uuid": a.uuid}, headers=api.headers).status_code == 204
    client.delete_contact(local)  # by URN
    assert api.ws.contacts.owners([e164])[e164][0] is None
    with pytest.raises(TembaNoSuchObjectError):
        client.delete_contact(a.uuid)
    r = requests.delete(api.endpoint("contacts"), headers=api.headers)
    assert r.status_code == 400
    assert r.json() == {"detail": "URL must contain one of the following parameters: urn, uuid"}


def test_bulk_actions(api, client):
    people = [api.ws.contacts.create(f"Bulk {i}", [number()[1]]) for i in range(3)]
    uuids = [p.uuid for p in people]
    client.bulk_add_contacts(uuids, group="Donors")
    assert all("Donors" in api.ws.contacts.get(u).groups for u in uuids)
    client.bulk_remove_contacts(uuids[:1], group=api.ws.groups.find("Donors").uuid)
    assert [("Donors" in api.ws.contacts.get(u).groups) for u in uuids] == [False, True, True]
    client.bulk_block_contacts(uuids[1:])
    assert [api.ws.contacts.get(u).status for u in uuids] == ["active", "blocked", "blocked"]
    client.bulk_unblock_contacts(uuids[2:])
    assert api.ws.contacts.get(uuids[2]).status == "active"
    client.bulk_interrupt_contacts(uuids)
    client.bulk_archive_contact_messages(uuids)
    client.bulk_delete_contacts([api.ws.contacts.get(uuids[0]).connections[0].identity])  # by URN
    assert {c.uuid for c in client.get_contacts(deleted=True).all()} >= {uuids[0]}

    errors = [
        ({"contacts": [], "action": "block"}, {"contacts": ["Contacts can't be empty."]}),
        ({"contacts": ["tel:+250780000000"], "action": "block"}, {"contacts": ["No such object: tel:+250780000000"]}),
        ({"contacts": uuids[1:], "action": "add"},
         {"non_field_errors": ['For action "add" you should also specify a group']}),
        ({"contacts": uuids[1:], "action": "block", "group": "Donors"},
         {"non_field_errors": ['For action "block" you should not specify a group']}),
        ({"contacts": uuids[1:], "action": "like"}, {"action": ['"like" is not a valid choice.']}),
        ({"contacts": uuids[1:], "action": "add", "group": "Ghosts"}, {"group": ["No such object: Ghosts"]}),
    ]
    for body, expected in errors:
        r = post(api, "contact_actions", body)
        assert (r.status_code, r.json()) == (400, expected), body


def test_channels_groups_fields_and_org(api, client):
    channels = {c.name: c for c in client.get_channels().all()}
    assert {"MTN", "Airtel", "Twitter", "Telegram", "Email"} <= set(channels)
    assert channels["MTN"].address == "+250788000000" and channels["MTN"].country == "RW"
    assert channels["MTN"].device is None and channels["MTN"].created_on.tzinfo is not None
    assert [c.name for c in client.get_channels(uuid=channels["Twitter"].uuid).all()] == ["Twitter"]

    new = client.create_group("Volunteers")
    assert new.count == 0 and new.status == "ready" and new.system is False and new.query is None
    api.ws.contacts.create("Vol", [number()[1]], groups=["Volunteers"])
    assert client.get_groups(name="Volunteers").first().count == 1
    client.delete_group(new.uuid)
    assert client.get_groups(uuid=new.uuid).all() == []

    made = client.create_field("Shoe size", "number")
    assert (made.key, made.name, made.type) == ("shoe_size", "Shoe size", "number")
    assert {f.key for f in client.get_fields().all()} >= {"age", "district", "shoe_size"}
    assert [f.key for f in client.get_fields(key="age").all()] == ["age"]

    org = client.get_org()
    assert org.name == "Test" and org.country == "RW" and org.timezone == "UTC" and org.uuid
    assert get(api, "workspace").json() == get(api, "org").json()


# --- the frame: tokens, verbs, cursors, audit, read-only ---------------------------------------------


def test_tokens_verbs_cursors_and_the_audit_actor(api):
    with pytest.raises(TembaTokenError):
        TembaClient(api.url, "wrong").get_contacts().all()
    r = requests.get(api.endpoint("contacts"), timeout=10)
    assert (r.status_code, r.json()) == (403, {"detail": "Invalid token"})
    assert requests.get(api.endpoint("org"), auth=("anyone", api.token), timeout=10).status_code == 200  # Basic
    r = requests.get(api.endpoint("contact_actions"), headers=api.headers, timeout=10)
    assert (r.status_code, r.json()) == (405, {"detail": 'Method "GET" not allowed.'})
    r = get(api, "contacts", cursor="bm9wZQ")
    assert (r.status_code, r.json()) == (404, {"detail": "Invalid cursor"})

    _, key = api.ws.tokens.add("bob")
    r = requests.post(api.endpoint("contacts"), json={"name": "By Bob", "urns": [number()[1]]},
                      headers={"Authorization": f"Token {key}"}, timeout=10)
    assert r.status_code == 201
    contact = api.ws.contacts.get(r.json()["uuid"])
    assert [e.actor for e in api.ws.audit.page(contact_id=contact.id)] == ["bob"]
    seq = api.ws.change_seq()
    api.ws.tokens.revoke("bob")
    assert api.ws.change_seq() == seq + 1
    r = requests.get(api.endpoint("contacts"), headers={"Authorization": f"Token {key}"}, timeout=10)
    assert r.status_code == 403


def test_a_write_moves_the_change_sequence_consoles_watch(api):
    before = api.ws.change_seq()
    assert post(api, "contacts", {"name": "Seen live"}).status_code == 201
    assert api.ws.change_seq() == before + 1
    assert get(api, "contacts").status_code == 200
    assert api.ws.change_seq() == before + 1  # reads (and their throttle counts) signal nothing


def test_read_only_server_answers_gets_only(api):
    from tests.api.conftest import serve

    server = serve(api.db_url, read_only=True)
    try:
        seq = api.ws.change_seq()
        url = f"{server.url}/api/v2/contacts.json"
        assert requests.get(url, headers=api.headers, timeout=10).status_code == 200
        for method in ("post", "delete"):
            r = requests.request(method, url, json={"name": "no"}, params={"uuid": "x"}, headers=api.headers,
                                 timeout=10)
            assert r.status_code == 403 and "read-only" in r.json()["detail"]
        assert api.ws.change_seq() == seq
    finally:
        server.stop()


def test_datetimes_are_utc_with_microseconds(api):
    when = datetime.now(UTC)
    c = post(api, "contacts", {"name": "Clock"}).json()
    stamp = datetime.strptime(c["created_on"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs(stamp - when) < timedelta(seconds=30)


def test_a_country_changed_by_a_console_is_used_by_the_running_server(api, monkeypatch):
    from ccconsole.http import endpoints

    monkeypatch.setattr(endpoints, "SETTINGS_SECONDS", 0.0)
    api.ws.update(country="KE")
    try:
        r = post(api, "contacts", {"name": "Kenyan", "urns": ["tel:0712345678"]})
        assert r.status_code == 201 and r.json()["urns"] == ["tel:+254712345678"]
    finally:
        api.ws.update(country="RW")
    r = post(api, "contacts", {"name": "Rwandan", "urns": [number()[0]]})
    assert r.status_code == 201 and r.json()["urns"][0].startswith("tel:+250")


def test_a_merged_contact_is_listed_as_deleted_and_its_uuid_updates_the_survivor(api, client):
    keep = api.ws.contacts.create("Merge Keep", [number()[1]])
    other = api.ws.contacts.create("Merge Other", [number()[1]])
    api.ws.cleanup.merge(keep.uuid, [other.uuid])
    listed = get(api, "contacts", uuid=other.uuid, deleted=1).json()["results"]
    assert [(c["uuid"], c["urns"], c["name"]) for c in listed] == [(other.uuid, [], None)]
    assert get(api, "contacts", uuid=other.uuid).json()["results"] == []
    r = post(api, "contacts", {"name": "Merged Renamed"}, params={"uuid": other.uuid})
    assert r.status_code == 200 and r.json()["uuid"] == keep.uuid
    assert api.ws.contacts.get(keep.uuid).name == "Merged Renamed"
