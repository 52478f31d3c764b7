import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeKey, makePolicy, makeSnapshot } from "../../test/factories/index.ts";
import { ConfigSchema } from "../config/config.schema.ts";
import {
  PROCEDURE_VERSION,
  procedureInputOf,
  procedureIdentityOf,
  procedureTextOf,
  type ProcedureInput,
} from "./procedure-text.ts";

const input = (overrides: Partial<ProcedureInput> = {}): ProcedureInput => ({
  organization: "Example Corp",
  policy: makePolicy(),
  sourceTypes: ["aws-kms", "hashicorp-vault"],
  ...overrides,
});

describe("procedure text", () => {
  it("is the configuration's normative text, with its tools and policy values", () => {
    const text = procedureTextOf(input());
    expect(text).toContain(`version ${PROCEDURE_VERSION}`);
    expect(text).toContain("Organization: Example Corp");
    expect(text).toContain("Maximum interval between rotations: 365 days");
    expect(text).toContain("Review and approval interval: 365 days");
    expect(text).toContain("HashiCorp Vault: Set auto_rotate_period of at most 365 days");
    expect(text).not.toContain("Azure Key Vault");
  });

  it("has a stable digest, its SHA-256, named in the version", () => {
    const identity = procedureIdentityOf(input());
    expect(procedureIdentityOf(input())).toEqual(identity);
    expect(identity.textSha256).toBe(
      createHash("sha256").update(procedureTextOf(input()), "utf8").digest("hex"),
    );
    expect(identity.version).toBe(`${PROCEDURE_VERSION}+${identity.textSha256.slice(0, 12)}`);
  });

  it("does not depend on the order or repetition of the source types", () => {
    expect(procedureIdentityOf(input({ sourceTypes: ["hashicorp-vault", "aws-kms", "aws-kms"] }))).toEqual(
      procedureIdentityOf(input()),
    );
  });

  it.each<[string, Partial<ProcedureInput>]>([
    ["maxRotationDays", { policy: makePolicy({ maxRotationDays: 90 }) }],
    ["logRetentionDays", { policy: makePolicy({ logRetentionDays: 400 }) }],
    ["reviewIntervalDays", { policy: makePolicy({ reviewIntervalDays: 180 }) }],
    ["approvedKeySpecs", { policy: makePolicy({ approvedKeySpecs: ["SYMMETRIC_DEFAULT"] }) }],
    ["the source types", { sourceTypes: ["aws-kms", "azure-key-vault"] }],
    ["the organization", { organization: "Other Corp" }],
  ])("changes when %s changes", (_what, overrides) => {
    expect(procedureIdentityOf(input(overrides)).textSha256).not.toBe(
      procedureIdentityOf(input()).textSha256,
    );
  });

  it("does not change with the inventory, source ids, regions or anything a run observed", () => {
    const config = (id: string, keys: unknown[], regions: string[]) =>
      ConfigSchema.parse({
        organization: "Example Corp",
        sources: [{ id, type: "aws-kms", regions }],
        keys,
        signing: { localKeyFile: "./k.pem" },
      });
    const quiet = procedureIdentityOf(procedureInputOf(config("aws-other", [], ["eu-west-1"])));
    const busy = procedureIdentityOf(
      procedureInputOf(
        config(
          "aws-prod",
          [{ source: "aws-prod", match: "alias/a", owner: "Jane", usage: "data-at-rest", systems: ["db"] }],
          ["eu-west-1", "us-east-1"],
        ),
      ),
    );
    expect(busy).toEqual(quiet);
    // The snapshot a run judges carries the same identity whatever keys it observed, whenever it ran.
    const observed = makeSnapshot({
      keys: [makeKey(), makeKey({ state: "disabled" }), makeKey({ location: "us-east-1" })],
      capturedAt: "2027-01-01T00:00:00.000Z",
    });
    expect(observed.procedure).toEqual(makeSnapshot({ keys: [makeKey()] }).procedure);
  });
});
