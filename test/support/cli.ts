/**
 * Runs the CLI in this process, as `keyproof <args>` with a non-TTY terminal, capturing what it writes:
 * the fast path for integration tests that do not need the real bin's process boundary.
 */
import { main, type CliIo } from "../../src/cli/main.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    isTty: false,
  };
  const code = await main(["node", "keyproof", ...args], io);
  return { code, stdout, stderr };
}
