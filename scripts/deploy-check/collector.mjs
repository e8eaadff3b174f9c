// OpenTelemetry Collector configurations (Compose's file and the cluster's ConfigMap): a
// pipeline naming a component that is not defined keeps the collector from starting, and an
// OTLP receiver on localhost (its default) hears nothing from other containers; either way
// the traces go nowhere.
import { asArray, isObject, parseYaml } from "./yaml-values.mjs";

const COMPONENT_SECTIONS = ["receivers", "processors", "exporters", "extensions", "connectors"];

/** Checks a collector's config.yaml when `object` is a collector's ConfigMap; ignores any other object. */
export function checkCollectorConfigMap(report, object) {
  if (
    object.kind !== "ConfigMap" ||
    typeof object.data?.["config.yaml"] !== "string" ||
    !/collector/.test(object.metadata?.name ?? "")
  )
    return;
  // Named without the hash suffix configMapGenerator appends, the name in the kustomization.
  const name = `${object.kind}/${object.metadata.namespace}/${object.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`;
  checkCollectorConfig(report, `${name}: data.config.yaml`, object.data["config.yaml"]);
}

/** Checks a collector configuration's text: its sections, pipelines and the components they use. */
export function checkCollectorConfig(report, where, text) {
  const problem = (message) => report(where, message);
  const config = parseYaml(report, where, text);
  if (config === undefined) return;
  for (const key of Object.keys(config)) {
    if (!COMPONENT_SECTIONS.includes(key) && key !== "service") problem(`${key}: unknown top-level section`);
  }
  const defined = (section, id) => isObject(config[section]) && id in config[section];
  for (const id of asArray(config.service?.extensions)) {
    if (!defined("extensions", id)) problem(`service.extensions: ${id} is not defined under extensions`);
  }
  const pipelines = config.service?.pipelines;
  if (!isObject(pipelines) || Object.keys(pipelines).length === 0) {
    problem("service.pipelines: none");
    return;
  }
  const used = new Set();
  for (const [name, pipeline] of Object.entries(pipelines)) {
    if (!/^(traces|metrics|logs)(\/.+)?$/.test(name))
      problem(`service.pipelines.${name}: not a traces, metrics or logs pipeline`);
    for (const part of ["receivers", "processors", "exporters"]) {
      for (const id of asArray(pipeline?.[part])) {
        used.add(`${part} ${id}`);
        if (!defined(part, id) && !defined("connectors", id))
          problem(`service.pipelines.${name}.${part}: ${id} is not defined under ${part}`);
      }
    }
    if (asArray(pipeline?.receivers).length === 0) problem(`service.pipelines.${name}.receivers: none`);
    if (asArray(pipeline?.exporters).length === 0) problem(`service.pipelines.${name}.exporters: none`);
  }
  for (const id of Object.keys(config.receivers ?? {})) {
    if (!used.has(`receivers ${id}`)) problem(`receivers.${id}: defined but in no pipeline`);
  }
  // The OTLP receiver's default endpoint is localhost: unreachable from other containers.
  const otlp = config.receivers?.otlp?.protocols;
  for (const protocol of ["grpc", "http"]) {
    const endpoint = otlp?.[protocol]?.endpoint;
    if (
      otlp?.[protocol] !== undefined &&
      (typeof endpoint !== "string" || !endpoint.startsWith("0.0.0.0:"))
    ) {
      problem(
        `receivers.otlp.protocols.${protocol}.endpoint: must listen on 0.0.0.0 (the default is localhost), got ${JSON.stringify(endpoint)}`,
      );
    }
  }
}
