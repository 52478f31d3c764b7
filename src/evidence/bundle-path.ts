import { KeyproofError } from "../errors/errors.ts";

/**
 * The one rule for a path inside a bundle: relative, POSIX separators, no `.`/`..`/empty segments, no control
 * characters. The writer enforces it before creating a file and the verifier before opening one, so neither
 * a bug in a collector nor a hostile manifest can reach outside the bundle directory.
 */
export function bundlePathProblem(path: string): string | undefined {
  if (path.length === 0) return "is empty";
  if (path.length > 1024) return "is longer than 1024 characters";
  if (path.startsWith("/")) return "is absolute (bundle paths are relative)";
  if (path.includes("\\")) return "contains a backslash (bundle paths use /)";
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  if (/^[A-Za-z]:/.test(path)) return "starts with a drive letter";
  for (const segment of path.split("/")) {
    if (segment === "") return "has an empty segment (// or a trailing /)";
    if (segment === "." || segment === "..") return `has a "${segment}" segment`;
    if (segment.length > 255) return "has a segment longer than 255 characters";
  }
  return undefined;
}

export function assertBundlePath(path: string): void {
  const problem = bundlePathProblem(path);
  if (problem !== undefined) {
    throw new KeyproofError("INTERNAL", `bundle path "${path}" ${problem}`, {
      remediation: "build bundle paths with the helpers in src/evidence/paths.ts",
    });
  }
}
