import type { Keyring } from '../crypto/keyring.ts';
import type { Connection, Credentials, FlowState, Integration } from './types.ts';

/**
 * How records look at rest: every secret (client secret, credentials, PKCE verifier) is a JWE
 * bound to the record's identity. Any adapter (JSON file now, PostgreSQL later) stores these.
 */
export type StoredIntegration = Omit<Integration, 'client_secret'> & { readonly client_secret: string };
export type StoredConnection = Omit<Connection, 'credentials'> & { readonly credentials: string };
export type StoredFlow = Omit<FlowState, 'code_verifier'> & { readonly code_verifier: string | null };

const integrationIdentity = (i: { unique_key: string }) => JSON.stringify(['integration', i.unique_key]);
// Its own identity: a sealed client secret cannot be passed off as the private key, or the reverse.
const privateKeyIdentity = (i: { unique_key: string }) => JSON.stringify(['integration', i.unique_key, 'client_private_key']);
const connectionIdentity = (c: { provider_config_key: string; connection_id: string }) =>
  JSON.stringify(['connection', c.provider_config_key, c.connection_id]);
const flowIdentity = (f: { state_hash: string }) => JSON.stringify(['flow', f.state_hash]);

export class RecordCodec {
  constructor(private readonly keyring: Keyring) {}

  async sealIntegration(i: Integration): Promise<StoredIntegration> {
    const cert = i.client_certificate;
    return {
      ...i,
      client_secret: await this.keyring.seal(i.client_secret, integrationIdentity(i)),
      ...(cert && { client_certificate: { certificate: cert.certificate, private_key: await this.keyring.seal(cert.private_key, privateKeyIdentity(i)) } }),
    };
  }
  async openIntegration(s: StoredIntegration): Promise<Integration> {
    const cert = s.client_certificate;
    return {
      ...s,
      client_secret: await this.keyring.open(s.client_secret, integrationIdentity(s)),
      ...(cert && { client_certificate: { certificate: cert.certificate, private_key: await this.keyring.open(cert.private_key, privateKeyIdentity(s)) } }),
    };
  }

  async sealConnection(c: Connection): Promise<StoredConnection> {
    return { ...c, credentials: await this.keyring.seal(JSON.stringify(c.credentials), connectionIdentity(c)) };
  }
  async openConnection(s: StoredConnection): Promise<Connection> {
    const credentials = JSON.parse(await this.keyring.open(s.credentials, connectionIdentity(s))) as Credentials;
    // Fields added after the first release default here, so older files load unchanged.
    return { ...s, end_user: s.end_user ?? null, last_refresh_failure: s.last_refresh_failure ?? null, credentials };
  }

  async sealFlow(f: FlowState): Promise<StoredFlow> {
    return { ...f, code_verifier: f.code_verifier === null ? null : await this.keyring.seal(f.code_verifier, flowIdentity(f)) };
  }
  async openFlow(s: StoredFlow): Promise<FlowState> {
    return { ...s, code_verifier: s.code_verifier === null ? null : await this.keyring.open(s.code_verifier, flowIdentity(s)) };
  }
}
