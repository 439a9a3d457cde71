/**
 * One-line changes that break a replication or durability rule, each of which the suite must
 * notice. `from` must occur exactly once in `file`; `tests` are the files expected to catch it
 * (the run with --full uses the whole suite instead).
 */
const coordinator = 'src/replication/coordinator.ts';

export const mutations = [
  {
    id: 'w-is-one',
    rule: 'a write needs W acks: counting W as 1',
    file: coordinator,
    from: 'const tracker = new QuorumTracker<true>(op, this.#o.w, targets.length);',
    to: 'const tracker = new QuorumTracker<true>(op, 1, targets.length);',
    tests: ['test/unit/replication/quorum.test.ts'],
  },
  {
    id: 'failed-commit-acks',
    rule: 'a failed replica commit is not an ack',
    file: coordinator,
    from: '(err: unknown) => failed(target, err),',
    to: '() => void (tracker.succeed(target.id, true) === \'reached\' && resolve()),',
    tests: [],
  },
  {
    id: 'read-keeps-oldest',
    rule: 'a quorum read returns the newest version it saw',
    file: coordinator,
    from: "if (order > 0 || (order === 0 && newest?.record.storage === 'quarantined')) newest = result;",
    to: "if (order < 0 || (order === 0 && newest?.record.storage === 'quarantined')) newest = result;",
    tests: [],
  },
  {
    id: 'repair-nobody',
    rule: 'read repair brings stale replicas up to the newest version',
    file: 'src/replication/read-repair.ts',
    from: 'await Promise.all(stale.map((replica) => this.#repair(replica, target, holders)));',
    to: 'await Promise.all([stale, holders].slice(2).map(() => undefined));',
    tests: [],
  },
  {
    id: 'ack-inline-put-early',
    rule: 'a small PUT is acknowledged only after W commits',
    file: coordinator,
    from: "await this.#commitEverywhere('PutObject', targets, meta, () => ({ kind: 'inline', data }));",
    to: "void this.#commitEverywhere('PutObject', targets, meta, () => ({ kind: 'inline', data })).catch(() => {});",
    tests: [],
  },
  {
    id: 'ack-streamed-put-early',
    rule: 'a streamed PUT is acknowledged only after W commits',
    file: coordinator,
    from: "    await this.#commitEverywhere(\n      'PutObject',\n      staged.map((s) => s.target),",
    to: "    void this.#commitEverywhere(\n      'PutObject',\n      staged.map((s) => s.target),",
    tests: [],
  },
  {
    id: 'ack-delete-early',
    rule: 'a DELETE is acknowledged only after W commits',
    file: coordinator,
    from: "await this.#commitEverywhere('DeleteObject', targets, meta, () => ({ kind: 'inline', data: EMPTY }));",
    to: "void this.#commitEverywhere('DeleteObject', targets, meta, () => ({ kind: 'inline', data: EMPTY })).catch(() => {});",
    tests: [],
  },
  {
    id: 'hlc-not-monotonic',
    rule: 'the hybrid clock never goes back, even when the wall clock does',
    file: 'src/util/clock.ts',
    from: 'this.#last = physical > this.#last ? physical : this.#last + 1;',
    to: 'this.#last = physical;',
    tests: [],
  },
  {
    id: 'hlc-repeats',
    rule: 'the hybrid clock issues each version once, even within one millisecond',
    file: 'src/util/clock.ts',
    from: 'this.#last = physical > this.#last ? physical : this.#last + 1;',
    to: 'this.#last = physical > this.#last ? physical : this.#last;',
    tests: [],
  },
  {
    id: 'leveldb-no-sync',
    rule: 'every LevelDB batch behind an acknowledgement is written with sync',
    file: 'src/store/group-writer.ts',
    from: 'this.#options = { sync };',
    to: 'this.#options = { sync: false };',
    tests: [],
  },
  {
    id: 'inline-read-unchecked',
    rule: 'a full read of an inline body checks its CRC',
    file: 'src/store/level-store.ts',
    from: 'if (stored.inline.byteLength !== record.size || crc32(stored.inline) !== record.crc32) {',
    to: 'if (stored.inline.byteLength !== record.size) {',
    tests: [],
  },
  {
    id: 'inline-head-unchecked',
    rule: 'an inline body sent along with a lookup is CRC-checked first',
    file: 'src/store/level-store.ts',
    from: 'if (crc32(inline) !== record.crc32 || inline.byteLength !== record.size) return { record };',
    to: 'if (inline.byteLength !== record.size) return { record };',
    tests: [],
  },
];
