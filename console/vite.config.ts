// Builds the console into build/console, the folder `zkpush serve` serves by default (beside the
// binary, build/zkpush). Everything is bundled: the page loads nothing from another host, which the
// server's Content-Security-Policy enforces (docs/console.md).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.ZKPUSH_CONSOLE_OUT ?? fileURLToPath(new URL('../build/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No inline data: URLs for assets (the CSP allows data: for images only) and no module preload
    // polyfill script (an inline script would need 'unsafe-inline').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev`: the API of a server on :8088.
    proxy: { '/api': 'http://127.0.0.1:8088' },
  },
});
