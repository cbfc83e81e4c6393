// electron-vite build of the desktop app: main (Electron main process), preload (the sandboxed bridge, CommonJS)
// and the renderer (Vue). `npm run build` writes out/main, out/preload and out/renderer; `lmwb serve` serves
// out/renderer to a browser.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import vue from '@vitejs/plugin-vue';

const __dirname = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      lib: { entry: resolve(__dirname, 'src-main/app/main.ts') },
      // The trainer runs in child processes (bin/lmwb.mjs); the main bundle never loads Dawn.
      rollupOptions: { external: ['webgpu'], output: { entryFileNames: 'index.js' } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      lib: { entry: resolve(__dirname, 'src-main/app/preload.ts'), formats: ['cjs'] },
      // A sandboxed preload can require only 'electron': bundle everything else, emit CommonJS.
      externalizeDeps: false,
      rollupOptions: { external: ['electron'], output: { format: 'cjs', entryFileNames: 'index.cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    base: './',
    plugins: [vue()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      emptyOutDir: true,
      chunkSizeWarningLimit: 2000,
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
