// PromQL as the dashboard and alert tests send it to a real Prometheus: a Grafana query with its
// variables filled in, an alert expression made to return series whether it fires or not, and
// misspelt copies of a query that must return none. Text rewriting only, no PromQL parser.

/**
 * `expr` with Grafana's variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) replaced by
 * `values`; throws on a variable without a value, so that none reaches Prometheus unreplaced.
 */
export function withGrafanaVariables(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (match, ...names: unknown[]) => {
    const name = names.slice(0, 3).find((found) => typeof found === "string") as string;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for the variable ${match} in ${expr}`);
    return value;
  });
}

/**
 * An alert expression rewritten to return one series per compared pair whether the alert fires or
 * not, so that "no series" means a selector, a label or a vector match found nothing (a misspelt
 * metric, say) rather than a quiet deployment: every comparison gets `bool` (0 or 1 instead of
 * filtering), `absent(x)` becomes `x` (absent is empty exactly when x has series), and offsets go
 * (a test's Prometheus holds seconds of data, never an hour ago's).
 */
export function alertProbe(expr: string): string {
  return withBoolComparisons(
    expr
      .replace(/\babsent\s*\(/g, "(")
      .replace(/\babsent_over_time\s*\(/g, "last_over_time(")
      .replace(/\s+offset\s+-?(?:\d+(?:ms|[smhdwy]))+/g, ""),
  );
}

/** Every comparison of `expr` outside label matchers and strings made a `bool` one. */
function withBoolComparisons(expr: string): string {
  let out = "";
  let braces = 0;
  let quote: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const char = expr[i] as string;
    if (quote !== null) {
      out += char;
      if (char === "\\") out += expr[++i] ?? "";
      else if (char === quote) quote = null;
      continue;
    }
    if (char === '"' || char === "'" || char === "`") quote = char;
    else if (char === "{") braces++;
    else if (char === "}") braces--;
    const operator = braces === 0 ? /^(?:==|!=|>=|<=|>|<)/.exec(expr.slice(i))?.[0] : undefined;
    if (operator === undefined) {
      out += char;
      continue;
    }
    out += operator;
    i += operator.length - 1;
    if (!/^\s*bool\b/.test(expr.slice(i + 1))) out += " bool";
  }
  return out;
}

/**
 * Copies of `expr` each with one thing misspelt: a metric name (every occurrence), or the value of
 * one exact label matcher; each must return no series for a check of "no series" to mean anything.
 */
export function misspellings(expr: string): { what: string; expr: string }[] {
  const names = new Set(expr.match(/\b(?:plugchat_sync|process|nodejs)_\w+|\bup(?=\{)/g) ?? []);
  const matchers = new Set(expr.match(/\b[a-zA-Z_]\w*\s*=\s*"[^"]*"/g) ?? []);
  return [
    ...[...names].map((name) => ({
      what: `metric ${name}`,
      expr: expr.replace(new RegExp(`\\b${name}\\b`, "g"), `${name}_misspelt`),
    })),
    ...[...matchers].map((matcher) => ({
      what: `label ${matcher}`,
      expr: expr.split(matcher).join(matcher.replace(/"$/, '_misspelt"')),
    })),
  ];
}
