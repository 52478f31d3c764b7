/**
 * puppeteer must never download a browser: this machine (and CI) has no route to the
 * download host, and we render with Debian's Chromium. `executablePath` is the default
 * the render pool uses; KEYPROOF_CHROMIUM overrides it.
 * @type {import("puppeteer").Configuration}
 */
module.exports = {
  skipDownload: true,
  executablePath: process.env.KEYPROOF_CHROMIUM || "/usr/bin/chromium",
};
