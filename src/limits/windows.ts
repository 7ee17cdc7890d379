/**
 * The fixed UTC windows of SPEC §10 — calendar second, minute and month — on an injected clock
 * (milliseconds since the epoch), so tests can straddle a boundary. Each window has an id (part of
 * the counter key: a new window is a new counter) and the milliseconds until it ends (the counter's
 * TTL, and the `Retry-After` of a refusal).
 */

export interface Window {
  /** Distinguishes this window from every other of its kind, e.g. `2026-11` for a month. */
  readonly id: string;
  /** Milliseconds from `now` to the window's end (at least 1). */
  readonly remainingMs: number;
}

/** operations.md "Global capacity": requests per second (a UTC calendar second). */
export function secondWindow(now: number): Window {
  const second = Math.floor(now / 1000);
  return { id: String(second), remainingMs: Math.max(1, (second + 1) * 1000 - now) };
}

/** operations.md "Window: fixed calendar minute (resets at hh:mm:00.000)". */
export function minuteWindow(now: number): Window {
  const minute = Math.floor(now / 60_000);
  return { id: String(minute), remainingMs: Math.max(1, (minute + 1) * 60_000 - now) };
}

/** operations.md "Monthly call limits": per UTC calendar month. */
export function monthWindow(now: number): Window {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  const end = Date.UTC(year, month + 1, 1);
  return { id: `${year}-${String(month + 1).padStart(2, '0')}`, remainingMs: Math.max(1, end - now) };
}

/** `Retry-After` (RFC 9110 §10.2.3, whole seconds): the window's end, rounded up. */
export function retryAfterSeconds(window: Window): number {
  return Math.max(1, Math.ceil(window.remainingMs / 1000));
}
