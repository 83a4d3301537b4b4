import type { IncomingMessage } from 'node:http';
import { networkInterfaces, hostname } from 'node:os';
import { HttpError, mediaType } from './http.js';

/**
 * Who may talk to `mnist serve`. The server has no login, so it must not obey a page from another
 * site (cross-site request forgery) nor a page whose DNS name was re-pointed at this machine
 * (DNS rebinding). Three rules:
 * - `Host` must name this server: loopback names, the bound address, this machine's addresses when
 *   bound to all interfaces, or a name the user allowed (`--allowed-host`). A rebound name fails.
 * - A request that changes anything (any method but GET/HEAD) must come from no page or from this
 *   server's own page: `Origin`, when present, must be `http://<the request's Host>`.
 * - Such a request must be `application/json` (or an image for /api/predict): browsers send those
 *   cross-site only after a CORS preflight, which this server never grants.
 */
export interface RequestGuard {
  /** Throws a 403 HttpError when the request may not be served. */
  check(req: IncomingMessage, bodyTypes: ReadonlySet<string>): void;
  /** Host names accepted, lower-case, for messages and docs. */
  readonly allowedHosts: ReadonlySet<string>;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function requestGuard(boundHost: string, extraHosts: readonly string[] = []): RequestGuard {
  const allowed = new Set<string>([...LOOPBACK_NAMES, ...extraHosts].map(normalHost));
  allowed.add(normalHost(boundHost));
  if (WILDCARD_ADDRESSES.has(boundHost)) {
    allowed.add(normalHost(hostname()));
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) allowed.add(normalHost(a.address));
  }
  return {
    allowedHosts: allowed,
    check(req, bodyTypes) {
      const host = req.headers.host;
      if (!host) throw forbidden('the request has no Host header');
      const hostName = hostNameOf(host);
      if (hostName === undefined || !allowed.has(hostName)) {
        throw forbidden(`Host "${printable(host)}" is not this server (allowed: ${[...allowed].join(', ')}; add a name with --allowed-host)`);
      }
      const method = req.method ?? 'GET';
      if (SAFE_METHODS.has(method)) return;
      const origin = req.headers.origin;
      if (origin !== undefined && !sameOrigin(origin, host)) {
        throw forbidden(`cross-site request refused: Origin "${printable(origin)}" is not this server's page (http://${printable(host)})`);
      }
      if (req.headers['sec-fetch-site'] === 'cross-site') throw forbidden('cross-site request refused (Sec-Fetch-Site: cross-site)');
      const type = mediaType(req);
      if (!bodyTypes.has(type)) {
        throw forbidden(`Content-Type "${printable(type) || '(none)'}" refused: send ${[...bodyTypes].join(' or ')}`);
      }
    },
  };
}

function forbidden(message: string): HttpError {
  return new HttpError(403, message);
}

/** `Example.COM` → `example.com`; `[::1]` → `::1`. */
function normalHost(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

/** The name part of a Host header (`localhost:8080` → `localhost`, `[::1]:80` → `::1`); undefined if malformed. */
export function hostNameOf(host: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s@]+)(?::(\d{1,5}))?$/.exec(host.trim());
  return m ? normalHost(m[1]) : undefined;
}

function sameOrigin(origin: string, host: string): boolean {
  if (origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && url.host.toLowerCase() === new URL(`http://${host}`).host.toLowerCase();
}

/** Header values are attacker-chosen: keep them short and on one line in error messages. */
function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 77)}...` : clean;
}
