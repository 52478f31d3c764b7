import type { SignatureAlgorithm } from "../signing/signer.ts";
import {
  CHECKSUMS_FILE,
  MANIFEST_FILE,
  SIGNATURE_FILE,
  SIGNER_PUBLIC_KEY_FILE,
  VERIFY_INSTRUCTIONS_FILE,
} from "./paths.ts";

/**
 * VERIFY.md: how an auditor checks a bundle with `sha256sum`, `openssl` (3.0 or later), `sed`, `tr` and
 * `mktemp` alone, without trusting keyproof. It is itself a listed bundle file, so it cannot contain the
 * manifest's digest; the steps run in the order that makes each one vouch for the next:
 *
 * 1. the public key file has the fingerprint the organization published (the auditor's pin);
 * 2. that key signed the statement in manifest.sig.json (openssl, over the exact statement bytes);
 * 3. manifest.json has the digest the statement names;
 * 4. SHA256SUMS has the digest manifest.json lists for it;
 * 5. every file has the digest SHA256SUMS lists (VERIFY.md and the key file included).
 *
 * The commands are in one ```sh block that a test extracts and runs as written, on a fresh bundle and on
 * tampered ones (test/integration/verify-instructions.test.ts).
 */

function signatureCommand(algorithm: SignatureAlgorithm): string {
  const key = SIGNER_PUBLIC_KEY_FILE;
  switch (algorithm) {
    case "Ed25519":
      return `openssl pkeyutl -verify -pubin -inkey ${key} -rawin -in "$work/statement.json" -sigfile "$work/signature.bin"`;
    case "ECDSA_SHA_256":
      return `openssl dgst -sha256 -verify ${key} -signature "$work/signature.bin" "$work/statement.json"`;
    case "RSASSA_PSS_SHA_256":
      // AWS KMS uses a 32-byte salt; "auto" reads the salt length from the signature, so any PSS salt verifies.
      return `openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto -verify ${key} -signature "$work/signature.bin" "$work/statement.json"`;
  }
}

/** The commands, as run by the test and as pasted by an auditor (in a subshell: `set -e` stops at the first failure). */
export function verifyCommands(algorithm: SignatureAlgorithm): string {
  return [
    "set -eu",
    `: "\${PUBLISHED_FINGERPRINT:?set PUBLISHED_FINGERPRINT to the signing key fingerprint your organization published}"`,
    `test "$(openssl pkey -pubin -in ${SIGNER_PUBLIC_KEY_FILE} -outform DER | sha256sum | cut -d' ' -f1)" = "$PUBLISHED_FINGERPRINT"`,
    'echo "public key: fingerprint is the published one"',
    'work="$(mktemp -d)"',
    `sed -n 's/^  "statement": \\(.*\\),$/\\1/p' ${SIGNATURE_FILE} | tr -d '\\n' > "$work/statement.json"`,
    `sed -n 's/^  "signature": "\\(.*\\)"$/\\1/p' ${SIGNATURE_FILE} | openssl base64 -d -A > "$work/signature.bin"`,
    signatureCommand(algorithm),
    `printf '%s  ${MANIFEST_FILE}\\n' "$(sed -n 's/.*"manifestSha256":"\\([0-9a-f]\\{64\\}\\)".*/\\1/p' "$work/statement.json")" | sha256sum -c -`,
    `printf '%s  ${CHECKSUMS_FILE}\\n' "$(sed -n 's/.*"path":"${CHECKSUMS_FILE}","sha256":"\\([0-9a-f]\\{64\\}\\)".*/\\1/p' ${MANIFEST_FILE})" | sha256sum -c -`,
    `sha256sum -c --quiet ${CHECKSUMS_FILE}`,
    'echo "all files: digests match"',
    'rm -r "$work"',
  ].join("\n");
}

export function verifyInstructionsText(signer: {
  algorithm: SignatureAlgorithm;
  keyId: string;
  fingerprint: string;
  description: string;
}): string {
  return `# How to verify this evidence bundle without keyproof

This folder is a sealed keyproof evidence bundle. You can check it with \`sha256sum\`, \`openssl\` (3.0 or
later), \`sed\`, \`tr\` and \`mktemp\` alone. (\`keyproof verify <bundle> --trust <trust file>\` runs the same checks.)

## What you need from the organization, not from this bundle

The **fingerprint of its signing key**: the SHA-256 of the key's SubjectPublicKeyInfo (DER), as
\`keyproof signer export\` prints it and as its trust file lists it. Get it through a channel you trust.
Everything in this folder, this file included, could have been written by whoever handed you the folder;
only the signature by a key whose fingerprint you obtained independently makes it evidence.

This bundle says it was signed by:

- key id: \`${signer.keyId}\`
- algorithm: ${signer.algorithm}
- fingerprint: \`${signer.fingerprint}\`
- signer: ${signer.description}

If that fingerprint is not the one you were given, stop: the bundle is not trusted, whatever the other steps say.

## The order of the checks

1. \`${SIGNER_PUBLIC_KEY_FILE}\` has the published fingerprint.
2. That key signed the *signed statement* in \`${SIGNATURE_FILE}\`: one line of canonical JSON (RFC 8785)
   naming the SHA-256 of \`${MANIFEST_FILE}\`, the algorithm, key id, public key and signing time. The
   signature is over exactly those bytes.
3. \`${MANIFEST_FILE}\` has the SHA-256 the statement names.
4. \`${CHECKSUMS_FILE}\` has the SHA-256 that \`${MANIFEST_FILE}\` lists for it.
5. Every file has the SHA-256 that \`${CHECKSUMS_FILE}\` lists, \`${VERIFY_INSTRUCTIONS_FILE}\` and the key file included.

\`${MANIFEST_FILE}\` and \`${SIGNATURE_FILE}\` are the only files not listed in \`${CHECKSUMS_FILE}\`
(the first is checked in step 3, the second in step 2). A file that is in the folder but in neither list is
not part of the evidence.

## The commands

Run them from this folder, in a subshell (\`sh\`, then paste), so that \`set -e\` stops at the first failed
check without closing your terminal. Every command exits non-zero when its check fails.

\`\`\`sh
${verifyCommands(signer.algorithm)}
\`\`\`

The last line printed must be \`all files: digests match\`. \`openssl\` prints \`Signature Verified Successfully\`
(Ed25519) or \`Verified OK\` (ECDSA, RSA) at step 2.
`;
}

/** SHA256SUMS: `sha256sum -c` lines (`<hex>  <path>`), in the manifest's order. */
export function checksumsText(files: Array<{ path: string; sha256: string }>): string {
  return files.map((file) => `${file.sha256}  ${file.path}\n`).join("");
}
