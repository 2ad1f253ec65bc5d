import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type TokenHandler = (req: IncomingMessage, body: URLSearchParams, res: ServerResponse) => void;

/**
 * A stand-in provider token endpoint on 127.0.0.1 whose answer each test chooses (500, HTML,
 * silence, a valid token). Only for the failure paths; the happy path runs against the sandbox.
 */
export async function startFakeProvider(): Promise<{ url: string; requests: { headers: IncomingMessage['headers']; body: URLSearchParams }[]; onToken: (h: TokenHandler) => void; close(): Promise<void> }> {
  let handler: TokenHandler = (_req, _body, res) => res.writeHead(500).end();
  const requests: { headers: IncomingMessage['headers']; body: URLSearchParams }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = new URLSearchParams(Buffer.concat(chunks).toString());
      requests.push({ headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    onToken: (h) => (handler = h),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
