from tests.reliability.fixtures import static_root  # noqa: F401 - the servers' static files, once per run
