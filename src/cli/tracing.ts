// Traces for the commands that run syncs (worker, trigger, sync), when the standard OTLP endpoint
// variables ask for them. OpenTelemetry is imported here, on demand only: an untraced process, and
// every other command, never loads it.
import type { Telemetry } from "bullmq";
import type { Logger } from "../logger.js";
import { tracingRequested } from "../observability/tracing/environment.js";
import { closeWhenCommandEnds } from "./command-end.js";

/**
 * Starts tracing for `command` when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set, and returns BullMQ's
 * telemetry for the queues; the spans still buffered are sent when the command ends.
 */
export async function traceCommand(command: string, logger: Logger): Promise<Telemetry | undefined> {
  if (!tracingRequested()) return undefined;
  const { startTracing } = await import("../observability/tracing/sdk.js");
  const tracing = startTracing(command, logger);
  closeWhenCommandEnds(tracing.shutdown);
  return tracing.telemetry;
}
