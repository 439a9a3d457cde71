/**
 * Readiness as a set of named checks: each part that can make a node unfit to serve (a store
 * that cannot write, a clock too far off, a node shutting down) registers one, and `/ready`
 * answers 503 with every reason that applies, so an operator sees why and not just that.
 */

/** A check: a short reason when the node is not ready on its account, else undefined. */
export type ReadinessCheck = () => string | undefined;

/** The state `/ready` reports. */
export interface ReadinessState {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

/** The named readiness checks of one node. */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();

  /** Registers (or replaces) the check called `name`. */
  add(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /** Runs every check; ready when none gives a reason. Reasons are prefixed with the check's name. */
  state(): ReadinessState {
    const reasons: string[] = [];
    for (const [name, check] of this.#checks) {
      const reason = check();
      if (reason !== undefined) reasons.push(`${name}: ${reason}`);
    }
    return { ready: reasons.length === 0, reasons };
  }
}
