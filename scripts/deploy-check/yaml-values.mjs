// Reading YAML written by hand: any value may be of any type, so the checks read it through
// these instead of trusting its shape, and name places in it the same way everywhere.
import { parseDocument } from "yaml";

export const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** The value when it is an array, else no items (a missing or malformed list checks as empty). */
export const asArray = (value) => (Array.isArray(value) ? value : []);

/** "spec" + "replicas" → "spec.replicas"; without a field, the base alone. */
export const fieldPath = (base, field) => (field === undefined ? base : `${base}.${field}`);

/**
 * The value of one YAML document ({} when empty), or undefined after reporting at `where`
 * why it does not parse. `merge` enables `<<:` merge keys; `maxAliasCount` bounds alias expansion.
 */
export function parseYaml(report, where, text, { merge = false, maxAliasCount = 100 } = {}) {
  const doc = parseDocument(text, { merge });
  if (doc.errors.length > 0) {
    report(where, `does not parse: ${doc.errors[0].message}`);
    return undefined;
  }
  return doc.toJS({ maxAliasCount }) ?? {};
}
