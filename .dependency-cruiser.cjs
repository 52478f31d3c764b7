/**
 * Import boundaries of src/ (run by `npm run lint` and by test/boundaries/import-boundaries.test.ts).
 *
 * Collecting and judging meet only in src/model: checks and renderers judge and draw the model, so they
 * never reach into the adapters (providers/), the orchestration (jobs/) or the entry points (api/, cli/).
 * The lowest layers import nothing above them: model/ only itself; config/ only itself, model/, errors/
 * and time/; policy/ (pure helpers a provider and a check share) only itself and model/. Cycles anywhere in src/ are refused: a cycle makes two layers one.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "judging-imports-collecting",
      comment:
        "checks/ and render/ judge and draw the model (src/model); they never import providers/, jobs/, api/ or cli/. Move a shared pure helper below them (src/model, src/policy).",
      severity: "error",
      from: { path: "^src/(checks|render)/" },
      to: { path: "^src/(providers|jobs|api|cli)/" },
    },
    {
      name: "model-imports-above",
      comment: "src/model is the lowest layer: it imports nothing else from src/.",
      severity: "error",
      from: { path: "^src/model/" },
      to: { path: "^src/", pathNot: "^src/model/" },
    },
    {
      name: "config-imports-above",
      comment: "src/config imports only itself, src/model, src/errors and src/time.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/", pathNot: "^src/(config|model|errors|time)/" },
    },
    {
      name: "policy-imports-above",
      comment:
        "src/policy holds pure helpers a provider and a check both need (Vault ACL matching): it imports only itself and src/model.",
      severity: "error",
      from: { path: "^src/policy/" },
      to: { path: "^src/", pathNot: "^src/(policy|model)/" },
    },
    {
      name: "procedure-text-imports-above",
      comment:
        "The procedure's normative text is built from the configuration only: src/procedure/procedure-text.ts imports only src/model and src/config (renderers and the approval store both use it).",
      severity: "error",
      from: { path: "^src/procedure/procedure-text\\.ts$" },
      to: { path: "^src/", pathNot: "^src/(procedure/procedure-text\\.ts|model/|config/)" },
    },
    {
      name: "no-circular",
      comment: "No import cycles in src/: a cycle makes two layers one.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)node_modules/" },
    // Type-only imports are real dependencies of a layer too: an `import type` from providers/ in a check
    // is the same wrong arrow as a value import.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
    },
    // No known-violations baseline: every violation is an error (npm run lint:boundaries).
  },
};
