// A Server-Sent Events parser (the event stream format of the HTML
// standard) fed with the chunks of a response body, so that a stream can
// be read with fetch: anywhere fetch is (browsers, Web Workers, Node 18+),
// with headers (Authorization, Last-Event-ID), the HTTP status of a refusal,
// and a whole network read handed over at once rather than one DOM event
// per record.

/** One dispatched block of the stream. */
export interface SSEMessage {
  /** The `event:` field; "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n"; "" for a block with only an id. */
  data: string;
  /** This block's `id:` field, or undefined when it has none. */
  id: string | undefined;
}

/** The longest event (its data) the parser accepts, in characters. */
export const MAX_EVENT_CHARS = 1 << 20;

/**
 * SSEParser turns text chunks into messages. Unlike an EventSource it also
 * reports a block with an id and no data (the server's mark after the
 * snapshot: the stream position to resume from), with data "".
 */
export class SSEParser {
  private buf = "";
  private bomChecked = false;
  private data: string[] = [];
  private dataChars = 0;
  private event = "";
  private id: string | undefined;
  /** The last `retry:` field, in ms (undefined: none). */
  retry: number | undefined;

  /** Feeds decoded text; returns the messages it completed. Throws on an event over MAX_EVENT_CHARS. */
  push(text: string): SSEMessage[] {
    let s = this.buf + text;
    if (!this.bomChecked && s.length > 0) {
      this.bomChecked = true;
      if (s.charCodeAt(0) === 0xfeff) {
        s = s.slice(1);
      }
    }
    const out: SSEMessage[] = [];
    let start = 0;
    // The next \r, found once and again only when passed: the common stream
    // has none, and searching for it from every line would be quadratic.
    let cr = s.indexOf("\r");
    for (;;) {
      if (cr >= 0 && cr < start) {
        cr = s.indexOf("\r", start);
      }
      const lf = s.indexOf("\n", start);
      const nl = cr < 0 ? lf : lf < 0 || cr < lf ? cr : lf;
      if (nl < 0) {
        break;
      }
      // A \r at the end of the text may be the first half of \r\n: wait.
      if (s.charCodeAt(nl) === 13 && nl + 1 === s.length) {
        break;
      }
      this.line(s.slice(start, nl), out);
      start = nl + (s.charCodeAt(nl) === 13 && s.charCodeAt(nl + 1) === 10 ? 2 : 1);
    }
    this.buf = s.slice(start);
    if (this.buf.length > MAX_EVENT_CHARS) {
      throw new Error(`event stream: a line longer than ${MAX_EVENT_CHARS} characters`);
    }
    return out;
  }

  private line(line: string, out: SSEMessage[]): void {
    if (line === "") {
      if (this.data.length > 0 || this.id !== undefined) {
        out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
      }
      this.data = [];
      this.dataChars = 0;
      this.event = "";
      this.id = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58) {
      return; // ":" a comment: a heartbeat
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) {
      value = value.slice(1);
    }
    switch (field) {
      case "data":
        this.dataChars += value.length;
        if (this.dataChars > MAX_EVENT_CHARS) {
          throw new Error(`event stream: an event longer than ${MAX_EVENT_CHARS} characters`);
        }
        this.data.push(value);
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
        }
        break;
      case "retry":
        if (/^\d+$/.test(value)) {
          this.retry = Number(value);
        }
        break;
    }
  }
}
