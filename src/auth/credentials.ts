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

  /** True when `presented` is one of the secrets. Every secret is compared, match or not. */
  accepts(presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const candidate = digest(presented);
    let matched = false;
    for (const secret of this.#digests) matched = timingSafeEqual(candidate, secret) || matched;
    return matched;
  }
}

/** The token of an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}
