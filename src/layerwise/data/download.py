"""Downloading one file over HTTP(S) into place: a deadline for the whole file, a size cap, no leftovers.

:func:`download` writes the body to a temporary ``.part`` file beside the
target, hashing it as it arrives, and renames it into place only when it is
complete and its SHA-256 digest is the expected one. Whatever goes wrong (no
network, an HTTP error, the deadline, a body larger than allowed or shorter
than announced, a wrong digest, an interruption), the ``.part`` file is
removed and :class:`~layerwise.errors.DataError` says which of these it was.

The deadline covers the whole file, connection included: every blocking
network operation waits at most the time left, so a server that trickles one
byte per second is abandoned when the deadline passes. Proxies named by the
usual environment variables (``http_proxy``, ``https_proxy``, ``no_proxy``)
are used as :mod:`urllib.request` would.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..errors import ConfigError, DataError

CHUNK = 1 << 16
MAX_REDIRECTS = 5


class DownloadError(DataError):
    """A download failed before a complete body arrived (network, HTTP status, deadline)."""


def check_url(url: str, what: str) -> str:
    """Return ``url`` if it is an absolute http:// or https:// URL with a host, else raise ConfigError."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} must be an http:// or https:// URL, received {url!r}")
    return url


def download(url: str, path: Path, *, sha256: str, max_bytes: int, timeout: float, size: int | None = None) -> None:
    """Fetch ``url`` into ``path`` within ``timeout`` seconds in all.

    Parameters
    ----------
    url : str
        An http:// or https:// URL (redirects are followed, at most 5).
    path : Path
        Where the file goes; its directory is created if needed.
    sha256 : str
        Expected hex digest of the body.
    max_bytes : int
        Largest body accepted; a larger announced or received body is refused.
    timeout : float
        Seconds for the whole file, from connecting to the last byte.
    size : int, optional
        The exact size expected; a shorter body without a Content-Length is
        then reported as truncated.

    Raises
    ------
    DownloadError
        If the network, the server or the deadline fails the download.
    DataError
        If the body is larger than ``max_bytes``, truncated, or has another digest,
        or the directory cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise DataError(f"cannot write to the data cache {path.parent}: {exc.strerror or exc}; "
                        "choose another directory with LAYERWISE_DATA") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            received, digest = _fetch_into(out, url, max_bytes, time.monotonic() + timeout, timeout, size)
        if received != sha256:
            raise DataError(f"downloaded {path.name} from {url} is corrupt: expected SHA-256 {sha256}, "
                            f"received {received}; the file was discarded")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_into(out, url: str, max_bytes: int, deadline: float, timeout: float, size: int | None):
    """Write the body of ``url`` to ``out``; return its hex digest and the number of bytes."""
    digest, count = hashlib.sha256(), 0
    sock, response = _open(url, deadline, timeout)
    try:
        length = response.getheader("Content-Length")
        announced = int(length) if length is not None and length.strip().isdigit() else None
        if announced is not None and announced > max_bytes:
            raise DataError(f"{url} announces {announced:,} bytes, more than the {max_bytes:,} expected; "
                            "nothing was kept")
        while True:
            _limit(sock, deadline, timeout, url)
            try:
                chunk = response.read1(CHUNK)
            except http.client.IncompleteRead as exc:
                count += len(exc.partial)
                chunk = b""
            except (OSError, http.client.HTTPException) as exc:
                raise _network_error(url, exc, timeout) from None
            if not chunk:
                break
            count += len(chunk)
            if count > max_bytes:
                raise DataError(f"{url} sent more than the {max_bytes:,} bytes expected; nothing was kept")
            digest.update(chunk)
            out.write(chunk)
    finally:
        response.close()
        sock.close()
    expected = announced if announced is not None else size
    if expected is not None and count < expected:
        raise DataError(f"the download of {url} is truncated: received {count:,} of {expected:,} bytes; "
                        "nothing was kept, try again")
    return digest.hexdigest(), count


def _open(url: str, deadline: float, timeout: float):
    """Connect and send the request, following redirects; return the socket and its 200 response."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        connection, target = _connection(parts, deadline, timeout, url)
        try:
            connection.request("GET", target, headers={"User-Agent": "layerwise", "Accept-Encoding": "identity"})
            sock = connection.sock  # kept: the connection lets go of it when the response will close it
            _limit(sock, deadline, timeout, url)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise _network_error(url, exc, timeout) from None
        connection.close()  # the response keeps the socket open until it is closed
        if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
            response.close()
            sock.close()
            url = check_url(urljoin(url, response.getheader("Location")), "a redirect")
            continue
        if response.status != 200:
            response.close()
            sock.close()
            raise DownloadError(f"HTTP Error {response.status}: {response.reason}")
        return sock, response
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects")


def _connection(parts, deadline: float, timeout: float, url: str):
    """An unconnected HTTP(S) connection for ``parts`` (through a proxy when the environment names one)."""
    remaining = _remaining(deadline, timeout, url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(parts.hostname):
        proxy = None
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    if not proxy:
        return cls(parts.hostname, parts.port, timeout=remaining), target
    via = urlsplit(proxy if "//" in proxy else "http://" + proxy)
    if parts.scheme == "https":
        connection = cls(via.hostname, via.port, timeout=remaining)
        connection.set_tunnel(parts.hostname, parts.port)
        return connection, target
    return http.client.HTTPConnection(via.hostname, via.port, timeout=remaining), parts.geturl()


def _remaining(deadline: float, timeout: float, url: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadError(f"the download did not finish within the timeout of {timeout:g} s ({url})")
    return left


def _limit(sock, deadline: float, timeout: float, url: str) -> None:
    """Let the next blocking operation on ``sock`` wait at most until the deadline."""
    sock.settimeout(_remaining(deadline, timeout, url))


def _network_error(url: str, exc: Exception, timeout: float) -> DownloadError:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return DownloadError(f"the download did not finish within the timeout of {timeout:g} s ({url})")
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
    return DownloadError(str(reason))
