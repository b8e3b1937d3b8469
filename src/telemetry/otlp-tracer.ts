// OpenTelemetry traces of the gate's steps, exported over OTLP/HTTP (JSON) when `tracing.otlpEndpoint`
// is set; otherwise the gateway uses the do-nothing tracer and these packages are never loaded.
// Spans carry bounded attributes only (connection, rule, decision): never statement text or a secret.

import type { SpanAttributes, SpanHandle, Tracer } from '../core/tracing.js';

export interface OtlpTracerOptions {
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Share of traces kept (parent-based: a sampled admit keeps all its steps). */
  readonly sampleRatio?: number;
}

export interface RunningTracer extends Tracer {
  /** Sends what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

function clean(attributes: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

export async function startOtlpTracer(options: OtlpTracerOptions): Promise<RunningTracer> {
  // Loaded on use: a gateway without tracing never loads the SDK.
  const api = await import('@opentelemetry/api');
  const { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } =
    await import('@opentelemetry/sdk-trace-base');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');

  // Child spans (authenticate, decide, approve, record) find their parent through async context.
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName,
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio ?? 1) }),
    spanProcessors: [
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: options.endpoint, headers: { ...(options.headers ?? {}) } }),
        { scheduledDelayMillis: 1000 },
      ),
    ],
  });
  const tracer = provider.getTracer('gatehouse', options.serviceVersion);

  const run = <T>(name: string, attributes: SpanAttributes, work: (span: SpanHandle) => T): T =>
    tracer.startActiveSpan(name, { attributes: clean(attributes) }, (span) => {
      const handle: SpanHandle = { set: (a) => void span.setAttributes(clean(a)) };
      const fail = (e: unknown) => {
        span.setStatus({
          code: api.SpanStatusCode.ERROR,
          message: e instanceof Error ? e.message : String(e),
        });
        span.end();
        throw e;
      };
      let result: T;
      try {
        result = work(handle);
      } catch (e) {
        return fail(e);
      }
      if (result instanceof Promise) {
        return result.then((v: unknown) => {
          span.end();
          return v;
        }, fail) as T;
      }
      span.end();
      return result;
    });

  return {
    span: (name, attributes, work) => run(name, attributes, work),
    spanSync: (name, attributes, work) => run(name, attributes, work),
    async shutdown() {
      await provider.shutdown();
      api.context.disable();
    },
  };
}
