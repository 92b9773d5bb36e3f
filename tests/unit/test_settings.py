from pathlib import Path

import pytest

from pushwise.settings import SettingsError, load_settings


def test_defaults_are_the_embedded_single_machine_setup() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///./pushwise.db"
    assert settings.allow_private_endpoints is False


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "pushwise.toml"
    config.write_text('[pushwise]\nport = 9001\nlog_level = "debug"\nworker_batch_size = 50\n')
    settings = load_settings({"PUSHWISE_CONFIG": str(config), "PUSHWISE_PORT": "9002"})
    assert settings.port == 9002
    assert settings.log_level == "debug"
    assert settings.worker_batch_size == 50


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), ("off", False), ("no", False)])
def test_booleans(raw: str, expected: bool) -> None:
    assert load_settings({"PUSHWISE_ALLOW_PRIVATE_ENDPOINTS": raw}).allow_private_endpoints is expected


def test_bad_values_name_the_variable() -> None:
    with pytest.raises(SettingsError, match="PUSHWISE_PORT"):
        load_settings({"PUSHWISE_PORT": "eighty"})


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings({}, config_file=str(bad))
