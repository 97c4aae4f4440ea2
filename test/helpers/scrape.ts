// A Prometheus text exposition, parsed as far as tests need: each sample by name and labels.

/** The samples of `text` by `name{labels}` (labels as exposed, in order), without HELP and TYPE lines. */
export function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** The samples of metric `name`, by the value of its one label (`""` for one without labels). */
export function samplesOf(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const [key, value] of samples(text)) {
    if (key === name) found[""] = value;
    const labelled = key.startsWith(`${name}{`)
      ? /^[^=]+="([^"]*)"\}$/.exec(key.slice(name.length + 1))
      : null;
    if (labelled) found[labelled[1] as string] = value;
  }
  return found;
}
