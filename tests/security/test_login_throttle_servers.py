"""Login throttling holds across processes: gunicorn on production settings with 2 workers, the
counters in Redis (CACHE_URL; the test run's throwaway Redis). Ten failures, then every further attempt (right password included,
login page and token endpoint alike) is refused with 429, whichever worker serves it; a process-local
counter would let the other worker accept up to ten more. (The session cookie it sets on a good login
carries the production flags: Secure, HttpOnly, SameSite=Lax.)"""

import pytest

from tests.reliability.harness import (
    CACHE_DB,
    database_url_for_tests,
    gunicorn,
    production_env,
    user_for_server,
)

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-correct-password"


def test_ten_failures_then_429_from_both_workers_with_the_counters_in_redis(
    tmp_path, static_root, redis_server
):
    user_for_server(PASSWORD, username="nurse")
    user_for_server(PASSWORD, username="colleague")
    env = production_env(
        static_root=static_root,
        database_url=database_url_for_tests(),
        redis=redis_server,
        media_root=tmp_path / "media",
    )
    with gunicorn(env, tmp_path) as server:

        def attempt(password: str):
            http = server.client()  # a new connection each time, so both workers take turns
            try:
                return http.login("nurse", password)
            finally:
                http.close()

        def refusing_workers() -> set[int]:
            return {pid for pid, method, path, status in server.access_lines() if status == 429}

        failures = [attempt(f"wrong-{i}") for i in range(10)]
        blocked = [attempt(PASSWORD) for _ in range(6)]
        while len(refusing_workers()) < 2 and len(blocked) < 40:  # until both workers have refused
            blocked.append(attempt(PASSWORD))
        api = server.client().post(
            "/api/v1/auth/token/", json_body={"username": "nurse", "password": PASSWORD}
        )
        other = server.client().login("colleague", PASSWORD)
        served_429 = refusing_workers()
        keys = [k.decode() for k in redis_server.client(CACHE_DB).scan_iter(match="*rl:login-fail*")]

    assert [r.status for r in failures] == [200] * 10
    assert all("didn't match" in r.text.replace("&#x27;", "'") for r in failures)
    assert {r.status for r in blocked} == {429}, [r.status for r in blocked]
    assert all("Too many failed login attempts" in r.text for r in blocked)
    assert all(r.headers.get("retry-after") == "900" for r in blocked)
    assert len(served_429) == 2, f"429s came from {served_429}: both workers must refuse"
    assert api.status == 429 and api.json()["code"] == "too_many_failed_logins"
    assert other.status == 302, "another account from the same address is not locked out"
    session_cookie = next(c for c in other.set_cookies if c.startswith("sessionid="))
    flags = {part.strip().lower() for part in session_cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax"} <= flags, session_cookie
    assert len(keys) == 3, keys  # per username+address, per username and per address, in Redis
