"""Whether the Hugging Face hub can be reached, decided in seconds before a download starts.

Without network the hub clients retry for 25-50 s and then end without saying what to do; a
short TCP probe of the endpoint (or of the HTTPS proxy, when one is set) fails at once instead,
so the builders can name the fix: a local copy (--source PATH) or a local model directory.
"""

from __future__ import annotations

import os
import re
import socket
from urllib.parse import urlsplit

from justrl_common.config import load_yaml

DEFAULT_ENDPOINT = "https://huggingface.co"
# owner/name: how open_source and load_tokenizer tell a hub id from a local path.
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_TRUE = {"1", "true", "yes", "on"}


def offline_requested() -> bool:
    """HF_HUB_OFFLINE=1: the user asked for the hub cache only."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def _probe_target() -> tuple[str, str, int]:
    endpoint = os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT)
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlsplit(proxy or endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    return endpoint, url.hostname or "", port


def unreachable_reason() -> str | None:
    """Why the hub cannot be reached from here, or None when a connection opens in time."""
    endpoint, host, port = _probe_target()
    timeout = load_yaml("data_prep.yaml")["hub"]["probe_timeout_s"]
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"the hub ({endpoint}) cannot be reached from this machine ({exc.strerror or exc})"
    return None
