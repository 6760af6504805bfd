/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The built SPA is served by the API at `/` (index.html) with assets under `/assets/`.
// Routing is hash-based, so the server needs no knowledge of client routes.
export default defineConfig(({ mode }) => ({
  base: '/',
  plugins: [svelte()],
  // Under vitest, resolve Svelte's browser build so components can be mounted in jsdom.
  resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
}));
