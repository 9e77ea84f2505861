"""Where the run history lives: ``runs.sqlite3`` in LossLab's data folder.

The folder is ``$LOSSLAB_DATA_DIR`` when set (tests, portable installs), else
``platformdirs.user_data_dir("LossLab")``: the same folder that holds the trusted-code list.
"""

from __future__ import annotations

from pathlib import Path

from losslab.core.trust import data_dir

DB_NAME = "runs.sqlite3"


def default_db_path() -> Path:
    return data_dir() / DB_NAME
