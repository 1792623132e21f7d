import { timingSafeEqual } from "node:crypto";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import { AmountError, parseAmount } from "../config/amount.js";
import type { ApiKey, SpendingCaps } from "../store/apiKeys.js";
import { isStoreError } from "../store/errors.js";
import type { Store } from "../store/openStore.js";
import type { GatewayChainView } from "./chainView.js";
import type { GatewayConfig } from "./config.js";
import { GatewayError, invalidRequest } from "./errors.js";
import type { JobExecutor, StreamSink } from "./executor.js";
import { FORM_ROUTES, JSON_ROUTES, type Job } from "./jobs.js";
import type { GatewayMetrics } from "./metrics.js";
import type { OrchestratorPool } from "./orchestratorPool.js";
import { PERSISTENT_FORM_ROUTES, type PersistentGateway } from "./persistentGateway.js";

export interface AppDeps {
  config: GatewayConfig;
  store: Store;
  executor: JobExecutor;
  pool: OrchestratorPool;
  chain: GatewayChainView;
  metrics: GatewayMetrics;
  log: Logger;
  /** Persistent tickets (`config.persistent.mode` "gateway" or "relay"). */
  persistent?: PersistentGateway;
}

/** Largest request body (images and audio are uploaded inline). */
const BODY_LIMIT = 64 << 20;
const MAX_IDEMPOTENCY_KEY = 255;

/** A stored idempotent response. */
interface StoredResponse {
  status: number;
  contentType: string;
  /** base64 */
  body: string;
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function caps(body: Record<string, unknown>): SpendingCaps {
  const out: SpendingCaps = {};
  const amount = (v: unknown, field: string) => {
    try {
      return parseAmount(String(v));
    } catch (e) {
      if (e instanceof AmountError) throw invalidRequest(`${field}: ${e.message}`);
      throw e;
    }
  };
  if (body.capPerRequest !== undefined) out.perRequestWei = amount(body.capPerRequest, "capPerRequest");
  if (body.capPerDay !== undefined) out.perDayWei = amount(body.capPerDay, "capPerDay");
  return out;
}

function keyJson(k: ApiKey): Record<string, unknown> {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    granted_wei: k.grantedWei.toString(),
    available_wei: k.availableWei.toString(),
    reserved_wei: k.reservedWei.toString(),
    spent_wei: k.spentWei.toString(),
    caps: {
      per_request_wei: k.caps.perRequestWei?.toString() ?? null,
      per_day_wei: k.caps.perDayWei?.toString() ?? null,
    },
    disabled: k.disabled,
    created_at: k.createdAt,
  };
}

/**
 * The gateway's HTTP API on fastify: the OpenAI-compatible `/v1` routes and the Livepeer AI routes
 * (authenticated with `Authorization: Bearer <api key>`, paid per request), `/v1/models`,
 * `/v1/account`, the admin routes (`Authorization: Bearer <admin token>`), `/metrics` and `/healthz`.
 * Every error body is OpenAI-style `{"error": {"message", "type", "code"}}`.
 *
 * @example const app = buildGatewayApp(deps); await app.listen({ port: 0 })
 */
