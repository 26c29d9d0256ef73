from __future__ import annotations

import pytest


@pytest.fixture
def toy(toy_crops):
    return toy_crops()
