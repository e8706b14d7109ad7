/**
 * The nftables ruleset of a fake namespace, as data, changed only by whole transactions (as
 * knftables' Fake does): a batch is applied to a copy and the copy replaces the state only when
 * every command succeeded. Errors carry nft 1.0.6's words: "Could not process rule: …" for what
 * the kernel refuses, the bare errno for what nft's own cache check refuses first.
 */
import { monitorLines as line } from './text.js';
import { canonical, keyText, parseElement, ValueError } from './values.js';

export interface NftElement {
  readonly key: unknown;
  value?: unknown;
  packets: number;
  bytes: number;
}

export interface NftSet {
  readonly kind: 'map' | 'set';
  readonly name: string;
  readonly handle: number;
  readonly type: unknown;
  readonly map?: unknown;
  readonly flags?: unknown;
  readonly comment?: string;
  /** Per-element counters (`"stmt": [{"counter": null}]`). */
  readonly counter: boolean;
  /** By key text, in insertion order (a deleted and re-added key goes last). */
  elements: Map<string, NftElement>;
}

export interface NftRuleState {
  readonly handle: number;
  readonly expr: unknown[];
  readonly comment?: string;
}

export interface NftChainState {
  readonly name: string;
  readonly handle: number;
  readonly type?: string;
  readonly hook?: string;
  readonly prio?: number;
  policy?: string;
  rules: NftRuleState[];
}

export interface NftTableState {
  readonly family: string;
  readonly name: string;
  readonly handle: number;
  nextHandle: number;
  sets: NftSet[];
  chains: NftChainState[];
}

/** A failed batch: the first error, as nft prints it. */
export class NftError extends Error {
  constructor(
    message: string,
    /** False: refused by the kernel ("Could not process rule: …"). */
    readonly userspace: boolean,
  ) {
    super(message);
  }

  get text(): string {
    return `internal:0:0-0: Error: ${this.userspace ? '' : 'Could not process rule: '}${this.message}\n\n`;
  }
}

const ENOENT = 'No such file or directory';
const kernel = (errno: string): NftError => new NftError(errno, false);
const cache = (message: string): NftError => new NftError(message, true);

type Obj = Record<string, unknown>;

/** Names of sets and maps a rule refers to (`"@name"`), and how many anonymous sets it holds. */
function references(value: unknown, found: { names: Set<string>; anonymous: number }): void {
  if (typeof value === 'string' && value.startsWith('@')) found.names.add(value.slice(1));
  else if (Array.isArray(value)) for (const v of value) references(v, found);
  else if (value && typeof value === 'object') {
    if ('set' in value) found.anonymous++;
    for (const v of Object.values(value)) references(v, found);
  }
}

class Transaction {
  /** What `nft monitor` prints for this transaction, line by line (only when someone listens). */
  readonly changes: string[] = [];
  /** Tables this transaction may change: copies, made on first write, or new ones. */
  private readonly own = new Set<NftTableState>();

  constructor(
    readonly tables: NftTableState[],
    public tableHandle: number,
    private readonly describe: boolean,
  ) {}

  private note(line: () => string): void {
    if (this.describe) this.changes.push(line());
  }

  /** The table named by `o`, copied before its first change so a failed batch leaves no trace. */
  table(o: Obj, missing: NftError): NftTableState {
    const family = String(o.family ?? 'ip');
    const name = String(o.table ?? o.name);
    const index = this.tables.findIndex((t) => t.family === family && t.name === name);
    const table = this.tables[index];
    if (!table) throw missing;
    if (this.own.has(table)) return table;
    const copy = structuredClone(table);
    this.tables[index] = copy;
    this.own.add(copy);
    return copy;
  }

  run(verb: string, kind: string, o: Obj): void {
    const key = `${verb} ${kind}`;
    switch (key) {
      case 'add table':
      case 'create table':
        this.addTable(o, verb === 'create');
        return;
      case 'delete table':
        this.deleteTable({ ...o, table: o.name });
        return;
      case 'flush table':
        for (const chain of this.table({ ...o, table: o.name }, kernel(ENOENT)).chains)
          this.flushChain(chain);
        return;
      case 'add chain':
      case 'create chain':
        this.addChain(o, verb === 'create');
        return;
      case 'delete chain':
        this.deleteChain(o);
        return;
      case 'flush chain':
        this.flushChain(this.chain(o, kernel(ENOENT)));
        return;
      case 'add map':
      case 'add set':
      case 'create map':
      case 'create set':
        this.addSet(kind as 'map' | 'set', o, verb === 'create');
        return;
      case 'delete map':
      case 'delete set':
        this.deleteSet(o);
        return;
      case 'flush map':
      case 'flush set': {
        const t = this.table(o, cache(ENOENT));
        const set = this.set(o, cache(ENOENT));
        for (const e of set.elements.values()) this.note(() => line.element('delete', t, set, e));
        set.elements.clear();
        return;
      }
      case 'add element':
      case 'create element':
        this.addElements(o, verb === 'create');
        return;
      case 'delete element':
        this.deleteElements(o);
        return;
      case 'add rule':
      case 'insert rule':
        this.addRule(o, verb === 'insert');
        return;
      case 'delete rule':
        this.deleteRule(o);
        return;
      default:
        throw cache(`Unknown object passed to ${verb} command.`);
    }
  }

