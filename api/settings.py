"""The API's settings: one class, from flags and ``LEDGER_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE = "sqlite:///ledger.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    database_url: str = DEFAULT_DATABASE
    environment: str = Field(default="development", pattern="^(development|production)$")
    public_url: str = "http://127.0.0.1:8000"
    allow_local_links: bool = False
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    run_projections: bool = True
    checkpoint_every_events: int | None = Field(default=1000, ge=1)
    checkpoint_every_seconds: float | None = Field(default=60.0, gt=0)
    checkpoint_max_age: float = Field(default=1.0, ge=0, le=10)  # kept /log/checkpoint, seconds
    keystore_passphrase: str | None = None
    witnesses: str = ""  # "<cosigner vkey> <url>" entries separated by ";" or newlines
    auth_failures_per_minute: int = Field(default=30, ge=1)
    read_database_urls: str = ""  # hot standbys serving reads, separated by whitespace
    read_wait_seconds: float = Field(default=2.0, ge=0, le=30)

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.database_url.startswith("memory:"):
                raise ValueError("production needs a durable store, not memory://")
            if not self.public_url.startswith("https://"):
                raise ValueError("production serves verification links over https://")
            if self.allow_local_links:
                raise ValueError("production signs no links to local addresses")
        return self
