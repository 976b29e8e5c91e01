import { defineConfig } from 'vite';

// The bundle `podpromo serve` serves from web/dist: hashed files under /assets/ (cached for a year),
// index.html revalidated on every load.
export default defineConfig({
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080', '/metrics': 'http://127.0.0.1:8080',
             '/queue': 'http://127.0.0.1:8080', '/storage': 'http://127.0.0.1:8080' },
  },
});
