import pytest

from mx_helpers import Mx


@pytest.fixture(scope="session")
def mx() -> Mx:
    return Mx()
