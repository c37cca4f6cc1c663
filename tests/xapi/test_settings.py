"""What a program configures for xAPI is checked at startup of the production settings."""

import pytest

from tests.unit.test_foundation import GOOD_PRODUCTION_ENV, _run_production_check

LRS = {
    "XAPI_LRS_ENDPOINT": "https://lrs.example.org/xAPI/",
    "XAPI_LRS_USERNAME": "elearn",
    "XAPI_LRS_PASSWORD": "lrs-password",
    "XAPI_ACCOUNT_HOMEPAGE": "https://hr.example.org",
}


def test_production_starts_with_an_lrs_configured():
    result = _run_production_check({**GOOD_PRODUCTION_ENV, **LRS})
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["XAPI_LRS_USERNAME", "XAPI_LRS_PASSWORD", "XAPI_ACCOUNT_HOMEPAGE"])
def test_production_names_what_an_lrs_still_needs(missing):
    env = {**GOOD_PRODUCTION_ENV, **{k: v for k, v in LRS.items() if k != missing}}
    result = _run_production_check(env)
    assert result.returncode != 0 and missing in result.stderr


def test_production_refuses_an_lrs_over_plain_http():
    result = _run_production_check(
        {**GOOD_PRODUCTION_ENV, **LRS, "XAPI_LRS_ENDPOINT": "http://lrs.example.org/xAPI/"}
    )
    assert result.returncode != 0 and "XAPI_LRS_ENDPOINT" in result.stderr
