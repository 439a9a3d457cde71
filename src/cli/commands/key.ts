/**
 * `ringstore key`: access keys and their rights on buckets, through the admin API's `/keys`
 * routes. `key create NAME [--allow-create-bucket]` prints the new key's id and secret (the only
 * time the secret is shown unasked); `key list`, `key info KEY [--show-secret]`, `key delete KEY`,
 * `key allow|deny KEY --bucket B [--read] [--write] [--owner]`. KEY is an access key id or a
 * key's name. Exit 0 on success, 2 on bad usage or a refused or failed call.
 */
import type { KeyAnswer, KeyInfoAnswer } from '../../admin/keys-route.js';
import { describeError } from '../../util/errors.js';
import { ADMIN_OPTIONS, adminCall, resolveAdminTarget, type AdminTarget } from '../admin-client.js';
import { EXIT, err, formatHelp, out, parseCommandArgs, type Command, type CommandOption, type ParsedArgs } from '../command.js';
import { formatTable } from '../table.js';

type Run = (target: AdminTarget, args: ParsedArgs) => Promise<number>;

interface Sub {
  readonly command: Command;
  readonly positionals: number;
}

function json(args: ParsedArgs): boolean {
  return args.values['json'] === true;
}

function grantLine(g: { bucket: string; read: boolean; write: boolean; owner: boolean }): string {
  const rights = [g.read ? 'read' : '', g.write ? 'write' : '', g.owner ? 'owner' : ''].filter((r) => r !== '').join(',');
  return `${g.bucket}  ${rights === '' ? '(none)' : rights}`;
}

function keyPath(ref: string): string {
  return `/keys/${encodeURIComponent(ref)}`;
}

function sub(name: string, summary: string, usage: string, examples: string[], options: CommandOption[], positionals: number, run: Run): Sub {
  const command: Command = {
    name: `key ${name}`,
    summary,
    usage: `key ${usage}`,
    examples,
    options: [...options, ...ADMIN_OPTIONS],
    async run(argv) {
      const parsed = parseCommandArgs(command, argv, { positionals: true });
      if ('exit' in parsed) return parsed.exit;
      if (parsed.positionals.length !== positionals) {
        err(`ringstore key ${name}: expected ${positionals === 1 ? 'one argument' : 'no arguments'}; usage: ringstore key ${usage}`);
        return EXIT.error;
      }
      let target: AdminTarget;
      try {
        target = await resolveAdminTarget(typeof parsed.values['admin'] === 'string' ? parsed.values['admin'] : undefined);
      } catch (error) {
        err(`ringstore key ${name}: ${describeError(error).replace(/^InvalidArgument: /, '')}`);
        return EXIT.error;
      }
      try {
        return await run(target, parsed);
      } catch (error) {
        err(`ringstore key ${name}: ${describeError(error)}`);
        return EXIT.error;
      }
    },
  };
  return { command, positionals };
}

const RIGHTS: CommandOption[] = [
  { name: 'bucket', type: 'string', short: 'b', valueName: 'BUCKET', description: 'The bucket (required).' },
  { name: 'read', type: 'boolean', description: 'Read: GET/HEAD objects, list objects and uploads, read ACLs, copy from.' },
  { name: 'write', type: 'boolean', description: 'Write: PUT/DELETE objects, multipart uploads, copy to.' },
  { name: 'owner', type: 'boolean', description: 'Owner: delete the bucket, set ACLs, bucket configuration.' },
];

function grantRun(mode: 'allow' | 'deny'): Run {
  return async (target, args) => {
    const bucket = args.values['bucket'];
    if (typeof bucket !== 'string') {
      err(`ringstore key ${mode}: --bucket BUCKET is required`);
      return EXIT.error;
    }
    const flags = { read: args.values['read'] === true, write: args.values['write'] === true, owner: args.values['owner'] === true };
    if (!flags.read && !flags.write && !flags.owner) {
      err(`ringstore key ${mode}: say what to ${mode}: --read, --write and/or --owner`);
      return EXIT.error;
    }
    const grant = await adminCall<{ accessKeyId: string; bucket: string; read: boolean; write: boolean; owner: boolean }>(target, 'POST', `${keyPath(args.positionals[0]!)}/${mode}`, {
      bucket,
      ...flags,
    });
    out(json(args) ? JSON.stringify(grant, null, 2) : `${grant.accessKeyId}  ${grantLine(grant)}`);
    return EXIT.ok;
  };
}

