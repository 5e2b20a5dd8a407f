// How a connection presents its token, and what it does when the server
// refuses it. Tokens are never logged or put in messages.

/** The query parameter that carries a token where headers cannot (WebSocket, links). */
export const TOKEN_PARAM = "access_token";

/** What the server's refusal means for the next attempt. */
export interface Refusal {
  /** Whether another attempt (with a new token, after backoff) may succeed. */
  retry: boolean;
  /** What to tell the user. */
  message: string;
}

/**
 * TokenSource gives each connection its token. A plain string (or null)
 * may be passed wherever a TokenSource is taken.
 */
export interface TokenSource {
  /**
   * The token for the next connection; null: none. It may reject: the
   * attempt fails, and is retried unless the error has retry: false.
   */
  token(): Promise<string | null> | string | null;
  /**
   * The server refused the last token with 401 or 403 and this message.
   * Default: not retried (a fixed token does not get better).
   */
  refused?(status: number, message: string): Refusal | Promise<Refusal>;
  /** The server ended a connection because its token expired: the next token() should be a new one. */
  expired?(): void;
  /** Milliseconds until the current token should be replaced (the stream reconnects then); undefined: never. */
  renewIn?(): number | undefined;
}

export type Auth = TokenSource | string | null | undefined;

/** The TokenSource of auth. */
export function tokenSource(auth: Auth): TokenSource {
  if (auth === null || auth === undefined || typeof auth === "string") {
    const token = auth || null;
    return { token: () => token };
  }
  return auth;
}

/** The default answer to a refusal. */
export function defaultRefusal(status: number, message: string): Refusal {
  const what = status === 403 ? "Access denied" : "Not authorised";
  return { retry: false, message: `${what} (${status})${message ? `: ${message}` : ""}` };
}

/** url with the token as its access_token parameter (unchanged for null). */
export function withToken(url: string, token: string | null): string {
  if (token === null) {
    return url;
  }
  return `${url}${url.includes("?") ? "&" : "?"}${TOKEN_PARAM}=${encodeURIComponent(token)}`;
}
