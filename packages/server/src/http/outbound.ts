/**
 * The one HTTP client for requests Keyway makes for a connection (code exchange, refresh, client
 * credentials, API-key / Basic verification). Hosts can come from end users (`${connectionConfig.host}`),
 * so every request is guarded against SSRF:
 * - the name is resolved once, by our own lookup, and EVERY address it returns must be public:
 *   loopback, private, link-local, CGNAT, multicast, unspecified and reserved ranges are refused,
 *   also when they hide inside IPv4-mapped, IPv4-compatible or NAT64 IPv6 addresses;
 * - the socket connects to the address that was checked: the lookup is the connection's own
 *   (undici `connect.lookup`), so no second resolution can answer differently (DNS rebinding);
 * - an IP literal in the URL is checked the same way (the socket does no lookup for it);
 * - redirects are never followed (a 3xx is an answer, or an error where the caller asks for one).
 * An operator can allow private targets (`KEYWAY_ALLOW_PRIVATE_NETWORK=true`, a GitLab on a LAN,
 * the local sandbox); it is never on by default.
 *
 * A request may present a TLS client certificate (mutual TLS, ADP): it then goes through an agent of
 * its own, one per owner (the integration), with the same pinned lookup. The agent is kept while the
 * owner's certificate stays the same, and closed when it changes or is released.
 */
import { createHash } from 'node:crypto';
import { promises as dns, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import { KeywayError } from '../errors.ts';
import type { ClientCertificate } from './client-certificate.ts';

/** Resolves a host name to every address it has (the default is the system resolver). */
export type HostResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface OutboundOptions {
  /** Allow loopback and private targets (the operator's explicit choice). */
  readonly allowPrivateNetwork: boolean;
  /** Injected in tests (a stub that answers 127.0.0.1 for a public-looking name). */
  readonly resolve?: HostResolver;
  /**
   * Tests only: the PEM CA that providers' server certificates must chain to, instead of Node's
   * public roots (a local HTTPS provider signed by a test CA). Never a global TLS setting.
   */
  readonly trustedCa?: string;
}

/** A client certificate to present, and whose it is: one agent (connection pool) per owner. */
export interface PresentedCertificate extends ClientCertificate {
  readonly owner: string;
}

export interface OutboundInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: URLSearchParams | string;
  /** 'error' turns a 3xx into a failure; otherwise a 3xx is returned as it is. Never followed. */
  readonly redirect?: 'error' | 'manual';
  readonly signal?: AbortSignal;
  /** Mutual TLS: the certificate the TLS handshake presents. */
  readonly clientCertificate?: PresentedCertificate;
}

export interface OutboundResponse {
  readonly status: number;
  readonly ok: boolean;
  text(): Promise<string>;
  readonly body: { cancel(): Promise<void> } | null;
}

export type OutboundFetch = (url: string, init: OutboundInit) => Promise<OutboundResponse>;

/** A request whose body and answer are streams (the proxy): nothing is decoded, buffered or followed. */
export interface OutboundStreamInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** A buffer can be sent again (retries); a stream only once. */
  readonly body?: Buffer | Readable;
  readonly signal?: AbortSignal;
  /** Until the status line and headers arrive. */
  readonly headersTimeoutMs: number;
  /** Of silence between two chunks of the answer's body (a long download is fine while it flows). */
  readonly bodyTimeoutMs: number;
  /** Mutual TLS: the certificate the TLS handshake presents. */
  readonly clientCertificate?: PresentedCertificate;
}

export interface OutboundStreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw bytes, still encoded as the provider sent them (gzip stays gzip). */
  readonly body: Readable;
}

export type OutboundStream = (url: string, init: OutboundStreamInit) => Promise<OutboundStreamResponse>;

/** The guarded client: `fetch` for small requests, `stream` for the proxy; one connection pool. */
export type Outbound = OutboundFetch & {
  readonly stream: OutboundStream;
  /** Closes the owner's client-certificate agent (its certificate changed or was removed). */
  releaseClientCertificate(owner: string): Promise<void>;
  close(): Promise<void>;
};

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['100::', 64], // discard-only
  ['fc00::', 7], // unique local (private)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed on some networks)
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED.addSubnet(net, prefix, 'ipv6');
}

