"""The run history's tables, and the migrations that bring an older file up to date.

``PRAGMA user_version`` holds the schema version. ``MIGRATIONS[n]`` turns a version-n file into
version n + 1 (``MIGRATIONS[0]`` creates the tables in a new file); they run in order, each in one
transaction, so a crash mid-way leaves the file at the version before. Append one per change; never
edit one that has shipped. A file newer than ``SCHEMA_VERSION`` is refused, never rewritten.

Big values live in their own tables (experiments, steps, weights), so listing reads only ``runs``.
"""

from __future__ import annotations

SCHEMA_VERSION = 3

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',          -- JSON list of strings
    group_id TEXT,                            -- seeds of one experiment, or the variants of a race
    source TEXT NOT NULL DEFAULT '',          -- window / cli / api / race
    created REAL NOT NULL,                    -- Unix time
    started REAL,
    ended REAL,
    status TEXT NOT NULL,                     -- running / finished / stopped / diverged / interrupted
    message TEXT NOT NULL DEFAULT '',         -- why it ended that way (divergence, early stop, error)
    dataset TEXT NOT NULL DEFAULT '',
    task TEXT NOT NULL DEFAULT '',
    architecture TEXT NOT NULL DEFAULT '',    -- layer widths, "2-16-16-1"
    param_count INTEGER,
    loss TEXT NOT NULL DEFAULT '',
    optimizer TEXT NOT NULL DEFAULT '',
    lr REAL,
    seed INTEGER,
    epochs_planned INTEGER,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    steps_done INTEGER NOT NULL DEFAULT 0,
    elapsed REAL NOT NULL DEFAULT 0,
    final_metrics TEXT NOT NULL DEFAULT '{}', -- JSON: the last epoch's row
    best_metrics TEXT NOT NULL DEFAULT '{}',  -- JSON: the row of the epoch with the lowest validation loss
    best_epoch INTEGER,
    step_stride INTEGER NOT NULL DEFAULT 1,   -- every k-th step is kept (see recorder.py)
    torch_version TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    pid_token TEXT
);
CREATE INDEX runs_group ON runs(group_id);
CREATE TABLE experiments (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    doc TEXT NOT NULL                         -- the experiment exactly as run, .losslab JSON
);
CREATE TABLE epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    step INTEGER,
    train_loss REAL,
    val_loss REAL,
    lr REAL,
    elapsed REAL,
    row TEXT NOT NULL,                        -- JSON: the History row (every column of history.csv)
    PRIMARY KEY (run_id, epoch)
) WITHOUT ROWID;
CREATE TABLE steps (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    chunk INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    n INTEGER NOT NULL,
    steps BLOB NOT NULL,                      -- int64 little-endian step numbers
    losses BLOB NOT NULL,                     -- float32 little-endian losses (NaN and inf kept)
    PRIMARY KEY (run_id, chunk)
);
CREATE TABLE weights (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    which TEXT NOT NULL,                      -- final / best
    epoch INTEGER,
    step INTEGER,
    saved REAL NOT NULL,
    data BLOB NOT NULL,                       -- torch.save(state_dict) bytes
    PRIMARY KEY (run_id, which)
);
"""

# v2: soft delete, so the window can offer Undo (a deleted run is purged later).
_V2 = """
ALTER TABLE runs ADD COLUMN deleted REAL;     -- when it was deleted; NULL: not deleted
CREATE INDEX runs_created ON runs(created);
"""

# v3: where a diverged run diverged, so its exported history.csv has the `diverged` row that
# `losslab run` writes (History.mark_diverged). NULL: it did not diverge, or was kept before v3.
_V3 = """
ALTER TABLE runs ADD COLUMN diverged_epoch INTEGER;
ALTER TABLE runs ADD COLUMN diverged_step INTEGER;
"""

MIGRATIONS: list[str] = [_V1, _V2, _V3]
assert len(MIGRATIONS) == SCHEMA_VERSION
