import { describe, expect, it } from "vitest";
import {
  inventoryEntryFor,
  makeCollectionError,
  makeGap,
  makeInventoryEntry,
  makeKey,
  makeKeys,
  makeSnapshot,
} from "../../../test/factories/index.ts";
import { check } from "./key-in-inventory.check.ts";

describe("key-in-inventory", () => {
  it("has nothing to judge in an empty snapshot", () => {
    expect(check.run(makeSnapshot({ inventory: [makeInventoryEntry()] }))).toEqual([]);
  });

  it("passes a declared key, naming the entry", () => {
    const key = makeKey({ aliases: ["alias/payments"] });
    const [finding] = check.run(
      makeSnapshot({ keys: [key], inventory: [makeInventoryEntry({ match: "alias/payments" })] }),
    );
    expect(finding).toMatchObject({
      status: "pass",
      message: 'declared in inventory.json#keys[0] as "alias/payments"',
      evidence: ["inventory.json", `sources/aws-prod/eu-west-1/keys/${key.keyId}/configuration.json`],
    });
  });

  it("matches an alias ARN as written in the inventory", () => {
    const key = makeKey({ aliases: ["alias/orders"] });
    const entry = makeInventoryEntry({ match: "arn:aws:kms:eu-west-1:111122223333:alias/orders" });
    expect(check.run(makeSnapshot({ keys: [key], inventory: [entry] }))[0]?.status).toBe("pass");
  });

  it("fails (medium) a key the inventory does not declare, naming its aliases", () => {
    const key = makeKey({ aliases: ["alias/shadow"] });
    const [finding] = check.run(makeSnapshot({ keys: [key] }));
    expect(finding).toMatchObject({
      status: "fail",
      severity: "medium",
      keyId: key.keyId,
      message: "key is not in the inventory (aliases: alias/shadow)",
    });
  });

  it("is not applicable to provider-managed keys", () => {
    const key = makeKey({ manager: "provider", aliases: ["alias/aws/s3"] });
    expect(check.run(makeSnapshot({ keys: [key] }))[0]?.status).toBe("not-applicable");
  });

  it("gives every key exactly one finding", () => {
    const keys = [...makeKeys(6), ...makeKeys(3, { source: "aws-dr", location: "us-east-1" })];
    const findings = check.run(
      makeSnapshot({
        keys,
        inventory: keys.filter((_, index) => index % 2 === 0).map((key) => inventoryEntryFor(key)),
      }),
    );
    expect(findings.map((finding) => finding.keyId).sort()).toEqual(keys.map((key) => key.keyId).sort());
    expect(findings.filter((finding) => finding.status === "pass")).toHaveLength(5);
  });

  it("errors when aliases could not be read, and for gaps", () => {
    const key = makeKey({ errors: [makeCollectionError({ call: "kms:ListAliases" })] });
    const findings = check.run(makeSnapshot({ keys: [key], gaps: [makeGap()] }));
    expect(findings.map((finding) => finding.status)).toEqual(["error", "error"]);
  });

  it("ignores unrelated key errors (tags) when deciding", () => {
    const key = makeKey({ errors: [makeCollectionError({ call: "kms:ListResourceTags" })] });
    expect(check.run(makeSnapshot({ keys: [key] }))[0]?.status).toBe("fail");
  });
});
