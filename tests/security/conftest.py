from tests.reliability.fixtures import (  # noqa: F401 - the servers' static files, throwaway Redis
    redis_server,
    static_root,
    throwaway_redis,
)
