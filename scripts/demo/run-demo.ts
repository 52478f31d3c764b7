/**
 * The README's demo: seeds a realistic small estate into the local emulators, writes a keyproof.yaml for it,
 * runs `keyproof run` on the previous quarter and verifies the sealed bundle. Run through scripts/demo.sh,
 * which starts the emulators and exports their addresses.
 */
import { mkdir, writeFile, access, readFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { main } from "../../src/cli/main.ts";
import { generateSigningKey } from "../../src/signing/keygen.ts";
import { QUEUE_NAMES } from "../../src/jobs/queue/job-names.ts";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/jobs/queue/worker-runtime.ts";
import { previousQuarter } from "../../src/time/previous-quarter.ts";
import { seedAwsDemoEstate } from "./seed-aws-estate.ts";
import { seedVaultDemoEstate } from "./seed-vault-estate.ts";
import { seedAzureDemoEstate, type SeededAzureDemoEstate } from "./seed-azure-estate.ts";
import { demoIdentity } from "./demo-identity.ts";
import { EXIT_CODES } from "../../src/cli/exit-codes.ts";
import { runDemoReview } from "./demo-review.ts";
import { OSCAL_ASSESSMENT_RESULTS_FILE } from "../../src/evidence/paths.ts";
import { assessmentResultsProblems } from "../../src/oscal/validate-assessment-results.ts";

const root = path.resolve(import.meta.dirname, "../..");
const demoDirectory = path.join(root, ".keyproof", "demo");
const awsEndpoint = process.env.KEYPROOF_TEST_AWS_ENDPOINT ?? "http://127.0.0.1:5000";
const vaultAddress = process.env.KEYPROOF_TEST_VAULT_ADDR;
const vaultToken = process.env.KEYPROOF_TEST_VAULT_TOKEN;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

async function ensureObjectLockBucket(bucket: string): Promise<void> {
  const s3 = new S3Client({
    endpoint: awsEndpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "demo", secretAccessKey: "demo" },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  } finally {
    s3.destroy();
  }
}

async function runDemo(): Promise<number> {
  await mkdir(demoDirectory, { recursive: true });
  // Scope, bucket and queue prefix of this checkout's demo alone (issue #10 §8): another clone on the same
  // machine and emulators keeps its own chain.
  const identity = demoIdentity(demoDirectory);
  const quarter = previousQuarter(new Date());
  const suffix = Date.now().toString(36);
  process.stdout.write(
    `Seeding the demo estate into the AWS emulator at ${awsEndpoint} (${quarter.label})...\n`,
  );
  // The AWS SDK reads credentials from its provider chain; the emulator accepts any.
  process.env.AWS_ACCESS_KEY_ID ??= "demo";
  process.env.AWS_SECRET_ACCESS_KEY ??= "demo";
  // A fresh emulator account per demo run (the seed assumes a role in it): each run shows exactly the
  // seeded estate, however many demos ran before on the same emulator.
  const account = String(100_000_000_000 + (Date.now() % 900_000_000_000)).padStart(12, "0");
  const aws = await seedAwsDemoEstate({
    endpoint: awsEndpoint,
    suffix,
    quarter,
    roleArn: `arn:aws:iam::${account}:role/keyproof-audit`,
  });
  const sources: unknown[] = [aws.source];
  const inventory: unknown[] = [...aws.inventory];

  if (vaultAddress !== undefined && vaultToken !== undefined) {
    process.stdout.write(`Seeding the demo estate into the Vault (OpenBao) server at ${vaultAddress}...\n`);
    const vault = await seedVaultDemoEstate({
      address: vaultAddress,
      token: vaultToken,
      auditLogFile: path.join(demoDirectory, `vault-audit-${suffix}.log`),
      range: quarter,
      namespace: identity.vaultNamespace,
      auditDevice: identity.vaultAuditDevice,
    });
    for (const warning of vault.warnings) process.stdout.write(`  note: ${warning}\n`);
    // The provider reads its token from the environment, never from the config file.
    process.env.VAULT_TOKEN = vaultToken;
    sources.push(vault.source);
    inventory.push(...vault.inventory);
  } else {
    process.stdout.write(
      "No Vault server configured (KEYPROOF_TEST_VAULT_ADDR): the demo covers AWS only.\n",
    );
  }

  // Azure: Lowkey Vault when the services script could start it, otherwise the local fakes of the Key Vault
  // data plane; Resource Manager and Log Analytics are always local fakes (no emulator exists). They run in
  // this process, so the run below must too.
  process.stdout.write("Seeding the Azure Key Vault demo estate (local Azure fakes)...\n");
  const azure: SeededAzureDemoEstate = await seedAzureDemoEstate({
    ...(process.env.KEYPROOF_TEST_LOWKEY_URL === undefined
      ? {}
      : { lowkeyUrl: process.env.KEYPROOF_TEST_LOWKEY_URL }),
    ...(process.env.KEYPROOF_TEST_LOWKEY_CA === undefined ? {} : { ca: process.env.KEYPROOF_TEST_LOWKEY_CA }),
    suffix,
    range: quarter,
    caFile: path.join(demoDirectory, "azure-trust.pem"),
  });
  for (const warning of azure.warnings) process.stdout.write(`  note: ${warning}\n`);
  sources.push(azure.source);
  inventory.push(...azure.inventory);

  // The evidence bucket: Object Lock on (and so versioning), in the emulator's default account. It is
  // kept across demo runs of this checkout, so each new bundle chains to the one this checkout stored before.
  const evidenceBucket = identity.bucket;
  await ensureObjectLockBucket(evidenceBucket);

  const signingKey = path.join(demoDirectory, "keyproof-signing.pem");
  if (!(await exists(signingKey))) await generateSigningKey(signingKey);

  const config = {
    organization: "Acme Corp (demo)",
    sources,
    keys: inventory,
    policy: { maxRotationDays: 365, logRetentionDays: 365 },
    signing: { localKeyFile: "./keyproof-signing.pem" },
    storage: {
      scope: identity.scope,
      s3: {
        bucket: evidenceBucket,
        prefix: "bundles/",
        region: "us-east-1",
        endpoint: awsEndpoint,
        retention: { mode: "COMPLIANCE", days: 2555 },
      },
    },
    // Small batches so the demo estate shows the fan-out large estates get: each region's keys are
    // described by several collect-key-batch jobs (the default, 250 keys per batch, suits real estates).
    queue: { keyBatchSize: 4 },
  };
  const configFile = path.join(demoDirectory, "keyproof.yaml");
  await writeFile(
    configFile,
    `# Generated by scripts/demo/run-demo.ts for the seeded demo estate.\n${stringify(config)}`,
  );
  process.stdout.write(`Config: ${configFile}\n\n`);

  const outDirectory = path.join(demoDirectory, "evidence");
  const runId = `demo-${suffix}`;
  // With Redis (scripts/demo.sh starts it and exports REDIS_URL) the run goes through the BullMQ queues,
  // served here by one in-process worker per queue: the same handlers `keyproof worker` runs. The Azure
  // fakes live in this process, so the workers must too.
  const redisUrl = process.env.REDIS_URL;
  const queuePrefix = identity.queuePrefix;
  let workers: WorkerRuntime | undefined;
  if (redisUrl !== undefined) {
    process.stdout.write(
      `Running through the queue on ${redisUrl} (prefix ${queuePrefix}) with in-process workers.\n\n`,
    );
    workers = await startWorkerRuntime({ redisUrl, prefix: queuePrefix, queues: QUEUE_NAMES });
  } else {
    process.stdout.write("No REDIS_URL: running inline.\n\n");
  }
  const runArguments = [
    "node",
    "keyproof",
    "run",
    "--config",
    configFile,
    "--period",
    quarter.label,
    "--out",
    outDirectory,
    "--run-id",
    runId,
  ];
  // Doctor first, as a user would before a first run: one line per source and permission.
  process.stdout.write("keyproof doctor (reachability and permissions of each source):\n");
  const doctorCode = await main(["node", "keyproof", "doctor", "--config", configFile]);
  if (doctorCode !== EXIT_CODES.OK) {
    process.stdout.write("  (doctor found problems above: the run below records them as gaps)\n");
  }
  process.stdout.write("\n");
  let runCode: number;
  try {
    runCode = await main(
      redisUrl === undefined ? [...runArguments, "--inline"] : [...runArguments, "--prefix", queuePrefix],
    );
  } finally {
    await workers?.close();
  }
  // 3: sealed, but the evidence is incomplete. The demo estate has deliberate gaps (a corrupt trail log
  // object, an unreachable part), so 3 is the expected outcome: the bundle is still verified below.
  if (runCode !== EXIT_CODES.OK && runCode !== EXIT_CODES.INCOMPLETE) {
    await azure.fakes.stop();
    return runCode;
  }
  if (runCode === EXIT_CODES.INCOMPLETE) {
    process.stdout.write(
      "\nThe run exited 3: sealed with gaps (listed first above), as the demo estate intends.\n",
    );
  }

  const bundle = path.join(outDirectory, runId);
  process.stdout.write(`\nVerifying ${bundle}.tar.gz ...\n`);
  // Pinned to the configured signer: verify says VERIFIED only for a trusted signer.
  const verifyCode = await main(["node", "keyproof", "verify", `${bundle}.tar.gz`, "--config", configFile]);
  // The run's OSCAL assessment results, checked as an importer would: against NIST's 1.0.6 schema.
  const oscalFile = path.join(bundle, OSCAL_ASSESSMENT_RESULTS_FILE);
  const oscalProblems = assessmentResultsProblems(JSON.parse(await readFile(oscalFile, "utf8")));
  process.stdout.write(
    oscalProblems.length === 0
      ? `\n${oscalFile}: valid against the OSCAL 1.0.6 assessment-results schema\n`
      : `\n${oscalFile}: INVALID against the OSCAL 1.0.6 schema:\n  ${oscalProblems.join("\n  ")}\n`,
  );
  const oscalCode = oscalProblems.length === 0 ? 0 : 1;
  const stored = JSON.parse(await readFile(`${bundle}.storage.json`, "utf8")) as {
    stores: Array<{ stored: boolean; location?: string; versionId?: string }>;
  };
  const s3Copy = stored.stores.find((store) => store.stored && store.location?.startsWith("s3://"));
  let s3VerifyCode = 0;
  if (s3Copy?.location !== undefined) {
    // The recorded location already pins the object version (`?versionId=`).
    const url = s3Copy.location;
    process.stdout.write(`\nVerifying the Object-Locked copy ${url} ...\n`);
    s3VerifyCode = await main([
      "node",
      "keyproof",
      "verify",
      url,
      "--config",
      configFile,
      "--endpoint",
      awsEndpoint,
      "--region",
      "us-east-1",
    ]);
  }
  // The annual review of that bundle, signed and sealed into the same chain (reviews live in Redis).
  let reviewCode = 0;
  if (redisUrl !== undefined && verifyCode === 0 && s3VerifyCode === 0) {
    reviewCode = await runDemoReview({
      configFile,
      redisUrl,
      prefix: queuePrefix,
      year: Number(quarter.label.slice(0, 4)),
      directory: demoDirectory,
      awsEndpoint,
    });
  }
  await azure.fakes.stop();
  process.stdout.write(
    `\nDemo chain scope ${identity.scope}, bucket ${evidenceBucket}, queue prefix ${queuePrefix} (this checkout's own).\n`,
  );
  process.stdout.write(
    `\nEvidence files:\n  ${bundle}/findings.json\n  ${bundle}/inventory.json\n  ${bundle}/sources/  (per-key configuration and access-policy exports, logging status, usage extracts)\n  ${bundle}/${OSCAL_ASSESSMENT_RESULTS_FILE}\n  ${bundle}/manifest.json + manifest.sig.json\n`,
  );
  return verifyCode !== 0
    ? verifyCode
    : s3VerifyCode !== 0
      ? s3VerifyCode
      : oscalCode !== 0
        ? oscalCode
        : reviewCode;
}

process.exitCode = await runDemo();
