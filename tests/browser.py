#!/usr/bin/python3
"""Loads a page in headless Chromium and prints what it rendered, as JSON.

    tests/browser.py URL [--timeout S] [--state ready] [--renders N]
                         [--token TOKEN] [--then CMD --until JS]
                         [--screenshot FILE.png] [--width 1366] [--height 900]

Drives Debian's `chromium` over the DevTools protocol on
--remote-debugging-pipe: the browser reads commands on its fd 3 and writes
answers and events on its fd 4, each a JSON message ended by a NUL byte, so
no websocket library is needed.  Steps:

  1. start chromium (headless, fresh profile in a temporary directory);
  2. open a tab of --width x --height CSS pixels and load URL;
  3. poll, every 100 ms, until document.body.dataset.state equals --state
     (and dataset.renders reaches --renders); with --token, first until
     the page asks for a token (state "auth"), then it is typed into the
     page's form and submitted;
  4. with --then, run CMD (/bin/sh -c) and, with --until, poll again until
     the JavaScript expression JS is true (each wait up to --timeout);
  5. print one JSON object on stdout:
       {"url", "state", "renders", "title", "campaign",
        "document": {"status", "headers": {lower-case name: value}},
        "hooks": [{"testid", "data": {...}, "text", "visible"}...],
        "errors": [...],   # exceptions and CSP violations
        "console": [...]}  # any other console or log line
     where hooks are the elements with a data-testid attribute, in document
     order, their other data-* attributes and their trimmed text;
  6. with --screenshot, write a PNG of the viewport;
  7. close the browser, kill what is left of its process group and remove
     the profile, whatever happened.

Exit status: 0 done; 1 the page did not reach the state in time (the
reason, the state it was in and its banners on stderr); 2 usage, or
chromium could not be started or stopped answering.
"""

import argparse
import base64
import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHROMIUM = os.environ.get("ENGAGED_CHROMIUM", "/usr/bin/chromium")


class BrowserError(Exception):
    """Chromium failed or stopped answering: exit status 2."""


class PageTimeout(Exception):
    """The page did not reach the awaited state: exit status 1."""


