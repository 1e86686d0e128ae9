// Vite config for the studio. COOP/COEP make the page cross-origin isolated so
// onnxruntime-web may use SharedArrayBuffer (multi-threaded WASM) on the CPU path: on the
// dev server, the preview, and (public/_headers) static hosts serving dist/.
// The built page carries a strict Content-Security-Policy: models and data never leave
// the machine, so the page may talk to its own origin only.
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * - connect-src 'self': fetches (samples, onnxruntime-web's wasm) stay on this origin;
 * - script-src 'wasm-unsafe-eval': compiling wasm (onnxruntime-web), no eval of JS;
 * - style-src 'unsafe-inline': React style attributes (chart and heatmap colours);
 * - worker-src 'self' blob:: the engine worker, and ORT's threads where it starts them.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Cross-origin isolation: SharedArrayBuffer, hence onnxruntime-web's WASM threads (src/eval/ort.ts). */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The policy as a <meta> in the built index.html, so any static host serves it (dev keeps Vite's inline HMR preamble). */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'evolver-studio-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  // The built output gets the same headers from public/_headers on hosts that read it
  // (Netlify, Cloudflare Pages); tools/static-headers.test.ts holds it to these constants.
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: { ...ISOLATION_HEADERS, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: { target: 'es2022' },
});
