// deploy/k8s: renders every kustomization, then checks each object against the Kubernetes
// types (schemas.mjs), each collector ConfigMap (collector.mjs), and each rendering as a
// whole against the project's rules (rules.mjs). A problem found in several renderings is
// reported once, naming each of them.
import { checkCollectorConfigMap } from "./collector.mjs";
import { renderKustomizations } from "./render.mjs";
import { checkRendering } from "./rules.mjs";
import { createFieldChecker, schemaErrors } from "./schemas.mjs";
import { objectName } from "./workloads.mjs";

/**
 * Checks deploy/k8s under `deployDir` into `problems` (from createProblems); `schemas` are
 * the config schemas, or undefined. Answers the renderings: [{ source, objects }].
 */
export async function checkKubernetes(problems, deployDir, schemas) {
  const rendered = renderKustomizations(problems.report, deployDir);
  const fieldErrors = await createFieldChecker(rendered.flatMap(({ objects }) => objects));
  for (const { source, objects } of rendered) {
    const report = problems.forRendering(source);
    for (const object of objects) {
      for (const message of await schemaErrors(object)) report(objectName(object), message);
      for (const message of fieldErrors(object)) report(objectName(object), message);
      checkCollectorConfigMap(report, object);
    }
    checkRendering(report, objects, schemas);
  }
  return rendered;
}
