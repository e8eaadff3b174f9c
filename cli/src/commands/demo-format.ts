/** Text of `seam demo`: step headers, shell commands to type, tables, trace context. Pure, so unit-tested. */
import { randomBytes } from "node:crypto";

/** How results and commands are indented under a step header. */
export const INDENT = "  ";

/** "Step 3/8  Materialize the features", underlined. */
export function stepHeader(step: number, total: number, title: string): string[] {
  const text = `Step ${step}/${total}  ${title}`;
  return [text, "-".repeat(text.length)];
}

/** An argument as a POSIX shell reads it back: bare when safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** "$ npx seam datasets upload iris.csv --name demo-iris": a command to type, indented. */
export function seamCommand(args: readonly string[]): string {
  return `${INDENT}$ npx seam ${args.map(shellQuote).join(" ")}`;
}

/**
 * The curl call that sends `body` as Connect JSON to `path` of the gateway at `baseUrl`
 * (with the extra headers), as one line to type.
 */
export function curlCommand(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): string {
  const args = [
    "curl",
    "-H",
    "Content-Type: application/json",
    ...Object.entries(headers).flatMap(([name, value]) => ["-H", `${name}: ${value}`]),
    "-d",
    JSON.stringify(body),
    `${baseUrl.replace(/\/+$/, "")}/${path}`,
  ];
  return `${INDENT}$ ${args.map(shellQuote).join(" ")}`;
}

/** A table as indented lines, columns padded to their widest cell; numbers-only columns right-aligned. */
export function tableLines(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^-?[0-9][0-9,.]*%?$/.test(r[i] ?? "")),
  );
  return [header, ...rows].map((row, r) =>
    `${INDENT}${row
      .map((cell, i) =>
        r > 0 && numeric[i] === true ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
      )
      .join("  ")}`.trimEnd(),
  );
}

/** Text wrapped to lines of at most `width` characters (words are not cut), each indented. */
export function wrap(text: string, width = 96): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && INDENT.length + line.length + 1 + word.length > width) {
      lines.push(`${INDENT}${line}`);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(`${INDENT}${line}`);
  return lines;
}

/** A W3C trace context for one request: its trace id, the caller's span id and the header. */
export interface TraceContext {
  /** 32 lowercase hex digits. */
  readonly traceId: string;
  /** 16 lowercase hex digits. */
  readonly spanId: string;
  /** The `traceparent` header value, sampled: "00-<trace id>-<span id>-01". */
  readonly traceparent: string;
}

/** A new random, sampled trace context (ids that are all zeros are invalid, so never given). */
export function newTraceContext(random: (size: number) => Uint8Array = randomBytes): TraceContext {
  const hex = (size: number) => {
    for (;;) {
      const text = Buffer.from(random(size)).toString("hex");
      if (/[^0]/.test(text)) return text;
    }
  };
  const traceId = hex(16);
  const spanId = hex(8);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** The index of the largest value (the predicted class of a probability row); -1 for none. */
export function argmax(values: readonly number[]): number {
  let best = -1;
  for (const [i, v] of values.entries()) if (best < 0 || v > (values[best] as number)) best = i;
  return best;
}

/** A probability as a percentage: "97.3%". */
export function formatPercent(p: number): string {
  return Number.isFinite(p) ? `${(p * 100).toFixed(1)}%` : String(p);
}

/** "1.2 s", "850 ms": a duration for people. */
export function formatSeconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The rows of a CSV text without quoting (the demo's own data), as objects keyed by the
 * header's names.
 */
export function parseSimpleCsv(csv: string): Record<string, string>[] {
  const [header = "", ...lines] = csv.split("\n").filter((l) => l !== "");
  const names = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(names.map((n, i) => [n, cells[i] ?? ""]));
  });
}