const SUBS: readonly Sub[] = [
  sub(
    'create',
    'create an access key; prints its id and secret',
    'create NAME [--allow-create-bucket] [--json]',
    ['ringstore key create backup-job', 'ringstore key create alice --allow-create-bucket --json'],
    [{ name: 'allow-create-bucket', type: 'boolean', description: 'The key may create buckets (it owns those it creates).' }],
    1,
    async (target, args) => {
      const key = await adminCall<KeyAnswer>(target, 'POST', '/keys', { name: args.positionals[0], allowCreateBucket: args.values['allow-create-bucket'] === true });
      if (json(args)) out(JSON.stringify(key, null, 2));
      else {
        out(`accessKeyId      ${key.accessKeyId}`);
        out(`secretAccessKey  ${key.secretAccessKey ?? ''}`);
        err(`key "${key.name}" created${key.allowCreateBucket ? ' (may create buckets)' : ''}; give it access with: ringstore key allow ${key.accessKeyId} --bucket BUCKET --read`);
      }
      return EXIT.ok;
    },
  ),
  sub('list', 'list the access keys (without secrets)', 'list [--json]', ['ringstore key list'], [], 0, async (target, args) => {
    const { keys } = await adminCall<{ keys: KeyAnswer[] }>(target, 'GET', '/keys');
    if (json(args)) out(JSON.stringify(keys, null, 2));
    else {
      const rows = keys.map((k) => [k.accessKeyId, k.name, k.allowCreateBucket ? 'yes' : 'no', new Date(k.createdMs).toISOString()]);
      for (const line of formatTable([['ACCESS KEY ID', 'NAME', 'CREATE-BUCKET', 'CREATED'], ...rows])) out(line);
    }
    return EXIT.ok;
  }),
  sub(
    'info',
    'show a key: its grants and the buckets it owns',
    'info KEY [--show-secret] [--json]',
    ['ringstore key info alice', 'ringstore key info RK0123456789ABCDEF01234567 --show-secret'],
    [{ name: 'show-secret', type: 'boolean', description: 'Also print the secret access key.' }],
    1,
    async (target, args) => {
      const info = await adminCall<KeyInfoAnswer>(target, 'GET', `${keyPath(args.positionals[0]!)}${args.values['show-secret'] === true ? '?showSecret=true' : ''}`);
      if (json(args)) out(JSON.stringify(info, null, 2));
      else {
        out(`accessKeyId        ${info.accessKeyId}`);
        if (info.secretAccessKey !== undefined) out(`secretAccessKey    ${info.secretAccessKey}`);
        out(`name               ${info.name}`);
        out(`allowCreateBucket  ${info.allowCreateBucket}`);
        out(`created            ${new Date(info.createdMs).toISOString()}`);
        out(`owns               ${info.ownedBuckets.length === 0 ? '(no buckets)' : info.ownedBuckets.join(' ')}`);
        out('grants');
        for (const g of info.grants) out(`  ${grantLine(g)}`);
      }
      return EXIT.ok;
    },
  ),
  sub('delete', 'delete a key and its grants (its requests are refused within seconds)', 'delete KEY [--json]', ['ringstore key delete alice'], [], 1, async (target, args) => {
    const answer = await adminCall<{ deleted: string }>(target, 'DELETE', keyPath(args.positionals[0]!));
    out(json(args) ? JSON.stringify(answer) : `deleted ${answer.deleted}`);
    return EXIT.ok;
  }),
  sub(
    'allow',
    'give a key read, write and/or owner rights on a bucket',
    'allow KEY --bucket BUCKET [--read] [--write] [--owner] [--json]',
    ['ringstore key allow alice --bucket photos --read --write'],
    RIGHTS,
    1,
    grantRun('allow'),
  ),
  sub(
    'deny',
    'take rights on a bucket away from a key',
    'deny KEY --bucket BUCKET [--read] [--write] [--owner] [--json]',
    ['ringstore key deny alice --bucket photos --write'],
    RIGHTS,
    1,
    grantRun('deny'),
  ),
];

function keyHelp(): string {
  return [
    formatHelp(keyCommand),
    '',
    'KEY is an access key id or a key name. Run "ringstore key <subcommand> --help" for its options.',
    'A key owns the buckets it creates; on other buckets it has only what "key allow" gives it.',
    'Changes reach every gateway within 2 seconds. The root key from config keeps every right.',
  ].join('\n');
}

/** The `key` command. */
export const keyCommand: Command = {
  name: 'key',
  summary: 'access keys: create, list, info, delete, allow, deny',
  usage: SUBS.map((s) => s.command.usage).join('\n'),
  examples: ['ringstore key create alice', 'ringstore key allow alice --bucket photos --read'],
  options: [],
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      (name === undefined ? err : out)(keyHelp());
      return name === undefined ? EXIT.error : EXIT.ok;
    }
    const found = SUBS.find((s) => s.command.name === `key ${name}`);
    if (found === undefined) {
      err(`ringstore key: unknown subcommand "${name}"`);
      err(keyHelp());
      return EXIT.error;
    }
    return found.command.run(rest);
  },
};