def _die_with_parent():
    """In the child before exec: SIGKILL when this script dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Chromium:
    """One headless Chromium on a DevTools pipe; a context manager."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="engaged-chromium.")
        self.proc = None
        self.next_id = 0
        self.buf = b""
        self.events = []
        self.session = None

    def __enter__(self):
        # Chromium gets the commands pipe's read end as its fd 3 and the
        # answers pipe's write end as its fd 4.  They are put at 3 and 4 here
        # (whatever held those numbers, an fd the test process leaked, is
        # closed in this process only) and passed as they are: then neither
        # Popen's own error pipe nor a dup2 in the child can clash with them.
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        fds = [fcntl_dupfd(fd) for fd in (cmd_r, cmd_w, out_r, out_w)]
        self._close_fds((cmd_r, cmd_w, out_r, out_w))
        cmd_r, cmd_w, out_r, out_w = fds
        os.dup2(cmd_r, 3, inheritable=True)
        os.dup2(out_w, 4, inheritable=True)
        self._close_fds((cmd_r, out_w))
        self.wfd, self.rfd = cmd_w, out_r

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-extensions",
                "--disable-sync", "--disable-dev-shm-usage", "--mute-audio",
                "--hide-scrollbars", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile,
                "--window-size=%d,%d" % (self.width, self.height),
                "about:blank"]
        log = open(os.path.join(self.profile, "chromium.log"), "wb")
        try:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=log, pass_fds=(3, 4), preexec_fn=_die_with_parent,
                start_new_session=True)
        except OSError as e:
            self._close_fds((3, 4, self.wfd, self.rfd))
            shutil.rmtree(self.profile, ignore_errors=True)
            raise BrowserError("%s cannot be run: %s" % (CHROMIUM, e))
        finally:
            self._close_fds((3, 4))
            log.close()
        return self

    @staticmethod
    def _close_fds(fds):
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def log_tail(self):
        try:
            with open(os.path.join(self.profile, "chromium.log"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def __exit__(self, *exc):
        try:
            if self.proc.poll() is None:
                try:
                    self.send("Browser.close", session=False, timeout=5)
                except (BrowserError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # The renderers and zygotes are in the browser's session: the
            # whole group goes, then the main process is reaped.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self._close_fds((self.wfd, self.rfd))
            shutil.rmtree(self.profile, ignore_errors=True)
        return False

    # -- the protocol --------------------------------------------------------

    def _write(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def _read(self, deadline):
        """The next message, or BrowserError at the deadline."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self.rfd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.rfd, 1 << 16)
            if not chunk:
                raise BrowserError("chromium exited (status %s); its log:\n%s"
                                   % (self.proc.poll(), self.log_tail()))
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, timeout=30):
        """Sends one command (to the page's session unless session=False)
        and returns its result; events that come meanwhile are kept."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self._write(msg)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise BrowserError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def open(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"},
                           session=False)["targetId"]
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height,
                   "deviceScaleFactor": 1, "mobile": False})
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(domain + ".enable")
        self.send("Page.navigate", {"url": url})

    def eval(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression,
                                           "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            raise BrowserError("evaluating %r: %s" % (expression, r["exceptionDetails"]))
        return r["result"].get("value")

    def document_error(self):
        """The status line of the page's own document when it is not 2xx
        (a 404 will never reach any state), else None."""
        for e in self.events:
            if e["method"] != "Network.responseReceived":
                continue
            p = e.get("params", {})
            r = p.get("response", {})
            if p.get("type") == "Document" and not 200 <= r.get("status", 200) < 300:
                return "%s answered %s %s" % (r.get("url"), r.get("status"),
                                              r.get("statusText", ""))
        return None

    def document(self):
        """The status and headers (names in lower case) of the page's own
        document, the last one loaded, or None."""
        doc = None
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Network.responseReceived" and p.get("type") == "Document":
                r = p.get("response", {})
                doc = {"status": r.get("status"),
                       "headers": {k.lower(): v for k, v in r.get("headers", {}).items()}}
        return doc

    def screenshot(self, path):
        r = self.send("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def diagnostics(self):
        """(errors, console): exceptions and CSP violations, then the rest."""
        errors, console = [], []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                ex = d.get("exception", {})
                errors.append("exception: " + (ex.get("description") or d.get("text", "?")))
            elif m == "Log.entryAdded":
                entry = p.get("entry", {})
                line = "%s %s: %s %s" % (entry.get("source"), entry.get("level"),
                                         entry.get("text", ""), entry.get("url", ""))
                if "Content Security Policy" in entry.get("text", "") or \
                        entry.get("source") == "security":
                    errors.append(line.strip())
                else:
                    console.append(line.strip())
            elif m == "Runtime.consoleAPICalled":
                args = [str(a.get("value", a.get("description", "")))
                        for a in p.get("args", [])]
                line = "console.%s: %s" % (p.get("type"), " ".join(args))
                (errors if p.get("type") == "error" else console).append(line)
        return errors, console


def fcntl_dupfd(fd):
    """A close-on-exec duplicate of fd numbered 10 or more."""
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


STATE_JS = """(() => {
  const b = document.body;
  if (!b) return {state: null, renders: 0};
  return {state: b.dataset.state || null, renders: Number(b.dataset.renders || 0)};
})()"""

HOOKS_JS = """(() => {
  const b = document.body;
  const out = {url: location.href, state: b.dataset.state || null,
               renders: Number(b.dataset.renders || 0), title: document.title,
               campaign: b.dataset.campaign === undefined ? null : b.dataset.campaign,
               hooks: []};
  for (const e of document.querySelectorAll('[data-testid]')) {
    const data = {};
    for (const k of Object.keys(e.dataset))
      if (k !== 'testid') data[k] = e.dataset[k];
    out.hooks.push({testid: e.dataset.testid, data: data,
                    text: (e.textContent || '').trim(),
                    visible: !e.closest('[hidden]') && e.getClientRects().length > 0});
  }
  return out;
})()"""

TOKEN_JS = """(() => {
  const f = document.getElementById('auth'), i = document.getElementById('auth-token');
  if (!f || f.hidden || !i) return false;
  i.value = %s;
  f.requestSubmit();
  return true;
})()"""

BANNERS_JS = """Array.from(document.querySelectorAll('.banner:not([hidden]), #empty:not([hidden]), #auth:not([hidden])'))
  .map(e => e.textContent.replace(/\\s+/g, ' ').trim()).join(' | ')"""


def wait_for(b, args, what, done):
    """Polls `done(state)` every 100 ms for up to args.timeout seconds,
    state being STATE_JS's answer (None while the page is loading);
    PageTimeout with what the page shows when it does not come true."""
    deadline = time.monotonic() + args.timeout
    last = None
    while True:
        try:
            last = b.eval(STATE_JS)
        except BrowserError:
            last = None   # navigating: no context yet
        if last is not None and done(last):
            return last
        broken = b.document_error()
        if broken:
            raise PageTimeout("%s: %s" % (args.url, broken))
        if time.monotonic() >= deadline:
            try:
                banners = b.eval(BANNERS_JS)
            except BrowserError:
                banners = ""
            errors, console = b.diagnostics()
            raise PageTimeout(
                "%s: %s did not happen within %.0f s: the page is %s%s%s%s"
                % (args.url, what, args.timeout, json.dumps(last),
                   "; it says: " + banners if banners else "",
                   "; errors: " + " / ".join(errors) if errors else "",
                   "; console: " + " / ".join(console[-5:]) if console else ""))
        time.sleep(0.1)   # the poll's period, not a synchronisation


def run(args):
    with Chromium(args.width, args.height) as b:
        b.open(args.url)
        if args.token is not None:
            wait_for(b, args, "a request for the token (state 'auth')",
                     lambda st: st["state"] == "auth")
            if not b.eval(TOKEN_JS % json.dumps(args.token)):
                raise BrowserError("the page's token form cannot be filled")
        wait_for(b, args, "state %r with %d render(s)" % (args.state, args.renders),
                 lambda st: st["state"] == args.state and st["renders"] >= args.renders)
        if args.then:
            # Its output goes to stderr: stdout is the JSON.
            rc = subprocess.run(["/bin/sh", "-c", args.then],
                                stdin=subprocess.DEVNULL,
                                stdout=sys.stderr).returncode
            if rc != 0:
                raise BrowserError("--then %r exited with %d" % (args.then, rc))
        if args.until:
            wait_for(b, args, "%r" % args.until,
                     lambda st: b.eval("!!(%s)" % args.until))
        out = b.eval(HOOKS_JS)
        if args.screenshot:
            b.screenshot(args.screenshot)
        out["errors"], out["console"] = b.diagnostics()
        out["document"] = b.document()
        return out


def main():
    _die_with_parent()   # and chromium with this script
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--timeout", type=float, default=30, help="seconds (30)")
    p.add_argument("--state", default="ready",
                   help="the body's data-state to wait for (ready)")
    p.add_argument("--renders", type=int, default=1,
                   help="and at least this many renders (1); 0 for any")
    p.add_argument("--token", help="wait for the page to ask for a token, "
                   "then type this one into its form")
    p.add_argument("--then", metavar="CMD",
                   help="a shell command run once the state is reached")
    p.add_argument("--until", metavar="JS",
                   help="then poll until this expression is true")
    p.add_argument("--screenshot", metavar="FILE", help="a PNG of the viewport")
    p.add_argument("--width", type=int, default=1366)
    p.add_argument("--height", type=int, default=900)
    args = p.parse_args()
    try:
        out = run(args)
    except PageTimeout as e:
        print("browser.py: %s" % e, file=sys.stderr)
        return 1
    except BrowserError as e:
        print("browser.py: %s" % e, file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
