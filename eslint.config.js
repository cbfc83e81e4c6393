// ESLint (flat config) with typescript-eslint: `npm run lint`. The recommended rules everywhere, plus the
// type-aware rules that catch real defects in async code (a promise nobody awaits or catches, a promise passed
// where a plain value is expected) — the engine's GPU submissions, workers and file writes are all async.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build outputs, dependencies, run workspaces; the renderer gets its own block (Vue) when the app lands.
    // Build output, the workspace's data, and local scratch (.device/, .bench-old/, .speed/, .refdata/: git-excluded GPU-machine payloads).
    ignores: ['node_modules/', 'dist/', 'out/', 'runs/', 'datasets/', '.*/', 'e2e/artifacts/', 'src-renderer/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a parameter or binding kept on purpose (a callback's signature, a destructured rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Plain JavaScript launchers and configs run in Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
