/**
 * `ringstore dev` (what `npm start` runs): a local cluster of real `ringstore server` processes
 * on 127.0.0.1, with credentials generated once and kept under the data dir. Every node is an
 * S3 gateway; a node that dies is reported and the others keep running, so the dev cluster is
 * also a place to try failures by hand.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../config/load.js';
import { describeError } from '../../util/errors.js';
import { DEV_CLUSTER_FILE, type DevClusterFile } from '../admin-client.js';
import { EXIT, err, intOption, out, parseCommandArgs, type Command } from '../command.js';
import { DevChild } from '../dev/child.js';
import { loadOrCreateDevCredentials, rootKeyFromEnv, type DevCredentials } from '../../devcluster/credentials.js';
import { devChildEnv, highestDevPort, planDevCluster, type DevPlan } from '../../devcluster/plan.js';
import { portFree } from '../../devcluster/ports.js';
import { formatTable } from '../table.js';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;

function say(text: string): void {
  err(`[dev] ${text}`);
}

/** The banner printed once every node is healthy: endpoint, credentials, a command to paste. */
export function devBanner(plan: DevPlan, children: readonly DevChild[], credentials: DevCredentials, region: string, credentialsFile: string): string {
  const endpoint = `http://${plan.nodes[0]!.s3Listen}`;
  const { factor, readQuorum, writeQuorum } = plan.replication;
  const rows = plan.nodes.map((n, i) => [n.id, n.s3Listen, n.rpcListen, n.zone, String(children[i]?.pid ?? '-'), n.dataDir]);
  const header = ['node', 'S3 (gateway)', 'RPC', 'zone', 'pid', 'data'];
  const table = formatTable([header, ...rows], '  ');
  return [
    '',
    `ringstore dev cluster is ready: ${plan.nodes.length} node${plan.nodes.length === 1 ? '' : 's'}, N=${factor} R=${readQuorum} W=${writeQuorum}`,
    '',
    ...table,
    '',
    `  S3 endpoint  ${endpoint}   (the main endpoint; every node also serves S3 on its own port)`,
    `  access key   ${credentials.accessKey}`,
    `  secret key   ${credentials.secretKey}`,
    `  admin token  ${credentials.adminToken}  (ringstore status|repair|scrub find it by themselves here)`,
    `  region       ${region}`,
    `  credentials  ${credentialsFile} (kept across restarts; RINGSTORE_ACCESS_KEY / RINGSTORE_SECRET_KEY override the root key)`,
    `  more keys    ringstore key create NAME [--allow-create-bucket]   (then: ringstore key allow NAME --bucket B --read)`,
    '',
    'Try it:',
    `  export AWS_ACCESS_KEY_ID=${credentials.accessKey}`,
    `  export AWS_SECRET_ACCESS_KEY=${credentials.secretKey}`,
    `  export AWS_REGION=${region} AWS_DEFAULT_REGION=${region}`,
    `  export AWS_ENDPOINT_URL=${endpoint}`,
    `  aws --endpoint-url ${endpoint} s3 mb s3://demo`,
    `  aws --endpoint-url ${endpoint} s3 ls`,
    '',
    'Ctrl-C stops the cluster. To try a failure, kill -9 or kill -STOP a node by its pid.',
    '',
  ].join('\n');
}

