// The problems found, one per "where: message". A Kubernetes problem is usually found in
// several renderings (base and overlays); it is listed once, naming each rendering.

/**
 * A problem log. `report(where, message)` records a problem; `forRendering(name)` gives a
 * `report` that also records the rendering it was found in; `lines()` formats them in the
 * order first found.
 */
export function createProblems() {
  const renderingsByProblem = new Map();
  const record = (where, message, rendering) => {
    const key = `${where}: ${message}`;
    const renderings = renderingsByProblem.get(key) ?? [];
    if (rendering !== undefined) renderings.push(rendering);
    renderingsByProblem.set(key, renderings);
  };
  return {
    report: (where, message) => record(where, message, undefined),
    forRendering: (rendering) => (where, message) => record(where, message, rendering),
    get size() {
      return renderingsByProblem.size;
    },
    lines: () =>
      [...renderingsByProblem].map(
        ([problem, renderings]) =>
          `✗ ${problem}${renderings.length === 0 ? "" : `  [k8s ${renderings.join(", ")}]`}`,
      ),
  };
}
