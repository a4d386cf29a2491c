from __future__ import annotations

import stat

import pytest

from rescueops.settings import Settings, SettingsError


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    settings = Settings(env="production", var_dir=tmp_path, secret_key=None)
    with pytest.raises(SettingsError, match="RESCUEOPS_SECRET_KEY"):
        settings.resolved_secret_key()
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_key_once_and_keeps_it_private(tmp_path) -> None:
    first = Settings(env="development", var_dir=tmp_path / "var").resolved_secret_key()
    second = Settings(env="development", var_dir=tmp_path / "var").resolved_secret_key()
    assert first == second and len(first) >= 48
    assert stat.S_IMODE((tmp_path / "var" / "secret_key").stat().st_mode) == 0o600


def test_defaults_and_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("RESCUEOPS_DATABASE_URL", raising=False)
    monkeypatch.setenv("RESCUEOPS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RESCUEOPS_AMQP_URL", "")
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'rescueops.db'}"
    assert settings.amqp_url is None and settings.default_locale == "zh_CN"
    monkeypatch.setenv("RESCUEOPS_DATABASE_URL", "postgres://u@h/db")
    assert not Settings().is_sqlite


def test_production_refuses_demo_data(tmp_path) -> None:
    import asyncio

    from rescueops import demo

    with pytest.raises(SettingsError, match="never loaded in production"):
        asyncio.run(demo.load_demo(Settings(env="production", var_dir=tmp_path, secret_key="k" * 40)))


def test_add_months_keeps_the_day_or_takes_the_month_end() -> None:
    from datetime import date

    from rescueops.calendar import add_months

    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 2, 28), 36) == date(2026, 2, 28)
    assert add_months(date(2024, 11, 15), 3) == date(2025, 2, 15)
