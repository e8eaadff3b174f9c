/**
 * Printing for the steps of `seam demo`: `Output` takes one line at a time, and every step
 * prints wrapped prose, tables and commands to type, so these save each step the loops.
 */
import type { Output } from "../../output.js";
import { seamCommand, tableLines, wrap } from "../demo-format.js";

export function printLines(out: Output, lines: Iterable<string>): void {
  for (const line of lines) out.line(line);
}

/** A step's explanation, wrapped and indented. */
export function printWrapped(out: Output, text: string): void {
  printLines(out, wrap(text));
}

/** An indented table (see `tableLines`). */
export function printTable(
  out: Output,
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): void {
  printLines(out, tableLines(header, rows));
}

/** One `$ npx seam …` line per argument list. */
export function printSeamCommands(out: Output, commands: ReadonlyArray<readonly string[]>): void {
  printLines(
    out,
    commands.map((args) => seamCommand(args)),
  );
}

/** A count as the tables show it: "16,441". */
export function formatCount(n: number | bigint): string {
  return n.toLocaleString("en-US");
}
