/**
 * Plain HTTP calls of `seam demo` to the gateway, the way the printed curl commands make
 * them: the check that a gateway answers at all (before step 1, so a suite that is not
 * running fails with advice rather than with step 1), and Connect JSON calls.
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { DemoError } from "./context.js";

/** POSTs `body` as JSON to `path` of the gateway: a Connect unary call. */
function postJson(
  gatewayUrl: string,
  path: string,
  body: unknown,
  timeoutMs: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<Response> {
  return fetch(`${gatewayUrl}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** Fails with a readable message when nothing answers at the gateway's address. */
export async function checkGateway(gatewayUrl: string): Promise<void> {
  const path = "seam.registry.v1.ModelRegistryService/ListModels";
  let res: Response;
  try {
    res = await postJson(gatewayUrl, path, { pageSize: 1 }, 10_000);
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new DemoError(
      `cannot reach the Seam gateway at ${gatewayUrl} (${cause}). Start the suite first: \`npm start\` in another terminal (it runs \`seam up\`), or set SEAM_GATEWAY_URL to a running gateway.`,
    );
  }
  if (!res.ok) {
    const body = await res.text().catch(() => "");
    throw new DemoError(
      `the gateway at ${gatewayUrl} answered HTTP ${res.status} to ${path}: ${body.slice(0, 200) || "no body"} (is it a Seam gateway, with the registry running?)`,
    );
  }
}

/** One Connect JSON call with fetch; a Connect error comes back as a readable error. */
export async function connectJson(
  gatewayUrl: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<JsonValue> {
  const res = await postJson(gatewayUrl, path, body, 60_000, headers);
  const text = await res.text();
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch {
    throw new DemoError(`${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const error = json as { code?: string; message?: string };
    throw new DemoError(
      `${path} answered HTTP ${res.status}: ${error.code ?? "?"}: ${error.message ?? text}`,
    );
  }
  return json;
}
