// Recording of the persistent-ticket bench: every request as seen on the wire (402, voucher and
// receipt headers), captured at a fetch, and probes timing live calls without touching src.
import {
  decodeVoucherHeader,
  LIVEPAY_RECEIPT_HEADER,
  LIVEPAY_VOUCHER_HEADER,
  type VoucherEnvelope,
} from "@livepay/protocol";

/** One request as seen on the wire. */
export interface Exchange {
  /** The 402 body as sent. */
  prText: string;
  body: unknown;
  voucherHeader: string;
  /** The voucher as sent (its amounts are the SDK's policy choice; the replay re-signs it). */
  voucher: VoucherEnvelope["voucher"];
  receiptHeader: string;
  atSeconds: bigint;
  /** False for warm-up requests: replayed (to keep the ticket states right) but not counted. */
  measured: boolean;
}

/** Times each call of `obj[name]` (sync or async) and reports its span; the object's own property only. */
export function probe<T extends object>(obj: T, name: string, done: (t0: number, t1: number) => void): void {
  const o = obj as Record<string, unknown>;
  const orig = (o[name] as (...a: unknown[]) => unknown).bind(obj);
  o[name] = (...a: unknown[]) => {
    const t0 = performance.now();
    let r: unknown;
    try {
      r = orig(...a);
    } catch (e) {
      done(t0, performance.now());
      throw e;
    }
    if (r instanceof Promise) {
      return r.finally(() => done(t0, performance.now()));
    }
    done(t0, performance.now());
    return r;
  };
}

export function decodeBody(b: unknown): unknown {
  if (typeof b === "string") return JSON.parse(b);
  if (b instanceof Uint8Array) return JSON.parse(new TextDecoder().decode(b));
  if (b instanceof ArrayBuffer) return JSON.parse(new TextDecoder().decode(new Uint8Array(b)));
  return null;
}

/**
 * A fetch that records the livepay exchanges sent through it to `route` (402 then paid retry) and
 * reports the spans spent in those calls (network + the other side, bodies downloaded) to `net`.
 */
export function recordingFetch(
  inner: typeof fetch,
  route: string,
  out: Exchange[],
  measured: () => boolean,
  net: (t0: number, t1: number) => void,
): typeof fetch {
  let pending: { prText: string; body: unknown } | undefined;
  return async (input, init) => {
    const t0 = performance.now();
    const res = await inner(input, init);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const copy = new Response(res.status === 204 ? null : bytes, {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    });
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    // Only the calls to the orchestrator: viem's chain polling shares the global fetch.
    if (url.startsWith(route)) net(t0, performance.now());
    if (url.startsWith(route) && (init?.method ?? "GET").toUpperCase() === "POST") {
      const sent = new Headers(init?.headers).get(LIVEPAY_VOUCHER_HEADER);
      const rh = res.headers.get(LIVEPAY_RECEIPT_HEADER);
      if (res.status === 402) {
        pending = { prText: new TextDecoder().decode(bytes), body: decodeBody(init?.body) };
      } else if (sent && rh && pending) {
        out.push({
          ...pending,
          voucherHeader: sent,
          voucher: decodeVoucherHeader(sent).voucher,
          receiptHeader: rh,
          atSeconds: BigInt(Math.floor(Date.now() / 1000)),
          measured: measured(),
        });
        pending = undefined;
      }
    }
    return copy;
  };
}
