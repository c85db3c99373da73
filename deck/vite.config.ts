// The build of Gennaker's web UI: one small bundle the gateway serves from deck/dist (see README "Deck").
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/deck/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
