/** Test data for every layer: `makeKey({...})`, `makeSnapshot({ keys: [...] })`, ... */
export * from "./collected.factory.ts";
export * from "./key.factory.ts";
export * from "./logging.factory.ts";
export * from "./usage.factory.ts";
export * from "./snapshot.factory.ts";
export * from "./config-text.factory.ts";
export * from "./governance.factory.ts";
export * from "./azure-alerting.factory.ts";
