import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeywayError } from '../src/errors.ts';
import { createOutboundFetch, isPublicAddress, type HostResolver } from '../src/http/outbound.ts';

/** A "provider" on 127.0.0.1 that counts every TCP connection made to it. */
let server: Server;
let port = 0;
let sockets = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
    else res.end('ok');
  });
  server.on('connection', () => sockets++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A resolver stub: the public-looking name answers whatever the test says. */
const answering = (...addresses: string[]): HostResolver & { calls: number } => {
  const stub = Object.assign(async () => {
    stub.calls++;
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  }, { calls: 0 });
  return stub;
};

const refusedWith = async (p: Promise<unknown>, code: string) => {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(KeywayError);
  expect((e as KeywayError).code).toBe(code);
};

describe('outbound requests (SSRF guard)', () => {
  it.each(['127.0.0.1', '10.0.0.1', '::ffff:127.0.0.1'])('refuses a public-looking name that resolves to %s, without opening a socket', async (address) => {
    const resolve = answering(address);
    const before = sockets;
    await refusedWith(createOutboundFetch({ allowPrivateNetwork: false, resolve })(`http://api.looks-public.example:${port}/token`, {}), 'private_address_refused');
    expect(resolve.calls).toBe(1);
    expect(sockets).toBe(before);
  });

  it('refuses when any one of the addresses is private (every resolved address is checked)', async () => {
    const before = sockets;
    await refusedWith(createOutboundFetch({ allowPrivateNetwork: false, resolve: answering('93.184.216.34', '127.0.0.1') })(`http://api.looks-public.example:${port}/`, {}), 'private_address_refused');
    expect(sockets).toBe(before);
  });

  it('refuses an IP literal in the URL (no lookup happens for it)', async () => {
    const before = sockets;
    await refusedWith(createOutboundFetch({ allowPrivateNetwork: false })(`http://127.0.0.1:${port}/`, {}), 'private_address_refused');
    await refusedWith(createOutboundFetch({ allowPrivateNetwork: false })(`http://[::ffff:7f00:1]:${port}/`, {}), 'private_address_refused');
    expect(sockets).toBe(before);
  });

  it('connects to the address it checked, once the operator allows private targets', async () => {
    const resolve = answering('127.0.0.1');
    const before = sockets;
    const res = await createOutboundFetch({ allowPrivateNetwork: true, resolve })(`http://api.looks-public.example:${port}/token`, {});
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    expect(sockets).toBe(before + 1);
    expect(resolve.calls).toBe(1);
  });

  it('never follows a redirect', async () => {
    const get = createOutboundFetch({ allowPrivateNetwork: true, resolve: answering('127.0.0.1') });
    const res = await get(`http://api.looks-public.example:${port}/redirect`, {});
    expect(res.status).toBe(302);
    await expect(get(`http://api.looks-public.example:${port}/redirect`, { redirect: 'error' })).rejects.toThrow(TypeError);
  });

  it('streams (the proxy) under the same rules: refused addresses, the checked address pinned, no redirect followed', async () => {
    const stream = (allow: boolean, resolve: HostResolver) => (url: string) =>
      createOutboundFetch({ allowPrivateNetwork: allow, resolve }).stream(url, { method: 'GET', headers: {}, headersTimeoutMs: 2000, bodyTimeoutMs: 2000 });
    const before = sockets;
    await refusedWith(stream(false, answering('93.184.216.34', '127.0.0.1'))(`http://api.looks-public.example:${port}/`), 'private_address_refused');
    await refusedWith(stream(false, answering('8.8.8.8'))(`http://127.0.0.1:${port}/`), 'private_address_refused');
    expect(sockets).toBe(before);
    const resolve = answering('127.0.0.1');
    const res = await stream(true, resolve)(`http://api.looks-public.example:${port}/redirect`);
    expect([res.status, res.headers.location, resolve.calls]).toEqual([302, `http://127.0.0.1:${port}/target`, 1]);
    res.body.resume();
  });

  it('classifies addresses, including IPv4 hidden in IPv6', () => {
    const refused = ['0.0.0.0', '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '224.0.0.1', '255.255.255.255',
      '::', '::1', 'fe80::1', 'fe80::1%eth0', 'fd00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::127.0.0.1', '64:ff9b::10.0.0.1', '64:ff9b::7f00:1', '64:ff9b:1::1', 'not-an-ip'];
    const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'];
    expect(refused.filter(isPublicAddress)).toEqual([]);
    expect(allowed.filter((a) => !isPublicAddress(a))).toEqual([]);
  });
});
