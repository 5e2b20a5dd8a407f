// Unit tests of the parts with no network: run with `node --test` on the
// compiled file (TestClientUnit in ../../client_examples_test.go does).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Backoff,
  SSEParser,
  conflate,
  durationMs,
  fieldOf,
  positionRecord,
  toDelivery,
  toPosition,
  toStatus,
  withToken,
  type SSEMessage,
  type StreamEvent,
} from "@teamtrack/client";

/** All messages of text fed to a parser in pieces of size n. */
function parse(text: string, n: number): SSEMessage[] {
  const p = new SSEParser();
  const out: SSEMessage[] = [];
  for (let i = 0; i < text.length; i += n) {
    out.push(...p.push(text.slice(i, i + n)));
  }
  return out;
}

test("SSEParser: every line ending, every split, the same messages", () => {
  const stream =
    "\ufeffretry: 2000\n\n: hb\n" +
    "data: {\"a\":1}\n\n" +
    "id: m-0\r\n\r\n" +
    "event: status\rid: e-1\rdata: x\rdata:y\r\r" +
    "data\n\n" +
    "event: reset\ndata: {}\n\n" +
    "id: bad\0id\ndata: z\n\n";
  const want: SSEMessage[] = [
    { event: "message", data: "{\"a\":1}", id: undefined },
    { event: "message", data: "", id: "m-0" },
    { event: "status", data: "x\ny", id: "e-1" },
    { event: "message", data: "", id: undefined },
    { event: "reset", data: "{}", id: undefined },
    { event: "message", data: "z", id: undefined },
  ];
  for (const n of [1, 2, 3, 7, stream.length]) {
    assert.deepEqual(parse(stream, n), want, `pieces of ${n}`);
  }
  const p = new SSEParser();
  p.push("retry: 1500\n\n");
  assert.equal(p.retry, 1500);
});

test("SSEParser: a line without end stays buffered; an endless one is an error", () => {
  const p = new SSEParser();
  assert.deepEqual(p.push("data: 1"), []);
  assert.deepEqual(p.push("\n\n"), [{ event: "message", data: "1", id: undefined }]);
  assert.throws(() => p.push("data: " + "x".repeat(1 << 20)), /longer than/);
});

test("toPosition: legacy strings, ranges, bad records", () => {
  const p = toPosition({ id: "1", workerId: "w-1", team: "t", location: { latitude: "-23.5", longitude: 46.6 }, timeStamp: "2026-12-03T10:00:00Z", heading: 400, speed: "1.5", battery: 87, late: true });
  assert.deepEqual(p, { id: "1", workerId: "w-1", team: "t", location: { latitude: -23.5, longitude: 46.6 }, timeStamp: "2026-12-03T10:00:00Z", speed: 1.5, battery: 87, late: true });
  assert.equal(toPosition({ workerId: "w 1", location: { latitude: 1, longitude: 1 } }), null, "a bad worker id");
  assert.equal(toPosition({ workerId: "w", location: { latitude: 91, longitude: 1 } }), null, "latitude out of range");
  assert.equal(toPosition({ workerId: "w", location: { latitude: "", longitude: 1 } }), null, "an empty string is no number");
  assert.equal(toPosition([]), null);
});

test("toStatus and toDelivery check their members", () => {
  assert.deepEqual(toStatus({ workerId: "w", team: "t", status: "offline", reason: "silent", since: "s" }), { workerId: "w", team: "t", status: "offline", reason: "silent", since: "s" });
  assert.equal(toStatus({ workerId: "w", status: "away" }), null);
  assert.deepEqual(toDelivery({ messageId: "m", workerId: "w", team: "t", state: "acked", at: "a" }), { messageId: "m", workerId: "w", team: "t", state: "acked", at: "a" });
  assert.equal(toDelivery({ messageId: "m", workerId: "w", state: "lost" }), null);
});

test("positionRecord fills id and time, and refuses bad input", () => {
  const r = positionRecord({ workerId: "w-1", team: "t", latitude: 1, longitude: 2, speed: 3, time: 0 });
  assert.ok(typeof r.id === "string" && /^[0-9a-f]{32}$/.test(r.id));
  assert.deepEqual({ ...r, id: "" }, { id: "", workerId: "w-1", team: "t", location: { latitude: 1, longitude: 2 }, timeStamp: "1970-01-01T00:00:00.000Z", speed: 3 });
  assert.throws(() => positionRecord({ workerId: "w 1", team: "t", latitude: 1, longitude: 2 }), /workerId and team/);
  assert.throws(() => positionRecord({ workerId: "w", team: "t", latitude: 100, longitude: 2 }), /latitude/);
  assert.throws(() => positionRecord({ workerId: "w", team: "t", latitude: 1, longitude: 2, time: "yesterday" }), /not a time/);
});

test("conflate keeps each worker's last position and every other event, in order", () => {
  const pos = (w: string, lat: number): StreamEvent => ({ type: "position", position: { id: "", workerId: w, team: "t", location: { latitude: lat, longitude: 0 }, timeStamp: "" } });
  const status: StreamEvent = { type: "status", status: { workerId: "a", team: "t", status: "online", since: "" } };
  const got = conflate([pos("a", 1), pos("b", 1), status, pos("a", 2)]);
  assert.deepEqual(got, [pos("b", 1), status, pos("a", 2)]);
});

test("Backoff: the first wait within [0, min), then doubling within its upper half, capped", () => {
  const b = new Backoff({ minMs: 100, maxMs: 1000 });
  for (let i = 0; i < 200; i++) {
    const d0 = b.delay(0);
    const d3 = b.delay(3);
    const d9 = b.delay(9);
    assert.ok(d0 >= 0 && d0 < 100, `delay(0) ${d0}`);
    assert.ok(d3 >= 200 && d3 <= 400, `delay(3) ${d3}`);
    assert.ok(d9 >= 500 && d9 <= 1000, `delay(9) ${d9}`);
  }
  assert.throws(() => new Backoff({ minMs: -1 }), /minMs/);
});

test("durationMs, fieldOf, withToken", () => {
  assert.equal(durationMs("1s"), 1000);
  assert.equal(durationMs("1m30s"), 90_000);
  assert.equal(durationMs("250ms"), 250);
  assert.ok(Number.isNaN(durationMs("soon")));
  assert.ok(Number.isNaN(durationMs("1s and more")));
  assert.equal(fieldOf("geometry.coordinates[0][3]: must be a number"), "geometry.coordinates[0][3]");
  assert.equal(fieldOf("must be a number"), "");
  assert.equal(withToken("/a?b=1", "t k"), "/a?b=1&access_token=t%20k");
  assert.equal(withToken("/a", null), "/a");
});
