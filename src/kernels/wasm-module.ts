/**
 * One compiled WebAssembly kernel module from its committed base64 (each kernel's
 * `*.wasm.gen.ts`): compiled once, synchronously where the module is small enough for a
 * page's main thread or runs in a worker or Node, or asynchronously. Engines without
 * WebAssembly or its SIMD get null, and the caller keeps the kernel's TypeScript twin.
 */
export interface WasmKernelModule {
  bytes(): Uint8Array<ArrayBuffer>;
  /** The compiled module, or null where this engine lacks WebAssembly or its SIMD. */
  sync(): WebAssembly.Module | null;
  /** Async compile, for a page's main thread. */
  compile(): Promise<WebAssembly.Module | null>;
}

export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

export function wasmKernelModule(base64: string): WasmKernelModule {
  let compiled: WebAssembly.Module | null | undefined;
  const usable = (bytes: Uint8Array<ArrayBuffer>) => typeof WebAssembly !== 'undefined' && WebAssembly.validate(bytes);
  return {
    bytes: () => decodeBase64(base64),
    sync() {
      if (compiled !== undefined) return compiled;
      try {
        const bytes = decodeBase64(base64);
        compiled = usable(bytes) ? new WebAssembly.Module(bytes) : null;
      } catch {
        compiled = null;
      }
      return compiled;
    },
    async compile() {
      if (compiled !== undefined) return compiled;
      try {
        const bytes = decodeBase64(base64);
        compiled = usable(bytes) ? await WebAssembly.compile(bytes) : null;
      } catch {
        compiled = null;
      }
      return compiled;
    },
  };
}
