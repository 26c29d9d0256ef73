from __future__ import annotations

import pytest

from synthetic import toy_crops


@pytest.fixture
def toy():
    return toy_crops()
