// Authentication of the position stream.
//
// At start the page asks the gateway how it authenticates: GET /auth/config
// answers {"mode":"dev"|"jwt"|"none"}. A gateway without that endpoint (404),
// or any failure, means "none".
//
//   none  no token (legacy gateways and services without authentication).
//   dev   the page signs itself in: POST /auth/dev-login as a manager of the
//         team shown, and presents that token. It gets a new one for each
//         team, before the token expires, and when the server refuses it.
//   jwt   the token is the page URL's access_token parameter: a link made for
//         its holder. The page cannot renew it; when there is none, or the
//         server refuses it, the connection indicator says so.
//
// The stream, the replay and the API requests send the token as
// Authorization: Bearer (@teamtrack/client); the export links, which the
// browser follows by itself, carry it as the access_token query parameter.
// Tokens are never logged or shown.

import { errorMessage, jsonObject, TOKEN_PARAM, withToken } from "@teamtrack/client";

export { errorMessage, withToken };

export type AuthMode = "none" | "dev" | "jwt";

const AUTH_CONFIG_URL = "/auth/config";
const DEV_LOGIN_URL = "/auth/dev-login";

/** Requests to the gateway's auth endpoints give up after this long. */
const FETCH_TIMEOUT_MS = 10_000;
/** A dev token is renewed this long before it expires, at most (20 % of its life at most)... */
const RENEW_LEAD_MAX_MS = 5 * 60_000;
/** ...and never sooner than this after it was issued, so a short-lived token cannot make a login loop. */
const RENEW_MIN_MS = 1_000;

/** Clocks this close to the server's (its Date header has whole seconds) are taken as right. */
const CLOCK_TOLERANCE_MS = 2_000;

/** Why the page has no token to present, with a message for the connection indicator. */
export class AuthError extends Error {
  /**
   * @param retry whether trying again (with backoff) may help: a dev login
   * that failed or a dev token the server refused; not a missing or refused
   * jwt token, which only a new link can fix.
   */
  constructor(
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
    this.name = "AuthError";
  }
}

/** What one team's stream presents to the server. */
export interface StreamCredentials {
  readonly mode: AuthMode;
  /** The token for the next connection (null: none). Rejects with an AuthError. */
  token(): Promise<string | null>;
  /**
   * The server refused the token last returned, with status 401 or 403 and
   * its message. Returns the error to report; when it says retry, the next
   * token() gets a new token.
   */
  refused(status: number, message: string): AuthError;
  /** The server ended the stream because the token expired. */
  expired(): void;
  /** Milliseconds until the current token should be replaced; undefined: never. */
  renewIn(): number | undefined;
}

/** How this page authenticates: the mode and, per team, the credentials. */
export interface Auth {
  readonly mode: AuthMode;
  credentials(team: string): StreamCredentials;
}

/**
 * Reads the gateway's auth mode and builds what it needs. It never rejects:
 * whatever goes wrong means mode none (a gateway that requires tokens then
 * refuses the stream, which the indicator shows).
 */
export async function loadAuth(pageSearch: string): Promise<Auth> {
  const mode = await fetchMode();
  switch (mode) {
    case "dev": {
      const subject = devSubject();
      return { mode, credentials: (team) => new DevCredentials(team, subject) };
    }
    case "jwt": {
      const token = new URLSearchParams(pageSearch).get(TOKEN_PARAM);
      return { mode, credentials: (team) => new PageTokenCredentials(team, token || null) };
    }
    case "none":
      return { mode, credentials: () => noCredentials };
  }
}

async function fetchMode(): Promise<AuthMode> {
  try {
    const resp = await fetchWithTimeout(AUTH_CONFIG_URL, { headers: { Accept: "application/json" } });
    if (!resp.ok) {
      // 404: a gateway without authentication. Anything else: do as it did.
      void resp.body?.cancel();
      return "none";
    }
    const v = jsonObject(await resp.text());
    if (v === null) {
      return "none"; // not JSON
    }
    const m = typeof v.mode === "string" ? v.mode.toLowerCase() : "";
    if (m === "dev" || m === "jwt" || m === "none") {
      return m;
    }
    console.warn(`team-tracking-view: ${AUTH_CONFIG_URL} names an unknown auth mode; assuming none`);
    return "none";
  } catch {
    return "none";
  }
}

/** A same-origin fetch, never cached, that gives up after FETCH_TIMEOUT_MS. */
async function fetchWithTimeout(url: string, init: RequestInit): Promise<Response> {
  const ctl = new AbortController();
  const timer = window.setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    return await fetch(url, { cache: "no-store", credentials: "same-origin", ...init, signal: ctl.signal });
  } finally {
    window.clearTimeout(timer);
  }
}

