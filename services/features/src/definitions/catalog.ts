import { InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import type { Entity, FeatureRefs } from "@seam/proto/seam/features/v1/features_pb";
import type { DefinitionStore } from "../store/definition-store.js";
import { type FeatureSpec, type ResolvedView, resolveView } from "./resolved.js";

/** Features of one view picked by a selection. */
export interface SelectedPart {
  readonly view: ResolvedView;
  readonly features: readonly FeatureSpec[];
  /** The features' names, one array reused by every read (the online store caches per array). */
  readonly fieldNames: readonly string[];
}

/** What a feature service or a list of refs resolves to: views in order, features in order. */
export interface Selection {
  readonly parts: readonly SelectedPart[];
  /** "view:feature" per selected feature, in response order. */
  readonly featureNames: readonly string[];
}

/** How a request selects features (the `selection` oneof of online and historical requests). */
export type SelectionRequest =
  | { readonly case: "featureService"; readonly value: string }
  | { readonly case: "features"; readonly value: FeatureRefs }
  | { readonly case: undefined; readonly value?: undefined };

const MAX_REFS = 1000;

/**
 * Resolved views and selections for the serving paths, cached for `maxAgeMs` so a lookup
 * costs no store read. Applies and deletes in this process invalidate at once (see
 * {@link invalidate}); other replicas' changes are seen within `maxAgeMs` or on the event
 * the service publishes.
 */
export class Catalog {
  private readonly views = new Map<string, { at: number; view: Promise<ResolvedView> }>();
  private readonly selections = new Map<string, { at: number; selection: Promise<Selection> }>();

  constructor(
    private readonly store: DefinitionStore,
    private readonly maxAgeMs = 2000,
  ) {}

  /** Forgets everything cached (after any definition change). */
  invalidate(): void {
    this.views.clear();
    this.selections.clear();
  }

  /** The resolved current view; NotFoundError when it does not exist. */
  view(name: string): Promise<ResolvedView> {
    const now = Date.now();
    const cached = this.views.get(name);
    if (cached !== undefined && now - cached.at < this.maxAgeMs) return cached.view;
    const view = this.loadView(name);
    this.views.set(name, { at: now, view });
    view.catch(() => this.views.delete(name));
    return view;
  }

  /** The resolved selection of a request; INVALID_ARGUMENT or NOT_FOUND naming what is wrong. */
  selection(request: SelectionRequest): Promise<Selection> {
    const key = selectionKey(request);
    const now = Date.now();
    const cached = this.selections.get(key);
    if (cached !== undefined && now - cached.at < this.maxAgeMs) return cached.selection;
    const selection = this.loadSelection(request);
    this.selections.set(key, { at: now, selection });
    selection.catch(() => this.selections.delete(key));
    return selection;
  }

  private async loadView(name: string): Promise<ResolvedView> {
    const view = await this.store.get("feature_view", name);
    const entities = new Map<string, Entity>();
    for (const entity of view.entities) entities.set(entity, await this.store.get("entity", entity));
    return resolveView(view, entities);
  }

  private async loadSelection(request: SelectionRequest): Promise<Selection> {
    const wanted: Array<{ view: string; features: string[] | "all" }> = [];
    if (request.case === "featureService") {
      if (request.value === "") throw new InvalidArgumentError("feature_service is required");
      const service = await this.store.get("feature_service", request.value);
      for (const p of service.features) {
        wanted.push({ view: p.featureView, features: p.features.length === 0 ? "all" : [...p.features] });
      }
    } else if (request.case === "features") {
      const refs = request.value.refs;
      if (refs.length === 0)
        throw new InvalidArgumentError("features.refs: at least one reference is required");
      if (refs.length > MAX_REFS)
        throw new InvalidArgumentError(`features.refs: at most ${MAX_REFS} references`);
      const byView = new Map<string, { view: string; features: string[] | "all" }>();
      refs.forEach((ref, i) => {
        const colon = ref.indexOf(":");
        if (colon <= 0 || colon === ref.length - 1) {
          throw new InvalidArgumentError(
            `features.refs[${i}]: ${JSON.stringify(ref)} is not "view:feature" or "view:*"`,
          );
        }
        const viewName = ref.slice(0, colon);
        const feature = ref.slice(colon + 1);
        let entry = byView.get(viewName);
        if (entry === undefined) {
          entry = { view: viewName, features: [] };
          byView.set(viewName, entry);
          wanted.push(entry);
        }
        if (feature === "*") entry.features = "all";
        else if (entry.features !== "all" && !entry.features.includes(feature)) entry.features.push(feature);
      });
    } else {
      throw new InvalidArgumentError("select features: set feature_service or features");
    }

    const parts: SelectedPart[] = [];
    const featureNames: string[] = [];
    for (const want of wanted) {
      const view = await this.view(want.view).catch((err: unknown) => {
        throw err instanceof NotFoundError ? new NotFoundError(`feature view ${want.view} not found`) : err;
      });
      const features =
        want.features === "all"
          ? view.features
          : want.features.map((name) => {
              const index = view.featureIndex.get(name);
              if (index === undefined)
                throw new InvalidArgumentError(`feature view ${view.name} has no feature "${name}"`);
              return view.features[index] as FeatureSpec;
            });
      parts.push({ view, features, fieldNames: features.map((f) => f.name) });
      for (const f of features) featureNames.push(`${view.name}:${f.name}`);
    }
    return { parts, featureNames };
  }
}

function selectionKey(request: SelectionRequest): string {
  if (request.case === "featureService") return `s\0${request.value}`;
  if (request.case === "features") return `r\0${request.value.refs.join("\0")}`;
  return "none";
}
