// Kubernetes types: every rendered object against the JSON schema of its kind (from the
// kubernetes-models package), and against the kind's TypeScript type for fields Kubernetes
// does not have. The JSON schemas accept any extra field; the API server in strict mode
// does not, and a misspelt field (readinesProbe) otherwise goes silently unused.
import path from "node:path";
import { didYouMean } from "./did-you-mean.mjs";
import { repoRoot } from "./paths.mjs";
import { asArray } from "./yaml-values.mjs";

/** Schema violations of one object, from kubernetes-models' class for its apiVersion and kind. */
export async function schemaErrors(object) {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["apiVersion and kind are required"];
  let module;
  try {
    module = await import(`kubernetes-models/${apiVersion}/${kind}`);
  } catch {
    return [`unknown kind ${kind} in ${apiVersion} (no such Kubernetes API in kubernetes-models)`];
  }
  const Model = module[kind];
  if (typeof Model !== "function" || Model.apiVersion !== apiVersion || Model.kind !== kind) {
    return [`unknown kind ${kind} in ${apiVersion}`];
  }
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const details = Array.isArray(error?.errors) ? error.errors : undefined;
    if (details === undefined) return [String(error?.message ?? error)];
    return details.map((e) => {
      const at = pointerToPath(e.instancePath ?? "");
      const extra =
        e.keyword === "enum"
          ? ` (one of: ${asArray(e.params?.allowedValues).join(", ")})`
          : e.keyword === "required"
            ? ` (${e.params?.missingProperty})`
            : "";
      return `${at === "" ? "(object)" : at}: ${e.message}${extra}`;
    });
  }
}

/** "/spec/template/spec/containers/0/image" → "spec.template.spec.containers[0].image". */
function pointerToPath(pointer) {
  return pointer
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce(
      (out, part) => (/^\d+$/.test(part) ? `${out}[${part}]` : out === "" ? part : `${out}.${part}`),
      "",
    );
}

const kindKey = (object) => `${object.apiVersion} ${object.kind}`;

/**
 * A function listing the fields of an object that its kind's type does not have. Walks each
 * object along the TypeScript type of its kind in kubernetes-models' declarations, compiled
 * once, with TypeScript's checker, for every kind among `objects`.
 */
export async function createFieldChecker(objects) {
  const { default: ts } = await import("typescript");
  const entries = [...new Set(objects.map(kindKey))].map((key, i) => {
    const [apiVersion, kind] = key.split(" ");
    return {
      key,
      alias: `K${i}`,
      line: `export type K${i} = import("kubernetes-models/${apiVersion}/${kind}").I${kind};`,
    };
  });
  // A virtual file at the repository root, so that "kubernetes-models" resolves from there.
  const fileName = path.join(repoRoot, "__deploy_check_kinds__.ts");
  const source = entries.map((e) => e.line).join("\n");
  const options = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(name, source, language)
      : getSourceFile(name, language, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const checker = program.getTypeChecker();
  const sourceFile = program.getSourceFile(fileName);
  const types = new Map();
  for (const statement of sourceFile.statements) {
    if (!ts.isTypeAliasDeclaration(statement)) continue;
    const entry = entries.find((e) => e.alias === statement.name.text);
    const type = checker.getTypeAtLocation(statement.name);
    // An unresolved import is `any`: then this kind gets no field check (schema validation still runs).
    if (entry !== undefined && (type.flags & ts.TypeFlags.Any) === 0) types.set(entry.key, type);
  }

  const isObjectType = (type) => (type.flags & ts.TypeFlags.Object) !== 0;
  const typeOf = (symbol) =>
    checker.getTypeOfSymbol
      ? checker.getTypeOfSymbol(symbol)
      : checker.getTypeOfSymbolAtLocation(symbol, symbol.valueDeclaration ?? sourceFile);

  function walk(value, type, at, out) {
    if (value === null || typeof value !== "object") return;
    let t = checker.getNonNullableType(type);
    if ((t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return;
    if (t.isUnion()) {
      const objectTypes = t.types.filter(isObjectType);
      if (objectTypes.length !== 1) return; // int-or-string and the like: the schema decides
      t = objectTypes[0];
    }
    if (!isObjectType(t)) return;
    if (Array.isArray(value)) {
      if (!checker.isArrayType(t)) return;
      const [element] = checker.getTypeArguments(t);
      value.forEach((item, i) => {
        walk(item, element, `${at}[${i}]`, out);
      });
      return;
    }
    const index = checker.getIndexInfoOfType(t, ts.IndexKind.String);
    const known = checker.getPropertiesOfType(t).map((p) => p.getName());
    for (const [key, item] of Object.entries(value)) {
      const where = at === "" ? key : `${at}.${key}`;
      const property = checker.getPropertyOfType(t, key);
      if (property !== undefined) walk(item, typeOf(property), where, out);
      else if (index !== undefined) walk(item, index.type, where, out);
      else out.push(`${where}: unknown field${didYouMean(key, known)}`);
    }
  }

  return (object) => {
    const type = types.get(kindKey(object));
    const out = [];
    if (type !== undefined) walk(object, type, "", out);
    return out;
  };
}
