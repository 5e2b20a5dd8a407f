// The messages between the page (stream.ts) and the stream's Web Worker
// (streamworker.ts). The worker holds the connection (@teamtrack/client's
// TeamWatch): it reads and parses the stream off the page's main thread and
// posts each network read's positions as one transferred Float64Array,
// columns below, so the page neither parses JSON nor builds records for
// them. Tokens stay with the page: the worker asks for each.

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

export type ToWorker =
  | { type: "start"; baseURL: string; team: string }
  | { type: "token"; id: number; token: string | null; renewIn?: number; error?: { message: string; retry: boolean } }
  | { type: "refused"; id: number; retry: boolean; message: string };

export type OtherEvent =
  | { type: "status"; status: StatusRecord }
  | { type: "alert"; alert: AlertRecord }
  | { type: "delivery"; delivery: DeliveryRecord }
  | { type: "reset" };

export type FromWorker =
  /** One network read: new names (appended to the table), the positions' rows, then the other events in order. */
  | { type: "batch"; names: string[]; rows: Float64Array; others: OtherEvent[] }
  | { type: "state"; info: ConnectionInfo; connections: number }
  | { type: "token"; id: number }
  | { type: "refused"; id: number; status: number; message: string }
  | { type: "expired" };
