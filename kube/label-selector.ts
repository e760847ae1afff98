// Kubernetes label selectors (metav1.LabelSelector) compiled once into a predicate, with the API's
// semantics: an empty selector matches everything, an absent one nothing; NotIn and DoesNotExist
// match objects that lack the key.
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: readonly string[] | undefined;
}

export interface LabelSelector {
  matchLabels?: Readonly<Record<string, string>> | undefined;
  matchExpressions?: readonly LabelSelectorRequirement[] | undefined;
}

export type Labels = Readonly<Record<string, string>> | undefined;
export type LabelMatcher = (labels: Labels) => boolean;

export function compileLabelSelector(selector: LabelSelector | undefined): LabelMatcher {
  if (selector === undefined) return () => false;
  const equal = Object.entries(selector.matchLabels ?? {});
  const requirements = (selector.matchExpressions ?? []).map((r) => ({ ...r, set: new Set(r.values ?? []) }));
  return (labels) => {
    const has = (key: string) => labels !== undefined && Object.hasOwn(labels, key);
    for (const [key, value] of equal) if (!has(key) || labels?.[key] !== value) return false;
    for (const r of requirements) {
      const present = has(r.key);
      switch (r.operator) {
        case "In":
          if (!present || !r.set.has(labels?.[r.key] as string)) return false;
          break;
        case "NotIn":
          if (present && r.set.has(labels?.[r.key] as string)) return false;
          break;
        case "Exists":
          if (!present) return false;
          break;
        case "DoesNotExist":
          if (present) return false;
          break;
      }
    }
    return true;
  };
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}

/** The selector in kubectl's `-l` syntax: `app=kestra,tier in (a,b),!legacy`. */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  if (selector === undefined) return "<none>";
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  for (const r of selector.matchExpressions ?? []) {
    const values = [...(r.values ?? [])].sort().join(",");
    if (r.operator === "In") parts.push(`${r.key} in (${values})`);
    else if (r.operator === "NotIn") parts.push(`${r.key} notin (${values})`);
    else if (r.operator === "Exists") parts.push(r.key);
    else parts.push(`!${r.key}`);
  }
  return parts.length === 0 ? "<everything>" : parts.join(",");
}
