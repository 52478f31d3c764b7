/**
 * The parsing half of the integration tier's global setup, which needs no service: it reads the file that
 * `scripts/services.sh start` writes.
 */
import { describe, expect, it } from "vitest";
import { parseServicesEnv } from "./global-setup.ts";

describe("services.env parsing", () => {
  it("reads export lines with single, double or no quotes and ignores comments", () => {
    const parsed = parseServicesEnv(
      [
        "# Written by scripts/services.sh start",
        "export KEYPROOF_TEST_AWS_ENDPOINT='http://127.0.0.1:5000'",
        'export KEYPROOF_TEST_VAULT_TOKEN="kp-dev-1"',
        "export KEYPROOF_CHROMIUM=/usr/bin/chromium",
        "# KEYPROOF_TEST_LOWKEY_* not set: reason",
      ].join("\n"),
    );
    expect(Object.fromEntries(parsed)).toEqual({
      KEYPROOF_TEST_AWS_ENDPOINT: "http://127.0.0.1:5000",
      KEYPROOF_TEST_VAULT_TOKEN: "kp-dev-1",
      KEYPROOF_CHROMIUM: "/usr/bin/chromium",
    });
  });
});
