"""Typed, frozen settings read once from the environment (prefix ``CREDLINK_``).

==================================  ======================================================
variable                            meaning (default)
==================================  ======================================================
``CREDLINK_WORK_DIR``               where the demo county, the SQLite store and MLflow live
                                    (``./credlink-work``)
``CREDLINK_DATABASE_URL``           SQLAlchemy URL of the store
                                    (``sqlite:///<work_dir>/credlink.db``); e.g.
                                    ``postgresql+psycopg://user:pass@host:5432/credlink``
``CREDLINK_ID_SALT``                salt for hashing resident ID numbers (≥ 16 bytes); without
                                    it a random salt is created once in ``<work_dir>/id_salt``
``CREDLINK_USCC_ALLOWLIST``         file of early-pilot USCCs (one a line) accepted with a
                                    warning despite a failed check character
``CREDLINK_AS_OF``                  date (YYYY-MM-DD) the commands score as of by default
                                    (today, server local date); the API answers as of its
                                    current score set's date (``credlink pipeline run``)
``CREDLINK_HOST``                   address ``credlink serve`` binds (``127.0.0.1``)
``CREDLINK_PORT``                   its port (``8000``)
``CREDLINK_WORKERS``                uvicorn worker processes (``1``); each reads the
                                    current score set by key (no county in memory)
``CREDLINK_NETWORK_MAX_NODES``      most nodes one ``/network`` answer holds, nearest first
                                    (``300``)
``CREDLINK_ACCESS_LOG``             uvicorn's line per request on standard output (``true``;
                                    ``false`` saves ~15 % of the CPU of a small request)
``CREDLINK_KEY_CACHE_SECONDS``      how long a worker trusts an API key it verified; a
                                    revoked key is refused within that time (``5``; ``0``
                                    checks the store on every request)
``CREDLINK_MAX_BODY_BYTES``         largest request body accepted; more → 413 before it is
                                    read (``8388608``, 8 MiB; the largest legitimate bodies:
                                    a 1,000-item batch ≈ 0.3 MB, a 10,000-row
                                    ``/v1/outcomes`` post ≈ 3.2 MB, 3.9 MB indented)
``CREDLINK_RATE_LIMIT_PER_SECOND``  requests a second one API key may make to ``/v1`` **per
                                    worker** (the service-wide limit is this × workers);
                                    more → 429 with ``Retry-After`` (``5000``, above what a
                                    worker serves: set the contract's rate; ``0``: none)
``CREDLINK_RATE_LIMIT_BURST``       requests a key may make at once before the rate applies
                                    (``10000``)
``CREDLINK_HEADER_TIMEOUT_SECONDS`` a request's line and headers must arrive within this
                                    time of its first byte (or of the connection opening),
                                    else 408 and the connection is closed (``10``)
``CREDLINK_BODY_TIMEOUT_SECONDS``   a request's whole body must arrive within this time of
                                    its headers, else 408 and close (``30``)
``CREDLINK_KEEP_ALIVE_SECONDS``     an idle keep-alive connection is closed after this (``5``)
``CREDLINK_MAX_HEADER_BYTES``       largest request line plus headers; more → 431 and close
                                    (``65536``)
``CREDLINK_MAX_CONNECTIONS``        connections and requests one worker serves at once; more
                                    → 503 (``1000``)
``CREDLINK_LOGIN_MAX_FAILURES``     failed web logins from one client address, or for one
                                    key prefix, within the window before further attempts
                                    are refused with 429 (``5``)
``CREDLINK_LOGIN_WINDOW_SECONDS``   that window, and so the longest lockout (``900``)
``CREDLINK_AUTHORIZATION_MAX_DAYS`` how far after today a bank authorization may expire;
                                    later → 403 ``authorization_too_long`` (``366``: a year)
``CREDLINK_PUBLIC_DOCS``            serve ``/docs``, ``/redoc`` and ``/openapi.json`` without
                                    a key (``false``: any valid API key is needed)
``CREDLINK_METRICS_PUBLIC``         serve ``/metrics`` without a key (``false``: an admin key
                                    or the metrics token is needed)
``CREDLINK_METRICS_TOKEN``          a token (≥ 32 characters) Prometheus may send as
                                    ``Authorization: Bearer`` for ``/metrics`` (none)
``CREDLINK_REQUIRED_MODELS``        the champions ``/readyz`` waits for: ``auto`` (the
                                    pre-credit pair if an MLflow server is configured or
                                    the work directory has an MLflow store at start-up,
                                    none otherwise), ``none``, or a
                                    comma-separated list of ``credlink-pd``,
                                    ``credlink-limit`` (``auto``)
``CREDLINK_RISK_CONFIG_FILE``       JSON or TOML file of propagation, rule and grade settings
                                    (``risk.config.RiskConfig``; none: the defaults)
``MLFLOW_TRACKING_URI``             MLflow's own variable: where runs and models go, e.g. a
                                    team's ``http://mlflow.internal:5000`` (artifacts where
                                    that server keeps them); unset: the work directory's
                                    ``sqlite:///<work_dir>/mlflow.db`` with artifacts in
                                    ``<work_dir>/mlartifacts``
``MLFLOW_REGISTRY_URI``             MLflow's own variable: the model registry, when it is not
                                    the tracking store (unset: the tracking URI)
==================================  ======================================================

The credit-office web pages sign their session cookies with :meth:`Settings.session_key`: a
random key kept in ``<work_dir>/session_key`` (mode 0600), created on first use, shared by every
worker on the work directory and kept across restarts; delete the file to log everybody out.
"""

