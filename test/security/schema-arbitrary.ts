import fc from 'fast-check';

/** Fields a hostile client might inject to escape its tenant or change what it does not own. */
export const INJECTED_FIELDS = [
  'tenant',
  'namespace',
  'owner',
  'role',
  'status',
  '__proto__',
  'constructor',
  'spec',
  'metadata',
  'platformAdmin',
] as const;

const KUBEVIRT_FRAGMENTS = [
  { domain: { devices: { hostDevices: [{ name: 'gpu', deviceName: 'nvidia.com/GA100' }] } } },
  { nodeSelector: { 'kubernetes.io/hostname': 'aks-system-0' } },
  { metadata: { namespace: 'kube-system', labels: { 'app.kubernetes.io/managed-by': 'someone-else' } } },
  { volumes: [{ name: 'host', hostDisk: { path: '/etc', type: 'Disk' } }] },
];

const hostile = fc.oneof(
  fc.constantFrom(
    'kube-system',
    'default',
    '../../etc/passwd',
    "'; DROP TABLE x;--",
    '${jndi:ldap://x}',
    '\u0000',
    'a'.repeat(5000),
    '🙂',
    '__proto__',
  ),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...KUBEVIRT_FRAGMENTS),
);

/** An arbitrary JSON value that usually satisfies `schema` (refs resolved by `deref`), sometimes not. */
export function fromSchema(schema: any, deref: (s: any) => any, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(schema) ?? {};
  if (depth > 6) return fc.constant(null);
  if (s.enum) return fc.constantFrom(...s.enum);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      if (s.pattern) {
        try {
          return fc
            .stringMatching(new RegExp(s.pattern))
            .map((x) => x.slice(0, s.maxLength ?? 200))
            .filter((x) => x.length >= (s.minLength ?? 0));
        } catch {
          return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
        }
      }
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 40) });
    case 'integer':
      return fc.integer({ min: s.minimum ?? -10, max: Math.min(s.maximum ?? 1000, 1_000_000) });
    case 'number':
      return fc.double({ min: s.minimum ?? 0, max: Math.min(s.maximum ?? 1000, 1_000_000), noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(s.items ?? {}, deref, depth + 1), { maxLength: Math.min(s.maxItems ?? 3, 3) });
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) props[k] = fromSchema(v, deref, depth + 1);
      const required: string[] = s.required ?? [];
      return fc.record(props, { requiredKeys: required.filter((k) => k in props) });
    }
    default:
      return hostile;
  }
}

/** A body derived from the schema and then, maybe, spoiled: a field dropped, retyped or injected. */
export function bodyArbitrary(schema: any, deref: (s: any) => any): fc.Arbitrary<{ body: unknown; injected: string | undefined }> {
  const valid = fromSchema(schema, deref);
  return fc
    .tuple(valid, fc.nat(9), fc.constantFrom(...INJECTED_FIELDS), hostile, fc.string({ maxLength: 10 }))
    .map(([body, mode, field, value, key]) => {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return { body, injected: undefined };
      const b = { ...(body as Record<string, unknown>) };
      if (mode <= 3) return { body: b, injected: undefined };
      if (mode <= 6) {
        Object.defineProperty(b, field, { value, enumerable: true, configurable: true, writable: true });
        return { body: b, injected: field };
      }
      const keys = Object.keys(b);
      if (mode === 7 && keys.length > 0) delete b[keys[0] as string];
      else if (mode === 8 && keys.length > 0) b[keys[0] as string] = value;
      else b[key || 'x'] = value;
      return { body: b, injected: undefined };
    });
}
