// OpenTelemetry for a traced command (worker, trigger, sync), loaded only when ./environment.ts says
// traces are asked for: a tracer provider exporting over OTLP/HTTP (endpoint, headers, timeout and
// batching from the standard OTEL_* variables, read by the SDK itself), the tracer behind ./spans.ts,
// and BullMQ's telemetry so a run's jobs join the trace of what queued them.
import {
  type Context,
  isSpanContextValid,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { BullMQOtel } from "bullmq-otel";
import { redactUrlCredentials } from "../../lib/redact.js";
import { settlesWithin } from "../../lib/timeout.js";
import type { Logger } from "../../logger.js";
import { PACKAGE_NAME, PACKAGE_VERSION } from "../../version.js";
import { throttledLog } from "../throttled-log.js";
import { tracesProtocol } from "./environment.js";
import { type SpanTracer, type TraceSpan, useTracer } from "./spans.js";

export interface Tracing {
  /** For every BullMQ Queue, Worker and FlowProducer of the process (`telemetry` option). */
  telemetry: BullMQOtel;
  /** Sends the spans still buffered (waiting at most FLUSH_AT_END_MS), then stops tracing. */
  shutdown(): Promise<void>;
}

/**
 * How long a command waits at its end for its last spans to be sent. An unreachable collector is
 * retried for about 10 s by the exporter: a command, or a worker told to stop, does not wait that long.
 */
const FLUSH_AT_END_MS = 3_000;

/** Starts tracing for this process, `command` naming it in the resource (worker, trigger, sync). */
export function startTracing(command: string, logger: Logger): Tracing {
  const protocol = tracesProtocol();
  const exporter = protocol === "http/json" ? new JsonExporter() : new ProtobufExporter();
  const provider = new NodeTracerProvider({
    resource: defaultResource()
      .merge(resourceFromAttributes({ "service.name": PACKAGE_NAME, "service.version": PACKAGE_VERSION }))
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults above.
      .merge(detectResources({ detectors: [envDetector] }))
      .merge(resourceFromAttributes({ "plugchat_sync.command": command })),
    spanProcessors: [new WithoutIdleQueueSpans(new BatchSpanProcessor(warnWhenFailing(exporter, logger)))],
  });
  // The async-local context (a span's children across awaits) and the W3C trace context propagator
  // that bullmq-otel uses to carry a job's parent span in the job.
  provider.register();
  const tracer = trace.getTracer(PACKAGE_NAME, PACKAGE_VERSION);
  useTracer(spanTracer(tracer));
  return {
    telemetry: new BullMQOtel({ tracerName: "bullmq" }),
    shutdown: async () => {
      useTracer(undefined);
      if (!(await settlesWithin(provider.shutdown(), FLUSH_AT_END_MS))) {
        logger.warn(
          { waitedMs: FLUSH_AT_END_MS },
          "the last traces could not be sent to the OTLP endpoint in time: they are dropped",
        );
      }
    },
  };
}

function spanTracer(tracer: ReturnType<typeof trace.getTracer>): SpanTracer {
  return {
    inSpan: (name, options, work) =>
      tracer.startActiveSpan(
        name,
        {
          kind: options.kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL,
          ...(options.attributes ? { attributes: options.attributes } : {}),
        },
        async (span: Span) => {
          const handle: TraceSpan = { setAttributes: (attributes) => span.setAttributes(attributes) };
          try {
            return await work(handle);
          } catch (error) {
            // The error's type only: a message may quote what Plugchat or the database said.
            span.setStatus({ code: SpanStatusCode.ERROR });
            span.setAttribute("error.type", errorType(error));
            throw error;
          } finally {
            span.end();
          }
        },
      ),
    activeIds: () => {
      const context = trace.getActiveSpan()?.spanContext();
      if (!context || !isSpanContextValid(context)) return undefined;
      return { trace_id: context.traceId, span_id: context.spanId };
    },
  };
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Drops the spans of BullMQ's own upkeep that belong to no run: a worker's idle polls (`getNextJob`),
 * stalled-job checks, lock renewals and closing start a trace of their own each time, every few
 * seconds per worker, and would bury the runs' traces. A span with a parent is always kept.
 */
class WithoutIdleQueueSpans implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Parameters<SpanProcessor["onStart"]>[0], parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const upkeep =
      span.instrumentationScope.name === "bullmq" &&
      span.kind === SpanKind.INTERNAL &&
      span.parentSpanContext === undefined;
    if (!upkeep) this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

/** The exporter, saying (at most once a minute) when spans could not be sent to the collector. */
function warnWhenFailing(exporter: SpanExporter, logger: Logger): SpanExporter {
  const warn = throttledLog(logger, "warn", 60_000);
  return {
    export: (spans, done) =>
      exporter.export(spans, (result) => {
        if (result.error !== undefined || result.code !== 0) {
          const reason = redactUrlCredentials(result.error?.message ?? "export failed");
          warn(
            "export",
            { err: reason, spans: spans.length },
            "traces could not be sent to the OTLP endpoint",
          );
        }
        done(result);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
