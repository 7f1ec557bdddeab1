import type { Profile } from "../../shared/profiles";

// The one table that turns the `model` a client sends into the profiles that answer it. A name
// leads to a list of candidates: several when they are replicas (one name, several servers: a
// profile's name given as another profile's alias, or one alias shared by several profiles).

/** How a name matched, most specific first. */
export type RouteMatch = "name" | "alias" | "model" | "pattern";

export interface ModelRoute {
  profile: Profile;
  match: RouteMatch;
}

function key(name: string): string {
  return name.trim().toLowerCase();
}

/** A `*` pattern as a case-insensitive RegExp matching the whole name. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join(".*");
  return new RegExp(`^${body}$`, "i");
}

/** How specific a pattern is: its literal characters (so `claude-*haiku*` wins over `claude-*`, and `*` is last). */
function specificity(pattern: string): number {
  return pattern.replace(/\*/g, "").length;
}

/**
 * The profiles a request's `model` names, best first: a profile's id or name (case-insensitive),
 * with the profiles that have that name as an exact alias (its replicas); else every profile with
 * that exact alias (replicas); then the repo id / path / `repo:file` of exactly one profile (or of
 * the one running, when several share it), then the most specific `*` alias that matches.
 */
export function routeModel(model: string, profiles: readonly Profile[], isLive: (profileId: string) => boolean): ModelRoute[] {
  const wanted = key(model);
  const hasAlias = (p: Profile, name: string): boolean => (p.aliases ?? []).some((a) => !a.includes("*") && key(a) === name);
  const byName = profiles.find((p) => p.id === model || key(p.name) === wanted);
  if (byName) {
    const nameKey = key(byName.name);
    return [{ profile: byName, match: "name" }, ...profiles.filter((p) => p !== byName && hasAlias(p, nameKey)).map((profile): ModelRoute => ({ profile, match: "alias" }))];
  }
  const byAlias = profiles.filter((p) => hasAlias(p, wanted));
  if (byAlias.length > 0) return byAlias.map((profile) => ({ profile, match: "alias" }));
  const byModel = profiles.filter((p) => {
    const m = p.model;
    if (m.source === "path") return m.path === model;
    if (m.source === "remote") return m.model === model;
    return m.repoId === model || (m.file !== undefined && `${m.repoId}:${m.file}` === model);
  });
  if (byModel.length === 1 && byModel[0]) return [{ profile: byModel[0], match: "model" }];
  const running = byModel.filter((p) => isLive(p.id));
  if (running.length === 1 && running[0]) return [{ profile: running[0], match: "model" }];
  let best: { profile: Profile; score: number } | undefined;
  for (const profile of profiles) {
    for (const alias of profile.aliases ?? []) {
      if (!alias.includes("*") || !patternRegExp(alias).test(model)) continue;
      const score = specificity(alias);
      if (best === undefined || score > best.score) best = { profile, score };
    }
  }
  return best ? [{ profile: best.profile, match: "pattern" }] : [];
}
