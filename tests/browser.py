"""Drive headless Chromium from tests through the DevTools protocol over a pipe.

No Node toolchain and no extra Python package: Chromium is started with
``--remote-debugging-pipe`` and speaks the DevTools protocol (CDP) as NUL-separated JSON
on file descriptors 3 (commands in) and 4 (replies and events out), the transport
Puppeteer uses with ``pipe: true``. Networking is off three ways: an unreachable proxy, a
host resolver that resolves nothing, and CDP's offline network emulation; every request
the page makes is still recorded, so a test can assert that a page asked for nothing but
``file:`` and ``data:`` URLs.

    with Chromium() as browser:
        page = browser.open(Path("map.html"))
        page.evaluate("document.title")
        page.console_errors, page.requests, page.dialogs
        page.screenshot(Path("map.png"))

The browser is found from ``$SPATIALRENO_CHROMIUM``, then ``chromium``,
``chromium-browser``, ``google-chrome`` on ``PATH``; :func:`find_chromium` returns None
when there is none, which tests turn into a skip.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Chromium", "Page", "BrowserError", "find_chromium", "CHROMIUM_FLAGS"]

#: flags from the project's brief, plus the ones that keep a headless run quiet and offline
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    # networking off: nothing resolves, and any proxy use goes nowhere
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


class BrowserError(RuntimeError):
    """Chromium could not be started, or a DevTools command failed or timed out."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    env = os.environ.get("SPATIALRENO_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@dataclass