from __future__ import annotations

import os
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from risk.config import RiskConfig

__all__ = ["SERVED_MODELS", "Settings", "load_allowlist"]

SERVED_MODELS = ("credlink-pd", "credlink-limit")
"""The champions the API loads (:data:`serving.precredit.MODEL_NAMES`; kept here so that
reading the settings does not import MLflow)."""


class Settings(BaseSettings):
    """credlink's configuration; construct once at the edge (CLI, app factory)."""

    model_config = SettingsConfigDict(
        env_prefix="CREDLINK_", frozen=True, extra="ignore", populate_by_name=True
    )

    work_dir: Path = Path("credlink-work")
    database_url: str | None = None
    id_salt: SecretStr | None = None
    uscc_allowlist: Path | None = None
    as_of: date | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    network_max_nodes: int = Field(default=300, ge=10, le=10_000)
    access_log: bool = True
    key_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Limits on hostile callers (serving.limits, serving.web.sessions): module docstring.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=1024**3)
    rate_limit_per_second: float = Field(default=5000.0, ge=0, le=1_000_000)
    rate_limit_burst: int = Field(default=10_000, ge=1, le=1_000_000)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    keep_alive_seconds: int = Field(default=5, ge=1, le=3600)
    max_header_bytes: int = Field(default=65536, ge=1024, le=16 * 1024 * 1024)
    max_connections: int = Field(default=1000, ge=1, le=1_000_000)
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_window_seconds: int = Field(default=900, ge=1, le=7 * 86400)
    authorization_max_days: int = Field(default=366, ge=1, le=3660)
    public_docs: bool = False
    metrics_public: bool = False
    metrics_token: SecretStr | None = Field(default=None, min_length=32)
    required_models: Annotated[tuple[str, ...] | None, NoDecode] = None
    """The champions ``/readyz`` waits for; ``None`` is ``auto`` (module docstring)."""
    risk_config_file: Path | None = None
    """JSON or TOML file of the risk settings (:class:`risk.config.RiskConfig`)."""
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "mlflow_tracking_uri")
    )
    """``MLFLOW_TRACKING_URI``; None: the work directory's store (:meth:`mlflow_uris`)."""
    mlflow_registry_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_REGISTRY_URI", "mlflow_registry_uri")
    )
    """``MLFLOW_REGISTRY_URI``; None: the tracking URI."""

    @field_validator("mlflow_tracking_uri", "mlflow_registry_uri", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """An empty variable is unset (as MLflow reads it)."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("required_models", mode="before")
    @classmethod
    def _required_models(cls, value: Any) -> tuple[str, ...] | None:
        """``auto`` → None, ``none`` → (), else the listed names, each one the API loads."""
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "auto":
                return None
            if text == "none":
                return ()
            if not text:
                raise ValueError(
                    "required_models must be auto, none or a comma-separated list of "
                    f"{', '.join(SERVED_MODELS)}; got ''"
                )
            value = [name.strip() for name in text.split(",")]
        names = tuple(value)
        for name in names:
            if name not in SERVED_MODELS:
                raise ValueError(
                    f"required_models must name champions the API loads "
                    f"({', '.join(SERVED_MODELS)}); got {name!r}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"required_models must not repeat a name; got {names}")
        return names

    @property
    def snapshot_date(self) -> date:
        """The date the commands score as of (``as_of``, default today)."""
        return self.as_of if self.as_of is not None else date.today()

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL (the SQLite file in the work directory by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.work_dir / 'credlink.db').resolve()}"

    def mlflow_uris(self) -> tuple[str, str | None]:
        """Where MLflow runs and models go: the tracking URI and the artifact root of new
        experiments.

        ``MLFLOW_TRACKING_URI`` when set (the server decides where artifacts go: None), else
        the work directory's store (:func:`models.tracking.tracking_uris`).
        """
        if self.mlflow_tracking_uri is not None:
            return self.mlflow_tracking_uri, None
        from models.tracking import tracking_uris  # imports MLflow: only when it is used

        tracking_uri, artifacts = tracking_uris(self.work_dir)
        return tracking_uri, artifacts

    def has_mlflow_store(self) -> bool:
        """A configured MLflow server, or the work directory's store once it exists (reading
        a missing SQLite store would create an empty one)."""
        return self.mlflow_tracking_uri is not None or (self.work_dir / "mlflow.db").exists()

    def risk_config(self) -> RiskConfig:
        """The one :class:`~risk.config.RiskConfig` of this deployment: the defaults, or
        ``CREDLINK_RISK_CONFIG_FILE``'s file."""
        if self.risk_config_file is None:
            return RiskConfig()
        return RiskConfig.from_file(self.risk_config_file)

    def salt(self) -> bytes:
        """Return the ID-hashing salt, creating ``<work_dir>/id_salt`` (mode 0600) if needed.

        Raises
        ------
        ValueError
            If ``CREDLINK_ID_SALT`` is shorter than 16 bytes.
        """
        if self.id_salt is not None:
            value = self.id_salt.get_secret_value().encode()
            if len(value) < 16:
                raise ValueError(f"CREDLINK_ID_SALT must be at least 16 bytes; got {len(value)}")
            return value
        return _secret_file(self.work_dir / "id_salt")

    def session_key(self) -> bytes:
        """Return the key that signs the web pages' session cookies (module docstring).

        ``<work_dir>/session_key`` is created (mode 0600) with 256 random bits if missing.
        """
        return _secret_file(self.work_dir / "session_key")


def _secret_file(path: Path) -> bytes:
    """Read a secret file, creating it (mode 0600, 32 random bytes in hex) if missing.

    Several processes may ask at once (uvicorn workers): the secret is written to a private
    temporary file and linked into place, so a reader never sees a half-written file and the
    first writer wins.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        finally:
            temporary.unlink()
    return path.read_text().strip().encode()


def load_allowlist(path: Path | None) -> tuple[str, ...]:
    """Read an allow-list file: one USCC a line, ``#`` comments and blank lines ignored."""
    if path is None:
        return ()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return tuple(line for line in lines if line)
