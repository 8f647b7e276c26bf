// A field-by-field diff of two JSON documents, for the audit log's
// before/after.

export type DiffKind = 'added' | 'removed' | 'changed' | 'same';

export interface DiffRow {
  path: string;
  before?: string;
  after?: string;
  kind: DiffKind;
}

/** flatten maps every leaf of a JSON value to its path ("limits.rpm", "models[0]"). */
export function flatten(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(prefix, '[]');
    v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, '{}');
    for (const [k, x] of entries) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

/** diffJSON lists every path of before and after, in order, with how it changed. */
export function diffJSON(before: unknown, after: unknown): DiffRow[] {
  const a = flatten(before ?? undefined);
  const b = flatten(after ?? undefined);
  const paths = Array.from(new Set([...a.keys(), ...b.keys()])).sort();
  return paths.map((path) => {
    const x = a.get(path);
    const y = b.get(path);
    if (x === undefined) return { path, after: y ?? '', kind: 'added' as const };
    if (y === undefined) return { path, before: x, kind: 'removed' as const };
    return { path, before: x, after: y, kind: x === y ? ('same' as const) : ('changed' as const) };
  });
}
