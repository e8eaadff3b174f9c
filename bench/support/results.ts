/** A figure as the benchmarks print it: whole numbers from 100 up, 3 decimals below. */
export function formatFigure(n: number): string {
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(3);
}

/**
 * The closing line of a benchmark figure, in the project's format:
 * `RESULT <name> value=<v> <unit> ref=<r> ratio=<v/r> target=<…> met=<yes|no|n/a>`
 * (`met` undefined: the figure has no target).
 */
export function resultLine(
  name: string,
  value: number,
  unit: string,
  ref: number,
  target: string,
  met: boolean | undefined,
): string {
  const outcome = met === undefined ? "n/a" : met ? "yes" : "no";
  return `RESULT ${name} value=${formatFigure(value)} ${unit} ref=${formatFigure(ref)} ratio=${(value / ref).toFixed(3)} target=${target} met=${outcome}`;
}