export function buildGatewayApp(d: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: d.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;

  app.addContentTypeParser(
    "multipart/form-data",
    { parseAs: "buffer", bodyLimit: BODY_LIMIT },
    (_req, body, done) => {
      done(null, body);
    },
  );

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof GatewayError) {
      d.metrics.requests.inc({ pipeline: routePipeline(req), status: String(err.status) });
      return reply.code(err.status).send(err.body());
    }
    const e = err as { statusCode?: number; message?: string; code?: string };
    if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({
        error: {
          message: e.message ?? "bad request",
          type: "invalid_request_error",
          code: "invalid_request",
        },
      });
    }
    d.log.error({ err }, "unexpected error");
    return reply.code(500).send(new GatewayError("internal_error", "internal error").body());
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({
      error: {
        message: `no route ${req.method} ${req.url}`,
        type: "invalid_request_error",
        code: "not_found",
      },
    });
  });

  async function authenticate(req: FastifyRequest): Promise<ApiKey> {
    const token = bearer(req);
    if (token === undefined) {
      throw new GatewayError("missing_api_key", "missing API key: send Authorization: Bearer <api key>");
    }
    const key = await d.store.apiKeys.lookup(token);
    if (!key) throw new GatewayError("invalid_api_key", "invalid API key");
    if (key.disabled) throw new GatewayError("api_key_disabled", "this API key is disabled");
    return key;
  }

  function admin(req: FastifyRequest): void {
    const token = bearer(req);
    if (d.config.adminToken === undefined || token === undefined || !sameToken(token, d.config.adminToken)) {
      throw new GatewayError("admin_unauthorized", "admin token required");
    }
  }

  async function serve(
    route: string,
    req: FastifyRequest,
    reply: FastifyReply,
    buildJob: () => Promise<Job>,
  ) {
    const started = performance.now();
    const key = await authenticate(req);
    const job = await buildJob();
    // Persistent tickets: quotes and receipts identify each request (no Idempotency-Key handling).
    const persistent = d.persistent?.accepts(route, req) === true ? d.persistent : undefined;
    const idemHeader = req.headers["idempotency-key"];
    const idemKey = typeof idemHeader === "string" && idemHeader !== "" ? idemHeader : undefined;
    if (idemKey !== undefined && idemKey.length > MAX_IDEMPOTENCY_KEY) {
      throw invalidRequest(`Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY} characters`);
    }
    if (idemKey !== undefined && persistent === undefined) {
      let begun;
      try {
        begun = await d.store.idempotency.begin(key.id, idemKey, job.fingerprint);
      } catch (e) {
        if (isStoreError(e, "IDEMPOTENCY_CONFLICT")) {
          throw new GatewayError(
            "idempotency_conflict",
            "this Idempotency-Key was already used with a different request",
          );
        }
        throw e;
      }
      if (begun.state === "in_progress") {
        throw new GatewayError(
          "idempotency_in_progress",
          "a request with this Idempotency-Key is still in progress; retry later",
        );
      }
      if (begun.state === "completed") {
        const r = JSON.parse(begun.response) as StoredResponse;
        d.metrics.requests.inc({ pipeline: job.pipeline, status: String(r.status) });
        return reply
          .code(r.status)
          .header("content-type", r.contentType)
          .header("idempotent-replayed", "true")
          .send(Buffer.from(r.body, "base64"));
      }
    }

    const client = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) client.abort();
    });
    const signal = AbortSignal.any([client.signal, AbortSignal.timeout(d.config.requestTimeoutMs)]);
    let hijacked = false;
    const sink: StreamSink | undefined = job.stream
      ? {
          start() {
            reply.hijack();
            hijacked = true;
            reply.raw.writeHead(200, {
              "content-type": "text/event-stream; charset=utf-8",
              "cache-control": "no-cache",
              connection: "keep-alive",
              "x-accel-buffering": "no",
            });
          },
          write(t) {
            reply.raw.write(t);
          },
          end() {
            reply.raw.end();
          },
          get closed() {
            return client.signal.aborted || reply.raw.destroyed;
          },
        }
      : undefined;

    try {
      if (persistent !== undefined) {
        const r = await persistent.serve(route, req, reply, key, job, sink, signal);
        d.metrics.requests.inc({
          pipeline: job.pipeline,
          status: String(r === undefined ? reply.statusCode : 200),
        });
        if (r === undefined || r.kind === "streamed") return reply;
        return reply.code(r.status).header("content-type", r.contentType).send(r.body);
      }
      const result = await d.executor.execute(job, key, sink, signal);
      const stored: StoredResponse =
        result.kind === "buffered"
          ? { status: result.status, contentType: result.contentType, body: result.body.toString("base64") }
          : {
              status: 200,
              contentType: "text/event-stream; charset=utf-8",
              body: Buffer.from(result.text).toString("base64"),
            };
      if (idemKey !== undefined) await d.store.idempotency.complete(key.id, idemKey, JSON.stringify(stored));
      d.metrics.requests.inc({ pipeline: job.pipeline, status: "200" });
      d.metrics.requestSeconds.observe({ pipeline: job.pipeline }, (performance.now() - started) / 1000);
      if (result.kind === "buffered")
        return reply.code(result.status).header("content-type", result.contentType).send(result.body);
      return reply;
    } catch (e) {
      // Nothing was charged when execute throws: let the client retry with the same key.
      if (idemKey !== undefined && persistent === undefined)
        await d.store.idempotency.abandon(key.id, idemKey).catch(() => undefined);
      if (hijacked) {
        d.log.error({ err: e }, "request failed after the response started");
        if (!reply.raw.writableEnded) reply.raw.end();
        return reply;
      }
      throw e;
    }
  }

  for (const [route, build] of Object.entries(JSON_ROUTES)) {
    app.post(route, (req, reply) =>
      serve(route, req, reply, async () => {
        if (Buffer.isBuffer(req.body)) throw invalidRequest(`${route} takes a JSON body`);
        return build(route, req.body);
      }),
    );
  }
  async function formOf(route: string, req: FastifyRequest): Promise<FormData> {
    if (!Buffer.isBuffer(req.body)) throw invalidRequest(`${route} takes a multipart/form-data body`);
    try {
      return await new Response(new Uint8Array(req.body), {
        headers: { "content-type": String(req.headers["content-type"]) },
      }).formData();
    } catch {
      throw invalidRequest("malformed multipart/form-data body");
    }
  }
  for (const [route, build] of Object.entries(FORM_ROUTES)) {
    app.post(route, (req, reply) =>
      serve(route, req, reply, async () => build(route, await formOf(route, req))),
    );
  }
  // Routes with no Livepeer-ticket path here: answered only when the request goes the persistent way.
  for (const [route, build] of Object.entries(PERSISTENT_FORM_ROUTES)) {
    app.post(route, (req, reply) =>
      serve(route, req, reply, async () => {
        if (d.persistent?.accepts(route, req) !== true) {
          throw invalidRequest(
            d.config.persistent.mode === "relay"
              ? `${route} is paid with persistent tickets only: send Livepay-Payer and a voucher (createPayer)`
              : `${route} is paid with persistent tickets only, which this gateway does not use`,
          );
        }
        return build(route, await formOf(route, req));
      }),
    );
  }

  d.persistent?.register(app);

  app.get("/v1/models", async (req) => {
    await authenticate(req);
    return {
      object: "list",
      data: [...d.pool.models()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([id, pipelines]) => ({
          id,
          object: "model",
          created: 0,
          owned_by: "livepeer",
          pipelines: [...pipelines].sort(),
        })),
    };
  });
  app.get<{ Params: { model: string } }>("/v1/models/*", async (req) => {
    await authenticate(req);
    const id = (req.params as Record<string, string>)["*"]!;
    const pipelines = d.pool.models().get(id);
    if (!pipelines) throw new GatewayError("model_not_found", `model "${id}" is not offered`);
    return { id, object: "model", created: 0, owned_by: "livepeer", pipelines: [...pipelines].sort() };
  });

  app.get("/v1/account", async (req) => {
    const key = await authenticate(req);
    const usage = await d.store.usage.listByKey(key.id, { limit: 20 });
    return {
      ...keyJson(key),
      usage: usage.map((u) => ({
        request_id: u.requestId,
        pipeline: u.pipeline,
        model: u.model,
        units: u.units.toString(),
        fee_wei: u.feeWei.toString(),
        orchestrator: u.orchestrator ?? null,
        tickets_sent: u.ticketsSent,
        ev_sent_wei: u.evSent.toFixed(6),
        status: u.status,
        created_at: u.createdAt,
      })),
    };
  });

  app.post("/admin/keys", async (req, reply) => {
    admin(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const name = typeof body.name === "string" && body.name !== "" ? body.name : "api key";
    let credit: bigint;
    try {
      credit = parseAmount(String(body.credit ?? "0"));
    } catch (e) {
      throw invalidRequest(`credit: ${(e as Error).message}`);
    }
    const { key, apiKey } = await d.store.apiKeys.create(name, credit, caps(body));
    return reply.code(201).send({ key, ...keyJson(apiKey) });
  });
  app.get("/admin/keys", async (req) => {
    admin(req);
    return { data: (await d.store.apiKeys.list()).map(keyJson) };
  });
  app.post<{ Params: { id: string } }>("/admin/keys/:id/credit", async (req) => {
    admin(req);
    const body = (req.body ?? {}) as Record<string, unknown>;
    let amount: bigint;
    try {
      amount = parseAmount(String(body.amount ?? ""));
    } catch (e) {
      throw invalidRequest(`amount: ${(e as Error).message}`);
    }
    try {
      return keyJson(await d.store.apiKeys.addCredit(req.params.id, amount));
    } catch (e) {
      if (isStoreError(e, "KEY_NOT_FOUND"))
        throw new GatewayError("invalid_request", "no such key", undefined, 404);
      throw e;
    }
  });
  app.get("/admin/orchestrators", async (req) => {
    admin(req);
    return {
      data: d.pool.all().map((s) => ({
        uri: s.uri,
        stake: s.stake.toString(),
        up: s.info !== undefined && d.pool.isUp(s),
        models: Object.fromEntries([...s.models].map(([p, ms]) => [p, [...ms]])),
        latency_ms: s.latencyMs ?? null,
        success_rate: s.successRate,
        last_error: s.lastError ?? null,
      })),
    };
  });

  app.get("/metrics", async (_req, reply) => {
    return reply
      .header("content-type", d.metrics.registry.contentType)
      .send(await d.metrics.registry.metrics());
  });
  app.get("/healthz", async () => ({
    ok: true,
    orchestrators: d.pool.all().filter((s) => s.info !== undefined && d.pool.isUp(s)).length,
    l1_block: d.chain.lastSeenL1Block.toString(),
  }));
  return app;
}

function routePipeline(req: FastifyRequest): string {
  const url = req.routeOptions.url ?? "";
  return url.replace(/^\/v1\//, "").replace(/^\//, "") || "unknown";
}
