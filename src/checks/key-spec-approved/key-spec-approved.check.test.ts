import { describe, expect, it } from "vitest";
import {
  makeCollectionError,
  makeGap,
  makeKey,
  makeKeys,
  makeSnapshot,
} from "../../../test/factories/index.ts";
import { check } from "./key-spec-approved.check.ts";

describe("key-spec-approved", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot())).toEqual([]);
  });

  it("passes approved specs", () => {
    const keys = [makeKey({ keySpec: "SYMMETRIC_DEFAULT" }), makeKey({ keySpec: "RSA_3072" })];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => [finding.status, finding.message])).toEqual([
      ["pass", "key spec SYMMETRIC_DEFAULT is approved"],
      ["pass", "key spec RSA_3072 is approved"],
    ]);
  });

  it("fails (medium) a spec outside the policy list", () => {
    const key = makeKey({ keySpec: "ECC_SECG_P256K1" });
    const findings = check.run(
      makeSnapshot({ keys: [key], policy: { approvedKeySpecs: ["SYMMETRIC_DEFAULT"] } }),
    );
    expect(findings).toEqual([
      expect.objectContaining({
        status: "fail",
        severity: "medium",
        keyId: key.keyId,
        message: "key spec ECC_SECG_P256K1 is not in the approved list (SYMMETRIC_DEFAULT)",
        evidence: [`sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`],
      }),
    ]);
  });

  it("is not applicable to provider-managed keys", () => {
    const findings = check.run(makeSnapshot({ keys: [makeKey({ manager: "provider", keySpec: "WEIRD" })] }));
    expect(findings[0]?.status).toBe("not-applicable");
  });

  it("gives every key exactly one finding", () => {
    const keys = [
      ...makeKeys(5),
      ...makeKeys(3, { keySpec: "HMAC_224" }),
      ...makeKeys(2, { source: "aws-dr" }),
    ];
    const findings = check.run(makeSnapshot({ keys }));
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "fail")).toHaveLength(3);
  });

  it("reports a key whose spec could not be read, and a gap, as errors", () => {
    const key = makeKey({
      keySpec: "",
      errors: [
        makeCollectionError({ call: "kms:DescribeKey", code: "AccessDeniedException", message: "denied" }),
      ],
    });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
    expect(findings[0]?.message).toBe(
      "key spec not reported: kms:DescribeKey failed (AccessDeniedException): denied",
    );
  });

  it("fails a software key in a source that requires HSM-backed keys, and passes the HSM key", () => {
    const software = makeKey({
      keyId: "https://acme.vault.azure.net/keys/soft",
      source: "azure-prod",
      sourceType: "azure-key-vault",
      keySpec: "RSA_2048",
      rawKeyType: "RSA",
      hsmBacked: false,
    });
    const hsm = makeKey({
      keyId: "https://acme.vault.azure.net/keys/hard",
      source: "azure-prod",
      sourceType: "azure-key-vault",
      keySpec: "RSA_2048",
      rawKeyType: "RSA-HSM",
      hsmBacked: true,
    });
    const findings = check.run(
      makeSnapshot({ keys: [software, hsm], policy: { hsmRequiredSources: ["azure-prod"] } }),
    );
    expect(findings.map((finding) => [finding.keyId, finding.status])).toEqual([
      [software.keyId, "fail"],
      [hsm.keyId, "pass"],
    ]);
    expect(findings[0]?.message).toContain("requires HSM-backed keys");
  });

  describe("unknown is a warn with the reason, never a fail", () => {
    function azureKey(keySpec: string, rawKeyType: string, overrides: Parameters<typeof makeKey>[0] = {}) {
      return makeKey({
        keyId: `https://mhsm.managedhsm.azure.net/keys/${rawKeyType}`,
        source: "azure-prod",
        sourceType: "azure-key-vault",
        keySpec,
        rawKeyType,
        hsmBacked: true,
        ...overrides,
      });
    }

    it("warns on an oct-HSM key whose size Azure does not report (issue 10)", () => {
      const key = azureKey("OCT_UNKNOWN", "oct-HSM", {
        keySpecUnknownReason: "Azure does not report the size of oct-HSM keys; confirm it in the portal",
      });
      const findings = check.run(
        makeSnapshot({ keys: [key], policy: { hsmRequiredSources: ["azure-prod"] } }),
      );
      expect(findings).toEqual([
        expect.objectContaining({
          status: "warn",
          severity: "medium",
          message:
            "Azure does not report the size of oct-HSM keys; confirm it in the portal; approved OCT_* specs are OCT_256",
        }),
      ]);
    });

    it("warns on an unknown size even without a provider reason, and on an unknown EC curve", () => {
      const findings = check.run(
        makeSnapshot({ keys: [azureKey("RSA_UNKNOWN", "RSA-HSM"), azureKey("EC_UNKNOWN", "EC-HSM")] }),
      );
      expect(findings.map((finding) => finding.status)).toEqual(["warn", "warn"]);
      expect(findings[0]?.message).toContain("did not report the size of this RSA-HSM key");
      expect(findings[0]?.message).toContain("approved RSA_* specs are RSA_2048, RSA_3072, RSA_4096");
    });

    it("still fails when no spec of the family is approved at any size: that much is known", () => {
      const key = azureKey("OCT_UNKNOWN", "oct-HSM", { keySpecUnknownReason: "size unknown" });
      const findings = check.run(makeSnapshot({ keys: [key], policy: { approvedKeySpecs: ["RSA_2048"] } }));
      expect(findings.map((finding) => finding.status)).toEqual(["fail"]);
      expect(findings[0]?.message).toContain("no OCT_* spec of any size");
    });

    it("warns when HSM backing is required but not reported, and still fails an unapproved spec", () => {
      const unreported = makeKey({
        source: "azure-prod",
        sourceType: "azure-key-vault",
        keySpec: "RSA_2048",
      });
      const unapproved = makeKey({
        source: "azure-prod",
        sourceType: "azure-key-vault",
        keySpec: "RSA_1024",
      });
      const findings = check.run(
        makeSnapshot({ keys: [unreported, unapproved], policy: { hsmRequiredSources: ["azure-prod"] } }),
      );
      expect(findings.map((finding) => finding.status)).toEqual(["warn", "fail"]);
      expect(findings[0]?.message).toContain("does not report whether the key is HSM-backed");
    });
  });
});
