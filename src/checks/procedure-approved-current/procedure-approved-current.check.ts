import type { Check } from "../check.ts";
import { makeFinding } from "../check.ts";
import { parseCheckMetadata } from "../check-metadata.schema.ts";
import { dayOf, daysBefore, isWithinDaysBefore, unavailableStatus } from "../governance.ts";
import { PROCEDURE_APPROVAL_FILE } from "../../evidence/paths.ts";
import { KEY_MANAGEMENT_PROCEDURE_PATH } from "../../render/artifact-paths.ts";
import { ORGANIZATION_SOURCE } from "../../model/finding.ts";
import rawMetadata from "./procedure-approved-current.metadata.json" with { type: "json" };

const metadata = parseCheckMetadata(rawMetadata);

// The procedure is the organization's, not a source's: its one finding names the organization pseudo-source.
export { ORGANIZATION_SOURCE };
export const PROCEDURE_RESOURCE = "key-management-procedure";

/**
 * Procedure step 6: the procedure text this configuration produces is approved, by its digest, within
 * `policy.reviewIntervalDays`. A changed policy value or source type is a new text that needs approving.
 */
export const check: Check = {
  metadata,
  run(snapshot) {
    const { governance, procedure } = snapshot;
    const base = {
      source: ORGANIZATION_SOURCE,
      resource: PROCEDURE_RESOURCE,
      evidence: [PROCEDURE_APPROVAL_FILE, KEY_MANAGEMENT_PROCEDURE_PATH],
    };
    if (governance.state === "unavailable")
      return [
        makeFinding(metadata, {
          ...base,
          status: unavailableStatus(governance),
          message: `The approval of the procedure could not be read: ${governance.reason}.`,
        }),
      ];
    const approval = governance.latestApproval;
    if (approval === undefined)
      return [
        makeFinding(metadata, {
          ...base,
          status: "fail",
          message: `The key-management procedure (version ${procedure.version}) has no recorded approval.`,
        }),
      ];
    const by = `${approval.name} (${approval.title}) on ${dayOf(approval.approvedAt)}`;
    if (approval.textSha256 !== procedure.textSha256)
      return [
        makeFinding(metadata, {
          ...base,
          status: "fail",
          date: approval.approvedAt,
          message: `The procedure text changed since its approval by ${by}: approved version ${approval.version}, current version ${procedure.version}.`,
        }),
      ];
    const interval = snapshot.policy.reviewIntervalDays;
    if (!isWithinDaysBefore(approval.approvedAt, snapshot.capturedAt, interval))
      return [
        makeFinding(metadata, {
          ...base,
          status: "fail",
          date: approval.approvedAt,
          message: `The procedure (version ${procedure.version}) was last approved by ${by}, ${daysBefore(approval.approvedAt, snapshot.capturedAt)} days before this run: more than the ${interval}-day review interval.`,
        }),
      ];
    return [
      makeFinding(metadata, {
        ...base,
        status: "pass",
        date: approval.approvedAt,
        message: `The procedure (version ${procedure.version}) was approved by ${by}.`,
      }),
    ];
  },
};
