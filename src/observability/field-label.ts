import { EXISTS_FIELD, SYNCED_FIELDS } from "../sync/drift.js";

/** The label values a `field` label may take: the API's field names and `exists` (and `other`). */
export const FIELD_LABELS: readonly string[] = [...SYNCED_FIELDS, EXISTS_FIELD];

const KNOWN: ReadonlySet<string> = new Set(FIELD_LABELS);

/** A field name as a label value; anything else becomes "other", so the series stay few. */
export function fieldLabel(field: string): string {
  return KNOWN.has(field) ? field : "other";
}
