/**
 * The simulator's command line (`npm run sim -- …`, loaded by test/sim/run.mjs): runs a range
 * of seeds, prints one line per failing seed with the command that replays it, and a summary
 * with the seeds per second. `--seed N --trace` replays one seed and prints its every event.
 */
import { ALL_FAULTS, CI_FAULTS, replayCommand, runSimulation, type SimOptions } from '../helpers/simulation.js';

const USAGE = `npm run sim -- [--seeds N | --seed S] [--from S] [--faults net,crash,pause,clock,wipe,corrupt | all | none] [--store memory|level]
                  [--ops N] [--w W --r R] [--trace]
  default: --seeds 100 --from 1 --faults ${CI_FAULTS.join(',')} (CI_FAULTS) --store memory`;

export async function main(argv: readonly string[]): Promise<number> {
  const arg = (name: string): string | undefined => {
    const at = argv.indexOf(`--${name}`);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const one = arg('seed');
  const from = Number(one ?? arg('from') ?? 1);
  const count = one !== undefined ? 1 : Number(arg('seeds') ?? 100);
  const faultArg = arg('faults');
  const faults = faultArg === undefined ? CI_FAULTS : faultArg === 'all' ? ALL_FAULTS : faultArg === 'none' ? [] : faultArg.split(',');
  const store = arg('store') === 'level' ? 'level' : 'memory';
  const w = arg('w');
  const r = arg('r');
  const ops = arg('ops');
  const trace = argv.includes('--trace');
  if (!Number.isInteger(from) || !Number.isInteger(count) || count < 1) {
    console.error(USAGE);
    return 2;
  }
  let failed = 0;
  const started = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    const options: SimOptions = {
      seed,
      faults,
      store,
      trace,
      ...(ops !== undefined && { ops: Number(ops) }),
      ...(w !== undefined && { overrides: { replication: { writeQuorum: Number(w), readQuorum: Number(r ?? 2) } } }),
    };
    const result = await runSimulation(options);
    if (trace) for (const line of result.trace ?? []) console.log(line);
    if (result.violations.length > 0) {
      failed++;
      console.log(`seed ${seed}: ${result.violations.length} violation(s), first: ${result.violations[0]!.kind}: ${result.violations[0]!.message}`);
      console.log(`  replay: ${replayCommand(options)}`);
    } else if (count === 1) console.log(`seed ${seed}: ok (${JSON.stringify(result.counts)}, digest ${result.digest}, ${result.virtualMs} virtual ms)`);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${count} seed(s) from ${from}, faults ${faults.join(',') || 'none'}, store ${store}: ${failed} failed; ${seconds.toFixed(1)} s, ${(count / seconds).toFixed(1)} seeds/s`);
  return failed > 0 ? 1 : 0;
}
