"""Settings, read from the environment (CHATCRM_*) and built once in the entry point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from crm_core.assets import DEMO_KNOWLEDGE_DIR, PROMPTS_DIR
from crm_core.nba.settings import NbaSettings
from crm_core.policy import DealVisibility

Language = Literal["vi", "en"]


class LlmSettings(BaseModel):
    """The optional LLM; provider `none` means rules only."""

    provider: Literal["none", "openai", "ollama"] = "none"
    model: str = ""
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_s: float = 8.0


class PushSettings(BaseModel):
    """The team's defaults for scheduled pushes (each person may move or mute theirs in /settings)."""

    # The manager's summary, on working days (support_hours), local time "HH:MM".
    summary_time: str = "18:00"
    # The salesperson's morning digest, on working days, local time "HH:MM".
    digest_time: str = "08:00"
    # Off: no summary or digest is pushed at all (they are still there on demand).
    enabled: bool = True
    # A morning digest missed by more than this many hours (the bot was down) is skipped for the day: the day's plan
    # arriving at 19:00 is noise. The evening summary is still sent late the same day (it reports the day).
    digest_catch_up_hours: float = Field(default=4.0, gt=0)

    @field_validator("summary_time", "digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        from crm_core.reports.periods import parse_clock_time

        if parse_clock_time(value) is None:
            raise ValueError(f"{value!r} is not a time like 18:00")
        return value


class Settings(BaseSettings):
    """Everything configurable, with the defaults of the embedded setup."""

    model_config = SettingsConfigDict(env_prefix="CHATCRM_", env_nested_delimiter="__", extra="ignore")

    home: Path = Path("./data")
    database_url: str | None = None
    chroma_url: str | None = None
    redis_url: str | None = None
    # Every Redis key starts with this, so several bots (or test runs) can share one server.
    redis_prefix: str = Field(default="chatcrm:", min_length=1, max_length=64)
    # Webhook mode: the secret Telegram sends with each delivery (X-Telegram-Bot-Api-Secret-Token); A-Z a-z 0-9 _ -
    webhook_secret: SecretStr | None = Field(default=None, min_length=1, max_length=256)
    timezone: str = "Asia/Ho_Chi_Minh"
    language: Language = "vi"
    undo_minutes: int = Field(default=5, ge=0, le=24 * 60)
    page_size: int = Field(default=8, ge=1, le=50)
    reminder_interval_s: float = Field(default=30.0, gt=0)
    # Webhook workers: a worker's hold on an update (and, with Redis, on its chat's lock) lasts this long and is
    # renewed while the update is handled; a worker killed mid-update frees both when it runs out.
    inbox_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The process that wrote a message has this long to send it; a process killed meanwhile leaves it to another
    # process's scheduler after that (so keep it well above a send's duration, 429 waits included).
    outbox_lease_seconds: float = Field(default=120.0, gt=0, le=3600)
    # A log preview left unsaved this long is reminded once (0: never).
    draft_reminder_minutes: int = Field(default=30, ge=0, le=7 * 24 * 60)
    max_message_chars: int = Field(default=4096, ge=100)
    telegram_bot_token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str | None = Field(default=None, validation_alias="TELEGRAM_API_URL")
    llm: LlmSettings = LlmSettings()
    support_hours: str = "Mon-Sat 08:00-17:30"
    support_chat_id: str | None = None
    # The support group is a chat of one channel; tickets from other channels go to their assignee.
    support_chat_channel: str = "telegram"
    escalate_after_minutes: int = Field(default=30, ge=1)
    # A knowledge search that has not answered by then is given up: the customer is handed to a person.
    kb_timeout_seconds: float = Field(default=10.0, gt=0)
    lead_rules: dict[str, str] = Field(default_factory=dict)
    # CHATCRM_PUSHES__SUMMARY_TIME=18:00, CHATCRM_PUSHES__DIGEST_TIME=08:00, CHATCRM_PUSHES__ENABLED=false
    pushes: PushSettings = PushSettings()
    # Next-best-action's weights and thresholds: CHATCRM_NBA__W_URGENCY=0.5, CHATCRM_NBA__QUIET_DAYS='{"A": 21}'
    nba: NbaSettings = NbaSettings()
    # How much of a colleague's deal a salesperson sees: own, team (id and owner only) or all (crm_core.policy).
    deal_visibility: DealVisibility = DealVisibility.TEAM
    # Shipped inside the package by default (crm_core.assets), so an installed wheel finds them too.
    # Telegram user ids that become admins when they first write, if not registered yet (the very first admin):
    # CHATCRM_ADMIN_TELEGRAM_IDS=1001,1002
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The business's own bank accounts, the only ones its knowledge may tell customers to pay into: a document
    # giving any other is refused at ingest. CHATCRM_PAYMENT_ACCOUNTS="0441 000 886 688, 1903 6868 8899 01"
    payment_accounts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Phone numbers, e-mail addresses and e-mail domains the business publishes (hotline, shop e-mail, staff lines):
    # never taken for other people's personal data in its knowledge. CHATCRM_BUSINESS_CONTACTS="0909 123 468, shop.vn"
    business_contacts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long an invite link made with /invite can be opened.
    invite_hours: int = Field(default=72, ge=1, le=30 * 24)
    # How long an admin's dialog (a prompt's new text, a gap's answer) waits for its text or its [Save]: after
    # that, a text is ordinary text again (a call log is never taken for a FAQ answer hours later).
    admin_dialog_minutes: int = Field(default=15, ge=1, le=24 * 60)
    prompts_dir: Path = PROMPTS_DIR
    demo_knowledge_dir: Path = DEMO_KNOWLEDGE_DIR

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if isinstance(value, str):  # "1001,1002" or "[1001, 1002]"
            return [part for part in value.strip("[] ").replace(";", ",").split(",") if part.strip()]
        return value

    @field_validator("payment_accounts", "business_contacts", mode="before")
    @classmethod
    def _text_list(cls, value: object) -> object:
        if isinstance(value, str):  # "0441 000 886 688, 1903 6868 8899 01": an account may hold spaces
            parts = (part.strip(" '\"") for part in value.strip("[] ").replace(";", ",").split(","))
            return [part for part in parts if part]
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_characters(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's setWebhook takes only these; the value itself is never put in the message.
        if value is not None and re.fullmatch(r"[A-Za-z0-9_-]+", value.get_secret_value()) is None:
            raise ValueError("the webhook secret may only hold A-Z a-z 0-9 _ - (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Ho_Chi_Minh") from error
        return value

    @field_validator("support_hours")
    @classmethod
    def _readable_hours(cls, value: str) -> str:
        from crm_core.errors import InvalidInput
        from crm_core.hours import WorkingHours

        try:
            WorkingHours.parse(value, ZoneInfo("UTC"))  # a typo fails at start-up, not on a customer's message
        except InvalidInput as error:
            raise ValueError(str(error)) from error
        return value

    @property
    def tz(self) -> ZoneInfo:
        """Return the business time zone."""
        return ZoneInfo(self.timezone)

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL: the override, or the SQLite file in the home."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.home / 'chatcrm.sqlite3').resolve()}"

    @property
    def chroma_dir(self) -> Path:
        """Return the local Chroma directory."""
        return self.home / "chroma"
