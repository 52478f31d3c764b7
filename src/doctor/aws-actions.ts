/**
 * The IAM action(s) each AWS SDK command keyproof sends needs, by `<service>:<CommandName>` (paginators count
 * as their command, `lib-storage:Upload` as the uploads it makes). docs/permissions/aws-iam-policy*.json must
 * contain every action listed here; aws-actions.test.ts derives the commands from the imports in src/, so a
 * new call without an entry here (and in the documented policy) fails the test instead of drifting.
 */
export const AWS_COMMAND_ACTIONS: Record<string, readonly string[]> = {
  "sts:GetCallerIdentity": ["sts:GetCallerIdentity"],
  "iam:GetAccountAuthorizationDetails": ["iam:GetAccountAuthorizationDetails"],
  "kms:ListKeys": ["kms:ListKeys"],
  "kms:ListAliases": ["kms:ListAliases"],
  "kms:DescribeKey": ["kms:DescribeKey"],
  "kms:GetKeyPolicy": ["kms:GetKeyPolicy"],
  "kms:GetKeyRotationStatus": ["kms:GetKeyRotationStatus"],
  "kms:ListKeyRotations": ["kms:ListKeyRotations"],
  "kms:ListGrants": ["kms:ListGrants"],
  "kms:ListResourceTags": ["kms:ListResourceTags"],
  "kms:Sign": ["kms:Sign"],
  "kms:GetPublicKey": ["kms:GetPublicKey"],
  "cloudtrail:DescribeTrails": ["cloudtrail:DescribeTrails"],
  "cloudtrail:GetTrailStatus": ["cloudtrail:GetTrailStatus"],
  "cloudtrail:GetEventSelectors": ["cloudtrail:GetEventSelectors"],
  "cloudtrail:LookupEvents": ["cloudtrail:LookupEvents"],
  // S3 operation names and IAM action names differ.
  "s3:GetBucketLifecycleConfiguration": ["s3:GetLifecycleConfiguration"],
  "s3:ListObjectsV2": ["s3:ListBucket"],
  "s3:GetObject": ["s3:GetObject"],
  "s3:HeadObject": ["s3:GetObject"],
  "s3:GetBucketVersioning": ["s3:GetBucketVersioning"],
  "s3:GetPublicAccessBlock": ["s3:GetBucketPublicAccessBlock"],
  "s3:GetObjectLockConfiguration": ["s3:GetBucketObjectLockConfiguration"],
  "s3:PutObjectRetention": ["s3:PutObjectRetention"],
  "lib-storage:Upload": ["s3:PutObject", "s3:AbortMultipartUpload"],
  // delivery.json beside a stored bundle (a small object, one PutObject per update).
  "s3:PutObject": ["s3:PutObject"],
  // The S3 work store (storage.s3 with queued runs) removes a bundle file a retried job no longer writes;
  // only under the work prefix, never an evidence object.
  "s3:DeleteObject": ["s3:DeleteObject"],
  // The alert rules on key disable and deletion; the SDK module names differ from the IAM prefixes.
  "cloudwatch-logs:DescribeMetricFilters": ["logs:DescribeMetricFilters"],
  "cloudwatch:DescribeAlarms": ["cloudwatch:DescribeAlarms"],
  "eventbridge:ListRules": ["events:ListRules"],
  "eventbridge:ListTargetsByRule": ["events:ListTargetsByRule"],
  // organization: (issue 15): the caller walks the organization and assumes each member's reader role,
  // whose own existence it confirms with iam:GetRole (emulators grant AssumeRole for any role).
  "organizations:ListAccounts": ["organizations:ListAccounts"],
  "organizations:ListAccountsForParent": ["organizations:ListAccountsForParent"],
  "organizations:ListOrganizationalUnitsForParent": ["organizations:ListOrganizationalUnitsForParent"],
  "organizations:DescribeOrganization": ["organizations:DescribeOrganization"],
  "sts:AssumeRole": ["sts:AssumeRole"],
  "iam:GetRole": ["iam:GetRole"],
};