  private addTable(o: Obj, exclusive: boolean): void {
    const family = String(o.family ?? 'ip');
    const name = String(o.name);
    if (this.tables.some((t) => t.family === family && t.name === name)) {
      if (exclusive) throw kernel('File exists');
      return;
    }
    const table: NftTableState = {
      family,
      name,
      handle: ++this.tableHandle,
      nextHandle: 1,
      sets: [],
      chains: [],
    };
    this.tables.push(table);
    this.own.add(table);
    this.note(() => line.addTable(table));
  }

  private deleteTable(o: Obj): void {
    const family = String(o.family ?? 'ip');
    const t = this.tables.find((x) => x.family === family && x.name === String(o.table));
    if (!t) throw kernel(ENOENT);
    for (const chain of t.chains)
      for (const rule of chain.rules) this.note(() => line.deleteRule(t, chain, rule));
    for (const set of t.sets) this.note(() => line.deleteSet(t, set));
    for (const chain of t.chains) this.note(() => line.deleteChain(t, chain));
    this.tables.splice(this.tables.indexOf(t), 1);
    this.note(() => line.deleteTable(t));
  }

  private chain(o: Obj, missing: NftError): NftChainState {
    const chain = this.table(o, missing).chains.find((c) => c.name === String(o.chain ?? o.name));
    if (!chain) throw missing;
    return chain;
  }

  private addChain(o: Obj, exclusive: boolean): void {
    const t = this.table(o, cache(ENOENT));
    const existing = t.chains.find((c) => c.name === String(o.name));
    if (existing) {
      if (exclusive) throw kernel('File exists');
      if (typeof o.policy === 'string' && existing.hook) existing.policy = o.policy;
      return;
    }
    const base = typeof o.hook === 'string';
    if (base && (typeof o.type !== 'string' || typeof o.prio !== 'number')) throw kernel('Invalid argument');
    const chain: NftChainState = {
      name: String(o.name),
      handle: t.nextHandle++,
      ...(base
        ? {
            type: String(o.type),
            hook: String(o.hook),
            prio: Number(o.prio),
            policy: String(o.policy ?? 'accept'),
          }
        : {}),
      rules: [],
    };
    t.chains.push(chain);
    this.note(() => line.addChain(t, chain));
  }

  private deleteChain(o: Obj): void {
    const t = this.table(o, kernel(ENOENT));
    const chain = this.chain(o, kernel(ENOENT));
    const jumpedTo = t.chains.some((c) =>
      c.rules.some((r) => JSON.stringify(r.expr).includes(`"target":${JSON.stringify(chain.name)}`)),
    );
    if (jumpedTo) throw kernel('Device or resource busy');
    this.flushChain(chain);
    t.chains.splice(t.chains.indexOf(chain), 1);
    this.note(() => line.deleteChain(t, chain));
  }

  private flushChain(chain: NftChainState): void {
    const t = this.tables.find((x) => x.chains.includes(chain)) as NftTableState;
    for (const rule of chain.rules) this.note(() => line.deleteRule(t, chain, rule));
    chain.rules = [];
  }

  private set(o: Obj, missing: NftError): NftSet {
    const set = this.table(o, cache(ENOENT)).sets.find((s) => s.name === String(o.name));
    if (!set) throw missing;
    return set;
  }

  private addSet(kind: 'map' | 'set', o: Obj, exclusive: boolean): void {
    const t = this.table(o, cache(ENOENT));
    let set = t.sets.find((s) => s.name === String(o.name));
    if (set && exclusive) throw kernel('File exists');
    if (!set) {
      const stmt = Array.isArray(o.stmt) ? (o.stmt as unknown[]) : [];
      set = {
        kind,
        name: String(o.name),
        handle: t.nextHandle++,
        type: o.type,
        ...(kind === 'map' ? { map: o.map } : {}),
        ...(o.flags !== undefined ? { flags: o.flags } : {}),
        ...(typeof o.comment === 'string' ? { comment: o.comment } : {}),
        counter: stmt.some((s) => typeof s === 'object' && s !== null && 'counter' in s),
        elements: new Map(),
      };
      const created = set;
      t.sets.push(created);
      this.note(() => line.addSet(t, created));
    }
    this.insertElements(t, set, o.elem, false);
  }

  private deleteSet(o: Obj): void {
    const t = this.table(o, kernel(ENOENT));
    const set = this.set(o, kernel(ENOENT));
    const used = t.chains.some((c) =>
      c.rules.some((r) => {
        const found = { names: new Set<string>(), anonymous: 0 };
        references(r.expr, found);
        return found.names.has(set.name);
      }),
    );
    if (used) throw kernel('Device or resource busy');
    t.sets.splice(t.sets.indexOf(set), 1);
    this.note(() => line.deleteSet(t, set));
  }

