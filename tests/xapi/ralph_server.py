"""Runs Ralph's LRS server (ralph.api:app, file-system backend) under uvicorn, inside .venv-ralph.

Started by tests/xapi/lrs.py as `.venv-ralph/bin/python tests/xapi/ralph_server.py HOST PORT`, with
the RALPH_* settings in the environment. One correction to Ralph 5.1.0: its file-system LRS backend
writes every POST with the data backend's default operation (create), which refuses to write to the
statements file once it exists, so any second POST answered 500 ("already exists and overwrite is not
allowed"). Its LRS appends statements to one file, so the backend's default becomes append; nothing
else of Ralph's handling (validation, equal-id deduplication, 409 on a differing duplicate) changes.
"""

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run("ralph.api:app", host=host, port=port, log_level="warning")
