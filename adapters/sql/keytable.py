"""The vault's mutable key table: wrapped data keys beside the event log. Deleting a row
is crypto-shredding: the ciphertexts the log keeps for that key can never be decrypted
again."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.sql.dialect import Dialect

TABLE = "danube_secret_keys"


class SqlKeyTable:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.table = dialect.qualify(TABLE)

    def ensure(self) -> None:
        blob = "BYTEA" if self.dialect.name == "postgres" else "BLOB"
        with self.dialect.write() as cur:
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                f"(key_id TEXT PRIMARY KEY, wrapped_key {blob} NOT NULL, created_at TEXT)"
            )

    def put(self, key_id: str, wrapped_key: bytes) -> None:
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.execute(
                f"INSERT INTO {self.table} (key_id, wrapped_key, created_at) "
                f"VALUES ({p}, {p}, {p})",
                (key_id, wrapped_key, datetime.now(UTC).isoformat()),
            )

    def get(self, key_id: str) -> bytes | None:
        with self.dialect.read() as cur:
            cur.execute(
                f"SELECT wrapped_key FROM {self.table} WHERE key_id = {self.dialect.placeholder}",
                (key_id,),
            )
            row = cur.fetchone()
        return None if row is None else bytes(row[0])

    def delete(self, key_ids: Sequence[str]) -> None:
        if not key_ids:
            return
        with self.dialect.write() as cur:
            cur.executemany(
                f"DELETE FROM {self.table} WHERE key_id = {self.dialect.placeholder}",
                [(key_id,) for key_id in key_ids],
            )

    def all(self) -> list[tuple[str, bytes]]:
        with self.dialect.read() as cur:
            cur.execute(f"SELECT key_id, wrapped_key FROM {self.table} ORDER BY key_id")
            return [(str(k), bytes(w)) for k, w in cur.fetchall()]

    def replace(self, key_id: str, wrapped_key: bytes) -> None:
        p = self.dialect.placeholder
        with self.dialect.write() as cur:
            cur.execute(
                f"UPDATE {self.table} SET wrapped_key = {p} WHERE key_id = {p}",
                (wrapped_key, key_id),
            )
