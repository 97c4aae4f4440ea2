// Which OTEL_* settings turn traces on, and which protocol they ask for (pure: no OpenTelemetry loaded).
import { describe, expect, it } from "vitest";
import { UserFacingError } from "../../src/errors.js";
import { tracesProtocol, tracingRequested } from "../../src/observability/tracing/environment.js";
import { thrownBy } from "../helpers/throws.js";

describe("tracingRequested", () => {
  it("is off without an OTLP endpoint, whatever else is set", () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "  " })).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBe(
      false,
    );
  });

  it("is on with either endpoint variable", () => {
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(
      true,
    );
  });

  it("is off when OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none, even with an endpoint", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" })).toBe(false);
    expect(tracingRequested({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBe(false);
    expect(tracingRequested({ ...endpoint, OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "otlp" })).toBe(
      true,
    );
  });
});

describe("tracesProtocol", () => {
  it("is http/protobuf by default, as the specification says; http/json when asked; the traces variable wins", () => {
    expect(tracesProtocol({})).toBe("http/protobuf");
    expect(tracesProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBe("http/json");
    expect(
      tracesProtocol({
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      }),
    ).toBe("http/json");
  });

  it("refuses grpc and anything else, naming the variable, as a configuration error (exit 2)", () => {
    const refused = thrownBy(
      () => tracesProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }),
      UserFacingError,
    );
    expect(refused.exitCode).toBe(2);
    expect(refused.message).toBe(
      'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="grpc" is not supported: use http/protobuf (the default) or http/json',
    );
  });
});
