#!/usr/bin/env python3
"""Drives headless Chromium for OperatorPageTests, over the DevTools protocol on a pipe
(--remote-debugging-pipe: commands on the browser's fd 3, answers on its fd 4, NUL-terminated
JSON), so that nothing beyond Debian's chromium package is needed.

  click.py CHROMIUM URL SCREENSHOT.png SELECTOR

Loads URL, saves a screenshot, then clicks the element SELECTOR names with the mouse (pressed
and released at its centre, as a person clicks) and waits for the page the click leads to.
Prints one JSON line: {"title": ..., "clicked": true, "after": URL of the page after the click,
"blank_png_bytes": size of a screenshot of the same window blank}.
Exits 1 with a line on stderr when a step fails or takes over 20 s."""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class Browser:
    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()

        def descriptors():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.process = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + self.profile, "--window-size=1200,800", "about:blank"],
            # The fds are closed after preexec_fn runs, except these: 3 and 4 must be among them.
            preexec_fn=descriptors, pass_fds=(3, 4, to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self.next_id, method)

    def wait(self, matches, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.events):
                if matches(message):
                    del self.events[index]
                    if "error" in message:
                        raise SystemExit("chromium refused %s: %s" % (what, message["error"]))
                    return message
            if time.monotonic() > deadline:
                raise SystemExit("chromium: no %s within %d s" % (what, timeout))
            ready, _, _ = select.select([self.from_browser], [], [], 0.5)
            if ready:
                chunk = os.read(self.from_browser, 65536)
                if not chunk:
                    raise SystemExit("chromium closed its pipe while waiting for %s" % what)
                self.buffer += chunk
                while b"\0" in self.buffer:
                    raw, self.buffer = self.buffer.split(b"\0", 1)
                    self.events.append(json.loads(raw))

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    executable, url, screenshot, selector = sys.argv[1:5]
    browser = Browser(executable)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["result"]["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["result"]["sessionId"]
        browser.send("Page.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride", {"width": 1200, "height": 800, "deviceScaleFactor": 1, "mobile": False}, session=session)
        # The same window blank, to compare the page's screenshot with.
        blank = len(base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["result"]["data"]))
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, "the page's load")
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)["result"]["data"]
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot))
        title = browser.send("Runtime.evaluate", {"expression": "document.title", "returnByValue": True}, session=session)["result"]["result"]["value"]
        root = browser.send("DOM.getDocument", session=session)["result"]["root"]["nodeId"]
        node = browser.send("DOM.querySelector", {"nodeId": root, "selector": selector}, session=session)["result"]["nodeId"]
        if not node:
            raise SystemExit("no element matches %s on %s" % (selector, url))
        quad = browser.send("DOM.getBoxModel", {"nodeId": node}, session=session)["result"]["model"]["content"]
        x, y = (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}, session=session)
        browser.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, "the page after the click")
        after = browser.send("Runtime.evaluate", {"expression": "location.href", "returnByValue": True}, session=session)["result"]["result"]["value"]
        print(json.dumps({"title": title, "clicked": True, "after": after, "blank_png_bytes": blank}))
    finally:
        browser.close()


if __name__ == "__main__":
    main()