  private insertElements(t: NftTableState, set: NftSet, raw: unknown, exclusive: boolean): void {
    if (raw === undefined) return;
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      const parsed = parseElement(item, set.kind === 'map');
      let key: unknown;
      let value: unknown;
      try {
        key = canonical(set.type, parsed.key);
        value = set.kind === 'map' ? canonical(set.map, parsed.value) : undefined;
      } catch (error) {
        if (error instanceof ValueError) throw cache(error.message);
        throw error;
      }
      const existing = set.elements.get(keyText(key));
      if (existing) {
        if (exclusive || keyText(existing.value) !== keyText(value)) throw kernel('File exists');
        continue;
      }
      const element: NftElement = {
        key,
        ...(set.kind === 'map' ? { value } : {}),
        packets: parsed.counter?.packets ?? 0,
        bytes: parsed.counter?.bytes ?? 0,
      };
      set.elements.set(keyText(key), element);
      this.note(() => line.element('add', t, set, element));
    }
  }

  private addElements(o: Obj, exclusive: boolean): void {
    const t = this.table(o, cache(ENOENT));
    this.insertElements(t, this.set(o, cache(ENOENT)), o.elem, exclusive);
  }

  private deleteElements(o: Obj): void {
    const t = this.table(o, cache(ENOENT));
    const set = this.set(o, cache(ENOENT));
    for (const item of Array.isArray(o.elem) ? o.elem : [o.elem]) {
      let key: unknown;
      try {
        key = canonical(set.type, parseElement(item, false).key);
      } catch (error) {
        if (error instanceof ValueError) throw cache(error.message);
        throw error;
      }
      const element = set.elements.get(keyText(key));
      if (!element) throw kernel(ENOENT);
      set.elements.delete(keyText(key));
      this.note(() => line.element('delete', t, set, element));
    }
  }

  private addRule(o: Obj, insert: boolean): void {
    const t = this.table(o, cache(ENOENT));
    const expr = Array.isArray(o.expr) ? (o.expr as unknown[]) : [];
    const found = { names: new Set<string>(), anonymous: 0 };
    references(expr, found);
    for (const name of found.names) if (!t.sets.some((s) => s.name === name)) throw cache(ENOENT);
    const chain = this.chain(o, kernel(ENOENT));
    // Each anonymous set ({ tcp, udp }) takes a handle of its own, just before its rule.
    t.nextHandle += found.anonymous;
    const rule: NftRuleState = {
      handle: t.nextHandle++,
      expr: structuredClone(expr),
      ...(typeof o.comment === 'string' ? { comment: o.comment } : {}),
    };
    const after = typeof o.handle === 'number' ? chain.rules.findIndex((r) => r.handle === o.handle) : -1;
    if (typeof o.handle === 'number' && after < 0) throw kernel(ENOENT);
    if (insert) chain.rules.splice(Math.max(after, 0), 0, rule);
    else chain.rules.splice(after < 0 ? chain.rules.length : after + 1, 0, rule);
    this.note(() => line.addRule(t, chain, rule));
  }

  private deleteRule(o: Obj): void {
    const chain = this.chain(o, kernel(ENOENT));
    const index = chain.rules.findIndex((r) => r.handle === o.handle);
    if (index < 0) throw kernel(ENOENT);
    const t = this.table(o, kernel(ENOENT));
    const [rule] = chain.rules.splice(index, 1);
    if (rule) this.note(() => line.deleteRule(t, chain, rule));
  }
}

const VERBS = ['add', 'create', 'insert', 'delete', 'destroy', 'flush', 'replace'];

export interface CommitResult {
  readonly generation: number;
  readonly changes: readonly string[];
}

export class NftRuleset {
  tables: NftTableState[] = [];
  generation = 1;
  private tableHandle = 0;

  table(family: string, name: string): NftTableState | undefined {
    return this.tables.find((t) => t.family === family && t.name === name);
  }

  /** Runs a batch's commands on a copy; commits the copy unless `check` or a command failed. */
  /** `describe`: also say what changed, line by line, as `nft monitor` would. */
  apply(commands: readonly unknown[], check: boolean, describe = true): CommitResult {
    const tx = new Transaction([...this.tables], this.tableHandle, describe);
    commands.forEach((command, index) => {
      if (!command || typeof command !== 'object')
        throw cache(`Parsing command array at index ${index} failed.`);
      const [verb, body] = Object.entries(command as Obj)[0] ?? [];
      if (verb === 'metainfo') return;
      if (!verb || !VERBS.includes(verb) || !body || typeof body !== 'object')
        throw cache(
          `Unknown command object.\n\ninternal:0:0-0: Error: Parsing command array at index ${index} failed.`,
        );
      const [kind, object] = Object.entries(body as Obj)[0] ?? [];
      if (!kind || !object || typeof object !== 'object')
        throw cache(
          `Unknown object passed to ${verb} command.\n\ninternal:0:0-0: Error: Parsing command array at index ${index} failed.`,
        );
      tx.run(verb, kind, object as Obj);
    });
    if (!check) {
      this.tables = tx.tables;
      this.tableHandle = tx.tableHandle;
      this.generation++;
    }
    return { generation: this.generation, changes: tx.changes };
  }
}
