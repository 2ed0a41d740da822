// Basic credentials exchanged for a Bearer token, as Arrow Flight clients expect: the
// `authorization: Basic ...` header on Handshake (pyarrow's authenticate_basic_token) or on any
// call, answered with `authorization: Bearer <token>`; the token then required on every call.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { FlightError } from './error.ts';

/** Checks a username and password; returns the identity to attach to calls, or null to refuse. */
export type BasicAuthValidator = (username: string, password: string) => Promise<string | null> | string | null;

export interface TokenAuthOptions {
  /** How long an issued token stays valid (default one hour). */
  tokenTtlMs?: number;
  /** Upper bound on live tokens; the oldest are dropped beyond it (default 100,000). */
  maxTokens?: number;
}

export interface Authenticated {
  identity: string;
  /** Set when this call presented Basic credentials: the token to send back. */
  issuedToken?: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Compares secrets in time independent of where they differ (and of their lengths). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** A validator for a fixed set of users (from a file or the environment; never built in). */
export function staticUsers(users: ReadonlyMap<string, string>): BasicAuthValidator {
  return (username, password) => {
    const expected = users.get(username);
    // Compare even for an unknown user so that timing does not reveal which usernames exist.
    const ok = secretsEqual(password, expected ?? '\u0000no-such-user');
    return ok && expected !== undefined ? username : null;
  };
}

export class TokenAuthenticator {
  private readonly tokens = new Map<string, { identity: string; expires: number }>();
  private readonly ttl: number;
  private readonly maxTokens: number;

  constructor(
    private readonly validate: BasicAuthValidator,
    options: TokenAuthOptions = {},
  ) {
    this.ttl = options.tokenTtlMs ?? 60 * 60 * 1000;
    this.maxTokens = options.maxTokens ?? 100_000;
  }

  /** Validates Basic credentials and issues a token (128+ random bits). */
  async login(username: string, password: string): Promise<Authenticated> {
    const identity = await this.validate(username, password);
    if (identity === null) throw FlightError.unauthenticated('invalid username or password');
    const token = randomBytes(32).toString('base64url');
    this.evict();
    // Keyed by the token's hash: a lookup's timing then says nothing about the token itself.
    this.tokens.set(digest(token).toString('hex'), { identity, expires: Date.now() + this.ttl });
    return { identity, issuedToken: token };
  }

  private evict(): void {
    const now = Date.now();
    for (const [key, entry] of this.tokens) if (entry.expires <= now) this.tokens.delete(key);
    while (this.tokens.size >= this.maxTokens) {
      const oldest = this.tokens.keys().next().value;
      if (oldest === undefined) break;
      this.tokens.delete(oldest);
    }
  }

  verifyToken(token: string): string {
    const key = digest(token).toString('hex');
    const entry = this.tokens.get(key);
    if (!entry) throw FlightError.unauthenticated('invalid or expired bearer token; authenticate again');
    if (entry.expires <= Date.now()) {
      this.tokens.delete(key);
      throw FlightError.unauthenticated('the bearer token has expired; authenticate again');
    }
    return entry.identity;
  }

  /**
   * Why a call's headers alone fail authentication, or null when they may pass: no credentials,
   * an unknown scheme, a bearer token not issued here. Synchronous, so that a transport can
   * refuse a call before it sets anything up for it; Basic credentials wait for `authenticate`.
   */
  refusal(headers: Metadata): FlightError | null {
    try {
      this.credentials(headers);
      return null;
    } catch (error) {
      return error as FlightError;
    }
  }

  /** Authenticates a call from its headers. */
  async authenticate(headers: Metadata): Promise<Authenticated> {
    const found = this.credentials(headers);
    return 'identity' in found ? found : this.login(found.username, found.password);
  }

  /** A verified bearer token's identity, or Basic credentials still to check; throws on anything else. */
  private credentials(headers: Metadata): Authenticated | { username: string; password: string } {
    const value = headers.get('authorization')[0];
    if (typeof value === 'string') {
      const [scheme, credentials = ''] = value.trim().split(/\s+/, 2);
      if (scheme?.toLowerCase() === 'bearer') return { identity: this.verifyToken(credentials) };
      if (scheme?.toLowerCase() === 'basic') {
        const decoded = Buffer.from(credentials, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) throw FlightError.unauthenticated('malformed Basic credentials: expected base64 of user:password');
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
      }
      throw FlightError.unauthenticated(`unsupported authorization scheme ${JSON.stringify(scheme)}; use Basic or Bearer`);
    }
    // The token of the legacy Handshake payload flow travels in this binary header.
    const legacy = headers.get('auth-token-bin')[0];
    if (legacy !== undefined) return { identity: this.verifyToken(Buffer.from(legacy).toString('utf8')) };
    throw FlightError.unauthenticated('authentication required: send Basic credentials or a Bearer token');
  }
}

export function basicAuthHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
