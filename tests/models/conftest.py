"""Session fixtures: one small county, one MLflow tracking directory, one training run."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.data import PlatformData
from models.tracking import tracking_uris
from models.training import TrainResult, train_precredit
from tests.features.county import AS_OF, small_platform


@pytest.fixture(scope="session")
def county_data() -> PlatformData:
    """3,000 enterprises, most active companies borrowing (about 1,000 labelled loans)."""
    return small_platform(3000, 0)


@pytest.fixture(scope="session")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A fresh SQLite tracking store and artifact root for the session."""
    work_dir: Path = tmp_path_factory.mktemp("work")
    return tracking_uris(work_dir)


@pytest.fixture(scope="session")
def trained(county_data: PlatformData, tracking: tuple[str, str]) -> TrainResult:
    """The pre-credit models, logged and registered (versions 1, alias challenger)."""
    uri, artifacts = tracking
    return train_precredit(county_data, AS_OF, uri, artifact_location=artifacts)
