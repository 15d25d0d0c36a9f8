"""Settings from the environment (prefix ``CREDITOPS_``) and an optional settings file.

No secret is ever stored in the workspace or the repository: SMTP and Salesforce credentials come
from here, which means from the environment.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///creditops.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDITOPS_", env_file=".creditops.env", extra="ignore"
    )

    database_url: str = DEFAULT_DATABASE_URL
    smtp_url: str | None = None
    mail_from: str | None = None
    notify_urls: str | None = None


def load_settings(database_url: str | None = None) -> Settings:
    """Builds the settings once; an explicit ``--db`` wins over the environment."""
    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings
