"""The API-key table: only a secret's hash is stored, and lookups go by that hash."""

from __future__ import annotations

import hashlib

import pytest

from moviemind_lite.core.ids import new_id
from moviemind_lite.store import api_keys
from moviemind_lite.store.db import Database

pytestmark = pytest.mark.usefixtures("engines")

SECRET = "mm_" + "s3cret-value-that-must-never-be-stored"


def test_a_key_row_holds_the_secret_hash_and_never_the_secret(database: Database) -> None:
    with database.write() as tx:
        key = api_keys.insert_key(tx, "ci", SECRET[:9], SECRET)
    row = database.query_one("SELECT * FROM api_keys WHERE id = ?", (key.id,))
    assert row is not None
    stored = {name: row[name] for name in row.keys()}  # noqa: SIM118  # a Row, not a dict
    assert stored["secret_sha256"] == hashlib.sha256(SECRET.encode("utf-8")).hexdigest()
    assert all(SECRET not in str(value) for value in stored.values()), stored


def test_a_secret_finds_its_key_and_nothing_else_does(database: Database) -> None:
    with database.write() as tx:
        key = api_keys.insert_key(tx, "ci", SECRET[:9], SECRET)
    found = api_keys.find_by_secret(database, SECRET)
    assert found is not None and found.id == key.id
    assert api_keys.find_by_secret(database, SECRET + "x") is None
    assert api_keys.find_by_secret(database, SECRET[:9]) is None


def test_a_revoked_key_stays_listed_and_no_longer_counts_as_active(database: Database) -> None:
    with database.write() as tx:
        key = api_keys.insert_key(tx, "ci", SECRET[:9], SECRET)
    assert api_keys.count_active(database) == 1
    with database.write() as tx:
        revoked = api_keys.revoke(tx, key.id)
    assert revoked is not None and not revoked.active
    assert api_keys.count_active(database) == 0
    assert [listed.id for listed in api_keys.list_keys(database)] == [key.id]
    with database.write() as tx:
        assert api_keys.revoke(tx, new_id()) is None
