// The spans a local OTLP/HTTP receiver got (OTLP JSON, POST /v1/traces), flattened for assertions.
import type { ReceivedRequest } from "./webhook-receiver.js";

export interface ExportedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** The instrumentation scope: "plugchat-sync" or "bullmq". */
  scope: string;
  /** The resource's `plugchat_sync.command`: worker, trigger or sync. */
  command: string;
  attributes: Record<string, string | number | boolean>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

interface OtlpExport {
  resourceSpans: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans: {
      scope?: { name?: string };
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

/** Every span of the JSON exports received on /v1/traces. */
export function exportedSpans(received: readonly ReceivedRequest[]): ExportedSpan[] {
  return received
    .filter((request) => request.method === "POST" && request.url === "/v1/traces")
    .flatMap((request) => (JSON.parse(request.body) as OtlpExport).resourceSpans)
    .flatMap((resourceSpans) => {
      const command = String(attributesOf(resourceSpans.resource?.attributes)["plugchat_sync.command"]);
      return resourceSpans.scopeSpans.flatMap((scopeSpans) =>
        scopeSpans.spans.map((span) => ({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? "",
          name: span.name,
          scope: scopeSpans.scope?.name ?? "",
          command,
          attributes: attributesOf(span.attributes),
        })),
      );
    });
}

/** Every attribute value of the exports, resources included, as text: to look for what must not be there. */
export function exportedText(received: readonly ReceivedRequest[]): string {
  return received.map((request) => request.body).join("\n");
}

function attributesOf(attributes: readonly OtlpAttribute[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(
    attributes.map(({ key, value }) => [
      key,
      value.stringValue ?? value.boolValue ?? value.doubleValue ?? Number(value.intValue),
    ]),
  );
}

/** `span`'s ancestors, nearest first, among `spans`. */
export function ancestorsOf(span: ExportedSpan, spans: readonly ExportedSpan[]): ExportedSpan[] {
  const byId = new Map(spans.map((each) => [each.spanId, each]));
  const chain: ExportedSpan[] = [];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) {
    chain.push(parent);
  }
  return chain;
}
