import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Secrets a caller may present, compared in constant time: each is stored as its SHA-256 digest,
 * so neither a key's content nor its length shows in how long a comparison takes.
 */
export class Credentials {
  readonly #digests: Buffer[];

  constructor(secrets: readonly string[]) {
    this.#digests = secrets.map(digest);
  }

  get size(): number {
    return this.#digests.length;
  }

  /** Which secret `presented` is (its index), or -1. Every secret is compared, match or not. */
  match(presented: string | undefined): number {
    if (presented === undefined) return -1;
    const candidate = digest(presented);
    let matched = -1;
    this.#digests.forEach((secret, index) => {
      if (timingSafeEqual(candidate, secret)) matched = index;
    });
    return matched;
  }

  accepts(presented: string | undefined): boolean {
    return this.match(presented) >= 0;
  }
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** The credential a request carries: `Authorization: Bearer <key>`, or else `X-API-Key: <key>`. */
export function presentedKey(headers: { authorization?: string | undefined; 'x-api-key'?: string | string[] | undefined }): string | undefined {
  const apiKeyHeader = headers['x-api-key'];
  return bearerToken(headers.authorization) ?? (typeof apiKeyHeader === 'string' ? apiKeyHeader.trim() || undefined : undefined);
}
