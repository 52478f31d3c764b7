/**
 * The demo's annual review (procedure step 7), the way a reviewer without a browser does it: a reviewer
 * token, `keyproof review start` on the bundle just stored, export, decide every item, import, sign. The
 * signed review is sealed into a new bundle in the same Object-Locked chain, and verified like the run's.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ApiTokenStore } from "../../src/auth/api-tokens.ts";
import { main, type CliIo } from "../../src/cli/main.ts";
import { createRedisConnection } from "../../src/jobs/queue/redis-connection.ts";

interface ExportedItem {
  kind: string;
  decision: string | null;
  note: string;
}

/** Runs keyproof in this process, echoing what it prints and returning stdout for the next step. */
async function keyproof(
  args: string[],
  options: { quiet?: boolean } = {},
): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
      if (options.quiet !== true) process.stdout.write(text);
    },
    stderr: (text) => process.stderr.write(text),
    isTty: false,
  };
  return { code: await main(["node", "keyproof", ...args], io), stdout };
}

export async function runDemoReview(input: {
  configFile: string;
  redisUrl: string;
  prefix: string;
  year: number;
  directory: string;
  awsEndpoint: string;
}): Promise<number> {
  const redis = createRedisConnection(input.redisUrl, "client", "keyproof-demo");
  let token: string;
  try {
    const tokens = new ApiTokenStore(redis, input.prefix);
    // Token names are unique among live tokens; each demo run creates its own reviewer.
    const name = `Dana (Security Analyst) ${new Date().toISOString()}`;
    token = (await tokens.create({ name, role: "reviewer" })).token;
  } finally {
    await redis.quit().catch(() => undefined);
  }
  const common = [
    "--config",
    input.configFile,
    "--redis-url",
    input.redisUrl,
    "--prefix",
    input.prefix,
    "--token",
    token,
  ];
  process.stdout.write(
    `\nkeyproof review start --year ${input.year} (the annual access and configuration review):\n`,
  );
  const started = await keyproof(["review", "start", "--year", String(input.year), "--json", ...common], {
    quiet: true,
  });
  if (started.code !== 0) return started.code;
  const review = JSON.parse(started.stdout) as { id: string; items: unknown[] };
  process.stdout.write(`  review ${review.id}: ${review.items.length} items to decide\n`);

  const file = path.join(input.directory, `review-${review.id}.json`);
  const exported = await keyproof(["review", "export", review.id, "--format", "json", "-o", file, ...common]);
  if (exported.code !== 0) return exported.code;
  // The demo reviewer keeps every grant, confirms rotation and logging, accepts the open findings' risk.
  const document = JSON.parse(await readFile(file, "utf8")) as { items: ExportedItem[] };
  for (const item of document.items) {
    item.decision = item.kind === "grant" ? "keep" : item.kind === "finding" ? "accepted risk" : "confirmed";
    item.note = "demo: reviewed with the key owner";
  }
  await writeFile(file, JSON.stringify(document, null, 2));
  const imported = await keyproof(["review", "import", review.id, file, ...common]);
  if (imported.code !== 0) return imported.code;

  const signed = await keyproof(
    ["review", "sign", review.id, "--name", "Dana Demo", "--title", "Security Analyst", "--json", ...common],
    { quiet: true },
  );
  if (signed.code !== 0) return signed.code;
  const record = JSON.parse(signed.stdout) as {
    signOff: { decisionsSha256: string };
    evidence: { state: string; location?: string };
  };
  process.stdout.write(
    `  signed by Dana Demo (Security Analyst); decisions SHA-256 ${record.signOff.decisionsSha256}\n`,
  );
  const location = record.evidence.location;
  if (record.evidence.state !== "sealed" || location === undefined) return 1;
  process.stdout.write(`\nVerifying the signed review's bundle ${location} ...\n`);
  const verified = await keyproof([
    "verify",
    location,
    "--config",
    input.configFile,
    "--endpoint",
    input.awsEndpoint,
    "--region",
    "us-east-1",
  ]);
  return verified.code;
}