class Page:
    """One tab, attached with a flat CDP session; filled in by the reader thread."""

    browser: Chromium
    session_id: str
    console: list[dict] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    loaded: threading.Event = field(default_factory=threading.Event)

    @property
    def console_errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and error-level log entries."""
        return [c["text"] for c in self.console if c["level"] == "error"]

    @property
    def external_requests(self) -> list[str]:
        """Every requested URL that is not ``file:``, ``data:``, ``blob:`` or ``about:``."""
        local = ("file:", "data:", "blob:", "about:")
        return [u for u in self.requests if not u.startswith(local)]

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        return self.browser.send(method, params, session_id=self.session_id, timeout=timeout)

    def evaluate(self, expression: str, timeout: float = 30.0):
        """Evaluate a JS expression in the page and return its JSON value."""
        reply = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout=timeout,
        )
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JS error evaluating {expression[:80]!r}: {text}")
        return reply.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 20.0, interval: float = 0.05):
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression!r}")
            time.sleep(interval)

    def screenshot(self, path: Path) -> Path:
        """Save a PNG of the viewport."""
        data = self.send("Page.captureScreenshot", {"format": "png"}, timeout=60)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path


class Chromium:
    """A headless Chromium process driven over ``--remote-debugging-pipe``."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        width: int = 1280,
        height: int = 800,
        offline: bool = True,
        timeout: float = 60.0,
    ):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise BrowserError("no Chromium found; set $SPATIALRENO_CHROMIUM")
        self.width, self.height, self.offline, self.timeout = width, height, offline, timeout
        self._proc: subprocess.Popen | None = None
        self._profile: str | None = None
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._pages: dict[str, Page] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._stderr = b""

    # -- process -------------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self._profile = tempfile.mkdtemp(prefix="sr-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def _child_fds():  # runs in the child before exec: CDP wants fds 3 and 4
            # move both ends above 10 first so that neither dup2 clobbers the other
            r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)  # dup2 clears close-on-exec, so 3 and 4 survive exec
            os.dup2(w, 4)

        args = [
            self.executable,
            *CHROMIUM_FLAGS,
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            close_fds=False,  # our pipe ends are close-on-exec; only 3 and 4 are inherited
            preexec_fn=_child_fds,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        threading.Thread(target=self._read_loop, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._drain_stderr, daemon=True)
        self._stderr_reader.start()
        self.send("Browser.getVersion", timeout=self.timeout)

    def close(self) -> None:
        if self._proc is None:
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None
            return
        try:
            if self._proc.poll() is None:
                with contextlib.suppress(BrowserError):
                    self.send("Browser.close", timeout=5)
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()  # our own child, by its handle
                    self._proc.wait(timeout=10)
        finally:
            self._closed = True
            reader = getattr(self, "_stderr_reader", None)
            if reader is not None and self._proc.poll() is not None:
                reader.join(timeout=5)  # the pipe is at EOF once chromium has exited
            if self._proc.stderr is not None and (reader is None or not reader.is_alive()):
                self._proc.stderr.close()
            for fd in (self._to_chrome, self._from_chrome):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None
            self._proc = None

    def _drain_stderr(self) -> None:
        proc = self._proc
        if proc is not None and proc.stderr is not None:
            for line in proc.stderr:
                self._stderr = (self._stderr + line)[-20000:]

    # -- protocol ------------------------------------------------------------------------
    def send(
        self, method: str, params: dict | None = None, *, session_id: str | None = None,
        timeout: float = 30.0,
    ) -> dict:
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        message = {"id": msg_id, "method": method, "params": params or {}}
        if session_id:
            message["sessionId"] = session_id
        data = json.dumps(message).encode() + b"\0"
        try:
            os.write(self._to_chrome, data)
        except OSError as exc:
            raise BrowserError(f"Chromium pipe closed ({exc}); stderr: {self._tail()}") from exc
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise BrowserError(f"no reply to {method} within {timeout} s; {self._tail()}")
                self._cond.wait(left)
            reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise BrowserError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def _tail(self) -> str:
        return self._stderr.decode(errors="replace")[-2000:]

    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._dispatch(json.loads(raw))

    def _dispatch(self, msg: dict) -> None:
        if "id" in msg:
            with self._cond:
                self._replies[msg["id"]] = msg
                self._cond.notify_all()
            return
        page = self._pages.get(msg.get("sessionId", ""))
        if page is None:
            return
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "")
            page.console.append({"level": "error", "text": f"uncaught: {text}"})
        elif method == "Runtime.consoleAPICalled":
            level = {"error": "error", "assert": "error", "warning": "warning"}.get(
                params.get("type"), "info"
            )
            text = " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
            )
            page.console.append({"level": level, "text": text})
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            page.console.append(
                {"level": entry.get("level", "info"),
                 "text": f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}"}
            )
        elif method == "Network.requestWillBeSent":
            page.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Network.loadingFailed":
            page.failed_requests.append(params.get("errorText", ""))
        elif method == "Page.javascriptDialogOpening":
            page.dialogs.append(params.get("message", ""))
            # dismiss so the page does not hang on alert()
            threading.Thread(
                target=lambda: self.send(
                    "Page.handleJavaScriptDialog", {"accept": True}, session_id=page.session_id
                ),
                daemon=True,
            ).start()
        elif method == "Page.loadEventFired":
            page.loaded.set()

    # -- pages ---------------------------------------------------------------------------
    def open(self, target: Path | str, *, wait: str | None = None, timeout: float = 60.0) -> Page:
        """Open a file (Path) or URL in a new tab with networking off; wait for ``load``
        and then for the JS expression ``wait`` to be truthy, if given."""
        url = Path(target).resolve().as_uri() if isinstance(target, Path) else str(target)
        target_id = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})
        page = Page(self, session["sessionId"])
        self._pages[page.session_id] = page
        for domain in ("Runtime", "Log", "Network", "Page"):
            page.send(f"{domain}.enable")
        if self.offline:
            page.send(
                "Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1,
                 "uploadThroughput": -1},
            )
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
             "mobile": False},
        )
        page.send("Page.navigate", {"url": url}, timeout=timeout)
        if not page.loaded.wait(timeout):
            raise BrowserError(f"{url} did not fire load within {timeout} s")
        if wait:
            page.wait_for(wait, timeout=timeout)
        return page
