import { defineConfig } from "vitest/config";

/**
 * Tests in two tiers (issue 16), chosen by what a test needs, not only by where it lives:
 * - `integration`: everything under `test/integration/`, and any `*.integration.test.ts` elsewhere. These
 *   talk to the local services (moto, Redis, OpenBao, Chromium, tesseract) or start keyproof processes
 *   that do, so only this project has the global setup that loads `.keyproof/services.env` and fails the
 *   run when moto or Redis does not answer.
 * - `unit`: every other `*.test.ts`. No global setup, no service; in-process fakes on loopback and local
 *   tools (pdftotext, dependency-cruiser) are allowed. `npm run test:unit` runs it alone.
 * vitest runs a project's global setup only when that project has files in the run, so
 * `--project unit` never touches the services. The root config must therefore carry no `globalSetup`:
 * the root project's setup runs in every run.
 */
const INTEGRATION_FILES = ["test/integration/**/*.test.ts", "**/*.integration.test.ts"];

export default defineConfig({
  test: {
    // Shared by both projects (`extends: true`). Sized for this project's 2-core machines under load: a
    // pure test that takes seconds is a bug to fix, not a timeout to raise.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: ["**/node_modules/**", ...INTEGRATION_FILES],
          // Files in one worker share their imported modules instead of loading zod, the SDKs and the
          // checks again for each of 110 files: measured here, 28 s of CPU instead of 58 s for the tier.
          // Safe because unit tests use no vi.mock and keep no module-level state between files (where
          // a module caches, as the Vanta token cache does, each test uses its own key). A file that ever
          // needs a fresh module graph (vi.mock, a module-level setting) needs a project of its own here.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: INTEGRATION_FILES,
          exclude: ["**/node_modules/**"],
          // Integration tests share one set of emulators started by scripts/services.sh; files run in
          // parallel workers but each test uses its own bucket/queue names.
          globalSetup: ["test/global-setup.ts"],
        },
      },
    ],
  },
});
