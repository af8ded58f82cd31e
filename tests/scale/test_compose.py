"""docker-compose.yml is deployable as written: it parses, every image is pinned, the app gets what it reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_core.config import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# What a scaled-out process cannot do without (the embedded defaults would split the team's data).
NEEDED_BY_THE_APP = ("TELEGRAM_BOT_TOKEN", "CHATCRM_WEBHOOK_SECRET", "CHATCRM_DATABASE_URL", "CHATCRM_REDIS_URL",
                     "CHATCRM_CHROMA_URL", "CHATCRM_HOME")
_EXACT_TAG = re.compile(r"^[\w./-]+:\d+(\.\d+)+(-[\w.]+)?(@sha256:[0-9a-f]{64})?$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if "build" in service}


def settings_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"CHATCRM_{name.upper()}")
    return names


def test_it_runs_postgres_redis_chroma_a_migration_an_ingress_and_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "chroma", "migrate", "ingress", "worker"} <= services.keys()
    assert "healthcheck" in services["postgres"]
    assert services["migrate"]["command"][-2:] == ["db", "upgrade"]
    for name in ("ingress", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "--webhook" in services[name]["command"]
    assert "--listen" in services["ingress"]["command"]
    assert "--listen" not in services["worker"]["command"]


def test_every_image_is_pinned_to_an_exact_version(compose: dict[str, Any]) -> None:
    images = {name: service["image"] for name, service in compose["services"].items() if "image" in service}
    assert images, "no images found"
    for name, image in images.items():
        assert "latest" not in image, name
        assert _EXACT_TAG.match(image.split("#")[0].strip()), f"{name}: {image} is not an exact version tag"
    assert all("image" in service or "build" in service for service in compose["services"].values())


def test_every_app_process_gets_what_the_app_needs_and_nothing_it_would_not_read(compose: dict[str, Any]) -> None:
    known = settings_env_names() | {"HF_HUB_OFFLINE"}
    for name, service in app_services(compose).items():
        env = service["environment"]
        missing = [variable for variable in NEEDED_BY_THE_APP if not env.get(variable)]
        assert missing == [], f"{name} lacks {missing}"
        unknown = sorted(variable for variable in env if variable.split("__")[0] not in known)
        assert unknown == [], f"{name} sets variables the app does not read: {unknown}"


def test_the_variables_named_here_are_the_ones_settings_reads() -> None:
    assert set(NEEDED_BY_THE_APP) <= settings_env_names()
