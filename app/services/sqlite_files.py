"""The `files` table (and the queries that span `files`, `jobs` and `folders`): file records in SQLite."""

import json
from typing import Any

from app.services.database import Database
from app.services.file_records import (
    ACTIVE,
    FolderContents,
    Item,
    ItemFilter,
    RecordTallies,
    StoredFile,
    Tally,
)
from app.services.folders import Folders, in_subtree

_COLUMNS = ("id", "filename", "media_type", "size", "name", "facts", "source_job", "created_at", "folder")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM files"
_NO_FILE = "NOT EXISTS (SELECT 1 FROM files x WHERE x.id = j.id)"
_MEDIA_KIND = (
    "CASE WHEN json_extract(f.facts, '$.media_type') IN ('image', 'video', 'audio') "
    "THEN json_extract(f.facts, '$.media_type') ELSE substr(f.media_type, 1, instr(f.media_type, '/') - 1) END"
)
"""image, video or audio, in SQL: what an upload was sniffed as, else what the MIME type says (`media_kind`)."""
_ITEMS = (
    f"SELECT f.id AS id, f.name AS name, f.filename AS filename, {_MEDIA_KIND} AS media_type, "
    "f.media_type AS content_type, f.size AS size, json_extract(f.facts, '$.duration') AS duration, "
    "f.folder AS folder, 'ready' AS status, 100.0 AS progress, NULL AS error, COALESCE(j.kind, 'upload') AS kind, "
    "f.created_at AS created_at FROM files f LEFT JOIN jobs j ON j.id = f.source_job "
    "UNION ALL "
    "SELECT j.id, j.name, NULL, NULL, NULL, NULL, NULL, j.folder, j.status, j.progress, j.error, j.kind, j.created_at "
    f"FROM jobs j WHERE j.status != 'ready' AND {_NO_FILE}"
)
"""Every stored file (ready), and every job without a file yet (queued, processing, failed) under its file id."""
_ITEM_FIELDS = (
    "id, name, filename, media_type, content_type, size, duration, folder, status, progress, error, kind, created_at"
)


def _file(values: tuple[Any, ...]) -> StoredFile:
    row = dict(zip(_COLUMNS, values, strict=True))
    row["facts"] = json.loads(row["facts"]) if row["facts"] else {}
    return StoredFile(**row)


def filter_sql(where: ItemFilter) -> tuple[str, list[Any]]:
    """The WHERE clause (over `_ITEMS`) and its arguments of a listing filter."""
    clauses, args = ["1 = 1"], []
    for column in ("media_type", "kind", "status"):
        value = getattr(where, column)
        if value:
            clauses.append(f"{column} = ?")
            args.append(str(value))
    if where.folder == "":
        clauses.append("folder IS NULL")
    elif where.folder is not None:
        clauses.append("folder = ?")
        args.append(where.folder)
    if where.q:
        clauses.append("instr(lower(COALESCE(name, filename, '')), lower(?)) > 0")
        args.append(where.q)
    return " AND ".join(clauses), args


class SqliteFileRecords:
    """File records in the `files` table of the database that also holds `jobs` and `folders`."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._folders = Folders(db)

    @property
    def folders(self) -> Folders:
        return self._folders

    def insert(self, stored: StoredFile) -> None:
        values = [getattr(stored, column) for column in _COLUMNS]
        values[_COLUMNS.index("facts")] = json.dumps(stored.facts)
        self._db.execute(f"INSERT INTO files ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", values)

    def get(self, file_id: str) -> StoredFile | None:
        rows = self._db.execute(f"{_SELECT} WHERE id = ?", (file_id,))
        return _file(rows[0]) if rows else None

    def made_by(self, job_id: str) -> list[str]:
        rows = self._db.execute("SELECT id FROM files WHERE source_job = ? AND id != ?", (job_id, job_id))
        return [row[0] for row in rows]

    def remove(self, file_id: str) -> None:
        self._db.execute("DELETE FROM files WHERE id = ?", (file_id,))

    def created_before(self, timestamp: float) -> list[StoredFile]:
        return [_file(row) for row in self._db.execute(f"{_SELECT} WHERE created_at < ?", [timestamp])]

    def update(self, file_id: str, changes: dict[str, str | None]) -> None:
        known = {key: value for key, value in changes.items() if key in ("name", "folder")}
        if known:
            assignments = ", ".join(f"{key} = ?" for key in known)
            self._db.execute(f"UPDATE files SET {assignments} WHERE id = ?", [*known.values(), file_id])

    def items(self, where: ItemFilter, limit: int, offset: int) -> tuple[list[Item], int]:
        clause, args = filter_sql(where)
        rows = self._db.execute(
            f"SELECT {_ITEM_FIELDS} FROM ({_ITEMS}) WHERE {clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        total = self._db.execute(f"SELECT COUNT(*) FROM ({_ITEMS}) WHERE {clause}", args)[0][0]
        return [Item(*row) for row in rows], int(total)

    def item(self, item_id: str) -> Item | None:
        rows = self._db.execute(f"SELECT {_ITEM_FIELDS} FROM ({_ITEMS}) WHERE id = ?", [item_id])
        return Item(*rows[0]) if rows else None

    def tallies(self) -> RecordTallies:
        total = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files")[0]
        by_type = self._db.execute(
            f"SELECT {_MEDIA_KIND} AS kind, COUNT(*), COALESCE(SUM(f.size), 0) FROM files f GROUP BY kind ORDER BY kind"
        )
        top = self._db.execute("SELECT NULL, COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE folder IS NULL")
        in_folders = self._db.execute(
            "SELECT p.path, COUNT(f.id), COALESCE(SUM(f.size), 0) FROM folders p "
            "LEFT JOIN files f ON f.folder = p.path GROUP BY p.path ORDER BY p.path"
        )
        jobs = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")
        return RecordTallies(
            Tally(*total),
            [(kind, Tally(count, size)) for kind, count, size in by_type],
            [(folder, Tally(count, size)) for folder, count, size in [*top, *in_folders]],
            {str(status): int(count) for status, count in jobs},
        )

    def folder_contents(self, path: str) -> FolderContents:
        where, args = in_subtree("folder", path)
        active = self._db.execute(
            f"SELECT id FROM jobs WHERE status IN (?, ?) AND {where} ORDER BY created_at", [*ACTIVE, *args]
        )
        files = self._db.execute(f"SELECT id FROM files WHERE {where}", args)
        fileless = self._db.execute(f"SELECT id FROM jobs j WHERE {where} AND {_NO_FILE}", args)
        return FolderContents([row[0] for row in files], [row[0] for row in fileless], [row[0] for row in active])
