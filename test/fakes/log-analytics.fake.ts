/**
 * FAKE Azure Monitor Log Analytics query API, driven through the real `@azure/monitor-query-logs`
 * LogsQueryClient with `endpoint` pointed here. Wire format (research/apis.md §2.7, "Query - Execute"):
 * - `POST /v1/workspaces/{workspaceId}/query` (and `/workspaces/{id}/query`, since the client uses a given
 *   endpoint as is) with `{ query, timespan: "start/end" }` and a bearer token;
 * - `200 { tables: [{ name: "PrimaryResult", columns: [{name,type}], rows: [[...]] }] }`; `dynamic` cells as
 *   JSON strings; a partial failure is 200 with an extra top-level `error` (`PartialError`); hard errors 4xx
 *   `{"error":{"code","message"}}` (`PathNotFoundError` for an unknown workspace, `BadArgumentError` for a
 *   query the fake does not understand).
 * The fake evaluates only the KQL subset the Key Vault provider sends, and says so with BadArgumentError
 * otherwise: `union isfuzzy=true (<Table> | where A == "x" | where B =~ "y" | where C in~ ("a", "b"))`,
 * `project X, Y = tostring|toreal|todynamic(column_ifexists("raw", <default>))`, `order by A asc, B asc`,
 * `extend Row = row_number()`, `where Row > N`, `take N`. Rows are filtered to the request `timespan`
 * on `TimeGenerated` ([start, end)), as the service does. A table with no seeded rows reads as absent, which
 * `isfuzzy=true` turns into an empty result, as in Azure.
 */
import type { FakeRequest, FakeResponse, RunningFakeServer } from "./azure-fake-http.ts";
import { azureError, fakeTlsMaterial, requireBearer, startFakeHttpsServer } from "./azure-fake-http.ts";

/** A row as the table stores it, keyed by the table's own column names; `TimeGenerated` as ISO-8601. */
export type LogRow = Record<string, string | number | boolean | null | Record<string, unknown>>;

export interface LogAnalyticsFake {
  /** `https://127.0.0.1:<port>/v1`: pass as `endpoints.logAnalytics`. */
  url: string;
  ca: string;
  server: RunningFakeServer;
  /** A workspace with no rows yet; unknown workspaces answer 404 `PathNotFoundError`. */
  addWorkspace(workspaceId: string): void;
  addRows(workspaceId: string, table: string, rows: LogRow[]): void;
  /** Queries whose text matches `pattern` answer `response` (`times` times, default forever). */
  failQueries(pattern: RegExp, response: FakeResponse, times?: number): void;
  /** Queries whose text matches `pattern` return their rows plus a PartialError. */
  partialQueries(pattern: RegExp, message: string): void;
  clearFailures(): void;
  /** The query texts received, in order. */
  queries: string[];
  close(): Promise<void>;
}

type ColumnType = "string" | "real" | "dynamic" | "datetime" | "long";

interface Projection {
  name: string;
  source: string;
  type: ColumnType;
  fallback: unknown;
}

class UnsupportedQuery extends Error {}

