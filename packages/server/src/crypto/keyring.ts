import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';

/**
 * Encryption at rest: JWE compact, `dir` + `A256GCM`. The protected header carries
 * - `kid`, so an older key still decrypts after a rotation (the first key encrypts, all decrypt);
 * - `rid`, the identity of the record the value belongs to, checked after decryption, so a
 *   ciphertext copied onto another row is refused rather than served as that row's secret.
 */
export class Keyring {
  readonly #keys: ReadonlyMap<string, Uint8Array>;
  readonly #current: string;

  /** @param keys 32-byte keys, the first one current. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new Error('Keyring needs at least one key');
    const map = new Map<string, Uint8Array>();
    for (const key of keys) {
      if (key.length !== 32) throw new Error('An encryption key must be 32 bytes');
      map.set(keyId(key), key);
    }
    this.#keys = map;
    this.#current = keyId(keys[0]!);
  }

  get currentKeyId(): string {
    return this.#current;
  }

  async seal(plaintext: string, identity: string): Promise<string> {
    return new CompactEncrypt(new TextEncoder().encode(plaintext))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.#current, rid: identity })
      .encrypt(this.#keys.get(this.#current)!);
  }

  async open(jwe: string, identity: string): Promise<string> {
    const { plaintext, protectedHeader } = await compactDecrypt(
      jwe,
      (header) => {
        const key = header.kid === undefined ? undefined : this.#keys.get(header.kid);
        if (!key) throw new Error(`No encryption key with id ${String(header.kid)}`);
        return key;
      },
      { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
    );
    if (protectedHeader.rid !== identity) throw new Error('Ciphertext belongs to another record');
    return new TextDecoder().decode(plaintext);
  }

  /** Whether a value was sealed with an older key and should be re-sealed. */
  isStale(jwe: string): boolean {
    const header = JSON.parse(Buffer.from(jwe.split('.', 1)[0]!, 'base64url').toString('utf8')) as { kid?: string };
    return header.kid !== this.#current;
  }
}

/** A short public fingerprint of a key; never the key. */
export function keyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 12);
}

/** Parses `KEYWAY_ENCRYPTION_KEY`: base64 32-byte keys, comma-separated, current first. */
export function parseEncryptionKeys(value: string): Uint8Array[] {
  const parts = value.split(',').map((p) => p.trim());
  return parts.map((part, i) => {
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(part)) {
      throw new Error(`key ${i + 1} is not base64`);
    }
    const bytes = Buffer.from(part, part.includes('-') || part.includes('_') ? 'base64url' : 'base64');
    if (bytes.length !== 32) throw new Error(`key ${i + 1} decodes to ${bytes.length} bytes, expected 32`);
    return new Uint8Array(bytes);
  });
}
