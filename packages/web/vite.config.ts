import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [vue()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target: process.env.BACKEND_URL ?? 'http://127.0.0.1:8000', ws: true },
      '/frontend': process.env.BACKEND_URL ?? 'http://127.0.0.1:8000',
      '/health': process.env.BACKEND_URL ?? 'http://127.0.0.1:8000',
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: {
    name: 'web',
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
  },
});
