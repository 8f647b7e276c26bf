/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The portal is served by the admin API at /admin/ (adminapi/ui.go); in
// `npm run dev` the API calls go to a running admin API (ADMIN_API,
// default the `make run` address).
export default defineConfig({
  base: '/admin/',
  plugins: [react(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // public/.placeholder is copied back, so the tracked file that keeps
    // dist/ for the Go embed survives every build.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { '/api': process.env.ADMIN_API ?? 'http://127.0.0.1:8005' },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts'],
  },
});
