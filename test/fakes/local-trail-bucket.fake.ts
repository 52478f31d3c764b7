import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";

/**
 * A directory seen as a CloudTrail bucket: answers the two calls the S3 usage stream makes
 * (ListObjectsV2 by prefix, GetObject as a file stream), so the extraction can be tested and benchmarked
 * on a local archive without the emulator's own cost (moto keeps objects in one Python process's memory).
 * Object keys are the file paths relative to the directory, with `/` separators.
 */
export function createLocalTrailBucket(directory: string): S3Client {
  async function list(prefix: string): Promise<Array<{ Key: string; Size: number }>> {
    // CloudTrail prefixes end with the day folder: read that folder only, as S3 would list it.
    const folder = prefix.endsWith("/") ? prefix : prefix.slice(0, prefix.lastIndexOf("/") + 1);
    let names: string[];
    try {
      names = await readdir(join(directory, folder));
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return [];
      throw error;
    }
    const contents: Array<{ Key: string; Size: number }> = [];
    for (const name of names.sort()) {
      const path = join(directory, folder, name);
      const info = await stat(path);
      const key = relative(directory, path).split(sep).join("/");
      if (info.isFile() && key.startsWith(prefix)) contents.push({ Key: key, Size: info.size });
    }
    return contents;
  }

  // The SDK's paginator insists on a real S3Client; only its `send` is replaced, nothing goes on the network.
  const client = new S3Client({
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof ListObjectsV2Command) {
      return { Contents: await list(command.input.Prefix ?? ""), IsTruncated: false };
    }
    if (command instanceof GetObjectCommand) {
      return { Body: createReadStream(join(directory, command.input.Key ?? "")) };
    }
    throw new Error(`local trail bucket: unsupported command ${String(command)}`);
  };
  client.send = send as S3Client["send"];
  return client;
}
