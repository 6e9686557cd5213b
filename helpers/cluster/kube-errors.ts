/**
 * What the API server said, in the suite's words: refusals of a manifest (the chapter's fault)
 * apart from failures of the request (the cluster's or the network's), a Status body's message,
 * and a refused WebSocket upgrade.
 */
import { ApiException } from '@kubernetes/client-node';

/** The API server refused manifests in a dry run: nothing of them was applied. */
export class ManifestRefusedError extends Error {
  readonly refusals: readonly string[];
  constructor(refusals: readonly string[]) {
    super(`the API server refused ${refusals.length === 1 ? 'a manifest' : `${refusals.length} manifests`} in a server-side dry run `
      + `(dryRun=All, fieldValidation=Strict), so nothing was applied:\n  ${refusals.join('\n  ')}`);
    this.name = 'ManifestRefusedError';
    this.refusals = refusals;
  }
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ApiException && e.code === 404;
}

/** A WebSocket upgrade the server answered with an HTTP status instead of 101 Switching Protocols. */
export class UpgradeRefusedError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string) {
    super(`HTTP ${code}: ${statusText(body)}`);
    this.name = 'UpgradeRefusedError';
    this.code = code;
    this.body = body;
  }
}

/** The message of a Status body (JSON), else the body itself, shortened. */
function statusText(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: unknown };
    if (typeof status.message === 'string' && status.message) return status.message;
  } catch {
    /* not JSON */
  }
  return body.trim().slice(0, 300) || '(empty body)';
}

/**
 * The API server's message from an ApiException (its body is raw text, usually a V1Status), a
 * refused WebSocket upgrade, or the `ws` ErrorEvent client-node rejects a failed WebSocket with
 * (an object with `message` and `error`, not an Error).
 */
export function apiMessage(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body;
    if (typeof body === 'string') return `HTTP ${e.code}: ${statusText(body)}`;
    return `HTTP ${e.code}`;
  }
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e && 'error' in e) {
    const inner: unknown = e.error;
    if (inner instanceof Error) return inner.message;
    if (typeof e.message === 'string' && e.message) return e.message;
  }
  if (typeof e === 'object' && e !== null) {
    try {
      return JSON.stringify(e);
    } catch {
      /* circular */
    }
  }
  return String(e);
}

/**
 * apiMessage, plus the fields a Status names in details.causes when its message does not
 * (e.g. a 422 Invalid lists each field with its own message).
 */
export function refusalMessage(e: unknown): string {
  const unserved = unservedApi(e);
  if (unserved) return `${unserved} is not served by this API server (HTTP 404 from its discovery)`;
  const base = apiMessage(e);
  if (!(e instanceof ApiException) || typeof e.body !== 'string') return base;
  let causes: { field?: string; message?: string }[] = [];
  try {
    causes = (JSON.parse(e.body) as { details?: { causes?: { field?: string; message?: string }[] } }).details?.causes ?? [];
  } catch {
    return base;
  }
  const extra = causes.filter((c) => c.field && !base.includes(c.field)).map((c) => `${c.field}: ${c.message ?? ''}`.trim());
  return extra.length > 0 ? `${base} (${extra.join('; ')})` : base;
}

/**
 * Whether an error is the API server's judgement of the manifest itself (the chapter's fault),
 * as opposed to a failure to get one (a timeout, a reset connection, a webhook that did not
 * answer, missing permissions): decided by what the server said, not only its status code.
 * - 400 BadRequest (strict decoding, an admission webhook's denial) and 422 Invalid (schema
 *   validation) are refusals.
 * - A server-side-apply patch with a field the schema does not declare is refused with 500
 *   "failed to create typed patch object (...): ... field not declared in schema"
 *   (kubernetes/kubernetes#139253, open as of v1.36): a refusal despite the code.
 * - A kind or apiVersion the server does not serve is a refusal of the manifest: client-node's
 *   discovery (dist/object.js) says "Unrecognized API version and kind" for a kind missing from
 *   a served group version, and rethrows the discovery's 404 as "Failed to fetch resource
 *   metadata for <apiVersion>/<kind>" for a group version not served at all (e.g.
 *   rbac.authorization.k8s.io/v1beta1, gone since Kubernetes 1.22).
 * Everything else (403, 404 of the namespace, 409, 429, other 5xx, network errors) is not.
 */
export function isManifestRefusal(e: unknown): boolean {
  if (e instanceof ApiException) {
    if (e.code === 400 || e.code === 422) return true;
    if (e.code === 404) return unservedApi(e) !== undefined;
    if (e.code === 500) {
      const text = typeof e.body === 'string' ? statusText(e.body) : '';
      return /failed to create typed patch object|field not declared in schema/.test(text);
    }
    return false;
  }
  return e instanceof Error && e.message.startsWith('Unrecognized API version and kind');
}

/** `<apiVersion>/<kind>` when the error is client-node's discovery finding no such group version. */
function unservedApi(e: unknown): string | undefined {
  if (!(e instanceof ApiException) || e.code !== 404) return undefined;
  return /^Failed to fetch resource metadata for (\S+): /.exec(e.message)?.[1];
}
