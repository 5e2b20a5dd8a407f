// The messages between the page (stream.ts) and the stream's Web Worker
// (streamworker.ts). The worker holds the connection (@teamtrack/client's
// TeamWatch): it reads and parses the stream off the page's main thread and
// keeps the newest position of each worker (the newest fix wins, as the
// server's conflation does). It posts the page the workers that changed as
// one transferred Float64Array, columns below, at most every
// BATCH_INTERVAL_MS and only once the page took the last batch ("ack"):
// a page that falls behind gets fewer, larger batches, never a queue. With
// "full" (the page draws trails) every position is posted, in order. So
// the page neither parses JSON nor builds records, and handles each worker
// at most once a batch, whatever the stream's rate. Tokens stay with the
// page: the worker asks for each.

import type { AlertRecord, ConnectionInfo, DeliveryRecord, StatusRecord } from "@teamtrack/client";

/** Columns of a position row; missing numbers are NaN. */
export const COLUMNS = 7;
export const COL_WORKER = 0; // index into the names table
export const COL_LAT = 1;
export const COL_LNG = 2;
export const COL_TIME = 3; // ms since the epoch (NaN: not a time)
export const COL_HEADING = 4;
export const COL_SPEED = 5;
export const COL_ACCURACY = 6;

/** The least time between two batches to the page, ms (a display frame). */
export const BATCH_INTERVAL_MS = 16;

export type ToWorker =
  /** full: post every position rather than each worker's newest (see "full" below). */
  | { type: "start"; baseURL: string; team: string; full: boolean }
  /** The page applied the last batch: the next may come. */
  | { type: "ack" }
  /** Every position (on: the page draws trails) or each worker's newest (off). */
  | { type: "full"; on: boolean }
  | { type: "token"; id: number; token: string | null; renewIn?: number; error?: { message: string; retry: boolean } }
  | { type: "refused"; id: number; retry: boolean; message: string };

export type OtherEvent =
  | { type: "status"; status: StatusRecord }
  | { type: "alert"; alert: AlertRecord }
  | { type: "delivery"; delivery: DeliveryRecord }
  | { type: "reset" };

export type FromWorker =
  /**
   * New names (appended to the table), the positions' rows (each worker's
   * newest, or with full every one in order), the other events in order,
   * and how many position records arrived for it (rows before conflation).
   */
  | { type: "batch"; names: string[]; rows: Float64Array; others: OtherEvent[]; received: number }
  | { type: "state"; info: ConnectionInfo; connections: number }
  | { type: "token"; id: number }
  | { type: "refused"; id: number; status: number; message: string }
  | { type: "expired" };