/** True when an address may be the target of an outbound request without the operator's opt-in. */
export function isPublicAddress(address: string): boolean {
  const plain = address.replace(/%.*$/, ''); // an IPv6 zone id says nothing about the range
  const family = isIP(plain);
  if (family === 4) return !BLOCKED.check(plain, 'ipv4');
  if (family !== 6) return false;
  const embedded = embeddedIPv4(plain);
  if (embedded !== undefined) return isPublicAddress(embedded);
  return !BLOCKED.check(plain, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) or NAT64 (64:ff9b::/96) address. */
function embeddedIPv4(v6: string): string | undefined {
  const g = ipv6Groups(v6);
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const compatible = zeros(0, 6) && (g[6] !== 0 || g[7]! > 1); // not :: or ::1
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !compatible && !nat64) return undefined;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing dotted quad expanded). */
function ipv6Groups(v6: string): number[] {
  let s = v6.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    s = `${s.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((x) => parseInt(x, 16));
}

/** Thrown by the lookup; undici wraps it, `outboundFetch` unwraps it into the typed error. */
class AddressRefused extends Error {}

const refusal = () =>
  new KeywayError('private_address_refused', 'The provider host resolves to an address that is not public (loopback, private or reserved); an operator can allow it with KEYWAY_ALLOW_PRIVATE_NETWORK=true');

const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

/** A `fetch` for connection requests; one per server (it keeps its own connection pool, closed by `close`). */
export function createOutboundFetch(options: OutboundOptions): Outbound {
  const resolve = options.resolve ?? systemResolver;
  // net.connect calls this instead of dns.lookup and connects to what it returns: the checked address.
  const lookup = (hostname: string, opts: { all?: boolean; family?: number | string }, callback: LookupCallback) => {
    resolve(hostname).then(
      (found) => {
        const family = opts.family === 4 || opts.family === 'IPv4' ? 4 : opts.family === 6 || opts.family === 'IPv6' ? 6 : 0;
        const addresses = found.filter((a) => family === 0 || a.family === family);
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
        if (!options.allowPrivateNetwork && !addresses.every((a) => isPublicAddress(a.address))) return callback(new AddressRefused(hostname), []);
        if (opts.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (e: Error) => callback(e, []),
    );
  };
  const ca = options.trustedCa !== undefined ? { ca: options.trustedCa } : {};
  const dispatcher = new Agent({ connect: { lookup: lookup as never, ...ca } });
  // Per owner: the agent presenting its certificate, and a digest to notice a new certificate.
  const certified = new Map<string, { digest: string; agent: Agent }>();
  const release = async (owner: string) => {
    const held = certified.get(owner);
    certified.delete(owner);
    await held?.agent.close(); // lets requests in flight finish
  };
  const dispatcherFor = (cert: PresentedCertificate | undefined): Agent => {
    if (!cert) return dispatcher;
    const digest = createHash('sha256').update(cert.certificate).update('\0').update(cert.private_key).digest('base64url');
    const held = certified.get(cert.owner);
    if (held?.digest === digest) return held.agent;
    if (held) void held.agent.close().catch(() => undefined); // another instance changed the certificate
    const agent = new Agent({ connect: { lookup: lookup as never, ...ca, cert: cert.certificate, key: cert.private_key } });
    certified.set(cert.owner, { digest, agent });
    return agent;
  };

  const checkLiteral = (url: URL) => {
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    if (!options.allowPrivateNetwork && isIP(hostname) !== 0 && !isPublicAddress(hostname)) throw refusal();
  };
  const guarded: OutboundFetch = async (url, init) => {
    checkLiteral(new URL(url));
    try {
      return await undiciFetch(url, {
        method: init.method ?? 'GET',
        ...(init.headers && { headers: { ...init.headers } }),
        ...(init.body !== undefined && { body: init.body }),
        redirect: init.redirect === 'error' ? 'error' : 'manual',
        ...(init.signal && { signal: init.signal }),
        dispatcher: dispatcherFor(init.clientCertificate),
      });
    } catch (e) {
      if (causes(e).some((c) => c instanceof AddressRefused)) throw refusal();
      throw e;
    }
  };
  // undici's `request` on the same dispatcher: the same pinned lookup, no redirects (it follows none
  // unless asked), no decompression, and back-pressure on both bodies.
  const stream: OutboundStream = async (url, init) => {
    const target = new URL(url);
    checkLiteral(target);
    try {
      const res = await dispatcherFor(init.clientCertificate).request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: init.method as never,
        headers: { ...init.headers },
        body: init.body ?? null,
        ...(init.signal && { signal: init.signal }),
        headersTimeout: init.headersTimeoutMs,
        bodyTimeout: init.bodyTimeoutMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (e) {
      if (causes(e).some((c) => c instanceof AddressRefused)) throw refusal();
      throw e;
    }
  };
  const close = async () => {
    await Promise.all([...certified.keys()].map(release));
    await dispatcher.close();
  };
  return Object.assign(guarded, { stream, releaseClientCertificate: release, close });
}

function causes(e: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c = e; c !== undefined && c !== null && out.length < 5; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}
