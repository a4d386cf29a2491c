"""One Settings object, read once from ``RESCUEOPS_*`` variables and an optional ``.env``."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """The configuration cannot work; the message says which variable to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RESCUEOPS_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    amqp_url: str | None = None
    secret_key: str | None = Field(default=None, repr=False)
    sentry_dsn: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    log_format: Literal["json", "console"] = "json"
    log_level: str = "INFO"
    # Login throttling: consecutive failures before an account is locked, for how long,
    # and failures per client address per window before it gets 429.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_ip_failures_per_window: int = 30
    # A TrueType font with Chinese glyphs for PDFs (label sheets); Debian's fonts-wqy-zenhei by default.
    cjk_font: Path = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    session_hours: int = 12
    # Argon2id cost (argon2-cffi defaults); lower only where hashing speed matters more, e.g. tests.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    api_token_hours: int = 12
    # The scheduled jobs run in every api and worker process (one claims each slot). Where workers run (compose), set
    # this false so a job's time and memory stay out of the processes serving pages.
    api_runs_jobs: bool = True

    @field_validator("amqp_url", "sentry_dsn", "secret_key", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'rescueops.db'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def resolved_secret_key(self) -> str:
        """The configured key; in development, one generated once and kept under ``var/``."""
        if self.secret_key:
            return self.secret_key
        if self.production:
            raise SettingsError(
                "RESCUEOPS_SECRET_KEY must be set in production mode "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        key_file = self.var_dir / "secret_key"
        if not key_file.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race; use its key
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(48))
        return key_file.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
