// The spans the sync's own code opens (a run, a batch, its transaction, each Plugchat request), without
// loading OpenTelemetry: until a traced command installs a tracer (./sdk.ts), `inSpan` only calls its
// work, so an untraced process pays one check per span and loads nothing.

/** Span attribute values: ids, counts and statuses only, never a token, password or account name. */
type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** What the code may do with the span it runs in. */
export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
}

export interface SpanOptions {
  /** `client` for a request to another service (Plugchat); default `internal`. */
  kind?: "internal" | "client";
  attributes?: SpanAttributes;
}

/** The tracer ./sdk.ts installs. */
export interface SpanTracer {
  inSpan<T>(name: string, options: SpanOptions, work: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** The ids of the active span, for log lines; undefined outside any span. */
  activeIds(): TraceIds | undefined;
}

/** As log lines carry them (the OpenTelemetry log data model's names). */
export interface TraceIds {
  trace_id: string;
  span_id: string;
}

const NO_SPAN: TraceSpan = { setAttributes: () => undefined };

let tracer: SpanTracer | undefined;

/** Installs (or, undefined, removes) the tracer every span goes through from now on. */
export function useTracer(installed: SpanTracer | undefined): void {
  tracer = installed;
}

/**
 * Runs `work` in a span named `name`, a child of the active one; the span ends when `work` settles,
 * marked as an error (its type only, never its message) when it rejects. Untraced: just `work`.
 */
export function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: TraceSpan) => Promise<T>,
): Promise<T> {
  return tracer === undefined ? work(NO_SPAN) : tracer.inSpan(name, options, work);
}

/**
 * Whether spans are being recorded. A path run thousands of times a second (each Plugchat request)
 * checks it to skip the span's options and closure altogether when they would only call its work.
 */
export function tracing(): boolean {
  return tracer !== undefined;
}

/** `trace_id` and `span_id` of the active span, for a log line's fields; none outside a span. */
export function traceFields(): Partial<TraceIds> {
  return tracer?.activeIds() ?? {};
}