/** The `dev` command. */
export const devCommand: Command = {
  name: 'dev',
  summary: 'run a local cluster of ringstore server processes (what npm start runs)',
  usage: 'dev [--nodes N] [--base-port PORT] [--data DIR] [--raw-logs] [--restart] [--log-level LEVEL]',
  examples: [
    'npm start                                  # build, then ringstore dev',
    'ringstore dev --nodes 5 --data /tmp/rs     # 5 nodes, N=3 R=2 W=2',
    'ringstore dev --raw-logs | npx pino-pretty # JSON logs for pino-pretty',
    'RINGSTORE_STORE_FSYNC=false ringstore dev  # other RINGSTORE_* settings pass through to every node',
  ],
  options: [
    { name: 'nodes', type: 'string', short: 'n', valueName: 'N', description: 'Number of nodes, 1–9 (default 3). N = min(3, nodes), majority quorums.' },
    { name: 'base-port', type: 'string', short: 'p', valueName: 'PORT', description: 'S3 ports are PORT, PORT+1, …; RPC ports PORT+100, … (default 9000).' },
    { name: 'data', type: 'string', short: 'd', valueName: 'DIR', description: "Directory for the nodes' data dirs and dev-credentials.json (default ./data)." },
    { name: 'raw-logs', type: 'boolean', description: 'Print the nodes\' pino JSON lines unchanged instead of "[n1] level msg".' },
    { name: 'restart', type: 'boolean', description: 'Restart a node that exits unexpectedly (with backoff).' },
    { name: 'log-level', type: 'string', valueName: 'LEVEL', description: 'log.level of every node (default info).' },
  ],
  async run(argv) {
    const parsed = parseCommandArgs(devCommand, argv);
    if ('exit' in parsed) return parsed.exit;
    const { values } = parsed;
    const nodeCount = intOption(devCommand, 'nodes', values['nodes'], 3, 1, 9);
    const basePort = intOption(devCommand, 'base-port', values['base-port'], 9000, 1, 65535);
    if (nodeCount === undefined || basePort === undefined) return EXIT.error;
    if (highestDevPort(basePort, nodeCount) > 65535) {
      err(`ringstore dev: --base-port = ${basePort}; expected at most ${65535 - 100 - nodeCount + 1} (RPC ports are PORT+100…)`);
      return EXIT.error;
    }
    const mainJs = fileURLToPath(new URL('../main.js', import.meta.url));
    if (!existsSync(mainJs)) {
      err(`ringstore dev: ${mainJs} does not exist; build first with "npm run build" (npm start does this)`);
      return EXIT.error;
    }

    const dataRoot = resolve(typeof values['data'] === 'string' ? values['data'] : 'data');
    const credentialsFile = join(dataRoot, 'dev-credentials.json');
    let credentials: DevCredentials;
    try {
      const loaded = await loadOrCreateDevCredentials(credentialsFile);
      const root = rootKeyFromEnv(process.env, loaded.credentials);
      credentials = root.credentials;
      if (loaded.created) say(`generated credentials in ${credentialsFile}`);
      say(
        root.source === 'environment'
          ? 'root key from RINGSTORE_ACCESS_KEY / RINGSTORE_SECRET_KEY'
          : `root key generated, kept in ${credentialsFile} (set RINGSTORE_ACCESS_KEY and RINGSTORE_SECRET_KEY to use your own)`,
      );
    } catch (error) {
      err(`ringstore dev: ${describeError(error)}`);
      return EXIT.error;
    }
    const logLevel = typeof values['log-level'] === 'string' ? values['log-level'] : undefined;
    const plan = planDevCluster({ nodes: nodeCount, basePort, dataRoot, credentials, logLevel });

    // Validate every node's config here, so a bad RINGSTORE_* variable is reported once, clearly.
    let region = 'us-east-1';
    const warnings = new Set<string>();
    try {
      for (const node of plan.nodes) {
        const config = loadConfig({ env: devChildEnv(process.env, node), flags: {}, onWarning: (w) => warnings.add(w) });
        region = config.s3.region;
      }
    } catch (error) {
      err(describeError(error).replace(/^InvalidConfig: /, ''));
      return EXIT.error;
    }
    for (const warning of warnings) say(`warning: ${warning}`);
    for (const node of plan.nodes) {
      for (const [what, listen] of [
        ['S3', node.s3Listen],
        ['RPC', node.rpcListen],
      ] as const) {
        if (!(await portFree(listen))) {
          err(`ringstore dev: ${listen} (${node.id} ${what}) is already in use — is another ringstore dev running? Pick other ports with --base-port.`);
          return EXIT.error;
        }
      }
    }

    // An object, not a `let`: it changes inside callbacks, where TypeScript cannot see it narrow.
    const state: { phase: 'starting' | 'running' | 'stopping' } = { phase: 'starting' };
    let finish: (code: number) => void = () => {};
    const finished = new Promise<number>((r) => (finish = r));
    const restartTimers = new Set<NodeJS.Timeout>();
    const backoff = new Map<string, number>();

    const onUnexpectedExit = (child: DevChild): void => {
      if (state.phase !== 'running') return;
      say(`${child.id} exited unexpectedly (${child.exitDescription}); the other nodes keep running. Its last lines:`);
      for (const line of child.tail.last(10)) err(`    ${line}`);
      if (values['restart'] === true) {
        const delay = child.uptimeMs > 60_000 ? 1000 : Math.min(30_000, (backoff.get(child.id) ?? 500) * 2);
        backoff.set(child.id, delay);
        say(`restarting ${child.id} in ${delay / 1000} s`);
        const timer = setTimeout(() => {
          restartTimers.delete(timer);
          if (state.phase === 'running') child.start();
        }, delay);
        restartTimers.add(timer);
      } else if (children.every((c) => !c.running)) {
        say('every node has exited');
        finish(EXIT.degraded);
      }
    };
    const children = plan.nodes.map(
      (node) => new DevChild({ id: node.id, mainJs, env: devChildEnv(process.env, node), s3Listen: node.s3Listen, rawLogs: values['raw-logs'] === true, onUnexpectedExit }),
    );

    const stopAll = async (): Promise<void> => {
      state.phase = 'stopping';
      for (const timer of restartTimers) clearTimeout(timer);
      await Promise.all(children.map((c) => c.stop(STOP_GRACE_MS)));
    };
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        say(`${signal} again: killing every node now`);
        for (const child of children) child.kill();
        return;
      }
      const running = children.filter((c) => c.running).length;
      say(`${signal}: stopping ${running} node${running === 1 ? '' : 's'} (a second Ctrl-C kills them)`);
      void stopAll().then(() => finish(EXIT.ok));
    };
    // Last resort if this process ends any other way: never leave children behind.
    const onExit = (): void => {
      for (const child of children) child.kill();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    process.on('exit', onExit);

    try {
      say(`starting ${children.length} node${children.length === 1 ? '' : 's'} (data in ${dataRoot})`);
      for (const child of children) child.start();
      const failures = await Promise.all(children.map((child) => child.waitHealthy(READY_TIMEOUT_MS, () => state.phase === 'stopping')));
      if (state.phase === 'stopping') return await finished;
      const failed = plan.nodes.flatMap((node, i) => (failures[i] === undefined ? [] : [{ node, child: children[i]!, reason: failures[i]! }]));
      if (failed.length > 0) {
        for (const { node, child, reason } of failed) {
          say(`${node.id} failed to start: ${reason}. Its last lines:`);
          for (const line of child.tail.last(20)) err(`    ${line}`);
        }
        await stopAll();
        return EXIT.error;
      }
      // The banner invites requests at once: let new (empty) nodes compare with each other first.
      await Promise.all(children.map((child) => child.waitRefilled(10_000)));
      state.phase = 'running';
      // Lets `ringstore status|repair|scrub` run from this directory find the cluster with no flags.
      const nodesFile: DevClusterFile = { nodes: plan.nodes.map((n) => ({ id: n.id, s3: n.s3Listen, rpc: n.rpcListen })) };
      await writeFile(join(dataRoot, DEV_CLUSTER_FILE), `${JSON.stringify(nodesFile, null, 2)}\n`);
      out(devBanner(plan, children, credentials, region, credentialsFile));
      return await finished;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('exit', onExit);
    }
  },
};
