/**
 * A small typed flag parser shared by the command-line tools: `--name value`, `--name=value`,
 * boolean `--name` / `--name=false`; unknown flags, missing values and malformed numbers are
 * UsageErrors that name the flag.
 */
export class UsageError extends Error {}

export type FlagKind = 'string' | 'list' | 'int' | 'number' | 'bool';

export interface FlagSpec<K extends string = string> {
  key: K;
  kind: FlagKind;
  help: string;
  /** Allowed values of a 'string' or 'int' flag. */
  choices?: readonly (string | number)[];
  /** Shown in --help as the argument, e.g. '<dir>'. */
  arg?: string;
}

/** Parses argv into { key: value } for the flags given; returns null for --help / -h. */
export function parseFlags<K extends string>(argv: readonly string[], flags: Record<string, FlagSpec<K>>): Partial<Record<K, unknown>> | null {
  const out: Partial<Record<K, unknown>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return null;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq); }
    const f = flags[name];
    if (!f) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (f.kind === 'bool') {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`--${name} takes no value (or =true / =false), got '${value}'`);
      out[f.key] = value !== 'false';
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
    }
    out[f.key] = parseValue(name, f, value);
  }
  return out;
}

function parseValue(name: string, f: FlagSpec, v: string): unknown {
  if (f.kind === 'list') return v.split(',').filter((s) => s.length > 0);
  const choice = (x: string | number) => {
    if (f.choices && !f.choices.includes(x)) throw new UsageError(`--${name} must be one of ${f.choices.join(', ')}, got '${v}'`);
    return x;
  };
  if (f.kind === 'string') return choice(v);
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (f.kind === 'int' && !Number.isInteger(n))) {
    throw new UsageError(`--${name} needs ${f.kind === 'int' ? 'an integer' : 'a number'}, got '${v}'`);
  }
  return choice(n);
}

/** A default as --help shows it: JSON, small numbers as 1e-6. */
function shown(v: unknown): string {
  return typeof v === 'number' && v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential() : JSON.stringify(v);
}

/** Help rows: '  --name <arg>   help (default: x)'; keys without a default get `noDefault` (if any). */
export function flagHelp(flags: Record<string, FlagSpec>, defaults: Record<string, unknown>, noDefault = '', pad = 36): string[] {
  return Object.entries(flags).map(([name, f]) => {
    const arg = f.kind === 'bool' ? '' : ` ${f.arg ?? (f.kind === 'list' ? '<a,b>' : f.choices ? `<${f.choices.join('|')}>` : '<value>')}`;
    const d = defaults[f.key];
    const def = d === undefined ? noDefault : d === null ? '' : ` (default: ${shown(d)})`;
    return `  --${name}${arg}`.padEnd(pad) + f.help + def;
  });
}
