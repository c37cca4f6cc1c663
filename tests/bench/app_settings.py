"""The real app for the benchmark: production settings, unchanged but for one work-around.

`elearn.settings.base.database_from_env` puts `check=ConnectionPool.check_connection` into the pool
options, and Django 5.2 passes `check=` itself (from CONN_HEALTH_CHECKS, which base also sets), so the
first database access under the pool fails with "ConnectionPool() got multiple values for keyword
argument 'check'". Dropping the duplicate keeps the same behaviour (Django still checks each connection
taken from the pool). Once base.py is fixed, this module is a plain alias of production settings.
"""

from elearn.settings.production import *  # noqa: F403
from elearn.settings.production import DATABASES

_pool = DATABASES["default"].get("OPTIONS", {}).get("pool")
if isinstance(_pool, dict) and DATABASES["default"].get("CONN_HEALTH_CHECKS"):
    _pool.pop("check", None)
