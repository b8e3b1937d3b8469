// The tracing port: spans around the gate's steps (authenticate, decide, approve, record), exported
// over OTLP when an endpoint is configured (src/telemetry). Where tracing is off the do-nothing tracer
// runs the work as is. Attributes are bounded facts (connection, rule, decision), never statement text
// or a credential.

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

export interface SpanHandle {
  /** Adds attributes learnt while the span runs (the decision, the rule). */
  set(attributes: SpanAttributes): void;
}

export interface Tracer {
  /** Runs `work` inside a span; spans started inside it (by any port) become its children. */
  span<T>(name: string, attributes: SpanAttributes, work: (span: SpanHandle) => Promise<T>): Promise<T>;
  /** The same for synchronous work (a policy decision). */
  spanSync<T>(name: string, attributes: SpanAttributes, work: (span: SpanHandle) => T): T;
}

const noSpan: SpanHandle = { set: () => undefined };

/** Traces nothing: the tracer when no OTLP endpoint is configured. */
export const noTracer: Tracer = {
  span: (_name, _attributes, work) => work(noSpan),
  spanSync: (_name, _attributes, work) => work(noSpan),
};
