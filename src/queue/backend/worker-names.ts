// Reading worker names back from BullMQ's `getWorkers` answer, whichever backend gave it.

/** The worker names in `clients`' raw connection names, after `lead`; unnamed workers are left out. */
export function namesAfter(clients: readonly Record<string, string>[], lead: string): string[] {
  return clients.flatMap((client) => {
    const raw = client.rawname ?? "";
    return raw.startsWith(lead) && raw.length > lead.length ? [raw.slice(lead.length)] : [];
  });
}
