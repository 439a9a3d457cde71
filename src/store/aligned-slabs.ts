/**
 * Page-aligned buffers for O_DIRECT writes. O_DIRECT needs the memory, the file offset and the
 * length aligned to the device's block size; Node's Buffers come from malloc and are not, but
 * a WebAssembly.Memory is mapped page-aligned, so slabs are carved out of one. The memory is
 * reserved once and never grown (growing would detach every slab handed out); its pages become
 * resident only when a slab is first used.
 */

// The project compiles without the DOM library, which is where TypeScript declares WebAssembly.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/** Alignment of slab addresses and of direct write lengths and offsets. */
export const DIRECT_ALIGN = 4096;
const WASM_PAGE = 64 * 1024;

/** A fixed set of equally sized page-aligned slabs. */
export class AlignedSlabPool {
  readonly slabBytes: number;
  readonly #count: number;
  #free: Buffer[] | undefined;

  constructor(count: number, slabBytes: number) {
    if (slabBytes % WASM_PAGE !== 0) throw new RangeError(`slab size ${slabBytes} is not a multiple of ${WASM_PAGE}`);
    this.slabBytes = slabBytes;
    this.#count = count;
  }

  /** A free slab, or undefined when all are in use (the caller then writes without one). */
  take(): Buffer | undefined {
    return this.#slabs().pop();
  }

  /** Returns a slab taken from this pool. */
  give(slab: Buffer): void {
    this.#slabs().push(slab);
  }

  /** Free slabs right now. */
  get available(): number {
    return this.#slabs().length;
  }

  #slabs(): Buffer[] {
    if (this.#free === undefined) {
      const memory = new WebAssembly.Memory({ initial: (this.#count * this.slabBytes) / WASM_PAGE });
      this.#free = Array.from({ length: this.#count }, (_, i) => Buffer.from(memory.buffer, i * this.slabBytes, this.slabBytes));
    }
    return this.#free;
  }
}

/** `n` rounded up to the next multiple of DIRECT_ALIGN. */
export function alignUp(n: number): number {
  return Math.ceil(n / DIRECT_ALIGN) * DIRECT_ALIGN;
}
