// What the standard OTEL_* variables ask of this process's traces. Pure: nothing of OpenTelemetry is
// loaded to decide, so an untraced command pays nothing.
import { ExitCode, UserFacingError } from "../../errors.js";

/**
 * Whether this process exports traces: only when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and not turned off by OTEL_SDK_DISABLED=true or
 * OTEL_TRACES_EXPORTER=none.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return false;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== "none";
}

export type TracesProtocol = "http/protobuf" | "http/json";

/**
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (the
 * specification's default). gRPC is not supported: one clear line rather than traces silently lost.
 */
export function tracesProtocol(env: NodeJS.ProcessEnv = process.env): TracesProtocol {
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim()
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const value = env[variable]?.trim() || "http/protobuf";
  if (value === "http/protobuf" || value === "http/json") return value;
  throw new UserFacingError(
    `${variable}=${JSON.stringify(value)} is not supported: use http/protobuf (the default) or http/json`,
    { exitCode: ExitCode.badConfig },
  );
}
