/** Where CLI commands print: plain lines, aligned tables, or JSON for scripts. */
export interface Output {
  line(text: string): void;
  table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): void;
  json(value: unknown): void;
}

/** Output to a writable stream (stdout in the CLI, a buffer in tests). */
export function createOutput(stream: NodeJS.WritableStream = process.stdout): Output {
  return {
    line: (text) => {
      stream.write(`${text}\n`);
    },
    table: (header, rows) => {
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
      for (const row of [header, ...rows]) {
        stream.write(
          `${row
            .map((cell, i) => cell.padEnd(widths[i] ?? 0))
            .join("  ")
            .trimEnd()}\n`,
        );
      }
    },
    json: (value) => {
      stream.write(`${JSON.stringify(value, null, 2)}\n`);
    },
  };
}