/** Mode none: no token. */
const noCredentials: StreamCredentials = {
  mode: "none",
  token: () => Promise.resolve(null),
  refused: (status, message) => new AuthError(refusalText(status, message, "the server requires a token"), false),
  expired: () => {},
  renewIn: () => undefined,
};

/** Mode jwt: the page URL's access_token, as it is. */
class PageTokenCredentials implements StreamCredentials {
  readonly mode = "jwt";
  private failure: AuthError | null;

  constructor(
    private readonly team: string,
    private readonly pageToken: string | null,
  ) {
    this.failure =
      pageToken === null
        ? new AuthError("Sign-in required: open this page with a link that carries an access_token", false)
        : null;
  }

  token(): Promise<string | null> {
    return this.failure === null ? Promise.resolve(this.pageToken) : Promise.reject(this.failure);
  }

  refused(status: number, message: string): AuthError {
    const what =
      status === 403
        ? `the link's access token does not give access to team ${this.team}`
        : "the link's access token was refused";
    this.failure = new AuthError(refusalText(status, message, what), false);
    return this.failure;
  }

  expired(): void {
    this.failure = new AuthError("The link's access token has expired: open a new link", false);
  }

  renewIn(): number | undefined {
    return undefined;
  }
}

/** Mode dev: a manager token of the team from the gateway's dev login. */
class DevCredentials implements StreamCredentials {
  readonly mode = "dev";
  private current: { token: string; renewAt: number } | null = null;
  /** The login under way: the stream and the history requests that ask meanwhile share it. */
  private pending: Promise<{ token: string; renewAt: number }> | null = null;

  constructor(
    private readonly team: string,
    private readonly subject: string,
  ) {}

  async token(): Promise<string | null> {
    if (this.current !== null && Date.now() < this.current.renewAt) {
      return this.current.token;
    }
    this.current = null;
    if (this.pending === null) {
      const pending = this.login().finally(() => {
        if (this.pending === pending) {
          this.pending = null;
        }
      });
      this.pending = pending;
    }
    const current = await this.pending;
    this.current = current;
    return current.token;
  }

  refused(status: number, message: string): AuthError {
    this.current = null;
    this.pending = null;
    if (status === 403) {
      return new AuthError(refusalText(status, message, `the dev token does not give access to team ${this.team}`), false);
    }
    return new AuthError(refusalText(status, message, "the dev token was refused; signing in again"), true);
  }

  expired(): void {
    this.current = null;
    this.pending = null;
  }

  renewIn(): number | undefined {
    return this.current === null ? undefined : Math.max(0, this.current.renewAt - Date.now());
  }

  private async login(): Promise<{ token: string; renewAt: number }> {
    let resp: Response;
    try {
      resp = await fetchWithTimeout(DEV_LOGIN_URL, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ subject: this.subject, role: "manager", teams: [this.team] }),
      });
    } catch {
      throw new AuthError("Dev sign-in failed: the gateway did not answer", true);
    }
    if (!resp.ok) {
      const message = await errorMessage(resp);
      // 400: the request itself is wrong, and will stay so.
      throw new AuthError(
        `Dev sign-in failed (${resp.status}${message ? `: ${message}` : ""})`,
        resp.status !== 400,
      );
    }
    let token: unknown;
    let expiresAt: unknown;
    try {
      ({ token, expiresAt } = (await resp.json()) as { token?: unknown; expiresAt?: unknown });
    } catch {
      throw new AuthError("Dev sign-in failed: unreadable answer", true);
    }
    const expires = typeof expiresAt === "string" ? Date.parse(expiresAt) : NaN;
    if (typeof token !== "string" || token === "" || Number.isNaN(expires)) {
      throw new AuthError("Dev sign-in failed: the answer has no token or expiresAt", true);
    }
    // The token's life by the server's clock (its Date header), so that a
    // browser clock that is off does not make the page renew too early or
    // too late. The header has whole seconds: within that, trust our clock.
    const now = Date.now();
    const serverNow = Date.parse(resp.headers.get("Date") ?? "");
    const skewed = !Number.isNaN(serverNow) && Math.abs(serverNow - now) > CLOCK_TOLERANCE_MS;
    const life = expires - (skewed ? serverNow : now);
    const lead = Math.min(RENEW_LEAD_MAX_MS, life * 0.2);
    return { token, renewAt: now + Math.max(RENEW_MIN_MS, life - lead) };
  }
}

function refusalText(status: number, message: string, what: string): string {
  const head = status === 403 ? "Access denied" : "Not signed in";
  return `${head}: ${what}${message ? ` (${status}: ${message})` : ` (${status})`}`;
}

/** A subject for this page's dev logins: view-<12 random hex digits>. */
function devSubject(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return `view-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
