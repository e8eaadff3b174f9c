import { InvalidArgumentError } from "@seam/kit/errors";
import { checkResourceName, decodePageToken, encodePageToken, isResourceName } from "@seam/kit/naming";

// Definitions are named like every other resource; join keys and features are column
// names, held to identifier rules so "view:feature" references and "view__feature" output
// columns stay unambiguous.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** The three kinds of definition, as named in messages and apply reports. */
export type DefinitionKind = "entity" | "feature_view" | "feature_service";

/** How a kind reads in an error message. */
export function kindLabel(kind: DefinitionKind): string {
  return kind.replace("_", " ");
}

/** Throws INVALID_ARGUMENT unless `name` is a valid definition name. Returns `name`. */
export function checkDefinitionName(name: string, kind: DefinitionKind, field = "name"): string {
  return checkResourceName(name, kindLabel(kind), field);
}

/** Throws INVALID_ARGUMENT unless `name` is a valid join key or feature (column) name. */
export function checkIdentifier(name: string, field: string): string {
  if (name === "") throw new InvalidArgumentError(`${field} is required`);
  if (!IDENTIFIER.test(name)) {
    throw new InvalidArgumentError(
      `${field} ${JSON.stringify(name)} is not a valid name: use 1 to 128 letters, digits or "_", starting with a letter or "_"`,
    );
  }
  return name;
}

/** Page token of a definition listing (the last name returned). */
export function encodeDefinitionPageToken(kind: DefinitionKind, lastName: string): string {
  return encodePageToken(`${kind}:`, lastName);
}

/** Decodes {@link encodeDefinitionPageToken}; INVALID_ARGUMENT for a token of anything else. */
export function decodeDefinitionPageToken(kind: DefinitionKind, token: string): string | undefined {
  return decodePageToken(token, `${kind}:`, isResourceName);
}
