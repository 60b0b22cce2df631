"""One typed settings object, read once at the edge (CLI command, flow entry)."""

from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arrears.money import DB_MAX_AMOUNT, MAX_AMOUNT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    var_dir: Path = Field(default=Path("var"), description="Where the SQLite book, letters and reports go.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty = SQLite file var_dir/arrears.db.")
    policy_path: Path | None = Field(default=None, description="Strategy policy YAML; empty = shipped default.")
    lender_timezone: str = "Asia/Shanghai"
    batch_size: int = Field(default=50_000, ge=100, description="Loans per classify task (Prefect task).")
    max_amount: Decimal = Field(
        default=MAX_AMOUNT, gt=0, le=DB_MAX_AMOUNT, description="The largest amount an import or a command accepts."
    )
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1)
    incremental: bool = Field(
        default=True,
        description="An ordinary day recomputes only loans whose position may change (see arrears/store/book.py); "
        "false: every loan every day.",
    )
    runner: Literal["process", "dask"] = Field(
        default="process",
        description="Where classify and plan batches run: the run's process pool, or a Dask cluster "
        "(ARREARS_DASK_ADDRESS, else a local cluster of dask_workers processes) through prefect-dask.",
    )
    dask_address: str = Field(default="", description="A Dask scheduler (tcp://host:8786); empty = a local cluster.")
    dask_workers: int = Field(default=2, ge=1, description="Worker processes of the local Dask cluster.")
    environment: str = "local"

    # The lender, as borrowers see it in reminders.
    lender_name_en: str = "Anxin Lending"
    lender_name_zh: str = "安信小贷"
    lender_hotline: str = "400-800-1234"
    lender_email: str = "collections@anxin.example"
    lender_pay_url: str = "https://pay.anxin.example"
    pay_link_key: SecretStr = Field(
        default=SecretStr(""), description="Signs pay-now links (loan, amount) in emails and letters; empty: plain."
    )
    payment_webhook_key: SecretStr = Field(
        default=SecretStr(""), description="HMAC key of the /payments webhook (or the block arrears-payment-key)."
    )
    # Letterhead and payment details of demand letters.
    lender_address_zh: str = "上海市浦东新区世纪大道100号安信大厦18层"
    lender_address_en: str = "18/F Anxin Tower, 100 Century Avenue, Pudong, Shanghai"
    lender_bank_name_zh: str = "中国工商银行上海浦东支行"
    lender_bank_name_en: str = "ICBC Shanghai Pudong Branch"
    lender_bank_account: str = "1001 2345 6789 0123 456"
    lender_logo: Path | None = Field(
        default=None, description="Logo (PNG, JPEG or SVG) in the head of letters, reports and evidence packs."
    )
    lender_seal: Path | None = Field(
        default=None, description="Signature or company seal (公章) image printed at a demand letter's signature."
    )

    # Demand letters (PDF).
    letters_dir: Path | None = Field(default=None, description="Where letters are archived; empty = var_dir/letters.")
    letter_font: str = Field(
        default="WenQuanYi Micro Hei", description="Font family (fontconfig name) of letters: TrueType, covering CJK."
    )
    letter_chunk: int = Field(default=100, ge=1, le=2000, description="Letters laid out in one WeasyPrint document.")
    letter_workers: int = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1), ge=1, description="Processes rendering letters."
    )
    letter_worker_chunks: int = Field(
        default=20, ge=1, description="Chunks a letter process renders before it is replaced (frees font memory)."
    )

    # Collector call queues and legal work.
    collectors: list[str] = Field(
        default=["collector-1", "collector-2"], description='Who gets call tasks, e.g. ["li.na", "wang.wei"] (JSON).'
    )
    call_assignment: Literal["round_robin", "region"] = "round_robin"
    collector_regions: dict[str, str] = Field(
        default={}, description='region: address substring -> collector, e.g. {"上海": "li.na"} (JSON).'
    )
    legal_owners: dict[str, str] = Field(
        default={
            "lawyers_letter": "law firm: 上海明理律师事务所",
            "arbitration": "law firm: 上海明理律师事务所",
            "litigation": "law firm: 上海明理律师事务所",
            "enforcement": "internal legal team",
        },
        description="Owner of each legal step: internal team, collection agency or law firm (JSON).",
    )

    # Personal data: ID numbers are encrypted at rest (see arrears/vault.py). Empty: the Prefect
    # Secret blocks `arrears-data-keys` / `arrears-lookup-key`.
    data_keys: SecretStr = Field(default=SecretStr(""), description="Fernet keys, comma-separated, newest first.")
    lookup_key: SecretStr = Field(default=SecretStr(""), description="HMAC key of ID look-up hashes.")

    # Twilio (SMS). Secrets: set here, or leave empty and create the Prefect Secret block
    # `arrears-twilio-auth-token` / `arrears-sendgrid-api-key`.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base: str = Field(default="https://api.twilio.com", description="Point at the fake provider in tests.")
    # SendGrid (email).
    sendgrid_api_key: SecretStr = SecretStr("")
    sendgrid_from: str = ""
    sendgrid_api_host: str = "https://api.sendgrid.com"
    sendgrid_webhook_public_key: str = Field(default="", description="Event Webhook verification key (base64 DER).")
    # Which provider carries each channel, and routes by recipient (arrears/providers/routing.py).
    sms_provider: Literal["twilio", "aliyun"] = "twilio"
    email_provider: Literal["sendgrid", "smtp"] = "sendgrid"
    sms_routes: dict[str, str] = Field(
        default={}, description='Phone prefix -> SMS provider, e.g. {"+86": "aliyun"} (JSON); longest prefix wins.'
    )
    email_routes: dict[str, str] = Field(
        default={}, description='Address domain -> email provider, e.g. {".cn": "smtp"} (JSON).'
    )
    data_region: str = Field(
        default="", description="ISO country personal data must stay in (e.g. CN): providers elsewhere are refused."
    )
    # Alibaba Cloud SMS (mainland China). Secret: here, or the Prefect Secret block
    # `arrears-aliyun-access-key-secret`.
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: SecretStr = SecretStr("")
    aliyun_sms_endpoint: str = Field(
        default="dysmsapi.aliyuncs.com", description="host[:port], or http://127.0.0.1:PORT for the fake provider."
    )
    aliyun_region: str = Field(default="CN", description="Where that endpoint processes data.")
    aliyun_report_token: SecretStr = Field(
        default=SecretStr(""), description="Token in the SmsReport/SmsUp push URLs set in the console (?token=)."
    )
    aliyun_rate_per_s: float = Field(default=50.0, ge=0, description="Alibaba Cloud SMS requests/s; 0 = no limit.")
    # SMTP (the lender's own mail server). Password: here, or the Prefect Secret block `arrears-smtp-password`.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""
    smtp_ca_file: Path | None = Field(default=None, description="A CA to trust besides the system's (private server).")
    smtp_region: str = Field(default="", description="Where the mail server is; empty = ARREARS_DATA_REGION.")
    smtp_dsn: bool = Field(default=True, description="Ask for delivery status notifications (if the server has DSN).")
    smtp_dsn_token: SecretStr = Field(default=SecretStr(""), description="Token of the webhook's /smtp/dsn URL.")
    smtp_rate_per_s: float = Field(default=20.0, ge=0, description="SMTP messages per second; 0 = no limit.")
    # Where providers post delivery receipts (the public URL of `arrears webhooks`).
    webhook_base_url: str = "http://127.0.0.1:8765"
    webhook_replay_window_s: float = Field(
        default=600, gt=0, description="How old a signed SendGrid event batch may be before it is refused as a replay."
    )

    # What a contact costs (champion/challenger results: cost per recovered unit), in cost_currency.
    contact_costs: dict[str, Decimal] = Field(
        default={
            "sms": Decimal("0.05"), "email": Decimal("0.005"), "letter": Decimal("8.00"), "call_task": Decimal("3.00")
        },
        description='Cost of one contact per channel, e.g. {"sms": "0.05"} (JSON).',
    )
    cost_currency: str = Field(default="CNY", min_length=3, max_length=3)

    daily_report: bool = Field(default=True, description="The daily run writes the 30-day report (HTML + PDF).")
    reports_base_url: str | None = Field(
        default=None, description="Where the reports folder is served (`arrears server` sets it); empty = file links."
    )

    # Dispatch.
    dry_run: bool = Field(default=False, description="Render, record and count; call no provider.")
    sms_rate_per_s: float = Field(default=10.0, ge=0, description="Twilio messages per second; 0 = no limit.")
    email_rate_per_s: float = Field(default=50.0, ge=0, description="SendGrid requests per second; 0 = no limit.")
    dispatch_chunk: int = Field(default=2000, ge=1, description="Messages per dispatch task.")
    dispatch_threads: int = Field(
        default=8, ge=1, description="Concurrent provider calls in a send task; needs >= rate x per-message latency."
    )
    provider_timeout_s: float = Field(default=10.0, gt=0)
    retry_attempts: int = Field(default=6, ge=1, description="Provider calls per message per run.")
    retry_base_s: float = Field(default=0.5, ge=0)
    retry_max_s: float = Field(default=30.0, ge=0)
    lookup_delay_s: float = Field(default=1.0, ge=0, description="Wait before asking a provider about a lost response.")
    breaker_failures: int = Field(
        default=8,
        ge=0,
        description="Consecutive failed calls to a provider (5xx, timeout, refused) after which the run stops "
        "calling it and leaves the rest queued; 0 = never.",
    )
    breaker_cooldown_s: float = Field(
        default=60.0, ge=0, description="How long an open circuit waits before one probe call is let through."
    )
    lease_ttl_s: float = Field(
        default=60.0, ge=1, description="A run silent this long (no heartbeat) is gone: its `sending` is settled."
    )

    @field_validator("lender_logo", "lender_seal")
    @classmethod
    def _image_file(cls, v: Path | None) -> Path | None:
        if v is None or str(v) == "":
            return None
        if v.suffix.lower() not in (".png", ".jpg", ".jpeg", ".svg"):
            raise ValueError(f"{v}: give a PNG, JPEG or SVG image")
        if not v.is_file():
            raise ValueError(f"{v}: no such file")
        return v.resolve()

    @field_validator("lender_timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA timezone (e.g. Asia/Shanghai)") from None
        return v

    @field_validator("sms_routes", "email_routes")
    @classmethod
    def _known_providers(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = ("twilio", "aliyun") if info.field_name == "sms_routes" else ("sendgrid", "smtp")
        for match, provider in v.items():
            if provider not in known:
                raise ValueError(f"{match!r} -> {provider!r}: a provider of this channel is one of {', '.join(known)}")
        return v

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'arrears.db').resolve()}"

    @property
    def resolved_reports_dir(self) -> Path:
        return (self.var_dir / "reports").resolve()

    @property
    def resolved_letters_dir(self) -> Path:
        return (self.letters_dir or self.var_dir / "letters").resolve()

    @property
    def lender_zone(self) -> ZoneInfo:
        return ZoneInfo(self.lender_timezone)

    def today(self, now: datetime) -> date:
        """The lender's calendar day at ``now`` (aware)."""
        return now.astimezone(ZoneInfo(self.lender_timezone)).date()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