/** Splits on `separator` outside parentheses and string literals. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] as string;
    if (quoted) {
      current += character;
      if (character === "\\") {
        current += text[index + 1] ?? "";
        index += 1;
      } else if (character === '"') quoted = false;
      continue;
    }
    if (character === '"') quoted = true;
    else if (character === "(") depth += 1;
    else if (character === ")") depth -= 1;
    if (character === separator && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else current += character;
  }
  if (current.trim().length > 0) parts.push(current.trim());
  return parts;
}

function parseString(literal: string): string {
  const value: unknown = JSON.parse(literal.trim());
  if (typeof value !== "string") throw new UnsupportedQuery(`not a string literal: ${literal}`);
  return value;
}

function cellValue(row: LogRow, column: string): unknown {
  return Object.prototype.hasOwnProperty.call(row, column) ? row[column] : undefined;
}

function applyWhere(rows: LogRow[], clause: string): LogRow[] {
  const equals = /^(\w+)\s*(==|=~)\s*(".*")$/s.exec(clause);
  if (equals !== null) {
    const [, column, operator, literal] = equals as unknown as [string, string, string, string];
    const expected = parseString(literal);
    return rows.filter((row) => {
      const value = cellValue(row, column);
      if (typeof value !== "string") return false;
      return operator === "==" ? value === expected : value.toLowerCase() === expected.toLowerCase();
    });
  }
  const within = /^(\w+)\s+(in|in~)\s+\((.*)\)$/s.exec(clause);
  if (within !== null) {
    const [, column, operator, list] = within as unknown as [string, string, string, string];
    const values = splitTopLevel(list, ",").map(parseString);
    const caseless = operator === "in~";
    return rows.filter((row) => {
      const value = cellValue(row, column);
      if (typeof value !== "string") return false;
      return values.some((candidate) =>
        caseless ? candidate.toLowerCase() === value.toLowerCase() : candidate === value,
      );
    });
  }
  throw new UnsupportedQuery(`where clause not understood by the fake: ${clause}`);
}

function parseProjection(item: string): Projection {
  const bare = /^(\w+)$/.exec(item);
  if (bare !== null) {
    const name = bare[1] as string;
    return { name, source: name, type: name === "TimeGenerated" ? "datetime" : "string", fallback: null };
  }
  const computed =
    /^(\w+)\s*=\s*(tostring|toreal|todynamic)\(column_ifexists\(("(?:[^"\\]|\\.)*")\s*,\s*(.+)\)\)$/s.exec(
      item,
    );
  if (computed === null) throw new UnsupportedQuery(`project item not understood by the fake: ${item}`);
  const [, name, cast, source, fallbackText] = computed as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const type: ColumnType = cast === "toreal" ? "real" : cast === "todynamic" ? "dynamic" : "string";
  const fallback = /^""$/.test(fallbackText.trim()) ? "" : null;
  return { name, source: parseString(source), type, fallback };
}

function project(row: LogRow, projection: Projection): unknown {
  const value = cellValue(row, projection.source);
  if (value === undefined || value === null) return projection.fallback;
  if (projection.type === "real") return typeof value === "number" ? value : Number(value);
  if (projection.type === "dynamic") return typeof value === "string" ? value : JSON.stringify(value);
  if (projection.type === "string" && typeof value === "object") return JSON.stringify(value);
  return projection.type === "string" ? String(value) : value;
}

export async function startLogAnalyticsFake(): Promise<LogAnalyticsFake> {
  const workspaces = new Map<string, Map<string, LogRow[]>>();
  const failures: Array<{ pattern: RegExp; response: FakeResponse; remaining: number }> = [];
  const partials: Array<{ pattern: RegExp; message: string }> = [];
  const queries: string[] = [];

  function evaluate(
    tables: Map<string, LogRow[]>,
    query: string,
    start: number,
    end: number,
  ): Record<string, unknown> {
    const stages = splitTopLevel(query.replace(/\r?\n/g, " "), "|");
    const first = stages.shift() ?? "";
    const union = /^union\s+isfuzzy\s*=\s*true\s+\((.*)\)$/s.exec(first);
    const inner = union === null ? [first] : splitTopLevel(union[1] as string, "|");
    const tableName = (inner.shift() ?? "").trim();
    if (!/^\w+$/.test(tableName)) throw new UnsupportedQuery(`table expression not understood: ${tableName}`);
    if (union === null && !tables.has(tableName)) {
      throw Object.assign(new UnsupportedQuery(`'${tableName}' could not be resolved`), {
        code: "SemanticError",
      });
    }
    let rows = (tables.get(tableName) ?? []).filter((row) => {
      const time = Date.parse(String(row["TimeGenerated"]));
      return time >= start && time < end;
    });
    for (const stage of inner) {
      const where = /^where\s+(.*)$/s.exec(stage);
      if (where === null) throw new UnsupportedQuery(`stage not understood inside the union: ${stage}`);
      rows = applyWhere(rows, (where[1] as string).trim());
    }
    let projections: Projection[] | undefined;
    let output: Array<Record<string, unknown>> = rows.map((row) => ({ ...row }));
    let rowNumbered = false;
    for (const stage of stages) {
      let match: RegExpExecArray | null;
      if ((match = /^project\s+(.*)$/s.exec(stage)) !== null) {
        const parsed = splitTopLevel(match[1] as string, ",").map(parseProjection);
        projections = parsed;
        output = output.map((row) =>
          Object.fromEntries(parsed.map((column) => [column.name, project(row as LogRow, column)])),
        );
      } else if ((match = /^order by\s+(.*)$/s.exec(stage)) !== null) {
        const keys = splitTopLevel(match[1] as string, ",").map((key) => {
          const [column, direction] = key.split(/\s+/);
          return { column: column as string, descending: direction === "desc" };
        });
        output.sort((left, right) => {
          for (const key of keys) {
            const a = String(left[key.column] ?? "");
            const b = String(right[key.column] ?? "");
            if (a !== b) return (a < b ? -1 : 1) * (key.descending ? -1 : 1);
          }
          return 0;
        });
      } else if (/^extend\s+Row\s*=\s*row_number\(\)$/.test(stage)) {
        output = output.map((row, index) => ({ ...row, Row: index + 1 }));
        rowNumbered = true;
      } else if ((match = /^where\s+Row\s*>\s*(\d+)$/.exec(stage)) !== null) {
        const offset = Number(match[1]);
        output = output.filter((row) => Number(row["Row"]) > offset);
      } else if ((match = /^take\s+(\d+)$/.exec(stage)) !== null) {
        output = output.slice(0, Number(match[1]));
      } else {
        throw new UnsupportedQuery(`stage not understood by the fake: ${stage}`);
      }
    }
    if (projections === undefined) throw new UnsupportedQuery("the fake needs an explicit project");
    const columns: Array<{ name: string; type: ColumnType }> = projections.map((column) => ({
      name: column.name,
      type: column.type,
    }));
    if (rowNumbered) columns.push({ name: "Row", type: "long" });
    return {
      name: "PrimaryResult",
      columns,
      rows: output.map((row) => columns.map((column) => row[column.name] ?? null)),
    };
  }

  function handle(request: FakeRequest): FakeResponse {
    const unauthenticated = requireBearer(request);
    if (unauthenticated !== undefined) return unauthenticated;
    const route = /^(?:\/v1)?\/workspaces\/([^/]+)\/query$/i.exec(request.url.pathname);
    if (route === null || request.method !== "POST")
      return azureError(
        404,
        "PathNotFoundError",
        `The requested path does not exist: ${request.url.pathname}`,
      );
    const workspaceId = (route[1] as string).toLowerCase();
    const body = (request.body ?? {}) as { query?: unknown; timespan?: unknown };
    if (typeof body.query !== "string")
      return azureError(400, "BadArgumentError", "The request had some invalid properties: query");
    queries.push(body.query);
    const failure = failures.find(
      (entry) => entry.pattern.test(body.query as string) && entry.remaining !== 0,
    );
    if (failure !== undefined) {
      failure.remaining -= 1;
      return failure.response;
    }
    const tables = workspaces.get(workspaceId);
    if (tables === undefined)
      return azureError(
        404,
        "PathNotFoundError",
        `The requested path does not exist: workspace ${workspaceId}`,
      );
    let start = Number.NEGATIVE_INFINITY;
    let end = Number.POSITIVE_INFINITY;
    if (typeof body.timespan === "string") {
      const [from, to] = body.timespan.split("/");
      if (
        from === undefined ||
        to === undefined ||
        Number.isNaN(Date.parse(from)) ||
        Number.isNaN(Date.parse(to))
      ) {
        return azureError(
          400,
          "BadArgumentError",
          `the fake understands only start/end timespans, got ${body.timespan}`,
        );
      }
      start = Date.parse(from);
      end = Date.parse(to);
    }
    try {
      const table = evaluate(tables, body.query, start, end);
      const partial = partials.find((entry) => entry.pattern.test(body.query as string));
      return {
        status: 200,
        body: {
          tables: [table],
          ...(partial === undefined
            ? {}
            : {
                error: {
                  code: "PartialError",
                  message: partial.message,
                  details: [{ code: "EngineError", message: partial.message }],
                },
              }),
        },
      };
    } catch (error) {
      if (error instanceof UnsupportedQuery) return azureError(400, "BadArgumentError", error.message);
      throw error;
    }
  }

  const server = await startFakeHttpsServer(handle);
  return {
    url: `${server.url}/v1`,
    ca: fakeTlsMaterial().cert,
    server,
    queries,
    addWorkspace(workspaceId) {
      const key = workspaceId.toLowerCase();
      if (!workspaces.has(key)) workspaces.set(key, new Map());
    },
    addRows(workspaceId, table, rows) {
      const key = workspaceId.toLowerCase();
      const tables = workspaces.get(key) ?? new Map<string, LogRow[]>();
      workspaces.set(key, tables);
      tables.set(table, [...(tables.get(table) ?? []), ...rows]);
    },
    failQueries(pattern, response, times = -1) {
      failures.push({ pattern, response, remaining: times });
    },
    partialQueries(pattern, message) {
      partials.push({ pattern, message });
    },
    clearFailures() {
      failures.length = 0;
      partials.length = 0;
    },
    close: () => server.close(),
  };
}
